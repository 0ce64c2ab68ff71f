/* libFuzzer target: the detector inputs' text parsers on arbitrary bytes. The first byte picks the
 * parser: even = Caliscope xy csv (cameras on ports 0..3; with a 33-keypoint layout when the byte
 * is a multiple of 4, else any point ids), odd = a keypoint name list (lines or JSON). */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/layout.h"
#include "mhrfit/observations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  mhrfit_error err = {0};
  const char *text = (const char *)data + 1;
  if (data[0] % 2 == 0) {
    static const long ports[4] = {0, 1, 2, 3};
    mhrfit_observations *o =
        mhrfit_observations_parse_caliscope_csv(text, size - 1, "fuzz.csv", ports, 4, data[0] % 4 == 0 ? 33 : 0, &err);
    mhrfit_observations_free(o);
  } else {
    char **names = NULL;
    size_t n = 0;
    if (mhrfit_keypoint_names_parse(text, size - 1, "fuzz.txt", &names, &n, &err)) mhrfit_names_free(names, n);
  }
  return 0;
}
