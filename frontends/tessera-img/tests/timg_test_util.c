/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "timg_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timg.h"

void tt_setup_env(void)
{
    const char *build = getenv("TESSERA_BUILD_DIR");

    if (build && !getenv("TESSERA_PLUGIN_PATH")) {
        char *p = g_build_filename(build, "plugins", NULL);
        setenv("TESSERA_PLUGIN_PATH", p, 1);
        g_free(p);
    }
}

char *tt_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = g_strdup_printf("%s/timg-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");

    if (!mkdtemp(dir)) {
        g_free(dir);
        return NULL;
    }
    return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tt_rmdir(char *dir)
{
    if (dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    g_free(dir);
}

char *tt_path(const char *dir, const char *name)
{
    return g_build_filename(dir, name, NULL);
}

void tt_run_clear(struct tt_run *r)
{
    g_free(r->out);
    g_free(r->err);
    r->out = r->err = NULL;
}

struct tt_run tt_timg(const char *fmt, ...)
{
    struct tt_run r = { 0 };
    va_list ap;
    char *line, **words;
    size_t outlen, errlen;
    GPtrArray *argv = g_ptr_array_new();

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    words = g_strsplit(line, " ", -1);
    g_ptr_array_add(argv, (char *)"tessera-img");
    for (char **w = words; *w; w++)
        if (**w)
            g_ptr_array_add(argv, *w);
    g_ptr_array_add(argv, NULL);

    struct timg_io io;
    io.out = open_memstream(&r.out, &outlen);
    io.err = open_memstream(&r.err, &errlen);
    r.status = timg_main(&io, (int)argv->len - 1, (char **)argv->pdata);
    fclose(io.out);
    fclose(io.err);
    g_ptr_array_unref(argv);
    g_strfreev(words);
    g_free(line);
    return r;
}

struct tt_run tt_sh(const char *fmt, ...)
{
    struct tt_run r = { 0 };
    va_list ap;
    char *cmd;
    GError *err = NULL;
    int wait_status = 0;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                      &wait_status, &err)) {
        r.status = -1;
        r.err = g_strdup(err->message);
        g_clear_error(&err);
    } else {
        r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    }
    g_free(cmd);
    return r;
}

bool tt_have_qemu(void)
{
    char *a = g_find_program_in_path("qemu-img");
    char *b = g_find_program_in_path("qemu-io");
    bool ok = a && b;

    g_free(a);
    g_free(b);
    return ok;
}

struct tt_stamp tt_stamp_file(const char *path)
{
    struct tt_stamp s = { 0 };
    struct stat st;
    uint8_t buf[65536];
    uint64_t h = 0xcbf29ce484222325ull;
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        return s;
    if (fstat(fd, &st) == 0) {
        s.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        s.size = (uint64_t)st.st_size;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ull;
        }
    }
    close(fd);
    s.hash = h;
    return s;
}

bool tt_stamp_equal(struct tt_stamp a, struct tt_stamp b)
{
    return a.hash == b.hash && a.mtime_ns == b.mtime_ns && a.size == b.size;
}

int tt_write_file(const char *path, const void *buf, size_t len)
{
    return g_file_set_contents(path, buf, (gssize)len, NULL) ? 0 : -1;
}

int tt_pwrite_file(const char *path, const void *buf, size_t len, uint64_t off)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = pwrite(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

int tt_pread_file(const char *path, void *buf, size_t len, uint64_t off)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = pread(fd, buf, len, (off_t)off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

uint64_t tt_file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void tt_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x | 1);
    }
}

char *tt_slurp(const char *path)
{
    char *s = NULL;

    if (!g_file_get_contents(path, &s, NULL, NULL))
        return NULL;
    return s;
}
