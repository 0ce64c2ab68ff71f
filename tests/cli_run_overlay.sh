#!/usr/bin/env bash
# mhrfit run --overlay: the overlays of mhrfit overlay at the end of a run. On a demo capture with
# pictures (demo --images) the run writes <out>/overlay/ with pictures and videos byte-identical to
# `mhrfit overlay` run separately on that run (the videos checked by ffprobe: one H.264 frame per
# frame); demo --run --images draws the default run's overlays; a capture without pictures is a
# warning and the run succeeds; a detector run (Pose2Sim's OpenPose BODY_25B) draws over the
# pictures named by --overlay_capture (its layout's skeleton and 2-D keypoints); usage errors.
src=$(pwd)
. "$(dirname "$0")/testlib.sh"
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
check "ffprobe is installed (Debian package ffmpeg, scripts/deps)" $(command -v ffprobe >/dev/null; echo $?)

help=$("$bin" run --help)
for o in overlay overlay_capture overlay_layers overlay_mesh overlay_format overlay_video overlay_grid overlay_rescale; do
  check "run --help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done

# ---- a demo capture with pictures
"$bin" demo --out "$tmp/cap" --num_frames 5 --no_missing_views --images --quiet
check "demo --images" $?
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run" --overlay --overlay-video \
  >"$tmp/log" 2>"$tmp/err"
check "run --overlay exits 0" $?
cat "$tmp/err"
check "run --overlay says what it wrote" $(has "$tmp/log" "^overlay: $tmp/run/overlay (5 frames x 4 cameras: 20 pictures, 0 views skipped, 4 videos)")
check "20 overlay pictures" $([ "$(find "$tmp/run/overlay" -name 'cam_?.jpg' | wc -l)" -eq 20 ]; echo $?)
for c in cam_0 cam_3; do
  vf=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,codec_name -of csv=p=0 \
       "$tmp/run/overlay/$c.mp4")
  check "$c.mp4: H.264, 5 frames (got $vf)" $([ "$vf" = "h264,5" ]; echo $?)
done
"$bin" overlay --run "$tmp/run" --out "$tmp/separate" --video --quiet
check "mhrfit overlay on the same run exits 0" $?
diff -r "$tmp/run/overlay" "$tmp/separate" >"$tmp/diff" 2>&1
check "run --overlay writes what mhrfit overlay writes, byte for byte" $?
head -5 "$tmp/diff"
# other settings: PNG pictures, wireframe, some layers, a grid
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run" --overlay --overlay_format png \
  --overlay_mesh wireframe --overlay_layers mesh,points,caption --overlay_grid --quiet
check "run --overlay with other settings exits 0 (the fits reused)" $?
"$bin" overlay --run "$tmp/run" --out "$tmp/separate2" --format png --mesh wireframe --layers mesh,points,caption --grid --quiet
diff -r "$tmp/run/overlay" "$tmp/separate2" >/dev/null 2>&1
check "the same settings give the same files as mhrfit overlay" $?
check "PNG pictures and the grid video" $([ -f "$tmp/run/overlay/000004/cam_2.png" ] && [ -f "$tmp/run/overlay/grid.mp4" ] &&
  [ ! -e "$tmp/run/overlay/000004/cam_2.jpg" ]; echo $?)

# ---- demo --run --images: the default run's overlays
"$bin" demo --out "$tmp/d2" --num_frames 4 --images --run --quiet >"$tmp/log" 2>&1
check "demo --run --images exits 0" $?
check "demo --run --images prints where the overlays are" $(has "$tmp/log" "overlays of the default run: $tmp/d2_run/default/overlay/")
check "the default run's overlays written" $([ "$(find "$tmp/d2_run/default/overlay" -name 'cam_?.jpg' | wc -l)" -ge 12 ]; echo $?)
check "the freeze_lower_body run has none" $([ ! -e "$tmp/d2_run/freeze_lower_body/overlay" ]; echo $?)

# ---- a capture without pictures: a warning, the run succeeds
demo "$tmp/bare" 3
"$bin" run --input "$tmp/bare" --calib "$tmp/bare/calibration.toml" --out "$tmp/run_bare" --overlay >"$tmp/log" 2>"$tmp/err"
check "run --overlay without pictures exits 0" $?
check "the sequence files are written" $([ -f "$tmp/run_bare/sequence_smoothed.npz" ]; echo $?)
check "a warning says no picture was found and where" $(has "$tmp/err" "warning: overlays not written: $tmp/bare holds no picture" &&
  has "$tmp/err" "overlay_capture DIR"; echo $?)
check "no overlay folder" $([ ! -e "$tmp/run_bare/overlay" ]; echo $?)

# ---- a detector run over the real pictures of the Pose2Sim trial (its first 6 frames)
"$bin" frames --videos cam_01="$trial/videos/cam01.mp4" cam_02="$trial/videos/cam02.mp4" \
  cam_03="$trial/videos/cam03.mp4" cam_04="$trial/videos/cam04.mp4" --end 6 --out "$tmp/frames" --quiet
check "frames of the trial's videos" $?
"$bin" run --input "$trial/pose-associated" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --cams cam_01 cam_02 cam_03 cam_04 --cam-dirs cam01_json cam02_json cam03_json cam04_json --input-format openpose \
  --layout body25b --fps 60 --frames 000000 000001 000002 000003 000004 000005 --out "$tmp/det" \
  --overlay --overlay_capture "$tmp/frames" --overlay_layers skeleton,keypoints,points,caption >"$tmp/log" 2>"$tmp/err"
check "detector run --overlay exits 0" $?
cat "$tmp/err"
check "24 overlays of the detector run" $(has "$tmp/log" "^overlay: $tmp/det/overlay (6 frames x 4 cameras: 24 pictures, 0 views skipped")
/usr/bin/python3 - "$tmp/det/overlay/overlay_summary.json" >"$tmp/cmp" 2>&1 <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bad = 0
for c in s["cameras"]:
    # the fitted BODY_25B keypoints measured against the detector's own 2-D keypoints
    fit = c["fit_keypoints_mean_px"]
    print(c["name"], "reprojection", c["mean_reprojection_px"], "fit", fit)
    bad += not (c["written"] == 6 and c["points"] > 0 and fit is not None and 0 < fit < 40)
sys.exit(bad)
PY
check "the detector's 2-D keypoints are drawn and the fitted keypoints measured against them" $?
cat "$tmp/cmp"
"$bin" overlay --run "$tmp/det" --capture "$tmp/frames" --layers skeleton,keypoints,points,caption --out "$tmp/det_sep" --quiet
diff -r "$tmp/det/overlay" "$tmp/det_sep" >/dev/null 2>&1
check "the detector run's overlays equal mhrfit overlay --run --capture" $?
"$bin" run --input "$trial/pose-associated" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --cams cam_01 cam_02 cam_03 cam_04 --cam-dirs cam01_json cam02_json cam03_json cam04_json --input-format openpose \
  --layout body25b --fps 60 --frames 000000 000001 --out "$tmp/det2" --overlay >"$tmp/log" 2>"$tmp/err"
check "detector run --overlay without --overlay_capture exits 0" $?
check "... and says to name the pictures" $(has "$tmp/err" "overlays not written: .* (name the pictures' folder with --overlay_capture DIR)")

# ---- usage errors (2), before anything is written
expect_usage() { # NAME TEXT ARGS...
  local name=$1 text=$2
  shift 2
  "$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/never" "$@" >/dev/null 2>"$tmp/err"
  check "$name exits 2" $([ $? -eq 2 ]; echo $?)
  check "$name: says why" $(has "$tmp/err" "$text")
}
expect_usage "--overlay_video without --overlay" "go with --overlay" --overlay_video
expect_usage "an unknown layer" "unknown layer 'bones'" --overlay --overlay_layers mesh,bones
expect_usage "an unknown mesh style" "expected silhouette or wireframe" --overlay --overlay_mesh solid
expect_usage "an unknown picture format" "expected jpg or png" --overlay --overlay_format tiff
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/never" --overlay \
  --overlay_capture "$tmp/nowhere" >/dev/null 2>"$tmp/err"
check "a missing --overlay_capture folder fails (1) at once" $([ $? -eq 1 ] && has "$tmp/err" "overlay_capture .*nowhere: no such folder"; echo $?)
check "nothing written" $([ ! -e "$tmp/never" ]; echo $?)
finish
