/*
 * Peers: accepting a client, giving it an ID and eventfds, telling everyone about arrivals
 * and departures. Everything is queued and sent without blocking; a client that falls too
 * far behind is dropped like one that hung up.
 */
#define _GNU_SOURCE /* accept4 */
#include "server-internal.h"

#include "ivshmem-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static bool id_in_use(const struct ivshmem_server *s, unsigned id)
{
    return s->id_used[id / 8] & (1u << (id % 8));
}

static void mark_id(struct ivshmem_server *s, unsigned id, bool used)
{
    if (used)
        s->id_used[id / 8] |= (uint8_t)(1u << (id % 8));
    else
        s->id_used[id / 8] &= (uint8_t)~(1u << (id % 8));
}

/*
 * QEMU's rule: IDs count up from 0 and wrap at 65536, skipping those in use; a departed
 * peer's ID is not reused until the counter comes round again.
 */
static int allocate_id(struct ivshmem_server *s)
{
    for (unsigned tries = 0; tries < IVSHMEM_SERVER_ID_SPACE; tries++) {
        unsigned id = s->next_id++;
        if (!id_in_use(s, id))
            return (int)id;
    }
    return -EUSERS;
}

void server_free_peer(struct server_peer *p)
{
    if (!p)
        return;
    send_queue_clear(&p->queue);
    if (p->vectors) {
        for (size_t v = 0; p->vectors[v]; v++)
            shared_fd_unref(p->vectors[v]);
        free(p->vectors);
    }
    if (p->sock >= 0)
        close(p->sock);
    free(p);
}

static void queue_or_drop(struct ivshmem_server *s, struct server_peer *p, int64_t value,
                          struct shared_fd *fd)
{
    int rc;

    if (p->dead)
        return;
    rc = send_queue_push(&p->queue, value, fd);
    if (rc == 0)
        return;
    server_error("client %" PRId64 " is %s; disconnecting it", p->id,
                 rc == -ENOBUFS ? "not reading its messages" : "out of memory");
    p->dead = true;
}

/* One message per vector, each carrying one of `of`'s eventfds, all with of's ID. */
static void queue_vectors(struct ivshmem_server *s, struct server_peer *to,
                          const struct server_peer *of)
{
    for (unsigned v = 0; v < s->cfg.n_vectors; v++)
        queue_or_drop(s, to, of->id, of->vectors[v]);
}

void server_flush_peer(struct ivshmem_server *s, struct server_peer *p)
{
    int rc;

    if (p->dead || send_queue_empty(&p->queue))
        return;
    rc = send_queue_flush(&p->queue, p->sock);
    if (rc < 0) {
        server_debug(s, "cannot send to client %" PRId64 ": %s", p->id, strerror(-rc));
        p->dead = true;
    }
}

static struct server_peer *new_peer(struct ivshmem_server *s, int sock, int id)
{
    struct server_peer *p = calloc(1, sizeof(*p));
    /* The server promises each client this many messages of handshake, then max_queue more. */
    size_t handshake = 3 + (s->n_peers + 1) * (size_t)s->cfg.n_vectors;

    if (!p)
        return NULL;
    p->sock = sock;
    p->id = id;
    send_queue_init(&p->queue, handshake + s->cfg.max_queue);
    p->vectors = calloc(s->cfg.n_vectors + 1, sizeof(*p->vectors)); /* NULL-terminated */
    if (!p->vectors)
        goto fail;
    for (unsigned v = 0; v < s->cfg.n_vectors; v++) {
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0 || !(p->vectors[v] = shared_fd_new(efd)))
            goto fail;
    }
    return p;

fail:
    p->sock = -1; /* the caller still owns the socket */
    server_free_peer(p);
    return NULL;
}

static int add_to_list(struct ivshmem_server *s, struct server_peer *p)
{
    if (s->n_peers == s->cap_peers) {
        size_t cap = s->cap_peers ? s->cap_peers * 2 : 16;
        struct server_peer **peers = realloc(s->peers, cap * sizeof(*peers));
        if (!peers)
            return -ENOMEM;
        s->peers = peers;
        s->cap_peers = cap;
    }
    s->peers[s->n_peers] = p;
    __atomic_store_n(&s->n_peers, s->n_peers + 1, __ATOMIC_RELEASE);
    return 0;
}

/* The handshake, in the order QEMU's server uses (see docs/ivshmem-server.md). */
static void introduce(struct ivshmem_server *s, struct server_peer *p)
{
    queue_or_drop(s, p, IVSHMEM_PROTOCOL_VERSION, NULL);
    queue_or_drop(s, p, p->id, NULL);
    queue_or_drop(s, p, IVSHMEM_SHM_MESSAGE, s->shm);
    for (size_t i = 0; i < s->n_peers; i++)
        queue_vectors(s, s->peers[i], p);
    for (size_t i = 0; i < s->n_peers; i++)
        if (!s->peers[i]->dead)
            queue_vectors(s, p, s->peers[i]);
    queue_vectors(s, p, p);
}

void server_accept(struct ivshmem_server *s)
{
    struct server_peer *p;
    int sock, id;

    sock = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (sock < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            /* poll() would report the pending client forever: wait for a peer to leave. */
            server_error("out of file descriptors; not accepting clients until one leaves");
            s->accept_paused = true;
        } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            server_error("cannot accept a client: %s", strerror(errno));
        }
        return;
    }
    id = allocate_id(s);
    if (id < 0) {
        server_error("cannot allocate a client ID: all %d are in use", IVSHMEM_SERVER_ID_SPACE);
        close(sock);
        return;
    }
    p = new_peer(s, sock, id);
    if (!p) {
        server_error("cannot set up client %d: %s", id, strerror(errno ? errno : ENOMEM));
        close(sock);
        return;
    }
    introduce(s, p);
    if (add_to_list(s, p) < 0) {
        server_error("cannot register client %d: out of memory", id);
        server_free_peer(p);
        return;
    }
    mark_id(s, (unsigned)id, true);
    /*
     * The newcomer's handshake goes out before the others hear of it: a peer that learns
     * of it may ring it at once, and by then it knows every peer and its own vectors.
     */
    server_flush_peer(s, p);
    server_debug(s, "accepted client %d (fd %d)", id, sock);
}

/* Remove dead peers and tell the others; telling may kill more, hence the loop. */
void server_reap_dead_peers(struct ivshmem_server *s)
{
    bool again = true;

    while (again) {
        again = false;
        for (size_t i = 0; i < s->n_peers;) {
            struct server_peer *gone = s->peers[i];
            if (!gone->dead) {
                i++;
                continue;
            }
            /* Keep arrival order: new clients learn about peers in it, as from QEMU. */
            memmove(&s->peers[i], &s->peers[i + 1], (s->n_peers - i - 1) * sizeof(*s->peers));
            __atomic_store_n(&s->n_peers, s->n_peers - 1, __ATOMIC_RELEASE);
            server_debug(s, "client %" PRId64 " left", gone->id);
            for (size_t j = 0; j < s->n_peers; j++) {
                queue_or_drop(s, s->peers[j], gone->id, NULL);
                if (s->peers[j]->dead)
                    again = true;
            }
            mark_id(s, (unsigned)gone->id, false);
            server_free_peer(gone);
            s->accept_paused = false;
        }
    }
}
