/* The layers of one view (mhrfit_overlay_render()). See include/mhrfit/overlay.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mhrfit/layout.h"
#include "overlay/overlay_internal.h"

/* SAM 3D Body's MHR70 skeleton (MHR.md §9.4): 65 links. */
static const unsigned char mhr70_links[65][2] = {
    {13, 11}, {11, 9},  {14, 12}, {12, 10}, {9, 10},  {5, 9},   {6, 10},  {5, 6},   {5, 7},   {6, 8},   {7, 62},
    {8, 41},  {1, 2},   {0, 1},   {0, 2},   {1, 3},   {2, 4},   {3, 5},   {4, 6},   {13, 15}, {13, 16}, {13, 17},
    {14, 18}, {14, 19}, {14, 20}, {62, 45}, {45, 44}, {44, 43}, {43, 42}, {62, 49}, {49, 48}, {48, 47}, {47, 46},
    {62, 53}, {53, 52}, {52, 51}, {51, 50}, {62, 57}, {57, 56}, {56, 55}, {55, 54}, {62, 61}, {61, 60}, {60, 59},
    {59, 58}, {41, 24}, {24, 23}, {23, 22}, {22, 21}, {41, 28}, {28, 27}, {27, 26}, {26, 25}, {41, 32}, {32, 31},
    {31, 30}, {30, 29}, {41, 36}, {36, 35}, {35, 34}, {34, 33}, {41, 40}, {40, 39}, {39, 38}, {38, 37}};

static const mhrfit_rgba BLACK = {0, 0, 0, 255}, OUTLINE = {0, 0, 0, 200}, NONE = {0, 0, 0, 0};
static const mhrfit_rgba C_KP = {255, 214, 0, 255}, C_OTHER = {170, 170, 170, 150}, C_RESID = {255, 255, 255, 200};
static const mhrfit_rgba C_IN = {40, 230, 60, 255}, C_OUT = {255, 50, 50, 255}, C_UNSEEN = {255, 255, 255, 230};
static const mhrfit_rgba C_LEFT = {70, 170, 255, 255}, C_RIGHT = {255, 130, 40, 255}, C_MID = {235, 235, 235, 255};
static const mhrfit_rgba C_MESH = {110, 170, 255, 255}, C_WIRE = {150, 225, 255, 255};

/* -1 left, +1 right, 0 centre for MHR70 keypoint k (from its name). */
static int side(size_t k) {
  const mhrfit_layout *l = mhrfit_layout_get("mhr70", NULL);
  if (!l || k >= l->count) return 0;
  if (strncmp(l->names[k], "left", 4) == 0) return -1;
  if (strncmp(l->names[k], "right", 5) == 0) return 1;
  return 0;
}

typedef struct sizes {
  int r, t, text;
  double line;
} sizes;

static sizes sizes_of(const mhrfit_image *img) {
  double s = (img->width < img->height ? img->width : img->height) / 1080.0;
  sizes z;
  z.r = (int)lround(4 * s);
  if (z.r < 2) z.r = 2;
  z.t = z.r / 2 > 1 ? z.r / 2 : 1;
  z.line = 2 * s > 1 ? 2 * s : 1;
  z.text = (int)lround(2 * s);
  if (z.text < 1) z.text = 1;
  return z;
}

static void draw_skeleton(mhrfit_overlay *ov, size_t c, mhrfit_image *img, const sizes *z, double *kp_uv,
                          bool *kp_ok) {
  const mf_ov_frame *fr = &ov->fr;
  const double *kp = ov->fit->keypoints + (size_t)fr->fit * 70 * 3;
  for (size_t k = 0; k < 70; k++)
    kp_ok[k] = mhrfit_overlay_project(&ov->calib->cams[c], ov->r2_limit[c], kp + 3 * k, kp_uv + 2 * k);
  if (!(ov->layers & MHRFIT_LAYER_SKELETON)) return;
  for (size_t l = 0; l < 65; l++) {
    int a = mhr70_links[l][0], b = mhr70_links[l][1];
    if (!kp_ok[a] || !kp_ok[b]) continue;
    int s = side((size_t)a) + side((size_t)b);
    mhrfit_rgba col = s < 0 ? C_LEFT : s > 0 ? C_RIGHT : C_MID;
    mhrfit_draw_line(img, kp_uv[2 * a], kp_uv[2 * a + 1], kp_uv[2 * b], kp_uv[2 * b + 1], z->line, col);
  }
  for (size_t k = 0; k < 70; k++)
    if (kp_ok[k]) {
      int s = side(k);
      mhrfit_draw_mark(img, kp_uv[2 * k], kp_uv[2 * k + 1], MHRFIT_MARK_DISC, z->r > 3 ? z->r / 2 : 1, 1,
                       s < 0 ? C_LEFT : s > 0 ? C_RIGHT : C_MID, NONE);
    }
}

/* Caption lines at the top-left corner over a dark band. */
static void caption(mhrfit_image *img, const sizes *z, const char *const *lines, size_t n) {
  int w = 0, h = 0, lh;
  mhrfit_text_size("x", z->text, NULL, &lh);
  for (size_t i = 0; i < n; i++) {
    int lw;
    mhrfit_text_size(lines[i], z->text, &lw, NULL);
    if (lw > w) w = lw;
    h += lh;
  }
  int pad = 3 * z->text;
  mhrfit_draw_rect(img, 0, 0, w + 2 * pad, h + 2 * pad, (mhrfit_rgba){0, 0, 0, 160});
  for (size_t i = 0; i < n; i++)
    mhrfit_draw_text(img, pad, pad + (int)i * lh, z->text, lines[i], (mhrfit_rgba){255, 255, 255, 255});
}

bool mhrfit_overlay_render(mhrfit_overlay *ov, size_t frame, size_t c, mhrfit_image *img, const char *note,
                           mhrfit_error *err) {
  if (frame >= ov->n_frames || c >= ov->calib->n_cams)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "view (%zu, %zu) is outside the %zu frame(s) and %zu camera(s)", frame,
                       c, ov->n_frames, ov->calib->n_cams);
  if (!mf_ov_load_frame(ov, frame, err)) return false;
  mf_ov_frame *fr = &ov->fr;
  const mhrfit_camera *cam = &ov->calib->cams[c];
  mhrfit_overlay_stats *info = &ov->info[c];
  const sizes z = sizes_of(img);
  const size_t k2 = 2 * ov->n_kp2d;
  const double *obs = fr->has_obs[c] ? fr->obs + c * k2 : NULL;
  /* 1. the mesh */
  if ((ov->layers & MHRFIT_LAYER_MESH) && mf_ov_mesh(ov, err)) {
    bool wire = ov->o.mesh_style == MHRFIT_MESH_WIREFRAME;
    mhrfit_rgba col = wire ? C_WIRE : C_MESH;
    col.a = (unsigned char)lround(255 * ov->o.mesh_alpha);
    if (!mhrfit_draw_mesh(img, ov->raster, cam, fr->mesh, ov->rig->n_vertices, ov->rig->faces, ov->rig->n_faces,
                          ov->o.mesh_style, col, NULL, err))
      return false;
  }
  /* 2. the fitted keypoints and skeleton */
  double kp_uv[140];
  bool kp_ok[70] = {false};
  if (fr->fit >= 0 && ov->fit->has_keypoints) draw_skeleton(ov, c, img, &z, kp_uv, kp_ok);
  double fit_sum = 0;
  size_t fit_n = 0;
  for (size_t k = 0; obs && ov->kp2d_mhr70 && k < 70; k++)
    if (kp_ok[k] && isfinite(obs[2 * k]) && isfinite(obs[2 * k + 1]))
      fit_sum += hypot(kp_uv[2 * k] - obs[2 * k], kp_uv[2 * k + 1] - obs[2 * k + 1]), fit_n++;
  /* 3. other persons */
  if (ov->layers & MHRFIT_LAYER_OTHERS)
    for (size_t p = 0; p < fr->n_others[c]; p++) {
      const double *o = fr->others + (c * MF_OV_MAX_OTHERS + p) * k2;
      for (size_t k = 0; k < ov->n_kp2d; k++)
        mhrfit_draw_mark(img, o[2 * k], o[2 * k + 1], MHRFIT_MARK_DISC, z.r > 2 ? z.r - 1 : 1, 1, C_OTHER, NONE);
    }
  /* 4-5. the triangulated points (projected once for both layers and the statistics) */
  long tv = fr->tri_view[c];
  double sum = 0, sum3 = 0;
  size_t n = 0, n3 = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < fr->n_pts; k++) {
      double uv[2];
      bool ok = mhrfit_overlay_project(cam, ov->r2_limit[c], fr->pts + 3 * k, uv);
      const double *ob = obs ? obs + 2 * (size_t)fr->kp[k] : NULL;
      bool seen = ob && isfinite(ob[0]) && isfinite(ob[1]);
      bool inlier = tv >= 0 && fr->inl[k * fr->n_tri_views + (size_t)tv];
      if (pass == 0) { /* residual lines under every mark */
        if (ok && seen && (ov->layers & MHRFIT_LAYER_KEYPOINTS))
          mhrfit_draw_line(img, ob[0], ob[1], uv[0], uv[1], z.line > 1 ? z.line / 2 : 1, C_RESID);
        continue;
      }
      if (ok && seen && inlier) {
        double d = hypot(uv[0] - ob[0], uv[1] - ob[1]);
        sum += d, n++;
        if (fr->nused[k] >= 3) sum3 += d, n3++;
        if (!(d <= info->max_err_px)) info->max_err_px = d;
      }
      if (!ok || !(ov->layers & MHRFIT_LAYER_POINTS)) continue;
      if (inlier) mhrfit_draw_mark(img, uv[0], uv[1], MHRFIT_MARK_DISC, z.r, 1, C_IN, OUTLINE);
      else if (seen) mhrfit_draw_mark(img, uv[0], uv[1], MHRFIT_MARK_CROSS, z.r, z.t, C_OUT, OUTLINE);
      else mhrfit_draw_mark(img, uv[0], uv[1], MHRFIT_MARK_RING, z.r, z.t, C_UNSEEN, OUTLINE);
    }
  /* 4. the selected person's 2-D keypoints, above the points so that both stay visible */
  if (obs && (ov->layers & MHRFIT_LAYER_KEYPOINTS))
    for (size_t k = 0; k < ov->n_kp2d; k++)
      mhrfit_draw_mark(img, obs[2 * k], obs[2 * k + 1], MHRFIT_MARK_DISC, z.r > 3 ? z.r - 2 : 1, 1, C_KP, BLACK);
  /* statistics */
  if (n) {
    double prev = isnan(info->mean_err_px) ? 0 : info->mean_err_px * (double)info->n_err;
    info->n_err += n;
    info->mean_err_px = (prev + sum) / (double)info->n_err;
  }
  if (n3) {
    double prev = isnan(info->mean_err3_px) ? 0 : info->mean_err3_px * (double)info->n_err3;
    info->n_err3 += n3;
    info->mean_err3_px = (prev + sum3) / (double)info->n_err3;
  }
  if (fit_n) {
    double prev = isnan(info->mean_fit_err_px) ? 0 : info->mean_fit_err_px * (double)info->n_fit_err;
    info->n_fit_err += fit_n;
    info->mean_fit_err_px = (prev + fit_sum) / (double)info->n_fit_err;
  }
  if (fr->fit >= 0) info->n_fit++;
  /* 6. caption */
  if (ov->layers & MHRFIT_LAYER_CAPTION) {
    char l1[256], l2[256], l3[256];
    const char *lines[3] = {l1, l2, l3};
    snprintf(l1, sizeof l1, "frame %s  camera %s  %s", ov->frame_names[frame], cam->name,
             fr->status[0] ? fr->status : "");
    int m = 0;
    if (n) m += snprintf(l2, sizeof l2, "reprojection %.2f px (%zu points)", sum / (double)n, n);
    else m += snprintf(l2, sizeof l2, "reprojection -%s%s", fr->tri_note[0] ? ": " : "", fr->tri_note);
    if (fit_n && m < (int)sizeof l2)
      snprintf(l2 + m, sizeof l2 - (size_t)m, "  fit %.2f px (%zu keypoints)", fit_sum / (double)fit_n, fit_n);
    snprintf(l3, sizeof l3, "%s", note ? note : "");
    caption(img, &z, lines, note && *note ? 3 : 2);
  }
  return true;
}
