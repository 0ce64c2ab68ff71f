/**
 * @file toml.h
 * @brief A TOML reader for the subset calibration files use.
 *
 * Supported: tables `[a]`, dotted and quoted table names (`[cameras.0]`,
 * `[cameras."cam 1"]`), arrays of tables `[[a]]`, bare/quoted/dotted keys,
 * basic and literal strings (single- and multi-line, all TOML escapes),
 * integers (decimal with `_`, `0x`, `0o`, `0b`), floats (exponents, `inf`,
 * `nan`), booleans, arrays spanning lines with comments and trailing commas,
 * inline tables, comments, and dates/times (kept verbatim as DATETIME values,
 * e.g. Caliscope's `CreationDate = 2023-03-31T09:56:43.193358`).
 *
 * The result is a DICT mhrfit_value (tables → DICT, arrays → LIST, arrays of
 * tables → LIST of DICT); each value's `line` is its source line. Errors name
 * the file and line: `"config.toml:12: expected ']' after table name"`.
 * Duplicate keys and redefined tables are errors, as in TOML.
 */
#ifndef MHRFIT_TOML_H
#define MHRFIT_TOML_H

#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest nesting of arrays and inline tables accepted. */
#define MHRFIT_TOML_MAX_DEPTH 64

/**
 * Parses TOML text `text[0..len-1]` (UTF-8; an initial BOM is skipped).
 * `name` names the source in messages (may be NULL). Errors: MHRFIT_ERR_FORMAT
 * (syntax, invalid UTF-8, duplicate keys), MHRFIT_ERR_LIMIT (nesting),
 * MHRFIT_ERR_NOMEM. The caller owns the result.
 */
mhrfit_value *mhrfit_toml_parse(const char *text, size_t len, const char *name, mhrfit_error *err);

/** Reads and parses a TOML file (at most 64 MiB). The caller owns the result. */
mhrfit_value *mhrfit_toml_load(const char *path, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
