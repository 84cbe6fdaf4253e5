/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest useful test guest. Reports what the boot loader handed over
 * (start info, memory map, command line), checks formatting and a CPL3 round trip.
 *
 * Command line keys it understands:
 *   token=WORD          must be present (proves the command line arrived intact)
 *   expect_mem_mib=N    total RAM in the memory map must be at most N MiB and at least N - 1
 */
#include "guest.h"

extern char image_start[], image_end[];

static uint64_t report_cpl(uint64_t arg)
{
    return (uint64_t)current_cpl() << 32 | (arg + 1);
}

static bool ram_covers(const struct boot_info *bi, uint64_t start, uint64_t end)
{
    for (uint32_t i = 0; i < bi->memmap_entries; i++) {
        const struct hvm_memmap_entry *e = &bi->memmap[i];
        if (e->type == HVM_MEMMAP_RAM && e->addr <= start && end <= e->addr + e->size)
            return true;
    }
    return false;
}

int guest_main(const struct boot_info *bi)
{
    const struct hvm_start_info *si = bi->start_info;
    char token[64], buf[64];

    tap_plan(6);
    tap_ok(si->version >= 1, "hvm_start_info version %u has a memory map", si->version);

    tap_ok(bi->memmap_entries > 0, "memory map has %u entries", bi->memmap_entries);
    for (uint32_t i = 0; i < bi->memmap_entries; i++)
        tap_diag("memmap %u: %#014lx-%#014lx type %u", i, bi->memmap[i].addr,
                 bi->memmap[i].addr + bi->memmap[i].size - 1, bi->memmap[i].type);

    tap_ok(ram_covers(bi, (uintptr_t)image_start, (uintptr_t)image_end),
           "the image (%p-%p) lies in RAM", (void *)image_start, (void *)image_end);

    uint64_t ram = boot_ram_bytes(bi);
    uint64_t expect_mib = cmdline_get_u64(bi->cmdline, "expect_mem_mib", 0);
    /* Firmware may keep a little (QEMU reserves the top pages and the EBDA); allow 1 MiB. */
    tap_ok(expect_mib ? ram <= expect_mib << 20 && ram + (1 << 20) >= expect_mib << 20 : ram > 0,
           "RAM is %lu KiB (expected %lu MiB)", ram >> 10, expect_mib);

    tap_diag("command line: \"%s\"", bi->cmdline);
    tap_ok(cmdline_get(bi->cmdline, "token", token, sizeof(token)) &&
               !strcmp(token, "tessera-guest"),
           "command line carries token=tessera-guest");

    uint64_t r = cpl3_call(report_cpl, 41);
    snprintf(buf, sizeof(buf), "%s|%5d|%-3x|%08lx", "fmt", -42, 0xab, 0x1234ul);
    tap_ok((r >> 32) == 3 && (uint32_t)r == 42 && !strcmp(buf, "fmt|  -42|ab |00001234"),
           "CPL3 call returned %lu at CPL%lu; formatting gives \"%s\"", r & 0xffffffff, r >> 32,
           buf);
    return tap_result();
}
