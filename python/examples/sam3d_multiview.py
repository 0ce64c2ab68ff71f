"""From per-camera SAM 3D Body outputs held in memory to one fitted MHR body and its mesh.

The script that runs SAM 3D Body on each camera's image holds, per camera, a dict of NumPy arrays
(``pred_keypoints_2d``, ``mhr_model_params``, ``pred_keypoints_3d``, ``shape_params``, …, with a
leading person axis when several people were detected). Here those dicts are read from a synthetic
capture of ``mhrfit demo``; everything after that stays in memory:

    per-camera outputs -> person selection -> triangulate -> fit -> forward kinematics -> export

Usage (from the project root, after building):

    build/mhrfit demo --out demo_capture --num_frames 10
    MHRFIT_LIBRARY=build/libmhrfit.so MHRFIT_ASSETS=path/to/mhr PYTHONPATH=python \\
        python3 python/examples/sam3d_multiview.py demo_capture --frame 000003 --out body.ply

The fit is saved as a fit archive (``body_fit.npz`` for ``--out body.ply``) and written by the
library's exporter, the call behind ``mhrfit export`` (``mhrfit.export``): ``--out body.ply`` gives
the frame's mesh as one PLY file (world frame, metres), ``--out body.glb`` a glTF with the skinned
mesh, skeleton and keypoints, ``.obj`` an OBJ.
"""

import argparse
import os
import sys

import numpy as np

import mhrfit


def largest_person(output: dict) -> dict:
    """One person's arrays of a SAM 3D Body output: the one with the largest bounding box when the
    arrays carry a leading person axis (as ``mhrfit ingest`` selects by default)."""
    kp = output["pred_keypoints_2d"]
    if kp.ndim == 2:
        return output
    n = kp.shape[0]
    box = np.asarray(output.get("bbox", np.zeros((n, 4))), dtype=np.float64).reshape(n, 4)
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    p = int(np.argmax(np.where(np.isfinite(area), area, -np.inf)))
    return {k: (v[p] if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n else v)
            for k, v in output.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture", help="a capture folder: calibration.toml and <frame>/<cam>.npz")
    ap.add_argument("--frame", default="000003", help="frame folder (default 000003)")
    ap.add_argument("--out", default="body.ply", help="file to write: .ply, .obj or .glb (default body.ply)")
    ap.add_argument("--assets", default=None, help="MHR assets folder or rig file (default $MHRFIT_ASSETS)")
    args = ap.parse_args()

    calib = mhrfit.load_calibration(os.path.join(args.capture, "calibration.toml"))
    # 1. the per-camera outputs, in memory (None: that camera saw nobody / has no output)
    outputs = {}
    for cam in calib.names:
        path = os.path.join(args.capture, args.frame, cam + ".npz")
        outputs[cam] = mhrfit.load(path) if os.path.exists(path) else None
    persons = {cam: largest_person(o) if o is not None else None for cam, o in outputs.items()}
    # 2. triangulate the 70 MHR70 keypoints: (V, K, 2) pixels, NaN where a camera has nothing
    kp = np.stack([p["pred_keypoints_2d"] if p is not None else np.full((70, 2), np.nan)
                   for p in persons.values()])
    tri = mhrfit.triangulate(calib, kp, inlier_thresh=30)
    ok = tri.reason == 0
    print(f"triangulated {ok.sum()} of {ok.size} keypoints; mean reprojection error per camera (px): "
          + ", ".join(f"{c} {e:.2f}" for c, e in zip(tri.cams, tri.mean_reproj_err_px)))
    # 3. fit MHR to them, starting from the best camera's estimate
    rig = mhrfit.Rig(args.assets)
    res = mhrfit.fit(rig, tri, persons)
    print(f"fit: status {res.opt_status}, initial view {res.opt_init_cam}, {int(res.opt_iters)} iterations, "
          f"median keypoint residual {1000 * np.nanmedian(res.opt_residuals_m):.1f} mm")
    # 4. forward kinematics of the fitted parameters (SAM 3D Body camera axes), placed in the world by
    #    the fitted similarity: the fit's own world mesh, to float32 precision
    fk = rig.fk(res.mhr_model_params, shape_params=res.shape_params)
    s, R, t = float(res.opt_sim_scale), res.opt_sim_R, res.opt_sim_t
    world = s * fk["pred_vertices"] @ R.T + t
    print(f"forward kinematics: {len(rig.joint_names)} joints, {len(world)} vertices; "
          f"largest difference to the fit's mesh {1000 * np.max(np.abs(world - res.pred_vertices)):.4f} mm")
    # 5. the fit saved as a fit archive beside the output, exported by the library's exporter (as
    #    `mhrfit export --input <that file> --out <out>` writes it)
    fit_path = os.path.splitext(args.out)[0] + "_fit.npz"
    np.savez(fit_path, **res)
    rep = mhrfit.export(fit_path, args.out, **({"assets": args.assets} if args.assets else {}))
    print(f"wrote {args.out} ({rep.format}): {rep.n_vertices} vertices, {rep.n_faces} triangles, {rep.bytes} bytes "
          "(metres, the calibration's frame)")
    return 0 if str(res.opt_status) == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
