/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader, 64-bit boot protocol. The image is untrusted: every header field
 * is read with bounds-checked little-endian accessors and checked before it is used;
 * nothing is ever dereferenced through a struct overlay of the file.
 */
#include "boot/bzimage.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/error.h"

/* Offsets in the image's boot sector / setup header and in the zero page. */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_END 0x264 /* init_size's end: the least a 2.12 header covers */
#define HDR_MAX_END 0x290 /* where boot_params' next field (edd_mbr_sig_buffer) starts */

#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0
#define ZP_SIZE 0x1000

#define BZ_MIN_VERSION 0x020c      /* 2.12: xloadflags and the 64-bit entry */
#define BZ_MAX_SETUP_SECTS 64      /* 32 KiB of real-mode code: far more than any kernel has */
#define BZ_VID_MODE_NORMAL 0xffff  /* "normal" text mode: do not ask */
#define BZ_LOADER_UNDEFINED 0xff   /* type_of_loader for a loader without an assigned id */
#define PAGE_SIZE 0x1000ull
#define PDE_COUNT 2048             /* 4 GiB of 2 MiB pages */
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_LARGE 0x80ull

static uint16_t get16(const uint8_t *p, size_t off) { return (uint16_t)(p[off] | p[off + 1] << 8); }
static uint32_t get32(const uint8_t *p, size_t off)
{
    return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}
static uint64_t get64(const uint8_t *p, size_t off)
{
    return (uint64_t)get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}
static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v, p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v), put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v), put32(p, off + 4, (uint32_t)(v >> 32)); }

static int fail(GError **err, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int fail(GError **err, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: %s", name, what);
    return -EINVAL;
}

bool bzimage_probe(const void *buf, size_t len)
{
    return len >= HDR_MAGIC + 4 && !memcmp((const uint8_t *)buf + HDR_MAGIC, "HdrS", 4);
}

int bzimage_parse(const void *buf, size_t len, const char *name, bzimage_info *info,
                  GError **err)
{
    const uint8_t *b = buf;

    memset(info, 0, sizeof(*info));
    if (!bzimage_probe(buf, len))
        return fail(err, name, "no \"HdrS\" magic at offset 0x202: not a Linux bzImage");
    if (len < HDR_MIN_END)
        return fail(err, name, "truncated: %zu bytes cannot hold a boot-protocol 2.12 setup header",
                    len);
    if (get16(b, HDR_BOOT_FLAG) != 0xaa55)
        return fail(err, name, "boot flag at offset 0x1fe is %#x, not 0xaa55 (corrupt image)",
                    get16(b, HDR_BOOT_FLAG));
    info->version = get16(b, HDR_VERSION);
    if (info->version < BZ_MIN_VERSION)
        return fail(err, name,
                    "boot protocol %u.%02u is too old; the 64-bit boot protocol needs 2.12 "
                    "(Linux 3.8 or newer)",
                    info->version >> 8, info->version & 0xff);
    info->header_end = HDR_JUMP + 2 + b[HDR_JUMP + 1];
    if (info->header_end < HDR_MIN_END || info->header_end > HDR_MAX_END)
        return fail(err, name, "setup header ends at %#x, outside [%#x, %#x] (corrupt image)",
                    info->header_end, HDR_MIN_END, HDR_MAX_END);

    info->setup_sects = b[HDR_SETUP_SECTS] ? b[HDR_SETUP_SECTS] : 4;
    if (info->setup_sects > BZ_MAX_SETUP_SECTS)
        return fail(err, name, "setup_sects is %u; no kernel has more than %u (corrupt image)",
                    info->setup_sects, BZ_MAX_SETUP_SECTS);
    info->setup_size = (uint64_t)(info->setup_sects + 1) * 512;
    if (info->setup_size >= len)
        return fail(err, name, "setup code (%" PRIu64 " bytes) reaches the end of the %zu-byte "
                    "file: no kernel follows (truncated image)", info->setup_size, len);
    /* syssize counts 16-byte paragraphs of the protected-mode kernel. */
    uint64_t syssize = (uint64_t)get32(b, HDR_SYSSIZE) * 16;
    if (syssize == 0 || syssize > len - info->setup_size)
        return fail(err, name, "syssize says the kernel is %" PRIu64 " bytes but the file holds "
                    "%" PRIu64 " after the setup code (truncated image)",
                    syssize, (uint64_t)(len - info->setup_size));
    info->kernel_size = len - info->setup_size;

    info->loadflags = b[HDR_LOADFLAGS];
    info->xloadflags = get16(b, HDR_XLOADFLAGS);
    info->relocatable = b[HDR_RELOCATABLE];
    info->kernel_alignment = get32(b, HDR_KERNEL_ALIGNMENT);
    info->initrd_addr_max = get32(b, HDR_INITRD_ADDR_MAX);
    info->cmdline_size = get32(b, HDR_CMDLINE_SIZE);
    info->pref_address = get64(b, HDR_PREF_ADDRESS);
    info->init_size = get32(b, HDR_INIT_SIZE);

    if (!(info->loadflags & BZ_LOADFLAG_LOADED_HIGH))
        return fail(err, name, "a zImage (loaded low); only bzImages can be booted");
    if (!(info->xloadflags & BZ_XLF_KERNEL_64))
        return fail(err, name, "the kernel has no 64-bit entry point (XLF_KERNEL_64 clear in "
                    "xloadflags); build an x86-64 kernel");
    if (info->kernel_alignment == 0 || (info->kernel_alignment & (info->kernel_alignment - 1)) ||
        info->kernel_alignment > (1u << 30))
        return fail(err, name, "kernel_alignment %#x is not a power of two up to 1 GiB",
                    info->kernel_alignment);
    if (info->init_size == 0 || info->init_size < info->kernel_size)
        return fail(err, name, "init_size %#x is smaller than the kernel (%#" PRIx64 " bytes)",
                    info->init_size, info->kernel_size);
    if (info->pref_address < BZ_HIGH_MEMORY || info->pref_address > UINT32_MAX ||
        (info->relocatable && info->pref_address % info->kernel_alignment))
        return fail(err, name, "pref_address %#" PRIx64 " is not a usable load address",
                    info->pref_address);
    if (info->initrd_addr_max < BZ_HIGH_MEMORY)
        return fail(err, name, "initrd_addr_max %#x lies below 1 MiB", info->initrd_addr_max);
    return 0;
}

static unsigned e820_add(e820_entry *map, unsigned n, unsigned max, uint64_t addr, uint64_t end,
                         uint32_t type)
{
    if (end > addr && n < max)
        map[n++] = (e820_entry){ addr, end - addr, type };
    return n;
}

unsigned bzimage_e820(const guest_memory *gm, e820_entry *map, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < gm->nr_banks; i++) {
        const guest_ram_bank *b = &gm->banks[i];
        uint64_t start = b->gpa, end = b->gpa + b->size;
        if (start < BZ_HIGH_MEMORY) {
            n = e820_add(map, n, max, start, MIN(end, BZ_EBDA_START), E820_RAM);
            n = e820_add(map, n, max, BZ_EBDA_START, 0xa0000, E820_RESERVED);
            n = e820_add(map, n, max, BZ_BIOS_START, BZ_HIGH_MEMORY, E820_RESERVED);
            start = BZ_HIGH_MEMORY;
        }
        n = e820_add(map, n, max, start, end, E820_RAM);
    }
    return n;
}

/* The first (low) bank's end: where RAM below the PCI hole stops. */
static uint64_t low_ram_end(const guest_memory *gm)
{
    return gm->nr_banks ? gm->banks[0].gpa + gm->banks[0].size : 0;
}

/* GDT, empty IDT and the page tables identity-mapping 4 GiB with 2 MiB pages. */
static int write_cpu_tables(const guest_memory *gm)
{
    const uint64_t gdt[] = {
        0,                   /* 0x00 null */
        0,                   /* 0x08 unused: the protocol wants code at 0x10 */
        0x00af9b000000ffffull, /* 0x10 __BOOT_CS: 64-bit code, exec/read, accessed */
        0x00cf93000000ffffull, /* 0x18 __BOOT_DS: flat 4 GiB data, read/write, accessed */
        0x00008b0000000067ull, /* 0x20 TSS (busy, 64-bit) at 0, limit 0x67 ... */
        0,                   /* ... its upper half (base 63:32) */
    };
    uint64_t table[512];

    if (guest_memory_write(gm, BZ_GDT_GPA, gdt, sizeof(gdt)) < 0)
        return -EFAULT;
    memset(table, 0, sizeof(table));
    if (guest_memory_write(gm, BZ_IDT_GPA, table, 16) < 0)
        return -EFAULT;
    table[0] = BZ_PDPT_GPA | PTE_PRESENT | PTE_WRITE;
    if (guest_memory_write(gm, BZ_PML4_GPA, table, sizeof(table)) < 0)
        return -EFAULT;
    memset(table, 0, sizeof(table));
    for (unsigned i = 0; i < PDE_COUNT / 512; i++)
        table[i] = (BZ_PD_GPA + i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
    if (guest_memory_write(gm, BZ_PDPT_GPA, table, sizeof(table)) < 0)
        return -EFAULT;
    for (unsigned d = 0; d < PDE_COUNT / 512; d++) {
        for (unsigned i = 0; i < 512; i++)
            table[i] = ((uint64_t)(d * 512 + i) << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
        if (guest_memory_write(gm, BZ_PD_GPA + d * PAGE_SIZE, table, sizeof(table)) < 0)
            return -EFAULT;
    }
    return 0;
}

static void set_cpu_state(boot_cpu_state *cpu, uint64_t kernel_gpa)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->long_mode = true;
    cpu->rip = kernel_gpa + BZ_ENTRY64_OFFSET;
    cpu->rsi = BZ_ZERO_PAGE_GPA;
    cpu->rsp = cpu->rbp = BZ_STACK_GPA;
    cpu->rflags = BOOT_RFLAGS_RESERVED; /* interrupts off */
    cpu->cr0 = BOOT_CR0_PE | BOOT_CR0_ET | BOOT_CR0_PG;
    cpu->cr3 = BZ_PML4_GPA;
    cpu->cr4 = BOOT_CR4_PAE;
    cpu->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
    cpu->gdt_base = BZ_GDT_GPA;
    cpu->gdt_limit = 6 * 8 - 1;
    cpu->idt_base = BZ_IDT_GPA;
    cpu->idt_limit = 0;
    cpu->cs = (boot_segment){ .base = 0, .limit = 0xffffffff, .selector = BZ_SEL_CODE,
                              .type = 0xb, .present = 1, .s = 1, .l = 1, .db = 0, .g = 1 };
    cpu->ds = (boot_segment){ .base = 0, .limit = 0xffffffff, .selector = BZ_SEL_DATA,
                              .type = 0x3, .present = 1, .s = 1, .l = 0, .db = 1, .g = 1 };
    cpu->tr = (boot_segment){ .base = 0, .limit = 0x67, .selector = BZ_SEL_TSS, .type = 0xb,
                              .present = 1, .s = 0 };
}

/* Highest page-aligned address for size bytes of initrd in [lowest, limit). 0 = no room. */
static uint64_t place_initrd(uint64_t lowest, uint64_t limit, uint64_t size)
{
    if (size > limit || limit - size < lowest)
        return 0;
    uint64_t gpa = (limit - size) & ~(PAGE_SIZE - 1);
    return gpa >= lowest ? gpa : 0;
}

int bzimage_load_buffer(const guest_memory *gm, const void *buf, size_t len, const char *name,
                        const bzimage_params *params, boot_cpu_state *cpu,
                        bzimage_layout *layout, GError **err)
{
    const uint8_t *b = buf;
    bzimage_info info;
    uint8_t zp[ZP_SIZE];
    bzimage_layout local;
    bzimage_layout *lay = layout ? layout : &local;
    const char *cmdline = params && params->cmdline ? params->cmdline : "";
    int ret;

    ret = bzimage_parse(buf, len, name, &info, err);
    if (ret < 0)
        return ret;
    memset(lay, 0, sizeof(*lay));

    /* The kernel: at its preferred address, with init_size bytes of RAM from there. */
    uint64_t low_end = low_ram_end(gm);
    lay->kernel_gpa = info.pref_address;
    lay->kernel_end = lay->kernel_gpa + MAX((uint64_t)info.init_size, info.kernel_size);
    if (lay->kernel_end > low_end)
        return fail(err, name, "the kernel needs RAM up to %" PRIu64 " MiB (loaded at %#" PRIx64
                    ", init_size %#x) but low RAM ends at %" PRIu64 " MiB; give the VM more memory",
                    (lay->kernel_end + (1 << 20) - 1) >> 20, lay->kernel_gpa, info.init_size,
                    low_end >> 20);
    if (guest_memory_write(gm, lay->kernel_gpa, b + info.setup_size, info.kernel_size) < 0)
        return fail(err, name, "the kernel does not fit in guest RAM at %#" PRIx64,
                    lay->kernel_gpa);

    /* The zero page: zeroed, the setup header copied from the image, then our fields. */
    memset(zp, 0, sizeof(zp));
    memcpy(zp + HDR_START, b + HDR_START, info.header_end - HDR_START);
    put16(zp, HDR_VID_MODE, BZ_VID_MODE_NORMAL);
    zp[HDR_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
    /* No real-mode code runs: no heap, and segment registers are already set up. */
    zp[HDR_LOADFLAGS] = (uint8_t)((info.loadflags | BZ_LOADFLAG_LOADED_HIGH) &
                                  ~BZ_LOADFLAG_CAN_USE_HEAP);
    put16(zp, HDR_HEAP_END_PTR, 0);

    size_t clen = strlen(cmdline);
    uint64_t cmax = MIN((uint64_t)info.cmdline_size, BZ_CMDLINE_MAX - 1);
    if (clen > cmax) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "kernel command line is %zu bytes; %s accepts at most %" PRIu64, clen, name,
                    cmax);
        return -EINVAL;
    }
    if (guest_memory_write(gm, BZ_CMDLINE_GPA, cmdline, clen + 1) < 0)
        goto no_room;
    lay->cmdline_gpa = BZ_CMDLINE_GPA;
    put32(zp, HDR_CMD_LINE_PTR, (uint32_t)BZ_CMDLINE_GPA);
    put32(zp, ZP_EXT_CMD_LINE_PTR, 0);

    if (params && params->initrd && params->initrd_len) {
        const char *iname = params->initrd_name ? params->initrd_name : "initrd";
        uint64_t limit = MIN(low_end, (uint64_t)info.initrd_addr_max + 1);
        uint64_t gpa = place_initrd(lay->kernel_end, limit, params->initrd_len);
        if (!gpa) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: the %zu-byte initrd does not fit between the kernel's end "
                        "(%#" PRIx64 ") and %#" PRIx64 "; give the VM more memory",
                        iname, params->initrd_len, lay->kernel_end, limit);
            return -EINVAL;
        }
        if (guest_memory_write(gm, gpa, params->initrd, params->initrd_len) < 0)
            goto no_room;
        lay->initrd_gpa = gpa;
        lay->initrd_size = params->initrd_len;
        put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)gpa);
        put32(zp, HDR_RAMDISK_SIZE, (uint32_t)params->initrd_len);
        put32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(gpa >> 32));
        put32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)params->initrd_len >> 32));
    }

    put64(zp, ZP_ACPI_RSDP_ADDR, params ? params->rsdp : 0);
    lay->nr_e820 = bzimage_e820(gm, lay->e820, BZ_E820_MAX);
    zp[ZP_E820_ENTRIES] = (uint8_t)lay->nr_e820;
    for (unsigned i = 0; i < lay->nr_e820; i++) {
        size_t off = ZP_E820_TABLE + (size_t)i * 20;
        put64(zp, off, lay->e820[i].addr);
        put64(zp, off + 8, lay->e820[i].size);
        put32(zp, off + 16, lay->e820[i].type);
    }
    if (guest_memory_write(gm, BZ_ZERO_PAGE_GPA, zp, sizeof(zp)) < 0 || write_cpu_tables(gm) < 0)
        goto no_room;

    set_cpu_state(cpu, lay->kernel_gpa);
    return 0;

no_room:
    return fail(err, name, "guest RAM too small for the boot data below 1 MiB");
}
