/* SPDX-License-Identifier: MIT */
/* Opening images for the subcommands, and cache-mode options. */
#include "timg_block.h"

int timg_parse_cache(const struct timg_io *io, const char *arg, block_cache_mode *out)
{
    if (block_cache_mode_parse(arg, out))
        return 0;
    timg_error(io, "Invalid cache option: %s", arg);
    return -1;
}

block_node *timg_open(const struct timg_io *io, const char *filename, const char *fmt,
                      bool writable, block_cache_mode cache, bool no_backing)
{
    block_open_options o;
    block_node *n;
    GError *err = NULL;

    block_open_options_init(&o);
    o.format = fmt;
    o.read_only = !writable;
    o.cache = cache;
    o.no_backing = no_backing;
    n = block_open(filename, &o, &err);
    if (!n) {
        timg_report(io, err, "cannot open the image");
        g_clear_error(&err);
    }
    return n;
}

block_node *timg_open_one(const struct timg_io *io, int nargs, char **args, const char *fmt,
                          bool writable, block_cache_mode cache, bool no_backing)
{
    if (!timg_expect_one_filename(io, nargs) || timg_block_ready(io) < 0)
        return NULL;
    return timg_open(io, args[0], fmt, writable, cache, no_backing);
}
