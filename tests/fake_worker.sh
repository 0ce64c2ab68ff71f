#!/bin/sh
# A stand-in for a persistent SAM 3D Body estimator worker (the protocol of
# `mhrfit ingest --estimator_worker`), for the worker tests:
#   fake_worker.sh SOURCE INDEX [start|nostart|slowstart]
# Appends "start INDEX" to $FAKE_WORKER_LOG when it starts and every request line to
# $FAKE_WORKER_REQUESTS, says {"ready": true}, then for each request copies SOURCE (a folder:
# SOURCE/<frame>/<cam>.npz of the request) to the request's "output" and replies {"ok": true} --
# unless the image's content starts with
#   crash    the worker dies (SIGKILL of itself)      hang     it never answers
#   garbage  it answers a line that is not JSON       refuse   {"ok": false, "error": ...}
#   noout    {"ok": true} without writing the output   badout   it writes a file that is no SAM output
# With $FAKE_WORKER_SLEEP set, it sleeps that long (seconds) per request first.
src=$1 index=$2 mode=${3:-start}
[ -n "${FAKE_WORKER_LOG:-}" ] && echo "start $index" >>"$FAKE_WORKER_LOG"
case $mode in
  nostart) echo "fake worker $index: cannot load the model" >&2; exit 3 ;;
  slowstart) sleep 30 ;;
esac
echo "fake worker $index: loading" >&2
echo "this line is chatter before the ready line"
echo '{"ready": true}'
# (shell built-ins only, but for cp: the JSON fields are plain paths here)
while IFS= read -r line; do
  [ -n "${FAKE_WORKER_REQUESTS:-}" ] && printf '%s\n' "$line" >>"$FAKE_WORKER_REQUESTS"
  out=${line#*\"output\":\"}
  out=${out%%\"*}
  image=${line#*\"image\":\"}
  image=${image%%\"*}
  from=$src
  if [ -d "$src" ]; then
    frame=${line#*\"frame\":\"}
    cam=${line#*\"cam\":\"}
    from=$src/${frame%%\"*}/${cam%%\"*}.npz
  fi
  [ -n "${FAKE_WORKER_SLEEP:-}" ] && sleep "$FAKE_WORKER_SLEEP"
  first=
  read -r first <"$image"
  case "$first" in
    crash*) kill -9 $$ ;;
    hang*) sleep 30; continue ;;
    garbage*) echo "this is not json"; continue ;;
    refuse*) echo '{"ok": false, "error": "nobody in this picture"}'; continue ;;
    noout*) echo '{"ok": true}'; continue ;;
    badout*) echo "not numpy" >"$out"; echo '{"ok": true}'; continue ;;
  esac
  cp "$from" "$out" && echo '{"ok": true}'
done
