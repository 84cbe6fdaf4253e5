/* SPDX-License-Identifier: MIT */
/*
 * cpl3-loop: counts to 10^8 at CPL3 and reports the sum. Under a nested KVM that
 * emulates CPL0 this finishes only because CPL3 runs natively — the test timeout, not
 * a timing assertion, is what catches a VMM that gets this wrong.
 *
 * Command line: iterations=N overrides the count.
 */
#include "guest.h"

#define DEFAULT_ITERATIONS 100000000ull

static uint64_t count_up(uint64_t iterations)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < iterations; i++) {
        sum += i & 0xff;
        /* Keeps gcc from replacing the loop with a closed form. */
        __asm__ volatile("" : "+r"(sum));
    }
    tap_ok(current_cpl() == 3, "the loop ran at CPL%u", current_cpl());
    return sum;
}

int guest_main(const struct boot_info *bi)
{
    uint64_t n = cmdline_get_u64(bi->cmdline, "iterations", DEFAULT_ITERATIONS);
    /* Every full block of 256 iterations adds 0 + 1 + ... + 255. */
    uint64_t expect = (n / 256) * (255 * 256 / 2);
    for (uint64_t i = 0; i < n % 256; i++)
        expect += i;

    tap_plan(2);
    uint64_t sum = cpl3_call(count_up, n);
    tap_ok(sum == expect, "%lu iterations at CPL3 summed to %lu (expected %lu)", n, sum, expect);
    return tap_result();
}
