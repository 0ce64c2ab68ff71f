/* Internal: the simple subset of ZIP that .npz archives use, read and written in memory with
 * zlib. Anything outside the subset is left to libzip (npz.c falls back to it), so these
 * functions only have to be fast for the common case and safe for every input.
 *
 * ## Archives written (mf_zip_build)
 *
 * For each member, in order:
 *
 *   local file header   signature PK\3\4; version needed 10 (stored) or 20 (deflated);
 *                       flags 0, or 4 for deflate at level 1-2 (2 at level 8-9, 0 otherwise);
 *                       method 0 (stored) or 8 (deflate); DOS time 00:00:00, date 1980-01-01
 *                       (fixed, so that the same input always gives the same bytes); CRC-32;
 *                       compressed and uncompressed sizes; name length; extra length 0; the
 *                       name (no NUL)
 *   member data         the bytes as given, or a raw deflate stream (zlib: window 2^15, memLevel
 *                       9, default strategy, input fed in 8 KiB pieces, then Z_FINISH)
 *
 * then the central directory, one entry per member in the same order: signature PK\1\2; made
 * by 0x033f (UNIX, version 6.3); the local header's fields; comment length 0; disk 0;
 * internal attributes 0; external attributes 0100666 << 16 (a regular file, rw-rw-rw-); offset
 * of the local header; the name. Last the end-of-central-directory record: signature PK\5\6,
 * disk numbers 0, the entry count twice, the directory's size and offset, comment length 0.
 *
 * No data descriptors, extra fields, comments or ZIP64 records. These are the bytes libzip 1.7
 * writes for the same members added with zip_file_add (ZIP_FL_ENC_UTF_8), a 1980 DOS time and
 * explicit compression (tests/test_npz.c compares the two). mf_zip_build refuses
 * (MF_ZIP_UNSUPPORTED) what would need more: 65535 members or more, an archive of 2 GiB or
 * more, names that libzip would mark as UTF-8 (mf_zip_name_plain()).
 *
 * ## Archives read (mf_zip_index, mf_zip_entry_data)
 *
 * A single-disk archive whose end record closes the buffer (with its comment) and whose central
 * directory ends where the end record starts, with no ZIP64 values; members stored or deflated,
 * not encrypted, with plain names (mf_zip_name_plain()) and no Info-ZIP Unicode path field (as
 * libzip would replace the name by it). Local headers are read only for their name and extra
 * lengths (NumPy's ZIP64 extra fields there are fine); sizes, CRCs and offsets come from the
 * central directory, as with libzip. Everything else gives MF_ZIP_UNSUPPORTED. */
#ifndef MF_IO_ZIP_H
#define MF_IO_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "common/file.h"
#include "mhrfit/error.h"

typedef enum {
  MF_ZIP_OK = 0,
  MF_ZIP_UNSUPPORTED, /* outside the subset (or malformed): hand the archive to libzip */
  MF_ZIP_FAILED       /* err filled (MHRFIT_ERR_LIMIT, MHRFIT_ERR_NOMEM, ...) */
} mf_zip_status;

/* True when libzip stores and returns `name[0..len-1]` byte for byte, unflagged: every byte a
 * printable ASCII character (32..127) or one of \t \n \r. */
bool mf_zip_name_plain(const char *name, size_t len);

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct mf_zip_member {
  const char *name; /* NUL-terminated */
  const void *data;
  size_t len;
  bool deflate;
} mf_zip_member;

/* Sizes of the fixed parts of the records, and the most bytes an archive of the subset holds. */
#define MF_ZIP_LOCAL_SIZE 30u
#define MF_ZIP_CENTRAL_SIZE 46u
#define MF_ZIP_END_SIZE 22u
#define MF_ZIP_MAX_ARCHIVE ((size_t)0x7fffffff) /* 2 GiB - 1: far from every 32-bit field's limit */
/* Input bytes fed to deflate at a time (libzip's read size while compressing). */
#define MF_ZIP_DEFLATE_CHUNK 8192u

/* The records of the layout above, for writers that produce the member data themselves
 * (io/npz_stream.c): the local header of a member named name[0..nl-1] (room MF_ZIP_LOCAL_SIZE +
 * nl), its central directory entry from that header (room MF_ZIP_CENTRAL_SIZE + nl), and the end
 * record of n members (room MF_ZIP_END_SIZE). */
void mf_zip_put_local(unsigned char *lh, const char *name, size_t nl, bool deflated, int level, uint32_t crc,
                      size_t clen, size_t len);
void mf_zip_put_central(unsigned char *cd, const unsigned char *lh, size_t offset);
void mf_zip_put_end(unsigned char *e, size_t n, size_t cd_size, size_t cd_offset);

/* CRC-32 of data[0..len-1] continuing `crc` (0 to start), any length. */
uint32_t mf_zip_crc(uint32_t crc, const void *data, size_t len);

/* deflateInit2 with the layout's parameters (raw deflate, window 2^15, memLevel 9, default
 * strategy) at `level`; zlib's return code. */
int mf_zip_deflate_init(z_stream *zs, int level);

/* An archive as byte ranges: [local header, data] per member, then the central directory and
 * end record. Stored data is borrowed from the members (keep them alive while the image is
 * used); headers and deflated data are owned by the image. */
typedef struct mf_zip_image {
  mf_piece *pieces;
  size_t n_pieces;
  size_t size;             /* total bytes */
  unsigned char *headers;  /* all headers, the pieces point into it */
  unsigned char **packed;  /* deflated data per member (NULL when stored) */
  size_t n_members;
} mf_zip_image;

/* Builds the archive of members m[0..n-1] (see the layout above), deflating at `level` (1-9)
 * the members that ask for it. MF_ZIP_UNSUPPORTED (err untouched) when the archive needs what
 * the layout has not; MF_ZIP_FAILED with err on NOMEM or a zlib failure. */
mf_zip_status mf_zip_build(const mf_zip_member *m, size_t n, int level, mf_zip_image *img, mhrfit_error *err);

/* The image as one contiguous malloc'd buffer (tests, in-memory users). */
bool mf_zip_image_flatten(const mf_zip_image *img, unsigned char **out, size_t *len, mhrfit_error *err);

void mf_zip_image_free(mf_zip_image *img);

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct mf_zip_entry {
  const char *name; /* inside the archive buffer, not NUL-terminated */
  size_t name_len;
  uint16_t method;  /* 0 stored, 8 deflate */
  uint32_t crc;
  uint64_t csize, usize;
  const unsigned char *data; /* csize bytes inside the archive buffer */
} mf_zip_entry;

/* Reads the central directory of the archive data[0..len-1] into a new array *entries (*n of
 * them; the caller frees it). More than max_entries members fails with MHRFIT_ERR_LIMIT naming
 * `name` (as the libzip path does). */
mf_zip_status mf_zip_index(const void *data, size_t len, size_t max_entries, const char *name,
                           mf_zip_entry **entries, size_t *n, mhrfit_error *err);

/* Decompresses entries, reusing one inflate state. Zero-initialise; end with mf_zip_reader_end. */
typedef struct mf_zip_reader {
  z_stream zs;
  bool ready;
} mf_zip_reader;

/* The usize bytes of entry e with their CRC checked: for a stored member a pointer into the
 * archive (*owned = NULL), for a deflated one a new buffer (*owned, the caller frees it). NULL
 * when the data is corrupt (*why: a short reason) or on NOMEM (err filled, *why = NULL). */
const unsigned char *mf_zip_entry_data(mf_zip_reader *r, const mf_zip_entry *e, unsigned char **owned,
                                       const char **why, mhrfit_error *err);

void mf_zip_reader_end(mf_zip_reader *r);

#endif
