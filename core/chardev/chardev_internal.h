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
/* chardev_socket.c: the connection ended (EOF, error): drop it, listen again (server). */
void chardev_socket_disconnected(chardev *chr);
/* chardev_socket.c: closes the listening socket and its watch. */
void chardev_socket_close(chardev *chr);

#endif
