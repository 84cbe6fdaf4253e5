/* One poll() round over the server socket, our eventfds and an optional extra fd. */
#include "pump.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

int64_t client_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int client_pump(struct ivshmem_client *c, int extra_fd, int timeout_ms, bool *extra_ready,
                bool announce)
{
    struct pollfd pfds[2 + IVSHMEM_CLIENT_MAX_VECTORS];
    unsigned n_own = c->n_own;
    int n;

    *extra_ready = false;
    pfds[0] = (struct pollfd){ .fd = c->sock, .events = POLLIN };
    pfds[1] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
    for (unsigned v = 0; v < n_own; v++)
        pfds[2 + v] = (struct pollfd){ .fd = c->own_fds[v], .events = POLLIN };
    n = poll(pfds, 2 + n_own, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (unsigned v = 0; v < n_own; v++) {
        if (!(pfds[2 + v].revents & POLLIN))
            continue;
        int64_t rings = ivshmem_client_collect(c, v);
        if (rings > 0 && announce) {
            printf("notification on vector %u (%lld)\n", v, (long long)rings);
            fflush(stdout);
        }
    }
    if (extra_fd >= 0 && (pfds[1].revents & (POLLIN | POLLHUP)))
        *extra_ready = true;
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR))
        return ivshmem_client_handle_server(c);
    return 0;
}
