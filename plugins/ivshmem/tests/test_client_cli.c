/*
 * The ivshmem-client program against an in-process server: ringing a raw client (its
 * eventfd counter moves), being rung, printing IDs and peers, timeouts, interactive commands.
 */
#include "ivshmem_test_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_dir dir;
static struct test_server server;

static void setup(void)
{
    struct ivshmem_server_config cfg;

    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = 1 << 20;
    cfg.n_vectors = 2;
    test_server_start(&server, &cfg);
}

static void teardown(void)
{
    test_server_stop(&server);
    test_dir_remove(&dir);
}

#define CLIENT(...) ((char *[]){ IVSHMEM_CLIENT_BIN, "-S", dir.sock, __VA_ARGS__, NULL })

static int run(char *const argv[], char *out, size_t cap)
{
    int out_fd;
    pid_t pid = spawn(argv, &out_fd, NULL);
    read_all(out_fd, out, cap);
    return wait_exit(pid, TEST_TIMEOUT_MS);
}

START_TEST(rings_one_vector_of_another_client)
{
    struct raw_client t;
    struct handshake h;
    char out[256];

    raw_connect(&t, dir.sock);
    raw_expect_handshake(&t, 0, 2, NULL, 0, &h);
    ck_assert_int_eq(run(CLIENT("--ring", "0:1"), out, sizeof(out)), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[1]), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[0]), 0);
    ck_assert_int_eq(run(CLIENT("--ring", "all:all", "--ring", "0:0"), out, sizeof(out)), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[0]), 2);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[1]), 1);
    handshake_close(&h, 2);
    raw_close(&t);
}
END_TEST

START_TEST(ringing_a_missing_peer_or_vector_fails)
{
    struct raw_client t;
    struct handshake h;
    char out[256];

    ck_assert_int_eq(run(CLIENT("--ring", "5:0"), out, sizeof(out)), 1);
    raw_connect(&t, dir.sock);
    raw_expect_handshake(&t, 1, 2, NULL, 0, &h);
    ck_assert_int_eq(run(CLIENT("--ring", "1:5"), out, sizeof(out)), 1);
    ck_assert_int_eq(run(CLIENT("--ring", "nonsense"), out, sizeof(out)), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[0]), 0);
    handshake_close(&h, 2);
    raw_close(&t);
}
END_TEST

START_TEST(waits_for_notifications_and_prints_its_id)
{
    struct raw_client t;
    struct handshake h;
    char out[256];
    int out_fd, fd;
    pid_t pid;

    raw_connect(&t, dir.sock);
    raw_expect_handshake(&t, 0, 2, NULL, 0, &h);
    pid = spawn(CLIENT("--print-id", "--wait", "3", "--timeout", "30"), &out_fd, NULL);
    /* The client's arrival: its ID with the eventfd of its vector 0, then vector 1. */
    fd = raw_expect(&t, 1, true);
    close(raw_expect(&t, 1, true));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ivshmem_eventfd_ring(fd), 0);
    close(fd);
    read_all(out_fd, out, sizeof(out));
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
    ck_assert_str_eq(out, "1\n");
    raw_expect(&t, 1, false); /* and its departure */
    handshake_close(&h, 2);
    raw_close(&t);
}
END_TEST

START_TEST(wait_times_out_with_status_1)
{
    char out[256];

    ck_assert_int_eq(run(CLIENT("--wait", "1", "--timeout", "0.2"), out, sizeof(out)), 1);
}
END_TEST

START_TEST(prints_peers_after_waiting_for_them)
{
    struct raw_client a, b;
    struct handshake ha, hb;
    char out[256];

    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    raw_connect(&b, dir.sock);
    raw_expect_handshake(&b, 1, 2, (int64_t[]){ 0 }, 1, &hb);
    ck_assert_int_eq(run(CLIENT("--wait-peers", "2", "--print-peers", "--timeout", "30"), out,
                         sizeof(out)), 0);
    ck_assert_str_eq(out, "0\n1\n");
    handshake_close(&ha, 2);
    handshake_close(&hb, 2);
    raw_close(&a);
    raw_close(&b);
}
END_TEST

START_TEST(no_server_fails_at_once)
{
    char out[256];
    char *argv[] = { IVSHMEM_CLIENT_BIN, "-S", "/nonexistent/ivshmem.sock", "--print-id", NULL };

    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
}
END_TEST

/* QEMU's interactive commands through a pipe on stdin. */
START_TEST(interactive_int_and_dump)
{
    struct raw_client t;
    struct handshake h;
    char out[4096];
    int in[2], out_pipe[2];
    pid_t pid;
    const char *script = "dump\nint 0 1\nint 0 all\nint all\nint 7 0\nbogus\nquit\n";

    raw_connect(&t, dir.sock);
    raw_expect_handshake(&t, 0, 2, NULL, 0, &h);
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out_pipe), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out_pipe[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out_pipe[0]);
        close(out_pipe[1]);
        execl(IVSHMEM_CLIENT_BIN, IVSHMEM_CLIENT_BIN, "-S", dir.sock, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out_pipe[1]);
    /*
     * Once we (peer 0) hear of the client's two vectors, the server has already sent the
     * client its whole handshake, so the client's `dump` sees both of its own vectors.
     */
    close(raw_expect(&t, 1, true));
    close(raw_expect(&t, 1, true));
    ck_assert_int_eq(write(in[1], script, strlen(script)), (ssize_t)strlen(script));
    close(in[1]);
    read_all(out_pipe[0], out, sizeof(out));
    ck_assert_int_eq(wait_exit(pid, TEST_TIMEOUT_MS), 0);
    ck_assert_msg(strstr(out, "own ID 1, 2 vectors") != NULL, "dump output: %s", out);
    ck_assert_msg(strstr(out, "peer 0, 2 vectors") != NULL, "dump output: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "cannot ring peer 7 vector 0: no such peer"));
    ck_assert_ptr_nonnull(strstr(out, "unknown command 'bogus'"));
    /* int 0 1, int 0 all, int all: vector 0 rung twice, vector 1 three times. */
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[0]), 2);
    ck_assert_int_eq(ivshmem_eventfd_drain(h.own[1]), 3);
    handshake_close(&h, 2);
    raw_close(&t);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("ivshmem-client-cli");
    TCase *tc = tcase_create("client");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rings_one_vector_of_another_client);
    tcase_add_test(tc, ringing_a_missing_peer_or_vector_fails);
    tcase_add_test(tc, waits_for_notifications_and_prints_its_id);
    tcase_add_test(tc, wait_times_out_with_status_1);
    tcase_add_test(tc, prints_peers_after_waiting_for_them);
    tcase_add_test(tc, no_server_fails_at_once);
    tcase_add_test(tc, interactive_int_and_dump);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(client_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
