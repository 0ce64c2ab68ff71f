#!/usr/bin/env bash
# mhrfit ingest --estimator_worker with stand-in workers (tests/fake_worker.sh): exactly N starts
# for N workers over 40 images, {worker} replaced, cam_int from --calib in the requests, a
# worker that crashes on one image (restarted, the rest completes), one that hangs (timeout, the
# view marked missing, retried by the next run), one that answers garbage, refuses, writes no
# output or a bad one (that view's error names it), one that never starts or starts too slowly
# (a clear error, the run stops), workers without the ready line (they work; a crash, a hang,
# a failed start as with it), the cache (a rerun starts no worker), usage errors; mhrfit run
# with workers (stage 1 through them, cam_int from the run's calibration).
set -uo pipefail
bin=${MHRFIT_BIN:?}
fix=${MHRFIT_FIXTURES:?}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
src=$fix/ingest/stacked.npz
worker="sh '$here/fake_worker.sh' '$src' {worker}"
cams=(c0 c1 c2 c3)
# 10 frames x 4 cameras = 40 images
mk_capture() { # dir
  for f in $(seq 0 9); do
    mkdir -p "$1/$f"
    for c in "${cams[@]}"; do echo "image $f $c" >"$1/$f/$c.jpg"; done
  done
}
mk_capture "$tmp/cap"
cat >"$tmp/calib.toml" <<'EOF'
[c0]
size = [640, 480]
matrix = [[500.0, 0.0, 320.0], [0.0, 501.5, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 3.0]
EOF

help=$("$bin" ingest --help)
for o in estimator_worker workers estimator_timeout worker_start_timeout worker_restarts calib; do
  check "--help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done

export FAKE_WORKER_LOG=$tmp/starts.log FAKE_WORKER_REQUESTS=$tmp/requests.log
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out" --estimator-worker "$worker" --workers 2 \
  --calib "$tmp/calib.toml" >"$tmp/log" 2>"$tmp/err"
check "two workers over 40 images: exit 0" $?
check "exactly 2 starts" $([ "$(wc -l <"$tmp/starts.log")" -eq 2 ]; echo $?)
check "{worker} replaced by 0 and 1" $([ "$(sort "$tmp/starts.log" | tr '\n' ' ')" = "start 0 start 1 " ]; echo $?)
check "40 requests" $([ "$(wc -l <"$tmp/requests.log")" -eq 40 ]; echo $?)
check "summary: 40 views, 40 runs, 2 starts" $(grep -q 'views: 40 written, 0 missing, 0 without a person, 0 failed; estimator runs: 40 (2 worker start(s))' "$tmp/log"; echo $?)
check "40 stage-1 files" $([ "$(find "$tmp/out/stage1" -name '*.npz' | wc -l)" -eq 40 ]; echo $?)
check "40 raw outputs kept in sam3d/" $([ "$(find "$tmp/out/sam3d" -name 'c?.npz' | wc -l)" -eq 40 ]; echo $?)
check "no partial file left" $([ "$(find "$tmp/out/sam3d" -name '*.partial.npz' | wc -l)" -eq 0 ]; echo $?)
req=$(grep '"frame":"7","cam":"c0"' "$tmp/requests.log")
check "request carries id, image, output, frame, cam" $(grep -q "^{\"id\":[0-9]*,\"image\":\"$tmp/cap/7/c0.jpg\",\"output\":\"$tmp/out/sam3d/7/c0.partial.npz\",\"frame\":\"7\",\"cam\":\"c0\"" <<<"$req"; echo $?)
check "cam_int from --calib" $(grep -q '"cam_int":\[\[500,0,320\],\[0,501.5,240\],\[0,0,1\]\]' <<<"$req"; echo $?)
check "no cam_int for a camera the calibration lacks" $(! grep '"cam":"c1"' "$tmp/requests.log" | grep -q cam_int; echo $?)
check "warning about the camera without intrinsics" $(grep -q "has no camera 'c1'" "$tmp/err"; echo $?)
check "worker chatter before ready is logged, not an error" $(grep -q 'says: this line is chatter' "$tmp/log"; echo $?)
check "meta records the worker command" $(grep -q '"estimator_worker": "sh ' "$tmp/out/stage1_meta.json"; echo $?)
check "meta records the intrinsics" $(grep -q '"cam_intrinsics": {' "$tmp/out/stage1_meta.json"; echo $?)

# an unchanged rerun reuses everything and starts no worker
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out" --estimator-worker "$worker" --workers 2 \
  --calib "$tmp/calib.toml" >"$tmp/log" 2>&1
check "rerun: all reused" $(grep -q 'frames: 0 ingested, 10 reused, 0 failed (of 10)' "$tmp/log"; echo $?)
check "rerun: no worker started" $([ ! -s "$tmp/starts.log" ]; echo $?)
# other intrinsics re-run the estimator (they change its output), as a changed command would
sed -i 's/500.0, 0.0, 320.0/510.0, 0.0, 320.0/' "$tmp/calib.toml"
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out" --estimator-worker "$worker" \
  --calib "$tmp/calib.toml" --check >"$tmp/log" 2>&1
check "changed intrinsics: estimator_changed" $(grep -q "estimator_changed .*intrinsics given to the estimator changed (camera 'c0')" "$tmp/log"; echo $?)

# a worker that crashes on one image: restarted, the rest completes
mk_capture "$tmp/crash"
echo crash >"$tmp/crash/3/c2.jpg"
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/crash" --cams "${cams[@]}" --out "$tmp/out_crash" --estimator-worker "$worker" \
  >"$tmp/log" 2>"$tmp/err"
check "crash: exit 1 (one frame failed)" $([ $? -eq 1 ]; echo $?)
check "crash: restarted once (2 starts)" $([ "$(wc -l <"$tmp/starts.log")" -eq 2 ]; echo $?)
check "crash: the view's error names the worker, frame and camera" $(grep -q "error: frame '3' camera 'c2': estimator worker 0 exited with status 137 while processing frame '3' camera 'c2'" "$tmp/err"; echo $?)
check "crash: the rest completes" $(grep -q 'frames: 9 ingested, 0 reused, 1 failed (of 10)' "$tmp/log" && grep -q 'views: 39 written' "$tmp/log"; echo $?)

# a worker that hangs: the request is killed after the timeout, the view is missing, the rest completes
mk_capture "$tmp/hang"
echo hang >"$tmp/hang/5/c1.jpg"
"$bin" ingest --input "$tmp/hang" --cams "${cams[@]}" --out "$tmp/out_hang" --estimator-worker "$worker" \
  --estimator-timeout 1 >"$tmp/log" 2>"$tmp/err"
check "hang: exit 0 (a missing view fails no frame)" $?
check "hang: view marked missing with its reason" $(grep -q "warning: frame '5' camera 'c1': view missing: estimator worker 0 timed out after 1 s on frame '5' camera 'c1' (killed)" "$tmp/err"; echo $?)
check "hang: summary counts it" $(grep -q 'views: 39 written, 0 missing, 0 without a person, 0 failed, 1 timed out' "$tmp/log"; echo $?)
check "hang: meta says timeout" $(grep -A2 '"c1": {' "$tmp/out_hang/stage1_meta.json" | grep -q '"status": "timeout"'; echo $?)
echo "image again" >"$tmp/hang/5/c1.jpg"
"$bin" ingest --input "$tmp/hang" --cams "${cams[@]}" --out "$tmp/out_hang" --estimator-worker "$worker" \
  --estimator-timeout 1 >"$tmp/log" 2>&1
check "hang: the next run retries the view" $(grep -q 'frames: 1 ingested, 9 reused' "$tmp/log" && [ -f "$tmp/out_hang/stage1/5/c1.npz" ]; echo $?)

# garbage, a refusal, no output, a bad output: errors of their views, named
mk_capture "$tmp/bad"
echo garbage >"$tmp/bad/1/c0.jpg"
echo refuse >"$tmp/bad/2/c1.jpg"
echo noout >"$tmp/bad/4/c2.jpg"
echo badout >"$tmp/bad/6/c3.jpg"
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/bad" --cams "${cams[@]}" --out "$tmp/out_bad" --estimator-worker "$worker" \
  >"$tmp/log" 2>"$tmp/err"
check "bad replies: exit 1" $([ $? -eq 1 ]; echo $?)
check "garbage: named" $(grep -q "error: frame '1' camera 'c0': estimator worker 0 replied with an invalid line (not a JSON object: 'this is not json')" "$tmp/err"; echo $?)
check "garbage: worker restarted (2 starts)" $([ "$(wc -l <"$tmp/starts.log")" -eq 2 ]; echo $?)
check "refusal: the worker's reason" $(grep -q "error: frame '2' camera 'c1': estimator worker 0: nobody in this picture" "$tmp/err"; echo $?)
check "no output: named" $(grep -q "error: frame '4' camera 'c2': estimator worker 0 replied ok but wrote no file at $tmp/out_bad/sam3d/4/c2.partial.npz" "$tmp/err"; echo $?)
check "bad output: the file named" $(grep -q "error: frame '6' camera 'c3': .*out_bad/sam3d/6/c3.npz: neither a .npy nor a .npz" "$tmp/err"; echo $?)
check "bad replies: the rest completes" $(grep -q 'frames: 6 ingested, 0 reused, 4 failed (of 10)' "$tmp/log" && grep -q 'views: 36 written' "$tmp/log"; echo $?)

# a worker that never starts: a clear error, the run stops
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_never" \
  --estimator-worker "sh '$here/fake_worker.sh' '$src' {worker} nostart" >"$tmp/log" 2>"$tmp/err"
check "never starts: exit 1" $([ $? -eq 1 ]; echo $?)
check "never starts: the last error" $(grep -q "error: estimator worker 0 failed 4 times in a row, giving up; last: estimator worker 0 exited with status 3 before it was ready" "$tmp/err"; echo $?)
check "never starts: its own message on stderr" $(grep -q 'cannot load the model' "$tmp/err"; echo $?)
check "never starts: the error quotes the worker's stderr" $(grep -q "error: estimator worker 0 failed 4 times in a row, giving up; last: estimator worker 0 exited with status 3 before it was ready; the end of its stderr: fake worker 0: cannot load the model$" "$tmp/err"; echo $?)
check "never starts: said once, not per view" $([ "$(grep -c 'error:' "$tmp/err")" -eq 1 ]; echo $?)
check "never starts: 4 attempts" $([ "$(wc -l <"$tmp/starts.log")" -eq 4 ]; echo $?)
check "never starts: meta written" $([ -f "$tmp/out_never/stage1_meta.json" ]; echo $?)
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_none" --estimator-worker "/nonexistent/worker" \
  --worker-restarts 0 >"$tmp/log" 2>"$tmp/err"
check "missing program: exit 1, status 127" $([ $? -eq 1 ] && grep -q "failed 1 times in a row, giving up; last: estimator worker 0 exited with status 127 before it was ready" "$tmp/err"; echo $?)
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_slow" --worker-restarts 0 \
  --estimator-worker "sh '$here/fake_worker.sh' '$src' {worker} slowstart" --worker-start-timeout 1 >"$tmp/log" 2>"$tmp/err"
check "slow start: exit 1, named" $([ $? -eq 1 ] && grep -q "estimator worker 0 was not ready after 1 s (killed)" "$tmp/err"; echo $?)

# workers without the ready line (the issue's protocol): the first answer is the sign of life; the
# start timeout covers the start and that answer (1 s would end a worker that needs a ready line)
nr="sh '$here/fake_worker.sh' '$src' {worker} noready"
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_nr" --estimator-worker "$nr" --workers 2 \
  --worker-start-timeout 5 >"$tmp/log" 2>"$tmp/err"
check "no ready line: exit 0" $?
check "no ready line: 40 views written" $(grep -q 'views: 40 written, 0 missing, 0 without a person, 0 failed;' "$tmp/log"; echo $?)
check "no ready line: 2 starts, no restart" $([ "$(wc -l <"$tmp/starts.log")" -eq 2 ]; echo $?)
check "no ready line: no warning" $([ ! -s "$tmp/err" ] || ! grep -q warning "$tmp/err"; echo $?)
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/crash" --cams "${cams[@]}" --out "$tmp/out_nr_crash" --estimator-worker "$nr" \
  >"$tmp/log" 2>"$tmp/err"
check "no ready line, crash: exit 1, restarted once, the view named" $([ $? -eq 1 ] && [ "$(wc -l <"$tmp/starts.log")" -eq 2 ] &&
  grep -q "error: frame '3' camera 'c2': estimator worker 0 exited with status 137 while processing frame '3' camera 'c2'" "$tmp/err"; echo $?)
check "no ready line, crash: the rest completes" $(grep -q 'views: 39 written' "$tmp/log"; echo $?)
echo hang >"$tmp/hang/5/c1.jpg"
"$bin" ingest --input "$tmp/hang" --cams "${cams[@]}" --out "$tmp/out_nr_hang" --estimator-worker "$nr" \
  --estimator-timeout 1 --worker-start-timeout 5 >"$tmp/log" 2>"$tmp/err"
check "no ready line, hang: exit 0, the view timed out, the rest written" $([ $? -eq 0 ] &&
  grep -q 'views: 39 written, 0 missing, 0 without a person, 0 failed, 1 timed out' "$tmp/log"; echo $?)
: >"$tmp/starts.log"
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_nr_never" --worker-restarts 1 \
  --estimator-worker "sh '$here/fake_worker.sh' '$src' {worker} noready_nostart" >"$tmp/log" 2>"$tmp/err"
check "no ready line, never starts: exit 1, the start named, no view blamed" $([ $? -eq 1 ] &&
  grep -q "estimator worker 0 failed 2 times in a row, giving up; last: estimator worker 0 exited with status 3 before it was ready" "$tmp/err" &&
  ! grep -q "error: frame .*exited with status" "$tmp/err"; echo $?)
"$bin" ingest --input "$tmp/cap" --cams "${cams[@]}" --out "$tmp/out_nr_slow" --worker-restarts 0 \
  --estimator-worker "sh '$here/fake_worker.sh' '$src' {worker} noready_slow" --worker-start-timeout 1 >"$tmp/log" 2>"$tmp/err"
check "no ready line, no answer within the start timeout: exit 1, named" $([ $? -eq 1 ] &&
  grep -q "estimator worker 0 was not ready after 1 s (killed): no ready line and no answer to its first request" "$tmp/err" &&
  ! grep -q "error: frame .*timed out" "$tmp/err"; echo $?)

# mhrfit run with estimator workers: stage 1 made by 2 workers from the images of a demo capture
# (the stand-in copies each view's SAM 3D Body output), cam_int from the run's calibration, the
# fit on what they wrote; a rerun starts none; a crash or a hang costs only its view
assets=${MHRFIT_ASSETS:?}
"$bin" demo --assets "$assets" --out "$tmp/demo" --num_frames 6 --seed 2 --no-missing-views --quiet
check "demo capture" $?
for d in "$tmp"/demo/0*/; do
  f=$(basename "$d")
  mkdir -p "$tmp/imgs/$f"
  for c in cam_0 cam_1 cam_2 cam_3; do echo "image $f $c" >"$tmp/imgs/$f/$c.jpg"; done
done
rworker="sh '$here/fake_worker.sh' '$tmp/demo' {worker}"
: >"$tmp/starts.log"; : >"$tmp/requests.log"
"$bin" run --input "$tmp/imgs" --calib "$tmp/demo/calibration.toml" --out "$tmp/run" --assets "$assets" \
  --estimator-worker "$rworker" --workers 2 --estimator-timeout 20 --worker-start-timeout 30 --worker-restarts 2 \
  >"$tmp/log" 2>"$tmp/err"
check "run with 2 workers: exit 0" $?
check "run: exactly 2 starts" $([ "$(wc -l <"$tmp/starts.log")" -eq 2 ]; echo $?)
check "run: 24 requests" $([ "$(wc -l <"$tmp/requests.log")" -eq 24 ]; echo $?)
k0=$(sed -n 's/.*"frame":"000003","cam":"cam_0".*"cam_int":\(\[\[[^]]*\],\[[^]]*\],\[[^]]*\]\]\).*/\1/p' "$tmp/requests.log")
echo "cam_int of cam_0: $k0"
check "run: cam_int of cam_0 from the calibration" $([ -n "$k0" ] && grep -q "^\[\[$(sed -n '/^\[cam_0\]/,/^matrix/s/^matrix = \[\[\([0-9.]*\),.*/\1/p' "$tmp/demo/calibration.toml" | sed 's/\.0$//')," <<<"$k0"; echo $?)
check "run: every request carries cam_int" $([ "$(grep -c '"cam_int":' "$tmp/requests.log")" -eq 24 ]; echo $?)
check "run: 6 frames fitted" $(grep -q "^run: 6 frames" "$tmp/log" && grep -q "^status: ok 6" "$tmp/log"; echo $?)
check "run: the settings record the worker" $(grep -q '"estimator_worker": "sh ' "$tmp/run/pipeline_config.json"; echo $?)
check "run: stage 1 records the worker" $(grep -q '"estimator_worker": "sh ' "$tmp/run/stage1_meta.json"; echo $?)
: >"$tmp/starts.log"
"$bin" run --input "$tmp/imgs" --calib "$tmp/demo/calibration.toml" --out "$tmp/run" --assets "$assets" \
  --estimator-worker "$rworker" --workers 2 >"$tmp/log" 2>&1
check "run rerun: no worker started, every fit reused" $([ ! -s "$tmp/starts.log" ] && grep -q "^run: 6 frames (6 fits reused)" "$tmp/log"; echo $?)
cp -r "$tmp/imgs" "$tmp/imgs2"
echo crash >"$tmp/imgs2/000001/cam_2.jpg"
echo hang >"$tmp/imgs2/000004/cam_3.jpg"
: >"$tmp/starts.log"
"$bin" run --input "$tmp/imgs2" --calib "$tmp/demo/calibration.toml" --out "$tmp/run2" --assets "$assets" \
  --estimator-worker "$rworker" --estimator-timeout 1 >"$tmp/log" 2>"$tmp/err"
check "run with a crash and a hang: exit 0" $?
check "run: the crash restarted the worker, the hang killed it (3 starts)" $([ "$(wc -l <"$tmp/starts.log")" -eq 3 ]; echo $?)
check "run: the crashed view named" $(grep -q "frame '000001' camera 'cam_2': estimator worker 0 exited" "$tmp/err"; echo $?)
check "run: the timed-out view named" $(grep -q "frame '000004' camera 'cam_3': view missing: estimator worker 0 timed out after 1 s" "$tmp/err"; echo $?)
check "run: every frame still fitted from 3 cameras" $(grep -q "^status: ok 6" "$tmp/log" &&
  grep -A6 '"frame": "000001"' "$tmp/run2/sequence_summary.json" | grep -q '"available_cams": 3'; echo $?)
"$bin" run --input "$tmp/imgs" --calib "$tmp/demo/calibration.toml" --out "$tmp/run3" --assets "$assets" \
  --estimator-worker "sh '$here/fake_worker.sh' '$tmp/demo' {worker} nostart" --worker-restarts 1 >"$tmp/log" 2>"$tmp/err"
check "run with a worker that never starts: exit 1, the last error" $([ $? -eq 1 ] &&
  grep -q "estimator worker 0 failed 2 times in a row, giving up; last: estimator worker 0 exited with status 3 before it was ready" "$tmp/err"; echo $?)
for bad in "--estimator cp --estimator-worker w|exclude each other" "--estimator-worker w --workers 0|--workers must be" \
           "--estimator-worker w --worker-start-timeout 0|--worker_start_timeout > 0"; do
  # shellcheck disable=SC2086
  "$bin" run --input "$tmp/imgs" --calib "$tmp/demo/calibration.toml" --out "$tmp/never" ${bad%%|*} >/dev/null 2>"$tmp/err"
  check "run ${bad%%|*}: exit 2" $([ $? -eq 2 ] && grep -q -- "${bad##*|}" "$tmp/err" && [ ! -e "$tmp/never" ]; echo $?)
done
help=$("$bin" run --help)
for o in estimator_worker workers estimator_timeout worker_start_timeout worker_restarts; do
  check "run --help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done

# usage errors
"$bin" ingest --input "$tmp/cap" --cams c0 --out "$tmp/x" --estimator 'cp {image} {output}' --estimator-worker w >/dev/null 2>&1
check "--estimator with --estimator_worker exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" ingest --input "$tmp/cap" --cams c0 --out "$tmp/x" --estimator-worker w --workers 0 >/dev/null 2>&1
check "--workers 0 exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" ingest --input "$tmp/cap" --cams c0 --out "$tmp/x" --calib "$tmp/calib.toml" >/dev/null 2>&1
check "--calib without a worker exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" ingest --input "$tmp/cap" --cams c0 --out "$tmp/x" --estimator-worker w --calib "$tmp/none.toml" >/dev/null 2>"$tmp/err"
check "unreadable --calib exits 1" $([ $? -eq 1 ] && grep -q 'none.toml' "$tmp/err"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
