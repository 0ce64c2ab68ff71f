/* libFuzzer target: the in-memory ZIP reader of .npz archives (src/io/zip.c) on arbitrary bytes,
 * without the libzip fallback, and its writer: whatever the reader takes is rebuilt with
 * mf_zip_build and must read back to the same members. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mhrfit_error err = {0};
  mf_zip_entry *es = NULL;
  size_t n = 0;
  if (mf_zip_index(data, size, 64, "fuzz.zip", &es, &n, &err) != MF_ZIP_OK) return 0;
  mf_zip_reader rd = {0};
  mf_zip_member *m = calloc(n ? n : 1, sizeof *m);
  unsigned char **owned = calloc(n ? n : 1, sizeof *owned);
  char **names = calloc(n ? n : 1, sizeof *names);
  size_t k = 0;
  for (size_t i = 0; m && owned && names && i < n; i++) {
    if (es[i].usize > ((uint64_t)1 << 24)) continue; /* inflate bombs are the npz layer's limit */
    const char *why;
    const unsigned char *bytes = mf_zip_entry_data(&rd, &es[i], &owned[k], &why, &err);
    if (!bytes) continue;
    names[k] = malloc(es[i].name_len + 1);
    if (!names[k]) break;
    memcpy(names[k], es[i].name, es[i].name_len);
    names[k][es[i].name_len] = '\0';
    if (strlen(names[k]) != es[i].name_len) { /* a NUL inside the name: not rebuilt */
      free(names[k]);
      names[k] = NULL;
      free(owned[k]);
      owned[k] = NULL;
      continue;
    }
    m[k] = (mf_zip_member){names[k], bytes, (size_t)es[i].usize, (i & 1) != 0};
    k++;
  }
  mf_zip_image img;
  if (m && owned && names && mf_zip_build(m, k, 1, &img, &err) == MF_ZIP_OK) {
    unsigned char *flat;
    size_t len;
    if (mf_zip_image_flatten(&img, &flat, &len, &err)) {
      mf_zip_entry *es2;
      size_t n2;
      if (mf_zip_index(flat, len, 64, "again.zip", &es2, &n2, &err) != MF_ZIP_OK || n2 != k) abort();
      mf_zip_reader rd2 = {0};
      for (size_t i = 0; i < k; i++) {
        unsigned char *own2;
        const char *why;
        const unsigned char *b = mf_zip_entry_data(&rd2, &es2[i], &own2, &why, &err);
        if (!b || es2[i].usize != m[i].len || memcmp(b, m[i].data, m[i].len) != 0 ||
            es2[i].name_len != strlen(m[i].name) || memcmp(es2[i].name, m[i].name, es2[i].name_len) != 0)
          abort();
        free(own2);
      }
      mf_zip_reader_end(&rd2);
      free(es2);
      free(flat);
    }
    mf_zip_image_free(&img);
  }
  for (size_t i = 0; i < k; i++) {
    free(owned[i]);
    free(names[i]);
  }
  free(owned);
  free(names);
  free(m);
  mf_zip_reader_end(&rd);
  free(es);
  return 0;
}
