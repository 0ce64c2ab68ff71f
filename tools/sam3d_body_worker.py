#!/usr/bin/env python3
"""A persistent SAM 3D Body worker for `mhrfit ingest --estimator_worker`: loads the model once,
then answers requests, one JSON line each way, until its input ends.

    mhrfit ingest --input capture --cams cam_0 cam_1 cam_2 cam_3 --out work --calib calib.toml \\
      --workers 2 --estimator_worker 'CUDA_VISIBLE_DEVICES={worker} python3 tools/sam3d_body_worker.py \\
        --sam3d_repo ~/sam-3d-body --checkpoint_path ~/ckpt/model.ckpt --mhr_path ~/ckpt/assets/mhr_model.pt' \\
      --model_id checkpoint=model.ckpt detector=vitdet fov=moge2

Protocol (README, "Estimator workers"): once the model is loaded the worker writes
{"ready": true}; for each request {"id", "image", "output", "frame", "cam"[, "cam_int"]} it runs
`SAM3DBodyEstimator.process_one_image` on the image, writes every detected person into one .npz at
`output` exactly as tools/sam3d_body_adapter.py does (SAM 3D Body's key names with a leading person
axis; nobody detected: `pred_keypoints_2d` (0, 70, 2)), and replies {"id", "ok": true,
"persons": N}, or {"id", "ok": false, "error": "..."} when that image fails (the worker goes on).
`cam_int` (the camera's 3x3 intrinsics from the calibration, pixels) is passed to the model, which
otherwise assumes a default focal length (the image diagonal).

The protocol owns the process's standard output: everything else that would be printed there
(the estimator's own progress messages, also those written by native code) is sent to standard
error. It needs the official SAM 3D Body package and its dependencies (PyTorch, ...), which mhrfit
does not install; the model options are those of the adapter.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sam3d_body_adapter  # noqa: E402  (build_estimator, stack_persons, the model options)


def protocol_stream():
    """The original stdout for the protocol; fd 1 and sys.stdout then point to stderr."""
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def reply(stream, obj):
    stream.write(json.dumps(obj) + "\n")
    stream.flush()


def cam_int_tensor(value):
    """The request's cam_int as the (1, 3, 3) float32 tensor process_one_image expects."""
    import numpy as np
    import torch

    k = np.asarray(value, dtype=np.float32)
    if k.shape != (3, 3) or not np.all(np.isfinite(k)):
        raise ValueError(f"cam_int must be 3x3 finite numbers, got shape {k.shape}")
    return torch.as_tensor(k.reshape(1, 3, 3))


def handle(estimator, args, req):
    """Runs one request; returns the number of persons written."""
    cam_int = cam_int_tensor(req["cam_int"]) if req.get("cam_int") is not None else None
    persons = estimator.process_one_image(req["image"], cam_int=cam_int, bbox_thr=args.bbox_thresh,
                                          use_mask=args.use_mask) or []
    sam3d_body_adapter.save_persons(req["output"], persons)
    return len(persons)


def main():
    proto = protocol_stream()
    parser = sam3d_body_adapter.make_parser(__doc__.split("\n")[0], with_paths=False)
    args = parser.parse_args()
    try:
        estimator = sam3d_body_adapter.build_estimator(args)
    except Exception as e:  # noqa: BLE001 - a model that cannot load ends the worker before "ready"
        print(f"sam3d_body_worker: cannot load the model: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    reply(proto, {"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        req_id = None
        try:
            req = json.loads(line)
            req_id = req.get("id")
            n = handle(estimator, args, req)
            reply(proto, {"id": req_id, "ok": True, "persons": n})
            print(f"sam3d_body_worker: {req['image']}: {n} person(s) -> {req['output']}", file=sys.stderr)
        except Exception as e:  # noqa: BLE001 - one image's failure is reported, the worker goes on
            reply(proto, {"id": req_id, "ok": False, "error": f"{type(e).__name__}: {e}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
