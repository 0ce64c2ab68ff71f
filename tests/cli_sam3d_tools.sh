#!/usr/bin/env bash
# The SAM 3D Body tools (tools/sam3d_body_adapter.py for --estimator, tools/sam3d_body_worker.py
# for --estimator_worker) run end to end through mhrfit ingest with the stand-in torch and
# sam_3d_body modules of tools/sam3d_body_stubs/ (tools/check_sam3d_body_*.sh). Needs a Python 3
# with NumPy (Debian: python3-numpy, installed by scripts/deps): without one the test fails.
set -uo pipefail
bin=${MHRFIT_BIN:?}
here=$(cd "$(dirname "$0")/.." && pwd)
py=${MHRFIT_PYTHON:-}
if [ -z "$py" ]; then
  for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import numpy' 2>/dev/null; then py=$(command -v "$cand"); break; fi
  done
fi
[ -n "$py" ] || { echo "FAIL: no python3 with NumPy (apt-get install python3-numpy)"; exit 1; }
rc=0
PYTHON=$py "$here/tools/check_sam3d_body_adapter.sh" "$bin" || rc=1
PYTHON=$py "$here/tools/check_sam3d_body_worker.sh" "$bin" || rc=1
exit $rc
