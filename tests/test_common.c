/* Tests of the common module: byte buffers, folder listings, errors, arrays, values, UTF-8, half
 * floats, the end of a child's output. */
/* realpath(), symlink(), link() */
#define _DEFAULT_SOURCE
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/linalg.h"
#include "common/path.h"
#include "common/spchol.h"
#include "common/tail.h"
#include "common/utf8.h"
#include "mhrfit/array.h"
#include "mhrfit/value.h"

/* The growable byte buffer: text, growth past the first block, alignment, JSON strings (plain and
 * HTML-safe), numbers, base64 (RFC 4648 test vectors). */
static void test_buf(void) {
  mf_buf b = {0};
  CHECK(mf_buf_puts(&b, "a") && mf_buf_printf(&b, "%d-%s", 12, "x") && b.len == 5);
  CHECK_STR(b.data, "a12-x");
  CHECK(mf_buf_align(&b, 4) && b.len == 8 && b.data[6] == 0);
  char big[1000];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int i = 0; i < 10; i++) CHECK(mf_buf_printf(&b, "%s", big)); /* over the 4096-byte first block */
  CHECK(b.len == 8 + 9990 && b.cap > b.len && b.data[b.len] == '\0' && b.data[b.len - 1] == 'y' && !b.failed);
  mf_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0);
  mf_buf_json_str(&b, "q\"b\\n\nt\t<&>");
  CHECK_STR(b.data, "\"q\\\"b\\\\n\\nt\\u0009<&>\"");
  mf_buf_free(&b);
  mf_buf_json_str_html(&b, "</script>&");
  CHECK_STR(b.data, "\"\\u003c/script\\u003e\\u0026\"");
  mf_buf_free(&b);
  mf_buf_num(&b, 0.1);
  mf_buf_puts(&b, ",");
  mf_buf_num(&b, NAN);
  CHECK_STR(b.data, "0.1,null");
  mf_buf_free(&b);
  static const char *const want[7] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t n = 0; n <= 6; n++) {
    mf_buf_base64(&b, (const unsigned char *)"foobar", n);
    CHECK_STR(b.data, want[n]);
    mf_buf_free(&b);
  }
}

/* Folder listings: natural order, a suffix, folders only (a link to a folder counts), a missing
 * folder named. */
static void test_list_dir(void) {
  char dir[] = "/tmp/mhrfit_list_XXXXXX";
  REQUIRE(mkdtemp(dir));
  static const char *const files[] = {"f10.npz", "f2.npz", "notes.txt"};
  char path[256];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fclose(f);
  }
  snprintf(path, sizeof path, "%s/d10", dir);
  REQUIRE(mkdir(path, 0777) == 0);
  snprintf(path, sizeof path, "%s/d9", dir);
  REQUIRE(symlink("d10", path) == 0);
  mhrfit_error err = {0};
  mf_names n;
  REQUIRE(mf_list_dir(dir, ".npz", false, &n, &err));
  CHECK(n.count == 2 && strcmp(n.items[0], "f2.npz") == 0 && strcmp(n.items[1], "f10.npz") == 0);
  mf_names_free(&n);
  REQUIRE(mf_list_dir(dir, NULL, true, &n, &err));
  CHECK(n.count == 2 && strcmp(n.items[0], "d9") == 0 && strcmp(n.items[1], "d10") == 0);
  mf_names_free(&n);
  REQUIRE(mf_list_dir(dir, NULL, false, &n, &err));
  CHECK(n.count == 5);
  mf_names_free(&n);
  snprintf(path, sizeof path, "%s/none", dir);
  CHECK(!mf_list_dir(path, NULL, false, &n, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "none: cannot list folder");
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  CHECK(system(path) == 0);
}

/* Paths that do not exist yet resolve through their existing part; one file seen through "..",
 * a symbolic and a hard link is one file; an output over an input is seen (the checks of every
 * command that writes beside its inputs). */
static void test_path_resolve(void) {
  char dir[] = "/tmp/mhrfit_paths_XXXXXX";
  REQUIRE(mkdtemp(dir));
  char *real = realpath(dir, NULL), p[512], q[512], want[512];
  REQUIRE(real);
  snprintf(p, sizeof p, "%s/a", dir);
  REQUIRE(mkdir(p, 0777) == 0);
  snprintf(p, sizeof p, "%s/a/x.npz", dir);
  FILE *f = fopen(p, "w");
  REQUIRE(f);
  fclose(f);
  snprintf(q, sizeof q, "%s/link.npz", dir);
  REQUIRE(symlink("a/x.npz", q) == 0);
  snprintf(q, sizeof q, "%s/hard.npz", dir);
  REQUIRE(link(p, q) == 0);
  mhrfit_error err = {0};
  snprintf(p, sizeof p, "%s/./a/../a/new/deeper/../y.npz", dir);
  char *r = mf_path_resolve(p, &err);
  snprintf(want, sizeof want, "%s/a/new/y.npz", real);
  CHECK(r && strcmp(r, want) == 0);
  free(r);
  CHECK(!mf_path_resolve("", &err) && err.type == MHRFIT_ERR_ARGUMENT);
  snprintf(p, sizeof p, "%s/a/../a/x.npz", dir);
  snprintf(q, sizeof q, "%s/link.npz", dir);
  CHECK(mf_same_file(p, q) && mf_output_replaces(q, p));
  snprintf(q, sizeof q, "%s/hard.npz", dir);
  CHECK(mf_same_file(p, q) && mf_output_replaces(p, q));
  snprintf(q, sizeof q, "%s/a", dir);
  CHECK(!mf_same_file(p, q) && mf_output_replaces(p, q)); /* an existing file inside an input folder */
  snprintf(p, sizeof p, "%s/a/new.npz", dir);
  CHECK(!mf_output_replaces(p, q) && mf_path_within(p, q)); /* a new file beside the inputs */
  snprintf(p, sizeof p, "%s/a/../b.npz", dir);
  snprintf(q, sizeof q, "%s/b.npz", dir);
  CHECK(mf_same_file(p, q) && mf_output_replaces(p, q)); /* neither exists: the same path */
  snprintf(q, sizeof q, "%s/a/x.npz", dir);
  CHECK(!mf_output_replaces(p, q));
  free(real);
  snprintf(p, sizeof p, "rm -rf '%s'", dir);
  CHECK(system(p) == 0);
}

static void test_error_prefix(void) {
  mhrfit_error err = {0};
  CHECK(!MHRFIT_FAIL(&err, MHRFIT_ERR_FORMAT, "field '%s' missing", "matrix"));
  mhrfit_error_prefix(&err, "calib.toml: table [%s]", "cam_1");
  CHECK_STR(err.message, "calib.toml: table [cam_1]: field 'matrix' missing");
  CHECK(err.type == MHRFIT_ERR_FORMAT);
  CHECK(err.src_line > 0);
  CHECK_STR(mhrfit_error_type_name(MHRFIT_ERR_NOT_FOUND), "not-found");
  mhrfit_error_clear(&err);
  CHECK(err.type == MHRFIT_ERR_NONE);
  mhrfit_error_prefix(&err, "ignored");
  CHECK_STR(err.message, "");
}

static void test_array_convert(void) {
  mhrfit_error err = {0};
  size_t shape[2] = {2, 3};
  mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F64, 0, 2, shape, 0, &err);
  REQUIRE(a);
  double *d = a->data;
  for (int i = 0; i < 6; i++) d[i] = i - 2.5;
  mhrfit_array *b = mhrfit_array_convert(a, MHRFIT_DT_I16, &err);
  REQUIRE(b);
  CHECK(b->ndim == 2 && b->shape[1] == 3 && b->itemsize == 2);
  CHECK(mhrfit_array_get_f64(b, 0) == -2.0);
  CHECK(mhrfit_array_get_f64(b, 5) == 2.0);
  d[1] = NAN;
  mhrfit_array *c = mhrfit_array_convert(a, MHRFIT_DT_I32, &err);
  CHECK(c == NULL && err.type == MHRFIT_ERR_NUMERIC);
  d[1] = 70000.0;
  c = mhrfit_array_convert(a, MHRFIT_DT_U16, &err);
  CHECK(c == NULL && err.type == MHRFIT_ERR_NUMERIC);
  long want[2] = {2, -1};
  CHECK(mhrfit_array_has_shape(a, 2, want));
  mhrfit_array_free(a);
  mhrfit_array_free(b);
  size_t huge[2] = {SIZE_MAX / 2, 4};
  CHECK(mhrfit_array_new(MHRFIT_DT_F32, 0, 2, huge, 0, &err) == NULL && err.type == MHRFIT_ERR_LIMIT);
}

static void test_half(void) {
  CHECK(mhrfit_half_to_float(0x3c00) == 1.0f);
  CHECK(mhrfit_half_to_float(0xc000) == -2.0f);
  CHECK(mhrfit_half_to_float(0x0001) == ldexpf(1.0f, -24));
  CHECK(isinf(mhrfit_half_to_float(0x7c00)));
  CHECK(isnan(mhrfit_half_to_float(0x7e00)));
  CHECK(mhrfit_float_to_half(1.0f) == 0x3c00);
  CHECK(mhrfit_float_to_half(65504.0f) == 0x7bff);
  CHECK(mhrfit_float_to_half(1e6f) == 0x7c00);
  /* every finite half round-trips */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;
    if (mhrfit_float_to_half(mhrfit_half_to_float((uint16_t)h)) != h) bad++;
  }
  CHECK(bad == 0);
}

static void test_utf8(void) {
  char buf[4];
  CHECK(mf_utf8_encode(0x20ac, buf) == 3);
  CHECK(mf_utf8_encode(0xd800, buf) == 0);
  CHECK(mf_utf8_valid("caf\xc3\xa9", 5));
  CHECK(!mf_utf8_valid("\xc0\xaf", 2)); /* overlong */
  CHECK(!mf_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
}

static void test_value_json(void) {
  mhrfit_error err = {0};
  mhrfit_value *d = mhrfit_value_new_dict(&err);
  REQUIRE(d);
  CHECK(mhrfit_value_dict_set(d, "a", mhrfit_value_new_float(0.1, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "b", mhrfit_value_new_float(NAN, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "a", mhrfit_value_new_int(-3, &err), &err)); /* replaces, keeps position */
  size_t shape[1] = {2};
  mhrfit_array *arr = mhrfit_array_new(MHRFIT_DT_F32, 0, 1, shape, 0, &err);
  ((float *)arr->data)[0] = 1.5f;
  ((float *)arr->data)[1] = 1e-7f;
  CHECK(mhrfit_value_dict_set(d, "arr", mhrfit_value_new_array(arr, &err), &err));
  CHECK(mhrfit_value_dict_set(d, "s", mhrfit_value_new_string(MHRFIT_V_STRING, "q\"\n", 3, &err), &err));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  CHECK(mhrfit_value_write_json(d, f, -1, &err));
  fclose(f);
  CHECK_STR(buf, "{\"a\": -3, \"b\": null, \"arr\": [1.5, 1e-07], \"s\": \"q\\\"\\n\"}");
  free(buf);
  CHECK(mhrfit_value_dict_get(d, "arr")->kind == MHRFIT_V_ARRAY);
  CHECK(mhrfit_value_dict_get(d, "zzz") == NULL);
  mhrfit_value *c = mhrfit_value_clone(d, &err);
  CHECK(c && c->u.dict.count == 4);
  mhrfit_value_free(c);
  mhrfit_value_free(d);
  CHECK(mhrfit_value_new_string(MHRFIT_V_STRING, "\xff", 1, &err) == NULL && err.type == MHRFIT_ERR_FORMAT);
}

static void test_format_double(void) {
  char buf[64];
  mhrfit_format_double(0.1, buf, sizeof buf);
  CHECK_STR(buf, "0.1");
  mhrfit_format_double(2.0, buf, sizeof buf);
  CHECK_STR(buf, "2.0");
  mhrfit_format_double(-0.9239869713783264, buf, sizeof buf);
  CHECK(strtod(buf, NULL) == -0.9239869713783264);
  mhrfit_format_double(INFINITY, buf, sizeof buf);
  CHECK_STR(buf, "null");
}

/* A symmetric positive definite matrix with the given pattern: M = Σ_k x_k x_kᵀ over random
 * vectors supported on the pattern's cliques plus a diagonal, so every non-zero lies in the pattern. */
static unsigned long long sp_rng = 88172645463325252ull;
static double sp_rand(void) {
  sp_rng ^= sp_rng << 13, sp_rng ^= sp_rng >> 7, sp_rng ^= sp_rng << 17;
  return (double)(sp_rng >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Solves with the sparse factorisation of M (damped: diagonal · scale + add) and compares with the
 * dense Cholesky of the same matrix. Returns the largest difference relative to the solution. */
static double sp_check(int n, const unsigned char *pat, const double *M, double scale, double add) {
  mhrfit_error err = {0};
  mf_spchol c = {0};
  if (!mf_spchol_analyze(&c, n, pat, &err)) return INFINITY;
  static double A[64 * 64], D[64 * 64], Lw[64 * 64], b[64], x1[64], x2[64];
  for (int i = 0; i < n * n; i++) A[i] = 1e300; /* entries outside the pattern must not be read */
  mf_spchol_zero(&c, A);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int pi = c.iperm[i], pj = c.iperm[j];
      if (pat[i * n + j] && pi >= pj) A[pi * n + pj] = M[i * n + j];
      D[i * n + j] = M[i * n + j] * (i == j ? scale : 1) + (i == j ? add : 0);
    }
  for (int i = 0; i < n; i++) b[i] = sp_rand();
  bool ok1 = mf_spchol_factor(&c, A, scale, add) && mf_spchol_solve(&c, b, x1);
  bool ok2 = mf_cholesky_solve_ws(D, b, n, x2, Lw);
  double e = ok1 && ok2 ? 0 : INFINITY, xm = 0;
  for (int i = 0; i < n; i++) e = fmax(e, fabs(x1[i] - x2[i])), xm = fmax(xm, fabs(x2[i]));
  mf_spchol_free(&c);
  return e / xm;
}

static void test_sparse_cholesky(void) {
  enum { N = 40 };
  static unsigned char pat[N * N];
  static double M[N * N];
  /* a tree of chains (like a skeleton's parameters) plus 4 variables coupled with everything */
  int parent[N];
  for (int i = 0; i < N - 4; i++) parent[i] = i == 0 ? -1 : (i % 9 == 0 ? 2 : i - 1);
  memset(pat, 0, sizeof pat);
  memset(M, 0, sizeof M);
  for (int leaf = 0; leaf < N - 4; leaf++) {
    int vars[N], n = 0;
    for (int a = leaf; a >= 0; a = parent[a]) vars[n++] = a;
    for (int s = N - 4; s < N; s++) vars[n++] = s;
    for (int rep = 0; rep < 2; rep++) {
      double x[N];
      for (int a = 0; a < n; a++) x[a] = sp_rand();
      for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
          pat[vars[a] * N + vars[b]] = 1;
          M[vars[a] * N + vars[b]] += x[a] * x[b];
        }
    }
  }
  for (int i = 0; i < N; i++) M[i * N + i] += 1e-3;
  double e = sp_check(N, pat, M, 1.0, 0.0);
  printf("  tree + dense block, n = %d: relative difference to dense Cholesky %.2g\n", N, e);
  CHECK(e < 1e-9);
  CHECK(sp_check(N, pat, M, 1.5, 1e-6) < 1e-9); /* LM damping of the diagonal */
  /* fully dense and diagonal patterns */
  static unsigned char full[N * N], diag[N * N];
  static double Md[N * N];
  memset(full, 1, sizeof full);
  memset(diag, 0, sizeof diag);
  memset(Md, 0, sizeof Md);
  for (int i = 0; i < N; i++) Md[i * N + i] = 1 + i, diag[i * N + i] = 1;
  CHECK(sp_check(N, full, M, 1.0, 0.0) < 1e-9);
  CHECK(sp_check(N, diag, Md, 1.0, 0.0) < 1e-12);
  /* not positive definite: the factorisation fails */
  mhrfit_error err = {0};
  mf_spchol c = {0};
  REQUIRE(mf_spchol_analyze(&c, N, pat, &err));
  static double A[N * N];
  mf_spchol_zero(&c, A);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      if (pat[i * N + j] && c.iperm[i] >= c.iperm[j]) A[c.iperm[i] * N + c.iperm[j]] = M[i * N + j];
  A[5 * N + 5] = -1;
  CHECK(!mf_spchol_factor(&c, A, 1.0, 0.0));
  A[5 * N + 5] = NAN;
  CHECK(!mf_spchol_factor(&c, A, 1.0, 0.0));
  /* a later analysis replaces the earlier one */
  REQUIRE(mf_spchol_analyze(&c, 3, full, &err));
  CHECK(c.n == 3);
  mf_spchol_free(&c);
  CHECK(!mf_spchol_analyze(&c, 0, full, &err) && err.type == MHRFIT_ERR_ARGUMENT);
}

/* The end of a child's output: the last non-blank lines, an unfinished one included, the oldest
 * bytes dropped past MF_TAIL_BYTES (a line cut at the front is left out). */
static void test_tail(void) {
  mf_tail *t = calloc(1, sizeof *t);
  REQUIRE(t);
  char out[256];
  mf_tail_lines(t, 3, out, sizeof out);
  CHECK(strcmp(out, "") == 0);
  const char *s = "one\n\n  two  \r\nthree\n\nfour";
  mf_tail_add(t, s, strlen(s));
  mf_tail_lines(t, 3, out, sizeof out);
  CHECK(strcmp(out, "two | three | four") == 0);
  mf_tail_lines(t, 1, out, sizeof out);
  CHECK(strcmp(out, "four") == 0);
  mf_tail_lines(t, 3, out, 8); /* cut to the buffer */
  CHECK(strcmp(out, "two | t") == 0);
  char big[MF_TAIL_BYTES + 100];
  memset(big, 'x', sizeof big);
  mf_tail_add(t, big, sizeof big);
  mf_tail_add(t, "\nlast\tword\n", strlen("\nlast\tword\n"));
  CHECK(t->len == MF_TAIL_BYTES);
  mf_tail_lines(t, 3, out, sizeof out);
  CHECK(strcmp(out, "last word") == 0); /* the cut line of x's is left out, the tab made a space */
  mf_tail_clear(t);
  mf_tail_lines(t, 3, out, sizeof out);
  CHECK(strcmp(out, "") == 0);
  int status = -1;
  CHECK(mf_tail_run("echo out; echo err >&2; exit 4", t, &status));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
  mf_tail_lines(t, 3, out, sizeof out);
  CHECK(strcmp(out, "out | err") == 0);
  free(t);
}

int main(void) {
  RUN(test_tail);
  RUN(test_buf);
  RUN(test_list_dir);
  RUN(test_path_resolve);
  RUN(test_error_prefix);
  RUN(test_array_convert);
  RUN(test_half);
  RUN(test_utf8);
  RUN(test_value_json);
  RUN(test_format_double);
  RUN(test_sparse_cholesky);
  return test_report();
}
