/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART. Transmission is instant (the holding register is always empty), so a
 * guest that polls LSR never waits; the FIFOs, the divisor latch, the scratch register
 * and loopback behave enough like the real part for Linux's 8250 probe to see a 16550A.
 * Interrupts (IRQ 4) are not raised yet: guests poll.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "devices/devices.h"
#include "util/error.h"

#define UART_RBR_THR 0 /* DLL when DLAB is set */
#define UART_IER 1     /* DLM when DLAB is set */
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_PORTS 8

#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01   /* receive data ready */
#define LSR_THRE 0x20 /* transmit holding register empty */
#define LSR_TEMT 0x40 /* transmitter empty */
#define IIR_NO_INT 0x01
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80
#define RX_FIFO_SIZE 16

struct serial_uart {
    io_bus *pio;
    uint16_t base;
    int out_fd;
    char owner[24];
    pthread_mutex_t lock;
    uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
    uint8_t rx[RX_FIFO_SIZE];
    unsigned rx_head, rx_count;
};

/* Caller holds the lock. */
static void rx_push(serial_uart *u, uint8_t byte)
{
    if (u->rx_count == RX_FIFO_SIZE)
        return; /* overrun: the byte is lost, as on the real part */
    u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = byte;
    u->rx_count++;
}

static void transmit(serial_uart *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP) { /* loopback: what we send, we receive */
        rx_push(u, byte);
        return;
    }
    if (u->out_fd < 0)
        return;
    while (write(u->out_fd, &byte, 1) < 0 && errno == EINTR)
        ;
}

/* MSR in loopback reflects the modem-control outputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
static uint8_t modem_status(const serial_uart *u)
{
    if (u->mcr & MCR_LOOP)
        return (uint8_t)((u->mcr & 0x0f) << 4);
    return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t read_reg(serial_uart *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case UART_RBR_THR:
        if (dlab)
            return u->dll;
        if (u->rx_count) {
            uint8_t b = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
            u->rx_count--;
            return b;
        }
        return 0;
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR_FCR:
        return IIR_NO_INT | ((u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0);
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
    case UART_MSR:
        return modem_status(u);
    default:
        return u->scr;
    }
}

static void write_reg(serial_uart *u, unsigned reg, uint8_t val)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case UART_RBR_THR:
        if (dlab)
            u->dll = val;
        else
            transmit(u, val);
        break;
    case UART_IER:
        if (dlab)
            u->dlm = val;
        else
            u->ier = val & 0x0f;
        break;
    case UART_IIR_FCR:
        u->fcr = val;
        if (val & 0x02) /* clear the receive FIFO */
            u->rx_count = 0;
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR:
        u->mcr = val & 0x1f;
        break;
    case UART_LSR:
    case UART_MSR:
        break; /* read-only on a 16550A */
    default:
        u->scr = val;
        break;
    }
}

static void serial_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    serial_uart *u = opaque;

    /* Registers are bytes; a wider access touches consecutive registers, as on ISA. */
    pthread_mutex_lock(&u->lock);
    for (unsigned i = 0; i < len && offset + i < UART_PORTS; i++) {
        if (is_write)
            write_reg(u, (unsigned)(offset + i), data[i]);
        else
            data[i] = read_reg(u, (unsigned)(offset + i));
    }
    pthread_mutex_unlock(&u->lock);
}

void serial_uart_receive(serial_uart *u, uint8_t byte)
{
    pthread_mutex_lock(&u->lock);
    rx_push(u, byte);
    pthread_mutex_unlock(&u->lock);
}

serial_uart *serial_uart_create(io_bus *pio, uint16_t base, int out_fd, GError **err)
{
    serial_uart *u = g_new0(serial_uart, 1);

    u->pio = pio;
    u->base = base;
    u->out_fd = out_fd;
    u->lcr = 0x03; /* 8N1, as firmware leaves it */
    u->dll = 0x0c; /* 9600 baud */
    pthread_mutex_init(&u->lock, NULL);
    g_snprintf(u->owner, sizeof(u->owner), "serial %#x", base);
    if (io_bus_register(pio, base, UART_PORTS, serial_io, u, u->owner, err) < 0) {
        pthread_mutex_destroy(&u->lock);
        g_free(u);
        return NULL;
    }
    return u;
}

void serial_uart_destroy(serial_uart *u)
{
    if (!u)
        return;
    io_bus_unregister(u->pio, u->base);
    pthread_mutex_destroy(&u->lock);
    g_free(u);
}
