/* SPDX-License-Identifier: MIT */
/* Chardevs: writing, the read watch on the main loop, and the null, file, stdio and fd backends. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chardev/chardev_internal.h"
#include "object/propval.h"
#include "util/error.h"

#define READ_CHUNK 4096

chardev *chardev_alloc(const char *id, chardev_kind kind, int in_fd, int out_fd, bool owns)
{
    chardev *chr = g_new0(chardev, 1);
    chr->id = g_strdup(id);
    chr->kind = kind;
    chr->in_fd = in_fd;
    chr->out_fd = out_fd;
    chr->owns_fds = owns;
    chr->listen_fd = -1;
    pthread_mutex_init(&chr->lock, NULL);
    return chr;
}

chardev *chardev_new_null(const char *id)
{
    return chardev_alloc(id, CHARDEV_NULL, -1, -1, false);
}

chardev *chardev_new_fd(const char *id, int in_fd, int out_fd)
{
    return chardev_alloc(id, CHARDEV_FD, in_fd, out_fd, false);
}

chardev *chardev_new_stdio(const char *id, GError **err)
{
    (void)err;
    chardev *chr = chardev_alloc(id, CHARDEV_STDIO, STDIN_FILENO, STDOUT_FILENO, false);
    chr->tty_signals = true;
    return chr;
}

void chardev_stdio_set_signal(chardev *chr, bool on)
{
    if (chr->kind == CHARDEV_STDIO)
        chr->tty_signals = on;
}

/* A terminal on stdin is raw exactly while the guest reads it (reading: the read watch is wanted). */
static void stdio_tty_update(chardev *chr, bool reading)
{
    if (chr->kind != CHARDEV_STDIO)
        return;
    if (reading && !chr->tty_raw) {
        chr->tty_raw = chardev_tty_raw(chr->in_fd, chr->tty_signals) > 0;
    } else if (!reading && chr->tty_raw) {
        chardev_tty_restore();
        chr->tty_raw = false;
    }
}

chardev *chardev_new_file(const char *id, const char *path, bool append, GError **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "chardev '%s': cannot open %s: %s", id, path,
                    g_strerror(errno));
        return NULL;
    }
    chardev *chr = chardev_alloc(id, CHARDEV_FILE, -1, fd, true);
    chr->path = g_strdup(path);
    return chr;
}

static prop_value *item_value(md_item *it, const char *key)
{
    return prop_values_find(it->values, key);
}

chardev *chardev_open_item(md_item *it, GError **err)
{
    const char *id = it->id ? it->id : it->type;
    GError *e = NULL;
    chardev *chr = NULL;

    if (strcmp(it->type, "null") == 0) {
        chr = chardev_new_null(id);
    } else if (strcmp(it->type, "stdio") == 0) {
        chr = chardev_new_stdio(id, &e);
        chardev_stdio_set_signal(chr, item_value(it, "signal")->b);
    } else if (strcmp(it->type, "file") == 0) {
        chr = chardev_new_file(id, item_value(it, "path")->s, item_value(it, "append")->b, &e);
    } else if (strcmp(it->type, "socket") == 0) {
        if (item_value(it, "reconnect")->i > 0)
            g_set_error(&e, TS_ERROR, TS_ERROR_INVALID,
                        "chardev '%s': property 'reconnect': reconnecting is not supported yet "
                        "(drop reconnect=)", id);
        else
            chr = chardev_new_socket(id, item_value(it, "path")->s, item_value(it, "server")->b,
                                     item_value(it, "wait")->b, &e);
    } else {
        g_set_error(&e, TS_ERROR, TS_ERROR_INVALID, "chardev '%s': unknown backend '%s'", id,
                    it->type);
    }
    if (!chr) {
        g_autofree char *where = md_origin_describe(&it->origin);
        g_set_error(err, TS_ERROR, e->code, "%s: %s", where, e->message);
        g_error_free(e);
    }
    return chr;
}

void chardev_free(chardev *chr)
{
    if (!chr)
        return;
    chr->read_fn = NULL;
    chardev_update_read_watch(chr);
    if (chr->kind == CHARDEV_SOCKET)
        chardev_socket_close(chr);
    if (chr->owns_fds) {
        if (chr->in_fd >= 0)
            close(chr->in_fd);
        if (chr->out_fd >= 0 && chr->out_fd != chr->in_fd)
            close(chr->out_fd);
    }
    pthread_mutex_destroy(&chr->lock);
    g_free(chr->path);
    g_free(chr->id);
    g_free(chr);
}

const char *chardev_id(const chardev *chr)
{
    return chr->id;
}

/* Waits until fd takes more output (a non-blocking fd someone gave us, e.g. a shared stdout). */
static void wait_writable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

int64_t chardev_write(chardev *chr, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t done = 0;
    int ret = 0;

    pthread_mutex_lock(&chr->lock);
    int fd = chr->out_fd;
    bool sock = chr->kind == CHARDEV_SOCKET;
    while (fd >= 0 && done < len) {
        /* send(MSG_NOSIGNAL): a vanished peer is -EPIPE, not a SIGPIPE killing the VMM. */
        ssize_t n = sock ? send(fd, p + done, len - done, MSG_NOSIGNAL)
                         : write(fd, p + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_writable(fd);
        } else {
            ret = n < 0 ? -errno : -EIO;
            break;
        }
    }
    pthread_mutex_unlock(&chr->lock);
    return ret < 0 ? ret : (int64_t)len;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    chardev *chr = opaque;
    uint8_t buf[READ_CHUNK];
    GSource *self = chr->read_src;
    (void)cond;

    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return G_SOURCE_CONTINUE;
    if (n > 0) {
        chr->read_fn(chr->read_opaque, buf, (size_t)n);
        return chr->read_src == self ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
    }
    /* End of input or an error: tell the user, then stop watching (sockets may reconnect). */
    ts_chardev_read_fn fn = chr->read_fn;
    void *fn_opaque = chr->read_opaque;
    if (chr->kind == CHARDEV_SOCKET) {
        chardev_socket_disconnected(chr);
    } else {
        chr->in_eof = true;
        chardev_update_read_watch(chr);
    }
    fn(fn_opaque, NULL, 0);
    return G_SOURCE_REMOVE;
}

void chardev_update_read_watch(chardev *chr)
{
    bool want = chr->read_fn && chr->in_fd >= 0 && !chr->in_eof;
    stdio_tty_update(chr, want);
    if (!want && chr->read_src) {
        g_source_destroy(chr->read_src);
        g_source_unref(chr->read_src);
        chr->read_src = NULL;
    } else if (want && !chr->read_src) {
        chr->read_src = g_unix_fd_source_new(chr->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
        g_source_set_callback(chr->read_src, G_SOURCE_FUNC(on_readable), chr, NULL);
        g_source_attach(chr->read_src, NULL);
    }
}

int chardev_set_read_handler(chardev *chr, ts_chardev_read_fn fn, void *opaque)
{
    if (fn && (chr->kind == CHARDEV_FILE || chr->kind == CHARDEV_NULL))
        return chr->kind == CHARDEV_FILE ? -EINVAL : 0; /* null: a handler that never runs */
    chr->read_fn = fn;
    chr->read_opaque = opaque;
    chardev_update_read_watch(chr);
    return 0;
}

int chardev_socket_fd(chardev *chr)
{
    if (chr->kind != CHARDEV_SOCKET)
        return -ENOTSOCK;
    return chr->in_fd >= 0 ? chr->in_fd : -ENOTCONN;
}

bool chardev_connected(chardev *chr)
{
    return chr->kind == CHARDEV_SOCKET && chr->in_fd >= 0;
}
