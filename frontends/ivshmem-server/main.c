/* ivshmem-server: a thin main() around the server library. */
#include "daemon.h"
#include "options.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct ivshmem_server *running;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (running)
        ivshmem_server_request_stop(running);
}

/* Each client costs 1 + vectors fds: take all the fds the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void install_signal_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int main(int argc, char **argv)
{
    struct ivshmem_server_options o;
    struct ivshmem_server *s;
    bool pidfile_written = false;
    int rc;

    rc = ivshmem_server_parse_options(&o, argc, argv);
    if (rc != OPTIONS_RUN)
        return rc == OPTIONS_EXIT_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    raise_fd_limit();
    install_signal_handlers();
    /* Socket and memory first, so that errors reach the terminal before we detach. */
    rc = ivshmem_server_open(&s, &o.cfg);
    if (rc < 0)
        return EXIT_FAILURE;
    running = s;
    if (!o.foreground) {
        rc = daemonize_with_pidfile(o.pidfile);
        if (rc < 0) {
            fprintf(stderr, "ivshmem-server: cannot daemonize: %s\n", strerror(-rc));
            ivshmem_server_close(s);
            return EXIT_FAILURE;
        }
        pidfile_written = true;
    }
    rc = ivshmem_server_run(s);
    if (rc < 0)
        fprintf(stderr, "ivshmem-server: event loop failed: %s\n", strerror(-rc));
    running = NULL;
    ivshmem_server_close(s);
    if (pidfile_written)
        unlink(o.pidfile);
    return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
