/* A safe reader for the pickle subset NumPy writes: see include/mhrfit/pickle.h.
 *
 * The unpickler is a stack machine. Objects are built as pk_obj nodes owned by one arena (so
 * shared and even cyclic references made through the memo are freed exactly once), then the
 * result is converted into an mhrfit_value tree with a depth limit (a cycle fails that limit).
 * Globals are resolved to a closed list of NumPy/codecs callables and are never imported. */
#include "mhrfit/pickle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "io/npy_internal.h"

typedef enum pk_kind {
  PK_MARK, PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT,
  PK_GLOBAL, PK_DTYPE, PK_NDARRAY
} pk_kind;

typedef enum pk_global {
  G_RECONSTRUCT, G_NDARRAY, G_DTYPE, G_SCALAR, G_CODECS_ENCODE, G_FROMBUFFER
} pk_global;

typedef struct pk_obj pk_obj;
struct pk_obj {
  pk_kind kind;
  bool b;
  int64_t i;
  double f;
  struct { char *data; size_t len; } s;                 /* STR, BYTES */
  struct { pk_obj **items; size_t count, cap; } seq;    /* TUPLE, LIST, DICT (k0, v0, k1, v1, ...) */
  pk_global g;                                           /* GLOBAL */
  struct { mf_npy_dtype t; bool built; } dt;             /* DTYPE */
  struct {                                               /* NDARRAY */
    pk_obj *dtype;
    int ndim;
    size_t shape[MHRFIT_MAX_NDIM];
    bool fortran, built;
    pk_obj *raw; /* BYTES of raw data, or LIST of objects */
  } nd;
};

typedef struct unpickler {
  const unsigned char *p, *end, *start;
  const char *name;
  mhrfit_pickle_limits lim;
  pk_obj **arena;
  size_t n_arena, cap_arena;
  pk_obj **stack;
  size_t n_stack, cap_stack;
  pk_obj **memo;
  size_t n_memo, cap_memo;
  mhrfit_error *err;
  size_t converted;       /* values produced by convert(): shared references expand, so it is bounded */
  size_t converted_bytes; /* ndarray bytes produced by convert(), bounded by max_array_bytes */
} unpickler;

#define OFFSET(u) ((size_t)((u)->p - (u)->start))

static bool fail(unpickler *u, mhrfit_error_type t, const char *what) {
  return MHRFIT_FAIL(u->err, t, "%s: pickle: %s at byte %zu", u->name, what, OFFSET(u));
}

static pk_obj *new_obj(unpickler *u, pk_kind kind) {
  if (u->n_arena >= u->lim.max_items) {
    fail(u, MHRFIT_ERR_LIMIT, "too many objects");
    return NULL;
  }
  void *a = u->arena;
  if (!mf_grow(&a, &u->cap_arena, u->n_arena + 1, sizeof(pk_obj *), u->err)) return NULL;
  u->arena = a;
  pk_obj *o = calloc(1, sizeof *o);
  if (!o) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_NOMEM, "out of memory");
    return NULL;
  }
  o->kind = kind;
  u->arena[u->n_arena++] = o;
  return o;
}

static void free_arena(unpickler *u) {
  for (size_t k = 0; k < u->n_arena; k++) {
    free(u->arena[k]->s.data);
    free(u->arena[k]->seq.items);
    free(u->arena[k]);
  }
  free(u->arena);
  free(u->stack);
  free(u->memo);
}

static bool push(unpickler *u, pk_obj *o) {
  if (!o) return false;
  if (u->n_stack >= u->lim.max_items) return fail(u, MHRFIT_ERR_LIMIT, "stack too deep");
  void *s = u->stack;
  if (!mf_grow(&s, &u->cap_stack, u->n_stack + 1, sizeof(pk_obj *), u->err)) return false;
  u->stack = s;
  u->stack[u->n_stack++] = o;
  return true;
}

static pk_obj *pop(unpickler *u) {
  if (u->n_stack == 0 || u->stack[u->n_stack - 1]->kind == PK_MARK) {
    fail(u, MHRFIT_ERR_FORMAT, "stack underflow");
    return NULL;
  }
  return u->stack[--u->n_stack];
}

static pk_obj *top(unpickler *u) {
  if (u->n_stack == 0 || u->stack[u->n_stack - 1]->kind == PK_MARK) {
    fail(u, MHRFIT_ERR_FORMAT, "stack underflow");
    return NULL;
  }
  return u->stack[u->n_stack - 1];
}

/* Index of the topmost MARK, or false. */
static bool find_mark(unpickler *u, size_t *at) {
  for (size_t k = u->n_stack; k-- > 0;)
    if (u->stack[k]->kind == PK_MARK) {
      *at = k;
      return true;
    }
  return fail(u, MHRFIT_ERR_FORMAT, "no MARK on the stack");
}

static bool seq_add(unpickler *u, pk_obj *seq, pk_obj *item) {
  void *it = seq->seq.items;
  if (!mf_grow(&it, &seq->seq.cap, seq->seq.count + 1, sizeof(pk_obj *), u->err)) return false;
  seq->seq.items = it;
  seq->seq.items[seq->seq.count++] = item;
  return true;
}

static bool need(unpickler *u, size_t n, const char *what) {
  if ((size_t)(u->end - u->p) < n) {
    char msg[96];
    snprintf(msg, sizeof msg, "truncated %s", what);
    return fail(u, MHRFIT_ERR_FORMAT, msg);
  }
  return true;
}

static uint64_t rd_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; k--) v = (v << 8) | p[k];
  return v;
}

/* Reads a length-prefixed blob of `nlen` length bytes; checks the length against the input. */
static bool read_blob(unpickler *u, int nlen, const char *what, const unsigned char **data, size_t *len) {
  if (!need(u, (size_t)nlen, what)) return false;
  uint64_t n = rd_le(u->p, nlen);
  u->p += nlen;
  if (n > (uint64_t)(u->end - u->p)) return need(u, SIZE_MAX, what);
  *data = u->p;
  *len = (size_t)n;
  u->p += n;
  return true;
}

static pk_obj *make_str(unpickler *u, pk_kind kind, const unsigned char *d, size_t n) {
  if (kind == PK_STR && !mf_utf8_valid((const char *)d, n)) {
    fail(u, MHRFIT_ERR_FORMAT, "string is not valid UTF-8");
    return NULL;
  }
  pk_obj *o = new_obj(u, kind);
  if (!o) return NULL;
  o->s.data = mf_strndup((const char *)d, n, u->err);
  o->s.len = n;
  return o->s.data ? o : NULL;
}

static bool resolve_global(unpickler *u, const char *mod, size_t mlen, const char *nm, size_t nlen) {
  static const struct { const char *mod, *name; pk_global g; } allowed[] = {
      {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT},
      {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT},
      {"numpy", "ndarray", G_NDARRAY},
      {"numpy", "dtype", G_DTYPE},
      {"numpy.core.multiarray", "scalar", G_SCALAR},
      {"numpy._core.multiarray", "scalar", G_SCALAR},
      {"numpy.core.numeric", "_frombuffer", G_FROMBUFFER},
      {"numpy._core.numeric", "_frombuffer", G_FROMBUFFER},
      {"_codecs", "encode", G_CODECS_ENCODE},
  };
  for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
    if (strlen(allowed[k].mod) == mlen && memcmp(allowed[k].mod, mod, mlen) == 0 &&
        strlen(allowed[k].name) == nlen && memcmp(allowed[k].name, nm, nlen) == 0) {
      pk_obj *o = new_obj(u, PK_GLOBAL);
      if (!o) return false;
      o->g = allowed[k].g;
      return push(u, o);
    }
  }
  int ml = mlen > 200 ? 200 : (int)mlen, nl = nlen > 200 ? 200 : (int)nlen;
  return MHRFIT_FAIL(u->err, MHRFIT_ERR_UNSUPPORTED,
                     "%s: pickle global '%.*s.%.*s' is not allowed (only NumPy arrays, dtypes and scalars are "
                     "read; nothing is imported or executed) at byte %zu",
                     u->name, ml, mod, nl, nm, OFFSET(u));
}

/* ---- REDUCE and BUILD for the allowed callables --------------------------------------------- */

static bool is_tuple_len(const pk_obj *o, size_t n) { return o->kind == PK_TUPLE && o->seq.count == n; }

static bool parse_shape(unpickler *u, const pk_obj *t, pk_obj *nd) {
  if (t->kind != PK_TUPLE) return fail(u, MHRFIT_ERR_FORMAT, "ndarray shape is not a tuple");
  if (t->seq.count > MHRFIT_MAX_NDIM) return fail(u, MHRFIT_ERR_LIMIT, "ndarray rank too high");
  nd->nd.ndim = (int)t->seq.count;
  for (size_t k = 0; k < t->seq.count; k++) {
    const pk_obj *e = t->seq.items[k];
    if (e->kind != PK_INT || e->i < 0) return fail(u, MHRFIT_ERR_FORMAT, "ndarray shape holds a non-integer");
    nd->nd.shape[k] = (size_t)e->i;
  }
  return true;
}

static bool dtype_from_string(unpickler *u, pk_obj *dt, const pk_obj *s) {
  if (s->kind != PK_STR || s->s.len > 30) return fail(u, MHRFIT_ERR_FORMAT, "dtype argument is not a type string");
  if (!mf_npy_parse_descr(s->s.data, &dt->dt.t)) {
    char msg[96];
    snprintf(msg, sizeof msg, "unsupported dtype '%s'", s->s.data);
    return fail(u, MHRFIT_ERR_UNSUPPORTED, msg);
  }
  return true;
}

static bool do_reduce(unpickler *u) {
  pk_obj *args = pop(u);
  pk_obj *fn = args ? pop(u) : NULL;
  if (!fn) return false;
  if (fn->kind != PK_GLOBAL || args->kind != PK_TUPLE)
    return fail(u, MHRFIT_ERR_UNSUPPORTED, "REDUCE of something other than an allowed NumPy callable");
  pk_obj **a = args->seq.items;
  switch (fn->g) {
    case G_RECONSTRUCT: {
      if (!is_tuple_len(args, 3) || a[0]->kind != PK_GLOBAL || a[0]->g != G_NDARRAY)
        return fail(u, MHRFIT_ERR_UNSUPPORTED, "_reconstruct of something other than numpy.ndarray");
      return push(u, new_obj(u, PK_NDARRAY));
    }
    case G_DTYPE: {
      if (args->seq.count < 1) return fail(u, MHRFIT_ERR_FORMAT, "numpy.dtype without arguments");
      pk_obj *dt = new_obj(u, PK_DTYPE);
      if (!dt || !dtype_from_string(u, dt, a[0])) return false;
      return push(u, dt);
    }
    case G_SCALAR: {
      if (args->seq.count != 2 || a[0]->kind != PK_DTYPE || a[1]->kind != PK_BYTES)
        return fail(u, MHRFIT_ERR_FORMAT, "numpy scalar needs (dtype, bytes)");
      const mf_npy_dtype *t = &a[0]->dt.t;
      if (t->object || a[1]->s.len != t->itemsize) return fail(u, MHRFIT_ERR_FORMAT, "numpy scalar size mismatch");
      pk_obj *o = new_obj(u, PK_NDARRAY); /* a 0-d array, turned into a plain number on output */
      if (!o) return false;
      o->nd.dtype = a[0];
      o->nd.ndim = 0;
      o->nd.raw = a[1];
      o->nd.built = true;
      o->b = true; /* marks "scalar" */
      return push(u, o);
    }
    case G_CODECS_ENCODE: {
      if (args->seq.count != 2 || a[0]->kind != PK_STR || a[1]->kind != PK_STR ||
          (strcmp(a[1]->s.data, "latin1") != 0 && strcmp(a[1]->s.data, "latin-1") != 0))
        return fail(u, MHRFIT_ERR_UNSUPPORTED, "_codecs.encode other than (str, 'latin1')");
      pk_obj *o = new_obj(u, PK_BYTES);
      if (!o) return false;
      o->s.data = mf_malloc_array(a[0]->s.len + 1, 1, u->err);
      if (!o->s.data) return false;
      size_t n = 0, len = a[0]->s.len;
      const unsigned char *s = (const unsigned char *)a[0]->s.data;
      while (len) {
        uint32_t cp;
        size_t k = mf_utf8_decode(s, len, &cp);
        if (!k || cp > 255) return fail(u, MHRFIT_ERR_FORMAT, "latin1 text holds a character above U+00FF");
        o->s.data[n++] = (char)cp;
        s += k;
        len -= k;
      }
      o->s.data[n] = '\0';
      o->s.len = n;
      return push(u, o);
    }
    case G_FROMBUFFER: {
      /* (buffer, dtype, shape, order) as protocol 5 writes in-band */
      if (!is_tuple_len(args, 4) || a[0]->kind != PK_BYTES || a[1]->kind != PK_DTYPE || a[3]->kind != PK_STR)
        return fail(u, MHRFIT_ERR_FORMAT, "_frombuffer needs (bytes, dtype, shape, order)");
      pk_obj *o = new_obj(u, PK_NDARRAY);
      if (!o || !parse_shape(u, a[2], o)) return false;
      o->nd.dtype = a[1];
      o->nd.raw = a[0];
      o->nd.fortran = a[3]->s.data[0] == 'F';
      o->nd.built = true;
      return push(u, o);
    }
    default: return fail(u, MHRFIT_ERR_UNSUPPORTED, "REDUCE of numpy.ndarray itself");
  }
}

static bool do_build(unpickler *u) {
  pk_obj *state = pop(u);
  pk_obj *obj = state ? top(u) : NULL;
  if (!obj) return false;
  if (obj->kind == PK_DTYPE) {
    /* (version, byteorder, subarray, names, fields, elsize, alignment, flags) */
    if (state->kind != PK_TUPLE || state->seq.count < 8) return fail(u, MHRFIT_ERR_FORMAT, "bad numpy.dtype state");
    pk_obj *bo = state->seq.items[1];
    if (bo->kind != PK_STR || bo->s.len != 1) return fail(u, MHRFIT_ERR_FORMAT, "bad dtype byte order");
    if (state->seq.items[3]->kind != PK_NONE || state->seq.items[2]->kind != PK_NONE)
      return fail(u, MHRFIT_ERR_UNSUPPORTED, "structured or sub-array dtypes are not supported");
    obj->dt.t.big_endian = bo->s.data[0] == '>';
    pk_obj *el = state->seq.items[5];
    if (el->kind == PK_INT && el->i > 0 && (obj->dt.t.dtype == MHRFIT_DT_UNICODE || obj->dt.t.dtype == MHRFIT_DT_BYTES)) {
      if (el->i > (1 << 30)) return fail(u, MHRFIT_ERR_LIMIT, "string dtype too wide");
      obj->dt.t.itemsize = (size_t)el->i;
    }
    obj->dt.built = true;
    return true;
  }
  if (obj->kind == PK_NDARRAY && !obj->nd.built) {
    /* (version, shape, dtype, is_fortran, rawdata) */
    if (state->kind != PK_TUPLE || state->seq.count != 5) return fail(u, MHRFIT_ERR_FORMAT, "bad ndarray state");
    pk_obj **s = state->seq.items;
    if (!parse_shape(u, s[1], obj)) return false;
    if (s[2]->kind != PK_DTYPE) return fail(u, MHRFIT_ERR_FORMAT, "ndarray state lacks a dtype");
    if (s[3]->kind != PK_BOOL && s[3]->kind != PK_INT) return fail(u, MHRFIT_ERR_FORMAT, "bad ndarray fortran flag");
    obj->nd.dtype = s[2];
    obj->nd.fortran = s[3]->kind == PK_BOOL ? s[3]->b : s[3]->i != 0;
    if (s[4]->kind != PK_BYTES && s[4]->kind != PK_LIST && s[4]->kind != PK_STR)
      return fail(u, MHRFIT_ERR_FORMAT, "ndarray data is neither bytes nor a list");
    obj->nd.raw = s[4];
    obj->nd.built = true;
    return true;
  }
  return fail(u, MHRFIT_ERR_UNSUPPORTED, "BUILD of an object other than a NumPy array or dtype");
}

/* ---- the opcode loop --------------------------------------------------------------------------- */

static bool memo_put(unpickler *u, uint64_t idx) {
  pk_obj *o = top(u);
  if (!o) return false;
  if (idx >= u->lim.max_items) return fail(u, MHRFIT_ERR_LIMIT, "memo index too large");
  if (idx >= u->n_memo) {
    void *m = u->memo;
    if (!mf_grow(&m, &u->cap_memo, (size_t)idx + 1, sizeof(pk_obj *), u->err)) return false;
    u->memo = m;
    for (size_t k = u->n_memo; k <= idx; k++) u->memo[k] = NULL;
    u->n_memo = (size_t)idx + 1;
  }
  u->memo[idx] = o;
  return true;
}

static bool memo_get(unpickler *u, uint64_t idx) {
  if (idx >= u->n_memo || !u->memo[idx]) return fail(u, MHRFIT_ERR_FORMAT, "memo key not found");
  return push(u, u->memo[idx]);
}

/* Pops the items above the topmost MARK (and the MARK) into a new TUPLE or LIST object. */
static pk_obj *collect_mark(unpickler *u, pk_kind kind) {
  size_t at = 0;
  if (!find_mark(u, &at)) return NULL;
  pk_obj *o = new_obj(u, kind);
  if (!o) return NULL;
  for (size_t k = at + 1; k < u->n_stack; k++)
    if (!seq_add(u, o, u->stack[k])) return NULL;
  u->n_stack = at;
  return o;
}

static pk_obj *run(unpickler *u) {
  pk_obj *mark = new_obj(u, PK_MARK);
  if (!mark) return NULL;
  while (u->p < u->end) {
    unsigned char op = *u->p++;
    const unsigned char *d;
    size_t n;
    switch (op) {
      case 0x80: /* PROTO */
        if (!need(u, 1, "PROTO")) return NULL;
        if (*u->p < 2 || *u->p > 5) {
          fail(u, MHRFIT_ERR_UNSUPPORTED, "pickle protocol outside 2..5");
          return NULL;
        }
        u->p++;
        break;
      case 0x95: /* FRAME */
        if (!need(u, 8, "FRAME")) return NULL;
        u->p += 8;
        break;
      case '.': { /* STOP */
        pk_obj *r = pop(u);
        if (!r) return NULL;
        if (u->n_stack != 0) {
          fail(u, MHRFIT_ERR_FORMAT, "values left on the stack at STOP");
          return NULL;
        }
        return r;
      }
      case 'N': if (!push(u, new_obj(u, PK_NONE))) return NULL; break;
      case 0x88:
      case 0x89: {
        pk_obj *o = new_obj(u, PK_BOOL);
        if (!o) return NULL;
        o->b = op == 0x88;
        if (!push(u, o)) return NULL;
        break;
      }
      case 'J':
      case 'K':
      case 'M': {
        int w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
        if (!need(u, (size_t)w, "integer")) return NULL;
        pk_obj *o = new_obj(u, PK_INT);
        if (!o) return NULL;
        uint64_t v = rd_le(u->p, w);
        o->i = op == 'J' ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
        u->p += w;
        if (!push(u, o)) return NULL;
        break;
      }
      case 0x8a:
      case 0x8b: { /* LONG1, LONG4: little-endian two's complement */
        if (!read_blob(u, op == 0x8a ? 1 : 4, "LONG", &d, &n)) return NULL;
        if (n > 8) {
          fail(u, MHRFIT_ERR_UNSUPPORTED, "integer wider than 64 bits");
          return NULL;
        }
        uint64_t v = n ? rd_le(d, (int)n) : 0;
        if (n && n < 8 && (d[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n);
        pk_obj *o = new_obj(u, PK_INT);
        if (!o) return NULL;
        memcpy(&o->i, &v, sizeof v); /* two's complement bits of a value that fits in 64 bits */
        if (!push(u, o)) return NULL;
        break;
      }
      case 'G': {
        if (!need(u, 8, "BINFLOAT")) return NULL;
        uint64_t bits = 0;
        for (int k = 0; k < 8; k++) bits = (bits << 8) | u->p[k];
        u->p += 8;
        pk_obj *o = new_obj(u, PK_FLOAT);
        if (!o) return NULL;
        memcpy(&o->f, &bits, 8);
        if (!push(u, o)) return NULL;
        break;
      }
      case 'X': case 0x8c: case 0x8d: /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
        if (!read_blob(u, op == 'X' ? 4 : op == 0x8c ? 1 : 8, "string", &d, &n)) return NULL;
        if (!push(u, make_str(u, PK_STR, d, n))) return NULL;
        break;
      case 'C': case 'B': case 0x8e: case 0x96: /* SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8 */
        if (!read_blob(u, op == 'C' ? 1 : op == 'B' ? 4 : 8, "bytes", &d, &n)) return NULL;
        if (!push(u, make_str(u, PK_BYTES, d, n))) return NULL;
        break;
      case 'U': case 'T': /* SHORT_BINSTRING, BINSTRING (Python 2 str) */
        if (!read_blob(u, op == 'U' ? 1 : 4, "string", &d, &n)) return NULL;
        if (!push(u, make_str(u, mf_utf8_valid((const char *)d, n) ? PK_STR : PK_BYTES, d, n))) return NULL;
        break;
      case ')': if (!push(u, new_obj(u, PK_TUPLE))) return NULL; break;
      case ']': if (!push(u, new_obj(u, PK_LIST))) return NULL; break;
      case '}': if (!push(u, new_obj(u, PK_DICT))) return NULL; break;
      case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
        size_t k = (size_t)(op - 0x84);
        if (u->n_stack < k) {
          fail(u, MHRFIT_ERR_FORMAT, "stack underflow");
          return NULL;
        }
        for (size_t j = u->n_stack - k; j < u->n_stack; j++)
          if (u->stack[j]->kind == PK_MARK) {
            fail(u, MHRFIT_ERR_FORMAT, "MARK inside a short tuple");
            return NULL;
          }
        pk_obj *t = new_obj(u, PK_TUPLE);
        if (!t) return NULL;
        for (size_t j = u->n_stack - k; j < u->n_stack; j++)
          if (!seq_add(u, t, u->stack[j])) return NULL;
        u->n_stack -= k;
        if (!push(u, t)) return NULL;
        break;
      }
      case '(': if (!push(u, mark)) return NULL; break;
      case 't': if (!push(u, collect_mark(u, PK_TUPLE))) return NULL; break;
      case 'l': if (!push(u, collect_mark(u, PK_LIST))) return NULL; break;
      case 'd': {
        pk_obj *t = collect_mark(u, PK_DICT);
        if (!t) return NULL;
        if (t->seq.count % 2) {
          fail(u, MHRFIT_ERR_FORMAT, "odd number of items for DICT");
          return NULL;
        }
        if (!push(u, t)) return NULL;
        break;
      }
      case 'a': {
        pk_obj *item = pop(u), *list = item ? top(u) : NULL;
        if (!list) return NULL;
        if (list->kind != PK_LIST) {
          fail(u, MHRFIT_ERR_FORMAT, "APPEND to a non-list");
          return NULL;
        }
        if (!seq_add(u, list, item)) return NULL;
        break;
      }
      case 'e': {
        size_t at = 0;
        if (!find_mark(u, &at)) return NULL;
        if (at == 0 || u->stack[at - 1]->kind != PK_LIST) {
          fail(u, MHRFIT_ERR_FORMAT, "APPENDS to a non-list");
          return NULL;
        }
        pk_obj *list = u->stack[at - 1];
        for (size_t k = at + 1; k < u->n_stack; k++)
          if (!seq_add(u, list, u->stack[k])) return NULL;
        u->n_stack = at;
        break;
      }
      case 's': {
        pk_obj *v = pop(u), *k = v ? pop(u) : NULL, *dict = k ? top(u) : NULL;
        if (!dict) return NULL;
        if (dict->kind != PK_DICT) {
          fail(u, MHRFIT_ERR_FORMAT, "SETITEM on a non-dict");
          return NULL;
        }
        if (!seq_add(u, dict, k) || !seq_add(u, dict, v)) return NULL;
        break;
      }
      case 'u': {
        size_t at = 0;
        if (!find_mark(u, &at)) return NULL;
        if (at == 0 || u->stack[at - 1]->kind != PK_DICT || (u->n_stack - at - 1) % 2) {
          fail(u, MHRFIT_ERR_FORMAT, "SETITEMS on a non-dict or with an odd item count");
          return NULL;
        }
        pk_obj *dict = u->stack[at - 1];
        for (size_t k = at + 1; k < u->n_stack; k++)
          if (!seq_add(u, dict, u->stack[k])) return NULL;
        u->n_stack = at;
        break;
      }
      case '0': if (!pop(u)) return NULL; break;
      case '1': {
        size_t at = 0;
        if (!find_mark(u, &at)) return NULL;
        u->n_stack = at;
        break;
      }
      case '2': {
        pk_obj *o = top(u);
        if (!o || !push(u, o)) return NULL;
        break;
      }
      case 'q': if (!need(u, 1, "BINPUT") || !memo_put(u, *u->p++)) return NULL; break;
      case 'r':
        if (!need(u, 4, "LONG_BINPUT")) return NULL;
        u->p += 4;
        if (!memo_put(u, rd_le(u->p - 4, 4))) return NULL;
        break;
      case 0x94: if (!memo_put(u, u->n_memo)) return NULL; break;
      case 'h': if (!need(u, 1, "BINGET") || !memo_get(u, *u->p++)) return NULL; break;
      case 'j':
        if (!need(u, 4, "LONG_BINGET")) return NULL;
        u->p += 4;
        if (!memo_get(u, rd_le(u->p - 4, 4))) return NULL;
        break;
      case 'c': { /* GLOBAL "module\nname\n" */
        const unsigned char *m = u->p, *nl1 = memchr(m, '\n', (size_t)(u->end - m));
        const unsigned char *nm = nl1 ? nl1 + 1 : NULL;
        const unsigned char *nl2 = nm ? memchr(nm, '\n', (size_t)(u->end - nm)) : NULL;
        if (!nl2) {
          fail(u, MHRFIT_ERR_FORMAT, "truncated GLOBAL");
          return NULL;
        }
        u->p = nl2 + 1;
        if (!resolve_global(u, (const char *)m, (size_t)(nl1 - m), (const char *)nm, (size_t)(nl2 - nm))) return NULL;
        break;
      }
      case 0x93: { /* STACK_GLOBAL */
        pk_obj *nm = pop(u), *m = nm ? pop(u) : NULL;
        if (!m) return NULL;
        if (m->kind != PK_STR || nm->kind != PK_STR) {
          fail(u, MHRFIT_ERR_FORMAT, "STACK_GLOBAL needs two strings");
          return NULL;
        }
        if (!resolve_global(u, m->s.data, m->s.len, nm->s.data, nm->s.len)) return NULL;
        break;
      }
      case 'R': if (!do_reduce(u)) return NULL; break;
      case 'b': if (!do_build(u)) return NULL; break;
      case 0x97: case 0x98:
        fail(u, MHRFIT_ERR_UNSUPPORTED, "out-of-band pickle buffers are not supported");
        return NULL;
      default: {
        char msg[64];
        snprintf(msg, sizeof msg, "unsupported opcode 0x%02x", op);
        u->p--;
        fail(u, MHRFIT_ERR_UNSUPPORTED, msg);
        return NULL;
      }
    }
  }
  fail(u, MHRFIT_ERR_FORMAT, "stream ends without STOP");
  return NULL;
}

/* ---- conversion to mhrfit_value ------------------------------------------------------------------ */

static mhrfit_value *convert(unpickler *u, const pk_obj *o, int depth);


static mhrfit_value *convert_ndarray(unpickler *u, const pk_obj *o, int depth) {
  if (!o->nd.built || !o->nd.dtype || o->nd.dtype->kind != PK_DTYPE) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_FORMAT, "%s: pickle: ndarray was never given its state", u->name);
    return NULL;
  }
  const mf_npy_dtype *t = &o->nd.dtype->dt.t;
  size_t count = 1;
  for (int k = 0; k < o->nd.ndim; k++)
    if (!mf_mul_size(count, o->nd.shape[k], &count)) {
      MHRFIT_FAIL(u->err, MHRFIT_ERR_LIMIT, "%s: pickle: ndarray shape overflows", u->name);
      return NULL;
    }
  if (t->object) {
    const pk_obj *raw = o->nd.raw;
    if (raw->kind != PK_LIST || raw->seq.count != count) {
      MHRFIT_FAIL(u->err, MHRFIT_ERR_FORMAT, "%s: pickle: object array of %zu elements holds %zu items", u->name,
                  count, raw->kind == PK_LIST ? raw->seq.count : 0);
      return NULL;
    }
    if (o->nd.ndim == 0) return convert(u, raw->seq.items[0], depth + 1);
    pk_obj tmp = *raw;
    tmp.kind = PK_LIST;
    return convert(u, &tmp, depth);
  }
  size_t bytes;
  if (!mf_mul_size(count, t->itemsize, &bytes) || bytes > u->lim.max_array_bytes ||
      bytes > u->lim.max_array_bytes - u->converted_bytes) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_LIMIT, "%s: pickle: ndarray exceeds the size limit", u->name);
    return NULL;
  }
  const pk_obj *raw = o->nd.raw;
  u->converted_bytes += bytes;
  if ((raw->kind != PK_BYTES && raw->kind != PK_STR) || raw->s.len != bytes) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_FORMAT, "%s: pickle: ndarray data holds %zu bytes, shape x itemsize = %zu",
                u->name, raw->s.len, bytes);
    return NULL;
  }
  if (o->b) { /* numpy scalar → plain number */
    mhrfit_array tmp = {.dtype = t->dtype, .itemsize = t->itemsize, .ndim = 0, .count = 1};
    unsigned char buf[16];
    if (t->itemsize > sizeof buf || !mhrfit_dtype_is_numeric(t->dtype)) {
      if (t->dtype == MHRFIT_DT_BYTES) return mhrfit_value_new_string(MHRFIT_V_BYTES, raw->s.data, raw->s.len, u->err);
      MHRFIT_FAIL(u->err, MHRFIT_ERR_UNSUPPORTED, "%s: pickle: unsupported NumPy scalar type", u->name);
      return NULL;
    }
    tmp.data = buf;
    mf_npy_fill(&tmp, (const unsigned char *)raw->s.data, false, t->big_endian);
    if (t->dtype == MHRFIT_DT_BOOL) return mhrfit_value_new_bool(buf[0] != 0, u->err);
    if (t->dtype == MHRFIT_DT_F16 || t->dtype == MHRFIT_DT_F32 || t->dtype == MHRFIT_DT_F64)
      return mhrfit_value_new_float(mhrfit_array_get_f64(&tmp, 0), u->err);
    if (t->dtype == MHRFIT_DT_U64) {
      uint64_t v;
      memcpy(&v, buf, 8);
      if (v > INT64_MAX) return mhrfit_value_new_float((double)v, u->err);
      return mhrfit_value_new_int((int64_t)v, u->err);
    }
    if (t->dtype == MHRFIT_DT_I64) {
      int64_t v;
      memcpy(&v, buf, 8);
      return mhrfit_value_new_int(v, u->err);
    }
    return mhrfit_value_new_int((int64_t)mhrfit_array_get_f64(&tmp, 0), u->err);
  }
  mhrfit_array *a = mhrfit_array_new(t->dtype, t->itemsize, o->nd.ndim, o->nd.shape, u->lim.max_array_bytes, u->err);
  if (!a) return NULL;
  mf_npy_fill(a, (const unsigned char *)raw->s.data, o->nd.fortran, t->big_endian);
  if (a->dtype == MHRFIT_DT_UNICODE) {
    for (size_t i = 0; i < a->count * (a->itemsize / 4); i++) {
      uint32_t cp;
      char tmp[4];
      memcpy(&cp, (unsigned char *)a->data + 4 * i, 4);
      if (cp && !mf_utf8_encode(cp, tmp)) {
        mhrfit_array_free(a);
        MHRFIT_FAIL(u->err, MHRFIT_ERR_FORMAT, "%s: pickle: string array holds invalid code point", u->name);
        return NULL;
      }
    }
  }
  return mhrfit_value_new_array(a, u->err);
}

/* Python repr-like text of a dict key. */
static bool key_text(unpickler *u, const pk_obj *k, char *buf, size_t size) {
  switch (k->kind) {
    case PK_STR: snprintf(buf, size, "%s", k->s.data); return true;
    case PK_INT: snprintf(buf, size, "%lld", (long long)k->i); return true;
    case PK_BOOL: snprintf(buf, size, "%s", k->b ? "True" : "False"); return true;
    case PK_NONE: snprintf(buf, size, "None"); return true;
    case PK_FLOAT: mhrfit_format_double(k->f, buf, size); return true;
    default:
      return MHRFIT_FAIL(u->err, MHRFIT_ERR_UNSUPPORTED, "%s: pickle: dict key of unsupported type", u->name);
  }
}

static mhrfit_value *convert(unpickler *u, const pk_obj *o, int depth) {
  /* Memoised objects may be referenced many times (DUP/GET): the tree they expand to can grow
   * exponentially with the input ("billion laughs"), so the number of values is capped. */
  if (++u->converted > u->lim.max_items) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_LIMIT, "%s: pickle: more than %zu values after expanding shared references",
                u->name, u->lim.max_items);
    return NULL;
  }
  if (depth > u->lim.max_depth) {
    MHRFIT_FAIL(u->err, MHRFIT_ERR_LIMIT, "%s: pickle: nesting deeper than %d (or a self-reference)", u->name,
                u->lim.max_depth);
    return NULL;
  }
  switch (o->kind) {
    case PK_NONE: return mhrfit_value_new_null(u->err);
    case PK_BOOL: return mhrfit_value_new_bool(o->b, u->err);
    case PK_INT: return mhrfit_value_new_int(o->i, u->err);
    case PK_FLOAT: return mhrfit_value_new_float(o->f, u->err);
    case PK_STR: return mhrfit_value_new_string(MHRFIT_V_STRING, o->s.data, o->s.len, u->err);
    case PK_BYTES: return mhrfit_value_new_string(MHRFIT_V_BYTES, o->s.data, o->s.len, u->err);
    case PK_TUPLE:
    case PK_LIST: {
      mhrfit_value *l = mhrfit_value_new_list(u->err);
      for (size_t k = 0; l && k < o->seq.count; k++) {
        mhrfit_value *item = convert(u, o->seq.items[k], depth + 1);
        if (!item || !mhrfit_value_list_append(l, item, u->err)) {
          mhrfit_value_free(l);
          return NULL;
        }
      }
      return l;
    }
    case PK_DICT: {
      mhrfit_value *d = mhrfit_value_new_dict(u->err);
      for (size_t k = 0; d && k + 1 < o->seq.count; k += 2) {
        char key[256];
        if (!key_text(u, o->seq.items[k], key, sizeof key)) {
          mhrfit_value_free(d);
          return NULL;
        }
        mhrfit_value *v = convert(u, o->seq.items[k + 1], depth + 1);
        if (!v || !mhrfit_value_dict_set(d, key, v, u->err)) {
          mhrfit_value_free(d);
          return NULL;
        }
      }
      return d;
    }
    case PK_NDARRAY: return convert_ndarray(u, o, depth);
    default:
      MHRFIT_FAIL(u->err, MHRFIT_ERR_UNSUPPORTED, "%s: pickle: result holds a %s, not data", u->name,
                  o->kind == PK_GLOBAL ? "callable" : o->kind == PK_DTYPE ? "bare dtype" : "mark");
      return NULL;
  }
}

mhrfit_value *mhrfit_pickle_parse(const void *data, size_t len, const char *name,
                                  const mhrfit_pickle_limits *limits, mhrfit_error *err) {
  unpickler u = {0};
  u.p = u.start = data;
  u.end = u.p + len;
  u.name = name ? name : "pickle";
  u.err = err;
  u.lim.max_depth = limits && limits->max_depth ? limits->max_depth : 64;
  u.lim.max_array_bytes = limits && limits->max_array_bytes ? limits->max_array_bytes : (size_t)4 << 30;
  u.lim.max_items = limits && limits->max_items ? limits->max_items : (size_t)1 << 20;
  mhrfit_value *v = NULL;
  pk_obj *r = run(&u);
  if (r) v = convert(&u, r, 0);
  free_arena(&u);
  return v;
}

mhrfit_value *mhrfit_pickle_load(const char *path, const mhrfit_pickle_limits *limits, mhrfit_error *err) {
  unsigned char *data;
  size_t len;
  size_t max = limits && limits->max_array_bytes ? limits->max_array_bytes * 2 + 4096 : (size_t)8 << 30;
  if (!mf_read_file(path, max, &data, &len, err)) return NULL;
  mhrfit_value *v = mhrfit_pickle_parse(data, len, path, limits, err);
  free(data);
  return v;
}
