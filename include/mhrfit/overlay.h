/**
 * @file overlay.h
 * @brief The fitted body drawn over each camera's images: drawing primitives, a small
 *        z-buffered software rasteriser, and overlays of a run (pictures and videos).
 *
 * ## Pixel conventions
 *
 * Images are mhrfit_image (media.h): pixel (x, y) covers [x, x + 1) × [y, y + 1) in the image
 * coordinates of the camera model, its centre at (x + 0.5, y + 0.5). A point (u, v) therefore
 * lies in pixel (floor(u), floor(v)), whose centre is within 0.5 px of it along each axis.
 *
 * ## Drawing
 *
 * Colours are mhrfit_rgba; alpha 255 paints, smaller values blend:
 * `dst = dst + (src − dst) · a / 255` per channel (rounded). Gray images receive the colour's
 * BT.601 luma; RGBA images keep their alpha. Everything is clipped to the image.
 *
 * A *mark* is centred on the pixel that holds its point: mark pixels are (cx + dx, cy + dy) with
 * (cx, cy) = (floor(u), floor(v)) and the offsets of a shape symmetric under dx → −dx and
 * dy → −dy, so the mark's centroid is exactly the centre of that pixel. Shapes of radius r
 * (thickness t for the ring and the cross):
 * - disc: dx² + dy² ≤ r² + r;
 * - ring: (r − t)² + (r − t) < dx² + dy² ≤ r² + r;
 * - cross (an X): |dx| ≤ r, |dy| ≤ r and ||dx| − |dy|| < t;
 * - square: |dx| ≤ r and |dy| ≤ r.
 * An outline colour with a non-zero alpha is painted first as the same shape one pixel larger
 * (radius r + 1, thickness t + 2).
 *
 * Lines are anti-aliased capsules: a pixel centre at distance d from the segment gets
 * coverage clamp(w/2 + 0.5 − d, 0, 1) for width w, multiplied into the colour's alpha.
 * Text uses a built-in 5×7 pixel font of the printable ASCII characters (others show as '?'),
 * each glyph in a 6×9 cell, every font pixel a `scale`×`scale` block.
 *
 * ## Rasteriser
 *
 * mhrfit_raster keeps, per pixel, the nearest triangle (its id) and its depth. A triangle is
 * given by its three vertices in pixels (u, v) and their camera depths z > 0; it covers the
 * pixels whose centre lies inside it, with the top-left rule for centres on an edge (a pixel on
 * the edge shared by two triangles is covered by exactly one of them); the depth at a pixel
 * centre is interpolated as 1/z linearly in the image (perspective-correct for straight edges),
 * and a pixel keeps the triangle of the largest 1/z (the nearest). Triangles are straight in the
 * image between their projected vertices: a mesh finer than the lens distortion's curvature (as
 * MHR's, a few centimetres per triangle) shows the distortion through its vertices.
 *
 * mhrfit_draw_mesh() projects a mesh's vertices with mhrfit_overlay_project() (the library's
 * camera model, full distortion), rasterises every triangle whose three vertices project, and
 * paints either the filled silhouette (each covered pixel the colour shaded by its triangle's
 * facing, `shade = 0.45 + 0.55 |n · d|` with n the triangle's unit normal and d the unit
 * direction from the camera centre to its centroid, blended with the colour's alpha) or the
 * wireframe (the edges of the triangles facing the camera, one pixel wide, a pixel drawn only
 * where the edge is not behind the surface: its interpolated 1/z at least the buffer's
 * · (1 − 0.01)).
 *
 * ## Projection limit
 *
 * OpenCV's radial distortion `r · g(r²)` of a strong barrel lens (k1 < 0) rises with the
 * undistorted radius r only up to a point and then falls: a point far outside the field of
 * view would project back into the image. mhrfit_overlay_r2_limit() finds the first r² in
 * [0, 64] where `d(r g(r²))/dr = g + 2 r² g'` stops being positive, or where the denominator
 * of g does (steps of 0.01, then bisection to 1e-9; +∞ when it stays positive), and
 * mhrfit_overlay_project() refuses points beyond it; everything else is mhrfit_camera_project(),
 * the projection of the triangulation.
 *
 * ## Overlays of a run
 *
 * mhrfit_overlay_new() reads what to draw and checks it (before any image is touched);
 * mhrfit_overlay_process() writes, for each selected frame and camera, `OUT/<frame>/<cam>.jpg`
 * (or `.png`): the camera's picture `CAPTURE/<frame>/<cam>.{jpg,jpeg,png}` (JPEG or PNG by
 * content) with these layers, each switchable (mhrfit_overlay_layer), drawn bottom to top:
 *
 * 1. `mesh`: the fitted MHR mesh at the run's LOD (forward kinematics and skinning of the
 *    frame's `mhr_model_params` and identity with the rig, placed by the frame's similarity), as
 *    a silhouette or a wireframe (above);
 * 2. `skeleton`: the fitted MHR70 keypoints (`pred_keypoints_3d`) projected, joined by the 65
 *    links of SAM 3D Body's MHR70 skeleton (MHR.md §9.4), left side blue, right orange, centre
 *    white;
 * 3. `others`: the 2-D keypoints of the other persons detected in the view, dimmed gray;
 * 4. `keypoints`: the 2-D keypoints of the selected person (yellow discs), with a thin white
 *    line to the triangulated point's projection where both exist;
 * 5. `points`: the triangulated points projected: a green disc where this camera was an inlier
 *    of the point, a red cross where it saw the point but was rejected as an outlier, a white
 *    ring where it did not see it; points that were not triangulated (NaN) are absent;
 * 6. `caption`: frame, camera, frame status, and this camera's mean reprojection error (the
 *    distance between the projection of each triangulated point and the 2-D keypoint it was
 *    triangulated from, over the points this camera is an inlier of) and the fitted keypoints'
 *    mean distance to the 2-D keypoints; and how the picture was resized, when it was.
 * Marks, lines and text scale with the picture: `s = min(width, height) / 1080`, mark radius
 * max(2, round(4 s)), line width max(1, 2 s), text scale max(1, round(2 s)).
 *
 * **Sources.** A *run folder* of `mhrfit run`: the fit from `sequence_smoothed.npz` (or
 * `sequence_fit.npz`) through mhrfit_export_source_load() (frame names, statuses, parameters,
 * similarities, keypoints, rate, calibration, cameras), the triangulated points of
 * `triangulation/<frame>/triangulated.npz`, the 2-D keypoints of `stage1/<frame>/<cam>.npz`
 * (`pred_keypoints_2d`), the other persons from the SAM 3D Body output each stage-1 file came
 * from (named in `stage1_meta.json`), the capture folder from `stage1_meta.json`
 * (`input_root`) or `pipeline_config.json` (`input`), the LOD from `pipeline_config.json`.
 * Or a *triangulation archive* of `mhrfit triangulate` (F frames): its points and inlier masks;
 * the 2-D keypoints from the observations it was made from (observations.h: OpenPose JSON
 * folders, arrays, Caliscope csv; the selected `person`, and other persons up to 8; a point
 * with a confidence of 0, OpenPose's undetected `0, 0, 0`, is missing); an
 * optional fit (a `fit.npz` of `mhrfit fit`, frame for frame); its frame f is the capture
 * folder whose name is the number f (`000012` or `12`: the names of `mhrfit frames`).
 *
 * **Views that cannot be drawn** are skipped with a message naming the frame, the camera and
 * the file, and the rest goes on: a missing picture, one that does not decode (truncated or
 * damaged), and one whose size differs from the calibration's `size`. Exceptions: a difference
 * of less than 16 pixels in each direction (the padding of a video codec's 16-pixel blocks:
 * 1080 stored as 1088) keeps the picture as it is, its pixel coordinates the calibration's
 * (a note per camera); with `rescale` any other size is resampled to the calibration's and the
 * caption says so. A camera without any picture in the capture is left out with a message;
 * no camera with pictures at all is an error.
 *
 * **Videos** (`video`): one per camera, `OUT/<cam>.mp4` (mhrfit_video_writer, H.264 by
 * default), one frame per selected frame: the overlay, or for a view that was skipped a dark
 * frame saying why (so that frame k of every video is selected frame k); the size is that of
 * the camera's first readable picture as it is drawn (the calibration's when it is rescaled;
 * later pictures of another size are placed top-left, cropped or padded). With `grid`, `OUT/grid.mp4`: every camera's frame scaled to `grid_height` rows,
 * side by side in rows of `grid_columns`. The rate is `fps`, else the run's (or the fit's), else
 * the capture's (`frames_meta.json` of `mhrfit frames` with index sync: the first video's rate
 * over `every`), else 30.
 *
 * **Outputs** are written atomically; `OUT/overlay_summary.json` lists the settings, per camera
 * the views written and skipped (with the reasons), the mean reprojection errors (all inlier
 * points, and the points triangulated from at least 3 cameras) and the videos. `OUT` must be
 * new, empty or an earlier overlay folder (it holds an `overlay_summary.json`).
 */
#ifndef MHRFIT_OVERLAY_H
#define MHRFIT_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/camera.h"
#include "mhrfit/error.h"
#include "mhrfit/media.h"
#include "mhrfit/rig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------------------- drawing */

/** A colour with its opacity (255 = opaque). */
typedef struct mhrfit_rgba {
  unsigned char r, g, b, a;
} mhrfit_rgba;

/** Mark shapes (see "Drawing" above). */
typedef enum mhrfit_mark_shape {
  MHRFIT_MARK_DISC = 0,
  MHRFIT_MARK_RING,
  MHRFIT_MARK_CROSS,
  MHRFIT_MARK_SQUARE
} mhrfit_mark_shape;

/**
 * Draws a mark of `shape`, radius `radius` in 0..4096 and thickness `thickness` in 1..4096 (ring
 * and cross; values outside are clamped) centred on the pixel holding (u, v), in `fill`, over
 * an `outline` when its alpha is not 0.
 * Returns false (drawing nothing) when u or v is not finite or the centre pixel is farther than
 * 2^30 from the image.
 */
bool mhrfit_draw_mark(mhrfit_image *img, double u, double v, mhrfit_mark_shape shape, int radius, int thickness,
                      mhrfit_rgba fill, mhrfit_rgba outline);

/** Draws an anti-aliased line of width `width` > 0 from (x0, y0) to (x1, y1) (pixels). Non-finite ends: nothing. */
void mhrfit_draw_line(mhrfit_image *img, double x0, double y0, double x1, double y1, double width, mhrfit_rgba c);

/** Fills the pixels [x, x + w) × [y, y + h) with `c` (blended). */
void mhrfit_draw_rect(mhrfit_image *img, int x, int y, int w, int h, mhrfit_rgba c);

/** Width and height in pixels of `text` (one line, at most 4096 characters drawn) at `scale` 1..256 (clamped). */
void mhrfit_text_size(const char *text, int scale, int *width, int *height);

/**
 * Draws one line of `text` with its cell's top-left corner at (x, y), glyph pixels in `c`.
 * Returns the width drawn (mhrfit_text_size()).
 */
int mhrfit_draw_text(mhrfit_image *img, int x, int y, int scale, const char *text, mhrfit_rgba c);

/* ------------------------------------------------------------------------ rasteriser */

/** A depth buffer with the nearest triangle per pixel. */
typedef struct mhrfit_raster mhrfit_raster;

/** A buffer of `width` × `height` pixels, cleared. MHRFIT_ERR_ARGUMENT / MHRFIT_ERR_LIMIT for sizes. */
mhrfit_raster *mhrfit_raster_new(int width, int height, mhrfit_error *err);

/** Clears the buffer, resizing it first to `width` × `height` when they differ. */
bool mhrfit_raster_reset(mhrfit_raster *r, int width, int height, mhrfit_error *err);

/**
 * Rasterises the triangle of pixel vertices `uv` (u0 v0 u1 v1 u2 v2) at depths `z`, with
 * identifier `id` >= 0 (see "Rasteriser" above). Nothing is drawn unless every depth is finite
 * and at least 1e-9 and every coordinate within ±2^20 pixels. Returns the number of pixels where
 * it became the nearest.
 */
size_t mhrfit_raster_triangle(mhrfit_raster *r, const double uv[6], const double z[3], int32_t id);

/** The id of the nearest triangle at pixel (x, y), or −1 (none, or outside the buffer). */
int32_t mhrfit_raster_id(const mhrfit_raster *r, int x, int y);

/** The depth z of the nearest triangle at the centre of pixel (x, y), or +∞. */
double mhrfit_raster_depth(const mhrfit_raster *r, int x, int y);

/** Frees a buffer. NULL is allowed. */
void mhrfit_raster_free(mhrfit_raster *r);

/** How a mesh is drawn. */
typedef enum mhrfit_mesh_style {
  MHRFIT_MESH_SILHOUETTE = 0, /**< filled, shaded, depth-ordered */
  MHRFIT_MESH_WIREFRAME       /**< visible edges of the triangles facing the camera */
} mhrfit_mesh_style;

/**
 * The r² limit of the undistorted normalised radius up to which `cam`'s radial distortion is
 * increasing (see "Projection limit" above); +∞ for a camera without distortion.
 */
double mhrfit_overlay_r2_limit(const mhrfit_camera *cam);

/**
 * mhrfit_camera_project() of world point `X` to pixels `uv`, refused (false, uv NaN) when the
 * point is behind the camera, not finite, or its normalised radius² x² + y² exceeds `r2_limit`.
 */
bool mhrfit_overlay_project(const mhrfit_camera *cam, double r2_limit, const double X[3], double uv[2]);

/**
 * Draws the mesh of `n_vertices` world vertices `vertices` (× 3, metres or the calibration's
 * unit) and `n_faces` triangles `faces` (× 3 vertex indices) through `cam` onto `img` in `style`
 * and colour `c`, with `r` as its depth buffer (reset to the image size). `pixels` (may be
 * NULL) receives the number of pixels covered. Faces with an index out of range are an error
 * (MHRFIT_ERR_ARGUMENT); vertices that do not project leave their triangles out.
 */
bool mhrfit_draw_mesh(mhrfit_image *img, mhrfit_raster *r, const mhrfit_camera *cam, const double *vertices,
                      size_t n_vertices, const int32_t *faces, size_t n_faces, mhrfit_mesh_style style, mhrfit_rgba c,
                      size_t *pixels, mhrfit_error *err);

/* -------------------------------------------------------------------------- overlays */

/** Layers (bit flags; see "Overlays of a run" above). */
typedef enum mhrfit_overlay_layer {
  MHRFIT_LAYER_MESH = 1u << 0,
  MHRFIT_LAYER_SKELETON = 1u << 1,
  MHRFIT_LAYER_OTHERS = 1u << 2,
  MHRFIT_LAYER_KEYPOINTS = 1u << 3,
  MHRFIT_LAYER_POINTS = 1u << 4,
  MHRFIT_LAYER_CAPTION = 1u << 5,
  MHRFIT_LAYERS_ALL = (1u << 6) - 1
} mhrfit_overlay_layer;

/**
 * Parses a comma-separated list of layer names (`mesh`, `skeleton`, `others`, `keypoints`,
 * `points`, `caption`; `all`; `none`) into flags. MHRFIT_ERR_ARGUMENT naming an unknown one.
 */
bool mhrfit_overlay_layers_parse(const char *list, unsigned *layers, mhrfit_error *err);

/** Severity of a message passed to mhrfit_overlay_options::log. */
typedef enum mhrfit_overlay_log_level {
  MHRFIT_OVERLAY_INFO = 0, /**< what is being done, notes */
  MHRFIT_OVERLAY_WARNING,  /**< views skipped, cameras left out */
  MHRFIT_OVERLAY_ERROR     /**< a file that could not be written */
} mhrfit_overlay_log_level;

/** An overlay request. Initialise with mhrfit_overlay_options_init(); strings are borrowed. */
typedef struct mhrfit_overlay_options {
  const char *run_dir;            /**< a run folder of `mhrfit run`; or NULL with tri_path */
  bool fitted;                    /**< run folder: sequence_fit.npz instead of sequence_smoothed.npz */
  const char *tri_path;           /**< a triangulation archive of `mhrfit triangulate`; or NULL with run_dir */
  const char *fit_path;           /**< with tri_path: a fit archive of its frames (optional) */
  const char *keypoints_dir;      /**< with tri_path: the 2-D observations (observations.h) (optional) */
  const char *keypoints_format;   /**< their form (observations.h; NULL = auto) */
  const char *layout;             /**< their keypoint layout (layout.h), e.g. "body25b"; NULL = mhr70 */
  const char *const *cam_dirs;    /**< openpose: one folder per camera of the archive, in its order; NULL = "<cam>_json" */
  size_t person;                  /**< the selected person of multi-person observations (default 0) */
  const char *calib;              /**< calibration file; required with tri_path, else overrides the run's */
  bool invert_extrinsics;         /**< the calibration stores camera→world poses */
  const char *translation_unit;   /**< the calibration's translation unit ("m" default, "cm", "mm") */
  const char *capture;            /**< the pictures' root `<capture>/<frame>/<cam>.<ext>`; NULL = the run's input */
  const char *const *cams;        /**< cameras to draw, calibration names, in this order; NULL = the source's */
  size_t n_cams;
  size_t frame_begin, frame_end;  /**< source frames [begin, end); end 0 = to the last */
  const char *out_dir;            /**< output folder; required */
  const mhrfit_rig *rig;          /**< the MHR rig for the mesh (borrowed), or NULL to load rig_path */
  const char *rig_path;           /**< MHR assets folder or rig file for the mesh; NULL = the run's recorded assets */
  int lod;                        /**< mesh LOD; -1 (default) = the run's */
  unsigned layers;                /**< mhrfit_overlay_layer flags; default MHRFIT_LAYERS_ALL */
  mhrfit_mesh_style mesh_style;   /**< default silhouette */
  double mesh_alpha;              /**< mesh opacity in [0, 1]; default 0.45 */
  bool rescale;                   /**< resample pictures whose size differs from the calibration's */
  mhrfit_image_write_options image; /**< picture format (MHRFIT_IMAGE_AUTO = JPEG) and quality (default 90) */
  bool video;                     /**< one video per camera */
  bool grid;                      /**< a grid video of all cameras (implies nothing else) */
  int grid_height;                /**< rows of each camera's tile in the grid; default 540 */
  int grid_columns;               /**< tiles per row; 0 (default) = ceil(sqrt(cameras)) */
  double fps;                     /**< video rate; 0 (default) = the run's, the capture's, else 30 */
  mhrfit_video_writer_options video_options; /**< encoder, crf, preset, threads (fps is set from `fps`) */
  bool overwrite;                 /**< write into an earlier overlay folder (default true) */
  /** One line per event (no trailing newline); NULL = silent. */
  void (*log)(void *user, mhrfit_overlay_log_level level, const char *message);
  /** Views done so far of the total; NULL = none. */
  void (*progress)(void *user, size_t done, size_t total);
  void *user; /**< passed to log and progress */
} mhrfit_overlay_options;

/** Fills `o` with the defaults given in mhrfit_overlay_options. */
void mhrfit_overlay_options_init(mhrfit_overlay_options *o);

/** What happened to one camera. */
typedef struct mhrfit_overlay_stats {
  char name[MHRFIT_CAMERA_NAME_MAX]; /**< calibration name */
  bool has_images;                   /**< the capture holds pictures of it (else left out) */
  size_t written;                    /**< overlays written */
  size_t missing;                    /**< views without a picture */
  size_t unreadable;                 /**< pictures that did not decode */
  size_t wrong_size;                 /**< pictures skipped for their size */
  size_t rescaled;                   /**< pictures resampled to the calibration's size */
  size_t padded;                     /**< pictures within 16 px of the calibration's size, drawn as they are */
  size_t failed;                     /**< overlays that could not be written */
  size_t n_err, n_err3;              /**< inlier points measured (all; triangulated from >= 3 cameras) */
  double mean_err_px;                /**< mean reprojection error over them (NaN when none) */
  double mean_err3_px;               /**< the same over the points triangulated from >= 3 cameras */
  double max_err_px;                 /**< the largest (NaN when none) */
  size_t n_fit, n_fit_err;           /**< fitted keypoints measured against the 2-D keypoints */
  double mean_fit_err_px;            /**< their mean distance (NaN when none) */
  int video_width, video_height;     /**< the camera's video size (0 without video) */
  long long video_frames;            /**< frames in its video */
} mhrfit_overlay_stats;

/** What mhrfit_overlay_process() did. */
typedef struct mhrfit_overlay_summary {
  size_t n_frames;        /**< frames selected */
  size_t n_cams;          /**< cameras drawn (with pictures) */
  size_t images_written;  /**< overlays written */
  size_t views_skipped;   /**< views skipped (missing, unreadable, wrong size) */
  size_t views_failed;    /**< overlays or video frames that could not be written */
  size_t videos_written;  /**< videos finished (per camera and grid) */
  char codec[32];         /**< the video encoder used ("" without video) */
  double fps;             /**< the video rate */
  char fps_origin[32];    /**< "option", the source's origin, or "default" */
  double seconds;         /**< wall time of the processing */
} mhrfit_overlay_summary;

/** An overlay job. */
typedef struct mhrfit_overlay mhrfit_overlay;

/**
 * Reads the source, the calibration, the observations and the rig and checks them against each
 * other (cameras in the calibration, frame counts, the capture folder and which cameras have
 * pictures, the output folder), without touching a picture. Errors name the file and what is
 * wrong: MHRFIT_ERR_ARGUMENT (options), MHRFIT_ERR_NOT_FOUND (a missing file, camera or frame
 * folder), MHRFIT_ERR_FORMAT, MHRFIT_ERR_IO, MHRFIT_ERR_NOMEM. Free with mhrfit_overlay_free().
 */
mhrfit_overlay *mhrfit_overlay_new(const mhrfit_overlay_options *o, mhrfit_error *err);

/** Source frames selected. */
size_t mhrfit_overlay_n_frames(const mhrfit_overlay *ov);

/** Cameras to draw (those without pictures included; see mhrfit_overlay_camera_stats()). */
size_t mhrfit_overlay_n_cams(const mhrfit_overlay *ov);

/** The calibrated camera `cam` (index among the cameras to draw). */
const mhrfit_camera *mhrfit_overlay_camera(const mhrfit_overlay *ov, size_t cam);

/** Name of selected frame `frame` (its capture folder). */
const char *mhrfit_overlay_frame_name(const mhrfit_overlay *ov, size_t frame);

/** What happened to camera `cam` so far. */
const mhrfit_overlay_stats *mhrfit_overlay_camera_stats(const mhrfit_overlay *ov, size_t cam);

/**
 * Draws the layers of selected frame `frame` seen by camera `cam` onto `img` (the camera's
 * picture, in the calibration's pixel coordinates), adding its measurements to the camera's
 * statistics; `note` (may be NULL) is added to the caption. MHRFIT_ERR_ARGUMENT for indices out
 * of range; errors reading the frame's files name them.
 */
bool mhrfit_overlay_render(mhrfit_overlay *ov, size_t frame, size_t cam, mhrfit_image *img, const char *note,
                           mhrfit_error *err);

/**
 * Writes the overlays (and videos) of every selected frame and camera (see "Overlays of a run"
 * above) and `overlay_summary.json`. Views that cannot be drawn are skipped and counted;
 * returns false only when the job cannot go on (the output folder, a video that cannot be
 * written, a frame file that is damaged); `summary` may be NULL.
 */
bool mhrfit_overlay_process(mhrfit_overlay *ov, mhrfit_overlay_summary *summary, mhrfit_error *err);

/** Frees a job. NULL is allowed. */
void mhrfit_overlay_free(mhrfit_overlay *ov);

#ifdef __cplusplus
}
#endif
#endif
