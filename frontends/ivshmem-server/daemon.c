/* Daemonizing: fork, setsid, pid file written before the parent reports success. */
#define _GNU_SOURCE /* pipe2 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write via a temporary file and rename(), so nobody ever reads a half-written pid. */
static int write_pidfile(const char *pidfile)
{
    size_t len = strlen(pidfile) + sizeof(".tmp");
    char *tmp = malloc(len);
    FILE *f;
    int err = 0;

    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, len, "%s.tmp", pidfile);
    f = fopen(tmp, "we");
    if (!f) {
        err = -errno;
        goto out;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, pidfile) != 0) {
        err = -errno;
        unlink(tmp);
    }
out:
    if (err)
        fprintf(stderr, "ivshmem-server: cannot write pid file %s: %s\n", pidfile,
                strerror(-err));
    free(tmp);
    return err;
}

static void detach_stdio(void)
{
    int null = open("/dev/null", O_RDWR);

    if (null < 0)
        return;
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
        close(null);
}

int daemonize_with_pidfile(const char *pidfile)
{
    int report[2], rc;
    char status = 1;
    pid_t pid;

    if (pipe2(report, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        close(report[0]);
        close(report[1]);
        return rc;
    }
    if (pid > 0) {
        close(report[1]);
        if (read(report[0], &status, 1) != 1)
            status = 1;
        if (status != 0)
            waitpid(pid, NULL, 0);
        _exit(status == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
    }
    close(report[0]);
    if (setsid() < 0 || write_pidfile(pidfile) < 0) {
        /* the parent reads EOF and exits 1; our message already went to its stderr */
        _exit(EXIT_FAILURE);
    }
    status = 0;
    if (write(report[1], &status, 1) != 1)
        _exit(EXIT_FAILURE);
    close(report[1]);
    detach_stdio();
    return 0;
}
