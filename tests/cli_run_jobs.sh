#!/usr/bin/env bash
# run --jobs N: the files of a run are the same for every N (issue 19, item 2).
#  - a 200-frame demo with a recovered frame, run with --jobs 1, 2 and 4: every .npz byte for
#    byte, the JSON files and the journal but for what differs between any two runs (timings,
#    thread count, output folder name, file modification times and the signatures made of them);
#  - a run with --jobs 2 killed (SIGKILL) in the middle of the per-frame stage, then resumed
#    with --jobs 2: the same files as an uninterrupted --jobs 1 run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"

demo "$tmp/cap" 200 1; check "demo" $?
C=(--input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --quiet)

# The run-specific parts dropped: timing keys (*_s), threads, output_root, mtimes; the journal's
# signature column (it hashes the stage-1 files' modification times).
norm() {
  case "$1" in
    *.json) sed -E '/"([a-z_]+_s|threads|output_root|mtime|reused|frames_reused)":/d' "$1" ;;
    *run_state.txt) awk -F '\t' 'NR == 1 { print; next } { print $1 "\t" $3 "\t" $4 }' "$1" ;;
    *) cat "$1" ;;
  esac
}
# same A B: both folders hold the same files, every other file identical, the JSON files and
# the journal equal once normalised.
same() {
  local a=$1 b=$2 f bad=0
  diff -rq -x .mhrfit.lock -x '*.json' -x run_state.txt "$a" "$b" || bad=1
  while read -r f; do
    [ "$(norm "$a/$f")" = "$(norm "$b/$f")" ] || { echo "  differs: $f"; bad=1; }
  done < <(cd "$a" && find . -type f \( -name '*.json' -o -name run_state.txt \) | sort)
  return $bad
}

for j in 1 2 4; do
  "$bin" run "${C[@]}" --jobs $j --out "$tmp/j$j"; check "run --jobs $j" $?
done
check "--jobs 1 ran on one thread" $(has "$tmp/j1/sequence_summary.json" '"threads": 1')
check "--jobs 4 ran on four threads" $(has "$tmp/j4/sequence_summary.json" '"threads": 4')
check "the demo run has a recovered frame" $(has "$tmp/j1/sequence_summary.json" '"status": "recovered_')
n_npz=$(find "$tmp/j1" -name '*.npz' | wc -l)
check "every frame wrote its files ($n_npz .npz)" $([ "$n_npz" -ge 600 ]; echo $?)
same "$tmp/j1" "$tmp/j2"; check "--jobs 2 writes the files of --jobs 1" $?
same "$tmp/j1" "$tmp/j4"; check "--jobs 4 writes the files of --jobs 1" $?
# the comparison sees a difference: one changed value in a copy
cp -r "$tmp/j1" "$tmp/j1x"
sed -i '0,/"iters": [0-9]*/s//"iters": 99999/' "$tmp/j1x/sequence_summary.json"
same "$tmp/j1" "$tmp/j1x" >/dev/null; check "the comparison notices a changed summary" $([ $? -ne 0 ]; echo $?)

# Kill and resume with --jobs 2; a slower fit (Adam, 400 iterations per frame) leaves time to
# kill the run in the middle of the per-frame stage.
S=(--solver adam --iters 400 --min_iters 400)
"$bin" run "${C[@]}" "${S[@]}" --jobs 1 --out "$tmp/ref"; check "uninterrupted --jobs 1 run" $?
"$bin" run "${C[@]}" "${S[@]}" --jobs 2 --out "$tmp/k" & pid=$!
wait_for "$tmp/k/run_state.txt" "^000060	"; check "the --jobs 2 run journals frame 60" $?
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
lines=$(($(wc -l <"$tmp/k/run_state.txt") - 1))
check "it was killed in the per-frame stage ($lines of 200 frames journalled)" \
  $([ "$lines" -ge 60 ] && [ "$lines" -lt 200 ] && [ ! -e "$tmp/k/sequence_summary.json" ]; echo $?)
"$bin" run "${C[@]}" "${S[@]}" --jobs 2 --out "$tmp/k" --no_quiet >"$tmp/k.log" 2>&1; check "the resumed --jobs 2 run" $?
n=$(sed -n 's/.*(\([0-9]*\) fits reused).*/\1/p' "$tmp/k.log")
check "it reused the journalled frames ($n of $lines)" $([ -n "$n" ] && [ "$n" -ge "$lines" ]; echo $?)
check "no temporary file is left" $([ -z "$(find "$tmp/k" -name '*.tmp[0-9]*')" ]; echo $?)
same "$tmp/ref" "$tmp/k"; check "the killed and resumed --jobs 2 run wrote the files of the --jobs 1 run" $?
finish
