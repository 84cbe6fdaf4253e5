/* Ringing and draining the eventfds the ivshmem server hands out. */
#include "ivshmem-proto.h"

#include <errno.h>
#include <unistd.h>

int ivshmem_eventfd_ring(int fd)
{
    /* The spec: write the 8-byte integer 1 in native byte order. */
    uint64_t one = 1;
    ssize_t n;

    do {
        n = write(fd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == sizeof(one) ? 0 : -EIO;
}

int64_t ivshmem_eventfd_drain(int fd)
{
    uint64_t total = 0, count;
    ssize_t n;

    for (;;) {
        n = read(fd, &count, sizeof(count));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return -errno;
        if (n != sizeof(count))
            return -EIO;
        total += count;
        /* An eventfd read returns the whole counter at once; one read is enough. */
        break;
    }
    return total > INT64_MAX ? INT64_MAX : (int64_t)total;
}
