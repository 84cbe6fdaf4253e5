/* SPDX-License-Identifier: MIT */
/*
 * Grain compression for streamOptimized writes, and the pipeline that compresses whole
 * grains on a GThreadPool while the caller's thread stores them in submission order.
 *
 * The payload is a zlib (RFC 1950) stream, as QEMU, VirtualBox and VMware write it.
 * libdeflate makes it several times faster than zlib when it is available; zlib is the
 * fallback. Workers only compress: every change to the image (file writes, grain
 * tables) happens in the caller's thread when it harvests finished jobs, so the rest of
 * the engine stays single-threaded.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef VMDK_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define VMDK_COMPRESS_LEVEL 6 /* zlib's default, which QEMU uses */

struct vmdk_compressor {
#ifdef VMDK_HAVE_LIBDEFLATE
    struct libdeflate_compressor *ld;
#else
    int unused;
#endif
};

struct vmdk_compressor *vmdk_compressor_new(void)
{
    struct vmdk_compressor *c = calloc(1, sizeof(*c));
#ifdef VMDK_HAVE_LIBDEFLATE
    if (c && !(c->ld = libdeflate_alloc_compressor(VMDK_COMPRESS_LEVEL))) {
        free(c);
        c = NULL;
    }
#endif
    return c;
}

void vmdk_compressor_free(struct vmdk_compressor *c)
{
    if (!c)
        return;
#ifdef VMDK_HAVE_LIBDEFLATE
    libdeflate_free_compressor(c->ld);
#endif
    free(c);
}

int vmdk_grain_compress(struct vmdk_compressor *c, const uint8_t *in, size_t len, bool markers,
                        uint64_t sector, uint8_t **out, size_t *used)
{
    size_t header = markers ? 12 : 0;
    size_t bound;
#ifdef VMDK_HAVE_LIBDEFLATE
    bound = c ? libdeflate_zlib_compress_bound(c->ld, len) : compressBound((uLong)len);
#else
    bound = compressBound((uLong)len);
#endif
    size_t cap = vmdk_div_round_up(header + bound, VMDK_SECTOR) * VMDK_SECTOR;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t clen = 0;
#ifdef VMDK_HAVE_LIBDEFLATE
    if (c)
        clen = libdeflate_zlib_compress(c->ld, in, len, buf + header, bound);
#endif
    if (clen == 0) {
        uLongf zlen = (uLongf)bound;
        int zr = compress2(buf + header, &zlen, in, (uLong)len, VMDK_COMPRESS_LEVEL);
        if (zr != Z_OK) {
            free(buf);
            return zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
        }
        clen = zlen;
    }
    size_t total = vmdk_div_round_up(header + clen, VMDK_SECTOR) * VMDK_SECTOR;
    memset(buf + header + clen, 0, total - header - clen);
    if (markers) {
        vmdk_put_le64(buf, sector);
        vmdk_put_le32(buf + 8, (uint32_t)clen);
    }
    *out = buf;
    *used = total;
    return 0;
}

/* ---- the pipeline ---- */

struct zjob {
    struct vmdk_extent *e;
    uint64_t sector;
    uint8_t *in;
    size_t len;
    uint8_t *out;
    size_t used;
    int result;
    bool done;
};

struct vmdk_zpipe {
    GThreadPool *pool;
    GMutex lock;
    GCond cond;
    struct zjob **ring;
    size_t cap, head, count;
    struct vmdk_compressor **spare; /* free compressors, one per worker */
    size_t n_spare;
    int error;                      /* first failure, reported by the next call */
    struct vmdk_error first_err;
};

static void work(gpointer data, gpointer user)
{
    struct zjob *j = data;
    struct vmdk_zpipe *z = user;
    g_mutex_lock(&z->lock);
    struct vmdk_compressor *c = z->n_spare ? z->spare[--z->n_spare] : NULL;
    g_mutex_unlock(&z->lock);
    j->result = vmdk_grain_compress(c, j->in, j->len, j->e->markers, j->sector, &j->out,
                                    &j->used);
    g_mutex_lock(&z->lock);
    if (c)
        z->spare[z->n_spare++] = c;
    j->done = true;
    if (z->count && z->ring[z->head] == j) /* harvest waits only for the head job */
        g_cond_broadcast(&z->cond);
    g_mutex_unlock(&z->lock);
}

struct vmdk_zpipe *vmdk_zpipe_new(unsigned threads)
{
    struct vmdk_zpipe *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    g_mutex_init(&z->lock);
    g_cond_init(&z->cond);
    z->cap = (size_t)threads * 4;
    z->ring = calloc(z->cap, sizeof(*z->ring));
    z->spare = calloc(threads, sizeof(*z->spare));
    if (!z->ring || !z->spare) {
        vmdk_zpipe_free(z);
        return NULL;
    }
    for (unsigned i = 0; i < threads; i++) {
        struct vmdk_compressor *c = vmdk_compressor_new();
        if (c)
            z->spare[z->n_spare++] = c;
    }
    z->pool = g_thread_pool_new(work, z, (gint)threads, FALSE, NULL);
    if (!z->pool) {
        vmdk_zpipe_free(z);
        return NULL;
    }
    return z;
}

static void free_job(struct zjob *j)
{
    free(j->in);
    free(j->out);
    free(j);
}

void vmdk_zpipe_free(struct vmdk_zpipe *z)
{
    if (!z)
        return;
    if (z->pool)
        g_thread_pool_free(z->pool, FALSE, TRUE); /* finish queued jobs, then join */
    for (size_t i = 0; i < z->count; i++)
        free_job(z->ring[(z->head + i) % z->cap]);
    for (size_t i = 0; i < z->n_spare; i++)
        vmdk_compressor_free(z->spare[i]);
    free(z->spare);
    free(z->ring);
    g_mutex_clear(&z->lock);
    g_cond_clear(&z->cond);
    free(z);
}

size_t vmdk_zpipe_pending(const struct vmdk_zpipe *z)
{
    return z ? z->count : 0;
}

/* Stores finished jobs from the head, in order. wait: until the ring is empty (all) or
 * has room for one more job (!all). */
static int harvest(struct vmdk_image *img, struct vmdk_zpipe *z, bool all,
                   struct vmdk_error *err)
{
    g_mutex_lock(&z->lock);
    while (z->count) {
        struct zjob *j = z->ring[z->head];
        if (!j->done) {
            if (!all && z->count < z->cap)
                break;
            g_cond_wait(&z->cond, &z->lock);
            continue;
        }
        z->head = (z->head + 1) % z->cap;
        z->count--;
        g_mutex_unlock(&z->lock);
        if (z->error == 0) {
            struct vmdk_error e = { 0 };
            int r = j->result;
            if (r < 0)
                vmdk_fail(&e, r, "%s: %s a grain", j->e->file->name,
                          r == -ENOMEM ? "out of memory compressing" : "could not compress");
            else
                r = vmdk_stream_store(img, j->e, j->sector, j->out, j->used, &e);
            if (r < 0) {
                z->error = r;
                z->first_err = e;
            }
        }
        free_job(j);
        g_mutex_lock(&z->lock);
    }
    g_mutex_unlock(&z->lock);
    if (z->error) {
        int r = z->error;
        if (err && err->code == 0)
            *err = z->first_err;
        z->error = 0;
        return r;
    }
    return 0;
}

int vmdk_zpipe_drain(struct vmdk_image *img, struct vmdk_error *err)
{
    return img->zpipe ? harvest(img, img->zpipe, true, err) : 0;
}

int vmdk_zpipe_submit(struct vmdk_image *img, struct vmdk_extent *e, uint64_t sector,
                      const uint8_t *buf, size_t len, struct vmdk_error *err)
{
    struct vmdk_zpipe *z = img->zpipe;
    int r = vmdk_stream_check_free(img, e, sector, err);
    for (size_t i = 0; r == 0 && i < z->count; i++) {
        const struct zjob *q = z->ring[(z->head + i) % z->cap];
        if (q->e == e && q->sector == sector)
            r = vmdk_fail(err, EIO, "%s: Could not write to allocated cluster for "
                          "streamOptimized (grain at sector %llu)", e->file->name,
                          (unsigned long long)sector);
    }
    if (r == 0)
        r = harvest(img, z, false, err); /* makes room, stores what is ready */
    if (r < 0)
        return r;
    struct zjob *j = calloc(1, sizeof(*j));
    if (j)
        j->in = malloc(len);
    if (!j || !j->in) {
        free(j);
        return vmdk_fail(err, ENOMEM, "%s: out of memory queueing a grain", e->file->name);
    }
    memcpy(j->in, buf, len);
    j->e = e;
    j->sector = sector;
    j->len = len;
    g_mutex_lock(&z->lock);
    z->ring[(z->head + z->count) % z->cap] = j;
    z->count++;
    g_mutex_unlock(&z->lock);
    GError *gerr = NULL;
    if (!g_thread_pool_push(z->pool, j, &gerr)) {
        /* Compress it here instead; the job stays in order in the ring. */
        g_clear_error(&gerr);
        work(j, z);
    }
    return 0;
}
