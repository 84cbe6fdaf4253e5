/* Helpers shared by the ivshmem tests. */
#define _GNU_SOURCE /* pipe2 */
#include "ivshmem_test_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void test_dir_create(struct test_dir *d)
{
    static unsigned counter;

    snprintf(d->path, sizeof(d->path), "/tmp/ivshmem-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
    snprintf(d->sock, sizeof(d->sock), "%s/server", d->path);
    snprintf(d->shm_name, sizeof(d->shm_name), "/tessera-ivshmem-test-%d-%u", (int)getpid(),
             counter++);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void test_dir_remove(struct test_dir *d)
{
    nftw(d->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    shm_unlink(d->shm_name);
}

static void *server_thread(void *arg)
{
    struct test_server *ts = arg;
    ivshmem_server_run(ts->s);
    return NULL;
}

void test_server_start(struct test_server *ts, const struct ivshmem_server_config *cfg)
{
    ck_assert_int_eq(ivshmem_server_open(&ts->s, cfg), 0);
    ck_assert_int_eq(pthread_create(&ts->thread, NULL, server_thread, ts), 0);
}

void test_server_stop(struct test_server *ts)
{
    ivshmem_server_request_stop(ts->s);
    pthread_join(ts->thread, NULL);
    ivshmem_server_close(ts->s);
}

void test_server_wait_peers(struct test_server *ts, size_t n)
{
    int64_t deadline = now_ms() + TEST_TIMEOUT_MS;

    while (ivshmem_server_peer_count(ts->s) != n) {
        ck_assert_msg(now_ms() < deadline, "server has %zu peers, expected %zu",
                      ivshmem_server_peer_count(ts->s), n);
        sleep_ms(5);
    }
}

void raw_connect(struct raw_client *c, const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->sock, 0);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    ck_assert_msg(connect(c->sock, (struct sockaddr *)&sun, sizeof(sun)) == 0,
                  "connect %s: %s", path, strerror(errno));
    fcntl(c->sock, F_SETFL, O_NONBLOCK);
    ivshmem_msg_reader_init(&c->reader);
}

void raw_close(struct raw_client *c)
{
    ivshmem_msg_reader_reset(&c->reader);
    close(c->sock);
    c->sock = -1;
}

int raw_recv(struct raw_client *c, struct ivshmem_msg *m, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        switch (ivshmem_msg_read(&c->reader, c->sock, m)) {
        case IVSHMEM_READ_MESSAGE:
            return 1;
        case IVSHMEM_READ_EOF:
        case IVSHMEM_READ_ERROR:
            return -1;
        case IVSHMEM_READ_AGAIN:
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = c->sock, .events = POLLIN };
        poll(&p, 1, (int)left);
    }
}

int raw_expect(struct raw_client *c, int64_t value, bool with_fd)
{
    struct ivshmem_msg m;
    int rc = raw_recv(c, &m, TEST_TIMEOUT_MS);

    ck_assert_msg(rc == 1, "expected message %lld, got %s", (long long)value,
                  rc == 0 ? "nothing (timeout)" : "end of stream");
    ck_assert_msg(m.value == value, "expected message %lld, got %lld", (long long)value,
                  (long long)m.value);
    ck_assert_msg((m.fd >= 0) == with_fd, "message %lld: fd %s expected", (long long)value,
                  with_fd ? "an" : "no");
    return m.fd;
}

void raw_expect_eof(struct raw_client *c)
{
    struct ivshmem_msg m;
    int rc;

    while ((rc = raw_recv(c, &m, TEST_TIMEOUT_MS)) == 1)
        if (m.fd >= 0)
            close(m.fd);
    ck_assert_msg(rc == -1, "server did not close the connection");
}

void raw_expect_handshake(struct raw_client *c, int64_t id, unsigned vectors,
                          const int64_t *peers, size_t n_peers, struct handshake *hs)
{
    hs->id = id;
    raw_expect(c, IVSHMEM_PROTOCOL_VERSION, false);
    raw_expect(c, id, false);
    hs->shm_fd = raw_expect(c, -1, true);
    ck_assert_msg(fd_size(hs->shm_fd) > 0, "shared memory fd is empty");
    for (size_t p = 0; p < n_peers; p++) {
        for (unsigned v = 0; v < vectors; v++) {
            int fd = raw_expect(c, peers[p], true);
            ck_assert(fd_is_eventfd(fd));
            close(fd);
        }
    }
    for (unsigned v = 0; v < vectors; v++) {
        hs->own[v] = raw_expect(c, id, true);
        ck_assert(fd_is_eventfd(hs->own[v]));
        fcntl(hs->own[v], F_SETFL, O_NONBLOCK);
    }
}

void handshake_close(struct handshake *hs, unsigned vectors)
{
    close(hs->shm_fd);
    for (unsigned v = 0; v < vectors; v++)
        close(hs->own[v]);
}

bool fd_is_eventfd(int fd)
{
    char link[64], target[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

uint64_t fd_size(int fd)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    return (uint64_t)st.st_size;
}

pid_t spawn(char *const argv[], int *out_fd, int *err_fd)
{
    int out[2] = { -1, -1 }, err[2] = { -1, -1 };
    pid_t pid;

    if (out_fd)
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    if (err_fd)
        ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        if (out_fd)
            dup2(out[1], STDOUT_FILENO);
        if (err_fd)
            dup2(err[1], STDERR_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (out_fd) {
        close(out[1]);
        *out_fd = out[0];
    }
    if (err_fd) {
        close(err[1]);
        *err_fd = err[0];
    }
    return pid;
}

int wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(5);
    }
}

void read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;

    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fd);
}

void wait_for_path(const char *path, bool present)
{
    int64_t deadline = now_ms() + TEST_TIMEOUT_MS;
    struct stat st;

    while ((lstat(path, &st) == 0) != present) {
        ck_assert_msg(now_ms() < deadline, "%s did not %s", path, present ? "appear" : "vanish");
        sleep_ms(5);
    }
}

long raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* Is a socket listening on path? Asked of /proc/net/unix: connecting would cost an ID. */
static bool listening_on(const char *path)
{
    FILE *f = fopen("/proc/net/unix", "re");
    char line[512];
    bool found = false;

    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned flags;
        char name[256] = "";
        /* Num RefCount Protocol Flags Type St Inode Path */
        if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %255s", &flags, name) == 2)
            found = (flags & 0x10000) && strcmp(name, path) == 0; /* __SO_ACCEPTCON */
    }
    fclose(f);
    return found;
}

void wait_for_listener(const char *path)
{
    int64_t deadline = now_ms() + TEST_TIMEOUT_MS;

    while (!listening_on(path)) {
        ck_assert_msg(now_ms() < deadline, "no server started listening on %s", path);
        sleep_ms(5);
    }
}
