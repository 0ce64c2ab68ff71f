/**
 * @file json.h
 * @brief JSON reading (through cJSON) into an mhrfit_value tree.
 *
 * Objects become DICT (key order kept; a repeated key keeps its last value),
 * arrays LIST, strings STRING, `true`/`false` BOOL, `null` NULL. Numbers that
 * are integral and within ±2^53 become INT, others FLOAT (cJSON keeps no
 * textual form, so `1.0` reads as the integer 1; consumers that want numbers
 * use mhrfit_value_as_double()).
 */
#ifndef MHRFIT_JSON_H
#define MHRFIT_JSON_H

#include <stddef.h>

#include "mhrfit/error.h"
#include "mhrfit/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parses JSON text `text[0..len-1]`; `name` names the source in messages
 * (may be NULL). Errors: MHRFIT_ERR_FORMAT with the line of the syntax error
 * (also for invalid UTF-8 and nesting deeper than 1000), MHRFIT_ERR_NOMEM.
 * The caller owns the result.
 */
mhrfit_value *mhrfit_json_parse(const char *text, size_t len, const char *name, mhrfit_error *err);

/** Reads and parses a JSON file (at most 256 MiB). The caller owns the result. */
mhrfit_value *mhrfit_json_load(const char *path, mhrfit_error *err);

#ifdef __cplusplus
}
#endif
#endif
