/* SPDX-License-Identifier: MIT */
/* From the PVH entry to guest_main: CPU set-up, the start-info checks, the command line. */
#include "guest.h"
#include "runtime.h"

void runtime_main(uint32_t start_info_paddr)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info_paddr;
    struct boot_info bi = { .start_info = si, .cmdline = "" };

    cpu_init();
    /* Firmware (QEMU's SeaBIOS) may leave a partial line; TAP wants lines of our own. */
    uart_putc('\n');
    if (!si || si->magic != HVM_START_MAGIC) {
        printf("Bail out! no hvm_start_info at %#x (boot this guest through its PVH entry)\n",
               start_info_paddr);
        guest_exit(GUEST_EXIT_BAD_BOOT);
    }
    if (si->cmdline_paddr)
        bi.cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
    if (si->version >= 1 && si->memmap_paddr) {
        bi.memmap = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
        bi.memmap_entries = si->memmap_entries;
    }
    guest_exit((unsigned)guest_main(&bi));
}

uint64_t boot_ram_bytes(const struct boot_info *bi)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < bi->memmap_entries; i++)
        if (bi->memmap[i].type == HVM_MEMMAP_RAM)
            total += bi->memmap[i].size;
    return total;
}

/* Start of "key=" as a whole word in cmdline, or NULL. */
static const char *cmdline_find(const char *cmdline, const char *key)
{
    size_t klen = strlen(key);
    const char *p = cmdline;

    while (*p) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, klen) && p[klen] == '=')
            return p + klen + 1;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
    const char *v = cmdline_find(cmdline, key);
    size_t n = 0;

    if (!v || !len)
        return false;
    while (v[n] && v[n] != ' ' && n + 1 < len) {
        buf[n] = v[n];
        n++;
    }
    buf[n] = '\0';
    return true;
}

uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt)
{
    const char *v = cmdline_find(cmdline, key);
    unsigned base = 10;
    uint64_t n = 0;

    if (!v)
        return dflt;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v += 2;
    }
    if (!*v || *v == ' ')
        return dflt;
    for (; *v && *v != ' '; v++) {
        unsigned d;
        if (*v >= '0' && *v <= '9')
            d = *v - '0';
        else if (base == 16 && *v >= 'a' && *v <= 'f')
            d = *v - 'a' + 10;
        else if (base == 16 && *v >= 'A' && *v <= 'F')
            d = *v - 'A' + 10;
        else
            return dflt;
        n = n * base + d;
    }
    return n;
}
