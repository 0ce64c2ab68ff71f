/* The momentum `.model` file (MHR.md §4): parameter transform with first-appearance parameter
 * order, limits. Parameter sets and pose constraints are informational and skipped. */
#include "body/model_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

static const char *const channels[7] = {"tx", "ty", "tz", "rx", "ry", "rz", "sc"};

static long find_param(const mhrfit_rig *r, const char *name) {
  for (size_t i = 0; i < r->n_params; i++)
    if (strcmp(r->param_names[i], name) == 0) return (long)i;
  return -1;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* Adds coefficient c for (row, param), summing duplicates. */
static bool add_entry(mhrfit_rig *r, size_t *cap, int32_t row, int32_t param, double c, mhrfit_error *err) {
  for (size_t i = 0; i < r->n_pt; i++)
    if (r->pt[i].row == row && r->pt[i].param == param) {
      r->pt[i].coeff += c;
      return true;
    }
  void *p = r->pt;
  if (!mf_grow(&p, cap, r->n_pt + 1, sizeof *r->pt, err)) return false;
  r->pt = p;
  r->pt[r->n_pt++] = (mhrfit_pt_entry){row, param, c};
  return true;
}

static int cmp_pt(const void *a, const void *b) {
  const mhrfit_pt_entry *x = a, *y = b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return (x->param > y->param) - (x->param < y->param);
}

bool mf_model_parse(const char *text, size_t len, const char *name, mhrfit_rig *r, mhrfit_error *err) {
  char *buf = mf_strndup(text, len, err);
  if (!buf) return false;
  size_t cap_pt = 0, cap_params = 0, cap_lim = 0;
  int section = 0; /* 0 none, 1 transform, 2 sets, 3 limits, 4 constraints */
  bool header = false;
  char *save = NULL;
  bool ok = true;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *l = trim(line);
    if (!*l) continue;
    if (!header) {
      if (strcmp(l, "Momentum Model Definition V1.0") != 0) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: not a momentum model file (first line '%.40s')", name, l);
        break;
      }
      header = true;
      continue;
    }
    if (l[0] == '[') {
      section = strcmp(l, "[ParameterTransform]") == 0 ? 1 : strcmp(l, "[ParameterSets]") == 0 ? 2
                : strcmp(l, "[Limits]") == 0 ? 3 : strcmp(l, "[PoseConstraints]") == 0 ? 4 : 5;
      continue;
    }
    if (section == 1) {
      char *eq = strchr(l, '=');
      char *dot = eq ? memchr(l, '.', (size_t)(eq - l)) : NULL;
      if (!eq || !dot) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: parameter transform line '%.60s': expected 'joint.channel = ...'", name, l);
        break;
      }
      *dot = '\0';
      *eq = '\0';
      char *joint = trim(l), *chan = trim(dot + 1), *rhs = eq + 1;
      long j = mhrfit_rig_joint_index(r, joint);
      int c = -1;
      for (int k = 0; k < 7; k++)
        if (strcmp(chan, channels[k]) == 0) c = k;
      if (j < 0 || c < 0) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: parameter transform: unknown joint channel '%s.%s'", name, joint, chan);
        break;
      }
      /* terms "c * param" separated by '+' (coefficients may be negative) */
      char *tsave = NULL;
      for (char *term = strtok_r(rhs, "+", &tsave); term; term = strtok_r(NULL, "+", &tsave)) {
        char *star = strchr(term, '*');
        if (!star) {
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_UNSUPPORTED,
                           "%s: parameter transform of '%s.%s': term '%s' is not 'coefficient * parameter' (constant or "
                           "joint-reference terms are not supported)",
                           name, joint, chan, trim(term));
          break;
        }
        *star = '\0';
        char *cs = trim(term), *ps = trim(star + 1), *end;
        errno = 0;
        double coeff = strtod(cs, &end);
        if (*end || errno || !*ps || strchr(ps, '.')) {
          ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: parameter transform of '%s.%s': bad term '%s * %s'", name, joint,
                           chan, cs, ps);
          break;
        }
        long pi = find_param(r, ps);
        if (pi < 0) {
          void *pn = r->param_names;
          if (!mf_grow(&pn, &cap_params, r->n_params + 1, sizeof *r->param_names, err)) {
            ok = false;
            break;
          }
          r->param_names = pn;
          snprintf(r->param_names[r->n_params], 64, "%s", ps);
          pi = (long)r->n_params++;
        }
        if (coeff != 0.0 && !add_entry(r, &cap_pt, (int32_t)(7 * j + c), (int32_t)pi, coeff, err)) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
    } else if (section == 3) {
      char pname[64], kind[16];
      double mn, mx, w = 1.0;
      int n = sscanf(l, "limit %63s %15s [%lf , %lf ] %lf", pname, kind, &mn, &mx, &w);
      if (n < 4 || strcmp(kind, "minmax") != 0) continue; /* other limit kinds are not used by MHR */
      long pi = find_param(r, pname);
      if (pi < 0) {
        ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: limit for unknown parameter '%s'", name, pname);
        break;
      }
      void *lp = r->limits;
      if (!mf_grow(&lp, &cap_lim, r->n_limits + 1, sizeof *r->limits, err)) {
        ok = false;
        break;
      }
      r->limits = lp;
      r->limits[r->n_limits++] = (mhrfit_limit){(int32_t)pi, mn, mx, n >= 5 ? w : 1.0};
    }
  }
  free(buf);
  if (ok && !header) ok = MHRFIT_FAIL(err, MHRFIT_ERR_FORMAT, "%s: empty model file", name);
  if (ok && r->n_pt) qsort(r->pt, r->n_pt, sizeof *r->pt, cmp_pt);
  return ok;
}

void mf_pt_row_starts(const mhrfit_rig *rig, size_t *start) {
  for (size_t r = 0, e = 0; r <= 7 * rig->n_joints; r++) {
    while (e < rig->n_pt && (size_t)rig->pt[e].row < r) e++;
    start[r] = e;
  }
}
