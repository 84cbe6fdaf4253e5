/* SPDX-License-Identifier: MIT */
/* tessera-img compare [-q] [-f fmt] [-F fmt] [-T src_cache] [-p] [-s] [-U] filename1 filename2 */
#include "timg_block.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

/* qemu-img compare's exit statuses. */
enum {
    CMP_IDENTICAL = 0,
    CMP_DIFFERENT = 1,
    CMP_OPEN_ERROR = 2,
    CMP_STATUS_ERROR = 3,
    CMP_READ_ERROR = 4,
};

#define CMP_CHUNK (1u << 20)
#define CMP_SECTOR 512u

/* Offset (relative to buf) of the first 512-byte sector where a and b differ, or len. */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t off = 0; off < len; off += CMP_SECTOR) {
        size_t n = len - off < CMP_SECTOR ? len - off : CMP_SECTOR;
        if (memcmp(a + off, b + off, n) != 0)
            return off;
    }
    return len;
}

static size_t first_nonzero(const uint8_t *a, size_t len)
{
    for (size_t off = 0; off < len; off += CMP_SECTOR) {
        size_t n = len - off < CMP_SECTOR ? len - off : CMP_SECTOR;
        for (size_t i = 0; i < n; i++)
            if (a[off + i])
                return off;
    }
    return len;
}

struct cmp_state {
    const struct timg_io *io;
    bool quiet;
    uint8_t *buf1, *buf2;
    struct timg_progress progress;
};

static int read_or_report(struct cmp_state *s, block_node *n, uint64_t off, void *buf, size_t len)
{
    GError *err = NULL;

    if (block_read(n, off, buf, len, &err) < 0) {
        timg_error(s->io, "Error while reading offset %" PRIu64 " of %s: %s", off,
                   block_filename(n), err && err->message ? err->message : "I/O error");
        g_clear_error(&err);
        return -1;
    }
    return 0;
}

static int status_or_report(struct cmp_state *s, block_node *n, uint64_t off, uint64_t len,
                            block_status *st)
{
    GError *err = NULL;

    if (block_get_status(n, off, len, true, st, &err) < 0) {
        timg_error(s->io, "Sector allocation test failed for %s: %s", block_filename(n),
                   err && err->message ? err->message : "error");
        g_clear_error(&err);
        return -1;
    }
    if (st->length == 0 || st->length > len)
        st->length = len;
    return 0;
}

/* The part of the longer image past the shorter one must read as zeros. */
static int check_tail_zero(struct cmp_state *s, block_node *n, uint64_t from, uint64_t to,
                           uint64_t total_done, uint64_t total)
{
    for (uint64_t off = from; off < to;) {
        block_status st;
        if (status_or_report(s, n, off, MIN(to - off, (uint64_t)CMP_CHUNK), &st) < 0)
            return CMP_STATUS_ERROR;
        if (!st.zero) {
            if (read_or_report(s, n, off, s->buf1, st.length) < 0)
                return CMP_READ_ERROR;
            size_t nz = first_nonzero(s->buf1, st.length);
            if (nz < st.length) {
                timg_progress_end(&s->progress);
                if (!s->quiet)
                    fprintf(s->io->out, "Content mismatch at offset %" PRIu64 "!\n", off + nz);
                return CMP_DIFFERENT;
            }
        }
        off += st.length;
        timg_progress_update(&s->progress, total_done + (off - from), total);
    }
    return CMP_IDENTICAL;
}

int timg_cmd_compare(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_IMAGE_OPTS = 256, OPT_OBJECT };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
        { "object", required_argument, NULL, OPT_OBJECT },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt1 = NULL, *fmt2 = NULL;
    block_cache_mode cache = BLOCK_CACHE_WRITEBACK;
    bool quiet = false, strict = false, progress = false;
    block_node *n1 = NULL, *n2 = NULL;
    int c, status = CMP_OPEN_ERROR;
    struct cmp_state s = { .io = io };

    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'T':
            if (timg_parse_cache(io, optarg, &cache) < 0)
                return CMP_OPEN_ERROR;
            break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'U': break;
        case OPT_IMAGE_OPTS:
        case OPT_OBJECT:
            timg_error(io, "%s is not supported by tessera-img", argv[optind - 1]);
            return CMP_OPEN_ERROR;
        case 'h':
            fputs("usage: tessera-img compare [-q] [-f fmt] [-F fmt] [-T src_cache] [-p] [-s] [-U] "
                  "filename1 filename2\n", io->out);
            return 0;
        default:
            timg_bad_option(io, c, optopt, argv, optind);
            return CMP_OPEN_ERROR;
        }
    }
    if (quiet)
        progress = false;
    if (optind != argc - 2) {
        timg_error(io, "Expecting two image file names");
        return CMP_OPEN_ERROR;
    }
    if (timg_block_ready(io) < 0)
        return CMP_OPEN_ERROR;
    /* -f names the first image's format only; without -F the second is probed (qemu-img). */
    n1 = timg_open(io, argv[optind], fmt1, false, cache, false);
    if (!n1)
        return CMP_OPEN_ERROR;
    n2 = timg_open(io, argv[optind + 1], fmt2, false, cache, false);
    if (!n2)
        goto out;

    s.quiet = quiet;
    s.buf1 = g_malloc(CMP_CHUNK);
    s.buf2 = g_malloc(CMP_CHUNK);
    timg_progress_init(&s.progress, io->out, progress, 2.0);

    uint64_t size1 = block_size(n1), size2 = block_size(n2);
    uint64_t common = MIN(size1, size2), total = MAX(size1, size2);
    if (size1 != size2) {
        if (strict) {
            if (!quiet)
                fprintf(io->out, "Strict mode: Image size mismatch!\n");
            status = CMP_DIFFERENT;
            goto out;
        }
    }
    timg_progress_update(&s.progress, 0, total);
    for (uint64_t off = 0; off < common;) {
        block_status st1, st2;
        uint64_t want = MIN(common - off, (uint64_t)CMP_CHUNK);
        if (status_or_report(&s, n1, off, want, &st1) < 0 ||
            status_or_report(&s, n2, off, want, &st2) < 0) {
            status = CMP_STATUS_ERROR;
            goto out;
        }
        uint64_t len = MIN(st1.length, st2.length);
        if (strict && (st1.allocated != st2.allocated || st1.data != st2.data ||
                       st1.zero != st2.zero)) {
            timg_progress_end(&s.progress);
            if (!quiet)
                fprintf(io->out, "Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
            status = CMP_DIFFERENT;
            goto out;
        }
        if (!(st1.zero && st2.zero)) {
            if (read_or_report(&s, n1, off, s.buf1, len) < 0 ||
                read_or_report(&s, n2, off, s.buf2, len) < 0) {
                status = CMP_READ_ERROR;
                goto out;
            }
            size_t d = first_difference(s.buf1, s.buf2, len);
            if (d < len) {
                timg_progress_end(&s.progress);
                if (!quiet)
                    fprintf(io->out, "Content mismatch at offset %" PRIu64 "!\n", off + d);
                status = CMP_DIFFERENT;
                goto out;
            }
        }
        off += len;
        timg_progress_update(&s.progress, off, total);
    }
    if (size1 != size2) {
        /* qemu-img warns once the common part compared equal. */
        if (!quiet)
            fprintf(io->out, "Warning: Image size mismatch!\n");
        block_node *longer = size1 > size2 ? n1 : n2;
        status = check_tail_zero(&s, longer, common, total, common, total);
        if (status != CMP_IDENTICAL) {
            timg_progress_end(&s.progress);
            goto out;
        }
    }
    timg_progress_end(&s.progress);
    if (!quiet)
        fprintf(io->out, "Images are identical.\n");
    status = CMP_IDENTICAL;
out:
    g_free(s.buf1);
    g_free(s.buf2);
    block_close(n2, NULL);
    block_close(n1, NULL);
    return status;
}
