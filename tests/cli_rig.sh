#!/usr/bin/env bash
# mhrfit rig info on the official assets, and its errors.
set -uo pipefail
bin=${MHRFIT_BIN:?}
assets=${MHRFIT_ASSETS:?}
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
out=$("$bin" rig info --assets "$assets" --joints --params); rc=$?
check "rig info exits 0" $rc
check "sizes" $(grep -q "model parameters  204 (368 transform non-zeros, 198 limits)" <<<"$out"; echo $?)
check "mesh" $(grep -q "LOD 6: 595 vertices, 1186 triangles, 1747 skin weights" <<<"$out"; echo $?)
check "knee limit listed" $(grep -Eq '^ +[0-9]+  l_knee_bend? ' <<<"$out" || grep -Eq 'knee' <<<"$out"; echo $?)
check "joint 113 c_head" $(grep -Eq '^ +113  c_head ' <<<"$out"; echo $?)
check "corrective layer 1 present, layer 2 absent" $(grep -q "pose correctives  layer 1: 750 features -> 3000 hidden units (53136 weights); layer 2: absent" <<<"$out"; echo $?)
env -u MHRFIT_ASSETS "$bin" rig info >/dev/null 2>"${TMPDIR:-/tmp}/rig_err.$$"; rc=$?
check "no assets is a usage error" $([ $rc -eq 2 ]; echo $?)
check "message says what to do" $(grep -q "MHRFIT_ASSETS" "${TMPDIR:-/tmp}/rig_err.$$"; echo $?)
"$bin" rig info --assets /nonexistent >/dev/null 2>&1; rc=$?
check "missing folder is a runtime failure" $([ $rc -eq 1 ]; echo $?)
"$bin" rig >/dev/null 2>&1; rc=$?
check "rig without subcommand is a usage error" $([ $rc -eq 2 ]; echo $?)
rm -f "${TMPDIR:-/tmp}/rig_err.$$"
tmp=$(mktemp -d)
"$bin" rig fk --assets "$assets" --params "${MHRFIT_TESTDATA:?}/mhr_sam3d_body_outputs/img_subj00.npz" --out "$tmp/fk.npz" >/dev/null; rc=$?
check "rig fk exits 0" $rc
"$bin" rig fk --assets "$assets" --params "${MHRFIT_TESTDATA:?}/mhr_sam3d_body_outputs/img_subj00.npz" --out "$tmp/fk.npz" 2>"$tmp/fk.err" >/dev/null
check "rig fk says the correctives were not applied" $(grep -q "pose correctives not applied: corrective_blendshapes_lod6.npz not in" "$tmp/fk.err"; echo $?)
out=$("$bin" inspect "$tmp/fk.npz")
check "fk joints (127, 3)" $(grep -Eq '^pred_joint_coords +float32 +\(127, 3\)$' <<<"$out"; echo $?)
check "fk vertices (595, 3)" $(grep -Eq '^pred_vertices +float32 +\(595, 3\)$' <<<"$out"; echo $?)
json=$("$bin" inspect --json "$tmp/fk.npz")
check "pelvis at (0, -0.923987, 0) m (DATA.md 2.5)" $(grep -q '"pred_joint_coords": \[\[0.0, -0.0, -0.0\], \[0.0, -0.923987, -0.0\]' <<<"$json"; echo $?)
"$bin" rig fk --assets "$assets" --params "$tmp/missing.npz" --out "$tmp/x.npz" >/dev/null 2>&1; rc=$?
check "rig fk on a missing file exits 1" $([ $rc -eq 1 ]; echo $?)
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
