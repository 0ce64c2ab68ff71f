/* Scale of `mhrfit run` and `mhrfit batch` on demo captures: threads, memory, sessions.
 *
 *   bench_scale MHRFIT_BINARY ASSETS_DIR [FRAMES=2000] [RUNS=3] [WORK_DIR]
 *
 * 1. `run --jobs 1` against `--jobs 2` (and every core) on a FRAMES-frame, 4-camera demo: median
 *    wall time, speed-up, peak resident memory of the process; the sequence files compared byte
 *    for byte (goal on 2 cores: >= 1.6x).
 * 2. Peak memory and wall time of one run of FRAMES/10 frames and one of FRAMES frames (one
 *    thread), frames per second per core, and the growth of the peak per 1,000 frames between
 *    them (goal: <= 300 MB at 20,000 frames: run `bench_scale BIN ASSETS 20000 1`).
 * 3. `batch` of 8 sessions of FRAMES/8 frames: `--jobs 2` against `--jobs 1` (sequential).
 * Every run starts from nothing: a fresh output folder, and earlier outputs are only removed at the
 * end (on ext4, creating files soon after deleting many costs extra kernel time in the inode
 * allocator, which would be measured instead of mhrfit). The machine is not pinned: the point is
 * to use several cores. The captures are generated once by `mhrfit demo` into WORK_DIR (default:
 * a temporary folder, removed at the end); this process stays small, as the peak memory the
 * kernel reports for a child includes that of the process it was started from. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

/* Runs argv (argv[0] the program), returns its wall time and peak RSS (MiB); -1 on failure. */
static double spawn(char *const *argv, double *peak_mib) {
  double t0 = bench_now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) return -1;
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_scale: %s %s failed (status %d)\n", argv[0], argv[1], status);
    return -1;
  }
  if (peak_mib) *peak_mib = (double)ru.ru_maxrss / 1024.0;
  return bench_now() - t0;
}

static double run(const char *bin, const char *rig, const char *capture, const char *out, const char *jobs,
                  double *peak) {
  char calib[4400];
  snprintf(calib, sizeof calib, "%s/calibration.toml", capture);
  char *argv[] = {(char *)bin, "run",  "--input", (char *)capture, "--calib", calib, "--out", (char *)out,
                  "--rig", (char *)rig, "--jobs", (char *)jobs, "--quiet", NULL};
  return spawn(argv, peak);
}

static bool same_file(const char *a, const char *b) {
  FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
  bool same = x && y;
  for (int c, d; same;) {
    c = fgetc(x);
    d = fgetc(y);
    if (c != d) same = false;
    if (c == EOF) break;
  }
  if (x) fclose(x);
  if (y) fclose(y);
  return same;
}

/* The demo capture made by the binary (not in this process: a child's peak memory counts the
 * memory of the process it was started from). */
static bool demo(const char *bin, const char *rig, const char *dir, long frames, unsigned seed) {
  char n[32], sd[32];
  snprintf(n, sizeof n, "%ld", frames);
  snprintf(sd, sizeof sd, "%u", seed);
  char *argv[] = {(char *)bin, "demo", "--out", (char *)dir, "--num_frames", n, "--seed", sd, "--rig", (char *)rig,
                  "--quiet", NULL};
  return spawn(argv, NULL) >= 0;
}

int main(int argc, char **argv) {
  bench_demo_args a;
  if (!bench_demo_args_parse(argc, argv, "bench_scale", 3, &a)) return 2;
  long F = a.frames, R = a.runs;
  char work[4096], cap[4200], out[4300], out2[4300], rig[4300], p1[4400], p2[4400];
  bool temp;
  if (!bench_work_dir(a.work_dir, "mhrfit_bench_scale", work, sizeof work, &temp)) return 1;
  /* a WORK_DIR given again: the outputs of the earlier benchmark go (its captures are remade) */
  const char *old[] = {"run_j1_", "run_j2_", "run_j0_", "mem_small", "mem_large", "bruns"};
  for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
    snprintf(out, sizeof out, "rm -rf '%s'/%s*", work, old[i]);
    if (system(out) != 0) fprintf(stderr, "bench_scale: could not remove %s/%s*\n", work, old[i]);
  }
  snprintf(rig, sizeof rig, "%s/rig.npz", work);
  char *imp[] = {(char *)a.bin, "rig", "import", "--out", rig, "--assets", (char *)a.assets, "--quiet", NULL};
  if (spawn(imp, NULL) < 0) return 1;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("bench_scale: %ld cores online; median of %ld runs\n\n", cores, R);

  /* 1. threads */
  snprintf(cap, sizeof cap, "%s/cap_%ld", work, F);
  if (!demo(a.bin, rig, cap, F, 1)) return 1;
  const char *jobs[3] = {"1", "2", "0"};
  double wall[3], peak[3];
  double *t = calloc((size_t)R * 3, sizeof *t);
  if (!t) return 1;
  for (long r = 0; r < R; r++) /* the settings alternate, so that a drift of the machine touches all */
    for (int j = 0; j < 3; j++) {
      snprintf(out, sizeof out, "%s/run_j%s_%ld", work, jobs[j], r);
      if ((t[j * R + r] = run(a.bin, rig, cap, out, jobs[j], &peak[j])) < 0) return 1;
    }
  for (int j = 0; j < 3; j++) wall[j] = bench_median(t + j * R, (size_t)R);
  free(t);
  bool same = true;
  for (int j = 1; j < 3; j++)
    for (int k = 0; k < 2; k++) {
      const char *name = k ? "sequence_smoothed.npz" : "sequence_fit.npz";
      snprintf(p1, sizeof p1, "%s/run_j1_0/%s", work, name);
      snprintf(p2, sizeof p2, "%s/run_j%s_0/%s", work, jobs[j], name);
      same = same && same_file(p1, p2);
    }
  printf("1. run of %ld frames x 4 cameras by threads (goal on 2 cores: --jobs 2 >= 1.6x --jobs 1)\n\n", F);
  printf("| --jobs | wall s | frames/s | speed-up | peak MiB |\n|---|---:|---:|---:|---:|\n");
  for (int j = 0; j < 3; j++)
    printf("| %s%s | %.2f | %.0f | %.2fx | %.0f |\n", jobs[j], j == 2 ? " (every core)" : "", wall[j],
           (double)F / wall[j], wall[0] / wall[j], peak[j]);
  printf("\nsequence files of --jobs 2 and 0 identical to --jobs 1: %s\n\n", same ? "yes" : "NO");

  /* 2. memory against the length of the take */
  long Fs = F / 10 > 100 ? F / 10 : 100;
  snprintf(out2, sizeof out2, "%s/cap_%ld", work, Fs);
  if (!demo(a.bin, rig, out2, Fs, 1)) return 1;
  double pk_s, pk_l, w_s, w_l;
  snprintf(out, sizeof out, "%s/mem_small", work);
  if ((w_s = run(a.bin, rig, out2, out, "1", &pk_s)) < 0) return 1;
  snprintf(out, sizeof out, "%s/mem_large", work);
  if ((w_l = run(a.bin, rig, cap, out, "1", &pk_l)) < 0) return 1;
  printf("2. peak memory against the take's length (one thread; goal <= 300 MB at 20,000 frames)\n\n");
  printf("| frames | wall s | frames/s/core | peak MiB |\n|---:|---:|---:|---:|\n");
  printf("| %ld | %.2f | %.0f | %.0f |\n| %ld | %.2f | %.0f | %.0f |\n", Fs, w_s, (double)Fs / w_s, pk_s, F, w_l,
         (double)F / w_l, pk_l);
  printf("\ngrowth of the peak: %.2f MiB per 1,000 frames\n\n", (pk_l - pk_s) / ((double)(F - Fs) / 1000.0));

  /* 3. a batch of 8 sessions */
  long Fb = F / 8 > 20 ? F / 8 : 20;
  char manifest[4400];
  snprintf(manifest, sizeof manifest, "%s/batch.toml", work);
  FILE *m = fopen(manifest, "w");
  if (!m) return 1;
  fprintf(m, "[defaults]\nrig = \"rig.npz\"\n");
  for (int s = 0; s < 8; s++) {
    snprintf(out2, sizeof out2, "%s/bcap%d", work, s);
    if (!demo(a.bin, rig, out2, Fb, (unsigned)(s + 2))) return 1;
    fprintf(m, "\n[[session]]\nname = \"s%d\"\ninput = \"bcap%d\"\ncalib = \"bcap%d/calibration.toml\"\nout = \"bruns/s%d\"\n",
            s, s, s, s);
  }
  fclose(m);
  double bw[2], *tb = calloc((size_t)R * 2, sizeof *tb);
  if (!tb) return 1;
  snprintf(out, sizeof out, "%s/bruns", work);
  for (long r = 0; r < R; r++)
    for (int j = 0; j < 2; j++) {
      char *argv_b[] = {(char *)a.bin, "batch", "--manifest", manifest, "--jobs", j ? "2" : "1", "--quiet", NULL};
      if ((tb[j * R + r] = spawn(argv_b, NULL)) < 0) return 1;
      snprintf(out2, sizeof out2, "%s/bruns_j%d_%ld", work, j + 1, r); /* kept aside: the next run starts anew */
      if (rename(out, out2) != 0) return 1;
    }
  for (int j = 0; j < 2; j++) bw[j] = bench_median(tb + j * R, (size_t)R);
  free(tb);
  printf("3. batch of 8 sessions of %ld frames\n\n| batch --jobs | wall s | speed-up |\n|---|---:|---:|\n", Fb);
  printf("| 1 (sequential) | %.2f | 1.00x |\n| 2 | %.2f | %.2fx |\n", bw[0], bw[1], bw[0] / bw[1]);
  if (temp) bench_remove_dir("bench_scale", work);
  return same ? 0 : 1;
}
