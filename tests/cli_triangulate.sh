#!/usr/bin/env bash
# mhrfit triangulate on the Pose2Sim demo (OpenPose JSON, pose2sim method): the .trc it writes
# matches Pose2Sim's reference to 1e-9 m in every marker-frame the reference did not interpolate;
# the .npz has the documented arrays; bad requests fail with clear messages.
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
markers=RHip,RKnee,RAnkle,RBigToe,RSmallToe,RHeel,LHip,LKnee,LAnkle,LBigToe,LSmallToe,LHeel,Neck,Head,Nose,RShoulder,RElbow,RWrist,LShoulder,LElbow,LWrist
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 cam_02 cam_03 cam_04 \
  --cam-dirs cam01_json cam02_json cam03_json cam04_json --input "$trial/pose-associated" --layout body25b \
  --method pose2sim --subset "$markers" --out "$tmp/tri.npz" --trc "$tmp/tri.trc" --rate 60 >"$tmp/log" 2>&1
check "triangulate exits 0" $?
check "summary counts" $(grep -q "2094 ok, 0 no_views, 0 one_view, 0 degenerate, 6 all_outliers" "$tmp/log"; echo $?)
# Compare with the reference TRC: numeric cells equal within 1e-9, exactly 18 empty cells (6 marker-frames).
res=$(awk -F'\t' 'NR==FNR { if (FNR > 5) for (i = 1; i <= NF; i++) ref[FNR, i] = $i; next }
  FNR > 5 { for (i = 3; i <= NF; i++) { if ($i == "") { empty++; continue }
            d = $i - ref[FNR, i]; if (d < 0) d = -d; if (d > max) max = d; n++ } }
  END { printf "%d %d %.3g", n, empty, max }' "$trial/pose-3d/S00_P00_T01_BalancingTrial_0-100.trc" "$tmp/tri.trc")
read -r n empty max <<<"$res"
echo "trc: $n values compared, $empty empty cells, max |diff| $max m"
check "6282 values compared" $([ "$n" -eq 6282 ]; echo $?)
check "18 empty cells" $([ "$empty" -eq 18 ]; echo $?)
check "max difference <= 1e-9 m" $(awk -v m="$max" 'BEGIN { exit !(m <= 1e-9) }'; echo $?)
out=$("$bin" inspect "$tmp/tri.npz")
check "points3d_refined (100, 21, 3)" $(grep -Eq '^points3d_refined +float32 +\(100, 21, 3\)$' <<<"$out"; echo $?)
check "inlier_mask (100, 21, 4)" $(grep -Eq '^inlier_mask +bool +\(100, 21, 4\)$' <<<"$out"; echo $?)
check "reason codes" $(grep -Eq '^reason +int32 +\(100, 21\)$' <<<"$out"; echo $?)
# errors
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_1 cam_02 --input "$trial/pose-associated" \
  --layout body25b --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "unknown camera exits 1" $([ $rc -eq 1 ]; echo $?)
check "unknown camera named" $(grep -q "no camera named 'cam_1'" "$tmp/err"; echo $?)
"$bin" triangulate --calib x.toml --cams a >/dev/null 2>&1; rc=$?
check "missing options exit 2" $([ $rc -eq 2 ]; echo $?)
"$bin" triangulate --calib x --cams a b --input . --out y --method magic >/dev/null 2>&1; rc=$?
check "bad method exits 2" $([ $rc -eq 2 ]; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 cam_02 --input "$tmp" \
  --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "missing input exits 1" $([ $rc -eq 1 ]; echo $?)
check "missing input names the camera" $(grep -q "camera 'cam_01'" "$tmp/err"; echo $?)
check "no partial output left" $([ ! -e "$tmp/x.npz" ]; echo $?)
# without --cams: every calibrated camera that has keypoints (OpenPose folders <cam>_json here)
mkdir "$tmp/named"
for c in 01 02 03 04; do ln -s "$trial/pose-associated/cam${c}_json" "$tmp/named/cam_${c}_json"; done
rm "$tmp/named/cam_04_json" # a calibrated camera without keypoints is left out with a warning
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$tmp/named" --layout body25b \
  --method pose2sim --subset "$markers" --out "$tmp/auto.npz" --quiet 2>"$tmp/err"; rc=$?
check "no --cams exits 0" $([ $rc -eq 0 ]; echo $?)
check "no --cams: the camera without keypoints is named" $(grep -q "warning: .*no keypoint of camera(s) cam_04 (left out)" "$tmp/err"; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 cam_02 cam_03 \
  --cam-dirs cam01_json cam02_json cam03_json --input "$trial/pose-associated" --layout body25b \
  --method pose2sim --subset "$markers" --out "$tmp/three.npz" --quiet
check "no --cams equals the same cameras named (byte for byte)" $(cmp -s "$tmp/auto.npz" "$tmp/three.npz"; echo $?)
# --cam_map: Pose2Sim's folder names (cam01_json) for the calibration's cameras (cam_01)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$trial/pose-associated" --layout body25b \
  --cam_map cam01=cam_01 cam02=cam_02 cam03=cam_03 cam04=cam_04 --method pose2sim --subset "$markers" \
  --out "$tmp/mapped.npz" --quiet; rc=$?
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 cam_02 cam_03 cam_04 \
  --cam-dirs cam01_json cam02_json cam03_json cam04_json --input "$trial/pose-associated" --layout body25b \
  --method pose2sim --subset "$markers" --out "$tmp/four.npz" --quiet
check "--cam_map without --cams equals --cams with --cam_dirs (byte for byte)" $([ $rc -eq 0 ] && cmp -s "$tmp/mapped.npz" "$tmp/four.npz"; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$trial/pose-associated" --layout body25b \
  --cam_map cam01=cam_1 --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "--cam_map to an unknown camera: exits 1 naming it" $([ $rc -eq 1 ] && grep -q "no camera named 'cam_1'" "$tmp/err"; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$trial/pose-associated" \
  --cam_map cam01 --out "$tmp/x.npz" >/dev/null 2>&1; rc=$?
check "--cam_map without '=': usage error 2" $([ $rc -eq 2 ]; echo $?)
rm "$tmp/named/cam_02_json" "$tmp/named/cam_03_json"
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --input "$tmp/named" --layout body25b \
  --out "$tmp/one.npz" --quiet 2>"$tmp/err"; rc=$?
check "no --cams, one camera with keypoints: exits 1" $([ $rc -eq 1 ]; echo $?)
check "no --cams, one camera: says why" $(grep -q "1 calibrated camera(s) have keypoints, at least 2 are needed" "$tmp/err"; echo $?)
check "one camera: no output" $([ ! -e "$tmp/one.npz" ]; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 --input "$tmp/named" \
  --out "$tmp/one.npz" >/dev/null 2>&1; rc=$?
check "--cams with one camera exits 2" $([ $rc -eq 2 ]; echo $?)
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cam_dirs a b --input "$tmp/named" \
  --out "$tmp/one.npz" >/dev/null 2>&1; rc=$?
check "--cam_dirs without --cams exits 2" $([ $rc -eq 2 ]; echo $?)
# raw SAM 3D Body outputs with two persons (the demo's frame 3: a smaller person listed first in
# cam_0): the person read is said, and --person_index 1 reads the second one of the list
"$bin" demo --out "$tmp/cap2p" --num_frames 4 --seed 1 --no_missing_views --quiet --assets "${MHRFIT_ASSETS:?}"
"$bin" triangulate --calib "$tmp/cap2p/calibration.toml" --input "$tmp/cap2p/000003" --out "$tmp/p0.npz" \
  >"$tmp/p0.log" 2>&1
check "two persons: person 0 read, said" \
  $(grep -q "cam_0.npz: camera 'cam_0': 2 persons, person 0 read (--person_index" "$tmp/p0.log"; echo $?)
"$bin" triangulate --calib "$tmp/cap2p/calibration.toml" --input "$tmp/cap2p/000003" --out "$tmp/p1.npz" \
  --person_index 1 >"$tmp/p1.log" 2>&1
check "--person_index 1: the second person of the list read" \
  $(grep -q "2 persons, person 1 read" "$tmp/p1.log" && grep -Eq "cam_0 +mean reprojection error of used views: [0-9.]+ px" "$tmp/p1.log" &&
    grep -Eq "cam_0 +mean reprojection error of used views: nan px" "$tmp/p0.log"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
