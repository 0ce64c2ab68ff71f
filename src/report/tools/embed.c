/* Build-time tool: turns the report page's web files into C data (report_web.c in the build
 * folder), so that the library writes a self-contained HTML report with no file beside it.
 *
 *   embed OUT.c TEMPLATE.html STYLE.css LOADER.js MODULE_ID=FILE ...
 *
 * The template, style sheet and loader are embedded as text. Each ES module is embedded under
 * its module id (e.g. "three/build/three.module.js"): the specifiers of its import and export
 * statements (lines starting with `import`, `export` or `} from`) are rewritten to module ids
 * (relative ones resolved against the module's own id, "three" and "three/addons/..." by the
 * aliases below), every id must name an embedded module, and the module text is then deflated
 * (zlib format, level 9) and base64-encoded. The page's loader inflates the modules with the
 * browser's DecompressionStream, gives each a blob: URL and maps the ids to them with an import
 * map, so the page runs from file:// without any network request.
 *
 * Fails (exit 1, a message naming the file) when a file is missing, a specifier names no
 * embedded module, or a text holds `</script` or `<!--` (which would end or confuse the
 * <script> element the text goes into). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct {
  char *id;
  char *path;
  char *text;
  size_t len;
} module;

static module mods[64];
static int n_mods;

static void die(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "embed: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  exit(1);
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s%s", path, "");
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) buf = realloc(buf, cap *= 2);
  }
  if (!buf || ferror(f)) die("cannot read %s%s", path, "");
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Case-insensitive search of `needle` in text[0..len-1]. */
static int contains_ci(const char *text, size_t len, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= len; i++) {
    size_t k = 0;
    while (k < m && tolower((unsigned char)text[i + k]) == needle[k]) k++;
    if (k == m) return 1;
  }
  return 0;
}

static void check_html_safe(const char *path, const char *text, size_t len) {
  if (contains_ci(text, len, "</script") || contains_ci(text, len, "<!--"))
    die("%s holds '</script' or '<!--' and cannot go into a <script> element%s", path, "");
}

/* The module id a specifier of module `from_id` names. */
static char *resolve(const char *from_id, const char *spec) {
  char buf[1024];
  if (strcmp(spec, "three") == 0) {
    snprintf(buf, sizeof buf, "three/build/three.module.js");
  } else if (strncmp(spec, "three/addons/", 13) == 0) {
    snprintf(buf, sizeof buf, "three/examples/jsm/%s", spec + 13);
  } else if (strncmp(spec, "./", 2) == 0 || strncmp(spec, "../", 3) == 0) {
    snprintf(buf, sizeof buf, "%s", from_id);
    char *slash = strrchr(buf, '/');
    if (slash) *slash = 0; else buf[0] = 0;
    const char *s = spec;
    for (;;) {
      if (strncmp(s, "./", 2) == 0) {
        s += 2;
      } else if (strncmp(s, "../", 3) == 0) {
        s += 3;
        char *up = strrchr(buf, '/');
        if (!up) die("module %s: specifier '%s' leaves the package", from_id, spec);
        *up = 0;
      } else {
        break;
      }
    }
    size_t l = strlen(buf);
    snprintf(buf + l, sizeof buf - l, "%s%s", l ? "/" : "", s);
  } else {
    snprintf(buf, sizeof buf, "%s", spec);
  }
  for (int i = 0; i < n_mods; i++)
    if (strcmp(mods[i].id, buf) == 0) return mods[i].id;
  die("module %s imports '%s', which is not embedded (add it to the embed list)", from_id, spec);
  return NULL;
}

/* True when the line starting at p is an import/export statement line (not indented). */
static int statement_line(const char *p) {
  return strncmp(p, "import ", 7) == 0 || strncmp(p, "import{", 7) == 0 || strncmp(p, "export ", 7) == 0 ||
         strncmp(p, "} from ", 7) == 0 || strncmp(p, "}from ", 6) == 0;
}

/* Rewrites the specifiers of the module's statement lines; returns the new text. */
static char *rewrite(module *m, size_t *out_len) {
  size_t cap = m->len + 4096, n = 0;
  char *out = malloc(cap);
  const char *p = m->text, *end = m->text + m->len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol + 1 : end;
    const char *copy_from = p;
    if (statement_line(p)) {
      /* The last quoted string on the line is the specifier (`from '...'` or `import '...'`). */
      const char *q2 = NULL, *q1 = NULL;
      for (const char *c = line_end - 1; c >= p; c--)
        if (*c == '\'' || *c == '"') {
          if (!q2) q2 = c;
          else if (*c == *q2) { q1 = c; break; }
        }
      const char *before = q1 ? q1 : p;
      while (before > p && before[-1] == ' ') before--;
      int has_from = q1 && ((before - p >= 4 && strncmp(before - 4, "from", 4) == 0) ||
                            (before - p >= 6 && strncmp(before - 6, "import", 6) == 0));
      if (has_from) {
        char spec[1024];
        size_t sl = (size_t)(q2 - q1 - 1);
        if (sl >= sizeof spec) die("module %s: specifier too long%s", m->id, "");
        memcpy(spec, q1 + 1, sl);
        spec[sl] = 0;
        const char *id = resolve(m->id, spec);
        size_t need = n + (size_t)(line_end - p) + strlen(id) + 8;
        if (need > cap) out = realloc(out, cap = need * 2);
        memcpy(out + n, p, (size_t)(q1 + 1 - p));
        n += (size_t)(q1 + 1 - p);
        memcpy(out + n, id, strlen(id));
        n += strlen(id);
        copy_from = q2;
      }
    }
    size_t l = (size_t)(line_end - copy_from);
    if (n + l + 1 > cap) out = realloc(out, cap = (n + l + 1) * 2);
    memcpy(out + n, copy_from, l);
    n += l;
    p = line_end;
  }
  *out_len = n;
  return out;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *deflate_base64(const char *id, const char *data, size_t len, size_t *out_len) {
  uLongf zl = compressBound((uLong)len);
  unsigned char *z = malloc(zl);
  if (!z || compress2(z, &zl, (const Bytef *)data, (uLong)len, 9) != Z_OK) die("module %s: deflate failed%s", id, "");
  size_t bl = 4 * ((zl + 2) / 3);
  char *b = malloc(bl + 1);
  size_t o = 0;
  for (size_t i = 0; i < zl; i += 3) {
    unsigned v = (unsigned)z[i] << 16 | (i + 1 < zl ? (unsigned)z[i + 1] << 8 : 0) | (i + 2 < zl ? z[i + 2] : 0);
    b[o++] = b64[v >> 18 & 63];
    b[o++] = b64[v >> 12 & 63];
    b[o++] = i + 1 < zl ? b64[v >> 6 & 63] : '=';
    b[o++] = i + 2 < zl ? b64[v & 63] : '=';
  }
  free(z);
  *out_len = o;
  return b;
}

/* Writes data as a C string literal split into lines (no trigraph or escape surprises). */
static void emit_bytes(FILE *f, const char *name, const char *data, size_t len) {
  fprintf(f, "static const char %s[] =\n", name);
  if (len == 0) fprintf(f, "\"\"");
  for (size_t i = 0; i < len; i += 96) {
    fputc('"', f);
    for (size_t k = i; k < len && k < i + 96; k++) {
      unsigned char c = (unsigned char)data[k];
      if (c == '"' || c == '\\' || c == '?') fprintf(f, "\\%03o", c);
      else if (c >= 32 && c < 127) fputc(c, f);
      else fprintf(f, "\\%03o", c);
    }
    fputs("\"\n", f);
  }
  fputs(";\n", f);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: embed OUT.c TEMPLATE.html STYLE.css LOADER.js MODULE_ID=FILE ...\n");
    return 2;
  }
  const char *names[3] = {"mf_web_template", "mf_web_style", "mf_web_loader"};
  size_t text_len[3];
  char *texts[3];
  for (int i = 0; i < 3; i++) {
    texts[i] = read_all(argv[2 + i], &text_len[i]);
    if (i > 0) check_html_safe(argv[2 + i], texts[i], text_len[i]);
  }
  for (int i = 5; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq || n_mods == 64) die("bad module argument '%s'%s", argv[i], "");
    *eq = 0;
    mods[n_mods].id = argv[i];
    mods[n_mods].path = eq + 1;
    mods[n_mods].text = read_all(eq + 1, &mods[n_mods].len);
    check_html_safe(eq + 1, mods[n_mods].text, mods[n_mods].len);
    n_mods++;
  }
  FILE *f = fopen(argv[1], "w");
  if (!f) die("cannot write %s%s", argv[1], "");
  fprintf(f, "/* Generated by src/report/tools/embed.c from src/report/web and node_modules. Do not edit. */\n");
  fprintf(f, "#include <stddef.h>\n#include \"report/web_assets.h\"\n\n");
  for (int i = 0; i < 3; i++) emit_bytes(f, names[i], texts[i], text_len[i]);
  for (int i = 0; i < n_mods; i++) {
    size_t rl, bl;
    char *r = rewrite(&mods[i], &rl);
    char *b = deflate_base64(mods[i].id, r, rl, &bl);
    char nm[32];
    snprintf(nm, sizeof nm, "mf_web_mod_%d", i);
    emit_bytes(f, nm, b, bl);
    free(r);
    free(b);
  }
  fprintf(f, "\nconst mf_web_text mf_web_texts[3] = {\n");
  for (int i = 0; i < 3; i++) fprintf(f, "  {%s, sizeof %s - 1},\n", names[i], names[i]);
  fprintf(f, "};\n\nconst mf_web_module mf_web_modules[] = {\n");
  for (int i = 0; i < n_mods; i++)
    fprintf(f, "  {\"%s\", mf_web_mod_%d, sizeof mf_web_mod_%d - 1, %zu},\n", mods[i].id, i, i, mods[i].len);
  fprintf(f, "};\nconst size_t mf_web_n_modules = %d;\n", n_mods);
  if (fclose(f) != 0) die("cannot write %s%s", argv[1], "");
  for (int i = 0; i < 3; i++) free(texts[i]);
  for (int i = 0; i < n_mods; i++) free(mods[i].text);
  return 0;
}
