/* libFuzzer target: JPEG and PNG decoding (mhrfit_image_decode in every channel mode, and the
 * header probe through a file-free path), then a re-encode of what was decoded. */
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int modes[4] = {0, 1, 3, 4};
  int mode = size ? modes[data[size - 1] & 3] : 0;
  mhrfit_error err = {0};
  mhrfit_image *img = mhrfit_image_decode(data, size, mode, "fuzz", &err);
  if (img) {
    mhrfit_image_encoder *e = mhrfit_image_encoder_new(NULL, &err);
    const unsigned char *out;
    size_t len;
    if (e && img->width * img->height <= 1 << 16) mhrfit_image_encoder_encode(e, img, &out, &len, &err);
    mhrfit_image_encoder_free(e);
    mhrfit_image_free(img);
  }
  return 0;
}
