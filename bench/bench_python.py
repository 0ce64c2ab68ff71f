"""Per-call cost of the Python package against the bare library calls it wraps.

    MHRFIT_LIBRARY=build/libmhrfit.so PYTHONPATH=python taskset -c 1 \\
        /usr/bin/python3 bench/bench_python.py CAPTURE ASSETS

CAPTURE is a capture of `mhrfit demo` (its frame 000001: 70 keypoints seen by 4 cameras), ASSETS the
MHR assets folder or a rig file. The "library call" rows call the C functions directly through ctypes
with every argument prepared beforehand: the floor of any Python binding (they include ctypes' own
call cost, the "empty ctypes call" row). Each Python call is timed alternately with its library call,
21 rounds of N calls each; the table gives the medians in microseconds per call, and the median of
the per-round differences as "extra".
"""

import ctypes
import os
import statistics
import sys
import time

import numpy as np

import mhrfit
from mhrfit import _lib as L


def per_call_us(fn, n):
    runs = []
    for _ in range(15):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(runs)


def pair_us(base, fn, n):
    """(median µs per call of base, of fn, median of the per-round differences): the two are timed
    alternately, round after round, so that a change of the machine's load hits both alike."""
    a, b, d = [], [], []
    for _ in range(21):
        t0 = time.perf_counter()
        for _ in range(n):
            base()
        t1 = time.perf_counter()
        for _ in range(n):
            fn()
        t2 = time.perf_counter()
        a.append((t1 - t0) / n * 1e6)
        b.append((t2 - t1) / n * 1e6)
        d.append(b[-1] - a[-1])
    return statistics.median(a), statistics.median(b), statistics.median(d)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    capture, assets = sys.argv[1], sys.argv[2]
    lib = L.lib()
    calib = mhrfit.load_calibration(os.path.join(capture, "calibration.toml"))
    kp = []
    for cam in calib.names:
        a = mhrfit.load(os.path.join(capture, "000001", cam + ".npz"))["pred_keypoints_2d"]
        kp.append(a[-1] if a.ndim == 3 else a)
    kp = np.stack(kp)  # (4, 70, 2)
    V, K = kp.shape[:2]

    # the bare C call: a triangulator made once, inputs already in the library's layout
    opts = L.mhrfit_tri_options()
    lib.mhrfit_tri_options_default(ctypes.byref(opts))
    err = L.mhrfit_error()
    cams = (L.mhrfit_camera * V)(*[calib._ptr.contents.cams[i] for i in range(V)])
    tri = lib.mhrfit_triangulator_new(cams, V, K, ctypes.byref(opts), ctypes.byref(err))
    uv = np.ascontiguousarray(kp.transpose(1, 0, 2), dtype=np.float64)
    outs = [np.empty((K, 3)), np.empty((K, 3)), np.empty((K, V), np.bool_), np.empty((K, V)),
            np.empty(K, np.int32), np.empty(K, np.int32)]
    res = L.mhrfit_tri_result(*[o.ctypes.data for o in outs])
    uv_p, res_p, err_p = uv.ctypes.data, ctypes.byref(res), ctypes.byref(err)
    process = lib.mhrfit_triangulator_process

    def c_tri():
        process(tri, K, uv_p, None, res_p, err_p)

    rig = mhrfit.Rig(assets)
    m = mhrfit.load(os.path.join(capture, "000001", calib.names[0] + ".npz"))["mhr_model_params"]
    m = np.ascontiguousarray(m.reshape(-1, 204)[-1], dtype=np.float64)
    rig.fk(m)  # makes the rig's evaluator
    ev = rig._eval
    J, NV = rig.n_joints, rig.n_vertices
    bufs = [np.empty((J, 3)), np.empty((J, 9)), np.empty((70, 3)), np.empty((NV, 3))]
    o = L.mhrfit_sam3d_outputs(*[b.ctypes.data for b in bufs], False, 0)
    o_nomesh = L.mhrfit_sam3d_outputs(*[b.ctypes.data for b in bufs[:3]], None, False, 0)
    o_p, o_nomesh_p, m_p = ctypes.byref(o), ctypes.byref(o_nomesh), m.ctypes.data
    evaluate = lib.mhrfit_sam3d_evaluator_process
    version = lib.mhrfit_version

    rows = [("empty ctypes call (mhrfit_version)", per_call_us(version, 20000), None)]
    pairs = [
        ("triangulate (70 points, 4 views)", c_tri, "mhrfit.triangulate", lambda: mhrfit.triangulate(calib, kp), 500),
        ("triangulate (70 points, 4 views)", c_tri, "mhrfit.triangulate, float32 Fortran-order input",
         lambda k=np.asfortranarray(kp.astype(np.float32)): mhrfit.triangulate(calib, k), 500),
        ("FK + keypoints", lambda: evaluate(ev, m_p, None, 0, o_nomesh_p, err_p), "Rig.fk(mesh=False)",
         lambda: rig.fk(m, mesh=False), 2000),
        (f"FK + keypoints + mesh ({NV} vertices)", lambda: evaluate(ev, m_p, None, 0, o_p, err_p), "Rig.fk",
         lambda: rig.fk(m), 1000),
    ]
    for what, base, name, fn, n in pairs:
        a, b, d = pair_us(base, fn, n)
        rows.append((f"{what}: library call", a, None))
        rows.append((f"{what}: {name}", b, d))
    print(f"{'call':<80} {'us/call':>9} {'extra us':>9}")
    for name, us, extra in rows:
        print(f"{name:<80} {us:9.2f} " + (f"{extra:9.2f}" if extra is not None else ""))
    lib.mhrfit_triangulator_free(tri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
