/* The MHR rig source of the commands that load it: --assets DIR or --rig FILE (cli.h). */
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/path.h"
#include "mhrfit/export.h"

int mf_rig_choose(const char *assets, const char *rig, const char *cmd, mf_rig_src *src) {
  if (assets && rig)
    return mf_usage_error(cmd, "--assets and --rig are alternatives: pass one (the rig file is made from the assets "
                               "by mhrfit rig import)");
  if (rig && !*rig) return mf_usage_error(cmd, "--rig needs a file name");
  if (assets && !*assets) return mf_usage_error(cmd, "--assets needs a folder name");
  if (rig) {
    *src = (mf_rig_src){rig, MF_RIG_FROM_FILE};
    return -1;
  }
  if (assets) {
    *src = (mf_rig_src){assets, MF_RIG_FROM_ASSETS};
    return -1;
  }
  const char *env = getenv("MHRFIT_ASSETS");
  if (!env || !*env)
    return mf_usage_error(cmd, "no MHR assets: pass --assets DIR, --rig RIG.npz or set MHRFIT_ASSETS (the folder of "
                               "the MHR release assets.zip, holding compact_v6_1.model and lodN.fbx, or a rig file)");
  *src = (mf_rig_src){env, MF_RIG_FROM_ENV};
  return -1;
}

int mf_rig_choose_recorded(const char *assets, const char *rig, const mhrfit_export_source *run, const char *input,
                           const char *cmd, mf_rig_src *src) {
  const char *env = getenv("MHRFIT_ASSETS");
  if (assets || rig || (env && *env)) return mf_rig_choose(assets, rig, cmd, src);
  const char *recorded = NULL, *found = mhrfit_export_source_rig(run, &recorded);
  if (found) {
    *src = (mf_rig_src){found, mf_is_dir(found) ? MF_RIG_FROM_ASSETS : MF_RIG_FROM_FILE};
    return -1;
  }
  char why[600];
  if (recorded)
    snprintf(why, sizeof why, "the run %s recorded %.400s, which is not found", input, recorded);
  else if (run && run->run_dir)
    snprintf(why, sizeof why, "the run %s records none", input);
  else
    snprintf(why, sizeof why, "%s is no run folder that records them", input);
  return mf_usage_error(cmd, "no MHR assets (%s): pass --assets DIR (the folder of the MHR release assets.zip, "
                             "holding compact_v6_1.model and lodN.fbx), --rig RIG.npz, or set MHRFIT_ASSETS", why);
}

int mf_lod_check(long lod, const char *cmd) {
  if (lod == -1 || (lod >= 0 && lod <= 1000)) return -1;
  return mf_usage_error(cmd, "--lod must be a level of detail 0..1000 (MHR ships 0..6), got %ld", lod);
}

bool mf_rig_check(const mf_rig_src *src, mhrfit_error *err) {
  struct stat st;
  if (stat(src->path, &st) != 0) return true; /* the loader names the missing path */
  if (src->kind == MF_RIG_FROM_FILE && S_ISDIR(st.st_mode))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--rig %s: is a folder; pass MHR assets with --assets", src->path);
  if (src->kind == MF_RIG_FROM_ASSETS && !S_ISDIR(st.st_mode))
    return MHRFIT_FAIL(err, MHRFIT_ERR_ARGUMENT, "--assets %s: is not a folder; pass a rig file with --rig",
                       src->path);
  return true;
}

mhrfit_rig *mf_rig_src_load(const mf_rig_src *src, long lod, unsigned flags, mhrfit_error *err) {
  if (!mf_rig_check(src, err)) return NULL;
  /* a folder of assets, a rig file (--rig is never a folder after mf_rig_check), or either from
   * $MHRFIT_ASSETS */
  return mhrfit_rig_open(src->path, (int)lod, flags, err);
}
