/* libFuzzer target: export sources from arbitrary bytes (a fit archive or a SAM 3D Body output:
 * .npz / .npy / pickle), then, with the MHR rig of $MHRFIT_ASSETS, the exporter's checks and the
 * GLB and BVH writers on what loaded (small sources only). */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mhrfit/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static mhrfit_rig *rig;
static int init_done;

static void init(void) {
  init_done = 1;
  snprintf(path, sizeof path, "/tmp/fuzz_export_XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) abort();
  close(fd);
  const char *assets = getenv("MHRFIT_ASSETS");
  mhrfit_error err = {0};
  if (assets && *assets) rig = mhrfit_rig_open(assets, -1, MHRFIT_RIG_NO_CORRECTIVES, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!init_done) init();
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  mhrfit_error err = {0};
  char note[256];
  mhrfit_export_source_options so = {.person_given = size > 0 && (data[0] & 1), .person_index = size > 1 ? data[1] : 0};
  mhrfit_export_source *src = mhrfit_export_source_load(path, &so, note, sizeof note, &err);
  if (!src) return 0;
  if (src->n_frames == 0) __builtin_trap();
  if (rig && src->n_frames <= 8) {
    mhrfit_export_options o;
    mhrfit_export_options_init(&o);
    o.keep_bad = size > 2 && (data[2] & 1);
    o.cameras = 0;
    o.max_influences = size > 3 && (data[3] & 1) ? 4 : 8;
    mhrfit_exporter *ex = mhrfit_exporter_new(rig, src, &o, &err);
    if (ex) {
      unsigned char *glb = NULL;
      size_t len = 0;
      if (mhrfit_exporter_glb(ex, &glb, &len, &err) && len < 20) __builtin_trap();
      free(glb);
    }
    mhrfit_exporter_free(ex);
  }
  mhrfit_export_source_free(src);
  return 0;
}
