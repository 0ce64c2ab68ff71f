#!/usr/bin/env bash
# mhrfit run --max_inflated_mib (issue 17, defect 9, for run's stage 1): a SAM 3D Body output whose
# arrays inflate past the limit is refused by run from its directory, with ingest's check and
# message naming the file (a 1 MB file inflating to 300 MiB at the default 256 MiB; a 2 MiB one
# under --max_inflated_mib 1), the rest of the run goes on; a raised limit accepts it; the
# option's value is checked as ingest checks it.
. "$(dirname "$0")/testlib.sh"
py=/usr/bin/python3
check "Debian's python3 with NumPy is installed (scripts/deps)" $("$py" -c "import numpy" 2>/dev/null; echo $?)
check "run --help documents --max_inflated_mib" $(grep -q -- "--max_inflated_mib N" <<<"$("$bin" run --help)"; echo $?)
# pad FILE MIB: adds a member of MIB MiB of zeros (deflated, written in pieces) to an .npz
pad() {
  "$py" - "$1" "$2" <<'PY'
import io, sys, zipfile
import numpy as np
path, mib = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(path) as z:
    members = {n: z.read(n) for n in z.namelist()}
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
    for n, b in members.items():
        out.writestr(n, b)
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (mib << 18,)})
    with out.open("pad.npy", "w", force_zip64=True) as m:
        m.write(head.getvalue())
        zeros = bytes(1 << 20)
        for _ in range(mib):
            m.write(zeros)
PY
}
"$bin" demo --out "$tmp/cap" --num_frames 3 --no_missing_views --quiet
cp -r "$tmp/cap" "$tmp/big"
pad "$tmp/big/000001/cam_2.npz" 300
check "a 300 MiB member in a small file ($(stat -c %s "$tmp/big/000001/cam_2.npz") bytes)" \
  $([ "$(stat -c %s "$tmp/big/000001/cam_2.npz")" -lt 2000000 ]; echo $?)
"$bin" run --input "$tmp/big" --calib "$tmp/big/calibration.toml" --out "$tmp/run_big" >"$tmp/log" 2>"$tmp/err"
check "run goes on without the view (exit 0)" $?
check "run refuses the file at the default 256 MiB, naming it" \
  $(has "$tmp/err" "frame '000001' camera 'cam_2': $tmp/big/000001/cam_2.npz: its arrays inflate to more than 256.0 MiB")
check "... before inflating it, saying how to raise the limit" \
  $(has "$tmp/err" "(--max_inflated_mib raises it); nothing was inflated")
"$bin" ingest --input "$tmp/big" --cams cam_0 cam_1 cam_2 cam_3 --out "$tmp/ing" >/dev/null 2>"$tmp/ierr"
msg=$(grep -o "frame '000001' camera 'cam_2': .*" "$tmp/ierr")
check "ingest gives the same message" $([ -n "$msg" ] && grep -qF -- "$msg" "$tmp/err"; echo $?)

cp -r "$tmp/cap" "$tmp/small"
pad "$tmp/small/000001/cam_2.npz" 2
"$bin" run --input "$tmp/small" --calib "$tmp/small/calibration.toml" --out "$tmp/run1" --max_inflated_mib 1 \
  >"$tmp/log" 2>"$tmp/err"
check "--max_inflated_mib 1: exit 0" $?
check "--max_inflated_mib 1: the 2 MiB file refused, named" \
  $(has "$tmp/err" "$tmp/small/000001/cam_2.npz: its arrays inflate to more than 1.0 MiB")
"$bin" run --input "$tmp/small" --calib "$tmp/small/calibration.toml" --out "$tmp/run4" --max-inflated-mib 4 \
  >"$tmp/log" 2>"$tmp/err"
check "--max-inflated-mib 4: exit 0" $?
check "--max-inflated-mib 4: the file accepted (no failed view)" \
  $(! grep -q "cam_2.npz" "$tmp/err" && has "$tmp/log" "stage 1: 3 frames ingested, 0 reused, 0 with failed views"; echo $?)

for v in 0 -3; do
  "$bin" run --input "$tmp/cap" --calib "$tmp/cap/calibration.toml" --out "$tmp/never" --max_inflated_mib "$v" \
    >/dev/null 2>"$tmp/err"
  check "--max_inflated_mib $v exits 2" $([ $? -eq 2 ]; echo $?)
  check "--max_inflated_mib $v: ingest's message" $(has "$tmp/err" "--max_inflated_mib must be at least 1, got $v")
done
check "nothing written" $([ ! -e "$tmp/never" ]; echo $?)
finish
