/* ivshmem-server messages: errors always go to stderr, debug lines only with -v. */
#include "server-internal.h"

#include <stdarg.h>
#include <stdio.h>

void server_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("ivshmem-server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void server_debug(const struct ivshmem_server *s, const char *fmt, ...)
{
    va_list ap;

    if (!s->cfg.verbose)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}
