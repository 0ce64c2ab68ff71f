#!/usr/bin/env bash
# Exercises tools/sam3d_body_adapter.py end to end without the SAM 3D Body model: the stand-in
# `torch` and `sam_3d_body` modules of tools/sam3d_body_stubs/ return two persons per image, the
# adapter writes them into one .npz, and `mhrfit ingest --estimator` runs the adapter for every
# image of a small capture and must select the larger person.
#
#   tools/check_sam3d_body_adapter.sh [MHRFIT_BINARY]      (default build/mhrfit)
#
# Needs python3 with NumPy (Debian: python3-numpy; $PYTHON names another interpreter). The
# stand-ins build each person from a SAM 3D Body output when
# $MHRFIT_TESTDATA/mhr_sam3d_body_outputs/img_subj00.npz exists, else from synthetic arrays.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/mhrfit}
py=${PYTHON:-python3}
"$py" -c 'import numpy' 2>/dev/null || { echo "needs python3 with NumPy (apt-get install python3-numpy)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stub=$(pwd)/tools/sam3d_body_stubs
touch "$tmp/ckpt"
# a capture of 2 frames x 2 cameras with images only
for f in 000000 000001; do
  mkdir -p "$tmp/cap/$f"
  for c in left right; do printf 'not really a jpeg' >"$tmp/cap/$f/$c.jpg"; done
done
adapter=$(pwd)/tools/sam3d_body_adapter.py
PYTHONPATH=$stub "$bin" ingest --input "$tmp/cap" --cams left right --out "$tmp/ingest_out" \
  --estimator "PYTHONPATH=$stub $py $adapter --sam3d_repo $stub --checkpoint_path $tmp/ckpt {image} {output}" \
  --model_id checkpoint=stub
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
for f in 000000 000001; do
  for c in left right; do
    out=$("$bin" inspect "$tmp/ingest_out/sam3d/$f/$c.npz")
    check "adapter wrote two persons for $f/$c" $(grep -Eq "pred_keypoints_2d +float32 +\(2, 70, 2\)" <<<"$out"; echo $?)
    check "mask (None) left out for $f/$c" $(! grep -q "^mask" <<<"$out"; echo $?)
    s1=$("$bin" inspect --json "$tmp/ingest_out/stage1/$f/$c.npz")
    full=$("$py" -c "import json,sys; d=json.load(sys.stdin); b=d['bbox']; print(int(b[2]-b[0]))" <<<"$s1")
    check "stage 1 of $f/$c holds the larger person (bbox width $full)" $([ "$full" -gt 150 ]; echo $?)
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
