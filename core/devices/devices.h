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

/* Sets the level of an interrupt line (a GSI of the in-kernel irqchip). */
typedef void (*irq_line_fn)(void *opaque, unsigned gsi, int level);

/* ---- 16550A UART (serial.c) ---- */

typedef struct serial_uart serial_uart;

/* Sends transmitted bytes somewhere (a chardev). Called with the UART's lock held. */
typedef void (*serial_tx_fn)(void *opaque, const uint8_t *buf, size_t len);

typedef struct serial_uart_config {
    uint16_t base;         /* 8 ports from here */
    unsigned gsi;          /* its interrupt line (4 for COM1) */
    serial_tx_fn tx;       /* NULL: transmitted bytes are dropped */
    void *tx_opaque;
    irq_line_fn set_irq;   /* NULL: no interrupts (the guest must poll) */
    void *irq_opaque;
} serial_uart_config;

serial_uart *serial_uart_create(io_bus *pio, const serial_uart_config *cfg, GError **err);
void serial_uart_destroy(serial_uart *uart);
/*
 * Input for the guest: queues up to the free room of the receive buffer and raises
 * the receive interrupt if the guest enabled it. Returns the bytes taken; the rest
 * is lost (the guest sees an overrun), as on the real part. Any thread.
 */
size_t serial_uart_receive(serial_uart *uart, const uint8_t *buf, size_t len);

/* ---- isa-debug-exit (debug_exit.c) ---- */

typedef struct debug_exit_dev debug_exit_dev;

/* Called with (V << 1) | 1 when the guest writes V. */
typedef void (*debug_exit_fn)(void *opaque, int status);

/* QEMU-compatible debug-exit at iobase, iosize (1, 2 or 4) ports wide. */
debug_exit_dev *debug_exit_create(io_bus *pio, uint16_t iobase, unsigned iosize,
                                  debug_exit_fn on_exit, void *opaque, GError **err);
void debug_exit_destroy(debug_exit_dev *dev);

/* ---- i8042 keyboard controller, reset only (i8042.c) ---- */

typedef struct i8042_dev i8042_dev;

/* The guest asked for a CPU reset (command 0xfe, or output-port bit 0 cleared). */
typedef void (*i8042_reset_fn)(void *opaque);

/*
 * The controller at ports 0x60 (data) and 0x64 (status/command), with no keyboard or
 * mouse behind it: enough for Linux's probe and for reboot=k to reset the machine.
 */
i8042_dev *i8042_create(io_bus *pio, i8042_reset_fn on_reset, void *opaque, GError **err);
void i8042_destroy(i8042_dev *dev);

/* ---- ACPI PM1a event and control blocks (acpi_pm.c) ---- */

typedef struct acpi_pm_dev acpi_pm_dev;

/* The guest entered S5 (PM1a control: SLP_EN with SLP_TYP 0). */
typedef void (*acpi_pm_poweroff_fn)(void *opaque);

/* PM1a event block at 0x600 (4 ports) and control block at 0x604 (2 ports), as the FADT says. */
acpi_pm_dev *acpi_pm_create(io_bus *pio, acpi_pm_poweroff_fn on_poweroff, void *opaque,
                            GError **err);
void acpi_pm_destroy(acpi_pm_dev *dev);

/* ---- legacy ports (legacy_ports.c) ---- */

/* Claims the POST-code port, CMOS/RTC index/data and port 0x92 with harmless answers. */
int legacy_ports_register(io_bus *pio, GError **err);

#endif
