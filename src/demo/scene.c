/* The synthetic scene: PRNG, camera ring, ground-truth motion, self-occlusion (see demo.h). */
#include "demo/scene.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mhrfit/keypoints.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---------------------------------------------------------------- PRNG */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void mf_rng_seed(mf_rng *r, uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t x = seed;
  uint64_t a = splitmix64(&x);
  x = a ^ (stream * 0xD1B54A32D192ED03ull);
  uint64_t b = splitmix64(&x);
  x = b ^ (index * 0xABC98388FB8FAC03ull);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mf_rng_next(mf_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double mf_rng_uniform(mf_rng *r) { return (double)(mf_rng_next(r) >> 11) * 0x1.0p-53; }

double mf_rng_range(mf_rng *r, double a, double b) { return a + (b - a) * mf_rng_uniform(r); }

double mf_rng_normal(mf_rng *r) {
  double u1 = 1.0 - mf_rng_uniform(r); /* (0, 1] */
  double u2 = mf_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

size_t mf_rng_index(mf_rng *r, size_t n) { return (size_t)(mf_rng_uniform(r) * (double)n) % n; }

/* ---------------------------------------------------------------- small vectors */

static void sub3(const double a[3], const double b[3], double o[3]) {
  for (int i = 0; i < 3; i++) o[i] = a[i] - b[i];
}
static double dot3(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static void cross3(const double a[3], const double b[3], double o[3]) {
  o[0] = a[1] * b[2] - a[2] * b[1];
  o[1] = a[2] * b[0] - a[0] * b[2];
  o[2] = a[0] * b[1] - a[1] * b[0];
}
static double norm3(const double a[3]) { return sqrt(dot3(a, a)); }
static void normalize3(double a[3]) {
  double n = norm3(a);
  if (n > 0)
    for (int i = 0; i < 3; i++) a[i] /= n;
}

/* ---------------------------------------------------------------- cameras */

void mf_demo_camera(uint64_t seed, size_t i, size_t n, int width, int height, mhrfit_camera *cam, double rvec[3]) {
  mf_rng ring, r;
  mf_rng_seed(&ring, seed, 1, 0);
  double theta0 = mf_rng_range(&ring, -0.3, 0.3); /* camera 0 roughly in front of the subject */
  mf_rng_seed(&r, seed, 2, i);
  double theta = theta0 + 2.0 * M_PI * (double)i / (double)n + mf_rng_range(&r, -0.2, 0.2);
  double radius = mf_rng_range(&r, 3.0, 4.0), h = mf_rng_range(&r, 1.2, 2.0);
  double C[3] = {radius * sin(theta), h, radius * cos(theta)};
  /* the subject's chest, between its start and its position after the step */
  double target[3] = {mf_rng_range(&r, -0.1, 0.1), mf_rng_range(&r, 0.95, 1.15), 0.15 + mf_rng_range(&r, -0.1, 0.1)};
  double z[3], x[3], y[3], up[3] = {0, 1, 0};
  sub3(target, C, z);
  normalize3(z);
  cross3(z, up, x);
  normalize3(x);
  cross3(z, x, y);
  double roll = mf_rng_range(&r, -0.035, 0.035), c = cos(roll), s = sin(roll);
  double R[9];
  for (int a = 0; a < 3; a++) {
    R[a] = c * x[a] + s * y[a];
    R[3 + a] = -s * x[a] + c * y[a];
    R[6 + a] = z[a];
  }
  memset(cam, 0, sizeof *cam);
  snprintf(cam->name, sizeof cam->name, "cam_%zu", i);
  snprintf(cam->table, sizeof cam->table, "cam_%zu", i);
  cam->width = width;
  cam->height = height;
  double fx = mf_rng_range(&r, 1400.0, 1800.0);
  cam->K[0] = fx;
  cam->K[4] = fx * (1.0 + mf_rng_range(&r, -0.003, 0.003));
  cam->K[2] = 0.5 * width + mf_rng_range(&r, -12.0, 12.0);
  cam->K[5] = 0.5 * height + mf_rng_range(&r, -8.0, 8.0);
  cam->K[8] = 1.0;
  cam->dist[0] = mf_rng_range(&r, -0.12, -0.03);
  cam->dist[1] = mf_rng_range(&r, 0.0, 0.06);
  cam->dist[2] = mf_rng_range(&r, -8e-4, 8e-4);
  cam->dist[3] = mf_rng_range(&r, -8e-4, 8e-4);
  cam->n_dist = 5;
  /* the rotation as the file stores it (a Rodrigues vector), read back exactly as loaders do */
  mhrfit_matrix_to_rodrigues(R, rvec);
  mhrfit_rodrigues_to_matrix(rvec, cam->R);
  for (int a = 0; a < 3; a++) cam->t[a] = -(cam->R[3 * a] * C[0] + cam->R[3 * a + 1] * C[1] + cam->R[3 * a + 2] * C[2]);
}

/* ---------------------------------------------------------------- motion */

double mf_demo_clamp(const mhrfit_rig *rig, int p, double x) {
  for (size_t k = 0; k < rig->n_limits; k++)
    if (rig->limits[k].param == p) {
      if (x < rig->limits[k].min) x = rig->limits[k].min;
      if (x > rig->limits[k].max) x = rig->limits[k].max;
    }
  return x;
}

/* A C¹ bump: 0 outside (a, b), raised cosine inside, 1 at the middle. */
static double bump(double u, double a, double b) {
  if (u <= a || u >= b) return 0.0;
  return 0.5 * (1.0 - cos(2.0 * M_PI * (u - a) / (b - a)));
}

/* C¹ smooth step from 0 (u ≤ a) to 1 (u ≥ b). */
static double sstep(double u, double a, double b) {
  double x = (u - a) / (b - a);
  if (x <= 0) return 0.0;
  if (x >= 1) return 1.0;
  return x * x * (3.0 - 2.0 * x);
}

static void add(const mhrfit_rig *rig, double m[204], const char *name, double v) {
  long p = mhrfit_rig_param_index(rig, name);
  if (p >= 0 && p < 204) m[p] += v;
}

size_t mf_demo_script_frames(size_t n) { return n < MF_DEMO_SCRIPT_MIN ? MF_DEMO_SCRIPT_MIN : n; }

static size_t script_standing(size_t n) { return (2 * mf_demo_script_frames(n)) / 3; }

size_t mf_demo_standing_frames(size_t n) {
  size_t s = script_standing(n);
  return s < n ? s : n;
}

void mf_demo_identity(const mhrfit_rig *rig, double scales[68]) {
  static const struct {
    const char *name;
    double v;
  } id[] = {{"scale_spine_length", 0.15}, {"scale_shoulder_width", 0.05}, {"scale_uparms", 0.1},
            {"scale_lowarms", 0.05},      {"scale_r_hands", -0.08},       {"scale_l_hands", -0.08},
            {"scale_hip_width", -0.05},   {"scale_uplegs", 0.12},         {"scale_lowlegs", 0.08},
            {"scale_foot_length", 0.02}};
  for (int i = 0; i < 68; i++) scales[i] = 0.0;
  for (size_t i = 0; i < sizeof id / sizeof id[0]; i++) {
    long p = mhrfit_rig_param_index(rig, id[i].name);
    if (p >= 136 && p < 204) scales[p - 136] = mf_demo_clamp(rig, (int)p, id[i].v);
  }
}

void mf_demo_motion(const mhrfit_rig *rig, size_t f, size_t n, const double scales[68], double root_ty,
                    double m[204]) {
  const size_t n_stand = script_standing(n);
  n = mf_demo_script_frames(n);
  for (int i = 0; i < 204; i++) m[i] = 0.0;
  for (int i = 0; i < 68; i++) m[136 + i] = scales[i];
  m[1] = root_ty;
  /* u: time in the standing part (reaches 1 at its end); v: time in the stepping part */
  double u = f < n_stand ? (double)f / (double)n_stand : 1.0;
  double v = 0.0;
  if (f >= n_stand && n > n_stand + 1) v = (double)(f - n_stand) / (double)(n - 1 - n_stand);
  double tw = sin(2.0 * M_PI * u) * bump(u, 0.0, 1.0);

  /* upper body while standing: arm raises, waving, torso twist, head, fists */
  add(rig, m, "r_uparm_ry", 1.0 * bump(u, 0.02, 0.5));
  add(rig, m, "r_clavicle_ry", 0.15 * bump(u, 0.02, 0.5));
  add(rig, m, "r_elbow_bend", 0.7 * bump(u, 0.1, 0.5));
  add(rig, m, "r_wrist_rz", 0.45 * sin(2.0 * M_PI * 4.0 * u) * bump(u, 0.15, 0.45));
  add(rig, m, "l_uparm_rz", 1.3 * bump(u, 0.35, 0.92));
  add(rig, m, "l_elbow_bend", 0.4 * bump(u, 0.35, 0.92));
  add(rig, m, "l_lowarm_twist", -0.6 * bump(u, 0.4, 0.9));
  add(rig, m, "spine_twist0", 0.5 * tw);
  add(rig, m, "spine_twist1", 0.5 * tw);
  add(rig, m, "spine_bend0", 0.15 * bump(u, 0.3, 0.7));
  add(rig, m, "neck_twist", 0.3 * sin(2.0 * M_PI * 1.5 * u) * bump(u, 0.0, 1.0));
  add(rig, m, "head_bend", 0.15 * bump(u, 0.5, 0.9));
  static const char *const fingers[4] = {"index", "middle", "ring", "pinky"};
  static const double curl[3] = {1.1, 1.2, 0.8};
  double gr = bump(u, 0.48, 0.72) + bump(u, 0.74, 0.98), gl = bump(u, 0.1, 0.35) + bump(u, 0.55, 0.8);
  for (int s = 0; s < 2; s++) {
    double g = s == 0 ? gr : gl;
    char name[64];
    for (int fi = 0; fi < 4; fi++)
      for (int seg = 1; seg <= 3; seg++) {
        snprintf(name, sizeof name, "%s_%s%d_rz", s == 0 ? "r" : "l", fingers[fi], seg);
        add(rig, m, name, curl[seg - 1] * g);
      }
    snprintf(name, sizeof name, "%s_thumb2_rz", s == 0 ? "r" : "l");
    add(rig, m, name, 0.6 * g);
    snprintf(name, sizeof name, "%s_thumb3_rz", s == 0 ? "r" : "l");
    add(rig, m, name, 0.6 * g);
  }

  /* then a step forward (right leg, then left), and a 90° turn to the left with two small steps */
  add(rig, m, "root_tz", 3.5 * sstep(v, 0.0, 0.6)); /* decimetres: 0.35 m */
  add(rig, m, "root_ry", 0.5 * M_PI * sstep(v, 0.45, 1.0));
  add(rig, m, "r_upleg_rz", -0.55 * bump(v, 0.0, 0.32) - 0.2 * bump(v, 0.5, 0.72));
  add(rig, m, "r_knee_bend", 0.75 * bump(v, 0.0, 0.32) + 0.35 * bump(v, 0.5, 0.72));
  add(rig, m, "l_upleg_rz", -0.55 * bump(v, 0.25, 0.57) - 0.2 * bump(v, 0.7, 0.92));
  add(rig, m, "l_knee_bend", 0.75 * bump(v, 0.25, 0.57) + 0.35 * bump(v, 0.7, 0.92));
  add(rig, m, "r_uparm_rz", 0.3 * bump(v, 0.25, 0.57));
  add(rig, m, "l_uparm_rz", 0.3 * bump(v, 0.0, 0.32));

  for (int p = 6; p < 204; p++) m[p] = mf_demo_clamp(rig, p, m[p]);
}

/* ---------------------------------------------------------------- self-occlusion */

bool mf_demo_occluded(const double *kp, int k, const double C[3]) {
  const double *X = kp + 3 * k;
  if (k <= 4) { /* face: a point on the head, visible when it faces the camera */
    double H[3], n[3], w[3];
    for (int a = 0; a < 3; a++) H[a] = 0.5 * (kp[9 + a] + kp[12 + a]);
    sub3(X, H, n);
    sub3(C, X, w);
    double nn = norm3(n), nw = norm3(w);
    if (nn > 1e-9 && nw > 1e-9 && dot3(n, w) / (nn * nw) < -0.1) return true;
  }
  /* the torso: an elliptic cylinder from the mid-hips to the neck keypoint */
  const double A_side = 0.16, A_depth = 0.11;
  double P[3], axis[3], lat[3], fwd[3], tmp[3];
  for (int a = 0; a < 3; a++) P[a] = 0.5 * (kp[27 + a] + kp[30 + a]);
  sub3(kp + 3 * 69, P, axis);
  double L = norm3(axis);
  if (!(L > 1e-6)) return false;
  for (int a = 0; a < 3; a++) axis[a] /= L;
  /* sideways: the mean of the hip and shoulder lines, made orthogonal to the axis */
  for (int a = 0; a < 3; a++) lat[a] = (kp[27 + a] - kp[30 + a]) + (kp[15 + a] - kp[18 + a]);
  double d = dot3(lat, axis);
  for (int a = 0; a < 3; a++) lat[a] -= d * axis[a];
  if (!(norm3(lat) > 1e-9)) return false;
  normalize3(lat);
  cross3(lat, axis, fwd);
  /* local coordinates (side, along, depth) */
  double q0[3], q1[3];
  sub3(C, P, tmp);
  q0[0] = dot3(tmp, lat), q0[1] = dot3(tmp, axis), q0[2] = dot3(tmp, fwd);
  sub3(X, P, tmp);
  q1[0] = dot3(tmp, lat), q1[1] = dot3(tmp, axis), q1[2] = dot3(tmp, fwd);
  double e1 = q1[0] / A_side, e2 = q1[2] / A_depth;
  bool inside = e1 * e1 + e2 * e2 <= 1.0 && q1[1] >= -0.05 && q1[1] <= L + 0.05;
  if (inside) { /* hidden when well behind the axis as seen from the camera */
    double Q[3], w[3], r[3];
    for (int a = 0; a < 3; a++) Q[a] = P[a] + q1[1] * axis[a];
    sub3(Q, C, w);
    normalize3(w);
    sub3(X, Q, r);
    return dot3(r, w) > 0.06;
  }
  /* the segment camera → point, q(τ) = q0 + τ (q1 − q0), against the cylinder */
  double dq[3] = {q1[0] - q0[0], q1[1] - q0[1], q1[2] - q0[2]};
  double a2 = (dq[0] / A_side) * (dq[0] / A_side) + (dq[2] / A_depth) * (dq[2] / A_depth);
  double b2 = 2.0 * ((q0[0] * dq[0]) / (A_side * A_side) + (q0[2] * dq[2]) / (A_depth * A_depth));
  double c2 = (q0[0] / A_side) * (q0[0] / A_side) + (q0[2] / A_depth) * (q0[2] / A_depth) - 1.0;
  double disc = b2 * b2 - 4.0 * a2 * c2;
  if (a2 < 1e-15 || disc <= 0) return false;
  double sq = sqrt(disc), t1 = (-b2 - sq) / (2.0 * a2), t2 = (-b2 + sq) / (2.0 * a2);
  if (t1 < 0) t1 = 0;
  if (t2 > 1.0 - 1e-9) t2 = 1.0 - 1e-9;
  if (t1 >= t2) return false;
  double s1 = q0[1] + t1 * dq[1], s2 = q0[1] + t2 * dq[1];
  double lo = s1 < s2 ? s1 : s2, hi = s1 < s2 ? s2 : s1;
  return hi >= 0.0 && lo <= L;
}
