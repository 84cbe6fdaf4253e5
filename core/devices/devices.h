/* SPDX-License-Identifier: MIT */
/*
 * The built-in platform devices: a 16550A UART, QEMU's isa-debug-exit, and the legacy
 * ports that firmware and kernels poke without caring for an answer. Every handler
 * runs on the vCPU thread that made the access.
 */
#ifndef TESSERA_CORE_DEVICES_H
#define TESSERA_CORE_DEVICES_H

#include <glib.h>
#include <stdint.h>

#include "bus/bus.h"

/* ---- 16550A UART (serial.c) ---- */

typedef struct serial_uart serial_uart;

/*
 * A UART at base (8 ports) whose transmitted bytes are written to out_fd (-1 discards
 * them). Not owned: the caller closes out_fd after serial_uart_destroy.
 */
serial_uart *serial_uart_create(io_bus *pio, uint16_t base, int out_fd, GError **err);
void serial_uart_destroy(serial_uart *uart);
/* Queues a byte for the guest to receive (no interrupt yet: the guest polls LSR). */
void serial_uart_receive(serial_uart *uart, uint8_t byte);

/* ---- isa-debug-exit (debug_exit.c) ---- */

typedef struct debug_exit_dev debug_exit_dev;

/* Called with (V << 1) | 1 when the guest writes V. */
typedef void (*debug_exit_fn)(void *opaque, int status);

/* QEMU-compatible debug-exit at iobase, iosize (1, 2 or 4) ports wide. */
debug_exit_dev *debug_exit_create(io_bus *pio, uint16_t iobase, unsigned iosize,
                                  debug_exit_fn on_exit, void *opaque, GError **err);
void debug_exit_destroy(debug_exit_dev *dev);

/* ---- legacy ports (legacy_ports.c) ---- */

/* Claims the POST-code port, CMOS/RTC index/data and port 0x92 with harmless answers. */
int legacy_ports_register(io_bus *pio, GError **err);

#endif
