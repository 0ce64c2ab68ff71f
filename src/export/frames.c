/* The per-frame export (the original's `export` step, and more): <frame>/mesh.ply or mesh.obj
 * in the world frame, <frame>/mhr_params.npz, export_summary.json (export.h). */
#define _GNU_SOURCE /* syncfs() */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/path.h"
#include "export/export_internal.h"
#include "io/npz_writer.h"
#include "mhrfit/value.h"

/* mhr_params.npz of source frame f (the original's keys, plus the world similarity); not fsynced
 * (mf_export_frames flushes the whole export once). */
static bool write_params(const mhrfit_exporter *ex, size_t f, const char *path, mhrfit_error *err) {
  const mhrfit_export_source *s = ex->src;
  const char *name = s->frame_names[f];
  bool digits = name[0] != '\0' && strlen(name) < 15;
  for (const char *c = name; *c; c++) digits = digits && *c >= '0' && *c <= '9';
  const size_t s204 = 204, s45 = 45, s72 = 72, s133 = 133, s108 = 108, s28 = 28, s33[2] = {3, 3}, s3 = 3;
  mf_npz_writer w = {0};
  mf_npz_add_strings(&w, "frame_rel", &name, 1, 0);
  mhrfit_array *idx = mf_npz_add(&w, "frame_index", MHRFIT_DT_I64, 0, NULL);
  if (idx) *(int64_t *)idx->data = digits ? (int64_t)strtoll(name, NULL, 10) : -1;
  mf_npz_add_scalar_i32(&w, "is_bad_loss", s->is_bad_loss[f] || strcmp(s->status[f], "bad_loss") == 0);
  mf_npz_add_f32(&w, "mhr_model_params", s->model_params + 204 * f, 1, &s204);
  mf_npz_add_f32(&w, "shape_params", s->shape_params + 45 * f, 1, &s45);
  mf_npz_add_f32(&w, "expr_params", s->expr_params + 72 * f, 1, &s72);
  mf_npz_add_f32(&w, "body_pose_params", s->body_pose + 133 * f, 1, &s133);
  mf_npz_add_f32(&w, "hand_pose_params", s->hand_pose + 108 * f, 1, &s108);
  mf_npz_add_f32(&w, "scale_params", s->scale_params + 28 * f, 1, &s28);
  mf_npz_add_scalar_f64(&w, "opt_sim_scale", s->sim[13 * f]);
  mf_npz_add_f64(&w, "opt_sim_R", s->sim + 13 * f + 1, 2, s33);
  mf_npz_add_f64(&w, "opt_sim_t", s->sim + 13 * f + 10, 1, &s3);
  bool ok = mf_npz_writer_save(&w, path, true, err);
  mf_npz_writer_free(&w);
  return ok;
}

static bool host_little(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void put_le32(mf_buf *b, const void *p) {
  unsigned char x[4];
  memcpy(x, p, 4);
  if (!host_little()) {
    unsigned char t = x[0];
    x[0] = x[3], x[3] = t, t = x[1], x[1] = x[2], x[2] = t;
  }
  mf_buf_put(b, x, 4);
}

/* mesh.ply (binary little-endian or ASCII) or mesh.obj of world vertices `w`. */
static bool write_mesh(const mhrfit_exporter *ex, size_t f, const double *w, const char *path, bool obj, bool durable,
                       mf_buf *b, mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  size_t V = rig->n_vertices, NF = rig->n_faces;
  b->len = 0;
  const char *name = ex->src->frame_names[f];
  if (obj) {
    mf_buf_printf(b, "# mhrfit %s: frame %s, MHR LOD %d, calibration world frame, metres\n", MHRFIT_VERSION_STRING, name,
                  rig->lod);
    for (size_t v = 0; v < V; v++) mf_buf_printf(b, "v %.9g %.9g %.9g\n", w[3 * v], w[3 * v + 1], w[3 * v + 2]);
    for (size_t t = 0; t < NF; t++)
      mf_buf_printf(b, "f %d %d %d\n", rig->faces[3 * t] + 1, rig->faces[3 * t + 1] + 1, rig->faces[3 * t + 2] + 1);
  } else {
    mf_buf_printf(b, "ply\nformat %s 1.0\ncomment mhrfit %s: frame %s, MHR LOD %d, calibration world frame, metres\n"
                  "element vertex %zu\nproperty float x\nproperty float y\nproperty float z\nelement face %zu\n"
                  "property list uchar int vertex_indices\nend_header\n",
                  ex->o.ascii ? "ascii" : "binary_little_endian", MHRFIT_VERSION_STRING, name, rig->lod, V, NF);
    for (size_t v = 0; v < V; v++) {
      float x[3] = {(float)w[3 * v], (float)w[3 * v + 1], (float)w[3 * v + 2]};
      if (ex->o.ascii) {
        mf_buf_printf(b, "%.9g %.9g %.9g\n", (double)x[0], (double)x[1], (double)x[2]);
      } else {
        for (int a = 0; a < 3; a++) put_le32(b, &x[a]);
      }
    }
    for (size_t t = 0; t < NF; t++) {
      const int32_t *F = rig->faces + 3 * t;
      if (ex->o.ascii) {
        mf_buf_printf(b, "3 %d %d %d\n", F[0], F[1], F[2]);
      } else {
        mf_buf_put(b, "\3", 1);
        for (int a = 0; a < 3; a++) put_le32(b, &F[a]);
      }
    }
  }
  if (b->failed) return MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory writing %s", path);
  mf_piece pc = {b->data, b->len};
  return mf_write_pieces_atomic(path, &pc, 1, durable ? MF_WRITE_SYNC : 0, NULL, err);
}

static bool jset(mhrfit_value *d, const char *key, mhrfit_value *v, mhrfit_error *err) {
  return v && mhrfit_value_dict_set(d, key, v, err);
}

static bool write_summary(const mhrfit_exporter *ex, const char *dir, const char *mesh, mhrfit_error *err) {
  const mhrfit_export_report *r = &ex->rep;
  mhrfit_value *d = mhrfit_value_new_dict(err), *names = mhrfit_value_new_list(err);
  bool ok = d && names;
  const char *src = ex->src->path;
  ok = ok && jset(d, "tool", mhrfit_value_new_string(MHRFIT_V_STRING, "mhrfit " MHRFIT_VERSION_STRING, strlen("mhrfit " MHRFIT_VERSION_STRING), err), err);
  ok = ok && jset(d, "source", mhrfit_value_new_string(MHRFIT_V_STRING, src, strlen(src), err), err);
  ok = ok && jset(d, "output_root", mhrfit_value_new_string(MHRFIT_V_STRING, dir, strlen(dir), err), err);
  const char *fmt = mhrfit_export_format_name(r->format);
  ok = ok && jset(d, "format", mhrfit_value_new_string(MHRFIT_V_STRING, fmt, strlen(fmt), err), err);
  ok = ok && jset(d, "mesh_name", mesh ? mhrfit_value_new_string(MHRFIT_V_STRING, mesh, strlen(mesh), err) : mhrfit_value_new_null(err), err);
  ok = ok && jset(d, "params_name", mhrfit_value_new_string(MHRFIT_V_STRING, "mhr_params.npz", 14, err), err);
  ok = ok && jset(d, "lod", mhrfit_value_new_int(ex->rig->lod, err), err);
  ok = ok && jset(d, "mesh_frame", mhrfit_value_new_string(MHRFIT_V_STRING, "calibration world, metres", 25, err), err);
  ok = ok && jset(d, "pose_correctives", mhrfit_value_new_bool(mhrfit_rig_has_correctives(ex->rig), err), err);
  ok = ok && jset(d, "skip_bad", mhrfit_value_new_bool(!ex->o.keep_bad, err), err);
  char range[64];
  snprintf(range, sizeof range, "%zu:%zu", ex->begin, ex->end);
  ok = ok && jset(d, "frame_range", mhrfit_value_new_string(MHRFIT_V_STRING, range, strlen(range), err), err);
  ok = ok && jset(d, "num_total", mhrfit_value_new_int((int64_t)r->n_total, err), err);
  ok = ok && jset(d, "num_exported", mhrfit_value_new_int((int64_t)r->n_exported, err), err);
  ok = ok && jset(d, "num_skipped", mhrfit_value_new_int((int64_t)r->n_skipped_bad, err), err);
  ok = ok && jset(d, "num_bad_inputs", mhrfit_value_new_int((int64_t)r->n_failed, err), err);
  ok = ok && jset(d, "num_errors", mhrfit_value_new_int(0, err), err);
  for (size_t i = 0; ok && i < ex->n; i++) {
    const char *nm = ex->src->frame_names[ex->frames[i]];
    ok = mhrfit_value_list_append(names, mhrfit_value_new_string(MHRFIT_V_STRING, nm, strlen(nm), err), err);
  }
  if (ok) {
    ok = mhrfit_value_dict_set(d, "frames", names, err);
    names = NULL;
  }
  char *path = ok ? mf_path_join(dir, "export_summary.json", err) : NULL;
  ok = ok && path && mf_write_json_atomic(path, d, 2, err);
  free(path);
  mhrfit_value_free(names);
  mhrfit_value_free(d);
  return ok;
}

/* After a failure: removes the files of the first `n` exported frames (and their folders when
 * empty then), so that a failed export leaves nothing of its own behind. */
static void remove_frames(const mhrfit_exporter *ex, const char *dir, size_t n, const char *mesh_name);

/* A frame's folder name: its name, unless it could escape the output folder. */
static void frame_dir_name(const mhrfit_exporter *ex, size_t f, char *out, size_t size) {
  const char *name = ex->src->frame_names[f];
  bool safe = name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') && !strchr(name, '\\');
  if (safe) snprintf(out, size, "%s", name);
  else snprintf(out, size, "%06zu", f);
}

/* One mesh file `path` (.ply or .obj) of the only exported frame. */
static bool single_mesh(mhrfit_exporter *ex, const char *path, bool obj, mhrfit_error *err) {
  if (ex->n != 1)
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s: %zu frames to export: one mesh file holds one frame (select it with --frames N, or write a "
                       "folder of per-frame files: --out DIR --format %s)", path, ex->n, obj ? "obj" : "ply");
  const mhrfit_rig *rig = ex->rig;
  double *work = mf_malloc_array(mhrfit_rig_skin_work_size(rig) + 20 * rig->n_joints + 6 * rig->n_vertices + 16,
                                 sizeof(double), err);
  double *w = mf_malloc_array(3 * rig->n_vertices + 1, sizeof(double), err);
  mf_buf b = {0};
  bool ok = work && w && mf_export_world_mesh(ex->rig, ex->src, ex->frames[0], work, w, err) &&
            write_mesh(ex, ex->frames[0], w, path, obj, true, &b, err);
  if (ok) ex->rep.n_files = 1, ex->rep.bytes = b.len, ex->rep.n_vertices = rig->n_vertices, ex->rep.n_faces = rig->n_faces;
  free(work), free(w);
  mf_buf_free(&b);
  return ok;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

bool mf_export_frames(mhrfit_exporter *ex, const char *dir, mhrfit_error *err) {
  const mhrfit_rig *rig = ex->rig;
  mhrfit_export_format fmt = ex->rep.format;
  bool mesh = fmt != MHRFIT_EXPORT_NPZ, obj = fmt == MHRFIT_EXPORT_OBJ;
  if (mesh && ends_with(dir, obj ? ".obj" : ".ply")) return single_mesh(ex, dir, obj, err);
  const char *mesh_name = mesh ? (obj ? "mesh.obj" : "mesh.ply") : NULL;
  if (!mf_make_dirs(dir, err)) return false;
  size_t J = rig->n_joints, V = rig->n_vertices;
  double *work = mesh ? mf_malloc_array(mhrfit_rig_skin_work_size(rig) + 20 * J + 6 * V + 16, sizeof(double), err) : NULL;
  double *w = mesh ? mf_malloc_array(3 * V + 1, sizeof(double), err) : NULL;
  mf_buf b = {0};
  bool ok = !mesh || (work && w);
  ex->rep.n_vertices = mesh ? V : 0, ex->rep.n_faces = mesh ? rig->n_faces : 0;
  for (size_t i = 0; ok && i < ex->n; i++) {
    size_t f = ex->frames[i];
    char name[80];
    frame_dir_name(ex, f, name, sizeof name);
    char *fdir = mf_path_join(dir, name, err);
    char *pp = fdir ? mf_path_join(fdir, "mhr_params.npz", err) : NULL;
    char *mp = fdir && mesh ? mf_path_join(fdir, mesh_name, err) : NULL;
    ok = fdir && pp && (!mesh || mp) && mf_make_dirs(fdir, err);
    if (ok && mesh) {
      ok = mf_export_world_mesh(ex->rig, ex->src, f, work, w, err) && write_mesh(ex, f, w, mp, obj, false, &b, err);
      if (ok) ex->rep.bytes += b.len, ex->rep.n_files++;
    }
    ok = ok && write_params(ex, f, pp, err);
    if (ok) ex->rep.n_files++;
    if (!ok) mhrfit_error_prefix(err, "frame %s", ex->src->frame_names[f]);
    free(fdir), free(pp), free(mp);
  }
  if (!ok) remove_frames(ex, dir, ex->n, mesh_name);
  /* the frames' files are written without a flush each (thousands of disk flushes); one flush of
   * the output's file system, then the summary (fsynced) says the export is complete */
  if (ok) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) != 0) ok = MHRFIT_FAIL(err, MHRFIT_ERR_IO, "%s: cannot flush the written files: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
  }
  ok = ok && write_summary(ex, dir, mesh_name, err);
  if (!ok) remove_frames(ex, dir, ex->n, mesh_name);
  if (ok) ex->rep.n_files++;
  free(work), free(w);
  mf_buf_free(&b);
  return ok;
}

static void remove_frames(const mhrfit_exporter *ex, const char *dir, size_t n, const char *mesh_name) {
  for (size_t i = 0; i < n; i++) {
    char name[80], path[4200];
    frame_dir_name(ex, ex->frames[i], name, sizeof name);
    if (mesh_name && snprintf(path, sizeof path, "%s/%s/%s", dir, name, mesh_name) < (int)sizeof path) unlink(path);
    if (snprintf(path, sizeof path, "%s/%s/mhr_params.npz", dir, name) < (int)sizeof path) unlink(path);
    if (snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path) rmdir(path);
  }
}
