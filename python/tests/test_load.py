"""mhrfit.load: the library's safe readers of NumPy and pickle files."""

import os
import pickle
import unittest

import numpy as np

import mhrfit
from helpers import SAM3D, same_bits, tmp_path


class Evil:
    """Unpickling this would run os.system: the safe reader must refuse it without running it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class LoadTest(unittest.TestCase):
    def test_npz_equals_numpy(self):
        for i in range(3):
            path = os.path.join(SAM3D, f"img_subj0{i}.npz")
            got = mhrfit.load(path)
            with np.load(path) as want:
                self.assertEqual(sorted(got), sorted(want.files))
                for k in want.files:
                    same_bits(self, got[k], want[k], f"{os.path.basename(path)} {k}")

    def test_values_keep_their_shapes(self):
        """Arrays handed to the library (e.g. a SAM 3D Body output as a dict) keep their shapes, 0-d
        arrays and NumPy scalars included, their byte order and memory layout normalised."""
        from mhrfit._values import from_python, to_python
        given = {"scalar": np.float32(1.5), "zero_d": np.array(7, dtype=">i4"), "text": np.array("ab"),
                 "empty": np.zeros((0, 3)), "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                 "big_endian": np.arange(4, dtype=">f8")}
        owned = from_python(given)  # kept alive while it is read back
        back = to_python(owned.ptr)
        for k, v in given.items():
            want = np.asarray(v)
            self.assertEqual(back[k].shape, want.shape, k)
            self.assertEqual(back[k].dtype.newbyteorder("="), want.dtype.newbyteorder("="), k)
            self.assertTrue(np.array_equal(back[k], want), k)

    def test_npy_byte_orders_and_strings(self):
        a = np.arange(12, dtype=">f4").reshape(3, 4)
        np.save(tmp_path("be.npy"), np.asfortranarray(a))
        got = mhrfit.load(tmp_path("be.npy"))
        self.assertTrue(got.flags.c_contiguous)
        self.assertEqual(got.dtype, np.dtype("=f4"))
        self.assertTrue(np.array_equal(got, a))
        s = np.array(["cam_0", "κάμερα"])
        np.save(tmp_path("s.npy"), s)
        same_bits(self, mhrfit.load(tmp_path("s.npy")), s, "unicode strings")
        h = np.array([1.5, -2.25], dtype=np.float16)
        np.save(tmp_path("h.npy"), h)
        same_bits(self, mhrfit.load(tmp_path("h.npy")), h, "float16")

    def test_pickled_outputs(self):
        person = {"bbox": np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32), "focal_length": 1200.5,
                  "pred_keypoints_2d": np.zeros((70, 2), dtype=np.float32), "name": "subject", "n": 3,
                  "flag": True, "none": None, "raw": b"\x00\x01"}
        np.save(tmp_path("persons.npy"), [person, dict(person, n=4)], allow_pickle=True)
        got = mhrfit.load(tmp_path("persons.npy"))
        self.assertIsInstance(got, list)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[1]["n"], 4)
        for k in ("focal_length", "name", "flag", "none", "raw"):
            self.assertEqual(got[0][k], person[k])
        same_bits(self, got[0]["bbox"], person["bbox"], "bbox")
        with open(tmp_path("raw.pkl"), "wb") as f:
            pickle.dump({"mhr_model_params": np.ones(204), "tuple": (1, 2.5)}, f, protocol=4)
        raw = mhrfit.load(tmp_path("raw.pkl"))
        self.assertEqual(raw["tuple"], [1, 2.5])
        same_bits(self, raw["mhr_model_params"], np.ones(204), "raw pickle array")

    def test_evil_pickle_is_refused_and_not_run(self):
        marker = tmp_path("pwned")
        np.save(tmp_path("evil.npy"), np.array([Evil(marker)], dtype=object), allow_pickle=True)
        with open(tmp_path("evil.pkl"), "wb") as f:
            pickle.dump({"x": Evil(marker)}, f, protocol=2)
        for name in ("evil.npy", "evil.pkl"):
            with self.assertRaises(mhrfit.Error) as e:
                mhrfit.load(tmp_path(name))
            self.assertIn("system", str(e.exception))                 # the refused global is named
            self.assertEqual(e.exception.kind, "unsupported")
            self.assertFalse(os.path.exists(marker))

    def test_bad_files(self):
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.load(tmp_path("missing.npz"))
        self.assertEqual(e.exception.kind, "io")
        self.assertIn("missing.npz", str(e.exception))
        with open(tmp_path("junk.npy"), "wb") as f:
            f.write(b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'")
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.load(tmp_path("junk.npy"))
        self.assertIn("junk.npy", str(e.exception))
        with open(tmp_path("text.npz"), "w") as f:
            f.write("hello")
        with self.assertRaises(mhrfit.Error):
            mhrfit.load(tmp_path("text.npz"))


if __name__ == "__main__":
    unittest.main()
