#!/usr/bin/env bash
# mhrfit run: --help documents the options; a run killed with SIGKILL part-way through and started
# again finishes with files byte-identical to an uninterrupted run, redoing only unfinished frames.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testlib.sh"

help=$("$bin" run --help); check "run --help exits 0" $?
for opt in --input --calib --cams --out --freeze_lower_body --person_select_strategy --estimator --no_smoothing \
           --smooth_method --max_edge_copy_span --inlier_thresh --solver --w_temporal --overwrite; do
  check "help documents $opt" $(grep -q -- "$opt" <<<"$help"; echo $?)
done
"$bin" demo --out "$tmp/cap" --num_frames 80 --seed 11 >/dev/null; check "demo" $?
args=(--input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --cams cam_0 cam_1 cam_2 cam_3 --no_mesh)
"$bin" run "${args[@]}" --quiet --out "$tmp/full"; check "uninterrupted run" $?

# the run works in slices of 20 ms (SIGCONT, SIGSTOP) until 20 frames are done, so that the kill
# comes part-way through however busy the machine is
shopt -s nullglob
"$bin" run "${args[@]}" --quiet --out "$tmp/killed" & pid=$!
# finished frames are those of the journal (with several threads, later frames' folders may
# already exist)
for _ in $(seq 1 5000); do
  n=$(($(cat "$tmp/killed/run_state.txt" 2>/dev/null | wc -l) - 1))
  [ "$n" -ge 20 ] && break
  kill -CONT $pid 2>/dev/null; sleep 0.02; kill -STOP $pid 2>/dev/null
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_before=$(($(wc -l <"$tmp/killed/run_state.txt") - 1))
echo "killed after $done_before journalled frames"
check "killed part-way (no summary yet)" $([ ! -e "$tmp/killed/sequence_summary.json" ]; echo $?)
out=$("$bin" run "${args[@]}" --out "$tmp/killed"); check "resumed run" $?
echo "$out" | grep "fits reused"
reused=$(sed -n 's/.*(\([0-9]*\) fits reused).*/\1/p' <<<"$out")
check "frames finished before the kill were reused" $([ -n "$reused" ] && [ "$reused" -ge $((done_before - 2)) ] && [ "$reused" -lt 80 ]; echo $?)
for f in sequence_fit.npz sequence_smoothed.npz; do
  check "$f identical to the uninterrupted run" $(cmp -s "$tmp/full/$f" "$tmp/killed/$f"; echo $?)
done

# the journal: one line per finished frame; a line cut short (a kill mid-write) and a frame whose
# line is missing are both redone, the rest reused
j="$tmp/killed/run_state.txt"
check "journal has a header and 80 frame lines after the compaction" \
  $([ "$(head -1 "$j")" = "mhrfit run state 2" ] && [ "$(wc -l <"$j")" -ge 81 ]; echo $?)
grep -v "^000003	" "$j" >"$j.new" && mv "$j.new" "$j"
printf '000007\t0123' >>"$j"
out=$("$bin" run "${args[@]}" --out "$tmp/killed"); check "rerun after editing the journal" $?
check "one frame redone (79 reused)" $(grep -q "(79 fits reused)" <<<"$out"; echo $?)
check "the result is unchanged" $(cmp -s "$tmp/full/sequence_fit.npz" "$tmp/killed/sequence_fit.npz"; echo $?)

# the same run started from another working folder, through relative paths: every fit reused;
# the calibration edited in place (one camera moved 5 cm): every fit redone
(cd "$tmp/cap" && "$bin" run --input . --calib calibration.toml --cams cam_0 cam_1 cam_2 cam_3 --no_mesh \
  --out ../full) >"$tmp/cwd.log" 2>&1
check "from another working folder: the 80 fits reused" $(grep -q "(80 fits reused)" "$tmp/cwd.log"; echo $?)
awk '!done && /^translation = \[/ { match($0, /-?[0-9][0-9.eE+-]*/); v = substr($0, RSTART, RLENGTH) + 0.05
       $0 = substr($0, 1, RSTART - 1) sprintf("%.17g", v) substr($0, RSTART + RLENGTH); done = 1 } { print }' \
  "$tmp/cap/calibration.toml" >"$tmp/moved.toml" && mv "$tmp/moved.toml" "$tmp/cap/calibration.toml"
"$bin" run "${args[@]}" --out "$tmp/full" >"$tmp/moved.log" 2>&1
check "a calibration edited in place: every fit redone" $(grep -q "(0 fits reused)" "$tmp/moved.log"; echo $?)
finish
