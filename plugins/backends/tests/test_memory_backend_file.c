/* SPDX-License-Identifier: MIT */
/*
 * memory-backend-file through the core: sharing, creating, growing and keeping files,
 * temporary files in directories, read-only maps, discard-data, alignment, hugetlbfs, and
 * every bad-input error with nothing left behind.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_harness.h"

#define MiB (1024 * 1024)

static char *root;  /* made before the tests and removed after them, by the parent process */
static char *dir;   /* a fresh temp dir per test, in root */
static char *path;  /* dir/mem: a file name in it */
static char *mp;    /* "mem-path=<path>" */
static char *mpdir; /* "mem-path=<dir>" */

/*
 * A failing test ends its process before its checked teardown runs; the unchecked teardown
 * (in the parent) still removes whatever the test left in root.
 */
static void suite_setup(void)
{
    root = bt_make_temp_dir(NULL);
}

static void suite_teardown(void)
{
    bt_remove_dir(root);
    free(root);
}

static void per_test_setup(void)
{
    dir = bt_make_temp_dir(root);
    path = g_strdup_printf("%s/mem", dir);
    mp = g_strdup_printf("mem-path=%s", path);
    mpdir = g_strdup_printf("mem-path=%s", dir);
}

static void per_test_teardown(void)
{
    bt_remove_dir(dir);
    free(dir);
    g_free(path);
    g_free(mp);
    g_free(mpdir);
}

static void read_file(const char *p, off_t off, char *buf, size_t len)
{
    int fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

START_TEST(shared_file_is_created_and_kept)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", mp, NULL) == 0, "%s", bt.error);
    ck_assert_int_eq(bt_file_size(path), MiB);
    ck_assert_uint_eq(bt.region.size, MiB);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED);
    ck_assert_int_ge(bt.region.fd, 0);
    strcpy((char *)bt.region.host + 8192, "guest data");
    char buf[11];
    read_file(path, 8192, buf, sizeof(buf));
    ck_assert_str_eq(buf, "guest data");
    bt_free(&bt);
    /* the file outlives the backend, with its data */
    ck_assert_int_eq(bt_file_size(path), MiB);
    read_file(path, 8192, buf, sizeof(buf));
    ck_assert_str_eq(buf, "guest data");
}
END_TEST

START_TEST(private_mapping_leaves_file_alone)
{
    bt_write_file(path, MiB, 'o');
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", mp, NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq(bt.region.flags, 0);
    ck_assert_int_eq(bt.region.fd, -1); /* another mapping of the file would not see our writes */
    ck_assert_int_eq(((char *)bt.region.host)[100], 'o');
    memset(bt.region.host, 'w', 4096);
    char c;
    read_file(path, 100, &c, 1);
    ck_assert_int_eq(c, 'o');
    bt_free(&bt);
    read_file(path, 100, &c, 1);
    ck_assert_int_eq(c, 'o');
}
END_TEST

START_TEST(smaller_file_is_grown)
{
    bt_write_file(path, 4096, 'a');
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", mp, NULL) == 0, "%s", bt.error);
    ck_assert_int_eq(bt_file_size(path), MiB);
    ck_assert_int_eq(((char *)bt.region.host)[4095], 'a');
    ck_assert_int_eq(((char *)bt.region.host)[4096], 0);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), MiB);
}
END_TEST

START_TEST(larger_file_is_kept)
{
    bt_write_file(path, 2 * MiB, 'b');
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", mp, NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq(bt.region.size, MiB);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), 2 * MiB);
}
END_TEST

START_TEST(directory_gets_unlinked_temp_file)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", mpdir, NULL) == 0, "%s",
                  bt.error);
    ck_assert_int_eq(bt_dir_entries(dir), 0);
    struct stat st;
    ck_assert_int_eq(fstat(bt.region.fd, &st), 0);
    ck_assert_uint_eq(st.st_nlink, 0);
    ck_assert_int_eq(st.st_size, MiB);
    strcpy(bt.region.host, "temp");
    char buf[5];
    ck_assert_int_eq(pread(bt.region.fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    ck_assert_str_eq(buf, "temp");
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(dir), 0);
}
END_TEST

START_TEST(readonly_maps_read_only)
{
    bt_write_file(path, MiB, 'r');
    ck_assert_int_eq(chmod(path, 0444), 0);
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", "readonly=on", mp, NULL) == 0,
                  "%s", bt.error);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED | TS_MEM_READONLY);
    ck_assert(!bt_is_writable(bt.region.host));
    ck_assert_int_eq(((char *)bt.region.host)[MiB - 1], 'r');
    int fl = fcntl(bt.region.fd, F_GETFL);
    ck_assert_int_eq(fl & O_ACCMODE, O_RDONLY);
    bt_free(&bt);
}
END_TEST

START_TEST(readonly_file_too_small)
{
    bt_write_file(path, 4096, 'r');
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", "readonly=on", mp, NULL), -1);
    bt_assert_error(&bt, path, "is 4K, smaller than size 1M", "readonly=on cannot grow it", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), 4096);
}
END_TEST

START_TEST(readonly_file_missing)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", "readonly=on", mp, NULL), -1);
    bt_assert_error(&bt, path, "does not exist", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), -1);
}
END_TEST

START_TEST(readonly_directory)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", "readonly=on", mpdir, NULL), -1);
    bt_assert_error(&bt, "is a directory", "readonly=on", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(missing_directory)
{
    g_autofree char *deep = g_strdup_printf("mem-path=%s/no/such/file", dir);
    g_autofree char *parent = g_strdup_printf("directory %s/no/such does not exist", dir);
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", deep, NULL), -1);
    bt_assert_error(&bt, "can't create mem-path", parent, "memory-backend-file", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(dir), 0);
}
END_TEST

/* A file we may not write, opened for share=on without readonly: EACCES, said as such. */
START_TEST(read_only_file_without_readonly)
{
    bt_write_file(path, MiB, 'x');
    ck_assert_int_eq(chmod(path, 0444), 0);
    bt_backend bt;
    int fds = bt_count_fds();
    ck_assert_msg(bt_describe(&bt, "memory-backend-file", "size=1M", "share=on", mp, NULL) == 0, "%s",
                  bt.error);
    /* root ignores file modes; act as nobody while the backend opens the file */
    bool dropped = geteuid() == 0;
    if (dropped)
        ck_assert_int_eq(seteuid(65534), 0);
    int r = bt_instantiate(&bt);
    if (dropped)
        ck_assert_int_eq(seteuid(0), 0);
    ck_assert_int_eq(r, -1);
    bt_assert_error(&bt, "can't open mem-path", path, "for writing: Permission denied",
                    "readonly=on", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
    ck_assert_int_eq(bt_file_size(path), MiB);
}
END_TEST

/* A failure after the file was created removes it; after it was grown shrinks it back. */
START_TEST(failure_undoes_create_and_grow)
{
    /* 200T: no file system here holds it (EFBIG) or no address space maps it (ENOMEM) */
    bt_backend bt;
    int fds = bt_count_fds();
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=200T", "share=on", mp, NULL), -1);
    bt_assert_error(&bt, "200T", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), -1);
    ck_assert_int_eq(bt_dir_entries(dir), 0);

    bt_write_file(path, 4096, 'k');
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=200T", "share=on", mp, NULL), -1);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), 4096);
    ck_assert_int_eq(bt_count_fds(), fds);
}
END_TEST

START_TEST(discard_data_punches_the_file)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "share=on", "discard-data=on", mp, NULL) == 0,
                  "%s", bt.error);
    memset(bt.region.host, 'd', MiB);
    bt_free(&bt);
    ck_assert_int_eq(bt_file_size(path), MiB);
    char buf[4096];
    read_file(path, MiB - sizeof(buf), buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        ck_assert_int_eq(buf[i], 0);
}
END_TEST

START_TEST(align_places_the_mapping)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "align=8M", mpdir, NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq((uintptr_t)bt.region.host % (8 * MiB), 0);
    bt_free(&bt);
}
END_TEST

START_TEST(align_must_be_power_of_two)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", "align=3M", mp, NULL), -1);
    bt_assert_error(&bt, "align 3M is not a power of two", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(dir), 0);
}
END_TEST

START_TEST(align_below_page_size)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", "align=1K", mp, NULL), -1);
    bt_assert_error(&bt, "align 1K is smaller than the 4K page size", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(prealloc_fills_the_file)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=2M", "share=on", "prealloc=on", mp, NULL) == 0,
                  "%s", bt.error);
    ck_assert_uint_eq(bt_resident_pages(bt.region.host, bt.region.size), 2 * MiB / 4096);
    struct stat st;
    ck_assert_int_eq(fstat(bt.region.fd, &st), 0);
    ck_assert_int_ge(st.st_blocks * 512, 2 * MiB); /* blocks allocated, not a sparse file */
    bt_free(&bt);
}
END_TEST

START_TEST(dump_hint)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=1M", "dump=off", mp, NULL) == 0, "%s", bt.error);
    ck_assert(bt_has_vmflag(bt.region.host, "dd"));
    bt_free(&bt);
}
END_TEST

START_TEST(size_zero_is_refused)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=0", mp, NULL), -1);
    bt_assert_error(&bt, "property 'size': 0 is too small", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(dir), 0);
}
END_TEST

START_TEST(mem_path_is_required)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=1M", NULL), -1);
    bt_assert_error(&bt, "missing required property 'mem-path'", NULL);
    bt_free(&bt);
}
END_TEST

/* --- hugetlbfs (root: a private mount and 4 reserved 2M pages) --- */

static char *huge_mnt;
static const char *huge_skip;

static void huge_setup(void)
{
    huge_skip = bt_hugepages_get(4, true, &huge_mnt);
}

static void huge_teardown(void)
{
    bt_hugepages_put(huge_mnt);
    huge_mnt = NULL;
}

#define SKIP_WITHOUT_HUGEPAGES()                                   \
    do {                                                           \
        if (huge_skip) {                                           \
            printf("SKIP: %s: %s\n", __func__, huge_skip);         \
            return;                                                \
        }                                                          \
    } while (0)

START_TEST(hugetlbfs_directory)
{
    SKIP_WITHOUT_HUGEPAGES();
    g_autofree char *m = g_strdup_printf("mem-path=%s", huge_mnt);
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-file", "size=4M", "share=on", "prealloc=on", m, NULL) == 0,
                  "%s", bt.error);
    ck_assert_uint_eq(bt.region.page_size, 2 * MiB);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED | TS_MEM_HUGETLB);
    ck_assert_uint_eq((uintptr_t)bt.region.host % (2 * MiB), 0);
    ck_assert_int_eq(bt_dir_entries(huge_mnt), 0);
    memset(bt.region.host, 'h', 4 * MiB);
    bt_free(&bt);
}
END_TEST

START_TEST(hugetlbfs_size_not_multiple)
{
    SKIP_WITHOUT_HUGEPAGES();
    g_autofree char *m = g_strdup_printf("mem-path=%s", huge_mnt);
    g_autofree char *want = g_strdup_printf("size 3M is not a multiple of the 2M huge page size of %s",
                                            huge_mnt);
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=3M", "share=on", m, NULL), -1);
    bt_assert_error(&bt, want, NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(huge_mnt), 0);
}
END_TEST

START_TEST(hugetlbfs_align_not_multiple)
{
    SKIP_WITHOUT_HUGEPAGES();
    g_autofree char *m = g_strdup_printf("mem-path=%s/file", huge_mnt);
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", "size=2M", "align=1M", "share=on", m, NULL), -1);
    bt_assert_error(&bt, "align 1M is not a multiple of the 2M huge page size", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(huge_mnt), 0);
}
END_TEST

START_TEST(hugetlbfs_named_file_shortage)
{
    SKIP_WITHOUT_HUGEPAGES();
    g_autofree char *m = g_strdup_printf("mem-path=%s/file", huge_mnt);
    bt_backend bt;
    int fds = bt_count_fds();
    /* well beyond the free pages, even if another test run reserves a few meanwhile */
    g_autofree char *size = g_strdup_printf("size=%ldM", 2 * (bt_hugepages_free() + 64));
    g_autofree char *want = g_strdup_printf("%s: not enough free 2M huge pages", size + 5);
    ck_assert_int_eq(bt_build(&bt, "memory-backend-file", size, "share=on", "prealloc=on", m, NULL), -1);
    bt_assert_error(&bt, want, NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_dir_entries(huge_mnt), 0); /* the file we created is gone */
    ck_assert_int_eq(bt_count_fds(), fds);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("memory-backend-file");
    TCase *tc = tcase_create("file");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, per_test_setup, per_test_teardown);
    tcase_add_test(tc, shared_file_is_created_and_kept);
    tcase_add_test(tc, private_mapping_leaves_file_alone);
    tcase_add_test(tc, smaller_file_is_grown);
    tcase_add_test(tc, larger_file_is_kept);
    tcase_add_test(tc, directory_gets_unlinked_temp_file);
    tcase_add_test(tc, readonly_maps_read_only);
    tcase_add_test(tc, readonly_file_too_small);
    tcase_add_test(tc, readonly_file_missing);
    tcase_add_test(tc, readonly_directory);
    tcase_add_test(tc, missing_directory);
    tcase_add_test(tc, read_only_file_without_readonly);
    tcase_add_test(tc, failure_undoes_create_and_grow);
    tcase_add_test(tc, discard_data_punches_the_file);
    tcase_add_test(tc, align_places_the_mapping);
    tcase_add_test(tc, align_must_be_power_of_two);
    tcase_add_test(tc, align_below_page_size);
    tcase_add_test(tc, prealloc_fills_the_file);
    tcase_add_test(tc, dump_hint);
    tcase_add_test(tc, size_zero_is_refused);
    tcase_add_test(tc, mem_path_is_required);
    suite_add_tcase(s, tc);

    TCase *huge = tcase_create("hugetlbfs");
    /* unchecked: mount and reservation happen once, in the parent, around the forked tests */
    tcase_add_unchecked_fixture(huge, huge_setup, huge_teardown);
    tcase_add_test(huge, hugetlbfs_directory);
    tcase_add_test(huge, hugetlbfs_size_not_multiple);
    tcase_add_test(huge, hugetlbfs_align_not_multiple);
    tcase_add_test(huge, hugetlbfs_named_file_shortage);
    suite_add_tcase(s, huge);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(file_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
