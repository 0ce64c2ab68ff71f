#!/usr/bin/env bash
# Regression tests of issue 17 about what `mhrfit run` reads, each reproducing the defect:
#  defect 4  a run that fits no frame (images without SAM 3D Body outputs, files in a
#            <cam>/<frame> layout, identical cameras) fails saying why and where it looked;
#  defect 5  an unknown camera, a broken calibration and invalid option values are reported
#            before stage 1 (nothing written, the estimator never started);
#  defect 6  only folders holding a file of a camera are frames (videos/, calib/, an earlier
#            output folder are named once as ignored); the output folder inside the input is
#            never read;
#  defect 7  outputs over inputs are refused before anything is written (run, triangulate);
#  defect 14 run --help tells which fit and triangulate options it does not accept.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"
cams=(cam_0 cam_1 cam_2 cam_3)
demo "$tmp/cap" 12 2; check "demo" $?
calib="$tmp/cap/calibration.toml"

# --- defect 4: nothing fitted
mkdir -p "$tmp/images"
for f in 000000 000001 000002; do mkdir -p "$tmp/images/$f"; for c in "${cams[@]}"; do echo jpeg >"$tmp/images/$f/$c.jpg"; done; done
"$bin" run --input "$tmp/images" --calib "$calib" --out "$tmp/o4a" >"$tmp/log" 2>&1; rc=$?
check "defect 4: images without SAM 3D Body outputs: exit 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "defect 4: ... saying no frame was fitted" $(has "$tmp/log" "no frame of .* was fitted")
check "defect 4: ... where the outputs were looked for" $(has "$tmp/log" "looked for as $tmp/images/<frame>/<cam>.npz")
check "defect 4: ... and what stage 1 found" $(has "$tmp/log" "has no SAM 3D Body output")
check "defect 4: ... the summary is there to read" $([ -f "$tmp/o4a/sequence_summary.json" ]; echo $?)
mkdir -p "$tmp/bycam"
for c in "${cams[@]}"; do mkdir -p "$tmp/bycam/$c"; for f in 000000 000001; do cp "$tmp/cap/$f/$c.npz" "$tmp/bycam/$c/$f.npz"; done; done
"$bin" run --input "$tmp/bycam" --calib "$calib" --out "$tmp/o4b" >"$tmp/log" 2>&1; rc=$?
check "defect 4: a <cam>/<frame> layout: exit 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "defect 4: ... the message names the layout" $(has "$tmp/log" "laid out as <cam>/<frame>")
check "defect 4: ... nothing written" $([ ! -e "$tmp/o4b" ]; echo $?)
calib_map "$calib" "$tmp/same.toml" '/^rotation/ { if (!r) r = $0; $0 = r } /^translation/ { if (!t) t = $0; $0 = t } { print }'
"$bin" run --input "$tmp/cap" --calib "$tmp/same.toml" --out "$tmp/o4c" >"$tmp/log" 2>&1; rc=$?
check "defect 4: four identical cameras: exit 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "defect 4: ... the message says they are at one place" $(has "$tmp/log" "are at the same place")

# --- defect 5: checks before the long work
echo "$tmp/never" >"$tmp/estimator.log"
est="sh -c 'echo \$1 >>$tmp/estimator.log; exit 1' est {image} {output}"
cp -r "$tmp/cap" "$tmp/cap5"; rm "$tmp/cap5/000001/cam_2.npz"; echo jpeg >"$tmp/cap5/000001/cam_2.jpg"
"$bin" run --input "$tmp/cap5" --calib "$calib" --cams cam_0 cam_9 --estimator "$est" --out "$tmp/o5" >"$tmp/log" 2>&1; rc=$?
check "defect 5: an unknown camera fails (got $rc) naming it" $([ $rc -ne 0 ] && grep -q "cam_9" "$tmp/log"; echo $?)
head -c 300 "$calib" >"$tmp/broken.toml"
"$bin" run --input "$tmp/cap5" --calib "$tmp/broken.toml" --estimator "$est" --out "$tmp/o5" >"$tmp/log" 2>&1; rc=$?
check "defect 5: a broken calibration fails (got $rc) naming the file" $([ $rc -eq 1 ] && grep -q "broken.toml" "$tmp/log"; echo $?)
for bad in "--cutoff_hz 20" "--fps 0" "--min_views 1" "--bad_frame_retries 11" "--max_stale_frames -1" "--solver sgd" "--lod -3"; do
  "$bin" run --input "$tmp/cap5" --calib "$calib" --estimator "$est" --out "$tmp/o5" $bad >"$tmp/log" 2>&1; rc=$?
  check "defect 5: $bad is a usage error (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
done
check "defect 5: nothing was written" $([ ! -e "$tmp/o5" ]; echo $?)
check "defect 5: the estimator never ran" $([ "$(cat "$tmp/estimator.log")" = "$tmp/never" ]; echo $?)

# --- defect 6: what is a frame
cp -r "$tmp/cap" "$tmp/cap6"
mkdir -p "$tmp/cap6/videos" "$tmp/cap6/calib"; echo mp4 >"$tmp/cap6/videos/cam_0.mp4"; cp "$calib" "$tmp/cap6/calib/"
"$bin" run --input "$tmp/cap6" --calib "$calib" --out "$tmp/cap6/run1" --no_mesh >"$tmp/log" 2>&1; check "defect 6: run with the output inside the input" $?
"$bin" run --input "$tmp/cap6" --calib "$calib" --out "$tmp/cap6/run2" --no_mesh >"$tmp/log" 2>&1; check "defect 6: a second run, the first output inside the input" $?
check "defect 6: 12 frames" $(has "$tmp/cap6/run2/sequence_summary.json" '"num_frames": 12,')
check "defect 6: no frame made of a folder without camera files" $(! grep -q '"frame": "\(videos\|calib\|run1\|run2\)"' "$tmp/cap6/run2/sequence_summary.json"; echo $?)
check "defect 6: the ignored folders are named once" \
  $([ "$(grep -c "not frames" "$tmp/log")" = 1 ] && grep -q "3 folder(s) .* not frames (no camera file): calib, run1, videos" "$tmp/log"; echo $?)
"$bin" ingest --input "$tmp/cap6" --cams "${cams[@]}" --out "$tmp/cap6/ing" >"$tmp/log" 2>&1; check "defect 6: ingest ignores them too" $?
check "defect 6: ... 12 frames" $(has "$tmp/log" "(of 12)")

# --- defect 7: outputs over inputs
"$bin" run --input "$tmp/cap" --calib "$calib" --out "$tmp/cap" >"$tmp/log" 2>&1; rc=$?
check "defect 7: run --out = --input is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
check "defect 7: ... before writing anything" $([ ! -e "$tmp/cap/pipeline_config.json" ] && [ ! -e "$tmp/cap/stage1" ]; echo $?)
"$bin" run --input "$tmp/cap6/run1/stage1" --calib "$calib" --out "$tmp/cap6/run1" >"$tmp/log" 2>&1; rc=$?
check "defect 7: run --input inside what --out writes is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
cp "$tmp/cap/000000/cam_0.npz" "$tmp/cam_0.before"
"$bin" triangulate --calib "$calib" --cams "${cams[@]}" --input "$tmp/cap/000000" --out "$tmp/cap/000000/cam_0.npz" >"$tmp/log" 2>&1; rc=$?
check "defect 7: triangulate --out over an input file is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
check "defect 7: ... the input is unchanged" $(cmp -s "$tmp/cam_0.before" "$tmp/cap/000000/cam_0.npz"; echo $?)
"$bin" triangulate --calib "$calib" --cams "${cams[@]}" --input "$tmp/cap/000000" --out "$tmp/tri.npz" --trc "$calib" >"$tmp/log" 2>&1; rc=$?
check "defect 7: triangulate --trc over the calibration is refused (2, got $rc)" $([ $rc -eq 2 ] && [ ! -e "$tmp/tri.npz" ]; echo $?)

# --- defect 14: run --help is true
"$bin" run --help >"$tmp/help"; check "defect 14: run --help" $?
for opt in --trc --rate --subset --debug_dir --init_pose --allow_missing_views; do
  check "defect 14: --help says $opt is not accepted" $(grep -A3 "not accepted" "$tmp/help" | grep -q -- "$opt"; echo $?)
  "$bin" run --input "$tmp/cap" --calib "$calib" --out "$tmp/o14" $opt x >"$tmp/log" 2>&1; rc=$?
  check "defect 14: ... and it is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
done
check "defect 14: --layout is accepted with --input_format (a detector's keypoints)" \
  $(grep -q -- "--layout L .*openpose: required" "$tmp/help"; echo $?)
check "defect 14: --help groups the options by stage" \
  $(grep -q "^Stage 2: triangulation:" "$tmp/help" && grep -q "^Stage 3: fit" "$tmp/help" && grep -q "^Examples:" "$tmp/help"; echo $?)
finish
