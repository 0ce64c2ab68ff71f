#!/usr/bin/env bash
# mhrfit report: the page of a demo run checked in headless Chromium (tests/browser/report_page.mjs:
# loads from file:// with no console error and no network request, the WebGL view is drawn and
# changes between frames, the status strip, "next problem", play, the keypoint marks of every
# camera panel, one chart value per frame, a screenshot kept in build/test-artifacts/); a damaged
# run folder still gives a page that says what is missing; usage and invalid folders fail clearly;
# run --report writes the same page at the end of a run.
# The body the page embeds passes the Khronos glTF validator (tests/interop/validate_gltf.mjs).
# A missing node, puppeteer-core, the validator or Chromium fails the test (never a skip).
set -uo pipefail
root=$(pwd)
bin=$(cd "$(dirname "${MHRFIT_BIN:?}")" && pwd)/$(basename "$MHRFIT_BIN")
export MHRFIT_ASSETS=${MHRFIT_ASSETS:?}
artifacts=${MHRFIT_BUILD_DIR:?}/test-artifacts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }

command -v node >/dev/null; check "node is installed (scripts/deps)" $?
[ -d "$root/node_modules/puppeteer-core" ]; check "puppeteer-core is installed (npm ci; scripts/deps)" $?
[ -f "$root/node_modules/gltf-validator/package.json" ]; check "the glTF validator is installed (npm ci; scripts/deps)" $?
[ -x "${MHRFIT_CHROMIUM:-/usr/bin/chromium}" ]; check "Chromium is installed (scripts/deps)" $?

help=$("$bin" report --help); check "report --help exits 0" $?
for opt in --run --out --capture --no_images --image_width --calib --truth --fitted --title --assets --rig --lod --no_body; do
  check "help documents $opt" $(grep -q -- "$opt" <<<"$help"; echo $?)
done
"$bin" report >/dev/null 2>&1; check "no --run is a usage error (2)" $([ $? = 2 ]; echo $?)
err=$("$bin" report --run "$tmp/nowhere" 2>&1); rc=$?
check "a missing run folder fails (1)" $([ $rc = 1 ]; echo $?)
check "the error names the folder" $(grep -q "nowhere" <<<"$err"; echo $?)
mkdir "$tmp/empty"
err=$("$bin" report --run "$tmp/empty" 2>&1); rc=$?
check "a folder that is not a run fails (1)" $([ $rc = 1 ]; echo $?)
check "the error says it is not a run folder" $(grep -q "not a run folder" <<<"$err"; echo $?)

"$bin" demo --out "$tmp/cap" --num_frames 30 --seed 3 >/dev/null; check "demo" $?
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --quiet \
  --out "$tmp/run"; check "run" $?
# camera images: one test picture (ffmpeg) for every frame and camera but one
command -v ffmpeg >/dev/null; check "ffmpeg is installed (scripts/deps)" $?
ffmpeg -loglevel error -f lavfi -i testsrc=size=1920x1080:rate=1 -frames:v 1 "$tmp/picture.jpg"; check "test picture" $?
for d in "$tmp"/cap/0*/; do
  f=$(basename "$d"); mkdir -p "$tmp/images/$f"
  for c in cam_0 cam_1 cam_2 cam_3; do ln -s "$tmp/picture.jpg" "$tmp/images/$f/$c.jpg"; done
done
rm "$tmp/images/000004/cam_2.jpg"
out=$("$bin" report --run "$tmp/run" --capture "$tmp/images" --image_width 320 2>&1); check "report" $?
echo "$out"
check "the report has the body (MHRFIT_ASSETS)" $(grep -q "with the body" <<<"$out"; echo $?)
check "the report embeds the 119 camera images" $(grep -q "119 camera images" <<<"$out"; echo $?)
check "report.html written in the run folder" $([ -s "$tmp/run/report.html" ]; echo $?)
check "no stray temporary file" $([ "$(ls "$tmp/run" | grep -c '\.tmp')" = 0 ]; echo $?)
check "the page embeds three.js, no URL to fetch it" \
  $(grep -q 'data-module="three/build/three.core.js"' "$tmp/run/report.html" && ! grep -qE 'src="https?:' "$tmp/run/report.html"; echo $?)
( cd "$root" && node tests/browser/report_page.mjs --html "$tmp/run/report.html" --mode full --run "$tmp/run" \
    --bin "$bin" --shot "$artifacts/report.png" --body 1 --images 1 ); check "browser checks of the demo report" $?
check "screenshot kept in build/test-artifacts" $([ -s "$artifacts/report.png" ]; echo $?)

# --out elsewhere, and the same page bytes for the same run (deterministic)
"$bin" report --run "$tmp/run" --out "$tmp/a.html" --quiet; check "report --out" $?
"$bin" report --run "$tmp/run" --out "$tmp/a2.html" --quiet
cmp -s "$tmp/a.html" "$tmp/a2.html"; check "the same run gives the same page" $?
# run --report writes that same page at the end of the run (the body from the run's assets, LOD 6)
out=$("$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 \
  --out "$tmp/run" --report 2>&1); check "run --report" $?
check "run --report says where the page is" $(grep -q "^report: $tmp/run/report.html (.* MB, 30 frames, 4 cameras, with the body)" <<<"$out"; echo $?)
"$bin" report --run "$tmp/run" --out "$tmp/c.html" --quiet
cmp -s "$tmp/run/report.html" "$tmp/c.html"; check "run --report writes the page of mhrfit report" $?
"$bin" report --run "$tmp/run" --out "$tmp/b.html" --no_body --capture "$tmp/images" --no_images --quiet
check "report --no_body --no_images" $?
check "--no_images leaves the images out" $(! grep -q '"images":{' "$tmp/b.html"; echo $?)
check "--no_body leaves the body out" $([ "$(stat -c %s "$tmp/b.html")" -lt "$(stat -c %s "$tmp/a.html")" ] &&
  ! grep -q '"body":{' "$tmp/b.html"; echo $?)

# a run made with paths relative to its own folder, its report made from another working folder:
# the calibration the run recorded (cap/calibration.toml) is found as the exporter finds it
mkdir "$tmp/rel" "$tmp/elsewhere" && ln -s "$tmp/cap" "$tmp/rel/cap"
( cd "$tmp/rel" && "$bin" run --input cap --calib cap/calibration.toml --cams cam_0 cam_1 cam_2 cam_3 --quiet \
    --out run ); check "run with relative paths" $?
out=$(cd "$tmp/elsewhere" && "$bin" report --run ../rel/run --out r.html --no_body 2>&1); check "report from elsewhere" $?
echo "$out"
check "the report from elsewhere finds the recorded calibration" \
  $(grep -q "4 cameras (4 calibrated)" <<<"$out" && ! grep -q "could not be read" <<<"$out"; echo $?)
check "... and the capture's ground truth" $(grep -q "with the ground truth" <<<"$out"; echo $?)
# the capture recorded only as the relative path the run was given (stage1_meta.json's absolute
# input_root gone stale): found beside the run folder, as the overlays find it
cp -r "$tmp/rel" "$tmp/moved"
/usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; m = json.load(open(p)); m["input_root"] = "/nonexistent/cap"; json.dump(m, open(p, "w"))' "$tmp/moved/run/stage1_meta.json"
out=$(cd "$tmp/elsewhere" && "$bin" report --run ../moved/run --out m.html --no_body 2>&1); check "report of a moved run from elsewhere" $?
check "... finds the capture recorded as a relative path (its ground truth)" $(grep -q "with the ground truth" <<<"$out"; echo $?)
out=$(cd "$tmp/elsewhere" && "$bin" export --input ../rel/run --out r.glb 2>&1); check "export from elsewhere" $?
check "the export from elsewhere finds it too" $(grep -q "4 camera(s)" <<<"$out"; echo $?)
# the body the demo report embeds and that export: GLBs the Khronos validator accepts (one process)
/usr/bin/python3 "$root/tests/interop/export_checks.py" report_glb "$tmp/run/report.html" "$tmp/body.glb" >"$tmp/val.log" 2>&1 &&
  (cd "$root" && node tests/interop/validate_gltf.mjs "$tmp/body.glb" "$tmp/elsewhere/r.glb" >>"$tmp/val.log" 2>&1); rc=$?
cat "$tmp/val.log"
check "validator: the report's GLB and the export have 0 errors and 0 warnings" \
  $([ $rc -eq 0 ] && [ "$(grep -c ": 0 errors, 0 warnings" "$tmp/val.log")" = 2 ]; echo $?)

# a damaged run: no summary, no smoothed sequence, a triangulation missing, a stage-1 file damaged
cp -r "$tmp/run" "$tmp/damaged"
rm "$tmp/damaged/sequence_summary.json" "$tmp/damaged/sequence_smoothed.npz" "$tmp/damaged/report.html"
rm "$tmp/damaged/triangulation/000005/triangulated.npz"
echo "not an npz" > "$tmp/damaged/stage1/000007/cam_1.npz"
out=$("$bin" report --run "$tmp/damaged" 2>&1); check "report of a damaged run" $?
echo "$out"
for what in sequence_summary.json sequence_smoothed.npz 000005 cam_1.npz; do
  check "the damaged report notes $what" $(grep -q "$what" <<<"$out"; echo $?)
done
( cd "$root" && node tests/browser/report_page.mjs --html "$tmp/damaged/report.html" --mode damaged \
    --notes "sequence_summary.json|000005" ); check "browser checks of the damaged report" $?

# a run with a failed frame left NaN: frame 000000 seen by one camera, no edge copy to recover it
cp -r "$tmp/cap" "$tmp/cap1"
rm "$tmp"/cap1/000000/cam_[123].npz
"$bin" run --input "$tmp/cap1" --calib "$tmp/cap1/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --quiet \
  --max_edge_copy_span 0 --out "$tmp/run1" --report; check "run --report with a failed first frame" $?
check "its report written by run --report" $([ -s "$tmp/run1/report.html" ]; echo $?)
( cd "$root" && node tests/browser/report_page.mjs --html "$tmp/run1/report.html" --mode damaged --nan-frame 0 )
check "browser checks of the NaN frame" $?

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
