#!/usr/bin/env bash
# Regression tests of issue 17 about what `mhrfit run` reads, each reproducing the defect:
#  defect 4  a run that fits no frame (images without SAM 3D Body outputs, files in a
#            <cam>/<frame> layout, identical cameras) fails saying why and where it looked;
#  defect 5  an unknown camera, a broken calibration and invalid option values are reported
#            before stage 1 (nothing written, the estimator never started);
#  defect 6  only folders holding a file of a camera are frames (videos/, calib/, an earlier
#            output folder are named once as ignored); the output folder inside the input is
#            never read;
#  defect 7  outputs over inputs are refused before anything is written (run, triangulate, fit,
#            smooth; also through "..", symbolic and hard links; run --out in a frame folder);
#  defect 8  a FIFO named like a camera file is a failed view naming it (not a missing one); a
#            FIFO as --calib is said to be no regular file;
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
# fit --out over --tri (through "..") or over a view file, smooth --out over --input (through a
# symbolic link or a hard link), run --out in a frame folder: refused naming both paths, inputs unchanged
"$bin" triangulate --calib "$calib" --cams "${cams[@]}" --input "$tmp/cap/000002" --out "$tmp/tri2.npz" --quiet
check "defect 7: triangulate a frame for the fit cases" $?
mkdir -p "$tmp/d7"; cp "$tmp/tri2.npz" "$tmp/d7/tri.npz"; cp "$tmp/d7/tri.npz" "$tmp/tri.before"
"$bin" fit --tri "$tmp/d7/tri.npz" --views "$tmp/cap/000002" --out "$tmp/d7/../d7/./tri.npz" --no_mesh >"$tmp/log" 2>&1; rc=$?
check "defect 7: fit --out = --tri (through ..) is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
check "defect 7: ... naming both paths" $(grep -q "would replace the input --tri $tmp/d7/tri.npz" "$tmp/log" && grep -q -- "--out $tmp/d7/../d7/./tri.npz" "$tmp/log"; echo $?)
check "defect 7: ... the triangulation is unchanged" $(cmp -s "$tmp/tri.before" "$tmp/d7/tri.npz"; echo $?)
cp "$tmp/cap/000002/cam_1.npz" "$tmp/view.before"
"$bin" fit --tri "$tmp/tri2.npz" --views "$tmp/cap/000002" --out "$tmp/cap/000002/cam_1.npz" --no_mesh >"$tmp/log" 2>&1; rc=$?
check "defect 7: fit --out onto a view file is refused (2, got $rc)" $([ $rc -eq 2 ] && grep -q -- "--views $tmp/cap/000002" "$tmp/log"; echo $?)
check "defect 7: ... the view is unchanged" $(cmp -s "$tmp/view.before" "$tmp/cap/000002/cam_1.npz"; echo $?)
"$bin" fit --tri "$tmp/tri2.npz" --views "$tmp/cap/000002" --out "$tmp/d7/fit.npz" --no_mesh --quiet; check "defect 7: fit to a new file" $?
cp "$tmp/d7/fit.npz" "$tmp/fit.before"; ln -s fit.npz "$tmp/d7/link.npz"; ln "$tmp/d7/fit.npz" "$tmp/d7/hard.npz"
for o in "$tmp/d7/./fit.npz" "$tmp/d7/link.npz" "$tmp/d7/hard.npz"; do
  "$bin" smooth --input "$tmp/d7/fit.npz" --out "$o" >"$tmp/log" 2>&1; rc=$?
  check "defect 7: smooth --out $o = --input is refused (2, got $rc)" $([ $rc -eq 2 ] && grep -q "would replace the input --input $tmp/d7/fit.npz" "$tmp/log"; echo $?)
done
check "defect 7: ... the fit is unchanged" $(cmp -s "$tmp/fit.before" "$tmp/d7/fit.npz"; echo $?)
before=$(ls -a "$tmp/cap/000003")
for o in "$tmp/cap/000003" "$tmp/cap/./000003/sub/run"; do
  "$bin" run --input "$tmp/cap" --calib "$calib" --out "$o" --no_mesh >"$tmp/log" 2>&1; rc=$?
  check "defect 7: run --out $o in a frame folder is refused (2, got $rc)" $([ $rc -eq 2 ]; echo $?)
  check "defect 7: ... naming both folders" $(grep -q "output folder $o lies in the frame folder $tmp/cap/000003" "$tmp/log"; echo $?)
  check "defect 7: ... the frame folder is unchanged" $([ "$(ls -a "$tmp/cap/000003")" = "$before" ]; echo $?)
done

# --- defect 8: a FIFO named like a camera file inside a capture, and as --calib
cp -r "$tmp/cap" "$tmp/cap8"
f8=$(ls "$tmp/cap8/000002"/cam_*.npz | head -1); c8=$(basename "$f8" .npz)
rm "$f8"; mkfifo "$f8"
timeout 120 "$bin" run --input "$tmp/cap8" --calib "$calib" --out "$tmp/o8" --no_mesh >"$tmp/log" 2>"$tmp/err"; rc=$?
check "defect 8: a FIFO as a camera file: the run goes on (exit 0, got $rc)" $([ $rc -eq 0 ]; echo $?)
check "defect 8: ... an error line names the file and says why" \
  $(grep -q "error: .*frame '000002' camera '$c8': $tmp/cap8/000002/$c8.npz: is a named pipe (FIFO), not a regular file" "$tmp/err"; echo $?)
n8=$(ls "$tmp/cap/000002"/cam_*.npz | wc -l)
check "defect 8: ... the view is left out of its frame ($((n8 - 1)) of $n8 views)" \
  $(/usr/bin/python3 -c "import json,sys; f=[x for x in json.load(open('$tmp/o8/sequence_summary.json'))['frames'] if x['frame']=='000002'][0]; sys.exit(f['available_cams'] != $n8 - 1)"; echo $?)
timeout 60 "$bin" ingest --input "$tmp/cap8" --cams "${cams[@]}" --out "$tmp/i8" >"$tmp/log" 2>"$tmp/err"; rc=$?
check "defect 8: ingest: the frame of the FIFO fails (exit 1, got $rc), naming the file" \
  $([ $rc -eq 1 ] && grep -q "$tmp/cap8/000002/$c8.npz: is a named pipe (FIFO)" "$tmp/err"; echo $?)
mkfifo "$tmp/calib.fifo"
timeout 60 "$bin" run --input "$tmp/cap" --calib "$tmp/calib.fifo" --out "$tmp/o8b" >"$tmp/log" 2>&1; rc=$?
check "defect 8: run --calib FIFO fails (exit 1, got $rc) saying it is not a regular file" \
  $([ $rc -eq 1 ] && grep -q "calib.fifo: is a named pipe (FIFO), not a regular file" "$tmp/log" && ! grep -q "no such file" "$tmp/log"; echo $?)

# --- small defects: the distortions warning once per camera; triangulate on a folder of frames
grep -v '^distortions' "$calib" >"$tmp/nodist.toml"
"$bin" run --input "$tmp/cap" --calib "$tmp/nodist.toml" --out "$tmp/o10" --no_mesh >"$tmp/log" 2>"$tmp/err"
check "a calibration without distortions: the run goes on" $?
check "... the warning comes once per camera" \
  $([ "$(grep -c "camera 'cam_0': no 'distortions' field" "$tmp/err")" = 1 ] &&
    [ "$(grep -c "no 'distortions' field" "$tmp/err")" = 4 ]; echo $?)
"$bin" triangulate --calib "$calib" --cams "${cams[@]}" --input "$tmp/o10/stage1" --out "$tmp/t10.npz" \
  --allow_missing_views >"$tmp/log" 2>&1; rc=$?
check "triangulate --input a folder of frames: exit 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "... saying what was looked for, and that it holds frames" \
  $(grep -q "no camera has an input file: looked for $tmp/o10/stage1/<cam>.npz or .npy .* of the cameras cam_0, cam_1, cam_2, cam_3; the folder holds sub-folders: is it a folder of frames" "$tmp/log" &&
    ! grep -q "empty size" "$tmp/log"; echo $?)

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
# frame folders numbered with a gap (000007..000010 removed): one warning naming the gap; none for
# the whole capture or a --frames selection
"$bin" demo --out "$tmp/gapcap" --num_frames 14 --seed 3 --no_missing_views --quiet
"$bin" run --input "$tmp/gapcap" --calib "$tmp/gapcap/calibration.toml" --out "$tmp/gap_full" --no_mesh --quiet \
  2>"$tmp/gap_err0"
check "a capture without gaps: no gap warning" $([ $? -eq 0 ] && ! grep -q "gap" "$tmp/gap_err0"; echo $?)
rm -rf "$tmp/gapcap/000007" "$tmp/gapcap/000008" "$tmp/gapcap/000009" "$tmp/gapcap/000010"
"$bin" run --input "$tmp/gapcap" --calib "$tmp/gapcap/calibration.toml" --out "$tmp/gap_run" --no_mesh --quiet \
  2>"$tmp/gap_err"
check "frames with a gap: the run goes on (exit 0)" $?
check "... saying where the gap is and what it means" \
  $(grep -q "numbers have 1 gap(s) (000006 .. 000011; about 4 frame(s) missing): the temporal prior and the smoothing" \
    "$tmp/gap_err"; echo $?)
finish
