/* SPDX-License-Identifier: MIT */
/* Reading the firmware's (or the VMM's) ACPI tables: RSDP, XSDT/RSDT, the MADT. */
#include "guest.h"

#define ACPI_HEADER_LEN 36
#define MADT_LOCAL_APIC 0
#define MADT_LOCAL_X2APIC 9

static uint8_t sum(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

const void *acpi_find_rsdp(const struct boot_info *bi)
{
    if (bi->start_info->rsdp_paddr)
        return (const void *)(uintptr_t)bi->start_info->rsdp_paddr;
    for (uintptr_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *p = (const uint8_t *)a;
        if (!memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0)
            return p;
    }
    return NULL;
}

/* A table header at addr that is below 4 GiB, long enough and sums to zero. */
static const uint8_t *valid_table(uint64_t addr)
{
    if (!addr || addr >= 0x100000000ull)
        return NULL;
    const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
    uint32_t len = get32(t + 4);
    if (len < ACPI_HEADER_LEN || len > (1u << 20) || sum(t, len) != 0)
        return NULL;
    return t;
}

const void *acpi_find_table(const struct boot_info *bi, const char *sig)
{
    const uint8_t *rsdp = acpi_find_rsdp(bi);
    const uint8_t *root = NULL;
    unsigned width = 8;

    if (!rsdp)
        return NULL;
    if (rsdp[15] >= 2)
        root = valid_table(get64(rsdp + 24));
    if (!root) {
        root = valid_table(get32(rsdp + 16));
        width = 4;
    }
    if (!root)
        return NULL;
    uint32_t n = (get32(root + 4) - ACPI_HEADER_LEN) / width;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = root + ACPI_HEADER_LEN + i * width;
        const uint8_t *t = valid_table(width == 8 ? get64(e) : get32(e));
        if (t && !memcmp(t, sig, 4))
            return t;
    }
    return NULL;
}

int acpi_count_cpus(const struct boot_info *bi)
{
    return acpi_cpu_apic_ids(bi, NULL, 0);
}

int acpi_cpu_apic_ids(const struct boot_info *bi, uint32_t *ids, unsigned max)
{
    const uint8_t *madt = acpi_find_table(bi, "APIC");
    int cpus = 0;

    if (!madt)
        return -1;
    uint32_t len = get32(madt + 4);
    for (uint32_t off = ACPI_HEADER_LEN + 8; off + 2 <= len;) {
        uint8_t type = madt[off], elen = madt[off + 1];
        if (elen < 2 || off + elen > len)
            break;
        uint32_t id = 0;
        bool enabled = false;
        if (type == MADT_LOCAL_APIC && elen >= 8) {
            enabled = get32(madt + off + 4) & 1;
            id = madt[off + 3];
        } else if (type == MADT_LOCAL_X2APIC && elen >= 16) {
            enabled = get32(madt + off + 8) & 1;
            id = get32(madt + off + 4);
        }
        if (enabled) {
            if (ids && (unsigned)cpus < max)
                ids[cpus] = id;
            cpus++;
        }
        off += elen;
    }
    return cpus;
}
