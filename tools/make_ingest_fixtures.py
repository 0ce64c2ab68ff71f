#!/usr/bin/python3
"""Writes the stage-1 (ingest) fixtures of tests/test_ingest.c into tests/fixtures/ingest/ (NumPy needed).

Every person's pred_keypoints_2d is 1000 * person_id + arange(140) (as (70, 2)), so the tests can tell
which person was selected. All content is deterministic."""
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ingest")
os.makedirs(out, exist_ok=True)


def kp(pid):
    return (1000.0 * pid + np.arange(140, dtype=np.float32)).reshape(70, 2).astype(np.float32)


def person(pid, bbox):
    d = {
        "pred_keypoints_2d": kp(pid),
        "global_rot": np.array([0.1, 0.2, 0.3], dtype=np.float32),
        "body_pose_params": np.full(133, 0.01 * pid, dtype=np.float32),
        "shape_params": np.zeros(45, dtype=np.float32),
        "focal_length": np.float32(1500.0),
    }
    if bbox is not None:
        d["bbox"] = np.array(bbox, dtype=np.float32)
    return d


def save_pickled(name, obj):
    np.save(os.path.join(out, name), obj, allow_pickle=True)


# A pickled list of per-person dicts: areas 10000, 60000, NaN bbox -> largest_bbox picks person 1.
save_pickled("list_of_dicts.npy", np.array([person(0, [0, 0, 100, 100]), person(1, [10, 10, 210, 310]),
                                            person(2, [0, 0, np.nan, 900])], dtype=object))
# Missing / non-finite / zero-area bboxes: person 0 has none, 1 has an Inf, 2 has area 0, 3 has
# negative extents (area 0): the first finite bbox (person 2) wins, the tie with 3 keeps 2.
save_pickled("bbox_edge.npy", np.array([person(0, None), person(1, [0, 0, np.inf, 10]), person(2, [5, 5, 5, 50]),
                                        person(3, [50, 50, 10, 10])], dtype=object))
# No finite bbox at all: person 0.
save_pickled("bbox_none.npy", np.array([person(0, None), person(1, [np.nan] * 4)], dtype=object))
# A pickled dict of one person, with a string, a Python float and None (dropped).
d = person(7, [1, 2, 3, 4])
d.update({"note": "cam1", "score": 0.5, "mask": None})
save_pickled("dict_single.npy", d)
# Nobody detected: an empty list.
save_pickled("empty_list.npy", np.array([], dtype=object))
# Plain keypoint arrays: one person (float64, keypoint 3 has a NaN x, keypoint 4 an Inf y), two persons.
p = kp(0).astype(np.float64)
p[3, 0] = np.nan
p[4, 1] = np.inf
np.save(os.path.join(out, "plain_kp.npy"), p)
np.save(os.path.join(out, "plain_persons.npy"), np.stack([kp(0), kp(1)]))
# A dict with a leading person axis (the adapter's form): equal areas 5000 for persons 0 and 1,
# Inf for 2 -> largest_bbox keeps person 0; a shared focal length.
np.savez(os.path.join(out, "stacked.npz"),
         pred_keypoints_2d=np.stack([kp(0), kp(1), kp(2)]),
         bbox=np.array([[0, 0, 100, 50], [0, 0, 50, 100], [0, 0, np.inf, 1]], dtype=np.float32),
         mhr_model_params=np.stack([np.full(204, i, dtype=np.float32) for i in range(3)]),
         focal_length=np.float32(1234.5))
# Validation failures: a parameter block of the wrong size, a NaN in a parameter block.
bad = person(0, [0, 0, 1, 1])
bad["body_pose_params"] = np.zeros(130, dtype=np.float32)
save_pickled("bad_size.npy", bad)
bad = person(0, [0, 0, 1, 1])
bad["shape_params"][4] = np.nan
save_pickled("bad_nan.npy", bad)
