/**
 * @file error.h
 * @brief The one error convention of libmhrfit.
 *
 * Every fallible public function takes a `mhrfit_error *err` as its last
 * argument and reports failure through its return value: `false` for
 * functions returning `bool`, `NULL` for functions returning a pointer.
 * On failure the function fills `*err` (when `err` is not NULL) with a type,
 * a human-readable message that names the file, frame, camera and field
 * involved where they are known, and the library source location that raised
 * it. On success `*err` is left untouched. Callers add context while the
 * error travels up with mhrfit_error_prefix().
 *
 * Example: `"calib.toml:12: table [cam_1]: field 'matrix': expected 3x3 numbers"`.
 */
#ifndef MHRFIT_ERROR_H
#define MHRFIT_ERROR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Kinds of failure; the message carries the details. */
typedef enum mhrfit_error_type {
  MHRFIT_ERR_NONE = 0,     /**< no error */
  MHRFIT_ERR_IO,           /**< a file could not be opened, read, written or renamed */
  MHRFIT_ERR_FORMAT,       /**< malformed or inconsistent content */
  MHRFIT_ERR_UNSUPPORTED,  /**< well-formed but outside what mhrfit handles (dtype, opcode, global) */
  MHRFIT_ERR_LIMIT,        /**< a size, count or nesting limit was exceeded */
  MHRFIT_ERR_NOMEM,        /**< out of memory */
  MHRFIT_ERR_ARGUMENT,     /**< the caller passed an invalid argument */
  MHRFIT_ERR_NOT_FOUND,    /**< a key, member, table, camera or file is missing */
  MHRFIT_ERR_NUMERIC,      /**< non-finite data where finite is required, or no convergence */
  MHRFIT_ERR_CANCELLED,    /**< the caller asked a long operation to stop (its work so far is kept) */
  MHRFIT_ERR_BUSY,         /**< another process is writing the same output folder */
  MHRFIT_ERR_TYPE_COUNT
} mhrfit_error_type;

/** Longest message kept, including the terminating NUL; longer ones are cut. */
#define MHRFIT_ERROR_MESSAGE_MAX 1024

/** An error report. Zero-initialise (or call mhrfit_error_clear()) before use. */
typedef struct mhrfit_error {
  mhrfit_error_type type;                  /**< MHRFIT_ERR_NONE when nothing failed */
  char message[MHRFIT_ERROR_MESSAGE_MAX];  /**< context-prefixed description, NUL-terminated */
  const char *src_file;                    /**< library source file that raised the error (static string) */
  int src_line;                            /**< line in src_file */
  int sys_errno;                           /**< errno of the failed system call (ENOSPC, EACCES, ...) for
                                                errors raised with MHRFIT_FAIL_ERRNO(); 0 otherwise */
} mhrfit_error;

/** Resets `err` to "no error". `err` may be NULL. */
void mhrfit_error_clear(mhrfit_error *err);

/**
 * Fills `err` (may be NULL) with a type and printf-style message.
 * Always returns false so that a failing function can `return mhrfit_error_set(...)`.
 * Use the MHRFIT_FAIL() macro, which records the source location.
 */
bool mhrfit_error_set(mhrfit_error *err, mhrfit_error_type type, const char *src_file,
                      int src_line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/** Raises an error of `type` with a printf-style message; evaluates to false. */
#define MHRFIT_FAIL(err, type, ...) mhrfit_error_set((err), (type), __FILE__, __LINE__, __VA_ARGS__)

/**
 * Like mhrfit_error_set(), and records `sys_errno`, the errno of the system
 * call that failed, so that callers can tell a full disk (ENOSPC, EDQUOT), a
 * read-only or failing device (EROFS, EIO) or a size limit (EFBIG) from other
 * failures. Always returns false. Use the MHRFIT_FAIL_ERRNO() macro.
 */
bool mhrfit_error_set_errno(mhrfit_error *err, mhrfit_error_type type, int sys_errno, const char *src_file,
                            int src_line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/** Raises an error of `type` caused by a system call that failed with errno `e`; evaluates to false. */
#define MHRFIT_FAIL_ERRNO(err, type, e, ...) \
  mhrfit_error_set_errno((err), (type), (e), __FILE__, __LINE__, __VA_ARGS__)

/**
 * True when `err` was raised because the output device cannot take more
 * data: sys_errno is ENOSPC (no space left), EDQUOT (quota), EFBIG (file size
 * limit), EROFS (read-only file system) or EIO (device error). Writing more
 * files to the same place would fail the same way.
 */
bool mhrfit_error_is_device_full(const mhrfit_error *err);

/**
 * Prepends printf-style context followed by ": " to the message of `err`
 * (for example the file name) when `err` holds an error. `err` may be NULL.
 */
void mhrfit_error_prefix(mhrfit_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Short stable name of an error type ("io", "format", ...). Never NULL. */
const char *mhrfit_error_type_name(mhrfit_error_type type);

#ifdef __cplusplus
}
#endif
#endif
