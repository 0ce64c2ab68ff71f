#!/usr/bin/env bash
# Outputs never destroy inputs: report --out and export --out that would replace a capture's file,
# a run's result or an input are refused before any work (exit 2) and leave every file as it was
# (cmp); a folder export must be new, empty or an earlier export; a file output replaces only a
# file of the kind the command writes; the usual outputs (DIR/report.html, an earlier export)
# still work.
source "$(dirname "$0")/testlib.sh"
cd "$tmp" || exit 1
demo capy 20
"$bin" run --input capy --calib capy/calibration.toml --out ry --quiet >/dev/null 2>&1; check "run" $?
cp -a capy capy.before; cp -a ry ry.before
# refused PATH CMD ARGS...: exit 2 and a message (PATH: what must stay unchanged, compared below)
refused() {
  local f=$1; shift
  "$bin" "$@" --quiet >out 2>err; local rc=$?
  check "$* exits 2 (got $rc)" $([ $rc -eq 2 ]; echo $?)
  check "$* says why" $(grep -q "^mhrfit $1: \(--out \|.*unknown extension\)" err; echo $?)
}
refused capy/calibration.toml report --run ry --out capy/calibration.toml
refused ry/sequence_smoothed.npz report --run ry --out ry/sequence_smoothed.npz
refused capy report --run ry --out capy/page.html
refused ry report --run ry --out ry/fit/page.html
refused capy/000003/cam_2.npz export --input ry --out capy/000003/cam_2.npz --format glb
refused ry/sequence_summary.json export --input ry --out ry/sequence_summary.json --format trc
refused ry/pipeline_config.json export --input ry --out ry/pipeline_config.json
refused ry/pipeline_config.json export --input ry --out ry/pipeline_config.json --format glb
refused capy export --input ry --out capy --format ply
refused ry export --input ry --out ry --format npz
refused ry export --input ry --out ry/fit --format obj
refused ry export --input ry/sequence_smoothed.npz --out ry/sequence_smoothed.npz --format bvh
refused ry export --input ry/fit/000003/fit.npz --out ry/fit/000003/fit.npz --format glb
check "the capture is unchanged (every file compared)" $(diff -r capy capy.before >/dev/null; echo $?)
check "the run folder is unchanged (every file compared)" $(diff -r ry ry.before >/dev/null; echo $?)
for f in capy/calibration.toml capy/000003/cam_2.npz; do
  check "$f byte for byte" $(cmp -s "$f" "capy.before/${f#capy/}"; echo $?)
done
for f in sequence_smoothed.npz sequence_summary.json pipeline_config.json fit/000003/fit.npz; do
  check "ry/$f byte for byte" $(cmp -s "ry/$f" "ry.before/$f"; echo $?)
done
check "no frame folder of the capture got a mesh" $([ -z "$(find capy -name 'mesh.ply' -o -name mhr_params.npz)" ]; echo $?)

# an existing file of another kind, a folder of other files
echo notes >notes.txt; cp notes.txt notes.glb.txt
refused notes.txt report --run ry --out notes.txt
refused notes.txt export --input ry --out notes.txt --format bvh
check "notes.txt unchanged" $(cmp -s notes.txt notes.glb.txt; echo $?)
mkdir other; echo x >other/keep.txt
refused other export --input ry --out other --format npz
check "a folder of other files is left as it was" $([ "$(ls other)" = keep.txt ]; echo $?)
echo x >a.bin
refused a.bin export --input ry --out a.gltf
check "a .bin of another kind beside a .gltf is refused" $([ ! -e a.gltf ] && [ "$(cat a.bin)" = x ]; echo $?)

# what the commands write stays allowed: DIR/report.html twice, another page in the run folder, an
# export replaced by the next one, a per-frame export folder reused
"$bin" report --run ry --quiet && "$bin" report --run ry --quiet; check "report to DIR/report.html, twice" $?
"$bin" report --run ry --out ry/other.html --quiet; check "report to a new page in the run folder" $?
"$bin" export --input ry --out ry/body.glb --quiet && "$bin" export --input ry --out ry/body.glb --quiet
check "export to a .glb in the run folder, twice" $?
"$bin" export --input ry --out meshes --format npz --quiet && "$bin" export --input ry --out meshes --format npz --quiet
check "per-frame export into its earlier export folder" $?
mkdir empty; "$bin" export --input ry --out empty --format npz --quiet; check "per-frame export into an empty folder" $?
finish
