/* SPDX-License-Identifier: MIT */
/*
 * isa-debug-exit, compatible with QEMU's: a write of V to the port ends the VM with
 * exit status (V << 1) | 1, so a status of 1 means the guest wrote 0. Reads return
 * all-ones. Test guests use it to report success or failure the same way under QEMU
 * and tessera.
 */
#include <errno.h>
#include <string.h>

#include "devices/devices.h"
#include "util/error.h"

struct debug_exit_dev {
    io_bus *pio;
    uint16_t iobase;
    debug_exit_fn on_exit;
    void *opaque;
    char owner[32];
};

static void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len,
                          bool is_write)
{
    debug_exit_dev *d = opaque;
    uint32_t value = 0;

    if (!is_write) {
        memset(data, 0xff, len);
        return;
    }
    memcpy(&value, data, MIN(len, sizeof(value)));
    d->on_exit(d->opaque, (int)((value << 1) | 1));
}

debug_exit_dev *debug_exit_create(io_bus *pio, uint16_t iobase, unsigned iosize,
                                  debug_exit_fn on_exit, void *opaque, GError **err)
{
    if (iosize != 1 && iosize != 2 && iosize != 4) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "isa-debug-exit iosize=%u is invalid: use 1, 2 or 4", iosize);
        return NULL;
    }
    debug_exit_dev *d = g_new0(debug_exit_dev, 1);
    d->pio = pio;
    d->iobase = iobase;
    d->on_exit = on_exit;
    d->opaque = opaque;
    g_snprintf(d->owner, sizeof(d->owner), "isa-debug-exit %#x", iobase);
    if (io_bus_register(pio, iobase, iosize, debug_exit_io, d, d->owner, err) < 0) {
        g_free(d);
        return NULL;
    }
    return d;
}

void debug_exit_destroy(debug_exit_dev *d)
{
    if (!d)
        return;
    io_bus_unregister(d->pio, d->iobase);
    g_free(d);
}
