"""mhrfit.run over the library's pipeline: a 30-frame demo run gives the command line's files bit for bit;
Ctrl-C (a real SIGINT) stops it cleanly at a frame boundary and a second run resumes to the same files;
progress and log callbacks; options by the command line's names (a wrong name or type is a TypeError, a
value out of range a ValueError, before anything is written); a detector's keypoints (Pose2Sim's trial)."""

import json
import os
import signal
import unittest

import mhrfit
from helpers import ASSETS, P2S_CALIB, TRIAL, cli, tmp_path

CAMS = ["cam_0", "cam_1", "cam_2", "cam_3"]
# non-default settings of every stage, given to both the command line and run()
CLI_ARGS = ["--inlier_thresh", "25", "--w_temporal", "0.004", "--bad_frame_retries", "2", "--cutoff_hz", "5",
            "--translation_unit", "m", "--person_select_strategy", "largest_bbox"]
PY_OPTS = dict(inlier_thresh=25, w_temporal=0.004, bad_frame_retries=2, cutoff_hz=5.0, translation_unit="m",
               person_select_strategy="largest_bbox")

_capture = None


def capture() -> str:
    """A 30-frame demo capture and the command line's run of it (made once)."""
    global _capture
    if _capture is None:
        _capture = tmp_path("run30")
        cli("demo", "--assets", ASSETS, "--out", _capture, "--frames", "30", "--seed", "3", "--quiet")
        cli("run", "--input", _capture, "--calib", os.path.join(_capture, "calibration.toml"), "--cams", *CAMS,
            "--out", tmp_path("run30_cli"), "--assets", ASSETS, "--quiet", *CLI_ARGS)
    return _capture


def run_files(out: str):
    """Every file of a run folder (relative paths) but the summary, the journal and the lock."""
    found = []
    for root, _dirs, files in os.walk(out):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), out)
            if rel not in ("sequence_summary.json", "run_state.txt", ".mhrfit.lock", "stage1_meta.json"):
                found.append(rel)
    return sorted(found)


def summary(out: str):
    """The run's summary without what differs between equal runs (timings, reuse, the output folder)."""
    with open(os.path.join(out, "sequence_summary.json")) as f:
        s = json.load(f)
    s.pop("timing"), s.pop("output_root")
    for fr in s["frames"]:
        for k in ("reused", "time_triangulate_s", "time_fit_s"):
            fr.pop(k)
    return s


class RunTest(unittest.TestCase):
    def assert_same_run(self, out: str, ref: str):
        files = run_files(ref)
        self.assertEqual(run_files(out), files)
        self.assertGreater(len(files), 90)  # 30 fits, 30 triangulations, stage-1 files, sequences, settings
        differ = []
        for rel in files:
            with open(os.path.join(out, rel), "rb") as a, open(os.path.join(ref, rel), "rb") as b:
                if a.read() != b.read():
                    differ.append(rel)
        self.assertEqual(differ, [], "files that differ from the command line's")
        self.assertEqual(summary(out), summary(ref))

    def run30(self, out: str, **kw):
        cap = capture()
        return mhrfit.run(cap, os.path.join(cap, "calibration.toml"), CAMS, out, assets=ASSETS, **PY_OPTS, **kw)

    def test_same_files_as_the_command_line(self):
        calls, lines = [], []
        out = tmp_path("run30_py")
        r = self.run30(out, progress=calls.append, log=lambda level, msg: lines.append((level, msg)))
        self.assert_same_run(out, tmp_path("run30_cli"))
        self.assertIsInstance(r, mhrfit.RunResult)
        self.assertEqual((r.n_frames, r.frames_reused, r.cameras), (30, 0, CAMS))
        self.assertEqual(sum(r.status_counts.values()), 30)
        self.assertEqual(r.n_fitted, sum(1 for f in r.frames if f.fit_status == "ok"))
        self.assertEqual([f.name for f in r.frames], [f"{i:06d}" for i in range(30)])
        self.assertTrue(r.smoothed and os.path.isfile(r.sequence_smoothed) and r.report is None)
        self.assertEqual(r.ingest["frames_total"], 30)
        self.assertGreater(r.times["total"], 0)
        # progress: 30 frames of stage 1, then 30 of the frames stage, in order
        self.assertEqual([(p.stage, p.done) for p in calls],
                         [("ingest", i) for i in range(1, 31)] + [("frames", i) for i in range(1, 31)])
        self.assertEqual(calls[-1].frame, "000029")
        self.assertIn(("info", "stage 1: 30 frames ingested, 0 reused, 0 with failed views"),
                      [(lv, m[:len("stage 1: 30 frames ingested, 0 reused, 0 with failed views")]) for lv, m in lines])
        # a second run reuses every frame
        r2 = self.run30(out)
        self.assertEqual(r2.frames_reused, 30)
        self.assertTrue(all(f.reused for f in r2.frames))

    def test_ctrl_c_stops_cleanly_and_resumes(self):
        out = tmp_path("run30_interrupted")

        def interrupt_at_10(p):  # a real SIGINT, as Ctrl-C sends it, once 10 frames are fitted
            if p.stage == "frames" and p.done == 10:
                os.kill(os.getpid(), signal.SIGINT)

        with self.assertRaises(KeyboardInterrupt):
            self.run30(out, progress=interrupt_at_10)
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)  # restored
        with open(os.path.join(out, "run_state.txt")) as f:
            journalled = len(f.read().splitlines()) - 1
        self.assertGreaterEqual(journalled, 10)
        self.assertLess(journalled, 30)
        self.assertFalse(os.path.exists(os.path.join(out, "sequence_fit.npz")))
        self.assertEqual(len(os.listdir(os.path.join(out, "fit"))), journalled)
        r = self.run30(out)  # the lock was let go; the run resumes
        self.assertEqual(r.frames_reused, journalled)
        self.assert_same_run(out, tmp_path("run30_cli"))

    def test_a_callback_that_raises_stops_the_run(self):
        out = tmp_path("run30_raise")

        def fail_at_5(p):
            if p.stage == "frames" and p.done == 5:
                raise RuntimeError("enough")

        with self.assertRaisesRegex(RuntimeError, "enough"):
            self.run30(out, progress=fail_at_5)
        self.assertFalse(os.path.exists(os.path.join(out, "sequence_fit.npz")))
        self.assertEqual(self.run30(out).frames_reused, 5)

    def test_options_checked_before_anything_is_written(self):
        cap = capture()
        calib = os.path.join(cap, "calibration.toml")
        out = tmp_path("run_never")
        for kw, exc, text in [
                (dict(inlier_tresh=25), TypeError, "unexpected option 'inlier_tresh'"),
                (dict(inlier_thresh="25"), TypeError, "'inlier_thresh' must be a number"),
                (dict(freeze_lower_body=1), TypeError, "'freeze_lower_body' must be a bool"),
                (dict(frames="000001"), TypeError, "'frames' must be a list of str"),
                (dict(smooth_method="kalman"), ValueError, "'smooth_method' must be one of"),
                (dict(min_views=1), ValueError, "--min_views must be in 2..64"),
                (dict(workers=-1), ValueError, "'workers' must be >= 0"),
                (dict(estimator="cp {image} {output}", estimator_worker="w"), ValueError, "exclude each other"),
                (dict(layout="body25b"), ValueError, "need --input_format"),
                (dict(cutoff_hz=20.0), ValueError, "cutoff_hz")]:
            with self.subTest(kw=kw):
                with self.assertRaisesRegex(exc, text):
                    mhrfit.run(cap, calib, CAMS, out, assets=ASSETS, **kw)
        with self.assertRaisesRegex(TypeError, "cams must be a list"):
            mhrfit.run(cap, calib, "cam_0", out, assets=ASSETS)
        with self.assertRaisesRegex(TypeError, "needs out"):
            mhrfit.run(cap, calib, CAMS)
        with self.assertRaisesRegex(TypeError, "assets or rig, not both"):
            mhrfit.run(cap, calib, CAMS, out, assets=ASSETS, rig=ASSETS)
        with self.assertRaises(mhrfit.Error) as e:
            mhrfit.run(cap, calib, ["cam_0", "cam_9"], out, assets=ASSETS)
        self.assertIn("cam_9", str(e.exception))
        self.assertFalse(os.path.exists(out))

    def test_detector_keypoints(self):
        out = tmp_path("balancing")
        r = mhrfit.run(os.path.join(TRIAL, "pose-associated"), P2S_CALIB, ["cam_01", "cam_02", "cam_03", "cam_04"], out,
                       assets=ASSETS, input_format="openpose", layout="body25b",
                       cam_dirs=["cam01_json", "cam02_json", "cam03_json", "cam04_json"], fps=60.0, report=True)
        self.assertEqual((r.n_frames, r.n_fitted, r.status_counts), (100, 100, {"ok": 100}))
        self.assertEqual(r.ingest["frames_total"], 0)  # no stage 1
        self.assertTrue(os.path.isfile(r.report))
        seq = mhrfit.load(r.sequence_smoothed)
        self.assertEqual(seq["pred_keypoints_3d"].shape, (100, 25, 3))
        self.assertEqual(seq["opt_points3d_refined"].shape, (100, 25, 3))
        self.assertEqual(list(seq["keypoint_names"][:2]), ["Nose", "LEye"])


if __name__ == "__main__":
    unittest.main()
