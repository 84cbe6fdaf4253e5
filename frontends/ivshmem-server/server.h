/*
 * ivshmem-server as a library: the main() is a thin wrapper and tests embed the server in a
 * thread. Speaks QEMU's ivshmem server protocol (see plugins/ivshmem/proto/ivshmem-proto.h).
 */
#ifndef TESSERA_IVSHMEM_SERVER_H
#define TESSERA_IVSHMEM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IVSHMEM_SERVER_DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define IVSHMEM_SERVER_DEFAULT_SHM "ivshmem"
#define IVSHMEM_SERVER_DEFAULT_PIDFILE "/var/run/ivshmem-server.pid"
#define IVSHMEM_SERVER_DEFAULT_SIZE (4ULL * 1024 * 1024)
#define IVSHMEM_SERVER_MAX_VECTORS 64
/* How far (in messages) a client may fall behind before it is dropped. */
#define IVSHMEM_SERVER_DEFAULT_MAX_QUEUE 65536

enum ivshmem_shm_kind {
    IVSHMEM_SHM_NAME, /* POSIX shm object (shm_open), QEMU's -M */
    IVSHMEM_SHM_DIR,  /* unlinked temporary file in a directory (e.g. hugetlbfs), QEMU's -m */
    IVSHMEM_SHM_AUTO, /* a directory if shm_path is one, else a shm name (docs' `-m name`) */
};

struct ivshmem_server_config {
    const char *socket_path;
    const char *shm_path;
    enum ivshmem_shm_kind shm_kind;
    uint64_t shm_size;       /* rounded up to a power of two, as QEMU does */
    unsigned n_vectors;      /* 0..IVSHMEM_SERVER_MAX_VECTORS */
    bool verbose;
    mode_t socket_mode;      /* applied with chmod() when socket_mode_set */
    bool socket_mode_set;
    gid_t socket_group;      /* applied with chown() when socket_group_set */
    bool socket_group_set;
    mode_t shm_mode;         /* used at creation; also fchmod()ed when shm_mode_set */
    bool shm_mode_set;
    gid_t shm_group;
    bool shm_group_set;
    bool unlink_shm;         /* remove a named shm object at shutdown (QEMU keeps it) */
    size_t max_queue;        /* messages a client may lag behind; 0 = default */
};

struct ivshmem_server;

/* Fills in QEMU's defaults. */
void ivshmem_server_config_init(struct ivshmem_server_config *cfg);

/*
 * Creates the shared memory and the listening socket (replacing a stale socket, refusing a
 * live one). Errors are printed to stderr as one line; returns 0 or a negative errno.
 */
int ivshmem_server_open(struct ivshmem_server **out, const struct ivshmem_server_config *cfg);

/* Serves clients until ivshmem_server_request_stop(). Returns 0 or a negative errno. */
int ivshmem_server_run(struct ivshmem_server *s);

/* Handles whatever is ready within timeout_ms (-1 = wait). Returns 1 once stop was asked. */
int ivshmem_server_poll_once(struct ivshmem_server *s, int timeout_ms);

/* Async-signal-safe and thread-safe: makes run() return soon. */
void ivshmem_server_request_stop(struct ivshmem_server *s);

/* Disconnects everyone, removes the socket (and the shm when asked to), frees everything. */
void ivshmem_server_close(struct ivshmem_server *s);

/* Number of registered peers. Safe to call from another thread. */
size_t ivshmem_server_peer_count(const struct ivshmem_server *s);
/* The shared memory's actual size (after rounding). */
uint64_t ivshmem_server_shm_size(const struct ivshmem_server *s);

#endif
