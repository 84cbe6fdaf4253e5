/* SPDX-License-Identifier: MIT */
/* What the files of core/chardev/ share: the chardev structure. */
#ifndef TESSERA_CORE_CHARDEV_INTERNAL_H
#define TESSERA_CORE_CHARDEV_INTERNAL_H

#include <pthread.h>

#include "chardev/chardev.h"

typedef enum chardev_kind {
    CHARDEV_NULL,
    CHARDEV_FILE,
    CHARDEV_STDIO,
    CHARDEV_FD,
    CHARDEV_SOCKET,
} chardev_kind;

struct ts_chardev {
    char *id;
    chardev_kind kind;
    /* Guards in_fd/out_fd against a concurrent (dis)connect while another thread writes. */
    pthread_mutex_t lock;
    int in_fd;      /* -1: no input (now) */
    int out_fd;     /* -1: output is dropped */
    bool owns_fds;  /* file, socket: close them in chardev_free */
    bool in_eof;    /* stdio/fd input reached its end: stop reading */
    bool tty_signals; /* stdio: Ctrl-C on a terminal stops tessera (signal=on) */
    bool tty_raw;     /* stdio: this chardev put the terminal in raw mode */

    ts_chardev_read_fn read_fn;
    void *read_opaque;
    GSource *read_src; /* watches in_fd while read_fn is set */

    /* socket */
    char *path;
    bool server;
    int listen_fd;
    GSource *accept_src; /* server without a client: accepts on the main loop */
};

/* chardev.c: allocates the common part. */
chardev *chardev_alloc(const char *id, chardev_kind kind, int in_fd, int out_fd, bool owns);
/* chardev.c: (re)creates or drops the read watch to match read_fn and in_fd. */
void chardev_update_read_watch(chardev *chr);
/* chardev_tty.c: puts terminal fd in raw mode (signals: keep Ctrl-C and friends as
 * signals). 1 when switched, 0 when fd is not a foreground terminal or already raw, -errno. */
int chardev_tty_raw(int fd, bool signals);
/* chardev_tty.c: gives the terminal its settings back (no-op when not switched). */
void chardev_tty_restore(void);
/* chardev_socket.c: the connection ended (EOF, error): drop it, listen again (server). */
void chardev_socket_disconnected(chardev *chr);
/* chardev_socket.c: closes the listening socket and its watch. */
void chardev_socket_close(chardev *chr);

#endif
