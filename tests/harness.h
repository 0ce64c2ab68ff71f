/* A minimal test harness: one executable per test file, registered with CTest.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-9); }
 *   int main(void) { RUN(test_something); return test_report(); }
 *
 * A failed CHECK records the failure and the test goes on; REQUIRE stops the test.
 * test_report() prints "N passed, N failed" (skips listed) and returns non-zero on failure,
 * and also when no test ran at all. Tests needing shared data call test_skip() with a reason. */
#ifndef MF_TEST_HARNESS_H
#define MF_TEST_HARNESS_H

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_passed, th_failed, th_skipped, th_cur_failed, th_checks;
static const char *th_cur_name;
static jmp_buf th_jmp;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    th_checks++;                                                                     \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "  FAIL %s:%d: %s: CHECK(%s)\n", __FILE__, __LINE__, th_cur_name, #cond); \
      th_cur_failed = 1;                                                             \
    }                                                                                \
  } while (0)

#define REQUIRE(cond)                                                                \
  do {                                                                               \
    th_checks++;                                                                     \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "  FAIL %s:%d: %s: REQUIRE(%s)\n", __FILE__, __LINE__, th_cur_name, #cond); \
      th_cur_failed = 1;                                                             \
      longjmp(th_jmp, 1);                                                            \
    }                                                                                \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double th_a_ = (double)(a), th_b_ = (double)(b);                                  \
    th_checks++;                                                                     \
    if (!(fabs(th_a_ - th_b_) <= (tol))) {                                            \
      fprintf(stderr, "  FAIL %s:%d: %s: |%s - %s| = |%.17g - %.17g| > %g\n", __FILE__, __LINE__, \
              th_cur_name, #a, #b, th_a_, th_b_, (double)(tol));                     \
      th_cur_failed = 1;                                                             \
    }                                                                                \
  } while (0)

#define CHECK_STR(a, b)                                                              \
  do {                                                                               \
    const char *th_sa_ = (a), *th_sb_ = (b);                                         \
    th_checks++;                                                                     \
    if (!th_sa_ || !th_sb_ || strcmp(th_sa_, th_sb_) != 0) {                         \
      fprintf(stderr, "  FAIL %s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, th_cur_name, \
              th_sa_ ? th_sa_ : "(null)", th_sb_ ? th_sb_ : "(null)");               \
      th_cur_failed = 1;                                                             \
    }                                                                                \
  } while (0)

/* Checks that `haystack` contains `needle` (for error messages). */
#define CHECK_CONTAINS(haystack, needle)                                             \
  do {                                                                               \
    const char *th_h_ = (haystack), *th_n_ = (needle);                               \
    th_checks++;                                                                     \
    if (!th_h_ || !strstr(th_h_, th_n_)) {                                           \
      fprintf(stderr, "  FAIL %s:%d: %s: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
              th_cur_name, th_h_ ? th_h_ : "(null)", th_n_);                         \
      th_cur_failed = 1;                                                             \
    }                                                                                \
  } while (0)

static int th_skip_flag;
/* Marks the current test as skipped (for missing optional data) and leaves it. */
#define test_skip(reason)                                                            \
  do {                                                                               \
    printf("  SKIP %s: %s\n", th_cur_name, reason);                                  \
    th_skip_flag = 1;                                                                \
    longjmp(th_jmp, 1);                                                              \
  } while (0)

#define RUN(fn)                                                                      \
  do {                                                                               \
    th_cur_name = #fn;                                                               \
    th_cur_failed = 0;                                                               \
    th_skip_flag = 0;                                                                \
    int th_checks_before_ = th_checks;                                               \
    if (setjmp(th_jmp) == 0) fn();                                                   \
    if (th_skip_flag) {                                                              \
      th_skipped++;                                                                  \
    } else if (!th_cur_failed && th_checks == th_checks_before_) {                   \
      fprintf(stderr, "  FAIL %s: checked nothing\n", #fn);                          \
      th_failed++;                                                                   \
    } else if (th_cur_failed) {                                                      \
      printf("  FAIL %s\n", #fn);                                                    \
      th_failed++;                                                                   \
    } else {                                                                         \
      printf("  ok   %s\n", #fn);                                                    \
      th_passed++;                                                                   \
    }                                                                                \
  } while (0)

static inline int test_report(void) {
  printf("%d passed, %d failed, %d skipped\n", th_passed, th_failed, th_skipped);
  if (th_passed + th_failed == 0) {
    fprintf(stderr, "no test ran\n");
    return 1;
  }
  return th_failed ? 1 : 0;
}

/* Path helpers: the fixtures folder of the project, the shared test data and the MHR assets.
 * Each returns a static buffer holding "<root>/<rel>". */
static inline const char *th_env_or(const char *var, const char *fallback) {
  const char *v = getenv(var);
  return v && *v ? v : fallback;
}
static inline const char *th_path(const char *root, const char *rel) {
  static char buf[8][4096];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
  return buf[k];
}
#define FIXTURE(rel) th_path(th_env_or("MHRFIT_FIXTURES", "tests/fixtures"), (rel))
#define TESTDATA(rel) th_path(th_env_or("MHRFIT_TESTDATA", "../shared/testdata"), (rel))
#define ASSET(rel) th_path(th_env_or("MHRFIT_ASSETS", "../shared/mhr"), (rel))

/* Runs `$MHRFIT_BIN ARGS` with its output in DIR/cli.log; returns the exit status (-1 when it
 * did not exit). th_cli_log(DIR) returns that output (a static buffer, cut at 64 KiB). */
#include <sys/wait.h>
static inline int th_run_cli(const char *dir, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s %s > %s/cli.log 2>&1", th_env_or("MHRFIT_BIN", "build/mhrfit"), args, dir);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
/* True when the two files exist and hold the same bytes. */
static inline int th_same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int ca = fgetc(fa), cb = fgetc(fb);
    if (ca != cb) same = 0;
    if (ca == EOF || cb == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}
/* Compares two run folders of `mhrfit run`: the sequence files and the settings, and for frames
 * 000000 ... (n_frames of them) fit/<f>/fit.npz and, where `b` has one, the frame's
 * triangulation/<f>/triangulated.npz and stage1/<f>/<cam>.npz (`cam` NULL: none). Returns the
 * number of files that differ; `*compared` the number compared (3 per frame). */
#include <sys/stat.h>
static inline int th_runs_differ(const char *a, const char *b, int n_frames, const char *cam, int *compared) {
  static const char *const seqs[] = {"sequence_fit.npz", "sequence_smoothed.npz", "pipeline_config.json"};
  int differ = 0, n = 0;
  for (size_t i = 0; i < 3; i++, n++) differ += !th_same_file(th_path(a, seqs[i]), th_path(b, seqs[i]));
  struct stat st;
  for (int f = 0; f < n_frames; f++, n += 3) {
    char rel[3][256];
    snprintf(rel[0], sizeof rel[0], "fit/%06d/fit.npz", f);
    snprintf(rel[1], sizeof rel[1], "triangulation/%06d/triangulated.npz", f);
    snprintf(rel[2], sizeof rel[2], "stage1/%06d/%s.npz", f, cam ? cam : "");
    for (int i = 0; i < 3; i++)
      if (i == 0 || (!(i == 2 && !cam) && stat(th_path(b, rel[i]), &st) == 0))
        differ += !th_same_file(th_path(a, rel[i]), th_path(b, rel[i]));
  }
  if (compared) *compared = n;
  return differ;
}
static inline const char *th_cli_log(const char *dir) {
  static char buf[1 << 16];
  FILE *f = fopen(th_path(dir, "cli.log"), "rb");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  return buf;
}

#endif
