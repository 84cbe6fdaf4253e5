/* SPDX-License-Identifier: MIT */
/* tessera-img info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename */
#include "timg_block.h"
#include "timg_info.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

/* Fills i from an open node; the strings stay owned by *bi. */
static int collect(const struct timg_io *io, block_node *n, block_info *bi, struct timg_image_info *i)
{
    GError *err = NULL;

    if (block_get_info(n, bi, &err) < 0) {
        timg_report(io, err, "cannot read the image's information");
        g_clear_error(&err);
        return -1;
    }
    memset(i, 0, sizeof(*i));
    i->filename = bi->filename ? bi->filename : block_filename(n);
    i->format = bi->format ? bi->format : block_format_name(n);
    i->virtual_size = bi->virtual_size;
    i->actual_size = bi->disk_size;
    i->has_actual_size = true;
    i->cluster_size = bi->cluster_size;
    i->backing_filename = bi->backing_file;
    i->full_backing_filename = bi->full_backing_filename;
    i->backing_format = bi->backing_format;
    /* An image that stores no backing format (VMDK: qemu-img forces "vmdk") shows the
     * format its backing file was opened as. */
    if (!i->backing_format && i->backing_filename && block_backing(n))
        i->backing_format = block_format_name(block_backing(n));
    i->dirty = bi->dirty;
    i->format_specific = bi->format_specific;
    return 0;
}

int timg_cmd_info(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_OUTPUT = 256, OPT_CHAIN };
    static const char usage[] =
        "usage: tessera-img info [-f fmt] [--output=human|json] [--backing-chain] [-U] "
        "filename\n";
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_CHAIN },
        { "force-share", no_argument, NULL, 'U' },
        TIMG_REFUSED_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum timg_output output = TIMG_OUTPUT_HUMAN;
    bool chain = false;
    int c, status = 1;
    block_node *top = NULL;

    while ((c = getopt_long(argc, argv, ":f:hU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': break; /* tessera takes no image locks, so sharing is always allowed */
        case OPT_OUTPUT:
            if (timg_parse_output(io, optarg, &output) < 0)
                return 1;
            break;
        case OPT_CHAIN: chain = true; break;
        default:
            return timg_other_option(io, c, argv, usage);
        }
    }
    if (optind != argc - 1) {
        timg_error(io, optind >= argc ? "Expecting one image file name"
                                      : "Expecting one image file name, got extra arguments");
        return 1;
    }
    if (timg_block_ready(io) < 0)
        return 1;
    /*
     * Without --backing-chain the backing file need not exist: open the chain when it
     * opens (its format is then known, see collect()), else the image alone.
     */
    if (!chain) {
        block_open_options o;
        GError *ignored = NULL;
        block_open_options_init(&o);
        o.format = fmt;
        o.read_only = true;
        top = block_open(argv[optind], &o, &ignored);
        g_clear_error(&ignored);
    }
    if (!top)
        top = timg_open(io, argv[optind], fmt, false, BLOCK_CACHE_WRITEBACK, !chain);
    if (!top)
        return 1;

    GPtrArray *infos = g_ptr_array_new();
    GPtrArray *raw = g_ptr_array_new();
    for (block_node *n = top; n; n = chain ? block_backing(n) : NULL) {
        block_info *bi = g_new0(block_info, 1);
        struct timg_image_info *ii = g_new0(struct timg_image_info, 1);
        g_ptr_array_add(raw, bi);
        g_ptr_array_add(infos, ii);
        if (collect(io, n, bi, ii) < 0)
            goto done;
    }
    if (output == TIMG_OUTPUT_JSON) {
        if (chain) {
            GVariantBuilder lb;
            g_variant_builder_init(&lb, G_VARIANT_TYPE("av"));
            for (guint k = 0; k < infos->len; k++) {
                GVariant *one = timg_info_to_variant(infos->pdata[k]);
                g_variant_builder_add(&lb, "v", one);
                g_variant_unref(one);
            }
            GVariant *list = g_variant_ref_sink(g_variant_builder_end(&lb));
            timg_print_json(io->out, list, 0);
            g_variant_unref(list);
        } else {
            GVariant *v = timg_info_to_variant(infos->pdata[0]);
            timg_print_json(io->out, v, 0);
            g_variant_unref(v);
        }
        fputc('\n', io->out);
    } else {
        for (guint k = 0; k < infos->len; k++) {
            if (k)
                fputc('\n', io->out);
            timg_info_print_human(io->out, infos->pdata[k]);
        }
    }
    status = 0;
done:
    for (guint k = 0; k < raw->len; k++) {
        block_info_clear(raw->pdata[k]);
        g_free(raw->pdata[k]);
        g_free(infos->pdata[k]);
    }
    g_ptr_array_unref(raw);
    g_ptr_array_unref(infos);
    block_close(top, NULL);
    return status;
}
