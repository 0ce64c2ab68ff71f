/* TOML subset reader: see include/mhrfit/toml.h. */
#include "mhrfit/toml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/utf8.h"

typedef struct tp {
  const char *s, *end;
  int line;
  const char *name;
  mhrfit_error *err;
  /* Tables defined by a [header] or an inline table / key-value, which may not be reopened. */
  const mhrfit_value **closed;
  size_t n_closed, cap_closed;
} tp;

static bool perr(tp *p, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return MHRFIT_FAIL(p->err, MHRFIT_ERR_FORMAT, "%s:%d: %s", p->name, p->line, msg);
}

static bool at_end(const tp *p) { return p->s >= p->end; }
static char peek(const tp *p) { return p->s < p->end ? *p->s : '\0'; }
static char peek2(const tp *p) { return p->s + 1 < p->end ? p->s[1] : '\0'; }

static void skip_ws(tp *p) {
  while (!at_end(p) && (*p->s == ' ' || *p->s == '\t')) p->s++;
}

/* Skips a comment up to (not including) the newline. */
static bool skip_comment(tp *p) {
  if (peek(p) != '#') return true;
  while (!at_end(p) && *p->s != '\n') {
    unsigned char c = (unsigned char)*p->s;
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return perr(p, "control character in a comment");
    p->s++;
  }
  return true;
}

/* Skips whitespace, comments and newlines (inside arrays). */
static bool skip_ws_nl(tp *p) {
  for (;;) {
    skip_ws(p);
    if (!skip_comment(p)) return false;
    if (peek(p) == '\r' && peek2(p) == '\n') p->s++;
    if (peek(p) == '\n') {
      p->s++;
      p->line++;
      continue;
    }
    return true;
  }
}

/* Expects the end of a line (after optional whitespace and comment). */
static bool expect_eol(tp *p) {
  skip_ws(p);
  if (!skip_comment(p)) return false;
  if (at_end(p)) return true;
  if (peek(p) == '\r' && peek2(p) == '\n') p->s++;
  if (peek(p) != '\n') return perr(p, "expected the end of the line, found '%c'", peek(p));
  p->s++;
  p->line++;
  return true;
}

/* ---- strings ------------------------------------------------------------------------------- */

typedef struct sbuf {
  char *d;
  size_t n, cap;
} sbuf;

static bool sb_put(tp *p, sbuf *b, const char *s, size_t n) {
  void *d = b->d;
  if (!mf_grow(&d, &b->cap, b->n + n + 1, 1, p->err)) return false;
  b->d = d;
  memcpy(b->d + b->n, s, n);
  b->n += n;
  b->d[b->n] = '\0';
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses a string starting at a quote; the result is malloc'd into *out (len *len). */
static bool parse_string(tp *p, char **out, size_t *len) {
  char q = peek(p);
  bool multi = p->s + 2 < p->end && p->s[1] == q && p->s[2] == q;
  bool literal = q == '\'';
  p->s += multi ? 3 : 1;
  if (multi) { /* a newline right after the opening delimiter is trimmed */
    if (peek(p) == '\r' && peek2(p) == '\n') p->s++;
    if (peek(p) == '\n') {
      p->s++;
      p->line++;
    }
  }
  sbuf b = {0};
  if (!sb_put(p, &b, "", 0)) return false;
  for (;;) {
    if (at_end(p)) {
      free(b.d);
      return perr(p, "unterminated string");
    }
    char c = *p->s;
    if (c == q) {
      if (!multi) {
        p->s++;
        break;
      }
      if (p->s + 2 < p->end && p->s[1] == q && p->s[2] == q) {
        /* up to two extra quotes may close a multi-line string: """a"""" */
        size_t extra = 0;
        while (p->s + 3 + extra < p->end && p->s[3 + extra] == q && extra < 2) extra++;
        if (!sb_put(p, &b, p->s, extra)) return false;
        p->s += 3 + extra;
        break;
      }
      if (!sb_put(p, &b, p->s, 1)) return false;
      p->s++;
      continue;
    }
    if (c == '\n') {
      if (!multi) {
        free(b.d);
        return perr(p, "newline inside a single-line string");
      }
      p->line++;
    }
    if (!literal && c == '\\') {
      char e = peek2(p);
      p->s += 2;
      const char *simple = NULL;
      switch (e) {
        case 'b': simple = "\b"; break;
        case 't': simple = "\t"; break;
        case 'n': simple = "\n"; break;
        case 'f': simple = "\f"; break;
        case 'r': simple = "\r"; break;
        case '"': simple = "\""; break;
        case '\\': simple = "\\"; break;
        case 'e': simple = "\x1b"; break;
        case 'u':
        case 'U': {
          int nd = e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < nd; k++) {
            int h = p->s + k < p->end ? hexval(p->s[k]) : -1;
            if (h < 0) {
              free(b.d);
              return perr(p, "bad \\%c escape", e);
            }
            cp = cp * 16 + (uint32_t)h;
          }
          p->s += nd;
          char enc[4];
          size_t n = mf_utf8_encode(cp, enc);
          if (!n) {
            free(b.d);
            return perr(p, "escape \\%c names an invalid code point", e);
          }
          if (!sb_put(p, &b, enc, n)) return false;
          continue;
        }
        default:
          if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
            /* line-ending backslash: trim whitespace and newlines */
            p->s--;
            const char *save = p->s;
            while (!at_end(p) && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r')) p->s++;
            if (peek(p) != '\n') {
              p->s = save;
              free(b.d);
              return perr(p, "invalid escape");
            }
            while (!at_end(p) && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n')) {
              if (*p->s == '\n') p->line++;
              p->s++;
            }
            continue;
          }
          free(b.d);
          return perr(p, "invalid escape '\\%c'", e ? e : '0');
      }
      if (!sb_put(p, &b, simple, 1)) return false;
      continue;
    }
    unsigned char uc = (unsigned char)c;
    if ((uc < 0x20 && c != '\t' && c != '\n' && c != '\r') || uc == 0x7f) {
      free(b.d);
      return perr(p, "control character in a string");
    }
    if (!sb_put(p, &b, p->s, 1)) return false;
    p->s++;
  }
  if (!mf_utf8_valid(b.d, b.n)) {
    free(b.d);
    return perr(p, "string is not valid UTF-8");
  }
  *out = b.d;
  *len = b.n;
  return true;
}

/* ---- keys ------------------------------------------------------------------------------------ */

#define MAX_KEY_PARTS 32

typedef struct keypath {
  char *parts[MAX_KEY_PARTS];
  int n;
} keypath;

static void keypath_free(keypath *k) {
  for (int i = 0; i < k->n; i++) free(k->parts[i]);
  k->n = 0;
}

static bool is_bare(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-'; }

static bool parse_key(tp *p, keypath *k) {
  k->n = 0;
  for (;;) {
    skip_ws(p);
    if (k->n >= MAX_KEY_PARTS) {
      keypath_free(k);
      return perr(p, "dotted key has more than %d parts", MAX_KEY_PARTS);
    }
    char c = peek(p);
    if (c == '"' || c == '\'') {
      if (p->s + 2 < p->end && p->s[1] == c && p->s[2] == c) {
        keypath_free(k);
        return perr(p, "multi-line strings cannot be keys");
      }
      size_t len;
      if (!parse_string(p, &k->parts[k->n], &len)) {
        keypath_free(k);
        return false;
      }
      if (strlen(k->parts[k->n]) != len) {
        free(k->parts[k->n]);
        keypath_free(k);
        return perr(p, "key holds a NUL character");
      }
      k->n++;
    } else if (is_bare(c)) {
      const char *s = p->s;
      while (!at_end(p) && is_bare(*p->s)) p->s++;
      k->parts[k->n] = mf_strndup(s, (size_t)(p->s - s), p->err);
      if (!k->parts[k->n]) {
        keypath_free(k);
        return false;
      }
      k->n++;
    } else {
      keypath_free(k);
      return perr(p, at_end(p) || c == '\n' ? "expected a key" : "invalid character '%c' in a key", c);
    }
    skip_ws(p);
    if (peek(p) != '.') return true;
    p->s++;
  }
}

/* ---- values ------------------------------------------------------------------------------------ */

static bool is_closed(tp *p, const mhrfit_value *t) {
  for (size_t i = 0; i < p->n_closed; i++)
    if (p->closed[i] == t) return true;
  return false;
}

static bool close_table(tp *p, const mhrfit_value *t) {
  void *c = p->closed;
  if (!mf_grow(&c, &p->cap_closed, p->n_closed + 1, sizeof *p->closed, p->err)) return false;
  p->closed = c;
  p->closed[p->n_closed++] = t;
  return true;
}

static mhrfit_value *parse_value(tp *p, int depth);

static mhrfit_value *parse_inline_table(tp *p, int depth);

/* Number, bool, date-time or special float. */
static mhrfit_value *parse_scalar(tp *p) {
  const char *s = p->s;
  while (!at_end(p) && !strchr(" \t\r\n,]}#", *p->s)) p->s++;
  /* A date-time may hold one space between date and time: "1979-05-27 07:32:00". */
  size_t n = (size_t)(p->s - s);
  if (n == 10 && s[4] == '-' && s[7] == '-' && p->s + 2 < p->end && p->s[0] == ' ' && isdigit((unsigned char)p->s[1]) &&
      isdigit((unsigned char)p->s[2])) {
    p->s++;
    while (!at_end(p) && !strchr(" \t\r\n,]}#", *p->s)) p->s++;
    n = (size_t)(p->s - s);
  }
  char buf[128];
  if (n == 0 || n >= sizeof buf) {
    perr(p, n == 0 ? "expected a value" : "value too long");
    return NULL;
  }
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (strcmp(buf, "true") == 0) return mhrfit_value_new_bool(true, p->err);
  if (strcmp(buf, "false") == 0) return mhrfit_value_new_bool(false, p->err);
  const char *b = buf;
  bool neg = false;
  if (*b == '+' || *b == '-') {
    neg = *b == '-';
    b++;
  }
  if (strcmp(b, "inf") == 0) return mhrfit_value_new_float(neg ? -INFINITY : INFINITY, p->err);
  if (strcmp(b, "nan") == 0) return mhrfit_value_new_float(neg ? -NAN : NAN, p->err);
  /* Dates and times: digits with '-' at [4] or ':' at [2]. */
  if ((n >= 10 && buf[4] == '-' && isdigit((unsigned char)buf[0])) || (n >= 8 && buf[2] == ':' && isdigit((unsigned char)buf[0]))) {
    for (size_t i = 0; i < n; i++)
      if (!strchr("0123456789-:.TtZz+ ", buf[i])) {
        perr(p, "malformed date-time '%s'", buf);
        return NULL;
      }
    return mhrfit_value_new_string(MHRFIT_V_DATETIME, buf, n, p->err);
  }
  /* Integers with base prefixes. */
  if (b[0] == '0' && (b[1] == 'x' || b[1] == 'o' || b[1] == 'b') && b == buf) {
    int base = b[1] == 'x' ? 16 : b[1] == 'o' ? 8 : 2;
    uint64_t v = 0;
    bool any = false, last_us = true;
    for (const char *c = b + 2; *c; c++) {
      if (*c == '_') {
        if (last_us) goto bad_number;
        last_us = true;
        continue;
      }
      int d = hexval(*c);
      if (d < 0 || d >= base) goto bad_number;
      if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) goto bad_number;
      v = v * (uint64_t)base + (uint64_t)d;
      any = true;
      last_us = false;
    }
    if (!any || last_us || v > (uint64_t)INT64_MAX) goto bad_number;
    return mhrfit_value_new_int((int64_t)v, p->err);
  }
  /* Decimal integer or float: validate the TOML grammar, then convert without underscores. */
  {
    char clean[128];
    size_t k = 0;
    bool is_float = false, prev_digit = false;
    const char *c = buf;
    if (*c == '+' || *c == '-') clean[k++] = *c++;
    if (c[0] == '0' && isdigit((unsigned char)c[1])) goto bad_number; /* leading zeros */
    for (; *c; c++) {
      if (*c == '_') {
        if (!prev_digit || !isdigit((unsigned char)c[1])) goto bad_number;
        prev_digit = false;
        continue;
      }
      if (isdigit((unsigned char)*c)) {
        prev_digit = true;
      } else if (*c == '.') {
        if (!prev_digit || !isdigit((unsigned char)c[1])) goto bad_number;
        is_float = true;
        prev_digit = false;
      } else if (*c == 'e' || *c == 'E') {
        if (!prev_digit) goto bad_number;
        is_float = true;
        prev_digit = false;
        clean[k++] = *c;
        if (c[1] == '+' || c[1] == '-') clean[k++] = *++c;
        if (!isdigit((unsigned char)c[1])) goto bad_number;
        continue;
      } else {
        goto bad_number;
      }
      clean[k++] = *c;
    }
    clean[k] = '\0';
    if (!prev_digit) goto bad_number;
    char *end;
    errno = 0;
    if (is_float) {
      double v = strtod(clean, &end);
      if (*end) goto bad_number;
      return mhrfit_value_new_float(v, p->err);
    }
    long long v = strtoll(clean, &end, 10);
    if (*end || errno == ERANGE) goto bad_number;
    return mhrfit_value_new_int(v, p->err);
  }
bad_number:
  perr(p, "invalid value '%s'", buf);
  return NULL;
}

static mhrfit_value *parse_array(tp *p, int depth) {
  p->s++; /* '[' */
  mhrfit_value *a = mhrfit_value_new_list(p->err);
  if (!a) return NULL;
  a->line = p->line;
  for (;;) {
    if (!skip_ws_nl(p)) goto fail;
    if (peek(p) == ']') {
      p->s++;
      return a;
    }
    mhrfit_value *v = parse_value(p, depth + 1);
    if (!v || !mhrfit_value_list_append(a, v, p->err)) goto fail;
    if (!skip_ws_nl(p)) goto fail;
    if (peek(p) == ',') {
      p->s++;
      continue;
    }
    if (peek(p) == ']') {
      p->s++;
      return a;
    }
    perr(p, at_end(p) ? "unterminated array" : "expected ',' or ']' in an array");
    goto fail;
  }
fail:
  mhrfit_value_free(a);
  return NULL;
}

static mhrfit_value *parse_value(tp *p, int depth) {
  if (depth > MHRFIT_TOML_MAX_DEPTH) {
    MHRFIT_FAIL(p->err, MHRFIT_ERR_LIMIT, "%s:%d: nesting deeper than %d", p->name, p->line, MHRFIT_TOML_MAX_DEPTH);
    return NULL;
  }
  int line = p->line;
  mhrfit_value *v;
  char c = peek(p);
  if (c == '"' || c == '\'') {
    char *s;
    size_t len;
    if (!parse_string(p, &s, &len)) return NULL;
    v = mhrfit_value_new_string(MHRFIT_V_STRING, s, len, p->err);
    free(s);
  } else if (c == '[') {
    v = parse_array(p, depth);
  } else if (c == '{') {
    v = parse_inline_table(p, depth);
  } else {
    v = parse_scalar(p);
  }
  if (v && v->line == 0) v->line = line;
  return v;
}

/* Walks/creates the dotted prefix parts[0..n-2] below `t` for a key/value; returns the table
 * that receives the last part. */
static mhrfit_value *descend(tp *p, mhrfit_value *t, const keypath *k, int n) {
  for (int i = 0; i < n; i++) {
    mhrfit_value *c = mhrfit_value_dict_get_mut(t, k->parts[i]);
    if (!c) {
      c = mhrfit_value_new_dict(p->err);
      if (!c) return NULL;
      c->line = p->line;
      if (!mhrfit_value_dict_set(t, k->parts[i], c, p->err)) return NULL;
    } else if (c->kind != MHRFIT_V_DICT || is_closed(p, c)) {
      perr(p, "key '%s' is already defined", k->parts[i]);
      return NULL;
    }
    t = c;
  }
  return t;
}

/* Parses `key = value` into table t. */
static bool parse_keyval(tp *p, mhrfit_value *t, int depth) {
  keypath k;
  if (!parse_key(p, &k)) return false;
  skip_ws(p);
  if (peek(p) != '=') {
    keypath_free(&k);
    return perr(p, "expected '=' after key");
  }
  p->s++;
  skip_ws(p);
  mhrfit_value *dest = descend(p, t, &k, k.n - 1);
  if (!dest) {
    keypath_free(&k);
    return false;
  }
  if (mhrfit_value_dict_get(dest, k.parts[k.n - 1])) {
    bool r = perr(p, "duplicate key '%s'", k.parts[k.n - 1]);
    keypath_free(&k);
    return r;
  }
  mhrfit_value *v = parse_value(p, depth);
  if (!v) {
    keypath_free(&k);
    return false;
  }
  bool ok = (v->kind != MHRFIT_V_DICT || close_table(p, v)) && mhrfit_value_dict_set(dest, k.parts[k.n - 1], v, p->err);
  keypath_free(&k);
  return ok;
}

static mhrfit_value *parse_inline_table(tp *p, int depth) {
  p->s++; /* '{' */
  mhrfit_value *t = mhrfit_value_new_dict(p->err);
  if (!t) return NULL;
  t->line = p->line;
  skip_ws(p);
  if (peek(p) == '}') {
    p->s++;
    return t;
  }
  for (;;) {
    skip_ws(p);
    if (!parse_keyval(p, t, depth + 1)) goto fail;
    skip_ws(p);
    if (peek(p) == ',') {
      p->s++;
      continue;
    }
    if (peek(p) == '}') {
      p->s++;
      return t;
    }
    perr(p, "expected ',' or '}' in an inline table");
    goto fail;
  }
fail:
  mhrfit_value_free(t);
  return NULL;
}

/* Parses a [table] or [[array]] header; sets *cur to the table that receives the following
 * key/values. */
static bool parse_header(tp *p, mhrfit_value *root, mhrfit_value **cur) {
  bool array = peek2(p) == '[';
  p->s += array ? 2 : 1;
  keypath k;
  if (!parse_key(p, &k)) return false;
  skip_ws(p);
  if (peek(p) != ']' || (array && peek2(p) != ']')) {
    keypath_free(&k);
    return perr(p, array ? "expected ']]' after table name" : "expected ']' after table name");
  }
  p->s += array ? 2 : 1;
  mhrfit_value *t = root;
  for (int i = 0; i < k.n - 1; i++) { /* implicit parents; through an array of tables, its last table */
    mhrfit_value *c = mhrfit_value_dict_get_mut(t, k.parts[i]);
    if (!c) {
      c = mhrfit_value_new_dict(p->err);
      if (!c || !mhrfit_value_dict_set(t, k.parts[i], c, p->err)) goto fail;
      c->line = p->line;
    } else if (c->kind == MHRFIT_V_LIST && c->u.list.count && c->u.list.items[c->u.list.count - 1]->kind == MHRFIT_V_DICT) {
      c = c->u.list.items[c->u.list.count - 1];
    } else if (c->kind != MHRFIT_V_DICT) {
      perr(p, "'%s' is not a table", k.parts[i]);
      goto fail;
    }
    t = c;
  }
  const char *last = k.parts[k.n - 1];
  mhrfit_value *c = mhrfit_value_dict_get_mut(t, last);
  if (array) {
    if (!c) {
      c = mhrfit_value_new_list(p->err);
      if (!c || !mhrfit_value_dict_set(t, last, c, p->err)) goto fail;
      c->line = p->line;
      if (!close_table(p, c)) goto fail; /* marks it as an array of tables */
    } else if (c->kind != MHRFIT_V_LIST || !is_closed(p, c)) {
      perr(p, "'%s' is already defined and is not an array of tables", last);
      goto fail;
    }
    mhrfit_value *nt = mhrfit_value_new_dict(p->err);
    if (!nt || !mhrfit_value_list_append(c, nt, p->err)) goto fail;
    nt->line = p->line;
    *cur = nt;
  } else {
    if (!c) {
      c = mhrfit_value_new_dict(p->err);
      if (!c || !mhrfit_value_dict_set(t, last, c, p->err)) goto fail;
      c->line = p->line;
    } else if (c->kind != MHRFIT_V_DICT || is_closed(p, c)) {
      perr(p, "table [%s] is defined twice", last);
      goto fail;
    }
    if (!close_table(p, c)) goto fail;
    *cur = c;
  }
  keypath_free(&k);
  return expect_eol(p);
fail:
  keypath_free(&k);
  return false;
}

mhrfit_value *mhrfit_toml_parse(const char *text, size_t len, const char *name, mhrfit_error *err) {
  tp p = {text, text + len, 1, name ? name : "toml", err, NULL, 0, 0};
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) p.s += 3;
  /* Validate UTF-8 up front so that errors can name the line. */
  {
    const unsigned char *s = (const unsigned char *)p.s;
    size_t left = (size_t)(p.end - p.s);
    int line = 1;
    while (left) {
      uint32_t cp;
      size_t k = mf_utf8_decode(s, left, &cp);
      if (!k) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: invalid UTF-8", p.name, line);
        return NULL;
      }
      if (cp == 0) {
        MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s:%d: NUL character", p.name, line);
        return NULL;
      }
      if (cp == '\n') line++;
      s += k;
      left -= k;
    }
  }
  mhrfit_value *root = mhrfit_value_new_dict(err);
  if (!root) return NULL;
  root->line = 1;
  mhrfit_value *cur = root;
  for (;;) {
    if (!skip_ws_nl(&p)) goto fail;
    if (at_end(&p)) break;
    if (peek(&p) == '[') {
      if (!parse_header(&p, root, &cur)) goto fail;
    } else {
      if (!parse_keyval(&p, cur, 0) || !expect_eol(&p)) goto fail;
    }
  }
  free(p.closed);
  return root;
fail:
  free(p.closed);
  mhrfit_value_free(root);
  return NULL;
}

mhrfit_value *mhrfit_toml_load(const char *path, mhrfit_error *err) {
  unsigned char *data;
  size_t len;
  if (!mf_read_file(path, (size_t)64 << 20, &data, &len, err)) return NULL;
  mhrfit_value *v = mhrfit_toml_parse((const char *)data, len, path, err);
  free(data);
  return v;
}
