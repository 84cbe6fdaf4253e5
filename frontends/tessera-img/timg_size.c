/* SPDX-License-Identifier: MIT */
/* Sizes as qemu-img reads and prints them. */
#include "timg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int suffix_shift(char c)
{
    switch (c) {
    case 'B': case 'b': return 0;
    case 'K': case 'k': return 10;
    case 'M': case 'm': return 20;
    case 'G': case 'g': return 30;
    case 'T': case 't': return 40;
    case 'P': case 'p': return 50;
    case 'E': case 'e': return 60;
    default: return -1;
    }
}

int timg_parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
    const char *p = s;
    char *end;
    uint64_t whole, mul = default_unit;
    double frac = 0;
    bool hex = false, has_frac = false;

    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return -EINVAL;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        hex = true;
    errno = 0;
    whole = strtoull(p, &end, hex ? 16 : 10);
    if (end == p || (hex && end == p + 2))
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    p = end;
    if (*p == '.') {
        if (hex)
            return -EINVAL;
        /* Parse "0.<digits>" so the fraction keeps its own precision. */
        const char *q = p + 1;
        if (!isdigit((unsigned char)*q))
            return -EINVAL;
        char buf[64] = "0.";
        size_t n = 2;
        while (isdigit((unsigned char)*q)) {
            if (n < sizeof(buf) - 1)
                buf[n++] = *q;
            q++;
        }
        buf[n] = 0;
        frac = strtod(buf, NULL);
        has_frac = true;
        p = q;
    }
    if (*p) {
        int shift = suffix_shift(*p);
        if (shift < 0 || p[1])
            return -EINVAL;
        mul = (uint64_t)1 << shift;
    }
    if (has_frac && mul == 1 && frac != 0)
        return -EINVAL;
    if (whole > INT64_MAX / mul)
        return -ERANGE;
    uint64_t v = whole * mul;
    uint64_t f = (uint64_t)(frac * (double)mul);
    if (v > (uint64_t)INT64_MAX - f)
        return -ERANGE;
    *out = v + f;
    return 0;
}

char *timg_size_to_str(uint64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    int e = 0;
    int i;

    /* Scaling by 1024/1000 picks the unit so that 1000..1023 of a unit prints as
     * 0.98 of the next one, the way qemu-img chooses. */
    frexp((double)bytes / (1000.0 / 1024.0), &e);
    i = (e - 1) / 10;
    if (i < 0)
        i = 0;
    if (i > 6)
        i = 6;
    return g_strdup_printf("%0.3g %s", (double)bytes / (double)((uint64_t)1 << (10 * i)), units[i]);
}

void timg_size_error(const struct timg_io *io, int rc)
{
    if (rc == -ERANGE)
        timg_error(io, "Invalid image size specified. Must be between 0 and %lld.",
                   (long long)INT64_MAX);
    else
        timg_error(io, "Invalid image size specified. You may use k, M, G, T, P or E suffixes "
                       "for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
}
