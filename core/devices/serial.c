/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART. Transmission is instant (the holding register is always empty), so a
 * guest that polls LSR never waits; the FIFOs, the divisor latch, the scratch register
 * and loopback behave enough like the real part for Linux's 8250 probe to see a 16550A.
 *
 * Interrupts: the line is high while an enabled condition is pending (IIR shows it),
 * in the 16550's priority order: line status (overrun), received data, transmitter
 * empty, modem status (never: our modem lines do not change). The transmitter-empty
 * condition is set when the guest enables it and after every transmitted byte, and
 * cleared by reading IIR while it is the one shown or by writing THR. Like QEMU, the
 * line is not gated by MCR OUT2. An edge-triggered IOAPIC pin sees a new edge each time
 * the condition comes back after being cleared.
 *
 * The receive buffer holds RX_BUFFER_SIZE bytes rather than 16: the guest cannot tell
 * (it reads while LSR says data ready) and pasted input is not lost.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

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
#define LSR_OE 0x02   /* overrun error */
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IIR_NO_INT 0x01
#define IIR_RLSI 0x06
#define IIR_RDI 0x04
#define IIR_THRI 0x02
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80
#define RX_BUFFER_SIZE 1024

struct serial_uart {
    io_bus *pio;
    serial_uart_config cfg;
    char owner[24];
    pthread_mutex_t lock;
    uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
    bool overrun;     /* LSR.OE, until LSR is read */
    bool thr_pending; /* the transmitter-empty interrupt condition */
    bool irq_level;   /* what we last told the interrupt controller */
    uint8_t rx[RX_BUFFER_SIZE];
    unsigned rx_head, rx_count;
};

/* Caller holds the lock. The interrupt IIR shows now (IIR_NO_INT: none). */
static uint8_t pending_interrupt(const serial_uart *u)
{
    if ((u->ier & IER_RLSI) && u->overrun)
        return IIR_RLSI;
    if ((u->ier & IER_RDI) && u->rx_count)
        return IIR_RDI;
    if ((u->ier & IER_THRI) && u->thr_pending)
        return IIR_THRI;
    return IIR_NO_INT;
}

/* Caller holds the lock. Tells the interrupt controller when the line changes. */
static void update_irq(serial_uart *u)
{
    bool level = pending_interrupt(u) != IIR_NO_INT;
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (u->cfg.set_irq)
        u->cfg.set_irq(u->cfg.irq_opaque, u->cfg.gsi, level);
}

/* Caller holds the lock. */
static bool rx_push(serial_uart *u, uint8_t byte)
{
    if (u->rx_count == RX_BUFFER_SIZE) {
        u->overrun = true; /* the byte is lost, as on the real part */
        return false;
    }
    u->rx[(u->rx_head + u->rx_count) % RX_BUFFER_SIZE] = byte;
    u->rx_count++;
    return true;
}

static void transmit(serial_uart *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP) /* loopback: what we send, we receive */
        rx_push(u, byte);
    else if (u->cfg.tx)
        u->cfg.tx(u->cfg.tx_opaque, &byte, 1);
    u->thr_pending = true; /* sent at once: the holding register is empty again */
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
            u->rx_head = (u->rx_head + 1) % RX_BUFFER_SIZE;
            u->rx_count--;
            return b;
        }
        return 0;
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR_FCR: {
        uint8_t iir = pending_interrupt(u);
        if (iir == IIR_THRI)
            u->thr_pending = false; /* reading IIR acknowledges transmitter-empty */
        return iir | ((u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0);
    }
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR: {
        uint8_t lsr = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | (u->overrun ? LSR_OE : 0);
        u->overrun = false;
        return lsr;
    }
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
        if (dlab) {
            u->dll = val;
        } else {
            u->thr_pending = false;
            transmit(u, val);
        }
        break;
    case UART_IER:
        if (dlab) {
            u->dlm = val;
        } else {
            /* Enabling transmitter-empty with the register empty interrupts at once. */
            if ((val & IER_THRI) && !(u->ier & IER_THRI))
                u->thr_pending = true;
            u->ier = val & 0x0f;
        }
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
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

size_t serial_uart_receive(serial_uart *u, const uint8_t *buf, size_t len)
{
    size_t taken = 0;
    pthread_mutex_lock(&u->lock);
    while (taken < len && rx_push(u, buf[taken]))
        taken++;
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return taken;
}

serial_uart *serial_uart_create(io_bus *pio, const serial_uart_config *cfg, GError **err)
{
    serial_uart *u = g_new0(serial_uart, 1);
    uint16_t base = cfg->base;

    u->pio = pio;
    u->cfg = *cfg;
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
    io_bus_unregister(u->pio, u->cfg.base);
    pthread_mutex_destroy(&u->lock);
    g_free(u);
}
