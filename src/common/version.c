/* The library version (include/mhrfit/version.h). */
#include "mhrfit/version.h"

#ifndef MHRFIT_VERSION_STRING
#define MHRFIT_VERSION_STRING "unknown"
#endif

const char *mhrfit_version(void) { return MHRFIT_VERSION_STRING; }
