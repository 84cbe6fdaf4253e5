/* SPDX-License-Identifier: MIT */
/*
 * Legacy ports that firmware and kernels touch on every PC and that need an answer
 * other than all-ones: the POST-code port 0x80 (used as an I/O delay), the CMOS/RTC
 * index and data ports (a CMOS full of zeroes: no settings, no alarm), and system
 * control port A (fast A20 gate, reported enabled). Everything else unclaimed reads
 * all-ones, which is how an empty ISA slot answers. The PIC, PIT and speaker port
 * live in the kernel's irqchip and PIT.
 */
#include <string.h>

#include "devices/devices.h"

#define PORT_POST 0x80
#define PORT_CMOS 0x70 /* index, then data at 0x71 */
#define PORT_SYSCTL_A 0x92
#define SYSCTL_A_A20 0x02

static void post_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    if (!is_write)
        memset(data, 0, len);
}

static void cmos_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    if (!is_write)
        memset(data, 0, len);
}

static void sysctl_a_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    if (!is_write) {
        memset(data, 0, len);
        data[0] = SYSCTL_A_A20;
    }
}

int legacy_ports_register(io_bus *pio, GError **err)
{
    int ret = io_bus_register(pio, PORT_POST, 1, post_io, NULL, "POST port", err);
    if (ret == 0)
        ret = io_bus_register(pio, PORT_CMOS, 2, cmos_io, NULL, "CMOS/RTC", err);
    if (ret == 0)
        ret = io_bus_register(pio, PORT_SYSCTL_A, 1, sysctl_a_io, NULL, "system control A", err);
    return ret;
}
