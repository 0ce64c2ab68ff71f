/* Where a command reading a run folder may write (outguard.h). */
#include "common/outguard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/lock.h"
#include "common/path.h"

bool mf_run_writes(const char *run_dir, const char *path) {
  if (mf_same_file(run_dir, path)) return true;
  static const char *const written[] = {"stage1", "sam3d", "triangulation", "fit", "pipeline_config.json",
                                        "stage1_meta.json", "run_state.txt", "sequence_fit.npz",
                                        "sequence_smoothed.npz", "sequence_summary.json", "report.html", "overlay",
                                        MF_RUN_UNFINISHED_NAME, MF_DIR_LOCK_NAME};
  bool within = false;
  for (size_t i = 0; i < sizeof written / sizeof written[0] && !within; i++) {
    char *w = mf_path_join(run_dir, written[i], NULL);
    within = w && (mf_same_file(path, w) || mf_path_within(path, w)); /* also one not made yet */
    free(w);
  }
  return within;
}

static bool has_ext(const char *path, const char *const *exts) {
  size_t n = strlen(path);
  for (size_t i = 0; exts && exts[i]; i++) {
    size_t m = strlen(exts[i]);
    if (n > m && strcasecmp(path + n - m, exts[i]) == 0) return true;
  }
  return false;
}

/* "a.glb, a.gltf or a.bin" of the extensions, into buf. */
static const char *ext_list(const char *const *exts, char *buf, size_t size) {
  size_t k = 0, n = 0;
  while (exts && exts[n]) n++;
  buf[0] = '\0';
  for (size_t i = 0; i < n && k < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", exts[i]);
  return buf;
}

/* True when the folder holds nothing but a lock file, or holds `mark`. */
static bool folder_reusable(const char *dir, const char *mark) {
  mf_entries e;
  if (!mf_list_entries(dir, true, &e, NULL)) return false;
  bool ok = e.count == (mf_entries_find(&e, MF_DIR_LOCK_NAME) ? 1u : 0u) || (mark && mf_entries_find(&e, mark));
  mf_entries_free(&e);
  return ok;
}

bool mf_out_check(const char *out, const mf_out_rules *r, mhrfit_error *err) {
  const char *opt = r->opt ? r->opt : "--out";
  for (size_t i = 0; i < r->n_inputs; i++) {
    const mf_guard_input *in = &r->inputs[i];
    if (in->path && mf_output_replaces(out, in->path))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s %s would replace the input %s %s%s: choose another output path",
                         opt, out, in->what, in->path, mf_same_file(out, in->path) ? "" : " (a file inside that folder)");
  }
  if (r->run_dir) {
    bool own = false;
    if (r->run_own && !r->folder) {
      char *p = mf_path_join(r->run_dir, r->run_own, NULL);
      own = p && mf_same_file(out, p);
      free(p);
    }
    if (!own && mf_same_file(out, r->run_dir))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s %s is the run folder it reads: choose a new %s", opt, out,
                         r->folder ? "folder (a run folder is never an export folder)" : "file");
    if (!own && mf_run_writes(r->run_dir, out))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                         "%s %s is among the results mhrfit run keeps in the run folder %s (it would replace or mix "
                         "with them): choose a path outside them",
                         opt, out, r->run_dir);
  }
  if (r->capture && mf_path_within(out, r->capture) && !(r->run_dir && mf_path_within(out, r->run_dir)))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s %s lies in the run's capture %s (its input: pictures, SAM outputs, calibration): choose "
                       "a path outside the capture",
                       opt, out, r->capture);
  struct stat st;
  if (stat(out, &st) != 0) return true; /* new */
  const char *writer = r->writer ? r->writer : "this command";
  if (r->folder) {
    if (!S_ISDIR(st.st_mode))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s %s exists and is not a folder: choose a new or empty folder",
                         opt, out);
    /* a folder another process writes is named with that process first (its lock), not
     * refused for holding that writer's unfinished files */
    if (!mf_dir_lock_probe(out, err)) return false;
    if (!folder_reusable(out, r->folder_mark))
      return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                         "%s %s is not empty and holds no earlier output of %s%s%s%s: choose a new or empty folder",
                         opt, out, writer, r->folder_mark ? " (" : "", r->folder_mark ? r->folder_mark : "",
                         r->folder_mark ? ")" : "");
    return true;
  }
  if (S_ISDIR(st.st_mode))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "%s %s is a folder: give a file path", opt, out);
  if (!has_ext(out, r->exts)) {
    char buf[128];
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT,
                       "%s %s exists and is no %s file: %s replaces only a file of the kind it writes; choose "
                       "another output path",
                       opt, out, ext_list(r->exts, buf, sizeof buf), writer);
  }
  return true;
}

bool mf_run_unfinished(const char *run_dir, char *msg, size_t size) {
  char *m = mf_path_join(run_dir, MF_RUN_UNFINISHED_NAME, NULL);
  bool unfinished = m && mf_is_file(m);
  free(m);
  if (!unfinished || !msg || !size) return unfinished;
  mhrfit_error e = {0};
  bool running = !mf_dir_lock_probe(run_dir, &e) && e.type == MHRFIT_ERR_BUSY;
  snprintf(msg, size,
           "the last run into %s did not finish (%s: %s): sequence_fit.npz, sequence_smoothed.npz and "
           "sequence_summary.json, where present, are an earlier run's and may not match pipeline_config.json's "
           "settings; %s",
           run_dir, running ? "it is still running" : "interrupted or failed",
           running ? e.message : MF_RUN_UNFINISHED_NAME " is there", running ? "wait for it to finish" : "run it again to finish it");
  return true;
}
