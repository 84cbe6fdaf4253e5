/*
 * Per-client outgoing message queue. Sends never block: what the socket does not take now
 * waits here until poll() reports POLLOUT, so a slow client never holds up the others.
 * Queued fds are reference-counted, so a peer may leave while its eventfds are still queued
 * for others without dup()ing an fd per queued message.
 */
#ifndef TESSERA_IVSHMEM_SEND_QUEUE_H
#define TESSERA_IVSHMEM_SEND_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shared_fd {
    int fd;
    unsigned refs;
};

/* Takes ownership of fd. Returns NULL (fd closed) when out of memory. */
struct shared_fd *shared_fd_new(int fd);
struct shared_fd *shared_fd_ref(struct shared_fd *sfd);
void shared_fd_unref(struct shared_fd *sfd);

struct queued_msg {
    int64_t value;
    struct shared_fd *fd; /* NULL when the message carries no fd */
};

struct send_queue {
    struct queued_msg *ring;
    size_t head, len, cap;
    size_t limit;
};

void send_queue_init(struct send_queue *q, size_t limit);
void send_queue_clear(struct send_queue *q);
/* Takes a new reference on fd. -ENOBUFS when the client is `limit` messages behind. */
int send_queue_push(struct send_queue *q, int64_t value, struct shared_fd *fd);
/* Sends what the socket takes. 0 = queue empty, 1 = more pending, negative errno = dead. */
int send_queue_flush(struct send_queue *q, int sock);

static inline bool send_queue_empty(const struct send_queue *q)
{
    return q->len == 0;
}

#endif
