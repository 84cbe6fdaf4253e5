/* SPDX-License-Identifier: MIT */
/*
 * tessera-img bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [--no-drain]
 *                   [-i aio] [-n] [-o offset] [--pattern=N] [-q] [-s size] [-S step]
 *                   [-t cache] [-U] [-w] filename
 *
 * Keeps up to depth requests in flight on the block layer's thread pool, like qemu-img
 * bench keeps depth AIO requests, and prints the same lines. Once the queue is full the
 * submitter sleeps until a quarter of it has completed, then refills it: waking it for
 * every completion cost more than a small request itself.
 */
#include "timg_block.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct bench {
    const struct timg_io *io;
    block_node *n;
    bool write;
    uint64_t count, submitted, completed;
    unsigned depth, in_flight;
    unsigned refill_at;  /* a waiting submitter is woken at this many in flight */
    bool waiting;        /* the submitter sleeps on cond */
    size_t bufsize;
    uint64_t step, offset, size;
    unsigned flush_interval;
    bool drain;
    GMutex lock;
    GCond cond;
    int error;
    char *msg;
};

struct bench_req {
    struct bench *b;
    uint8_t *buf;
};

static void on_done(void *opaque, int ret, const GError *err)
{
    struct bench_req *r = opaque;
    struct bench *b = r->b;

    g_mutex_lock(&b->lock);
    if (ret < 0 && !b->error) {
        b->error = ret;
        b->msg = g_strdup(err && err->message ? err->message : g_strerror(-ret));
    }
    b->in_flight--;
    b->completed++;
    if (b->waiting && (b->in_flight <= b->refill_at || b->error))
        g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static void wait_idle(struct bench *b)
{
    g_mutex_lock(&b->lock);
    while (b->in_flight) {
        b->waiting = true;
        g_cond_wait(&b->cond, &b->lock);
        b->waiting = false;
    }
    g_mutex_unlock(&b->lock);
}

static int run_with_pattern(struct bench *b, uint8_t pattern)
{
    struct bench_req *reqs = g_new0(struct bench_req, b->depth);
    uint64_t since_flush = 0;
    GError *err = NULL;

    for (unsigned i = 0; i < b->depth; i++) {
        reqs[i].b = b;
        reqs[i].buf = g_malloc(b->bufsize);
    }
    /* The pattern fills every write buffer once. */
    for (unsigned i = 0; i < b->depth; i++)
        memset(reqs[i].buf, pattern, b->bufsize);

    unsigned next_slot = 0;
    while (b->completed < b->count) {
        g_mutex_lock(&b->lock);
        while (!b->error &&
               (b->in_flight >= b->depth || (b->submitted == b->count && b->in_flight))) {
            b->waiting = true;
            g_cond_wait(&b->cond, &b->lock);
            b->waiting = false;
        }
        bool stop = b->error != 0 || b->submitted == b->count;
        g_mutex_unlock(&b->lock);
        if (stop)
            break;

        if (b->flush_interval && since_flush == b->flush_interval) {
            if (b->drain)
                wait_idle(b);
            if (block_flush(b->n, &err) < 0) {
                g_mutex_lock(&b->lock);
                if (!b->error) {
                    b->error = -EIO;
                    b->msg = g_strdup(err && err->message ? err->message : "flush failed");
                }
                g_mutex_unlock(&b->lock);
                g_clear_error(&err);
                break;
            }
            since_flush = 0;
        }

        /* A free slot: the one whose request finished longest ago. */
        struct bench_req *r = &reqs[next_slot];
        next_slot = (next_slot + 1) % b->depth;
        g_mutex_lock(&b->lock);
        b->in_flight++;
        b->submitted++;
        g_mutex_unlock(&b->lock);
        int rc = block_aio_submit(b->n, b->write ? BLOCK_OP_WRITE : BLOCK_OP_READ, b->offset,
                                  r->buf, b->bufsize, 0, on_done, r);
        if (rc < 0) {
            g_mutex_lock(&b->lock);
            b->in_flight--;
            if (!b->error) {
                b->error = rc;
                b->msg = g_strdup(g_strerror(-rc));
            }
            g_mutex_unlock(&b->lock);
            break;
        }
        since_flush++;
        /* Wrap like qemu-img bench: modulo the image size (a request that then crosses
         * the end fails, as it does there). */
        b->offset = (b->offset + b->step) % b->size;
    }
    block_aio_drain(b->n);
    for (unsigned i = 0; i < b->depth; i++)
        g_free(reqs[i].buf);
    g_free(reqs);
    return b->error;
}

int timg_cmd_bench(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_FLUSH_INTERVAL = 256, OPT_NO_DRAIN, OPT_PATTERN };
    static const char usage[] =
        "usage: tessera-img bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] "
        "[--no-drain] [-i aio] [-n] [-o offset] [--pattern=N] [-q] [-s buffer_size] "
        "[-S step_size] [-t cache] [-U] [-w] filename\n";
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "force-share", no_argument, NULL, 'U' },
        TIMG_REFUSED_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    struct bench b;
    const char *fmt = NULL;
    block_cache_mode cache = BLOCK_CACHE_WRITEBACK;
    bool quiet = false, step_given = false;
    uint64_t v, pattern = 0;
    int c, status = 1;
    GError *err = NULL;

    memset(&b, 0, sizeof(b));
    b.io = io;
    b.count = 75000;
    b.depth = 64;
    b.bufsize = 4096;
    b.drain = true;
    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!parse_uint(optarg, INT32_MAX, &v) || v == 0) {
                timg_error(io, "Invalid request count specified");
                return 1;
            }
            b.count = v;
            break;
        case 'd':
            if (!parse_uint(optarg, 4096, &v) || v == 0) {
                timg_error(io, "Invalid queue depth specified");
                return 1;
            }
            b.depth = (unsigned)v;
            break;
        case 'f': fmt = optarg; break;
        case 'n': cache = BLOCK_CACHE_NONE; break;
        case 'i':
            /* tessera always uses its thread pool; accept qemu's names for scripts. */
            if (strcmp(optarg, "threads") != 0 && strcmp(optarg, "native") != 0 &&
                strcmp(optarg, "io_uring") != 0) {
                timg_error(io, "Invalid aio option: %s", optarg);
                return 1;
            }
            break;
        case 'o':
            if (timg_parse_size(optarg, 1, &b.offset) < 0) {
                timg_error(io, "Invalid offset specified");
                return 1;
            }
            break;
        case 'q': quiet = true; break;
        case 's':
            if (timg_parse_size(optarg, 1, &v) < 0 || v == 0 || v > INT32_MAX) {
                timg_error(io, "Invalid buffer size specified");
                return 1;
            }
            b.bufsize = (size_t)v;
            break;
        case 'S':
            if (timg_parse_size(optarg, 1, &v) < 0 || v > INT32_MAX) {
                timg_error(io, "Invalid step size specified");
                return 1;
            }
            b.step = v;
            step_given = true;
            break;
        case 't':
            if (timg_parse_cache(io, optarg, &cache) < 0)
                return 1;
            break;
        case 'w': b.write = true; break;
        case 'U': break;
        case OPT_FLUSH_INTERVAL:
            if (!parse_uint(optarg, INT32_MAX, &v)) {
                timg_error(io, "Invalid flush interval specified");
                return 1;
            }
            b.flush_interval = (unsigned)v;
            break;
        case OPT_NO_DRAIN: b.drain = false; break;
        case OPT_PATTERN:
            if (!parse_uint(optarg, 0xff, &pattern)) {
                timg_error(io, "Invalid pattern byte specified");
                return 1;
            }
            break;
        default:
            return timg_other_option(io, c, argv, usage);
        }
    }
    if (!timg_expect_one_filename(io, argc - optind))
        return 1;
    if (b.flush_interval && !b.write) {
        timg_error(io, "--flush-interval is only available in write tests");
        return 1;
    }
    if (!b.drain && !b.flush_interval) {
        timg_error(io, "--no-drain requires --flush-interval");
        return 1;
    }
    if (!step_given)
        b.step = b.bufsize;
    if (timg_block_ready(io) < 0)
        return 1;
    b.n = timg_open(io, argv[optind], fmt, b.write, cache, false);
    if (!b.n)
        return 1;
    b.size = block_size(b.n);
    if (b.bufsize > b.size || b.offset > b.size - b.bufsize) {
        timg_error(io, "Request out of image bounds: offset %" PRIu64 " + %zu > size %" PRIu64,
                   b.offset, b.bufsize, b.size);
        goto out;
    }
    if (!quiet) {
        fprintf(io->out, "Sending %" PRIu64 " %s requests, %zu bytes each, %u in parallel "
                         "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n",
                b.count, b.write ? "write" : "read", b.bufsize, b.depth, b.offset, b.step);
        if (b.flush_interval)
            fprintf(io->out, "Sending flush every %u requests\n", b.flush_interval);
        fflush(io->out);
    }
    b.refill_at = b.depth - MAX(1u, b.depth / 4);
    g_mutex_init(&b.lock);
    g_cond_init(&b.cond);
    block_aio_set_threads(MIN(b.depth, 64u));
    gint64 t0 = g_get_monotonic_time();
    int rc = run_with_pattern(&b, (uint8_t)pattern);
    gint64 t1 = g_get_monotonic_time();
    g_mutex_clear(&b.lock);
    g_cond_clear(&b.cond);
    if (rc < 0) {
        timg_error(io, "%s request failed: %s", b.write ? "write" : "read",
                   b.msg ? b.msg : g_strerror(-rc));
        goto out;
    }
    if (!quiet)
        fprintf(io->out, "Run completed in %3.3f seconds.\n", (double)(t1 - t0) / 1e6);
    status = 0;
out:
    g_free(b.msg);
    if (block_close(b.n, &err) < 0 && status == 0) {
        timg_report(io, err, "close failed");
        status = 1;
    }
    g_clear_error(&err);
    return status;
}
