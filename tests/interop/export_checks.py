# Helpers of tests/cli_export_interop.sh, run with Debian's python3 and NumPy:
#   zup CALIB.toml OUT.toml        the calibration of a world turned by +90 deg about X (y-up -> z-up)
#   const ARCHIVE.npz OUT.npz      the archive with its bone-length parameters (130..135) at their median
#   roundtrip ARCHIVE.npz FRAME PARAMS.npz FK.npz TOL
#                                  s R fk + t (similarity of PARAMS, joints of FK) = the archive's joints
#   trc FILE.trc ARCHIVE.npz UP UNIT_M TOL   the TRC's markers = U keypoints / UNIT_M
#   skin FULL.glb CUT4.glb N_OVER4 [MIN_VERTICES]
#                                  FULL's skin holds every influence in JOINTS_0/1, WEIGHTS_0/1 (each
#                                  vertex's weights sum to 1), CUT4's one set: the 4 largest of FULL's,
#                                  renormalised, on N_OVER4 vertices cut; 32-bit indices past 65,535
#                                  vertices (and at least MIN_VERTICES vertices)
#   report_glb REPORT.html OUT.glb the GLB the report page embeds (its body), written out
#   cameras FILE.glb CALIB.toml UP one glTF camera per calibrated camera, named after it: its node
#                                  (world transform through its parents) at U C (C = -R^T t), looking
#                                  down -Z along U R^T z, +Y along -U R^T y (the image's up), yfov =
#                                  2 atan(h / 2 fy), aspectRatio = (w / fx) / (h / fy)
# Prints what it compared; exits 1 when a comparison fails.
import sys
import tomllib

import numpy as np

UP = {"+y": np.eye(3), "+z": np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], float)}


def rodrigues(r):
    r = np.asarray(r, float)
    a = np.linalg.norm(r)
    if a < 1e-15:
        return np.eye(3)
    k = r / a
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K


def rodrigues_inv(R):
    w, v = np.linalg.eig(R)
    axis = np.real(v[:, np.argmin(np.abs(w - 1))])
    c = (np.trace(R) - 1) / 2
    s = np.dot(axis, [R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / 2
    return axis * np.arctan2(s, c)


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in np.ravel(v)) + "]"


def zup(src, dst):
    cal = tomllib.load(open(src, "rb"))
    W = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float)  # Rx(+90 deg): y -> z
    out = ["# " + src + " with its world turned by +90 degrees about X (the world is z-up)\n"]
    for name, cam in cal.items():
        if not isinstance(cam, dict) or "rotation" not in cam:
            continue
        R = rodrigues(cam["rotation"]) @ W.T
        out.append("[%s]\n" % name)
        for key, val in cam.items():
            if key == "rotation":
                val = rodrigues_inv(R)
            if isinstance(val, str):
                out.append('%s = "%s"\n' % (key, val))
            elif isinstance(val, bool):
                out.append("%s = %s\n" % (key, "true" if val else "false"))
            elif key == "matrix":
                out.append("matrix = [%s]\n" % ", ".join(fmt(row) for row in val))
            elif key == "size":
                out.append("size = [%d, %d]\n" % tuple(val))
            else:
                out.append("%s = %s\n" % (key, fmt(val)))
        assert np.abs(rodrigues(rodrigues_inv(R)) - R).max() < 1e-12
        out.append("\n")
    open(dst, "w").write("".join(out))
    print("wrote", dst)
    return True


def const(src, dst):
    d = dict(np.load(src))
    m = d["mhr_model_params"]
    ok = np.all(np.isfinite(m), axis=1)
    m[ok, 130:136] = np.median(m[ok, 130:136], axis=0)
    np.savez(dst, **d)
    print("wrote", dst, "with constant bone lengths", m[ok][0, 130:136])
    return True


def roundtrip(archive, frame, params, fk, tol):
    a = np.load(archive)
    p = np.load(params)
    j = np.load(fk)["pred_joint_coords"].astype(float)
    world = float(p["opt_sim_scale"]) * j @ p["opt_sim_R"].T + p["opt_sim_t"]
    err = float(np.abs(world - a["pred_joint_coords"][int(frame)]).max())
    same = np.array_equal(p["mhr_model_params"], a["mhr_model_params"][int(frame)].astype(np.float32))
    print("round trip of frame %s: parameters %s, joints max error %.3g m (tol %s)" % (frame, "equal" if same else "DIFFER", err, tol))
    return same and err <= float(tol)


def trc(path, archive, up, unit, tol):
    rows = open(path).read().split("\n")
    head = rows[3].split("\t")
    names = [h for h in head[2:] if h]
    data = [r.split("\t") for r in rows[5:] if r.strip()]
    a = np.load(archive)
    kp = a["pred_keypoints_3d"].astype(float) @ UP[up].T / float(unit)
    if len(names) != 70 or len(data) != kp.shape[0]:
        print("trc: %d markers, %d rows; archive %d frames" % (len(names), len(data), kp.shape[0]))
        return False
    err = 0.0
    n = 0
    for f, row in enumerate(data):
        for k in range(70):
            cells = row[2 + 3 * k: 5 + 3 * k]
            if cells[0] == "":
                if np.all(np.isfinite(kp[f, k])):
                    print("trc: frame %d marker %s empty" % (f, names[k]))
                    return False
                continue
            err = max(err, float(np.abs(np.array([float(c) for c in cells]) - kp[f, k]).max()))
            n += 1
    print("trc: %d marker positions, max error %.3g (tol %s)" % (n, err, tol))
    return n > 0 and err <= float(tol)


def glb(path):
    """The JSON of a .glb and a function giving an accessor's values as an array (count, ncomp)."""
    import json
    import struct
    b = open(path, "rb").read()
    n = struct.unpack_from("<I", b, 12)[0]
    g = json.loads(b[20:20 + n])
    binary = b[20 + n + 8:]
    types = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
    comps = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}

    def acc(i):
        a = g["accessors"][i]
        v = g["bufferViews"][a["bufferView"]]
        dt = np.dtype(types[a["componentType"]])
        k = comps[a["type"]]
        stride = v.get("byteStride", dt.itemsize * k)
        start = v.get("byteOffset", 0) + a.get("byteOffset", 0)
        rows = [np.frombuffer(binary, dt, k, start + r * stride) for r in range(a["count"])] if stride != dt.itemsize * k \
            else [np.frombuffer(binary, dt, k * a["count"], start).reshape(-1, k)]
        return np.vstack(rows)
    return g, acc


def skin(full, cut, n_over4, min_vertices="0"):
    g, acc = glb(full)
    g4, acc4 = glb(cut)
    prim = g["meshes"][0]["primitives"][0]
    prim4 = g4["meshes"][0]["primitives"][0]
    at, at4 = prim["attributes"], prim4["attributes"]
    V = g["accessors"][at["POSITION"]]["count"]
    idx_type = g["accessors"][prim["indices"]]["componentType"]
    want_type = 5125 if V > 65535 else 5123
    print("skin: %d vertices, indices of type %d (want %d), sets %s / %s" % (V, idx_type, want_type,
          sorted(k for k in at if k[:6] in ("JOINTS", "WEIGHT")), sorted(k for k in at4 if k[:6] in ("JOINTS", "WEIGHT"))))
    ok = idx_type == want_type and V >= int(min_vertices)
    ok = ok and "JOINTS_1" in at and "WEIGHTS_1" in at and "JOINTS_1" not in at4 and "WEIGHTS_1" not in at4
    if not ok:
        return False
    J = np.hstack([acc(at["JOINTS_0"]), acc(at["JOINTS_1"])]).astype(int)
    W = np.hstack([acc(at["WEIGHTS_0"]), acc(at["WEIGHTS_1"])]).astype(float)
    J4, W4 = acc4(at4["JOINTS_0"]).astype(int), acc4(at4["WEIGHTS_0"]).astype(float)
    n_inf = (W > 0).sum(1)
    hist = np.bincount(n_inf, minlength=9)
    print("skin: vertices per influence count 0..8:", hist.tolist())
    sums = float(np.abs(W.sum(1) - 1).max()), float(np.abs(W4.sum(1) - 1).max())
    order = np.argsort(-W, axis=1, kind="stable")[:, :4]
    top = np.take_along_axis(W, order, 1)
    want = top / top.sum(1, keepdims=True)
    # compare per vertex as joint -> weight maps (ties may order differently)
    err = 0.0
    for v in range(V):
        a = {int(j): w for j, w in zip(np.take_along_axis(J[v:v + 1], order[v:v + 1], 1)[0], want[v]) if w > 0}
        b = {int(j): float(w) for j, w in zip(J4[v], W4[v]) if w > 0}
        if a.keys() != b.keys():
            err = np.inf
            break
        err = max(err, max(abs(a[j] - b[j]) for j in a))
    print("skin: weight sums off 1 by %.2g / %.2g; the 4-influence file = the 4 largest renormalised (max %.2g); "
          "%d vertices with more than 4 (want %s)" % (sums[0], sums[1], err, int((n_inf > 4).sum()), n_over4))
    return (sums[0] < 1e-5 and sums[1] < 1e-5 and err < 1e-5 and hist[5:].sum() > 0 and
            int((n_inf > 4).sum()) == int(n_over4))


def report_glb(html, out):
    import base64
    import json
    import re
    import zlib
    page = open(html, encoding="utf-8").read()
    meta = json.loads(re.search(r'id="mf-meta">(.*?)</script>', page, re.S).group(1))
    data = zlib.decompress(base64.b64decode(re.search(r'id="mf-data">(.*?)</script>', page, re.S).group(1)))
    d = meta["arrays"].get("glb")
    if d is None:
        print("report_glb: the page embeds no GLB")
        return False
    b = data[d["offset"]:d["offset"] + d["shape"][0]]
    open(out, "wb").write(b)
    print("report_glb: %d bytes, magic %r" % (len(b), b[:4]))
    return b[:4] == b"glTF"


def quat_matrix(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def cameras(path, calib, up):
    g, _ = glb(path)
    nodes = g["nodes"]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def world(i):
        n = nodes[i]
        M = np.eye(4)
        M[:3, :3] = quat_matrix(n.get("rotation", [0, 0, 0, 1])) * np.asarray(n.get("scale", [1, 1, 1]))
        M[:3, 3] = n.get("translation", [0, 0, 0])
        return world(parent[i]) @ M if i in parent else M
    cal = {n: c for n, c in tomllib.load(open(calib, "rb")).items() if isinstance(c, dict) and "matrix" in c}
    U = UP[up]
    cams = {nodes[i]["name"]: (i, g["cameras"][nodes[i]["camera"]]) for i in range(len(nodes)) if "camera" in nodes[i]}
    print("cameras: %d in the file (%s), %d calibrated" % (len(cams), " ".join(sorted(cams)), len(cal)))
    if len(cams) != len(cal) or len(cal) == 0:
        return False
    worst = [0.0, 0.0, 0.0, 0.0]
    for key, c in cal.items():
        name = c.get("name", key)
        if name not in cams:
            print("cameras: no camera named", name)
            return False
        i, cam = cams[name]
        R = rodrigues(c["rotation"])
        t = np.asarray(c["translation"], float)
        K = np.asarray(c["matrix"], float)
        w, h = c["size"]
        M = world(i)
        centre = U @ (-R.T @ t)
        look = U @ R.T @ [0, 0, 1]
        img_up = -(U @ R.T @ [0, 1, 0])
        p = cam["perspective"]
        yfov = 2 * np.arctan(h / (2 * K[1, 1]))
        aspect = (w / K[0, 0]) / (h / K[1, 1])
        errs = [np.abs(M[:3, 3] - centre).max(), np.abs(-M[:3, 2] - look).max(), np.abs(M[:3, 1] - img_up).max(),
                max(abs(p["yfov"] - yfov), abs(p["aspectRatio"] - aspect))]
        print("cameras: %s centre %s, yfov %.6f (want %.6f), aspect %.6f (want %.6f)" %
              (name, np.round(M[:3, 3], 4).tolist(), p["yfov"], yfov, p["aspectRatio"], aspect))
        ok_type = cam.get("type") == "perspective"
        if not ok_type:
            return False
        worst = [max(a, b) for a, b in zip(worst, errs)]
    print("cameras: max error centre %.2g m, viewing axis %.2g, up axis %.2g, yfov/aspect %.2g" % tuple(worst))
    return worst[0] <= 1e-5 and worst[1] <= 1e-6 and worst[2] <= 1e-6 and worst[3] <= 1e-9


cmd = sys.argv[1]
ok = {"zup": zup, "const": const, "roundtrip": roundtrip, "trc": trc, "skin": skin, "report_glb": report_glb,
      "cameras": cameras}[cmd](
    *sys.argv[2:])
sys.exit(0 if ok else 1)
