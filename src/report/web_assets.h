/* Internal: the report page's web files, embedded at build time by src/report/tools/embed.c
 * (the generated report_web.c in the build folder). */
#ifndef MF_REPORT_WEB_ASSETS_H
#define MF_REPORT_WEB_ASSETS_H

#include <stddef.h>

/* A text file, embedded as it is. */
typedef struct mf_web_text {
  const char *data;
  size_t len;
} mf_web_text;

/* An ES module: its id (the specifier the import map maps), its text deflated (zlib format)
 * and base64-encoded, and the length of the text before deflating. */
typedef struct mf_web_module {
  const char *id;
  const char *b64;
  size_t b64_len;
  size_t raw_len;
} mf_web_module;

/* The page template (report.html), the style sheet (report.css) and the loader (loader.js). */
enum { MF_WEB_TEMPLATE = 0, MF_WEB_STYLE = 1, MF_WEB_LOADER = 2 };
extern const mf_web_text mf_web_texts[3];

/* three.js, its add-ons and the page's own modules; "mhrfit/app.js" is the entry point. */
extern const mf_web_module mf_web_modules[];
extern const size_t mf_web_n_modules;

#endif
