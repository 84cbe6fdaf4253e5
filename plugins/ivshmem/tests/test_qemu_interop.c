/*
 * Interoperability: QEMU's own ivshmem-doorbell device (qemu-system-x86_64 -accel tcg, paused
 * with -S: realize alone performs the whole handshake) connects to our server. Our client
 * sees it arrive, rings it, and sees it leave; the server counts it as a peer.
 * Skips (exit status 77) with a message when qemu-system-x86_64 is not installed.
 */
#include "ivshmem_test_util.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *find_qemu(void)
{
    static char found[512];
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;

    if (!path)
        return NULL;
    copy = strdup(path);
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof(found), "%s/qemu-system-x86_64", dir);
        if (access(found, X_OK) == 0) {
            free(copy);
            return found;
        }
    }
    free(copy);
    return NULL;
}

static pid_t start_qemu(const char *qemu, const char *sock)
{
    char chardev[256];
    char *argv[] = {
        (char *)qemu, "-accel", "tcg", "-machine", "pc", "-m", "64", "-nodefaults",
        "-display", "none", "-monitor", "none", "-serial", "none", "-S",
        "-chardev", chardev, "-device", "ivshmem-doorbell,chardev=c,vectors=2", NULL,
    };

    snprintf(chardev, sizeof(chardev), "socket,path=%s,id=c", sock);
    return spawn(argv, NULL, NULL);
}

START_TEST(qemu_doorbell_device_joins_and_is_rung)
{
    const char *qemu = find_qemu();
    struct ivshmem_server_config cfg;
    struct test_server server;
    struct test_dir dir;
    struct raw_client t;
    struct handshake h;
    pid_t qemu_pid, client_pid;
    char out[256];
    int out_fd;

    ck_assert_ptr_nonnull(qemu);
    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = 1 << 20;
    cfg.n_vectors = 2;
    test_server_start(&server, &cfg);

    /* A raw peer (ID 0) and our ivshmem-client (ID 1) are there before QEMU (ID 2). */
    raw_connect(&t, dir.sock);
    raw_expect_handshake(&t, 0, 2, NULL, 0, &h);
    client_pid = spawn((char *[]){ IVSHMEM_CLIENT_BIN, "-S", dir.sock, "--wait-peers", "2",
                                   "--print-peers", "--ring", "2:0", "--ring", "2:1",
                                   "--timeout", "60", NULL },
                       &out_fd, NULL);
    close(raw_expect(&t, 1, true));
    close(raw_expect(&t, 1, true));
    test_server_wait_peers(&server, 2);

    qemu_pid = start_qemu(qemu, dir.sock);
    /* QEMU's device arrives with one eventfd per vector, like any client. */
    for (int v = 0; v < 2; v++) {
        int fd = raw_expect(&t, 2, true);
        ck_assert(fd_is_eventfd(fd));
        ck_assert_int_eq(ivshmem_eventfd_ring(fd), 0);
        close(fd);
    }
    /* Our client saw the connect notification and rang both of QEMU's vectors. */
    read_all(out_fd, out, sizeof(out));
    ck_assert_int_eq(wait_exit(client_pid, 90000), 0);
    ck_assert_str_eq(out, "0\n2\n");
    raw_expect(&t, 1, false);
    test_server_wait_peers(&server, 2);
    /* QEMU took the doorbells without complaint: it is still running. */
    ck_assert_int_eq(kill(qemu_pid, 0), 0);
    kill(qemu_pid, SIGTERM);
    wait_exit(qemu_pid, TEST_TIMEOUT_MS);
    raw_expect(&t, 2, false);
    test_server_wait_peers(&server, 1);

    handshake_close(&h, 2);
    raw_close(&t);
    test_server_stop(&server);
    test_dir_remove(&dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ivshmem-qemu-interop");
    TCase *tc = tcase_create("qemu");
    SRunner *sr;
    int failed;

    if (!find_qemu()) {
        /* ctest reports exit status 77 as skipped (SKIP_RETURN_CODE). */
        fprintf(stderr, "SKIP: qemu-system-x86_64 not found; QEMU interop not tested\n");
        return 77;
    }
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, qemu_doorbell_device_joins_and_is_rung);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
