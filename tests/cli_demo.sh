#!/usr/bin/env bash
# mhrfit demo: the options and usage errors, the capture tree it writes, the triangulate command it
# suggests (run as printed), byte-identical reruns, reuse of an earlier demo folder.
set -uo pipefail
bin=$(cd "$(dirname "${MHRFIT_BIN:?}")" && pwd)/$(basename "$MHRFIT_BIN")
assets=${MHRFIT_ASSETS:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }

help=$("$bin" demo --help); rc=$?
check "demo --help exits 0" $rc
for opt in --out --num_frames --num_cams --seed --assets --noise --outlier.rate --decoy.rate --no.missing.views --markers --overwrite; do
  check "help documents $opt" $(grep -Eq -- "$opt" <<<"$help"; echo $?)
done
check "listed in mhrfit --help" $(grep -q '^  demo ' <<<"$("$bin" --help)"; echo $?)
"$bin" demo --assets "$assets" >/dev/null 2>&1; check "no --out is a usage error" $([ $? -eq 2 ]; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/x" --num_frames 0 >/dev/null 2>&1; check "--num_frames 0 is a usage error" $([ $? -eq 2 ]; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/x" --num_cams 1 >/dev/null 2>&1; check "--num_cams 1 is a usage error" $([ $? -eq 2 ]; echo $?)
env -u MHRFIT_ASSETS "$bin" demo --out "$tmp/x" >/dev/null 2>"$tmp/err"; rc=$?
check "no assets is a usage error" $([ $rc -eq 2 ]; echo $?)
check "message names MHRFIT_ASSETS" $(grep -q MHRFIT_ASSETS "$tmp/err"; echo $?)
mkdir -p "$tmp/busy" && echo hi >"$tmp/busy/notes.txt"
"$bin" demo --assets "$assets" --out "$tmp/busy" --num_frames 3 >/dev/null 2>"$tmp/err"; rc=$?
check "a non-empty folder that is not a demo is refused (exit 1, as frames and overlay)" $([ $rc -eq 1 ]; echo $?)
check "message says not empty" $(grep -q "not empty" "$tmp/err"; echo $?)
check "the folder is untouched" $([ "$(ls "$tmp/busy")" = notes.txt ]; echo $?)

out=$("$bin" demo --assets "$assets" --out "$tmp/d" --num_frames 12 --num_cams 4 --seed 3); rc=$?
check "demo exits 0" $rc
echo "$out"
check "summary: frames and cameras" $(grep -q "12 frames (000000..000011) x 4 cameras" <<<"$out"; echo $?)
for f in calibration.toml ground_truth.npz README.txt 000000 000011; do
  check "wrote $f" $([ -e "$tmp/d/$f" ]; echo $?)
done
check "no frame 000012" $([ ! -e "$tmp/d/000012" ]; echo $?)
cal=$("$bin" inspect "$tmp/d/calibration.toml")
check "calibration lists cam_3 matrix" $(grep -q "cam_3.matrix" <<<"$cal"; echo $?)
view=$(ls "$tmp"/d/000001/*.npz | head -1)
v=$("$bin" inspect "$view")
check "view has pred_keypoints_2d float32" $(grep -Eq '^pred_keypoints_2d +float32 +\((2, )?70, 2\)$' <<<"$v"; echo $?)
check "view has mhr_model_params" $(grep -Eq '^mhr_model_params +float32 +\((2, )?204\)$' <<<"$v"; echo $?)
g=$("$bin" inspect "$tmp/d/ground_truth.npz")
check "truth keypoints (12, 70, 3)" $(grep -Eq '^keypoints_3d +float32 +\(12, 70, 3\)$' <<<"$g"; echo $?)
check "truth decoy_first (12, 4)" $(grep -Eq '^decoy_first +bool +\(12, 4\)$' <<<"$g"; echo $?)

# the suggested next command works as printed (output redirected into the temporary folder)
next=$(sed -n 's/^next: mhrfit //p' <<<"$out")
check "a next command is printed" $([ -n "$next" ]; echo $?)
# shellcheck disable=SC2086
tri=$(cd "$tmp" && "$bin" $next); rc=$?
check "suggested triangulate exits 0" $rc
check "all 70 keypoints triangulated" $(grep -q "70 ok" <<<"$tri"; echo $?)
one=$(sed -n 's/.*frame \([0-9]*\) is seen by one camera only.*/\1/p' <<<"$out")
check "a single-view frame is announced" $([ -n "$one" ]; echo $?)
if [ -n "$one" ]; then
  tri=$("$bin" triangulate --calib "$tmp/d/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --input "$tmp/d/$one" \
        --allow-missing-views --out "$tmp/one.npz"); rc=$?
  check "single-view frame triangulates with --allow-missing-views" $rc
  check "its points are not triangulated" $(grep -q " 0 ok" <<<"$tri"; echo $?)
  check "one file in the single-view frame" $([ "$(ls "$tmp/d/$one" | wc -l)" -eq 1 ]; echo $?)
fi

# the suggested whole pipeline passes the demo's own rate: no rate assumed
whole=$(sed -n 's/^  or the whole pipeline: mhrfit //p' <<<"$out")
check "the whole-pipeline hint passes --fps 30" $(grep -q -- "--fps 30 --out" <<<"$whole"; echo $?)
# shellcheck disable=SC2086
rout=$(cd "$tmp" && "$bin" $whole --assets "$assets" --no-mesh 2>&1); rc=$?
check "the suggested run exits 0, at the demo's rate, none assumed" $([ $rc -eq 0 ] && ! grep -q "assumed" <<<"$rout" &&
  grep -q '"fps_origin": "option"' "$tmp/d_run/pipeline_config.json"; echo $?)

# the whole pipeline consumes the capture
"$bin" run --assets "$assets" --input "$tmp/d" --calib "$tmp/d/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 \
  --out "$tmp/run" --no-mesh --quiet; rc=$?
check "mhrfit run on the capture exits 0" $rc
check "run wrote its summary" $([ -s "$tmp/run/sequence_summary.json" ]; echo $?)

# a rig file of mhrfit rig import in place of the assets: the same capture, the same fit, the same
# smoothing, byte for byte
"$bin" rig import --assets "$assets" --out "$tmp/rig.npz" --quiet; check "rig import exits 0" $?
"$bin" demo --rig "$tmp/rig.npz" --out "$tmp/g" --num_frames 12 --num_cams 4 --seed 3 --quiet; rc=$?
check "demo --rig exits 0" $rc
check "demo --rig writes the tree of demo --assets" $(diff -r "$tmp/d" "$tmp/g" >/dev/null; echo $?)
"$bin" demo --rig "$tmp/rig.npz" --assets "$assets" --out "$tmp/h" >/dev/null 2>&1
check "demo --rig with --assets is a usage error" $([ $? -eq 2 ] && [ ! -e "$tmp/h" ]; echo $?)
"$bin" run --rig "$tmp/rig.npz" --input "$tmp/d" --calib "$tmp/d/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 \
  --out "$tmp/run_rig" --no-mesh --quiet; rc=$?
check "mhrfit run --rig exits 0" $rc
for f in sequence_fit.npz sequence_smoothed.npz; do
  check "run --rig: $f identical to run --assets" $(cmp -s "$tmp/run/$f" "$tmp/run_rig/$f"; echo $?)
done
check "run --rig records the rig file in its configuration" $(grep -q '"rig": ' "$tmp/run_rig/pipeline_config.json"; echo $?)
"$bin" smooth --assets "$assets" --in "$tmp/run/sequence_fit.npz" --out "$tmp/sm_assets.npz" --quiet
"$bin" smooth --rig "$tmp/rig.npz" --in "$tmp/run/sequence_fit.npz" --out "$tmp/sm_rig.npz" --quiet; rc=$?
check "smooth --rig exits 0" $rc
check "smooth --rig is byte-identical to --assets" $(cmp -s "$tmp/sm_assets.npz" "$tmp/sm_rig.npz"; echo $?)

# --run: the pipeline twice and an accuracy report against the truth
rep=$("$bin" demo --assets "$assets" --out "$tmp/g2" --num_frames 30 --num_cams 4 --seed 3 --run --quiet); rc=$?
check "demo --run exits 0" $rc
echo "$rep"
for row in "triangulation error, mean" "fitted keypoint MPJPE" "lower-body jitter while standing, fitted" \
           "frames ok" "time: triangulation" "time: fit" "time: whole run"; do
  check "report has row: $row" $(grep -q "| $row" <<<"$rep"; echo $?)
done
check "report compares with --freeze_lower_body" $(grep -q -- "--freeze_lower_body |" <<<"$rep"; echo $?)
check "demo --run prints the path of the default run's report (with --quiet too)" \
  $(grep -q "^report of the default run: $tmp/g2_run/default/report.html" <<<"$rep"; echo $?)
check "only the default run has a report" $([ ! -e "$tmp/g2_run/freeze_lower_body/report.html" ]; echo $?)
check "demo --run passes the demo's rate: none assumed" $(! grep -q "assumed" <<<"$rep" &&
  grep -q '"fps_origin": "option"' "$tmp/g2_run/default/pipeline_config.json"; echo $?)
for f in g2_run/accuracy.json g2_run/default/sequence_fit.npz g2_run/freeze_lower_body/sequence_fit.npz \
         g2_run/default/report.html; do
  check "--run wrote $f" $([ -s "$tmp/$f" ]; echo $?)
done
mpjpe=$(sed -n 's/^| fitted keypoint MPJPE, ok frames (mm) *| *\([0-9.]*\) .*/\1/p' <<<"$rep")
check "fitted MPJPE is a number below 20 mm ($mpjpe)" $(awk -v m="$mpjpe" 'BEGIN{exit !(m != "" && m+0 > 0 && m+0 < 20)}'; echo $?)
check "accuracy.json holds both runs" $(grep -q "freeze_lower_body.fitted.mpjpe_mm" <<<"$("$bin" inspect "$tmp/g2_run/accuracy.json")"; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/h2" --num_frames 4 --run --run_out "$tmp/elsewhere" --quiet >/dev/null; rc=$?
check "--run_out is honoured" $([ $rc -eq 0 ] && [ -s "$tmp/elsewhere/accuracy.json" ]; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/i2" --num_frames 4 --run --run_out "$tmp/i2/../i2/runs" --quiet >/dev/null 2>"$tmp/err"; rc=$?
check "--run_out inside --out is a usage error, nothing written" $([ $rc -eq 2 ] && [ ! -e "$tmp/i2" ] && grep -q "inside --out" "$tmp/err"; echo $?)

# same seed: byte-identical; an earlier demo is replaced with --overwrite only (as frames and overlay)
"$bin" demo --assets "$assets" --out "$tmp/e" --num_frames 12 --num_cams 4 --seed 3 --quiet; rc=$?
check "second run exits 0 quietly" $rc
check "same seed gives identical trees" $(diff -r "$tmp/d" "$tmp/e" >/dev/null; echo $?)
"$bin" demo --rig "$tmp/rig.npz" --out "$tmp/alias" --frames 12 --cams 4 --seed 3 --quiet; rc=$?
check "the older name --frames of --num_frames still works" $([ $rc -eq 0 ] && diff -r "$tmp/d" "$tmp/alias" >/dev/null; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/f" --num_frames 12 --num_cams 4 --seed 4 --quiet
check "another seed differs" $(! cmp -s "$tmp/d/ground_truth.npz" "$tmp/f/ground_truth.npz"; echo $?)
cp "$tmp/e/ground_truth.npz" "$tmp/gt_before.npz"
"$bin" demo --assets "$assets" --out "$tmp/e" --num_frames 6 --num_cams 4 --seed 3 --quiet 2>"$tmp/err"; rc=$?
check "rerun into an earlier demo without --overwrite: exit 1, saying so" $([ $rc -eq 1 ] &&
  grep -q "holds an earlier demo (ground_truth.npz): allow overwriting (--overwrite) to replace it" "$tmp/err"; echo $?)
check "... the earlier demo left as it was" $(cmp -s "$tmp/gt_before.npz" "$tmp/e/ground_truth.npz" && [ -e "$tmp/e/000011" ]; echo $?)
"$bin" demo --assets "$assets" --out "$tmp/e" --num_frames 6 --num_cams 4 --seed 3 --overwrite --quiet; rc=$?
check "rerun into an earlier demo with --overwrite exits 0" $rc
check "frames past the new count are removed" $([ ! -e "$tmp/e/000006" ] && [ -e "$tmp/e/000005" ]; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
