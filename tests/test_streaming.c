/* Archives written frame by frame (io/npz_stream.h, mhrfit_fit_writer of fit_io.h) are byte for
 * byte those written from the whole arrays (mf_npz_save_ex(), mhrfit_fit_archive_save()): members
 * stored and deflated, larger than every buffer of the writer, written in uneven pieces; and the
 * writer's failures leave nothing behind. */
#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/npz_stream.h"
#include "io/numpy_io.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/npy.h"

static char tmp[256];
static unsigned long long rng = 0x2545F4914F6CDD1Dull;

static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/mhrfit_streaming_XXXXXX");
  REQUIRE(mkdtemp(tmp));
}

/* Files in tmp whose name starts with `prefix` (the writers' temporary files included). */
static int count_files(const char *prefix) {
  DIR *d = opendir(tmp);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  if (d) closedir(d);
  return n;
}

/* Raw members: a compressible float64 member much larger than the writer's buffers, a random
 * float32 one (stored), an int32 one, a 0-d scalar and strings given whole at the end. */
static void test_npz_stream_equals_whole(void) {
  enum { T = 9000 };
  size_t s1[2] = {T, 7}, s2[3] = {T, 5, 3}, s3[1] = {T};
  mhrfit_error err = {0};
  mhrfit_array *a1 = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, s1, 0, &err);
  mhrfit_array *a2 = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, s2, 0, &err);
  mhrfit_array *a3 = mhrfit_array_new(MHRFIT_DT_I32, 0, 1, s3, 0, &err);
  mhrfit_array *a4 = mhrfit_array_new(MHRFIT_DT_F64, 0, 0, NULL, 0, &err);
  REQUIRE(a1 && a2 && a3 && a4);
  for (size_t i = 0; i < a1->count; i++) ((double *)a1->data)[i] = i % 50 < 20 ? NAN : (double)(i / 7) * 0.25;
  for (size_t i = 0; i < a2->count; i++) ((float *)a2->data)[i] = (float)urand();
  for (size_t i = 0; i < a3->count; i++) ((int32_t *)a3->data)[i] = (int32_t)(i % 3);
  ((double *)a4->data)[0] = 30.0;
  const char *strs[3] = {"ok", "recovered_interp", "bad_loss"};
  const char *whole_names[5] = {"smooth", "noise", "flags", "fps", "names"};
  size_t n3 = 3;
  mhrfit_array *a5 = mhrfit_array_new(MHRFIT_DT_UNICODE, 4 * 16, 1, &n3, 0, &err);
  REQUIRE(a5);
  for (size_t i = 0; i < 3; i++)
    for (size_t c = 0; strs[i][c]; c++) ((uint32_t *)a5->data)[i * 16 + c] = (unsigned char)strs[i][c];
  const mhrfit_array *arrays[5] = {a1, a2, a3, a4, a5};
  CHECK(mf_npz_save_ex(th_path(tmp, "whole.npz"), 5, whole_names, arrays, true, 0, NULL, &err));

  mf_npz_stream *s = mf_npz_stream_new(th_path(tmp, "rows.npz"), true, &err);
  REQUIRE(s);
  int m1 = mf_npz_stream_add_rows(s, "smooth", MHRFIT_DT_F64, 8, 2, s1);
  int m2 = mf_npz_stream_add_rows(s, "noise", MHRFIT_DT_F32, 4, 3, s2);
  int m3 = mf_npz_stream_add_rows(s, "flags", MHRFIT_DT_I32, 4, 1, s3);
  CHECK(m1 == 0 && m2 == 1 && m3 == 2);
  CHECK(mf_npz_stream_begin(s));
  CHECK(count_files("rows.npz") == 1); /* the rows file, beside the archive */
  /* frames in uneven pieces: 1, 2, 3, ... rows at a time */
  for (size_t t = 0, k = 1; t < T; t += k, k = k % 17 + 1) {
    size_t n = t + k > T ? T - t : k;
    mf_npz_stream_write(s, m1, (double *)a1->data + 7 * t, 7 * n);
    mf_npz_stream_write(s, m3, (int32_t *)a3->data + t, n);
    mf_npz_stream_write(s, m2, (float *)a2->data + 15 * t, 15 * n);
  }
  mf_npz_stream_set(s, mf_npz_stream_add_later(s, "fps"), mhrfit_array_clone(a4, &err));
  mf_npz_stream_set(s, mf_npz_stream_add_later(s, "names"), mhrfit_array_clone(a5, &err));
  bool ok = mf_npz_stream_close(s, &err);
  if (!ok) printf("  %s\n", err.message);
  CHECK(ok);
  mf_npz_stream_free(s);
  CHECK(th_same_file(th_path(tmp, "whole.npz"), th_path(tmp, "rows.npz")) == 1);
  CHECK(count_files("rows.npz") == 1); /* the rows file is gone */
  /* the deflate decision differs between the members: both paths were taken */
  mhrfit_value *back = mhrfit_npz_load(th_path(tmp, "rows.npz"), NULL, &err);
  REQUIRE(back);
  CHECK(mhrfit_value_dict_get(back, "smooth") && mhrfit_value_dict_get(back, "names"));
  mhrfit_value_free(back);

  /* an incomplete member fails the close and leaves neither the archive nor temporary files */
  s = mf_npz_stream_new(th_path(tmp, "short.npz"), true, &err);
  m1 = mf_npz_stream_add_rows(s, "smooth", MHRFIT_DT_F64, 8, 2, s1);
  CHECK(mf_npz_stream_begin(s));
  mf_npz_stream_write(s, m1, a1->data, 7 * (T - 1));
  mhrfit_error e2 = {0};
  CHECK(!mf_npz_stream_close(s, &e2));
  CHECK(e2.type == MHRFIT_ERR_ARGUMENT && strstr(e2.message, "smooth.npy"));
  mf_npz_stream_free(s);
  CHECK(count_files("short.npz") == 0);
  /* writing past a member's end fails */
  s = mf_npz_stream_new(th_path(tmp, "long.npz"), true, &err);
  m3 = mf_npz_stream_add_rows(s, "flags", MHRFIT_DT_I32, 4, 1, s3);
  CHECK(mf_npz_stream_begin(s));
  mf_npz_stream_write(s, m3, a3->data, T);
  mf_npz_stream_write(s, m3, a3->data, 1);
  CHECK(!mf_npz_stream_close(s, &e2));
  mf_npz_stream_free(s);
  CHECK(count_files("long.npz") == 0);
  /* a freed, unclosed writer removes its rows file */
  s = mf_npz_stream_new(th_path(tmp, "dropped.npz"), true, &err);
  mf_npz_stream_add_rows(s, "flags", MHRFIT_DT_I32, 4, 1, s3);
  CHECK(mf_npz_stream_begin(s));
  CHECK(count_files("dropped.npz") == 1);
  mf_npz_stream_free(s);
  CHECK(count_files("dropped.npz") == 0);
  mhrfit_array *all[5] = {a1, a2, a3, a4, a5};
  for (int i = 0; i < 5; i++) mhrfit_array_free(all[i]);
}

/* A fit archive of F frames with every kind of frame: fitted (ok, bad), recovered, failed (NaN). */
static mhrfit_fit_archive *make_sequence(size_t F, size_t N, mhrfit_error *err) {
  const char *const cams[3] = {"left", "front", "right"};
  mhrfit_fit_archive *a = mhrfit_fit_archive_new(F, 70, 3, 127, N, 40, cams, err);
  if (!a) return NULL;
  mhrfit_fit_options o;
  mhrfit_fit_options_init(&o);
  mhrfit_fit_archive_set_options(a, &o);
  char **names = calloc(F, sizeof *names);
  for (size_t f = 0; f < F; f++) {
    names[f] = malloc(24);
    snprintf(names[f], 24, "%06zu", f);
    int kind = f % 23 == 5 ? 2 : f % 31 == 7 ? 3 : f % 13 == 4 ? 1 : 0;
    if (kind == 3) {
      mhrfit_fit_archive_set_failed(a, f, "missing_views", "1 of 3 camera files present");
      continue;
    }
    snprintf(a->status[f], sizeof a->status[f], "%s", kind == 0 ? "ok" : kind == 1 ? "bad_loss" : "recovered_interp");
    snprintf(a->init_cam[f], sizeof a->init_cam[f], "%s", cams[f % 3]);
    if (kind == 2) snprintf(a->message[f], sizeof a->message[f], "from frames %zu->%zu", f - 1, f + 1);
    for (size_t i = 0; i < 204; i++) a->model_params[204 * f + i] = i < 136 ? 0.1 * sin(0.01 * (double)(f + i)) : 0;
    for (size_t i = 0; i < 133; i++) a->body_pose[133 * f + i] = 0.01 * (double)i;
    for (size_t i = 0; i < 108; i++) a->hand_pose_params[108 * f + i] = 0;
    for (size_t i = 0; i < 28; i++) a->scale_params[28 * f + i] = 0;
    for (size_t i = 0; i < 45; i++) a->shape_params[45 * f + i] = i == 0 ? 0.5 : 0;
    for (size_t k = 0; k < 70; k++) /* a body along y */
      for (int c = 0; c < 3; c++) a->keypoints[210 * f + 3 * k + c] = c == 1 ? 1.7 - 0.02 * (double)k : urand() * 0.3;
    for (size_t i = 0; i < 127 * 3; i++) a->joints[127 * 3 * f + i] = urand();
    for (size_t i = 0; i < 127 * 9; i++) a->global_rots[127 * 9 * f + i] = urand() - 0.5;
    for (size_t i = 0; i < 3 * N; i++) a->vertices[3 * N * f + i] = urand();
    mhrfit_similarity sim = {1.0, {1, 0, 0, 0, 1, 0, 0, 0, 1}, {0.1, 0, 2}};
    mhrfit_fit_archive_set_similarity(a, f, &sim);
    for (int i = 0; i < 13 && kind != 2; i++) a->sim_fit[13 * f + i] = a->sim_out[13 * f + i];
    for (size_t v = 0; v < 3; v++) {
      a->view_scores[3 * f + v] = 0.01 * (double)v;
      a->view_skipped[3 * f + v] = 0;
    }
    for (int i = 0; i < 6 && kind != 2; i++) a->losses[6 * f + i] = 1.0 / (1 + i + (double)f);
    for (int i = 0; i < 6 && kind != 2; i++) a->counts[6 * f + i] = (int32_t)(i + f % 5);
    for (size_t i = 0; i < 30 && kind != 2; i++) a->loss_hist[40 * f + i] = a->data_loss_hist[40 * f + i] = 1.0 / (1.0 + (double)i);
    for (size_t i = 0; i < 210; i++) a->targets[210 * f + i] = a->keypoints[210 * f + i] + 0.001;
    for (size_t k = 0; k < 70; k++) a->residuals[70 * f + k] = 0.001 * (double)k;
  }
  bool ok = mhrfit_fit_archive_describe(a, (const char *const *)names, 30.0, NULL, err);
  for (size_t f = 0; f < F; f++) free(names[f]);
  free(names);
  if (!ok) {
    mhrfit_fit_archive_free(a);
    return NULL;
  }
  mhrfit_fit_archive_update_world_up(a);
  return a;
}

static void check_fit_writer(size_t F, size_t N) {
  mhrfit_error err = {0};
  mhrfit_fit_archive *a = make_sequence(F, N, &err);
  REQUIRE(a);
  CHECK(a->world_up[0] && strchr("+-", a->world_up[0]) && a->world_up[1] == 'y'); /* members present */
  char whole[300], rows[300];
  snprintf(whole, sizeof whole, "%s/whole_%zu_%zu.npz", tmp, F, N);
  snprintf(rows, sizeof rows, "%s/rows_%zu_%zu.npz", tmp, F, N);
  CHECK(mhrfit_fit_archive_save(whole, a, &err));
  mhrfit_fit_writer *w = mhrfit_fit_writer_open(rows, a, F, (const char *const *)a->frame_names, &err);
  REQUIRE(w);
  /* frames come from one-frame archives, as a pipeline has them */
  mhrfit_fit_archive *one = mhrfit_fit_archive_new(1, 70, 3, 127, N, 40, (const char *const *)a->cams, &err);
  REQUIRE(one);
  bool ok = true;
  for (size_t f = 0; f < F && ok; f++) {
    ok = mhrfit_fit_archive_copy_frame(one, 0, a, f, &err) && mhrfit_fit_writer_append(w, one, 0, &err);
    if (f == 0 && F > 1) CHECK(!mhrfit_fit_writer_close(w, NULL)); /* not every frame appended yet */
  }
  CHECK(ok);
  ok = ok && mhrfit_fit_writer_close(w, &err);
  if (!ok) printf("  %s\n", err.message);
  CHECK(ok);
  mhrfit_fit_writer_free(w);
  CHECK(th_same_file(whole, rows) == 1);
  /* one frame too many is refused */
  w = mhrfit_fit_writer_open(rows, a, 1, NULL, &err);
  REQUIRE(w);
  CHECK(mhrfit_fit_writer_append(w, a, 0, &err));
  CHECK(!mhrfit_fit_writer_append(w, a, 1, &err) && err.type == MHRFIT_ERR_ARGUMENT);
  mhrfit_fit_writer_free(w);
  mhrfit_fit_archive_free(one);
  mhrfit_fit_archive_free(a);
}

static void test_fit_writer_equals_save(void) {
  check_fit_writer(1, 0);
  check_fit_writer(250, 0);
  check_fit_writer(120, 500); /* with a mesh */
}

int main(void) {
  RUN(setup);
  RUN(test_npz_stream_equals_whole);
  RUN(test_fit_writer_equals_save);
  int rc = test_report();
  if (rc == 0) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return rc;
}
