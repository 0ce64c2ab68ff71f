#!/usr/bin/python3
"""Writes calibration files in each supported dialect, all describing the same two cameras, into
tests/fixtures/calib/ (cv2 needed for the rotation matrices)."""
import json
import os

import cv2
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "calib")
os.makedirs(out, exist_ok=True)
cams = [
    dict(name="left", K=[[1500.0, 0.0, 960.0], [0.0, 1495.0, 540.0], [0.0, 0.0, 1.0]],
         d=[-0.1, 0.01, 0.001, -0.002, 0.0005], r=[0.1, -0.2, 0.3], t=[0.5, -0.2, 3.0], size=[1920, 1080]),
    dict(name="right", K=[[1600.0, 0.0, 950.0], [0.0, 1602.0, 530.0], [0.0, 0.0, 1.0]],
         d=[-0.2, 0.05, 0.0, 0.0, 0.0], r=[-0.4, 1.2, -0.1], t=[-0.7, 0.1, 2.5], size=[1920, 1080]),
]


def fmt(x):
    return "%.17g" % x


def arr(v):
    if isinstance(v[0], list):
        return "[ " + ", ".join(arr(r) for r in v) + ",]"
    return "[ " + ", ".join(fmt(x) for x in v) + ",]"


def mat(r):
    R, _ = cv2.Rodrigues(np.array(r, dtype=np.float64))
    return R.tolist()


# Caliscope project config.toml: first camera with a 3x3 rotation (older files), second Rodrigues.
with open(os.path.join(out, "caliscope_config.toml"), "w") as fh:
    fh.write("CreationDate = 2023-03-31T09:56:43.193358\n\n[charuco]\ncolumns = 4\nrows = 5\nunits = \"inch\"\n\n")
    for i, c in enumerate(cams):
        rot = arr(mat(c["r"])) if i == 0 else arr(c["r"])
        fh.write(f"[cam_{i}]\nport = {i}\nsize = {arr(c['size'])}\nrotation_count = 0\nerror = 0.3\n"
                 f"matrix = {arr(c['K'])}\ndistortions = {arr(c['d'])}\nexposure = -4\ngrid_count = 19\n"
                 f"ignore = false\ntranslation = {arr(c['t'])}\nrotation = {rot}\n\n")
    fh.write("[capture_volume]\nstereograms = 3\norigin_sync_index = 12\n")
# Caliscope native camera_array.toml
with open(os.path.join(out, "camera_array.toml"), "w") as fh:
    for i, c in enumerate(cams):
        fh.write(f"[cameras.{i}]\nport = {i}\nsize = {arr(c['size'])}\nmatrix = {arr(c['K'])}\n"
                 f"distortions = {arr(c['d'])}\nrotation = {arr(c['r'])}\ntranslation = {arr(c['t'])}\n\n")
# aniposelib calibration.toml (named cameras, metadata table, translations in mm)
with open(os.path.join(out, "anipose_mm.toml"), "w") as fh:
    for i, c in enumerate(cams):
        tmm = [x * 1000.0 for x in c["t"]]
        fh.write(f"[cam_{i}]\nname = \"{c['name']}\"\nsize = {arr(c['size'])}\nmatrix = {arr(c['K'])}\n"
                 f"distortions = {arr(c['d'])}\nrotation = {arr(c['r'])}\ntranslation = {arr(tmm)}\n"
                 f"fisheye = false\n\n")
    fh.write("[metadata]\nadjusted = false\nerror = 0.0\n")
# JSON with the same fields
with open(os.path.join(out, "calib.json"), "w") as fh:
    json.dump({c["name"]: {"name": c["name"], "size": c["size"], "matrix": c["K"], "distortions": c["d"],
                           "rotation": c["r"], "translation": c["t"]} for c in cams}, fh, indent=1)
# camera -> world poses (for --invert_extrinsics)
with open(os.path.join(out, "camera_to_world.toml"), "w") as fh:
    for i, c in enumerate(cams):
        R = np.array(mat(c["r"]))
        t = np.array(c["t"])
        Rinv = R.T
        tinv = -R.T @ t
        rinv, _ = cv2.Rodrigues(Rinv)
        fh.write(f"[cam_{i}]\nmatrix = {arr(c['K'])}\ndistortions = {arr(c['d'])}\n"
                 f"rotation = {arr(rinv.ravel().tolist())}\ntranslation = {arr(tinv.tolist())}\nsize = {arr(c['size'])}\n\n")
with open(os.path.join(out, "expected.txt"), "w") as fh:
    for c in cams:
        R = mat(c["r"])
        fh.write(" ".join(fmt(x) for x in sum(c["K"], []) + c["d"] + [0.0] * (8 - len(c["d"])) + sum(R, []) + c["t"]
                          + c["size"]) + "\n")
print("calibration fixtures written to", out)
