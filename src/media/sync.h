/* Synchronisation tables of `mhrfit frames`: which video frame of each camera makes which
 * capture frame. Internal to the media module (the parsers are fuzzed: fuzz/fuzz_sync.c). */
#ifndef MF_MEDIA_SYNC_H
#define MF_MEDIA_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "mhrfit/error.h"

/* A cell without a video frame (an empty or negative index, a port without a row). */
#define MF_SYNC_GAP (-1LL)

/* Rows are capture frames, columns cameras. */
typedef struct mf_sync_table {
  size_t n_rows, n_cams;
  char **rows;        /* frame names (n_rows) */
  char **cams;        /* camera names (n_cams): the <cam> of <cam>_out_idx, or "port_<p>" */
  long long *ports;   /* timestamps tables: the port of each camera; NULL otherwise */
  long long *idx;     /* n_rows * n_cams video frame indices (row-major), or MF_SYNC_GAP */
  double *tick_ms;    /* per-tick tables: tick_video_ms of each row (NaN when absent); else NULL */
  double *frame_time; /* timestamps tables: frame_time (s) of each cell (NaN for gaps); else NULL */
  int *src_line;      /* the line of the file each row comes from (1-based; the first line of its
                         sync index for timestamps tables) */
} mf_sync_table;

/* Frees the table's arrays and zeroes it. */
void mf_sync_table_free(mf_sync_table *t);

/* Parses the original's per-tick table (a CSV file): the header names the id column `id_key`
 * (NULL = "k"), an optional `tick_video_ms` and one `<cam>_out_idx` column per camera, in header
 * order. The delimiter is the most frequent of `,` tab `;` `|` in the header line; fields may be
 * double-quoted ("" inside quotes is a quote); CRLF line ends and a UTF-8 byte-order mark are
 * accepted, blank lines skipped. Each row is a frame named by its id (unique, a valid folder
 * name). An index cell that is empty, "nan" or negative is a gap; an integer-valued number
 * ("12", "12.0") is a frame index; anything else is an error. Errors (MHRFIT_ERR_FORMAT) name
 * `name`, the line and the column. */
bool mf_sync_parse_ticks(const char *data, size_t len, const char *name, const char *id_key, mf_sync_table *t,
                         mhrfit_error *err);

/* Parses Caliscope's frame_time_history.csv (columns `sync_index`, `port`, `frame_time`, found by
 * header name; other columns ignored). The video frame of a row is its rank among the rows of
 * its port ordered by frame_time (ties by sync index): Caliscope writes one video frame per row,
 * in time order. Rows of the table = the distinct sync indices in increasing order, named by
 * the sync index printed with 6 digits (000000, 000001, ...); a port without a row at a sync
 * index is a gap; cameras are the ports in increasing order, named "port_<p>". Errors
 * (MHRFIT_ERR_FORMAT): missing columns, non-integer sync index or port, non-finite frame time,
 * two rows for one port and sync index, each naming `name` and the line. */
bool mf_sync_parse_frame_times(const char *data, size_t len, const char *name, mf_sync_table *t, mhrfit_error *err);

#endif
