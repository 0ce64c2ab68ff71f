/* Command-line plumbing shared by the subcommands (not part of the library API).
 *
 * Every subcommand is a function `int mf_cmd_NAME(int argc, char **argv)` (argv[0] is the
 * subcommand name) listed in main.c. Options are declared in a table of mf_opt and parsed by
 * mf_args_parse(), which accepts `--snake_case` and `--kebab-case`, `--opt value` and
 * `--opt=value`, and prints `--help` from the table. Exit codes: 0 success, 1 runtime failure,
 * 2 usage error. */
#ifndef MF_CLI_CLI_H
#define MF_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

enum { MF_EXIT_OK = 0, MF_EXIT_FAILURE = 1, MF_EXIT_USAGE = 2 };

typedef enum mf_opt_type {
  MF_OPT_FLAG,   /* bool; `--name` sets true; `--no_name` sets false */
  MF_OPT_STRING, /* const char * pointing into argv */
  MF_OPT_INT,    /* long */
  MF_OPT_DOUBLE, /* double */
  MF_OPT_LIST,   /* mf_strlist: one or more values up to the next option */
  MF_OPT_ALIAS   /* another name of the option named in `metavar` (MF_OPT_ALIAS_OF) */
} mf_opt_type;

/* Values of a MF_OPT_LIST option or the positional arguments; items point into argv. */
typedef struct mf_strlist {
  const char **items;
  size_t count;
} mf_strlist;

typedef struct mf_opt {
  const char *name;    /* snake_case, without dashes */
  mf_opt_type type;
  void *dest;          /* bool*, const char**, long*, double* or mf_strlist* */
  const char *metavar; /* shown in --help, e.g. "FILE" */
  const char *help;    /* one line; state the default */
  bool *seen;          /* optional: set true when the option appears */
} mf_opt;

/* Another accepted name of option `target` (an older name kept working): a row of the table
 * whose --help text is a note "(also --NAME)" on the target's line. */
#define MF_OPT_ALIAS_OF(name, target) {(name), MF_OPT_ALIAS, NULL, (target), NULL, NULL}

/* The --quiet option, meaning the same in every command: no progress and no informational lines;
 * warnings and errors still go to stderr (and what a command is asked to show, such as inspect's
 * listing or demo --run's table, is still shown). */
#define MF_OPT_QUIET_HELP "print no progress or informational lines; warnings and errors still go to stderr"
#define MF_OPT_QUIET(dest) {"quiet", MF_OPT_FLAG, (dest), NULL, MF_OPT_QUIET_HELP, NULL}

typedef struct mf_cmd_spec {
  const char *name;     /* "triangulate" */
  const char *usage;    /* "--calib FILE --cams A B ... --input DIR --out OUT.npz [options]" */
  const char *summary;  /* one-paragraph description */
  const mf_opt *opts;
  size_t n_opts;
  size_t min_positional, max_positional; /* accepted positional argument counts */
} mf_cmd_spec;

/* Parses argv[1..argc-1] for `spec`. Returns -1 on success, else the exit code the command
 * must return (MF_EXIT_OK after printing --help, MF_EXIT_USAGE after printing a usage error).
 * `positional` receives the non-option arguments (freed with mf_strlist_free). An alias row
 * (MF_OPT_ALIAS_OF) stands for its target option. */
int mf_args_parse(const mf_cmd_spec *spec, int argc, char **argv, mf_strlist *positional);

/* Prints the help lines of opts[0..n-1] as --help does (for help grouped by the command). */
void mf_print_options(const mf_opt *opts, size_t n);

/* Cancellation by SIGINT / SIGTERM for long commands: mf_cancel_on_signals() installs handlers
 * that set the returned flag at the first signal (the command stops at its next frame boundary;
 * a second signal ends the process at once) and mf_exit_interrupted() then prints
 * "mhrfit CMD: interrupted; run again to resume" and ends the process by that signal. */
#include <signal.h>
volatile sig_atomic_t *mf_cancel_on_signals(void);
/* The signal that set the flag, 0 when none did. */
int mf_cancel_signal(void);
void mf_exit_interrupted(const char *cmd);

/* Frees the item array of a list filled by mf_args_parse (not the strings, which are argv's). */
void mf_strlist_free(mf_strlist *l);

/* A `--frames` value "A:B", "A:", ":B" or "N" (one frame) into [begin, end); end 0 = to the last
 * frame. False when malformed (negative numbers, B of 0). */
bool mf_parse_frame_range(const char *s, size_t *begin, size_t *end);

/* Prints "mhrfit CMD: error: <message>" to stderr for a failed library call; returns 1. */
int mf_report(const char *cmd, const mhrfit_error *err);

/* A library warning callback: prints "mhrfit CMD: warning: <message>" to stderr, where `cmd` is
 * the command name (a const char * passed as the callback's user pointer). */
void mf_warn_cb(void *cmd, const char *message);

/* Prints a usage error "mhrfit CMD: <message> (see mhrfit CMD --help)"; returns 2. */
int mf_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* An option naming a path: its name without dashes and its value (NULL when not given). */
typedef struct mf_path_opt {
  const char *opt, *path;
} mf_path_opt;

/* Refuses, before anything is written, an output that would replace one of the n inputs
 * (mf_output_replaces(): the same file, also through links and "..", or a file inside an input
 * folder): prints the usage error "--OUT PATH would replace the input --IN PATH" and returns
 * MF_EXIT_USAGE; -1 when none does. */
int mf_check_output(const char *cmd, mf_path_opt out, const mf_path_opt *inputs, size_t n);

/* Messages and the progress line of a long-running command (`ingest`, `frames`, `overlay`, `run`):
 * errors and warnings ("mhrfit CMD: error: ...") on stderr, information on stdout unless quiet,
 * and progress on stderr unless quiet: on a terminal one line "CMD: done/total UNIT" updated in
 * place (cleared before any message), else (a log file, a pipe) a line of its own every
 * MF_CLI_PROGRESS_PERIOD_S seconds and the last one. */
#define MF_CLI_PROGRESS_PERIOD_S 5.0
typedef struct mf_cli_status {
  const char *cmd, *unit;
  bool quiet, tty, progress_shown;
  double last_shown; /* when the last progress line was shown (mf_now_seconds()) */
} mf_cli_status;
void mf_cli_status_init(mf_cli_status *s, const char *cmd, const char *unit, bool quiet);
/* level: 0 information, 1 warning, 2 error (the numbering of the library's log levels). */
void mf_cli_status_log(mf_cli_status *s, int level, const char *msg);
/* The progress line "CMD: done/total UNIT" (mf_cli_status_show(), last when done == total). */
void mf_cli_status_progress(mf_cli_status *s, size_t done, size_t total);
/* Shows a progress line as said above: on a terminal at most every 0.1 s, else every
 * MF_CLI_PROGRESS_PERIOD_S; `last` (the work is done) is always shown. */
void mf_cli_status_show(mf_cli_status *s, const char *line, bool last);
/* Clears the progress line (call before printing a summary). */
void mf_cli_status_end(mf_cli_status *s);

/* The stage-3 options shared by `fit` and `run`: mf_fit_cli_init() sets the library defaults,
 * mf_fit_cli_table() appends the option entries to `out` (room for MF_FIT_CLI_N_OPTS) and
 * returns their count, mf_fit_cli_finish() checks the values and fills `o`; it returns -1 when
 * they are valid, else the usage-error exit code after printing the problem. */
#include "mhrfit/fit.h"
typedef struct mf_fit_cli {
  mhrfit_fit_options o;
  const char *solver, *zero_weight_strategy;
  long iters, min_valid_points, min_iters, early_stop_patience;
  bool with_scale_seen, joint_limits_seen;
} mf_fit_cli;
enum { MF_FIT_CLI_N_OPTS = 24 };
void mf_fit_cli_init(mf_fit_cli *c);
size_t mf_fit_cli_table(mf_fit_cli *c, mf_opt *out);
int mf_fit_cli_finish(mf_fit_cli *c, const char *cmd);
/* The one rule of `fit --layout / --keypoint_map` and `run --input_format` (the fit without SAM 3D
 * Body views, detector.h): its body proportions are the sequence's scale parameters (no similarity
 * scale) and its pose stays within the joint limits, so --freeze_lower_body, --with_scale and
 * --no_joint_limits are usage errors naming `mode`; --no_with_scale and --joint_limits are what it
 * does anyway. -1 when valid, else the usage exit code after printing the problem. */
int mf_fit_cli_no_views(const mf_fit_cli *c, const char *cmd, const char *mode);

/* The stage-2 options shared by `triangulate` and `run`, used like mf_fit_cli. */
#include "mhrfit/calib.h"
#include "mhrfit/triangulate.h"
typedef struct mf_tri_cli {
  mhrfit_tri_options o;
  mhrfit_calib_options calib;
  const char *method, *score_type, *translation_unit;
  long lm_iters, min_cameras;
  bool original_ranking, no_loo_check, invert_extrinsics;
} mf_tri_cli;
enum { MF_TRI_CLI_N_OPTS = 17 };
void mf_tri_cli_init(mf_tri_cli *c);
size_t mf_tri_cli_table(mf_tri_cli *c, mf_opt *out);
int mf_tri_cli_finish(mf_tri_cli *c, const char *cmd);
/* The calibration-reading options of every command that takes --calib (table entries). */
#define MF_CALIB_OPT_INVERT(dest) \
  {"invert_extrinsics", MF_OPT_FLAG, (dest), NULL, "the calibration stores camera-to-world poses", NULL}
#define MF_CALIB_OPT_UNIT(dest) \
  {"translation_unit", MF_OPT_STRING, (dest), "U", "unit of the calibration's translations: m | cm | mm (default m)", NULL}
/* Checks a --translation_unit value (NULL: not given): -1 when m, cm or mm, else the usage-error
 * exit code after printing the problem. */
int mf_translation_unit_check(const char *unit, const char *cmd);

/* The smoothing options shared by `run` and `smooth`, used like mf_fit_cli. */
#include "mhrfit/smooth.h"
typedef struct mf_smooth_cli {
  mhrfit_smooth_options o;
  const char *method;
  long median_window, butter_order;
  bool fps_from_capture; /* run: without --fps, o.fps is 0 (the library takes the capture's rate) */
  bool fps_from_input;   /* smooth: without --fps, o.fps is 0 until mf_smooth_cli_input_fps() */
  bool fps_seen;
} mf_smooth_cli;
enum { MF_SMOOTH_CLI_N_OPTS = 8 };
void mf_smooth_cli_init(mf_smooth_cli *c);
size_t mf_smooth_cli_table(mf_smooth_cli *c, mf_opt *out);
int mf_smooth_cli_finish(mf_smooth_cli *c, const char *cmd);
/* smooth: without --fps, the input archive's rate `fps` (NaN or not > 0: unknown, then 30, said on
 * stdout unless quiet), checked against the filter like a given --fps (usage error naming `input`);
 * -1 when usable. */
int mf_smooth_cli_input_fps(mf_smooth_cli *c, const char *cmd, const char *input, double fps, bool quiet);

/* Where a command takes the MHR rig from: --rig FILE (a rig file of `mhrfit rig import`),
 * --assets DIR (the MHR assets), else $MHRFIT_ASSETS (either). Commands that load the rig list
 * both options (MF_RIG_OPT_ASSETS and MF_RIG_OPT_RIG give the table entries). */
#include "mhrfit/rig.h"
typedef enum mf_rig_kind { MF_RIG_FROM_ASSETS, MF_RIG_FROM_FILE, MF_RIG_FROM_ENV } mf_rig_kind;
typedef struct mf_rig_src {
  const char *path;
  mf_rig_kind kind;
} mf_rig_src;
#define MF_RIG_OPT_ASSETS(dest) \
  {"assets", MF_OPT_STRING, (dest), "DIR", "MHR assets folder (default: $MHRFIT_ASSETS); or --rig", NULL}
#define MF_RIG_OPT_RIG(dest) \
  {"rig", MF_OPT_STRING, (dest), "RIG.npz", "rig file of mhrfit rig import, instead of --assets (loads in milliseconds)", NULL}
/* Checks a --lod value: -1 (the default: chosen by the loader) or 0..1000; else prints a usage
 * error and returns its exit code (-1 when valid). */
int mf_lod_check(long lod, const char *cmd);
/* Help of the --lod options: the default level of detail (mhrfit_rig_load()). */
#define MF_LOD_HELP "mesh level of detail (default: lod1.fbx when present, else the lowest lodN.fbx; or the rig file's)"
/* Chooses the source from the two option values; returns -1 when one is set (in *src), else
 * the usage-error exit code after printing the problem (both given, or none and no
 * $MHRFIT_ASSETS). */
int mf_rig_choose(const char *assets, const char *rig, const char *cmd, mf_rig_src *src);
/* mf_rig_choose() when --assets, --rig or $MHRFIT_ASSETS gives the rig; else the rig the run
 * `run` (a loaded source of `input`; may be NULL) recorded (mhrfit_export_source_rig()), or a
 * usage error saying why there is none and what to pass. */
struct mhrfit_export_source;
int mf_rig_choose_recorded(const char *assets, const char *rig, const struct mhrfit_export_source *run,
                           const char *input, const char *cmd, mf_rig_src *src);
/* Checks that --rig names no folder and --assets no regular file (MHRFIT_ERR_ARGUMENT). */
bool mf_rig_check(const mf_rig_src *src, mhrfit_error *err);
/* mf_rig_check(), then mhrfit_rig_open(src->path, lod, flags) (MHRFIT_RIG_NO_* of rig.h). The
 * caller owns the result. */
mhrfit_rig *mf_rig_src_load(const mf_rig_src *src, long lod, unsigned flags, mhrfit_error *err);

/* JSON building (mf_jb, mf_jstr, ...): the library's internal builder. */
#include "common/jbuild.h"

/* The subcommands. */
int mf_cmd_demo(int argc, char **argv);
int mf_cmd_frames(int argc, char **argv);
int mf_cmd_ingest(int argc, char **argv);
int mf_cmd_inspect(int argc, char **argv);
int mf_cmd_triangulate(int argc, char **argv);
int mf_cmd_rig(int argc, char **argv);
int mf_cmd_fit(int argc, char **argv);

/* `mhrfit fit` without --views (cmd_fit_detector.c): the parsed arguments. */
typedef struct mf_fit_detector_args {
  const char *tri_path, *out, *layout, *keypoint_map;
  const char *calib; /* NULL: no camera metric */
  const mf_rig_src *rig_src;
  long lod, calib_frames, max_stale;
  bool no_mesh, quiet;
  const mhrfit_fit_options *fit;
  mhrfit_calib_options calib_opts;
} mf_fit_detector_args;
int mf_fit_detector(const mf_fit_detector_args *a);
int mf_cmd_run(int argc, char **argv);
int mf_cmd_smooth(int argc, char **argv);
int mf_cmd_report(int argc, char **argv);
int mf_cmd_export(int argc, char **argv);
int mf_cmd_overlay(int argc, char **argv);
int mf_cmd_batch(int argc, char **argv);

#endif
