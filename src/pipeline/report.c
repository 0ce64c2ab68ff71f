/* The report of a finished run (pipeline.h: options.report; report.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "mhrfit/report.h"
#include "pipeline/pipeline_internal.h"

bool mf_pipeline_report(mhrfit_pipeline *p, mhrfit_error *err) {
  double t0 = mf_now_seconds();
  mhrfit_report_options ro;
  memset(&ro, 0, sizeof ro);
  ro.rig = p->o.rig_path; /* the body at the report's default LOD 6, no camera images */
  char path[PATH_MAX], notes[4096];
  snprintf(path, sizeof path, "%s/report.html", p->o.out_dir);
  mhrfit_report_info info;
  if (!mhrfit_report_run(p->o.out_dir, path, &ro, &info, notes, sizeof notes, err)) {
    mhrfit_error_prefix(err, "the run's files are written, its report is not");
    return false;
  }
  for (const char *line = notes; *line;) { /* what the page lists as missing */
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len) mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "report: note: %.*s", (int)len, line);
    line += len + (end != NULL);
  }
  mf_pipeline_log(p, MHRFIT_PIPELINE_INFO, "report: %s (%.1f MB, %zu frames, %zu cameras%s) in %.2f s", path,
                  (double)info.html_bytes / 1e6, info.n_frames, info.n_cams, info.has_body ? ", with the body" : "",
                  mf_now_seconds() - t0);
  return true;
}
