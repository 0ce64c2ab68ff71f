/* Internal pieces of the synthetic capture (include/mhrfit/demo.h): a seeded PRNG, the camera
 * ring, the ground-truth motion and the self-occlusion rule. */
#ifndef MF_DEMO_SCENE_H
#define MF_DEMO_SCENE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/camera.h"
#include "mhrfit/media.h"
#include "mhrfit/overlay.h"
#include "mhrfit/rig.h"

/* xoshiro256** seeded through splitmix64. */
typedef struct mf_rng {
  uint64_t s[4];
} mf_rng;

/* Seeds a stream from a seed and two stream identifiers (purpose, index). */
void mf_rng_seed(mf_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t mf_rng_next(mf_rng *r);
/* Uniform in [0, 1) with 53 bits. */
double mf_rng_uniform(mf_rng *r);
/* Uniform in [a, b). */
double mf_rng_range(mf_rng *r, double a, double b);
/* Standard normal (Box-Muller, one value per call). */
double mf_rng_normal(mf_rng *r);
/* Uniform integer in [0, n), n > 0. */
size_t mf_rng_index(mf_rng *r, size_t n);

/* Camera i of n on the ring around the subject (see demo.h), written into `cam`, with the Rodrigues
 * vector of its rotation as the calibration file stores it (`cam->R` is exactly what a loader
 * computes from it). */
void mf_demo_camera(uint64_t seed, size_t i, size_t n, int width, int height, mhrfit_camera *cam, double rvec[3]);

/* The ground-truth motion: the 204 model parameters of frame f of n (standing part [0, n_stand)),
 * for an identity given by `scales` (68 values) and a root height `root_ty` (decimetres), clamped
 * to the rig's limits. */
void mf_demo_motion(const mhrfit_rig *rig, size_t f, size_t n, size_t n_stand, const double scales[68], double root_ty,
                    double m[204]);

/* The fixed identity of the subject: 68 scale parameters within the limits. */
void mf_demo_identity(const mhrfit_rig *rig, double scales[68]);

/* Frames of the standing part for n frames. */
size_t mf_demo_standing_frames(size_t n);

/* Self-occlusion of world keypoint k (70 × 3 keypoints `kp`, metres) seen from camera centre C
 * (see the rule in demo.h). */
bool mf_demo_occluded(const double *kp, int k, const double C[3]);

/* Clamps x to the rig's limit of parameter p (no limit: unchanged). */
double mf_demo_clamp(const mhrfit_rig *rig, int p, double x);

/* Built-in surface-marker offsets: for MHR70 keypoint k, the offset (cm) from its attachment
 * joint in the rest pose, native axes. Returns false for keypoints that are not surface
 * keypoints. */

/* The demo's pictures (mhrfit_demo_options.images, pictures.c): per view a flat background of
 * colour MF_DEMO_BACKGROUND with the subject's mesh as a silhouette of colour MF_DEMO_BODY shaded
 * by facing (overlay.h: 0.45 to 1 times the colour), written as JPEG (quality 95). */
#define MF_DEMO_BACKGROUND ((const unsigned char[3]){40, 44, 52})
#define MF_DEMO_BODY ((const unsigned char[3]){230, 190, 150})
typedef struct mf_demo_pictures {
  mhrfit_image *img;
  mhrfit_raster *raster;
  mhrfit_image_encoder *enc;
  double *mesh; /* the subject's world mesh of the current frame */
} mf_demo_pictures;
bool mf_demo_pictures_init(mf_demo_pictures *p, const mhrfit_rig *rig, int width, int height, mhrfit_error *err);
/* The world mesh of the frame whose truth has the pose `pose` (world = native axes in metres). */
void mf_demo_pictures_mesh(mf_demo_pictures *p, const mhrfit_rig *rig, const mhrfit_fk_pose *pose);
/* Draws the picture of camera `cam` and writes it to `path` atomically. */
bool mf_demo_pictures_write(mf_demo_pictures *p, const mhrfit_rig *rig, const mhrfit_camera *cam, const char *path,
                            mhrfit_error *err);
void mf_demo_pictures_free(mf_demo_pictures *p);

#endif
