/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/chardev.h
 * @brief Character devices (sockets, files, stdio) for devices.
 *
 * Included by tessera/host.h; include tessera/tessera.h rather than this file.
 */
#ifndef TESSERA_CHARDEV_H
#define TESSERA_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_object ts_object;

/** A character device the user configured with -chardev (opaque; lives as long as the VM). */
typedef struct ts_chardev ts_chardev;

/**
 * Bytes arrived on a chardev. Runs on the main thread. len 0 means the other end went
 * away (end of file, or the socket's peer closed); a server socket then waits for the
 * next client, whose bytes arrive through the same handler.
 */
typedef void (*ts_chardev_read_fn)(void *opaque, const uint8_t *buf, size_t len);

/**
 * Character devices (-chardev): Unix sockets (client or server), files, stdio, null.
 * Filled by the KVM core; NULL where absent.
 *
 * A device names its chardev with a property (TS_PROP_REF with ref_target
 * TS_REF_CHARDEV, or a TS_PROP_STRING holding the chardev's id) and looks it up with
 * get() in its realize hook. A chardev is shared: the host does not stop two devices
 * from using the same one, so pick one user per chardev.
 */
typedef struct ts_chardev_api {
    uint32_t size;      /**< sizeof as built by the host */
    uint32_t reserved0; /**< zero */

    /* --- ABI 1.1 --- */

    /**
     * The chardev named by obj's property prop (a chardev reference or a string with a
     * chardev id). Returns NULL, with an error recorded on obj, when the property is
     * unset, of another type, or names no chardev. Main thread.
     */
    ts_chardev *(*get)(ts_object *obj, const char *prop);
    /** The chardev's id as the user wrote it. Any thread. */
    const char *(*id)(ts_chardev *chr);
    /**
     * Writes len bytes. Returns len, or a negative errno (-EPIPE: the socket's peer is
     * gone). Bytes written while a server socket has no client, and all bytes written to
     * a null chardev, are dropped and count as written. May block while the peer does
     * not read. Any thread; concurrent writes are not interleaved within one call.
     */
    int64_t (*write)(ts_chardev *chr, const void *buf, size_t len);
    /**
     * Installs (fn non-NULL) or removes (fn NULL) the read handler. The host reads from
     * the chardev only while a handler is installed, so a device that reads the socket
     * itself (socket_fd) installs none. Returns 0, or -EINVAL for a chardev that never
     * has input (file). Main thread (also from inside the handler).
     */
    int (*set_read_handler)(ts_chardev *chr, ts_chardev_read_fn fn, void *opaque);
    /**
     * The connected socket of a socket chardev, for devices that need more than bytes
     * (ivshmem-doorbell receives file descriptors with SCM_RIGHTS through recvmsg).
     * Watch it with ts_event_api.fd_watch_add; do not close it. Returns the fd,
     * -ENOTCONN while a server socket has no client (or the peer closed), or -ENOTSOCK
     * for other backends. Main thread.
     */
    int (*socket_fd)(ts_chardev *chr);
} ts_chardev_api;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_CHARDEV_H */
