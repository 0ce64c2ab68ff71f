#!/usr/bin/env bash
# OpenPose JSON folders matched by the frame numbers in their file names (Pose2Sim's
# cam04.0030.json, OpenPose's <video>_000000000030_keypoints.json): the intact balancing trial
# triangulates as before; with cam04's file of frame 30 deleted, the other frames are unchanged,
# frame 30 is triangulated from the 3 other cameras and a warning names the camera and the frame;
# `run --input_format openpose` names its frames by those numbers. Names without numbers keep
# their order, and differing file counts are said.
. "$(dirname "$0")/testlib.sh"
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
calib=$data/S00_Calibration/Calib_qualisys.toml
py=/usr/bin/python3
cams=(--cams cam_01 cam_02 cam_03 cam_04 --cam_dirs cam01_json cam02_json cam03_json cam04_json)
tri() { # INPUT_DIR OUT.npz [options]: triangulate the 4 cameras, stderr into OUT.err
  local in=$1 out=$2
  shift 2
  "$bin" triangulate --calib "$calib" "${cams[@]}" --input "$in" --input_format openpose --layout body25b \
    --out "$out" --quiet "$@" 2>"$out.err"
}
cp -r "$trial/pose-associated" "$tmp/pa"
tri "$trial/pose-associated" "$tmp/intact.npz"
check "intact: exits 0" $?
check "intact: no warning" $([ ! -s "$tmp/intact.npz.err" ]; echo $?)
rm "$tmp/pa/cam04_json/cam04.0030.json"
tri "$tmp/pa" "$tmp/gap.npz"
check "cam04 without frame 30: exits 0" $?
check "the warning names the camera and the frame" \
  $(has "$tmp/gap.npz.err" "warning: camera 'cam_04' (.*cam04_json): no file of frame(s) 30 (1 of 100 frames")
# the per-frame points of every other frame are those of the intact folder; frame 30 without cam04
cmp_out=$($py - "$tmp/intact.npz" "$tmp/gap.npz" <<'EOF'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
F = a['points3d_refined'].shape[0]
other = np.arange(F) != 30
same = all(np.array_equal(a[k][other], b[k][other], equal_nan=True)
           for k in ('points3d_refined', 'inlier_mask', 'reproj_err_px', 'n_views_used', 'reason', 'detections_px'))
det30 = b['detections_px'][30]
cam04_missing = bool(np.isnan(det30[:, 3, :2]).all()) and bool(np.isfinite(det30[:, :3, :2]).any())
cam04_unused = not b['inlier_mask'][30, :, 3].any()
n30 = int(np.isfinite(b['points3d_refined'][30]).all(axis=1).sum())
print(int(b['points3d_refined'].shape[0] == F), int(same), int(cam04_missing), int(cam04_unused), n30,
      int(b['n_views_used'][30].max()))
EOF
)
read -r nframes same missing unused n30 maxviews <<<"$cmp_out"
echo "gap: frames kept $nframes, other frames identical $same, frame 30: cam04 NaN $missing, cam04 unused $unused," \
  "$n30 points, at most $maxviews views"
check "still 100 frames" $([ "$nframes" = 1 ]; echo $?)
check "frames != 30 identical to the intact triangulation" $([ "$same" = 1 ]; echo $?)
check "frame 30: cam04's detections missing, the others' present" $([ "$missing" = 1 ]; echo $?)
check "frame 30: triangulated without cam04" $([ "$unused" = 1 ] && [ "$maxviews" -le 3 ]; echo $?)
check "frame 30: 24 or 25 points (3 cameras)" $([ "$n30" -ge 24 ]; echo $?)

# OpenPose's own names, numbered from 5 with frame 7 missing in one camera: frames 5..9 by number
mkdir "$tmp/op"
for c in 01 02 03 04; do
  mkdir "$tmp/op/cam${c}_json"
  for i in 0 1 2 3 4; do
    cp "$trial/pose-associated/cam${c}_json/cam${c}.000$i.json" \
      "$tmp/op/cam${c}_json/trial_cam${c}_00000000000$((i + 5))_keypoints.json"
  done
done
rm "$tmp/op/cam02_json/trial_cam02_000000000007_keypoints.json"
"$bin" run --input "$tmp/op" --calib "$calib" "${cams[@]}" --input_format openpose --layout body25b --fps 60 \
  --out "$tmp/run" --jobs 1 >"$tmp/run.log" 2>&1
check "run on numbered OpenPose names: exits 0" $?
check "run: the camera lacking frame 7 is named" $(has "$tmp/run.log" "camera 'cam_02' (.*cam02_json): no file of frame(s) 7 (1 of 5")
check "run: frames named by their numbers 000005..000009" \
  $([ "$(ls "$tmp/run/triangulation" | tr '\n' ' ')" = "000005 000006 000007 000008 000009 " ]; echo $?)
check "run: frame 000007 triangulated" $([ -f "$tmp/run/triangulation/000007/triangulated.npz" ]; echo $?)

# names without numbers: file order, the differing counts said
mkdir "$tmp/plain"
for c in 01 02 03 04; do
  mkdir "$tmp/plain/cam${c}_json"
  n=0
  for l in a b c d e; do cp "$trial/pose-associated/cam${c}_json/cam${c}.000$n.json" "$tmp/plain/cam${c}_json/$l.json"; n=$((n + 1)); done
done
tri "$tmp/plain" "$tmp/plain.npz"
check "names without numbers, same counts: exits 0 without a warning" $([ $? = 0 ] && [ ! -s "$tmp/plain.npz.err" ]; echo $?)
rm "$tmp/plain/cam03_json/e.json"
tri "$tmp/plain" "$tmp/plain4.npz"
check "names without numbers, one file fewer: exits 0" $?
check "the differing counts are named" \
  $(has "$tmp/plain4.npz.err" "different numbers of OpenPose files (cam_01 5, cam_02 5, cam_03 4, cam_04 5)")
check "4 frames (the order kept)" $("$bin" inspect "$tmp/plain4.npz" | grep -Eq '^points3d_refined +float32 +\(4, 25, 3\)$'; echo $?)
finish
