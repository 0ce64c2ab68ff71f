#!/usr/bin/env bash
# mhrfit batch on a real Slurm (issue 19, item 5): a single-node cluster from Debian's packages
# (munge, slurmctld, slurmd: scripts/deps) configured in a temporary folder and run as root, as
# CI runs the tests; the script of `batch --sbatch` submitted for a 6-session manifest as an
# array of 3 tasks; `batch --collect`; every session's files compared with a local `batch` run
# byte for byte (JSON but for timings and paths). The test fails when Slurm cannot start.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"

for t in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
  command -v $t >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
  check "$t is installed (scripts/deps)" $(command -v $t >/dev/null 2>&1; echo $?)
done
check "running as root (the daemons run as root here, as in CI)" $([ "$(id -u)" -eq 0 ]; echo $?)
[ "$fail" -eq 0 ] || { finish; exit 1; }

# --- the cluster, in $tmp/slurm
S=$tmp/slurm
mkdir -p "$S/state" "$S/spool" "$S/log" "$S/munge"
chmod 700 "$S/munge"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done; }
trap 'stop; rm -rf "$tmp"' EXIT
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null && chmod 600 "$S/munge/munge.key"
munged -F --force -S "$S/munge/sock" --key-file="$S/munge/munge.key" --log-file="$S/log/munged.log" \
  --pid-file="$S/munge/munged.pid" --seed-file="$S/munge/seed" >"$S/log/munged.out" 2>&1 & pids+=($!)
wait_for_file() { for _ in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_for_file "$S/munge/sock"; check "munged starts" $?
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
cat >"$S/slurm.conf" <<EOF
ClusterName=mhrfit
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -D -i >"$S/log/slurmctld.out" 2>&1 & pids+=($!)
slurmd -D -N "$host" >"$S/log/slurmd.out" 2>&1 & pids+=($!)
up=1
for _ in $(seq 1 300); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && { up=0; break; }
  sleep 0.1
done
check "Slurm starts: the node is idle within 30 s" $up
if [ $up -ne 0 ]; then
  tail -n 20 "$S"/log/*
  finish
  exit 1
fi

# --- six sessions, a manifest for Slurm and one for a local batch
B=$tmp/b
mkdir -p "$B"
"$bin" rig import --out "$B/rig.npz" >/dev/null; check "rig import" $?
for i in 1 2 3 4 5 6; do demo "$B/cap$i" 16 $((i + 20)) || check "demo $i" 1; done
manifest() { # FILE RUNS-FOLDER
  {
    printf '[defaults]\nrig = "rig.npz"\n'
    for i in 1 2 3 4 5 6; do
      printf '\n[[session]]\nname = "take%d"\ninput = "cap%d"\ncalib = "cap%d/calibration.toml"\nout = "%s/take%d"\n' \
        $i $i $i "$2" $i
    done
  } >"$1"
}
manifest "$B/cluster.toml" slurm_runs
manifest "$B/local.toml" local_runs

"$bin" batch --manifest "$B/cluster.toml" --sbatch --per_task 2 --job_name mhrfit-test >"$B/job.sh"
check "--sbatch writes the script" $?
check "... an array of 3 tasks" $(has "$B/job.sh" '^#SBATCH --array=0-2$')
t0=$(date +%s)
job=$(cd "$B" && sbatch --parsable "$B/job.sh" 2>"$tmp/sbatch.err"); rc=$?
check "sbatch accepts the script (job $job)" $([ $rc -eq 0 ] && [ -n "$job" ]; echo $?)
done_=1
for _ in $(seq 1 900); do
  [ -z "$(squeue -h -j "${job%%;*}" 2>/dev/null)" ] && { done_=0; break; }
  sleep 0.1
done
check "the array finishes within 90 s ($(( $(date +%s) - t0 )) s)" $done_
states=$(scontrol -o show job "${job%%;*}" 2>/dev/null | grep -o 'JobState=[A-Z]*' | sort | uniq -c | tr -s ' ')
echo "task states:$states"
check "its 3 tasks completed" $(grep -q '^ 3 JobState=COMPLETED$' <<<"$states"; echo $?)
for k in 0 1 2; do
  check "task $k wrote the summary of shard $k of 3" $([ -f "$B/batch_summary.shard-$k-of-3.json" ]; echo $?)
done
"$bin" batch --manifest "$B/cluster.toml" --collect >"$tmp/collect.log" 2>&1; rc=$?
cat "$tmp/collect.log"
check "--collect: exit 0, 6 ok, nothing missing" $([ $rc -eq 0 ] && grep -q "6 ok, 0 failed, 0 missing" "$tmp/collect.log"; echo $?)

# --- the same sessions by a local batch, compared file by file
"$bin" batch --manifest "$B/local.toml" --jobs 2 --out "$B/local" --quiet; check "local batch" $?
norm() { sed -E '/"([a-z_]+_s|threads|output_root|mtime|frames_reused)":/d' "$1"; }
for i in 1 2 3 4 5 6; do
  a=$B/slurm_runs/take$i l=$B/local_runs/take$i bad=0
  diff -rq -x '*.json' -x run_state.txt -x .mhrfit.lock "$a" "$l" >/dev/null || bad=1
  n=$(find "$a" -name '*.npz' | wc -l)
  for f in sequence_summary.json pipeline_config.json; do [ "$(norm "$a/$f")" = "$(norm "$l/$f")" ] || bad=1; done
  check "take$i: the cluster's files equal the local run's ($n .npz)" $([ $bad -eq 0 ] && [ "$n" -gt 40 ]; echo $?)
done
finish
