/* Binary FBX 7.x reader for the MHR rig: see src/body/fbx.h and MHR.md §12. */
#include "body/fbx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/mem.h"

#define FBX_MAX_DEPTH 32

typedef struct fbx_parser {
  const unsigned char *data;
  size_t len;
  const char *name;
  bool wide; /* 64-bit record headers (version >= 7500) */
  size_t max_array_bytes;
  mhrfit_error *err;
} fbx_parser;

static uint64_t rd(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static bool perr(fbx_parser *p, size_t off, const char *what, const char *node) {
  return MHRFIT_FAIL(p->err, MHRFIT_ERR_FORMAT, "%s: FBX: %s (node '%s', byte %zu)", p->name, what, node, off);
}

static void free_node(mf_fbx_node *n) {
  for (uint32_t i = 0; i < n->n_props; i++) free(n->props[i].arr);
  free(n->props);
  for (size_t i = 0; i < n->n_children; i++) free_node(&n->children[i]);
  free(n->children);
}

static bool parse_array(fbx_parser *p, size_t *off, size_t end, mf_fbx_prop *pr, const char *node) {
  if (end - *off < 12) return perr(p, *off, "truncated array header", node);
  uint32_t count = (uint32_t)rd(p->data + *off, 4), enc = (uint32_t)rd(p->data + *off + 4, 4),
           clen = (uint32_t)rd(p->data + *off + 8, 4);
  *off += 12;
  if (clen > end - *off) return perr(p, *off, "array data runs past its record", node);
  size_t esize = (pr->type == 'd' || pr->type == 'l') ? 8 : (pr->type == 'b') ? 1 : 4;
  size_t raw_bytes;
  if (!mf_mul_size(count, esize, &raw_bytes) || raw_bytes > p->max_array_bytes)
    return MHRFIT_FAIL(p->err, MHRFIT_ERR_LIMIT, "%s: FBX: array of %u elements exceeds the limit (node '%s')", p->name,
                       count, node);
  unsigned char *raw = mf_malloc_array(raw_bytes ? raw_bytes : 1, 1, p->err);
  if (!raw) return false;
  if (enc == 0) {
    if (clen != raw_bytes) {
      free(raw);
      return perr(p, *off, "raw array size does not match its element count", node);
    }
    if (raw_bytes) memcpy(raw, p->data + *off, raw_bytes);
  } else if (enc == 1) {
    uLongf out = (uLongf)raw_bytes;
    int zr = uncompress(raw, &out, p->data + *off, clen);
    if (zr != Z_OK || out != raw_bytes) {
      free(raw);
      return perr(p, *off, "compressed array does not inflate to its element count", node);
    }
  } else {
    free(raw);
    return perr(p, *off, "unknown array encoding", node);
  }
  *off += clen;
  /* decode to double (f, d) or int64 (i, l, b) */
  bool is_float = pr->type == 'f' || pr->type == 'd';
  void *out = mf_malloc_array(count ? count : 1, 8, p->err);
  if (!out) {
    free(raw);
    return false;
  }
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *q = raw + i * esize;
    if (is_float) {
      double v;
      if (esize == 8) {
        uint64_t b = rd(q, 8);
        memcpy(&v, &b, 8);
      } else {
        uint32_t b = (uint32_t)rd(q, 4);
        float fv;
        memcpy(&fv, &b, 4);
        v = fv;
      }
      ((double *)out)[i] = v;
    } else {
      int64_t v = esize == 8 ? (int64_t)rd(q, 8) : esize == 4 ? (int64_t)(int32_t)(uint32_t)rd(q, 4) : (int64_t)q[0];
      ((int64_t *)out)[i] = v;
    }
  }
  free(raw);
  pr->arr = out;
  pr->len = count;
  return true;
}

static bool parse_node(fbx_parser *p, size_t *off, size_t limit, mf_fbx_node *n, int depth, bool *is_null) {
  int w = p->wide ? 8 : 4;
  size_t hdr = (size_t)(3 * w + 1);
  if (limit - *off < hdr) return perr(p, *off, "truncated record header", "?");
  uint64_t end = rd(p->data + *off, w), nprops = rd(p->data + *off + w, w), plen = rd(p->data + *off + 2 * w, w);
  unsigned nlen = p->data[*off + 3 * w];
  if (end == 0 && nprops == 0 && plen == 0 && nlen == 0) {
    *is_null = true;
    *off += hdr;
    return true;
  }
  *is_null = false;
  size_t start = *off;
  if (end > limit || limit - *off - hdr < nlen || end < (uint64_t)(start + hdr + nlen))
    return perr(p, start, "record end out of range", "?");
  if (depth > FBX_MAX_DEPTH) return MHRFIT_FAIL(p->err, MHRFIT_ERR_LIMIT, "%s: FBX: nesting too deep", p->name);
  memset(n, 0, sizeof *n);
  size_t cp = nlen < sizeof n->name ? nlen : sizeof n->name - 1;
  memcpy(n->name, p->data + *off + hdr, cp);
  *off += hdr + nlen;
  size_t props_end = *off + (size_t)plen;
  /* every property takes at least two bytes (type code + value) */
  if (plen > end - *off || nprops > plen / 2) return perr(p, start, "property list out of range", n->name);
  n->props = mf_calloc_array(nprops ? (size_t)nprops : 1, sizeof *n->props, p->err);
  if (!n->props) return false;
  for (uint64_t i = 0; i < nprops; i++) {
    if (*off >= props_end) return perr(p, *off, "property list shorter than announced", n->name);
    mf_fbx_prop *pr = &n->props[n->n_props++];
    pr->type = (char)p->data[(*off)++];
    size_t left = props_end - *off;
    switch (pr->type) {
      case 'Y': if (left < 2) goto trunc; pr->i = (int16_t)(uint16_t)rd(p->data + *off, 2); *off += 2; break;
      case 'C': if (left < 1) goto trunc; pr->i = p->data[*off]; *off += 1; break;
      case 'I': if (left < 4) goto trunc; pr->i = (int32_t)(uint32_t)rd(p->data + *off, 4); *off += 4; break;
      case 'L': if (left < 8) goto trunc; pr->i = (int64_t)rd(p->data + *off, 8); *off += 8; break;
      case 'F': {
        if (left < 4) goto trunc;
        uint32_t b = (uint32_t)rd(p->data + *off, 4);
        float f;
        memcpy(&f, &b, 4);
        pr->d = f;
        *off += 4;
        break;
      }
      case 'D': {
        if (left < 8) goto trunc;
        uint64_t b = rd(p->data + *off, 8);
        memcpy(&pr->d, &b, 8);
        *off += 8;
        break;
      }
      case 'S':
      case 'R': {
        if (left < 4) goto trunc;
        uint32_t l = (uint32_t)rd(p->data + *off, 4);
        *off += 4;
        if (l > left - 4) goto trunc;
        pr->str = (const char *)p->data + *off;
        pr->len = l;
        *off += l;
        break;
      }
      case 'f': case 'd': case 'l': case 'i': case 'b':
        if (!parse_array(p, off, props_end, pr, n->name)) return false;
        break;
      default: return perr(p, *off - 1, "unknown property type", n->name);
    }
  }
  *off = props_end;
  size_t cap = 0;
  while (*off < end) {
    void *ch = n->children;
    if (!mf_grow(&ch, &cap, n->n_children + 1, sizeof *n->children, p->err)) return false;
    n->children = ch;
    bool null_rec;
    mf_fbx_node *c = &n->children[n->n_children];
    memset(c, 0, sizeof *c);
    if (!parse_node(p, off, (size_t)end, c, depth + 1, &null_rec)) {
      free_node(c);
      return false;
    }
    if (null_rec) break;
    n->n_children++;
  }
  *off = (size_t)end;
  return true;
trunc:
  return perr(p, *off, "truncated property", n->name);
}

mf_fbx *mf_fbx_parse(const unsigned char *data, size_t len, const char *name, size_t max_array_bytes,
                     mhrfit_error *err) {
  if (len < 27 || memcmp(data, "Kaydara FBX Binary  \0", 21) != 0) {
    MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a binary FBX file (bad magic)", name);
    return NULL;
  }
  mf_fbx *f = calloc(1, sizeof *f);
  if (!f) {
    MHRFIT_FAIL(err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  f->version = (uint32_t)rd(data + 23, 4);
  if (f->version < 7000 || f->version >= 8000) {
    MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED, "%s: FBX version %u is not supported (7.x only)", name, f->version);
    free(f);
    return NULL;
  }
  fbx_parser p = {data, len, name, f->version >= 7500, max_array_bytes ? max_array_bytes : ((size_t)1 << 31), err};
  size_t off = 27, cap = 0;
  while (off < len) {
    void *ch = f->root.children;
    if (!mf_grow(&ch, &cap, f->root.n_children + 1, sizeof(mf_fbx_node), err)) goto fail;
    f->root.children = ch;
    mf_fbx_node *n = &f->root.children[f->root.n_children];
    memset(n, 0, sizeof *n);
    bool null_rec;
    if (!parse_node(&p, &off, len, n, 0, &null_rec)) {
      free_node(n);
      goto fail;
    }
    if (null_rec) break;
    f->root.n_children++;
  }
  return f;
fail:
  mf_fbx_free(f);
  return NULL;
}

void mf_fbx_free(mf_fbx *f) {
  if (!f) return;
  free_node(&f->root);
  free(f);
}

const mf_fbx_node *mf_fbx_child(const mf_fbx_node *n, const char *name) {
  for (size_t i = 0; i < n->n_children; i++)
    if (strcmp(n->children[i].name, name) == 0) return &n->children[i];
  return NULL;
}

/* ---- rig extraction --------------------------------------------------------------------------- */

static bool prop_str_eq(const mf_fbx_prop *p, const char *s) {
  size_t l = strlen(s);
  return (p->type == 'S') && p->len == l && memcmp(p->str, s, l) == 0;
}

/* A Properties70 vector value ("Lcl Translation", "PreRotation"); zeros when absent. */
static void p70_vec3(const mf_fbx_node *model, const char *key, double out[3]) {
  out[0] = out[1] = out[2] = 0;
  const mf_fbx_node *p70 = mf_fbx_child(model, "Properties70");
  if (!p70) return;
  for (size_t i = 0; i < p70->n_children; i++) {
    const mf_fbx_node *pn = &p70->children[i];
    if (pn->n_props >= 7 && prop_str_eq(&pn->props[0], key)) {
      for (int k = 0; k < 3; k++) out[k] = pn->props[4 + k].type == 'D' || pn->props[4 + k].type == 'F' ? pn->props[4 + k].d : 0;
      return;
    }
  }
}

static const mf_fbx_prop *array_prop(const mf_fbx_node *n, const char *child, char t1, char t2) {
  const mf_fbx_node *c = mf_fbx_child(n, child);
  if (!c || c->n_props < 1 || (c->props[0].type != t1 && c->props[0].type != t2)) return NULL;
  return &c->props[0];
}

void mf_fbx_rig_free(mf_fbx_rig *r) {
  free(r->joint_names);
  free(r->parents);
  free(r->offsets);
  free(r->prerot_deg);
  free(r->vertices);
  free(r->faces);
  free(r->skin_vertex);
  free(r->skin_joint);
  free(r->skin_weight);
  free(r->bind_global);
  free(r->shape_start);
  free(r->shape_vertex);
  free(r->shape_delta);
  memset(r, 0, sizeof *r);
}

/* The uid of the parent of `child` through an OO connection whose parent is an object named
 * `parent_node` with class `parent_class` (NULL = any), or -1. */
static int64_t parent_of(const mf_fbx_node *objects, const mf_fbx_node *conns, int64_t child, const char *parent_class,
                         const mf_fbx_node **parent) {
  for (size_t c = 0; c < conns->n_children; c++) {
    const mf_fbx_node *cn = &conns->children[c];
    if (cn->n_props < 3 || !prop_str_eq(&cn->props[0], "OO") || cn->props[1].i != child) continue;
    for (size_t i = 0; i < objects->n_children; i++) {
      const mf_fbx_node *o = &objects->children[i];
      if (o->n_props >= 3 && o->props[0].type == 'L' && o->props[0].i == cn->props[2].i &&
          (!parent_class || prop_str_eq(&o->props[2], parent_class))) {
        if (parent) *parent = o;
        return o->props[0].i;
      }
    }
  }
  return -1;
}

/* Blend shapes: Shape geometry -> BlendShapeChannel (named shape_c_<k>) -> BlendShape. */
static bool extract_shapes(const mf_fbx_node *objects, const mf_fbx_node *conns, const char *name, mf_fbx_rig *r,
                           mhrfit_error *err) {
  size_t n = 0;
  for (size_t i = 0; i < objects->n_children; i++) {
    const mf_fbx_node *o = &objects->children[i];
    if (strcmp(o->name, "Geometry") == 0 && o->n_props >= 3 && prop_str_eq(&o->props[2], "Shape")) n++;
  }
  if (n == 0) return true;
  const mf_fbx_node **shape_of = mf_calloc_array(n, sizeof *shape_of, err);
  if (!shape_of) return false;
  size_t next = 0;
  bool ok = true;
  for (size_t i = 0; i < objects->n_children && ok; i++) {
    const mf_fbx_node *o = &objects->children[i];
    if (!(strcmp(o->name, "Geometry") == 0 && o->n_props >= 3 && prop_str_eq(&o->props[2], "Shape"))) continue;
    const mf_fbx_node *chan = NULL;
    size_t k = next++;
    if (parent_of(objects, conns, o->props[0].i, "BlendShapeChannel", &chan) >= 0 && chan->props[1].type == 'S') {
      /* channel "shape_c_<k>\0\1..." gives the order */
      const char *nm = chan->props[1].str;
      size_t len = strnlen(nm, chan->props[1].len);
      if (len > 8 && strncmp(nm, "shape_c_", 8) == 0) {
        size_t v = 0;
        bool digits = true;
        for (size_t c = 8; c < len; c++) {
          if (nm[c] < '0' || nm[c] > '9') digits = false;
          else v = v * 10 + (size_t)(nm[c] - '0');
        }
        if (digits && v < n) k = v;
      }
    }
    if (shape_of[k]) ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX blend-shape channel %zu appears twice", name, k);
    shape_of[k] = o;
  }
  size_t total = 0;
  for (size_t k = 0; k < n && ok; k++) {
    if (!shape_of[k]) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX blend-shape channel %zu is missing", name, k);
      break;
    }
    const mf_fbx_prop *ix = array_prop(shape_of[k], "Indexes", 'i', 'l'), *vx = array_prop(shape_of[k], "Vertices", 'd', 'f');
    if (!ix || !vx || vx->len != 3 * ix->len) {
      ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX blend shape %zu: Indexes and Vertices do not match", name, k);
      break;
    }
    total += ix->len;
  }
  if (ok) {
    r->n_shapes = n;
    r->shape_start = mf_calloc_array(n + 1, sizeof *r->shape_start, err);
    r->shape_vertex = mf_calloc_array(total ? total : 1, sizeof *r->shape_vertex, err);
    r->shape_delta = mf_calloc_array(total ? 3 * total : 1, sizeof *r->shape_delta, err);
    ok = r->shape_start && r->shape_vertex && r->shape_delta;
  }
  for (size_t k = 0, pos = 0; k < n && ok; k++) {
    const mf_fbx_prop *ix = array_prop(shape_of[k], "Indexes", 'i', 'l'), *vx = array_prop(shape_of[k], "Vertices", 'd', 'f');
    r->shape_start[k] = pos;
    for (uint32_t e = 0; e < ix->len; e++, pos++) {
      int64_t v = ((const int64_t *)ix->arr)[e];
      if (v < 0 || (size_t)v >= r->n_vertices) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX blend shape %zu names vertex %lld", name, k, (long long)v);
        break;
      }
      r->shape_vertex[pos] = (int32_t)v;
      for (int a = 0; a < 3; a++) r->shape_delta[3 * pos + a] = ((const double *)vx->arr)[3 * e + a];
    }
    r->shape_start[k + 1] = pos;
  }
  free(shape_of);
  return ok;
}

bool mf_fbx_extract_rig(const mf_fbx *f, const char *name, mf_fbx_rig *r, mhrfit_error *err) {
  memset(r, 0, sizeof *r);
  const mf_fbx_node *objects = mf_fbx_child(&f->root, "Objects"), *conns = mf_fbx_child(&f->root, "Connections");
  if (!objects || !conns) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX has no Objects or Connections", name);
  /* joints */
  size_t nj = 0;
  for (size_t i = 0; i < objects->n_children; i++) {
    const mf_fbx_node *o = &objects->children[i];
    if (strcmp(o->name, "Model") == 0 && o->n_props >= 3 && (prop_str_eq(&o->props[2], "Root") || prop_str_eq(&o->props[2], "LimbNode")))
      nj++;
  }
  if (nj == 0) return MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX has no skeleton (Root/LimbNode models)", name);
  int64_t *uids = mf_calloc_array(nj, sizeof *uids, err);
  r->n_joints = nj;
  r->joint_names = mf_calloc_array(nj, sizeof *r->joint_names, err);
  r->parents = mf_calloc_array(nj, sizeof *r->parents, err);
  r->offsets = mf_calloc_array(nj * 3, sizeof(double), err);
  r->prerot_deg = mf_calloc_array(nj * 3, sizeof(double), err);
  r->bind_global = mf_calloc_array(nj * 16, sizeof(double), err);
  if (!uids || !r->joint_names || !r->parents || !r->offsets || !r->prerot_deg || !r->bind_global) goto fail;
  size_t j = 0;
  const mf_fbx_node *mesh_geom = NULL;
  for (size_t i = 0; i < objects->n_children; i++) {
    const mf_fbx_node *o = &objects->children[i];
    if (strcmp(o->name, "Geometry") == 0 && o->n_props >= 3 && prop_str_eq(&o->props[2], "Mesh") && !mesh_geom) mesh_geom = o;
    if (!(strcmp(o->name, "Model") == 0 && o->n_props >= 3 &&
          (prop_str_eq(&o->props[2], "Root") || prop_str_eq(&o->props[2], "LimbNode"))))
      continue;
    if (o->props[0].type != 'L' || o->props[1].type != 'S') {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX Model record without id and name", name);
      goto fail;
    }
    uids[j] = o->props[0].i;
    size_t l = strnlen(o->props[1].str, o->props[1].len);
    if (l > 63) l = 63;
    memcpy(r->joint_names[j], o->props[1].str, l);
    r->joint_names[j][l] = '\0';
    p70_vec3(o, "Lcl Translation", r->offsets + 3 * j);
    p70_vec3(o, "PreRotation", r->prerot_deg + 3 * j);
    r->parents[j] = -1;
    for (int k = 0; k < 16; k++) r->bind_global[16 * j + k] = NAN;
    j++;
  }
  /* parents from OO connections between joint models */
  for (size_t i = 0; i < conns->n_children; i++) {
    const mf_fbx_node *c = &conns->children[i];
    if (c->n_props < 3 || !prop_str_eq(&c->props[0], "OO")) continue;
    int64_t child = c->props[1].i, parent = c->props[2].i;
    long cj = -1, pj = -1;
    for (size_t k = 0; k < nj; k++) {
      if (uids[k] == child) cj = (long)k;
      if (uids[k] == parent) pj = (long)k;
    }
    if (cj >= 0 && pj >= 0) r->parents[cj] = (int)pj;
  }
  for (size_t k = 0; k < nj; k++)
    if (r->parents[k] >= (int)k) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX joint '%s' comes before its parent", name, r->joint_names[k]);
      goto fail;
    }
  /* mesh */
  if (mesh_geom) {
    const mf_fbx_prop *vp = array_prop(mesh_geom, "Vertices", 'd', 'f');
    const mf_fbx_prop *ip = array_prop(mesh_geom, "PolygonVertexIndex", 'i', 'l');
    if (vp && ip) {
      r->n_vertices = vp->len / 3;
      r->vertices = mf_malloc_array(vp->len ? vp->len : 1, sizeof(double), err);
      if (!r->vertices) goto fail;
      memcpy(r->vertices, vp->arr, vp->len * sizeof(double));
      r->n_faces = ip->len / 3;
      r->faces = mf_malloc_array(ip->len ? ip->len : 1, sizeof(int32_t), err);
      if (!r->faces) goto fail;
      const int64_t *idx = ip->arr;
      for (size_t k = 0; k < ip->len; k++) {
        int64_t v = idx[k] < 0 ? ~idx[k] : idx[k];
        bool last = (k % 3) == 2;
        if ((idx[k] < 0) != last || v < 0 || (size_t)v >= r->n_vertices) {
          MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX mesh is not a valid triangle list (index %zu)", name, k);
          goto fail;
        }
        r->faces[k] = (int32_t)v;
      }
    }
  }
  /* skin clusters: Cluster <- joint model (OO child = model, parent = cluster) */
  size_t cap = 0;
  for (size_t i = 0; i < objects->n_children; i++) {
    const mf_fbx_node *o = &objects->children[i];
    if (strcmp(o->name, "Deformer") != 0 || o->n_props < 3 || !prop_str_eq(&o->props[2], "Cluster")) continue;
    int64_t cu = o->props[0].i;
    long jj = -1;
    for (size_t c = 0; c < conns->n_children && jj < 0; c++) {
      const mf_fbx_node *cn = &conns->children[c];
      if (cn->n_props >= 3 && prop_str_eq(&cn->props[0], "OO") && cn->props[2].i == cu)
        for (size_t k = 0; k < nj; k++)
          if (uids[k] == cn->props[1].i) jj = (long)k;
    }
    if (jj < 0) continue;
    const mf_fbx_prop *tl = array_prop(o, "TransformLink", 'd', 'f');
    if (tl && tl->len == 16) memcpy(r->bind_global + 16 * jj, tl->arr, 16 * sizeof(double));
    const mf_fbx_prop *ix = array_prop(o, "Indexes", 'i', 'l'), *wt = array_prop(o, "Weights", 'd', 'f');
    if (!ix || !wt) continue;
    if (ix->len != wt->len) {
      MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX cluster of joint '%s' has %u indexes but %u weights", name,
                  r->joint_names[jj], ix->len, wt->len);
      goto fail;
    }
    size_t need = r->n_skin + ix->len, c0 = cap, c1 = cap, c2 = cap;
    void *a = r->skin_vertex, *b = r->skin_joint, *c = r->skin_weight;
    if (!mf_grow(&a, &c0, need, sizeof(int32_t), err)) goto fail;
    r->skin_vertex = a;
    if (!mf_grow(&b, &c1, need, sizeof(int32_t), err)) goto fail;
    r->skin_joint = b;
    if (!mf_grow(&c, &c2, need, sizeof(double), err)) goto fail;
    r->skin_weight = c;
    cap = c0;
    for (uint32_t k = 0; k < ix->len; k++) {
      int64_t v = ((const int64_t *)ix->arr)[k];
      if (v < 0 || (size_t)v >= r->n_vertices) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: FBX cluster of joint '%s' names vertex %lld of %zu", name,
                    r->joint_names[jj], (long long)v, r->n_vertices);
        goto fail;
      }
      r->skin_vertex[r->n_skin] = (int32_t)v;
      r->skin_joint[r->n_skin] = (int32_t)jj;
      r->skin_weight[r->n_skin] = ((const double *)wt->arr)[k];
      r->n_skin++;
    }
  }
  free(uids);
  if (r->n_vertices && !extract_shapes(objects, conns, name, r, err)) {
    mf_fbx_rig_free(r);
    return false;
  }
  return true;
fail:
  free(uids);
  mf_fbx_rig_free(r);
  return false;
}
