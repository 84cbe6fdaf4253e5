/*
 * The server library, embedded in a thread, seen through raw protocol clients: the exact
 * message sequence, notifications, IDs, many peers, churn and clients that never read.
 */
#include "ivshmem_test_util.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct test_dir dir;
static struct test_server server;
static struct ivshmem_server_config cfg;

static void setup(void)
{
    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = 1 << 20;
    cfg.n_vectors = 2;
}

static void teardown(void)
{
    test_dir_remove(&dir);
}

START_TEST(connect_sequence_is_exact)
{
    struct raw_client a, b;
    struct handshake ha, hb;
    int64_t peers_of_b[] = { 0 };
    int fd;

    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    ck_assert_uint_eq(fd_size(ha.shm_fd), 1 << 20);

    raw_connect(&b, dir.sock);
    raw_expect_handshake(&b, 1, 2, peers_of_b, 1, &hb);

    /* A is told about B: B's ID once per vector, each with one of B's eventfds. */
    for (unsigned v = 0; v < 2; v++) {
        fd = raw_expect(&a, 1, true);
        ck_assert(fd_is_eventfd(fd));
        /* It is the very eventfd B waits on for vector v. */
        ck_assert_int_eq(ivshmem_eventfd_ring(fd), 0);
        ck_assert_int_eq(ivshmem_eventfd_drain(hb.own[v]), 1);
        ck_assert_int_eq(ivshmem_eventfd_drain(hb.own[1 - v]), 0);
        close(fd);
    }
    /* Both saw the same memory. */
    ck_assert_uint_eq(fd_size(hb.shm_fd), 1 << 20);

    /* B leaves: A gets B's ID without an fd. */
    raw_close(&b);
    raw_expect(&a, 1, false);
    test_server_wait_peers(&server, 1);

    handshake_close(&ha, 2);
    handshake_close(&hb, 2);
    raw_close(&a);
    test_server_stop(&server);
}
END_TEST

START_TEST(session_accepts_our_server)
{
    struct ivshmem_session s;
    struct raw_client a, b;
    struct handshake ha;
    int own = 0, peer = 0;

    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    raw_connect(&b, dir.sock);
    ivshmem_session_init(&s, 2);
    while (own < 2) {
        struct ivshmem_msg m;
        struct ivshmem_event ev;
        ck_assert_int_eq(raw_recv(&b, &m, TEST_TIMEOUT_MS), 1);
        ck_assert_msg(ivshmem_session_feed(&s, &m, &ev) == 0, "%s", s.error);
        own += ev.kind == IVSHMEM_EVENT_OWN_VECTOR;
        peer += ev.kind == IVSHMEM_EVENT_PEER_VECTOR;
        if (ev.fd >= 0)
            close(ev.fd);
    }
    ck_assert_int_eq(s.own_id, 1);
    ck_assert_int_eq(peer, 2);
    ivshmem_session_destroy(&s);
    handshake_close(&ha, 2);
    raw_close(&a);
    raw_close(&b);
    test_server_stop(&server);
}
END_TEST

START_TEST(ids_count_up_and_are_not_reused_at_once)
{
    struct raw_client a, b, c;
    struct handshake ha, hb, hc;
    int64_t only_a[] = { 0 };

    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    raw_connect(&b, dir.sock);
    raw_expect_handshake(&b, 1, 2, only_a, 1, &hb);
    raw_close(&b);
    test_server_wait_peers(&server, 1);
    /* QEMU's server keeps counting: the next client gets 2, not the freed 1. */
    raw_connect(&c, dir.sock);
    raw_expect_handshake(&c, 2, 2, only_a, 1, &hc);
    handshake_close(&ha, 2);
    handshake_close(&hb, 2);
    handshake_close(&hc, 2);
    raw_close(&a);
    raw_close(&c);
    test_server_stop(&server);
}
END_TEST

START_TEST(sixty_four_vectors)
{
    struct raw_client a, b;
    struct handshake ha, hb;
    int64_t only_a[] = { 0 };

    cfg.n_vectors = 64;
    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 64, NULL, 0, &ha);
    raw_connect(&b, dir.sock);
    raw_expect_handshake(&b, 1, 64, only_a, 1, &hb);
    for (unsigned v = 0; v < 64; v++) {
        int fd = raw_expect(&a, 1, true);
        /* Ring vector v of B through A's copy: exactly B's vector v counts. */
        ck_assert_int_eq(ivshmem_eventfd_ring(fd), 0);
        ck_assert_int_eq(ivshmem_eventfd_drain(hb.own[v]), 1);
        close(fd);
    }
    handshake_close(&ha, 64);
    handshake_close(&hb, 64);
    raw_close(&a);
    raw_close(&b);
    test_server_stop(&server);
}
END_TEST

START_TEST(sizes_round_up_to_a_power_of_two_and_go_beyond_4g)
{
    struct raw_client a;
    struct handshake ha;

    cfg.shm_size = 3ULL << 30; /* 3 GiB: QEMU's unsigned arithmetic could not do this */
    cfg.n_vectors = 1;
    test_server_start(&server, &cfg);
    ck_assert_uint_eq(ivshmem_server_shm_size(server.s), 4ULL << 30);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 1, NULL, 0, &ha);
    ck_assert_uint_eq(fd_size(ha.shm_fd), 4ULL << 30);
    handshake_close(&ha, 1);
    raw_close(&a);
    test_server_stop(&server);
}
END_TEST

/*
 * Many peers, and more than 1024 fds in the server: select() could not do this. With 4
 * vectors each client costs the server 5 fds.
 */
START_TEST(many_peers_beyond_1024_fds)
{
    long limit = raise_fd_limit();
    size_t n = 300;
    struct raw_client *c;

    if (limit < 4000) {
        /* Still many peers, just not past FD_SETSIZE. */
        n = (size_t)(limit - 64) / 8;
        fprintf(stderr, "RLIMIT_NOFILE is %ld: testing %zu peers only\n", limit, n);
    }
    cfg.n_vectors = 4;
    test_server_start(&server, &cfg);
    c = calloc(n, sizeof(*c));
    for (size_t i = 0; i < n; i++) {
        raw_connect(&c[i], dir.sock);
        /* Read this client's handshake now; peers are counted, their fds closed at once. */
        raw_expect(&c[i], 0, false);
        raw_expect(&c[i], (int64_t)i, false);
        close(raw_expect(&c[i], -1, true));
        for (size_t p = 0; p < i; p++)
            for (int v = 0; v < 4; v++)
                close(raw_expect(&c[i], (int64_t)p, true));
        for (int v = 0; v < 4; v++)
            close(raw_expect(&c[i], (int64_t)i, true));
    }
    test_server_wait_peers(&server, n);
    if (limit >= 4000)
        ck_assert_int_gt(c[n - 1].sock, 1024);
    /* Every earlier client hears of every later one, in order. */
    for (size_t i = 0; i < n; i++)
        for (size_t later = i + 1; later < n; later++)
            for (int v = 0; v < 4; v++)
                close(raw_expect(&c[i], (int64_t)later, true));
    for (size_t i = 0; i < n; i++)
        raw_close(&c[i]);
    test_server_wait_peers(&server, 0);
    free(c);
    test_server_stop(&server);
}
END_TEST

START_TEST(connect_disconnect_churn)
{
    struct raw_client a, b;
    struct handshake ha, hb;
    int64_t only_a[] = { 0 };
    const int rounds = 200;

    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    for (int i = 1; i <= rounds; i++) {
        raw_connect(&b, dir.sock);
        raw_expect_handshake(&b, i, 2, only_a, 1, &hb);
        handshake_close(&hb, 2);
        raw_close(&b);
    }
    /* A saw every arrival (one message per vector, with fds) and departure, in order. */
    for (int i = 1; i <= rounds; i++) {
        close(raw_expect(&a, i, true));
        close(raw_expect(&a, i, true));
        raw_expect(&a, i, false);
    }
    test_server_wait_peers(&server, 1);
    handshake_close(&ha, 2);
    raw_close(&a);
    test_server_stop(&server);
}
END_TEST

/* Like raw_expect(), but the stuck client's departure (ID 0, no fd) may come first, once. */
static int expect_past_stuck(struct raw_client *c, int64_t value, bool with_fd, bool *stuck_gone)
{
    struct ivshmem_msg m;

    ck_assert_int_eq(raw_recv(c, &m, TEST_TIMEOUT_MS), 1);
    if (m.value == 0 && m.fd < 0 && !*stuck_gone) {
        *stuck_gone = true;
        ck_assert_int_eq(raw_recv(c, &m, TEST_TIMEOUT_MS), 1);
    }
    ck_assert_int_eq(m.value, value);
    ck_assert_int_eq(m.fd >= 0, with_fd);
    return m.fd;
}

START_TEST(client_that_never_reads_blocks_nobody)
{
    struct raw_client stuck, a, b;
    struct handshake ha;
    const int rounds = 600;
    int64_t peers_of_a[] = { 0 };
    bool stuck_gone = false;

    cfg.n_vectors = 1;
    cfg.max_queue = 256;
    test_server_start(&server, &cfg);
    raw_connect(&stuck, dir.sock); /* ID 0, never reads a byte */
    test_server_wait_peers(&server, 1);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 1, 1, peers_of_a, 1, &ha);
    /* Churn: each round gives the stuck client two more messages it never reads. */
    for (int i = 0; i < rounds; i++) {
        int64_t id = 2 + i;
        struct ivshmem_msg m;

        raw_connect(&b, dir.sock);
        raw_expect(&b, 0, false);
        raw_expect(&b, id, false);
        close(raw_expect(&b, -1, true));
        /* While the stuck client is still registered, b hears of it first. */
        ck_assert_int_eq(raw_recv(&b, &m, TEST_TIMEOUT_MS), 1);
        close(m.fd);
        if (m.value == 0)
            close(raw_expect(&b, 1, true));
        else
            ck_assert_int_eq(m.value, 1);
        close(raw_expect(&b, id, true));
        raw_close(&b);
        /* A keeps hearing everything promptly. */
        close(expect_past_stuck(&a, id, true, &stuck_gone));
        expect_past_stuck(&a, id, false, &stuck_gone);
    }
    /* The stuck client fell more than 256 messages behind and was dropped; A was told. */
    if (!stuck_gone)
        raw_expect(&a, 0, false);
    test_server_wait_peers(&server, 1);
    raw_expect_eof(&stuck);
    handshake_close(&ha, 1);
    raw_close(&a);
    raw_close(&stuck);
    test_server_stop(&server);
}
END_TEST

START_TEST(data_from_a_client_means_it_left)
{
    struct raw_client a, b;
    struct handshake ha, hb;
    int64_t only_a[] = { 0 };

    test_server_start(&server, &cfg);
    raw_connect(&a, dir.sock);
    raw_expect_handshake(&a, 0, 2, NULL, 0, &ha);
    raw_connect(&b, dir.sock);
    raw_expect_handshake(&b, 1, 2, only_a, 1, &hb);
    close(raw_expect(&a, 1, true));
    close(raw_expect(&a, 1, true));
    /* The protocol is one-way; QEMU's server drops a client that sends anything. */
    ck_assert_int_eq(send(b.sock, "x", 1, 0), 1);
    raw_expect(&a, 1, false);
    raw_expect_eof(&b);
    handshake_close(&ha, 2);
    handshake_close(&hb, 2);
    raw_close(&a);
    raw_close(&b);
    test_server_stop(&server);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("ivshmem-server-protocol");
    TCase *tc = tcase_create("protocol");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, connect_sequence_is_exact);
    tcase_add_test(tc, session_accepts_our_server);
    tcase_add_test(tc, ids_count_up_and_are_not_reused_at_once);
    tcase_add_test(tc, sixty_four_vectors);
    tcase_add_test(tc, sizes_round_up_to_a_power_of_two_and_go_beyond_4g);
    tcase_add_test(tc, many_peers_beyond_1024_fds);
    tcase_add_test(tc, connect_disconnect_churn);
    tcase_add_test(tc, client_that_never_reads_blocks_nobody);
    tcase_add_test(tc, data_from_a_client_means_it_left);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(server_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
