#!/usr/bin/env bash
# mhrfit rig info on the official assets, and its errors; rig import writes a rig file that
# rig info and rig fk read with --rig to the same output byte for byte.
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

# rig import: a rig file, then --rig gives the same results as --assets
out=$("$bin" rig import --assets "$assets" --out "$tmp/rig.npz"); rc=$?
check "rig import exits 0" $rc
check "import reports the bytes written" $(grep -Eq "^wrote .*rig.npz: rig file version 1, [0-9]+ bytes$" <<<"$out"; echo $?)
check "import reports the sizes" $(grep -q "LOD 6: 595 vertices, 1186 triangles, 1747 skin weights" <<<"$out"; echo $?)
check "import reports the load times" $(grep -Eq "load time +[0-9.]+ ms from the rig file .*, [0-9.]+ ms from the assets" <<<"$out"; echo $?)
bytes=$(sed -n 's/.*version 1, \([0-9]*\) bytes$/\1/p' <<<"$out")
check "the size printed is the file's" $([ "$bytes" = "$(wc -c <"$tmp/rig.npz")" ]; echo $?)
check "the rig file is an npz of plain arrays" $(grep -Eq '^offsets +float64 +\(127, 3\)$' <<<"$("$bin" inspect "$tmp/rig.npz")"; echo $?)
a=$("$bin" rig info --assets "$assets" --joints --params | tail -n +2)
b=$("$bin" rig info --rig "$tmp/rig.npz" --joints --params | tail -n +2); rc=$?
check "rig info --rig exits 0" $rc
check "rig info --rig prints what --assets prints" $([ -n "$a" ] && [ "$a" = "$b" ]; echo $?)
b=$(MHRFIT_ASSETS="$tmp/rig.npz" "$bin" rig info --joints | tail -n +2)
check "MHRFIT_ASSETS may name a rig file" $([ "$b" = "$(head -n "$(wc -l <<<"$b")" <<<"$a")" ]; echo $?)
params=${MHRFIT_TESTDATA:?}/mhr_sam3d_body_outputs/img_subj02.npz
"$bin" rig fk --assets "$assets" --params "$params" --out "$tmp/fk_assets.npz" >/dev/null
"$bin" rig fk --rig "$tmp/rig.npz" --params "$params" --out "$tmp/fk_rig.npz" >/dev/null; rc=$?
check "rig fk --rig exits 0" $rc
check "rig fk --rig is byte-identical to --assets" $(cmp -s "$tmp/fk_assets.npz" "$tmp/fk_rig.npz"; echo $?)
# usage and runtime errors
"$bin" rig info --assets "$assets" --rig "$tmp/rig.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "--assets with --rig is a usage error" $([ $rc -eq 2 ]; echo $?)
check "which says they are alternatives" $(grep -q "alternatives" "$tmp/err"; echo $?)
"$bin" rig fk --assets "$assets" --rig "$tmp/rig.npz" --params "$params" --out "$tmp/x.npz" >/dev/null 2>&1
check "rig fk: --assets with --rig is a usage error" $([ $? -eq 2 ]; echo $?)
"$bin" rig info --rig "$tmp" >/dev/null 2>&1; check "--rig FOLDER is a runtime failure" $([ $? -eq 1 ]; echo $?)
"$bin" rig info --rig "$tmp/none.npz" >/dev/null 2>&1; check "a missing rig file is a runtime failure" $([ $? -eq 1 ]; echo $?)
"$bin" rig info --rig "$tmp/rig.npz" --lod 1 >/dev/null 2>"$tmp/err"; rc=$?
check "--lod other than the rig file's fails" $([ $rc -eq 1 ] && grep -q "holds LOD 6, not LOD 1" "$tmp/err"; echo $?)
head -c 1000 "$tmp/rig.npz" >"$tmp/cut.npz"
"$bin" rig info --rig "$tmp/cut.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "a truncated rig file fails naming it" $([ $rc -eq 1 ] && grep -q "cut.npz" "$tmp/err"; echo $?)
"$bin" rig import --assets "$assets" >/dev/null 2>&1; check "rig import without --out is a usage error" $([ $? -eq 2 ]; echo $?)
"$bin" rig import --assets "$assets" --lod 3 --out "$tmp/r3.npz" >/dev/null 2>&1
check "rig import of a missing LOD fails, writing nothing" $([ $? -eq 1 ] && [ ! -e "$tmp/r3.npz" ]; echo $?)
# --help of every command that loads the rig documents both sources
for cmd in "rig info" "rig fk" "fit" "run" "smooth" "demo"; do
  h=$("$bin" $cmd --help)
  check "$cmd --help documents --assets and --rig" $(grep -q -- "--assets DIR" <<<"$h" && grep -q -- "--rig RIG.npz" <<<"$h"; echo $?)
done
check "rig --help lists import" $(grep -q "rig import --out RIG.npz" <<<"$("$bin" rig --help)"; echo $?)
rm -rf "$tmp"
# rig fk: all 70 keypoints, surface markers at built-in offsets or calibrated from --markers
sam=${MHRFIT_TESTDATA:-../shared/testdata}/mhr_sam3d_body_outputs
if [ -f "$sam/img_subj00.npz" ]; then
  mt=$(mktemp -d)
  o=$("$bin" rig fk --assets "$assets" --params "$sam/img_subj00.npz" --out "$mt/fkm.npz" 2>/dev/null)
  check "rig fk: 21 surface markers at built-in offsets" $(grep -q "21 surface markers at built-in offsets" <<<"$o"; echo $?)
  j=$("$bin" inspect --json "$mt/fkm.npz"); rc=$?
  check "rig fk: no NaN in the output (keypoints included)" $([ $rc -eq 0 ] && grep -q pred_keypoints_3d <<<"$j" && ! grep -q null <<<"$j"; echo $?)
  o=$("$bin" rig fk --assets "$assets" --params "$sam/img_subj00.npz" --markers "$sam/img_subj01.npz" --out "$mt/fkm2.npz" 2>/dev/null)
  check "rig fk --markers: calibrated" $(grep -q "21 surface markers calibrated from --markers" <<<"$o"; echo $?)
  "$bin" rig fk --assets "$assets" --params "$sam/img_subj00.npz" --markers "$mt/nonexistent.npz" --out "$mt/x.npz" 2>"$mt/err"
  check "rig fk --markers missing file: exit 1 naming the option" $([ $? -eq 1 ] && grep -q -- "--markers" "$mt/err"; echo $?)
  rm -rf "$mt"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
