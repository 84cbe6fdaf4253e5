/* SPDX-License-Identifier: MIT */
#include "vmdk_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int vmdk_fail(struct vmdk_error *err, int code, const char *fmt, ...)
{
    if (code > 0)
        code = -code;
    if (err && err->code == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void vmdk_error_clear(struct vmdk_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
