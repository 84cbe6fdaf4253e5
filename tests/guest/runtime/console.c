/* SPDX-License-Identifier: MIT */
/* Console output on the 16550 UART at 0x3f8, and the printf family. */
#include "guest.h"

#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void uart_putc(char c)
{
    /* A real 16550 needs the wait; VMMs report an empty holding register at once. */
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

/* Output sink for the formatter: a bounded buffer, or the UART when buf is NULL. */
struct sink {
    char *buf;
    size_t len;
    size_t pos;
};

static void sink_put(struct sink *s, char c)
{
    if (!s->buf)
        uart_putc(c);
    else if (s->pos + 1 < s->len)
        s->buf[s->pos] = c;
    s->pos++;
}

static void put_number(struct sink *s, uint64_t v, unsigned base, bool upper, bool negative,
                       int width, bool zero_pad, bool left, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    int plen = prefix ? (int)strlen(prefix) : 0;

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int total = n + plen + (negative ? 1 : 0);
    if (!left && !zero_pad)
        for (; total < width; total++)
            sink_put(s, ' ');
    if (negative)
        sink_put(s, '-');
    for (int i = 0; i < plen; i++)
        sink_put(s, prefix[i]);
    if (!left && zero_pad)
        for (; total < width; total++)
            sink_put(s, '0');
    while (n)
        sink_put(s, tmp[--n]);
    for (; left && total < width; total++)
        sink_put(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(s, *fmt);
            continue;
        }
        bool zero_pad = false, left = false, alt = false;
        int width = 0, longs = 0;
        for (fmt++;; fmt++) {
            if (*fmt == '0')
                zero_pad = true;
            else if (*fmt == '-')
                left = true;
            else if (*fmt == '#')
                alt = true;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_number(s, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0, width,
                       zero_pad, left, NULL);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            unsigned base = *fmt == 'u' ? 10 : 16;
            put_number(s, v, base, *fmt == 'X', false, width, zero_pad, left,
                       alt && base == 16 ? "0x" : NULL);
            break;
        }
        case 'p':
            put_number(s, (uint64_t)va_arg(ap, void *), 16, false, false, width, zero_pad,
                       left, "0x");
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = (int)strlen(str);
            for (int i = n; !left && i < width; i++)
                sink_put(s, ' ');
            while (*str)
                sink_put(s, *str++);
            for (int i = n; left && i < width; i++)
                sink_put(s, ' ');
            break;
        }
        case 'c':
            sink_put(s, (char)va_arg(ap, int));
            break;
        case '%':
            sink_put(s, '%');
            break;
        case '\0':
            return;
        default: /* unknown conversion: show it rather than guess */
            sink_put(s, '%');
            sink_put(s, *fmt);
            break;
        }
    }
}

int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
    struct sink s = { buf, len, 0 };
    format(&s, fmt, ap);
    if (len)
        buf[s.pos < len ? s.pos : len - 1] = '\0';
    return (int)s.pos;
}

int snprintf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { NULL, 0, 0 };
    format(&s, fmt, ap);
    return (int)s.pos;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
