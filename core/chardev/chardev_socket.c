/* SPDX-License-Identifier: MIT */
/*
 * The socket backend: a Unix stream socket as client or server. A server keeps one
 * client; while it has none, the listening socket is watched on the main loop and the
 * next client is accepted there (pending clients wait in the listen backlog).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev/chardev_internal.h"
#include "util/error.h"

static int fill_addr(const char *id, const char *path, struct sockaddr_un *sa, GError **err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "chardev '%s': socket path %s is longer than %zu bytes: use a shorter path",
                    id, path, sizeof(sa->sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Caller holds no lock; the main thread is the only one that changes the connection. */
static void set_connection(chardev *chr, int fd)
{
    pthread_mutex_lock(&chr->lock);
    chr->in_fd = chr->out_fd = fd;
    pthread_mutex_unlock(&chr->lock);
    chardev_update_read_watch(chr);
}

static void watch_listener(chardev *chr);

static gboolean on_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    chardev *chr = opaque;
    (void)cond;

    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return G_SOURCE_CONTINUE; /* EAGAIN, ECONNABORTED, EMFILE: try again later */
    g_source_unref(chr->accept_src);
    chr->accept_src = NULL;
    set_connection(chr, conn);
    return G_SOURCE_REMOVE;
}

static void watch_listener(chardev *chr)
{
    if (chr->accept_src || chr->listen_fd < 0)
        return;
    chr->accept_src = g_unix_fd_source_new(chr->listen_fd, G_IO_IN);
    g_source_set_callback(chr->accept_src, G_SOURCE_FUNC(on_accept), chr, NULL);
    g_source_attach(chr->accept_src, NULL);
}

void chardev_socket_disconnected(chardev *chr)
{
    pthread_mutex_lock(&chr->lock);
    int fd = chr->in_fd;
    chr->in_fd = chr->out_fd = -1;
    pthread_mutex_unlock(&chr->lock);
    chardev_update_read_watch(chr);
    if (fd >= 0)
        close(fd);
    if (chr->server)
        watch_listener(chr);
}

void chardev_socket_close(chardev *chr)
{
    if (chr->accept_src) {
        g_source_destroy(chr->accept_src);
        g_source_unref(chr->accept_src);
        chr->accept_src = NULL;
    }
    if (chr->listen_fd >= 0) {
        close(chr->listen_fd);
        unlink(chr->path); /* our socket file: a later server would remove it anyway */
    }
    chr->listen_fd = -1;
}

static chardev *open_client(const char *id, const char *path, GError **err)
{
    struct sockaddr_un sa;
    if (fill_addr(id, path, &sa, err) < 0)
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "chardev '%s': socket: %s", id,
                    g_strerror(errno));
        return NULL;
    }
    int r;
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "chardev '%s': cannot connect to %s: %s%s",
                    id, path, g_strerror(e),
                    e == ENOENT || e == ECONNREFUSED ? " (is the server running?)" : "");
        close(fd);
        return NULL;
    }
    chardev *chr = chardev_alloc(id, CHARDEV_SOCKET, fd, fd, true);
    chr->path = g_strdup(path);
    return chr;
}

/*
 * A socket file left by a server that is gone would make bind fail; remove it, but
 * never anything that is not a socket, and not a socket someone still listens on.
 */
static int remove_stale_socket(const char *id, const char *path, const struct sockaddr_un *sa,
                               GError **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(err, TS_ERROR, TS_ERROR_EXISTS,
                    "chardev '%s': %s exists and is not a socket: choose another path", id, path);
        return -EEXIST;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
        close(probe);
        g_set_error(err, TS_ERROR, TS_ERROR_EXISTS,
                    "chardev '%s': another server listens on %s: stop it or choose another path",
                    id, path);
        return -EADDRINUSE;
    }
    if (probe >= 0)
        close(probe);
    unlink(path);
    return 0;
}

static chardev *open_server(const char *id, const char *path, bool wait, GError **err)
{
    struct sockaddr_un sa;
    if (fill_addr(id, path, &sa, err) < 0 || remove_stale_socket(id, path, &sa, err) < 0)
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "chardev '%s': cannot listen on %s: %s", id,
                    path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    chardev *chr = chardev_alloc(id, CHARDEV_SOCKET, -1, -1, true);
    chr->path = g_strdup(path);
    chr->server = true;
    chr->listen_fd = fd;
    if (!wait) {
        watch_listener(chr);
        return chr;
    }
    fprintf(stderr, "tessera: chardev '%s': waiting for a client on %s\n", id, path);
    int conn;
    do
        conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    while (conn < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (conn < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "chardev '%s': accept on %s: %s", id, path,
                    g_strerror(errno));
        chardev_free(chr);
        return NULL;
    }
    set_connection(chr, conn);
    return chr;
}

chardev *chardev_new_socket(const char *id, const char *path, bool server, bool wait,
                            GError **err)
{
    return server ? open_server(id, path, wait, err) : open_client(id, path, err);
}
