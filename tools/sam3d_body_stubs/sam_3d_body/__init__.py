"""Stand-in for the official sam_3d_body package (see ../README.md)."""
import os

import numpy as np


def load_sam_3d_body(checkpoint_path, device=None, mhr_path=""):
    if not os.path.exists(checkpoint_path):
        raise FileNotFoundError(checkpoint_path)
    log = os.environ.get("SAM3D_STUB_LOAD_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(f"load {os.getpid()}\n")
    return "model", {"cfg": True}


def _person(scale, shift):
    src = os.path.join(os.environ.get("MHRFIT_TESTDATA", ""), "mhr_sam3d_body_outputs", "img_subj00.npz")
    if os.path.exists(src):
        d = dict(np.load(src))
    else:
        d = {"pred_keypoints_2d": np.random.default_rng(1).uniform(200, 400, (70, 2)).astype(np.float32),
             "pred_keypoints_3d": np.zeros((70, 3), np.float32), "mhr_model_params": np.zeros(204, np.float32),
             "bbox": np.array([200, 200, 400, 400], np.float32), "focal_length": np.float32(1000)}
    d["pred_keypoints_2d"] = (d["pred_keypoints_2d"] * scale + shift).astype(np.float32)
    b = d["bbox"].astype(np.float32)
    d["bbox"] = np.array([b[0] * scale + shift, b[1] * scale + shift, b[2] * scale + shift, b[3] * scale + shift],
                         np.float32)
    d["mask"] = None  # as SAM 3D Body without use_mask
    return d


class SAM3DBodyEstimator:
    def __init__(self, sam_3d_body_model=None, model_cfg=None, human_detector=None, human_segmentor=None,
                 fov_estimator=None):
        assert sam_3d_body_model == "model" and human_detector is not None and fov_estimator is not None
        print("stand-in estimator ready")  # the real one prints to stdout too

    def process_one_image(self, img, bboxes=None, masks=None, cam_int=None, det_cat_id=0, bbox_thr=0.5, nms_thr=0.3,
                          use_mask=False, inference_type="full"):
        if not os.path.exists(img):
            raise FileNotFoundError(img)
        with open(img, "rb") as fh:
            if fh.read(4) == b"fail":
                raise RuntimeError("CUDA out of memory (stand-in)")
        print("Running object detector...")  # stdout, as the real estimator
        persons = [_person(0.5, 10.0), _person(1.0, 0.0)]  # a smaller person first, as in a crowded view
        if cam_int is not None:
            k = np.asarray(cam_int)
            assert k.shape == (1, 3, 3), k.shape
            for p in persons:
                p["focal_length"] = np.float32(k[0, 0, 0])
        return persons
