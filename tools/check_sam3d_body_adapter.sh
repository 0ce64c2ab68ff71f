#!/usr/bin/env bash
# Exercises tools/sam3d_body_adapter.py end to end without the SAM 3D Body model: stand-in
# `torch` and `sam_3d_body` modules (and the repository's tools/build_*.py) return two persons per
# image, the adapter writes them into one .npz, and `mhrfit ingest --estimator` runs the adapter
# for every image of a small capture and must select the larger person.
#
#   tools/check_sam3d_body_adapter.sh [MHRFIT_BINARY]      (default build/mhrfit)
#
# Needs python3 with NumPy (Debian: python3-numpy). A developer check, not part of the test suite
# (the suite does not need Python). The stand-ins build each person from a SAM 3D Body output when
# $MHRFIT_TESTDATA/mhr_sam3d_body_outputs/img_subj00.npz exists, else from synthetic arrays.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/mhrfit}
py=${PYTHON:-python3}
"$py" -c 'import numpy' 2>/dev/null || { echo "needs python3 with NumPy (apt-get install python3-numpy)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stub=$tmp/stub
mkdir -p "$stub/torch" "$stub/sam_3d_body" "$stub/tools"
cat >"$stub/torch/__init__.py" <<'EOF'
class _Cuda:
    @staticmethod
    def is_available():
        return False
cuda = _Cuda()
def device(name):
    return name
EOF
cat >"$stub/sam_3d_body/__init__.py" <<'EOF'
import os
import numpy as np

def load_sam_3d_body(checkpoint_path, device=None, mhr_path=""):
    if not os.path.exists(checkpoint_path):
        raise FileNotFoundError(checkpoint_path)
    return "model", {"cfg": True}

def _person(scale, shift):
    src = os.path.join(os.environ.get("MHRFIT_TESTDATA", ""), "mhr_sam3d_body_outputs", "img_subj00.npz")
    if os.path.exists(src):
        d = dict(np.load(src))
    else:
        d = {"pred_keypoints_2d": np.random.default_rng(1).uniform(200, 400, (70, 2)).astype(np.float32),
             "pred_keypoints_3d": np.zeros((70, 3), np.float32), "mhr_model_params": np.zeros(204, np.float32),
             "bbox": np.array([200, 200, 400, 400], np.float32), "focal_length": np.float32(1000)}
    d["pred_keypoints_2d"] = (d["pred_keypoints_2d"] * scale + shift).astype(np.float32)
    b = d["bbox"].astype(np.float32)
    d["bbox"] = np.array([b[0] * scale + shift, b[1] * scale + shift, b[2] * scale + shift, b[3] * scale + shift],
                         np.float32)
    d["mask"] = None  # as SAM 3D Body without use_mask
    return d

class SAM3DBodyEstimator:
    def __init__(self, sam_3d_body_model=None, model_cfg=None, human_detector=None, human_segmentor=None,
                 fov_estimator=None):
        assert sam_3d_body_model == "model" and human_detector is not None and fov_estimator is not None
    def process_one_image(self, image, bbox_thr=0.5, use_mask=False):
        if not os.path.exists(image):
            raise FileNotFoundError(image)
        return [_person(0.5, 10.0), _person(1.0, 0.0)]  # a smaller person first, as in a crowded view
EOF
for m in build_detector:HumanDetector build_sam:HumanSegmentor build_fov_estimator:FOVEstimator; do
  printf 'class %s:\n    def __init__(self, name=None, device=None, path=None):\n        self.name = name\n' \
    "${m#*:}" >"$stub/tools/${m%%:*}.py"
done
touch "$stub/tools/__init__.py" "$tmp/ckpt"
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
