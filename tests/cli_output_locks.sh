#!/usr/bin/env bash
# Issue 17, defect 1 for the commands that write a folder besides run, ingest and demo: overlay
# --out, frames --out, export to a folder (--format ply|obj|npz) and fit --debug_dir take the
# output folder's lock. For each, a first writer is stopped (SIGSTOP) while it holds the lock, the
# same command started again into the same folder must fail at once (exit 1) naming the first
# one's PID and leave its files alone; the first one then goes on and finishes.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"
command -v ffmpeg >/dev/null || { echo "FAIL: ffmpeg (Debian package ffmpeg) is missing"; exit 1; }

"$bin" demo --out "$tmp/cap" --num_frames 30 --seed 4 --no_missing_views --images --quiet; check "demo --images" $?
cams=(cam_0 cam_1 cam_2 cam_3)
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run" --no_mesh --quiet
check "run on the demo" $?
"$bin" triangulate --calib "$tmp/cap/calibration.toml" --cams "${cams[@]}" --input "$tmp/cap/000007" \
  --out "$tmp/tri.npz" --quiet
check "triangulate a frame" $?
for c in cam_0 cam_1; do
  ffmpeg -v error -f lavfi -i testsrc=size=640x480:rate=30 -frames:v 240 -pix_fmt yuv420p "$tmp/$c.mp4"
  check "a test video for $c" $?
done

# race NAME CMD_NAME OUTDIR ARGS...: the two writers of one folder (above)
# (a first writer that finished before it could be stopped, on a busy machine, is run again into
# a fresh folder, up to 5 times)
race() {
  local name=$1 what=$2 out=$3; shift 3
  local pid held try
  for try in 1 2 3 4 5; do
    rm -rf "$out"
    "$bin" "$@" >"$tmp/a.log" 2>&1 & pid=$!
    wait_for "$out/.mhrfit.lock" "state running"; local seen=$?
    kill -STOP $pid 2>/dev/null
    held=$(grep -c "^pid $pid\$" "$out/.mhrfit.lock" 2>/dev/null)
    [ "$held" = 1 ] && break
    kill -CONT $pid 2>/dev/null; wait $pid
  done
  check "$name: the first writer holds the lock of $out (attempt $try)" $seen
  local before; before=$(find "$out" -type f ! -name .mhrfit.lock | sort | xargs -r md5sum)
  local t0; t0=$(date +%s%N)
  "$bin" "$@" >"$tmp/b.log" 2>&1; local rc=$?
  local t1; t1=$(date +%s%N)
  local after; after=$(find "$out" -type f ! -name .mhrfit.lock | sort | xargs -r md5sum)
  kill -CONT $pid; wait $pid; local rc_a=$?
  check "$name: the first writer was stopped while holding the lock" $([ "$held" = 1 ]; echo $?)
  check "$name: a second writer into the folder fails (exit 1, got $rc)" $([ $rc -eq 1 ]; echo $?)
  check "$name: ... at once" $([ $(( (t1 - t0) / 1000000 )) -lt 10000 ]; echo $?)
  check "$name: ... naming the holder's PID $pid" $(has "$tmp/b.log" "is in use by process $pid (mhrfit $what)")
  check "$name: ... and changing none of its files" $([ "$before" = "$after" ]; echo $?)
  check "$name: the first writer finishes (exit $rc_a)" $([ $rc_a -eq 0 ]; echo $?)
  check "$name: the lock file is gone" $([ ! -e "$out/.mhrfit.lock" ]; echo $?)
}

race "overlay --out" overlay "$tmp/ov" overlay --run "$tmp/run" --out "$tmp/ov"
check "overlay: every view drawn by the first writer" $(has "$tmp/a.log" "30 frame(s) x 4 camera(s): 120 written")
race "frames --out" frames "$tmp/fr" frames --videos "cam_0=$tmp/cam_0.mp4" "cam_1=$tmp/cam_1.mp4" --out "$tmp/fr"
check "frames: 240 frames written by the first writer" $([ "$(find "$tmp/fr" -name 'cam_1.jpg' | wc -l)" -eq 240 ]; echo $?)
for fmt in ply obj; do # (npz is written by the same code, too fast to be caught holding the lock)
  race "export --format $fmt" export "$tmp/ex_$fmt" export --input "$tmp/run" --format $fmt --out "$tmp/ex_$fmt"
  check "export $fmt: the first writer's summary" $([ -f "$tmp/ex_$fmt/export_summary.json" ]; echo $?)
done
# one frame fitted for long enough (Adam's iterations without early stop)
race "fit --debug_dir" fit "$tmp/dbg" fit --tri "$tmp/tri.npz" --views "$tmp/cap/000007" --out "$tmp/fit.npz" \
  --no_mesh --debug_dir "$tmp/dbg" --solver adam --iters 3000 --min_iters 3000 --early_stop_patience 3000
check "fit: the debug files of the frame" $([ -f "$tmp/dbg/000007/residuals.tsv" ] || [ -n "$(find "$tmp/dbg" -name residuals.tsv)" ]; echo $?)
finish
