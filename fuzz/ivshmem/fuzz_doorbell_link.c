/*
 * libFuzzer target: a hostile ivshmem server talking to the ivshmem-doorbell device's end of
 * the connection (plugins/ivshmem/common: the link, the peer table and the checks the device
 * adds on top of the protocol library), with a hostile guest ringing doorbells in between.
 *
 * Input: the same records as fuzz_server_messages (byte 0 picks the device's vector count,
 * then a control byte and 8 message bytes per record; control bit 0 attaches an fd, bits 1..2
 * its kind, bits 3..5 split the message, bit 6 closes the stream). After each record the
 * device handles what arrived — the resumable handshake until it is done, then the main-loop
 * service with a small budget — and the record's bytes are also used as a doorbell value
 * rung through the peer table, as a trapped BAR0 write would.
 *
 * Invariants (abort on failure): the device is told about each (peer, vector) at most once
 * before it is removed, only eventfds are handed to it, every added vector is removed by the
 * end, and no fd leaks.
 */
#define _GNU_SOURCE
#include "ivshmem-dev.h"
#include "fuzz_fake_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { RECORD = 1 + IVSHMEM_MSG_SIZE };

/* Which (peer, vector) the device holds: one bit each, 65536 x 8 vectors (the max used). */
static uint8_t held[65536];
static int held_count;

static int fuzz_added(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    if (vector >= 8 || (held[id] & (1u << vector)) || !ivshmem_fd_is_eventfd(fd))
        abort();
    /* Refuse some, as a device whose MSI-X binding fails would: the link then drops them
     * without a removal call. */
    if (id % 97 == 13)
        return -ENOSPC;
    held[id] |= (uint8_t)(1u << vector);
    held_count++;
    return 0;
}

static void fuzz_removed(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    if (vector >= 8 || !(held[id] & (1u << vector)) || fcntl(fd, F_GETFD) < 0)
        abort();
    held[id] &= (uint8_t)~(1u << vector);
    held_count--;
}

static void fuzz_log(void *opaque, int level, const char *msg)
{
    if (strchr(msg, '\n'))
        abort();
}

static const struct ivshmem_link_ops fuzz_ops = {
    .vector_added = fuzz_added,
    .vector_removed = fuzz_removed,
    .log = fuzz_log,
};

/* What the device does when the socket may have data. false: nothing more will be read. */
static bool device_step(struct ivshmem_link *l, bool *started)
{
    if (!*started) {
        int r = ivshmem_link_handshake(l, 0);
        if (r == -ETIMEDOUT)
            return true; /* resumable: the rest has not arrived yet */
        if (r < 0)
            return false; /* realize would fail here */
        ivshmem_link_start(l, &fuzz_ops, NULL);
        *started = true;
        int shm = ivshmem_link_take_shm(l);
        if (shm < 0 || fcntl(shm, F_GETFD) < 0)
            abort();
        close(shm);
    }
    return ivshmem_link_service(l, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ivshmem_link l;
    int sv[2], before = lowest_free_fd();
    bool alive = true, started = false;

    if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    memset(held, 0, sizeof(held));
    held_count = 0;
    if (ivshmem_link_init(&l, sv[0], 1 + data[0] % 8) < 0)
        abort();
    data++, size--;

    while (size > 0) {
        uint8_t ctl = data[0];
        size_t len = size < RECORD ? size - 1 : IVSHMEM_MSG_SIZE;
        size_t split = (ctl >> 3) & 7;
        int fds[2] = { -1, -1 }, nfds = 0;

        if ((ctl & 1) && (nfds = make_fds((ctl >> 1) & 3, fds)) < 0)
            abort();
        if (len == 0) {
            /* only the control byte is left */
        } else if (split == 0 || split >= len) {
            send_chunk(sv[1], data + 1, len, fds, nfds);
        } else {
            send_chunk(sv[1], data + 1, split, fds, nfds);
            if (alive)
                alive = device_step(&l, &started);
            send_chunk(sv[1], data + 1 + split, len - split, NULL, 0);
        }
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        /* The guest rings whatever these bytes say, as a trapped doorbell write. */
        if (started && len >= 4) {
            uint32_t db = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                          (uint32_t)data[4] << 24;
            int r = ivshmem_peers_ring(&l.peers, ivshmem_doorbell_peer(db),
                                       ivshmem_doorbell_vector(db));
            if (r < 0 && r != -ENOENT && r != -EAGAIN)
                abort();
        }
        data += 1 + len, size -= 1 + len;
        if (ctl & 0x40 || size == 0)
            shutdown(sv[1], SHUT_WR);
        if (alive)
            alive = device_step(&l, &started);
    }
    close(sv[1]);
    while (alive)
        alive = device_step(&l, &started);
    ivshmem_link_destroy(&l);
    if (held_count != 0)
        abort();
    close(sv[0]);
    if (lowest_free_fd() != before)
        abort();
    return 0;
}
