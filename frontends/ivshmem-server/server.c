/*
 * ivshmem-server life cycle and event loop. poll() rather than select(): no FD_SETSIZE
 * ceiling, so the number of clients is bounded only by RLIMIT_NOFILE.
 */
#include "server-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

void ivshmem_server_config_init(struct ivshmem_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->socket_path = IVSHMEM_SERVER_DEFAULT_SOCKET;
    cfg->shm_path = IVSHMEM_SERVER_DEFAULT_SHM;
    cfg->shm_kind = IVSHMEM_SHM_NAME;
    cfg->shm_size = IVSHMEM_SERVER_DEFAULT_SIZE;
    cfg->n_vectors = 1;
    cfg->max_queue = IVSHMEM_SERVER_DEFAULT_MAX_QUEUE;
}

int ivshmem_server_open(struct ivshmem_server **out, const struct ivshmem_server_config *cfg)
{
    struct ivshmem_server *s;
    int rc;

    *out = NULL;
    if (cfg->n_vectors > IVSHMEM_SERVER_MAX_VECTORS) {
        server_error("too many requested vectors (max is %d)", IVSHMEM_SERVER_MAX_VECTORS);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    if (!s->cfg.max_queue)
        s->cfg.max_queue = IVSHMEM_SERVER_DEFAULT_MAX_QUEUE;
    s->listen_fd = -1;
    s->lock_fd = -1;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        rc = -errno;
        server_error("cannot create eventfd: %s", strerror(-rc));
        goto fail;
    }
    rc = server_shm_create(s);
    if (rc < 0)
        goto fail;
    rc = server_listen(s);
    if (rc < 0)
        goto fail;
    server_debug(s, "listening on %s, %u vectors per client", cfg->socket_path, cfg->n_vectors);
    *out = s;
    return 0;

fail:
    ivshmem_server_close(s);
    return rc;
}

void ivshmem_server_request_stop(struct ivshmem_server *s)
{
    uint64_t one = 1;
    int saved = errno; /* called from signal handlers */

    if (write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* counter saturated: a stop is already pending */
    }
    errno = saved;
}

static int build_pollfds(struct ivshmem_server *s)
{
    size_t want = POLL_FIRST_PEER + s->n_peers;

    if (want > s->cap_pfds) {
        size_t cap = want * 2;
        struct pollfd *pfds = realloc(s->pfds, cap * sizeof(*pfds));
        if (!pfds)
            return -ENOMEM;
        s->pfds = pfds;
        struct server_peer **polled = realloc(s->polled, cap * sizeof(*polled));
        if (!polled)
            return -ENOMEM;
        s->polled = polled;
        s->cap_pfds = cap;
    }
    s->pfds[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
    /* A negative fd is skipped by poll(): that is how accepting pauses. */
    s->pfds[1] = (struct pollfd){ .fd = s->accept_paused ? -1 : s->listen_fd, .events = POLLIN };
    for (size_t i = 0; i < s->n_peers; i++) {
        struct server_peer *p = s->peers[i];
        short events = POLLIN | (send_queue_empty(&p->queue) ? 0 : POLLOUT);
        s->pfds[POLL_FIRST_PEER + i] = (struct pollfd){ .fd = p->sock, .events = events };
        s->polled[i] = p;
    }
    return (int)want;
}

int ivshmem_server_poll_once(struct ivshmem_server *s, int timeout_ms)
{
    int nfds, ready;

    nfds = build_pollfds(s);
    if (nfds < 0)
        return nfds;
    ready = poll(s->pfds, (nfds_t)nfds, timeout_ms);
    if (ready < 0)
        return errno == EINTR ? 0 : -errno;
    if (s->pfds[0].revents & POLLIN)
        return 1;
    for (int i = POLL_FIRST_PEER; i < nfds; i++) {
        struct server_peer *p = s->polled[i - POLL_FIRST_PEER];
        short rev = s->pfds[i].revents;
        /* Clients never send anything: data, hang-up or error all mean goodbye (as QEMU). */
        if (rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            p->dead = true;
        else if (rev & POLLOUT)
            server_flush_peer(s, p);
    }
    server_reap_dead_peers(s);
    if (s->pfds[1].revents & POLLIN)
        server_accept(s);
    /* Start sending what this round queued; the rest goes out on POLLOUT. */
    for (size_t i = 0; i < s->n_peers; i++)
        server_flush_peer(s, s->peers[i]);
    server_reap_dead_peers(s);
    return 0;
}

int ivshmem_server_run(struct ivshmem_server *s)
{
    int rc;

    while ((rc = ivshmem_server_poll_once(s, -1)) == 0)
        ;
    return rc < 0 ? rc : 0;
}

void ivshmem_server_close(struct ivshmem_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_peers; i++)
        server_free_peer(s->peers[i]);
    free(s->peers);
    free(s->pfds);
    free(s->polled);
    if (s->listen_fd >= 0) {
        server_unlink_socket(s);
        close(s->listen_fd);
    }
    if (s->shm_unlink_name) {
        shm_unlink(s->shm_unlink_name);
        free(s->shm_unlink_name);
    }
    shared_fd_unref(s->shm);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
}

size_t ivshmem_server_peer_count(const struct ivshmem_server *s)
{
    return __atomic_load_n(&s->n_peers, __ATOMIC_ACQUIRE);
}

uint64_t ivshmem_server_shm_size(const struct ivshmem_server *s)
{
    return s->shm_size;
}
