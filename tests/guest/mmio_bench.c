/* SPDX-License-Identifier: MIT */
/*
 * mmio-bench: the guest half of bench/mmio (a benchmark, not a test). Writes a 32-bit
 * value n times to one MMIO address at CPL3, times the loop with the TSC (calibrated
 * against PIT channel 2) and prints
 *     bench: mmio-writes n=N us=T per_s=R
 * then exits through isa-debug-exit with success. Whether each write leaves KVM for the
 * VMM or is completed in the kernel (ioeventfd) is the host's business.
 *
 * Command line: addr=GPA (default 0xfe000000; identity-mapped, so any address below
 * 4 GiB), n=WRITES (default 100000, at most 10^9; 0 times an empty loop).
 */
#include "guest.h"

#define DEFAULT_ADDR 0xfe000000ul
#define DEFAULT_WRITES 100000ul
#define MAX_WRITES 1000000000ul

static uint64_t bench_addr;

/* The calibration, run at CPL3 like the loop (on some nested KVM hosts CPL0 is emulated). */
static uint64_t calibrate(uint64_t unused)
{
    (void)unused;
    return tsc_hz();
}

/* The measured loop: n 4-byte writes to bench_addr; returns the TSC ticks it took. */
static uint64_t write_loop(uint64_t n)
{
    volatile uint32_t *reg = (volatile uint32_t *)(uintptr_t)bench_addr;
    uint64_t start = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        *reg = (uint32_t)i;
    return rdtsc() - start;
}

int guest_main(const struct boot_info *bi)
{
    uint64_t n = cmdline_get_u64(bi->cmdline, "n", DEFAULT_WRITES);
    bench_addr = cmdline_get_u64(bi->cmdline, "addr", DEFAULT_ADDR);
    if (n > MAX_WRITES) {
        printf("bench: n=%lu is more than %lu\n", n, MAX_WRITES);
        return 1;
    }
    if (bench_addr >= (1ull << 32) || (bench_addr & 3)) {
        printf("bench: addr=%#lx is not a 4-byte-aligned address below 4 GiB\n", bench_addr);
        return 1;
    }

    uint64_t hz = cpl3_call(calibrate, 0);
    if (!hz) {
        printf("bench: the PIT never counted down; cannot calibrate the TSC\n");
        return 1;
    }
    uint64_t ticks = cpl3_call(write_loop, n);
    /* Split so that nothing overflows 64 bits (n is at most MAX_WRITES). */
    uint64_t us = ticks / hz * 1000000 + ticks % hz * 1000000 / hz;
    uint64_t per_s = ticks ? n * hz / ticks : 0;
    printf("bench: mmio-writes n=%lu us=%lu per_s=%lu tsc_hz=%lu\n", n, us, per_s, hz);
    return 0;
}
