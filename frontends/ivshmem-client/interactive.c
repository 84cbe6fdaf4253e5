/*
 * Interactive mode, like QEMU's client: commands on stdin, notifications printed as they
 * come, and a lost or absent server retried every second.
 */
#include "interactive.h"

#include "client.h"
#include "pump.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_MS 1000

struct line_buffer {
    char buf[1024];
    size_t len;
};

/* Read what stdin has and run every complete line. 1 = stop (EOF or quit). */
static int handle_stdin(struct ivshmem_client *c, struct line_buffer *lb)
{
    ssize_t n = read(STDIN_FILENO, lb->buf + lb->len, sizeof(lb->buf) - 1 - lb->len);
    char *nl;

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : 1;
    if (n == 0)
        return 1;
    lb->len += (size_t)n;
    lb->buf[lb->len] = '\0';
    while ((nl = strchr(lb->buf, '\n')) != NULL) {
        *nl = '\0';
        if (client_execute_command(c, lb->buf))
            return 1;
        lb->len -= (size_t)(nl + 1 - lb->buf);
        memmove(lb->buf, nl + 1, lb->len + 1);
        printf("cmd> ");
        fflush(stdout);
    }
    if (lb->len == sizeof(lb->buf) - 1) {
        printf("line too long; ignored\n");
        lb->len = 0;
    }
    return 0;
}

static bool try_connect(struct ivshmem_client *c, const struct client_options *o)
{
    int rc = ivshmem_client_connect(c, o->socket_path);

    if (rc == 0)
        return true;
    fprintf(stderr, "ivshmem-client: cannot connect to %s: %s; retrying in 1 second\n",
            o->socket_path, strerror(-rc));
    return false;
}

int client_run_interactive(const struct client_options *o)
{
    struct ivshmem_client c;
    struct line_buffer lb = { .len = 0 };

    ivshmem_client_init(&c, o->vectors, o->verbose);
    printf("cmd> ");
    fflush(stdout);
    for (;;) {
        bool stdin_ready = false;
        int rc = 0;

        if (c.sock < 0 && !try_connect(&c, o)) {
            struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
            if (poll(&in, 1, RETRY_MS) > 0)
                stdin_ready = true;
        } else {
            /* Commands wait for the handshake, so piped scripts find the peers known. */
            int in = ivshmem_client_introduced(&c) ? STDIN_FILENO : -1;
            rc = client_pump(&c, in, -1, &stdin_ready, true);
        }
        if (rc < 0) {
            fprintf(stderr, "ivshmem-client: lost the server (%s); reconnecting\n",
                    rc == -EPIPE ? "it closed the connection" : strerror(-rc));
            ivshmem_client_reset(&c);
        }
        if (stdin_ready && handle_stdin(&c, &lb))
            break;
    }
    ivshmem_client_reset(&c);
    ivshmem_session_destroy(&c.session);
    return 0;
}
