/* SPDX-License-Identifier: MIT */
/*
 * bzImage loader on synthetic images: a well-formed one loads with the documented layout;
 * every malformed header field is a clean, specific error. test_bzimage_linux does the
 * same on the real Debian kernel.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "boot/boot.h"
#include "boot/bzimage.h"
#include "boot_test_util.h"

#define SETUP_SECTS 4
#define KERNEL_BYTES 0x10000
#define PREF 0x1000000u
#define INIT_SIZE 0x200000u

typedef struct image {
    uint8_t *bytes;
    size_t len;
} image;

static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v, p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v), put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v), put32(p, off + 4, (uint32_t)(v >> 32)); }

/* A bzImage with protocol 2.15, 4 setup sectors and a 64 KiB "kernel" of a known pattern. */
static void build(image *img)
{
    size_t setup = (SETUP_SECTS + 1) * 512;
    img->len = setup + KERNEL_BYTES;
    img->bytes = calloc(1, img->len);
    uint8_t *b = img->bytes;
    b[0x1f1] = SETUP_SECTS;
    put32(b, 0x1f4, KERNEL_BYTES / 16);
    put16(b, 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    put16(b, 0x206, 0x020f);
    b[0x211] = BZ_LOADFLAG_LOADED_HIGH | BZ_LOADFLAG_CAN_USE_HEAP;
    put32(b, 0x214, 0x100000);
    put32(b, 0x22c, 0x7fffffff);
    put32(b, 0x230, 0x200000);
    b[0x234] = 1;
    put16(b, 0x236, BZ_XLF_KERNEL_64 | BZ_XLF_CAN_BE_LOADED_ABOVE_4G);
    put32(b, 0x238, 2047);
    put64(b, 0x258, PREF);
    put32(b, 0x260, INIT_SIZE);
    for (size_t i = 0; i < KERNEL_BYTES; i++)
        b[setup + i] = (uint8_t)(i * 7 + 3);
}

static void expect_rejected(const image *img, size_t len, const char *want)
{
    bzimage_info info;
    GError *err = NULL;

    ck_assert_int_eq(bzimage_parse(img->bytes, len, "vmlinuz", &info, &err), -EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, want), "message \"%s\" lacks \"%s\"", err->message, want);
    ck_assert_msg(!strncmp(err->message, "vmlinuz: ", 9), "message names the file: %s",
                  err->message);
    ck_assert_msg(!strchr(err->message, '\n'), "one line: %s", err->message);
    g_error_free(err);
}

START_TEST(test_parse_good)
{
    image img;
    bzimage_info info;

    build(&img);
    ck_assert_int_eq(bzimage_parse(img.bytes, img.len, "vmlinuz", &info, NULL), 0);
    ck_assert_uint_eq(info.version, 0x020f);
    ck_assert_uint_eq(info.setup_sects, SETUP_SECTS);
    ck_assert_uint_eq(info.setup_size, 5 * 512);
    ck_assert_uint_eq(info.kernel_size, KERNEL_BYTES);
    ck_assert_uint_eq(info.pref_address, PREF);
    ck_assert_uint_eq(info.init_size, INIT_SIZE);
    ck_assert_uint_eq(info.cmdline_size, 2047);
    ck_assert_uint_eq(info.header_end, 0x26c);
    /* setup_sects 0 means 4 */
    img.bytes[0x1f1] = 0;
    ck_assert_int_eq(bzimage_parse(img.bytes, img.len, "vmlinuz", &info, NULL), 0);
    ck_assert_uint_eq(info.setup_sects, 4);
    free(img.bytes);
}
END_TEST

START_TEST(test_malformed)
{
    image img;

    build(&img);
    expect_rejected(&img, 0x100, "no \"HdrS\" magic");
    expect_rejected(&img, 0x250, "truncated");
    expect_rejected(&img, 5 * 512, "truncated image");           /* setup, no kernel */
    expect_rejected(&img, 5 * 512 + 0x100, "syssize");           /* kernel cut short */
    memcpy(img.bytes + 0x202, "HdrZ", 4);
    expect_rejected(&img, img.len, "no \"HdrS\" magic");
    memcpy(img.bytes + 0x202, "HdrS", 4);

    put16(img.bytes, 0x1fe, 0x1234);
    expect_rejected(&img, img.len, "boot flag");
    put16(img.bytes, 0x1fe, 0xaa55);

    put16(img.bytes, 0x206, 0x020b);
    expect_rejected(&img, img.len, "boot protocol 2.11 is too old");
    put16(img.bytes, 0x206, 0x020f);

    img.bytes[0x1f1] = 200;
    expect_rejected(&img, img.len, "setup_sects is 200");
    img.bytes[0x1f1] = 130; /* 64 KiB + of setup: past the end of this 66 KiB file */
    expect_rejected(&img, img.len, "setup_sects");
    img.bytes[0x1f1] = SETUP_SECTS;

    put32(img.bytes, 0x1f4, 0x10000000);
    expect_rejected(&img, img.len, "syssize says the kernel is");
    put32(img.bytes, 0x1f4, 0);
    expect_rejected(&img, img.len, "syssize");
    put32(img.bytes, 0x1f4, KERNEL_BYTES / 16);

    img.bytes[0x201] = 0x10; /* header too short for 2.12 fields */
    expect_rejected(&img, img.len, "setup header ends at");
    img.bytes[0x201] = 0xf0;
    expect_rejected(&img, img.len, "setup header ends at");
    img.bytes[0x201] = 0x6a;

    put16(img.bytes, 0x236, BZ_XLF_CAN_BE_LOADED_ABOVE_4G);
    expect_rejected(&img, img.len, "no 64-bit entry point");
    put16(img.bytes, 0x236, BZ_XLF_KERNEL_64);

    img.bytes[0x211] = 0;
    expect_rejected(&img, img.len, "zImage");
    img.bytes[0x211] = BZ_LOADFLAG_LOADED_HIGH;

    put32(img.bytes, 0x230, 0x300000);
    expect_rejected(&img, img.len, "kernel_alignment 0x300000");
    put32(img.bytes, 0x230, 0);
    expect_rejected(&img, img.len, "kernel_alignment");
    put32(img.bytes, 0x230, 0x200000);

    put32(img.bytes, 0x260, 0);
    expect_rejected(&img, img.len, "init_size");
    put32(img.bytes, 0x260, 0x100);
    expect_rejected(&img, img.len, "init_size");
    put32(img.bytes, 0x260, INIT_SIZE);

    put64(img.bytes, 0x258, 0x1001000); /* not aligned for a relocatable kernel */
    expect_rejected(&img, img.len, "pref_address");
    put64(img.bytes, 0x258, 0x1000);
    expect_rejected(&img, img.len, "pref_address");
    put64(img.bytes, 0x258, 0x500000000ull);
    expect_rejected(&img, img.len, "pref_address");
    put64(img.bytes, 0x258, PREF);

    put32(img.bytes, 0x22c, 0x1000);
    expect_rejected(&img, img.len, "initrd_addr_max");
    put32(img.bytes, 0x22c, 0x7fffffff);

    bzimage_info info;
    ck_assert_int_eq(bzimage_parse(img.bytes, img.len, "vmlinuz", &info, NULL), 0);
    free(img.bytes);
}
END_TEST

/* Every single-byte corruption of the header parses or fails cleanly, never crashes. */
START_TEST(test_header_fuzz)
{
    image img;
    bzimage_info info;
    fake_ram ram;
    boot_cpu_state cpu;

    build(&img);
    fake_ram_init(&ram, 64 << 20);
    for (size_t off = 0x1f1; off < 0x270; off++) {
        for (unsigned v = 0; v < 256; v += 51) {
            uint8_t old = img.bytes[off];
            img.bytes[off] = (uint8_t)v;
            GError *err = NULL;
            int r = bzimage_parse(img.bytes, img.len, "vmlinuz", &info, &err);
            ck_assert(r == 0 || (r == -EINVAL && err));
            g_clear_error(&err);
            r = bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", NULL, &cpu, NULL, &err);
            ck_assert(r == 0 || (r == -EINVAL && err));
            g_clear_error(&err);
            img.bytes[off] = old;
        }
    }
    fake_ram_free(&ram);
    free(img.bytes);
}
END_TEST

START_TEST(test_load_layout)
{
    image img;
    fake_ram ram;
    boot_cpu_state cpu;
    bzimage_layout lay;
    static const char initrd[] = "070701 pretend cpio";
    bzimage_params p = { .cmdline = "console=ttyS0 quiet", .initrd = initrd,
                         .initrd_len = sizeof(initrd), .rsdp = 0xe0000 };

    build(&img);
    fake_ram_init(&ram, 64 << 20);
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", &p, &cpu, &lay,
                                         NULL), 0);
    /* kernel at pref_address, byte for byte */
    ck_assert_uint_eq(lay.kernel_gpa, PREF);
    ck_assert_uint_eq(lay.kernel_end, PREF + INIT_SIZE);
    ck_assert(!memcmp(gpa_ptr(&ram, PREF, KERNEL_BYTES), img.bytes + 5 * 512, KERNEL_BYTES));
    /* zero page */
    const uint8_t *zp = gpa_ptr(&ram, BZ_ZERO_PAGE_GPA, 4096);
    ck_assert(!memcmp(zp + 0x202, "HdrS", 4));
    ck_assert_uint_eq(zp[0x210], 0xff);                 /* type_of_loader */
    ck_assert_uint_eq(zp[0x211] & BZ_LOADFLAG_LOADED_HIGH, BZ_LOADFLAG_LOADED_HIGH);
    ck_assert_uint_eq(zp[0x211] & BZ_LOADFLAG_CAN_USE_HEAP, 0);
    ck_assert_uint_eq(rd16(zp + 0x1fa), 0xffff);        /* vid_mode */
    ck_assert_uint_eq(rd32(zp + 0x228), BZ_CMDLINE_GPA);
    ck_assert_str_eq((const char *)gpa_ptr(&ram, BZ_CMDLINE_GPA, 64), "console=ttyS0 quiet");
    ck_assert_uint_eq(rd64(zp + 0x070), 0xe0000);       /* acpi_rsdp_addr */
    /* initrd at the top of low RAM, page aligned */
    ck_assert_uint_eq(rd32(zp + 0x218), lay.initrd_gpa);
    ck_assert_uint_eq(rd32(zp + 0x21c), sizeof(initrd));
    ck_assert_uint_eq(lay.initrd_gpa, ((64u << 20) - sizeof(initrd)) & ~0xfffu);
    ck_assert(!memcmp(gpa_ptr(&ram, lay.initrd_gpa, sizeof(initrd)), initrd, sizeof(initrd)));
    /* e820: 64 MiB, one bank */
    ck_assert_uint_eq(zp[0x1e8], 4);
    ck_assert_uint_eq(lay.nr_e820, 4);
    const struct { uint64_t a, s; uint32_t t; } want[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 },
        { 0x100000, (64 << 20) - 0x100000, 1 },
    };
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        ck_assert_uint_eq(rd64(e), want[i].a);
        ck_assert_uint_eq(rd64(e + 8), want[i].s);
        ck_assert_uint_eq(rd32(e + 16), want[i].t);
    }
    /* entry state */
    ck_assert(cpu.long_mode);
    ck_assert_uint_eq(cpu.rip, PREF + 0x200);
    ck_assert_uint_eq(cpu.rsi, BZ_ZERO_PAGE_GPA);
    ck_assert_uint_eq(cpu.cs.selector, 0x10);
    ck_assert_uint_eq(cpu.ds.selector, 0x18);
    fake_ram_free(&ram);
    free(img.bytes);
}
END_TEST

START_TEST(test_load_errors)
{
    image img;
    fake_ram ram;
    boot_cpu_state cpu;
    GError *err = NULL;

    build(&img);
    /* RAM ends before pref_address + init_size */
    fake_ram_init(&ram, 16 << 20);
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", NULL, &cpu, NULL,
                                         &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "needs RAM up to 18 MiB"), "%s", err->message);
    g_clear_error(&err);
    fake_ram_free(&ram);

    fake_ram_init(&ram, 32 << 20);
    /* command line longer than cmdline_size */
    char *longline = g_strnfill(2048, 'x');
    bzimage_params p = { .cmdline = longline };
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", &p, &cpu, NULL,
                                         &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "at most 2047"), "%s", err->message);
    g_clear_error(&err);
    g_free(longline);
    /* initrd that cannot fit between the kernel and the end of RAM */
    size_t big = 15 << 20;
    p = (bzimage_params){ .initrd = calloc(1, big), .initrd_len = big, .initrd_name = "big.cpio" };
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", &p, &cpu, NULL,
                                         &err), -EINVAL);
    ck_assert_msg(strstr(err->message, "big.cpio: the 15728640-byte initrd does not fit"), "%s",
                  err->message);
    g_clear_error(&err);
    /* the initrd must stay below initrd_addr_max */
    put32(img.bytes, 0x22c, (20 << 20) - 1);
    p.initrd_len = 4 << 20;
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", &p, &cpu, NULL,
                                         &err), -EINVAL);
    g_clear_error(&err);
    p.initrd_len = 1 << 20;
    bzimage_layout lay;
    ck_assert_int_eq(bzimage_load_buffer(&ram.gm, img.bytes, img.len, "vmlinuz", &p, &cpu, &lay,
                                         NULL), 0);
    ck_assert_uint_eq(lay.initrd_gpa, 19 << 20);
    free((void *)p.initrd);
    fake_ram_free(&ram);
    free(img.bytes);
}
END_TEST

START_TEST(test_e820_high_ram)
{
    guest_memory gm = { .nr_banks = 2 };
    e820_entry map[8];

    gm.banks[0] = (guest_ram_bank){ 0, GUEST_PCI_HOLE_START, NULL };
    gm.banks[1] = (guest_ram_bank){ GUEST_HIGH_RAM_START, 1ull << 30, NULL };
    ck_assert_uint_eq(bzimage_e820(&gm, map, 8), 5);
    ck_assert_uint_eq(map[3].addr, 0x100000);
    ck_assert_uint_eq(map[3].addr + map[3].size, GUEST_PCI_HOLE_START);
    ck_assert_uint_eq(map[4].addr, GUEST_HIGH_RAM_START);
    ck_assert_uint_eq(map[4].size, 1ull << 30);
    ck_assert_uint_eq(map[4].type, E820_RAM);
    /* a short table is cut, never overrun */
    ck_assert_uint_eq(bzimage_e820(&gm, map, 2), 2);
}
END_TEST

static char *write_temp(const char *name, const void *data, size_t len)
{
    char *dir = g_dir_make_tmp("tessera-boot-XXXXXX", NULL);
    char *path = g_build_filename(dir, name, NULL);
    ck_assert(g_file_set_contents(path, data, (gssize)len, NULL));
    g_free(dir);
    return path;
}

static void remove_temp(char *path)
{
    char *dir = g_path_get_dirname(path);
    g_unlink(path);
    g_rmdir(dir);
    g_free(dir);
    g_free(path);
}

START_TEST(test_detect)
{
    image img;
    boot_kernel_kind kind;
    GError *err = NULL;
    static const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    static const char text[] = "#!/bin/sh\necho I am not a kernel\n";

    build(&img);
    ck_assert_int_eq(boot_detect(img.bytes, img.len), BOOT_KERNEL_BZIMAGE);
    ck_assert_int_eq(boot_detect(elf, sizeof(elf)), BOOT_KERNEL_PVH_ELF);
    ck_assert_int_eq(boot_detect(text, sizeof(text)), BOOT_KERNEL_UNKNOWN);
    ck_assert_int_eq(boot_detect(NULL, 0), BOOT_KERNEL_UNKNOWN);
    ck_assert_str_eq(boot_kernel_kind_name(BOOT_KERNEL_BZIMAGE), "bzImage");

    char *path = write_temp("bz", img.bytes, img.len);
    ck_assert_int_eq(boot_detect_file(path, &kind, NULL), 0);
    ck_assert_int_eq(kind, BOOT_KERNEL_BZIMAGE);
    remove_temp(path);

    path = write_temp("script.sh", text, sizeof(text));
    ck_assert_int_eq(boot_detect_file(path, &kind, &err), -EINVAL);
    ck_assert_msg(strstr(err->message, path) && strstr(err->message, "HdrS") &&
                      strstr(err->message, "ELF") && strstr(err->message, "23 21 2f 62") &&
                      strstr(err->message, "too short"),
                  "%s", err->message);
    g_clear_error(&err);
    remove_temp(path);

    ck_assert_int_eq(boot_detect_file("/nonexistent/vmlinuz", &kind, &err), -ENOENT);
    ck_assert_msg(strstr(err->message, "cannot read kernel") &&
                      strstr(err->message, "/nonexistent/vmlinuz"), "%s", err->message);
    g_clear_error(&err);
    free(img.bytes);
}
END_TEST

/* boot_load_kernel end to end on a synthetic bzImage: ACPI RSDP reaches boot_params. */
START_TEST(test_boot_load_kernel)
{
    image img;
    fake_ram ram;
    boot_result br;
    GError *err = NULL;

    build(&img);
    fake_ram_init(&ram, 64 << 20);
    char *kpath = write_temp("bzImage", img.bytes, img.len);
    char *ipath = write_temp("initrd", "hello initrd", 12);
    boot_config bc = { .kernel = kpath, .initrd = ipath, .cmdline = "x=1", .nr_vcpus = 2,
                       .acpi = true };
    ck_assert_int_eq(boot_load_kernel(&ram.gm, &bc, &br, &err), 0);
    ck_assert_int_eq(br.kind, BOOT_KERNEL_BZIMAGE);
    ck_assert_uint_eq(br.rsdp, 0xe0000);
    ck_assert(!memcmp(gpa_ptr(&ram, 0xe0000, 8), "RSD PTR ", 8));
    const uint8_t *zp = gpa_ptr(&ram, BZ_ZERO_PAGE_GPA, 4096);
    ck_assert_uint_eq(rd64(zp + 0x70), 0xe0000);
    ck_assert_uint_eq(rd32(zp + 0x218), br.initrd_gpa);
    ck_assert(!memcmp(gpa_ptr(&ram, br.initrd_gpa, 12), "hello initrd", 12));
    ck_assert_uint_eq(br.cpu.rip, PREF + 0x200);

    /* a missing initrd names the initrd */
    bc.initrd = "/nonexistent/initrd.img";
    ck_assert_int_eq(boot_load_kernel(&ram.gm, &bc, &br, &err), -ENOENT);
    ck_assert_msg(strstr(err->message, "cannot read initrd"), "%s", err->message);
    g_clear_error(&err);
    remove_temp(kpath);
    remove_temp(ipath);
    fake_ram_free(&ram);
    free(img.bytes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bzimage");
    TCase *tc = tcase_create("bzimage");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_header_fuzz);
    tcase_add_test(tc, test_load_layout);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_e820_high_ram);
    tcase_add_test(tc, test_detect);
    tcase_add_test(tc, test_boot_load_kernel);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
