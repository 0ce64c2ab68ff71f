/* mhrfit fit: stage 3, fit MHR to the triangulated points of one frame or a batch of frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/path.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/layout.h"
#include "mhrfit/npy.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/value.h"


/* The 204 parameters of an --init_pose file: mhr_model_params (204 or the last row of (F,204))
 * or body_pose_params (133) of a dict, or a plain array of 204 or 133 values. */
static bool load_init_pose(const char *path, double m[MHRFIT_N_MODEL_PARAMS], mhrfit_error *err) {
  mhrfit_value *v = mhrfit_numpy_load(path, NULL, err);
  if (!v) return false;
  const mhrfit_value *d = v->kind == MHRFIT_V_LIST && v->u.list.count ? v->u.list.items[0] : v;
  const mhrfit_array *a = NULL;
  if (d->kind == MHRFIT_V_ARRAY) a = d->u.array;
  else if (d->kind == MHRFIT_V_DICT) {
    const mhrfit_value *x = mhrfit_value_dict_get(d, "mhr_model_params");
    if (!x) x = mhrfit_value_dict_get(d, "body_pose_params");
    if (x && x->kind == MHRFIT_V_ARRAY) a = x->u.array;
  }
  bool ok = false;
  memset(m, 0, MHRFIT_N_MODEL_PARAMS * sizeof *m);
  if (!a || !mhrfit_dtype_is_numeric(a->dtype) || a->ndim < 1) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: --init_pose needs 'mhr_model_params' (204) or 'body_pose_params' (133)",
                path);
  } else {
    size_t n = a->shape[a->ndim - 1], base = a->count - n;
    if (n == MHRFIT_N_MODEL_PARAMS) {
      for (size_t i = 0; i < n; i++) m[i] = mhrfit_array_get_f64(a, base + i);
      ok = true;
    } else if (n == MHRFIT_N_BODY_POSE) {
      double bp[MHRFIT_N_BODY_POSE];
      for (size_t i = 0; i < n; i++) bp[i] = mhrfit_array_get_f64(a, base + i);
      mhrfit_model_set_body_pose(m, bp);
      ok = true;
    } else {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: --init_pose holds %zu values per pose; 204 or 133 expected", path, n);
    }
    for (size_t i = 0; ok && i < MHRFIT_N_MODEL_PARAMS; i++)
      if (!isfinite(m[i])) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NUMERIC, "%s: --init_pose value %zu is not finite", path, i);
  }
  mhrfit_value_free(v);
  return ok;
}

/* Frame folders of --views: the folder itself for one frame holding camera files, else its
 * sub-folders in natural order (one per triangulated frame). */
static bool view_dirs(const char *views, const char *first_cam, size_t F, mf_names *dirs, mf_names *labels,
                      mhrfit_error *err) {
  char *probe = mf_camera_file(views, first_cam, err);
  bool flat = probe != NULL;
  free(probe);
  if (F == 1 && flat) {
    char *d = malloc(strlen(views) + 1), *l = malloc(8);
    char **di = malloc(sizeof *di), **li = malloc(sizeof *li);
    if (!d || !l || !di || !li) {
      free(d), free(l), free(di), free(li);
      return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    }
    strcpy(d, views);
    strcpy(l, "frame");
    di[0] = d, li[0] = l;
    *dirs = (mf_names){di, 1};
    *labels = (mf_names){li, 1};
    return true;
  }
  if (!mf_list_dir(views, NULL, true, labels, err)) return false;
  if (labels->count != F) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT,
                "--views %s: the triangulation has %zu frame(s) but the folder has %zu frame sub-folder(s)%s", views, F,
                labels->count, F == 1 ? " and no camera files" : "");
    mf_names_free(labels);
    return false;
  }
  dirs->items = calloc(F, sizeof *dirs->items);
  dirs->count = F;
  if (!dirs->items) {
    mf_names_free(labels);
    return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
  }
  for (size_t f = 0; f < F; f++) {
    dirs->items[f] = mf_path_join(views, labels->items[f], err);
    if (!dirs->items[f]) {
      mf_names_free(dirs);
      mf_names_free(labels);
      return false;
    }
  }
  return true;
}

/* Warns for each frame whose views are not the stage-1 files it was triangulated from (when the
 * archive records them). */
static void warn_other_frames(const mhrfit_tri_archive *tri, const mf_names *dirs, const char *const *cams, size_t V) {
  for (size_t f = 0; f < dirs->count; f++) {
    char why[1024];
    if (mhrfit_tri_archive_match_views(tri, f, dirs->items[f], cams, V, why, sizeof why) == MHRFIT_TRI_VIEWS_DIFFERENT)
      fprintf(stderr, "mhrfit fit: warning: --views %s: %s; the fit mixes two frames\n", dirs->items[f], why);
  }
}

/* --debug_dir: residual table, view table and an SVG loss curve of one frame. */
static bool write_debug(const char *dir, const char *label, const mhrfit_fit_frame *fr, const mhrfit_fit_viewset *vs,
                        const mhrfit_fit_result *res, mhrfit_error *err) {
  char *fdir = mf_path_join(dir, label, err);
  if (!fdir) return false;
  if (!mf_make_dirs(fdir, err)) {
    free(fdir);
    return false;
  }
  const mhrfit_layout *mhr70 = mhrfit_layout_get("mhr70", NULL);
  char path[4096];
  mf_atomic_file af;
  bool ok = false;
  snprintf(path, sizeof path, "%s/residuals.tsv", fdir);
  if (!mf_atomic_open(&af, path, err)) goto done;
  fprintf(af.f, "index\tname\tinlier_weight\tsemantic_weight\ttarget_x\ttarget_y\ttarget_z\tfit_x\tfit_y\tfit_z\t"
                "residual_mm\n");
  for (size_t i = 0; i < fr->n_points; i++) {
    int k = fr->kp_index[i];
    const double *g = fr->targets + 3 * i, *p = res->keypoints + 3 * k;
    fprintf(af.f, "%d\t%s\t%.3f\t%.2f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.2f\n", k, mhr70 ? mhr70->names[k] : "",
            fr->inlier_weight ? fr->inlier_weight[i] : 1.0, mhrfit_fit_semantic_weight(k), g[0], g[1], g[2], p[0], p[1],
            p[2], 1000 * res->residuals[i]);
  }
  if (!mf_atomic_commit(&af, err)) goto done;
  snprintf(path, sizeof path, "%s/views.tsv", fdir);
  if (!mf_atomic_open(&af, path, err)) goto done;
  fprintf(af.f, "camera\tscore_m\tmean_reproj_px\tskipped\tinitial\tnote\n");
  for (size_t v = 0; v < fr->n_views; v++)
    fprintf(af.f, "%s\t%.5f\t%.3f\t%d\t%d\t%s\n", fr->views[v].name, res->view_scores[v], fr->views[v].mean_px,
            res->view_skipped[v], (int)v == res->init_view, vs ? vs->note[v] : "");
  if (!mf_atomic_commit(&af, err)) goto done;
  /* loss curve: log10 of the total and data losses against the iteration */
  snprintf(path, sizeof path, "%s/loss_curve.svg", fdir);
  if (!mf_atomic_open(&af, path, err)) goto done;
  int n = res->n_iters;
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 2; c++) {
      double x = (c ? res->data_loss_history : res->loss_history)[i];
      if (x > 0 && isfinite(x)) {
        lo = fmin(lo, log10(x));
        hi = fmax(hi, log10(x));
      }
    }
  if (!(hi > lo)) lo = hi - 1;
  const double W = 640, H = 400, L = 70, R = 20, T = 30, B = 50;
  fprintf(af.f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
          "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"%g\" y=\"20\">%s: loss per iteration (log10), best iteration %d</text>\n"
          "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#888\"/>\n",
          W, H, L, label, res->best_iter, L, T, W - L - R, H - T - B);
  fprintf(af.f, "<text x=\"5\" y=\"%g\">%.2f</text><text x=\"5\" y=\"%g\">%.2f</text>\n", T + 10, hi, H - B, lo);
  fprintf(af.f, "<text x=\"%g\" y=\"%g\">0</text><text x=\"%g\" y=\"%g\">%d</text>\n", L, H - B + 18, W - R - 20,
          H - B + 18, n > 0 ? n - 1 : 0);
  static const char *const colour[2] = {"#1f77b4", "#d62728"};
  for (int c = 0; c < 2; c++) {
    fprintf(af.f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[c]);
    for (int i = 0; i < n; i++) {
      double x = (c ? res->data_loss_history : res->loss_history)[i];
      if (!(x > 0 && isfinite(x))) continue;
      double px = L + (W - L - R) * (n > 1 ? (double)i / (n - 1) : 0.5);
      double py = T + (H - T - B) * (hi - log10(x)) / (hi - lo);
      fprintf(af.f, "%.1f,%.1f ", px, py);
    }
    fprintf(af.f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\">%s</text>\n", L + 10 + 120 * c, H - 15, colour[c],
            c ? "data loss" : "total loss");
  }
  fprintf(af.f, "</svg>\n");
  ok = mf_atomic_commit(&af, err);
done:
  free(fdir);
  return ok;
}

int mf_cmd_fit(int argc, char **argv) {
  const char *tri_path = NULL, *views_dir = NULL, *assets = NULL, *rig_path = NULL, *out = NULL, *init_pose = NULL,
             *debug_dir = NULL, *layout = NULL, *keypoint_map = NULL;
  long calib_frames = 24;
  mf_strlist cams = {0};
  long lod = -1, person = 0, max_stale = 40;
  bool allow_missing = true, no_mesh = false, quiet = false;
  mf_fit_cli fc;
  mf_fit_cli_init(&fc);
  mf_opt opts[20 + MF_FIT_CLI_N_OPTS];
  const mf_opt own[] = {
      {"tri", MF_OPT_STRING, &tri_path, "TRI.npz", "triangulation archive of mhrfit triangulate (mhr70 layout); required", NULL},
      {"views", MF_OPT_STRING, &views_dir, "DIR",
       "stage-1 files <cam>.npz|.npy of the frame, or one sub-folder per frame (natural order) for a batch; "
       "required unless --layout or --keypoint_map", NULL},
      {"layout", MF_OPT_STRING, &layout, "L",
       "no views: fit the keypoints of a detector layout (" MHRFIT_LAYOUT_NAMES ") alone", NULL},
      {"keypoint_map", MF_OPT_STRING, &keypoint_map, "FILE",
       "no views: JSON map of keypoint names to MHR joints (with offsets, weights), amending --layout's", NULL},
      {"calib_frames", MF_OPT_INT, &calib_frames, "N", "no views: frames of the marker calibration (default 24)", NULL},
      {"out", MF_OPT_STRING, &out, "FIT.npz", "output archive; required", NULL},
      {"cams", MF_OPT_LIST, &cams, "NAME", "cameras whose estimates start the fit (default: the triangulation's cameras)", NULL},
      MF_RIG_OPT_ASSETS(&assets),
      MF_RIG_OPT_RIG(&rig_path),
      {"lod", MF_OPT_INT, &lod, "N",
       MF_LOD_HELP, NULL},
      {"no_mesh", MF_OPT_FLAG, &no_mesh, NULL, "leave pred_vertices out of the output", NULL},
      {"init_pose", MF_OPT_STRING, &init_pose, "FILE",
       "temporal prior of the first frame: a fit.npz / stage-1 file or a plain array of 204 or 133 values", NULL},
      {"person_index", MF_OPT_INT, &person, "N", "person in multi-person stage-1 files (default 0; mhrfit ingest selects)", NULL},
      {"allow_missing_views", MF_OPT_FLAG, &allow_missing, NULL,
       "a camera without a file is an unusable view, not an error (default on; --no_allow_missing_views)", NULL},
      {"max_stale_frames", MF_OPT_INT, &max_stale, "N",
       "batch: the previous good frame is the temporal prior when at most N frames back (default 40)", NULL},
      {"debug_dir", MF_OPT_STRING, &debug_dir, "DIR",
       "write per frame residuals.tsv, views.tsv and loss_curve.svg into DIR/<frame>/", NULL},
      MF_OPT_QUIET(&quiet),
  };
  size_t n_own = sizeof own / sizeof own[0];
  memcpy(opts, own, sizeof own);
  size_t n_opts = n_own + mf_fit_cli_table(&fc, opts + n_own);
  const mf_cmd_spec spec = {
      "fit", "--tri TRI.npz (--views DIR | --layout L) --out FIT.npz [--cams A B ...] [--assets DIR | --rig RIG.npz] [options]",
      "Fits MHR's pose to triangulated MHR70 keypoints (stage 3): the best camera's SAM 3D Body\n"
      "estimate starts a Levenberg-Marquardt fit of the body pose and a similarity (scale, rotation,\n"
      "translation) with Huber residuals and pose / temporal / hand regularisers. A batch (a\n"
      "triangulation with a frame axis) is fitted in order, each frame using the previous good frame\n"
      "as its temporal prior. Writes fit.npz: parameters, world keypoints, joints, rotations, mesh\n"
      "and opt_* diagnostics (losses, iterations, chosen view, per-view scores, status).\n"
      "Without views (--layout L and/or --keypoint_map FILE) the triangulated keypoints of any\n"
      "2-D detector are fitted alone: body proportions and marker offsets are calibrated over the\n"
      "sequence, each frame starts from the previous one (or from the rest pose, limb by limb),\n"
      "within the joint limits; pred_keypoints_3d then holds the layout's keypoints.",
      opts, n_opts, 0, 0};
  mf_strlist pos;
  int rc = mf_args_parse(&spec, argc, argv, &pos);
  if (rc >= 0) {
    mf_strlist_free(&cams);
    return rc;
  }
  mf_strlist_free(&pos);
  mhrfit_error err = {0};
  mhrfit_tri_archive *tri = NULL;
  mhrfit_rig *rig = NULL;
  mhrfit_fitter *fitter = NULL;
  mhrfit_fit_archive *ar = NULL;
  mf_names dirs = {0}, labels = {0};
  int *kp_index = NULL;
  double *weights = NULL, *prev = NULL;
  mhrfit_similarity prev_sim;
  if (!tri_path || (!views_dir && !layout && !keypoint_map) || !out) {
    rc = mf_usage_error("fit", "--tri, --out and --views (or --layout / --keypoint_map) are required");
    goto done;
  }
  if (views_dir && (layout || keypoint_map)) {
    rc = mf_usage_error("fit", "--layout and --keypoint_map fit without views: leave out --views");
    goto done;
  }
  if (!views_dir && (init_pose || debug_dir || cams.count)) {
    rc = mf_usage_error("fit", "--init_pose, --debug_dir and --cams apply to fits with --views");
    goto done;
  }
  if (calib_frames < 1 || calib_frames > 10000) {
    rc = mf_usage_error("fit", "--calib_frames must be in 1..10000, got %ld", calib_frames);
    goto done;
  }
  if (person < 0 || max_stale < 0) {
    rc = mf_usage_error("fit", "--person_index and --max_stale_frames must be >= 0");
    goto done;
  }
  if ((rc = mf_fit_cli_finish(&fc, "fit")) >= 0 || (rc = mf_lod_check(lod, "fit")) >= 0) goto done;
  mf_rig_src rig_src;
  if ((rc = mf_rig_choose(assets, rig_path, "fit", &rig_src)) >= 0) goto done;
  if (!views_dir) {
    mf_fit_detector_args da = {tri_path, out,     layout, keypoint_map, &rig_src, lod, calib_frames,
                               max_stale, no_mesh, quiet,  &fc.o};
    rc = mf_fit_detector(&da);
    goto done;
  }
  rc = MF_EXIT_FAILURE;
  tri = mhrfit_tri_archive_load(tri_path, &err);
  if (!tri) goto fail;
  const char *const *cam_names = cams.count ? cams.items : (const char *const *)tri->cams;
  size_t V = cams.count ? cams.count : tri->n_views, F = tri->n_frames, K = tri->n_kp;
  if (!view_dirs(views_dir, cam_names[0], F, &dirs, &labels, &err)) goto fail;
  warn_other_frames(tri, &dirs, cam_names, V);
  rig = mf_rig_src_load(&rig_src, lod, MHRFIT_RIG_NO_CORRECTIVE_BLENDSHAPES, &err);
  if (!rig) goto fail;
  fitter = mhrfit_fitter_new(rig, NULL, &fc.o, &err);
  if (!fitter) goto fail;
  size_t n_hist = (size_t)(fc.o.iters ? fc.o.iters : fc.o.solver == MHRFIT_SOLVER_ADAM ? 200 : 50);
  ar = mhrfit_fit_archive_new(F, K, V, rig->n_joints, no_mesh ? 0 : rig->n_vertices, n_hist, cam_names, &err);
  kp_index = calloc(K, sizeof *kp_index);
  weights = calloc(K, sizeof *weights);
  prev = calloc(MHRFIT_N_MODEL_PARAMS, sizeof *prev);
  if (!ar || !kp_index || !weights || !prev) {
    if (ar) MHRFIT_FAIL(&err, MHRFIT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  ar->frame_axis = tri->frame_axis;
  mhrfit_fit_archive_set_options(ar, &fc.o);
  bool have_prev = false, have_prev_sim = false;
  long prev_frame = -1;
  if (init_pose) {
    if (!load_init_pose(init_pose, prev, &err)) goto fail;
    have_prev = true;
  }
  bool tty = !quiet && F > 1 && isatty(2);
  size_t n_ok = 0, n_bad = 0, n_failed = 0;
  double t0 = mf_now_seconds(), t_fit = 0;
  for (size_t f = 0; f < F; f++) {
    mhrfit_fit_viewset *vs = mhrfit_fit_viewset_load(dirs.items[f], cam_names, V, (size_t)person, allow_missing, &err);
    if (!vs) {
      mhrfit_error_prefix(&err, "frame %s", labels.items[f]);
      goto fail;
    }
    mhrfit_fit_frame fr;
    if (!mhrfit_fit_frame_from_tri(tri, f, vs, kp_index, weights, &fr, &err)) {
      mhrfit_fit_viewset_free(vs);
      goto fail;
    }
    bool prior = have_prev && (prev_frame < 0 || (long)f - prev_frame <= max_stale);
    fr.prev_model_params = prior ? prev : NULL;
    fr.prev_similarity = prior && have_prev_sim ? &prev_sim : NULL;
    mhrfit_fit_result res;
    mhrfit_error ferr = {0};
    double t1 = mf_now_seconds();
    bool ok = mhrfit_fitter_process(fitter, &fr, &res, &ferr);
    t_fit += mf_now_seconds() - t1;
    for (size_t v = 0; v < V; v++)
      if (vs->note[v][0] && !(ok && !res.view_skipped[v]))
        fprintf(stderr, "mhrfit fit: warning: frame %s, camera '%s' not used: %s\n", labels.items[f], cam_names[v],
                vs->note[v]);
    if (!ok) {
      if (ferr.type == MHRFIT_ERR_NOMEM || ferr.type == MHRFIT_ERR_ARGUMENT) {
        err = ferr;
        mhrfit_fit_viewset_free(vs);
        goto fail;
      }
      mhrfit_fit_archive_set_failed(ar, f, "optimization_failed", ferr.message);
      n_failed++;
      fprintf(stderr, "mhrfit fit: warning: frame %s failed: %s\n", labels.items[f], ferr.message);
    } else {
      mhrfit_fit_archive_set(ar, f, &fr, vs, &res);
      if (res.status == MHRFIT_FIT_OK) {
        n_ok++;
        memcpy(prev, res.model_params, MHRFIT_N_MODEL_PARAMS * sizeof *prev);
        prev_sim = res.sim_out;
        have_prev = have_prev_sim = true;
        prev_frame = (long)f;
      } else {
        n_bad++;
      }
      if (debug_dir && !write_debug(debug_dir, labels.items[f], &fr, vs, &res, &err)) {
        mhrfit_fit_viewset_free(vs);
        goto fail;
      }
    }
    mhrfit_fit_viewset_free(vs);
    if (tty) {
      double el = mf_now_seconds() - t0, rate = (double)(f + 1) / el;
      fprintf(stderr, "\rfit: %zu/%zu frames, %.1f frames/s, ETA %.0f s, %zu bad, %zu failed   ", f + 1, F, rate,
              (double)(F - f - 1) / rate, n_bad, n_failed);
    }
  }
  if (tty) fprintf(stderr, "\n");
  if (!mhrfit_fit_archive_save(out, ar, &err) || !mf_sync_file(out, &err)) goto fail; /* a final output: durable */
  if (!quiet) {
    if (F == 1 && n_failed == 0) {
      const double *L = ar->losses;
      const int32_t *C = ar->counts;
      printf("fitted 1 frame (%s solver): status %s, initial view %s, %d iterations, %d valid points\n", ar->solver,
             ar->status[0], ar->init_cam[0], C[0], C[2]);
      printf("loss %.4g -> %.4g (data %.4g -> %.4g), %.2f ms\n", L[0], L[2], L[3], L[5], 1e3 * t_fit);
    } else {
      printf("fitted %zu frame(s) (%s solver): %zu ok, %zu bad_loss, %zu failed; %.2f ms per frame in the solver\n", F,
             ar->solver, n_ok, n_bad, n_failed, 1e3 * t_fit / (double)F);
    }
    printf("wrote %s\n", out);
  }
  rc = n_ok + n_bad > 0 ? MF_EXIT_OK : MF_EXIT_FAILURE;
  if (rc != MF_EXIT_OK) fprintf(stderr, "mhrfit fit: error: no frame could be fitted\n");
  goto done;
fail:
  rc = mf_report("fit", &err);
done:
  free(kp_index);
  free(weights);
  free(prev);
  mf_names_free(&dirs);
  mf_names_free(&labels);
  mhrfit_fit_archive_free(ar);
  mhrfit_fitter_free(fitter);
  mhrfit_rig_free(rig);
  mhrfit_tri_archive_free(tri);
  mf_strlist_free(&cams);
  return rc;
}
