/* Regression tests of hostile and damaged inputs, each named after the defect it reproduces:
 * special files (a FIFO hung every reader), .npz archives that inflate to gigabytes, corrupt
 * members reported as "No error", a full output device (vague JSON message, ingest going on
 * after the first failed write), empty and mislabelled files. The command-line cases run the
 * built binary in a child process with a time limit (a hang fails the test instead of blocking
 * it) and measure its peak memory. */
#define _DEFAULT_SOURCE /* wait4() */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/file.h"
#include "io/numpy_io.h"
#include "mhrfit/calib.h"
#include "mhrfit/datafile.h"
#include "mhrfit/json.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"

static char tmp[] = "/tmp/mhrfit_inputs_XXXXXX";
static const char *tmp_path(const char *name) { return th_path(tmp, name); }

/* ---- helpers ------------------------------------------------------------------------------ */

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* One member of a hand-made archive: a .npy of `zeros` zero bytes of float32 (deflated at level
 * 9 without holding them in memory: about 1 KB per MiB), or `raw` bytes as they are. The
 * directory records `claim` as the uncompressed size when it is not 0 (a lying directory). */
typedef struct member {
  const char *name;
  uint64_t zeros;
  const void *raw;
  size_t raw_len;
  uint64_t claim;
} member;

static bool deflate_member(const member *m, unsigned char **out, size_t *out_len, uint32_t *crc, uint64_t *usize) {
  char hdr[128];
  size_t hl = 0;
  if (!m->raw) {
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu,), }",
                     (unsigned long long)(m->zeros / 4));
    size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64;
    memmove(hdr + 10, hdr, (size_t)n);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    put16((unsigned char *)hdr + 8, (unsigned)(n + pad + 1));
    memset(hdr + 10 + n, ' ', pad);
    hdr[10 + n + pad] = '\n';
    hl = 10 + (size_t)n + pad + 1;
  }
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  size_t cap = 1 << 16, len = 0;
  unsigned char *buf = malloc(cap);
  static unsigned char zero[1 << 20];
  uLong c = crc32(0L, Z_NULL, 0);
  uint64_t left = m->zeros, fed = 0;
  int phase = 0; /* 0 header or raw, 1 zeros, 2 finish */
  for (;;) {
    if (zs.avail_in == 0) {
      if (phase == 0) {
        const void *p = m->raw ? m->raw : hdr;
        size_t n = m->raw ? m->raw_len : hl;
        zs.next_in = (Bytef *)p;
        zs.avail_in = (uInt)n;
        c = crc32(c, p, (uInt)n);
        fed += n;
        phase = 1;
      } else if (phase == 1 && left) {
        uInt k = left > sizeof zero ? (uInt)sizeof zero : (uInt)left;
        zs.next_in = zero;
        zs.avail_in = k;
        c = crc32(c, zero, k);
        left -= k;
        fed += k;
      } else {
        phase = 2;
      }
    }
    if (cap - len < 4096) buf = realloc(buf, cap *= 2);
    zs.next_out = buf + len;
    zs.avail_out = (uInt)(cap - len);
    int ret = deflate(&zs, phase == 2 ? Z_FINISH : Z_NO_FLUSH);
    len = cap - zs.avail_out;
    if (ret == Z_STREAM_END) break;
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      deflateEnd(&zs);
      free(buf);
      return false;
    }
  }
  deflateEnd(&zs);
  *out = buf;
  *out_len = len;
  *crc = (uint32_t)c;
  *usize = m->claim ? m->claim : fed;
  return true;
}

/* Writes a ZIP of deflated members in the simple layout NumPy writes (no data descriptors). */
static bool write_zip(const char *path, const member *m, int n) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  unsigned char cd[64 * 128];
  size_t cdl = 0, off = 0;
  for (int i = 0; i < n; i++) {
    unsigned char *data;
    size_t dl;
    uint32_t crc;
    uint64_t usize;
    if (!deflate_member(&m[i], &data, &dl, &crc, &usize)) return false;
    size_t nl = strlen(m[i].name);
    unsigned char lh[30];
    put32(lh, 0x04034b50u);
    put16(lh + 4, 20);
    put16(lh + 6, 0);
    put16(lh + 8, 8);
    put16(lh + 10, 0);
    put16(lh + 12, 33);
    put32(lh + 14, crc);
    put32(lh + 18, (uint32_t)dl);
    put32(lh + 22, (uint32_t)usize);
    put16(lh + 26, (unsigned)nl);
    put16(lh + 28, 0);
    fwrite(lh, 1, 30, f);
    fwrite(m[i].name, 1, nl, f);
    fwrite(data, 1, dl, f);
    free(data);
    unsigned char *c = cd + cdl;
    put32(c, 0x02014b50u);
    put16(c + 4, 0x033f);
    memcpy(c + 6, lh + 4, 26);
    memset(c + 32, 0, 10);
    put32(c + 38, 0100666u << 16);
    put32(c + 42, (uint32_t)off);
    memcpy(c + 46, m[i].name, nl);
    cdl += 46 + nl;
    off += 30 + nl + dl;
  }
  unsigned char end[22] = {0};
  put32(end, 0x06054b50u);
  put16(end + 8, (unsigned)n);
  put16(end + 10, (unsigned)n);
  put32(end + 12, (uint32_t)cdl);
  put32(end + 16, (uint32_t)off);
  fwrite(cd, 1, cdl, f);
  fwrite(end, 1, 22, f);
  return fclose(f) == 0;
}

/* Runs "$MHRFIT_BIN args..." (NULL-terminated) with stdout and stderr in `log`, killed after
 * `timeout_s` seconds, under an optional file-size limit (fsize > 0: writes beyond it fail with
 * EFBIG, SIGXFSZ ignored). Returns the exit status, -1 when killed; its peak memory in *rss_kb. */
static int run_bin(const char *const *args, const char *log, int timeout_s, rlim_t fsize, long *rss_kb) {
  const char *bin = th_env_or("MHRFIT_BIN", "build/mhrfit");
  const char *argv[32];
  int n = 0;
  argv[n++] = bin;
  for (; args[n - 1] && n < 31; n++) argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (fsize) {
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit rl = {fsize, fsize};
      setrlimit(RLIMIT_FSIZE, &rl);
    }
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  if (pid < 0) return -2;
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  for (int waited = 0;; waited++) {
    pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) break;
    if (waited >= timeout_s * 20) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      return -1;
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
  if (rss_kb) *rss_kb = ru.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The peak memory (kB) of the binary doing nearly nothing (`mhrfit --version`): what a refused
 * input may add to is this baseline, which a sanitizer build raises by tens of MB. */
static long baseline_rss_kb(void) {
  static long base = -1;
  if (base < 0) {
    const char *a[] = {"--version", NULL};
    char log[4200]; /* not tmp_path(): its buffer may hold the caller's path */
    snprintf(log, sizeof log, "%s/version.log", tmp);
    long rss = 0;
    base = run_bin(a, log, 30, 0, &rss) == 0 ? rss : 0;
  }
  return base;
}

static const char *read_text(const char *path) {
  static char buf[1 << 16];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  return buf;
}

static int count_lines(const char *text, const char *needle) {
  int k = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) k++;
  return k;
}

static void copy_file(const char *from, const char *to) {
  unsigned char *d;
  size_t n;
  mhrfit_error err = {0};
  REQUIRE(mf_read_file(from, 0, &d, &n, &err));
  FILE *f = fopen(to, "wb");
  REQUIRE(f);
  CHECK(fwrite(d, 1, n, f) == n);
  fclose(f);
  free(d);
}

/* ---- defect 8: a FIFO (or other special file) as an input hangs --------------------------- */

static void test_fifo_as_input_is_refused(void) {
  const char *fifo = tmp_path("f.toml");
  REQUIRE(mkfifo(fifo, 0644) == 0);
  alarm(30); /* a blocking open would hang here: the alarm kills the test instead */
  mhrfit_error err = {0};
  unsigned char *d;
  size_t n;
  CHECK(!mf_read_file(fifo, 0, &d, &n, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "is a named pipe (FIFO), not a regular file");
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_calib_load(fifo, NULL, &err));
  CHECK_CONTAINS(err.message, "f.toml: is a named pipe (FIFO)");
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_datafile_load(fifo, NULL, NULL, &err));
  CHECK_CONTAINS(err.message, "named pipe");
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_numpy_load(fifo, NULL, &err));
  CHECK_CONTAINS(err.message, "named pipe");
  /* a FIFO under a camera's file name is refused, not taken for a missing view */
  REQUIRE(mkfifo(tmp_path("cam_0.npz"), 0644) == 0);
  char *p = NULL;
  mhrfit_error_clear(&err);
  CHECK(!mf_numpy_load_camera(tmp, "cam_0", NULL, &p, &err) && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "cam_0.npz: is a named pipe");
  free(p);
  mhrfit_error_clear(&err);
  CHECK(!mf_read_file("/dev/zero", 0, &d, &n, &err));
  CHECK_CONTAINS(err.message, "/dev/zero: is a character device");
  alarm(0);
  /* the command line: inspect FIFO and triangulate --calib FIFO exit 1 at once */
  const char *a1[] = {"inspect", fifo, NULL};
  CHECK(run_bin(a1, tmp_path("fifo1.log"), 20, 0, NULL) == 1);
  CHECK_CONTAINS(read_text(tmp_path("fifo1.log")), "is a named pipe (FIFO), not a regular file");
  const char *a2[] = {"triangulate", "--calib", fifo, "--cams", "a", "b", "--input", tmp, "--out",
                      tmp_path("o.npz"), NULL};
  CHECK(run_bin(a2, tmp_path("fifo2.log"), 20, 0, NULL) == 1);
  CHECK_CONTAINS(read_text(tmp_path("fifo2.log")), "f.toml: is a named pipe (FIFO)");
  unlink(tmp_path("cam_0.npz"));
  unlink(fifo);
}

/* ---- defect 9: a 1 MB .npz inflates to gigabytes ------------------------------------------ */

static void test_npz_bomb_refused_before_inflating(void) {
  /* 300 MiB of zeros in about 300 KB: over the 256 MiB limit of a per-view input */
  member one = {"m0.npy", (uint64_t)300 << 20, NULL, 0, 0};
  const char *bomb = tmp_path("bomb.npz");
  REQUIRE(write_zip(bomb, &one, 1));
  struct stat st;
  REQUIRE(stat(bomb, &st) == 0 && st.st_size < (1 << 20));
  mhrfit_error err = {0};
  mhrfit_npy_limits lim = {.max_total_bytes = MHRFIT_NPY_INPUT_MAX_TOTAL};
  CHECK(!mhrfit_npz_load(bomb, &lim, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "inflate to more than 256.0 MiB");
  CHECK_CONTAINS(err.message, "nothing was inflated");
  /* the same through libzip (archives over 4 MiB are streamed) */
  mhrfit_error_clear(&err);
  CHECK(!mf_npz_load_ex(bomb, &lim, 1024, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "inflate to more than 256.0 MiB");
  /* four members each under the limit, together over it */
  member four[4] = {{"a.npy", (uint64_t)80 << 20, NULL, 0, 0}, {"b.npy", (uint64_t)80 << 20, NULL, 0, 0},
                    {"c.npy", (uint64_t)80 << 20, NULL, 0, 0}, {"d.npy", (uint64_t)80 << 20, NULL, 0, 0}};
  REQUIRE(write_zip(tmp_path("four.npz"), four, 4));
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_npz_load(tmp_path("four.npz"), &lim, &err) && err.type == MHRFIT_ERR_LIMIT);
  CHECK_CONTAINS(err.message, "reached at member 'd.npy'");
  /* a directory claiming 1 GiB for a few bytes of deflate is corrupt */
  member lie = {"x.npy", 4096, NULL, 0, (uint64_t)1 << 30};
  REQUIRE(write_zip(tmp_path("lie.npz"), &lie, 1));
  mhrfit_npy_limits big = {.max_total_bytes = (size_t)2 << 30};
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_npz_load(tmp_path("lie.npz"), &big, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "more than deflate can encode");
  /* the command line: refused at once with little memory; the option raises the limit */
  long rss = 0;
  const char *a1[] = {"inspect", bomb, NULL};
  CHECK(run_bin(a1, tmp_path("bomb1.log"), 60, 0, &rss) == 1);
  CHECK_CONTAINS(read_text(tmp_path("bomb1.log")), "--max_inflated_mib raises it");
  CHECK(rss > 0 && baseline_rss_kb() > 0 && rss - baseline_rss_kb() < 64 * 1024);
  const char *a2[] = {"inspect", bomb, "--max_inflated_mib", "400", NULL};
  CHECK(run_bin(a2, tmp_path("bomb2.log"), 60, 0, &rss) == 0);
  CHECK_CONTAINS(read_text(tmp_path("bomb2.log")), "m0                           float32   (78643200,)");
  CHECK(rss - baseline_rss_kb() > 300 * 1024); /* it really was inflated this time */
}

static void test_npz_members_not_needed_are_not_inflated(void) {
  /* a stage-1 file whose 'mask' inflates to 300 MiB still triangulates: only the keypoints are
   * read; inspect with a KEY reads only that member */
  float kp[140];
  for (int i = 0; i < 140; i++) kp[i] = (float)(100 + i);
  char npy[256 + sizeof kp];
  const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (70, 2), }";
  size_t hl = strlen(h), total = 10 + hl + 1, pad = (64 - total % 64) % 64;
  memcpy(npy, "\x93NUMPY\x01\x00", 8);
  put16((unsigned char *)npy + 8, (unsigned)(hl + pad + 1));
  memcpy(npy + 10, h, hl);
  memset(npy + 10 + hl, ' ', pad);
  npy[10 + hl + pad] = '\n';
  memcpy(npy + total + pad, kp, sizeof kp);
  member m[2] = {{"pred_keypoints_2d.npy", 0, npy, total + pad + sizeof kp, 0},
                 {"mask.npy", (uint64_t)300 << 20, NULL, 0, 0}};
  REQUIRE(mkdir(tmp_path("frame"), 0755) == 0);
  REQUIRE(write_zip(tmp_path("frame/cam_0.npz"), m, 2));
  REQUIRE(write_zip(tmp_path("frame/cam_1.npz"), m, 2));
  const char *cams[2] = {"cam_0", "cam_1"};
  mhrfit_obs_options o = {.format = "stage1", .n_kp = 70};
  mhrfit_error err = {0};
  mhrfit_observations *obs = mhrfit_observations_load(tmp_path("frame"), cams, 2, &o, &err);
  if (!obs) fprintf(stderr, "  %s\n", err.message);
  REQUIRE(obs);
  CHECK(obs->uv[0] == 100 && obs->uv[1] == 101);
  mhrfit_observations_free(obs);
  long rss = 0;
  const char *a[] = {"inspect", tmp_path("frame/cam_0.npz"), "pred_keypoints_2d", NULL};
  CHECK(run_bin(a, tmp_path("key.log"), 30, 0, &rss) == 0);
  CHECK_CONTAINS(read_text(tmp_path("key.log")), "[69] [238.0, 239.0]");
  CHECK(rss > 0 && baseline_rss_kb() > 0 && rss - baseline_rss_kb() < 64 * 1024);
  /* without a KEY every member counts: over the limit */
  const char *b[] = {"inspect", tmp_path("frame/cam_0.npz"), NULL};
  CHECK(run_bin(b, tmp_path("nokey.log"), 30, 0, NULL) == 1);
}

/* A SAM 3D Body output of a view: the first of a demo capture (written once by `mhrfit demo`, so
 * that the tests below always run), into `sam`. */
static void demo_view(char *sam, size_t size) {
  static bool made;
  if (!made) {
    const char *a[] = {"demo", "--out", tmp_path("demo"), "--num_frames", "1", "--no_missing_views", "--quiet", NULL};
    REQUIRE(run_bin(a, tmp_path("demo.log"), 120, 0, NULL) == 0);
    made = true;
  }
  snprintf(sam, size, "%s", tmp_path("demo/000000/cam_0.npz"));
  REQUIRE(access(sam, R_OK) == 0);
}

static void test_ingest_bomb_fails_its_view_only(void) {
  char sam[4096]; /* th_path's buffers are reused */
  demo_view(sam, sizeof sam);
  REQUIRE(mkdir(tmp_path("cap"), 0755) == 0 && mkdir(tmp_path("cap/000000"), 0755) == 0);
  copy_file(sam, tmp_path("cap/000000/cam_0.npz"));
  copy_file(tmp_path("bomb.npz"), tmp_path("cap/000000/cam_1.npz"));
  long rss = 0;
  const char *a[] = {"ingest", "--input", tmp_path("cap"), "--cams", "cam_0", "cam_1", "--out",
                     tmp_path("cap_out"), NULL};
  CHECK(run_bin(a, tmp_path("ingest_bomb.log"), 60, 0, &rss) == 1);
  const char *log = read_text(tmp_path("ingest_bomb.log"));
  CHECK_CONTAINS(log, "camera 'cam_1'");
  CHECK_CONTAINS(log, "inflate to more than 256.0 MiB");
  CHECK_CONTAINS(log, "views: 1 written");
  CHECK(rss > 0 && rss < 100 * 1024);
}

/* ---- defect 10: vague or wrong messages --------------------------------------------------- */

static void test_corrupt_member_is_not_no_error(void) {
  /* the stream inflates to 4224 bytes, the directory says 8192: both readers say what is wrong */
  member short_member = {"s.npy", 4096, NULL, 0, 8192};
  REQUIRE(write_zip(tmp_path("short.npz"), &short_member, 1));
  mhrfit_error err = {0};
  CHECK(!mhrfit_npz_load(tmp_path("short.npz"), NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "member 's.npy' is corrupt or truncated");
  CHECK(!strstr(err.message, "No error"));
  mhrfit_error_clear(&err);
  CHECK(!mf_npz_load_ex(tmp_path("short.npz"), NULL, 16, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "member 's.npy' is corrupt or truncated");
  CHECK(!strstr(err.message, "No error"));
}

static void test_full_disk_json_names_path_and_errno(void) {
  /* a JSON document larger than the stdio buffer, written under a 16 KiB file-size limit */
  mhrfit_error err = {0};
  mhrfit_value *doc = mhrfit_value_new_dict(&err);
  char key[32], val[1000];
  memset(val, 'x', sizeof val - 1);
  val[sizeof val - 1] = '\0';
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "k%d", i);
    REQUIRE(mhrfit_value_dict_set(doc, key, mhrfit_value_new_string(MHRFIT_V_STRING, val, strlen(val), &err), &err));
  }
  struct rlimit old, rl;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  rl.rlim_cur = 16384;
  rl.rlim_max = old.rlim_max;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0);
  bool ok = mf_write_json_atomic(tmp_path("big.json"), doc, 1, &err);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  mhrfit_value_free(doc);
  CHECK(!ok && err.type == MHRFIT_ERR_IO);
  CHECK_CONTAINS(err.message, "big.json");
  CHECK_CONTAINS(err.message, strerror(EFBIG));
  CHECK(err.sys_errno == EFBIG && mhrfit_error_is_device_full(&err));
  CHECK(access(tmp_path("big.json"), F_OK) != 0); /* nothing left under the final name */
}

static void test_ingest_stops_at_first_write_failure(void) {
  char sam[4096]; /* th_path's buffers are reused */
  demo_view(sam, sizeof sam);
  REQUIRE(mkdir(tmp_path("full"), 0755) == 0);
  for (int f = 0; f < 4; f++)
    for (int c = 0; c < 2; c++) {
      char d[64], p[64];
      snprintf(d, sizeof d, "full/%06d", f);
      snprintf(p, sizeof p, "full/%06d/cam_%d.npz", f, c);
      mkdir(tmp_path(d), 0755);
      copy_file(sam, tmp_path(p));
    }
  /* the stage-1 files are ~10 KB: under a 4 KiB file-size limit the first write fails, as on a full
   * disk (the lock file and the messages are smaller) */
  struct stat st;
  REQUIRE(stat(sam, &st) == 0 && st.st_size > 8192);
  const char *a[] = {"ingest", "--input", tmp_path("full"), "--cams", "cam_0", "cam_1", "--out",
                     tmp_path("full_out"), NULL};
  CHECK(run_bin(a, tmp_path("full.log"), 60, 4096, NULL) == 1);
  const char *log = read_text(tmp_path("full.log"));
  CHECK(count_lines(log, "error:") == 1);
  CHECK_CONTAINS(log, "frame '000000' camera 'cam_0'");
  CHECK_CONTAINS(log, strerror(EFBIG));
  CHECK_CONTAINS(log, "stopped at this first write failure");
}

static void test_empty_npz_is_not_an_empty_toml(void) {
  FILE *f = fopen(tmp_path("empty.npz"), "wb");
  REQUIRE(f);
  fclose(f);
  f = fopen(tmp_path("text.npy"), "wb");
  REQUIRE(f);
  fputs("title = 'not numpy'\n", f);
  fclose(f);
  mhrfit_error err = {0};
  CHECK(!mhrfit_datafile_load(tmp_path("empty.npz"), NULL, NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "empty.npz: empty file (0 bytes)");
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_numpy_load(tmp_path("empty.npz"), NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "empty file (0 bytes)"); /* as ingest reads a SAM output */
  mhrfit_error_clear(&err);
  CHECK(!mhrfit_datafile_load(tmp_path("text.npy"), NULL, NULL, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "not a .npy file");
  const char *a[] = {"inspect", tmp_path("empty.npz"), NULL};
  CHECK(run_bin(a, tmp_path("empty.log"), 20, 0, NULL) == 1);
  CHECK_CONTAINS(read_text(tmp_path("empty.log")), "empty file");
  /* the format still comes from the content when there is one */
  mhrfit_datafile_format fmt;
  f = fopen(tmp_path("doc.txt"), "wb");
  REQUIRE(f);
  fputs("{\"a\": [1, 2]}\n", f);
  fclose(f);
  mhrfit_value *v = mhrfit_datafile_load(tmp_path("doc.txt"), NULL, &fmt, &err);
  CHECK(v && fmt == MHRFIT_DATAFILE_JSON && mhrfit_datafile_find(v, "a[1]") &&
        mhrfit_datafile_find(v, "a[1]")->u.integer == 2 && !mhrfit_datafile_find(v, "a[2]"));
  mhrfit_value_free(v);
}

static void test_triangulate_wrong_k_says_the_shape(void) {
  REQUIRE(mkdir(tmp_path("arrays"), 0755) == 0);
  size_t shape[3] = {5, 17, 3};
  for (int c = 0; c < 2; c++) {
    mhrfit_array *a = mhrfit_array_new(MHRFIT_DT_F32, 0, 3, shape, 0, NULL);
    char p[64];
    snprintf(p, sizeof p, "arrays/cam_%d.npy", c);
    mhrfit_error err = {0};
    CHECK(mhrfit_npy_save(tmp_path(p), a, &err));
    mhrfit_array_free(a);
  }
  const char *cams[2] = {"cam_0", "cam_1"};
  mhrfit_obs_options o = {.format = "arrays", .n_kp = 70};
  mhrfit_error err = {0};
  CHECK(!mhrfit_observations_load(tmp_path("arrays"), cams, 2, &o, &err) && err.type == MHRFIT_ERR_FORMAT);
  CHECK_CONTAINS(err.message, "has shape (5, 17, 3)");
  o.format = "auto";
  CHECK(!mhrfit_observations_load(tmp_path("arrays"), cams, 2, &o, &err));
  CHECK_CONTAINS(err.message, "a plain array of shape (5, 17, 3) is ambiguous");
}

static void cleanup(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  CHECK(system(cmd) == 0);
}

/* With MHRFIT_WRITE_FUZZ_SEEDS=DIR, the archives of fuzz/seeds/fuzz_npz and fuzz_stage1 that
 * come from here are written to DIR: 8 MiB of zeros in 8 KB (inflated for real), and a directory
 * claiming 1 GiB for a few bytes. */
static void write_fuzz_seeds(void) {
  const char *dir = getenv("MHRFIT_WRITE_FUZZ_SEEDS");
  member zeros = {"zeros.npy", (uint64_t)8 << 20, NULL, 0, 0}, lie = {"lie.npy", 4096, NULL, 0, (uint64_t)1 << 30};
  CHECK(write_zip(th_path(dir, "zeros_8mib.npz"), &zeros, 1));
  CHECK(write_zip(th_path(dir, "lying_directory.npz"), &lie, 1));
  printf("  wrote the fuzz seeds to %s\n", dir);
}

int main(void) {
  if (!mkdtemp(tmp)) return 1;
  if (getenv("MHRFIT_WRITE_FUZZ_SEEDS")) RUN(write_fuzz_seeds);
  RUN(test_fifo_as_input_is_refused);
  RUN(test_npz_bomb_refused_before_inflating);
  RUN(test_npz_members_not_needed_are_not_inflated);
  RUN(test_ingest_bomb_fails_its_view_only);
  RUN(test_corrupt_member_is_not_no_error);
  RUN(test_full_disk_json_names_path_and_errno);
  RUN(test_ingest_stops_at_first_write_failure);
  RUN(test_empty_npz_is_not_an_empty_toml);
  RUN(test_triangulate_wrong_k_says_the_shape);
  RUN(cleanup);
  return test_report();
}
