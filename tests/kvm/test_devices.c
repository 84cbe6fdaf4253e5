/* SPDX-License-Identifier: MIT */
/*
 * The built-in platform devices driven through the port-I/O bus, as a vCPU would:
 * the 16550A's registers, its interrupt line (recorded instead of KVM_IRQ_LINE),
 * transmit and receive; the i8042's reset paths; isa-debug-exit's statuses; the ACPI
 * PM1a power-off.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devices.h"

#define COM1 0x3f8
#define THR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

static io_bus *bus;

static uint8_t inb(uint16_t port)
{
    uint8_t v = 0;
    io_bus_dispatch(bus, port, &v, 1, false);
    return v;
}

static void outb(uint16_t port, uint8_t v)
{
    io_bus_dispatch(bus, port, &v, 1, true);
}

/* ---- serial ---- */

typedef struct line {
    unsigned raises, lowers;
    int level;
    unsigned gsi;
} line;

static void record_irq(void *opaque, unsigned gsi, int level)
{
    line *l = opaque;
    l->gsi = gsi;
    ck_assert_int_ne(level, l->level); /* only changes are reported */
    l->level = level;
    if (level)
        l->raises++;
    else
        l->lowers++;
}

static void record_tx(void *opaque, const uint8_t *buf, size_t len)
{
    g_string_append_len(opaque, (const char *)buf, (gssize)len);
}

typedef struct uart_fixture {
    serial_uart *u;
    line irq;
    GString *out;
} uart_fixture;

static void uart_setup(uart_fixture *f)
{
    memset(f, 0, sizeof(*f));
    bus = io_bus_new("pio");
    f->out = g_string_new(NULL);
    serial_uart_config cfg = { .base = COM1, .gsi = 4, .tx = record_tx, .tx_opaque = f->out,
                               .set_irq = record_irq, .irq_opaque = &f->irq };
    f->u = serial_uart_create(bus, &cfg, NULL);
    ck_assert_ptr_nonnull(f->u);
}

static void uart_teardown(uart_fixture *f)
{
    serial_uart_destroy(f->u);
    ck_assert_uint_eq(io_bus_count(bus), 0);
    io_bus_free(bus);
    g_string_free(f->out, TRUE);
}

START_TEST(test_serial_transmit_and_registers)
{
    uart_fixture f;
    uart_setup(&f);
    for (const char *p = "hi\n"; *p; p++)
        outb(COM1 + THR, (uint8_t)*p);
    ck_assert_str_eq(f.out->str, "hi\n");
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x60, 0x60); /* THRE and TEMT */
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x01); /* nothing pending */
    outb(COM1 + SCR, 0x5a);
    ck_assert_uint_eq(inb(COM1 + SCR), 0x5a);
    /* Divisor latch: DLAB routes ports 0 and 1 to DLL/DLM and nothing is sent. */
    outb(COM1 + LCR, 0x83);
    outb(COM1 + THR, 0x01);
    outb(COM1 + IER, 0x00);
    ck_assert_uint_eq(inb(COM1 + THR), 0x01);
    outb(COM1 + LCR, 0x03);
    ck_assert_str_eq(f.out->str, "hi\n");
    /* FIFO enabled shows in IIR's top bits. */
    outb(COM1 + IIR, 0x07);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0xc0, 0xc0);
    ck_assert_uint_eq(f.irq.raises, 0);
    uart_teardown(&f);
}
END_TEST

START_TEST(test_serial_receive_interrupt)
{
    uart_fixture f;
    uart_setup(&f);
    /* Input without the interrupt enabled: data ready, line low. */
    ck_assert_uint_eq(serial_uart_receive(f.u, (const uint8_t *)"ab", 2), 2);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x01, 0x01);
    ck_assert_int_eq(f.irq.level, 0);
    /* Enabling it raises GSI 4 at once; IIR says "received data". */
    outb(COM1 + IER, 0x01);
    ck_assert_int_eq(f.irq.level, 1);
    ck_assert_uint_eq(f.irq.gsi, 4);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x04);
    ck_assert_uint_eq(inb(COM1 + THR), 'a');
    ck_assert_int_eq(f.irq.level, 1);
    ck_assert_uint_eq(inb(COM1 + THR), 'b');
    /* Drained: the line drops. */
    ck_assert_int_eq(f.irq.level, 0);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x01, 0);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x01);
    /* More input raises a new edge. */
    serial_uart_receive(f.u, (const uint8_t *)"c", 1);
    ck_assert_uint_eq(f.irq.raises, 2);
    uart_teardown(&f);
}
END_TEST

START_TEST(test_serial_thre_interrupt)
{
    uart_fixture f;
    uart_setup(&f);
    /* Enabling transmitter-empty with an empty THR interrupts at once. */
    outb(COM1 + IER, 0x02);
    ck_assert_int_eq(f.irq.level, 1);
    /* Reading IIR acknowledges it. */
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x02);
    ck_assert_int_eq(f.irq.level, 0);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x01);
    /* Each byte sent empties THR again: a new edge, as a driver's ISR expects. */
    outb(COM1 + THR, 'x');
    ck_assert_int_eq(f.irq.level, 1);
    ck_assert_uint_eq(f.irq.raises, 2);
    /* Disabling the source drops the line. */
    outb(COM1 + IER, 0x00);
    ck_assert_int_eq(f.irq.level, 0);
    /* Received data outranks transmitter-empty. */
    outb(COM1 + IER, 0x03);
    serial_uart_receive(f.u, (const uint8_t *)"r", 1);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x04);
    inb(COM1 + THR);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x02);
    ck_assert_int_eq(f.irq.level, 0);
    ck_assert_str_eq(f.out->str, "x");
    uart_teardown(&f);
}
END_TEST

START_TEST(test_serial_loopback_and_overrun)
{
    uart_fixture f;
    uart_setup(&f);
    /* Loopback: sent bytes come back, nothing leaves; MSR mirrors MCR's outputs. */
    outb(COM1 + MCR, 0x10 | 0x0b);
    outb(COM1 + THR, 0x42);
    ck_assert_uint_eq(f.out->len, 0);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x01, 0x01);
    ck_assert_uint_eq(inb(COM1 + THR), 0x42);
    ck_assert_uint_eq(inb(COM1 + MSR) & 0xf0, 0xb0);
    outb(COM1 + MCR, 0x0b);
    ck_assert_uint_eq(inb(COM1 + MSR) & 0xb0, 0xb0); /* DCD, DSR, CTS asserted */

    /* Flooding input: the buffer takes what fits, then reports an overrun once. */
    uint8_t big[2000];
    memset(big, 'z', sizeof(big));
    size_t taken = serial_uart_receive(f.u, big, sizeof(big));
    ck_assert_uint_lt(taken, sizeof(big));
    ck_assert_uint_gt(taken, 16);
    outb(COM1 + IER, 0x04); /* line-status interrupt */
    ck_assert_int_eq(f.irq.level, 1);
    ck_assert_uint_eq(inb(COM1 + IIR) & 0x0f, 0x06);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x02, 0x02);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x02, 0);
    ck_assert_int_eq(f.irq.level, 0);
    /* FCR bit 1 clears the receive buffer. */
    outb(COM1 + IIR, 0x03);
    ck_assert_uint_eq(inb(COM1 + LSR) & 0x01, 0);
    uart_teardown(&f);
}
END_TEST

/* A UART without a tx sink or interrupt line works (output dropped, guest polls). */
START_TEST(test_serial_bare)
{
    bus = io_bus_new("pio");
    serial_uart_config cfg = { .base = 0x2f8, .gsi = 3 };
    serial_uart *u = serial_uart_create(bus, &cfg, NULL);
    outb(0x2f8 + IER, 0x0f);
    outb(0x2f8 + THR, 'q');
    serial_uart_receive(u, (const uint8_t *)"k", 1);
    ck_assert_uint_eq(inb(0x2f8 + THR), 'k');
    /* A second UART on the same ports is refused with a message naming both. */
    GError *err = NULL;
    ck_assert_ptr_null(serial_uart_create(bus, &cfg, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "serial 0x2f8"));
    g_error_free(err);
    serial_uart_destroy(u);
    io_bus_free(bus);
}
END_TEST

/* ---- i8042 ---- */

static void count_reset(void *opaque)
{
    (*(unsigned *)opaque)++;
}

START_TEST(test_i8042)
{
    unsigned resets = 0;
    bus = io_bus_new("pio");
    i8042_dev *d = i8042_create(bus, count_reset, &resets, NULL);
    ck_assert_ptr_nonnull(d);

    /* Status: input buffer empty (what kb_wait waits for), system flag set. */
    ck_assert_uint_eq(inb(0x64) & 0x02, 0);
    ck_assert_uint_eq(inb(0x64) & 0x04, 0x04);
    /* Self-test answers 0x55 through the output buffer. */
    outb(0x64, 0xaa);
    ck_assert_uint_eq(inb(0x64) & 0x01, 0x01);
    ck_assert_uint_eq(inb(0x60), 0x55);
    ck_assert_uint_eq(inb(0x64) & 0x01, 0);
    /* Command byte round trip. */
    outb(0x64, 0x60);
    outb(0x60, 0x30);
    outb(0x64, 0x20);
    ck_assert_uint_eq(inb(0x60), 0x30);
    ck_assert_uint_eq(resets, 0);
    /* A keyboard byte is swallowed. */
    outb(0x60, 0xff);
    ck_assert_uint_eq(resets, 0);
    /* Output port with bit 0 set keeps running; cleared resets. */
    outb(0x64, 0xd1);
    outb(0x60, 0x03);
    ck_assert_uint_eq(resets, 0);
    outb(0x64, 0xd1);
    outb(0x60, 0x02);
    ck_assert_uint_eq(resets, 1);
    /* reboot=k: command 0xfe. */
    outb(0x64, 0xfe);
    ck_assert_uint_eq(resets, 2);
    i8042_destroy(d);
    ck_assert_uint_eq(io_bus_count(bus), 0);
    io_bus_free(bus);
}
END_TEST

/* ---- isa-debug-exit ---- */

static void record_status(void *opaque, int status)
{
    *(int *)opaque = status;
}

START_TEST(test_debug_exit)
{
    int status = -1;
    bus = io_bus_new("pio");
    debug_exit_dev *d = debug_exit_create(bus, 0xf4, 4, record_status, &status, NULL);
    ck_assert_ptr_nonnull(d);
    outb(0xf4, 0);
    ck_assert_int_eq(status, 1);
    outb(0xf4, 1);
    ck_assert_int_eq(status, 3);
    uint8_t v[4] = { 0x7d, 0, 0, 0 };
    io_bus_dispatch(bus, 0xf4, v, 4, true);
    ck_assert_int_eq(status, 251);
    ck_assert_uint_eq(inb(0xf4), 0xff);
    debug_exit_destroy(d);

    GError *err = NULL;
    ck_assert_ptr_null(debug_exit_create(bus, 0x501, 3, record_status, &status, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "iosize=3"));
    g_error_free(err);
    io_bus_free(bus);
}
END_TEST

/* ---- ACPI PM1a ---- */

static void count_poweroff(void *opaque)
{
    (*(unsigned *)opaque)++;
}

static uint16_t inw16(uint16_t port)
{
    uint8_t v[2] = { 0 };
    io_bus_dispatch(bus, port, v, 2, false);
    return (uint16_t)(v[0] | v[1] << 8);
}

static void outw16(uint16_t port, uint16_t val)
{
    uint8_t v[2] = { (uint8_t)val, (uint8_t)(val >> 8) };
    io_bus_dispatch(bus, port, v, 2, true);
}

START_TEST(test_acpi_pm)
{
    unsigned offs = 0;
    bus = io_bus_new("pio");
    acpi_pm_dev *d = acpi_pm_create(bus, count_poweroff, &offs, NULL);
    ck_assert_ptr_nonnull(d);
    /* SCI_EN reads as set: the OS finds ACPI mode already on. */
    ck_assert_uint_eq(inw16(0x604) & 1, 1);
    /* Status reads 0; enables read back. */
    ck_assert_uint_eq(inw16(0x600), 0);
    outw16(0x602, 0x0121);
    ck_assert_uint_eq(inw16(0x602), 0x0121);
    /* A sleep type other than S5 (here 5) with SLP_EN is not a power-off. */
    outw16(0x604, (5u << 10) | (1u << 13));
    ck_assert_uint_eq(offs, 0);
    /* SLP_EN is write-only; the sleep type is kept. */
    ck_assert_uint_eq(inw16(0x604) & (1u << 13), 0);
    ck_assert_uint_eq((inw16(0x604) >> 10) & 7, 5);
    /* S5 without SLP_EN does nothing; with it, power-off. */
    outw16(0x604, 0);
    ck_assert_uint_eq(offs, 0);
    outw16(0x604, 1u << 13);
    ck_assert_uint_eq(offs, 1);
    /* Byte writes count too: the high byte carries SLP_EN. */
    outb(0x605, 0x20);
    ck_assert_uint_eq(offs, 2);
    acpi_pm_destroy(d);
    ck_assert_uint_eq(io_bus_count(bus), 0);
    io_bus_free(bus);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("devices");
    TCase *tc = tcase_create("devices");
    tcase_add_test(tc, test_serial_transmit_and_registers);
    tcase_add_test(tc, test_serial_receive_interrupt);
    tcase_add_test(tc, test_serial_thre_interrupt);
    tcase_add_test(tc, test_serial_loopback_and_overrun);
    tcase_add_test(tc, test_serial_bare);
    tcase_add_test(tc, test_i8042);
    tcase_add_test(tc, test_debug_exit);
    tcase_add_test(tc, test_acpi_pm);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
