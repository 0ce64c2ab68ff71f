"""mhrfit.Rig against `mhrfit rig fk` / `rig info` on the SAM 3D Body samples of the test data."""

import os
import unittest

import numpy as np

import mhrfit
from helpers import ASSETS, SAM3D, cli, same_bits, tmp_path

SAMPLES = [os.path.join(SAM3D, f"img_subj0{i}.npz") for i in range(3)]
KEYS = ["pred_joint_coords", "pred_global_rots", "pred_keypoints_3d", "pred_vertices", "mhr_model_params"]


def cli_fk(params, markers=None, rig_args=("--assets", ASSETS)):
    out = tmp_path(f"fk_{os.path.basename(params)}_{os.path.basename(markers or 'builtin')}_{rig_args[0]}.npz")
    if not os.path.exists(out):
        cli("rig", "fk", *rig_args, "--params", params, "--out", out, *(("--markers", markers) if markers else ()))
    return mhrfit.load(out)


class RigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rig = mhrfit.Rig(ASSETS)

    def test_fk_of_the_sam3d_samples_bit_for_bit(self):
        for path in SAMPLES:
            ref = cli_fk(path)
            got = self.rig.fk(mhrfit.load(path))
            self.assertEqual(sorted(got), sorted(KEYS))
            for k in KEYS:
                self.assertEqual(got[k].dtype, np.float64)
                same_bits(self, got[k].astype(np.float32), ref[k], f"{os.path.basename(path)} {k}")

    def test_markers_from_another_output(self):
        ref = cli_fk(SAMPLES[0], markers=SAMPLES[1])
        got = self.rig.fk(mhrfit.load(SAMPLES[0]), markers=mhrfit.load(SAMPLES[1]))
        for k in KEYS:
            same_bits(self, got[k].astype(np.float32), ref[k], f"--markers {k}")
        by_path = self.rig.fk(SAMPLES[0], markers=SAMPLES[1])  # file paths are read by the library
        same_bits(self, by_path["pred_keypoints_3d"], got["pred_keypoints_3d"], "markers from a path")

    def test_arrays_batches_and_skin(self):
        outs = [mhrfit.load(p) for p in SAMPLES]
        m = np.stack([o["mhr_model_params"] for o in outs])           # (3, 204) float32
        shape = np.stack([o["shape_params"] for o in outs])
        batch = self.rig.fk(m, shape_params=shape)
        for i, o in enumerate(outs):
            one = self.rig.fk(o)
            for k in KEYS:
                same_bits(self, batch[k][i], one[k], f"batch row {i} {k}")
        same_bits(self, self.rig.skin(m, shape), batch["pred_vertices"], "skin")
        no_mesh = self.rig.fk(m[0], mesh=False)
        self.assertNotIn("pred_vertices", no_mesh)
        same_bits(self, no_mesh["pred_joint_coords"], batch["pred_joint_coords"][0], "joints without the mesh")
        fortran = np.asfortranarray(m.astype(np.float64))
        same_bits(self, self.rig.fk(fortran, shape)["pred_keypoints_3d"], batch["pred_keypoints_3d"], "any order")

    def test_sam3d_conventions(self):
        """Joints in SAM 3D Body axes are the native ones (cm, Y up) with y, z negated / 100, and the
        output's own joints are reproduced closely (the samples come from MHR)."""
        o = mhrfit.load(SAMPLES[2])
        got = self.rig.fk(o)
        self.assertLess(np.max(np.abs(got["pred_joint_coords"] - o["pred_joint_coords"])), 1e-3)
        R = got["pred_global_rots"]
        self.assertLess(np.max(np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3))), 1e-9)

    def test_names_faces_and_rig_file(self):
        rig = self.rig
        self.assertEqual((rig.n_joints, len(rig.joint_names), len(rig.param_names)), (127, 127, 204))
        info = cli("rig", "info", "--assets", ASSETS, "--joints", "--params")
        for j in (0, 1, 64, 126):
            self.assertIn(f" {rig.joint_names[j]} ", info)
        for i in (0, 100, 203):
            self.assertIn(f" {rig.param_names[i]} ", info)
        self.assertEqual(rig.parents[0], -1)
        self.assertTrue(np.all(rig.parents[1:] < np.arange(1, 127)))
        self.assertEqual(rig.faces.shape[1], 3)
        self.assertEqual(rig.faces.dtype, np.int32)
        self.assertTrue(0 <= rig.faces.min() and rig.faces.max() < rig.n_vertices)
        path = tmp_path("rig.npz")
        cli("rig", "import", "--assets", ASSETS, "--out", path, "--quiet")
        from_file = mhrfit.Rig(rig=path)
        self.assertEqual(from_file.joint_names, rig.joint_names)
        same_bits(self, from_file.faces, rig.faces, "faces")
        o = mhrfit.load(SAMPLES[1])
        a, b = from_file.fk(o), rig.fk(o)
        for k in KEYS:
            same_bits(self, a[k], b[k], f"rig file {k}")

    def test_errors(self):
        o = mhrfit.load(SAMPLES[0])
        m = o["mhr_model_params"].astype(np.float64)
        bad = m.copy()
        bad[17] = np.nan
        with self.assertRaises(mhrfit.Error) as e:
            self.rig.fk(bad)
        self.assertEqual(e.exception.kind, "numeric")
        self.assertIn("17", str(e.exception))
        with self.assertRaises(mhrfit.Error):
            self.rig.fk(m, shape_params=np.full(45, np.inf))
        with self.assertRaises(ValueError):
            self.rig.fk(m[:200])
        with self.assertRaises(ValueError):
            self.rig.fk(m.reshape(1, 1, 204))
        with self.assertRaises(TypeError):
            self.rig.fk(m.astype(complex))
        with self.assertRaises(TypeError):
            self.rig.fk(m, mesh="yes")
        with self.assertRaises(mhrfit.Error) as e:
            self.rig.fk({"pred_keypoints_3d": np.zeros((70, 3))})
        self.assertIn("mhr_model_params", str(e.exception))
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.Rig(assets=tmp_path("no_such_assets"))
        self.assertIn("no_such_assets", str(e.exception))
        with self.assertRaises(TypeError):
            mhrfit.Rig(assets=ASSETS, rig=ASSETS)
        with self.assertRaises(TypeError):
            mhrfit.Rig(ASSETS, lod="6")


if __name__ == "__main__":
    unittest.main()
