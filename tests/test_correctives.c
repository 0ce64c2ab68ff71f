#define _XOPEN_SOURCE 700 /* realpath */
/* Pose correctives (MHR.md §7.2) and the analytic vertex Jacobian:
 * - features and layer 1 + ReLU against a NumPy reference (tests/fixtures/gen_correctives.py, written
 *   from MHR.md alone) on the real corrective_activation.npz;
 * - layer 2 with a synthetic corrective_blendshapes_lod6.npz (the real one is not in the shared
 *   assets) against a dense reference, the full mesh = LBS of (rest + offsets), and `rig fk`;
 * - the vertex Jacobian against central differences and the joint Jacobian;
 * - corrupted corrective files and non-finite inputs. */
#include "harness.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mhrfit/npy.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"

static mhrfit_rig *rig;    /* the shared assets: layer 1 only */
static mhrfit_rig *rig_l2; /* the synthetic assets folder: both layers */
static char tmp_dir[64];   /* assets folder with symlinks + synthetic layer 2 */
static float *synth_w;     /* the synthetic layer 2 as written */
static size_t synth_n;

static const char *assets_dir(void) { return th_env_or("MHRFIT_ASSETS", "../shared/mhr"); }

/* Deterministic pseudo-random numbers in [-1, 1). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

/* Symlinks the asset files named in `names` into `dir`. */
static bool link_assets(const char *dir, const char *const *names) {
  char real[PATH_MAX];
  if (!realpath(assets_dir(), real)) return false;
  for (; *names; names++) {
    char src[PATH_MAX + 64], dst[256];
    snprintf(src, sizeof src, "%s/%s", real, *names);
    snprintf(dst, sizeof dst, "%s/%s", dir, *names);
    unlink(dst);
    if (symlink(src, dst) != 0) return false;
  }
  return true;
}

static void load(void) {
  mhrfit_error err = {0};
  rig = mhrfit_rig_load(assets_dir(), 6, &err);
  if (!rig) fprintf(stderr, "%s\n", err.message);
  REQUIRE(rig);
  CHECK(rig->n_corr_features == 750 && rig->n_corr_hidden == 3000 && rig->n_corr_weights == 53136);
  CHECK(rig->corr_start && rig->corr_start[3000] == 53136);
  CHECK(rig->corr_blend == NULL); /* layer 2 is not in the shared assets */
  CHECK(!mhrfit_rig_has_correctives(rig));
  /* the vertex index of the skin covers every triple once */
  REQUIRE(rig->skin_vstart && rig->skin_vorder);
  CHECK(rig->skin_vstart[rig->n_vertices] == rig->n_skin);
  size_t bad = 0;
  for (size_t v = 0; v < rig->n_vertices; v++)
    for (size_t e = rig->skin_vstart[v]; e < rig->skin_vstart[v + 1]; e++) bad += rig->skin_vertex[rig->skin_vorder[e]] != (int32_t)v;
  CHECK(bad == 0);
  /* layer 1 reads, per hidden unit 24g..24g+23, only the features of joint g+2, its parent and its children */
  size_t outside = 0;
  for (size_t u = 0; u < 3000; u++) {
    int g = (int)(u / 24) + 2;
    for (size_t e = rig->corr_start[u]; e < rig->corr_start[u + 1]; e++) {
      int j = rig->corr_feature[e] / 6 + 2;
      if (j != g && j != rig->parents[g] && rig->parents[j] != g) outside++;
    }
  }
  printf("  layer 1: %zu weights, %zu outside joint/parent/children blocks\n", rig->n_corr_weights, outside);
  CHECK(outside == 0);
}

static void test_zero_pose(void) {
  REQUIRE(rig);
  static double jp[889], feat[750], hidden[3000];
  mhrfit_error err = {0};
  for (size_t i = 0; i < 750; i++) feat[i] = 99;
  REQUIRE(mhrfit_rig_corrective_features(rig, jp, feat, &err));
  size_t nz = 0;
  for (size_t i = 0; i < 750; i++) nz += feat[i] != 0.0;
  CHECK(nz == 0);
  /* translations and scales do not enter the features */
  for (size_t j = 0; j < 127; j++) jp[7 * j] = jp[7 * j + 1] = jp[7 * j + 6] = 0.3;
  REQUIRE(mhrfit_rig_corrective_features(rig, jp, feat, &err));
  for (size_t i = 0; i < 750; i++) nz += feat[i] != 0.0;
  CHECK(nz == 0);
  for (size_t i = 0; i < 3000; i++) hidden[i] = -1;
  REQUIRE(mhrfit_rig_corrective_hidden(rig, feat, hidden, &err));
  for (size_t i = 0; i < 3000; i++) nz += hidden[i] != 0.0;
  CHECK(nz == 0);
}

static const mhrfit_array *fixture_array(const mhrfit_value *d, const char *key, size_t n) {
  const mhrfit_value *v = mhrfit_value_dict_get(d, key);
  if (!v || v->kind != MHRFIT_V_ARRAY || v->u.array->dtype != MHRFIT_DT_F64 || v->u.array->count != n) return NULL;
  return v->u.array;
}

/* A fixed non-trivial joint-parameter vector, features and hidden values from NumPy. */
static void test_layer1_vs_numpy(void) {
  REQUIRE(rig);
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(FIXTURE("correctives/layer1_reference.npz"), NULL, &err);
  if (!d) fprintf(stderr, "%s\n", err.message);
  REQUIRE(d);
  const mhrfit_array *ajp = fixture_array(d, "jp", 889), *af = fixture_array(d, "features", 750),
                     *ah = fixture_array(d, "hidden", 3000);
  REQUIRE(ajp && af && ah);
  const double *jp = ajp->data, *rf = af->data, *rh = ah->data;
  static double feat[750], hidden[3000];
  REQUIRE(mhrfit_rig_corrective_features(rig, jp, feat, &err));
  REQUIRE(mhrfit_rig_corrective_hidden(rig, feat, hidden, &err));
  double ef = 0, eh = 0, hmax = 0;
  size_t active = 0, ref_active = 0, pattern = 0, zero_feat_blocks = 0;
  for (size_t i = 0; i < 750; i++) ef = fmax(ef, fabs(feat[i] - rf[i]));
  for (size_t j = 0; j < 125; j++) {
    bool all0 = true;
    for (int k = 0; k < 6; k++) all0 = all0 && feat[6 * j + (size_t)k] == 0.0;
    zero_feat_blocks += all0;
  }
  for (size_t u = 0; u < 3000; u++) {
    eh = fmax(eh, fabs(hidden[u] - rh[u]));
    hmax = fmax(hmax, rh[u]);
    active += hidden[u] > 0;
    ref_active += rh[u] > 0;
    if ((hidden[u] > 0) != (rh[u] > 0) && fabs(rh[u]) > 1e-12) pattern++;
  }
  printf("  vs NumPy: max |feature error| %.3g, max |hidden error| %.3g (hidden up to %.3g), %zu / %zu active\n", ef, eh,
         hmax, active, ref_active);
  CHECK(ef < 1e-14);
  CHECK(eh < 1e-12);
  CHECK(pattern == 0);
  CHECK(active > 300 && active < 2700); /* non-trivial: ReLU both on and off */
  CHECK(zero_feat_blocks == 14);        /* joints 9, 18, ..., 126 are at rest in the fixture */
  mhrfit_value_free(d);
}

/* Creates tmp_dir with the shared assets linked and a synthetic layer 2 of the right shape. */
static void make_synthetic_assets(void) {
  REQUIRE(rig);
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mhrfit_corrXXXXXX");
  REQUIRE(mkdtemp(tmp_dir));
  const char *const names[] = {"compact_v6_1.model", "lod6.fbx", "corrective_activation.npz", NULL};
  REQUIRE(link_assets(tmp_dir, names));
  mhrfit_error err = {0};
  size_t shape[3] = {3000, rig->n_vertices, 3};
  mhrfit_array *w = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, shape, 0, &err);
  REQUIRE(w);
  printf("  synthetic layer 2: (3000, %zu, 3) float32, %.1f MB\n", rig->n_vertices, (double)w->count * 4 / 1e6);
  float *f = w->data;
  for (size_t i = 0; i < w->count; i++) f[i] = (float)(0.05 * rnd()); /* cm per unit */
  synth_n = w->count;
  synth_w = malloc(synth_n * sizeof *synth_w);
  REQUIRE(synth_w);
  memcpy(synth_w, f, synth_n * sizeof *synth_w);
  const char *key = "corrective_blendshapes";
  const mhrfit_array *arr[1] = {w};
  REQUIRE(mhrfit_npz_save(th_path(tmp_dir, "corrective_blendshapes_lod6.npz"), 1, &key, arr, false, &err));
  mhrfit_array_free(w);
  rig_l2 = mhrfit_rig_load(tmp_dir, 6, &err);
  if (!rig_l2) fprintf(stderr, "%s\n", err.message);
  REQUIRE(rig_l2);
  CHECK(mhrfit_rig_has_correctives(rig_l2));
  CHECK(memcmp(rig_l2->corr_blend, synth_w, synth_n * sizeof *synth_w) == 0);
  /* the flags skip layer 2, or both layers */
  mhrfit_rig *r1 = mhrfit_rig_load_flags(tmp_dir, 6, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err);
  REQUIRE(r1);
  CHECK(r1->corr_start && !r1->corr_blend && !mhrfit_rig_has_correctives(r1));
  mhrfit_rig_free(r1);
  r1 = mhrfit_rig_load_flags(tmp_dir, 6, MHRFIT_RIG_NO_CORRECTIVES, &err);
  REQUIRE(r1);
  CHECK(!r1->corr_start && !r1->corr_blend && r1->n_corr_hidden == 0);
  mhrfit_rig_free(r1);
}

/* Random model parameters: root translation ±20 cm, angles ±0.5 rad, scales ±0.3. */
static void random_params(const mhrfit_rig *r, double *m) {
  for (size_t i = 0; i < r->n_params; i++) {
    const char *nm = r->param_names[i];
    m[i] = i < 3 ? 20 * rnd() : strstr(nm, "scale_") ? 0.3 * rnd() : 0.5 * rnd();
  }
}

static void test_layer2_offsets(void) {
  REQUIRE(rig_l2);
  size_t nv = rig_l2->n_vertices;
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], feat[750], hidden[3000];
  double *off = malloc(3 * nv * sizeof *off), *ref = calloc(3 * nv, sizeof *ref), *sub = malloc(3 * nv * sizeof *sub);
  REQUIRE(off && ref && sub);
  mhrfit_fk_pose pose = {R, t, s};
  mhrfit_error err = {0};
  random_params(rig_l2, m);
  REQUIRE(mhrfit_rig_fk(rig_l2, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_corrective_features(rig_l2, jp, feat, &err));
  REQUIRE(mhrfit_rig_corrective_hidden(rig_l2, feat, hidden, &err));
  REQUIRE(mhrfit_rig_corrective_offsets(rig_l2, hidden, off, &err));
  /* naive dense reference over all 3000 units */
  size_t active = 0;
  for (size_t u = 0; u < 3000; u++) {
    active += hidden[u] != 0;
    for (size_t i = 0; i < 3 * nv; i++) ref[i] += (double)synth_w[u * 3 * nv + i] * hidden[u];
  }
  double e = 0, mag = 0;
  for (size_t i = 0; i < 3 * nv; i++) {
    e = fmax(e, fabs(off[i] - ref[i]));
    mag = fmax(mag, fabs(ref[i]));
  }
  printf("  layer 2: %zu of 3000 units active; max |offset - dense reference| %.3g cm (offsets up to %.3g cm)\n", active, e, mag);
  CHECK(mag > 0.5);
  CHECK(e < 1e-12 * fmax(1, mag));
  /* a subset of vertices gives the same rows */
  int32_t idx[5] = {0, 17, (int32_t)nv - 1, 17, 300};
  REQUIRE(mhrfit_rig_corrective_offsets_subset(rig_l2, hidden, idx, 5, sub, &err));
  double es = 0;
  for (size_t i = 0; i < 5; i++)
    for (int c = 0; c < 3; c++) es = fmax(es, fabs(sub[3 * i + (size_t)c] - off[3 * (size_t)idx[i] + (size_t)c]));
  CHECK(es < 1e-12);
  free(off);
  free(ref);
  free(sub);
}

static void test_skin_full(void) {
  REQUIRE(rig_l2);
  size_t nv = rig_l2->n_vertices, nw = mhrfit_rig_skin_work_size(rig_l2);
  CHECK(nw == 3 * nv + 750 + 3000);
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], feat[750], hidden[3000], coeffs[45];
  double *work = malloc(nw * sizeof *work), *out = malloc(3 * nv * sizeof *out), *rest = malloc(3 * nv * sizeof *rest),
         *off = malloc(3 * nv * sizeof *off), *ref = malloc(3 * nv * sizeof *ref), *plain = malloc(3 * nv * sizeof *plain);
  REQUIRE(work && out && rest && off && ref && plain);
  mhrfit_fk_pose pose = {R, t, s};
  mhrfit_error err = {0};
  random_params(rig_l2, m);
  for (int i = 0; i < 45; i++) coeffs[i] = rnd();
  REQUIRE(mhrfit_rig_fk(rig_l2, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_skin_full(rig_l2, coeffs, 45, &pose, jp, work, out, &err));
  /* reference: LBS of (shaped rest + offsets) from the separate steps */
  REQUIRE(mhrfit_rig_corrective_features(rig_l2, jp, feat, &err));
  REQUIRE(mhrfit_rig_corrective_hidden(rig_l2, feat, hidden, &err));
  REQUIRE(mhrfit_rig_corrective_offsets(rig_l2, hidden, off, &err));
  mhrfit_rig_shaped_vertices(rig_l2, coeffs, 45, rest);
  for (size_t i = 0; i < 3 * nv; i++) rest[i] += off[i];
  mhrfit_rig_skin_rest(rig_l2, &pose, rest, ref);
  double e = 0, erest = 0, moved = 0;
  for (size_t i = 0; i < 3 * nv; i++) {
    e = fmax(e, fabs(out[i] - ref[i]));
    erest = fmax(erest, fabs(work[i] - rest[i]));
  }
  double eh = 0;
  for (size_t u = 0; u < 3000; u++) eh = fmax(eh, fabs(work[3 * nv + 750 + u] - hidden[u]));
  /* without jp: no correctives, the plain shaped mesh */
  REQUIRE(mhrfit_rig_skin_full(rig_l2, coeffs, 45, &pose, NULL, work, plain, &err));
  mhrfit_rig_shaped_vertices(rig_l2, coeffs, 45, rest);
  mhrfit_rig_skin_rest(rig_l2, &pose, rest, ref);
  double ep = 0;
  for (size_t i = 0; i < 3 * nv; i++) {
    ep = fmax(ep, fabs(plain[i] - ref[i]));
    moved = fmax(moved, fabs(plain[i] - out[i]));
  }
  printf("  skin_full vs LBS(rest + offsets): %.3g cm; without correctives %.3g cm; correctives move vertices up to %.3g cm\n",
         e, ep, moved);
  CHECK(e < 1e-10 && erest < 1e-12 && eh == 0.0 && ep < 1e-10);
  CHECK(moved > 0.5);
  /* the rig without layer 2: skin_full = shaped LBS even with jp */
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_skin_full(rig, coeffs, 45, &pose, jp, work, out, &err));
  double e2 = 0;
  for (size_t i = 0; i < 3 * nv; i++) e2 = fmax(e2, fabs(out[i] - ref[i]));
  CHECK(e2 < 1e-10);
  free(work);
  free(out);
  free(rest);
  free(off);
  free(ref);
  free(plain);
}

/* `mhrfit rig fk` applies the correctives when layer 2 is present and says so. */
static void test_cli_fk(void) {
  REQUIRE(rig_l2);
  const char *params = TESTDATA("mhr_sam3d_body_outputs/img_subj00.npz");
  if (access(params, R_OK) != 0) test_skip("no shared test data");
  char args[2048];
  snprintf(args, sizeof args, "rig fk --assets %s --params %s --out %s/fk.npz", tmp_dir, params, tmp_dir);
  int rc = th_run_cli(tmp_dir, args);
  CHECK(rc == 0);
  CHECK_CONTAINS(th_cli_log(tmp_dir), "pose correctives applied (layer 2 from");
  mhrfit_error err = {0};
  mhrfit_value *in = mhrfit_npz_load(params, NULL, &err), *o = mhrfit_npz_load(th_path(tmp_dir, "fk.npz"), NULL, &err);
  REQUIRE(in && o);
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], shape[45];
  REQUIRE(mhrfit_sam3d_model_params(in, m, NULL, &err));
  const mhrfit_value *sp = mhrfit_value_dict_get(in, "shape_params");
  REQUIRE(sp && sp->kind == MHRFIT_V_ARRAY && sp->u.array->count == 45);
  for (size_t i = 0; i < 45; i++) shape[i] = mhrfit_array_get_f64(sp->u.array, i);
  mhrfit_fk_pose pose = {R, t, s};
  size_t nv = rig_l2->n_vertices;
  double *work = malloc(mhrfit_rig_skin_work_size(rig_l2) * sizeof *work), *v = malloc(3 * nv * sizeof *v);
  REQUIRE(work && v);
  REQUIRE(mhrfit_rig_fk(rig_l2, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_skin_full(rig_l2, shape, 45, &pose, jp, work, v, &err));
  const mhrfit_value *pv = mhrfit_value_dict_get(o, "pred_vertices");
  REQUIRE(pv && pv->kind == MHRFIT_V_ARRAY && pv->u.array->count == 3 * nv);
  double e = 0;
  for (size_t i = 0; i < nv; i++) {
    double sam[3];
    mhrfit_mhr_to_sam3d(v + 3 * i, sam);
    for (size_t c = 0; c < 3; c++) e = fmax(e, fabs(mhrfit_array_get_f64(pv->u.array, 3 * i + c) - sam[c]));
  }
  printf("  rig fk with correctives: max |pred_vertices - skin_full| %.3g m\n", e);
  CHECK(e < 1e-6); /* float32 output */
  /* on the shared assets (no layer 2) it says they were not applied */
  snprintf(args, sizeof args, "rig fk --assets %s --params %s --out %s/fk2.npz", assets_dir(), params, tmp_dir);
  CHECK(th_run_cli(tmp_dir, args) == 0);
  CHECK_CONTAINS(th_cli_log(tmp_dir), "pose correctives not applied: corrective_blendshapes_lod6.npz not in");
  unlink(th_path(tmp_dir, "fk.npz"));
  unlink(th_path(tmp_dir, "fk2.npz"));
  unlink(th_path(tmp_dir, "cli.log"));
  free(work);
  free(v);
  mhrfit_value_free(in);
  mhrfit_value_free(o);
}

/* Analytic vertex Jacobian against central differences of LBS, at a random pose with scales and a
 * shaped rest mesh. */
static void test_vertex_jacobian_fd(void) {
  REQUIRE(rig);
  size_t nv = rig->n_vertices;
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], coeffs[45];
  static double R2[127 * 9], t2[127 * 3], s2[127];
  enum { NSEL = 120 };
  int32_t sel[NSEL];
  for (size_t i = 0; i < NSEL; i++) sel[i] = (int32_t)((i * 97 + 5) % nv);
  sel[NSEL - 1] = sel[0]; /* a repeat is fine */
  double *rest = malloc(3 * nv * sizeof *rest), *vp = malloc(3 * nv * sizeof *vp), *vm = malloc(3 * nv * sizeof *vm),
         *full = malloc(3 * nv * sizeof *full), *J = malloc(3 * NSEL * 204 * sizeof *J), pos[3 * NSEL];
  REQUIRE(rest && vp && vm && full && J);
  for (int i = 0; i < 45; i++) coeffs[i] = rnd();
  mhrfit_rig_shaped_vertices(rig, coeffs, 45, rest);
  random_params(rig, m);
  mhrfit_fk_pose pose = {R, t, s}, pp = {R2, t2, s2};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_vertex_jacobian(rig, &pose, jp, rest, sel, NSEL, pos, J, &err));
  mhrfit_rig_skin_rest(rig, &pose, rest, full);
  double epos = 0;
  for (size_t i = 0; i < NSEL; i++)
    for (size_t c = 0; c < 3; c++) epos = fmax(epos, fabs(pos[3 * i + c] - full[3 * (size_t)sel[i] + c]));
  CHECK(epos < 1e-12);
  double worst = 0, worst_scale = 0, biggest = 0;
  size_t nonzero = 0;
  for (size_t a = 0; a < 204; a++) {
    double h = 1e-6, keep = m[a];
    m[a] = keep + h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pp, NULL, &err));
    mhrfit_rig_skin_rest(rig, &pp, rest, vp);
    m[a] = keep - h;
    REQUIRE(mhrfit_rig_fk(rig, m, &pp, NULL, &err));
    mhrfit_rig_skin_rest(rig, &pp, rest, vm);
    m[a] = keep;
    for (size_t i = 0; i < NSEL; i++)
      for (size_t c = 0; c < 3; c++) {
        size_t k = 3 * (size_t)sel[i] + c;
        double fd = (vp[k] - vm[k]) / (2 * h), an = J[(3 * i + c) * 204 + a];
        double rel = fabs(fd - an) / fmax(1.0, fabs(fd));
        worst = fmax(worst, rel);
        if (strstr(rig->param_names[a], "scale_")) worst_scale = fmax(worst_scale, rel);
        biggest = fmax(biggest, fabs(an));
        nonzero += an != 0.0;
      }
  }
  printf("  vertex Jacobian (%d vertices x 204) vs central differences: max relative error %.3g (scale parameters "
         "%.3g); %zu of %d entries non-zero, largest %.3g cm/unit\n",
         NSEL, worst, worst_scale, nonzero, 3 * NSEL * 204, biggest);
  CHECK(worst < 1e-6);
  CHECK(worst_scale < 1e-6 && worst_scale > 0);
  CHECK(nonzero > 1000 && nonzero < 3 * NSEL * 204 / 2); /* sparse: only the chains above the influences */
  /* the same without the vertex index (scan of all skin triples) */
  mhrfit_rig copy = *rig;
  copy.skin_vstart = NULL;
  copy.skin_vorder = NULL;
  double *J2 = malloc(3 * NSEL * 204 * sizeof *J2);
  REQUIRE(J2);
  REQUIRE(mhrfit_rig_vertex_jacobian(&copy, &pose, jp, rest, sel, NSEL, NULL, J2, &err));
  double e2 = 0;
  for (size_t i = 0; i < 3 * NSEL * 204; i++) e2 = fmax(e2, fabs(J2[i] - J[i]));
  CHECK(e2 < 1e-12);
  free(J2);
  free(rest);
  free(vp);
  free(vm);
  free(full);
  free(J);
}

/* A vertex with one influence placed at its joint's rest position moves exactly like the joint:
 * its Jacobian rows are the joint Jacobian's rows (times the weight). */
static void test_vertex_jacobian_vs_joint(void) {
  REQUIRE(rig);
  size_t nv = rig->n_vertices;
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], JJ[381 * 204];
  double *rest = malloc(3 * nv * sizeof *rest), Jv[3 * 3 * 204], pos[9];
  REQUIRE(rest);
  memcpy(rest, rig->vertices, 3 * nv * sizeof *rest);
  /* three single-influence vertices on different joints */
  int32_t sel[3];
  size_t found = 0;
  int32_t joints[3] = {-1, -1, -1};
  double weights[3];
  for (size_t v = 0; v < nv && found < 3; v++) {
    if (rig->skin_vstart[v + 1] - rig->skin_vstart[v] != 1) continue;
    size_t e = (size_t)rig->skin_vorder[rig->skin_vstart[v]];
    int32_t k = rig->skin_joint[e];
    if (k == joints[0] || k == joints[1] || rig->parents[k] < 2) continue;
    sel[found] = (int32_t)v;
    joints[found] = k;
    weights[found] = rig->skin_weight[e];
    found++;
  }
  REQUIRE(found == 3);
  for (size_t i = 0; i < 3; i++) memcpy(rest + 3 * (size_t)sel[i], rig->rest_t + 3 * (size_t)joints[i], 3 * sizeof(double));
  random_params(rig, m);
  mhrfit_fk_pose pose = {R, t, s};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_fk(rig, m, &pose, jp, &err));
  mhrfit_rig_joint_jacobian(rig, &pose, jp, JJ);
  REQUIRE(mhrfit_rig_vertex_jacobian(rig, &pose, jp, rest, sel, 3, pos, Jv, &err));
  double e = 0, ep = 0;
  size_t nz = 0;
  for (size_t i = 0; i < 3; i++) {
    size_t k = (size_t)joints[i];
    for (size_t c = 0; c < 3; c++) {
      ep = fmax(ep, fabs(pos[3 * i + c] - weights[i] * t[3 * k + c]));
      for (size_t a = 0; a < 204; a++) {
        double want = weights[i] * JJ[(3 * k + c) * 204 + a];
        e = fmax(e, fabs(Jv[(3 * i + c) * 204 + a] - want) / fmax(1.0, fabs(want)));
        nz += want != 0;
      }
    }
  }
  printf("  single-influence vertices at joints %d, %d, %d (weights %.6f..): vs joint Jacobian %.3g, %zu non-zeros\n",
         joints[0], joints[1], joints[2], weights[0], e, nz);
  CHECK(e < 1e-12 && ep < 1e-9);
  CHECK(nz > 30);
  free(rest);
}

/* The complete Jacobian of skin_full (LBS of the corrected rest mesh + the correctives' own
 * dependence on the pose) against central differences, with the synthetic layer 2. */
static void test_full_jacobian_fd(void) {
  REQUIRE(rig_l2);
  size_t nv = rig_l2->n_vertices, nw = mhrfit_rig_skin_work_size(rig_l2);
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], coeffs[45];
  static double R2[127 * 9], t2[127 * 3], s2[127], jp2[889];
  enum { NSEL = 40 };
  int32_t sel[NSEL];
  for (size_t i = 0; i < NSEL; i++) sel[i] = (int32_t)((i * 151 + 3) % nv);
  double *work = malloc(nw * sizeof *work), *work2 = malloc(nw * sizeof *work2), *vp = malloc(3 * nv * sizeof *vp),
         *vm = malloc(3 * nv * sizeof *vm), *out = malloc(3 * nv * sizeof *out), *J = malloc(3 * NSEL * 204 * sizeof *J),
         *Jc = calloc(3 * NSEL * 204, sizeof *Jc);
  REQUIRE(work && work2 && vp && vm && out && J && Jc);
  for (int i = 0; i < 45; i++) coeffs[i] = rnd();
  random_params(rig_l2, m);
  mhrfit_fk_pose pose = {R, t, s}, pp = {R2, t2, s2};
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_fk(rig_l2, m, &pose, jp, &err));
  REQUIRE(mhrfit_rig_skin_full(rig_l2, coeffs, 45, &pose, jp, work, out, &err));
  const double *hidden = work + 3 * nv + rig_l2->n_corr_features;
  REQUIRE(mhrfit_rig_vertex_jacobian(rig_l2, &pose, jp, work, sel, NSEL, NULL, J, &err));
  REQUIRE(mhrfit_rig_corrective_jacobian_add(rig_l2, &pose, jp, hidden, sel, NSEL, J, &err));
  REQUIRE(mhrfit_rig_corrective_jacobian_add(rig_l2, &pose, jp, hidden, sel, NSEL, Jc, &err));
  double worst = 0, corr_max = 0, lbs_only = 0;
  for (size_t a = 0; a < 204; a++) {
    double h = 1e-6, keep = m[a];
    m[a] = keep + h;
    REQUIRE(mhrfit_rig_fk(rig_l2, m, &pp, jp2, &err));
    REQUIRE(mhrfit_rig_skin_full(rig_l2, coeffs, 45, &pp, jp2, work2, vp, &err));
    m[a] = keep - h;
    REQUIRE(mhrfit_rig_fk(rig_l2, m, &pp, jp2, &err));
    REQUIRE(mhrfit_rig_skin_full(rig_l2, coeffs, 45, &pp, jp2, work2, vm, &err));
    m[a] = keep;
    for (size_t i = 0; i < NSEL; i++)
      for (size_t c = 0; c < 3; c++) {
        size_t k = 3 * (size_t)sel[i] + c, row = (3 * i + c) * 204 + a;
        double fd = (vp[k] - vm[k]) / (2 * h);
        worst = fmax(worst, fabs(fd - J[row]) / fmax(1.0, fabs(fd)));
        lbs_only = fmax(lbs_only, fabs(fd - (J[row] - Jc[row])) / fmax(1.0, fabs(fd)));
        corr_max = fmax(corr_max, fabs(Jc[row]));
      }
  }
  printf("  skin_full Jacobian (%d vertices, correctives included) vs central differences: max relative error %.3g; "
         "corrective part up to %.3g cm/unit (LBS part alone would be off by %.3g)\n", NSEL, worst, corr_max, lbs_only);
  CHECK(worst < 1e-6);
  CHECK(corr_max > 0.1 && lbs_only > 0.1); /* the corrective term matters and is right */
  /* errors */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_jacobian_add(rig, &pose, jp, hidden, sel, NSEL, Jc, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  int32_t bad = (int32_t)nv;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_jacobian_add(rig_l2, &pose, jp, hidden, &bad, 1, Jc, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  free(work);
  free(work2);
  free(vp);
  free(vm);
  free(out);
  free(J);
  free(Jc);
}

/* ---- corrupted files and bad inputs --------------------------------------------------------- */

static mhrfit_array *dict_array(mhrfit_value *d, const char *key) {
  mhrfit_value *v = mhrfit_value_dict_get_mut(d, key);
  return v && v->kind == MHRFIT_V_ARRAY ? v->u.array : NULL;
}

/* Writes `d` as corrective_activation.npz into `dir`, loads the rig from `dir`, and checks that it
 * fails with an error of `type` whose message holds `needle` and the file name. */
static void expect_load_error(const char *dir, const mhrfit_value *d, mhrfit_error_type type, const char *needle,
                              const char *file) {
  mhrfit_error err = {0};
  if (d) REQUIRE(mhrfit_npz_save_dict(th_path(dir, "corrective_activation.npz"), d, false, &err));
  mhrfit_rig *r = mhrfit_rig_load(dir, 6, &err);
  CHECK(r == NULL);
  mhrfit_rig_free(r);
  CHECK(err.type == type);
  CHECK_CONTAINS(err.message, file);
  CHECK_CONTAINS(err.message, needle);
  if (r == NULL) printf("  rejected: %s\n", err.message);
}

static void test_bad_files(void) {
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/mhrfit_corrbadXXXXXX");
  REQUIRE(mkdtemp(dir));
  const char *const names[] = {"compact_v6_1.model", "lod6.fbx", NULL};
  REQUIRE(link_assets(dir, names));
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_npz_load(th_path(assets_dir(), "corrective_activation.npz"), NULL, &err);
  REQUIRE(d);
  mhrfit_array *idx = dict_array(d, "0.sparse_indices"), *w = dict_array(d, "0.sparse_weight");
  REQUIRE(idx && idx->dtype == MHRFIT_DT_I64 && w && w->dtype == MHRFIT_DT_F32);
  int64_t *ix = idx->data;
  size_t nw = idx->shape[1];
  const char *f1 = "corrective_activation.npz";
  /* out-of-range feature, hidden unit, negative index */
  int64_t keep = ix[nw + 10];
  ix[nw + 10] = 750;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "'0.sparse_indices': entry 10: (hidden unit 0, feature 750) out of range", f1);
  ix[nw + 10] = keep;
  keep = ix[nw - 1];
  ix[nw - 1] = 3000;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "out of range (3000 units, 750 features)", f1);
  ix[nw - 1] = -1;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "hidden unit -1", f1);
  ix[nw - 1] = keep;
  /* a pair the mask does not have, and a pair listed twice */
  keep = ix[nw + 0];
  ix[nw + 0] = 749; /* unit 0 reads joint 2's block; feature 749 is joint 126's */
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "is not set in member 'posedirs_sparse_mask'", f1);
  ix[nw + 0] = ix[nw + 1];
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "listed twice", f1);
  ix[nw + 0] = keep;
  /* a non-finite weight */
  float wk = ((float *)w->data)[5];
  ((float *)w->data)[5] = NAN;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "'0.sparse_weight': entry 5 is not finite", f1);
  ((float *)w->data)[5] = wk;
  /* wrong shapes: indices (1, 2N), weights one short, mask of 749 features */
  idx->shape[0] = 1;
  idx->shape[1] = 2 * nw;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "member '0.sparse_indices': expected integers (2, N), got int64 (1, 106272)", f1);
  idx->shape[0] = 2;
  idx->shape[1] = nw;
  w->shape[0] = nw - 1;
  w->count = nw - 1;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "member '0.sparse_weight': expected floats (53136,)", f1);
  w->shape[0] = nw;
  w->count = nw;
  mhrfit_array *mask = dict_array(d, "posedirs_sparse_mask");
  REQUIRE(mask && mask->shape[1] == 750);
  mask->shape[0] = 3750;
  mask->shape[1] = 600;
  expect_load_error(dir, d, MHRFIT_ERR_FORMAT, "member 'posedirs_sparse_mask': expected bool (hidden units, 750), got bool (3750, 600)", f1);
  mask->shape[0] = 3000;
  mask->shape[1] = 750;
  /* a missing member */
  for (size_t i = 0; i < d->u.dict.count; i++)
    if (strcmp(d->u.dict.keys[i], "posedirs_sparse_mask") == 0) d->u.dict.keys[i][0] = 'X';
  expect_load_error(dir, d, MHRFIT_ERR_NOT_FOUND, "member 'posedirs_sparse_mask' missing", f1);
  for (size_t i = 0; i < d->u.dict.count; i++)
    if (strcmp(d->u.dict.keys[i], "Xosedirs_sparse_mask") == 0) d->u.dict.keys[i][0] = 'p';
  /* not an npz at all */
  FILE *f = fopen(th_path(dir, f1), "wb");
  REQUIRE(f);
  fputs("this is not a zip archive\n", f);
  fclose(f);
  mhrfit_rig *r = mhrfit_rig_load(dir, 6, &err);
  CHECK(r == NULL);
  CHECK_CONTAINS(err.message, f1);
  mhrfit_rig_free(r);
  /* a valid layer 1 with a layer 2 of the wrong shape */
  REQUIRE(mhrfit_npz_save_dict(th_path(dir, f1), d, false, &err));
  const char *key = "corrective_blendshapes";
  size_t shapes[2][3] = {{3000, 7, 3}, {12, 595, 3}};
  for (int k = 0; k < 2; k++) {
    mhrfit_array *bad = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, shapes[k], 0, &err);
    REQUIRE(bad);
    const mhrfit_array *arr[1] = {bad};
    REQUIRE(mhrfit_npz_save(th_path(dir, "corrective_blendshapes_lod6.npz"), 1, &key, arr, false, &err));
    mhrfit_array_free(bad);
    expect_load_error(dir, NULL, MHRFIT_ERR_FORMAT, "member 'corrective_blendshapes': expected floats (3000, 595, 3)",
                      "corrective_blendshapes_lod6.npz");
  }
  /* a layer 2 with a NaN (float64: converted) */
  size_t small[3] = {3000, 595, 3};
  mhrfit_array *l2 = mhrfit_array_new(MHRFIT_DT_F64, 0, 3, small, 0, &err);
  REQUIRE(l2);
  ((double *)l2->data)[3 * 595 * 7 + 3 * 11 + 2] = NAN;
  const mhrfit_array *arr[1] = {l2};
  REQUIRE(mhrfit_npz_save(th_path(dir, "corrective_blendshapes_lod6.npz"), 1, &key, arr, false, &err));
  expect_load_error(dir, NULL, MHRFIT_ERR_FORMAT, "element [7, 11, 2] is not finite", "corrective_blendshapes_lod6.npz");
  /* the same float64 layer 2 without the NaN loads (converted to float32) */
  ((double *)l2->data)[3 * 595 * 7 + 3 * 11 + 2] = 0.25;
  REQUIRE(mhrfit_npz_save(th_path(dir, "corrective_blendshapes_lod6.npz"), 1, &key, arr, false, &err));
  mhrfit_array_free(l2);
  r = mhrfit_rig_load(dir, 6, &err);
  REQUIRE(r);
  CHECK(mhrfit_rig_has_correctives(r) && r->corr_blend[3 * 595 * 7 + 3 * 11 + 2] == 0.25f);
  mhrfit_rig_free(r);
  /* layer 2 without layer 1: no correctives, no error */
  unlink(th_path(dir, f1));
  r = mhrfit_rig_load(dir, 6, &err);
  REQUIRE(r);
  CHECK(!r->corr_start && !r->corr_blend && r->n_corr_features == 0);
  mhrfit_rig_free(r);
  mhrfit_value_free(d);
  const char *const all[] = {"compact_v6_1.model", "lod6.fbx", "corrective_blendshapes_lod6.npz", NULL};
  for (const char *const *n = all; *n; n++) unlink(th_path(dir, *n));
  CHECK(rmdir(dir) == 0);
}

static void test_bad_inputs(void) {
  REQUIRE(rig && rig_l2);
  static double m[204], R[127 * 9], t[127 * 3], s[127], jp[889], feat[750], hidden[3000], J[3 * 204], out[3];
  mhrfit_fk_pose pose = {R, t, s};
  mhrfit_error err = {0};
  random_params(rig_l2, m);
  REQUIRE(mhrfit_rig_fk(rig_l2, m, &pose, jp, &err));
  double *work = malloc(mhrfit_rig_skin_work_size(rig_l2) * sizeof *work), *v = malloc(3 * 595 * sizeof *v);
  REQUIRE(work && v);
  /* NaN joint parameter (NaN model parameters are already refused by FK) */
  m[50] = NAN;
  CHECK(!mhrfit_rig_fk(rig_l2, m, &pose, NULL, &err) && err.type == MHRFIT_ERR_NUMERIC);
  m[50] = 0;
  double keep = jp[7 * 40 + 4];
  jp[7 * 40 + 4] = NAN;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_features(rig_l2, jp, feat, &err) && err.type == MHRFIT_ERR_NUMERIC);
  CHECK_CONTAINS(err.message, rig_l2->joint_names[40]);
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_skin_full(rig_l2, NULL, 0, &pose, jp, work, v, &err) && err.type == MHRFIT_ERR_NUMERIC);
  int32_t one = 10;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_vertex_jacobian(rig_l2, &pose, jp, NULL, &one, 1, out, J, &err) && err.type == MHRFIT_ERR_NUMERIC);
  jp[7 * 40 + 4] = keep;
  /* NaN features, hidden values and coefficients */
  REQUIRE(mhrfit_rig_corrective_features(rig_l2, jp, feat, &err));
  feat[100] = INFINITY;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_hidden(rig_l2, feat, hidden, &err) && err.type == MHRFIT_ERR_NUMERIC);
  feat[100] = 0;
  REQUIRE(mhrfit_rig_corrective_hidden(rig_l2, feat, hidden, &err));
  hidden[7] = NAN;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_offsets(rig_l2, hidden, v, &err) && err.type == MHRFIT_ERR_NUMERIC);
  double coeffs[3] = {0, NAN, 0};
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_skin_full(rig_l2, coeffs, 3, &pose, jp, work, v, &err) && err.type == MHRFIT_ERR_NUMERIC);
  /* out-of-range vertex indices */
  int32_t badv[2] = {3, 595};
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_vertex_jacobian(rig_l2, &pose, jp, NULL, badv, 2, NULL, J, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  CHECK_CONTAINS(err.message, "vertex index 595");
  hidden[7] = 0;
  badv[1] = -1;
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_offsets_subset(rig_l2, hidden, badv, 2, v, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  /* layers that are not loaded */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_offsets(rig, hidden, v, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK_CONTAINS(err.message, "corrective_blendshapes_lod6.npz");
  mhrfit_rig *bare = mhrfit_rig_load_flags(assets_dir(), 6, MHRFIT_RIG_NO_CORRECTIVES, &err);
  REQUIRE(bare);
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_rig_corrective_hidden(bare, feat, hidden, &err) && err.type == MHRFIT_ERR_NOT_FOUND);
  CHECK(mhrfit_rig_skin_work_size(bare) == 3 * 595);
  mhrfit_rig_free(bare);
  free(work);
  free(v);
}

/* Rig files (mhrfit rig import) carry both layers: bit-identical round trip, layer 2 left out on
 * request, and a damaged corrective member refused with its name. */
static void test_rig_file(void) {
  REQUIRE(rig_l2 && rig_l2->corr_blend);
  char path[128];
  snprintf(path, sizeof path, "%s/rig.npz", tmp_dir);
  mhrfit_error err = {0};
  REQUIRE(mhrfit_rig_save(rig_l2, path, &err));
  mhrfit_rig *back = mhrfit_rig_load_file(path, &err);
  REQUIRE(back);
  CHECK(mhrfit_rig_equal(rig_l2, back) && mhrfit_rig_has_correctives(back));
  CHECK(back->skin_vstart != NULL); /* the vertex index of the skin is rebuilt */
  mhrfit_rig_free(back);
  back = mhrfit_rig_open(path, -1, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err);
  REQUIRE(back);
  CHECK(back->corr_start && !back->corr_blend && back->n_corr_weights == rig_l2->n_corr_weights);
  mhrfit_rig_free(back);
  back = mhrfit_rig_open(path, -1, MHRFIT_RIG_NO_CORRECTIVES, &err);
  REQUIRE(back);
  CHECK(!back->corr_start && !back->corr_blend);
  mhrfit_rig_free(back);
  /* a feature index out of range */
  mhrfit_value *d = mhrfit_npz_load(path, NULL, &err);
  REQUIRE(d);
  mhrfit_array *f = dict_array(d, "corr_feature");
  REQUIRE(f && f->count > 0);
  ((int32_t *)f->data)[f->count / 2] = 750;
  REQUIRE(mhrfit_npz_save_dict(path, d, false, &err));
  mhrfit_value_free(d);
  mhrfit_error e2 = {0};
  CHECK(!mhrfit_rig_load_file(path, &e2) && e2.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(e2.message, "corr_feature");
  unlink(path);
}

static void cleanup(void) {
  mhrfit_rig_free(rig);
  mhrfit_rig_free(rig_l2);
  free(synth_w);
  if (tmp_dir[0]) {
    const char *const names[] = {"compact_v6_1.model", "lod6.fbx", "corrective_activation.npz",
                                 "corrective_blendshapes_lod6.npz", NULL};
    for (const char *const *n = names; *n; n++) unlink(th_path(tmp_dir, *n));
    rmdir(tmp_dir);
  }
}

int main(void) {
  RUN(load);
  RUN(test_zero_pose);
  RUN(test_layer1_vs_numpy);
  RUN(make_synthetic_assets);
  RUN(test_layer2_offsets);
  RUN(test_skin_full);
  RUN(test_cli_fk);
  RUN(test_vertex_jacobian_fd);
  RUN(test_vertex_jacobian_vs_joint);
  RUN(test_full_jacobian_fd);
  RUN(test_bad_files);
  RUN(test_bad_inputs);
  RUN(test_rig_file);
  cleanup();
  return test_report();
}
