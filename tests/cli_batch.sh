#!/usr/bin/env bash
# mhrfit batch (issue 19, items 4 and 5 without Slurm): five demo sessions, one with a broken
# calibration: four succeed with the files of a plain `run`, the broken one is reported with its
# error and the exit status says so; a rerun reuses every frame of the four and retries the
# fifth, which succeeds once its calibration is repaired. Manifest errors are usage errors
# before anything runs. Shards, the Slurm environment, --collect and --sbatch.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"

b=$tmp/batch
mkdir -p "$b"
"$bin" rig import --out "$b/rig.npz" >/dev/null; check "rig import" $?
for i in 1 2 3 4 5; do demo "$b/cap$i" 24 $i || check "demo $i" 1; done
cp "$b/cap5/calibration.toml" "$tmp/good_calib.toml"
sed -i 's/^rotation = .*/rotation = [1, 2]/' "$b/cap5/calibration.toml"
manifest() { # FILE: the five sessions (s2 with its own cameras and an option of its own)
  {
    printf '[defaults]\nrig = "rig.npz"\nno-mesh = true\n'
    for i in 1 2 3 4 5; do
      printf '\n[[session]]\nname = "s%d"\ninput = "cap%d"\ncalib = "cap%d/calibration.toml"\nout = "runs/s%d"\n' $i $i $i $i
      [ $i = 2 ] && printf 'cams = ["cam_0", "cam_1", "cam_2", "cam_3"]\nmax_stale_frames = 20\n'
    done
  } >"$1"
}
manifest "$b/batch.toml"

# --- the batch, two sessions at a time, from another working directory
(cd "$tmp" && "$bin" batch --manifest batch/batch.toml --jobs 2 >"$tmp/a.log" 2>&1); rc=$?
check "exit 1: one session failed (got $rc)" $([ $rc -eq 1 ]; echo $?)
S=$b/batch_summary.json
check "batch_summary.json written" $([ -f "$S" ]; echo $?)
check "summary: 4 ok, 1 failed" $(grep -A3 '"counts"' "$S" | tr -d ' \n' | grep -q '"ok":4,"failed":1'; echo $?)
check "the failed session's error names the calibration" \
  $(grep -q "cap5/calibration.toml:[0-9]*: table \[cam_0\]: field 'rotation'" "$S"; echo $?)
check "... and the log says so" $(has "$tmp/a.log" "session s5: failed: .*cap5/calibration.toml")
check "... and said so before the first session ran" \
  $(awk '/\[s5\] warning: will fail when its turn comes: .*cap5\/calibration.toml/ { w = NR } /session s1: ok/ && !o { o = NR }
         END { exit !(w && o && w < o) }' "$tmp/a.log"; echo $?)
for i in 1 2 3 4; do
  check "session s$i has its sequence files" $([ -f "$b/runs/s$i/sequence_fit.npz" ] && [ -f "$b/runs/s$i/sequence_smoothed.npz" ]; echo $?)
done
check "session s5 wrote no sequence" $([ ! -e "$b/runs/s5/sequence_fit.npz" ]; echo $?)
# a session's files are those of a plain run with the same options
"$bin" run --input "$b/cap2" --calib "$b/cap2/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --max_stale_frames 20 \
  --rig "$b/rig.npz" --no_mesh --quiet --out "$tmp/plain2"; check "plain run of session s2" $?
same=0
for f in sequence_fit.npz sequence_smoothed.npz $(cd "$tmp/plain2" && find fit triangulation -name '*.npz'); do
  cmp -s "$tmp/plain2/$f" "$b/runs/s2/$f" || { echo "differs: $f"; same=1; }
done
check "session s2's files equal the plain run's" $same
check "session s2 used its own max_stale_frames" $(has "$b/runs/s2/pipeline_config.json" '"max_stale_frames": 20')

# --- a rerun: nothing redone for the four, the fifth retried
stamp=$(stat -c %Y.%y "$b/runs/s1/fit/000003/fit.npz")
"$bin" batch --manifest "$b/batch.toml" --jobs 2 >"$tmp/b.log" 2>&1; rc=$?
check "rerun: exit 1 again (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "rerun: every frame of the four reused" $([ "$(grep -c '"frames_reused": 24' "$S")" -eq 4 ]; echo $?)
check "rerun: per-frame files untouched" $([ "$(stat -c %Y.%y "$b/runs/s1/fit/000003/fit.npz")" = "$stamp" ]; echo $?)
check "rerun: the fifth retried (and failed again)" $(has "$tmp/b.log" "session s5: failed")
cp "$tmp/good_calib.toml" "$b/cap5/calibration.toml"
"$bin" batch --manifest "$b/batch.toml" --quiet >"$tmp/c.log" 2>&1; rc=$?
check "after the repair: exit 0 (got $rc)" $([ $rc -eq 0 ]; echo $?)
check "... 5 ok" $(grep -A2 '"counts"' "$S" | tr -d ' \n' | grep -q '"ok":5}'; echo $?)
check "... s5 has its sequence" $([ -f "$b/runs/s5/sequence_fit.npz" ]; echo $?)

# --- manifest errors: usage errors, nothing run
bad() { # NAME TEXT EXPECTED-MESSAGE
  printf '%s\n' "$2" >"$tmp/bad.toml"
  "$bin" batch --manifest "$tmp/bad.toml" >"$tmp/bad.log" 2>&1; local rc=$?
  check "$1: exit 2 (got $rc)" $([ $rc -eq 2 ] && grep -q -- "$3" "$tmp/bad.log"; echo $?)
  check "$1: nothing written" $([ ! -e "$tmp/r" ] && [ ! -e "$tmp/batch_summary.json" ]; echo $?)
}
bad "no session" '[defaults]' "no session"
bad "no name" $'[[session]]\ninput = "a"\ncalib = "b"\nout = "r"' "'name' is required"
bad "no out" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"' "'out' (a path) is required"
bad "same out" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "r"\n[[session]]\nname = "y"\ninput = "a"\ncalib = "b"\nout = "r"' "same output folder"
bad "same name" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "r"\n[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "q"' "two sessions are named 'x'"
bad "unknown option" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "r"\nmax_stail_frames = 3' "unknown option '--max_stail_frames=3'"
bad "bad value" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "r"\nmin_views = 1' "session 'x'"
bad "table value" $'[[session]]\nname = "x"\ninput = "a"\ncalib = "b"\nout = "r"\nfit = {iters = 3}' "'fit' is a table"
bad "not TOML" 'this is not = = toml' "bad.toml:1"

# --- shards: --shard I/N, the Slurm environment, --collect
rm -rf "$b/runs" "$S"
"$bin" batch --manifest "$b/batch.toml" --shard 1/3 --quiet >/dev/null 2>&1; check "--shard 1/3" $?
S1=$b/batch_summary.shard-1-of-3.json
check "shard 1 of 3 ran sessions s2, s3 (floor(i*5/3))" \
  $([ -f "$b/runs/s2/sequence_fit.npz" ] && [ -f "$b/runs/s3/sequence_fit.npz" ] && [ ! -e "$b/runs/s1" ] && [ ! -e "$b/runs/s4" ]; echo $?)
check "... and wrote its own summary" $(grep -q '"shard": \[' "$S1" && ! grep -q '"name": "s1"' "$S1"; echo $?)
"$bin" batch --manifest "$b/batch.toml" --collect >"$tmp/d.log" 2>&1; rc=$?
check "--collect with shards missing: exit 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "... 2 ok, 3 missing" $(has "$tmp/d.log" "2 ok, 0 failed, 3 missing")
check "... shards 0 and 2 to submit again" $(has "$tmp/d.log" "sbatch --array=0,2 ")
check "... every missing session listed" $(grep -q "s1: missing" "$tmp/d.log" && grep -q "s5: missing" "$tmp/d.log"; echo $?)
SLURM_ARRAY_TASK_ID=10 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_COUNT=3 \
  "$bin" batch --manifest "$b/batch.toml" --quiet >/dev/null 2>&1; check "a task of a Slurm array (shard 0 of 3)" $?
check "... ran session s1 only" $([ -f "$b/runs/s1/sequence_fit.npz" ] && [ ! -e "$b/runs/s4" ] && [ -f "$b/batch_summary.shard-0-of-3.json" ]; echo $?)
SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=3 "$bin" batch --manifest "$b/batch.toml" >"$tmp/e.log" 2>&1; rc=$?
check "a malformed SLURM_ARRAY_TASK_ID is a usage error (got $rc)" $([ $rc -eq 2 ] && grep -q "SLURM_ARRAY_TASK_ID=x" "$tmp/e.log"; echo $?)
"$bin" batch --manifest "$b/batch.toml" --shard 2/3 --quiet >/dev/null 2>&1; check "--shard 2/3" $?
"$bin" batch --manifest "$b/batch.toml" --collect >"$tmp/f.log" 2>&1; rc=$?
check "--collect of every shard: exit 0 (got $rc)" $([ $rc -eq 0 ] && has "$tmp/f.log" "5 ok, 0 failed, 0 missing" >/dev/null; echo $?)
check "... batch_summary.json lists 5 ok" $(grep -A2 '"counts"' "$S" | tr -d ' \n' | grep -q '"ok":5}'; echo $?)
for u in "--shard 3/3" "--shard 1" "--shard a/b" "--shard 0/2 --collect" "--jobs -1" "--per_task 0 --sbatch"; do
  "$bin" batch --manifest "$b/batch.toml" $u >/dev/null 2>&1
  check "batch $u is a usage error" $([ $? -eq 2 ]; echo $?)
done

# --- the job-array script
"$bin" batch --manifest "$b/batch.toml" --sbatch --per_task 2 --jobs 2 --cpus_per_task 2 --mem 4G --time 01:00:00 \
  --sbatch_option=--account=lab >"$tmp/job.sh"; check "--sbatch" $?
check "script: an array of ceil(5/2) = 3 tasks" $(has "$tmp/job.sh" '^#SBATCH --array=0-2$')
check "script: the resources" \
  $(grep -q '^#SBATCH --cpus-per-task=2$' "$tmp/job.sh" && grep -q '^#SBATCH --mem=4G$' "$tmp/job.sh" &&
    grep -q '^#SBATCH --time=01:00:00$' "$tmp/job.sh" && grep -q '^#SBATCH --account=lab$' "$tmp/job.sh"; echo $?)
check "script: the task runs its shard of 3" $(grep -qF -- '--shard "${SLURM_ARRAY_TASK_ID}/3" --jobs 2' "$tmp/job.sh"; echo $?)
check "script: absolute manifest path" $(grep -qF -- "--manifest '$b/batch.toml'" "$tmp/job.sh"; echo $?)
bash -n "$tmp/job.sh"; check "script: valid bash" $?
finish
