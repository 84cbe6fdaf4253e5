/* Sending and receiving ivshmem protocol messages: 8 bytes little-endian, maybe one fd. */
#include "ivshmem-proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for more fds than a message may carry, so that extras are seen and closed. */
#define RECV_FD_ROOM 8

static void encode_le64(uint8_t out[IVSHMEM_MSG_SIZE], int64_t value)
{
    uint64_t v = (uint64_t)value;
    for (int i = 0; i < IVSHMEM_MSG_SIZE; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static int64_t decode_le64(const uint8_t in[IVSHMEM_MSG_SIZE])
{
    uint64_t v = 0;
    for (int i = 0; i < IVSHMEM_MSG_SIZE; i++)
        v |= (uint64_t)in[i] << (8 * i);
    return (int64_t)v;
}

int ivshmem_msg_send(int sock, int64_t value, int fd)
{
    uint8_t bytes[IVSHMEM_MSG_SIZE];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = bytes, .iov_len = sizeof(bytes) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    encode_le64(bytes, value);
    if (fd >= 0) {
        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n == IVSHMEM_MSG_SIZE ? 0 : -EIO;
}

void ivshmem_msg_reader_init(struct ivshmem_msg_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

void ivshmem_msg_reader_reset(struct ivshmem_msg_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    ivshmem_msg_reader_init(r);
}

static enum ivshmem_read_result reader_fail(struct ivshmem_msg_reader *r, const char *what)
{
    snprintf(r->error, sizeof(r->error), "%s", what);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    return IVSHMEM_READ_ERROR;
}

/*
 * Collect the fds of one recvmsg(). Returns false (and closes them all) when they cannot
 * belong to a single message: several fds, a second fd for the same message, truncation.
 */
static bool take_fds(struct ivshmem_msg_reader *r, struct msghdr *mh, const char **why)
{
    bool ok = true;

    *why = NULL;
    if (mh->msg_flags & MSG_CTRUNC) {
        ok = false;
        *why = "message carried more file descriptors than fit (control data truncated)";
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (ok && r->fd < 0) {
                r->fd = fd;
                continue;
            }
            close(fd);
            if (ok)
                *why = "message carried more than one file descriptor";
            ok = false;
        }
    }
    return ok;
}

enum ivshmem_read_result ivshmem_msg_read(struct ivshmem_msg_reader *r, int sock,
                                          struct ivshmem_msg *msg)
{
    while (r->have < IVSHMEM_MSG_SIZE) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(RECV_FD_ROOM * sizeof(int))];
        } control;
        /* Never read past this message, so an fd can't be attributed to the wrong one. */
        struct iovec iov = { .iov_base = r->buf + r->have,
                             .iov_len = IVSHMEM_MSG_SIZE - r->have };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
        const char *why;
        ssize_t n;

        do {
            n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return IVSHMEM_READ_AGAIN;
            char what[IVSHMEM_ERROR_LEN];
            snprintf(what, sizeof(what), "receive failed: %s", strerror(errno));
            return reader_fail(r, what);
        }
        if (n == 0) {
            if (r->have == 0 && r->fd < 0)
                return IVSHMEM_READ_EOF;
            char what[IVSHMEM_ERROR_LEN];
            snprintf(what, sizeof(what),
                     "truncated message: connection closed after %zu of 8 bytes", r->have);
            return reader_fail(r, what);
        }
        if (!take_fds(r, &mh, &why))
            return reader_fail(r, why);
        r->have += (size_t)n;
    }
    msg->value = decode_le64(r->buf);
    msg->fd = r->fd;
    r->fd = -1;
    r->have = 0;
    return IVSHMEM_READ_MESSAGE;
}
