#!/usr/bin/env bash
# mhrfit fit without SAM 3D Body views on a real recording: Pose2Sim's balancing trial (OpenPose
# BODY_25B, 4 cameras, 100 frames) triangulated, then fitted with --layout body25b: every frame ok,
# the layout's keypoints in pred_keypoints_3d; user-map typos, a layout that is not the
# triangulation's and a map with too few keypoints are clear errors.
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
assets=${MHRFIT_ASSETS:?}
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
"$bin" triangulate --calib "$data/S00_Calibration/Calib_qualisys.toml" --cams cam_01 cam_02 cam_03 cam_04 \
  --cam-dirs cam01_json cam02_json cam03_json cam04_json --input "$trial/pose-associated" --layout body25b \
  --out "$tmp/tri.npz" >/dev/null 2>&1
check "triangulate exits 0" $?
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --out "$tmp/fit.npz" --assets "$assets" --no-mesh >"$tmp/log" 2>&1
check "fit --layout exits 0" $?
cat "$tmp/log"
check "every frame ok" $(grep -q "fitted 100 frame(s) without views: 100 ok, 0 bad_loss, 0 failed" "$tmp/log"; echo $?)
check "map summary" $(grep -q "keypoint map body25b: 6 joint keypoints, 19 markers" "$tmp/log"; echo $?)
out=$("$bin" inspect "$tmp/fit.npz")
check "pred_keypoints_3d (100, 25, 3)" $(grep -Eq '^pred_keypoints_3d +float32 +\(100, 25, 3\)$' <<<"$out"; echo $?)
check "targets (100, 25, 3)" $(grep -Eq '^opt_points3d_refined +float32 +\(100, 25, 3\)$' <<<"$out"; echo $?)
check "no mesh" $(! grep -q '^pred_vertices' <<<"$out"; echo $?)
# a user map amending the layout's: the neck as a joint keypoint
echo '{"Neck": "c_neck", "Head": null}' >"$tmp/map.json"
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --keypoint-map "$tmp/map.json" --out "$tmp/fit2.npz" \
  --assets "$assets" --no-mesh --quiet >/dev/null 2>&1
check "user map amends the layout" $?
# no layout: the triangulation's own names mapped by a user map alone
cat >"$tmp/own.json" <<'JSON'
{"LShoulder": {"joint": "l_uparm", "anchor": true}, "RShoulder": {"joint": "r_uparm", "anchor": true},
 "LHip": {"joint": "root", "offset": [0.082, -0.018, 0.005], "anchor": true},
 "RHip": {"joint": "root", "offset": [-0.082, -0.018, 0.005], "anchor": true},
 "LKnee": "l_lowleg", "RKnee": "r_lowleg", "LWrist": "l_wrist_twist", "RWrist": "r_wrist_twist", "LAnkle": "l_talocrural"}
JSON
"$bin" fit --tri "$tmp/tri.npz" --keypoint-map "$tmp/own.json" --out "$tmp/own.npz" --assets "$assets" --no-mesh \
  >"$tmp/log" 2>&1
check "user map without layout exits 0" $?
check "user map without layout summary" $(grep -q "keypoint map custom+user: 7 joint keypoints, 2 markers, 16 not fitted" "$tmp/log"; echo $?)
check "user map without layout fits" $(grep -q "fitted 100 frame(s) without views: 100 ok" "$tmp/log"; echo $?)
# one frame (a demo capture's stage-1 files, the mhr70 layout): no frame axis
"$bin" demo --out "$tmp/demo" --num_frames 2 --num_cams 4 --assets "$assets" --no-missing-views >/dev/null 2>&1
"$bin" triangulate --calib "$tmp/demo/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --input "$tmp/demo/000000" \
  --person-index 1 --out "$tmp/one.npz" >/dev/null 2>&1
check "one-frame triangulation exits 0" $?
"$bin" fit --tri "$tmp/one.npz" --layout mhr70 --out "$tmp/one_fit.npz" --assets "$assets" >"$tmp/log" 2>&1
check "one-frame fit exits 0" $?
check "one frame ok" $(grep -q "fitted 1 frame(s) without views: 1 ok" "$tmp/log"; echo $?)
out=$("$bin" inspect "$tmp/one_fit.npz")
check "one frame: no frame axis" $(grep -Eq '^pred_keypoints_3d +float32 +\(70, 3\)$' <<<"$out"; echo $?)
# errors
echo '{"LHip": "l_uplegg"}' >"$tmp/typo.json"
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --keypoint-map "$tmp/typo.json" --out "$tmp/bad.npz" \
  --assets "$assets" >/dev/null 2>"$tmp/err"; rc=$?
check "typo exits 1" $([ $rc -eq 1 ]; echo $?)
check "typo named" $(grep -q "keypoint 'LHip': no MHR joint named 'l_uplegg' (closest: l_upleg" "$tmp/err"; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --layout coco17 --out "$tmp/bad.npz" --assets "$assets" >/dev/null 2>"$tmp/err"; rc=$?
check "wrong layout exits 1" $([ $rc -eq 1 ]; echo $?)
check "wrong layout explained" $(grep -q "triangulated point 0 ('Nose') is not a keypoint of the coco17 layout" "$tmp/err"; echo $?)
echo '{"Nose": null, "LEye": null, "REye": null, "LEar": null, "REar": null, "LElbow": null, "RElbow": null,
  "LWrist": null, "RWrist": null, "LKnee": null, "RKnee": null, "LAnkle": null, "RAnkle": null, "Neck": null,
  "Head": null, "LBigToe": null, "LSmallToe": null, "LHeel": null, "RBigToe": null, "RSmallToe": null,
  "RHeel": null}' >"$tmp/few.json"
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --keypoint-map "$tmp/few.json" --out "$tmp/bad.npz" \
  --assets "$assets" >/dev/null 2>"$tmp/err"; rc=$?
check "too few mapped keypoints exits 1" $([ $rc -eq 1 ]; echo $?)
check "too few explained" $(grep -q "4 keypoints have an MHR counterpart (min_valid_points is 6)" "$tmp/err"; echo $?)
check "no output on errors" $([ ! -e "$tmp/bad.npz" ]; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --views "$tmp" --out "$tmp/bad.npz" >/dev/null 2>&1; rc=$?
check "--views with --layout exits 2" $([ $rc -eq 2 ]; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --init-pose "$tmp/fit.npz" --out "$tmp/bad.npz" >/dev/null 2>&1; rc=$?
check "--init_pose with --layout exits 2" $([ $rc -eq 2 ]; echo $?)
# the fit without views has no similarity scale, keeps the joint limits and fits every frame whole:
# the options saying otherwise are refused (as by run --input_format); those agreeing are accepted
for o in "--with_scale:--with_scale needs SAM 3D Body views: not with --layout / --keypoint_map" \
         "--no_joint_limits:--no_joint_limits: not with --layout / --keypoint_map" \
         "--freeze_lower_body:--freeze_lower_body needs SAM 3D Body views: not with --layout / --keypoint_map"; do
  "$bin" fit --tri "$tmp/one.npz" --layout mhr70 "${o%%:*}" --out "$tmp/bad.npz" --assets "$assets" >/dev/null 2>"$tmp/err"
  rc=$?
  check "fit --layout ${o%%:*} exits 2" $([ $rc -eq 2 ]; echo $?)
  check "fit --layout ${o%%:*} says why" $(grep -qF -- "${o#*:}" "$tmp/err"; echo $?)
done
check "no output after usage errors" $([ ! -e "$tmp/bad.npz" ]; echo $?)
"$bin" fit --tri "$tmp/one.npz" --layout mhr70 --no-with-scale --joint-limits --out "$tmp/one_fit2.npz" \
  --assets "$assets" --quiet >/dev/null 2>&1
check "fit --layout --no_with_scale --joint_limits (what it does anyway) exits 0" $?
check "... and gives the same fit" $(cmp -s "$tmp/one_fit.npz" "$tmp/one_fit2.npz"; echo $?)
help=$("$bin" fit --help)
check "help: --tri is not only MHR70" $(grep -q -- "--tri TRI.npz .*a detector layout's with --layout" <<<"$help"; echo $?)
check "help lists --keypoint_map" $(grep -q -- "--keypoint_map FILE" <<<"$help"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
