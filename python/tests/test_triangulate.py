"""mhrfit.load_calibration and mhrfit.triangulate against `mhrfit triangulate`'s archives."""

import os
import unittest

import numpy as np

import mhrfit
from helpers import (DEMO_CAMS, P2S_CALIB, TRIAL, cli, demo, openpose_keypoints, same_bits, stage1_keypoints,
                     tmp_path)

P2S_CAMS = ["cam_01", "cam_02", "cam_03", "cam_04"]
P2S_DIRS = ["cam01_json", "cam02_json", "cam03_json", "cam04_json"]


def check_archive(test, res, ar, frame_axis=True):
    """Every array of a TriangulationResult against the CLI's archive (float32 there) bit for bit."""
    same_bits(test, res.points3d.astype(np.float32), ar["points3d_refined"], "points3d")
    same_bits(test, res.points3d_init.astype(np.float32), ar["points3d_init"], "points3d_init")
    same_bits(test, res.inlier_mask, ar["inlier_mask"], "inlier_mask")
    same_bits(test, res.reproj_err_px.astype(np.float32), ar["reproj_err_px"], "reproj_err_px")
    same_bits(test, res.n_views_used, ar["n_views_used"], "n_views_used")
    same_bits(test, res.reason, ar["reason"], "reason")
    same_bits(test, res.mean_reproj_err_px, ar["mean_reproj_err_px"], "mean_reproj_err_px")
    test.assertEqual(res.cams, list(ar["cams"]))
    test.assertEqual(res.method, str(ar["method"]))
    test.assertEqual(res.threshold_px, float(ar["threshold_px"]))
    test.assertEqual(res.points3d.dtype, np.float64)


class CalibrationTest(unittest.TestCase):
    def test_fields(self):
        c = mhrfit.load_calibration(P2S_CALIB)
        self.assertEqual(c.names, P2S_CAMS)
        self.assertEqual(c.K.shape, (4, 3, 3))
        self.assertEqual(c.dist.shape, (4, 8))
        self.assertEqual(c.size.tolist(), [[1088, 1920]] * 4)
        # values from the file (DATA.md §1.4), camera 1
        self.assertEqual(c.K[0, 0, 0], 1681.244873046875)
        self.assertEqual(c.dist[0, :4].tolist(), [-0.000721609375, 0.002187234375, 9.5e-06, 1.078125e-05])
        self.assertEqual(c.t[0].tolist(), [0.3211048899999996, 0.9563320600000009, 2.8907130499999996])
        self.assertTrue(np.allclose(c.R[0] @ c.R[0].T, np.eye(3), atol=1e-12))

    def test_select_and_errors(self):
        c = mhrfit.load_calibration(P2S_CALIB, cams=["cam_03", "cam_01"])
        self.assertEqual(c.names, ["cam_03", "cam_01"])
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.load_calibration(P2S_CALIB, cams=["cam_1"])
        self.assertIn("cam_1", str(e.exception))
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.load_calibration(tmp_path("no_such_calibration.toml"))
        self.assertIn("no_such_calibration.toml", str(e.exception))
        self.assertEqual(e.exception.kind, "io")
        with self.assertRaises(ValueError):
            mhrfit.load_calibration(P2S_CALIB, translation_unit="inch")
        with self.assertRaises(TypeError):
            mhrfit.load_calibration(P2S_CALIB, invert_extrinsics="yes")

    def test_units(self):
        m = mhrfit.load_calibration(P2S_CALIB)
        mm = mhrfit.load_calibration(P2S_CALIB, translation_unit="mm")
        self.assertTrue(np.allclose(mm.t * 1000, m.t, rtol=1e-15, atol=0))

    def test_project_matches_the_model(self):
        """project() against the OpenCV model written out in NumPy (camera.h)."""
        c = mhrfit.load_calibration(P2S_CALIB)
        rng = np.random.default_rng(1)
        X = rng.uniform([-0.5, -0.5, 0.2], [0.5, 0.5, 1.8], (50, 3))
        for v in range(4):
            Xc = X @ c.R[v].T + c.t[v]
            x, y = Xc[:, 0] / Xc[:, 2], Xc[:, 1] / Xc[:, 2]
            k1, k2, p1, p2, k3, k4, k5, k6 = c.dist[v]
            r2 = x * x + y * y
            g = (1 + k1 * r2 + k2 * r2**2 + k3 * r2**3) / (1 + k4 * r2 + k5 * r2**2 + k6 * r2**3)
            xd = x * g + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            yd = y * g + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            K = c.K[v]
            want = np.stack([K[0, 0] * xd + K[0, 1] * yd + K[0, 2], K[1, 1] * yd + K[1, 2]], axis=1)
            got = c.project(X, c.names[v])
            self.assertEqual(got.shape, (50, 2))
            self.assertLess(np.max(np.abs(got - want)), 1e-9)
        # behind the camera or not finite: NaN; any float dtype, any order, any leading shape
        self.assertTrue(np.isnan(c.project([np.nan, 0, 1], 0)).all())
        behind = c.project(-(c.R[0].T @ c.t[0]) - 5 * c.R[0][2], 0)
        self.assertTrue(np.isnan(behind).all())
        X3 = np.asfortranarray(X.astype(np.float32).reshape(5, 10, 3))
        same_bits(self, c.project(X3, 1), c.project(X.astype(np.float32).astype(np.float64), 1).reshape(5, 10, 2),
                  "float32 Fortran-order input")
        with self.assertRaises(ValueError):
            c.project(np.zeros((4, 2)), 0)
        with self.assertRaises(TypeError):
            c.project(np.zeros((4, 3), dtype=complex), 0)
        with self.assertRaises(KeyError):
            c.project(X, "cam_9")


class TriangulateTest(unittest.TestCase):
    def test_demo_frame_bit_for_bit(self):
        """One stage-1 frame of the demo capture (70 keypoints, 4 views, default method)."""
        d = demo()
        out = tmp_path("tri_demo_1.npz")
        cli("triangulate", "--calib", f"{d}/calibration.toml", "--cams", *DEMO_CAMS, "--input", f"{d}/000001",
            "--out", out, "--quiet")
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        res = mhrfit.triangulate(calib, stage1_keypoints(f"{d}/000001", DEMO_CAMS))
        ar = mhrfit.load(out)
        check_archive(self, res, ar)
        self.assertEqual(res.points3d.shape, (70, 3))
        self.assertGreaterEqual(int(np.sum(res.reason == 0)), 60)

    def test_demo_frames_as_arrays_with_options(self):
        """Several frames as (V, F, K, 2) against the CLI's arrays input, with options and a camera
        order other than the file's."""
        d = demo()
        cams = ["cam_2", "cam_0", "cam_3", "cam_1"]
        frames = sorted(f for f in os.listdir(d) if f.isdigit())
        kp = np.stack([stage1_keypoints(f"{d}/{f}", cams) for f in frames], axis=1)  # (V, F, 70, 2)
        folder = tmp_path("demo_arrays")
        os.makedirs(folder, exist_ok=True)
        for v, c in enumerate(cams):
            np.save(os.path.join(folder, c + ".npy"), kp[v])
        out = tmp_path("tri_demo_arrays.npz")
        cli("triangulate", "--calib", f"{d}/calibration.toml", "--cams", *cams, "--input", folder,
            "--input_format", "arrays", "--inlier-thresh", "12", "--score_type", "huber", "--robust_lm",
            "--out", out, "--quiet")
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        res = mhrfit.triangulate(calib, kp, cams=cams, inlier_thresh=12, score_type="huber", robust_lm=True)
        self.assertEqual(res.points3d.shape, (len(frames), 70, 3))
        check_archive(self, res, mhrfit.load(out))
        # a float32, Fortran-ordered copy gives what its float64 values give
        f32 = np.asfortranarray(kp.astype(np.float32))
        a = mhrfit.triangulate(calib, f32, cams=cams)
        b = mhrfit.triangulate(calib, f32.astype(np.float64), cams=cams)
        same_bits(self, a.points3d, b.points3d, "float32 input")

    def test_pose2sim_trial_bit_for_bit(self):
        """Pose2Sim's balancing trial (OpenPose JSON, 25 keypoints, 100 frames), both methods."""
        kp = openpose_keypoints(os.path.join(TRIAL, "pose-associated"), P2S_DIRS)
        self.assertEqual(kp.shape, (4, 100, 25, 3))
        calib = mhrfit.load_calibration(P2S_CALIB)
        for method, extra in (("pose2sim", []), ("default", [])):
            out = tmp_path(f"tri_p2s_{method}.npz")
            cli("triangulate", "--calib", P2S_CALIB, "--cams", *P2S_CAMS, "--cam-dirs", *P2S_DIRS,
                "--input", os.path.join(TRIAL, "pose-associated"), "--layout", "body25b", "--method", method,
                "--out", out, "--quiet", *extra)
            res = mhrfit.triangulate(calib, kp, method=method)
            check_archive(self, res, mhrfit.load(out))
        self.assertEqual(int(np.sum(res.reason == 0)), int(np.sum(mhrfit.load(out)["reason"] == 0)))

    def test_nan_and_missing(self):
        """NaN observations are missing views: the point gets a reason code, never a number."""
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        kp = stage1_keypoints(f"{d}/000001", DEMO_CAMS).copy()
        k = int(np.flatnonzero(mhrfit.triangulate(calib, kp).n_views_used == 4)[-1])  # seen by all 4
        kp[:, 0] = np.nan          # keypoint 0 seen nowhere
        kp[1:, 1] = np.nan         # keypoint 1 seen by one camera
        kp[0, k] = np.inf          # an infinite observation is missing too
        res = mhrfit.triangulate(calib, kp)
        self.assertEqual(mhrfit.REASONS[res.reason[0]], "no_views")
        self.assertEqual(mhrfit.REASONS[res.reason[1]], "one_view")
        self.assertTrue(np.isnan(res.points3d[:2]).all())
        self.assertFalse(res.inlier_mask[:2].any())
        self.assertEqual(res.inlier_mask[k].tolist(), [False, True, True, True])
        self.assertTrue(np.isfinite(res.points3d[k]).all())

    def test_any_k(self):
        """Any number of keypoints: a subset gives the same points as within the full frame."""
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        kp = stage1_keypoints(f"{d}/000001", DEMO_CAMS)
        full = mhrfit.triangulate(calib, kp)
        for idx in ([5], [3, 9, 41, 62, 69], list(range(13))):
            sub = mhrfit.triangulate(calib, kp[:, idx])
            same_bits(self, sub.points3d, full.points3d[idx], f"subset {idx}")

    def test_errors(self):
        d = demo()
        calib = mhrfit.load_calibration(f"{d}/calibration.toml")
        kp = stage1_keypoints(f"{d}/000001", DEMO_CAMS)
        with self.assertRaises(TypeError) as e:
            mhrfit.triangulate(calib, kp, inlier_threshold=10)
        self.assertIn("inlier_threshold", str(e.exception))
        with self.assertRaises(TypeError) as e:
            mhrfit.triangulate(calib, kp, inlier_thresh="10")
        self.assertIn("inlier_thresh", str(e.exception))
        with self.assertRaises(TypeError) as e:
            mhrfit.triangulate(calib, kp, robust_lm=1)
        self.assertIn("robust_lm", str(e.exception))
        with self.assertRaises(ValueError) as e:
            mhrfit.triangulate(calib, kp, score_type="mean")
        self.assertIn("score_type", str(e.exception))
        with self.assertRaises(ValueError):
            mhrfit.triangulate(calib, kp, method="magic")
        with self.assertRaises(ValueError) as e:
            mhrfit.triangulate(calib, kp[:3])                        # 3 views for 4 cameras
        self.assertIn("first axis", str(e.exception))
        with self.assertRaises(ValueError):
            mhrfit.triangulate(calib, kp[..., :1])                   # (V, K, 1)
        with self.assertRaises(ValueError):
            mhrfit.triangulate(calib, kp[0])                         # 2-D
        with self.assertRaises(TypeError):
            mhrfit.triangulate(calib, kp.astype(complex))
        with self.assertRaises(TypeError):
            mhrfit.triangulate(calib, kp > 0)
        with self.assertRaises(TypeError):
            mhrfit.triangulate("calibration.toml", kp)
        with self.assertRaises(KeyError):
            mhrfit.triangulate(calib, kp, cams=["cam_0", "cam_1", "cam_2", "cam_7"])
        with self.assertRaises(mhrfit.Error) as e:                   # rejected by the library, named
            mhrfit.triangulate(calib, kp, inlier_thresh=-1)
        self.assertEqual(e.exception.kind, "argument")


if __name__ == "__main__":
    unittest.main()
