#!/usr/bin/python3
"""Writes OpenCV reference values for tests/test_camera.c into tests/fixtures/camera/ (cv2 needed).

projection.txt: one block per camera:
  cam fx fy cx cy skew n_dist d0..d7 rvec(3) tvec(3)
  then n lines: X Y Z u v   (u, v from cv2.projectPoints)
rodrigues.txt: r0 r1 r2 R00..R22 (from cv2.Rodrigues), including angles near 0 and near pi."""
import os

import cv2
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "camera")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
cams = [
    (1681.244873046875, 1681.075439453125, 532.97369384375, 948.137390140625,
     [-0.000721609375, 0.002187234375, 9.5e-06, 1.078125e-05]),
    (1500.0, 1495.0, 960.0, 540.0, [-0.33, 0.12, 0.001, -0.0005, -0.02]),
    (900.0, 905.0, 640.0, 360.0, [0.1, -0.05, 0.002, 0.001, 0.01, 0.05, -0.01, 0.003]),
    (1200.0, 1200.0, 800.0, 600.0, [0.0, 0.0, 0.0, 0.0]),
]
with open(os.path.join(out, "projection.txt"), "w") as fh:
    for fx, fy, cx, cy, dist in cams:
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
        rvec = rng.normal(size=3) * 0.8
        tvec = np.array([0.2, -0.1, 3.0]) + rng.normal(size=3) * 0.1
        d = np.array(dist, dtype=np.float64)
        R, _ = cv2.Rodrigues(rvec)
        # world points in front of the camera, spread over about the image
        n = 40
        pc = np.stack([rng.uniform(-0.5, 0.5, n) * 2.5, rng.uniform(-0.4, 0.4, n) * 2.5, rng.uniform(2.0, 5.0, n)], 1)
        Xw = (pc - tvec) @ R  # R^T (pc - t)
        uv, _ = cv2.projectPoints(Xw.reshape(-1, 1, 3), rvec, tvec, K, d)
        uv = uv.reshape(-1, 2)
        d8 = list(dist) + [0.0] * (8 - len(dist))
        if len(dist) == 4:
            d8 = dist + [0.0] * 4
        elif len(dist) == 5:
            d8 = dist + [0.0] * 3
        fh.write("cam %.17g %.17g %.17g %.17g 0 %d %s %s %s\n" % (
            fx, fy, cx, cy, len(dist), " ".join("%.17g" % v for v in d8), " ".join("%.17g" % v for v in rvec),
            " ".join("%.17g" % v for v in tvec)))
        fh.write("%d\n" % n)
        for X, p in zip(Xw, uv):
            fh.write("%.17g %.17g %.17g %.17g %.17g\n" % (X[0], X[1], X[2], p[0], p[1]))
with open(os.path.join(out, "rodrigues.txt"), "w") as fh:
    vecs = [rng.normal(size=3) * s for s in (1e-9, 1e-4, 0.3, 1.0, 2.0, 3.0)]
    for axis in (np.array([1.0, 0, 0]), np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])):
        for ang in (np.pi - 1e-3, np.pi - 1e-7, np.pi):
            vecs.append(axis * ang)
    vecs.append(np.zeros(3))
    for r in vecs:
        R, _ = cv2.Rodrigues(r)
        fh.write(" ".join("%.17g" % v for v in list(r) + list(R.ravel())) + "\n")
print("camera fixtures written to", out)
