/* SPDX-License-Identifier: MIT */
/* The core's GError domain: every user-facing error message travels in one of these. */
#ifndef TESSERA_CORE_ERROR_H
#define TESSERA_CORE_ERROR_H

#include <glib.h>

#define TS_ERROR (ts_error_quark())
GQuark ts_error_quark(void);

typedef enum ts_error_code {
    TS_ERROR_FAILED,    /* an operation failed (hooks, I/O) */
    TS_ERROR_INVALID,   /* bad input: option, config, property value, file content */
    TS_ERROR_NOT_FOUND, /* a named thing does not exist */
    TS_ERROR_EXISTS,    /* a name is taken twice */
} ts_error_code;

#endif
