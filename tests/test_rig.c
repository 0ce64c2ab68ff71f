/* The MHR rig from the official assets: counts (DATA.md §3), rest pose (MHR.md §11.1), skin bind
 * transforms, and forward kinematics against real SAM 3D Body outputs (DATA.md §2.5). */
#include "harness.h"

#include <math.h>

#include "body/fbx.h"
#include "body/model_file.h"
#include "common/file.h"
#include "mhrfit/npy.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"

static mhrfit_rig *rig;

static void load(void) {
  mhrfit_error err = {0};
  rig = mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), -1, &err);
  if (!rig) fprintf(stderr, "%s\n", err.message);
  REQUIRE(rig);
}

static void test_counts(void) {
  REQUIRE(rig);
  CHECK(rig->n_joints == 127 && rig->n_params == 204);
  CHECK_STR(rig->param_names[0], "root_tx");
  CHECK_STR(rig->param_names[203], "scale_l_thumb_null_tx");
  CHECK(rig->n_pt == 368 && rig->n_limits == 198);
  size_t driven = 0;
  for (size_t i = 0; i < rig->n_pt; i++) driven += i == 0 || rig->pt[i].row != rig->pt[i - 1].row;
  CHECK(driven == 295);
  CHECK(rig->lod == 6 && rig->n_vertices == 595 && rig->n_faces == 1186 && rig->n_skin == 1747);
  CHECK(rig->n_shapes == 117);
  CHECK(rig->n_shapes == 117 && rig->shape_start[1] - rig->shape_start[0] == 282);
  /* blend shapes move the affected vertices and only them */
  double c[1] = {1.0};
  static double shaped[595 * 3];
  mhrfit_rig_shaped_vertices(rig, c, 1, shaped);
  size_t changed = 0;
  for (size_t v = 0; v < 595; v++)
    changed += shaped[3 * v] != rig->vertices[3 * v] || shaped[3 * v + 1] != rig->vertices[3 * v + 1] ||
               shaped[3 * v + 2] != rig->vertices[3 * v + 2];
  CHECK(changed > 0 && changed <= 282);
  CHECK_STR(rig->joint_names[0], "body_world");
  CHECK_STR(rig->joint_names[1], "root");
  CHECK(rig->parents[0] == -1);
  for (size_t j = 1; j < rig->n_joints; j++) CHECK(rig->parents[j] >= 0 && rig->parents[j] < (int)j);
  /* skin weights sum to 1 per vertex */
  static double wsum[595];
  for (size_t i = 0; i < rig->n_skin; i++) wsum[rig->skin_vertex[i]] += rig->skin_weight[i];
  double worst = 0;
  for (size_t v = 0; v < 595; v++) worst = fmax(worst, fabs(wsum[v] - 1.0));
  CHECK(worst < 1e-5);
  long r = mhrfit_rig_param_index(rig, "root_tx");
  CHECK(r == 0);
  /* root.tx = 10 * root_tx: decimetres */
  CHECK(rig->pt[0].row == 7 * 1 + 0 && rig->pt[0].coeff == 10.0);
}

static void test_rest_pose(void) {
  REQUIRE(rig);
  static double R[127 * 9], t[127 * 3], s[127];
  mhrfit_fk_pose pose = {R, t, s};
  double m[204] = {0};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
  static const struct { int j; double x, y, z; } want[] = {
      {1, 0, 92.399, 0},        {2, 8.205, 90.558, 0.533},     {3, 13.211, 48.952, -1.890},
      {5, 18.000, 7.389, -6.188}, {8, 19.465, 2.082, 7.541},   {18, -8.205, 90.558, 0.533},
      {19, -13.211, 48.952, -1.890}, {34, 0, 94.421, -3.254}, {37, 0, 134.832, -3.713},
      {39, -17.586, 141.940, -3.216}, {75, 17.586, 141.940, -3.216}, {42, -53.986, 111.331, 13.185},
      {78, 53.986, 111.331, 13.185}, {110, 0, 144.191, 0.683}, {111, 0, 148.945, 2.114},
      {113, 0, 153.699, 3.545}, {122, -3.208, 162.532, 10.533}, {124, 3.208, 162.532, 10.533}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    CHECK_NEAR(t[3 * want[i].j], want[i].x, 6e-4);
    CHECK_NEAR(t[3 * want[i].j + 1], want[i].y, 6e-4);
    CHECK_NEAR(t[3 * want[i].j + 2], want[i].z, 6e-4);
  }
  static const double lup[9] = {0.1188, -0.0279, 0.9925, -0.9900, 0.0733, 0.1205, -0.0761, -0.9969, -0.0189};
  for (int i = 0; i < 9; i++) CHECK_NEAR(R[18 + i], lup[i], 6e-5);
  CHECK_NEAR(rig->offsets[3 * 2], 8.2046, 1e-4);
  /* every cluster's TransformLink is the joint's rest global transform (column-major 4x4) */
  double worst = 0;
  int n = 0;
  for (size_t j = 0; j < 127; j++) {
    const double *B = rig->bind_global + 16 * j;
    if (isnan(B[0])) continue;
    n++;
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++) worst = fmax(worst, fabs(B[4 * c + r] - R[9 * j + 3 * r + c]));
      worst = fmax(worst, fabs(B[12 + r] - t[3 * j + r]) / 100.0);
    }
  }
  printf("  %d TransformLinks, max |rest FK - TransformLink| %.3g\n", n, worst);
  CHECK(n == 127);
  CHECK(worst < 1e-9);
}

static void test_fk_vs_sam3d(void) {
  REQUIRE(rig);
  static const struct { int first, last; } stale[3] = {{41, 68}, {77, 104}, {41, 68}};
  for (int subj = 0; subj < 3; subj++) {
    char rel[64];
    snprintf(rel, sizeof rel, "mhr_sam3d_body_outputs/img_subj%02d.npz", subj);
    mhrfit_error err = {0};
    mhrfit_value *d = mhrfit_npz_load(TESTDATA(rel), NULL, &err);
    REQUIRE(d);
    const mhrfit_array *mp = mhrfit_value_dict_get(d, "mhr_model_params")->u.array;
    const mhrfit_array *jc = mhrfit_value_dict_get(d, "pred_joint_coords")->u.array;
    const mhrfit_array *gr = mhrfit_value_dict_get(d, "pred_global_rots")->u.array;
    double m[204];
    for (int i = 0; i < 204; i++) m[i] = mhrfit_array_get_f64(mp, (size_t)i);
    static double R[127 * 9], t[127 * 3], s[127];
    mhrfit_fk_pose pose = {R, t, s};
    REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
    double worst_p = 0, worst_r = 0;
    for (int j = 0; j < 127; j++) {
      double sam[3];
      mhrfit_mhr_to_sam3d(t + 3 * j, sam);
      for (int a = 0; a < 3; a++) worst_p = fmax(worst_p, fabs(sam[a] - mhrfit_array_get_f64(jc, (size_t)(3 * j + a))));
      if (j >= stale[subj].first && j <= stale[subj].last) continue;
      for (int k = 0; k < 9; k++) worst_r = fmax(worst_r, fabs(R[9 * j + k] - mhrfit_array_get_f64(gr, (size_t)(9 * j + k))));
    }
    /* joint-exact keypoints against pred_keypoints_3d */
    const mhrfit_array *k3 = mhrfit_value_dict_get(d, "pred_keypoints_3d")->u.array;
    double kp[210], worst_k = 0;
    CHECK(mhrfit_mhr70_from_joints(&pose, kp) == 49);
    int n_kp = 0;
    for (int k = 0; k < 70; k++) {
      if (isnan(kp[3 * k])) continue;
      double sam[3];
      mhrfit_mhr_to_sam3d(kp + 3 * k, sam);
      for (int a = 0; a < 3; a++) worst_k = fmax(worst_k, fabs(sam[a] - mhrfit_array_get_f64(k3, (size_t)(3 * k + a))));
      n_kp++;
    }
    CHECK(n_kp == 49);
    CHECK(worst_k <= 1e-6);
    printf("  img_subj%02d: 49 joint keypoints, max diff to pred_keypoints_3d %.3g m\n", subj, worst_k);
    double wr = s[42], wl = s[78];
    printf("  img_subj%02d: max joint diff %.3g m, max rotation diff %.3g, wrist scales %.7f %.7f\n", subj, worst_p,
           worst_r, wr, wl);
    CHECK(worst_p <= 3e-7);
    CHECK(worst_r <= 3e-7);
    CHECK_NEAR(wr, exp2(m[144]), 1e-12);
    CHECK_NEAR(wl, exp2(m[145]), 1e-12);
    mhrfit_value_free(d);
  }
}

static void test_skinning(void) {
  REQUIRE(rig);
  static double R[127 * 9], t[127 * 3], s[127], v[595 * 3];
  mhrfit_fk_pose pose = {R, t, s};
  double m[204] = {0};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, NULL, &err));
  mhrfit_rig_skin(rig, &pose, v);
  double worst = 0, ymin = 1e9, ymax = -1e9, xmax = 0;
  for (size_t i = 0; i < 595 * 3; i++) worst = fmax(worst, fabs(v[i] - rig->vertices[i]));
  for (size_t i = 0; i < 595; i++) {
    ymin = fmin(ymin, v[3 * i + 1]);
    ymax = fmax(ymax, v[3 * i + 1]);
    xmax = fmax(xmax, fabs(v[3 * i]));
  }
  printf("  rest skinning: max |skinned - rest| %.3g cm; y %.3f..%.2f, |x| <= %.2f cm\n", worst, ymin, ymax, xmax);
  CHECK(worst < 1e-5); /* skin weights sum to 1 only to float precision */
  CHECK_NEAR(ymin, -0.015, 0.001);
  CHECK_NEAR(ymax, 172.58, 0.01);
  CHECK_NEAR(xmax, 65.29, 0.01);
  /* a bent knee moves the shin vertices and nothing above the hips */
  double m2[204] = {0};
  long knee = -1;
  for (size_t i = 0; i < rig->n_params && knee < 0; i++)
    if (strstr(rig->param_names[i], "knee") && strstr(rig->param_names[i], "l_")) knee = (long)i;
  REQUIRE(knee >= 0);
  m2[knee] = 1.0;
  REQUIRE(mhrfit_rig_fk(rig, m2, &pose, NULL, &err));
  static double v2[595 * 3];
  mhrfit_rig_skin(rig, &pose, v2);
  double moved = 0, head_moved = 0;
  for (size_t i = 0; i < 595; i++) {
    double d = fabs(v2[3 * i] - v[3 * i]) + fabs(v2[3 * i + 1] - v[3 * i + 1]) + fabs(v2[3 * i + 2] - v[3 * i + 2]);
    moved = fmax(moved, d);
    if (v[3 * i + 1] > 100) head_moved = fmax(head_moved, d);
  }
  CHECK(moved > 5.0);
  CHECK(head_moved < 1e-9);
}

static void test_sam3d_params(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(TESTDATA("mhr_sam3d_body_outputs/img_subj01.npz"), NULL, &err);
  REQUIRE(d);
  double m[204], bp[133];
  int defaulted = -1;
  REQUIRE(mhrfit_sam3d_model_params(d, m, &defaulted, &err));
  CHECK(defaulted == 0);
  CHECK_NEAR(m[68], 0.3171003, 1e-6);
  mhrfit_body_pose_from_model(m, bp);
  const mhrfit_array *sbp = mhrfit_value_dict_get(d, "body_pose_params")->u.array;
  for (int i = 0; i < 130; i++)
    if (i < 62 || i > 115) CHECK(bp[i] == mhrfit_array_get_f64(sbp, (size_t)i));
  CHECK(bp[130] == 0 && bp[132] == 0);
  /* without mhr_model_params: assembled, hands and scales reported as defaulted */
  mhrfit_value *copy = mhrfit_value_clone(d, &err);
  REQUIRE(copy);
  for (size_t i = 0; i < copy->u.dict.count; i++)
    if (strcmp(copy->u.dict.keys[i], "mhr_model_params") == 0) copy->u.dict.keys[i][0] = 'X';
  double m2[204];
  REQUIRE(mhrfit_sam3d_model_params(copy, m2, &defaulted, &err));
  CHECK(defaulted == (MHRFIT_SAM3D_HANDS_ZERO | MHRFIT_SAM3D_SCALES_ZERO));
  for (int i = 0; i < 136; i++)
    if (i < 68 || i > 121) CHECK(m2[i] == m[i]);
  CHECK(m2[140] == 0.0);
  mhrfit_value_free(copy);
  mhrfit_value *empty = mhrfit_value_new_dict(&err);
  CHECK(!mhrfit_sam3d_model_params(empty, m2, NULL, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  mhrfit_value_free(empty);
  mhrfit_value_free(d);
}

static void test_jacobian(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz"), NULL, &err);
  REQUIRE(d);
  double m[204];
  REQUIRE(mhrfit_sam3d_model_params(d, m, NULL, &err));
  mhrfit_value_free(d);
  static double R[127 * 9], t[127 * 3], s[127], jp[889], J[381 * 204], tp[127 * 3], tm[127 * 3];
  mhrfit_fk_pose pose = {R, t, s};
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, jp, &err));
  mhrfit_rig_joint_jacobian(rig, &pose, jp, J);
  double worst = 0;
  for (size_t i = 0; i < 204; i++) {
    double h = 1e-6, keep = m[i];
    mhrfit_fk_pose pp = {R, tp, s}, pm = {R, tm, s};
    m[i] = keep + h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pp, NULL, &err));
    m[i] = keep - h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pm, NULL, &err));
    m[i] = keep;
    for (size_t r = 0; r < 381; r++) {
      double fd = (tp[r] - tm[r]) / (2 * h), an = J[r * 204 + i];
      worst = fmax(worst, fabs(fd - an) / fmax(1.0, fabs(fd)));
    }
  }
  printf("  joint Jacobian vs central differences: max relative error %.3g\n", worst);
  CHECK(worst < 1e-6);
}

/* Every table entry is checked against the parameter names of the .model file. */
static bool name_has_any(const char *name, const char *const *words) {
  for (; *words; words++)
    if (strstr(name, *words)) return true;
  return false;
}

static void test_param_sets(void) {
  REQUIRE(rig);
  static const char *const leg_words[] = {"upleg", "knee", "lowleg", "foot", "subtalar", "talocrural", "ball",
                                          "hip_width", "leg_length", "root_", NULL};
  static const char *const finger_words[] = {"thumb", "index", "middle", "ring", "pinky", NULL};
  mhrfit_error err = {0};
  const int *idx;
  size_t n;
  for (int dim = 133; dim <= 204; dim += 71) {
    int off = dim == 133 ? 6 : 0;
    REQUIRE(mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, dim, &idx, &n, &err));
    CHECK(n == (dim == 133 ? 28u : 34u));
    for (size_t i = 0; i < n; i++) {
      CHECK(i == 0 || idx[i] > idx[i - 1]);
      const char *nm = rig->param_names[idx[i] + off];
      CHECK(name_has_any(nm, leg_words));
    }
    /* and no leg parameter outside the table (pose and flexible parameters 0..135) */
    for (int p = off; p < 136; p++) {
      bool in = false;
      for (size_t i = 0; i < n; i++) in = in || idx[i] + off == p;
      if (!in && !strstr(rig->param_names[p], "root_")) CHECK(!name_has_any(rig->param_names[p], leg_words));
    }
    REQUIRE(mhrfit_param_set_get(MHRFIT_SET_HANDS, dim, &idx, &n, &err));
    CHECK(n == 54);
    for (size_t i = 0; i < n; i++) CHECK(name_has_any(rig->param_names[idx[i] + off], finger_words));
  }
  REQUIRE(mhrfit_param_set_get(MHRFIT_SET_JAW, 133, &idx, &n, &err));
  CHECK(n == 3 && idx[0] == 130);
  CHECK(!mhrfit_param_set_get(MHRFIT_SET_LOWER_BODY, 260, &idx, &n, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "pose dimension 260");
  CHECK_CONTAINS(err.message, "133");
}

static void test_bad_assets(void) {
  mhrfit_error err = {0};
  CHECK(!mhrfit_rig_load("/nonexistent", -1, &err) && err.type == MHRFIT_ERR_IO);
  CHECK(!mhrfit_rig_load(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), 3, &err));
  CHECK_CONTAINS(err.message, "lod3.fbx");
  double m[204] = {0};
  m[7] = NAN;
  static double R[127 * 9], t[127 * 3], s[127];
  mhrfit_fk_pose pose = {R, t, s};
  CHECK(!mhrfit_rig_fk(rig, m, &pose, NULL, &err) && err.type == MHRFIT_ERR_NUMERIC);
}

/* A tiny synthetic FBX (tools/make_fbx_seed.py): raw and zlib arrays, parents, mesh, cluster;
 * then every truncation of it fails cleanly. */
static void test_synthetic_fbx(void) {
  mhrfit_error err = {0};
  unsigned char *data;
  size_t len;
  REQUIRE(mf_read_file(FIXTURE("fbx/tiny_rig.fbx"), 0, &data, &len, &err));
  mf_fbx *f = mf_fbx_parse(data, len, "tiny_rig.fbx", 0, &err);
  if (!f) fprintf(stderr, "%s\n", err.message);
  REQUIRE(f);
  mf_fbx_rig r;
  REQUIRE(mf_fbx_extract_rig(f, "tiny_rig.fbx", &r, &err));
  CHECK(r.n_joints == 2 && r.parents[0] == -1 && r.parents[1] == 0);
  CHECK_STR(r.joint_names[1], "root");
  CHECK(r.offsets[4] == 92.3987);
  CHECK(r.n_vertices == 4 && r.n_faces == 2 && r.faces[5] == 2);
  CHECK(r.n_skin == 4 && r.skin_joint[0] == 1);
  CHECK(r.bind_global[16 + 13] == 92.3987);
  mf_fbx_rig_free(&r);
  mf_fbx_free(f);
  int failures = 0;
  for (size_t cut = 0; cut < len - 25; cut++) {
    mf_fbx *g = mf_fbx_parse(data, cut, "cut.fbx", 0, &err);
    if (!g) failures++;
    else {
      mf_fbx_rig rr;
      if (mf_fbx_extract_rig(g, "cut.fbx", &rr, &err)) mf_fbx_rig_free(&rr);
      mf_fbx_free(g);
    }
  }
  CHECK(failures > 0);
  CHECK_CONTAINS(err.message, "cut.fbx");
  /* a record whose end offset lies inside its own header (found by fuzzing: it used to make the
   * property count look huge) */
  unsigned char *bad = malloc(len);
  REQUIRE(bad);
  memcpy(bad, data, len);
  uint64_t end = 30;
  for (int i = 0; i < 8; i++) bad[27 + i] = (unsigned char)(end >> (8 * i));
  mhrfit_error e2 = {0};
  mf_fbx *g = mf_fbx_parse(bad, len, "bad_end.fbx", 0, &e2);
  CHECK(g == NULL && e2.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(e2.message, "record end out of range");
  mf_fbx_free(g);
  free(bad);
  free(data);
}

static void test_model_errors(void) {
  char names[2][64] = {"root", "a"};
  static const struct { const char *text, *needle; } bad[] = {
      {"Something else\n", "not a momentum model file"},
      {"Momentum Model Definition V1.0\n[ParameterTransform]\nnope.tx = 1.0 * p\n", "unknown joint channel 'nope.tx'"},
      {"Momentum Model Definition V1.0\n[ParameterTransform]\nroot.qq = 1.0 * p\n", "unknown joint channel"},
      {"Momentum Model Definition V1.0\n[ParameterTransform]\nroot.tx = 3.0\n", "not 'coefficient * parameter'"},
      {"Momentum Model Definition V1.0\n[ParameterTransform]\nroot.tx = 1.0 * a.rx\n", "bad term"},
      {"Momentum Model Definition V1.0\n[Limits]\nlimit ghost minmax [0, 1]\n", "unknown parameter 'ghost'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mhrfit_rig r = {0};
    r.n_joints = 2;
    r.joint_names = names;
    mhrfit_error err = {0};
    CHECK(!mf_model_parse(bad[i].text, strlen(bad[i].text), "x.model", &r, &err));
    CHECK_CONTAINS(err.message, "x.model");
    CHECK_CONTAINS(err.message, bad[i].needle);
    free(r.param_names);
    free(r.pt);
    free(r.limits);
  }
  /* duplicate terms add up; zero coefficients are dropped */
  const char *dup = "Momentum Model Definition V1.0\n[ParameterTransform]\nroot.tx = 1.0 * p + 2.0 * p + 0.0 * q\n";
  mhrfit_rig r = {0};
  r.n_joints = 2;
  r.joint_names = names;
  mhrfit_error err = {0};
  CHECK(mf_model_parse(dup, strlen(dup), "x.model", &r, &err));
  CHECK(r.n_params == 2 && r.n_pt == 1 && r.pt[0].coeff == 3.0);
  free(r.param_names);
  free(r.pt);
  free(r.limits);
}

int main(void) {
  RUN(load);
  RUN(test_model_errors);
  RUN(test_synthetic_fbx);
  RUN(test_counts);
  RUN(test_rest_pose);
  RUN(test_fk_vs_sam3d);
  RUN(test_skinning);
  RUN(test_sam3d_params);
  RUN(test_jacobian);
  RUN(test_param_sets);
  RUN(test_bad_assets);
  mhrfit_rig_free(rig);
  return test_report();
}
