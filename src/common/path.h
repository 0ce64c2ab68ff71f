/* Internal file-system helpers: natural ordering and folder listings. */
#ifndef MF_COMMON_PATH_H
#define MF_COMMON_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

/* Natural order ("2" before "10", then byte order): <0, 0, >0 like strcmp. */
int mf_natural_cmp(const char *a, const char *b);

/* A list of owned strings. */
typedef struct mf_names {
  char **items;
  size_t count;
} mf_names;

/* Lists the entries of `dir` (not "." or "..") whose names end in `suffix` (NULL = all) and,
 * when `dirs_only`, that are folders; sorted naturally. Fails with MHRFIT_ERR_IO naming dir. */
bool mf_list_dir(const char *dir, const char *suffix, bool dirs_only, mf_names *out, mhrfit_error *err);

/* Frees the strings and the array of a list. */
void mf_names_free(mf_names *n);

/* Kinds of folder entries (symbolic links followed). */
enum { MF_ENTRY_OTHER = 0, MF_ENTRY_FILE, MF_ENTRY_DIR };

/* One entry of a folder listing. */
typedef struct mf_dir_entry {
  char *name;
  unsigned char type; /* MF_ENTRY_*: a regular file, a folder or anything else */
  bool via_link;      /* seen through a symbolic link (or of unknown type: its real path may differ) */
} mf_dir_entry;

typedef struct mf_entries {
  mf_dir_entry *items;
  size_t count;
  bool exists; /* the folder was there (false only after a missing_ok listing of a missing one) */
} mf_entries;

/* Lists the entries of `dir` (not "." or ".."), naturally sorted, with their kinds. The kind
 * comes from the listing itself; only symbolic links (and file systems that do not tell) cost a
 * stat each, so a folder of plain entries costs one open, a few getdents and a close. A folder
 * that does not exist (or is not a folder) gives an empty list when `missing_ok`, else
 * MHRFIT_ERR_IO naming dir. */
bool mf_list_entries(const char *dir, bool missing_ok, mf_entries *out, mhrfit_error *err);

/* The entry named exactly `name`, or NULL. */
const mf_dir_entry *mf_entries_find(const mf_entries *e, const char *name);

/* Frees a listing. */
void mf_entries_free(mf_entries *e);

/* "dir/name" into a new malloc'd string. */
char *mf_path_join(const char *dir, const char *name, mhrfit_error *err);

/* Creates `path` and its missing parents (mkdir -p). Fails with MHRFIT_ERR_IO naming the
 * folder that could not be made, or when `path` exists and is not a folder. Tries the leaf
 * first: a new folder under an existing parent costs one mkdir, an existing folder a mkdir and
 * a stat; only missing parents are walked. */
bool mf_make_dirs(const char *path, mhrfit_error *err);

/* True when `path` names an existing folder / regular file. */
bool mf_is_dir(const char *path);
bool mf_is_file(const char *path);

/* The absolute path `path` names, symbolic links, "." and ".." resolved: realpath() of its
 * longest existing part, then the missing rest appended ("." dropped, ".." taking back the
 * previous component), so that a file or folder not yet made has the path it will have. A new
 * malloc'd string; NULL with MHRFIT_ERR_IO when not even the working folder resolves (or
 * MHRFIT_ERR_NOMEM). */
char *mf_path_resolve(const char *path, mhrfit_error *err);

/* True when `path` (which need not exist) is `base` or lies inside the folder `base`, both
 * resolved by mf_path_resolve(); false when `base` does not exist. */
bool mf_path_within(const char *path, const char *base);

/* True when `a` and `b` name one file: the same device and inode when both exist (also through
 * hard and symbolic links), else the same mf_path_resolve() path. */
bool mf_same_file(const char *a, const char *b);

/* True when writing the file `out` would replace the input `in`: they are one file
 * (mf_same_file()), or `in` is a folder and `out` an existing file (not a folder) inside it, at
 * any depth. The check every command makes before writing an output beside its inputs. */
bool mf_output_replaces(const char *out, const char *in);

/* Finds a file whose path a run recorded (e.g. `calib` of pipeline_config.json): relative paths
 * are relative to the folder the run was started from, which is not recorded. Tried in order:
 * `recorded` as it is (absolute, or relative to the working folder), then, when relative, inside
 * `run_dir` and each parent folder in turn (four folders at most; a relative `run_dir`'s chain
 * ends at the working folder), so that the inputs of a run made in a folder holding both the run
 * and its inputs are found from any working folder. *found gets the
 * first path that is a regular file (new malloc'd string), or NULL when none is. False only for
 * MHRFIT_ERR_NOMEM. */
bool mf_find_recorded(const char *recorded, const char *run_dir, char **found, mhrfit_error *err);

/* mf_find_recorded() for a folder (`dir`: e.g. the run's input or MHR assets) or a regular file. */
bool mf_find_recorded_entry(const char *recorded, const char *run_dir, bool dir, char **found, mhrfit_error *err);

/* The per-camera file <dir>/<cam>.npz, else <dir>/<cam>.npy (exact names), as a new malloc'd
 * string; NULL when neither exists (err untouched) or on MHRFIT_ERR_NOMEM (err filled). */
char *mf_camera_file(const char *dir, const char *cam, mhrfit_error *err);

#endif
