/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous requests on one GThreadPool shared by every node. Each request runs the
 * synchronous path on a pool thread, so independent requests run in parallel; formats
 * that are not thread-safe are serialised by their node's lock in the synchronous path.
 */
#include <errno.h>

#include "block/block_internal.h"
#include "util/error.h"

typedef struct aio_task {
    block_node *n;
    block_op op;
    uint64_t offset;
    void *buf;
    size_t len;
    uint32_t flags;
    block_aio_cb cb;
    void *opaque;
    ts_block_request *req; /* device request, or NULL */
} aio_task;

static GMutex pool_lock;
static GThreadPool *pool;
static unsigned pool_threads = 8;

static int run_one(block_node *n, block_op op, uint64_t off, void *buf, size_t len, uint32_t flags,
                   GError **err)
{
    switch (op) {
    case BLOCK_OP_READ: return block_read(n, off, buf, len, err);
    case BLOCK_OP_WRITE: return block_write(n, off, buf, len, err);
    case BLOCK_OP_FLUSH: return block_flush(n, err);
    case BLOCK_OP_WRITE_ZEROES: return block_write_zeroes(n, off, len, flags, err);
    case BLOCK_OP_DISCARD: return block_discard(n, off, len, err);
    }
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': unknown request type %d", n->filename, op);
    return -EINVAL;
}

static int run_request(block_node *n, ts_block_request *req, GError **err)
{
    if (req->op != TS_BLOCK_OP_READ && req->op != TS_BLOCK_OP_WRITE)
        return run_one(n, (block_op)req->op, req->offset, NULL, req->length, req->flags, err);
    uint64_t off = req->offset;
    for (uint32_t i = 0; i < req->iovcnt; i++) {
        int r = run_one(n, (block_op)req->op, off, req->iov[i].iov_base, req->iov[i].iov_len, 0, err);
        if (r < 0)
            return r;
        off += req->iov[i].iov_len;
    }
    return 0;
}

static void task_done(block_node *n)
{
    g_mutex_lock(&n->aio_lock);
    if (--n->aio_inflight == 0)
        g_cond_broadcast(&n->aio_cond);
    g_mutex_unlock(&n->aio_lock);
}

static void run_task(gpointer data, gpointer user)
{
    (void)user;
    aio_task *t = data;
    GError *err = NULL;
    block_node *n = t->n;
    if (t->req) {
        int r = run_request(n, t->req, &err);
        if (r < 0)
            g_printerr("tessera: error: %s\n", err->message);
        t->req->complete(t->req, r);
    } else {
        int r = run_one(n, t->op, t->offset, t->buf, t->len, t->flags, &err);
        if (t->cb)
            t->cb(t->opaque, r, err);
    }
    g_clear_error(&err);
    g_free(t);
    task_done(n);
}

static GThreadPool *get_pool(void)
{
    g_mutex_lock(&pool_lock);
    if (!pool)
        pool = g_thread_pool_new(run_task, NULL, (gint)pool_threads, FALSE, NULL);
    GThreadPool *p = pool;
    g_mutex_unlock(&pool_lock);
    return p;
}

void block_aio_set_threads(unsigned n)
{
    g_mutex_lock(&pool_lock);
    pool_threads = n ? n : 1;
    if (pool)
        g_thread_pool_set_max_threads(pool, (gint)pool_threads, NULL);
    g_mutex_unlock(&pool_lock);
}

void block_aio_shutdown(void);
void block_aio_shutdown(void)
{
    g_mutex_lock(&pool_lock);
    GThreadPool *p = pool;
    pool = NULL;
    g_mutex_unlock(&pool_lock);
    if (p)
        g_thread_pool_free(p, FALSE, TRUE);
}

static int queue(aio_task *t)
{
    block_node *n = t->n;
    g_mutex_lock(&n->aio_lock);
    n->aio_inflight++;
    g_mutex_unlock(&n->aio_lock);
    GError *e = NULL;
    if (!g_thread_pool_push(get_pool(), t, &e)) {
        g_error_free(e);
        g_free(t);
        task_done(n);
        return -EAGAIN;
    }
    return 0;
}

int block_aio_submit(block_node *n, block_op op, uint64_t offset, void *buf, size_t len,
                     uint32_t flags, block_aio_cb cb, void *opaque)
{
    if ((unsigned)op > BLOCK_OP_DISCARD)
        return -EINVAL;
    aio_task *t = g_new0(aio_task, 1);
    *t = (aio_task){ .n = n, .op = op, .offset = offset, .buf = buf, .len = len, .flags = flags,
                     .cb = cb, .opaque = opaque };
    return queue(t);
}

int block_aio_submit_request(block_node *n, ts_block_request *req)
{
    if (!req || !req->complete || req->op > TS_BLOCK_OP_DISCARD ||
        ((req->op == TS_BLOCK_OP_READ || req->op == TS_BLOCK_OP_WRITE) && req->iovcnt && !req->iov))
        return -EINVAL;
    aio_task *t = g_new0(aio_task, 1);
    t->n = n;
    t->req = req;
    return queue(t);
}

void block_aio_drain(block_node *n)
{
    g_mutex_lock(&n->aio_lock);
    while (n->aio_inflight)
        g_cond_wait(&n->aio_cond, &n->aio_lock);
    g_mutex_unlock(&n->aio_lock);
}
