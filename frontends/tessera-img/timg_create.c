/* SPDX-License-Identifier: MIT */
/* tessera-img create [-q] [-f fmt] [-b backing [-F backing_fmt]] [-u] [-o options] filename [size] */
#include "timg_block.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

/* Removes "size=..." items from an -o list, returning the last value (newly allocated). */
static char *take_size_option(GString *opts)
{
    char **items;
    GString *rest = g_string_new(NULL);
    char *size = NULL;

    /* Split at single commas; ",," stays inside an item. */
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    const char *p = opts->str, *start = p;
    while (1) {
        if (*p == ',' && p[1] == ',') {
            p += 2;
            continue;
        }
        if (*p == ',' || *p == 0) {
            g_ptr_array_add(parts, g_strndup(start, (gsize)(p - start)));
            if (!*p)
                break;
            start = ++p;
            continue;
        }
        p++;
    }
    g_ptr_array_add(parts, NULL);
    items = (char **)parts->pdata;
    for (size_t i = 0; items[i]; i++) {
        if (strncmp(items[i], "size=", 5) == 0) {
            g_free(size);
            size = g_strdup(items[i] + 5);
        } else if (items[i][0]) {
            timg_opts_append(rest, items[i]);
        }
    }
    g_ptr_array_unref(parts);
    g_string_assign(opts, rest->str);
    g_string_free(rest, TRUE);
    return size;
}

/* The backing file's path as seen from here: relative names are relative to the image's directory. */
static char *backing_path(const char *image, const char *backing)
{
    if (g_path_is_absolute(backing) || !strchr(image, '/'))
        return g_strdup(backing);
    char *dir = g_path_get_dirname(image);
    char *p = g_build_filename(dir, backing, NULL);
    g_free(dir);
    return p;
}

static int print_help(const struct timg_io *io, const char *fmt)
{
    GError *err = NULL;
    char *text = block_create_help(fmt, &err);

    if (!text) {
        timg_report(io, err, "no help for this format");
        g_clear_error(&err);
        return 1;
    }
    fputs(text, io->out); /* the block layer's text names the format */
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', io->out);
    g_free(text);
    return 0;
}

int timg_cmd_create(const struct timg_io *io, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'O' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL;
    bool quiet = false, unsafe = false;
    GString *opts = g_string_new(NULL);
    char *size_text = NULL;
    uint64_t size = 0;
    bool have_size = false;
    int c, status = 1;
    GError *err = NULL;

    while ((c = getopt_long(argc, argv, ":F:b:f:ho:quO:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'F': backing_fmt = optarg; break;
        case 'o': timg_opts_append(opts, optarg); break;
        case 'q': quiet = true; break;
        case 'u': unsafe = true; break;
        case 'O':
            timg_error(io, "--object is not supported by tessera-img");
            goto out;
        case 'h':
            fputs("usage: tessera-img create [-q] [-f fmt] [-b backing_file -F backing_fmt] [-u] "
                  "[-o options] filename [size]\n", io->out);
            status = 0;
            goto out;
        default:
            timg_bad_option(io, c, optopt, argv, optind);
            goto out;
        }
    }
    if (timg_opts_want_help(opts->str)) {
        if (timg_block_ready(io) < 0)
            goto out;
        status = print_help(io, fmt);
        goto out;
    }
    if (optind >= argc) {
        timg_error(io, "Expecting image file name");
        goto out;
    }
    const char *filename = argv[optind++];
    if (optind < argc)
        size_text = g_strdup(argv[optind++]);
    if (optind < argc) {
        timg_error(io, "Unexpected argument: %s", argv[optind]);
        goto out;
    }
    /* -o size=... counts like the positional size; the positional one wins. */
    char *opt_size = take_size_option(opts);
    if (!size_text)
        size_text = opt_size;
    else
        g_free(opt_size);
    if (size_text) {
        int rc = timg_parse_size(size_text, 1, &size);
        if (rc < 0) {
            timg_size_error(io, rc);
            goto out;
        }
        have_size = true;
    }
    if (timg_block_ready(io) < 0)
        goto out;

    if (backing) {
        if (!backing_fmt) {
            timg_error(io, "%s: Backing file specified without backing format (use -F)", filename);
            goto out;
        }
        if (!unsafe) {
            /* Like qemu-img: the backing file must open, and gives the size when none is given. */
            char *path = backing_path(filename, backing);
            block_node *b = timg_open(io, path, backing_fmt, false, BLOCK_CACHE_WRITEBACK, false);
            g_free(path);
            if (!b)
                goto out;
            if (!have_size) {
                size = block_size(b);
                have_size = true;
            }
            block_close(b, NULL);
        }
    }
    if (!have_size) {
        timg_error(io, "%s: Image creation needs a size parameter", filename);
        goto out;
    }

    /* Backing options go first, like qemu-img's -b/-F. */
    GString *all = g_string_new(NULL);
    if (backing) {
        GString *esc = g_string_new("backing_file=");
        for (const char *p = backing; *p; p++) {
            if (*p == ',')
                g_string_append_c(esc, ',');
            g_string_append_c(esc, *p);
        }
        timg_opts_append(all, esc->str);
        g_string_free(esc, TRUE);
        char *bf = g_strdup_printf("backing_fmt=%s", backing_fmt);
        timg_opts_append(all, bf);
        g_free(bf);
    }
    if (opts->len)
        timg_opts_append(all, opts->str);
    if (!quiet) {
        fprintf(io->out, "Formatting '%s', fmt=%s size=%llu", filename, fmt, (unsigned long long)size);
        if (all->len) {
            char *spaced = g_strdup(all->str);
            /* Show each item as key=value separated by spaces (qemu-img's line). */
            GString *line = g_string_new(NULL);
            for (const char *p = spaced; *p; p++) {
                if (*p == ',' && p[1] == ',') {
                    g_string_append_c(line, ',');
                    p++;
                } else {
                    g_string_append_c(line, *p == ',' ? ' ' : *p);
                }
            }
            fprintf(io->out, " %s", line->str);
            g_string_free(line, TRUE);
            g_free(spaced);
        }
        fputc('\n', io->out);
        fflush(io->out);
    }
    /* qemu-img prints the size as given and its formats round the image up to 512. */
    uint64_t rounded = size > UINT64_MAX - 511 ? size : (size + 511) & ~(uint64_t)511;
    if (block_create(fmt, filename, rounded, all->len ? all->str : NULL, &err) < 0) {
        timg_report(io, err, "image creation failed");
        g_clear_error(&err);
        g_string_free(all, TRUE);
        goto out;
    }
    g_string_free(all, TRUE);
    status = 0;
out:
    g_free(size_text);
    g_string_free(opts, TRUE);
    return status;
}
