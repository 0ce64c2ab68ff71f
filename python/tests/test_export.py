"""mhrfit.export, the library call of ``mhrfit export``: a run's glTF, PLY folder and BVH, a fit archive and
a SAM 3D Body output give the command line's bytes; the rig a run recorded when none is given; wrong options are TypeError / ValueError before anything
is written, library failures mhrfit.Error."""

import os
import unittest

import mhrfit
import numpy as np

from helpers import ASSETS, DEMO_CAMS, SAM3D, cli, demo, stage1_keypoints, tmp_path

_run = None


def run_dir() -> str:
    """The command line's run of the 6-frame demo capture (made once)."""
    global _run
    if _run is None:
        _run = tmp_path("export_run")
        d = demo()
        cli("run", "--input", d, "--calib", os.path.join(d, "calibration.toml"), "--cams", *DEMO_CAMS, "--out", _run,
            "--assets", ASSETS, "--quiet")
    return _run


def same_tree(test: unittest.TestCase, got: str, want: str) -> None:
    """The same files with the same bytes in two folders."""
    files = sorted(os.path.relpath(os.path.join(r, f), want) for r, _, fs in os.walk(want) for f in fs)
    test.assertGreater(len(files), 1)
    test.assertEqual(sorted(os.path.relpath(os.path.join(r, f), got) for r, _, fs in os.walk(got) for f in fs), files)
    for rel in files:
        with open(os.path.join(got, rel), "rb") as a, open(os.path.join(want, rel), "rb") as b:
            test.assertEqual(a.read(), b.read(), rel)


class ExportTest(unittest.TestCase):
    def assert_same_file(self, got: str, want: str) -> None:
        with open(got, "rb") as a, open(want, "rb") as b:
            ga, wb = a.read(), b.read()
        self.assertGreater(len(wb), 1000)
        self.assertEqual(ga, wb, f"{got} differs from the command line's {want}")

    def test_run_glb_ply_bvh_equal_the_command_line(self):
        run = run_dir()
        for name, opts, args in (("run.glb", {}, []),
                                 ("run_fitted_cm.bvh", {"source": "fitted", "units": "cm"}, ["--source", "fitted",
                                                                                              "--units", "cm"]),
                                 ("run4.glb", {"max_influences": 4, "frames": "1:5", "up": "y", "keypoints": False},
                                  ["--max_influences", "4", "--frames", "1:5", "--up", "y", "--no_keypoints"])):
            want, got = tmp_path("cli_" + name), tmp_path("py_" + name)
            cli("export", "--input", run, "--out", want, "--assets", ASSETS, "--quiet", *args)
            rep = mhrfit.export(run, got, assets=ASSETS, **opts)
            self.assert_same_file(got, want)
            self.assertEqual(rep.format, os.path.splitext(name)[1][1:])
            self.assertGreaterEqual(rep.n_exported, 4)
        # per-frame PLY meshes into a folder (export_summary.json names it: the same folder for both)
        got, want = tmp_path("ply_dir"), tmp_path("ply_dir_cli")
        cli("export", "--input", run, "--out", got, "--format", "ply", "--assets", ASSETS, "--quiet")
        os.rename(got, want)
        rep = mhrfit.export(run, got, format="ply", assets=ASSETS)
        same_tree(self, got, want)
        self.assertEqual((rep.format, rep.n_files), ("ply", len([f for _, _, fs in os.walk(want) for f in fs])))
        self.assertEqual((rep.up, rep.up_detected), ("auto", False))  # PLY keeps the world's axes: no up axis

    def test_fit_archive_and_sam3d_output(self):
        run = run_dir()
        fit = os.path.join(run, "fit", "000003", "fit.npz")
        for ext in ("ply", "glb"):
            want, got = tmp_path(f"fit_cli.{ext}"), tmp_path(f"fit_py.{ext}")
            cli("export", "--input", fit, "--out", want, "--assets", ASSETS, "--quiet")
            rep = mhrfit.export(fit, got, assets=ASSETS)
            self.assert_same_file(got, want)
            self.assertEqual(rep.n_exported, 1)
        # a FitResult saved by NumPy (as the example does) is a fit archive the exporter reads
        d = demo()
        calib = mhrfit.load_calibration(os.path.join(d, "calibration.toml"))
        tri = mhrfit.triangulate(calib, stage1_keypoints(os.path.join(d, "000003"), DEMO_CAMS))
        res = mhrfit.fit(mhrfit.Rig(ASSETS), tri, {c: os.path.join(d, "000003", c + ".npz") for c in DEMO_CAMS})
        saved = tmp_path("fitted.npz")
        np.savez(saved, **res)
        want, got = tmp_path("fitted_cli.ply"), tmp_path("fitted_py.ply")
        cli("export", "--input", saved, "--out", want, "--assets", ASSETS, "--quiet")
        rep = mhrfit.export(saved, got, assets=ASSETS)
        self.assert_same_file(got, want)
        self.assertEqual((rep.n_exported, rep.n_vertices), (1, mhrfit.Rig(ASSETS).n_vertices))
        sam = os.path.join(SAM3D, "img_subj01.npz")
        want, got = tmp_path("sam_cli.obj"), tmp_path("sam_py.obj")
        cli("export", "--input", sam, "--out", want, "--assets", ASSETS, "--quiet")
        mhrfit.export(sam, got, assets=ASSETS)
        self.assert_same_file(got, want)

    def test_recorded_assets(self):
        """Without assets, rig or $MHRFIT_ASSETS: the rig the run recorded; without one, TypeError naming
        the ``assets`` argument."""
        run = run_dir()
        want, got = tmp_path("rec_given.glb"), tmp_path("rec_recorded.glb")
        mhrfit.export(run, want, assets=ASSETS)
        env = os.environ.pop("MHRFIT_ASSETS", None)
        try:
            mhrfit.export(run, got)
            self.assert_same_file(got, want)
            lone = tmp_path("lone_fit")
            os.makedirs(lone)
            fit = os.path.join(lone, "fit.npz")
            with open(os.path.join(run, "fit", "000003", "fit.npz"), "rb") as a, open(fit, "wb") as b:
                b.write(a.read())
            with self.assertRaises(TypeError) as cm:
                mhrfit.export(fit, tmp_path("never_rec.glb"))
            self.assertIn("export() needs the MHR assets", str(cm.exception))
            self.assertIn("pass assets='DIR'", str(cm.exception))
            self.assertIn("is no run folder that records them", str(cm.exception))
            self.assertFalse(os.path.exists(tmp_path("never_rec.glb")))
        finally:
            if env is not None:
                os.environ["MHRFIT_ASSETS"] = env

    def test_errors(self):
        run = run_dir()
        out = tmp_path("never.glb")
        for opts, exc, text in (({"colour": "red"}, TypeError, "unexpected option 'colour'"),
                                ({"lod": "6"}, TypeError, "option 'lod' must be an int"),
                                ({"keep_bad": 1}, TypeError, "option 'keep_bad' must be a bool"),
                                ({"format": "fbx"}, ValueError, "option 'format' must be one of"),
                                ({"frames": "5:2"}, ValueError, "'5:2' is empty"),
                                ({"frames": "a-b"}, ValueError, "expected 'A:B'"),
                                ({"up": "w"}, ValueError, "option 'up'"),
                                ({"up": "z", "format": "ply"}, ValueError, "option 'up' means nothing to ply"),
                                ({"max_influences": 6}, ValueError, "4 or 8"),
                                ({"fps": -1.0}, ValueError, "rate > 0"),
                                ({"keep_bad": True, "skip_bad": True}, ValueError, "opposites"),
                                ({"assets": ASSETS, "rig": "r.npz"}, TypeError, "assets or rig")):
            with self.assertRaises(exc, msg=str(opts)) as cm:
                mhrfit.export(run, out, **{"assets": ASSETS, **opts} if "rig" not in opts else opts)
            self.assertIn(text, str(cm.exception))
        with self.assertRaises(ValueError):
            mhrfit.export(run, tmp_path("never.fbx"), assets=ASSETS)  # no format from the extension
        with self.assertRaises(mhrfit.Error) as cm:
            mhrfit.export(tmp_path("no_such_run"), out, assets=ASSETS)
        self.assertIn("no_such_run", str(cm.exception))
        with self.assertRaises(mhrfit.Error) as cm:  # a range past the end: nothing to export
            mhrfit.export(run, out, assets=ASSETS, frames="100:")
        self.assertEqual(cm.exception.kind, "argument")
        with self.assertRaises(TypeError):
            mhrfit.export(42, out, assets=ASSETS)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
