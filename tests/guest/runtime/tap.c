/* SPDX-License-Identifier: MIT */
/* TAP output (Test Anything Protocol): the plan, one line per test, diagnostics. */
#include "guest.h"

static unsigned tap_planned;
static unsigned tap_run;
static unsigned tap_failed;

void tap_plan(unsigned count)
{
    tap_planned = count;
    printf("1..%u\n", count);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;

    tap_run++;
    if (!cond)
        tap_failed++;
    printf("%sok %u - ", cond ? "" : "not ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
    return cond;
}

void tap_skip(const char *fmt, ...)
{
    va_list ap;

    tap_run++;
    printf("ok %u # SKIP ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;

    uart_puts("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
}

int tap_result(void)
{
    if (tap_run != tap_planned)
        tap_diag("planned %u tests but ran %u", tap_planned, tap_run);
    if (tap_failed)
        tap_diag("failed %u of %u tests", tap_failed, tap_run);
    return tap_failed || tap_run != tap_planned ? 1 : 0;
}
