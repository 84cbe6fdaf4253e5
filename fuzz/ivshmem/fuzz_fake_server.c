// SPDX-License-Identifier: MIT
/*
 * The fake server's side of the ivshmem fuzz targets: the fds it can attach to a message
 * and the sendmsg that carries them. Shared by fuzz_server_messages.c (the protocol
 * library) and fuzz_doorbell_link.c (the doorbell device's link).
 */
#define _GNU_SOURCE
#include "fuzz_fake_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int lowest_free_fd(void)
{
    int fd = dup(0);
    if (fd >= 0)
        close(fd);
    return fd;
}

int make_fds(unsigned kind, int fds[2])
{
    int pfd[2];

    fds[0] = fds[1] = -1;
    switch (kind) {
    case 0:
        fds[0] = eventfd(0, EFD_CLOEXEC);
        return fds[0] < 0 ? -1 : 1;
    case 1:
        fds[0] = memfd_create("fuzz-shm", MFD_CLOEXEC);
        if (fds[0] >= 0 && ftruncate(fds[0], 4096) < 0)
            return -1;
        return fds[0] < 0 ? -1 : 1;
    case 2:
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return -1;
        close(pfd[1]);
        fds[0] = pfd[0];
        return 1;
    default:
        fds[0] = eventfd(0, EFD_CLOEXEC);
        fds[1] = eventfd(0, EFD_CLOEXEC);
        return fds[0] < 0 || fds[1] < 0 ? -1 : 2;
    }
}

void send_chunk(int sock, const uint8_t *bytes, size_t len, const int *fds, int nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (nfds > 0) {
        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE)
        abort();
}
