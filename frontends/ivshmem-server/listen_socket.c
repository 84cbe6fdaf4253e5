/*
 * The listening UNIX socket. A socket file left behind by a dead server is replaced; one a
 * live server listens on is never taken over, and a path that is not a socket is never
 * touched.
 *
 * Our servers hold an flock() on "<socket>.lock" while they run: a second server learns that
 * the first is alive without connecting to it (a probe connection would be accepted as a
 * client, costing an ID and a connect/disconnect notice to every peer), and two servers
 * starting at once cannot both decide the socket is stale. A socket without a held lock is
 * probed with connect(), which also recognises live servers that are not ours (QEMU's).
 */
#include "server-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 128

static int make_address(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        server_error("socket path %s is too long (max %zu bytes)", path,
                     sizeof(sun->sun_path) - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sun->sun_path, path);
    return 0;
}

/*
 * Is anybody listening on the socket file at path? A refused connection means the file
 * outlived its server. A non-blocking probe, so a live server with a full backlog (EAGAIN)
 * counts as live instead of hanging us.
 */
static int probe_socket_file(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc = 0;

    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int replace_stale_socket(const struct sockaddr_un *sun)
{
    const char *path = sun->sun_path;
    struct stat st;
    int rc;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        server_error("%s exists and is not a socket; not touching it", path);
        return -EEXIST;
    }
    rc = probe_socket_file(sun);
    if (rc == -ECONNREFUSED) {
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = -errno;
            server_error("cannot remove stale socket %s: %s", path, strerror(-rc));
            return rc;
        }
        return 1;
    }
    if (rc == 0 || rc == -EAGAIN || rc == -EINPROGRESS) {
        server_error("%s is in use by a running server; not replacing it", path);
        return -EADDRINUSE;
    }
    server_error("cannot tell whether socket %s is in use: %s", path, strerror(-rc));
    return rc;
}

static int apply_socket_permissions(const struct ivshmem_server *s, const char *path)
{
    const struct ivshmem_server_config *cfg = &s->cfg;
    int err;

    if (cfg->socket_mode_set && chmod(path, cfg->socket_mode) < 0) {
        err = errno;
        server_error("cannot set mode %o on socket %s: %s", (unsigned)cfg->socket_mode, path,
                     strerror(err));
        return -err;
    }
    if (cfg->socket_group_set && chown(path, (uid_t)-1, cfg->socket_group) < 0) {
        err = errno;
        server_error("cannot set group %u on socket %s: %s", (unsigned)cfg->socket_group,
                     path, strerror(err));
        return -err;
    }
    return 0;
}

static int take_lock(struct ivshmem_server *s)
{
    const char *path = s->cfg.socket_path;
    size_t len = strlen(path) + sizeof(".lock");
    int fd, err;

    s->lock_path = malloc(len);
    if (!s->lock_path)
        return -ENOMEM;
    snprintf(s->lock_path, len, "%s.lock", path);
    fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err = errno;
        server_error("cannot open lock file %s: %s", s->lock_path, strerror(err));
        goto fail;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        err = errno;
        close(fd);
        if (err == EWOULDBLOCK)
            server_error("%s is in use by a running server (it holds %s); not replacing it",
                         path, s->lock_path);
        else
            server_error("cannot lock %s: %s", s->lock_path, strerror(err));
        err = err == EWOULDBLOCK ? EADDRINUSE : err;
        goto fail;
    }
    s->lock_fd = fd;
    return 0;

fail:
    free(s->lock_path);
    s->lock_path = NULL;
    return -err;
}

static void release_lock(struct ivshmem_server *s)
{
    if (s->lock_fd >= 0) {
        unlink(s->lock_path);
        close(s->lock_fd);
        s->lock_fd = -1;
    }
    free(s->lock_path);
    s->lock_path = NULL;
}

int server_listen(struct ivshmem_server *s)
{
    struct sockaddr_un sun;
    int fd, rc;

    rc = make_address(s->cfg.socket_path, &sun);
    if (rc < 0)
        return rc;
    rc = take_lock(s);
    if (rc < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        server_error("cannot create socket: %s", strerror(-rc));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        if (errno != EADDRINUSE) {
            rc = -errno;
            server_error("cannot bind socket %s: %s", sun.sun_path, strerror(-rc));
            goto fail;
        }
        rc = replace_stale_socket(&sun);
        if (rc < 0)
            goto fail;
        server_debug(s, "replacing stale socket %s", sun.sun_path);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            rc = -errno;
            server_error("cannot bind socket %s: %s", sun.sun_path, strerror(-rc));
            goto fail;
        }
    }
    /* Not listening yet: nobody can connect before the permissions are right. */
    rc = apply_socket_permissions(s, sun.sun_path);
    if (rc < 0)
        goto fail_unlink;
    if (lstat(sun.sun_path, &s->listen_stat) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        rc = -errno;
        server_error("cannot listen on socket %s: %s", sun.sun_path, strerror(-rc));
        goto fail_unlink;
    }
    s->listen_fd = fd;
    return 0;

fail_unlink:
    unlink(sun.sun_path);
fail:
    if (fd >= 0)
        close(fd);
    release_lock(s);
    return rc;
}

void server_unlink_socket(struct ivshmem_server *s)
{
    struct stat st;

    /* If another server has since replaced our socket file, it is not ours to remove. */
    if (lstat(s->cfg.socket_path, &st) == 0 && st.st_ino == s->listen_stat.st_ino &&
        st.st_dev == s->listen_stat.st_dev)
        unlink(s->cfg.socket_path);
    release_lock(s);
}
