/* SPDX-License-Identifier: MIT */
/* Helpers shared by the subcommands: errors, options, --output, -o lists, progress. */
#include "timg.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

void timg_error(const struct timg_io *io, const char *fmt, ...)
{
    va_list ap;

    fputs("tessera-img: ", io->err);
    va_start(ap, fmt);
    vfprintf(io->err, fmt, ap);
    va_end(ap);
    fputc('\n', io->err);
    fflush(io->err);
}

int timg_parse_output(const struct timg_io *io, const char *arg, enum timg_output *out)
{
    if (strcmp(arg, "human") == 0) {
        *out = TIMG_OUTPUT_HUMAN;
        return 0;
    }
    if (strcmp(arg, "json") == 0) {
        *out = TIMG_OUTPUT_JSON;
        return 0;
    }
    timg_error(io, "--output must be used with human or json as argument.");
    return -1;
}

bool timg_opts_want_help(const char *opts)
{
    /* Items are separated by single commas; ",," is an escaped comma inside a value. */
    const char *p = opts;

    while (*p) {
        const char *start = p;
        while (*p && !(*p == ',' && p[1] != ',')) {
            if (*p == ',' && p[1] == ',')
                p++;
            p++;
        }
        size_t len = (size_t)(p - start);
        if ((len == 4 && strncmp(start, "help", 4) == 0) || (len == 1 && *start == '?'))
            return true;
        if (*p == ',')
            p++;
    }
    return false;
}

void timg_opts_append(GString *acc, const char *arg)
{
    if (acc->len)
        g_string_append_c(acc, ',');
    g_string_append(acc, arg);
}

void timg_bad_option(const struct timg_io *io, int c, int optopt_value, char **argv, int optind_value)
{
    const char *word = argv[optind_value - 1];

    if (c == ':') {
        timg_error(io, "option '%s' requires an argument (try 'tessera-img --help')", word);
    } else if (optopt_value && !(word[0] == '-' && word[1] == '-')) {
        timg_error(io, "invalid option -- '%c' (try 'tessera-img --help')", optopt_value);
    } else {
        timg_error(io, "unrecognized option '%s' (try 'tessera-img --help')", word);
    }
}

int timg_other_option(const struct timg_io *io, int c, char **argv, const char *usage)
{
    switch (c) {
    case 'h':
        fputs(usage, io->out);
        return 0;
    case TIMG_OPT_IMAGE_OPTS:
    case TIMG_OPT_OBJECT:
        timg_error(io, "%s is not supported by tessera-img", argv[optind - 1]);
        return 1;
    default:
        timg_bad_option(io, c, optopt, argv, optind);
        return 1;
    }
}

bool timg_expect_one_filename(const struct timg_io *io, int nargs)
{
    if (nargs == 1)
        return true;
    timg_error(io, "Expecting one image file name");
    return false;
}

void timg_progress_init(struct timg_progress *p, FILE *f, bool enabled, double step)
{
    p->f = f;
    p->enabled = enabled;
    p->last = -1;
    p->step = step;
}

void timg_progress_update(struct timg_progress *p, uint64_t done, uint64_t total)
{
    double pct;

    if (!p->enabled)
        return;
    pct = total ? (double)done * 100.0 / (double)total : 100.0;
    if (pct > 100.0)
        pct = 100.0;
    if (p->last >= 0 && pct - p->last < p->step && pct < 100.0)
        return;
    if (p->last >= 100.0)
        return;
    p->last = pct;
    fprintf(p->f, "    (%3.2f/100%%)\r", pct);
    fflush(p->f);
}

void timg_progress_end(struct timg_progress *p)
{
    if (!p->enabled)
        return;
    if (p->last < 100.0)
        fprintf(p->f, "    (%3.2f/100%%)\r", 100.0);
    fputc('\n', p->f);
    fflush(p->f);
    p->enabled = false; /* once only */
}
