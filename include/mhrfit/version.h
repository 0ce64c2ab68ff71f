/**
 * @file version.h
 * @brief The version of the library, for programs and bindings that load it at run time.
 */
#ifndef MHRFIT_VERSION_H
#define MHRFIT_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/** The library's version, "MAJOR.MINOR.PATCH" (the CMake project version). Static string, never NULL. */
const char *mhrfit_version(void);

#ifdef __cplusplus
}
#endif
#endif
