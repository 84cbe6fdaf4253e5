/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "vmdk_test_util.h"
#include "vmdk.h"
#include "vmdk_format.h"

#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

char *tu_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *templ = NULL;
    if (asprintf(&templ, "%s/vmdk-test-XXXXXX", tmp ? tmp : "/tmp") < 0)
        abort();
    if (!mkdtemp(templ))
        abort();
    return templ;
}

void tu_rmdir(char *dir)
{
    tu_run(NULL, "rm -rf '%s'", dir);
    free(dir);
}

char *tu_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

uint64_t tu_file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    int c;
    while ((c = getc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 0x100000001b3ull;
    fclose(f);
    return h;
}

uint64_t tu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int tu_write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, buf, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tu_pread_file(const char *path, void *buf, size_t len, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tu_pwrite_file(const char *path, const void *buf, size_t len, uint64_t off)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pwrite(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tu_run(char **out, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    va_end(ap);
    char *full = NULL;
    if (asprintf(&full, "%s 2>&1", cmd) < 0)
        abort();
    free(cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool tu_have_qemu(void)
{
    return tu_run(NULL, "command -v qemu-img && command -v qemu-io") == 0;
}

void tu_fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

/* ---- sample images ---- */

static const char v3_descriptor[] =
    "# Disk DescriptorFile\n"
    "version=1\n"
    "encoding=\"UTF-8\"\n"
    "CID=a5c1a3b2\n"
    "parentCID=ffffffff\n"
    "isNativeSnapshot=\"no\"\n"
    "createType=\"streamOptimized\"\n"
    "\n"
    "# Extent description\n"
    "RDONLY 33554432 SPARSE \"generated-stream.vmdk\"\n"
    "\n"
    "# The Disk Data Base \n"
    "#DDB\n"
    "\n"
    "ddb.adapterType = \"lsilogic\"\n"
    "ddb.geometry.cylinders = \"2088\"\n"
    "ddb.geometry.heads = \"255\"\n"
    "ddb.geometry.sectors = \"63\"\n"
    "ddb.longContentID = \"3a1c5e0f9b8d7c6e5f4a3b2c1d0e9f8a\"\n"
    "ddb.virtualHWVersion = \"8\" \n";

struct v3_grain {
    uint64_t lba;     /* sector of the grain */
    uint64_t at;      /* byte offset of the data inside the grain */
    uint8_t byte;
};

static int put_marker(uint8_t *img, uint64_t sector, uint64_t val, uint32_t type)
{
    uint8_t *m = img + sector * VMDK_SECTOR;
    vmdk_put_le64(m, val);
    vmdk_put_le32(m + 8, 0);
    vmdk_put_le32(m + 12, type);
    return 0;
}

int tu_build_iotest_version3(const char *path)
{
    enum { SECTORS = 552, GRAINS = 151, TABLES = 53 };
    uint8_t *img = calloc(SECTORS, VMDK_SECTOR);
    struct v3_grain *g = calloc(GRAINS, sizeof(*g));
    uint8_t *plain = calloc(1, 65536);
    if (!img || !g || !plain)
        abort();
    size_t n = 0;
    for (unsigned i = 0; i < 100; i++) {
        uint64_t off = TU_V3_READ_OFFSET(i);
        g[n++] = (struct v3_grain){ off / 65536 * 128, off % 65536, TU_V3_READ_BYTE(i) };
    }
    for (unsigned t = 2; t < TABLES; t++)
        g[n++] = (struct v3_grain){ (uint64_t)t * 65536, 0, 0x5a };

    struct vmdk_sparse_header h = {
        .magic = VMDK_SPARSE_MAGIC, .version = 3, .flags = 0x30001, .capacity = 33554432,
        .grain_size = 128, .desc_offset = 1, .desc_size = 1, .num_gtes_per_gt = 512,
        .rgd_offset = 0, .gd_offset = VMDK_GD_AT_END, .overhead = 128,
        .nl_chars = { '\n', ' ', '\r', '\n' }, .compress_algorithm = 1,
    };
    vmdk_header_encode(&h, img);
    memcpy(img + VMDK_SECTOR, v3_descriptor, sizeof(v3_descriptor) - 1);

    uint32_t gd[512] = { 0 };
    uint32_t gt[512];
    uint64_t sector = 128;
    size_t k = 0;
    int rc = 0;
    while (k < n && rc == 0) {
        uint64_t table = g[k].lba / 65536;
        memset(gt, 0, sizeof(gt));
        for (; k < n && g[k].lba / 65536 == table; k++) {
            memset(plain, 0, 65536);
            memset(plain + g[k].at, g[k].byte, 512);
            uint8_t *m = img + sector * VMDK_SECTOR;
            uLongf clen = VMDK_SECTOR - 12;
            if (compress2(m + 12, &clen, plain, 65536, 9) != Z_OK)
                rc = -1;
            vmdk_put_le64(m, g[k].lba);
            vmdk_put_le32(m + 8, (uint32_t)clen);
            gt[g[k].lba % 65536 / 128] = (uint32_t)sector;
            sector++;
        }
        put_marker(img, sector, 4, VMDK_MARKER_GT);
        for (unsigned i = 0; i < 512; i++)
            vmdk_put_le32(img + (sector + 1) * VMDK_SECTOR + 4 * i, gt[i]);
        gd[table] = (uint32_t)(sector + 1);
        sector += 5;
    }
    if (sector != 544)
        rc = -1;
    put_marker(img, 544, 4, VMDK_MARKER_GD);
    for (unsigned i = 0; i < 512; i++)
        vmdk_put_le32(img + 545 * VMDK_SECTOR + 4 * i, gd[i]);
    put_marker(img, 549, 1, VMDK_MARKER_FOOTER);
    h.gd_offset = 545;
    vmdk_header_encode(&h, img + 550 * VMDK_SECTOR);
    put_marker(img, 551, 0, VMDK_MARKER_EOS);
    if (rc == 0)
        rc = tu_write_file(path, img, (size_t)SECTORS * VMDK_SECTOR);
    free(img);
    free(g);
    free(plain);
    return rc;
}

int tu_build_afl9(const char *path)
{
    uint8_t *img = calloc(1, 196608);
    if (!img)
        return -1;
    struct vmdk_sparse_header h = {
        .magic = VMDK_SPARSE_MAGIC, .version = 1, .flags = 3,
        .capacity = 2233785398448881665ull, .grain_size = 128, .desc_offset = 251658241,
        .num_gtes_per_gt = 506, .rgd_offset = 71, .gd_offset = 0x2800000000000000ull,
    };
    vmdk_header_encode(&h, img);
    int rc = tu_write_file(path, img, 196608);
    free(img);
    return rc;
}

struct vmdk_image *tu_open(const char *path, bool ro)
{
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = ro;
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    ck_assert_msg(vmdk_open(path, &o, &img, &err) == 0, "%s", err.msg);
    return img;
}

void tu_expect_bytes(struct vmdk_image *img, uint64_t off, size_t len, uint8_t v)
{
    uint8_t *buf = malloc(len ? len : 1);
    struct vmdk_error err = { 0 };
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(vmdk_read(img, off, buf, len, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(buf[i] == v, "byte 0x%llx is 0x%02x, want 0x%02x",
                      (unsigned long long)(off + i), buf[i], v);
    free(buf);
}
