/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk-pci through the testkit: a small virtio driver (vdrv.c) runs requests against
 * raw and VMDK drives, and a hostile one breaks every ring rule; the process must survive
 * and other queues keep working. Data written is checked by reading it back through the
 * device and, after the drive is closed, in the image files (qemu-img compare when
 * qemu-img is installed).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdrv.h"

#define T_IN 0u
#define T_OUT 1u
#define T_FLUSH 4u
#define T_GET_ID 8u
#define T_DISCARD 11u
#define T_WRITE_ZEROES 13u
#define S_OK 0u
#define S_IOERR 1u
#define S_UNSUPP 2u
#define NEEDS_RESET 0x40u

#define F_SEG_MAX (1ull << 2)
#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_MQ (1ull << 12)
#define F_DISCARD (1ull << 13)
#define F_WRITE_ZEROES (1ull << 14)
#define F_BLK_ALL (F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_DISCARD | F_WRITE_ZEROES | F_MQ | F_RO)

#define DISK_SIZE (16u << 20)

static tk_machine *m;
static char *dir, *raw_path, *ref_path;

static void setup(void)
{
    dir = g_dir_make_tmp("vblk-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    raw_path = g_build_filename(dir, "disk.raw", NULL);
    ref_path = g_build_filename(dir, "ref.raw", NULL);
    for (int i = 0; i < 2; i++) {
        int fd = open(i ? ref_path : raw_path, O_CREAT | O_RDWR | O_TRUNC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, DISK_SIZE), 0);
        close(fd);
    }
    m = tk_machine_new(0);
    ck_assert_ptr_nonnull(m);
}

static void rm_tree(const char *path)
{
    GDir *g = g_dir_open(path, 0, NULL);
    const char *name;
    while (g && (name = g_dir_read_name(g))) {
        g_autofree char *p = g_build_filename(path, name, NULL);
        g_unlink(p);
    }
    if (g)
        g_dir_close(g);
    g_rmdir(path);
}

static void teardown(void)
{
    tk_machine_free(m); /* devices first, then the drives */
    m = NULL;
    rm_tree(dir);
    g_free(dir);
    g_free(raw_path);
    g_free(ref_path);
}

static void drive(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void drive(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *spec = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ck_assert_msg(tk_drive_add(m, spec) == 0, "%s: %s", spec, tk_error(m));
}

static tk_device *device(const char *spec)
{
    tk_device *dev = tk_device_add(m, spec);
    ck_assert_msg(dev != NULL, "%s: %s", spec, tk_error(m));
    return dev;
}

static tk_device *dev0;

/* A raw drive d0 and a device on it (dev0); the driver ready with nq queues. */
static void std_setup(vdrv *d, const char *devopts, uint64_t features, unsigned nq, uint16_t qsize)
{
    drive("file=%s,format=raw,if=none,id=d0", raw_path);
    g_autofree char *spec = g_strdup_printf("virtio-blk-pci,drive=d0%s", devopts ? devopts : "");
    dev0 = device(spec);
    vdrv_probe(d, m);
    vdrv_init(d, features, nq, qsize);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* Writes the same bytes into the reference raw file. */
static void ref_write(uint64_t off, const void *buf, size_t len)
{
    int fd = open(ref_path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static bool have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");
    return p != NULL;
}

static int run(const char *const *argv)
{
    int status = -1;
    GError *err = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                      NULL, NULL, NULL, &status, &err)) {
        fprintf(stderr, "%s: %s\n", argv[0], err->message);
        g_error_free(err);
        return -1;
    }
    return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

/* ---- identity and negotiation ---- */

START_TEST(test_identity)
{
    vdrv d;
    drive("file=%s,format=raw,if=none,id=d0", raw_path);
    device("virtio-blk-pci,drive=d0,addr=4");
    vdrv_probe(&d, m);
    ck_assert_uint_eq(d.devfn, 4 << 3);
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x08, 1), 1);        /* revision */
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x2c, 2), 0x1af4);   /* subsystem vendor */
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x2e, 2), 2);        /* subsystem: virtio id */
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x0a, 2), 0x0100);   /* mass storage, SCSI */
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x3d, 1), 1);        /* INTA */
    ck_assert_uint_eq(tk_config_read(m, d.devfn, 0x20, 4) & 0xf, 0xc); /* BAR4 64-bit prefetchable */
    ck_assert_uint_eq(tk_bar_size(m, d.devfn, 4), 0x4000);
    ck_assert_uint_eq(tk_bar_size(m, d.devfn, 1), 0x1000);
    ck_assert_uint_eq(tk_msix_table_size(m, d.devfn), 2);
    /* Device configuration. */
    ck_assert_uint_eq(vdrv_cfg(&d, 0, 8), DISK_SIZE / 512);
    ck_assert_uint_eq(vdrv_cfg(&d, 12, 4), 254);  /* seg_max */
    ck_assert_uint_eq(vdrv_cfg(&d, 20, 4), 512);  /* blk_size */
    ck_assert_uint_eq(vdrv_cfg(&d, 34, 2), 1);    /* num_queues */
    ck_assert_uint_eq(vdrv_cfg(&d, 40, 4), 1);    /* max_discard_seg */
    ck_assert_uint_eq(vdrv_cfg(&d, 52, 4), 1);    /* max_write_zeroes_seg */
    ck_assert_uint_eq(vdrv_read(&d, 18, 2), 1);
    ck_assert_uint_eq(vdrv_read(&d, 24, 2), 256);
}
END_TEST

START_TEST(test_features)
{
    vdrv d;
    drive("file=%s,format=raw,if=none,id=d0", raw_path);
    device("virtio-blk-pci,drive=d0,logical_block_size=4096,physical_block_size=4096");
    vdrv_probe(&d, m);
    ck_assert(!vdrv_negotiate(&d, 0));                          /* no VERSION_1 */
    uint64_t f = d.dev_features;
    ck_assert(f & F_VERSION_1);
    ck_assert(f & F_INDIRECT);
    ck_assert(f & F_EVENT_IDX);
    uint64_t want = F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_DISCARD | F_WRITE_ZEROES;
    ck_assert_uint_eq(f & want, want);
    ck_assert(!(f & F_RO));
    ck_assert(!(f & F_MQ));
    ck_assert(!vdrv_negotiate(&d, F_VERSION_1 | F_RO));         /* not offered */
    ck_assert(vdrv_negotiate(&d, F_VERSION_1 | F_FLUSH));
    /* Features are frozen once FEATURES_OK is set. */
    vdrv_write(&d, 8, 0, 4);
    vdrv_write(&d, 12, 0, 4);
    ck_assert_uint_eq(vdrv_read(&d, 12, 4), (uint32_t)F_FLUSH);
    ck_assert_uint_eq(vdrv_cfg(&d, 20, 4), 4096);
    /* Reset by writing 0. */
    vdrv_write(&d, 20, 0, 1);
    ck_assert_uint_eq(vdrv_status(&d), 0);
    vdrv_write(&d, 8, 0, 4);
    ck_assert_uint_eq(vdrv_read(&d, 12, 4), 0);
}
END_TEST

START_TEST(test_bad_properties)
{
    drive("file=%s,format=raw,if=none,id=d0", raw_path);
    ck_assert_ptr_null(tk_device_add(m, "virtio-blk-pci,drive=d0,queue-size=100"));
    ck_assert_msg(strstr(tk_error(m), "queue-size") && strstr(tk_error(m), "power of two"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "virtio-blk-pci"));
    ck_assert_msg(strstr(tk_error(m), "drive"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "virtio-blk-pci,drive=nosuch"));
    ck_assert_msg(strstr(tk_error(m), "nosuch"), "%s", tk_error(m));
    ck_assert_ptr_null(tk_device_add(m, "virtio-blk-pci,drive=d0,logical_block_size=4096,physical_block_size=512"));
    ck_assert_msg(strstr(tk_error(m), "block_size"), "%s", tk_error(m));
    device("virtio-blk-pci,drive=d0");
    ck_assert_ptr_null(tk_device_add(m, "virtio-blk-pci,drive=d0"));
    ck_assert_msg(strstr(tk_error(m), "in use"), "%s", tk_error(m));
    /* Drives come before devices. */
    ck_assert_int_eq(tk_drive_add(m, "file=/nonexistent,format=raw,id=d1"), -EBUSY);
}
END_TEST

/* ---- data ---- */

/* Writes patterns at several offsets through queue 0, reads them back, mirrors them into ref. */
static void write_read_patterns(vdrv *d)
{
    static const uint64_t sectors[] = { 0, 1, 8, 2047, 32768 - 16 };
    for (unsigned i = 0; i < G_N_ELEMENTS(sectors); i++) {
        uint32_t len = 8192;
        uint64_t buf = vdrv_alloc(d, len);
        uint8_t *p = vdrv_ptr(d, buf, len);
        fill(p, len, i + 1);
        ck_assert_uint_eq(vdrv_blk(d, 0, T_OUT, sectors[i], buf, len), S_OK);
        ref_write(sectors[i] * 512, p, len);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(sectors); i++) {
        uint32_t len = 8192;
        uint64_t buf = vdrv_alloc(d, len);
        g_autofree uint8_t *want = g_malloc(len);
        int fd = open(ref_path, O_RDONLY);
        ck_assert_int_eq(pread(fd, want, len, (off_t)(sectors[i] * 512)), len);
        close(fd);
        ck_assert_uint_eq(vdrv_blk(d, 0, T_IN, sectors[i], buf, len), S_OK);
        ck_assert(memcmp(vdrv_ptr(d, buf, len), want, len) == 0);
        /* The used length counts the data and the status byte. */
        uint32_t id, ulen;
        vdrv_used_elem(d, 0, (uint16_t)(vdrv_used_idx(d, 0) - 1), &id, &ulen);
        ck_assert_uint_eq(ulen, len + 1);
    }
    ck_assert_uint_eq(vdrv_blk(d, 0, T_FLUSH, 0, 0, 0), S_OK);
}

START_TEST(test_rw_raw)
{
    vdrv d;
    std_setup(&d, NULL, F_FLUSH, 1, 0);
    write_read_patterns(&d);
    ck_assert_uint_eq(tk_msi_count(m) > 0, 1);
    tk_msi t;
    ck_assert(tk_msi_pop(m, &t));
    ck_assert_uint_eq(t.address, VDRV_MSI_ADDR);
    ck_assert_uint_eq(t.data, VDRV_MSI_DATA(1)); /* queue 0's vector */
    tk_device_del(dev0);
    tk_drives_close(m);
    g_autofree char *a = NULL, *b = NULL;
    gsize al, bl;
    ck_assert(g_file_get_contents(raw_path, &a, &al, NULL));
    ck_assert(g_file_get_contents(ref_path, &b, &bl, NULL));
    ck_assert_uint_eq(al, bl);
    ck_assert(memcmp(a, b, al) == 0);
    if (have_qemu_img()) {
        const char *argv[] = { "qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", raw_path, ref_path, NULL };
        ck_assert_int_eq(run(argv), 0);
    }
}
END_TEST

START_TEST(test_rw_vmdk)
{
    g_autofree char *vmdk = g_build_filename(dir, "disk.vmdk", NULL);
    g_autofree char *size = g_strdup_printf("%u", DISK_SIZE);
    const char *create[] = { TIMG_BIN, "create", "-q", "-f", "vmdk", vmdk, size, NULL };
    ck_assert_int_eq(run(create), 0);
    drive("file=%s,format=vmdk,if=none,id=d0,cache=writeback", vmdk);
    tk_device *dev = device("virtio-blk-pci,drive=d0,serial=vmdk0");
    vdrv d;
    vdrv_probe(&d, m);
    vdrv_init(&d, F_FLUSH, 1, 0);
    write_read_patterns(&d);
    /* Unwritten space reads as zeros. */
    uint64_t buf = vdrv_alloc(&d, 4096);
    memset(vdrv_ptr(&d, buf, 4096), 0x5a, 4096);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 4096, buf, 4096), S_OK);
    static const uint8_t zero[4096];
    ck_assert(memcmp(vdrv_ptr(&d, buf, 4096), zero, 4096) == 0);
    tk_device_del(dev);
    tk_drives_close(m); /* flushes the VMDK's metadata: now the file can be checked */
    if (!have_qemu_img())
        return;
    const char *cmp[] = { "qemu-img", "compare", "-q", "-f", "vmdk", "-F", "raw", vmdk, ref_path, NULL };
    ck_assert_int_eq(run(cmp), 0);
    const char *check[] = { "qemu-img", "check", "-q", "-f", "vmdk", vmdk, NULL };
    ck_assert_int_eq(run(check), 0);
}
END_TEST

/* A 16-byte discard / write-zeroes segment in guest RAM. */
static uint64_t seg(vdrv *d, uint64_t sector, uint32_t n, uint32_t flags)
{
    uint64_t g = vdrv_alloc(d, 16);
    uint8_t *p = vdrv_ptr(d, g, 16);
    memcpy(p, &sector, 8);
    memcpy(p + 8, &n, 4);
    memcpy(p + 12, &flags, 4);
    return g;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

START_TEST(test_flush_discard_write_zeroes)
{
    vdrv d;
    std_setup(&d, NULL, F_FLUSH | F_DISCARD | F_WRITE_ZEROES, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 65536);
    fill(vdrv_ptr(&d, buf, 65536), 65536, 9);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_OUT, 100, buf, 65536), S_OK);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_FLUSH, 0, 0, 0), S_OK);
    /* Zero 8 sectors with unmap allowed and 8 without; the rest keeps its data. */
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, 100, 8, 1), 16), S_OK);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, 116, 8, 0), 16), S_OK);
    uint64_t rd = vdrv_alloc(&d, 65536);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 100, rd, 65536), S_OK);
    uint8_t *got = vdrv_ptr(&d, rd, 65536), *want = vdrv_ptr(&d, buf, 65536);
    ck_assert(all_zero(got, 4096));
    ck_assert(memcmp(got + 4096, want + 4096, 4096) == 0);
    ck_assert(all_zero(got + 8192, 4096));
    ck_assert(memcmp(got + 12288, want + 12288, 65536 - 12288) == 0);
    /* Discard is advice; the request succeeds. */
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, seg(&d, 0, 64, 0), 16), S_OK);
    /* Refusals: discard with the unmap flag, unknown flags, two segments, past the end. */
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, seg(&d, 0, 8, 1), 16), S_UNSUPP);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, 0, 8, 2), 16), S_UNSUPP);
    uint64_t two = vdrv_alloc(&d, 32);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, two, 32), S_UNSUPP);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, DISK_SIZE / 512 - 4, 8, 0), 16), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, seg(&d, 0, 8, 0), 8), S_IOERR); /* short segment */
    /* Reads and writes past the end, and unknown types. */
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, DISK_SIZE / 512 - 1, rd, 1024), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_OUT, UINT64_MAX / 256, buf, 512), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, rd, 100), S_IOERR); /* not whole sectors */
    ck_assert_uint_eq(vdrv_blk(&d, 0, 0x1234, 0, rd, 512), S_UNSUPP);
}
END_TEST

START_TEST(test_features_not_negotiated)
{
    vdrv d;
    std_setup(&d, NULL, 0, 1, 0);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, seg(&d, 0, 8, 0), 16), S_UNSUPP);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, 0, 8, 0), 16), S_UNSUPP);
}
END_TEST

START_TEST(test_get_id)
{
    vdrv d;
    std_setup(&d, ",serial=tessera-0001", 0, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 20);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_GET_ID, 0, buf, 20), S_OK);
    ck_assert_str_eq((char *)vdrv_ptr(&d, buf, 20), "tessera-0001");
    uint32_t id, len;
    vdrv_used_elem(&d, 0, 0, &id, &len);
    ck_assert_uint_eq(len, 21);
}
END_TEST

START_TEST(test_get_id_long_serial)
{
    vdrv d;
    std_setup(&d, ",serial=0123456789abcdefghijKLMN", 0, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 24);
    memset(vdrv_ptr(&d, buf, 24), 'x', 24);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_GET_ID, 0, buf, 24), S_OK);
    ck_assert(memcmp(vdrv_ptr(&d, buf, 24), "0123456789abcdefghijxxxx", 24) == 0);
}
END_TEST

START_TEST(test_read_only)
{
    vdrv d;
    int fd = open(raw_path, O_WRONLY);
    uint8_t pat[512];
    fill(pat, sizeof(pat), 3);
    ck_assert_int_eq(pwrite(fd, pat, sizeof(pat), 512), 512);
    close(fd);
    drive("file=%s,format=raw,if=none,id=d0,readonly=on", raw_path);
    device("virtio-blk-pci,drive=d0");
    vdrv_probe(&d, m);
    ck_assert(vdrv_negotiate(&d, F_VERSION_1) && (d.dev_features & F_RO));
    vdrv_init(&d, F_RO | F_DISCARD | F_WRITE_ZEROES | F_FLUSH, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 512);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 1, buf, 512), S_OK);
    ck_assert(memcmp(vdrv_ptr(&d, buf, 512), pat, 512) == 0);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_OUT, 0, buf, 512), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_DISCARD, 0, seg(&d, 0, 8, 0), 16), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_WRITE_ZEROES, 0, seg(&d, 0, 8, 0), 16), S_IOERR);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_FLUSH, 0, 0, 0), S_OK);
    uint8_t first[512];
    fd = open(raw_path, O_RDONLY);
    ck_assert_int_eq(pread(fd, first, 512, 0), 512);
    close(fd);
    ck_assert(all_zero(first, 512));
}
END_TEST

START_TEST(test_multiqueue)
{
    vdrv d;
    std_setup(&d, ",num-queues=4", F_MQ, 4, 0);
    ck_assert(d.dev_features & F_MQ);
    ck_assert_uint_eq(vdrv_cfg(&d, 34, 2), 4);
    ck_assert_uint_eq(tk_msix_table_size(m, d.devfn), 5);
    for (unsigned q = 0; q < 4; q++) {
        uint64_t buf = vdrv_alloc(&d, 4096);
        fill(vdrv_ptr(&d, buf, 4096), 4096, q);
        ck_assert_uint_eq(vdrv_blk(&d, q, T_OUT, q * 8, buf, 4096), S_OK);
    }
    for (unsigned q = 0; q < 4; q++) {
        uint64_t buf = vdrv_alloc(&d, 4096), want = vdrv_alloc(&d, 4096);
        fill(vdrv_ptr(&d, want, 4096), 4096, q);
        ck_assert_uint_eq(vdrv_blk(&d, 3 - q, T_IN, q * 8, buf, 4096), S_OK);
        ck_assert(memcmp(vdrv_ptr(&d, buf, 4096), vdrv_ptr(&d, want, 4096), 4096) == 0);
    }
    /* Each queue signals its own vector. */
    bool seen[6] = { false };
    tk_msi msg;
    ck_assert(vdrv_wait_msi(&d, 1));
    while (tk_msi_pop(m, &msg))
        if (msg.data >= VDRV_MSI_DATA(0) && msg.data <= VDRV_MSI_DATA(4))
            seen[msg.data - VDRV_MSI_DATA(0)] = true;
    ck_assert(!seen[0]);
    unsigned n = 0;
    for (unsigned v = 1; v <= 4; v++)
        n += seen[v];
    ck_assert_uint_ge(n, 2); /* completions of one vector may merge; several vectors fire */
}
END_TEST

START_TEST(test_many_in_flight)
{
    vdrv d;
    std_setup(&d, ",queue-size=1024", F_EVENT_IDX, 1, 0);
    ck_assert_uint_eq(d.q[0].size, 1024);
    enum { N = 200, LEN = 16384 };
    uint64_t bufs[N], st[N];
    for (unsigned i = 0; i < N; i++) {
        bufs[i] = vdrv_alloc(&d, LEN);
        fill(vdrv_ptr(&d, bufs[i], LEN), LEN, i + 100);
        vdrv_blk_submit(&d, 0, T_OUT, (uint64_t)i * (LEN / 512), bufs[i], LEN, &st[i]);
    }
    vdrv_kick(&d, 0); /* one notification for all of them */
    ck_assert(vdrv_wait_used(&d, 0, N));
    for (unsigned i = 0; i < N; i++)
        ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st[i], 1), S_OK);
    /* Every head comes back exactly once. */
    bool back[1024] = { false };
    for (uint16_t i = 0; i < N; i++) {
        uint32_t id, len;
        vdrv_used_elem(&d, 0, i, &id, &len);
        ck_assert_uint_lt(id, 1024);
        ck_assert(!back[id]);
        back[id] = true;
    }
    for (unsigned i = 0; i < N; i++) {
        uint64_t rd = vdrv_alloc(&d, LEN);
        vdrv_blk_submit(&d, 0, T_IN, (uint64_t)i * (LEN / 512), rd, LEN, &st[i]);
        bufs[i] = rd;
    }
    vdrv_kick(&d, 0);
    ck_assert(vdrv_wait_used(&d, 0, 2 * N));
    uint8_t want[LEN];
    for (unsigned i = 0; i < N; i++) {
        fill(want, LEN, i + 100);
        ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st[i], 1), S_OK);
        ck_assert(memcmp(vdrv_ptr(&d, bufs[i], LEN), want, LEN) == 0);
    }
}
END_TEST

/* used_event lives after the avail ring; avail_event after the used ring. */
static void set_used_event(vdrv *d, unsigned q, uint16_t v)
{
    uint16_t *p = vdrv_ptr(d, d->q[q].avail + 4 + 2ull * d->q[q].size, 2);
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static uint16_t avail_event(vdrv *d, unsigned q)
{
    uint16_t *p = vdrv_ptr(d, d->q[q].used + 4 + 8ull * d->q[q].size, 2);
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/*
 * GET_ID completes inside the notification's handling on the main loop, so once
 * tk_process_events returns, the interrupt decision is made and any MSI delivered.
 */
static void get_id_sync(vdrv *d, unsigned q)
{
    uint16_t target = (uint16_t)(vdrv_used_idx(d, q) + 1);
    vdrv_blk_submit(d, q, T_GET_ID, 0, vdrv_alloc(d, 20), 20, NULL);
    vdrv_kick(d, q);
    tk_process_events(m);
    ck_assert_uint_eq(vdrv_used_idx(d, q), target);
    tk_process_events(m);
}

START_TEST(test_event_idx)
{
    vdrv d;
    std_setup(&d, NULL, F_EVENT_IDX, 1, 0);
    tk_msi_clear(m);
    set_used_event(&d, 0, 3); /* interrupt me when used passes entry 3 */
    get_id_sync(&d, 0);       /* used 0 -> 1 */
    get_id_sync(&d, 0);       /* 1 -> 2 */
    get_id_sync(&d, 0);       /* 2 -> 3 */
    ck_assert_uint_eq(tk_msi_count(m), 0);
    ck_assert_uint_eq(avail_event(&d, 0), 3); /* the device asks to be notified after 3 */
    get_id_sync(&d, 0);       /* 3 -> 4: crosses used_event */
    ck_assert_uint_eq(tk_msi_count(m), 1);
    /* Data requests on the pool honour it too. */
    set_used_event(&d, 0, 4);
    uint64_t buf = vdrv_alloc(&d, 512);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, buf, 512), S_OK);
    ck_assert(vdrv_wait_msi(&d, 2));
}
END_TEST

START_TEST(test_no_interrupt_flag)
{
    vdrv d;
    std_setup(&d, NULL, 0, 1, 0);
    tk_msi_clear(m);
    uint16_t *flags = vdrv_ptr(&d, d.q[0].avail, 2);
    *flags = 1; /* VRING_AVAIL_F_NO_INTERRUPT */
    get_id_sync(&d, 0);
    get_id_sync(&d, 0);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    *flags = 0;
    get_id_sync(&d, 0);
    ck_assert_uint_eq(tk_msi_count(m), 1);
}
END_TEST

/* The device's "do not notify" hint: used->flags bit 0 without event index; with it, an
 * avail_event the driver's index has already passed. */
static bool told_not_to_notify(vdrv *d, unsigned q, bool event_idx)
{
    if (!event_idx)
        return *(volatile uint16_t *)vdrv_ptr(d, d->q[q].used, 2) & 1;
    /* Publishing index now + 1 notifies only when it crosses avail_event: ev == now. */
    return avail_event(d, q) != d->q[q].avail_idx;
}

/*
 * While a read is in flight the device tells the driver not to notify, and takes a
 * request queued without a notification when the read completes; once idle it asks for
 * notifications again.
 */
START_TEST(test_notify_suppression)
{
    bool event_idx = _i & 1;
    vdrv d;
    std_setup(&d, _i & 2 ? ",poll-us=0" : ",poll-us=200", event_idx ? F_EVENT_IDX : 0, 1, 0);
    enum { BIG = 2u << 20 };
    uint64_t big = vdrv_alloc(&d, BIG), small = vdrv_alloc(&d, 4096);
    unsigned tries = 0, seen = 0;
    uint16_t used = 0;
    for (; tries < 200 && !seen; tries++) {
        vdrv_blk_submit(&d, 0, T_IN, 0, big, BIG, NULL);
        vdrv_kick(&d, 0);
        tk_process_events(m); /* the notification: the read goes to the thread pool */
        used++;
        if (told_not_to_notify(&d, 0, event_idx)) {
            seen++;
            uint64_t st;
            vdrv_blk_submit(&d, 0, T_IN, 8, small, 4096, &st); /* no notification */
            used++;
            ck_assert_msg(vdrv_wait_used(&d, 0, used), "request queued without a notification never completed");
            ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st, 1), S_OK);
        }
        ck_assert(vdrv_wait_used(&d, 0, used));
    }
    /* The big read takes far longer than one pass of the main loop; 200 misses is a bug. */
    ck_assert_msg(seen, "the device never asked the driver not to notify (%u tries)", tries);
    /* Idle again: notifications are wanted (once the completing thread has stopped
     * watching the ring, poll-us after the last completion), and a notified request completes. */
    bool wanted = false;
    for (int i = 0; i < 2000 && !wanted; i++) {
        wanted = !told_not_to_notify(&d, 0, event_idx);
        if (!wanted)
            g_usleep(1000);
    }
    ck_assert_msg(wanted, "notifications still suppressed 2 s after the queue went idle");
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 16, small, 4096), S_OK);
}
END_TEST

/* Writes an indirect table of n entries at gpa (chained 0..n-1). */
static void indirect_table(vdrv *d, uint64_t gpa, const vdrv_buf *b, unsigned n)
{
    uint8_t *t = vdrv_ptr(d, gpa, 16ull * n);
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = (uint16_t)((b[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0)), next = (uint16_t)(i + 1);
        memcpy(t + 16 * i, &b[i].gpa, 8);
        memcpy(t + 16 * i + 8, &b[i].len, 4);
        memcpy(t + 16 * i + 12, &flags, 2);
        memcpy(t + 16 * i + 14, &next, 2);
    }
}

/* One descriptor in the ring pointing at a table; returns the head. */
static uint16_t indirect_head(vdrv *d, unsigned q, uint64_t table, uint32_t len, uint16_t extra_flags)
{
    vdrv_queue *vq = &d->q[q];
    uint8_t *desc = vdrv_ptr(d, vq->desc, 16ull * vq->size);
    uint16_t head = vq->next_desc, flags = (uint16_t)(4 | extra_flags), next = (uint16_t)((head + 1) % vq->size);
    memcpy(desc + 16 * head, &table, 8);
    memcpy(desc + 16 * head + 8, &len, 4);
    memcpy(desc + 16 * head + 12, &flags, 2);
    memcpy(desc + 16 * head + 14, &next, 2);
    vq->next_desc = next;
    return head;
}

static uint64_t hdr(vdrv *d, uint32_t type, uint64_t sector)
{
    uint64_t g = vdrv_alloc(d, 16);
    uint8_t *p = vdrv_ptr(d, g, 16);
    memcpy(p, &type, 4);
    memcpy(p + 8, &sector, 8);
    return g;
}

START_TEST(test_indirect)
{
    vdrv d;
    std_setup(&d, NULL, F_INDIRECT, 1, 0);
    /* A write of 8 scattered 512-byte buffers, then a read into 4 buffers of 1 KiB. */
    enum { NW = 8 };
    vdrv_buf b[NW + 2];
    b[0] = (vdrv_buf){ hdr(&d, T_OUT, 64), 16, false };
    uint8_t all[NW * 512];
    for (unsigned i = 0; i < NW; i++) {
        b[1 + i] = (vdrv_buf){ vdrv_alloc(&d, 512), 512, false };
        fill(vdrv_ptr(&d, b[1 + i].gpa, 512), 512, 40 + i);
        memcpy(all + 512 * i, vdrv_ptr(&d, b[1 + i].gpa, 512), 512);
    }
    uint64_t st = vdrv_alloc(&d, 1);
    b[NW + 1] = (vdrv_buf){ st, 1, true };
    uint64_t table = vdrv_alloc(&d, 16 * (NW + 2));
    indirect_table(&d, table, b, NW + 2);
    vdrv_avail(&d, 0, indirect_head(&d, 0, table, 16 * (NW + 2), 0));
    vdrv_kick(&d, 0);
    ck_assert(vdrv_wait_used(&d, 0, 1));
    ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st, 1), S_OK);

    vdrv_buf r[6];
    r[0] = (vdrv_buf){ hdr(&d, T_IN, 64), 16, false };
    for (unsigned i = 0; i < 4; i++)
        r[1 + i] = (vdrv_buf){ vdrv_alloc(&d, 1024), 1024, true };
    r[5] = (vdrv_buf){ st, 1, true };
    uint64_t t2 = vdrv_alloc(&d, 16 * 6);
    indirect_table(&d, t2, r, 6);
    vdrv_avail(&d, 0, indirect_head(&d, 0, t2, 16 * 6, 0));
    vdrv_kick(&d, 0);
    ck_assert(vdrv_wait_used(&d, 0, 2));
    ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st, 1), S_OK);
    for (unsigned i = 0; i < 4; i++)
        ck_assert(memcmp(vdrv_ptr(&d, r[1 + i].gpa, 1024), all + 1024 * i, 1024) == 0);
}
END_TEST

/* A driver that picks a smaller ring still sends indirect tables up to seg_max + 2 long. */
START_TEST(test_indirect_small_ring)
{
    vdrv d;
    std_setup(&d, NULL, F_INDIRECT, 1, 16);
    ck_assert_uint_eq(d.q[0].size, 16);
    enum { N = 100 };
    vdrv_buf b[N + 2];
    b[0] = (vdrv_buf){ hdr(&d, T_IN, 0), 16, false };
    for (unsigned i = 0; i < N; i++)
        b[1 + i] = (vdrv_buf){ vdrv_alloc(&d, 512), 512, true };
    uint64_t st = vdrv_alloc(&d, 1);
    b[N + 1] = (vdrv_buf){ st, 1, true };
    uint64_t table = vdrv_alloc(&d, 16 * (N + 2));
    indirect_table(&d, table, b, N + 2);
    vdrv_avail(&d, 0, indirect_head(&d, 0, table, 16 * (N + 2), 0));
    vdrv_kick(&d, 0);
    ck_assert(vdrv_wait_used(&d, 0, 1));
    ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st, 1), S_OK);
    ck_assert_uint_eq(vdrv_status(&d) & NEEDS_RESET, 0);
}
END_TEST

/* A queue filled to the last entry, round after round (indices wrap, heads are reused). */
START_TEST(test_full_queue_rounds)
{
    vdrv d;
    std_setup(&d, ",queue-size=16", F_INDIRECT, 1, 0);
    ck_assert_uint_eq(d.q[0].size, 16);
    uint64_t st[16], buf[16], table[16];
    for (unsigned i = 0; i < 16; i++) {
        st[i] = vdrv_alloc(&d, 1);
        buf[i] = vdrv_alloc(&d, 4096);
        table[i] = vdrv_alloc(&d, 48);
    }
    for (unsigned round = 0; round < 40; round++) {
        bool write = round % 2 == 0;
        for (unsigned i = 0; i < 16; i++) {
            if (write)
                fill(vdrv_ptr(&d, buf[i], 4096), 4096, round * 16 + i);
            vdrv_buf b[3] = { { hdr(&d, write ? T_OUT : T_IN, i * 8), 16, false },
                              { buf[i], 4096, !write }, { st[i], 1, true } };
            indirect_table(&d, table[i], b, 3);
            *(uint8_t *)vdrv_ptr(&d, st[i], 1) = 0xee;
            d.q[0].next_desc = (uint16_t)i;
            vdrv_avail(&d, 0, indirect_head(&d, 0, table[i], 48, 0));
        }
        vdrv_kick(&d, 0);
        ck_assert_msg(vdrv_wait_used(&d, 0, (uint16_t)((round + 1) * 16)), "round %u", round);
        ck_assert_uint_eq(vdrv_status(&d) & NEEDS_RESET, 0);
        uint8_t want[4096];
        for (unsigned i = 0; i < 16; i++) {
            ck_assert_uint_eq(*(uint8_t *)vdrv_ptr(&d, st[i], 1), S_OK);
            if (!write) {
                fill(want, sizeof(want), (round - 1) * 16 + i);
                ck_assert(memcmp(vdrv_ptr(&d, buf[i], 4096), want, 4096) == 0);
            }
        }
        d.heap -= 16 * 64; /* the headers of this round */
    }
}
END_TEST

/* ---- a hostile driver ---- */

#define OUTSIDE_RAM 0x7f0000000000ull

static void put_desc(vdrv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *p = vdrv_ptr(d, d->q[q].desc + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

enum outcome { BROKEN, STATUS_IOERR, STATUS_OK };

typedef struct hostile {
    const char *name;
    enum outcome (*make)(vdrv *d, uint64_t *st); /* builds and makes available on queue 0 */
} hostile;

#define R 0
#define W 2
#define NX 1
#define IND 4

static enum outcome h_loop(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, W | NX, 2);
    put_desc(d, 0, 2, vdrv_alloc(d, 512), 512, W | NX, 1); /* back to 1 */
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_self_loop(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 5, hdr(d, T_IN, 0), 16, R | NX, 5);
    vdrv_avail(d, 0, 5);
    return BROKEN;
}

static enum outcome h_head_out_of_range(vdrv *d, uint64_t *st)
{
    (void)st;
    vdrv_avail(d, 0, 999); /* queue of 256 */
    return BROKEN;
}

static enum outcome h_next_out_of_range(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 300);
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_avail_idx_jump(vdrv *d, uint64_t *st)
{
    (void)st;
    uint16_t *avail = vdrv_ptr(d, d->q[0].avail, 4);
    __atomic_store_n(&avail[1], (uint16_t)500, __ATOMIC_RELEASE); /* 500 entries in a ring of 256 */
    return BROKEN;
}

static enum outcome h_readable_after_writable(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_OUT, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, W | NX, 2);
    put_desc(d, 0, 2, vdrv_alloc(d, 512), 512, R | NX, 3);
    put_desc(d, 0, 3, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_nested_indirect(vdrv *d, uint64_t *st)
{
    (void)st;
    uint64_t inner = vdrv_alloc(d, 48), outer = vdrv_alloc(d, 32);
    vdrv_buf b[3] = { { hdr(d, T_IN, 0), 16, false }, { vdrv_alloc(d, 512), 512, true }, { vdrv_alloc(d, 1), 1, true } };
    indirect_table(d, inner, b, 3);
    uint8_t *t = vdrv_ptr(d, outer, 32);
    uint32_t len = 48;
    uint16_t flags = IND, next = 0;
    memcpy(t, &inner, 8);
    memcpy(t + 8, &len, 4);
    memcpy(t + 12, &flags, 2);
    memcpy(t + 14, &next, 2);
    vdrv_avail(d, 0, indirect_head(d, 0, outer, 16, 0));
    return BROKEN;
}

static enum outcome h_indirect_with_next(vdrv *d, uint64_t *st)
{
    (void)st;
    uint64_t table = vdrv_alloc(d, 48);
    vdrv_buf b[3] = { { hdr(d, T_IN, 0), 16, false }, { vdrv_alloc(d, 512), 512, true }, { vdrv_alloc(d, 1), 1, true } };
    indirect_table(d, table, b, 3);
    vdrv_avail(d, 0, indirect_head(d, 0, table, 48, NX));
    return BROKEN;
}

static enum outcome h_indirect_bad_len(vdrv *d, uint64_t *st)
{
    (void)st;
    uint64_t table = vdrv_alloc(d, 48);
    vdrv_avail(d, 0, indirect_head(d, 0, table, 40, 0));
    return BROKEN;
}

static enum outcome h_indirect_too_long(vdrv *d, uint64_t *st)
{
    (void)st;
    enum { N = 257 }; /* more entries than the queue holds */
    uint64_t table = vdrv_alloc(d, 16 * N);
    vdrv_buf b[N];
    b[0] = (vdrv_buf){ hdr(d, T_IN, 0), 16, false };
    uint64_t data = vdrv_alloc(d, 512);
    for (unsigned i = 1; i < N; i++)
        b[i] = (vdrv_buf){ data, 1, true };
    indirect_table(d, table, b, N);
    vdrv_avail(d, 0, indirect_head(d, 0, table, 16 * N, 0));
    return BROKEN;
}

static enum outcome h_indirect_loop(vdrv *d, uint64_t *st)
{
    (void)st;
    uint64_t table = vdrv_alloc(d, 48);
    vdrv_buf b[3] = { { hdr(d, T_IN, 0), 16, false }, { vdrv_alloc(d, 512), 512, true }, { vdrv_alloc(d, 1), 1, true } };
    indirect_table(d, table, b, 3);
    uint16_t *last_flags = vdrv_ptr(d, table + 32 + 12, 4);
    last_flags[0] = W | NX;
    last_flags[1] = 0; /* next: back to entry 0 */
    vdrv_avail(d, 0, indirect_head(d, 0, table, 48, 0));
    return BROKEN;
}

static enum outcome h_indirect_outside_ram(vdrv *d, uint64_t *st)
{
    (void)st;
    vdrv_avail(d, 0, indirect_head(d, 0, OUTSIDE_RAM, 48, 0));
    return BROKEN;
}

static enum outcome h_status_outside_ram(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, W | NX, 2);
    put_desc(d, 0, 2, OUTSIDE_RAM, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_no_status(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 0, hdr(d, T_OUT, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, R, 0);
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_only_zero_length(vdrv *d, uint64_t *st)
{
    (void)st;
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 0, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 1), 0, W, 0);
    vdrv_avail(d, 0, 0);
    return BROKEN;
}

static enum outcome h_data_outside_ram(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, OUTSIDE_RAM, 4096, W | NX, 2);
    put_desc(d, 0, 2, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_data_across_ram_end(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, (64ull << 20) - 512, 4096, W | NX, 2); /* the last 512 bytes of RAM and beyond */
    put_desc(d, 0, 2, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_header_too_short(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 8, R | NX, 1);
    put_desc(d, 0, 1, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_header_writable(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, W | NX, 1);
    put_desc(d, 0, 1, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_read_into_readable(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_IN, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, R | NX, 2); /* IN data the device may not write */
    put_desc(d, 0, 2, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_write_from_writable(vdrv *d, uint64_t *st)
{
    *st = vdrv_alloc(d, 1);
    put_desc(d, 0, 0, hdr(d, T_OUT, 0), 16, R | NX, 1);
    put_desc(d, 0, 1, vdrv_alloc(d, 512), 512, W | NX, 2); /* OUT data marked device-writable */
    put_desc(d, 0, 2, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_IOERR;
}

static enum outcome h_zero_length_middle(vdrv *d, uint64_t *st)
{
    /* Legal: zero-length buffers carry nothing; a header split over two descriptors. */
    *st = vdrv_alloc(d, 1);
    uint64_t h = hdr(d, T_IN, 0);
    put_desc(d, 0, 0, h, 8, R | NX, 1);
    put_desc(d, 0, 1, h + 8, 8, R | NX, 2);
    put_desc(d, 0, 2, vdrv_alloc(d, 512), 512, W | NX, 3);
    put_desc(d, 0, 3, vdrv_alloc(d, 64), 0, W | NX, 4);
    put_desc(d, 0, 4, *st, 1, W, 0);
    vdrv_avail(d, 0, 0);
    return STATUS_OK;
}

static const hostile hostiles[] = {
    { "loop", h_loop },
    { "self loop", h_self_loop },
    { "head out of range", h_head_out_of_range },
    { "next out of range", h_next_out_of_range },
    { "avail index jump", h_avail_idx_jump },
    { "readable after writable", h_readable_after_writable },
    { "nested indirect", h_nested_indirect },
    { "indirect with next", h_indirect_with_next },
    { "indirect length not whole entries", h_indirect_bad_len },
    { "indirect too long", h_indirect_too_long },
    { "indirect loop", h_indirect_loop },
    { "indirect table outside RAM", h_indirect_outside_ram },
    { "status outside RAM", h_status_outside_ram },
    { "no status byte", h_no_status },
    { "only zero-length buffers", h_only_zero_length },
    { "data outside RAM", h_data_outside_ram },
    { "data across the end of RAM", h_data_across_ram_end },
    { "header too short", h_header_too_short },
    { "header device-writable", h_header_writable },
    { "IN data device-readable", h_read_into_readable },
    { "OUT data device-writable", h_write_from_writable },
    { "zero-length buffer and split header", h_zero_length_middle },
};

START_TEST(test_hostile)
{
    const hostile *h = &hostiles[_i];
    vdrv d;
    std_setup(&d, ",num-queues=2", F_MQ | F_INDIRECT, 2, 0);
    tk_msi_clear(m);
    uint64_t st = 0;
    enum outcome want = h->make(&d, &st);
    if (st)
        *(uint8_t *)vdrv_ptr(&d, st, 1) = 0xee;
    vdrv_kick(&d, 0);
    tk_process_events(m);
    if (want == BROKEN) {
        ck_assert_msg(vdrv_status(&d) & NEEDS_RESET, "%s: device does not need a reset", h->name);
        /* The configuration-change interrupt on vector 0. */
        ck_assert_msg(vdrv_wait_msi(&d, 1), "%s: no configuration interrupt", h->name);
        tk_msi msg;
        bool config = false;
        while (tk_msi_pop(m, &msg))
            config |= msg.data == VDRV_MSI_DATA(0);
        ck_assert_msg(config, "%s: no message on the configuration vector", h->name);
    } else {
        ck_assert_msg(vdrv_wait_used(&d, 0, 1), "%s: request not returned", h->name);
        uint8_t s = *(uint8_t *)vdrv_ptr(&d, st, 1);
        ck_assert_msg(s == (want == STATUS_OK ? S_OK : S_IOERR), "%s: status %u", h->name, s);
        ck_assert_msg(!(vdrv_status(&d) & NEEDS_RESET), "%s: needs reset", h->name);
    }
    /* The other queue still works. */
    uint64_t buf = vdrv_alloc(&d, 4096);
    fill(vdrv_ptr(&d, buf, 4096), 4096, 77);
    ck_assert_uint_eq(vdrv_blk(&d, 1, T_OUT, 8, buf, 4096), S_OK);
    uint64_t rd = vdrv_alloc(&d, 4096);
    ck_assert_uint_eq(vdrv_blk(&d, 1, T_IN, 8, rd, 4096), S_OK);
    ck_assert(memcmp(vdrv_ptr(&d, rd, 4096), vdrv_ptr(&d, buf, 4096), 4096) == 0);
    /* A reset brings queue 0 back. */
    vdrv_init(&d, F_MQ | F_INDIRECT, 2, 0);
    ck_assert_uint_eq(vdrv_status(&d) & NEEDS_RESET, 0);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 8, rd, 4096), S_OK);
}
END_TEST

START_TEST(test_rings_outside_ram)
{
    vdrv d;
    std_setup(&d, NULL, 0, 1, 0);
    vdrv_write(&d, 20, 0, 1);
    ck_assert(vdrv_negotiate(&d, F_VERSION_1));
    vdrv_write(&d, 22, 0, 2);
    vdrv_write(&d, 32, OUTSIDE_RAM, 8);
    vdrv_write(&d, 40, 0x200000, 8);
    vdrv_write(&d, 48, 0x300000, 8);
    vdrv_write(&d, 28, 1, 2);
    ck_assert_uint_eq(vdrv_read(&d, 28, 2), 0);
    ck_assert(vdrv_status(&d) & NEEDS_RESET);
    /* Misaligned rings too. */
    vdrv_write(&d, 20, 0, 1);
    ck_assert(vdrv_negotiate(&d, F_VERSION_1));
    vdrv_write(&d, 32, 0x100008, 8);
    vdrv_write(&d, 28, 1, 2);
    ck_assert(vdrv_status(&d) & NEEDS_RESET);
    /* Writes to a queue that does not exist and vectors beyond the table are ignored. */
    vdrv_write(&d, 22, 7, 2);
    ck_assert_uint_eq(vdrv_read(&d, 24, 2), 0);
    vdrv_write(&d, 28, 1, 2);
    vdrv_write(&d, 22, 0, 2);
    vdrv_write(&d, 26, 77, 2);
    ck_assert_uint_eq(vdrv_read(&d, 26, 2), 0xffff);
    vdrv_write(&d, 24, 100, 2); /* not a power of two */
    ck_assert_uint_eq(vdrv_read(&d, 24, 2), 256);
}
END_TEST

START_TEST(test_ioeventfd_off)
{
    vdrv d;
    std_setup(&d, ",ioeventfd=off", 0, 1, 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 0);
    uint64_t buf = vdrv_alloc(&d, 512);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, buf, 512), S_OK);
}
END_TEST

START_TEST(test_ioeventfd_on)
{
    vdrv d;
    std_setup(&d, ",num-queues=3", F_MQ, 3, 0);
    ck_assert_uint_eq(tk_ioeventfd_count(m), 3);
    ck_assert_uint_eq(tk_irqfd_count(m), 4);
    /* A 4-byte notify is not the ioeventfd's width: it traps and still works. */
    uint16_t target = (uint16_t)(vdrv_used_idx(&d, 2) + 1);
    vdrv_blk_submit(&d, 2, T_GET_ID, 0, vdrv_alloc(&d, 20), 20, NULL);
    tk_mmio_write(m, d.bar + 0x3000 + 2 * 4, 2, 4);
    ck_assert(vdrv_wait_used(&d, 2, target));
}
END_TEST

START_TEST(test_intx_without_msix)
{
    vdrv d;
    std_setup(&d, NULL, 0, 1, 0);
    tk_msix_enable(m, d.devfn, false);
    tk_msi_clear(m);
    get_id_sync(&d, 0);
    ck_assert_uint_eq(tk_msi_count(m), 0);
    int level = 0;
    for (uint32_t gsi = 16; gsi < 20; gsi++)
        level |= tk_irq_level(m, gsi);
    ck_assert_int_eq(level, 1);
    ck_assert_uint_eq(tk_mmio_read(m, d.bar + 0x1000, 1), 1); /* ISR: queue interrupt; read clears */
    level = 0;
    for (uint32_t gsi = 16; gsi < 20; gsi++)
        level |= tk_irq_level(m, gsi);
    ck_assert_int_eq(level, 0);
    ck_assert_uint_eq(tk_mmio_read(m, d.bar + 0x1000, 1), 0);
}
END_TEST

START_TEST(test_system_reset)
{
    vdrv d;
    std_setup(&d, NULL, 0, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 512);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, buf, 512), S_OK);
    tk_reset(m);
    vdrv_probe(&d, m);
    ck_assert_uint_eq(vdrv_status(&d), 0);
    vdrv_write(&d, 22, 0, 2);
    ck_assert_uint_eq(vdrv_read(&d, 28, 2), 0);
    vdrv_init(&d, 0, 1, 0);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, buf, 512), S_OK);
}
END_TEST

/*
 * A driver reset while reads are in flight, with more queued behind them without a
 * notification (the completions poll the queue): the reset waits for the requests and
 * the polls, and the device works again afterwards. Several rounds, with and without
 * event index.
 */
START_TEST(test_reset_while_busy)
{
    vdrv d;
    std_setup(&d, NULL, F_EVENT_IDX, 1, 0);
    enum { N = 24, LEN = 256u << 10 };
    uint64_t bufs[N];
    for (unsigned i = 0; i < N; i++)
        bufs[i] = vdrv_alloc(&d, LEN);
    for (unsigned round = 0; round < 8; round++) {
        for (unsigned i = 0; i < N / 2; i++)
            vdrv_blk_submit(&d, 0, T_IN, (uint64_t)i * (LEN / 512), bufs[i], LEN, NULL);
        vdrv_kick(&d, 0);
        tk_process_events(m);
        for (unsigned i = N / 2; i < N; i++) /* no notification: taken by the polls, or not */
            vdrv_blk_submit(&d, 0, T_IN, (uint64_t)i * (LEN / 512), bufs[i], LEN, NULL);
        vdrv_write(&d, 20, 0, 1); /* device_status = 0: reset */
        ck_assert_uint_eq(vdrv_status(&d), 0);
        vdrv_init(&d, round % 2 ? 0 : F_EVENT_IDX, 1, 0);
        ck_assert_uint_eq(vdrv_status(&d) & NEEDS_RESET, 0);
        ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, 0, bufs[0], 4096), S_OK);
    }
}
END_TEST

/* Every cache mode the page cache allows here: writes, a flush, and the data on the file. */
static const char *const cache_modes[] = { "writeback", "writethrough", "unsafe" };

START_TEST(test_cache_modes)
{
    vdrv d;
    drive("file=%s,format=raw,if=none,id=d0,cache=%s", raw_path, cache_modes[_i]);
    tk_device *dev = device("virtio-blk-pci,drive=d0");
    vdrv_probe(&d, m);
    vdrv_init(&d, F_FLUSH, 1, 0);
    uint64_t buf = vdrv_alloc(&d, 4096);
    fill(vdrv_ptr(&d, buf, 4096), 4096, 5);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_OUT, 16, buf, 4096), S_OK);
    ck_assert_uint_eq(vdrv_blk(&d, 0, T_FLUSH, 0, 0, 0), S_OK);
    uint8_t got[4096];
    int fd = open(raw_path, O_RDONLY);
    ck_assert_int_eq(pread(fd, got, sizeof(got), 16 * 512), 4096);
    close(fd);
    ck_assert(memcmp(got, vdrv_ptr(&d, buf, 4096), 4096) == 0);
    tk_device_del(dev);
}
END_TEST

/* Machines with drives one after the other in one process. */
START_TEST(test_machines_in_turn)
{
    for (unsigned round = 0; round < 4; round++) {
        vdrv d;
        std_setup(&d, NULL, 0, 1, 0);
        uint64_t buf = vdrv_alloc(&d, 512);
        ck_assert_uint_eq(vdrv_blk(&d, 0, T_OUT, round, buf, 512), S_OK);
        ck_assert_uint_eq(vdrv_blk(&d, 0, T_IN, round, buf, 512), S_OK);
        tk_machine_free(m);
        m = tk_machine_new(0);
        ck_assert_ptr_nonnull(m);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("virtio-blk");
    TCase *tc = tcase_create("device");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_features);
    tcase_add_test(tc, test_bad_properties);
    tcase_add_test(tc, test_rw_raw);
    tcase_add_test(tc, test_rw_vmdk);
    tcase_add_test(tc, test_flush_discard_write_zeroes);
    tcase_add_test(tc, test_features_not_negotiated);
    tcase_add_test(tc, test_get_id);
    tcase_add_test(tc, test_get_id_long_serial);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_multiqueue);
    tcase_add_test(tc, test_many_in_flight);
    tcase_add_test(tc, test_event_idx);
    tcase_add_test(tc, test_no_interrupt_flag);
    tcase_add_loop_test(tc, test_notify_suppression, 0, 4);
    tcase_add_test(tc, test_indirect);
    tcase_add_test(tc, test_full_queue_rounds);
    tcase_add_test(tc, test_indirect_small_ring);
    tcase_add_loop_test(tc, test_hostile, 0, (int)G_N_ELEMENTS(hostiles));
    tcase_add_test(tc, test_rings_outside_ram);
    tcase_add_test(tc, test_ioeventfd_off);
    tcase_add_test(tc, test_ioeventfd_on);
    tcase_add_test(tc, test_intx_without_msix);
    tcase_add_test(tc, test_system_reset);
    tcase_add_test(tc, test_reset_while_busy);
    tcase_add_test(tc, test_machines_in_turn);
    tcase_add_loop_test(tc, test_cache_modes, 0, (int)G_N_ELEMENTS(cache_modes));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
