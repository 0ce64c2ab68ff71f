#!/usr/bin/env bash
# mhrfit export from the command line: every format from a demo run, a single fit.npz and a SAM
# 3D Body output; the frame status filter (bad_loss left out unless --keep_bad, failed frames
# always, counted in export_summary.json); clear errors for bad requests and bad input (exit 2 /
# 1) with nothing written; and the regression of triangulate --trc's up axis in a y-up world.
# Every glTF file written passes the Khronos validator (node, tests/interop/validate_gltf.mjs: a
# missing one fails). (Files opened by Blender: cli_export_interop.sh.)
set -uo pipefail
bin=${MHRFIT_BIN:?}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
cams="cam_0 cam_1 cam_2 cam_3"
"$bin" demo --out "$tmp/cap" --num_frames 12 --seed 4 >/dev/null 2>&1; check "demo" $?
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams $cams --out "$tmp/run" --quiet >/dev/null 2>&1
check "run" $?
ex() { "$bin" export "$@" >"$tmp/out" 2>"$tmp/err"; }

# the capture's rate: a capture of mhrfit frames at 60 fps (its frames_meta.json) runs and exports at 60 fps
cp -r "$tmp/cap" "$tmp/cap60"
cat >"$tmp/cap60/frames_meta.json" <<'JSON'
{"format": "mhrfit-frames-meta", "version": 1, "sync": {"mode": "index", "file": null, "every": 1},
 "cams": ["cam_0", "cam_1", "cam_2", "cam_3"],
 "videos": {"cam_0": {"fps": 60.0, "frame_rate": "60/1"}, "cam_1": {"fps": 60.0, "frame_rate": "60/1"},
            "cam_2": {"fps": 60.0, "frame_rate": "60/1"}, "cam_3": {"fps": 60.0, "frame_rate": "60/1"}}}
JSON
"$bin" run --input "$tmp/cap60" --calib "$tmp/cap/calibration.toml" --out "$tmp/run60" --cutoff_hz 12 >"$tmp/out" 2>&1
check "run of a 60 fps capture exits 0 (a 12 Hz cutoff is below its Nyquist frequency)" $?
check "run says the capture's rate" $(grep -q "^frame rate: 60 fps, the capture's (.*cap60/frames_meta.json)" "$tmp/out"; echo $?)
check "pipeline_config.json records the rate and where it came from" \
  $("$py" -c 'import json, sys; c = json.load(open(sys.argv[1])); sys.exit(not (c["fps"] == 60 and c["fps_origin"] == "frames_meta.json"))' "$tmp/run60/pipeline_config.json"; echo $?)
check "both archives hold fps 60" \
  $("$py" -c 'import sys, numpy as np; sys.exit(not all(float(np.load(f)["fps"]) == 60 for f in sys.argv[1:]))' "$tmp/run60/sequence_fit.npz" "$tmp/run60/sequence_smoothed.npz"; echo $?)
ex --in "$tmp/run60" --out "$tmp/r60.glb"; check "export of the 60 fps run" $?
check "export says the run's rate from frames_meta.json" $(grep -q "^frame rate: 60 fps (the run's, from frames_meta.json)" "$tmp/out"; echo $?)
check "the glTF animation ends at (F-1)/60 s = 11/60 s" $("$py" - "$tmp/r60.glb" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 12)[0]
g = json.loads(b[20:20 + n])
ends = [g["accessors"][s["input"]]["max"][0] for a in g["animations"] for s in a["samplers"]]
sys.exit(not (ends and all(abs(e - 11 / 60) < 1e-6 for e in ends)))
PY
echo $?)
"$bin" run --input "$tmp/cap60" --calib "$tmp/cap/calibration.toml" --out "$tmp/run60b" >"$tmp/out" 2>&1; rc=$?
check "the default 6 Hz cutoff is fine at 60 fps; --cutoff_hz 40 is not (exit 2, the rate's origin named)" \
  $([ $rc -eq 0 ] && "$bin" run --input "$tmp/cap60" --calib "$tmp/cap/calibration.toml" --out "$tmp/run60c" --cutoff_hz 40 >"$tmp/out" 2>&1; [ $? -eq 2 ] && grep -q "half of fps 60.*the rate is the frame rate of frames_meta.json" "$tmp/out" && [ ! -e "$tmp/run60c" ]; echo $?)
"$bin" run --input "$tmp/cap60" --calib "$tmp/cap/calibration.toml" --out "$tmp/run60d" --fps 50 --quiet >/dev/null 2>&1
check "--fps overrides the capture's rate" $(grep -q '"fps_origin": "option"' "$tmp/run60d/pipeline_config.json" && ex --in "$tmp/run60d" --out "$tmp/r50.glb" && grep -q "^frame rate: 50 fps (the run's, from --fps)" "$tmp/out"; echo $?)

# formats from the run folder
ex --in "$tmp/run" --out "$tmp/a.glb"; check "glb exits 0" $?
check "glb magic and version 2" $([ "$(head -c 4 "$tmp/a.glb")" = glTF ] && [ "$(od -An -tu4 -j4 -N4 "$tmp/a.glb" | tr -d ' ')" = 2 ]; echo $?)
check "glb: 12 frames, the run's assumed 30 fps" $(grep -q "^exported 12 of 12 frame(s)" "$tmp/out" && grep -q "^frame rate: 30 fps (the run's, assumed: mhrfit run --fps gives the capture's rate)" "$tmp/out"; echo $?)
ex --in "$tmp/run" --out "$tmp/a.gltf"; check "gltf exits 0" $?
check "gltf names its .bin" $(grep -q '"uri":"a.bin"' "$tmp/a.gltf" && [ -s "$tmp/a.bin" ]; echo $?)
ex --in "$tmp/run" --out "$tmp/a.bvh" --units cm; check "bvh exits 0" $?
check "bvh: hierarchy of 127 joints, 12 frames" $([ "$(grep -cE '^ *(ROOT|JOINT) ' "$tmp/a.bvh")" = 127 ] && grep -q "^Frames: 12$" "$tmp/a.bvh"; echo $?)
check "bvh: the deviation of the baked offsets is stated" $(grep -q "^BVH: offsets baked" "$tmp/out"; echo $?)
ex --in "$tmp/run" --out "$tmp/a.trc"; check "trc exits 0" $?
check "trc: 70 markers, 12 frames, metres" $(sed -n 3p "$tmp/a.trc" | grep -q "^30	30	12	70	m	" ; echo $?)
ex --in "$tmp/run" --out "$tmp/frames" --format ply --ascii; check "per-frame ply exits 0" $?
check "per-frame: mesh.ply (ASCII) and mhr_params.npz per frame" $([ "$(ls "$tmp/frames" | grep -c '^0000')" = 12 ] && head -2 "$tmp/frames/000003/mesh.ply" | grep -q "format ascii 1.0" && [ -s "$tmp/frames/000003/mhr_params.npz" ]; echo $?)
check "export_summary.json counts" $(grep -q '"num_total": 12' "$tmp/frames/export_summary.json" && grep -q '"num_exported": 12' "$tmp/frames/export_summary.json" && grep -q '"num_errors": 0' "$tmp/frames/export_summary.json"; echo $?)
keys=$("$bin" inspect "$tmp/frames/000003/mhr_params.npz" | awk '{print $1}' | tr '\n' ' ')
check "mhr_params.npz has the original's keys and the similarity" $([ "$keys" = "frame_rel frame_index is_bad_loss mhr_model_params shape_params expr_params body_pose_params hand_pose_params scale_params opt_sim_scale opt_sim_R opt_sim_t " ]; echo $?)
ex --in "$tmp/run/fit/000004/fit.npz" --out "$tmp/f4.obj"; check "one fit.npz to one .obj" $?
check ".obj: 595 vertices, 1186 faces" $([ "$(grep -c '^v ' "$tmp/f4.obj")" = 595 ] && [ "$(grep -c '^f ' "$tmp/f4.obj")" = 1186 ]; echo $?)
sam=${MHRFIT_TESTDATA:?}/mhr_sam3d_body_outputs/img_subj00.npz
ex --in "$sam" --out "$tmp/s.glb"; check "a SAM 3D Body output to .glb" $?
check "SAM 3D Body camera axes: up -y detected" $(grep -q "^up axis: -y (detected" "$tmp/out"; echo $?)
ex --in "$tmp/run" --out "$tmp/mem4.glb" --max_influences 4 --up y --frames 2:5 --no_cameras --no_keypoints
check "glb options" $?
check "glb options reported" $(grep -q "^exported 3 of 3 frame(s)" "$tmp/out" && grep -q "^up axis: +y (--up)" "$tmp/out" && grep -q "0 keypoint node(s), 0 camera(s)" "$tmp/out"; echo $?)

# the status filter: frame 2 bad_loss, frame 5 failed (NaN), frame 7 ok but with a NaN parameter
"$py" - "$tmp/run/sequence_smoothed.npz" "$tmp" <<'PY'
import sys, numpy as np
d = dict(np.load(sys.argv[1])); st = d["opt_status"].astype("<U32")
st[2] = "bad_loss"; st[5] = "optimization_failed"; d["mhr_model_params"][5] = np.nan; d["opt_status"] = st
np.savez(sys.argv[2] + "/status.npz", **d)
d["mhr_model_params"][7, 40] = np.nan; np.savez(sys.argv[2] + "/nan.npz", **d)
e = dict(np.load(sys.argv[1])); del e["opt_sim_R"]; np.savez(sys.argv[2] + "/nokey.npz", **e)
e = dict(np.load(sys.argv[1])); e["opt_sim_t"] = e["opt_sim_t"][:, :2]; np.savez(sys.argv[2] + "/shape.npz", **e)
e = dict(np.load(sys.argv[1])); e["opt_sim_R"] = e["opt_sim_R"].astype("<U4"); np.savez(sys.argv[2] + "/type.npz", **e)
PY
check "status archives" $?
ex --in "$tmp/status.npz" --out "$tmp/st" --format npz; check "status filter exits 0" $?
check "bad_loss and failed frames left out" $(grep -q '"num_exported": 10' "$tmp/st/export_summary.json" && grep -q '"num_skipped": 1' "$tmp/st/export_summary.json" && grep -q '"num_bad_inputs": 1' "$tmp/st/export_summary.json" && [ ! -e "$tmp/st/000002" ] && [ ! -e "$tmp/st/000005" ]; echo $?)
ex --in "$tmp/status.npz" --out "$tmp/st2" --format npz --keep_bad; check "--keep_bad exits 0" $?
check "--keep_bad exports the bad_loss frame, not the failed one" $(grep -q '"num_exported": 11' "$tmp/st2/export_summary.json" && [ -e "$tmp/st2/000002/mhr_params.npz" ] && [ ! -e "$tmp/st2/000005" ]; echo $?)
ex --in "$tmp/status.npz" --out "$tmp/st.bvh"; check "bvh holds the left-out frames" $(grep -q "^Frames: 12$" "$tmp/st.bvh"; echo $?)
ex --in "$tmp/nan.npz" --out "$tmp/nan.glb"; rc=$?
check "NaN parameter in a frame to export exits 1" $([ $rc -eq 1 ]; echo $?)
check "NaN: message names file, frame and key" $(grep -q "nan.npz: frame 000007 (index 7, status ok): mhr_model_params\[40\] is not finite" "$tmp/err"; echo $?)
check "NaN: nothing written" $([ ! -e "$tmp/nan.glb" ] && [ -z "$(ls "$tmp" | grep tmp)" ]; echo $?)
# a key missing, of the wrong shape, not numbers: exit 1, the file, the key (and the shapes) named, nothing written
ex --in "$tmp/nokey.npz" --out "$tmp/nokey.glb"; rc=$?
check "missing key exits 1 naming file and key" $([ $rc -eq 1 ] && grep -q "nokey.npz: key 'opt_sim_R' is missing" "$tmp/err"; echo $?)
ex --in "$tmp/shape.npz" --out "$tmp/shape.glb"; rc=$?
check "wrong shape exits 1 naming file, key, shape and the expected one" \
  $([ $rc -eq 1 ] && grep -q "shape.npz: key 'opt_sim_t' has shape (12, 2), expected (12, 3)" "$tmp/err"; echo $?)
ex --in "$tmp/type.npz" --out "$tmp/type.glb"; rc=$?
check "strings where numbers belong exit 1 naming file and key" \
  $([ $rc -eq 1 ] && grep -q "type.npz: key 'opt_sim_R' is not a numeric array" "$tmp/err"; echo $?)
check "bad sources: nothing written" $([ ! -e "$tmp/nokey.glb" ] && [ ! -e "$tmp/shape.glb" ] && [ ! -e "$tmp/type.glb" ]; echo $?)

# a write failing midway (a file where frame 000005's folder goes, in the folder of an earlier
# export: export_summary.json; a folder of other files is refused before any work, exit 2): exit 1,
# nothing of the export left
mkdir -p "$tmp/blocked" && touch "$tmp/blocked/000005"
ex --in "$tmp/run" --out "$tmp/blocked" --format ply; rc=$?
check "per-frame export into a folder of other files exits 2" $([ $rc -eq 2 ] && grep -q "holds no earlier output of mhrfit export (export_summary.json)" "$tmp/err" && [ "$(ls "$tmp/blocked")" = 000005 ]; echo $?)
echo '{}' >"$tmp/blocked/export_summary.json"
ex --in "$tmp/run" --out "$tmp/blocked" --format ply; rc=$?
check "per-frame write failure exits 1 naming the frame" $([ $rc -eq 1 ] && grep -q "frame 000005" "$tmp/err"; echo $?)
check "per-frame write failure leaves nothing" $([ "$(ls "$tmp/blocked" | tr '\n' ' ')" = "000005 export_summary.json " ]; echo $?)

# every glTF written above: the Khronos validator, one process (0 errors, 0 warnings each)
gl=("$tmp/a.glb" "$tmp/a.gltf" "$tmp/s.glb" "$tmp/mem4.glb" "$tmp/r60.glb" "$tmp/r50.glb")
check "the glTF validator is installed (scripts/deps: npm ci)" $([ -f node_modules/gltf-validator/package.json ]; echo $?)
node tests/interop/validate_gltf.mjs "${gl[@]}" >"$tmp/val.log" 2>&1; rc=$?
cat "$tmp/val.log"
check "validator: the ${#gl[@]} glTF files have 0 errors and 0 warnings" \
  $([ $rc -eq 0 ] && [ "$(grep -c ": 0 errors, 0 warnings" "$tmp/val.log")" = ${#gl[@]} ]; echo $?)

# usage errors (2) and runtime errors (1)
u() { ex "$@"; echo $?; }
check "no --out: 2" $([ "$(u --in "$tmp/run")" = 2 ]; echo $?)
check "unknown extension: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.fbx")" = 2 ] && grep -q "unknown extension '.fbx'" "$tmp/err"; echo $?)
check "folder without --format: 2" $([ "$(u --in "$tmp/run" --out "$tmp/dir")" = 2 ]; echo $?)
check "bad --format: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x" --format fbx)" = 2 ]; echo $?)
check "bad --up: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.glb" --up w)" = 2 ]; echo $?)
check "bad --frames: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.glb" --frames 5:3)" = 2 ]; echo $?)
check "bad --units: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.bvh" --units mm)" = 2 ]; echo $?)
check "bad --max_influences: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.glb" --max_influences 3)" = 2 ]; echo $?)
check "--keep_bad with --skip_bad: 2" $([ "$(u --in "$tmp/run" --out "$tmp/x.glb" --keep_bad --skip_bad)" = 2 ]; echo $?)
check "missing input: 1" $([ "$(u --in "$tmp/none" --out "$tmp/x.glb")" = 1 ] && grep -q "none" "$tmp/err"; echo $?)
mkdir -p "$tmp/empty"
check "not a run folder: 1" $([ "$(u --in "$tmp/empty" --out "$tmp/x.glb")" = 1 ] && grep -q "not a run folder" "$tmp/err"; echo $?)
check "range past the end: 1" $([ "$(u --in "$tmp/run" --out "$tmp/x.glb" --frames 40:50)" = 1 ] && grep -q "is empty (the source has 12 frames" "$tmp/err"; echo $?)
check "several frames to one .ply: 1" $([ "$(u --in "$tmp/run" --out "$tmp/x.ply")" = 1 ] && grep -q "12 frames to export: one mesh file holds one frame" "$tmp/err"; echo $?)
check "--cameras without a calibration: 1" $([ "$(u --in "$sam" --out "$tmp/x.glb" --cameras)" = 1 ]; echo $?)
check "no output left by the failures" $([ -z "$(ls "$tmp" | grep '^x')" ]; echo $?)
# --up turns glTF, BVH and TRC only: refused where it means nothing, printed only where applied
for o in "--out $tmp/xu --format ply" "--out $tmp/xu --format npz" "--out $tmp/xu.obj --frames 3"; do
  # shellcheck disable=SC2086
  check "--up with $o: 2, saying why" $([ "$(u --in "$tmp/run" $o --up z)" = 2 ] &&
    grep -q "up means nothing to .*: PLY, OBJ and NPZ keep the world's axes" "$tmp/err"; echo $?)
done
check "... nothing written" $([ ! -e "$tmp/xu" ] && [ ! -e "$tmp/xu.obj" ]; echo $?)
ex --in "$tmp/run" --out "$tmp/xu.obj" --frames 3
check "an OBJ export prints no up axis, the world's axes" $([ $? -eq 0 ] && ! grep -q "^up axis" "$tmp/out" &&
  grep -q "^axes: the world's (obj keeps them)" "$tmp/out"; echo $?)
rm -f "$tmp/xu.obj"
ex --in "$tmp/run" --out "$tmp/xu.trc" --up y
check "--up with TRC: applied and printed" $([ $? -eq 0 ] && grep -q "^up axis: +y (--up)" "$tmp/out"; echo $?)
rm -f "$tmp/xu.trc"

# the MHR rig: without --assets, --rig or $MHRFIT_ASSETS, the one the run recorded (found as its
# calibration is: as recorded, else from the run folder or a parent); without one, exit 2 naming --assets
assets=${MHRFIT_ASSETS:?}
ex --in "$tmp/run" --out "$tmp/given.glb" --assets "$assets" --quiet
(unset MHRFIT_ASSETS; ex --in "$tmp/run" --out "$tmp/rec.glb")
check "recorded assets: exit 0, said" $([ $? -eq 0 ] && grep -q "^MHR rig: $assets (the run's; --assets or --rig for another)" "$tmp/out"; echo $?)
check "recorded assets: the same file as with --assets" $(cmp -s "$tmp/given.glb" "$tmp/rec.glb"; echo $?)
mkdir -p "$tmp/proj"; cp -r "$tmp/run" "$tmp/proj/run"; ln -s "$assets" "$tmp/proj/mhr"
"$py" -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["assets"] = "mhr"; json.dump(c, open(p, "w"))' "$tmp/proj/run/pipeline_config.json"
ex --in "$tmp/proj/run" --out "$tmp/given_proj.glb" --assets "$assets" --quiet
(unset MHRFIT_ASSETS; cd / && ex --in "$tmp/proj/run" --out "$tmp/rel.glb" --quiet)
check "recorded relative assets, from another folder: found beside the run" $([ $? -eq 0 ] && cmp -s "$tmp/given_proj.glb" "$tmp/rel.glb"; echo $?)
"$py" -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["assets"] = "gone/mhr"; json.dump(c, open(p, "w"))' "$tmp/proj/run/pipeline_config.json"
(unset MHRFIT_ASSETS; ex --in "$tmp/proj/run" --out "$tmp/x.glb")
check "recorded assets not found: exit 2 naming them and --assets" $([ $? -eq 2 ] &&
  grep -q "no MHR assets (the run .*proj/run recorded gone/mhr, which is not found): pass --assets DIR" "$tmp/err"; echo $?)
mkdir -p "$tmp/lone"; cp "$tmp/run/sequence_fit.npz" "$tmp/lone/fit.npz"
(unset MHRFIT_ASSETS; ex --in "$tmp/lone/fit.npz" --out "$tmp/x.glb")
check "no run folder, no assets: exit 2 naming --assets" $([ $? -eq 2 ] &&
  grep -q "no MHR assets (.*lone/fit.npz is no run folder that records them): pass --assets DIR" "$tmp/err"; echo $?)
check "no output left by the missing rig" $([ ! -e "$tmp/x.glb" ]; echo $?)

# issue 17 item 12: triangulate --trc put a y-up world's up axis on TRC's Z (the nose at Y = 0.16)
"$bin" triangulate --calib "$tmp/cap/calibration.toml" --cams $cams --input "$tmp/cap/000003" --out "$tmp/t.npz" \
  --trc "$tmp/t.trc" --allow_missing_views >"$tmp/out" 2>&1
check "triangulate_trc_up_axis_y_up_world: exits 0" $?
nose_y=$(sed -n 6p "$tmp/t.trc" | cut -f4)
check "triangulate_trc_up_axis_y_up_world: +y detected" $(grep -q "the world's up axis +y (detected from the body) is TRC's Y" "$tmp/out"; echo $?)
check "triangulate_trc_up_axis_y_up_world: the nose is 1.2-2 m up (Y = $nose_y)" $(awk -v y="$nose_y" 'BEGIN { exit !(y > 1.2 && y < 2) }'; echo $?)
"$bin" triangulate --calib "$tmp/cap/calibration.toml" --cams $cams --input "$tmp/cap/000003" --out "$tmp/t.npz" \
  --trc "$tmp/t.trc" --subset hands_arms --allow_missing_views >/dev/null 2>"$tmp/err"; rc=$?
check "triangulate --up auto without hips: 2, before any work" $([ $rc -eq 2 ] && grep -q "needs both hips" "$tmp/err"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
