# Checks mhrfit's exports by importing them into Blender (run: blender -b --factory-startup
# --python blender_checks.py -- CONFIG.json). CONFIG lists checks; each starts from an empty
# scene. Prints one line per check and "blender checks: N passed, N failed"; exits 1 on a failure.
#
# Axes: a point p of the calibration world is exported as U p (U: the up rotation of the
# export, the world's up axis to +Y); Blender's glTF and BVH importers turn Y-up into Z-up,
# (x, y, z) -> (x, -z, y).
import json
import sys

import bpy
import numpy as np

if not hasattr(np, "bool"):  # Blender 3.4's glTF importer still uses np.bool (removed in NumPy 1.24)
    np.bool = bool

UP = {"+x": [[0, 0, 1], [1, 0, 0], [0, 1, 0]], "+y": np.eye(3).tolist(), "+z": [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
      "-x": [[0, 0, 1], [-1, 0, 0], [0, -1, 0]], "-y": [[1, 0, 0], [0, -1, 0], [0, 0, -1]],
      "-z": [[0, 1, 0], [0, 0, -1], [-1, 0, 0]]}
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + (": " + detail if detail else ""), flush=True)


def to_blender(p, up):
    q = np.asarray(p, dtype=float) @ np.asarray(UP[up], dtype=float).T
    return np.stack([q[..., 0], -q[..., 2], q[..., 1]], -1)


def reset(fps):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = int(round(fps))


def world_of(obj, co):
    M = np.array(obj.matrix_world)
    return np.asarray(co) @ M[:3, :3].T + M[:3, 3]


def evaluated_vertices(obj):
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    me = ev.to_mesh()
    co = np.array([tuple(v.co) for v in me.vertices])
    ev.to_mesh_clear()
    return world_of(obj, co)


def gltf(c):
    reset(c["fps"])
    bpy.ops.import_scene.gltf(filepath=c["file"])
    ref = np.load(c["ref"])
    tag = c["name"]
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    check(tag + ": one armature", len(arms) == 1, str(len(arms)))
    check(tag + ": one mesh", len(meshes) == 1, str(len(meshes)))
    if len(arms) != 1 or len(meshes) != 1:
        return
    bones = [b.name for b in arms[0].data.bones]
    check(tag + ": %d bones named after the MHR joints" % len(c["joints"]), sorted(bones) == sorted(c["joints"]),
          "%d bones" % len(bones))
    check(tag + ": mesh of %d vertices" % c["n_vertices"], len(meshes[0].data.vertices) == c["n_vertices"],
          str(len(meshes[0].data.vertices)))
    act = arms[0].animation_data.action if arms[0].animation_data else None
    rng = tuple(act.frame_range) if act else None
    check(tag + ": action spans frames 0..%d" % c["last_frame"], rng == (0.0, float(c["last_frame"])), str(rng))
    kp_names = c.get("keypoints", [])
    for f in c["frames"]:
        bpy.context.scene.frame_set(f)
        got = evaluated_vertices(meshes[0])
        want = to_blender(ref["pred_vertices"][c["ref_frames"][c["frames"].index(f)]], c["up"])
        err = float(np.abs(got - want).max())
        check("%s: frame %d posed mesh = mhrfit's skinned mesh (max %.2g m <= %g)" % (tag, f, err, c["tol"]), err <= c["tol"])
        if kp_names:
            kref = ref["pred_keypoints_3d"][c["ref_frames"][c["frames"].index(f)]]
            errs = []
            for k, name in enumerate(kp_names):
                if not np.all(np.isfinite(kref[k])):
                    continue
                o = bpy.data.objects.get(name)
                if o is None:
                    errs.append(np.inf)
                    continue
                errs.append(np.abs(np.array(o.matrix_world.translation) - to_blender(kref[k], c["up"])).max())
            e = float(max(errs))
            check("%s: frame %d %d keypoint empties = fitted keypoints (max %.2g m <= %g)" % (tag, f, len(errs), e, c["tol"]),
                  e <= c["tol"] and len(errs) >= 49)
    if "standing" in c:
        bpy.context.scene.frame_set(c["frames"][0])
        pb = arms[0].pose.bones
        head = world_of(arms[0], np.array(pb[c["standing"]["top"]].head))
        feet = [world_of(arms[0], np.array(pb[n].head)) for n in c["standing"]["bottom"]]
        dz = head[2] - max(f[2] for f in feet)
        check("%s: standing in Blender (head %.2f m above the feet along +Z)" % (tag, dz), dz > 1.0)


def bvh(c):
    reset(c["fps"])
    import io_anim_bvh.import_bvh as import_bvh  # Blender 3.4's BVH importer opens with mode 'rU' (gone in Python 3.11)
    import_bvh.open = lambda f, mode="r", *a, **k: open(f, mode.replace("U", ""), *a, **k)
    bpy.ops.import_anim.bvh(filepath=c["file"], frame_start=1, use_fps_scale=False, global_scale=1.0,
                            rotate_mode="NATIVE")
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    tag = c["name"]
    check(tag + ": one armature of %d bones" % len(c["joints"]),
          len(arms) == 1 and sorted(b.name for b in arms[0].data.bones) == sorted(c["joints"]))
    if len(arms) != 1:
        return
    for f, fk_file, params_file in zip(c["frames"], c["fk"], c["params"]):
        fk = np.load(fk_file)["pred_joint_coords"].astype(float)
        p = np.load(params_file)
        world = float(p["opt_sim_scale"]) * fk @ p["opt_sim_R"].T + p["opt_sim_t"]
        want = to_blender(world, c["up"])
        bpy.context.scene.frame_set(f + 1)
        pb = arms[0].pose.bones
        got = np.array([world_of(arms[0], np.array(pb[n].head)) for n in c["joints"]])
        err = float(np.abs(got - want).max())
        check("%s: frame %d bone heads = fitted joints (max %.2g m <= %g)" % (tag, f, err, c["tol"]), err <= c["tol"])


def mesh_file(c):
    reset(30)
    if c["file"].endswith(".ply"):
        bpy.ops.import_mesh.ply(filepath=c["file"])
    else:
        bpy.ops.wm.obj_import(filepath=c["file"], forward_axis="Y", up_axis="Z")
    obj = [o for o in bpy.data.objects if o.type == "MESH"][0]
    me = obj.data
    ref = np.load(c["ref"])["pred_vertices"][c["ref_frame"]].astype(float)
    tag = c["name"]
    check("%s: %d vertices, %d faces" % (tag, c["n_vertices"], c["n_faces"]),
          len(me.vertices) == c["n_vertices"] and len(me.polygons) == c["n_faces"],
          "%d, %d" % (len(me.vertices), len(me.polygons)))
    co = world_of(obj, np.array([tuple(v.co) for v in me.vertices]))
    err = float(np.abs(co - ref).max()) if co.shape == ref.shape else np.inf
    check("%s: positions = the fitted mesh (max %.2g m <= %g)" % (tag, err, c["tol"]), err <= c["tol"])


cfg = json.load(open(sys.argv[sys.argv.index("--") + 1]))
for c in cfg["checks"]:
    try:
        {"gltf": gltf, "bvh": bvh, "mesh": mesh_file}[c["kind"]](c)
    except Exception as e:  # a crash of one check is a failure, the others still run
        check(c.get("name", c["kind"]) + ": raised " + type(e).__name__, False, str(e))
print("blender checks: %d passed, %d failed" % (sum(results), len(results) - sum(results)), flush=True)
sys.exit(0 if results and all(results) else 1)
