/*
 * ivshmem-client as a library: one connection to an ivshmem server, the peers it announced
 * and our own vectors. Built on the protocol library's state machine, so every message from
 * the server is checked.
 */
#ifndef TESSERA_IVSHMEM_CLIENT_H
#define TESSERA_IVSHMEM_CLIENT_H

#include "ivshmem-proto.h"

#include <stdio.h>

#define IVSHMEM_CLIENT_MAX_VECTORS 64
#define IVSHMEM_CLIENT_DEFAULT_SOCKET "/tmp/ivshmem_socket"

struct ivshmem_client_peer {
    int64_t id;
    unsigned n_vectors;
    int fds[IVSHMEM_CLIENT_MAX_VECTORS];
};

struct ivshmem_client {
    int sock;
    struct ivshmem_msg_reader reader;
    struct ivshmem_session session;
    bool verbose;
    int shm_fd;
    uint64_t shm_size;
    int64_t own_id;
    unsigned n_own;
    int own_fds[IVSHMEM_CLIENT_MAX_VECTORS];
    struct ivshmem_client_peer *peers;
    size_t n_peers, cap_peers;
    uint64_t notifications; /* sum of our eventfd counters read so far */
};

void ivshmem_client_init(struct ivshmem_client *c, unsigned max_vectors, bool verbose);
/* Forgets the connection and every fd, ready to connect again. */
void ivshmem_client_reset(struct ivshmem_client *c);
int ivshmem_client_connect(struct ivshmem_client *c, const char *socket_path);

/*
 * Reads and applies what the server sent. Returns 0, -EPIPE when the server hung up, or
 * -EPROTO after printing the violation.
 */
int ivshmem_client_handle_server(struct ivshmem_client *c);

/*
 * The handshake is over once our first vector arrived: the server sends our own vectors last,
 * after every existing peer's.
 */
static inline bool ivshmem_client_introduced(const struct ivshmem_client *c)
{
    return ivshmem_session_ready(&c->session) && c->n_own > 0;
}

/* Reads our vector's eventfd; returns how many rings it collected (0 if none). */
int64_t ivshmem_client_collect(struct ivshmem_client *c, unsigned vector);

const struct ivshmem_client_peer *ivshmem_client_find_peer(const struct ivshmem_client *c,
                                                           int64_t id);
/* -ENOENT unknown peer, -ERANGE no such vector, or the write's errno. */
int ivshmem_client_ring(struct ivshmem_client *c, int64_t peer, unsigned vector);
int ivshmem_client_ring_peer(struct ivshmem_client *c, int64_t peer);
/* Every vector of every peer except ourselves. */
int ivshmem_client_ring_all(struct ivshmem_client *c);

void ivshmem_client_dump(const struct ivshmem_client *c, FILE *out);

#endif
