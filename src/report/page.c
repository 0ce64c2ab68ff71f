/* The report page: the meta document (JSON), the binary arrays (one deflated, base64-encoded
 * buffer) and the embedded web files, assembled into one HTML file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/file.h"
#include "common/mem.h"
#include "mhrfit/layout.h"
#include "report/report_internal.h"
#include "report/web_assets.h"

/* A value tree as JSON (mhrfit_value_write_json()) with '<', '>' and '&' escaped, safe inside an
 * HTML <script> element; null when it cannot be written. */
static void json_value(mf_buf *b, const mhrfit_value *v) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    b->failed = true;
    return;
  }
  bool ok = mhrfit_value_write_json(v, f, -1, NULL);
  if (fclose(f) != 0) ok = false;
  if (!ok) {
    free(text);
    mf_buf_puts(b, "null");
    return;
  }
  /* '<', '>' and '&' only occur inside JSON strings: escape them there. */
  const char *run = text;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c != '<' && c != '>' && c != '&') continue;
    mf_buf_put(b, run, (size_t)(text + i - run));
    mf_buf_printf(b, "\\u%04x", (unsigned char)c);
    run = text + i + 1;
  }
  mf_buf_put(b, run, (size_t)(text + len - run));
  free(text);
}

/* Arrays of the binary buffer, described in the meta document as they are appended. */
typedef struct blob {
  mf_buf bin;  /* the raw bytes */
  mf_buf desc; /* JSON: "name": {"type", "offset", "shape"[, "scale"]}, ... */
  size_t n;
} blob;

static void desc_open(blob *b, const char *name, const char *type, const size_t *shape, int ndim) {
  mf_buf_printf(&b->desc, "%s", b->n++ ? "," : "");
  mf_buf_json_str_html(&b->desc, name);
  mf_buf_printf(&b->desc, ":{\"type\":\"%s\",\"offset\":%zu,\"shape\":[", type, b->bin.len);
  for (int i = 0; i < ndim; i++) mf_buf_printf(&b->desc, "%s%zu", i ? "," : "", shape[i]);
  mf_buf_puts(&b->desc, "]");
}

static size_t count_of(const size_t *shape, int ndim) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

static void add_f32(blob *b, const char *name, const float *x, const size_t *shape, int ndim) {
  if (!x) return;
  mf_buf_align(&b->bin, 4);
  desc_open(b, name, "f32", shape, ndim);
  mf_buf_puts(&b->desc, "}");
  mf_buf_put(&b->bin, x, count_of(shape, ndim) * sizeof *x);
}

static void add_u8(blob *b, const char *name, const uint8_t *x, const size_t *shape, int ndim) {
  if (!x) return;
  desc_open(b, name, "u8", shape, ndim);
  mf_buf_puts(&b->desc, "}");
  mf_buf_put(&b->bin, x, count_of(shape, ndim));
}

/* Coordinates as int16 · scale, scale = max|x| / 32000 (see report.h); NaN as −32768. */
static void add_q16(blob *b, const char *name, const float *x, const size_t *shape, int ndim) {
  if (!x) return;
  size_t n = count_of(shape, ndim);
  double m = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && fabs(x[i]) > m) m = fabs(x[i]);
  double scale = m > 0 ? m / 32000.0 : 1.0;
  mf_buf_align(&b->bin, 4);
  desc_open(b, name, "q16", shape, ndim);
  mf_buf_puts(&b->desc, ",\"scale\":");
  mf_buf_num(&b->desc, scale);
  mf_buf_puts(&b->desc, "}");
  int16_t chunk[1024];
  for (size_t i = 0; i < n; i += 1024) {
    size_t c = n - i < 1024 ? n - i : 1024;
    for (size_t k = 0; k < c; k++) {
      float v = x[i + k];
      chunk[k] = isfinite(v) ? (int16_t)lrint(v / scale) : INT16_MIN;
    }
    mf_buf_put(&b->bin, chunk, c * sizeof *chunk);
  }
}

static void add_bytes(blob *b, const char *name, const unsigned char *x, size_t len) {
  if (!x) return;
  mf_buf_align(&b->bin, 4);
  desc_open(b, name, "bytes", &len, 1);
  mf_buf_puts(&b->desc, "}");
  mf_buf_put(&b->bin, x, len);
}

static void json_key(mf_buf *m, const char *key) {
  mf_buf_puts(m, ",");
  mf_buf_json_str_html(m, key);
  mf_buf_puts(m, ":");
}

static void json_doubles(mf_buf *m, const double *x, size_t n) {
  mf_buf_puts(m, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) mf_buf_puts(m, ",");
    mf_buf_num(m, x[i]);
  }
  mf_buf_puts(m, "]");
}

/* The meta document (everything but the arrays' bytes). */
static void write_meta(const mhrfit_report *r, const blob *b, mf_buf *m) {
  size_t F = r->F, V = r->V;
  mf_buf_printf(m, "{\"format\":\"mhrfit-report\",\"version\":1,\"tool\":\"mhrfit %s\"", MHRFIT_VERSION_STRING);
  json_key(m, "title");
  mf_buf_json_str_html(m, r->title);
  json_key(m, "run_dir");
  mf_buf_json_str_html(m, r->run_dir);
  json_key(m, "fps");
  mf_buf_num(m, r->fps);
  mf_buf_printf(m, ",\"n_keypoints\":%zu", r->K);
  json_key(m, "frames");
  mf_buf_puts(m, "[");
  for (size_t f = 0; f < F; f++) {
    if (f) mf_buf_puts(m, ",");
    mf_buf_json_str_html(m, r->frames[f]);
  }
  mf_buf_puts(m, "]");
  json_key(m, "status");
  mf_buf_puts(m, "[");
  for (size_t f = 0; f < F; f++) {
    if (f) mf_buf_puts(m, ",");
    mf_buf_json_str_html(m, r->status[f]);
  }
  mf_buf_puts(m, "]");
  json_key(m, "messages");
  mf_buf_puts(m, "[");
  for (size_t f = 0; f < F; f++) {
    if (f) mf_buf_puts(m, ",");
    if (r->messages[f]) mf_buf_json_str_html(m, r->messages[f]);
    else mf_buf_puts(m, "null");
  }
  mf_buf_puts(m, "]");
  json_key(m, "cams");
  mf_buf_puts(m, "[");
  for (size_t v = 0; v < V; v++) {
    const mf_report_cam *c = &r->cams[v];
    mf_buf_puts(m, v ? ",{\"name\":" : "{\"name\":");
    mf_buf_json_str_html(m, c->name);
    mf_buf_printf(m, ",\"calibrated\":%s", c->calibrated ? "true" : "false");
    if (c->calibrated) {
      double C[3], K4[4] = {c->cam.K[0], c->cam.K[4], c->cam.K[2], c->cam.K[5]};
      mhrfit_camera_center(&c->cam, C);
      mf_buf_printf(m, ",\"width\":%d,\"height\":%d,\"K\":", c->cam.width, c->cam.height);
      json_doubles(m, K4, 4);
      mf_buf_puts(m, ",\"R\":");
      json_doubles(m, c->cam.R, 9);
      mf_buf_puts(m, ",\"center\":");
      json_doubles(m, C, 3);
    } else {
      mf_buf_puts(m, ",\"width\":0,\"height\":0");
    }
    mf_buf_puts(m, "}");
  }
  mf_buf_puts(m, "]");
  json_key(m, "up");
  mf_buf_puts(m, "{\"axis\":");
  mf_buf_json_str_html(m, r->up_name);
  mf_buf_puts(m, ",\"U\":");
  json_doubles(m, r->U, 9);
  mf_buf_puts(m, ",\"floor\":");
  mf_buf_num(m, r->floor_y);
  mf_buf_puts(m, "}");
  json_key(m, "links");
  mf_buf_puts(m, "[");
  size_t n_links = 0;
  const uint16_t(*links)[2] = mhrfit_layout_links(r->layout, &n_links); /* none: no lines */
  for (size_t i = 0; i < n_links; i++) mf_buf_printf(m, "%s[%d,%d]", i ? "," : "", links[i][0], links[i][1]);
  mf_buf_puts(m, "]");
  json_key(m, "keypoint_names");
  mf_buf_puts(m, "[");
  for (size_t k = 0; k < r->K; k++) {
    if (k) mf_buf_puts(m, ",");
    mf_buf_json_str_html(m, r->kp_names[k]);
  }
  mf_buf_puts(m, "]");
  json_key(m, "keypoints_source");
  mf_buf_json_str_html(m, r->kp_source);
  json_key(m, "thresholds");
  mf_buf_puts(m, "{\"bad_loss\":");
  mf_buf_num(m, r->bad_loss);
  mf_buf_puts(m, ",\"bad_data_loss\":");
  mf_buf_num(m, r->bad_data_loss);
  mf_buf_puts(m, "}");
  json_key(m, "config");
  if (r->config) json_value(m, r->config);
  else mf_buf_puts(m, "null");
  const mhrfit_value *counts = mhrfit_value_dict_get(r->summary, "status_counts");
  json_key(m, "status_counts");
  if (counts && counts->kind == MHRFIT_V_DICT) {
    json_value(m, counts);
  } else { /* counted from the frames */
    mf_buf_puts(m, "{");
    size_t n_out = 0;
    for (size_t f = 0; f < F; f++) {
      bool seen = false;
      for (size_t g = 0; g < f && !seen; g++) seen = strcmp(r->status[g], r->status[f]) == 0;
      if (seen) continue;
      size_t c = 0;
      for (size_t g = f; g < F; g++) c += strcmp(r->status[g], r->status[f]) == 0;
      if (n_out++) mf_buf_puts(m, ",");
      mf_buf_json_str_html(m, r->status[f]);
      mf_buf_printf(m, ":%zu", c);
    }
    mf_buf_puts(m, "}");
  }
  const mhrfit_value *timing = mhrfit_value_dict_get(r->summary, "timing");
  json_key(m, "timing");
  if (timing && timing->kind == MHRFIT_V_DICT) json_value(m, timing);
  else mf_buf_puts(m, "null");
  json_key(m, "notes");
  mf_buf_puts(m, "[");
  for (size_t i = 0; i < r->n_notes; i++) {
    if (i) mf_buf_puts(m, ",");
    mf_buf_json_str_html(m, r->notes[i]);
  }
  mf_buf_puts(m, "]");
  json_key(m, "files");
  mf_buf_puts(m, "[");
  for (size_t i = 0; i + 1 < r->n_files; i += 2) {
    mf_buf_puts(m, i ? ",[" : "[");
    mf_buf_json_str_html(m, r->files[i]);
    mf_buf_puts(m, ",");
    mf_buf_json_str_html(m, r->files[i + 1]);
    mf_buf_puts(m, "]");
  }
  mf_buf_puts(m, "]");
  if (r->n_images) {
    json_key(m, "images");
    mf_buf_puts(m, "{\"entries\":[");
    for (size_t i = 0; i < r->n_images; i++)
      mf_buf_printf(m, "%s{\"offset\":%zu,\"length\":%zu,\"mime\":\"%s\"}", i ? "," : "", r->image_list[i].offset,
                    r->image_list[i].len, r->image_list[i].mime);
    mf_buf_puts(m, "],\"index\":[");
    for (size_t i = 0; i < F * V; i++) mf_buf_printf(m, "%s%ld", i ? "," : "", r->image_index[i]);
    mf_buf_puts(m, "]}");
  }
  if (r->glb) {
    json_key(m, "body");
    mf_buf_printf(m, "{\"format\":\"glb\",\"lod\":%d,\"vertices\":%zu}", r->body_lod, r->body_vertices);
  }
  json_key(m, "arrays");
  mf_buf_puts(m, "{");
  mf_buf_put(m, b->desc.data, b->desc.len);
  mf_buf_puts(m, "}}");
}

static void build_blob(const mhrfit_report *r, blob *b) {
  size_t F = r->F, V = r->V, K = r->K;
  const size_t s_fk3[3] = {F, K, 3}, s_fk[2] = {F, K}, s_fkv[3] = {F, K, V}, s_fv[2] = {F, V}, s_f[1] = {F};
  const size_t s_fvk2[4] = {F, V, K, 2};
  add_q16(b, "tri_points", r->tri_points, s_fk3, 3);
  add_u8(b, "tri_views", r->tri_views, s_fk, 2);
  add_u8(b, "tri_reason", r->tri_reason, s_fk, 2);
  add_u8(b, "tri_inlier", r->tri_inlier, s_fkv, 3);
  add_f32(b, "tri_cam_err", r->tri_cam_err, s_fv, 2);
  add_f32(b, "n_points", r->n_points, s_f, 1);
  add_q16(b, "kp", r->kp, s_fk3, 3);
  add_q16(b, "obs2d", r->obs2d, s_fvk2, 4);
  add_u8(b, "obs_present", r->obs_present, s_fv, 2);
  add_q16(b, "proj_tri", r->proj_tri, s_fvk2, 4);
  add_q16(b, "proj_kp", r->proj_kp, s_fvk2, 4);
  add_f32(b, "loss", r->loss, s_f, 1);
  add_f32(b, "data_loss", r->data_loss, s_f, 1);
  add_f32(b, "smooth_change", r->smooth_change, s_f, 1);
  add_f32(b, "mpjpe_fit", r->mpjpe_fit, s_f, 1);
  add_f32(b, "mpjpe_smooth", r->mpjpe_smooth, s_f, 1);
  add_bytes(b, "glb", r->glb, r->glb_len);
  if (r->glb) add_f32(b, "body_time", r->body_time, s_f, 1);
  add_bytes(b, "images", r->images, r->images_len);
}

/* Deflates (zlib format, level 1: the data are mostly numbers, a higher level saves little) and
 * appends the base64 text. */
static bool deflate_base64(mf_buf *out, const mf_buf *in, mhrfit_error *err) {
  if (!in->len) return true;
  uLongf zl = compressBound((uLong)in->len);
  unsigned char *z = malloc(zl);
  if (!z) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory (%zu bytes to deflate)", in->len);
  int rc = compress2(z, &zl, (const Bytef *)in->data, (uLong)in->len, 1);
  if (rc != Z_OK) {
    free(z);
    return MHRFIT_FAIL(err, rc == Z_MEM_ERROR ? MHRFIT_ERR_NOMEM : MHRFIT_ERR_LIMIT, "deflate failed (zlib %d)", rc);
  }
  mf_buf_base64(out, z, zl);
  free(z);
  return true;
}

static void html_escape(mf_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '<') mf_buf_puts(b, "&lt;");
    else if (*s == '>') mf_buf_puts(b, "&gt;");
    else if (*s == '&') mf_buf_puts(b, "&amp;");
    else if (*s == '"') mf_buf_puts(b, "&quot;");
    else mf_buf_put(b, s, 1);
  }
}

bool mhrfit_report_html(mhrfit_report *r, char **html, size_t *len, mhrfit_error *err) {
  *html = NULL;
  *len = 0;
  blob b = {0};
  mf_buf meta = {0}, data = {0}, out = {0};
  build_blob(r, &b);
  bool ok = !b.bin.failed && !b.desc.failed;
  if (ok) write_meta(r, &b, &meta);
  ok = ok && !meta.failed && deflate_base64(&data, &b.bin, err);
  mf_buf_free(&b.bin);
  mf_buf_free(&b.desc);
  /* The template with its @@NAME@@ slots filled. */
  const mf_web_text *tpl = &mf_web_texts[MF_WEB_TEMPLATE];
  const char *p = tpl->data, *end = tpl->data + tpl->len;
  while (ok && p < end) {
    const char *at = strstr(p, "@@");
    if (!at || at >= end) {
      mf_buf_put(&out, p, (size_t)(end - p));
      break;
    }
    mf_buf_put(&out, p, (size_t)(at - p));
    const char *close = strstr(at + 2, "@@");
    if (!close) {
      mf_buf_put(&out, at, (size_t)(end - at));
      break;
    }
    size_t nl = (size_t)(close - at - 2);
    const char *name = at + 2;
    if (nl == 5 && strncmp(name, "TITLE", 5) == 0) html_escape(&out, r->title);
    else if (nl == 5 && strncmp(name, "STYLE", 5) == 0)
      mf_buf_put(&out, mf_web_texts[MF_WEB_STYLE].data, mf_web_texts[MF_WEB_STYLE].len);
    else if (nl == 4 && strncmp(name, "META", 4) == 0) mf_buf_put(&out, meta.data, meta.len);
    else if (nl == 4 && strncmp(name, "DATA", 4) == 0) mf_buf_put(&out, data.data, data.len);
    else if (nl == 6 && strncmp(name, "LOADER", 6) == 0)
      mf_buf_put(&out, mf_web_texts[MF_WEB_LOADER].data, mf_web_texts[MF_WEB_LOADER].len);
    else if (nl == 7 && strncmp(name, "MODULES", 7) == 0)
      for (size_t i = 0; i < mf_web_n_modules; i++) {
        mf_buf_puts(&out, "<script type=\"text/plain\" data-module=\"");
        mf_buf_puts(&out, mf_web_modules[i].id);
        mf_buf_puts(&out, "\">");
        mf_buf_put(&out, mf_web_modules[i].b64, mf_web_modules[i].b64_len);
        mf_buf_puts(&out, "</script>\n");
      }
    else mf_buf_put(&out, at, nl + 4);
    p = close + 2;
  }
  if (ok && (out.failed || data.failed)) ok = MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory building the page");
  mf_buf_free(&meta);
  mf_buf_free(&data);
  if (!ok) {
    mf_buf_free(&out);
    return false;
  }
  *html = out.data;
  *len = out.len;
  r->html_bytes = out.len;
  return true;
}

bool mhrfit_report_write(mhrfit_report *r, const char *out_path, mhrfit_error *err) {
  char *html;
  size_t len;
  if (!mhrfit_report_check_out(r->run_dir, &r->opts, out_path, err)) return false;
  if (!mhrfit_report_html(r, &html, &len, err)) return false;
  mf_piece piece = {html, len};
  bool ok = mf_write_pieces_atomic(out_path, &piece, 1, MF_WRITE_SYNC, NULL, err);
  free(html);
  return ok;
}
