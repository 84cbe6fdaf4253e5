/*
 * The library both ivshmem device plugins share, without a host: the BAR0 register model,
 * the peer table, the device's server link (against a fake server that misbehaves on
 * purpose, and against our ivshmem-server), the master/peer rules and size checks.
 */
#define _GNU_SOURCE
#include "ivshmem-dev.h"
#include "ivshmem_test_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------------------- */

static int open_fd_count(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static int new_memfd(off_t size)
{
    int fd = memfd_create("ivshmem-test", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    return fd;
}

/* Sends value with a fresh fd of the given kind ('e' eventfd, 'm' memfd of size, 'p' pipe). */
static void send_with(int sock, int64_t value, char kind, off_t size)
{
    int fd = -1, pfd[2];

    if (kind == 'e')
        fd = new_eventfd();
    else if (kind == 'm')
        fd = new_memfd(size);
    else if (kind == 'p') {
        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        close(pfd[1]);
        fd = pfd[0];
    }
    ck_assert_int_eq(ivshmem_msg_send(sock, value, fd), 0);
    if (fd >= 0)
        close(fd);
}

static void send_plain(int sock, int64_t value)
{
    ck_assert_int_eq(ivshmem_msg_send(sock, value, -1), 0);
}

/* What the ops saw. */
struct recorder {
    int added, removed, own_added, own_removed;
    int refuse_peer; /* vector_added fails for this peer ID (-1: never) */
    int logs, errors;
    char last_log[256];
};

static int rec_added(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    struct recorder *r = opaque;
    ck_assert(ivshmem_fd_is_eventfd(fd));
    if (id == r->refuse_peer)
        return -ENOSPC;
    own ? r->own_added++ : r->added++;
    return 0;
}

static void rec_removed(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    struct recorder *r = opaque;
    ck_assert_int_ge(fcntl(fd, F_GETFD), 0); /* still open while we are told */
    own ? r->own_removed++ : r->removed++;
}

static void rec_log(void *opaque, int level, const char *msg)
{
    struct recorder *r = opaque;
    ck_assert_ptr_null(strchr(msg, '\n'));
    r->logs++;
    if (level == TS_LOG_ERROR)
        r->errors++;
    snprintf(r->last_log, sizeof(r->last_log), "%s", msg);
}

static const struct ivshmem_link_ops rec_ops = {
    .vector_added = rec_added,
    .vector_removed = rec_removed,
    .log = rec_log,
};

/* Service the link until cond holds or the link closes (generous bound against hangs). */
#define SERVICE_UNTIL(l, cond)                                                                \
    do {                                                                                      \
        for (int _i = 0; !(cond) && _i < TEST_TIMEOUT_MS / 10; _i++) {                        \
            struct pollfd _p = { .fd = (l)->sock, .events = POLLIN };                         \
            poll(&_p, 1, 10);                                                                 \
            if (!ivshmem_link_service((l), IVSHMEM_LINK_SERVICE_BUDGET))                      \
                break;                                                                        \
        }                                                                                     \
        ck_assert(cond);                                                                      \
    } while (0)

/* ---- registers -------------------------------------------------------------------------- */

START_TEST(regs_single_qtest_assertions)
{
    struct ivshmem_regs r;
    uint32_t db = 0;

    /* /ivshmem/single: everything starts at 0 on ivshmem-plain. */
    ivshmem_regs_init(&r, 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRSTATUS, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 0);
    /* IntrMask is plain storage. */
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_INTRMASK, 4, 0xffffffff, &db), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 0xffffffff);
    /* IntrStatus reads back once, then reads 0. */
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_INTRSTATUS, 4, 1, &db), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRSTATUS, 4), 1);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRSTATUS, 4), 0);
    /* Writing IVPosition is ignored; reading Doorbell gives 0. */
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_IVPOSITION, 4, 1, &db), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_DOORBELL, 4), 0);
    /* A doorbell write is reported to the caller with its value. */
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_DOORBELL, 4, 8 << 16, &db), 1);
    ck_assert_uint_eq(db, 8u << 16);
    ck_assert_uint_eq(ivshmem_doorbell_peer(db), 8);
    ck_assert_uint_eq(ivshmem_doorbell_vector(db), 0);
}
END_TEST

START_TEST(regs_ivposition_reset_and_odd_accesses)
{
    struct ivshmem_regs r;
    uint32_t db = 0xdead;

    ivshmem_regs_init(&r, 0x1234);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 0x1234);
    ivshmem_regs_write(&r, IVSHMEM_REG_INTRMASK, 4, 0x55, &db);
    ivshmem_regs_write(&r, IVSHMEM_REG_INTRSTATUS, 4, 0x66, &db);
    ivshmem_regs_reset(&r);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRSTATUS, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 0x1234);

    /* Narrow reads see the low bytes; unaligned and reserved offsets read 0. */
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 1), 0x34);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 2), 0x1234);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION + 1, 1), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, 0x10, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, 0xfc, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, 0x100, 4), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, UINT64_MAX, 8), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, 0, 3), 0);

    /* A narrow write lands in the register holding it (offset & 0xfc), zero-extended. */
    ivshmem_regs_write(&r, IVSHMEM_REG_INTRMASK, 4, 0xffffffff, &db);
    ivshmem_regs_write(&r, IVSHMEM_REG_INTRMASK + 2, 1, 0x1ab, &db);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 0xab);
    /* An 8-byte access is two 32-bit ones. */
    ivshmem_regs_write(&r, IVSHMEM_REG_INTRMASK, 8, 0x0000000700000009ull, &db);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 9);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 8), 0x0000000700000009ull);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRSTATUS, 4), 0); /* cleared by it */
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 8), 0x1234);
    /* The doorbell in the high half of an 8-byte write at IVPosition. */
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_IVPOSITION, 8, 0x0003000100000000ull, &db), 1);
    ck_assert_uint_eq(db, 0x00030001);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 0x1234);
    /* Writes past the registers or of odd sizes do nothing. */
    db = 0;
    ck_assert_int_eq(ivshmem_regs_write(&r, 0x10c, 4, 1, &db), 0);
    ck_assert_int_eq(ivshmem_regs_write(&r, IVSHMEM_REG_DOORBELL, 3, 1, &db), 0);
    ck_assert_int_eq(ivshmem_regs_write(&r, 0xfc, 8, ~0ull, &db), 0);
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_INTRMASK, 4), 9);
    /* The vector keeps 16 bits, as the specification and the ioeventfd datamatch do. */
    ck_assert_uint_eq(ivshmem_doorbell_vector(0x00020105), 0x105);
    ck_assert_uint_eq(ivshmem_doorbell_value(2, 0x105), 0x00020105);
}
END_TEST

START_TEST(regs_random_accesses_never_misbehave)
{
    struct ivshmem_regs r;
    unsigned seed = 12345;

    ivshmem_regs_init(&r, 7);
    for (int i = 0; i < 200000; i++) {
        uint64_t off = (uint64_t)rand_r(&seed) % 0x120;
        unsigned size = 1u << (rand_r(&seed) % 4);
        uint64_t val = (uint64_t)rand_r(&seed) << 33 ^ (uint64_t)rand_r(&seed);
        uint32_t db;
        if (rand_r(&seed) & 1)
            ivshmem_regs_read(&r, off, size);
        else
            ivshmem_regs_write(&r, off, size, val, &db);
    }
    ck_assert_uint_eq(ivshmem_regs_read(&r, IVSHMEM_REG_IVPOSITION, 4), 7);
}
END_TEST

/* ---- peer table ------------------------------------------------------------------------- */

static int removed_calls;
static void count_removed(void *opaque, uint16_t id, unsigned vector, int fd)
{
    ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
    removed_calls++;
}

START_TEST(peers_set_ring_remove)
{
    struct ivshmem_peers p;
    int before = open_fd_count();
    int a0 = new_eventfd(), a1 = new_eventfd(), b0 = new_eventfd();
    int a0_watch = dup(a0), b0_watch = dup(b0);

    ck_assert_int_eq(ivshmem_peers_init(&p, 2), 0);
    ck_assert_int_eq(ivshmem_peers_set(&p, 3, 0, a0), 0);
    ck_assert_int_eq(ivshmem_peers_set(&p, 3, 1, a1), 0);
    ck_assert_int_eq(ivshmem_peers_set(&p, 65535, 0, b0), 0);
    ck_assert_uint_eq(p.fd_count, 3);
    ck_assert_uint_eq(ivshmem_peers_vectors(&p, 3), 2);
    ck_assert_uint_eq(ivshmem_peers_vectors(&p, 65535), 1);
    ck_assert_uint_eq(ivshmem_peers_vectors(&p, 4), 0);

    /* Rings reach the right eventfd; unknown peers and vectors are ignored. */
    ck_assert_int_eq(ivshmem_peers_ring(&p, 3, 0), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(a0_watch), 1);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 65535, 0), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(b0_watch), 1);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 3, 2), -ENOENT);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 65535, 1), -ENOENT);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 9, 0), -ENOENT);
    ck_assert_int_eq(ivshmem_eventfd_drain(a0_watch), 0);

    /* Vectors beyond the device's count, and a slot given twice, are refused and closed. */
    int extra = new_eventfd(), twice = new_eventfd();
    ck_assert_int_eq(ivshmem_peers_set(&p, 3, 2, extra), -ERANGE);
    ck_assert_int_eq(fcntl(extra, F_GETFD), -1);
    ck_assert_int_eq(ivshmem_peers_set(&p, 3, 0, twice), -EEXIST);
    ck_assert_int_eq(fcntl(twice, F_GETFD), -1);
    ck_assert_int_eq(ivshmem_peers_fd(&p, 3, 0), a0);

    /* A peer leaving closes its fds after telling the callback. */
    removed_calls = 0;
    ck_assert_uint_eq(ivshmem_peers_remove(&p, 3, count_removed, NULL), 2);
    ck_assert_int_eq(removed_calls, 2);
    ck_assert_int_eq(fcntl(a0, F_GETFD), -1);
    ck_assert_int_eq(fcntl(a1, F_GETFD), -1);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 3, 0), -ENOENT);
    ck_assert_uint_eq(ivshmem_peers_remove(&p, 3, count_removed, NULL), 0);
    /* It may come back. */
    ck_assert_int_eq(ivshmem_peers_set(&p, 3, 1, new_eventfd()), 0);
    ck_assert_uint_eq(ivshmem_peers_vectors(&p, 3), 2);
    ck_assert_int_eq(ivshmem_peers_fd(&p, 3, 0), -1);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 3, 0), -ENOENT);

    removed_calls = 0;
    ivshmem_peers_destroy(&p, count_removed, NULL);
    ck_assert_int_eq(removed_calls, 2);
    close(a0_watch);
    close(b0_watch);
    ck_assert_int_eq(open_fd_count(), before);
}
END_TEST

START_TEST(peers_many_ids_and_vectors)
{
    struct ivshmem_peers p;
    int before = open_fd_count();

    ck_assert_int_eq(ivshmem_peers_init(&p, IVSHMEM_MAX_VECTORS), 0);
    for (unsigned id = 0; id < 65536; id += 4099)
        ck_assert_int_eq(ivshmem_peers_set(&p, (uint16_t)id, IVSHMEM_MAX_VECTORS - 1, new_eventfd()), 0);
    ck_assert_uint_eq(ivshmem_peers_vectors(&p, 4099), IVSHMEM_MAX_VECTORS);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 4099, IVSHMEM_MAX_VECTORS - 1), 0);
    ck_assert_int_eq(ivshmem_peers_ring(&p, 4099, IVSHMEM_MAX_VECTORS - 2), -ENOENT);
    int e = new_eventfd();
    ck_assert_int_eq(ivshmem_peers_set(&p, 1, IVSHMEM_MAX_VECTORS, e), -ERANGE);
    ivshmem_peers_destroy(&p, NULL, NULL);
    ck_assert_int_eq(open_fd_count(), before);
}
END_TEST

/* A vCPU ringing while the main loop swaps peers: never a closed or reused fd. */
static struct ivshmem_peers race_peers;
static volatile int race_stop;
static int race_bad;

static void *ringer(void *arg)
{
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        int r = ivshmem_peers_ring(&race_peers, 1, 0);
        if (r != 0 && r != -ENOENT && r != -EAGAIN)
            __atomic_store_n(&race_bad, r, __ATOMIC_RELEASE);
    }
    return NULL;
}

START_TEST(peers_ring_races_with_removal)
{
    pthread_t t;
    int pipes[2];

    ck_assert_int_eq(ivshmem_peers_init(&race_peers, 1), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, ringer, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        ck_assert_int_eq(ivshmem_peers_set(&race_peers, 1, 0, new_eventfd()), 0);
        ivshmem_peers_remove(&race_peers, 1, NULL, NULL);
        /* Likely to get the fd number just closed: a late ring would land in this pipe. */
        ck_assert_int_eq(pipe2(pipes, O_CLOEXEC | O_NONBLOCK), 0);
        char byte;
        ck_assert_int_eq(read(pipes[0], &byte, 1), -1);
        close(pipes[0]);
        close(pipes[1]);
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    ck_assert_int_eq(race_bad, 0);
    ivshmem_peers_destroy(&race_peers, NULL, NULL);
}
END_TEST

/* ---- link against a fake server --------------------------------------------------------- */

static int sv[2];
static struct ivshmem_link lnk;
static struct recorder rec;
static int fds_before;

static void fake_setup(void)
{
    fds_before = open_fd_count();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    memset(&rec, 0, sizeof(rec));
    rec.refuse_peer = -1;
}

static void fake_teardown(void)
{
    ivshmem_link_destroy(&lnk);
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    ck_assert_int_eq(open_fd_count(), fds_before);
}

/* version, id, shm(size) as a well-behaved server sends them. */
static void fake_greet(int64_t id, off_t size)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], id);
    send_with(sv[1], -1, 'm', size);
}

static int handshake(unsigned vectors, int timeout_ms)
{
    ck_assert_int_eq(ivshmem_link_init(&lnk, sv[0], vectors), 0);
    return ivshmem_link_handshake(&lnk, timeout_ms);
}

START_TEST(link_handshake_and_runtime_peers)
{
    /* Peer 1 announced before the shm (QEMU accepts that), peer 2 after. */
    send_plain(sv[1], 0);
    send_plain(sv[1], 5);
    send_with(sv[1], 1, 'e', 0);
    send_with(sv[1], 1, 'e', 0);
    send_with(sv[1], -1, 'm', 1 << 20);
    send_with(sv[1], 2, 'e', 0);
    ck_assert_int_eq(handshake(2, TEST_TIMEOUT_MS), 0);
    ck_assert_int_eq(lnk.own_id, 5);
    ck_assert_uint_eq(lnk.shm_size, 1 << 20);
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_OPEN);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 1), 2);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 2), 1);

    /* Starting hands what the handshake collected to the device. */
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    ck_assert_int_eq(rec.added, 3);
    ck_assert_int_eq(rec.own_added, 0);

    /* Own vectors, then a runtime connect and a disconnect. */
    send_with(sv[1], 5, 'e', 0);
    send_with(sv[1], 5, 'e', 0);
    send_with(sv[1], 7, 'e', 0);
    send_plain(sv[1], 1);
    SERVICE_UNTIL(&lnk, rec.removed == 2);
    ck_assert_int_eq(rec.own_added, 2);
    ck_assert_int_eq(rec.added, 4);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 1), 0);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 5), 2);
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 1, 0), -ENOENT);
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 7, 0), 0);

    /* The shm fd is the caller's once taken. */
    int shm = ivshmem_link_take_shm(&lnk);
    ck_assert_int_ge(shm, 0);
    ck_assert_int_eq(ivshmem_link_take_shm(&lnk), -1);
    close(shm);

    /* Server EOF: no error, the link stops reading, the peers stay reachable. */
    close(sv[1]);
    sv[1] = -1;
    SERVICE_UNTIL(&lnk, lnk.state == IVSHMEM_LINK_CLOSED);
    ck_assert_int_eq(rec.errors, 0);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "closed the connection"));
    ck_assert(!ivshmem_link_service(&lnk, 1));
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 7, 0), 0);

    /* Destroy tells the device about every vector it still holds. */
    ivshmem_link_destroy(&lnk);
    ck_assert_int_eq(rec.removed, 2 + 2); /* peer 1 earlier, peers 2 and 7 now */
    ck_assert_int_eq(rec.own_removed, 2);
}
END_TEST

START_TEST(link_times_out_without_shm)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], 3);
    /* Deliberately short: the test asserts that the deadline fails the handshake. */
    ck_assert_int_eq(handshake(1, 50), -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(lnk.error, "did not complete the handshake within 50 ms"));
    ck_assert_ptr_nonnull(strstr(lnk.error, "received 2 messages"));
}
END_TEST

static void *stream_departures(void *arg)
{
    int sock = *(int *)arg;
    uint8_t msg[8 * 64];

    send_plain(sock, 0);
    send_plain(sock, 1);
    /* Then "peer 9 left" forever (until the reader hangs up), never the shm. */
    for (int i = 0; i < 64; i++) {
        memset(msg + 8 * i, 0, 8);
        msg[8 * i] = 9;
    }
    while (send(sock, msg, sizeof(msg), MSG_NOSIGNAL) > 0)
        ;
    return NULL;
}

START_TEST(link_times_out_while_flooded_before_shm)
{
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, stream_departures, &sv[1]), 0);
    /* Deliberately short: the deadline must end the handshake although messages keep coming. */
    ck_assert_int_eq(handshake(1, 50), -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(lnk.error, "did not complete the handshake"));
    ck_assert_uint_gt(lnk.messages, 2);
    shutdown(sv[0], SHUT_RD);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(link_eof_during_handshake)
{
    send_plain(sv[1], 0);
    close(sv[1]);
    sv[1] = -1;
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), -ECONNRESET);
    ck_assert_str_eq(lnk.error, "the ivshmem server closed the connection during the handshake");
}
END_TEST

static void expect_handshake_error(unsigned vectors, int err, const char *text)
{
    ck_assert_int_eq(handshake(vectors, TEST_TIMEOUT_MS), err);
    if (!strstr(lnk.error, text))
        ck_abort_msg("error \"%s\" lacks \"%s\"", lnk.error, text);
    ck_assert_ptr_null(strchr(lnk.error, '\n'));
}

START_TEST(link_rejects_wrong_version)
{
    send_plain(sv[1], 1);
    expect_handshake_error(1, -EPROTO, "server sent protocol version 1, expecting 0");
}
END_TEST

START_TEST(link_rejects_bad_id)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], 65536);
    expect_handshake_error(1, -EPROTO, "invalid ID 65536");
}
END_TEST

START_TEST(link_rejects_shm_without_fd)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], 0);
    send_plain(sv[1], -1);
    expect_handshake_error(1, -EPROTO, "without a file descriptor");
}
END_TEST

START_TEST(link_rejects_shm_pipe)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], 0);
    send_with(sv[1], -1, 'p', 0);
    expect_handshake_error(1, -EPROTO, "not a regular file");
}
END_TEST

START_TEST(link_rejects_non_pow2_shm)
{
    fake_greet(0, 3 << 20);
    expect_handshake_error(1, -EPROTO, "shared memory sent by the ivshmem server is 3M bytes, not a power of two");
}
END_TEST

START_TEST(link_rejects_empty_shm)
{
    fake_greet(0, 0);
    expect_handshake_error(1, -EPROTO, "is 0 bytes, not a power of two");
}
END_TEST

START_TEST(link_rejects_garbage_value)
{
    send_plain(sv[1], 0);
    send_plain(sv[1], 0);
    send_plain(sv[1], -7);
    expect_handshake_error(1, -EPROTO, "invalid message -7");
}
END_TEST

START_TEST(link_rejects_two_fds)
{
    int fds[2] = { new_eventfd(), new_eventfd() };
    char control[CMSG_SPACE(2 * sizeof(int))] = { 0 };
    uint8_t bytes[8] = { 0 };
    struct iovec iov = { .iov_base = bytes, .iov_len = 8 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof(control) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    ck_assert_int_eq(sendmsg(sv[1], &mh, 0), 8);
    close(fds[0]);
    close(fds[1]);
    expect_handshake_error(1, -EIO, "more than one file descriptor");
}
END_TEST

START_TEST(link_hostile_runtime_messages)
{
    fake_greet(2, 1 << 16);
    ck_assert_int_eq(handshake(2, TEST_TIMEOUT_MS), 0);
    rec.refuse_peer = 9;
    ivshmem_link_start(&lnk, &rec_ops, &rec);

    /* A pipe instead of an eventfd, a vector beyond ours, unknown peers leaving, a peer the
     * device refuses: all ignored with warnings, the link stays open. */
    send_with(sv[1], 3, 'p', 0);
    send_with(sv[1], 4, 'e', 0);
    send_with(sv[1], 4, 'e', 0);
    send_with(sv[1], 4, 'e', 0);
    send_plain(sv[1], 60000);
    send_with(sv[1], 9, 'e', 0);
    send_with(sv[1], 65535, 'e', 0);
    SERVICE_UNTIL(&lnk, rec.added == 3);
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_OPEN);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 3), 0);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 4), 2);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 9), 0);
    ck_assert_uint_eq(ivshmem_peers_vectors(&lnk.peers, 65535), 1);
    ck_assert_uint_ge(lnk.warnings, 4);
    ck_assert_int_eq(rec.errors, 0);

    /* A second shm is a violation: the link closes with an error, peers stay. */
    send_with(sv[1], -1, 'm', 4096);
    SERVICE_UNTIL(&lnk, lnk.state == IVSHMEM_LINK_CLOSED);
    ck_assert_int_eq(rec.errors, 1);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "second shared memory message"));
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 65535, 0), 0);
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 4, 1), 0);
}
END_TEST

START_TEST(link_flood_is_bounded)
{
    fake_greet(0, 1 << 12);
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), 0);
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    /* Thousands of departures of unknown peers: each is a warning, few are logged. One
     * write, so that the socket buffer's per-packet overhead cannot block the sender. */
    static uint8_t flood[5000 * 8];
    for (int i = 0; i < 5000; i++) {
        uint64_t v = 1 + (uint64_t)i % 65535;
        for (int b = 0; b < 8; b++)
            flood[i * 8 + b] = (uint8_t)(v >> (8 * b));
    }
    for (size_t off = 0; off < sizeof(flood);) {
        ssize_t n = write(sv[1], flood + off, sizeof(flood) - off);
        ck_assert_int_gt(n, 0);
        off += (size_t)n;
    }
    /* One service call handles at most its budget. */
    ck_assert(ivshmem_link_service(&lnk, 100));
    ck_assert_uint_eq(lnk.messages, 3 + 100);
    SERVICE_UNTIL(&lnk, lnk.messages == 3 + 5000);
    ck_assert_uint_eq(lnk.warnings, 5000);
    ck_assert_int_eq(rec.logs, IVSHMEM_LINK_WARNING_LIMIT + 1);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "further warnings"));
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_OPEN);
}
END_TEST

START_TEST(link_half_message_does_not_block)
{
    uint8_t half[4] = { 0 };

    fake_greet(0, 1 << 12);
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), 0);
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    ck_assert_int_eq(write(sv[1], half, sizeof(half)), 4);
    /* Returns (the main loop goes on) although the message is incomplete. */
    ck_assert(ivshmem_link_service(&lnk, IVSHMEM_LINK_SERVICE_BUDGET));
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_OPEN);
    /* EOF in the middle of a message is an error, not a clean close. */
    close(sv[1]);
    sv[1] = -1;
    SERVICE_UNTIL(&lnk, lnk.state == IVSHMEM_LINK_CLOSED);
    ck_assert_int_eq(rec.errors, 1);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "truncated message"));
}
END_TEST

START_TEST(link_violation_right_after_shm_closes_but_handshake_succeeds)
{
    /* What is already in the socket after the shm is handled as the main loop would. */
    fake_greet(0, 1 << 12);
    send_with(sv[1], 3, 'e', 0);
    send_with(sv[1], -1, 'm', 4096);
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), 0);
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_CLOSED);
    ck_assert(lnk.closed_by_violation);
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    ck_assert_int_eq(rec.added, 1);
    ck_assert_int_eq(rec.errors, 1);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "second shared memory message; no longer reading"));
    ck_assert(!ivshmem_link_service(&lnk, 1));
    ck_assert_int_eq(ivshmem_peers_ring(&lnk.peers, 3, 0), 0);
}
END_TEST

START_TEST(link_eof_right_after_shm_is_a_warning)
{
    fake_greet(0, 1 << 12);
    close(sv[1]);
    sv[1] = -1;
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), 0);
    ck_assert_int_eq(lnk.state, IVSHMEM_LINK_CLOSED);
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    ck_assert_int_eq(rec.errors, 0);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "closed the connection; peers known now stay reachable"));
}
END_TEST

START_TEST(link_own_id_gone_closes)
{
    fake_greet(4, 1 << 12);
    ck_assert_int_eq(handshake(1, TEST_TIMEOUT_MS), 0);
    ivshmem_link_start(&lnk, &rec_ops, &rec);
    send_with(sv[1], 4, 'e', 0);
    send_plain(sv[1], 4);
    SERVICE_UNTIL(&lnk, lnk.state == IVSHMEM_LINK_CLOSED);
    ck_assert_int_eq(rec.own_added, 1);
    ck_assert_ptr_nonnull(strstr(rec.last_log, "our own ID 4 left"));
}
END_TEST

START_TEST(link_rejects_bad_vector_count)
{
    ck_assert_int_eq(ivshmem_link_init(&lnk, sv[0], 0), -EINVAL);
    ivshmem_link_destroy(&lnk);
    ck_assert_int_eq(ivshmem_link_init(&lnk, sv[0], IVSHMEM_MAX_VECTORS + 1), -EINVAL);
    ck_assert_ptr_nonnull(strstr(lnk.error, "1..2048"));
}
END_TEST

/* ---- link against our ivshmem-server ---------------------------------------------------- */

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return s;
}

START_TEST(link_with_our_server)
{
    struct test_dir dir;
    struct test_server server;
    struct ivshmem_server_config cfg;
    struct ivshmem_link a, b;
    struct recorder ra = { .refuse_peer = -1 }, rb = { .refuse_peer = -1 };
    int before = open_fd_count();

    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = 1 << 20;
    cfg.n_vectors = 2;
    cfg.unlink_shm = true;
    test_server_start(&server, &cfg);

    int sa = connect_unix(dir.sock);
    ck_assert_int_eq(ivshmem_link_init(&a, sa, 2), 0);
    ck_assert_int_eq(ivshmem_link_handshake(&a, TEST_TIMEOUT_MS), 0);
    ivshmem_link_start(&a, &rec_ops, &ra);
    SERVICE_UNTIL(&a, ra.own_added == 2);
    ck_assert_int_eq(a.own_id, 0);
    ck_assert_uint_eq(a.shm_size, 1 << 20);

    int sb = connect_unix(dir.sock);
    ck_assert_int_eq(ivshmem_link_init(&b, sb, 1), 0); /* fewer vectors than the server */
    ck_assert_int_eq(ivshmem_link_handshake(&b, TEST_TIMEOUT_MS), 0);
    ivshmem_link_start(&b, &rec_ops, &rb);
    SERVICE_UNTIL(&b, rb.own_added == 1 && rb.added == 1);
    ck_assert_int_eq(b.own_id, 1);
    SERVICE_UNTIL(&a, ra.added == 2);

    /* B rings A's vector 0: A's own eventfd for vector 0 fires. */
    ck_assert_int_eq(ivshmem_peers_ring(&b.peers, 0, 0), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(ivshmem_peers_fd(&a.peers, 0, 0)), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(ivshmem_peers_fd(&a.peers, 0, 1)), 0);
    /* A rings B's vector 1, which B does not have (B has 1 vector): B closed it. */
    ck_assert_int_eq(ivshmem_peers_ring(&b.peers, 0, 1), -ENOENT);
    ck_assert_int_eq(ivshmem_peers_ring(&a.peers, 1, 0), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(ivshmem_peers_fd(&b.peers, 1, 0)), 1);
    /* Both saw the same memory: same file. */
    int ma = ivshmem_link_take_shm(&a), mb = ivshmem_link_take_shm(&b);
    char *pa = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, ma, 0);
    char *pb = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mb, 0);
    ck_assert(pa != MAP_FAILED && pb != MAP_FAILED);
    pa[12345] = 0x42;
    ck_assert_int_eq(pb[12345], 0x42);
    munmap(pa, 1 << 20);
    munmap(pb, 1 << 20);
    close(ma);
    close(mb);

    /* B leaves: A is told and forgets B. */
    ivshmem_link_destroy(&b);
    close(sb);
    SERVICE_UNTIL(&a, ra.removed == 2);
    ck_assert_int_eq(ivshmem_peers_ring(&a.peers, 1, 0), -ENOENT);

    /* The server stops: A carries on. */
    test_server_stop(&server);
    SERVICE_UNTIL(&a, a.state == IVSHMEM_LINK_CLOSED);
    ck_assert_int_eq(ra.errors, 0);
    ck_assert_int_eq(ivshmem_peers_ring(&a.peers, 0, 1), 0);
    ivshmem_link_destroy(&a);
    close(sa);
    test_dir_remove(&dir);
    ck_assert_int_eq(open_fd_count(), before);
}
END_TEST

/* ---- roles and sizes -------------------------------------------------------------------- */

START_TEST(roles)
{
    enum ivshmem_role role = IVSHMEM_ROLE_PEER;
    char err[200] = "";

    ck_assert_int_eq(ivshmem_role_resolve(IVSHMEM_MASTER_ON, 0, &role, err, sizeof(err)), 0);
    ck_assert_int_eq(role, IVSHMEM_ROLE_MASTER);
    ck_assert_int_eq(ivshmem_role_resolve(IVSHMEM_MASTER_OFF, 0, &role, err, sizeof(err)), 0);
    ck_assert_int_eq(role, IVSHMEM_ROLE_PEER);
    ck_assert_int_eq(ivshmem_role_resolve(IVSHMEM_MASTER_AUTO, 0, &role, err, sizeof(err)), 0);
    ck_assert_int_eq(role, IVSHMEM_ROLE_MASTER);
    ck_assert_int_eq(ivshmem_role_resolve(IVSHMEM_MASTER_AUTO, 2, &role, err, sizeof(err)), 0);
    ck_assert_int_eq(role, IVSHMEM_ROLE_PEER);
    ck_assert_int_eq(ivshmem_role_resolve(IVSHMEM_MASTER_ON, 2, &role, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "master must connect to the server before any peers"));
    ck_assert_ptr_nonnull(strstr(err, "ID 2"));
    ck_assert_str_eq(ivshmem_role_name(IVSHMEM_ROLE_MASTER), "master");
    ck_assert_str_eq(ivshmem_role_name(IVSHMEM_ROLE_PEER), "peer");
    ck_assert_str_eq(ivshmem_master_values[0], "off");
    ck_assert_str_eq(ivshmem_master_values[1], "on");
    ck_assert_str_eq(ivshmem_master_values[2], "auto");
}
END_TEST

START_TEST(sizes)
{
    char buf[32];

    ck_assert(ivshmem_size_is_pow2(1));
    ck_assert(ivshmem_size_is_pow2(1ull << 40));
    ck_assert(!ivshmem_size_is_pow2(0));
    ck_assert(!ivshmem_size_is_pow2(3 << 20));
    ck_assert_str_eq(ivshmem_size_text(1 << 20, buf), "1M");
    ck_assert_str_eq(ivshmem_size_text(3 << 20, buf), "3M");
    ck_assert_str_eq(ivshmem_size_text(1536 << 10, buf), "1536K");
    ck_assert_str_eq(ivshmem_size_text(1000, buf), "1000");
    ck_assert_str_eq(ivshmem_size_text(0, buf), "0");
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("ivshmem-dev-common");
    TCase *regs = tcase_create("regs"), *peers = tcase_create("peers");
    TCase *fake = tcase_create("link-fake-server"), *real = tcase_create("link-our-server");
    TCase *misc = tcase_create("roles-sizes");

    tcase_add_test(regs, regs_single_qtest_assertions);
    tcase_add_test(regs, regs_ivposition_reset_and_odd_accesses);
    tcase_add_test(regs, regs_random_accesses_never_misbehave);
    tcase_add_test(peers, peers_set_ring_remove);
    tcase_add_test(peers, peers_many_ids_and_vectors);
    tcase_add_test(peers, peers_ring_races_with_removal);
    tcase_add_checked_fixture(fake, fake_setup, fake_teardown);
    tcase_add_test(fake, link_handshake_and_runtime_peers);
    tcase_add_test(fake, link_times_out_without_shm);
    tcase_add_test(fake, link_eof_during_handshake);
    tcase_add_test(fake, link_times_out_while_flooded_before_shm);
    tcase_add_test(fake, link_rejects_wrong_version);
    tcase_add_test(fake, link_rejects_bad_id);
    tcase_add_test(fake, link_rejects_shm_without_fd);
    tcase_add_test(fake, link_rejects_shm_pipe);
    tcase_add_test(fake, link_rejects_non_pow2_shm);
    tcase_add_test(fake, link_rejects_empty_shm);
    tcase_add_test(fake, link_rejects_garbage_value);
    tcase_add_test(fake, link_rejects_two_fds);
    tcase_add_test(fake, link_hostile_runtime_messages);
    tcase_add_test(fake, link_flood_is_bounded);
    tcase_add_test(fake, link_half_message_does_not_block);
    tcase_add_test(fake, link_own_id_gone_closes);
    tcase_add_test(fake, link_violation_right_after_shm_closes_but_handshake_succeeds);
    tcase_add_test(fake, link_eof_right_after_shm_is_a_warning);
    tcase_add_test(fake, link_rejects_bad_vector_count);
    tcase_set_timeout(real, 60);
    tcase_add_test(real, link_with_our_server);
    tcase_add_test(misc, roles);
    tcase_add_test(misc, sizes);
    suite_add_tcase(s, regs);
    suite_add_tcase(s, peers);
    suite_add_tcase(s, fake);
    suite_add_tcase(s, real);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(common_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
