"""No library memory is kept across 10,000 calls of each function (the C heap's bytes in use, read from
glibc's mallinfo2, or from the sanitizer's allocator in an AddressSanitizer build).

Fewer calls where one call is slow (the growth allowed stays 64 kB, so the bound per call is looser):
Rig.fk with markers, Fitter.fit and mhrfit.fit() 2,000 calls (a fit or a marker calibration each, a
few ms); Rig() from a rig file 1,000 (a few ms each) and from the MHR assets 50 (the .model and .fbx
parsed, about 0.1 s); mhrfit.run() 50 (a 3-frame run with every file written, about 0.2 s);
mhrfit.export() 50 (the rig loaded and a glTF of the 3-frame run written, about 0.2 s). With
MHRFIT_PY_MEMORY_CALLS (the sanitizer build: 1,000) these counts shrink in proportion, to 10 at least."""

import ctypes
import gc
import os
import unittest

import numpy as np

import mhrfit
from helpers import ASSETS, DEMO_CAMS, SAM3D, cli, demo, stage1_keypoints, tmp_path

# 10,000 calls; fewer where the environment says so (the sanitizer build: every call is slower there)
CALLS = int(os.environ.get("MHRFIT_PY_MEMORY_CALLS", "10000"))


def slow_calls(n: int) -> int:
    """n calls of a slow function, reduced as CALLS is (at least 10)."""
    return max(10, CALLS * n // 10000)


def heap_bytes_function():
    """A function returning the C heap's bytes in use."""
    me = ctypes.CDLL(None)
    asan = getattr(me, "__sanitizer_get_current_allocated_bytes", None)
    if asan is not None:
        asan.restype = ctypes.c_size_t
        return asan

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    mallinfo2 = me.mallinfo2
    mallinfo2.restype = Mallinfo2
    return lambda: mallinfo2().uordblks + mallinfo2().hblkhd


class MemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.heap = staticmethod(heap_bytes_function())
        cls.rig = mhrfit.Rig(ASSETS)

    def no_growth(self, what, call, calls=CALLS):
        for _ in range(min(100, max(3, calls // 10))):  # warm-up: caches, free lists
            call()
        gc.collect()
        before = self.heap()
        for _ in range(calls):
            call()
        gc.collect()
        grown = self.heap() - before
        # a leak of 16 bytes per call would grow the heap by 160 kB
        self.assertLess(grown, 64 * 1024, f"{what}: the C heap grew by {grown} bytes over {calls} calls")

    def test_triangulate(self):
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        kp = stage1_keypoints(f"{d}/000001", DEMO_CAMS)
        self.no_growth("triangulate", lambda: mhrfit.triangulate(calib, kp))
        opts = [{"inlier_thresh": 20.0}, {"inlier_thresh": 25.0}]  # a new triangulator at every call
        i = iter(range(10**9))
        self.no_growth("triangulate with changing options", lambda: mhrfit.triangulate(calib, kp, **opts[next(i) % 2]))
        self.no_growth("load_calibration", lambda: mhrfit.load_calibration(f"{d}/calibration.toml", ["cam_1"]))

    def test_fk_and_load(self):
        out = mhrfit.load(os.path.join(SAM3D, "img_subj00.npz"))
        self.no_growth("Rig.fk", lambda: self.rig.fk(out))
        self.no_growth("Rig.fk with markers", lambda: self.rig.fk(out["mhr_model_params"], markers=out), min(2000, CALLS))
        self.no_growth("load", lambda: mhrfit.load(os.path.join(SAM3D, "img_subj01.npz")))

    def test_errors_do_not_leak(self):
        m = np.full(204, np.nan)
        def failing():
            try:
                self.rig.fk(m)
            except mhrfit.Error:
                pass
            try:
                mhrfit.load("/nonexistent/file.npz")
            except mhrfit.Error:
                pass
        self.no_growth("failing calls", failing)

    def test_fit(self):
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        tri = mhrfit.triangulate(calib, stage1_keypoints(f"{d}/000003", DEMO_CAMS))
        views = {c: mhrfit.load(f"{d}/000003/{c}.npz") for c in DEMO_CAMS}
        fitter = mhrfit.Fitter(self.rig, iters=2, no_mesh=True)
        self.no_growth("Fitter.fit", lambda: fitter.fit(tri, views), min(2000, CALLS))
        self.no_growth("fit", lambda: mhrfit.fit(self.rig, tri, views, iters=2, no_mesh=True), min(2000, CALLS))

    def test_rig(self):
        rig_file = tmp_path("memory_rig.npz")
        cli("rig", "import", "--assets", ASSETS, "--out", rig_file, "--quiet")
        self.no_growth("Rig(rig=file)", lambda: mhrfit.Rig(rig=rig_file), slow_calls(1000))
        self.no_growth("Rig(assets)", lambda: mhrfit.Rig(ASSETS), slow_calls(50))

    def test_run_and_export(self):
        capture = tmp_path("memory_capture")
        cli("demo", "--assets", ASSETS, "--out", capture, "--frames", "3", "--seed", "3", "--quiet")
        out = tmp_path("memory_run")
        def run():  # every frame fitted and every file written again
            mhrfit.run(capture, f"{capture}/calibration.toml", DEMO_CAMS, out, assets=ASSETS, overwrite=True,
                       quiet=True)
        self.no_growth("run", run, slow_calls(50))
        glb = tmp_path("memory_run.glb")
        self.no_growth("export", lambda: mhrfit.export(out, glb, assets=ASSETS), slow_calls(50))


if __name__ == "__main__":
    unittest.main()
