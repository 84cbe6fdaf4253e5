/* SPDX-License-Identifier: MIT */
/*
 * tessera-img convert [-c] [-p] [-q] [-n] [-W] [-U] [-f fmt] [-O output_fmt] [-o options]
 *                     [-t cache] [-T src_cache] [-S sparse_size] [-m num_requests]
 *                     [--target-is-zero] filename [filename2 [...]] output_filename
 *
 * The source is walked in chunks aligned to the target's cluster size. Block status says
 * which ranges read as zeros: those are skipped (the new target reads zeros there) or
 * zeroed (-n). Data chunks are read by up to -m requests in parallel on the block layer's
 * thread pool; their all-zero blocks of -S bytes are skipped too. Writes happen in source
 * order (so a streamOptimized target grows in order), unless -W allows them to go out of
 * order and in parallel.
 */
#include "timg_block.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#define CONVERT_BUF (2u << 20)
#define CONVERT_MAX_SPARSE (16u << 20)
#define CONVERT_MAX_REQUESTS 16

enum slot_state { SLOT_IDLE, SLOT_READING, SLOT_READ_DONE, SLOT_WRITING, SLOT_WRITE_DONE };

struct slot {
    enum slot_state state;
    uint64_t seq;      /* order of the chunk in the output */
    int src;           /* source index */
    uint64_t src_off;  /* offset in the source */
    uint64_t dst_off;  /* offset in the target */
    size_t len;
    size_t pad;        /* zeros written after the data: the target's tail past the source */
    bool zero;         /* reads as zeros: nothing to read */
    uint8_t *buf;
    int pending;       /* asynchronous writes in flight (-W) */
    int ret;           /* first error of the slot's requests */
    char *msg;         /* its message */
};

struct convert {
    const struct timg_io *io;
    block_node **src;
    uint64_t *src_size;
    int n_src;
    block_node *dst;
    uint64_t total;
    uint64_t tail;        /* target bytes past the source's end (size rounding), < align */
    uint64_t align;       /* chunk alignment: the target's cluster size, at least 512 */
    uint64_t sparse;      /* -S: zero blocks of this size are skipped; 0 = write everything */
    bool target_zeroed;   /* the target reads zeros everywhere before we write */
    bool ordered;         /* not -W */
    int requests;

    /* planner position */
    int plan_src;
    uint64_t plan_off, plan_dst;
    uint64_t next_seq, next_write;

    GMutex lock;
    GCond cond;
    struct slot slots[CONVERT_MAX_REQUESTS];

    uint64_t done;
    struct timg_progress progress;
    int error;
};

static void slot_fail(struct slot *s, int ret, const GError *err)
{
    if (s->ret == 0) {
        s->ret = ret ? ret : -EIO;
        s->msg = g_strdup(err && err->message ? err->message : g_strerror(-s->ret));
    }
}

/* Callbacks find their convert through this wrapper. */
struct request {
    struct convert *cv;
    struct slot *slot;
};

static void on_read(void *opaque, int ret, const GError *err)
{
    struct request *r = opaque;

    g_mutex_lock(&r->cv->lock);
    if (ret < 0)
        slot_fail(r->slot, ret, err);
    r->slot->state = SLOT_READ_DONE;
    g_cond_broadcast(&r->cv->cond);
    g_mutex_unlock(&r->cv->lock);
    g_free(r);
}

static void on_write(void *opaque, int ret, const GError *err)
{
    struct request *r = opaque;

    g_mutex_lock(&r->cv->lock);
    if (ret < 0)
        slot_fail(r->slot, ret, err);
    if (--r->slot->pending == 0)
        r->slot->state = SLOT_WRITE_DONE;
    g_cond_broadcast(&r->cv->cond);
    g_mutex_unlock(&r->cv->lock);
    g_free(r);
}

/* Plans the next chunk into s. Returns false when the whole input is planned. */
static bool plan_next(struct convert *cv, struct slot *s)
{
    GError *err = NULL;

    while (cv->plan_src < cv->n_src && cv->plan_off >= cv->src_size[cv->plan_src]) {
        cv->plan_src++;
        cv->plan_off = 0;
    }
    if (cv->plan_src >= cv->n_src)
        return false;

    block_node *src = cv->src[cv->plan_src];
    uint64_t remain = cv->src_size[cv->plan_src] - cv->plan_off;
    uint64_t chunk = MIN(remain, (uint64_t)CONVERT_BUF);
    block_status st;

    memset(s, 0, sizeof(*s));
    s->src = cv->plan_src;
    s->src_off = cv->plan_off;
    s->dst_off = cv->plan_dst;
    s->seq = cv->next_seq++;
    if (block_get_status(src, cv->plan_off, remain, true, &st, &err) < 0) {
        /* Unknown status: read the chunk; the read will tell. */
        g_clear_error(&err);
        st.zero = false;
        st.length = chunk;
    }
    if (st.length == 0 || st.length > remain)
        st.length = remain;
    if (st.zero && cv->sparse) {
        /* A zero range: skip whole aligned blocks of it (to the end when it reaches it). */
        uint64_t len = st.length == remain ? remain : st.length / cv->align * cv->align;
        if (cv->plan_off % cv->align == 0 && len > 0) {
            s->zero = true;
            s->len = len;
            goto planned;
        }
    }
    s->len = chunk;
    /* Keep later chunks aligned when this one started unaligned. */
    if (s->len == CONVERT_BUF && (cv->plan_off + s->len) % cv->align)
        s->len -= (cv->plan_off + s->len) % cv->align;
planned:
    /* The last chunk also covers the target's rounded-up tail, so that formats taking
     * only whole grains (or the short last one) get it. */
    if (cv->plan_src == cv->n_src - 1 && cv->plan_off + s->len == cv->src_size[cv->plan_src])
        s->pad = cv->tail;
    cv->plan_off += s->len;
    cv->plan_dst += s->len;
    return true;
}

static bool is_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Writes one read chunk: runs of non-zero blocks are written, zero blocks skipped (or
 * zeroed when the target is not known to be zero). Synchronous unless async (-W).
 */
static int write_slot(struct convert *cv, struct slot *s, bool async)
{
    GError *err = NULL;
    size_t len = s->len + s->pad;
    uint64_t block = cv->sparse ? MAX(cv->sparse, cv->align) : len;
    size_t pos = 0;
    int rc = 0;

    if (s->zero) {
        if (cv->target_zeroed)
            return 0;
        if (async) {
            struct request *r = g_new(struct request, 1);
            *r = (struct request){ cv, s };
            s->pending++;
            rc = block_aio_submit(cv->dst, BLOCK_OP_WRITE_ZEROES, s->dst_off, NULL, len,
                                  TS_BLOCK_ZERO_MAY_UNMAP, on_write, r);
            if (rc < 0) {
                s->pending--;
                g_free(r);
            }
            return rc;
        }
        rc = block_write_zeroes(cv->dst, s->dst_off, len, TS_BLOCK_ZERO_MAY_UNMAP, &err);
        goto check;
    }
    if (s->pad)
        memset(s->buf + s->len, 0, s->pad);
    while (pos < len) {
        size_t n = MIN((uint64_t)(len - pos), block);
        bool z = cv->sparse && is_zero(s->buf + pos, n);
        size_t run = n;
        /* Extend the run over following blocks of the same kind. */
        while (pos + run < len) {
            size_t m = MIN((uint64_t)(len - pos - run), block);
            if ((cv->sparse && is_zero(s->buf + pos + run, m)) != z)
                break;
            run += m;
        }
        if (z && cv->target_zeroed) {
            pos += run;
            continue;
        }
        if (async) {
            struct request *r = g_new(struct request, 1);
            *r = (struct request){ cv, s };
            s->pending++;
            rc = z ? block_aio_submit(cv->dst, BLOCK_OP_WRITE_ZEROES, s->dst_off + pos, NULL, run,
                                      TS_BLOCK_ZERO_MAY_UNMAP, on_write, r)
                   : block_aio_submit(cv->dst, BLOCK_OP_WRITE, s->dst_off + pos, s->buf + pos, run,
                                      0, on_write, r);
            if (rc < 0) {
                s->pending--;
                g_free(r);
                return rc;
            }
        } else {
            rc = z ? block_write_zeroes(cv->dst, s->dst_off + pos, run, TS_BLOCK_ZERO_MAY_UNMAP, &err)
                   : block_write(cv->dst, s->dst_off + pos, s->buf + pos, run, &err);
            if (rc < 0)
                goto check;
        }
        pos += run;
    }
check:
    if (rc < 0) {
        timg_error(cv->io, "error while writing at byte %" PRIu64 ": %s", s->dst_off + pos,
                   err && err->message ? err->message : g_strerror(-rc));
        g_clear_error(&err);
    }
    return rc;
}

static void report_read_error(struct convert *cv, struct slot *s)
{
    timg_error(cv->io, "error while reading at byte %" PRIu64 ": %s", s->dst_off,
               s->msg ? s->msg : g_strerror(-s->ret));
}

static int run(struct convert *cv)
{
    bool planned_all = false;

    for (int i = 0; i < cv->requests; i++)
        cv->slots[i].buf = g_malloc(CONVERT_BUF + cv->align);
    timg_progress_update(&cv->progress, 0, cv->total);

    for (;;) {
        /* Fill idle slots with the next chunks and start their reads. */
        for (int i = 0; i < cv->requests && !planned_all && !cv->error; i++) {
            struct slot *s = &cv->slots[i];
            g_mutex_lock(&cv->lock);
            bool idle = s->state == SLOT_IDLE; /* callbacks write busy slots' states */
            g_mutex_unlock(&cv->lock);
            if (!idle)
                continue;
            uint8_t *buf = s->buf;
            if (!plan_next(cv, s)) {
                s->buf = buf;
                planned_all = true;
                break;
            }
            s->buf = buf;
            if (s->zero) {
                s->state = SLOT_READ_DONE;
                continue;
            }
            struct request *r = g_new(struct request, 1);
            *r = (struct request){ cv, s };
            s->state = SLOT_READING;
            int rc = block_aio_submit(cv->src[s->src], BLOCK_OP_READ, s->src_off, s->buf, s->len,
                                      0, on_read, r);
            if (rc < 0) {
                g_free(r);
                s->state = SLOT_READ_DONE;
                slot_fail(s, rc, NULL);
            }
        }

        /* Find something to do: a finished write, or the next chunk ready to write. */
        g_mutex_lock(&cv->lock);
        struct slot *ready = NULL;
        bool busy = false;
        for (;;) {
            busy = false;
            ready = NULL;
            for (int i = 0; i < cv->requests; i++) {
                struct slot *s = &cv->slots[i];
                if (s->state == SLOT_IDLE)
                    continue;
                busy = true;
                if (s->state == SLOT_WRITE_DONE ||
                    (s->state == SLOT_READ_DONE && (!cv->ordered || s->seq == cv->next_write))) {
                    ready = s;
                    break;
                }
            }
            if (ready || !busy)
                break;
            g_cond_wait(&cv->cond, &cv->lock);
        }
        g_mutex_unlock(&cv->lock);
        if (!ready) {
            if (planned_all || cv->error)
                break;
            continue;
        }

        if (ready->state == SLOT_WRITE_DONE) {
            if (ready->ret < 0 && !cv->error) {
                timg_error(cv->io, "error while writing at byte %" PRIu64 ": %s", ready->dst_off,
                           ready->msg ? ready->msg : g_strerror(-ready->ret));
                cv->error = ready->ret;
            }
            cv->done += ready->len;
            timg_progress_update(&cv->progress, cv->done, cv->total);
            g_free(ready->msg);
            ready->msg = NULL;
            ready->state = SLOT_IDLE;
            continue;
        }
        /* SLOT_READ_DONE */
        if (ready->ret < 0 && !cv->error) {
            report_read_error(cv, ready);
            cv->error = ready->ret;
        }
        if (cv->error) {
            g_free(ready->msg);
            ready->msg = NULL;
            ready->state = SLOT_IDLE;
            cv->next_write++;
            continue;
        }
        if (cv->ordered) {
            int rc = write_slot(cv, ready, false);
            if (rc < 0)
                cv->error = rc;
            cv->next_write++;
            cv->done += ready->len;
            timg_progress_update(&cv->progress, cv->done, cv->total);
            ready->state = SLOT_IDLE;
        } else {
            g_mutex_lock(&cv->lock);
            ready->state = SLOT_WRITING;
            ready->pending++; /* held while submitting */
            g_mutex_unlock(&cv->lock);
            int rc = write_slot(cv, ready, true);
            g_mutex_lock(&cv->lock);
            if (rc < 0)
                slot_fail(ready, rc, NULL);
            if (--ready->pending == 0)
                ready->state = SLOT_WRITE_DONE;
            g_mutex_unlock(&cv->lock);
        }
    }
    for (int i = 0; i < cv->n_src; i++)
        block_aio_drain(cv->src[i]);
    block_aio_drain(cv->dst);
    for (int i = 0; i < cv->requests; i++) {
        g_free(cv->slots[i].buf);
        g_free(cv->slots[i].msg);
    }
    return cv->error;
}

/* True when the -o list names a key (as "key=" or a bare "key"). */
static bool opts_have(const char *opts, const char *key)
{
    size_t k = strlen(key);

    for (const char *p = opts; p && *p;) {
        if (strncmp(p, key, k) == 0 && (p[k] == '=' || p[k] == ',' || p[k] == 0))
            return true;
        const char *c = strchr(p, ',');
        while (c && c[1] == ',')
            c = strchr(c + 2, ',');
        p = c ? c + 1 : NULL;
    }
    return false;
}

int timg_cmd_convert(const struct timg_io *io, int argc, char **argv)
{
    enum { OPT_TARGET_IS_ZERO = 256, OPT_IMAGE_OPTS, OPT_OBJECT };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
        { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
        { "target-image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
        { "object", required_argument, NULL, OPT_OBJECT },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw";
    block_cache_mode cache = BLOCK_CACHE_UNSAFE, src_cache = BLOCK_CACHE_WRITEBACK;
    bool compress = false, progress = false, quiet = false, no_create = false, unordered = false;
    bool target_is_zero = false;
    uint64_t sparse = 4096;
    long requests = 8;
    GString *opts = g_string_new(NULL);
    struct convert cv;
    int c, status = 1;
    GError *err = NULL;

    memset(&cv, 0, sizeof(cv));
    while ((c = getopt_long(argc, argv, ":hf:O:o:cpqnWUt:T:S:m:CB:F:l:r:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'o': timg_opts_append(opts, optarg); break;
        case 'c': compress = true; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 'n': no_create = true; break;
        case 'W': unordered = true; break;
        case 'U': break;
        case 't':
            if (timg_parse_cache(io, optarg, &cache) < 0)
                goto out;
            break;
        case 'T':
            if (timg_parse_cache(io, optarg, &src_cache) < 0)
                goto out;
            break;
        case 'S': {
            int rc = timg_parse_size(optarg, 1, &sparse);
            if (rc < 0 || sparse % 512 || sparse > CONVERT_MAX_SPARSE) {
                timg_error(io, "Invalid buffer size for sparse output specified. Valid sizes are "
                               "multiples of 512 up to 16384K. If you don't want to use sparse "
                               "output, specify -S 0.");
                goto out;
            }
            break;
        }
        case 'm': {
            char *end;
            requests = strtol(optarg, &end, 10);
            if (*end || end == optarg || requests < 1 || requests > CONVERT_MAX_REQUESTS) {
                timg_error(io, "Invalid number of coroutines. Allowed number of coroutines is "
                               "between 1 and %d", CONVERT_MAX_REQUESTS);
                goto out;
            }
            break;
        }
        case OPT_TARGET_IS_ZERO: target_is_zero = true; break;
        case 'C': case 'B': case 'F': case 'l': case 'r':
        case OPT_IMAGE_OPTS: case OPT_OBJECT:
            timg_error(io, "%s is not supported by tessera-img convert", argv[optind - 1]);
            goto out;
        case 'h':
            fputs("usage: tessera-img convert [-c] [-p] [-q] [-n] [-W] [-U] [-f fmt] [-O output_fmt] "
                  "[-o options] [-t cache] [-T src_cache] [-S sparse_size] [-m num_requests] "
                  "[--target-is-zero] filename [filename2 [...]] output_filename\n", io->out);
            status = 0;
            goto out;
        default:
            timg_bad_option(io, c, optopt, argv, optind);
            goto out;
        }
    }
    if (quiet)
        progress = false;
    if (timg_opts_want_help(opts->str)) {
        if (timg_block_ready(io) < 0)
            goto out;
        char *text = block_create_help(out_fmt, &err);
        if (!text) {
            timg_report(io, err, "no help for this format");
            g_clear_error(&err);
            goto out;
        }
        fputs(text, io->out);
        g_free(text);
        status = 0;
        goto out;
    }
    if (argc - optind < 2) {
        timg_error(io, "Expecting at least one source image and a target file name");
        goto out;
    }
    if (target_is_zero && !no_create) {
        timg_error(io, "--target-is-zero requires use of -n flag");
        goto out;
    }
    if (no_create && opts->len) {
        timg_error(io, "-o has no effect when skipping image creation");
        goto out;
    }
    if (compress) {
        if (strcmp(out_fmt, "vmdk") != 0) {
            timg_error(io, "Compression not supported for this file format");
            goto out;
        }
        /* The only compressed VMDK is streamOptimized: -c picks it unless -o says otherwise. */
        if (!no_create && !opts_have(opts->str, "subformat"))
            timg_opts_append(opts, "subformat=streamOptimized");
    }
    if (timg_block_ready(io) < 0)
        goto out;

    const char *target = argv[argc - 1];
    cv.io = io;
    cv.n_src = argc - optind - 1;
    cv.src = g_new0(block_node *, cv.n_src);
    cv.src_size = g_new0(uint64_t, cv.n_src);
    for (int i = 0; i < cv.n_src; i++) {
        cv.src[i] = timg_open(io, argv[optind + i], fmt, false, src_cache, false);
        if (!cv.src[i])
            goto out;
        cv.src_size[i] = block_size(cv.src[i]);
        cv.total += cv.src_size[i];
    }
    if (!no_create) {
        if (block_create(out_fmt, target, cv.total, opts->len ? opts->str : NULL, &err) < 0) {
            timg_report(io, err, "cannot create the target");
            g_clear_error(&err);
            goto out;
        }
    }
    cv.dst = timg_open(io, target, no_create ? NULL : out_fmt, true, cache, false);
    if (!cv.dst)
        goto out;
    if (no_create && block_size(cv.dst) < cv.total) {
        timg_error(io, "Error: output image is too small");
        goto out;
    }
    block_info ti;
    memset(&ti, 0, sizeof(ti));
    cv.align = 512;
    if (block_get_info(cv.dst, &ti, &err) == 0) {
        if (ti.cluster_size > cv.align && ti.cluster_size <= CONVERT_BUF)
            cv.align = ti.cluster_size;
        block_info_clear(&ti);
    }
    g_clear_error(&err);
    /* Formats round the size up (to 512); cover that tail when it is below a cluster. */
    uint64_t tsize = block_size(cv.dst);
    if (tsize > cv.total && tsize - cv.total < cv.align)
        cv.tail = tsize - cv.total;
    cv.sparse = sparse;
    cv.target_zeroed = !no_create || target_is_zero;
    cv.ordered = !unordered;
    cv.requests = (int)requests;
    block_aio_set_threads((unsigned)MAX(requests, 8));
    g_mutex_init(&cv.lock);
    g_cond_init(&cv.cond);
    timg_progress_init(&cv.progress, io->out, progress, 1.0);
    int rc = run(&cv);
    timg_progress_end(&cv.progress);
    g_mutex_clear(&cv.lock);
    g_cond_clear(&cv.cond);
    if (rc == 0 && block_flush(cv.dst, &err) < 0) {
        timg_report(io, err, "flush failed");
        g_clear_error(&err);
        rc = -EIO;
    }
    if (block_close(cv.dst, &err) < 0 && rc == 0) {
        timg_report(io, err, "closing the target failed");
        rc = -EIO;
    }
    g_clear_error(&err);
    cv.dst = NULL;
    status = rc < 0 ? 1 : 0;
out:
    if (cv.dst)
        block_close(cv.dst, NULL);
    for (int i = 0; i < cv.n_src; i++)
        block_close(cv.src[i], NULL);
    g_free(cv.src);
    g_free(cv.src_size);
    g_string_free(opts, TRUE);
    return status;
}
