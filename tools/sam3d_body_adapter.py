#!/usr/bin/env python3
"""Runs SAM 3D Body on one image and writes every detected person into one .npz.

An estimator command for `mhrfit ingest --estimator`:

    mhrfit ingest --input capture --cams left front right --out work \\
      --estimator 'python3 tools/sam3d_body_adapter.py --sam3d_repo ~/sam-3d-body \\
                   --checkpoint_path ~/ckpt/model.ckpt --mhr_path ~/ckpt/assets/mhr_model.pt {image} {output}' \\
      --model_id checkpoint=model.ckpt detector=vitdet fov=moge2

It needs the official SAM 3D Body package (github.com/facebookresearch/sam-3d-body) and its
dependencies (PyTorch, ...), which mhrfit does not install. The model is loaded for every image,
so for long captures use tools/sam3d_body_worker.py with `mhrfit ingest --estimator_worker`, which
loads it once per worker; this adapter is for filling gaps.

Output: `np.savez(OUTPUT, ...)` with SAM 3D Body's key names (`pred_keypoints_2d`, `bbox`,
`mhr_model_params`, ...); each per-person array gets a leading person axis, e.g.
`pred_keypoints_2d` (N, 70, 2), `bbox` (N, 4), `focal_length` (N,). Values that are None for
some person (`mask` without --use_mask) and keys not present for every person are left out.
Nobody detected: `pred_keypoints_2d` (0, 70, 2) and `bbox` (0, 4). The file is written to
exactly OUTPUT (no suffix added). Exit status 0 on success, 1 on failure.
"""
import argparse
import os
import sys

import numpy as np


def build_estimator(a):
    if a.sam3d_repo:
        sys.path.insert(0, os.path.abspath(os.path.expanduser(a.sam3d_repo)))
    import torch
    from sam_3d_body import SAM3DBodyEstimator, load_sam_3d_body

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, model_cfg = load_sam_3d_body(a.checkpoint_path, device=device, mhr_path=a.mhr_path)
    detector = segmentor = fov = None
    if a.detector_name:
        from tools.build_detector import HumanDetector
        detector = HumanDetector(name=a.detector_name, device=device, path=a.detector_path)
    if a.segmentor_name and (a.segmentor_name != "sam2" or a.segmentor_path):
        from tools.build_sam import HumanSegmentor
        segmentor = HumanSegmentor(name=a.segmentor_name, device=device, path=a.segmentor_path)
    if a.fov_name:
        from tools.build_fov_estimator import FOVEstimator
        fov = FOVEstimator(name=a.fov_name, device=device, path=a.fov_path)
    return SAM3DBodyEstimator(sam_3d_body_model=model, model_cfg=model_cfg, human_detector=detector,
                              human_segmentor=segmentor, fov_estimator=fov)


def stack_persons(persons):
    """One dict of arrays with a leading person axis from a list of per-person dicts."""
    if not persons:
        return {"pred_keypoints_2d": np.zeros((0, 70, 2), np.float32), "bbox": np.zeros((0, 4), np.float32)}
    out = {}
    for key in persons[0]:
        values = [p.get(key) for p in persons]
        if any(v is None for v in values):
            continue
        arrays = [np.asarray(v) for v in values]
        if any(x.shape != arrays[0].shape or x.dtype == object for x in arrays):
            continue
        out[key] = np.stack(arrays)
    return out


def save_persons(path, persons):
    """Writes the persons (stack_persons) to exactly `path` as an uncompressed .npz."""
    with open(path, "wb") as fh:  # a file object: np.savez adds no ".npz" suffix
        np.savez(fh, **stack_persons(persons))


def make_parser(description, with_paths=True):
    """The command line: the model options (shared with tools/sam3d_body_worker.py) and, for the
    adapter, the image and output paths."""
    p = argparse.ArgumentParser(description=description)
    if with_paths:
        p.add_argument("image")
        p.add_argument("output")
    p.add_argument("--sam3d_repo", default="", help="checkout of sam-3d-body (for its tools/ package)")
    p.add_argument("--checkpoint_path", required=True)
    p.add_argument("--mhr_path", default=os.environ.get("SAM3D_MHR_PATH", ""))
    p.add_argument("--detector_name", default="vitdet")
    p.add_argument("--detector_path", default=os.environ.get("SAM3D_DETECTOR_PATH", ""))
    p.add_argument("--segmentor_name", default="sam2")
    p.add_argument("--segmentor_path", default=os.environ.get("SAM3D_SEGMENTOR_PATH", ""))
    p.add_argument("--fov_name", default="moge2")
    p.add_argument("--fov_path", default=os.environ.get("SAM3D_FOV_PATH", ""))
    p.add_argument("--bbox_thresh", type=float, default=0.8)
    p.add_argument("--use_mask", action="store_true")
    return p


def main():
    a = make_parser(__doc__.split("\n")[0]).parse_args()
    try:
        estimator = build_estimator(a)
        persons = estimator.process_one_image(a.image, bbox_thr=a.bbox_thresh, use_mask=a.use_mask) or []
        save_persons(a.output, persons)
    except Exception as e:  # noqa: BLE001 - report any failure through the exit status
        print(f"sam3d_body_adapter: {a.image}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"sam3d_body_adapter: {a.image}: {len(persons)} person(s) -> {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
