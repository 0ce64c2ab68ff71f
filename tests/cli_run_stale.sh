#!/usr/bin/env bash
# Stale results are never shown as current: a rerun with new settings (--freeze_lower_body) over a
# finished run, interrupted by SIGINT after it started fitting, leaves its marker
# run_unfinished.txt; export and report then warn (quiet or not) that the sequence files are an
# earlier run's and to run again, and the report page says it. The old sequence files are kept
# as they were. A run that finishes removes the marker, and export and report are silent again.
source "$(dirname "$0")/testlib.sh"
cd "$tmp" || exit 1
demo capy 20
C=(--input capy --calib capy/calibration.toml --out rst)
"$bin" run "${C[@]}" --quiet >/dev/null 2>&1; check "the default run" $?
check "a finished run leaves no marker" $([ ! -e rst/run_unfinished.txt ]; echo $?)
"$bin" export --input rst --out a.glb --quiet 2>err; check "export of the finished run" $?
check "export of a finished run warns nothing" $([ ! -s err ]; echo $?)
"$bin" report --run rst --out a.html --no_body 2>err >/dev/null; check "report of the finished run" $?
check "report of a finished run: no warning" $(! grep -q "warning\|did not finish" err; echo $?)
cp rst/sequence_smoothed.npz smoothed.before; cp rst/sequence_summary.json summary.before
lines=$(wc -l <rst/run_state.txt)

# the rerun with other settings, stopped by SIGINT once it has refitted a frame (a journal line more)
"$bin" run "${C[@]}" --freeze_lower_body --jobs 1 >rerun.log 2>&1 & pid=$!
for _ in $(seq 1 3000); do [ "$(wc -l <rst/run_state.txt 2>/dev/null || echo 0)" -gt "$lines" ] && break; sleep 0.01; done
kill -STOP $pid
check "the rerun was fitting when stopped (journal grew, no new summary yet)" \
  $([ "$(wc -l <rst/run_state.txt)" -gt "$lines" ] && cmp -s rst/sequence_summary.json summary.before; echo $?)
kill -INT $pid; kill -CONT $pid; wait $pid; rc=$?
check "the rerun ends by SIGINT (130)" $([ $rc -eq 130 ]; echo $?)
check "pipeline_config.json has the new settings" $(grep -q '"freeze_lower_body": true' rst/pipeline_config.json; echo $?)
check "the marker of the unfinished run is there" $([ -e rst/run_unfinished.txt ]; echo $?)
check "the old sequence files are kept as they were" \
  $(cmp -s rst/sequence_smoothed.npz smoothed.before && cmp -s rst/sequence_summary.json summary.before; echo $?)
"$bin" export --input rst --out b.glb --quiet 2>err; check "export after the interrupted rerun still exports" $?
check "export warns: the sequence files are an earlier run's, run again" \
  $(grep -q "^mhrfit export: warning: the last run into rst did not finish (interrupted or failed.*are an earlier run's.*run it again" err; echo $?)
"$bin" report --run rst --out b.html --no_body --quiet 2>err; check "report after the interrupted rerun" $?
check "report warns (also with --quiet)" $(grep -q "^mhrfit report: warning: the last run into rst did not finish" err; echo $?)
check "the page says it" $(grep -q "did not finish" b.html; echo $?)

# the rerun finished: marker gone, silent again, the results are the new run's
"$bin" run "${C[@]}" --freeze_lower_body --quiet >/dev/null 2>&1; check "the rerun, to the end" $?
check "the finished rerun removed its marker" $([ ! -e rst/run_unfinished.txt ]; echo $?)
check "its summary is new" $(! cmp -s rst/sequence_summary.json summary.before; echo $?)
"$bin" export --input rst --out c.glb --quiet 2>err; check "export after the finished rerun" $?
check "export silent again" $([ ! -s err ]; echo $?)
"$bin" report --run rst --out c.html --no_body --quiet 2>err; check "report after the finished rerun" $?
check "report silent again" $([ ! -s err ]; echo $?)
check "the marker is no output anyone may write to" \
  $("$bin" export --input rst --out rst/run_unfinished.txt --format trc --quiet 2>/dev/null; [ $? -eq 2 ]; echo $?)
finish
