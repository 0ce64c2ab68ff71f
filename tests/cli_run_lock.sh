#!/usr/bin/env bash
# Regression tests of issue 17, defects 1 and 11, and the pipeline's cancellation by signal:
#  defect 1  two runs into one output folder: the second exits at once naming the holder's PID and
#            writes nothing (run, ingest, demo: one lock per output folder);
#  defect 11 temporary files left by a killed run are removed by the next run under the lock;
#            SIGINT / SIGTERM stop a run cleanly ("interrupted; run again to resume", no
#            temporaries, the journal in place) and the rerun resumes to the same files.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"

demo "$tmp/cap" 40 3; check "demo" $?
C=(--input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --no_mesh)
# One view of frame 5 is an image whose SAM 3D Body output comes from an estimator that waits
# for a gate file: the first run holds its output folder for as long as the test wants.
mv "$tmp/cap/000005/cam_0.npz" "$tmp/cam_0.npz"
echo image >"$tmp/cap/000005/cam_0.jpg"
est="sh -c 'while [ ! -e $tmp/gate ]; do sleep 0.02; done; cp $tmp/cam_0.npz \"\$2\"' est {image} {output}"

# --- defect 1: the same output folder, other settings, while the first run works
"$bin" run "${C[@]}" --estimator "$est" --out "$tmp/out" >"$tmp/a.log" 2>&1 & pid=$!
wait_for "$tmp/out/.mhrfit.lock" "state running"; check "defect 1: the first run holds the lock" $?
t0=$(date +%s%N)
"$bin" run "${C[@]}" --estimator "$est" --out "$tmp/out" --freeze_lower_body >"$tmp/b.log" 2>&1; rc=$?
t1=$(date +%s%N)
check "defect 1: a second run into the folder fails (exit 1, got $rc)" $([ $rc -eq 1 ]; echo $?)
check "defect 1: ... at once" $([ $(( (t1 - t0) / 1000000 )) -lt 3000 ]; echo $?)
check "defect 1: ... naming the holder's PID $pid" $(has "$tmp/b.log" "in use by process $pid (mhrfit run)")
"$bin" ingest --input "$tmp/cap" --cams cam_0 cam_1 cam_2 cam_3 --out "$tmp/out" >"$tmp/c.log" 2>&1; rc=$?
check "defect 1: ingest into the busy folder fails naming the PID" \
  $([ $rc -eq 1 ] && grep -q "in use by process $pid" "$tmp/c.log"; echo $?)
touch "$tmp/gate"
wait $pid; check "defect 1: the first run finishes (exit $?)" $?
check "defect 1: the settings file is the first run's" $(has "$tmp/out/pipeline_config.json" '"freeze_lower_body": false')
check "defect 1: the lock file is gone" $([ ! -e "$tmp/out/.mhrfit.lock" ]; echo $?)
"$bin" run "${C[@]}" --estimator "$est" --out "$tmp/out" >"$tmp/d.log" 2>&1
check "defect 1: a rerun reuses every fit" $(has "$tmp/d.log" "(40 fits reused)")
# demo replacing an earlier demo in a folder another process holds (flock(1) takes the same kind of lock)
demo "$tmp/demo2" 3 1
exec 9>>"$tmp/demo2/.mhrfit.lock"
flock -n 9; check "this shell holds the demo folder's lock" $?
"$bin" demo --out "$tmp/demo2" --num_frames 3 --overwrite --quiet 9>&- 2>"$tmp/e.log"; rc=$?
exec 9>&-
check "defect 1: demo into a locked folder fails (exit 1, got $rc) saying it is in use" \
  $([ $rc -eq 1 ] && grep -q "is in use by" "$tmp/e.log"; echo $?)

# --- defect 11: temporaries of a killed run
rm -f "$tmp/cap/000005/cam_0.jpg"; mv "$tmp/cam_0.npz" "$tmp/cap/000005/cam_0.npz"
"$bin" run "${C[@]}" --out "$tmp/full" >/dev/null 2>&1; check "uninterrupted run" $?
"$bin" run "${C[@]}" --out "$tmp/killed" >/dev/null 2>&1 & pid=$!
wait_for "$tmp/killed/run_state.txt" "^000010	"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
sh -c 'exit 0' & dead=$!; wait $dead # a process id that no longer runs
touch "$tmp/killed/stage1/000003/cam_1.npz.tmp$dead.0" "$tmp/killed/sequence_summary.json.tmp$dead.7" \
      "$tmp/killed/fit/000002/fit.npz.tmp$dead.12"
check "defect 11: the killed run left its lock marked running" $(has "$tmp/killed/.mhrfit.lock" "state running")
"$bin" run "${C[@]}" --out "$tmp/killed" >"$tmp/f.log" 2>&1; check "defect 11: rerun after the kill" $?
# the 3 planted ones, and any the killed run had open (its frames are written on several threads)
check "defect 11: it says it removed the 3 temporaries (and the killed run's own)" \
  $(grep -qE "removed ([3-9]|[1-9][0-9]+) temporary file\(s\)" "$tmp/f.log"; echo $?)
check "defect 11: no temporary file is left" $([ -z "$(find "$tmp/killed" -name '*.tmp[0-9]*')" ]; echo $?)
check "defect 11: the result equals the uninterrupted run" $(cmp -s "$tmp/full/sequence_fit.npz" "$tmp/killed/sequence_fit.npz"; echo $?)

# --- SIGINT and SIGTERM: a clean stop at a frame boundary, then a resume. The run is stopped
# (SIGSTOP) as soon as frame 8 is journalled, so that the signal always reaches it while it works:
# it is delivered when the run goes on (SIGCONT). Every case must be a real interruption.
interrupted=0
for sig in INT TERM; do
  out="$tmp/sig$sig"
  "$bin" run "${C[@]}" --out "$out" >"$tmp/g.log" 2>&1 & pid=$!
  wait_for "$out/run_state.txt" "^000008	"; kill -STOP $pid
  running=$([ ! -e "$out/sequence_summary.json" ] && [ -e "$out/.mhrfit.lock" ]; echo $?)
  kill -$sig $pid; kill -CONT $pid; wait $pid; rc=$?
  want=$([ $sig = INT ] && echo 130 || echo 143)
  check "SIG$sig: the run was still working when stopped" "$running"
  check "SIG$sig: the run was interrupted (status $rc, not 0)" $([ $rc -ne 0 ]; echo $?)
  [ $rc -ne 0 ] && interrupted=$((interrupted + 1))
  check "SIG$sig: the process ends by the signal (status $rc)" $([ $rc -eq $want ]; echo $?)
  check "SIG$sig: it says 'interrupted; run again to resume'" $(has "$tmp/g.log" "interrupted; run again to resume")
  check "SIG$sig: no temporary file, no summary" \
    $([ -z "$(find "$out" -name '*.tmp[0-9]*')" ] && [ ! -e "$out/sequence_summary.json" ]; echo $?)
  check "SIG$sig: the lock file is gone" $([ ! -e "$out/.mhrfit.lock" ]; echo $?)
  "$bin" run "${C[@]}" --out "$out" >"$tmp/h.log" 2>&1; check "SIG$sig: the rerun finishes" $?
  n=$(sed -n 's/.*(\([0-9]*\) fits reused).*/\1/p' "$tmp/h.log")
  check "SIG$sig: it reused the finished frames ($n)" $([ -n "$n" ] && [ "$n" -ge 8 ]; echo $?)
  check "SIG$sig: the result equals the uninterrupted run" $(cmp -s "$tmp/full/sequence_fit.npz" "$out/sequence_fit.npz"; echo $?)
done
check "both signals interrupted a working run ($interrupted of 2)" $([ $interrupted -eq 2 ]; echo $?)
finish
