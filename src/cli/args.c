/* Option parsing for the subcommands: see cli.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void mf_strlist_free(mf_strlist *l) {
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

static bool strlist_push(mf_strlist *l, const char *s) {
  const char **p = realloc(l->items, (l->count + 1) * sizeof *p);
  if (!p) return false;
  p[l->count++] = s;
  l->items = p;
  return true;
}

int mf_report(const char *cmd, const mhrfit_error *err) {
  fprintf(stderr, "mhrfit %s: error: %s\n", cmd, err->message[0] ? err->message : "unknown failure");
  return MF_EXIT_FAILURE;
}

void mf_warn_cb(void *cmd, const char *message) {
  fprintf(stderr, "mhrfit %s: warning: %s\n", (const char *)cmd, message);
}

int mf_usage_error(const char *cmd, const char *fmt, ...) {
  fprintf(stderr, "mhrfit %s: ", cmd);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'mhrfit %s --help')\n", cmd);
  return MF_EXIT_USAGE;
}

void mf_print_options(const mf_opt *opts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const mf_opt *o = &opts[i];
    char left[96];
    char name[64];
    snprintf(name, sizeof name, "%s", o->name);
    if (o->type == MF_OPT_FLAG) snprintf(left, sizeof left, "--%s", name);
    else if (o->type == MF_OPT_LIST) snprintf(left, sizeof left, "--%s %s ...", name, o->metavar ? o->metavar : "V");
    else snprintf(left, sizeof left, "--%s %s", name, o->metavar ? o->metavar : "V");
    if (o->type == MF_OPT_ALIAS) continue;
    printf("  %-30s %s", left, o->help);
    for (size_t k = 0; k < n; k++)
      if (opts[k].type == MF_OPT_ALIAS && strcmp(opts[k].metavar, o->name) == 0)
        printf(" (also --%s)", opts[k].name);
    printf("\n");
  }
}

static void print_help(const mf_cmd_spec *spec) {
  printf("Usage: mhrfit %s %s\n\n%s\n\nOptions (--snake_case and --kebab-case are both accepted):\n",
         spec->name, spec->usage, spec->summary);
  mf_print_options(spec->opts, spec->n_opts);
  printf("  %-30s %s\n", "-h, --help", "show this help and exit");
}

/* Normalises an option word (after the dashes) to snake_case in buf. */
static void normalise(const char *s, size_t n, char *buf, size_t size) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < size; i++) buf[k++] = s[i] == '-' ? '_' : s[i];
  buf[k] = '\0';
}

/* The option of the table named `name` (normalised), an alias row resolved to its target. */
static const mf_opt *find_opt(const mf_cmd_spec *spec, const char *name) {
  for (size_t k = 0; k < spec->n_opts; k++) {
    const mf_opt *o = &spec->opts[k];
    if (strcmp(o->name, name) != 0) continue;
    if (o->type != MF_OPT_ALIAS) return o;
    for (size_t j = 0; j < spec->n_opts; j++)
      if (spec->opts[j].type != MF_OPT_ALIAS && strcmp(spec->opts[j].name, o->metavar) == 0) return &spec->opts[j];
    return NULL;
  }
  return NULL;
}

static int set_value(const mf_cmd_spec *spec, const mf_opt *o, const char *val) {
  char *end = NULL;
  errno = 0;
  switch (o->type) {
    case MF_OPT_STRING: *(const char **)o->dest = val; return -1;
    case MF_OPT_INT: {
      long v = strtol(val, &end, 10);
      if (errno || end == val || *end)
        return mf_usage_error(spec->name, "--%s expects an integer, got '%s'", o->name, val);
      *(long *)o->dest = v;
      return -1;
    }
    case MF_OPT_DOUBLE: {
      double v = strtod(val, &end);
      if (errno || end == val || *end || !isfinite(v))
        return mf_usage_error(spec->name, "--%s expects a finite number, got '%s'", o->name, val);
      *(double *)o->dest = v;
      return -1;
    }
    default: return -1;
  }
}

int mf_args_parse(const mf_cmd_spec *spec, int argc, char **argv, mf_strlist *positional) {
  positional->items = NULL;
  positional->count = 0;
  bool only_positional = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == '\0' || (a[1] != '-' && a[1] != 'h')) {
      if (!strlist_push(positional, a)) goto nomem;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positional = true;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_help(spec);
      mf_strlist_free(positional);
      return MF_EXIT_OK;
    }
    if (a[1] != '-') {
      mf_strlist_free(positional);
      return mf_usage_error(spec->name, "unknown option '%s'", a);
    }
    const char *word = a + 2, *eq = strchr(word, '=');
    char name[128];
    normalise(word, eq ? (size_t)(eq - word) : strlen(word), name, sizeof name);
    const mf_opt *o = NULL;
    bool negated = false;
    o = find_opt(spec, name);
    if (!o && strncmp(name, "no_", 3) == 0) {
      o = find_opt(spec, name + 3);
      if (o && o->type != MF_OPT_FLAG) o = NULL;
      negated = o != NULL;
    }
    if (!o) {
      mf_strlist_free(positional);
      return mf_usage_error(spec->name, "unknown option '%s'", a);
    }
    if (o->seen) *o->seen = true;
    if (o->type == MF_OPT_FLAG) {
      if (eq) {
        mf_strlist_free(positional);
        return mf_usage_error(spec->name, "option --%s takes no value", o->name);
      }
      *(bool *)o->dest = !negated;
      continue;
    }
    if (o->type == MF_OPT_LIST) {
      mf_strlist *l = o->dest;
      l->count = 0; /* a repeated list option replaces the earlier one */
      if (eq) {
        if (!strlist_push(l, eq + 1)) goto nomem;
      }
      while (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-')) {
        if (!strlist_push(l, argv[++i])) goto nomem;
      }
      if (l->count == 0) {
        mf_strlist_free(positional);
        return mf_usage_error(spec->name, "--%s needs at least one value", o->name);
      }
      continue;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val) {
      if (i + 1 >= argc) {
        mf_strlist_free(positional);
        return mf_usage_error(spec->name, "--%s needs a value", o->name);
      }
      val = argv[++i];
    }
    int rc = set_value(spec, o, val);
    if (rc >= 0) {
      mf_strlist_free(positional);
      return rc;
    }
  }
  if (positional->count < spec->min_positional || positional->count > spec->max_positional) {
    size_t got = positional->count;
    mf_strlist_free(positional);
    if (spec->min_positional == spec->max_positional)
      return mf_usage_error(spec->name, "expected %zu positional argument(s), got %zu", spec->min_positional, got);
    return mf_usage_error(spec->name, "expected %zu to %zu positional arguments, got %zu", spec->min_positional,
                          spec->max_positional, got);
  }
  return -1;
nomem:
  mf_strlist_free(positional);
  fprintf(stderr, "mhrfit %s: out of memory\n", spec->name);
  return MF_EXIT_FAILURE;
}

bool mf_parse_frame_range(const char *s, size_t *begin, size_t *end) {
  const char *colon = strchr(s, ':');
  char *e;
  *begin = 0, *end = 0;
  if (!colon) {
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (!*s || *e || errno || s[0] == '-') return false;
    *begin = (size_t)v, *end = (size_t)v + 1;
    return true;
  }
  if (colon != s) {
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (e != colon || errno || s[0] == '-') return false;
    *begin = (size_t)v;
  }
  if (colon[1]) {
    errno = 0;
    unsigned long long v = strtoull(colon + 1, &e, 10);
    if (*e || errno || colon[1] == '-' || v == 0) return false;
    *end = (size_t)v;
  }
  return true;
}
