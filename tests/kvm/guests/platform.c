/* SPDX-License-Identifier: MIT */
/*
 * platform: a test guest for tessera's platform devices, run by tessera itself
 * (tests/kvm/tessera-guest.sh). One mode per run, chosen on the command line:
 *
 *   mode=serial-irq [rx=C]  COM1 interrupts through the IOAPIC: transmitter-empty on
 *                           enabling it and after a byte; with rx=C, the host's first
 *                           input byte (fed to tessera's stdin) raises received-data
 *                           and reads back as C. Exits through isa-debug-exit.
 *   mode=i8042-reset        prints its plan and one ok, then resets through the i8042
 *                           (command 0xfe); under -no-reboot the VMM exits with 0.
 *   mode=acpi-poweroff      the same, powering off through the ACPI PM1a control block.
 */
#include "guest.h"

#define COM1 0x3f8
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LSR 5
#define IER_RDI 0x01
#define IER_THRI 0x02

#define IOAPIC_BASE 0xfec00000ul
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define COM1_PIN 4
#define COM1_VECTOR 0x40

static volatile unsigned thr_irqs, rx_irqs, other_irqs;
static volatile int rx_byte = -1;

static void ioapic_write(uint32_t reg, uint32_t val)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(IOAPIC_BASE + 0x10) = val;
}

static uint32_t ioapic_read(uint32_t reg)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

/* Edge-triggered, active high, fixed delivery to this CPU's APIC id. */
static void ioapic_route(unsigned pin, uint8_t vector, uint32_t apic_id, bool masked)
{
    ioapic_write(IOAPIC_REDTBL(pin) + 1, apic_id << 24);
    ioapic_write(IOAPIC_REDTBL(pin), vector | (masked ? 1u << 16 : 0));
}

/* Reads IIR until nothing is pending, as a driver's interrupt handler does. */
static void on_com1(uint8_t vector)
{
    (void)vector;
    for (int guard = 0; guard < 16; guard++) {
        uint8_t iir = inb(COM1 + UART_IIR) & 0x0f;
        if (iir & 0x01)
            break;
        if (iir == 0x02) {
            thr_irqs++;
        } else if (iir == 0x04 || iir == 0x0c) {
            rx_byte = inb(COM1 + UART_RBR);
            rx_irqs++;
        } else {
            inb(COM1 + UART_LSR);
            other_irqs++;
        }
    }
}

static int serial_irq(const struct boot_info *bi)
{
    char rx[4];
    bool want_rx = cmdline_get(bi->cmdline, "rx", rx, sizeof(rx)) && rx[0];

    tap_plan(want_rx ? 4 : 3);
    uint32_t ver = ioapic_read(IOAPIC_REG_VER);
    tap_ok(((ver >> 16) & 0xff) == 23, "IOAPIC has 24 pins (version register %#x)", ver);

    lapic_enable();
    irq_set_handler(COM1_VECTOR, on_com1);
    ioapic_route(COM1_PIN, COM1_VECTOR, lapic_id(), false);

    outb(COM1 + UART_IER, IER_THRI);
    tap_ok(irq_wait(&thr_irqs, 1, 2000), "enabling transmitter-empty interrupts on IOAPIC pin %u",
           COM1_PIN);
    /* Printing the line above sent bytes, each of which emptied THR again. */
    unsigned before = thr_irqs;
    outb(COM1 + 0, '\n'); /* a whole line, so the TAP stays parseable */
    tap_ok(irq_wait(&thr_irqs, before + 1, 2000), "a transmitted byte interrupts again (%u so far)",
           thr_irqs);
    outb(COM1 + UART_IER, 0);

    if (want_rx) {
        outb(COM1 + UART_IER, IER_RDI);
        bool got = irq_wait(&rx_irqs, 1, 5000);
        outb(COM1 + UART_IER, 0);
        tap_ok(got && rx_byte == rx[0], "input from the host raises received-data (%d, want %d)",
               rx_byte, rx[0]);
    }
    ioapic_route(COM1_PIN, COM1_VECTOR, lapic_id(), true);
    if (other_irqs)
        tap_diag("%u unexpected UART interrupts", other_irqs);
    return tap_result();
}

static int reset_or_poweroff(bool poweroff)
{
    tap_plan(1);
    tap_ok(true, "about to %s", poweroff ? "power off through ACPI" : "reset through the i8042");
    if (poweroff)
        outw(0x604, 1u << 13); /* PM1a control: SLP_EN, sleep type 0 (S5) */
    else
        outb(0x64, 0xfe);      /* pulse the reset line */
    printf("not ok 2 - still running after the %s\n", poweroff ? "power-off" : "reset");
    return 1;
}

int guest_main(const struct boot_info *bi)
{
    char mode[32] = "";
    cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
    if (!strcmp(mode, "serial-irq"))
        return serial_irq(bi);
    if (!strcmp(mode, "i8042-reset"))
        return reset_or_poweroff(false);
    if (!strcmp(mode, "acpi-poweroff"))
        return reset_or_poweroff(true);
    tap_plan(1);
    tap_ok(false, "mode=%s is one of serial-irq, i8042-reset, acpi-poweroff", mode);
    return tap_result();
}
