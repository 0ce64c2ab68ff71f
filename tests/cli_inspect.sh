#!/usr/bin/env bash
# mhrfit inspect on real files: the SAM 3D Body output, a pickled dict .npy, a calibration file.
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}
fix=${MHRFIT_FIXTURES:?}
pass=0; fail=0
check() { # description, condition-result
  if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi
}
out=$("$bin" inspect "$data/mhr_sam3d_body_outputs/img_subj00.npz"); rc=$?
check "inspect npz exits 0" $rc
check "17 arrays listed" $([ "$(wc -l <<<"$out")" -eq 17 ]; echo $?)
check "pred_vertices line" $(grep -Eq '^pred_vertices +float32 +\(18439, 3\)$' <<<"$out"; echo $?)
check "rhand_bbox is float64" $(grep -Eq '^rhand_bbox +float64 +\(4,\)$' <<<"$out"; echo $?)
json=$("$bin" inspect --json "$data/mhr_sam3d_body_outputs/img_subj00.npz"); rc=$?
check "inspect --json exits 0" $rc
check "bbox values (DATA.md 2.4)" $(grep -q '"bbox": \[30.794077, 239.04204, 320.33817, 696.1283\]' <<<"$json"; echo $?)
check "pred_cam_t values" $(grep -q '"pred_cam_t": \[-2.527839, 1.1784937, 8.265865\]' <<<"$json"; echo $?)
check "signed zeros kept" $(grep -q '"mhr_model_params": \[-0.0, 0.0, -0.0, -0.013430623' <<<"$json"; echo $?)
out=$("$bin" inspect "$fix/pickle_npy/dict.npy"); rc=$?
check "pickled dict .npy" $rc
check "nested key listed" $(grep -Eq '^f\.g +bool +true$' <<<"$out"; echo $?)
out=$("$bin" inspect "$data/pose2sim_a948c20/S00_Calibration/Calib_qualisys.toml"); rc=$?
check "calibration TOML" $rc
check "matrix shape" $(grep -Eq '^cam_01\.matrix +list +\(3, 3\)$' <<<"$out"; echo $?)
"$bin" inspect "$fix/pickle/evil_os_system.pkl" >/dev/null 2>/tmp/mhrfit_evil.$$; rc=$?
check "malicious pickle refused with exit 1" $([ $rc -eq 1 ]; echo $?)
check "message names the global" $(grep -q "posix.system" /tmp/mhrfit_evil.$$; echo $?)
rm -f /tmp/mhrfit_evil.$$
# files of other kinds (what mhrfit export writes): said to be no data file mhrfit reads, and what it reads
tmp_glb=$(mktemp --suffix=.glb) tmp_obj=$(mktemp --suffix=.obj) tmp_err=$(mktemp)
printf 'glTF\002\000\000\000\100\000\000\000JSON' >"$tmp_glb"
"$bin" inspect "$tmp_glb" >/dev/null 2>"$tmp_err"; rc=$?
check "a .glb: exit 1, not a data file mhrfit reads, what it reads" $([ $rc -eq 1 ] &&
  grep -q "not a data file mhrfit reads (a binary glTF, as mhrfit export writes it): it reads NumPy .npy and .npz, pickles (.pkl, .pickle), JSON and TOML" "$tmp_err" &&
  ! grep -q "NUL character" "$tmp_err"; echo $?)
printf '# an OBJ mesh\nv 0 0 0\nf 1 1 1\n' >"$tmp_obj"
"$bin" inspect "$tmp_obj" >/dev/null 2>"$tmp_err"; rc=$?
check "a text .obj: exit 1, not a data file mhrfit reads (read as TOML: its line)" $([ $rc -eq 1 ] &&
  grep -q "not a data file mhrfit reads (read as TOML: line 2: expected '=' after key): it reads NumPy" "$tmp_err"; echo $?)
rm -f "$tmp_glb" "$tmp_obj" "$tmp_err"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
