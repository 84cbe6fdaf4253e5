/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime: what a test guest can call. A guest provides
 *     int guest_main(const struct boot_info *bi);
 * which runs at CPL0 right after the runtime has entered long mode; its return value
 * is the guest's exit code (0 = success), reported through isa-debug-exit.
 *
 * Remember where these guests run (docs/guest-runtime.md): on the development
 * machines CPL0 code is emulated instruction by instruction, so keep CPL0 work short
 * and run anything loop-heavy through cpl3_call().
 */
#ifndef TESSERA_GUEST_H
#define TESSERA_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "start_info.h"

/* ---- what the boot loader told us ---- */

struct boot_info {
    const struct hvm_start_info *start_info; /* as handed over in ebx */
    const char *cmdline;                     /* "" when there is none */
    const struct hvm_memmap_entry *memmap;   /* NULL when there is none (start_info v0) */
    uint32_t memmap_entries;
};

int guest_main(const struct boot_info *bi);

/* Sum of the sizes of every RAM entry in the memory map. */
uint64_t boot_ram_bytes(const struct boot_info *bi);
/* Value of "key=value" in the command line, copied into buf; false when absent. */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);
/* Numeric value of "key=N" (decimal or 0x-hex), or dflt when absent or malformed. */
uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt);

/* ---- console (16550 UART at 0x3f8) ---- */

void uart_putc(char c);
void uart_puts(const char *s);
/* printf subset: %d %i %u %x %X %p %s %c %%, flags '0' '-', width, length l ll z. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);

/* ---- exit (isa-debug-exit at port 0xf4) ---- */

#define GUEST_DEBUG_EXIT_PORT 0xf4
/*
 * Ends the VM: writes code to the debug-exit port, so the VMM (QEMU or tessera) exits
 * with status (code << 1) | 1 — status 1 means success. Should the port be missing,
 * forces a triple fault, which a VMM run with -no-reboot turns into exit status 0.
 * Callable at CPL0 and CPL3.
 */
__attribute__((noreturn)) void guest_exit(unsigned code);

/* ---- TAP ---- */

void tap_plan(unsigned count);                    /* "1..count" */
bool tap_ok(bool cond, const char *fmt, ...)      /* "ok N - name" or "not ok N - name" */
    __attribute__((format(printf, 2, 3)));
void tap_skip(const char *fmt, ...)               /* "ok N # SKIP reason": counts as run */
    __attribute__((format(printf, 1, 2)));
void tap_diag(const char *fmt, ...)               /* "# text" */
    __attribute__((format(printf, 1, 2)));
/* 0 when every planned test ran and passed, 1 otherwise; prints a summary diagnostic. */
int tap_result(void);

/* ---- running code at CPL3 ---- */

/*
 * Runs fn(arg) at CPL3 on the runtime's user stack and returns its result. The user
 * code may use port I/O (IOPL 3 and an all-allowing TSS I/O bitmap), so printf, tap_ok
 * and guest_exit work there; interrupts stay disabled. Every page is user-accessible.
 * Call only from CPL0, and not recursively.
 */
uint64_t cpl3_call(uint64_t (*fn)(uint64_t), uint64_t arg);
/* The current privilege level (0 or 3). */
unsigned current_cpl(void);

/* ---- port I/O ---- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* ---- memory-mapped I/O (identity-mapped below 4 GiB) ---- */

static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }
static inline uint16_t mmio_read16(uint64_t addr) { return *(volatile uint16_t *)(uintptr_t)addr; }
static inline void mmio_write16(uint64_t addr, uint16_t v) { *(volatile uint16_t *)(uintptr_t)addr = v; }

/* ---- model-specific registers and CPUID ---- */

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* ---- time stamp counter ---- */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return (uint64_t)hi << 32 | lo;
}
/*
 * TSC ticks per second, measured against PIT channel 2 (20 ms, mode 0, speaker off);
 * 0 when the PIT never counts down. Port I/O only, so it runs at CPL3 too (cpl3_call).
 */
uint64_t tsc_hz(void);

/* ---- freestanding libc bits the compiler may call ---- */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);

#include "hw.h" /* PCI, local APIC, interrupts, MSI-X, ACPI */

#endif
