/* ivshmem-client's non-interactive mode: print, wait, ring, wait, and say how it went. */
#include "script.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pump.h"

struct wait_ctx {
    struct ivshmem_client *c;
    const struct client_options *o;
    int64_t deadline; /* -1: none */
};

static bool introduced(const struct wait_ctx *w)
{
    return ivshmem_client_introduced(w->c);
}

/*
 * A peer's eventfds arrive one message each; it counts once it has as many as we do (the
 * server gives every client the same number), so that ringing any vector right after works.
 */
static bool enough_peers(const struct wait_ctx *w)
{
    long complete = 0;

    for (size_t i = 0; i < w->c->n_peers; i++)
        complete += w->c->peers[i].n_vectors >= w->c->n_own;
    return complete >= w->o->wait_peers;
}

static bool enough_notifications(const struct wait_ctx *w)
{
    return w->c->notifications >= (uint64_t)w->o->wait_notifications;
}

static int wait_for(struct wait_ctx *w, bool (*done)(const struct wait_ctx *), const char *what)
{
    bool unused;
    int rc;

    while (!done(w)) {
        int timeout = -1;
        if (w->deadline >= 0) {
            int64_t left = w->deadline - client_now_ms();
            if (left <= 0) {
                fprintf(stderr, "ivshmem-client: timed out waiting for %s\n", what);
                return -ETIMEDOUT;
            }
            timeout = left > 60000 ? 60000 : (int)left;
        }
        rc = client_pump(w->c, -1, timeout, &unused, w->o->verbose);
        if (rc == -EPIPE) {
            fprintf(stderr, "ivshmem-client: server closed the connection while waiting for %s\n",
                    what);
            return rc;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const struct ring_target *pending_target;

/* The vector to ring is still on its way (the peer's messages are being read). */
static bool target_vector_arrived(const struct wait_ctx *w)
{
    const struct ivshmem_client_peer *p = ivshmem_client_find_peer(w->c, pending_target->peer);
    return !p || p->n_vectors > (unsigned)pending_target->vector;
}

static int ring_one(struct wait_ctx *w, const struct ring_target *t)
{
    struct ivshmem_client *c = w->c;
    const struct ivshmem_client_peer *p;
    int rc;

    p = t->peer == RING_ALL ? NULL : ivshmem_client_find_peer(c, t->peer);
    if (p && t->vector != RING_ALL && (unsigned)t->vector < c->n_own) {
        pending_target = t;
        if (wait_for(w, target_vector_arrived, "the peer's vectors") < 0)
            return -ETIMEDOUT;
    }

    if (t->peer == RING_ALL && t->vector == RING_ALL)
        rc = ivshmem_client_ring_all(c);
    else if (t->peer == RING_ALL) {
        rc = c->n_peers ? 0 : -ENOENT;
        for (size_t i = 0; i < c->n_peers && rc == 0; i++)
            rc = ivshmem_client_ring(c, c->peers[i].id, (unsigned)t->vector);
    } else if (t->vector == RING_ALL)
        rc = ivshmem_client_ring_peer(c, t->peer);
    else
        rc = ivshmem_client_ring(c, t->peer, (unsigned)t->vector);
    if (rc < 0) {
        char peer[16], vector[16];
        snprintf(peer, sizeof(peer), "%" PRId64, t->peer);
        snprintf(vector, sizeof(vector), "%d", t->vector);
        fprintf(stderr, "ivshmem-client: cannot ring peer %s vector %s: %s\n",
                t->peer == RING_ALL ? "all" : peer, t->vector == RING_ALL ? "all" : vector,
                rc == -ENOENT ? "no such peer" : rc == -ERANGE ? "no such vector" : strerror(-rc));
    }
    return rc;
}

int client_run_script(struct ivshmem_client *c, const struct client_options *o)
{
    struct wait_ctx w = { c, o, o->timeout_ms >= 0 ? client_now_ms() + o->timeout_ms : -1 };

    if (wait_for(&w, introduced, "the server's handshake") < 0)
        return 1;
    if (o->print_id) {
        /* At once: a script may wait for our ID before starting the peers we wait for. */
        printf("%" PRId64 "\n", c->own_id);
        fflush(stdout);
    }
    if (o->wait_peers >= 0 && wait_for(&w, enough_peers, "peers") < 0)
        return 1;
    if (o->print_peers)
        for (size_t i = 0; i < c->n_peers; i++)
            printf("%" PRId64 "\n", c->peers[i].id);
    fflush(stdout);
    for (size_t i = 0; i < o->n_rings; i++)
        if (ring_one(&w, &o->rings[i]) < 0)
            return 1;
    if (o->wait_notifications >= 0 && wait_for(&w, enough_notifications, "notifications") < 0)
        return 1;
    return 0;
}
