/* Non-blocking per-client message queue with reference-counted fds. */
#include "send_queue.h"

#include "ivshmem-proto.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct shared_fd *shared_fd_new(int fd)
{
    struct shared_fd *sfd = malloc(sizeof(*sfd));

    if (!sfd) {
        close(fd);
        return NULL;
    }
    sfd->fd = fd;
    sfd->refs = 1;
    return sfd;
}

struct shared_fd *shared_fd_ref(struct shared_fd *sfd)
{
    if (sfd)
        sfd->refs++;
    return sfd;
}

void shared_fd_unref(struct shared_fd *sfd)
{
    if (!sfd || --sfd->refs > 0)
        return;
    close(sfd->fd);
    free(sfd);
}

void send_queue_init(struct send_queue *q, size_t limit)
{
    q->ring = NULL;
    q->head = q->len = q->cap = 0;
    q->limit = limit;
}

void send_queue_clear(struct send_queue *q)
{
    for (size_t i = 0; i < q->len; i++)
        shared_fd_unref(q->ring[(q->head + i) % q->cap].fd);
    free(q->ring);
    send_queue_init(q, q->limit);
}

static int grow(struct send_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct queued_msg *ring = malloc(cap * sizeof(*ring));

    if (!ring)
        return -ENOMEM;
    /* Unwrap the ring so it starts at index 0 again. */
    for (size_t i = 0; i < q->len; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int send_queue_push(struct send_queue *q, int64_t value, struct shared_fd *fd)
{
    if (q->len >= q->limit)
        return -ENOBUFS;
    if (q->len == q->cap && grow(q) < 0)
        return -ENOMEM;
    q->ring[(q->head + q->len) % q->cap] = (struct queued_msg){ value, shared_fd_ref(fd) };
    q->len++;
    return 0;
}

int send_queue_flush(struct send_queue *q, int sock)
{
    while (q->len > 0) {
        struct queued_msg *m = &q->ring[q->head];
        int rc = ivshmem_msg_send(sock, m->value, m->fd ? m->fd->fd : -1);

        /*
         * -ETOOMANYREFS (the user's in-flight fd limit) is passed up like any error: waiting
         * for POLLOUT would spin, as the socket itself still has room.
         */
        if (rc == -EAGAIN)
            return 1;
        if (rc < 0)
            return rc;
        shared_fd_unref(m->fd);
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    return 0;
}
