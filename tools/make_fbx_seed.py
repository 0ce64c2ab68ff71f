#!/usr/bin/python3
"""Writes small synthetic binary FBX 7.7 files (a two-joint skeleton with a triangle mesh and one
skin cluster, raw and zlib-compressed arrays) as fuzzing seeds and test fixtures. Built from the
format description only; no asset bytes."""
import os
import struct
import sys
import zlib


def prop(t, v):
    if t == "L":
        return b"L" + struct.pack("<q", v)
    if t == "I":
        return b"I" + struct.pack("<i", v)
    if t == "D":
        return b"D" + struct.pack("<d", v)
    if t == "S":
        return b"S" + struct.pack("<I", len(v)) + v
    if t in ("d", "i"):
        fmt = "<%d%s" % (len(v), "d" if t == "d" else "i")
        raw = struct.pack(fmt, *v)
        comp = zlib.compress(raw)
        if len(v) > 4:
            return t.encode() + struct.pack("<III", len(v), 1, len(comp)) + comp
        return t.encode() + struct.pack("<III", len(v), 0, len(raw)) + raw
    raise ValueError(t)


def node(name, props, children, offset):
    """Serialises a node record starting at absolute `offset` (64-bit headers)."""
    pbytes = b"".join(props)
    head_len = 25 + len(name)
    body = b""
    cur = offset + head_len + len(pbytes)
    for ch in children:
        b = ch(cur)
        body += b
        cur += len(b)
    if children:
        body += b"\0" * 25
    end = offset + head_len + len(pbytes) + len(body)
    return struct.pack("<QQQB", end, len(props), len(pbytes), len(name)) + name + pbytes + body


def N(name, props=(), children=()):
    return lambda off: node(name, list(props), list(children), off)


def p70(key, vals):
    return N(b"P", [prop("S", key), prop("S", b"Lcl Translation"), prop("S", b""), prop("S", b"A")] + [prop("D", v) for v in vals])


def model(uid, name, cls, t, pre):
    return N(b"Model", [prop("L", uid), prop("S", name + b"\x00\x01Model"), prop("S", cls)],
             [N(b"Properties70", [], [p70(b"Lcl Translation", t), p70(b"PreRotation", pre)])])


def build():
    objects = N(b"Objects", [], [
        model(10, b"body_world", b"Root", (0, 0, 0), (0, 0, 0)),
        model(11, b"root", b"LimbNode", (0, 92.3987, 0), (0, 0, 0)),
        N(b"Geometry", [prop("L", 20), prop("S", b"mesh\x00\x01Geometry"), prop("S", b"Mesh")], [
            N(b"Vertices", [prop("d", [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0])]),
            N(b"PolygonVertexIndex", [prop("i", [0, 1, ~2, 1, 3, ~2])]),
        ]),
        N(b"Deformer", [prop("L", 30), prop("S", b"c\x00\x01SubDeformer"), prop("S", b"Cluster")], [
            N(b"Indexes", [prop("i", [0, 1, 2, 3])]),
            N(b"Weights", [prop("d", [1.0, 1.0, 1.0, 1.0])]),
            N(b"TransformLink", [prop("d", [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 92.3987, 0, 1])]),
        ]),
    ])
    conns = N(b"Connections", [], [
        N(b"C", [prop("S", b"OO"), prop("L", 10), prop("L", 0)]),
        N(b"C", [prop("S", b"OO"), prop("L", 11), prop("L", 10)]),
        N(b"C", [prop("S", b"OO"), prop("L", 11), prop("L", 30)]),
    ])
    out = b"Kaydara FBX Binary  \x00\x1a\x00" + struct.pack("<I", 7700)
    for rec in (objects, conns):
        out += rec(len(out))
    out += b"\0" * 25
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    data = build()
    for d in (os.path.join(here, "..", "fuzz", "seeds", "fuzz_fbx"), os.path.join(here, "..", "tests", "fixtures", "fbx")):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tiny_rig.fbx"), "wb") as fh:
            fh.write(data)
    print("wrote", len(data), "bytes", file=sys.stderr)
