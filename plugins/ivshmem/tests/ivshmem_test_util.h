/* Helpers shared by the ivshmem tests: raw protocol clients, processes, temp paths. */
#ifndef TESSERA_IVSHMEM_TEST_UTIL_H
#define TESSERA_IVSHMEM_TEST_UTIL_H

#include "ivshmem-proto.h"
#include "server.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Generous: only there so that a broken server fails the test instead of hanging it. */
#define TEST_TIMEOUT_MS 20000

/* A fresh directory under /tmp and a socket path inside it; removed by test_dir_remove(). */
struct test_dir {
    char path[64];
    char sock[96];
    char shm_name[64]; /* unique POSIX shm name for this test */
};
void test_dir_create(struct test_dir *d);
void test_dir_remove(struct test_dir *d);

/* The server library in a thread of the test process. */
struct test_server {
    struct ivshmem_server *s;
    pthread_t thread;
};
void test_server_start(struct test_server *ts, const struct ivshmem_server_config *cfg);
void test_server_stop(struct test_server *ts);
/* Wait until the server counts `n` peers. */
void test_server_wait_peers(struct test_server *ts, size_t n);

/* A client that only reads raw messages. */
struct raw_client {
    int sock;
    struct ivshmem_msg_reader reader;
};
void raw_connect(struct raw_client *c, const char *path);
void raw_close(struct raw_client *c);
/* 1 = message, 0 = timeout, -1 = EOF or error. */
int raw_recv(struct raw_client *c, struct ivshmem_msg *m, int timeout_ms);
/* Assert the next message; returns its fd (or -1), which the caller must close. */
int raw_expect(struct raw_client *c, int64_t value, bool with_fd);
/* Assert the connection is closed by the server (after any pending messages). */
void raw_expect_eof(struct raw_client *c);
/* The whole handshake of a client with `vectors` vectors and the given existing peers. */
struct handshake {
    int64_t id;
    int shm_fd;
    int own[IVSHMEM_PROTO_VECTOR_LIMIT > 64 ? 64 : IVSHMEM_PROTO_VECTOR_LIMIT];
};
void raw_expect_handshake(struct raw_client *c, int64_t id, unsigned vectors,
                          const int64_t *peers, size_t n_peers, struct handshake *hs);
void handshake_close(struct handshake *hs, unsigned vectors);

bool fd_is_eventfd(int fd);
uint64_t fd_size(int fd);

/* Run a program; its stdout/stderr go to pipes when the pointers are non-NULL. */
pid_t spawn(char *const argv[], int *out_fd, int *err_fd);
/* Exit status, or -1 after killing it when it did not exit within timeout_ms. */
int wait_exit(pid_t pid, int timeout_ms);
/* Read all a pipe has until EOF into buf (NUL-terminated). */
void read_all(int fd, char *buf, size_t cap);
void wait_for_path(const char *path, bool present);
/* Wait until something listens on the socket at path (checked without connecting). */
void wait_for_listener(const char *path);

/* Raise the soft RLIMIT_NOFILE to the hard one; returns the new soft limit. */
long raise_fd_limit(void);

#endif
