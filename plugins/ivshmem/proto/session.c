/* Client side of the ivshmem server protocol: turns messages into events, trusting nothing. */
#include "ivshmem-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ivshmem_session_init(struct ivshmem_session *s, unsigned max_vectors)
{
    memset(s, 0, sizeof(*s));
    s->state = IVSHMEM_SESSION_WANT_VERSION;
    s->max_vectors = max_vectors;
    s->own_id = -1;
}

void ivshmem_session_destroy(struct ivshmem_session *s)
{
    free(s->vector_count);
    s->vector_count = NULL;
    s->vector_count_len = 0;
}

__attribute__((format(printf, 3, 4)))
static int session_fail(struct ivshmem_session *s, int fd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    if (fd >= 0)
        close(fd);
    s->state = IVSHMEM_SESSION_FAILED;
    return -EPROTO;
}

__attribute__((format(printf, 4, 5)))
static int session_ignore(struct ivshmem_session *s, int fd, struct ivshmem_event *ev,
                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->warning, sizeof(s->warning), fmt, ap);
    va_end(ap);
    if (fd >= 0)
        close(fd);
    ev->kind = IVSHMEM_EVENT_IGNORED;
    return 0;
}

/* Make room for peer `id` (<= IVSHMEM_MAX_PEER_ID) in the per-peer vector counts. */
static int grow_vector_count(struct ivshmem_session *s, int64_t id)
{
    size_t want = (size_t)id + 1, len = s->vector_count_len ? s->vector_count_len : 16;
    uint16_t *grown;

    if (want <= s->vector_count_len)
        return 0;
    while (len < want)
        len *= 2;
    if (len > IVSHMEM_MAX_PEER_ID + 1)
        len = IVSHMEM_MAX_PEER_ID + 1;
    grown = realloc(s->vector_count, len * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    memset(grown + s->vector_count_len, 0, (len - s->vector_count_len) * sizeof(*grown));
    s->vector_count = grown;
    s->vector_count_len = len;
    return 0;
}

static unsigned vectors_of(const struct ivshmem_session *s, int64_t id)
{
    return (size_t)id < s->vector_count_len ? s->vector_count[id] : 0;
}

static int feed_shm(struct ivshmem_session *s, int fd, struct ivshmem_event *ev)
{
    struct stat st;

    if (s->state == IVSHMEM_SESSION_READY)
        return session_fail(s, fd, "server sent a second shared memory message");
    if (fd < 0)
        return session_fail(s, fd, "server sent the shared memory message without a file descriptor");
    if (fstat(fd, &st) < 0)
        return session_fail(s, fd, "cannot determine the size of the shared memory sent by the server: %s",
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return session_fail(s, fd, "shared memory fd sent by the server is not a regular file");
    ev->kind = IVSHMEM_EVENT_SHM;
    ev->fd = fd;
    ev->size = (uint64_t)st.st_size;
    s->state = IVSHMEM_SESSION_READY;
    return 0;
}

static int feed_vector(struct ivshmem_session *s, int64_t id, int fd, struct ivshmem_event *ev)
{
    unsigned n = vectors_of(s, id);

    if (n >= IVSHMEM_PROTO_VECTOR_LIMIT)
        return session_fail(s, fd, "server sent more than %d eventfds for peer %" PRId64,
                            IVSHMEM_PROTO_VECTOR_LIMIT, id);
    if (grow_vector_count(s, id) < 0) {
        close(fd);
        s->state = IVSHMEM_SESSION_FAILED;
        snprintf(s->error, sizeof(s->error), "out of memory tracking peer %" PRId64, id);
        return -ENOMEM;
    }
    s->vector_count[id] = (uint16_t)(n + 1);
    /* The spec lets a client with fewer vectors than the server's close the extra fds. */
    if (n >= s->max_vectors)
        return session_ignore(s, fd, ev, "eventfd for vector %u of peer %" PRId64
                              " ignored: this client uses %u vectors", n, id, s->max_vectors);
    ev->kind = id == s->own_id ? IVSHMEM_EVENT_OWN_VECTOR : IVSHMEM_EVENT_PEER_VECTOR;
    ev->id = id;
    ev->vector = n;
    ev->fd = fd;
    return 0;
}

static int feed_peer_gone(struct ivshmem_session *s, int64_t id, struct ivshmem_event *ev)
{
    if (id == s->own_id)
        return session_fail(s, -1, "server announced that our own ID %" PRId64 " left", id);
    /* With -n 0 peers have no vectors, so a departure of a peer never seen is legitimate. */
    if (vectors_of(s, id) == 0)
        return session_ignore(s, -1, ev, "server announced that unknown peer %" PRId64 " left", id);
    s->vector_count[id] = 0;
    ev->kind = IVSHMEM_EVENT_PEER_GONE;
    ev->id = id;
    return 0;
}

int ivshmem_session_feed(struct ivshmem_session *s, const struct ivshmem_msg *msg,
                         struct ivshmem_event *ev)
{
    int64_t v = msg->value;
    int fd = msg->fd;

    memset(ev, 0, sizeof(*ev));
    ev->fd = -1;
    ev->id = -1;
    switch (s->state) {
    case IVSHMEM_SESSION_FAILED:
        if (fd >= 0)
            close(fd);
        return -EPROTO;
    case IVSHMEM_SESSION_WANT_VERSION:
        if (fd >= 0)
            return session_fail(s, fd, "server sent the version message with a file descriptor");
        if (v != IVSHMEM_PROTOCOL_VERSION)
            return session_fail(s, fd, "server sent protocol version %" PRId64 ", expecting %d",
                                v, IVSHMEM_PROTOCOL_VERSION);
        ev->kind = IVSHMEM_EVENT_VERSION;
        s->state = IVSHMEM_SESSION_WANT_ID;
        return 0;
    case IVSHMEM_SESSION_WANT_ID:
        if (fd >= 0)
            return session_fail(s, fd, "server sent the ID message with a file descriptor");
        if (v < 0 || v > IVSHMEM_MAX_PEER_ID)
            return session_fail(s, fd, "server sent invalid ID %" PRId64 " (expected 0..%d)",
                                v, IVSHMEM_MAX_PEER_ID);
        s->own_id = v;
        ev->kind = IVSHMEM_EVENT_OWN_ID;
        ev->id = v;
        s->state = IVSHMEM_SESSION_WANT_SHM;
        return 0;
    case IVSHMEM_SESSION_WANT_SHM:
    case IVSHMEM_SESSION_READY:
        break;
    }
    if (v == IVSHMEM_SHM_MESSAGE)
        return feed_shm(s, fd, ev);
    if (v < IVSHMEM_SHM_MESSAGE || v > IVSHMEM_MAX_PEER_ID)
        return session_fail(s, fd, "server sent invalid message %" PRId64
                            " (peer IDs are 0..%d)", v, IVSHMEM_MAX_PEER_ID);
    if (fd >= 0)
        return feed_vector(s, v, fd, ev);
    return feed_peer_gone(s, v, ev);
}
