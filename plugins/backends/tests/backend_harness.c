/* SPDX-License-Identifier: MIT */
/* Test harness for the memory-backend plugins; see backend_harness.h. */
#define _GNU_SOURCE
#include "backend_harness.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lets the registry find the plugins of this build even when run from outside the tree. */
static void bt_plugin_path(void)
{
    const char *build = getenv("TESSERA_BUILD_DIR");
    if (!build || getenv("TESSERA_PLUGIN_PATH"))
        return;
    char *dir = g_strdup_printf("%s/plugins", build);
    setenv("TESSERA_PLUGIN_PATH", dir, 1);
    g_free(dir);
}

static int bt_fail(bt_backend *bt, GError *err)
{
    g_free(bt->error);
    bt->error = g_strdup(err ? err->message : "(no message)");
    g_clear_error(&err);
    return -1;
}

static int bt_describe_va(bt_backend *bt, const char *type, va_list ap)
{
    memset(bt, 0, sizeof(*bt));
    bt_plugin_path();
    GString *option = g_string_new("-object ");
    g_string_append_printf(option, "%s,id=m0", type);
    va_list copy;
    va_copy(copy, ap);
    for (const char *p = va_arg(copy, const char *); p; p = va_arg(copy, const char *))
        g_string_append_printf(option, ",%s", p);
    va_end(copy);

    md_origin origin = { .option = option->str };
    bt->desc = machine_desc_new();
    md_item *it = md_item_add(bt->desc, MD_OBJECT, type, "m0", &origin);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        const char *eq = strchr(p, '=');
        char *key = eq ? g_strndup(p, (gsize)(eq - p)) : g_strdup(p);
        md_item_set(it, key, eq ? eq + 1 : NULL, &origin);
        g_free(key);
    }
    g_string_free(option, TRUE);

    bt->reg = registry_new(NULL, 0);
    GError *err = NULL;
    if (machine_desc_validate(bt->desc, bt->reg, &err) < 0)
        return bt_fail(bt, err);
    return 0;
}

int bt_describe(bt_backend *bt, const char *type, ...)
{
    va_list ap;
    va_start(ap, type);
    int r = bt_describe_va(bt, type, ap);
    va_end(ap);
    return r;
}

int bt_instantiate(bt_backend *bt)
{
    GError *err = NULL;
    bt->set = object_set_build(bt->desc, &err);
    if (!bt->set)
        return bt_fail(bt, err);
    bt->obj = object_set_find(bt->set, "m0");
    ck_assert_ptr_nonnull(bt->obj);
    int r = object_memory_region(bt->obj, &bt->region);
    ck_assert_int_eq(r, 0);
    return 0;
}

int bt_build(bt_backend *bt, const char *type, ...)
{
    va_list ap;
    va_start(ap, type);
    int r = bt_describe_va(bt, type, ap);
    va_end(ap);
    return r < 0 ? r : bt_instantiate(bt);
}

void bt_free(bt_backend *bt)
{
    object_set_free(bt->set);
    if (bt->desc)
        machine_desc_free(bt->desc);
    if (bt->reg)
        registry_free(bt->reg);
    g_free(bt->error);
    memset(bt, 0, sizeof(*bt));
}

void bt_assert_error(const bt_backend *bt, ...)
{
    ck_assert_msg(bt->error, "expected an error, got success");
    va_list ap;
    va_start(ap, bt);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
        ck_assert_msg(strstr(bt->error, want), "error \"%s\" lacks \"%s\"", bt->error, want);
    va_end(ap);
}

int bt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

bool bt_is_mapped(const void *addr)
{
    unsigned char vec;
    uintptr_t page = (uintptr_t)addr & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    return mincore((void *)page, 1, &vec) == 0 || errno != ENOMEM;
}

uint64_t bt_resident_pages(const void *addr, uint64_t len)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, resident = 0;
    unsigned char *vec = g_malloc(n);
    ck_assert_int_eq(mincore((void *)addr, len, vec), 0);
    for (uint64_t i = 0; i < n; i++)
        resident += vec[i] & 1;
    g_free(vec);
    return resident;
}

/* The smaps or maps line block describing the mapping that contains addr. */
static bool find_mapping(const char *file, const void *addr, char *perms, char *vmflags, size_t vmlen)
{
    FILE *f = fopen(file, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    bool inside = false, found = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char p[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            if (found)
                break;
            inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
            if (inside) {
                found = true;
                if (perms)
                    memcpy(perms, p, 5);
            }
        } else if (inside && vmflags && strncmp(line, "VmFlags:", 8) == 0) {
            g_strlcpy(vmflags, line + 8, vmlen);
        }
    }
    fclose(f);
    return found;
}

bool bt_has_vmflag(const void *addr, const char *flag)
{
    char flags[512] = "";
    ck_assert(find_mapping("/proc/self/smaps", addr, NULL, flags, sizeof(flags)));
    char want[8];
    snprintf(want, sizeof(want), " %s", flag);
    for (char *p = flags; (p = strstr(p, want)); p += strlen(want))
        if (p[strlen(want)] == ' ' || p[strlen(want)] == '\n' || !p[strlen(want)])
            return true;
    return false;
}

bool bt_is_writable(const void *addr)
{
    char perms[8] = "";
    ck_assert(find_mapping("/proc/self/maps", addr, perms, NULL, 0));
    return perms[1] == 'w';
}

char *bt_make_temp_dir(const char *parent)
{
    char *dir = g_strdup_printf("%s/tessera-backend-test.XXXXXX", parent ? parent : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    char *out = strdup(dir);
    g_free(dir);
    return out;
}

void bt_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *p = g_strdup_printf("%s/%s", dir, e->d_name);
            if (unlink(p) < 0)
                bt_remove_dir(p);
            g_free(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

int bt_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

void bt_write_file(const char *path, uint64_t len, int c)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    char buf[4096];
    memset(buf, c, sizeof(buf));
    for (uint64_t off = 0; off < len; off += sizeof(buf)) {
        size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
    }
    close(fd);
}

int64_t bt_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* --- huge pages --- */

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

/*
 * Pages this process added. Giving back means subtracting them from the current count, not
 * writing an old count back: another test run reserving pages at the same time keeps its own.
 */
static long added_hugepages;

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static bool write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fprintf(f, "%ld\n", v) > 0;
    return fclose(f) == 0 && ok;
}

const char *bt_hugepages_get(int n, bool mount_dir, char **mnt)
{
    *mnt = NULL;
    if (geteuid() != 0)
        return "huge page tests need root (to reserve pages and mount hugetlbfs)";
    long have = read_long(NR_HUGEPAGES);
    if (have < 0)
        return "no " NR_HUGEPAGES " on this host";
    if (!write_long(NR_HUGEPAGES, have + n))
        return "could not reserve 2M huge pages";
    added_hugepages = n;
    if (read_long(NR_HUGEPAGES) < have + n) {
        bt_hugepages_put(NULL);
        return "could not reserve 2M huge pages";
    }
    if (!mount_dir)
        return NULL;
    char *dir = bt_make_temp_dir(NULL);
    if (mount("tessera-test", dir, "hugetlbfs", 0, "pagesize=2M") < 0) {
        rmdir(dir);
        free(dir);
        bt_hugepages_put(NULL);
        return "could not mount hugetlbfs";
    }
    *mnt = dir;
    return NULL;
}

void bt_hugepages_put(char *mnt)
{
    if (mnt) {
        /* a plain unmount first: a lazy one may still hold the directory when rmdir runs */
        if (umount2(mnt, 0) < 0)
            umount2(mnt, MNT_DETACH);
        rmdir(mnt);
        free(mnt);
    }
    if (added_hugepages) {
        long now = read_long(NR_HUGEPAGES);
        if (now >= added_hugepages)
            write_long(NR_HUGEPAGES, now - added_hugepages);
        added_hugepages = 0;
    }
}

long bt_hugepages_free(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long free_pages = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
            break;
    fclose(f);
    return free_pages;
}
