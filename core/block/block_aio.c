/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous requests on one GThreadPool shared by every node. Each request runs the
 * synchronous path on a pool thread, so independent requests run in parallel. Requests
 * on a node whose format is not thread-safe could only run one at a time anyway: they
 * queue on the node, and a single pool task runs them in submission order until the
 * queue is empty (handing each one to its own pool thread, only for it to sleep on the
 * node's lock, cost several thread wake-ups per request).
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

/* Runs one task and frees it; does not touch the node's in-flight count. */
static void run_task_body(aio_task *t)
{
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
}

static void run_task(gpointer data, gpointer user)
{
    (void)user;
    aio_task *t = data;
    block_node *n = t->n;
    if (n->thread_safe) {
        run_task_body(t);
        task_done(n);
        return;
    }
    /* The node's serial runner: this task, then whatever queued behind it. After the
     * last decrement the node may be freed by a drain in another thread: n is not
     * touched once aio_lock is released with the queue empty. */
    for (;;) {
        run_task_body(t);
        g_mutex_lock(&n->aio_lock);
        t = g_queue_pop_head(&n->aio_serial);
        if (!t)
            n->aio_serial_running = false;
        if (--n->aio_inflight == 0)
            g_cond_broadcast(&n->aio_cond);
        g_mutex_unlock(&n->aio_lock);
        if (!t)
            return;
    }
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
    GError *e = NULL;
    if (!n->thread_safe) {
        g_mutex_lock(&n->aio_lock);
        n->aio_inflight++;
        if (n->aio_serial_running) {
            g_queue_push_tail(&n->aio_serial, t); /* the running task will take it */
            g_mutex_unlock(&n->aio_lock);
            return 0;
        }
        /* Started under aio_lock, so nothing queues behind t before it is known to run. */
        n->aio_serial_running = true;
        bool ok = g_thread_pool_push(get_pool(), t, &e);
        if (!ok) {
            n->aio_serial_running = false;
            if (--n->aio_inflight == 0)
                g_cond_broadcast(&n->aio_cond);
        }
        g_mutex_unlock(&n->aio_lock);
        if (!ok) {
            g_error_free(e);
            g_free(t);
            return -EAGAIN;
        }
        return 0;
    }
    g_mutex_lock(&n->aio_lock);
    n->aio_inflight++;
    g_mutex_unlock(&n->aio_lock);
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
