/* What the ivshmem-server's files share; not part of the library's interface. */
#ifndef TESSERA_IVSHMEM_SERVER_INTERNAL_H
#define TESSERA_IVSHMEM_SERVER_INTERNAL_H

#include "server.h"
#include "send_queue.h"

#include <poll.h>
#include <sys/stat.h>

/* ID space of the protocol: 0..65535. */
#define IVSHMEM_SERVER_ID_SPACE 65536
/* pfds[0] is the stop eventfd, pfds[1] the listening socket, then one per peer. */
#define POLL_FIRST_PEER 2

struct server_peer {
    int sock;
    int64_t id;
    struct shared_fd **vectors; /* n_vectors eventfds: rung by others, waited on by the peer */
    struct send_queue queue;
    bool dead;                  /* disconnect detected; reaped after the current poll round */
};

struct ivshmem_server {
    struct ivshmem_server_config cfg;
    int listen_fd;
    struct stat listen_stat;    /* to remove only our own socket at shutdown */
    int lock_fd;                /* flock()ed "<socket>.lock": we are the live server */
    char *lock_path;
    struct shared_fd *shm;      /* queued messages may hold it past a client's departure */
    uint64_t shm_size;
    char *shm_unlink_name;      /* named shm to remove at shutdown, if asked to */
    int wake_fd;                /* eventfd: request_stop() writes it */
    bool accept_paused;         /* out of fds: stop accepting until a peer leaves */

    struct server_peer **peers;
    size_t n_peers, cap_peers;
    uint16_t next_id;
    uint8_t id_used[(IVSHMEM_SERVER_ID_SPACE) / 8];

    struct pollfd *pfds;
    struct server_peer **polled; /* polled[i] owns pfds[i + POLL_FIRST_PEER] */
    size_t cap_pfds;
};

__attribute__((format(printf, 1, 2))) void server_error(const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void server_debug(const struct ivshmem_server *s,
                                                       const char *fmt, ...);

/* shm.c */
int server_shm_create(struct ivshmem_server *s);
/* listen_socket.c */
int server_listen(struct ivshmem_server *s);
void server_unlink_socket(struct ivshmem_server *s);
/* peers.c */
void server_accept(struct ivshmem_server *s);
void server_reap_dead_peers(struct ivshmem_server *s);
void server_free_peer(struct server_peer *p);
void server_flush_peer(struct ivshmem_server *s, struct server_peer *p);

#endif
