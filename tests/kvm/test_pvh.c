/* SPDX-License-Identifier: MIT */
/* PVH loader: well-formed images load correctly; malformed ones fail cleanly. */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/pvh.h"
#include "boot/start_info.h"

#define LOAD_ADDR 0x100000u
#define ENTRY 0x100040u
#define RAM_SIZE (4u << 20)

/* A minimal ELF64 PVH image: header, a PT_LOAD and a PT_NOTE program header, payload, note. */
struct image {
    uint8_t bytes[1024];
    size_t len;
    size_t note_off; /* where the note starts */
};

static void build_elf64(struct image *img, uint32_t note_desc_size)
{
    Elf64_Ehdr eh = { 0 };
    Elf64_Phdr ph[2] = { { 0 } };
    size_t payload_off = sizeof(eh) + sizeof(ph), payload_len = 0x80;
    size_t note_off = payload_off + payload_len;
    uint32_t note_hdr[3] = { 4, note_desc_size, XEN_ELFNOTE_PHYS32_ENTRY };
    uint64_t entry = ENTRY;

    memset(img, 0, sizeof(*img));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = LOAD_ADDR;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 2;
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = payload_off, .p_vaddr = LOAD_ADDR,
                          .p_paddr = LOAD_ADDR, .p_filesz = payload_len, .p_memsz = 0x1000 };
    ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off,
                          .p_filesz = 12 + 4 + ((note_desc_size + 3) & ~3u) };
    memcpy(img->bytes, &eh, sizeof(eh));
    memcpy(img->bytes + sizeof(eh), ph, sizeof(ph));
    memset(img->bytes + payload_off, 0xcc, payload_len);
    memcpy(img->bytes + note_off, note_hdr, sizeof(note_hdr));
    memcpy(img->bytes + note_off + 12, "Xen", 4);
    memcpy(img->bytes + note_off + 16, &entry, note_desc_size <= 8 ? note_desc_size : 8);
    img->note_off = note_off;
    img->len = note_off + ph[1].p_filesz;
}

static void build_elf32(struct image *img)
{
    Elf32_Ehdr eh = { 0 };
    Elf32_Phdr ph[2] = { { 0 } };
    size_t payload_off = sizeof(eh) + sizeof(ph), payload_len = 0x40;
    size_t note_off = payload_off + payload_len;
    uint32_t note[5] = { 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0, ENTRY };

    memset(img, 0, sizeof(*img));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_386;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = 2;
    ph[0] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = payload_off, .p_paddr = LOAD_ADDR,
                          .p_filesz = payload_len, .p_memsz = payload_len };
    ph[1] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = sizeof(note) };
    memcpy(&note[3], "Xen", 4);
    memcpy(img->bytes, &eh, sizeof(eh));
    memcpy(img->bytes + sizeof(eh), ph, sizeof(ph));
    memset(img->bytes + payload_off, 0x90, payload_len);
    memcpy(img->bytes + note_off, note, sizeof(note));
    img->len = note_off + sizeof(note);
}

static Elf64_Ehdr *ehdr64(struct image *img)
{
    return (Elf64_Ehdr *)img->bytes;
}

static Elf64_Phdr *phdr64(struct image *img, int i)
{
    return (Elf64_Phdr *)(img->bytes + sizeof(Elf64_Ehdr)) + i;
}

/* Parses img and expects -EINVAL with a message containing want. */
static void expect_rejected(const struct image *img, size_t len, const char *want)
{
    pvh_image out;
    GError *err = NULL;

    ck_assert_int_eq(pvh_parse(img->bytes, len, "k.elf", &out, &err), -EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, want), "message \"%s\" lacks \"%s\"", err->message, want);
    ck_assert_msg(!strncmp(err->message, "k.elf: ", 7), "message names the file: %s", err->message);
    g_error_free(err);
}

START_TEST(test_parse_elf64)
{
    struct image img;
    pvh_image out;

    build_elf64(&img, 4);
    ck_assert_int_eq(pvh_parse(img.bytes, img.len, "k.elf", &out, NULL), 0);
    ck_assert_uint_eq(out.entry, ENTRY);
    ck_assert_uint_eq(out.nr_segments, 1);
    ck_assert_uint_eq(out.segments[0].paddr, LOAD_ADDR);
    ck_assert_uint_eq(out.segments[0].memsz, 0x1000);
    /* An 8-byte descriptor is accepted too. */
    build_elf64(&img, 8);
    ck_assert_int_eq(pvh_parse(img.bytes, img.len, "k.elf", &out, NULL), 0);
    ck_assert_uint_eq(out.entry, ENTRY);
}
END_TEST

START_TEST(test_parse_elf32)
{
    struct image img;
    pvh_image out;

    build_elf32(&img);
    ck_assert_int_eq(pvh_parse(img.bytes, img.len, "k.elf", &out, NULL), 0);
    ck_assert_uint_eq(out.entry, ENTRY);
    ck_assert_uint_eq(out.segments[0].filesz, 0x40);
}
END_TEST

START_TEST(test_malformed_headers)
{
    struct image img;

    build_elf64(&img, 4);
    expect_rejected(&img, 0, "not an ELF file");
    expect_rejected(&img, 3, "not an ELF file");
    expect_rejected(&img, 40, "truncated ELF header");

    build_elf64(&img, 4);
    img.bytes[EI_CLASS] = 7;
    expect_rejected(&img, img.len, "ELF class");
    build_elf64(&img, 4);
    img.bytes[EI_DATA] = ELFDATA2MSB;
    expect_rejected(&img, img.len, "little-endian");
    build_elf64(&img, 4);
    ehdr64(&img)->e_type = ET_DYN;
    expect_rejected(&img, img.len, "ET_EXEC");
    build_elf64(&img, 4);
    ehdr64(&img)->e_machine = EM_AARCH64;
    expect_rejected(&img, img.len, "not for x86");
    build_elf64(&img, 4);
    ehdr64(&img)->e_phnum = 0;
    expect_rejected(&img, img.len, "no usable program headers");
    build_elf64(&img, 4);
    ehdr64(&img)->e_phentsize = 8;
    expect_rejected(&img, img.len, "no usable program headers");
    build_elf64(&img, 4);
    ehdr64(&img)->e_phoff = UINT64_MAX - 8;
    expect_rejected(&img, img.len, "program headers lie outside");
    build_elf64(&img, 4);
    ehdr64(&img)->e_phnum = 0xffff;
    expect_rejected(&img, img.len, "program headers lie outside");
}
END_TEST

START_TEST(test_malformed_segments)
{
    struct image img;

    build_elf64(&img, 4);
    phdr64(&img, 0)->p_offset = img.len;
    expect_rejected(&img, img.len, "segment lies outside the file");
    build_elf64(&img, 4);
    phdr64(&img, 0)->p_filesz = UINT64_MAX;
    expect_rejected(&img, img.len, "segment lies outside the file");
    build_elf64(&img, 4);
    phdr64(&img, 0)->p_memsz = 0x10;
    expect_rejected(&img, img.len, "file size exceeds");
    build_elf64(&img, 4);
    phdr64(&img, 0)->p_paddr = UINT64_MAX - 0x10;
    expect_rejected(&img, img.len, "wraps around");
    build_elf64(&img, 4);
    phdr64(&img, 0)->p_type = PT_NULL;
    expect_rejected(&img, img.len, "no loadable segments");
}
END_TEST

START_TEST(test_malformed_notes)
{
    struct image img;
    uint32_t v;

    build_elf64(&img, 4);
    phdr64(&img, 1)->p_type = PT_NULL; /* no note at all */
    expect_rejected(&img, img.len, "no PVH entry");
    build_elf64(&img, 4);
    memcpy(img.bytes + img.note_off + 12, "Xex", 4); /* another owner's note */
    expect_rejected(&img, img.len, "no PVH entry");
    build_elf64(&img, 4);
    v = 0xfffffff0; /* name size running past the segment */
    memcpy(img.bytes + img.note_off, &v, 4);
    expect_rejected(&img, img.len, "note runs past");
    build_elf64(&img, 4);
    v = 0x7fffffff; /* descriptor size running past the segment */
    memcpy(img.bytes + img.note_off + 4, &v, 4);
    expect_rejected(&img, img.len, "note runs past");
    build_elf64(&img, 12);
    expect_rejected(&img, img.len, "neither 4 nor 8");
    build_elf64(&img, 8);
    uint64_t high = 0x100000000ull;
    memcpy(img.bytes + img.note_off + 16, &high, 8);
    expect_rejected(&img, img.len, "above 4 GiB");
}
END_TEST

/* Every truncation and every single-byte corruption must parse or fail, never crash. */
START_TEST(test_truncations_and_corruptions)
{
    struct image img, bad;
    pvh_image out;

    build_elf64(&img, 4);
    for (size_t len = 0; len < img.len; len++) {
        GError *err = NULL;
        ck_assert_int_eq(pvh_parse(img.bytes, len, "k.elf", &out, &err), -EINVAL);
        g_error_free(err);
    }
    for (size_t pos = 0; pos < img.len; pos++) {
        for (unsigned v = 0; v < 256; v += 51) {
            GError *err = NULL;
            bad = img;
            bad.bytes[pos] = (uint8_t)v;
            /* Copy to an exact-size heap buffer so ASan sees any overread. */
            uint8_t *buf = g_memdup2(bad.bytes, bad.len);
            int r = pvh_parse(buf, bad.len, "k.elf", &out, &err);
            ck_assert(r == 0 || (r == -EINVAL && err));
            g_clear_error(&err);
            g_free(buf);
        }
    }
}
END_TEST

static uint8_t *ram_host;
static guest_memory gm;

static void ram_setup(void)
{
    ts_memory_region ram = { .size = RAM_SIZE, .fd = -1, .page_size = 4096 };
    ram_host = calloc(1, RAM_SIZE);
    ram.host = ram_host;
    ck_assert_int_eq(guest_memory_init(&gm, &ram, NULL), 0);
}

static void ram_teardown(void)
{
    free(ram_host);
}

START_TEST(test_load_places_everything)
{
    struct image img;
    pvh_boot boot;
    struct hvm_start_info si;
    struct hvm_memmap_table_entry map[4];

    build_elf64(&img, 4);
    ram_host[LOAD_ADDR + 0x100] = 0x77; /* stale byte in the segment's zero-filled tail */
    ck_assert_int_eq(pvh_load_buffer(&gm, img.bytes, img.len, "k.elf", "console=ttyS0 x=1",
                                     &boot, NULL),
                     0);
    ck_assert_uint_eq(boot.entry, ENTRY);
    ck_assert_uint_eq(boot.start_info, PVH_INFO_GPA);
    ck_assert_uint_eq(ram_host[LOAD_ADDR], 0xcc);
    ck_assert_uint_eq(ram_host[LOAD_ADDR + 0x7f], 0xcc);
    ck_assert_uint_eq(ram_host[LOAD_ADDR + 0x100], 0);

    memcpy(&si, ram_host + PVH_INFO_GPA, sizeof(si));
    ck_assert_uint_eq(si.magic, HVM_START_MAGIC);
    ck_assert_uint_eq(si.version, 1);
    ck_assert_str_eq((char *)ram_host + si.cmdline_paddr, "console=ttyS0 x=1");
    ck_assert_uint_eq(si.memmap_entries, 2);
    memcpy(map, ram_host + si.memmap_paddr, 2 * sizeof(map[0]));
    ck_assert_uint_eq(map[0].addr, 0);
    ck_assert_uint_eq(map[0].size, 0xa0000);
    ck_assert_uint_eq(map[0].type, HVM_MEMMAP_TYPE_RAM);
    ck_assert_uint_eq(map[1].addr, 0x100000);
    ck_assert_uint_eq(map[1].size, RAM_SIZE - 0x100000);
}
END_TEST

START_TEST(test_load_rejects_bad_placement)
{
    struct image img;
    pvh_boot boot;
    GError *err = NULL;

    build_elf64(&img, 4);
    phdr64(&img, 0)->p_paddr = RAM_SIZE - 0x10; /* runs past the end of RAM */
    ck_assert_int_eq(pvh_load_buffer(&gm, img.bytes, img.len, "k.elf", NULL, &boot, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "does not fit in guest RAM"));
    g_clear_error(&err);

    build_elf64(&img, 4);
    phdr64(&img, 0)->p_paddr = PVH_INFO_GPA; /* on top of the start info */
    ck_assert_int_eq(pvh_load_buffer(&gm, img.bytes, img.len, "k.elf", NULL, &boot, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "overlaps the boot data"));
    g_clear_error(&err);

    build_elf64(&img, 4);
    char *huge = g_malloc(PVH_CMDLINE_MAX + 1);
    memset(huge, 'a', PVH_CMDLINE_MAX);
    huge[PVH_CMDLINE_MAX] = '\0';
    ck_assert_int_eq(pvh_load_buffer(&gm, img.bytes, img.len, "k.elf", huge, &boot, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "command line"));
    g_clear_error(&err);
    g_free(huge);
}
END_TEST

START_TEST(test_load_missing_file)
{
    pvh_boot boot;
    GError *err = NULL;

    ck_assert_int_eq(pvh_load_file(&gm, "/nonexistent/kernel.elf", NULL, &boot, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err->message, "/nonexistent/kernel.elf"));
    g_error_free(err);
}
END_TEST

START_TEST(test_load_hello_guest)
{
    pvh_boot boot;
    GError *err = NULL;
    char *path = g_build_filename(TESSERA_GUEST_DIR, "hello.elf", NULL);

    int r = pvh_load_file(&gm, path, "token=tessera-guest", &boot, &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    ck_assert_uint_ge(boot.entry, LOAD_ADDR);
    ck_assert_uint_lt(boot.entry, LOAD_ADDR + 0x100000);
    g_free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pvh");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_elf64);
    tcase_add_test(parse, test_parse_elf32);
    tcase_add_test(parse, test_malformed_headers);
    tcase_add_test(parse, test_malformed_segments);
    tcase_add_test(parse, test_malformed_notes);
    tcase_add_test(parse, test_truncations_and_corruptions);
    suite_add_tcase(s, parse);
    TCase *load = tcase_create("load");
    tcase_add_checked_fixture(load, ram_setup, ram_teardown);
    tcase_add_test(load, test_load_places_everything);
    tcase_add_test(load, test_load_rejects_bad_placement);
    tcase_add_test(load, test_load_missing_file);
    if (TESSERA_GUEST_DIR[0])
        tcase_add_test(load, test_load_hello_guest);
    suite_add_tcase(s, load);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
