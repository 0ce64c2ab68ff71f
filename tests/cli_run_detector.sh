#!/usr/bin/env bash
# mhrfit run straight from a detector's keypoints: Pose2Sim's balancing trial (real OpenPose
# BODY_25B JSON from 4 cameras, 100 frames at 60 Hz) through triangulation, the fit without views,
# recovery and smoothing: 100 frames ok, the sequence files with the layout's keypoints, a rerun
# that reuses every frame, --report, and `mhrfit export` of the run checked by the Khronos glTF
# validator (a missing node or validator fails the test); usage errors.
src=$(pwd)
. "$(dirname "$0")/testlib.sh"
data=${MHRFIT_TESTDATA:?}/pose2sim_a948c20
trial=$data/S00_P00_SingleParticipant/S00_P00_T01_BalancingTrial
check "node is installed (scripts/deps)" $(command -v node >/dev/null; echo $?)
check "the glTF validator is installed (scripts/deps: npm ci)" $([ -f "$src/node_modules/gltf-validator/package.json" ]; echo $?)
args=(--input "$trial/pose-associated" --calib "$data/S00_Calibration/Calib_qualisys.toml"
      --cams cam_01 cam_02 cam_03 cam_04 --cam-dirs cam01_json cam02_json cam03_json cam04_json
      --input-format openpose --layout body25b --fps 60)

help=$("$bin" run --help)
for o in input_format layout keypoint_names keypoint_map cam_dirs calib_frames; do
  check "run --help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done

"$bin" run "${args[@]}" --out "$tmp/run" --mesh --report >"$tmp/log" 2>"$tmp/err"
check "run exits 0" $?
cat "$tmp/log" "$tmp/err"
check "no stage 1" $([ ! -e "$tmp/run/stage1" ] && [ ! -e "$tmp/run/stage1_meta.json" ]; echo $?)
check "calibration of the sequence reported" $(has "$tmp/log" "calibration: proportions from 14 segments")
check "100 frames, every one ok" $(has "$tmp/log" "run: 100 frames (0 fits reused)" && has "$tmp/log" "status: ok 100$")
check "summary: 100 ok" $(grep -A1 '"status_counts"' "$tmp/run/sequence_summary.json" | grep -q '"ok": 100'; echo $?)
check "summary: 25 triangulated points in frame 0" \
  $(grep -m1 -A8 '"frame": "000000"' "$tmp/run/sequence_summary.json" | grep -q '"triangulated_points": 25'; echo $?)
check "settings record the detector input" $(has "$tmp/run/pipeline_config.json" '"input_format": "openpose"' &&
  has "$tmp/run/pipeline_config.json" '"layout": "body25b"')
check "100 triangulations and fits" $([ "$(find "$tmp/run/triangulation" -name triangulated.npz | wc -l)" -eq 100 ] &&
  [ "$(find "$tmp/run/fit" -name fit.npz | wc -l)" -eq 100 ]; echo $?)
for f in sequence_fit sequence_smoothed; do
  out=$("$bin" inspect "$tmp/run/$f.npz")
  check "$f: pred_keypoints_3d (100, 25, 3)" $(grep -Eq '^pred_keypoints_3d +float32 +\(100, 25, 3\)$' <<<"$out"; echo $?)
  check "$f: opt_points3d_refined (100, 25, 3)" $(grep -Eq '^opt_points3d_refined +float32 +\(100, 25, 3\)$' <<<"$out"; echo $?)
  check "$f: keypoint_names (25,)" $(grep -Eq '^keypoint_names +<U[0-9]+ +\(25,\)$' <<<"$out"; echo $?)
  check "$f: joints and mesh" $(grep -Eq '^pred_joint_coords +float32 +\(100, 127, 3\)$' <<<"$out" &&
    grep -Eq '^pred_vertices +float32 +\(100, [0-9]+, 3\)$' <<<"$out"; echo $?)
done
names=$("$bin" inspect "$tmp/run/sequence_smoothed.npz" keypoint_names)
check "keypoints in the layout's order" $(grep -q "Nose" <<<"$names" && grep -q "RHeel" <<<"$names"; echo $?)
check "run --report wrote the page" $([ -s "$tmp/run/report.html" ] && has "$tmp/log" "^report: $tmp/run/report.html")

# a rerun reuses every frame and leaves the triangulations alone
stamp=$(stat -c %Y.%y "$tmp/run/triangulation/000042/triangulated.npz")
sleep 1
"$bin" run "${args[@]}" --out "$tmp/run" --mesh >"$tmp/log2" 2>&1
check "rerun exits 0" $?
check "rerun reuses the 100 fits" $(has "$tmp/log2" "run: 100 frames (100 fits reused)")
check "rerun keeps the triangulation files" $([ "$(stat -c %Y.%y "$tmp/run/triangulation/000042/triangulated.npz")" = "$stamp" ]; echo $?)
# the same steps by hand: triangulate (the folders named by --cam_map; the archive keeps the
# detections), then fit --layout --calib, which weights each point by what its cameras see and
# refits on the detections as run does: the run's keypoints to the float32 rounding of the archive
# (a median distance of 0.4 um; one frame's capped refits drift up to 7 mm); without --calib
# the fit differs (median 7 mm)
calib="$data/S00_Calibration/Calib_qualisys.toml"
"$bin" triangulate --calib "$calib" --cam_map cam01_json=cam_01 cam02_json=cam_02 cam03_json=cam_03 cam04_json=cam_04 \
  --input "$trial/pose-associated" --input_format openpose --layout body25b --out "$tmp/tri.npz" >/dev/null 2>&1
check "triangulate --cam_map cam01_json=cam_01 (folder names) exits 0" $?
check "the archive keeps the detections (100, 25, 4, 3)" \
  $("$bin" inspect "$tmp/tri.npz" | grep -Eq '^detections_px +float32 +\(100, 25, 4, 3\)$'; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --calib "$calib" --out "$tmp/fit_calib.npz" --no_mesh --quiet
check "fit --layout --calib exits 0" $?
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --out "$tmp/fit_plain.npz" --no_mesh --quiet
check "fit --layout exits 0" $?
median_mm() { # the median distance of the fitted keypoints of two archives, mm
  /usr/bin/python3 -c 'import sys, numpy as np
a, b = (np.load(f)["pred_keypoints_3d"] for f in sys.argv[1:3])
print(1e3 * float(np.median(np.linalg.norm(a - b, axis=-1))))' "$1" "$2"
}
d_calib=$(median_mm "$tmp/fit_calib.npz" "$tmp/run/sequence_fit.npz")
d_plain=$(median_mm "$tmp/fit_plain.npz" "$tmp/run/sequence_fit.npz")
echo "fitted keypoints vs run's, median: fit --calib $d_calib mm, without --calib $d_plain mm"
check "fit --layout --calib gives the run's keypoints (median < 0.01 mm)" \
  $(awk -v d="$d_calib" 'BEGIN { exit !(d != "" && d < 0.01) }'; echo $?)
check "without --calib the keypoints differ (median > 1 mm)" $(awk -v d="$d_plain" 'BEGIN { exit !(d != "" && d > 1) }'; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --layout body25b --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --translation_unit km --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "fit --translation_unit km: exit 2 naming the unit" $([ $rc -eq 2 ] && grep -q "'km'" "$tmp/err"; echo $?)
"$bin" fit --tri "$tmp/tri.npz" --views "$tmp" --calib "$calib" --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "fit --views --calib: usage error 2" $([ $rc -eq 2 ] && grep -q "apply to fits without views" "$tmp/err"; echo $?)

# other settings redo the fits
"$bin" run "${args[@]}" --out "$tmp/run" --mesh --calib_frames 12 >"$tmp/log3" 2>&1
check "another --calib_frames redoes the frames" $(has "$tmp/log3" "run: 100 frames (0 fits reused)")

# the run exported: a glTF the Khronos validator accepts, a TRC of the layout's markers
"$bin" export --input "$tmp/run" --out "$tmp/run.glb" >"$tmp/exp" 2>&1
check "export exits 0" $?
check "export: 25 keypoint nodes, 4 cameras" $(has "$tmp/exp" "25 keypoint node(s), 4 camera(s)")
(cd "$src" && node tests/interop/validate_gltf.mjs "$tmp/run.glb") >"$tmp/val" 2>&1
check "validator: 0 errors, 0 warnings" $([ $? -eq 0 ] && has "$tmp/val" ": 0 errors, 0 warnings"; echo $?)
cat "$tmp/val"
"$bin" export --input "$tmp/run" --out "$tmp/run.trc" --quiet
check "TRC of the 25 markers" $(sed -n 3p "$tmp/run.trc" | grep -q "^60	60	100	25	m"; echo $?)
check "TRC names the markers" $(sed -n 4p "$tmp/run.trc" | grep -q "Nose.*RHeel"; echo $?)

# Caliscope's csv of the same keypoints (Head left out), cameras found by their ports; then without a
# layout: the point ids as names, mapped to MHR joints by a user map
bash "$src/tests/p2s_caliscope_csv.sh" "$trial" "$tmp/xy_OPENPOSE.csv"
"$bin" run --input "$tmp/xy_OPENPOSE.csv" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --input-format caliscope_csv --layout body25b --fps 60 --out "$tmp/cs" >"$tmp/log" 2>&1
check "caliscope_csv with a layout exits 0" $?
check "caliscope_csv: the 4 calibrated cameras found, 100 frames ok" $(has "$tmp/log" "status: ok 100$" &&
  has "$tmp/cs/pipeline_config.json" '"cam_04"'; echo $?)
cat >"$tmp/ids.json" <<'JSON'
{"5": {"joint": "l_uparm", "anchor": true}, "6": {"joint": "r_uparm", "anchor": true},
 "11": {"joint": "root", "offset": [0.082, -0.018, 0.005], "anchor": true},
 "12": {"joint": "root", "offset": [-0.082, -0.018, 0.005], "anchor": true},
 "13": "l_lowleg", "14": "r_lowleg", "9": "l_wrist_twist", "10": "r_wrist_twist"}
JSON
"$bin" run --input "$tmp/xy_OPENPOSE.csv" --calib "$data/S00_Calibration/Calib_qualisys.toml" \
  --input-format caliscope_csv --keypoint-map "$tmp/ids.json" --fps 60 --out "$tmp/ids" >"$tmp/log" 2>&1
check "caliscope_csv with a user map of point ids exits 0" $?
check "point ids: 24 keypoints" $("$bin" inspect "$tmp/ids/sequence_fit.npz" | grep -Eq '^pred_keypoints_3d +float32 +\(100, 24, 3\)$'; echo $?)
ok=$(sed -n 's/^status: ok \([0-9]*\).*/\1/p' "$tmp/log")
check "point ids: frames fitted ($ok ok)" $([ "${ok:-0}" -ge 95 ]; echo $?)
# the hips are pelvis markers here: of the segments only the shoulders' remain (shoulders, wrists
# and knees are joints), which the run says as a warning and in the summary's diagnosis
check "point ids: proportions from the 1 segment between joints" $(has "$tmp/log" "calibration: proportions from 1 segments")
check "point ids: too few segments is a warning" \
  $(has "$tmp/log" "warning: keypoint map custom+user: body proportions from 1 segment(s), fewer than 4")
check "point ids: ... and in the summary's diagnosis" \
  $(grep -A3 '"diagnosis"' "$tmp/ids/sequence_summary.json" | grep -q "body proportions from 1 segment"; echo $?)
check "body25b: no such warning" $(! grep -q "body proportions from" "$tmp/cs/sequence_summary.json"; echo $?)

# usage errors (2) before anything is written
expect_usage() { # NAME TEXT ARGS...
  local name=$1 text=$2
  shift 2
  "$bin" run "$@" --out "$tmp/never" >/dev/null 2>"$tmp/err"
  check "$name exits 2" $([ $? -eq 2 ]; echo $?)
  check "$name: says why" $(has "$tmp/err" "$text")
}
expect_usage "openpose without --layout" "needs --layout" --input "$trial/pose-associated" \
  --calib "$data/S00_Calibration/Calib_qualisys.toml" --input_format openpose
expect_usage "--layout without --input_format" "need --input_format" --input "$trial/pose-associated" \
  --calib "$data/S00_Calibration/Calib_qualisys.toml" --layout body25b
expect_usage "--freeze_lower_body with a detector" "--freeze_lower_body needs SAM 3D Body views: not with --input_format openpose" \
  "${args[@]}" --freeze_lower_body
expect_usage "--with_scale with a detector" "--with_scale needs SAM 3D Body views: not with --input_format openpose" \
  "${args[@]}" --with_scale
expect_usage "--no_joint_limits with a detector" "--no_joint_limits: not with --input_format openpose" \
  "${args[@]}" --no_joint_limits
expect_usage "an unknown layout" "--layout: " "${args[@]}" --layout body26
expect_usage "--calib_frames 0" "--calib_frames must be in 1..10000" "${args[@]}" --calib_frames 0
check "nothing written" $([ ! -e "$tmp/never" ]; echo $?)
finish
