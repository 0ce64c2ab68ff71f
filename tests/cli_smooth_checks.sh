#!/usr/bin/env bash
# mhrfit smooth checks its input as export does, before any work: an ok (or recovered) frame
# holding a parameter that is not finite, or a scale that is not positive, exits 1 naming the
# frame and the value, with no output written, and export says the same of the same archive; a
# failed frame holding NaN is kept as it is (exit 0).
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3
check "Debian's python3 with NumPy is installed (scripts/deps)" $("$py" -c "import numpy" 2>/dev/null; echo $?)
demo "$tmp/cap" 12 3
"$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/run" --quiet
check "run exits 0" $?
fit=$tmp/run/sequence_fit.npz
# edit IN OUT STATEMENT: the archive with a change (z: its members), saved uncompressed
edit() { "$py" -c "import numpy as np, sys
z = dict(np.load(sys.argv[1]))
$3
np.savez(sys.argv[2], **z)" "$1" "$2"; }
edit "$fit" "$tmp/nan_ok.npz" "z['mhr_model_params'][5, 10] = np.nan; z['opt_status'][5] = 'ok'"
"$bin" smooth --input "$tmp/nan_ok.npz" --out "$tmp/s.npz" >"$tmp/log" 2>"$tmp/err"; rc=$?
check "NaN parameter in an ok frame: exits 1 (got $rc)" $([ $rc -eq 1 ]; echo $?)
check "the frame and the value are named" \
  $(has "$tmp/err" "error: .*nan_ok.npz: frame 000005 (index 5, status ok): mhr_model_params\[10\] is not finite")
check "no output written" $([ ! -e "$tmp/s.npz" ]; echo $?)
"$bin" export --input "$tmp/nan_ok.npz" --out "$tmp/x.glb" >/dev/null 2>"$tmp/export.err"
check "export says the same of it" $(grep -q "nan_ok.npz: frame 000005 (index 5, status ok): mhr_model_params\[10\] is not finite" \
  "$tmp/export.err"; echo $?)
edit "$fit" "$tmp/inf_rec.npz" "z['opt_sim_t'][7, 1] = np.inf; z['opt_status'] = z['opt_status'].astype('<U16'); z['opt_status'][7] = 'recovered_interp'"
"$bin" smooth --input "$tmp/inf_rec.npz" --out "$tmp/s.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "infinite translation in a recovered frame: exits 1 naming it" \
  $([ $rc -eq 1 ] && has "$tmp/err" "frame 000007 (index 7, status recovered_interp): opt_sim_t\[1\] is not finite"; echo $?)
edit "$fit" "$tmp/scale0.npz" "z['opt_sim_scale'][3] = 0.0; z['opt_status'][3] = 'ok'"
"$bin" smooth --input "$tmp/scale0.npz" --out "$tmp/s.npz" >/dev/null 2>"$tmp/err"; rc=$?
check "zero scale in an ok frame: exits 1 naming it" \
  $([ $rc -eq 1 ] && has "$tmp/err" "frame 000003 (index 3): opt_sim_scale is 0, not positive"; echo $?)
check "still no output written" $([ ! -e "$tmp/s.npz" ]; echo $?)
# a frame that failed may hold NaN: kept as it is
edit "$fit" "$tmp/nan_failed.npz" "z['mhr_model_params'][5, :] = np.nan; z['opt_status'][5] = 'failed'"
"$bin" smooth --input "$tmp/nan_failed.npz" --out "$tmp/s_failed.npz" --quiet 2>"$tmp/err"
check "NaN in a failed frame: exits 0" $?
kept=$("$py" -c "import numpy as np, sys
z = np.load(sys.argv[1]); m = z['mhr_model_params']; st = z['opt_status']
print(int(str(st[5]) == 'failed' and np.isnan(m[5]).all() and np.isfinite(np.delete(m, 5, axis=0)).all()))" "$tmp/s_failed.npz")
check "the failed frame kept (NaN, its status), the others finite" $([ "$kept" = 1 ]; echo $?)
finish
