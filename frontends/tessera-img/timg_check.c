/* SPDX-License-Identifier: MIT */
/* tessera-img check [-q] [-f fmt] [--output=human|json] [-r leaks|all] [-T src_cache] [-U] filename */
#include "timg_block.h"
#include "timg_check.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

/* qemu-img's exit status when the format has no check. */
#define TIMG_CHECK_NOT_SUPPORTED 63

struct report_ctx {
    const struct timg_io *io;
    bool quiet;
};

/* Each problem as the check finds it, on stderr like qemu-img's per-cluster lines. */
static void report_problem(void *opaque, int kind, bool fixed, const char *msg)
{
    const struct report_ctx *ctx = opaque;
    const char *what = kind == TS_BLOCK_PROBLEM_LEAK ? "Leaked" : "ERROR";

    if (ctx->quiet)
        return;
    if (fixed)
        fprintf(ctx->io->err, "Repairing: %s\n", msg);
    else
        fprintf(ctx->io->err, "%s: %s\n", what, msg);
}

static int run_check(const struct timg_io *io, block_node *n, block_repair repair, bool quiet,
                     struct timg_check *out)
{
    block_check_result r;
    struct report_ctx ctx = { io, quiet };
    GError *err = NULL;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = block_check_report(n, repair, report_problem, &ctx, &r, &err);
    if (rc == -ENOTSUP) {
        g_clear_error(&err);
        return rc;
    }
    if (rc < 0) {
        timg_error(io, "Check failed: %s", err && err->message ? err->message : g_strerror(-rc));
        g_clear_error(&err);
        return rc;
    }
    out->corruptions = r.corruptions;
    out->leaks = r.leaks;
    out->corruptions_fixed = r.corruptions_fixed;
    out->leaks_fixed = r.leaks_fixed;
    out->check_errors = r.check_errors;
    out->allocated_clusters = r.allocated_clusters;
    out->total_clusters = r.total_clusters;
    out->fragmented_clusters = r.fragmented_clusters;
    out->compressed_clusters = r.compressed_clusters;
    out->image_end_offset = r.image_end_offset;
    return 0;
}

int timg_cmd_check(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_OUTPUT = 256 };
    static const char usage[] =
        "usage: tessera-img check [-q] [-f fmt] [--output=human|json] [-r leaks|all] "
        "[-T src_cache] [-U] filename\n";
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        TIMG_REFUSED_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum timg_output output = TIMG_OUTPUT_HUMAN;
    block_repair repair = BLOCK_REPAIR_NONE;
    block_cache_mode cache = BLOCK_CACHE_WRITEBACK;
    bool quiet = false;
    int c, rc, status = 1;
    block_node *n;

    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'r':
            if (strcmp(optarg, "leaks") == 0) {
                repair = BLOCK_REPAIR_LEAKS;
            } else if (strcmp(optarg, "all") == 0) {
                repair = BLOCK_REPAIR_ALL;
            } else {
                timg_error(io, "Unknown option value for -r (expecting 'leaks' or 'all'): %s", optarg);
                return 1;
            }
            break;
        case 'T':
            if (timg_parse_cache(io, optarg, &cache) < 0)
                return 1;
            break;
        case 'q': quiet = true; break;
        case 'U': break;
        case OPT_OUTPUT:
            if (timg_parse_output(io, optarg, &output) < 0)
                return 1;
            break;
        default:
            return timg_other_option(io, c, argv, usage);
        }
    }
    /* Only a repair opens the image for writing; a plain check never modifies it. */
    n = timg_open_one(io, argc - optind, argv + optind, fmt, repair != BLOCK_REPAIR_NONE, cache,
                      true);
    if (!n)
        return 1;

    struct timg_check result = { .filename = argv[optind], .format = block_format_name(n) };
    rc = run_check(io, n, repair, quiet, &result);
    if (rc == -ENOTSUP) {
        timg_error(io, "This image format does not support checks");
        status = TIMG_CHECK_NOT_SUPPORTED;
        goto out;
    }
    if (rc < 0)
        goto out;
    if (repair != BLOCK_REPAIR_NONE && (result.leaks_fixed || result.corruptions_fixed)) {
        struct timg_check again = result;
        if (output == TIMG_OUTPUT_HUMAN && !quiet)
            timg_check_print_repaired(io->out, &result);
        rc = run_check(io, n, BLOCK_REPAIR_NONE, quiet, &again);
        if (rc < 0)
            goto out;
        again.leaks_fixed = result.leaks_fixed;
        again.corruptions_fixed = result.corruptions_fixed;
        result = again;
    }
    if (output == TIMG_OUTPUT_JSON) {
        GVariant *v = timg_check_to_variant(&result);
        timg_print_json(io->out, v, 0);
        fputc('\n', io->out);
        g_variant_unref(v);
    } else if (!quiet) {
        timg_check_print_human(io->out, &result);
    }
    status = timg_check_status(&result);
out:
    block_close(n, NULL);
    return status;
}
