"""mhrfit.fit and mhrfit.Fitter against `mhrfit fit`'s archives on the demo capture."""

import os
import shutil
import unittest

import numpy as np

import mhrfit
from helpers import ASSETS, DEMO_CAMS, cli, demo, same_bits, tmp_path


def views_of(frame_dir, cams=DEMO_CAMS):
    """One frame's SAM 3D Body outputs as the library reads them; None for a camera without a file."""
    out = {}
    for c in cams:
        path = os.path.join(frame_dir, c + ".npz")
        out[c] = mhrfit.load(path) if os.path.exists(path) else None
    return out


def check_members(test, got, ref, what):
    # the frame names come from the files `mhrfit fit` reads; arrays given to mhrfit.fit() have none
    test.assertIn("frame_names", ref, f"{what}: mhrfit fit names the frames")
    test.assertEqual(sorted(got), sorted(k for k in ref if k != "frame_names"), f"{what}: members")
    for k in got:
        same_bits(test, got[k], ref[k], f"{what} {k}")


class FitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rig = mhrfit.Rig(ASSETS)
        d = demo()
        cls.tri = tmp_path("fit_tri_3.npz")
        cli("triangulate", "--calib", f"{d}/calibration.toml", "--cams", *DEMO_CAMS, "--input", f"{d}/000003",
            "--out", cls.tri, "--quiet")

    def test_one_frame_bit_for_bit(self):
        d = demo()
        for extra, opts in (([], {}), (["--freeze_lower_body", "--w_temporal", "0.01"],
                                       {"freeze_lower_body": True, "w_temporal": 0.01}),
                            (["--solver", "adam", "--iters", "30"], {"solver": "adam", "iters": 30})):
            out = tmp_path("fit_one.npz")
            cli("fit", "--tri", self.tri, "--views", f"{d}/000003", "--assets", ASSETS, "--out", out, "--quiet", *extra)
            t = mhrfit.load(self.tri)
            res = mhrfit.fit(self.rig, t["points3d_refined"], views_of(f"{d}/000003"), inlier_mask=t["inlier_mask"],
                             mean_reproj_err_px=t["mean_reproj_err_px"], **opts)
            check_members(self, res, mhrfit.load(out), f"fit {extra}")
            self.assertEqual(str(res.opt_status), "ok")
            self.assertEqual(res.pred_vertices.shape, (self.rig.n_vertices, 3))

    def test_batch_and_fitter_bit_for_bit(self):
        """Every demo frame (with missing views) as one batch, like `mhrfit fit` over frame folders,
        and frame by frame with a Fitter."""
        d = demo()
        frames = sorted(f for f in os.listdir(d) if f.isdigit())
        views_dir = tmp_path("batch_views")
        shutil.rmtree(views_dir, ignore_errors=True)
        for f in frames:
            shutil.copytree(f"{d}/{f}", os.path.join(views_dir, f))
        tri = tmp_path("fit_tri_batch.npz")
        # the batch's targets: the demo's ground-truth keypoints with noise, NaN where a view is missing
        truth = mhrfit.load(f"{d}/ground_truth.npz")
        pts = np.asarray(truth["keypoints_3d"], dtype=np.float64)[:len(frames)]
        rng = np.random.default_rng(7)
        pts = (pts + rng.normal(0, 0.004, pts.shape)).astype(np.float32)
        pts[2, 10:20] = np.nan
        mask = np.ones(pts.shape[:2] + (4,), dtype=bool)
        np.savez(tri, points3d_refined=pts, inlier_mask=mask, subset_idx=np.arange(70, dtype=np.int32),
                 cams=np.array(DEMO_CAMS))
        out = tmp_path("fit_batch.npz")
        cli("fit", "--tri", tri, "--views", views_dir, "--assets", ASSETS, "--out", out, "--quiet", "--no_mesh")
        ref = mhrfit.load(out)
        views = [views_of(os.path.join(views_dir, f)) for f in frames]
        res = mhrfit.fit(self.rig, pts, views, no_mesh=True)
        check_members(self, res, ref, "batch")
        self.assertNotIn("pred_vertices", res)
        # frame by frame: the same numbers, each frame without the frame axis
        fitter = mhrfit.Fitter(self.rig, no_mesh=True)
        for f in range(len(frames)):
            one = fitter.fit(pts[f], views[f])
            for k in ("mhr_model_params", "pred_keypoints_3d", "opt_final_loss", "opt_status", "opt_used_temporal_init"):
                same_bits(self, one[k], ref[k][f], f"Fitter frame {f} {k}")
        self.assertTrue(ref["opt_used_temporal_init"][1:].any())
        self.assertIsNotNone(fitter.prior)
        fitter.reset()
        self.assertIsNone(fitter.prior)
        # the initial pose is the prior of frame 0; with max_stale_frames 0 a fitted frame is nobody's
        init = np.asarray(ref["mhr_model_params"][0], dtype=np.float64)
        np.save(tmp_path("init_pose.npy"), init)
        out0 = tmp_path("fit_batch_stale0.npz")
        cli("fit", "--tri", tri, "--views", views_dir, "--assets", ASSETS, "--out", out0, "--quiet", "--no_mesh",
            "--init_pose", tmp_path("init_pose.npy"), "--max_stale_frames", "0")
        ref0 = mhrfit.load(out0)
        res0 = mhrfit.fit(self.rig, pts, views, no_mesh=True, init_pose=init, max_stale_frames=0)
        check_members(self, res0, ref0, "batch, initial pose, max_stale_frames 0")
        used = [int(u) for u in ref0["opt_used_temporal_init"]]
        self.assertEqual(used, [1] + [0] * (len(frames) - 1))
        fitter = mhrfit.Fitter(self.rig, no_mesh=True, max_stale_frames=0)
        self.assertEqual([int(fitter.fit(pts[f], views[f]).opt_used_temporal_init) for f in range(2)], [0, 0])

    def test_triangulation_result_and_sequences(self):
        """A TriangulationResult goes straight in; views may be a list named by its cameras."""
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        from helpers import stage1_keypoints
        tri = mhrfit.triangulate(calib, stage1_keypoints(f"{d}/000003", DEMO_CAMS))
        v = views_of(f"{d}/000003")
        a = mhrfit.fit(self.rig, tri, v)
        b = mhrfit.fit(self.rig, tri, [v[c] for c in DEMO_CAMS])
        c = mhrfit.fit(self.rig, tri.points3d, v, inlier_mask=tri.inlier_mask,
                       mean_reproj_err_px=tri.mean_reproj_err_px)
        for k in a:
            same_bits(self, a[k], b[k], f"list of views {k}")
            same_bits(self, a[k], c[k], f"arrays {k}")
        self.assertLess(float(np.nanmedian(a.opt_residuals_m)), 0.02)
        # a subset of the keypoints with their MHR70 indices
        idx = np.arange(0, 70, 2)
        s = mhrfit.fit(self.rig, tri.points3d[idx], v, keypoint_indices=idx)
        self.assertEqual(s.opt_points3d_refined.shape, (35, 3))
        same_bits(self, s.opt_subset_indices, idx.astype(np.int32), "subset indices")

    def test_failures_and_errors(self):
        d = demo()
        t = mhrfit.load(self.tri)
        v = views_of(f"{d}/000003")
        res = mhrfit.fit(self.rig, np.full((70, 3), np.nan), v)       # nothing to fit: a status, not a crash
        self.assertEqual(str(res.opt_status), "optimization_failed")
        self.assertIn("finite points", str(res.opt_message))
        self.assertTrue(np.isnan(res.mhr_model_params).all())
        res = mhrfit.fit(self.rig, t["points3d_refined"], {c: None for c in DEMO_CAMS})
        self.assertEqual(str(res.opt_status), "optimization_failed")
        pts = t["points3d_refined"]
        with self.assertRaises(TypeError) as e:
            mhrfit.fit(self.rig, pts, v, freeze_lower_bodies=True)
        self.assertIn("fit() got an unexpected option 'freeze_lower_bodies'", str(e.exception))  # the call made
        self.assertNotIn("Fitter", str(e.exception))
        with self.assertRaises(TypeError) as e:
            mhrfit.fit(self.rig, pts, v, freeze_lower_body=1)
        self.assertIn("fit(): option 'freeze_lower_body' must be a bool", str(e.exception))
        with self.assertRaises(ValueError) as e:
            mhrfit.fit(self.rig, pts, v, max_stale_frames=-1)
        self.assertIn("fit(): person_index and max_stale_frames", str(e.exception))
        with self.assertRaises(TypeError) as e:
            mhrfit.Fitter(self.rig, freeze_lower_bodies=True)
        self.assertIn("Fitter() got an unexpected option 'freeze_lower_bodies'", str(e.exception))
        with self.assertRaises(TypeError):
            mhrfit.fit(self.rig, pts, v, iters=2.5)
        with self.assertRaises(ValueError):
            mhrfit.fit(self.rig, pts, v, solver="gauss")
        with self.assertRaises(ValueError):
            mhrfit.fit(self.rig, pts, v, min_valid_points=2)
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.fit(self.rig, pts, v, huber_m=-1.0)
        self.assertIn("huber_m", str(e.exception))
        with self.assertRaises(ValueError):
            mhrfit.fit(self.rig, pts[:, :2], v)
        with self.assertRaises(ValueError):
            mhrfit.fit(self.rig, pts[:60], v)                           # 60 points without their indices
        with self.assertRaises(TypeError):
            mhrfit.fit(self.rig, pts.astype(complex), v)
        with self.assertRaises(TypeError):
            mhrfit.fit("rig", pts, v)
        with self.assertRaises(TypeError):
            mhrfit.fit(self.rig, pts, {"cam_0": object()})
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.fit(self.rig, pts, {"cam_0": {"mhr_model_params": np.zeros(12)}})
        self.assertIn("camera 'cam_0'", str(e.exception))              # the camera and the missing key named
        self.assertIn("pred_keypoints_2d", str(e.exception))
        with self.assertRaises(AttributeError):
            mhrfit.fit(self.rig, pts, v).no_such_member


if __name__ == "__main__":
    unittest.main()
