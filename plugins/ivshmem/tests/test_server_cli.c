/*
 * The ivshmem-server program: QEMU's command lines, daemon mode and pid file, signals,
 * shm names versus directories, stale and live sockets, permissions.
 */
#include "ivshmem_test_util.h"

#include <limits.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>

static struct test_dir dir;
static char pidfile[128];

static void setup(void)
{
    /* Daemons get reparented to us, so we can reap them (PID 1 in a container may not). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    test_dir_create(&dir);
    snprintf(pidfile, sizeof(pidfile), "%s/server.pid", dir.path);
}

static void teardown(void)
{
    test_dir_remove(&dir);
}

#define SERVER(...) ((char *[]){ IVSHMEM_SERVER_BIN, __VA_ARGS__, NULL })

/* Run to completion; returns the exit status, stderr in err. */
static int run(char *const argv[], char *err, size_t cap)
{
    int err_fd;
    pid_t pid = spawn(argv, NULL, &err_fd);
    read_all(err_fd, err, cap);
    return wait_exit(pid, TEST_TIMEOUT_MS);
}

static pid_t start_foreground(char *const argv[])
{
    pid_t pid = spawn(argv, NULL, NULL);
    wait_for_listener(dir.sock);
    return pid;
}

/* A client's ID and shm size, through the socket. */
static int64_t handshake_id(uint64_t *size)
{
    struct raw_client c;
    struct ivshmem_msg m;
    int64_t id;
    int fd;

    raw_connect(&c, dir.sock);
    raw_expect(&c, 0, false);
    ck_assert_int_eq(raw_recv(&c, &m, TEST_TIMEOUT_MS), 1);
    id = m.value;
    fd = raw_expect(&c, -1, true);
    if (size)
        *size = fd_size(fd);
    close(fd);
    raw_close(&c);
    return id;
}

static bool shm_exists(const char *name, struct stat *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "/dev/shm%s", name);
    return stat(path, st) == 0;
}

static pid_t read_pidfile(void)
{
    char buf[32];
    int fd = open(pidfile, O_RDONLY);
    ck_assert_msg(fd >= 0, "no pid file %s", pidfile);
    read_all(fd, buf, sizeof(buf));
    return (pid_t)atol(buf);
}

/* True when pid has exited but nobody reaped it yet (a daemon's reaper may be slow). */
static bool is_zombie(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *end = strrchr(buf, ')'); /* the state follows "(comm)" */
    return end && end[1] == ' ' && end[2] == 'Z';
}

static void wait_gone(pid_t pid)
{
    int status;

    for (int i = 0; i < TEST_TIMEOUT_MS / 5; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) < 0 || is_zombie(pid))
            return;
        usleep(5000);
    }
    ck_abort_msg("server %d did not exit", (int)pid);
}

START_TEST(docs_command_line_daemonizes_with_pidfile)
{
    /* Verbatim form from QEMU's documentation: -m with a shm name. */
    char err[512];
    struct stat st;
    uint64_t size;
    pid_t pid;

    ck_assert_int_eq(run(SERVER("-p", pidfile, "-S", dir.sock, "-m", dir.shm_name, "-l", "1M",
                                "-n", "2"), err, sizeof(err)), 0);
    /* The parent returned only once the pid file and the socket existed. */
    pid = read_pidfile();
    ck_assert_int_gt(pid, 1);
    ck_assert_int_eq(kill(pid, 0), 0);
    ck_assert_int_eq(handshake_id(&size), 0);
    ck_assert_uint_eq(size, 1 << 20);
    ck_assert(shm_exists(dir.shm_name, &st));
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    wait_gone(pid);
    wait_for_path(dir.sock, false);
    wait_for_path(pidfile, false);
    /* Like QEMU's server, the shm object outlives the server unless --unlink-shm. */
    ck_assert(shm_exists(dir.shm_name, &st));
}
END_TEST

START_TEST(foreground_writes_no_pidfile_and_cleans_up_on_sigterm)
{
    struct stat st;
    pid_t pid = start_foreground(SERVER("-F", "-p", pidfile, "-S", dir.sock, "-M", dir.shm_name));

    ck_assert_int_eq(handshake_id(NULL), 0);
    ck_assert_int_ne(stat(pidfile, &st), 0);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
    ck_assert_int_ne(lstat(dir.sock, &st), 0);
    ck_assert(shm_exists(dir.shm_name, &st));
}
END_TEST

START_TEST(sigint_with_unlink_shm_removes_the_shm)
{
    struct stat st;
    pid_t pid = start_foreground(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name,
                                        "--unlink-shm"));

    ck_assert(shm_exists(dir.shm_name, &st));
    kill(pid, SIGINT);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
    ck_assert_int_ne(lstat(dir.sock, &st), 0);
    ck_assert(!shm_exists(dir.shm_name, &st));
}
END_TEST

START_TEST(verbose_needs_foreground)
{
    char err[512];

    ck_assert_int_eq(run(SERVER("-v", "-S", dir.sock), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "cannot use verbose in daemon mode"));
}
END_TEST

START_TEST(too_many_vectors_and_bad_sizes)
{
    char err[512];

    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "-n", "65"), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "too many requested vectors (max is 64)"));
    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "-l", "12Q"), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "-l"));
    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "--bogus"), err, sizeof(err)), 1);
}
END_TEST

START_TEST(size_of_4g_works)
{
    uint64_t size;
    pid_t pid = start_foreground(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name, "-l", "4G"));

    handshake_id(&size);
    ck_assert_uint_eq(size, 4ULL << 30);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
}
END_TEST

START_TEST(directory_gets_an_unlinked_file)
{
    char memdir[128];
    uint64_t size;
    struct stat st;
    pid_t pid;

    snprintf(memdir, sizeof(memdir), "%s/mem", dir.path);
    ck_assert_int_eq(mkdir(memdir, 0700), 0);
    pid = start_foreground(SERVER("-F", "-S", dir.sock, "-m", memdir, "-l", "2M"));
    handshake_id(&size);
    ck_assert_uint_eq(size, 2 << 20);
    /* The file was unlinked right after creation: the directory is empty. */
    ck_assert_int_eq(rmdir(memdir), 0);
    ck_assert(!shm_exists(memdir, &st));
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
}
END_TEST

static void leave_dead_socket(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd); /* the file stays, nobody listens: what a killed server leaves */
}

START_TEST(stale_socket_is_replaced)
{
    pid_t pid;

    leave_dead_socket(dir.sock);
    pid = start_foreground(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name));
    ck_assert_int_eq(handshake_id(NULL), 0);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
}
END_TEST

START_TEST(live_server_socket_is_not_stolen)
{
    char err[512];
    pid_t pid = start_foreground(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name));

    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "in use by a running server"));
    /* The first server still serves, and the second did not even cost it an ID. */
    ck_assert_int_eq(handshake_id(NULL), 0);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
}
END_TEST

START_TEST(foreign_live_socket_is_not_stolen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char err[512];
    struct stat before, after;

    /* A listener that is not ours (no lock file), e.g. QEMU's own server. */
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", dir.sock);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(lstat(dir.sock, &before), 0);
    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "in use by a running server"));
    ck_assert_int_eq(lstat(dir.sock, &after), 0);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    close(fd);
}
END_TEST

START_TEST(non_socket_path_is_left_alone)
{
    char err[512];
    struct stat st;
    int fd = open(dir.sock, O_CREAT | O_WRONLY, 0600);

    ck_assert_int_eq(write(fd, "keep", 4), 4);
    close(fd);
    ck_assert_int_eq(run(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name), err, sizeof(err)), 1);
    ck_assert_ptr_nonnull(strstr(err, "not a socket"));
    ck_assert_int_eq(stat(dir.sock, &st), 0);
    ck_assert_int_eq(st.st_size, 4);
}
END_TEST

START_TEST(socket_and_shm_mode_and_group)
{
    struct stat st;
    pid_t pid = start_foreground(SERVER("-F", "-S", dir.sock, "-M", dir.shm_name,
                                        "--socket-mode", "0660", "--socket-group", "0",
                                        "--shm-mode", "0640", "--shm-group", "0"));

    ck_assert_int_eq(lstat(dir.sock, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0660);
    ck_assert_int_eq(st.st_gid, 0);
    ck_assert(shm_exists(dir.shm_name, &st));
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(st.st_gid, 0);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
}
END_TEST

START_TEST(help_exits_zero)
{
    char err[512];

    ck_assert_int_eq(run(SERVER("-h"), err, sizeof(err)), 0);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("ivshmem-server-cli");
    TCase *tc = tcase_create("cli");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, docs_command_line_daemonizes_with_pidfile);
    tcase_add_test(tc, foreground_writes_no_pidfile_and_cleans_up_on_sigterm);
    tcase_add_test(tc, sigint_with_unlink_shm_removes_the_shm);
    tcase_add_test(tc, verbose_needs_foreground);
    tcase_add_test(tc, too_many_vectors_and_bad_sizes);
    tcase_add_test(tc, size_of_4g_works);
    tcase_add_test(tc, directory_gets_an_unlinked_file);
    tcase_add_test(tc, stale_socket_is_replaced);
    tcase_add_test(tc, live_server_socket_is_not_stolen);
    tcase_add_test(tc, foreign_live_socket_is_not_stolen);
    tcase_add_test(tc, non_socket_path_is_left_alone);
    tcase_add_test(tc, socket_and_shm_mode_and_group);
    tcase_add_test(tc, help_exits_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
