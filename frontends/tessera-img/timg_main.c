/* SPDX-License-Identifier: MIT */
/* Subcommand dispatch, global options, help, and the block layer's set-up. */
#include "timg.h"
#include "timg_block.h"

#include <getopt.h>
#include <string.h>

#include "block/block.h"
#include "plugin/registry.h"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "0"
#endif

static registry *the_registry;
static GPtrArray *plugin_dirs;

int timg_block_ready(const struct timg_io *io)
{
    GError *err = NULL;

    if (!the_registry) {
        guint n = plugin_dirs ? plugin_dirs->len : 0;
        the_registry = registry_new(n ? (const char *const *)plugin_dirs->pdata : NULL, n);
    }
    if (block_init(the_registry, &err) < 0) {
        timg_error(io, "%s", err ? err->message : "cannot start the block layer");
        g_clear_error(&err);
        return -1;
    }
    return 0;
}

void timg_report(const struct timg_io *io, GError *err, const char *fallback)
{
    timg_error(io, "%s", err && err->message ? err->message : fallback);
}

static const char usage_text[] =
    "usage: tessera-img [--plugin-path DIR]... COMMAND [options]\n"
    "qemu-img's interface on tessera's block layer.\n"
    "\n"
    "Commands:\n"
    "  create [-q] [-f fmt] [-b backing_file -F backing_fmt] [-u] [-o options] filename [size]\n"
    "  info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename\n"
    "  check [-q] [-f fmt] [--output=human|json] [-r leaks|all] [-T src_cache] [-U] filename\n"
    "  convert [-c] [-p] [-q] [-n] [-W] [-U] [-f fmt] [-O output_fmt] [-o options] [-t cache]\n"
    "          [-T src_cache] [-S sparse_size] [-m num_requests] [--target-is-zero]\n"
    "          filename [filename2 [...]] output_filename\n"
    "  compare [-q] [-f fmt] [-F fmt] [-T src_cache] [-p] [-s] [-U] filename1 filename2\n"
    "  map [-f fmt] [--output=human|json] [--start-offset=OFFSET] [--max-length=LEN] [-U] filename\n"
    "  bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [--no-drain] [-i aio] [-n]\n"
    "        [-o offset] [--pattern=N] [-q] [-s buffer_size] [-S step_size] [-t cache] [-U] [-w]\n"
    "        filename\n"
    "\n"
    "Sizes take the suffixes k, M, G, T, P, E (powers of 1024); cache modes are writeback,\n"
    "none, unsafe, directsync, writethrough. 'tessera-img create -f FMT -o help' lists a\n"
    "format's options; 'tessera-img --formats' lists the formats.\n";

static int list_formats(const struct timg_io *io)
{
    GPtrArray *names;

    if (timg_block_ready(io) < 0)
        return 1;
    names = block_formats();
    fputs("Supported formats:", io->out);
    for (guint i = 0; i < names->len; i++)
        fprintf(io->out, " %s", (const char *)names->pdata[i]);
    fputc('\n', io->out);
    g_ptr_array_unref(names);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const struct timg_io *, int, char **);
} commands[] = {
    { "create", timg_cmd_create },   { "info", timg_cmd_info }, { "check", timg_cmd_check },
    { "convert", timg_cmd_convert }, { "compare", timg_cmd_compare },
    { "map", timg_cmd_map },         { "bench", timg_cmd_bench },
};

int timg_main(const struct timg_io *io, int argc, char **argv)
{
    int i = 1;

    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, io->out);
            return 0;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            fprintf(io->out, "tessera-img version %s\n", TESSERA_VERSION);
            return 0;
        }
        if (strcmp(a, "--formats") == 0)
            return list_formats(io);
        if (strcmp(a, "--plugin-path") == 0 || strncmp(a, "--plugin-path=", 14) == 0) {
            const char *dir = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
            if (!dir) {
                timg_error(io, "option '--plugin-path' requires an argument");
                return 1;
            }
            if (!plugin_dirs)
                plugin_dirs = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(plugin_dirs, g_strdup(dir));
            i++;
            continue;
        }
        timg_error(io, "unrecognized option '%s' (try 'tessera-img --help')", a);
        return 1;
    }
    if (i >= argc) {
        timg_error(io, "Not enough arguments (try 'tessera-img --help')");
        return 1;
    }
    for (size_t c = 0; c < G_N_ELEMENTS(commands); c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            optind = 0; /* glibc: full reset, so the library can be called repeatedly */
            opterr = 0;
            return commands[c].fn(io, argc - i, argv + i);
        }
    }
    timg_error(io, "Command not found: %s (try 'tessera-img --help')", argv[i]);
    return 1;
}
