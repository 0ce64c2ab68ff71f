#!/usr/bin/env bash
# mhrfit ingest on real SAM 3D Body outputs: stage-1 files and meta written, an unchanged rerun
# reuses everything untouched, a corrupt file fails only its frame (naming frame, camera and
# file), the estimator hook with a stand-in command, usage errors, --help.
set -uo pipefail
bin=${MHRFIT_BIN:?}
data=${MHRFIT_TESTDATA:?}/mhr_sam3d_body_outputs
fix=${MHRFIT_FIXTURES:?}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
mkdir -p "$tmp/in/0" "$tmp/in/1" "$tmp/in/10"
cp "$data/img_subj00.npz" "$tmp/in/0/left.npz"
cp "$data/img_subj01.npz" "$tmp/in/0/right.npz"
cp "$data/img_subj02.npz" "$tmp/in/1/left.npz"
cp "$data/img_subj00.npz" "$tmp/in/1/right.npz"
cp "$fix/ingest/list_of_dicts.npy" "$tmp/in/10/left.npy"
help=$("$bin" ingest --help); rc=$?
check "--help exits 0" $rc
for o in input cams out frames sam_dir person_select_strategy person_index estimator model_id overwrite check compress quiet max_inflated_mib; do
  check "--help documents --$o" $(grep -q -- "--$o " <<<"$help"; echo $?)
done
check "--help names the old --force" $(grep -q -- "(also --force)" <<<"$help"; echo $?)
check "--help documents the layout" $(grep -q '<input>/<frame>/<cam>' <<<"$help"; echo $?)

"$bin" ingest --input "$tmp/in" --cams left right --out "$tmp/out" --model-id checkpoint=sam3d.ckpt >"$tmp/log" 2>&1
check "first run exits 0" $?
check "summary: 3 ingested" $(grep -q 'frames: 3 ingested, 0 reused, 0 failed (of 3)' "$tmp/log"; echo $?)
check "views: 5 written, 1 missing" $(grep -q 'views: 5 written, 1 missing, 0 without a person, 0 failed' "$tmp/log"; echo $?)
# not a terminal (a log file): a progress line every few seconds and always the final one
check "the final progress line when not a terminal" $(grep -q '^ingest: 3/3 frames$' "$tmp/log"; echo $?)
out=$("$bin" inspect "$tmp/out/stage1/0/left.npz")
check "17 SAM arrays kept" $([ "$(wc -l <<<"$out")" -eq 17 ]; echo $?)
check "pred_keypoints_2d float32 (70, 2)" $(grep -Eq '^pred_keypoints_2d +float32 +\(70, 2\)$' <<<"$out"; echo $?)
json=$("$bin" inspect --json "$tmp/out/stage1/0/left.npz")
check "bbox values kept" $(grep -qF '"bbox": [30.794077, 239.04204, 320.33817, 696.1283]' <<<"$json"; echo $?)
json=$("$bin" inspect --json "$tmp/out/stage1/10/left.npz")
check "list of dicts: largest bbox (person 1)" $(grep -qF '"pred_keypoints_2d": [[1e+03, 1001.0], [1002.0' <<<"$json"; echo $?)
check "meta written" $(grep -q '"model_ids": \[' "$tmp/out/stage1_meta.json"; echo $?)
before=$(stat -c '%i %Y %y' "$tmp/out/stage1/0/left.npz" "$tmp/out/stage1_meta.json")

"$bin" ingest --input "$tmp/in" --cams left right --out "$tmp/out" --model-id checkpoint=sam3d.ckpt >"$tmp/log" 2>&1
check "rerun exits 0" $?
check "rerun reuses all" $(grep -q 'frames: 0 ingested, 3 reused, 0 failed (of 3)' "$tmp/log"; echo $?)
check "meta unchanged" $(grep -q '^unchanged .*stage1_meta.json' "$tmp/log"; echo $?)
check "outputs untouched" $([ "$before" = "$(stat -c '%i %Y %y' "$tmp/out/stage1/0/left.npz" "$tmp/out/stage1_meta.json")" ]; echo $?)
"$bin" ingest --input "$tmp/in" --cams left right --out "$tmp/out" --model-id checkpoint=sam3d.ckpt --check >"$tmp/log" 2>&1
check "--check: all up to date" $(grep -q '3 frame(s): 0 to ingest, 3 up to date' "$tmp/log"; echo $?)

echo "not numpy" >"$tmp/in/1/right.npz"
"$bin" ingest --input "$tmp/in" --cams left right --out "$tmp/out" --model-id checkpoint=sam3d.ckpt >"$tmp/log" 2>"$tmp/err"
check "corrupt file exits 1" $([ $? -eq 1 ]; echo $?)
check "error names frame, camera and file" $(grep -q "error: frame '1' camera 'right': .*in/1/right.npz: neither a .npy nor a .npz" "$tmp/err"; echo $?)
check "reason printed" $(grep -q "frame '1': re-ingesting (source_changed): camera 'right': SAM output 1/right.npz changed" "$tmp/log"; echo $?)
check "other frames reused" $(grep -q 'frames: 0 ingested, 2 reused, 1 failed (of 3)' "$tmp/log"; echo $?)
check "stale stage-1 file removed" $([ ! -e "$tmp/out/stage1/1/right.npz" ]; echo $?)

"$bin" ingest --input "$tmp/in" --cams left right --out "$tmp/out" --model-id checkpoint=other.ckpt --frames 0 \
  --person-select-strategy first --quiet >"$tmp/log" 2>&1
check "--quiet, kebab-case, subset: exits 0" $?
check "--quiet prints nothing" $([ ! -s "$tmp/log" ]; echo $?)

# the estimator hook with a stand-in command
mkdir -p "$tmp/img/0" "$tmp/img/1"
echo "image" >"$tmp/img/0/cam1.jpg"
echo "fail" >"$tmp/img/1/cam1.png"
"$bin" ingest --input "$tmp/img" --cams cam1 --out "$tmp/est" \
  --estimator "sh '$here/fake_estimator.sh' '$fix/ingest/stacked.npz' {image} {output}" >"$tmp/log" 2>"$tmp/err"
check "estimator failure exits 1" $([ $? -eq 1 ]; echo $?)
check "estimator output produced" $([ -s "$tmp/est/sam3d/0/cam1.npz" ] && [ -s "$tmp/est/stage1/0/cam1.npz" ]; echo $?)
check "estimator failure reported" $(grep -q "error: frame '1' camera 'cam1': estimator failed with exit status 3" "$tmp/err"; echo $?)
check "estimator summary" $(grep -q 'frames: 1 ingested, 0 reused, 1 failed (of 2)' "$tmp/log"; echo $?)

# an estimator that cannot start (a Python import error: exit 1 and a message, whatever the image):
# the run stops after its first two images, with one error that carries its exit status and words
mkdir -p "$tmp/img3"
for f in 0 1 2; do mkdir -p "$tmp/img3/$f"; for c in a b; do echo "image" >"$tmp/img3/$f/$c.jpg"; done; done
printf '%s\n' '[ -n "${EST_LOG:-}" ] && echo run >>"$EST_LOG"' 'echo "Traceback (most recent call last):" >&2' \
  'echo "ModuleNotFoundError: No module named torch" >&2' 'exit 1' >"$tmp/broken_est.sh"
: >"$tmp/est_runs"
EST_LOG="$tmp/est_runs" "$bin" ingest --input "$tmp/img3" --cams a b --out "$tmp/est3" \
  --estimator "sh '$tmp/broken_est.sh' {image} {output}" >"$tmp/log" 2>"$tmp/err"
check "broken estimator: exit 1" $([ $? -eq 1 ]; echo $?)
check "broken estimator: its exit status and last words in the error" $(grep -q "^mhrfit ingest: error: the estimator command failed on its first images, the same way, before any success (exit status 1 on frame '0' camera 'a' and frame '0' camera 'b'); the end of its output: Traceback (most recent call last): | ModuleNotFoundError: No module named torch$" "$tmp/err"; echo $?)
check "broken estimator: said once" $([ "$(grep -c 'error:' "$tmp/err")" -eq 1 ]; echo $?)
check "broken estimator: tried on 2 images only" $([ "$(wc -l <"$tmp/est_runs")" -eq 2 ]; echo $?)
check "broken estimator: frame 0 and its 2 views recorded as failed, the frames left not tried" $([ "$(grep -c '"status": "failed"' "$tmp/est3/stage1_meta.json")" -eq 3 ] && ! grep -q '"1": {' "$tmp/est3/stage1_meta.json"; echo $?)
"$bin" ingest --input "$tmp/img3" --cams a b --out "$tmp/est4" --estimator "/nonexistent/estimator {image} {output}" \
  >"$tmp/log" 2>"$tmp/err"
check "missing estimator program: exit 1, once, status 127 and the shell's words" $([ $? -eq 1 ] &&
  [ "$(grep -c 'error:' "$tmp/err")" -eq 1 ] &&
  grep -q "error: the estimator command cannot be run (exit status 127 on frame '.' camera '.': the shell found no such program); its output: .*/nonexistent/estimator: .*not found" "$tmp/err"; echo $?)
# a failure that differs per image is the view's, not a broken command: the run goes on
cp -r "$tmp/img3" "$tmp/img4"; echo fail >"$tmp/img4/0/a.jpg"; echo fail >"$tmp/img4/0/b.jpg"
"$bin" ingest --input "$tmp/img4" --cams a b --out "$tmp/est5" \
  --estimator "sh '$here/fake_estimator.sh' '$fix/ingest/stacked.npz' {image} {output}" >"$tmp/log" 2>"$tmp/err"
check "per-image failures: each view's error, with the estimator's words" $([ $? -eq 1 ] &&
  grep -q "error: frame '0' camera 'b': estimator failed with exit status 3: .*; the end of its output: fake estimator: cannot process .*/img4/0/b.jpg" "$tmp/err" &&
  grep -q 'frames: 2 ingested, 0 reused, 1 failed (of 3)' "$tmp/log"; echo $?)

# usage errors
"$bin" ingest --input "$tmp/in" --out "$tmp/x" >/dev/null 2>&1
check "missing --cams exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" ingest --input "$tmp/in" --cams a --out "$tmp/x" --person_select_strategy biggest >/dev/null 2>"$tmp/err"
check "bad strategy exits 2" $([ $? -eq 2 ]; echo $?)
check "bad strategy names the choices" $(grep -q 'largest_bbox, first, person_index' "$tmp/err"; echo $?)
"$bin" ingest --input "$tmp/in" --cams a --out "$tmp/x" --estimator 'run {image}' >/dev/null 2>&1
check "estimator without {output} exits 2" $([ $? -eq 2 ]; echo $?)
"$bin" ingest --input "$tmp/nowhere" --cams a --out "$tmp/x" >/dev/null 2>"$tmp/err"
check "missing input exits 1" $([ $? -eq 1 ]; echo $?)
check "missing input named" $(grep -q 'nowhere: input folder not found' "$tmp/err"; echo $?)
check "listed in mhrfit --help" $(grep -q '^  ingest ' <<<"$("$bin" --help)"; echo $?)

# keypoints beyond a million pixels (a sentinel, an overflow): missing, said once per view
mkdir -p "$tmp/far/0"
/usr/bin/python3 -c "import numpy as np, sys
z = dict(np.load(sys.argv[1], allow_pickle=True)); k = z['pred_keypoints_2d'].copy()
k.reshape(-1, 2)[3] = [1e30, 5.0]; k.reshape(-1, 2)[4] = [-9.2e18, 7.0]; z['pred_keypoints_2d'] = k
np.savez(sys.argv[2], **z)" "$data/img_subj00.npz" "$tmp/far/0/a.npz"
cp "$data/img_subj01.npz" "$tmp/far/0/b.npz"
"$bin" ingest --input "$tmp/far" --cams a b --out "$tmp/far_out" >"$tmp/log" 2>"$tmp/err"
check "keypoints beyond 1e6 px: ingested (exit 0)" $?
check "... said, naming frame, camera, file and count" \
  $(grep -q "frame '0' camera 'a': .*a.npz: 2 keypoint(s) of 'pred_keypoints_2d' beyond a million pixels, taken as missing" "$tmp/err"; echo $?)
check "... and missing in the stage-1 file" $(/usr/bin/python3 -c "import numpy as np, sys
k = np.load(sys.argv[1])['pred_keypoints_2d'].reshape(-1, 2); sys.exit(not (np.isnan(k[3:5]).all() and np.isfinite(k[5]).all()))" \
  "$tmp/far_out/stage1/0/a.npz"; echo $?)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
