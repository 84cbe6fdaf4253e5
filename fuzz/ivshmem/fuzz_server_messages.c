/*
 * libFuzzer target: a hostile ivshmem server. The input is turned into a real byte stream
 * with real fds on a socketpair, read back through ivshmem_msg_read() and fed into the client
 * state machine, so the reassembly of short reads, fd attribution and every protocol check
 * are exercised together.
 *
 * Input layout: byte 0 picks the client's vector count; then records of one control byte and
 * 8 message bytes. Control bits: 0 = attach an fd; 1..2 = its kind (eventfd, memfd, pipe,
 * two fds at once); 3..5 = split the 8 bytes into two writes at this offset; 6 = close the
 * stream here. A record cut short by the end of input is written as it is (truncation).
 *
 * Invariants checked (abort on failure): every fd handed out in an event is open and no fd
 * leaks across one input.
 */
#define _GNU_SOURCE /* memfd_create, pipe2 */
#include "ivshmem-proto.h"
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

/* Read and feed whatever is available; returns false once the session is finished. */
static bool drain(int sock, struct ivshmem_msg_reader *r, struct ivshmem_session *s)
{
    for (;;) {
        struct ivshmem_msg msg;
        struct ivshmem_event ev;

        switch (ivshmem_msg_read(r, sock, &msg)) {
        case IVSHMEM_READ_AGAIN:
            return true;
        case IVSHMEM_READ_EOF:
        case IVSHMEM_READ_ERROR:
            return false;
        case IVSHMEM_READ_MESSAGE:
            break;
        }
        if (ivshmem_session_feed(s, &msg, &ev) < 0)
            return false;
        if (ev.fd >= 0) {
            if (fcntl(ev.fd, F_GETFD) < 0)
                abort();
            close(ev.fd);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ivshmem_msg_reader reader;
    struct ivshmem_session session;
    int sv[2], before = lowest_free_fd();

    if (size < 1 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    ivshmem_msg_reader_init(&reader);
    ivshmem_session_init(&session, 1 + data[0] % 4);
    data++, size--;

    bool alive = true;
    while (alive && size > 0) {
        uint8_t ctl = data[0];
        size_t len = size < RECORD ? size - 1 : IVSHMEM_MSG_SIZE;
        size_t split = (ctl >> 3) & 7;
        int fds[2] = { -1, -1 }, nfds = 0;

        if ((ctl & 1) && (nfds = make_fds((ctl >> 1) & 3, fds)) < 0)
            abort();
        if (len == 0) {
            /* nothing left to send but the control byte */
        } else if (split == 0 || split >= len) {
            send_chunk(sv[1], data + 1, len, fds, nfds);
        } else {
            send_chunk(sv[1], data + 1, split, fds, nfds);
            alive = drain(sv[0], &reader, &session);
            send_chunk(sv[1], data + 1 + split, len - split, NULL, 0);
        }
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        data += 1 + len, size -= 1 + len;
        if (ctl & 0x40 || size == 0)
            shutdown(sv[1], SHUT_WR);
        if (alive)
            alive = drain(sv[0], &reader, &session);
    }
    close(sv[1]);
    if (alive)
        drain(sv[0], &reader, &session);
    ivshmem_msg_reader_reset(&reader);
    ivshmem_session_destroy(&session);
    close(sv[0]);
    if (lowest_free_fd() != before)
        abort();
    return 0;
}
