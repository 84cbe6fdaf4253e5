/* SPDX-License-Identifier: MIT */
/*
 * The doorbell device's end of the ivshmem server connection: a handshake with a deadline
 * before the guest starts, then peer connects and disconnects on the main loop. Messages
 * come through the protocol library (reassembly, fd attribution, every protocol check);
 * here they become entries of the peer table, checked once more for what a device needs
 * (eventfds, a power-of-two memory size).
 */
#define _GNU_SOURCE
#include "ivshmem-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool ivshmem_fd_is_eventfd(int fd)
{
    char path[64], target[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

int ivshmem_link_init(struct ivshmem_link *l, int sock, unsigned vectors)
{
    int flags, err;

    memset(l, 0, sizeof(*l));
    l->sock = sock;
    l->vectors = vectors;
    l->own_id = -1;
    l->shm_fd = -1;
    l->state = IVSHMEM_LINK_HANDSHAKE;
    /* Everything ivshmem_link_destroy touches is valid from here on, whatever fails. */
    ivshmem_msg_reader_init(&l->reader);
    ivshmem_session_init(&l->session, vectors);
    if ((err = ivshmem_peers_init(&l->peers, vectors)) < 0)
        return err;
    l->live = true;
    if (vectors < 1 || vectors > IVSHMEM_MAX_VECTORS) {
        snprintf(l->error, sizeof(l->error), "%u vectors: a device has 1..%d", vectors,
                 IVSHMEM_MAX_VECTORS);
        return -EINVAL;
    }
    /* A blocking socket would let a server that sends half a message hang the main loop. */
    flags = fcntl(sock, F_GETFL);
    if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0) {
        err = -errno;
        snprintf(l->error, sizeof(l->error), "cannot use the server connection: %s",
                 strerror(-err));
        return err;
    }
    return 0;
}

__attribute__((format(printf, 3, 4)))
static void link_log(struct ivshmem_link *l, int level, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (level == TS_LOG_WARN && ++l->warnings > IVSHMEM_LINK_WARNING_LIMIT) {
        if (l->warnings == IVSHMEM_LINK_WARNING_LIMIT + 1 && l->ops && l->ops->log)
            l->ops->log(l->opaque, TS_LOG_WARN,
                        "ivshmem server: further warnings about this server are not shown");
        return;
    }
    if (!l->ops || !l->ops->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->ops->log(l->opaque, level, msg);
}

static void removed_cb(void *opaque, uint16_t id, unsigned vector, int fd)
{
    struct ivshmem_link *l = opaque;

    if (l->ops && l->ops->vector_removed)
        l->ops->vector_removed(l->opaque, id, vector, fd, id == l->own_id);
}

/* A vector fd from the server: check it, store it, tell the device (once started). */
static void add_vector(struct ivshmem_link *l, const struct ivshmem_event *ev)
{
    uint16_t id = (uint16_t)ev->id;
    bool own = ev->kind == IVSHMEM_EVENT_OWN_VECTOR;
    int err, flags;

    if (!ivshmem_fd_is_eventfd(ev->fd)) {
        close(ev->fd);
        link_log(l, TS_LOG_WARN, "ivshmem server sent a file that is not an eventfd for vector %u"
                 " of peer %u; ignored", ev->vector, id);
        return;
    }
    /* As QEMU does: a full eventfd must make a ring fail, not block a vCPU. */
    flags = fcntl(ev->fd, F_GETFL);
    if (flags >= 0)
        fcntl(ev->fd, F_SETFL, flags | O_NONBLOCK);
    err = ivshmem_peers_set(&l->peers, id, ev->vector, ev->fd);
    if (err == -EEXIST) {
        link_log(l, TS_LOG_WARN, "ivshmem server sent vector %u of peer %u twice; the second"
                 " one is ignored", ev->vector, id);
        return;
    }
    if (err < 0) {
        link_log(l, TS_LOG_WARN, "cannot keep vector %u of peer %u: %s", ev->vector, id,
                 strerror(-err));
        return;
    }
    if (!l->ops || !l->ops->vector_added)
        return;
    err = l->ops->vector_added(l->opaque, id, ev->vector, ivshmem_peers_fd(&l->peers, id, ev->vector),
                               own);
    if (err < 0) {
        link_log(l, TS_LOG_WARN, "vector %u of %s %u cannot be used: %s", ev->vector,
                 own ? "this device's ID" : "peer", id, strerror(-err));
        ivshmem_peers_drop(&l->peers, id, ev->vector, NULL, NULL);
    }
}

/* Applies one event of the session. Returns 0 or -EPROTO (l->error set). */
static int apply_event(struct ivshmem_link *l, struct ivshmem_event *ev)
{
    switch (ev->kind) {
    case IVSHMEM_EVENT_VERSION:
        return 0;
    case IVSHMEM_EVENT_OWN_ID:
        l->own_id = ev->id;
        return 0;
    case IVSHMEM_EVENT_SHM:
        l->shm_fd = ev->fd;
        l->shm_size = ev->size;
        return 0;
    case IVSHMEM_EVENT_PEER_VECTOR:
    case IVSHMEM_EVENT_OWN_VECTOR:
        add_vector(l, ev);
        return 0;
    case IVSHMEM_EVENT_PEER_GONE: {
        unsigned n = ivshmem_peers_remove(&l->peers, (uint16_t)ev->id, removed_cb, l);
        link_log(l, TS_LOG_DEBUG, "peer %" PRId64 " left (%u vectors)", ev->id, n);
        return 0;
    }
    case IVSHMEM_EVENT_IGNORED:
        link_log(l, TS_LOG_WARN, "ivshmem server: %s", l->session.warning);
        return 0;
    }
    return 0;
}

/*
 * Reads and applies one message. Returns 1 when one was handled, 0 when the socket has
 * nothing more for now, -ECONNRESET on a clean EOF, -EPROTO/-EIO/-ENOMEM on failure
 * (l->error set).
 */
static int step(struct ivshmem_link *l)
{
    struct ivshmem_msg msg;
    struct ivshmem_event ev;
    int err;

    switch (ivshmem_msg_read(&l->reader, l->sock, &msg)) {
    case IVSHMEM_READ_AGAIN:
        return 0;
    case IVSHMEM_READ_EOF:
        snprintf(l->error, sizeof(l->error), "the ivshmem server closed the connection");
        return -ECONNRESET;
    case IVSHMEM_READ_ERROR:
        snprintf(l->error, sizeof(l->error), "ivshmem server connection: %s", l->reader.error);
        return -EIO;
    case IVSHMEM_READ_MESSAGE:
        break;
    }
    l->messages++;
    err = ivshmem_session_feed(&l->session, &msg, &ev);
    if (err < 0) {
        snprintf(l->error, sizeof(l->error), "%s", l->session.error);
        return err;
    }
    err = apply_event(l, &ev);
    return err < 0 ? err : 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ivshmem_link_handshake(struct ivshmem_link *l, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int err;

    while (!ivshmem_session_ready(&l->session)) {
        err = step(l);
        if (err == -ECONNRESET) {
            snprintf(l->error, sizeof(l->error),
                     "the ivshmem server closed the connection during the handshake");
            return err;
        }
        if (err < 0)
            return err;
        /* Checked after every message too: a server streaming messages but never the shm
         * must not hold realize forever. */
        int64_t left = deadline - now_ms();
        if (left <= 0 && !ivshmem_session_ready(&l->session)) {
            snprintf(l->error, sizeof(l->error),
                     "the ivshmem server did not complete the handshake within %d ms"
                     " (received %" PRIu64 " messages)", timeout_ms, l->messages);
            return -ETIMEDOUT;
        }
        if (err > 0)
            continue;
        struct pollfd pfd = { .fd = l->sock, .events = POLLIN };
        if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR) {
            err = -errno;
            snprintf(l->error, sizeof(l->error), "waiting for the ivshmem server: %s",
                     strerror(-err));
            return err;
        }
    }
    if (!ivshmem_size_is_pow2(l->shm_size)) {
        char buf[32];
        snprintf(l->error, sizeof(l->error), "the shared memory sent by the ivshmem server is %s"
                 " bytes, not a power of two (a PCI BAR must be)",
                 ivshmem_size_text(l->shm_size, buf));
        return -EPROTO;
    }
    /*
     * Take whatever follows the shm that has already arrived (usually our own vectors).
     * What goes wrong from here on is what would go wrong a moment later on the main loop,
     * so it is treated the same way (the link closes, the device works on) instead of
     * failing realize depending on how fast the server wrote.
     */
    for (unsigned i = 0; i < IVSHMEM_LINK_SERVICE_BUDGET && (err = step(l)) > 0; i++)
        ;
    l->state = IVSHMEM_LINK_OPEN;
    if (err < 0) {
        l->state = IVSHMEM_LINK_CLOSED;
        l->closed_by_violation = err != -ECONNRESET;
        ivshmem_msg_reader_reset(&l->reader);
    }
    return 0;
}

/* Server EOF is no error for the VM: QEMU ignores it too. A violation ends the reading. */
static void report_closed(struct ivshmem_link *l)
{
    if (l->closed_by_violation)
        link_log(l, TS_LOG_ERROR, "%s; no longer reading the ivshmem server", l->error);
    else
        link_log(l, TS_LOG_WARN, "%s; peers known now stay reachable, no new peers can join",
                 l->error);
}

static void announce_cb(void *opaque, uint16_t id, unsigned vector, int fd)
{
    struct ivshmem_link *l = opaque;
    bool own = id == l->own_id;
    int err = l->ops->vector_added(l->opaque, id, vector, fd, own);

    if (err < 0) {
        link_log(l, TS_LOG_WARN, "vector %u of %s %u cannot be used: %s", vector,
                 own ? "this device's ID" : "peer", id, strerror(-err));
        /* Dropping during the walk is safe: the slot only becomes -1, nothing moves. */
        ivshmem_peers_drop(&l->peers, id, vector, NULL, NULL);
    }
}

void ivshmem_link_start(struct ivshmem_link *l, const struct ivshmem_link_ops *ops,
                        void *opaque)
{
    l->ops = ops;
    l->opaque = opaque;
    /* What the handshake collected goes to the device now, as if it arrived this moment. */
    if (ops && ops->vector_added)
        ivshmem_peers_foreach(&l->peers, announce_cb, l);
    if (l->state == IVSHMEM_LINK_CLOSED)
        report_closed(l);
}

bool ivshmem_link_service(struct ivshmem_link *l, unsigned budget)
{
    int err = 0;

    if (l->state != IVSHMEM_LINK_OPEN)
        return false;
    for (unsigned i = 0; i < budget && (err = step(l)) > 0; i++)
        ;
    if (err >= 0)
        return true;
    l->state = IVSHMEM_LINK_CLOSED;
    l->closed_by_violation = err != -ECONNRESET;
    ivshmem_msg_reader_reset(&l->reader);
    report_closed(l);
    return false;
}

int ivshmem_link_take_shm(struct ivshmem_link *l)
{
    int fd = l->shm_fd;

    l->shm_fd = -1;
    return fd;
}

void ivshmem_link_destroy(struct ivshmem_link *l)
{
    if (!l->live)
        return;
    l->live = false;
    ivshmem_peers_destroy(&l->peers, removed_cb, l);
    ivshmem_msg_reader_reset(&l->reader);
    ivshmem_session_destroy(&l->session);
    if (l->shm_fd >= 0)
        close(l->shm_fd);
    l->shm_fd = -1;
    l->state = IVSHMEM_LINK_CLOSED;
}
