/* One connection to an ivshmem server: handshake, peer table, ringing and being rung. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void ivshmem_client_init(struct ivshmem_client *c, unsigned max_vectors, bool verbose)
{
    memset(c, 0, sizeof(*c));
    if (max_vectors > IVSHMEM_CLIENT_MAX_VECTORS)
        max_vectors = IVSHMEM_CLIENT_MAX_VECTORS;
    c->sock = -1;
    c->shm_fd = -1;
    c->own_id = -1;
    c->verbose = verbose;
    ivshmem_msg_reader_init(&c->reader);
    ivshmem_session_init(&c->session, max_vectors);
}

static void close_peer(struct ivshmem_client_peer *p)
{
    for (unsigned v = 0; v < p->n_vectors; v++)
        close(p->fds[v]);
    p->n_vectors = 0;
}

void ivshmem_client_reset(struct ivshmem_client *c)
{
    unsigned max_vectors = c->session.max_vectors;
    bool verbose = c->verbose;

    for (size_t i = 0; i < c->n_peers; i++)
        close_peer(&c->peers[i]);
    free(c->peers);
    for (unsigned v = 0; v < c->n_own; v++)
        close(c->own_fds[v]);
    if (c->shm_fd >= 0)
        close(c->shm_fd);
    if (c->sock >= 0)
        close(c->sock);
    ivshmem_msg_reader_reset(&c->reader);
    ivshmem_session_destroy(&c->session);
    ivshmem_client_init(c, max_vectors, verbose);
}

int ivshmem_client_connect(struct ivshmem_client *c, const char *socket_path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd, err;

    if (strlen(socket_path) >= sizeof(sun.sun_path))
        return -ENAMETOOLONG;
    strcpy(sun.sun_path, socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    /* Connected blocking (no EINPROGRESS dance on a local socket), then read without blocking. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    c->sock = fd;
    return 0;
}

static struct ivshmem_client_peer *find_peer(const struct ivshmem_client *c, int64_t id)
{
    for (size_t i = 0; i < c->n_peers; i++)
        if (c->peers[i].id == id)
            return &c->peers[i];
    return NULL;
}

const struct ivshmem_client_peer *ivshmem_client_find_peer(const struct ivshmem_client *c,
                                                           int64_t id)
{
    return find_peer(c, id);
}

static int add_peer_vector(struct ivshmem_client *c, int64_t id, unsigned vector, int fd)
{
    struct ivshmem_client_peer *p = find_peer(c, id);

    if (!p) {
        if (c->n_peers == c->cap_peers) {
            size_t cap = c->cap_peers ? c->cap_peers * 2 : 8;
            struct ivshmem_client_peer *peers = realloc(c->peers, cap * sizeof(*peers));
            if (!peers) {
                close(fd);
                return -ENOMEM;
            }
            c->peers = peers;
            c->cap_peers = cap;
        }
        p = &c->peers[c->n_peers++];
        p->id = id;
        p->n_vectors = 0;
    }
    /* The state machine numbers vectors 0, 1, ... per peer and stops at our maximum. */
    p->fds[vector] = fd;
    p->n_vectors = vector + 1;
    if (c->verbose)
        printf("peer %" PRId64 ": vector %u connected\n", id, vector);
    return 0;
}

static void remove_peer(struct ivshmem_client *c, int64_t id)
{
    struct ivshmem_client_peer *p = find_peer(c, id);

    if (!p)
        return;
    close_peer(p);
    *p = c->peers[--c->n_peers];
    if (c->verbose)
        printf("peer %" PRId64 " left\n", id);
}

static int apply_event(struct ivshmem_client *c, const struct ivshmem_event *ev)
{
    switch (ev->kind) {
    case IVSHMEM_EVENT_VERSION:
        return 0;
    case IVSHMEM_EVENT_OWN_ID:
        c->own_id = ev->id;
        if (c->verbose)
            printf("our ID is %" PRId64 "\n", ev->id);
        return 0;
    case IVSHMEM_EVENT_SHM:
        /* Kept, not mapped: this client only deals in doorbells, as QEMU's does. */
        c->shm_fd = ev->fd;
        c->shm_size = ev->size;
        return 0;
    case IVSHMEM_EVENT_OWN_VECTOR:
        fcntl(ev->fd, F_SETFL, O_NONBLOCK);
        c->own_fds[ev->vector] = ev->fd;
        c->n_own = ev->vector + 1;
        return 0;
    case IVSHMEM_EVENT_PEER_VECTOR:
        return add_peer_vector(c, ev->id, ev->vector, ev->fd);
    case IVSHMEM_EVENT_PEER_GONE:
        remove_peer(c, ev->id);
        return 0;
    case IVSHMEM_EVENT_IGNORED:
        if (c->verbose)
            printf("note: %s\n", c->session.warning);
        return 0;
    }
    return 0;
}

int ivshmem_client_handle_server(struct ivshmem_client *c)
{
    for (;;) {
        struct ivshmem_msg msg;
        struct ivshmem_event ev;
        int rc;

        switch (ivshmem_msg_read(&c->reader, c->sock, &msg)) {
        case IVSHMEM_READ_AGAIN:
            return 0;
        case IVSHMEM_READ_EOF:
            return -EPIPE;
        case IVSHMEM_READ_ERROR:
            fprintf(stderr, "ivshmem-client: server connection: %s\n", c->reader.error);
            return -EPROTO;
        case IVSHMEM_READ_MESSAGE:
            break;
        }
        rc = ivshmem_session_feed(&c->session, &msg, &ev);
        if (rc < 0) {
            fprintf(stderr, "ivshmem-client: protocol error: %s\n", c->session.error);
            return rc;
        }
        rc = apply_event(c, &ev);
        if (rc < 0)
            return rc;
    }
}

int64_t ivshmem_client_collect(struct ivshmem_client *c, unsigned vector)
{
    int64_t n;

    if (vector >= c->n_own)
        return -ERANGE;
    n = ivshmem_eventfd_drain(c->own_fds[vector]);
    if (n > 0)
        c->notifications += (uint64_t)n;
    return n;
}

int ivshmem_client_ring(struct ivshmem_client *c, int64_t peer, unsigned vector)
{
    const struct ivshmem_client_peer *p = find_peer(c, peer);

    if (peer == c->own_id && peer >= 0) {
        if (vector >= c->n_own)
            return -ERANGE;
        return ivshmem_eventfd_ring(c->own_fds[vector]);
    }
    if (!p)
        return -ENOENT;
    if (vector >= p->n_vectors)
        return -ERANGE;
    if (c->verbose)
        printf("ringing peer %" PRId64 " vector %u\n", peer, vector);
    return ivshmem_eventfd_ring(p->fds[vector]);
}

int ivshmem_client_ring_peer(struct ivshmem_client *c, int64_t peer)
{
    const struct ivshmem_client_peer *p = find_peer(c, peer);
    unsigned n = peer == c->own_id ? c->n_own : p ? p->n_vectors : 0;
    int rc;

    if (!p && peer != c->own_id)
        return -ENOENT;
    for (unsigned v = 0; v < n; v++)
        if ((rc = ivshmem_client_ring(c, peer, v)) < 0)
            return rc;
    return 0;
}

int ivshmem_client_ring_all(struct ivshmem_client *c)
{
    int rc;

    for (size_t i = 0; i < c->n_peers; i++)
        if ((rc = ivshmem_client_ring_peer(c, c->peers[i].id)) < 0)
            return rc;
    return 0;
}

void ivshmem_client_dump(const struct ivshmem_client *c, FILE *out)
{
    fprintf(out, "own ID %" PRId64 ", %u vectors, shared memory %" PRIu64 " bytes\n",
            c->own_id, c->n_own, c->shm_size);
    for (unsigned v = 0; v < c->n_own; v++)
        fprintf(out, "  own vector %u: fd %d\n", v, c->own_fds[v]);
    for (size_t i = 0; i < c->n_peers; i++) {
        const struct ivshmem_client_peer *p = &c->peers[i];
        fprintf(out, "peer %" PRId64 ", %u vectors\n", p->id, p->n_vectors);
        for (unsigned v = 0; v < p->n_vectors; v++)
            fprintf(out, "  vector %u: fd %d\n", v, p->fds[v]);
    }
    fflush(out);
}
