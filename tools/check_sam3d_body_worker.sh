#!/usr/bin/env bash
# Exercises tools/sam3d_body_worker.py without the SAM 3D Body model, with the stand-in `torch`
# and `sam_3d_body` modules of tools/sam3d_body_stubs/: its protocol directly (ready line, replies
# with the request id, a bad request answered and survived, a clean exit at the end of input,
# nothing but protocol lines on stdout although the estimator prints there), then through
# `mhrfit ingest --estimator_worker --workers 2 --calib`: the model loaded once per worker,
# every person written, cam_int from the calibration reaching the model (its focal length), a
# failing image reported for its view only, the larger person selected.
#
#   tools/check_sam3d_body_worker.sh [MHRFIT_BINARY]      (default build/mhrfit)
#
# Needs python3 with NumPy (Debian: python3-numpy; $PYTHON names another interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/mhrfit}
py=${PYTHON:-python3}
"$py" -c 'import numpy' 2>/dev/null || { echo "needs python3 with NumPy (apt-get install python3-numpy)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stub=$(pwd)/tools/sam3d_body_stubs
worker=$(pwd)/tools/sam3d_body_worker.py
touch "$tmp/ckpt"
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }

# the protocol, spoken directly
printf 'not really a jpeg' >"$tmp/a.jpg"
printf 'fail: this one' >"$tmp/b.jpg"
{
  echo "{\"id\": 1, \"image\": \"$tmp/a.jpg\", \"output\": \"$tmp/a.npz\", \"frame\": \"0\", \"cam\": \"c\"}"
  echo "{\"id\": 2, \"image\": \"$tmp/b.jpg\", \"output\": \"$tmp/b.npz\", \"frame\": \"0\", \"cam\": \"d\"}"
  echo "this is not a request"
  echo "{\"id\": 4, \"image\": \"$tmp/a.jpg\", \"output\": \"$tmp/c.npz\", \"frame\": \"1\", \"cam\": \"c\", \"cam_int\": [[1234.5, 0, 500], [0, 1234.5, 900], [0, 0, 1]]}"
  echo "{\"id\": 5, \"image\": \"$tmp/a.jpg\", \"output\": \"$tmp/d.npz\", \"frame\": \"1\", \"cam\": \"d\", \"cam_int\": [[1, 0], [0, 1]]}"
} >"$tmp/requests"
set +e
PYTHONPATH=$stub "$py" "$worker" --sam3d_repo "$stub" --checkpoint_path "$tmp/ckpt" <"$tmp/requests" \
  >"$tmp/replies" 2>"$tmp/stderr"
rc=$?
set -e
check "worker exits 0 at the end of its input" $([ $rc -eq 0 ]; echo $?)
check "stdout: the ready line and 5 replies, nothing else" $([ "$(wc -l <"$tmp/replies")" -eq 6 ]; echo $?)
check "first line: ready" $([ "$(head -n1 "$tmp/replies")" = '{"ready": true}' ]; echo $?)
check "request 1: ok, 2 persons" $(grep -qx '{"id": 1, "ok": true, "persons": 2}' "$tmp/replies"; echo $?)
check "request 2: the model's error" $(grep -qx '{"id": 2, "ok": false, "error": "RuntimeError: CUDA out of memory (stand-in)"}' "$tmp/replies"; echo $?)
check "a line that is no request: an error reply, the worker goes on" $(grep -q '{"id": null, "ok": false, "error": "JSONDecodeError' "$tmp/replies"; echo $?)
check "request 4 with cam_int: ok" $(grep -qx '{"id": 4, "ok": true, "persons": 2}' "$tmp/replies"; echo $?)
check "request 5 with a 2x2 cam_int: refused" $(grep -q '{"id": 5, "ok": false, "error": "ValueError: cam_int must be 3x3' "$tmp/replies"; echo $?)
check "the estimator's prints went to stderr" $(grep -q 'Running object detector' "$tmp/stderr"; echo $?)
out=$("$bin" inspect "$tmp/a.npz")
check "output: two persons" $(grep -Eq "pred_keypoints_2d +float32 +\(2, 70, 2\)" <<<"$out"; echo $?)
fl=$("$py" -c "import numpy as np; print(np.load('$tmp/c.npz')['focal_length'].tolist())")
check "cam_int reached the model (focal length $fl)" $([ "$fl" = "[1234.5, 1234.5]" ]; echo $?)
check "no output for the failed image" $([ ! -e "$tmp/b.npz" ]; echo $?)

# through mhrfit ingest, two workers
for f in 000000 000001 000002; do
  mkdir -p "$tmp/cap/$f"
  for c in left front right; do printf 'not really a jpeg' >"$tmp/cap/$f/$c.jpg"; done
done
printf 'fail: no GPU memory' >"$tmp/cap/000001/front.jpg"
cat >"$tmp/calib.toml" <<'TOML'
[left]
size = [1088, 1920]
matrix = [[1681.25, 0.0, 533.0], [0.0, 1681.0, 948.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 3.0]
[right]
size = [1088, 1920]
matrix = [[1700.5, 0.0, 540.0], [0.0, 1700.0, 960.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.5, 0.0]
translation = [0.0, 0.0, 3.0]
TOML
set +e
SAM3D_STUB_LOAD_LOG=$tmp/loads PYTHONPATH=$stub "$bin" ingest --input "$tmp/cap" --cams left front right \
  --out "$tmp/out" --calib "$tmp/calib.toml" --workers 2 --model_id checkpoint=stub \
  --estimator_worker "$py $worker --sam3d_repo $stub --checkpoint_path $tmp/ckpt" >"$tmp/log" 2>"$tmp/err"
rc=$?
set -e
check "ingest exits 1 (one frame has a failed view)" $([ $rc -eq 1 ]; echo $?)
check "model loaded once per worker (2 loads for 9 images)" $([ "$(wc -l <"$tmp/loads")" -eq 2 ]; echo $?)
check "8 views written" $(grep -q 'views: 8 written, 0 missing, 0 without a person, 1 failed; estimator runs: 9 (2 worker start(s))' "$tmp/log"; echo $?)
check "the failed view names frame, camera and the model's error" $(grep -q "error: frame '000001' camera 'front': estimator worker [01]: RuntimeError: CUDA out of memory (stand-in)" "$tmp/err"; echo $?)
for f in 000000 000002; do
  for c in left front right; do
    s1=$("$bin" inspect --json "$tmp/out/stage1/$f/$c.npz")
    read -r width focal < <("$py" -c "import json,sys; d=json.load(sys.stdin); b=d['bbox']; print(int(b[2]-b[0]), d.get('focal_length', 'none'))" <<<"$s1")
    check "stage 1 of $f/$c holds the larger person (bbox width $width)" $([ "$width" -gt 150 ]; echo $?)
    want=$(case $c in left) echo 1681.25 ;; right) echo 1700.5 ;; *) echo default ;; esac)
    if [ "$want" = default ]; then
      check "$f/$c without intrinsics: the model's own focal length ($focal)" $([ "$focal" != 1681.25 ] && [ "$focal" != 1700.5 ]; echo $?)
    else
      check "$f/$c focal length from the calibration ($focal)" $([ "$focal" = "$want" ]; echo $?)
    fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
