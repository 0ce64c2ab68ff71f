/* The export module: the up axis (parsing, rotations, detection), and exports of a synthetic
 * sequence whose world is z-up with a varying similarity: the GLB made in memory is read back
 * and evaluated here as a glTF viewer does (node TRS at a keyframe, parents first, linear blend
 * skinning with the inverse bind matrices), giving mhrfit's own skinned mesh and joints; the
 * BVH's baked skeleton is exact for constant scales and its deviation reported otherwise; frames
 * are selected by status; bad input fails with its file, frame and key. */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export_internal.h"
#include "mhrfit/export.h"
#include "mhrfit/json.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"

static mhrfit_rig *rig;
static char tmp[256];
enum { NF = 9 };

static const char *tmp_path(const char *rel) { return th_path(tmp, rel); }

static void mat_rot(double ax, double ay, double az, double R[9]) { mhrfit_euler_zyx(ax, ay, az, R); }

/* ------------------------------------------------------------------ the up axis */

static void test_up_axis(void) {
  mhrfit_error err = {0};
  mhrfit_up_axis up;
  CHECK(mhrfit_up_parse("z", &up, &err) && up == MHRFIT_UP_PZ);
  CHECK(mhrfit_up_parse("+Y", &up, &err) && up == MHRFIT_UP_PY);
  CHECK(mhrfit_up_parse("-x", &up, &err) && up == MHRFIT_UP_NX);
  CHECK(mhrfit_up_parse("auto", &up, &err) && up == MHRFIT_UP_AUTO);
  CHECK(!mhrfit_up_parse("w", &up, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK(!mhrfit_up_parse("", &up, &err));
  CHECK_STR(mhrfit_up_name(MHRFIT_UP_NZ), "-z");
  for (int a = MHRFIT_UP_PX; a <= MHRFIT_UP_NZ; a++) {
    double U[9], e[3] = {0, 0, 0};
    mhrfit_up_rotation((mhrfit_up_axis)a, U);
    e[(a - 1) % 3] = a >= MHRFIT_UP_NX ? -1 : 1;
    /* U e = +Y, U orthonormal with det +1 */
    for (int r = 0; r < 3; r++) CHECK_NEAR(U[3 * r] * e[0] + U[3 * r + 1] * e[1] + U[3 * r + 2] * e[2], r == 1, 0);
    double det = U[0] * (U[4] * U[8] - U[5] * U[7]) - U[1] * (U[3] * U[8] - U[5] * U[6]) + U[2] * (U[3] * U[7] - U[4] * U[6]);
    CHECK_NEAR(det, 1, 0);
  }
  /* Pose2Sim's convention for +z: TRC (X, Y, Z) = world (Y, Z, X) */
  double U[9];
  mhrfit_up_rotation(MHRFIT_UP_PZ, U);
  CHECK(U[1] == 1 && U[5] == 1 && U[6] == 1);
  /* detection: a body leaning 20 degrees from -x */
  const char *names[6] = {"LHip", "RHip", "Neck", "x", "left_shoulder", "right_shoulder"};
  long idx[5];
  CHECK(mhrfit_up_markers(names, 6, idx) && idx[0] == 0 && idx[1] == 1 && idx[2] == 2 && idx[3] == 4 && idx[4] == 5);
  double pts[2][6][3];
  for (int f = 0; f < 2; f++)
    for (int m = 0; m < 6; m++) {
      pts[f][m][0] = m == 2 ? -0.5 * cos(0.35) : 0;
      pts[f][m][1] = m == 2 ? 0.5 * sin(0.35) : (m == 0 ? 0.1 : -0.1);
      pts[f][m][2] = f;
    }
  double cosine = 0;
  size_t used = 0;
  CHECK(mhrfit_up_detect(&pts[0][0][0], 2, 6, idx, &up, &cosine, &used, &err) && up == MHRFIT_UP_NX && used == 2);
  CHECK_NEAR(cosine, cos(0.35), 1e-12);
  /* without the neck: the shoulders; without hips: not found */
  const char *no_neck[5] = {"left_hip", "right_hip", "nose", "LShoulder", "RShoulder"};
  CHECK(mhrfit_up_markers(no_neck, 5, idx) && idx[2] == -1);
  const char *no_hips[3] = {"neck", "left_shoulder", "right_shoulder"};
  CHECK(!mhrfit_up_markers(no_hips, 3, idx));
  err.type = MHRFIT_ERR_NONE;
  CHECK(!mhrfit_up_detect(&pts[0][0][0], 2, 3, idx, &up, NULL, NULL, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------------ a synthetic sequence */

static double ref_m[NF][204], ref_sim[NF][13];

/* Writes a sequence archive of NF frames: poses and bone lengths vary, the world is z-up (the
 * similarity turns the body upright along +z), scale `scale0` (+ 0.02 sin f when
 * `vary_scale`). Statuses from `status` (NULL: all ok). */
static void write_sequence(const char *path, double scale0, bool vary_scale, const char *const *status) {
  mhrfit_error err = {0};
  size_t s_m[2] = {NF, 204}, s_sh[2] = {NF, 45}, s_s[1] = {NF}, s_R[3] = {NF, 3, 3}, s_t[2] = {NF, 3}, s_k[3] = {NF, 70, 3};
  mhrfit_array *m = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, s_m, 0, &err), *sh = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, s_sh, 0, &err),
               *ss = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, s_s, 0, &err), *sR = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, s_R, 0, &err),
               *st = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, s_t, 0, &err), *kp = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, s_k, 0, &err),
               *stat = mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * 24, 1, s_s, 0, &err);
  REQUIRE(m && sh && ss && sR && st && kp && stat);
  double R[127 * 9], T[127 * 3], S[127];
  mhrfit_fk_pose pose = {R, T, S};
  for (int f = 0; f < NF; f++) {
    double *mf = (double *)m->data + 204 * f;
    for (int i = 6; i < 136; i++) mf[i] = 0.25 * sin(0.7 * i + 0.3 * f);
    for (int i = 130; i < 136; i++) mf[i] = 0.4 * sin(i + 0.5 * f); /* bone lengths vary */
    for (int i = 136; i < 204; i++) mf[i] = 0.05 * cos(i);
    for (int i = 0; i < 45; i++) ((double *)sh->data)[45 * f + i] = 0.3 * sin(i);
    double s = scale0 + (vary_scale ? 0.02 * sin(f) : 0), Ry[9], Rx[9], Rs[9];
    mat_rot(0, 0.3 * f, 0, Ry);
    mat_rot(-3.14159265358979323846 / 2, 0, 0, Rx); /* SAM 3D Body axes are y-down: -y -> +z */
    mf_mat3_mul(Rx, Ry, Rs);
    double t[3] = {0.1 * f, -0.2, 1.0 + 0.01 * f};
    ((double *)ss->data)[f] = s;
    memcpy((double *)sR->data + 9 * f, Rs, sizeof Rs);
    memcpy((double *)st->data + 3 * f, t, sizeof t);
    memcpy(ref_m[f], mf, sizeof ref_m[f]);
    ref_sim[f][0] = s;
    memcpy(ref_sim[f] + 1, Rs, sizeof Rs);
    memcpy(ref_sim[f] + 10, t, sizeof t);
    REQUIRE(mhrfit_rig_fk(rig, mf, &pose, NULL, &err));
    double k[210];
    mhrfit_mhr70_from_joints(&pose, k);
    for (int q = 0; q < 70; q++) {
      double x[3] = {k[3 * q] / 100, -k[3 * q + 1] / 100, -k[3 * q + 2] / 100};
      for (int a = 0; a < 3; a++)
        ((double *)kp->data)[(70 * f + q) * 3 + a] = s * (Rs[3 * a] * x[0] + Rs[3 * a + 1] * x[1] + Rs[3 * a + 2] * x[2]) + t[a];
    }
    const char *name = status ? status[f] : "ok";
    for (size_t c = 0; name[c]; c++) ((uint32_t *)stat->data)[24 * f + c] = (uint32_t)name[c];
    if (status && strcmp(name, "optimization_failed") == 0)
      for (int i = 0; i < 204; i++) mf[i] = NAN;
  }
  const char *keys[7] = {"mhr_model_params", "shape_params", "opt_sim_scale", "opt_sim_R", "opt_sim_t", "pred_keypoints_3d", "opt_status"};
  const mhrfit_array *arrs[7] = {m, sh, ss, sR, st, kp, stat};
  CHECK(mhrfit_npz_save(path, 7, keys, arrs, false, &err));
  mhrfit_array *all[7] = {m, sh, ss, sR, st, kp, stat};
  for (int i = 0; i < 7; i++) mhrfit_array_free(all[i]);
}

/* World joints and mesh of frame f as mhrfit computes them (metres, calibration world). */
static void reference(int f, double *joints, double *verts) {
  mhrfit_error err = {0};
  size_t J = rig->n_joints, V = rig->n_vertices;
  double *R = malloc(J * 9 * sizeof *R), *T = malloc(J * 3 * sizeof *T), *S = malloc(J * sizeof *S);
  double *rest = malloc(3 * V * sizeof *rest), *cm = malloc(3 * V * sizeof *cm), shape[45];
  mhrfit_fk_pose pose = {R, T, S};
  REQUIRE(mhrfit_rig_fk(rig, ref_m[f], &pose, NULL, &err));
  for (int i = 0; i < 45; i++) shape[i] = 0.3 * sin(i);
  mhrfit_rig_shaped_vertices(rig, shape, 45, rest);
  mhrfit_rig_skin_rest(rig, &pose, rest, cm);
  const double s = ref_sim[f][0], *Rs = ref_sim[f] + 1, *t = ref_sim[f] + 10;
  for (size_t n = 0; n < J + V; n++) {
    const double *p = n < J ? T + 3 * n : cm + 3 * (n - J);
    double x[3] = {p[0] / 100, -p[1] / 100, -p[2] / 100}, *o = n < J ? joints + 3 * n : verts + 3 * (n - J);
    for (int a = 0; a < 3; a++) o[a] = s * (Rs[3 * a] * x[0] + Rs[3 * a + 1] * x[1] + Rs[3 * a + 2] * x[2]) + t[a];
  }
  free(R), free(T), free(S), free(rest), free(cm);
}

/* ------------------------------------------------------------------ a small glTF reader */

typedef struct gltf_doc {
  mhrfit_value *json;
  const unsigned char *bin;
} gltf_doc;

static const mhrfit_value *jget(const mhrfit_value *v, const char *key) { return v ? mhrfit_value_dict_get(v, key) : NULL; }
static const mhrfit_value *jat(const mhrfit_value *v, size_t i) {
  return v && v->kind == MHRFIT_V_LIST && i < v->u.list.count ? v->u.list.items[i] : NULL;
}
static double jnum(const mhrfit_value *v) { return v ? mhrfit_value_as_double(v) : NAN; }
static size_t jlen(const mhrfit_value *v) { return v && v->kind == MHRFIT_V_LIST ? v->u.list.count : 0; }

/* Element i, component c of accessor a (floats, or unsigned bytes/shorts). */
static double acc_get(const gltf_doc *g, size_t a, size_t i, size_t c) {
  const mhrfit_value *acc = jat(jget(g->json, "accessors"), a);
  const mhrfit_value *view = jat(jget(g->json, "bufferViews"), (size_t)jnum(jget(acc, "bufferView")));
  const char *type = jget(acc, "type")->u.str.data;
  size_t nc = strcmp(type, "SCALAR") == 0 ? 1 : strcmp(type, "VEC3") == 0 ? 3 : strcmp(type, "VEC4") == 0 ? 4 : 16;
  int ct = (int)jnum(jget(acc, "componentType"));
  size_t size = ct == 5126 || ct == 5125 ? 4 : ct == 5123 ? 2 : 1;
  const mhrfit_value *bo = jget(view, "byteOffset");
  const unsigned char *p = g->bin + (size_t)(bo ? jnum(bo) : 0) + (i * nc + c) * size;
  if (ct == 5126) {
    float x;
    memcpy(&x, p, 4);
    return x;
  }
  if (ct == 5123) {
    uint16_t x;
    memcpy(&x, p, 2);
    return x;
  }
  return p[0];
}

/* Node matrices (column-major 4x4, world) at keyframe k: static TRS overridden by channels. */
static void eval_nodes(const gltf_doc *g, size_t k, double (*W)[16]) {
  const mhrfit_value *nodes = jget(g->json, "nodes");
  size_t N = jlen(nodes);
  double (*trs)[10] = calloc(N, sizeof *trs);
  for (size_t n = 0; n < N; n++) {
    const mhrfit_value *nd = jat(nodes, n), *t = jget(nd, "translation"), *r = jget(nd, "rotation"), *s = jget(nd, "scale");
    double d[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    for (int a = 0; a < 3; a++) d[a] = t ? jnum(jat(t, (size_t)a)) : 0;
    for (int a = 0; a < 4; a++) d[3 + a] = r ? jnum(jat(r, (size_t)a)) : (a == 3);
    for (int a = 0; a < 3; a++) d[7 + a] = s ? jnum(jat(s, (size_t)a)) : 1;
    memcpy(trs[n], d, sizeof d);
  }
  const mhrfit_value *anim = jat(jget(g->json, "animations"), 0);
  for (size_t c = 0; c < jlen(jget(anim, "channels")); c++) {
    const mhrfit_value *ch = jat(jget(anim, "channels"), c), *tg = jget(ch, "target");
    size_t node = (size_t)jnum(jget(tg, "node"));
    const char *path = jget(tg, "path")->u.str.data;
    size_t out = (size_t)jnum(jget(jat(jget(anim, "samplers"), (size_t)jnum(jget(ch, "sampler"))), "output"));
    int off = strcmp(path, "translation") == 0 ? 0 : strcmp(path, "rotation") == 0 ? 3 : strcmp(path, "scale") == 0 ? 7 : -1;
    int nc = off == 3 ? 4 : 3;
    for (int a = 0; off >= 0 && a < nc; a++) trs[node][off + a] = acc_get(g, out, k, (size_t)a);
  }
  /* local matrices, then parents first (a node's parent is found by its children lists) */
  long *parent = malloc(N * sizeof *parent);
  for (size_t n = 0; n < N; n++) parent[n] = -1;
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < jlen(jget(jat(nodes, n), "children")); c++) parent[(size_t)jnum(jat(jget(jat(nodes, n), "children"), c))] = (long)n;
  bool *done = calloc(N, 1);
  for (size_t pass = 0; pass < N; pass++)
    for (size_t n = 0; n < N; n++) {
      if (done[n] || (parent[n] >= 0 && !done[parent[n]])) continue;
      double *d = trs[n], x = d[3], y = d[4], z = d[5], w = d[6], L[16] = {0};
      double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                     2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                     2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)};
      for (int r = 0; r < 3; r++) {
        for (int cc = 0; cc < 3; cc++) L[4 * cc + r] = R[3 * r + cc] * d[7 + cc];
        L[12 + r] = d[r];
      }
      L[15] = 1;
      if (parent[n] < 0) {
        memcpy(W[n], L, sizeof L);
      } else {
        const double *P = W[parent[n]];
        for (int r = 0; r < 4; r++)
          for (int cc = 0; cc < 4; cc++) {
            double sum = 0;
            for (int q = 0; q < 4; q++) sum += P[4 * q + r] * L[4 * cc + q];
            W[n][4 * cc + r] = sum;
          }
      }
      done[n] = true;
    }
  free(trs), free(parent), free(done);
}

static bool parse_glb(const unsigned char *data, size_t len, gltf_doc *g) {
  uint32_t h[5];
  if (len < 28) return false;
  memcpy(h, data, sizeof h);
  if (h[0] != 0x46546C67u || h[1] != 2 || h[2] != len || h[4] != 0x4E4F534Au) return false;
  mhrfit_error err = {0};
  g->json = mhrfit_json_parse((const char *)data + 20, h[3], "glb", &err);
  g->bin = data + 20 + h[3] + 8;
  return g->json != NULL;
}

/* ------------------------------------------------------------------ exports */

static void test_glb_matches_mhrfit(void) {
  mhrfit_error err = {0};
  write_sequence(tmp_path("seq.npz"), 1.05, true, NULL);
  mhrfit_export_source *src = mhrfit_export_source_load(tmp_path("seq.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  CHECK_STR(src->kind, "fit");
  CHECK(src->n_frames == NF && src->has_keypoints);
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
  if (!ex) fprintf(stderr, "%s\n", err.message);
  REQUIRE(ex);
  const mhrfit_export_report *r = mhrfit_exporter_report(ex);
  CHECK(r->up == MHRFIT_UP_PZ && r->up_detected && r->up_cosine > 0.9);
  CHECK(r->fps == 30 && strcmp(r->fps_origin, "default") == 0);
  unsigned char *glb = NULL;
  size_t len = 0;
  REQUIRE(mhrfit_exporter_glb(ex, &glb, &len, &err));
  gltf_doc g = {0};
  REQUIRE(parse_glb(glb, len, &g));
  size_t J = rig->n_joints, V = rig->n_vertices;
  const mhrfit_value *nodes = jget(g.json, "nodes");
  CHECK(jlen(jget(jat(jget(g.json, "skins"), 0), "joints")) == J);
  CHECK_STR(jget(jat(nodes, 0), "name")->u.str.data, rig->joint_names[0]);
  CHECK_STR(jget(jat(nodes, J), "name")->u.str.data, "mhr_world");
  CHECK(r->n_keypoints == 49); /* the surface keypoints are never finite in this sequence */
  const mhrfit_value *prim = jat(jget(jat(jget(g.json, "meshes"), 0), "primitives"), 0), *attr = jget(prim, "attributes");
  size_t a_pos = (size_t)jnum(jget(attr, "POSITION")), a_j = (size_t)jnum(jget(attr, "JOINTS_0")),
         a_w = (size_t)jnum(jget(attr, "WEIGHTS_0")), a_ibm = (size_t)jnum(jget(jat(jget(g.json, "skins"), 0), "inverseBindMatrices"));
  CHECK(jget(attr, "JOINTS_1") == NULL); /* LOD6 has at most 4 influences */
  double U[9], (*W)[16] = malloc(jlen(nodes) * sizeof *W), *joints = malloc(J * 3 * sizeof(double)),
               *verts = malloc(V * 3 * sizeof(double));
  mhrfit_up_rotation(MHRFIT_UP_PZ, U);
  double max_j = 0, max_v = 0;
  for (int f = 0; f < NF; f += 4) {
    eval_nodes(&g, (size_t)f, W);
    reference(f, joints, verts);
    for (size_t k = 0; k < J; k++)
      for (int a = 0; a < 3; a++) {
        double want = U[3 * a] * joints[3 * k] + U[3 * a + 1] * joints[3 * k + 1] + U[3 * a + 2] * joints[3 * k + 2];
        max_j = fmax(max_j, fabs(W[k][12 + a] - want));
      }
    for (size_t v = 0; v < V; v++) {
      double p[3] = {acc_get(&g, a_pos, v, 0), acc_get(&g, a_pos, v, 1), acc_get(&g, a_pos, v, 2)}, out[3] = {0, 0, 0};
      for (size_t q = 0; q < 4; q++) {
        double w = acc_get(&g, a_w, v, q);
        size_t jn = (size_t)acc_get(&g, a_j, v, q);
        if (w == 0) continue;
        double ibm[16], b[3];
        for (int e = 0; e < 16; e++) ibm[e] = acc_get(&g, a_ibm, jn, (size_t)e);
        for (int a = 0; a < 3; a++) b[a] = ibm[a] * p[0] + ibm[4 + a] * p[1] + ibm[8 + a] * p[2] + ibm[12 + a];
        for (int a = 0; a < 3; a++)
          out[a] += w * (W[jn][a] * b[0] + W[jn][4 + a] * b[1] + W[jn][8 + a] * b[2] + W[jn][12 + a]);
      }
      for (int a = 0; a < 3; a++) {
        double want = U[3 * a] * verts[3 * v] + U[3 * a + 1] * verts[3 * v + 1] + U[3 * a + 2] * verts[3 * v + 2];
        max_v = fmax(max_v, fabs(out[a] - want));
      }
    }
  }
  printf("    glTF evaluated: joints within %.2g m, skinned vertices within %.2g m of mhrfit's\n", max_j, max_v);
  CHECK(max_j < 2e-6);
  CHECK(max_v < 2e-6);
  /* keypoint 5 (left shoulder = joint l_uparm) at a keyframe: U times the archive's keypoint */
  long kpn = -1;
  for (size_t n = 0; n < jlen(nodes); n++)
    if (strcmp(jget(jat(nodes, n), "name")->u.str.data, "left_shoulder") == 0) kpn = (long)n;
  REQUIRE(kpn >= 0);
  eval_nodes(&g, 3, W);
  reference(3, joints, verts);
  long ls = mhrfit_rig_joint_index(rig, "l_uparm");
  for (int a = 0; a < 3; a++)
    CHECK_NEAR(W[kpn][12 + a], U[3 * a] * joints[3 * ls] + U[3 * a + 1] * joints[3 * ls + 1] + U[3 * a + 2] * joints[3 * ls + 2], 2e-6);
  free(W), free(joints), free(verts), free(glb);
  mhrfit_value_free(g.json);
  /* a file: the same bytes */
  REQUIRE(mhrfit_exporter_write(ex, tmp_path("seq.glb"), &err));
  CHECK(r->n_files == 1 && r->bytes == len);
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
}

/* A fit archive of another keypoint set (a run on a detector's keypoints): K keypoints named by
 * `keypoint_names` (else kp_0, ...) read, written as glTF keypoint nodes and TRC markers. */
static void test_any_keypoint_set(void) {
  mhrfit_error err = {0};
  write_sequence(tmp_path("seq70.npz"), 1.0, false, NULL);
  mhrfit_value *d = mhrfit_npz_load(tmp_path("seq70.npz"), NULL, &err);
  REQUIRE(d);
  const mhrfit_array *kp70 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
  static const int pick[5] = {5, 6, 11, 12, 41}; /* joint keypoints: shoulders, knees, right wrist */
  size_t s_k[3] = {NF, 5, 3}, s_n[1] = {5};
  mhrfit_array *kp = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, s_k, 0, &err);
  mhrfit_array *names = mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * 16, 1, s_n, 0, &err);
  REQUIRE(kp && names);
  static const char *const kn[5] = {"LShoulder", "RShoulder", "LKnee", "RKnee", "RWrist"};
  for (int k = 0; k < 5; k++)
    for (size_t c = 0; kn[k][c]; c++) ((uint32_t *)names->data)[16 * k + c] = (uint32_t)kn[k][c];
  for (int f = 0; f < NF; f++)
    for (int k = 0; k < 5; k++)
      for (int a = 0; a < 3; a++)
        ((double *)kp->data)[(5 * f + k) * 3 + a] = mhrfit_array_get_f64(kp70, (size_t)((70 * f + pick[k]) * 3 + a));
  const char *keys[7] = {"mhr_model_params", "shape_params", "opt_sim_scale", "opt_sim_R", "opt_sim_t", "pred_keypoints_3d",
                         "keypoint_names"};
  const mhrfit_array *arrs[7];
  for (int i = 0; i < 5; i++) arrs[i] = mhrfit_value_dict_get(d, keys[i])->u.array;
  arrs[5] = kp;
  arrs[6] = names;
  REQUIRE(mhrfit_npz_save(tmp_path("seq5.npz"), 7, keys, arrs, false, &err));
  REQUIRE(mhrfit_npz_save(tmp_path("seq5_unnamed.npz"), 6, keys, arrs, false, &err));
  mhrfit_export_source *src = mhrfit_export_source_load(tmp_path("seq5.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  CHECK(src->n_kp == 5 && src->has_keypoints && src->keypoint_names);
  CHECK_STR(mf_export_keypoint_name(src, 1), "RShoulder");
  CHECK(src->keypoints[(5 * 3 + 1) * 3 + 2] == ((double *)kp->data)[(5 * 3 + 1) * 3 + 2]);
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  unsigned char *glb = NULL;
  size_t len = 0;
  REQUIRE(mhrfit_exporter_glb(ex, &glb, &len, &err));
  CHECK(mhrfit_exporter_report(ex)->n_keypoints == 5);
  gltf_doc g = {0};
  REQUIRE(parse_glb(glb, len, &g));
  const mhrfit_value *nodes = jget(g.json, "nodes");
  long ls = -1;
  for (size_t n = 0; n < jlen(nodes); n++)
    if (strcmp(jget(jat(nodes, n), "name")->u.str.data, "RShoulder") == 0) ls = (long)n;
  REQUIRE(ls >= 0);
  double (*W)[16] = malloc(jlen(nodes) * sizeof *W), U[9];
  eval_nodes(&g, 3, W);
  mhrfit_up_rotation(mhrfit_exporter_report(ex)->up, U);
  const double *p = src->keypoints + (5 * 3 + 1) * 3;
  for (int a = 0; a < 3; a++) CHECK_NEAR(W[ls][12 + a], U[3 * a] * p[0] + U[3 * a + 1] * p[1] + U[3 * a + 2] * p[2], 1e-6);
  free(W), free(glb);
  mhrfit_value_free(g.json);
  mhrfit_exporter_free(ex);
  o.format = MHRFIT_EXPORT_TRC;
  ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex && mhrfit_exporter_write(ex, tmp_path("seq5.trc"), &err));
  FILE *f = fopen(tmp_path("seq5.trc"), "r");
  char line[4096] = "";
  for (int i = 0; f && i < 4 && fgets(line, sizeof line, f); i++) continue;
  if (f) fclose(f);
  CHECK_CONTAINS(line, "Frame#\tTime\tLShoulder\t\t\tRShoulder\t\t\tLKnee\t\t\tRKnee\t\t\tRWrist");
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
  src = mhrfit_export_source_load(tmp_path("seq5_unnamed.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  CHECK(src->n_kp == 5);
  CHECK_STR(mf_export_keypoint_name(src, 4), "kp_4");
  mhrfit_export_source_free(src);
  mhrfit_array_free(kp);
  mhrfit_array_free(names);
  mhrfit_value_free(d);
}

static void test_bvh_baked_scales(void) {
  mhrfit_error err = {0};
  /* constant scales: exact; bone lengths vary in this sequence: pin them first */
  write_sequence(tmp_path("const.npz"), 1.0, false, NULL);
  mhrfit_export_source *src = mhrfit_export_source_load(tmp_path("const.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  for (size_t f = 0; f < src->n_frames; f++)
    for (int i = 130; i < 136; i++) src->model_params[204 * f + i] = 0.1;
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.format = MHRFIT_EXPORT_BVH;
  mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  REQUIRE(mhrfit_exporter_write(ex, tmp_path("const.bvh"), &err));
  printf("    BVH, constant scales: offsets off by %.2g m, joints by %.2g m\n", ex->rep.bvh_offset_dev_m, ex->rep.bvh_max_dev_m);
  CHECK(ex->rep.bvh_offset_dev_m < 1e-12);
  CHECK(ex->rep.bvh_max_dev_m < 1e-9);
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
  /* varying similarity scale and bone lengths: the deviation is measured and reported */
  src = mhrfit_export_source_load(tmp_path("seq.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  REQUIRE(mhrfit_exporter_write(ex, tmp_path("seq.bvh"), &err));
  printf("    BVH, varying scales: offsets off by %.2g m, joints by %.2g m\n", ex->rep.bvh_offset_dev_m, ex->rep.bvh_max_dev_m);
  CHECK(ex->rep.bvh_offset_dev_m > 1e-4 && ex->rep.bvh_max_dev_m > 1e-3 && ex->rep.bvh_max_dev_m < 0.2);
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
}

static void test_status_and_errors(void) {
  mhrfit_error err = {0};
  const char *status[NF] = {"ok", "bad_loss", "ok", "optimization_failed", "recovered_interp", "ok", "ok", "bad_loss", "ok"};
  write_sequence(tmp_path("status.npz"), 1.0, false, status);
  mhrfit_export_source *src = mhrfit_export_source_load(tmp_path("status.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  CHECK(mhrfit_export_status_class("recovered_copy") == 0 && mhrfit_export_status_class("bad_loss") == 1 &&
        mhrfit_export_status_class("missing_views") == 2);
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.format = MHRFIT_EXPORT_NPZ;
  mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  CHECK(ex->rep.n_exported == 6 && ex->rep.n_skipped_bad == 2 && ex->rep.n_failed == 1);
  REQUIRE(mhrfit_exporter_write(ex, tmp_path("st"), &err));
  CHECK(access(tmp_path("st/000004/mhr_params.npz"), F_OK) == 0 && access(tmp_path("st/000001"), F_OK) != 0);
  mhrfit_value *p = mhrfit_npz_load(tmp_path("st/000004/mhr_params.npz"), NULL, &err);
  REQUIRE(p);
  CHECK(mhrfit_array_get_f64(mhrfit_value_dict_get(p, "frame_index")->u.array, 0) == 4);
  CHECK_NEAR(mhrfit_array_get_f64(mhrfit_value_dict_get(p, "mhr_model_params")->u.array, 50), (float)ref_m[4][50], 0);
  mhrfit_value_free(p);
  mhrfit_exporter_free(ex);
  o.keep_bad = true;
  o.frame_begin = 1, o.frame_end = 4;
  ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  CHECK(ex->rep.n_total == 3 && ex->rep.n_exported == 2 && ex->rep.n_failed == 1 && ex->frames[0] == 1);
  mhrfit_exporter_free(ex);
  /* nothing left to export; an empty range; bad options */
  o.keep_bad = false, o.frame_begin = 3, o.frame_end = 4;
  CHECK(!mhrfit_exporter_new(rig, src, &o, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "no frame to export in 3:4");
  o.frame_begin = 20, o.frame_end = 0;
  CHECK(!mhrfit_exporter_new(rig, src, &o, &err) && strstr(err.message, "is empty"));
  mhrfit_export_options_init(&o);
  o.max_influences = 5;
  CHECK(!mhrfit_exporter_new(rig, src, &o, &err) && strstr(err.message, "max_influences"));
  /* a NaN in a frame to export */
  mhrfit_export_options_init(&o);
  src->shape_params[45 * 5 + 7] = NAN;
  CHECK(!mhrfit_exporter_new(rig, src, &o, &err) && err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, "status.npz: frame 000005 (index 5, status ok): shape_params[7] is not finite");
  mhrfit_export_source_free(src);
  /* sources that are not one */
  CHECK(!mhrfit_export_source_load(tmp, NULL, NULL, 0, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "not a run folder");
  CHECK(!mhrfit_export_source_load(tmp_path("none.npz"), NULL, NULL, 0, &err) && err.type == MHRFIT_ERR_IO);
  mhrfit_export_format fmt;
  CHECK(!mhrfit_export_format_from_path("a/b.fbx", &fmt, &err) && strstr(err.message, "'.fbx'"));
  CHECK(mhrfit_export_format_from_path("a.b/c.GLB", &fmt, &err) && fmt == MHRFIT_EXPORT_GLB);
  CHECK(!mhrfit_export_format_from_path("a.b/c", &fmt, &err));
}

/* With pose correctives (layer 1 of the assets, a synthetic layer 2): glTF reports what it
 * cannot carry, the per-frame mesh applies them. */
static void test_correctives(void) {
  mhrfit_error err = {0};
  mhrfit_rig *rc = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  REQUIRE(rc);
  if (!rc->corr_start) {
    mhrfit_rig_free(rc);
    test_skip("no corrective_activation.npz in the assets");
  }
  size_t V = rc->n_vertices, H = rc->n_corr_hidden;
  if (!rc->corr_blend) {
    rc->corr_blend = malloc(H * V * 3 * sizeof(float));
    REQUIRE(rc->corr_blend);
    for (size_t i = 0; i < H * V * 3; i++) rc->corr_blend[i] = (float)(0.02 * sin(0.37 * (double)i));
  }
  REQUIRE(mhrfit_rig_has_correctives(rc));
  write_sequence(tmp_path("seq.npz"), 1.05, true, NULL); /* and its reference values */
  mhrfit_export_source *src = mhrfit_export_source_load(tmp_path("seq.npz"), NULL, NULL, 0, &err);
  REQUIRE(src);
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.corrective_frames = 4;
  mhrfit_exporter *ex = mhrfit_exporter_new(rc, src, &o, &err);
  REQUIRE(ex);
  unsigned char *glb = NULL;
  size_t len = 0;
  REQUIRE(mhrfit_exporter_glb(ex, &glb, &len, &err));
  free(glb);
  const mhrfit_export_report *r = mhrfit_exporter_report(ex);
  printf("    correctives: %zu frames, mean %.3g m, worst mean %.3g m, max %.3g m\n", r->corr_frames, r->corr_mean_m,
         r->corr_mean_max_m, r->corr_max_m);
  CHECK(r->correctives && r->corr_frames == 4);
  CHECK(r->corr_mean_m > 1e-5 && r->corr_mean_m <= r->corr_mean_max_m && r->corr_mean_max_m < r->corr_max_m);
  /* the per-frame mesh is the full one: off the plain skinning by the correctives */
  size_t J = rc->n_joints;
  double *work = malloc((mhrfit_rig_skin_work_size(rc) + 20 * J + 6 * V) * sizeof(double)), *w = malloc(3 * V * sizeof(double));
  double *joints = malloc(3 * J * sizeof(double)), *lbs = malloc(3 * V * sizeof(double));
  REQUIRE(work && w && joints && lbs);
  REQUIRE(mf_export_world_mesh(rc, src, 2, work, w, &err));
  reference(2, joints, lbs);
  double d = 0;
  for (size_t i = 0; i < 3 * V; i++) d = fmax(d, fabs(w[i] - lbs[i]));
  printf("    frame 2: the per-frame mesh is %.3g m off the plain skinning\n", d);
  CHECK(d > 1e-5 && d <= r->corr_max_m * 1.5);
  free(work), free(w), free(joints), free(lbs);
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
  mhrfit_rig_free(rc);
}

static void test_sam3d_source(void) {
  mhrfit_error err = {0};
  mhrfit_export_source *src =
      mhrfit_export_source_load(TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz"), NULL, NULL, 0, &err);
  if (!src && err.type == MHRFIT_ERR_IO) test_skip("no shared test data");
  REQUIRE(src);
  CHECK_STR(src->kind, "sam3d");
  CHECK_STR(src->frame_names[0], "img_subj00");
  CHECK(src->n_frames == 1 && src->has_keypoints && src->sim[0] == 1 && src->sim[12] > 1); /* pred_cam_t z: metres ahead */
  mhrfit_export_options o;
  mhrfit_export_options_init(&o);
  o.format = MHRFIT_EXPORT_TRC;
  mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
  REQUIRE(ex);
  CHECK(ex->rep.up == MHRFIT_UP_NY); /* camera axes: y down */
  REQUIRE(mhrfit_exporter_write(ex, tmp_path("sam.trc"), &err));
  mhrfit_exporter_free(ex);
  mhrfit_export_source_free(src);
}

int main(void) {
  mhrfit_error err = {0};
  RUN(test_up_axis);
  rig = mhrfit_rig_load_flags(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, MHRFIT_RIG_NO_CORRECTIVES, &err);
  if (!rig) fprintf(stderr, "no rig: %s\n", err.message);
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_export_XXXXXX");
  if (rig && mkdtemp(tmp)) {
    RUN(test_glb_matches_mhrfit);
    RUN(test_any_keypoint_set);
    RUN(test_bvh_baked_scales);
    RUN(test_status_and_errors);
    RUN(test_correctives);
    RUN(test_sam3d_source);
    if (!getenv("MHRFIT_KEEP_TMP")) {
      char cmd[512];
      snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
      if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    }
  } else {
    th_failed++;
  }
  mhrfit_rig_free(rig);
  return test_report();
}
