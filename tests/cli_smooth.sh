#!/usr/bin/env bash
# mhrfit smooth takes the frame rate of its input: a run at 60 fps, re-smoothed without --fps,
# matches the run's own smoothed sequence (to float32 rounding) and differs from a 30 fps
# smoothing; an archive without a rate is smoothed at 30 fps and says so; a cutoff above the
# input's Nyquist frequency is a usage error naming the input.
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3
check "Debian's python3 with NumPy is installed (scripts/deps)" $("$py" -c "import numpy" 2>/dev/null; echo $?)
check "smooth --help states the default rate" $(grep -q "default: the input archive's fps, else 30" <<<"$("$bin" smooth --help)"; echo $?)
demo "$tmp/cap" 40 5
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run" --fps 60 --quiet
check "run at 60 fps" $?
"$bin" smooth --input "$tmp/run/sequence_fit.npz" --out "$tmp/s60.npz" >"$tmp/log" 2>&1
check "smooth without --fps exits 0" $?
check "smooth says the rate is the input's" $(has "$tmp/log" "frame rate 60 fps (the input's)")
"$bin" smooth --input "$tmp/run/sequence_fit.npz" --out "$tmp/s30.npz" --fps 30 --quiet
check "smooth --fps 30 exits 0" $?
# maxdiff A B: the largest difference of mhr_model_params between two archives
maxdiff() { "$py" -c "import numpy as np, sys
a, b = (np.load(p)['mhr_model_params'] for p in sys.argv[1:])
print('%.3g' % np.nanmax(np.abs(a - b)))" "$1" "$2"; }
d60=$(maxdiff "$tmp/s60.npz" "$tmp/run/sequence_smoothed.npz")
d30=$(maxdiff "$tmp/s30.npz" "$tmp/run/sequence_smoothed.npz")
echo "max |params - run's smoothed|: at the input's rate $d60, at 30 fps $d30"
check "the input's rate reproduces run's smoothing (float32 rounding)" $(awk -v d="$d60" 'BEGIN { exit !(d < 1e-6) }'; echo $?)
check "30 fps smooths differently" $(awk -v d="$d30" 'BEGIN { exit !(d > 1e-4) }'; echo $?)
# an archive without fps: 30, said
"$py" -c "import numpy as np, sys
z = dict(np.load(sys.argv[1])); del z['fps']; np.savez(sys.argv[2], **z)" "$tmp/run/sequence_fit.npz" "$tmp/nofps.npz"
"$bin" smooth --input "$tmp/nofps.npz" --out "$tmp/s_nofps.npz" >"$tmp/log" 2>&1
check "no rate recorded: exits 0" $?
check "no rate recorded: 30 fps, said" $(has "$tmp/log" "frame rate 30 fps (the input records no usable rate")
check "no rate recorded: the 30 fps result" $(cmp -s "$tmp/s_nofps.npz" "$tmp/s30.npz" || [ "$(maxdiff "$tmp/s_nofps.npz" "$tmp/s30.npz")" = 0 ]; echo $?)
"$bin" smooth --input "$tmp/nofps.npz" --out "$tmp/x.npz" --cutoff_hz 20 >/dev/null 2>"$tmp/err"; rc=$?
check "cutoff above the input's Nyquist: usage error 2 (got $rc)" $([ $rc -eq 2 ] && grep -q "nofps.npz" "$tmp/err" && [ ! -e "$tmp/x.npz" ]; echo $?)
# members that disagree on the frame count: the error names the member and the reference
"$py" -c "import numpy as np, sys
z = dict(np.load(sys.argv[1])); z['mhr_model_params'] = z['mhr_model_params'][:10]; np.savez(sys.argv[2], **z)" \
  "$tmp/run/sequence_fit.npz" "$tmp/short.npz"
"$bin" smooth --input "$tmp/short.npz" --out "$tmp/x.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "frame counts that disagree: exit 1 naming what disagrees with what" $([ $rc -eq 1 ] &&
  grep -q "member 'body_pose_params' is float32 (40, 133), expected numeric (10, 133): the archive's 10 frame(s) are those of 'mhr_model_params'" "$tmp/err"; echo $?)
finish
