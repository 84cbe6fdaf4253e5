/* The protocol library on its own: wire format, reassembly, and every handshake violation. */
#define _GNU_SOURCE /* memfd_create, pipe2 */
#include "ivshmem-proto.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];

static void open_pair(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
}

static void close_pair(void)
{
    close(sv[0]);
    close(sv[1]);
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static int new_shm(off_t size)
{
    int fd = memfd_create("test-shm", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    return fd;
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* Send raw bytes with any number of fds attached. */
static void send_raw(const void *bytes, size_t len, const int *fds, int nfds)
{
    char control[CMSG_SPACE(4 * sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (nfds) {
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    ck_assert_int_eq(sendmsg(sv[1], &mh, 0), (ssize_t)len);
}

START_TEST(send_is_little_endian_8_bytes)
{
    uint8_t raw[16];

    open_pair();
    ck_assert_int_eq(ivshmem_msg_send(sv[1], 0x0102030405060708LL, -1), 0);
    ck_assert_int_eq(read(sv[0], raw, sizeof(raw)), 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(raw[i], 8 - i);
    ck_assert_int_eq(ivshmem_msg_send(sv[1], -1, -1), 0);
    ck_assert_int_eq(read(sv[0], raw, sizeof(raw)), 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(raw[i], 0xff);
    close_pair();
}
END_TEST

START_TEST(round_trip_with_and_without_fd)
{
    struct ivshmem_msg_reader r;
    struct ivshmem_msg m;
    int efd = new_eventfd();

    open_pair();
    ivshmem_msg_reader_init(&r);
    ck_assert_int_eq(ivshmem_msg_send(sv[1], 42, efd), 0);
    ck_assert_int_eq(ivshmem_msg_send(sv[1], -1, -1), 0);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_MESSAGE);
    ck_assert_int_eq(m.value, 42);
    ck_assert_int_ge(m.fd, 0);
    /* The received fd is the same eventfd: ringing it shows on ours. */
    ck_assert_int_eq(ivshmem_eventfd_ring(m.fd), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(efd), 1);
    close(m.fd);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_MESSAGE);
    ck_assert_int_eq(m.value, -1);
    ck_assert_int_eq(m.fd, -1);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_AGAIN);
    close(sv[1]);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_EOF);
    close(sv[0]);
    close(efd);
}
END_TEST

START_TEST(short_reads_are_reassembled)
{
    static const uint8_t bytes[8] = { 7, 0, 0, 0, 0, 0, 0, 0 };
    struct ivshmem_msg_reader r;
    struct ivshmem_msg m;
    int efd = new_eventfd();

    open_pair();
    ivshmem_msg_reader_init(&r);
    send_raw(bytes, 3, &efd, 1);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_AGAIN);
    send_raw(bytes + 3, 5, NULL, 0);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_MESSAGE);
    ck_assert_int_eq(m.value, 7);
    ck_assert(fd_is_open(m.fd));
    close(m.fd);
    close_pair();
    close(efd);
}
END_TEST

START_TEST(truncated_message_is_an_error)
{
    static const uint8_t bytes[8] = { 1 };
    struct ivshmem_msg_reader r;
    struct ivshmem_msg m;
    int efd = new_eventfd(), probe;

    open_pair();
    ivshmem_msg_reader_init(&r);
    send_raw(bytes, 5, &efd, 1);
    close(efd);
    close(sv[1]);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_ERROR);
    ck_assert_ptr_nonnull(strstr(r.error, "truncated message"));
    ck_assert_ptr_nonnull(strstr(r.error, "5 of 8"));
    /* The fd that came with the partial message was closed, not leaked. */
    probe = dup(0);
    ck_assert_int_eq(probe, efd);
    close(probe);
    close(sv[0]);
}
END_TEST

START_TEST(two_fds_in_one_message_is_an_error)
{
    static const uint8_t bytes[8] = { 1 };
    struct ivshmem_msg_reader r;
    struct ivshmem_msg m;
    int fds[2] = { new_eventfd(), new_eventfd() };

    open_pair();
    ivshmem_msg_reader_init(&r);
    send_raw(bytes, 8, fds, 2);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_ERROR);
    ck_assert_ptr_nonnull(strstr(r.error, "more than one file descriptor"));
    close_pair();
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(fd_on_each_half_is_an_error)
{
    static const uint8_t bytes[8] = { 1 };
    struct ivshmem_msg_reader r;
    struct ivshmem_msg m;
    int a = new_eventfd(), b = new_eventfd();

    open_pair();
    ivshmem_msg_reader_init(&r);
    send_raw(bytes, 4, &a, 1);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_AGAIN);
    send_raw(bytes + 4, 4, &b, 1);
    ck_assert_int_eq(ivshmem_msg_read(&r, sv[0], &m), IVSHMEM_READ_ERROR);
    ck_assert_ptr_nonnull(strstr(r.error, "more than one file descriptor"));
    close_pair();
    close(a);
    close(b);
}
END_TEST

/* ---- session ---- */

static struct ivshmem_session s;
static struct ivshmem_event ev;

static int feed(int64_t value, int fd)
{
    struct ivshmem_msg m = { .value = value, .fd = fd };
    return ivshmem_session_feed(&s, &m, &ev);
}

static void feed_ok(int64_t value, int fd, enum ivshmem_event_kind kind)
{
    int rc = feed(value, fd);
    ck_assert_msg(rc == 0, "feeding %lld failed: %s", (long long)value, s.error);
    ck_assert_int_eq(ev.kind, kind);
}

static void expect_violation(int64_t value, int fd, const char *text)
{
    ck_assert_int_eq(feed(value, fd), -EPROTO);
    ck_assert_msg(strstr(s.error, text) != NULL, "error '%s' lacks '%s'", s.error, text);
    ck_assert_int_eq(s.state, IVSHMEM_SESSION_FAILED);
    if (fd >= 0)
        ck_assert(!fd_is_open(fd));
    /* A failed session stays failed. */
    ck_assert_int_eq(feed(0, -1), -EPROTO);
    ivshmem_session_destroy(&s);
}

static void start_session(unsigned vectors, int64_t id)
{
    ivshmem_session_init(&s, vectors);
    feed_ok(0, -1, IVSHMEM_EVENT_VERSION);
    feed_ok(id, -1, IVSHMEM_EVENT_OWN_ID);
    ck_assert_int_eq(ev.id, id);
}

START_TEST(full_handshake_produces_events_in_order)
{
    int shm = new_shm(1 << 20);

    start_session(2, 3);
    ck_assert(!ivshmem_session_ready(&s));
    feed_ok(-1, shm, IVSHMEM_EVENT_SHM);
    ck_assert_int_eq(ev.fd, shm);
    ck_assert_int_eq(ev.size, 1 << 20);
    ck_assert(ivshmem_session_ready(&s));
    for (int64_t peer = 0; peer < 3; peer++) {
        for (unsigned v = 0; v < 2; v++) {
            int efd = new_eventfd();
            feed_ok(peer, efd, IVSHMEM_EVENT_PEER_VECTOR);
            ck_assert_int_eq(ev.id, peer);
            ck_assert_uint_eq(ev.vector, v);
            ck_assert_int_eq(ev.fd, efd);
            close(efd);
        }
    }
    for (unsigned v = 0; v < 2; v++) {
        int efd = new_eventfd();
        feed_ok(3, efd, IVSHMEM_EVENT_OWN_VECTOR);
        ck_assert_uint_eq(ev.vector, v);
        close(efd);
    }
    feed_ok(1, -1, IVSHMEM_EVENT_PEER_GONE);
    ck_assert_int_eq(ev.id, 1);
    /* A peer that left may come back with the same ID and starts at vector 0 again. */
    int efd = new_eventfd();
    feed_ok(1, efd, IVSHMEM_EVENT_PEER_VECTOR);
    ck_assert_uint_eq(ev.vector, 0);
    close(efd);
    close(shm);
    ivshmem_session_destroy(&s);
}
END_TEST

START_TEST(peer_messages_before_shm_are_accepted)
{
    int efd = new_eventfd(), shm = new_shm(4096);

    start_session(1, 1);
    feed_ok(0, efd, IVSHMEM_EVENT_PEER_VECTOR);
    feed_ok(-1, shm, IVSHMEM_EVENT_SHM);
    close(efd);
    close(shm);
    ivshmem_session_destroy(&s);
}
END_TEST

START_TEST(wrong_version)
{
    ivshmem_session_init(&s, 1);
    expect_violation(1, -1, "protocol version 1, expecting 0");
}
END_TEST

START_TEST(version_with_fd)
{
    ivshmem_session_init(&s, 1);
    expect_violation(0, new_eventfd(), "version message with a file descriptor");
}
END_TEST

START_TEST(id_with_fd)
{
    ivshmem_session_init(&s, 1);
    feed_ok(0, -1, IVSHMEM_EVENT_VERSION);
    expect_violation(0, new_eventfd(), "ID message with a file descriptor");
}
END_TEST

START_TEST(huge_id)
{
    ivshmem_session_init(&s, 1);
    feed_ok(0, -1, IVSHMEM_EVENT_VERSION);
    expect_violation(65536, -1, "invalid ID 65536");
}
END_TEST

START_TEST(negative_id)
{
    ivshmem_session_init(&s, 1);
    feed_ok(0, -1, IVSHMEM_EVENT_VERSION);
    expect_violation(-1, -1, "invalid ID -1");
}
END_TEST

START_TEST(shm_without_fd)
{
    start_session(1, 0);
    expect_violation(-1, -1, "shared memory message without a file descriptor");
}
END_TEST

START_TEST(shm_not_a_regular_file)
{
    start_session(1, 0);
    expect_violation(-1, new_eventfd(), "not a regular file");
}
END_TEST

START_TEST(second_shm)
{
    int shm = new_shm(4096);

    start_session(1, 0);
    feed_ok(-1, shm, IVSHMEM_EVENT_SHM);
    expect_violation(-1, new_shm(4096), "second shared memory message");
    close(shm);
}
END_TEST

START_TEST(huge_peer_id)
{
    start_session(1, 0);
    expect_violation(65536, new_eventfd(), "invalid message 65536");
}
END_TEST

START_TEST(value_below_minus_one)
{
    start_session(1, 0);
    expect_violation(-2, -1, "invalid message -2");
}
END_TEST

START_TEST(own_id_disconnect)
{
    start_session(1, 4);
    expect_violation(4, -1, "our own ID 4 left");
}
END_TEST

START_TEST(unknown_peer_disconnect_is_ignored)
{
    start_session(1, 4);
    feed_ok(9, -1, IVSHMEM_EVENT_IGNORED);
    ck_assert_ptr_nonnull(strstr(s.warning, "unknown peer 9"));
    ck_assert_int_ne(s.state, IVSHMEM_SESSION_FAILED);
    ivshmem_session_destroy(&s);
}
END_TEST

START_TEST(extra_vectors_are_closed)
{
    int keep = new_eventfd(), extra = new_eventfd();

    start_session(1, 0);
    feed_ok(1, keep, IVSHMEM_EVENT_PEER_VECTOR);
    feed_ok(1, extra, IVSHMEM_EVENT_IGNORED);
    ck_assert(!fd_is_open(extra));
    ck_assert_ptr_nonnull(strstr(s.warning, "uses 1 vectors"));
    close(keep);
    ivshmem_session_destroy(&s);
}
END_TEST

START_TEST(too_many_vectors)
{
    int efd = new_eventfd();

    start_session(1, 0);
    for (int i = 0; i < IVSHMEM_PROTO_VECTOR_LIMIT; i++) {
        int fd = dup(efd);
        ck_assert_int_eq(feed(7, fd), 0);
        if (ev.fd >= 0)
            close(ev.fd);
    }
    expect_violation(7, efd, "more than 2048 eventfds for peer 7");
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *suite = suite_create("ivshmem-proto");
    TCase *wire = tcase_create("wire");
    TCase *session = tcase_create("session");

    tcase_add_test(wire, send_is_little_endian_8_bytes);
    tcase_add_test(wire, round_trip_with_and_without_fd);
    tcase_add_test(wire, short_reads_are_reassembled);
    tcase_add_test(wire, truncated_message_is_an_error);
    tcase_add_test(wire, two_fds_in_one_message_is_an_error);
    tcase_add_test(wire, fd_on_each_half_is_an_error);
    suite_add_tcase(suite, wire);

    tcase_add_test(session, full_handshake_produces_events_in_order);
    tcase_add_test(session, peer_messages_before_shm_are_accepted);
    tcase_add_test(session, wrong_version);
    tcase_add_test(session, version_with_fd);
    tcase_add_test(session, id_with_fd);
    tcase_add_test(session, huge_id);
    tcase_add_test(session, negative_id);
    tcase_add_test(session, shm_without_fd);
    tcase_add_test(session, shm_not_a_regular_file);
    tcase_add_test(session, second_shm);
    tcase_add_test(session, huge_peer_id);
    tcase_add_test(session, value_below_minus_one);
    tcase_add_test(session, own_id_disconnect);
    tcase_add_test(session, unknown_peer_disconnect_is_ignored);
    tcase_add_test(session, extra_vectors_are_closed);
    tcase_add_test(session, too_many_vectors);
    suite_add_tcase(suite, session);
    return suite;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
