/* The demo's pictures (mhrfit_demo_options.images): a flat background with the subject's mesh
 * drawn as a shaded silhouette through the camera (overlay.h's rasteriser). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "demo/scene.h"
#include "media/media_internal.h"
#include "mhrfit/overlay.h"

bool mf_demo_pictures_init(mf_demo_pictures *p, const mhrfit_rig *rig, int width, int height, mhrfit_error *err) {
  memset(p, 0, sizeof *p);
  mhrfit_image_write_options o;
  mhrfit_image_write_options_init(&o);
  o.format = MHRFIT_IMAGE_JPEG;
  o.quality = 95;
  p->img = mhrfit_image_new(width, height, 3, err);
  p->raster = p->img ? mhrfit_raster_new(width, height, err) : NULL;
  p->enc = p->raster ? mhrfit_image_encoder_new(&o, err) : NULL;
  p->mesh = p->enc ? mf_malloc_array(3 * rig->n_vertices + 1, sizeof(double), err) : NULL;
  if (p->mesh) return true;
  mf_demo_pictures_free(p);
  return false;
}

void mf_demo_pictures_mesh(mf_demo_pictures *p, const mhrfit_rig *rig, const mhrfit_fk_pose *pose) {
  mhrfit_rig_skin(rig, pose, p->mesh);
  for (size_t i = 0; i < 3 * rig->n_vertices; i++) p->mesh[i] /= 100.0; /* the world: native axes in metres */
}

bool mf_demo_pictures_write(mf_demo_pictures *p, const mhrfit_rig *rig, const mhrfit_camera *cam, const char *path,
                            mhrfit_error *err) {
  mhrfit_image *img = p->img;
  for (int y = 0; y < img->height; y++) {
    unsigned char *row = img->data + (size_t)y * img->stride;
    for (int x = 0; x < img->width; x++) memcpy(row + 3 * x, MF_DEMO_BACKGROUND, 3);
  }
  const mhrfit_rgba body = {MF_DEMO_BODY[0], MF_DEMO_BODY[1], MF_DEMO_BODY[2], 255};
  return mhrfit_draw_mesh(img, p->raster, cam, p->mesh, rig->n_vertices, rig->faces, rig->n_faces,
                          MHRFIT_MESH_SILHOUETTE, body, NULL, err) &&
         mf_image_encoder_write(p->enc, path, img, false, err);
}

void mf_demo_pictures_free(mf_demo_pictures *p) {
  mhrfit_image_free(p->img);
  mhrfit_raster_free(p->raster);
  mhrfit_image_encoder_free(p->enc);
  free(p->mesh);
  memset(p, 0, sizeof *p);
}
