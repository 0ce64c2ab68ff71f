/* Internal: the momentum `.model` text file (parameter transform, limits). */
#ifndef MF_BODY_MODEL_FILE_H
#define MF_BODY_MODEL_FILE_H

#include "mhrfit/rig.h"

/* Parses the text into rig->param_names, pt, limits; joint names must already be in rig. */
bool mf_model_parse(const char *text, size_t len, const char *name, mhrfit_rig *rig, mhrfit_error *err);

#endif
