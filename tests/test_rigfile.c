/* Rig files (include/mhrfit/rig.h): the MHR rig saved and read back is bit-identical (arrays,
 * forward kinematics, skinning, blend shapes, joint Jacobian); damaged files give clear errors
 * naming the file and the member; a tiny synthetic rig round-trips too.
 *
 * With MHRFIT_WRITE_FUZZ_SEED=PATH the tiny synthetic rig is also written to PATH (how
 * fuzz/seeds/fuzz_rigfile/tiny_rig.npz was made). */
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "body/rig_internal.h"
#include "common/file.h"
#include "common/path.h"
#include "mhrfit/npy.h"
#include "mhrfit/rig.h"

static char tmp[] = "/tmp/mhrfit_rigfile_XXXXXX";
static bool have_tmp;

static const char *tmp_path(const char *name) { return th_path(tmp, name); }

static void *dup_mem(const void *src, size_t n) {
  void *p = malloc(n ? n : 1);
  if (p && n) memcpy(p, src, n);
  return p;
}

/* A three-joint rig with two parameters, a four-vertex mesh and two sparse blend shapes. */
static mhrfit_rig *tiny_rig(void) {
  mhrfit_rig *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  static const char jn[3][64] = {"root", "spine", "head"}, pn[3][64] = {"root_ty", "spine_rx", "head_scale"};
  static const int32_t parents[3] = {-1, 0, 1};
  static const double offsets[9] = {0, 90, 0, 0, 10, 0.5, 0, 25, -1};
  const double c = cos(0.3), s = sin(0.3);
  const double prerot[27] = {1, 0, 0, 0, 1, 0, 0, 0, 1, c, -s, 0, s, c, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  static const mhrfit_pt_entry pt[3] = {{1, 0, 10.0}, {10, 1, 1.0}, {20, 2, 0.5}};
  static const mhrfit_limit limits[2] = {{1, -1.0, 1.5, 1.0}, {2, -0.25, 0.25, 0.1}};
  static const double verts[12] = {-5, 95, 0, 5, 95, 0, 0, 110, 2, 0, 125, 0};
  static const int32_t faces[6] = {0, 1, 2, 1, 3, 2};
  static const int32_t sv[6] = {0, 1, 2, 2, 3, 3}, sj[6] = {0, 0, 1, 2, 2, 1};
  static const double sw[6] = {1, 1, 0.5, 0.5, 0.75, 0.25};
  static const size_t ss[3] = {0, 2, 3};
  static const int32_t shv[3] = {0, 1, 3};
  static const double shd[9] = {0.5, 0, 0, -0.5, 0, 0, 0, 1, 0.25};
  r->n_joints = 3;
  r->n_params = 3;
  r->n_pt = 3;
  r->n_limits = 2;
  r->lod = 9;
  r->n_vertices = 4;
  r->n_faces = 2;
  r->n_skin = 6;
  r->n_shapes = 2;
  r->joint_names = dup_mem(jn, sizeof jn);
  r->param_names = dup_mem(pn, sizeof pn);
  r->parents = dup_mem(parents, sizeof parents);
  r->offsets = dup_mem(offsets, sizeof offsets);
  r->prerot = dup_mem(prerot, sizeof prerot);
  r->pt = dup_mem(pt, sizeof pt);
  r->limits = dup_mem(limits, sizeof limits);
  r->vertices = dup_mem(verts, sizeof verts);
  r->faces = dup_mem(faces, sizeof faces);
  r->skin_vertex = dup_mem(sv, sizeof sv);
  r->skin_joint = dup_mem(sj, sizeof sj);
  r->skin_weight = dup_mem(sw, sizeof sw);
  r->shape_start = dup_mem(ss, sizeof ss);
  r->shape_vertex = dup_mem(shv, sizeof shv);
  r->shape_delta = dup_mem(shd, sizeof shd);
  r->bind_global = malloc(48 * sizeof(double));
  for (int i = 0; r->bind_global && i < 48; i++) r->bind_global[i] = i < 16 ? NAN : (i % 16 % 5 == 0 ? 1.0 : 0.0);
  mhrfit_error err = {0};
  if (!mf_rig_set_rest_pose(r, &err)) {
    mhrfit_rig_free(r);
    return NULL;
  }
  return r;
}

/* Bitwise equality of n bytes, reported per array. */
#define CHECK_BITS(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Every count and array of the two rigs, compared field by field (independently of
 * mhrfit_rig_equal, which is checked too). */
static void check_same_rig(const mhrfit_rig *a, const mhrfit_rig *b) {
  REQUIRE(a && b);
  CHECK(a->n_joints == b->n_joints && a->n_params == b->n_params && a->n_pt == b->n_pt);
  CHECK(a->n_limits == b->n_limits && a->lod == b->lod && a->n_vertices == b->n_vertices);
  CHECK(a->n_faces == b->n_faces && a->n_skin == b->n_skin && a->n_shapes == b->n_shapes);
  REQUIRE(a->n_joints == b->n_joints && a->n_vertices == b->n_vertices && a->n_shapes == b->n_shapes &&
          a->n_pt == b->n_pt && a->n_limits == b->n_limits && a->n_skin == b->n_skin && a->n_faces == b->n_faces);
  size_t J = a->n_joints, V = a->n_vertices, E = a->shape_start[a->n_shapes];
  for (size_t j = 0; j < J; j++) CHECK_STR(a->joint_names[j], b->joint_names[j]);
  for (size_t i = 0; i < a->n_params; i++) CHECK_STR(a->param_names[i], b->param_names[i]);
  CHECK_BITS(a->parents, b->parents, J * sizeof(int32_t));
  CHECK_BITS(a->offsets, b->offsets, 3 * J * sizeof(double));
  CHECK_BITS(a->prerot, b->prerot, 9 * J * sizeof(double));
  for (size_t i = 0; i < a->n_pt; i++) {
    CHECK(a->pt[i].row == b->pt[i].row && a->pt[i].param == b->pt[i].param);
    CHECK_BITS(&a->pt[i].coeff, &b->pt[i].coeff, sizeof(double));
  }
  for (size_t i = 0; i < a->n_limits; i++) {
    CHECK(a->limits[i].param == b->limits[i].param);
    CHECK_BITS(&a->limits[i].min, &b->limits[i].min, sizeof(double));
    CHECK_BITS(&a->limits[i].max, &b->limits[i].max, sizeof(double));
    CHECK_BITS(&a->limits[i].weight, &b->limits[i].weight, sizeof(double));
  }
  CHECK_BITS(a->vertices, b->vertices, 3 * V * sizeof(double));
  CHECK_BITS(a->faces, b->faces, 3 * a->n_faces * sizeof(int32_t));
  CHECK_BITS(a->skin_vertex, b->skin_vertex, a->n_skin * sizeof(int32_t));
  CHECK_BITS(a->skin_joint, b->skin_joint, a->n_skin * sizeof(int32_t));
  CHECK_BITS(a->skin_weight, b->skin_weight, a->n_skin * sizeof(double));
  CHECK_BITS(a->bind_global, b->bind_global, 16 * J * sizeof(double));
  CHECK_BITS(a->rest_R, b->rest_R, 9 * J * sizeof(double));
  CHECK_BITS(a->rest_t, b->rest_t, 3 * J * sizeof(double));
  CHECK_BITS(a->shape_start, b->shape_start, (a->n_shapes + 1) * sizeof(size_t));
  CHECK_BITS(a->shape_vertex, b->shape_vertex, E * sizeof(int32_t));
  CHECK_BITS(a->shape_delta, b->shape_delta, 3 * E * sizeof(double));
  CHECK(mhrfit_rig_equal(a, b));
}

/* xorshift64* in [-1, 1) */
static double rnd(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ull) >> 11) / 4503599627370496.0 - 1.0;
}

/* FK (with joint parameters), joint Jacobian, skinning and shaped skinning of a random pose and
 * random blend-shape coefficients: identical bits from both rigs. */
static void check_same_evaluation(const mhrfit_rig *a, const mhrfit_rig *b, uint64_t seed) {
  size_t J = a->n_joints, P = a->n_params, V = a->n_vertices;
  double *m = calloc(P, sizeof *m), *coef = calloc(a->n_shapes + 1, sizeof *coef);
  double *R[2], *t[2], *s[2], *jp[2], *Jac[2], *skin[2], *shaped[2], *posed[2];
  for (int k = 0; k < 2; k++) {
    R[k] = calloc(9 * J, sizeof(double));
    t[k] = calloc(3 * J, sizeof(double));
    s[k] = calloc(J, sizeof(double));
    jp[k] = calloc(7 * J, sizeof(double));
    Jac[k] = calloc(3 * J * P, sizeof(double));
    skin[k] = calloc(3 * V + 1, sizeof(double));
    shaped[k] = calloc(3 * V + 1, sizeof(double));
    posed[k] = calloc(3 * V + 1, sizeof(double));
  }
  for (size_t i = 0; i < P; i++) m[i] = 0.4 * rnd(&seed);
  for (size_t k = 0; k < a->n_shapes; k++) coef[k] = rnd(&seed);
  const mhrfit_rig *rigs[2] = {a, b};
  mhrfit_error err = {0};
  for (int k = 0; k < 2; k++) {
    mhrfit_fk_pose pose = {R[k], t[k], s[k]};
    REQUIRE(mhrfit_rig_fk(rigs[k], m, &pose, jp[k], &err));
    mhrfit_rig_joint_jacobian(rigs[k], &pose, jp[k], Jac[k]);
    mhrfit_rig_skin(rigs[k], &pose, skin[k]);
    mhrfit_rig_shaped_vertices(rigs[k], coef, a->n_shapes, shaped[k]);
    mhrfit_rig_skin_rest(rigs[k], &pose, shaped[k], posed[k]);
  }
  CHECK_BITS(R[0], R[1], 9 * J * sizeof(double));
  CHECK_BITS(t[0], t[1], 3 * J * sizeof(double));
  CHECK_BITS(s[0], s[1], J * sizeof(double));
  CHECK_BITS(jp[0], jp[1], 7 * J * sizeof(double));
  CHECK_BITS(Jac[0], Jac[1], 3 * J * P * sizeof(double));
  CHECK_BITS(skin[0], skin[1], 3 * V * sizeof(double));
  CHECK_BITS(shaped[0], shaped[1], 3 * V * sizeof(double));
  CHECK_BITS(posed[0], posed[1], 3 * V * sizeof(double));
  /* the pose is not trivial: joints moved away from the rest pose */
  double moved = 0;
  for (size_t i = 0; i < 3 * J; i++) moved = fmax(moved, fabs(t[0][i] - a->rest_t[i]));
  CHECK(moved > 0.01);
  for (int k = 0; k < 2; k++) {
    free(R[k]);
    free(t[k]);
    free(s[k]);
    free(jp[k]);
    free(Jac[k]);
    free(skin[k]);
    free(shaped[k]);
    free(posed[k]);
  }
  free(m);
  free(coef);
}

static void setup(void) {
  REQUIRE(mkdtemp(tmp));
  have_tmp = true;
}

static void test_tiny_round_trip(void) {
  REQUIRE(have_tmp);
  mhrfit_rig *r = tiny_rig();
  REQUIRE(r);
  mhrfit_error err = {0};
  const char *path = tmp_path("tiny.npz");
  REQUIRE(mhrfit_rig_save(r, path, &err));
  mhrfit_rig *b = mhrfit_rig_load_file(path, &err);
  if (!b) fprintf(stderr, "%s\n", err.message);
  REQUIRE(b);
  check_same_rig(r, b);
  check_same_evaluation(r, b, 7);
  /* NaN bind transforms survive bit for bit; the absent-joint marker stays NaN */
  CHECK(isnan(b->bind_global[0]) && b->bind_global[16] == 1.0);
  /* the atomic write leaves no temporary file beside the rig file */
  mf_names names = {0};
  REQUIRE(mf_list_dir(tmp, NULL, false, &names, &err));
  size_t stray = 0;
  for (size_t i = 0; i < names.count; i++) stray += strcmp(names.items[i], "tiny.npz") != 0;
  CHECK(stray == 0);
  mf_names_free(&names);
  /* mhrfit_rig_open: a file is a rig file; a LOD must match it */
  mhrfit_rig *o = mhrfit_rig_open(path, -1, 0, &err);
  CHECK(o && o->lod == 9 && mhrfit_rig_equal(o, r));
  mhrfit_rig_free(o);
  o = mhrfit_rig_open(path, 9, 0, &err);
  CHECK(o != NULL);
  mhrfit_rig_free(o);
  mhrfit_error e2 = {0};
  CHECK(!mhrfit_rig_open(path, 3, 0, &e2) && e2.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(e2.message, "LOD 9, not LOD 3");
  /* saving again over the file replaces it */
  r->offsets[4] = 11.5;
  REQUIRE(mhrfit_rig_save(r, path, &err));
  mhrfit_rig *c = mhrfit_rig_load_file(path, &err);
  CHECK(c && c->offsets[4] == 11.5 && !mhrfit_rig_equal(c, b));
  mhrfit_rig_free(c);
  const char *seed = getenv("MHRFIT_WRITE_FUZZ_SEED");
  if (seed && *seed) {
    r->offsets[4] = 10;
    CHECK(mhrfit_rig_save(r, seed, &err));
    printf("  wrote the fuzz seed %s\n", seed);
  }
  mhrfit_rig_free(b);
  mhrfit_rig_free(r);
}

static void test_assets_round_trip(void) {
  REQUIRE(have_tmp);
  mhrfit_error err = {0};
  const char *assets = th_env_or("MHRFIT_ASSETS", "../shared/mhr");
  if (!mf_is_dir(assets)) test_skip("no MHR assets");
  mhrfit_rig *a = mhrfit_rig_load(assets, -1, &err);
  REQUIRE(a);
  const char *path = tmp_path("mhr.npz");
  REQUIRE(mhrfit_rig_save(a, path, &err));
  mhrfit_rig *b = mhrfit_rig_load_file(path, &err);
  if (!b) fprintf(stderr, "%s\n", err.message);
  REQUIRE(b);
  CHECK(b->n_joints == 127 && b->n_params == 204 && b->n_pt == 368 && b->n_limits == 198 && b->n_shapes == 117);
  check_same_rig(a, b);
  for (uint64_t seed = 1; seed <= 3; seed++) check_same_evaluation(a, b, seed * 0x9E3779B97F4A7C15ull);
  /* mhrfit_rig_open reads a folder as assets and a file as a rig file */
  mhrfit_rig *d = mhrfit_rig_open(assets, -1, 0, &err), *f = mhrfit_rig_open(path, a->lod, 0, &err);
  CHECK(d && f && mhrfit_rig_equal(d, a) && mhrfit_rig_equal(f, a));
  mhrfit_rig_free(d);
  mhrfit_rig_free(f);
  /* saving the loaded copy gives the same bytes: the file is a function of the rig */
  const char *path2 = tmp_path("mhr2.npz");
  REQUIRE(mhrfit_rig_save(b, path2, &err));
  unsigned char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  REQUIRE(mf_read_file(path, 0, &x, &nx, &err) && mf_read_file(path2, 0, &y, &ny, &err));
  CHECK(nx == ny && memcmp(x, y, nx) == 0);
  free(x);
  free(y);
  mhrfit_rig_free(b);
  mhrfit_rig_free(a);
}

/* Writes the tiny rig's archive with one member changed by `edit`, then loads it: the error. */
typedef void (*edit_fn)(mhrfit_value *npz);

static mhrfit_error load_edited(const char *file, edit_fn edit) {
  mhrfit_error err = {0};
  mhrfit_value *npz = mhrfit_npz_load(tmp_path("tiny.npz"), NULL, &err);
  if (!npz) {
    fprintf(stderr, "%s\n", err.message);
    return err;
  }
  edit(npz);
  const char *path = tmp_path(file);
  if (!mhrfit_npz_save_dict(path, npz, false, &err)) fprintf(stderr, "%s\n", err.message);
  mhrfit_value_free(npz);
  mhrfit_error_clear(&err);
  mhrfit_rig *r = mhrfit_rig_load_file(path, &err);
  if (r) err.type = MHRFIT_ERR_NONE;
  mhrfit_rig_free(r);
  return err;
}

static mhrfit_array *arr(mhrfit_value *npz, const char *key) { return mhrfit_value_dict_get_mut(npz, key)->u.array; }

static void set_member(mhrfit_value *npz, const char *key, mhrfit_array *a) {
  mhrfit_error err = {0};
  mhrfit_value_dict_set(npz, key, mhrfit_value_new_array(a, &err), &err);
}

static void edit_parents_f64(mhrfit_value *npz) {
  size_t shape[1] = {3};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F64, 0, 1, shape, 0, NULL);
  ((double *)a->data)[0] = -1;
  ((double *)a->data)[1] = 0;
  ((double *)a->data)[2] = 1;
  set_member(npz, "parents", a);
}
static void edit_parent_range(mhrfit_value *npz) { ((int32_t *)arr(npz, "parents")->data)[1] = 2; }
static void edit_parent_negative(mhrfit_value *npz) { ((int32_t *)arr(npz, "parents")->data)[2] = -7; }
static void edit_nan_offset(mhrfit_value *npz) { ((double *)arr(npz, "offsets")->data)[4] = NAN; }
static void edit_version(mhrfit_value *npz) { *(int32_t *)arr(npz, "mhrfit_rig_version")->data = 2; }
static void edit_version_i64(mhrfit_value *npz) {
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_I64, 0, 0, NULL, 0, NULL);
  *(int64_t *)a->data = 1;
  set_member(npz, "mhrfit_rig_version", a);
}
static void remove_member(mhrfit_value *npz, const char *key) {
  for (size_t i = 0; i < npz->u.dict.count; i++)
    if (strcmp(npz->u.dict.keys[i], key) == 0) {
      free(npz->u.dict.keys[i]);
      mhrfit_value_free(npz->u.dict.vals[i]);
      memmove(npz->u.dict.keys + i, npz->u.dict.keys + i + 1, (npz->u.dict.count - i - 1) * sizeof(char *));
      memmove(npz->u.dict.vals + i, npz->u.dict.vals + i + 1, (npz->u.dict.count - i - 1) * sizeof(mhrfit_value *));
      npz->u.dict.count--;
      return;
    }
}
static void edit_no_faces(mhrfit_value *npz) { remove_member(npz, "faces"); }
static void edit_no_version(mhrfit_value *npz) { remove_member(npz, "mhrfit_rig_version"); }
static void edit_no_bind(mhrfit_value *npz) { remove_member(npz, "bind_global"); }
static void edit_extra_member(mhrfit_value *npz) {
  size_t shape[1] = {5};
  set_member(npz, "future_optional_member", mhrfit_array_new(MHRFIT_DT_F32, 0, 1, shape, 0, NULL));
}
static void edit_offsets_shape(mhrfit_value *npz) {
  size_t shape[2] = {3, 2};
  set_member(npz, "offsets", mhrfit_array_new(MHRFIT_DT_F64, 0, 2, shape, 0, NULL));
}
static void edit_pt_unsorted(mhrfit_value *npz) { ((int32_t *)arr(npz, "pt_row")->data)[2] = 0; }
static void edit_pt_param(mhrfit_value *npz) { ((int32_t *)arr(npz, "pt_param")->data)[0] = 3; }
static void edit_skin_joint(mhrfit_value *npz) { ((int32_t *)arr(npz, "skin_joint")->data)[5] = 3; }
static void edit_face(mhrfit_value *npz) { ((int32_t *)arr(npz, "faces")->data)[5] = -1; }
static void edit_shape_end(mhrfit_value *npz) { ((int64_t *)arr(npz, "shape_start")->data)[2] = 2; }
static void edit_shape_order(mhrfit_value *npz) {
  int64_t *s = arr(npz, "shape_start")->data;
  s[1] = 4;
}
static void edit_limit(mhrfit_value *npz) { ((double *)arr(npz, "limit_min")->data)[0] = 5.0; }
static void edit_dup_name(mhrfit_value *npz) { memcpy(arr(npz, "joint_names")->data, "head\0", 5); }
static void edit_lod(mhrfit_value *npz) { *(int32_t *)arr(npz, "lod")->data = -2; }

static void test_damaged_files(void) {
  REQUIRE(have_tmp);
  mhrfit_rig *r = tiny_rig();
  REQUIRE(r);
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_save(r, tmp_path("tiny.npz"), &err));
  mhrfit_rig_free(r);
  static const struct {
    const char *file;
    edit_fn edit;
    mhrfit_error_type type;
    const char *member, *words;
  } cases[] = {
      {"dtype.npz", edit_parents_f64, MHRFIT_ERR_FORMAT, "'parents'", "expected dtype int32, got float64"},
      {"parent.npz", edit_parent_range, MHRFIT_ERR_FORMAT, "'parents'", "parent 2 of joint 1 ('spine') does not precede it"},
      {"parent_neg.npz", edit_parent_negative, MHRFIT_ERR_FORMAT, "'parents'", "parent -7 of joint 2"},
      {"nan.npz", edit_nan_offset, MHRFIT_ERR_FORMAT, "'offsets'", "element 4 is not finite"},
      {"version.npz", edit_version, MHRFIT_ERR_UNSUPPORTED, "'mhrfit_rig_version'", "version 2 is newer"},
      {"faces.npz", edit_no_faces, MHRFIT_ERR_NOT_FOUND, "'faces'", "is missing"},
      {"noversion.npz", edit_no_version, MHRFIT_ERR_NOT_FOUND, "'mhrfit_rig_version'", "not an mhrfit rig file"},
      {"shape.npz", edit_offsets_shape, MHRFIT_ERR_FORMAT, "'offsets'", "expected shape (3, 3), got (3, 2)"},
      {"pt_sort.npz", edit_pt_unsorted, MHRFIT_ERR_FORMAT, "'pt_row'", "not sorted"},
      {"pt_param.npz", edit_pt_param, MHRFIT_ERR_FORMAT, "'pt_param'", "element 0 = 3 is outside 0..2"},
      {"skin.npz", edit_skin_joint, MHRFIT_ERR_FORMAT, "'skin_joint'", "element 5 = 3 is out of range"},
      {"face.npz", edit_face, MHRFIT_ERR_FORMAT, "'faces'", "element 5 = -1 is out of range"},
      {"shape_end.npz", edit_shape_end, MHRFIT_ERR_FORMAT, "'shape_start'", "ends at 2, but shape_vertex has 3"},
      {"shape_order.npz", edit_shape_order, MHRFIT_ERR_FORMAT, "'shape_start'", "decreases after element 1"},
      {"limit.npz", edit_limit, MHRFIT_ERR_FORMAT, "'limit_min'", "min 5 > max 1.5"},
      {"dup.npz", edit_dup_name, MHRFIT_ERR_FORMAT, "'joint_names'", "name 'head' appears twice"},
      {"lod.npz", edit_lod, MHRFIT_ERR_FORMAT, "'lod'", "-2 is outside"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mhrfit_error e = load_edited(cases[i].file, cases[i].edit);
    if (e.type != cases[i].type) fprintf(stderr, "  case %s: type %d: %s\n", cases[i].file, (int)e.type, e.message);
    CHECK(e.type == cases[i].type);
    CHECK_CONTAINS(e.message, tmp_path(cases[i].file));
    CHECK_CONTAINS(e.message, cases[i].member);
    CHECK_CONTAINS(e.message, cases[i].words);
  }
  /* a member that is not a plain array (an object array reads as a value tree) */
  mhrfit_value *npz = mhrfit_npz_load(tmp_path("tiny.npz"), NULL, &err);
  REQUIRE(npz);
  REQUIRE(mhrfit_value_dict_set(npz, "vertices", mhrfit_value_new_list(&err), &err));
  mhrfit_error pe = {0};
  mhrfit_rig *pr = mf_rig_from_npz(npz, "object.npz", 0, &pe);
  CHECK(!pr && pe.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(pe.message, "object.npz: member 'vertices': expected a plain array, got list");
  mhrfit_rig_free(pr);
  mhrfit_value_free(npz);
  /* optional and unknown members: a missing bind_global reads as NaN; extra members are ignored */
  mhrfit_error e = load_edited("nobind.npz", edit_no_bind);
  CHECK(e.type == MHRFIT_ERR_NONE);
  mhrfit_rig *nb = mhrfit_rig_load_file(tmp_path("nobind.npz"), &e);
  CHECK(nb && isnan(nb->bind_global[20]) && isnan(nb->bind_global[47]));
  mhrfit_rig_free(nb);
  CHECK(load_edited("extra.npz", edit_extra_member).type == MHRFIT_ERR_NONE);
  CHECK(load_edited("i64.npz", edit_version_i64).type == MHRFIT_ERR_NONE);
  /* truncated at several lengths: a clear error, never a crash */
  unsigned char *data = NULL;
  size_t len = 0;
  REQUIRE(mf_read_file(tmp_path("tiny.npz"), 0, &data, &len, &err));
  static const double cut[] = {0.0, 0.1, 0.5, 0.9, 0.999};
  for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
    const char *p = tmp_path("truncated.npz");
    REQUIRE(mf_write_file_atomic(p, data, (size_t)(cut[i] * (double)len), &err));
    mhrfit_error te = {0};
    mhrfit_rig *t = mhrfit_rig_load_file(p, &te);
    CHECK(!t && te.type == MHRFIT_ERR_FORMAT);
    CHECK_CONTAINS(te.message, p);
    mhrfit_rig_free(t);
  }
  /* a flipped byte in the middle of a stored member fails the CRC check */
  data[len / 2] ^= 0x5a;
  REQUIRE(mf_write_file_atomic(tmp_path("flipped.npz"), data, len, &err));
  mhrfit_error fe = {0};
  mhrfit_rig *fr = mhrfit_rig_load_file(tmp_path("flipped.npz"), &fe);
  CHECK(!fr && fe.type == MHRFIT_ERR_FORMAT);
  mhrfit_rig_free(fr);
  free(data);
  /* not a rig file at all, a missing file, a folder */
  REQUIRE(mf_write_file_atomic(tmp_path("text.npz"), "hello\n", 6, &err));
  mhrfit_error xe = {0};
  CHECK(!mhrfit_rig_load_file(tmp_path("text.npz"), &xe) && xe.type == MHRFIT_ERR_FORMAT);
  CHECK(!mhrfit_rig_load_file(tmp_path("missing.npz"), &xe) && xe.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(xe.message, "missing.npz");
  CHECK(!mhrfit_rig_load_file(tmp, &xe) && xe.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(xe.message, "is a folder");
}

static void test_save_refuses_invalid(void) {
  REQUIRE(have_tmp);
  mhrfit_rig *r = tiny_rig();
  REQUIRE(r);
  mhrfit_error err = {0};
  r->parents[2] = 2;
  const char *p = tmp_path("invalid.npz");
  CHECK(!mhrfit_rig_save(r, p, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "'parents'");
  CHECK(!mf_is_file(p));
  r->parents[2] = 1;
  r->skin_weight[0] = INFINITY;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_save(r, p, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "'skin_weight'");
  r->skin_weight[0] = 1;
  /* a folder that does not exist: an I/O error, nothing written */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_save(r, tmp_path("no/such/dir/rig.npz"), &err) && err.type == MHRFIT_ERR_IO);
  CHECK(!mhrfit_rig_save(r, NULL, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_rig_free(r);
}

static void cleanup(void) {
  if (!have_tmp) return;
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  CHECK(system(cmd) == 0);
}

int main(void) {
  RUN(setup);
  RUN(test_tiny_round_trip);
  RUN(test_assets_round_trip);
  RUN(test_damaged_files);
  RUN(test_save_refuses_invalid);
  RUN(cleanup);
  return test_report();
}
