# Sourced by command-line tests (tests/cli_*.sh): the binary, a temporary folder removed at the
# end, check() and finish(), and small helpers that make the captures a user would have.
set -uo pipefail
bin=$(cd "$(dirname "${MHRFIT_BIN:?}")" && pwd)/$(basename "$MHRFIT_BIN")
export MHRFIT_ASSETS=${MHRFIT_ASSETS:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
# check NAME STATUS: STATUS 0 passes.
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi; }
# has FILE TEXT: the file contains the text (0) or not (1).
has() { grep -q -- "$2" "$1"; echo $?; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]; }
# demo DIR FRAMES [SEED]: a synthetic 4-camera capture.
demo() { "$bin" demo --out "$1" --num_frames "$2" --seed "${3:-1}" --quiet; }
# wait_for FILE TEXT: up to 20 s until the file contains the text.
wait_for() {
  for _ in $(seq 1 2000); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done
  return 1
}
# calib_map IN OUT AWK_PROGRAM: the calibration rewritten line by line; the program sees the
# line in $0 and the helper scale(line, k, first_n) that multiplies the first first_n numbers.
calib_map() {
  awk 'function scale(s, k, n,   out, m, i) {
         out = ""; i = 0
         while (match(s, /-?[0-9][0-9.]*([eE][-+]?[0-9]+)?/)) {
           m = substr(s, RSTART, RLENGTH); i++
           out = out substr(s, 1, RSTART - 1) (i <= n ? sprintf("%.17g", m * k) : m)
           s = substr(s, RSTART + RLENGTH)
         }
         return out s
       }
       '"$3" "$1" >"$2"
}
