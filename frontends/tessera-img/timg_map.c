/* SPDX-License-Identifier: MIT */
/* tessera-img map [-f fmt] [--output=human|json] [--start-offset=N] [--max-length=N] [-U] filename */
#include "timg_block.h"
#include "timg_map.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

int timg_cmd_map(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_OUTPUT = 256, OPT_START, OPT_MAXLEN };
    static const char usage[] =
        "usage: tessera-img map [-f fmt] [--output=human|json] [--start-offset=OFFSET] "
        "[--max-length=LEN] [-U] filename\n";
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "start-offset", required_argument, NULL, OPT_START },
        { "max-length", required_argument, NULL, OPT_MAXLEN },
        { "force-share", no_argument, NULL, 'U' },
        TIMG_REFUSED_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum timg_output output = TIMG_OUTPUT_HUMAN;
    uint64_t start = 0, max_len = UINT64_MAX;
    int c, rc, status = 1;
    block_node *n;
    GError *err = NULL;

    while ((c = getopt_long(argc, argv, ":f:hU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': break;
        case OPT_OUTPUT:
            if (timg_parse_output(io, optarg, &output) < 0)
                return 1;
            break;
        case OPT_START:
            if (timg_parse_size(optarg, 1, &start) < 0) {
                timg_error(io, "Invalid start offset specified! You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return 1;
            }
            break;
        case OPT_MAXLEN:
            if (timg_parse_size(optarg, 1, &max_len) < 0) {
                timg_error(io, "Invalid length specified! You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return 1;
            }
            break;
        default:
            return timg_other_option(io, c, argv, usage);
        }
    }
    n = timg_open_one(io, argc - optind, argv + optind, fmt, false, BLOCK_CACHE_WRITEBACK, false);
    if (!n)
        return 1;

    /* Unallocated everywhere: qemu-img reports the bottom layer's depth. */
    int bottom = 0;
    for (block_node *b = block_backing(n); b; b = block_backing(b))
        bottom++;
    uint64_t size = block_size(n);
    uint64_t end = start > size ? size : start;
    end = max_len > size - end ? size : end + max_len;

    struct timg_map_printer pr;
    struct timg_map_entry cur = { 0 };
    char *cur_file = NULL;
    timg_map_begin(&pr, io->out, output);
    for (uint64_t off = start; off < end;) {
        block_status st;
        rc = block_get_status(n, off, end - off, true, &st, &err);
        if (rc < 0) {
            timg_report(io, err, "cannot get the block status");
            g_clear_error(&err);
            goto fail;
        }
        if (st.length == 0 || st.length > end - off)
            st.length = end - off;
        struct timg_map_entry next = {
            .start = off, .length = st.length, .depth = st.allocated ? st.depth : bottom, .present = st.allocated,
            .zero = st.zero, .data = st.data, .has_offset = st.offset_valid,
            .offset = st.host_offset, .filename = st.offset_valid ? st.host_file : NULL,
        };
        if (cur.length && timg_map_mergeable(&cur, &next)) {
            cur.length += next.length;
        } else {
            if (cur.length && timg_map_print(&pr, &cur) < 0)
                goto compressed;
            cur = next;
            g_free(cur_file);
            cur_file = g_strdup(next.filename);
            cur.filename = cur_file;
        }
        off += st.length;
    }
    if (cur.length && timg_map_print(&pr, &cur) < 0)
        goto compressed;
    timg_map_end(&pr);
    status = 0;
    goto out;
compressed:
    fflush(io->out);
    timg_error(io, "File contains external, encrypted or compressed clusters.");
fail:
    fflush(io->out);
out:
    g_free(cur_file);
    block_close(n, NULL);
    return status;
}
