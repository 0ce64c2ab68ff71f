#!/usr/bin/env bash
# mhrfit export checked by the programs that open its files (they must be installed: a missing
# one fails this test; scripts/deps installs them):
# - the Khronos glTF validator (npm gltf-validator, package.json): every .glb/.gltf written has 0
#   errors and 0 warnings;
# - Blender 3.4 (headless, one process, tests/interop/blender_checks.py): the .glb of a demo run
#   has 127 bones named after the MHR joints, one mesh of the LOD's vertex count, an action over
#   the exported frames, and at three frames its posed mesh equals mhrfit's skinned mesh and its
#   keypoint empties the fitted keypoints (<= 1e-4 m); the .bvh of a sequence with constant
#   scales puts the bone heads on the fitted joints (<= 1e-4 m); a per-frame .ply and .obj have
#   the mesh's counts and positions (<= 1e-5 m); a capture whose world is z-up exports with
#   --up auto choosing +z and stands in Blender;
# - NumPy (tests/interop/export_checks.py): mhr_params.npz round-trips through mhrfit rig fk to
#   the exported frame's joints, the TRC holds the keypoints in OpenSim's axes, and the glTF
#   cameras are the calibration's (centre, viewing and up axes, yfov, aspect ratio; y-up and z-up).
set -uo pipefail
bin=${MHRFIT_BIN:?}
src=$(pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
have() { command -v "$1" >/dev/null 2>&1; }
check "blender is installed (scripts/deps)" $(have blender; echo $?)
check "node is installed" $(have node; echo $?)
check "the glTF validator is installed (scripts/deps: npm ci)" $([ -f node_modules/gltf-validator/package.json ]; echo $?)
check "Debian's python3 with NumPy is installed (scripts/deps)" $("$py" -c 'import numpy' 2>/dev/null; echo $?)
if [ "$fail" -ne 0 ]; then echo "$pass passed, $fail failed"; exit 1; fi
run() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log"; return 1; }; }
cams="cam_0 cam_1 cam_2 cam_3"
run "$bin" demo --out "$tmp/cap" --num_frames 24 --seed 2; check "demo capture" $?
run "$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams $cams --out "$tmp/run" --mesh --quiet; check "run" $?
# a sequence whose scales are constant: similarity scale 1, bone lengths at their median
run "$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams $cams --out "$tmp/runc" --no_with_scale --mesh --quiet
check "run without similarity scale" $?
run "$py" tests/interop/export_checks.py const "$tmp/runc/sequence_smoothed.npz" "$tmp/const.npz"; check "constant-scale archive" $?
# the z-up world: the demo's calibration turned by 90 degrees about X
run "$py" tests/interop/export_checks.py zup "$tmp/cap/calibration.toml" "$tmp/calib_zup.toml"; check "z-up calibration" $?
run "$bin" run --input "$tmp/cap" --calib "$tmp/calib_zup.toml" --cams $cams --out "$tmp/runz" --mesh --quiet; check "z-up run" $?

seq=$tmp/run/sequence_smoothed.npz
ex() { "$bin" export "$@" >"$tmp/ex.log" 2>&1; local rc=$?; [ $rc -eq 0 ] || cat "$tmp/ex.log"; return $rc; }
ex --in "$tmp/run" --out "$tmp/body.glb"; check "export .glb" $?
check ".glb: up axis +y detected" $(grep -q "^up axis: +y (detected" "$tmp/ex.log"; echo $?)
check ".glb: 4 cameras from the run's calibration" $(grep -q ", 4 camera(s)" "$tmp/ex.log"; echo $?)
ex --in "$tmp/run" --out "$tmp/body.gltf"; check "export .gltf + .bin" $?
check ".bin beside the .gltf" $([ -s "$tmp/body.bin" ]; echo $?)
ex --in "$tmp/run" --out "$tmp/body4.glb" --max_influences 4 --expressions --source fitted --frames 3:20
check "export .glb, 4 influences, expressions, fitted, frames 3:20" $?
ex --in "$tmp/runz" --out "$tmp/zup.glb"; check "export the z-up run" $?
check "z-up: --up auto chooses +z" $(grep -q "^up axis: +z (detected" "$tmp/ex.log"; echo $?)
ex --in "$tmp/const.npz" --out "$tmp/const.bvh"; check "export .bvh of the constant-scale sequence" $?
ex --in "$tmp/const.npz" --out "$tmp/const_params" --format npz; check "export per-frame npz (constant scales)" $?
ex --in "$tmp/run" --out "$tmp/ply" --format ply; check "export per-frame .ply" $?
ex --in "$tmp/run" --out "$tmp/obj" --format obj --frames 5:6; check "export per-frame .obj" $?
ex --in "$tmp/run" --out "$tmp/params" --format npz; check "export per-frame mhr_params.npz" $?
ex --in "$tmp/run" --out "$tmp/body.trc"; check "export .trc" $?

# the Khronos validator: 0 errors, 0 warnings
node tests/interop/validate_gltf.mjs "$tmp/body.glb" "$tmp/body.gltf" "$tmp/body4.glb" "$tmp/zup.glb" >"$tmp/val.log" 2>&1
rc=$?
cat "$tmp/val.log"
for f in body.glb body.gltf body4.glb zup.glb; do
  check "validator: $f has 0 errors and 0 warnings" $([ $rc -eq 0 ] && grep -q "/$f: 0 errors, 0 warnings" "$tmp/val.log"; echo $?)
done

# the glTF cameras against the calibration: centre, viewing and up axes, yfov, aspect ratio
run "$py" tests/interop/export_checks.py cameras "$tmp/body.glb" "$tmp/cap/calibration.toml" +y
check "body.glb: the 4 cameras as calibrated (y-up world)" $?
run "$py" tests/interop/export_checks.py cameras "$tmp/zup.glb" "$tmp/calib_zup.toml" +z
check "zup.glb: the 4 cameras as calibrated (z-up world)" $?

# mhr_params.npz through mhrfit rig fk, and the TRC
for f in 0 11 23; do
  name=$(printf '%06d' $f)
  run "$bin" rig fk --params "$tmp/params/$name/mhr_params.npz" --out "$tmp/fk_$f.npz"; check "rig fk of frame $f" $?
  run "$py" tests/interop/export_checks.py roundtrip "$seq" $f "$tmp/params/$name/mhr_params.npz" "$tmp/fk_$f.npz" 1e-5
  check "mhr_params.npz of frame $f round-trips through rig fk" $?
  run "$bin" rig fk --params "$tmp/const_params/$name/mhr_params.npz" --out "$tmp/fkc_$f.npz"; check "rig fk of constant frame $f" $?
done
run "$py" tests/interop/export_checks.py trc "$tmp/body.trc" "$seq" +y 1 1e-9; check "TRC holds the keypoints" $?

# Blender
joints=$("$bin" rig info --joints | awk '$1 ~ /^[0-9]+$/ && NF >= 6 { printf "%s\"%s\"", n++ ? "," : "", $2 }')
kps=$("$py" -c 'import sys; sys.path.insert(0, "tests/interop")
names = """nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder left_elbow right_elbow left_hip right_hip left_knee right_knee left_ankle right_ankle left_big_toe left_small_toe left_heel right_big_toe right_small_toe right_heel right_thumb4 right_thumb3 right_thumb2 right_thumb_third_joint right_forefinger4 right_forefinger3 right_forefinger2 right_forefinger_third_joint right_middle_finger4 right_middle_finger3 right_middle_finger2 right_middle_finger_third_joint right_ring_finger4 right_ring_finger3 right_ring_finger2 right_ring_finger_third_joint right_pinky_finger4 right_pinky_finger3 right_pinky_finger2 right_pinky_finger_third_joint right_wrist left_thumb4 left_thumb3 left_thumb2 left_thumb_third_joint left_forefinger4 left_forefinger3 left_forefinger2 left_forefinger_third_joint left_middle_finger4 left_middle_finger3 left_middle_finger2 left_middle_finger_third_joint left_ring_finger4 left_ring_finger3 left_ring_finger2 left_ring_finger_third_joint left_pinky_finger4 left_pinky_finger3 left_pinky_finger2 left_pinky_finger_third_joint left_wrist left_olecranon right_olecranon left_cubital_fossa right_cubital_fossa left_acromion right_acromion neck""".split()
print(",".join(chr(34) + n + chr(34) for n in names))')
cat >"$tmp/blender.json" <<JSON
{"checks": [
 {"kind": "gltf", "name": "body.glb", "file": "$tmp/body.glb", "ref": "$seq", "up": "+y", "fps": 30,
  "frames": [0, 11, 23], "ref_frames": [0, 11, 23], "last_frame": 23, "tol": 1e-4, "n_vertices": 595,
  "joints": [$joints], "keypoints": [$kps]},
 {"kind": "gltf", "name": "body.gltf", "file": "$tmp/body.gltf", "ref": "$seq", "up": "+y", "fps": 30,
  "frames": [5], "ref_frames": [5], "last_frame": 23, "tol": 1e-4, "n_vertices": 595, "joints": [$joints]},
 {"kind": "gltf", "name": "zup.glb", "file": "$tmp/zup.glb", "ref": "$tmp/runz/sequence_smoothed.npz", "up": "+z",
  "fps": 30, "frames": [0, 23], "ref_frames": [0, 23], "last_frame": 23, "tol": 1e-4, "n_vertices": 595,
  "joints": [$joints], "standing": {"top": "c_head", "bottom": ["l_foot", "r_foot"]}},
 {"kind": "bvh", "name": "const.bvh", "file": "$tmp/const.bvh", "up": "+y", "fps": 30, "frames": [0, 11, 23],
  "fk": ["$tmp/fkc_0.npz", "$tmp/fkc_11.npz", "$tmp/fkc_23.npz"],
  "params": ["$tmp/const_params/000000/mhr_params.npz", "$tmp/const_params/000011/mhr_params.npz",
             "$tmp/const_params/000023/mhr_params.npz"], "tol": 1e-4, "joints": [$joints]},
 {"kind": "mesh", "name": "000007/mesh.ply", "file": "$tmp/ply/000007/mesh.ply", "ref": "$seq", "ref_frame": 7,
  "n_vertices": 595, "n_faces": 1186, "tol": 1e-5},
 {"kind": "mesh", "name": "000005/mesh.obj", "file": "$tmp/obj/000005/mesh.obj", "ref": "$seq", "ref_frame": 5,
  "n_vertices": 595, "n_faces": 1186, "tol": 1e-5}
]}
JSON
blender -b --factory-startup --python-exit-code 1 --python tests/interop/blender_checks.py -- "$tmp/blender.json" \
  >"$tmp/blender.log" 2>&1
rc=$?
grep -E "^(PASS|FAIL)|^blender checks" "$tmp/blender.log"
check "blender exits 0" $rc
check "blender ran every check without a failure" $(grep -Eq "^blender checks: [1-9][0-9]* passed, 0 failed$" "$tmp/blender.log"; echo $?)
[ $rc -eq 0 ] || tail -30 "$tmp/blender.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
