/* Internal binary FBX (7.x) reader: a bounds-checked node-tree parser and the extraction of the
 * MHR rig (skeleton, mesh, skin). Written by hand rather than through a library: Debian's assimp
 * re-bakes the pre-rotations and pivots into its own node transforms, and the single-file FBX
 * libraries are not Debian packages; the subset MHR uses (MHR.md §12) is small. */
#ifndef MF_BODY_FBX_H
#define MF_BODY_FBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhrfit/error.h"

typedef struct mf_fbx_prop {
  char type;          /* Y C I F D L S R f d l i b */
  int64_t i;          /* Y C I L */
  double d;           /* F D */
  const char *str;    /* S R: points into the file image, `len` bytes */
  uint32_t len;       /* S R: bytes; arrays: element count */
  void *arr;          /* arrays: decoded elements (double for f/d, int64 for l/i/b), owned */
} mf_fbx_prop;

typedef struct mf_fbx_node {
  char name[64];
  mf_fbx_prop *props;
  uint32_t n_props;
  struct mf_fbx_node *children;
  size_t n_children;
} mf_fbx_node;

/* A parsed file: the top-level nodes; owns everything (arrays, node storage). */
typedef struct mf_fbx {
  mf_fbx_node root; /* name "", children = top-level records */
  uint32_t version;
} mf_fbx;

/* Parses a binary FBX image (data must outlive the result: strings point into it). Errors name
 * `name`, the node path and the byte offset. max_array_bytes bounds each decoded array. */
mf_fbx *mf_fbx_parse(const unsigned char *data, size_t len, const char *name, size_t max_array_bytes,
                     mhrfit_error *err);
void mf_fbx_free(mf_fbx *f);

/* First child of `n` called `name`, or NULL. */
const mf_fbx_node *mf_fbx_child(const mf_fbx_node *n, const char *name);

/* The MHR rig content of an FBX file. Arrays are owned (free with mf_fbx_rig_free). */
typedef struct mf_fbx_rig {
  size_t n_joints;
  char (*joint_names)[64];
  int *parents;            /* -1 for the root */
  double *offsets;         /* n_joints x 3, cm (Lcl Translation) */
  double *prerot_deg;      /* n_joints x 3, degrees (PreRotation) */
  size_t n_vertices, n_faces;
  double *vertices;        /* n_vertices x 3, cm */
  int32_t *faces;          /* n_faces x 3 */
  size_t n_skin;           /* (vertex, joint, weight) triples */
  int32_t *skin_vertex, *skin_joint;
  double *skin_weight;
  double *bind_global;     /* n_joints x 16, TransformLink (column-major 4x4), NaN when absent */
  size_t n_shapes;         /* blend-shape channels, in channel order (shape_c_0, shape_c_1, ...) */
  size_t *shape_start;     /* n_shapes + 1 offsets into shape_vertex / shape_delta */
  int32_t *shape_vertex;   /* affected vertex indices */
  double *shape_delta;     /* 3 per affected vertex, cm */
} mf_fbx_rig;

/* Extracts the rig from a parsed file (joint order = Root/LimbNode order in Objects). */
bool mf_fbx_extract_rig(const mf_fbx *f, const char *name, mf_fbx_rig *rig, mhrfit_error *err);
void mf_fbx_rig_free(mf_fbx_rig *rig);

#endif
