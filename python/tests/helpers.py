"""Shared set-up of the Python tests: paths from the environment CTest sets, the command line, a demo
capture made once per test process, and bit-for-bit comparison."""

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


BIN = os.environ.get("MHRFIT_BIN", os.path.join(ROOT, "build", "mhrfit"))
ASSETS = os.environ.get("MHRFIT_ASSETS", os.path.join(ROOT, "..", "shared", "mhr"))
TESTDATA = os.environ.get("MHRFIT_TESTDATA", os.path.join(ROOT, "..", "shared", "testdata"))
SAM3D = os.path.join(TESTDATA, "mhr_sam3d_body_outputs")
POSE2SIM = os.path.join(TESTDATA, "pose2sim_a948c20")
TRIAL = os.path.join(POSE2SIM, "S00_P00_SingleParticipant", "S00_P00_T01_BalancingTrial")
P2S_CALIB = os.path.join(POSE2SIM, "S00_Calibration", "Calib_qualisys.toml")
DEMO_CAMS = ["cam_0", "cam_1", "cam_2", "cam_3"]

_tmp = tempfile.mkdtemp(prefix="mhrfit_pytest_")
atexit.register(shutil.rmtree, _tmp, True)


def tmp_path(*parts: str) -> str:
    return os.path.join(_tmp, *parts)


def plain_env() -> dict:
    """The environment for programs other than Python (the command line, the compiler, nm, cmake):
    without the sanitizer runtime preloaded for the interpreter in a sanitizer build."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def cli(*args: str) -> str:
    """Runs the command line; returns its stdout; fails the test with its stderr on a non-zero exit."""
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=plain_env())
    if p.returncode != 0:
        raise AssertionError(f"mhrfit {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p.stdout


_demo = None


def demo() -> str:
    """A 6-frame demo capture (mhrfit demo, seed 3), made once."""
    global _demo
    if _demo is None:
        _demo = tmp_path("demo")
        cli("demo", "--assets", ASSETS, "--out", _demo, "--num_frames", "6", "--seed", "3")
    return _demo


def same_bits(test: unittest.TestCase, got, want, what: str) -> None:
    """Asserts equal dtype, shape and bytes (NaN payloads included)."""
    got, want = np.asarray(got), np.asarray(want)
    test.assertEqual(got.dtype, want.dtype, f"{what}: dtype")
    test.assertEqual(got.shape, want.shape, f"{what}: shape")
    if got.tobytes() != want.tobytes():
        diff = np.argwhere(got != want)
        raise AssertionError(f"{what}: values differ at {len(diff)} places, first {diff[:3].tolist()}")


def openpose_keypoints(trial_dir: str, cam_dirs, n_kp: int = 25) -> np.ndarray:
    """(V, F, K, 3) x, y, likelihood of person 0 of OpenPose JSON folders, read with the json module
    (NaN for a missing person or keypoint), frame f = the f-th file in name order."""
    per_cam = []
    for d in cam_dirs:
        folder = os.path.join(trial_dir, d)
        files = sorted(f for f in os.listdir(folder) if f.endswith(".json"))
        frames = []
        for name in files:
            with open(os.path.join(folder, name)) as f:
                doc = json.load(f)
            xyc = np.full((n_kp, 3), np.nan)
            people = doc.get("people", [])
            if people and people[0].get("pose_keypoints_2d"):
                vals = np.asarray(people[0]["pose_keypoints_2d"], dtype=np.float64)
                k = min(n_kp, len(vals) // 3)
                xyc[:k] = vals[:3 * k].reshape(k, 3)
            frames.append(xyc)
        per_cam.append(frames)
    n = min(len(f) for f in per_cam)
    return np.stack([np.stack(f[:n]) for f in per_cam])


def stage1_keypoints(frame_dir: str, cams, person: int = 0) -> np.ndarray:
    """(V, 70, 2) pred_keypoints_2d of person ``person`` of each camera's demo file (NaN when the
    camera has no file)."""
    import mhrfit
    out = []
    for c in cams:
        path = os.path.join(frame_dir, c + ".npz")
        if not os.path.exists(path):  # a missing view: nothing observed
            out.append(np.full((70, 2), np.nan))
            continue
        a = mhrfit.load(path)["pred_keypoints_2d"]
        out.append(a[min(person, a.shape[0] - 1)] if a.ndim == 3 else a)
    return np.stack(out)
