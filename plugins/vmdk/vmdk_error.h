/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for the VMDK engine: every failing call returns a negative errno and,
 * when the caller passed a struct vmdk_error, a one-line message that names the file
 * and what is wrong. The block layer copies the message into its own error channel.
 */
#ifndef VMDK_ERROR_H
#define VMDK_ERROR_H

struct vmdk_error {
    int code;       /* negative errno of the first failure, 0 if none */
    char msg[512];  /* one line, no trailing newline */
};

/* Records the first failure only (later ones are consequences) and returns -code. */
int vmdk_fail(struct vmdk_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void vmdk_error_clear(struct vmdk_error *err);

#endif
