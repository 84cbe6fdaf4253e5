/* SPDX-License-Identifier: MIT */
/*
 * The i8042 keyboard controller with nothing plugged in. What matters is the reset
 * line: command 0xfe (pulse output-port bit 0) resets the CPU, which is how Linux
 * reboots with reboot=k, and so does writing the output port (command 0xd1) with bit 0
 * clear. Besides that the controller answers its self-tests and keeps its command
 * byte, so a probing kernel finds a controller and no devices behind it.
 */
#include <string.h>

#include "devices/devices.h"
#include "util/error.h"

#define PORT_DATA 0x60
#define PORT_CMD 0x64 /* reads: status */

#define STATUS_OBF 0x01      /* output buffer full: data waits at 0x60 */
#define STATUS_SYS 0x04      /* system flag: self-test passed */
#define STATUS_CMD 0x08      /* last write was to the command port */

#define CMD_READ_CONFIG 0x20
#define CMD_WRITE_CONFIG 0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX 0xa8
#define CMD_TEST_AUX 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_TEST_KBD 0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD 0xae
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_PULSE_RESET 0xfe

#define SELF_TEST_OK 0x55
#define OUTPUT_RESET_LINE 0x01 /* output port bit 0: 0 holds the CPU in reset */

struct i8042_dev {
    io_bus *pio;
    i8042_reset_fn on_reset;
    void *opaque;
    GMutex lock;
    uint8_t status;
    uint8_t config;  /* the command byte */
    uint8_t output;  /* the output port */
    uint8_t pending; /* command waiting for its data byte, or 0 */
    uint8_t obuf;
};

/* Caller holds the lock. */
static void put_output(i8042_dev *d, uint8_t byte)
{
    d->obuf = byte;
    d->status |= STATUS_OBF;
}

/* Caller holds the lock; returns whether the command asks for a reset. */
static bool command(i8042_dev *d, uint8_t cmd)
{
    switch (cmd) {
    case CMD_READ_CONFIG:
        put_output(d, d->config);
        break;
    case CMD_WRITE_CONFIG:
    case CMD_WRITE_OUTPUT:
        d->pending = cmd;
        break;
    case CMD_SELF_TEST:
        d->status |= STATUS_SYS;
        put_output(d, SELF_TEST_OK);
        break;
    case CMD_TEST_KBD:
    case CMD_TEST_AUX:
        put_output(d, 0x00); /* interface test passed */
        break;
    case CMD_READ_OUTPUT:
        put_output(d, d->output);
        break;
    case CMD_PULSE_RESET:
        return true;
    case CMD_DISABLE_AUX:
    case CMD_ENABLE_AUX:
    case CMD_DISABLE_KBD:
    case CMD_ENABLE_KBD:
    default:
        break; /* nothing is connected, so enabling and disabling change nothing we show */
    }
    return false;
}

/* Caller holds the lock; returns whether the write asks for a reset. */
static bool data_write(i8042_dev *d, uint8_t val)
{
    uint8_t cmd = d->pending;
    d->pending = 0;
    if (cmd == CMD_WRITE_CONFIG) {
        d->config = val;
        return false;
    }
    if (cmd == CMD_WRITE_OUTPUT) {
        d->output = val;
        return !(val & OUTPUT_RESET_LINE);
    }
    /* A byte for the keyboard: there is none, so it never answers. */
    return false;
}

static void i8042_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    i8042_dev *d = opaque;
    bool reset = false;
    (void)offset; /* the two ports are separate one-port regions */

    g_mutex_lock(&d->lock);
    if (!is_write) {
        memset(data, 0, len);
        data[0] = d->obuf;
        d->status &= (uint8_t)~STATUS_OBF;
    } else {
        d->status &= (uint8_t)~STATUS_CMD;
        reset = data_write(d, data[0]);
    }
    g_mutex_unlock(&d->lock);
    if (reset)
        d->on_reset(d->opaque);
}

static void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    i8042_dev *d = opaque;
    bool reset = false;
    (void)offset;

    g_mutex_lock(&d->lock);
    if (!is_write) {
        memset(data, 0, len);
        data[0] = d->status;
    } else {
        d->status |= STATUS_CMD;
        reset = command(d, data[0]);
    }
    g_mutex_unlock(&d->lock);
    if (reset)
        d->on_reset(d->opaque);
}

i8042_dev *i8042_create(io_bus *pio, i8042_reset_fn on_reset, void *opaque, GError **err)
{
    i8042_dev *d = g_new0(i8042_dev, 1);
    d->pio = pio;
    d->on_reset = on_reset;
    d->opaque = opaque;
    d->status = STATUS_SYS; /* as the firmware leaves it after POST */
    d->config = 0x45;       /* keyboard interrupt, system flag, scancode translation */
    d->output = OUTPUT_RESET_LINE | 0x02; /* reset line released, A20 on */
    g_mutex_init(&d->lock);
    if (io_bus_register(pio, PORT_DATA, 1, i8042_io, d, "i8042 data", err) < 0)
        goto fail;
    if (io_bus_register(pio, PORT_CMD, 1, i8042_cmd_io, d, "i8042 command", err) < 0) {
        io_bus_unregister(pio, PORT_DATA);
        goto fail;
    }
    return d;
fail:
    g_mutex_clear(&d->lock);
    g_free(d);
    return NULL;
}

void i8042_destroy(i8042_dev *d)
{
    if (!d)
        return;
    io_bus_unregister(d->pio, PORT_DATA);
    io_bus_unregister(d->pio, PORT_CMD);
    g_mutex_clear(&d->lock);
    g_free(d);
}
