#!/usr/bin/python3
"""Writes the .npy/.npz fixtures of tests/test_npy.c into tests/fixtures/npy/ (NumPy needed).

Each fixture is listed in expected.txt as:  name dtype shape count sum sumsq first last
(sum and sumsq as %.17g of the values in C order converted to float64; strings: their UTF-8
text joined by '|' instead of the numbers)."""
import io
import os
import zipfile

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "npy")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
lines = []


def describe(name, a):
    a = np.asarray(a)
    shape = "(" + ",".join(str(s) for s in a.shape) + ")"
    if a.dtype.kind in "US":
        flat = [x.decode("latin1") if isinstance(x, bytes) else str(x) for x in a.ravel(order="C")]
        lines.append(f"{name} {a.dtype.kind}{a.dtype.itemsize} {shape} {a.size} |" + "|".join(flat) + "|")
        return
    f = a.astype(np.float64).ravel(order="C")
    first = f[0] if f.size else 0.0
    last = f[-1] if f.size else 0.0
    lines.append(f"{name} {a.dtype.name} {shape} {a.size} {np.sum(f):.17g} {np.sum(f * f):.17g} {first:.17g} {last:.17g}")


def save(name, a, version=None):
    path = os.path.join(out, name + ".npy")
    with open(path, "wb") as fh:
        np.lib.format.write_array(fh, a, version=version, allow_pickle=False)
    describe(name, a)


numeric = ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"]
for code in numeric:
    for order in "<>":
        dt = np.dtype(order + code) if code not in ("?", "i1", "u1") else np.dtype(code)
        if code == "?":
            a = rng.integers(0, 2, size=(3, 4)).astype(dt)
        elif code[0] in "iu":
            info = np.iinfo(dt)
            a = rng.integers(info.min // 2 if info.min else 0, info.max // 2, size=(3, 4), dtype=np.int64).astype(dt)
            a.flat[0] = info.max
            a.flat[1] = info.min
        else:
            a = (rng.standard_normal((3, 4)) * 100).astype(dt)
        name = f"{dt.kind}{dt.itemsize}_{'be' if dt.byteorder == '>' else 'le'}"
        if code in ("?", "i1", "u1") and order == ">":
            continue
        save(name, a)

a3 = np.asfortranarray(rng.standard_normal((2, 3, 4)))
save("f8_fortran_3d", a3)
save("i4_fortran_2d_be", np.asfortranarray(np.arange(12, dtype=">i4").reshape(3, 4)))
save("f4_v2", rng.standard_normal((5,)).astype("<f4"), version=(2, 0))
save("f4_v3", rng.standard_normal((5,)).astype("<f4"), version=(3, 0))
save("scalar_0d", np.array(3.25))
save("empty", np.zeros((0, 3), dtype="<f4"))
save("rank5", np.arange(32, dtype="<i2").reshape(2, 2, 2, 2, 2))
save("unicode", np.array(["cam1", "caméra_2", "Ω"], dtype="<U8"))
save("unicode_be", np.array(["ab", "xyz"], dtype=">U3"))
save("bytes", np.array([b"left", b"right"], dtype="|S5"))

# npz: stored, deflate and ZIP64.
members = {"points": rng.standard_normal((4, 3)).astype("<f4"), "idx": np.arange(5, dtype="<i8"),
           "names": np.array(["a", "bc"])}
np.savez(os.path.join(out, "stored.npz"), **members)
np.savez_compressed(os.path.join(out, "deflate.npz"), **members)
for k, v in members.items():
    describe("npz." + k, v)
with zipfile.ZipFile(os.path.join(out, "zip64.npz"), "w", compression=zipfile.ZIP_DEFLATED) as z:
    for k, v in members.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, v)
        with z.open(k + ".npy", "w", force_zip64=True) as fh:
            fh.write(buf.getvalue())

# Pickled .npy files (object arrays), for the end-to-end pickle tests.
pk = os.path.join(out, "..", "pickle_npy")
os.makedirs(pk, exist_ok=True)
d = {"a": np.arange(3.0), "b": 1.5, "c": "x", "d": None, "e": [1, 2], "f": {"g": True},
     "kp": np.arange(140, dtype=np.float32).reshape(70, 2)}
np.save(os.path.join(pk, "dict.npy"), d, allow_pickle=True)
np.save(os.path.join(pk, "list_of_dicts.npy"), np.array([{"bbox": np.array([0, 0, 10, 20.0]), "id": 0},
                                                          {"bbox": np.array([5, 5, 50, 90.0]), "id": 1}], dtype=object),
        allow_pickle=True)
zero_d = np.empty((), dtype=object)
zero_d[()] = {"name": "cam3", "score": np.float32(0.5)}
np.save(os.path.join(pk, "zero_d.npy"), zero_d, allow_pickle=True)

with open(os.path.join(out, "expected.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print(f"wrote {len(lines)} fixture descriptions to {out}")
