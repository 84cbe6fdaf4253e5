/* SPDX-License-Identifier: MIT */
/*
 * Character devices: the byte streams serial ports and devices talk through. Backends:
 *   socket  a Unix stream socket, as client (connects when opened) or server (listens;
 *           with wait=on opening blocks until a client connects, with wait=off clients
 *           are accepted on the main loop). One client at a time; after it leaves a
 *           server accepts the next one.
 *   file    output to a file (created, truncated unless append=on); never has input
 *   stdio   tessera's stdin and stdout; at most one per process
 *   null    drops output, never has input
 *   fd      (internal, for tests and tools) given input and output descriptors
 *
 * Threads: chardev_write from any thread; everything else on the main thread. Read
 * handlers and the socket's accept run on the default GMainContext, so somebody must
 * iterate it (the VM's main loop does).
 *
 * The SDK sees a chardev as ts_chardev (struct chardev is its definition) through
 * chardev_api_table, which looks ids up in the set made current with
 * chardev_set_make_current.
 */
#ifndef TESSERA_CORE_CHARDEV_H
#define TESSERA_CORE_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/machine.h"
#include "tessera/host.h"

typedef struct ts_chardev chardev;

/* Opens the chardev of a validated MD_CHARDEV item. *err: "ORIGIN: chardev 'ID': ...". */
chardev *chardev_open_item(md_item *it, GError **err);

/* Backends without a description item; id names them in messages. */
chardev *chardev_new_null(const char *id);
/* stdin/stdout. While the guest reads a terminal on stdin, the terminal is in raw mode
 * (chardev_tty.c); signal (default on) keeps Ctrl-C stopping tessera, off passes it on. */
chardev *chardev_new_stdio(const char *id, GError **err);
void chardev_stdio_set_signal(chardev *chr, bool on);
chardev *chardev_new_file(const char *id, const char *path, bool append, GError **err);
/* in_fd/out_fd (-1: none) are not owned: the caller closes them after chardev_free. */
chardev *chardev_new_fd(const char *id, int in_fd, int out_fd);
/* Unix socket; as server with wait, blocks until a client connects. */
chardev *chardev_new_socket(const char *id, const char *path, bool server, bool wait,
                            GError **err);

void chardev_free(chardev *chr);

const char *chardev_id(const chardev *chr);
/* Writes all of buf (see ts_chardev_api.write). Returns len or a negative errno. */
int64_t chardev_write(chardev *chr, const void *buf, size_t len);
/* Installs or removes (fn NULL) the read handler; -EINVAL for backends without input. */
int chardev_set_read_handler(chardev *chr, ts_chardev_read_fn fn, void *opaque);
/* Connected socket fd, -ENOTCONN, or -ENOTSOCK for other backends. */
int chardev_socket_fd(chardev *chr);
/* True for a socket chardev with a client (server) or a live connection (client). */
bool chardev_connected(chardev *chr);

/*
 * The chardevs of a description, by id. chardev_set_build opens every MD_CHARDEV item
 * in order (a server with wait=on blocks here). Chardevs made for serial ports are
 * added with chardev_set_add, which takes ownership and refuses a second stdio.
 */
typedef struct chardev_set chardev_set;
chardev_set *chardev_set_build(machine_desc *d, GError **err);
chardev_set *chardev_set_new(void);
int chardev_set_add(chardev_set *set, chardev *chr, GError **err);
chardev *chardev_set_find(chardev_set *set, const char *id);
/* Frees every chardev; clears the current set if it is this one. NULL is allowed. */
void chardev_set_free(chardev_set *set);

/* The set ts_chardev_api.get looks in (NULL: none). */
void chardev_set_make_current(chardev_set *set);

/* The SDK's ts_chardev_api over the current set (ts_host_api.chardev points here). */
extern const ts_chardev_api chardev_api_table;

#endif
