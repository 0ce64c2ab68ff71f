#!/usr/bin/python3
"""Writes the pickle fixtures of tests/test_pickle.c into tests/fixtures/pickle/ (NumPy needed).

All content is deterministic so that the C test asserts explicit values."""
import os
import pickle

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pickle")
os.makedirs(out, exist_ok=True)


def stage1_like():
    kp = (np.arange(140, dtype=np.float32).reshape(70, 2) * 0.5 + 100).astype(np.float32)
    return {
        "pred_keypoints_2d": kp,
        "bbox": np.array([10.5, 20.25, 300.0, 600.0], dtype=np.float32),
        "focal_length": np.float32(1500.5),
        "name": "cam1",
        "score": 0.97,
        "n": 3,
        "ok": True,
        "none": None,
        "nested": {"l": [1, 2.5, "x"], "t": (1, 2)},
    }


for proto in (2, 3, 4, 5):
    with open(os.path.join(out, f"stage1_p{proto}.pkl"), "wb") as fh:
        pickle.dump(stage1_like(), fh, protocol=proto)

dtypes = {}
for code in ["?", "i1", "u1", "<i2", ">i2", "<u2", "<i4", ">i4", "<u4", "<i8", ">i8", "<u8", "<f2", ">f2",
             "<f4", ">f4", "<f8", ">f8"]:
    dtypes[code] = (np.arange(6) % 2 == 1) if code == "?" else np.arange(6).astype(code).reshape(2, 3)
dtypes["fortran"] = np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3))
dtypes["unicode"] = np.array(["ab", "Ωx"], dtype="<U2")
dtypes["bytes"] = np.array([b"ab", b"c"], dtype="|S2")
for proto in (2, 3, 5):
    with open(os.path.join(out, f"dtypes_p{proto}.pkl"), "wb") as fh:
        pickle.dump(dtypes, fh, protocol=proto)

shared = np.array([1.0, 2.0])
misc = {1: "int key", 2.5: "float key", None: "none key", True: "bool key",
        "big": 2 ** 40, "neg": -(2 ** 63), "u64": np.uint64(2 ** 64 - 1), "i8": np.int8(-5),
        "bytes": b"\x00\xffab", "shared": [shared, shared], "empty": [], "tuple0": (), "f64": np.float64(-0.125),
        "b": np.bool_(True)}
with open(os.path.join(out, "misc_p3.pkl"), "wb") as fh:
    pickle.dump(misc, fh, protocol=3)
with open(os.path.join(out, "list_of_dicts_p4.pkl"), "wb") as fh:
    pickle.dump([{"id": i, "bbox": np.array([i, i, i + 10, i + 20], dtype=np.float64)} for i in range(3)], fh,
                protocol=4)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class Evil2:
    def __reduce__(self):
        return (eval, ("1+1",))


with open(os.path.join(out, "evil_os_system.pkl"), "wb") as fh:
    pickle.dump({"x": Evil()}, fh, protocol=3)
with open(os.path.join(out, "evil_eval.pkl"), "wb") as fh:
    pickle.dump([Evil2()], fh, protocol=2)
import collections  # noqa: E402

with open(os.path.join(out, "ordered_dict.pkl"), "wb") as fh:
    pickle.dump(collections.OrderedDict(a=1), fh, protocol=3)
data = pickle.dumps(stage1_like(), protocol=3)
with open(os.path.join(out, "truncated.pkl"), "wb") as fh:
    fh.write(data[: len(data) // 2])
deep = []
for _ in range(200):
    deep = [deep]
with open(os.path.join(out, "deep.pkl"), "wb") as fh:
    pickle.dump(deep, fh, protocol=3)
selfref = []
selfref.append(selfref)
with open(os.path.join(out, "selfref.pkl"), "wb") as fh:
    pickle.dump(selfref, fh, protocol=3)
with open(os.path.join(out, "bigint.pkl"), "wb") as fh:
    pickle.dump(2 ** 100, fh, protocol=3)
print("pickle fixtures written to", out)
