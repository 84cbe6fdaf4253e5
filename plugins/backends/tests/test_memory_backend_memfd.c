/* SPDX-License-Identifier: MIT */
/* memory-backend-memfd through the core: sharing by default, seals, huge pages, errors. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend_harness.h"

#define MiB (1024 * 1024)

START_TEST(shared_by_default)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=1M", NULL) == 0, "%s", bt.error);
    ck_assert_int_ge(bt.region.fd, 0);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED);
    ck_assert_uint_eq(bt.region.size, MiB);
    strcpy(bt.region.host, "hello peer");
    char *peer = mmap(NULL, MiB, PROT_READ, MAP_SHARED, bt.region.fd, 0);
    ck_assert_ptr_ne(peer, MAP_FAILED);
    ck_assert_str_eq(peer, "hello peer");
    munmap(peer, MiB);
    /* the memfd is named after the object, for /proc/PID/fd readers */
    char link[64], target[256];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", bt.region.fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    ck_assert_int_gt(n, 0);
    target[n] = '\0';
    ck_assert_msg(strstr(target, "memfd:m0"), "memfd is %s", target);
    bt_free(&bt);
}
END_TEST

START_TEST(sealed_by_default)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=1M", NULL) == 0, "%s", bt.error);
    int seals = fcntl(bt.region.fd, F_GET_SEALS);
    ck_assert_int_eq(seals, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    ck_assert_int_eq(ftruncate(bt.region.fd, 2 * MiB), -1);
    ck_assert_int_eq(ftruncate(bt.region.fd, 4096), -1);
    bt_free(&bt);
}
END_TEST

START_TEST(seal_off)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=1M", "seal=off", NULL) == 0, "%s", bt.error);
    int seals = fcntl(bt.region.fd, F_GET_SEALS);
    /* without MFD_ALLOW_SEALING the kernel marks the memfd F_SEAL_SEAL: no seals, ever */
    ck_assert_int_eq(seals & (F_SEAL_GROW | F_SEAL_SHRINK), 0);
    bt_free(&bt);
}
END_TEST

START_TEST(share_off_is_private)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=1M", "share=off", NULL) == 0, "%s", bt.error);
    ck_assert_int_eq(bt.region.fd, -1);
    ck_assert_uint_eq(bt.region.flags, 0);
    ((volatile char *)bt.region.host)[0] = 'p';
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ((volatile char *)bt.region.host)[0] = 'c';
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(((volatile char *)bt.region.host)[0], 'p');
    bt_free(&bt);
}
END_TEST

START_TEST(prealloc_makes_pages_resident)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=2M", "prealloc=on", NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq(bt_resident_pages(bt.region.host, bt.region.size), 2 * MiB / 4096);
    struct stat st;
    ck_assert_int_eq(fstat(bt.region.fd, &st), 0);
    ck_assert_int_ge(st.st_blocks * 512, 2 * MiB);
    bt_free(&bt);
}
END_TEST

START_TEST(hugetlbsize_needs_hugetlb)
{
    bt_backend bt;
    int fds = bt_count_fds();
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", "size=2M", "hugetlbsize=2M", NULL), -1);
    bt_assert_error(&bt, "hugetlbsize 2M needs hugetlb=on", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
}
END_TEST

START_TEST(hugetlbsize_power_of_two)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", "size=6M", "hugetlb=on", "hugetlbsize=3M", NULL), -1);
    bt_assert_error(&bt, "hugetlbsize 3M is not a power of two", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(unsupported_huge_page_size)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", "size=4M", "hugetlb=on", "hugetlbsize=4M", NULL), -1);
    bt_assert_error(&bt, "can't create a memfd of 4M huge pages", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(size_zero_is_refused)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", "size=0", NULL), -1);
    bt_assert_error(&bt, "property 'size': 0 is too small", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(teardown_releases_everything)
{
    int fds = bt_count_fds();
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=1M", NULL) == 0, "%s", bt.error);
    void *host = bt.region.host;
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
    ck_assert(!bt_is_mapped(host));
}
END_TEST

/* --- huge pages (root: 4 reserved 2M pages) --- */

static char *huge_mnt;
static const char *huge_skip;

static void huge_setup(void)
{
    huge_skip = bt_hugepages_get(4, false, &huge_mnt);
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

START_TEST(hugetlb_memfd)
{
    SKIP_WITHOUT_HUGEPAGES();
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-memfd", "size=4M", "hugetlb=on", "hugetlbsize=2M",
                           "prealloc=on", NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq(bt.region.page_size, 2 * MiB);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED | TS_MEM_HUGETLB);
    ck_assert_uint_eq((uintptr_t)bt.region.host % (2 * MiB), 0);
    ck_assert_int_eq(fcntl(bt.region.fd, F_GET_SEALS), F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    memset(bt.region.host, 'h', 4 * MiB);
    bt_free(&bt);
}
END_TEST

START_TEST(hugetlb_size_not_multiple)
{
    SKIP_WITHOUT_HUGEPAGES();
    bt_backend bt;
    int fds = bt_count_fds();
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", "size=3M", "hugetlb=on", NULL), -1);
    bt_assert_error(&bt, "size 3M is not a multiple of the 2M huge page size of the hugetlb memfd", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
}
END_TEST

START_TEST(hugetlb_shortage)
{
    SKIP_WITHOUT_HUGEPAGES();
    bt_backend bt;
    int fds = bt_count_fds();
    /* well beyond the free pages, even if another test run reserves a few meanwhile */
    g_autofree char *size = g_strdup_printf("size=%ldM", 2 * (bt_hugepages_free() + 64));
    ck_assert_int_eq(bt_build(&bt, "memory-backend-memfd", size, "hugetlb=on", NULL), -1);
    bt_assert_error(&bt, "not enough free 2M huge pages", NULL);
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
}
END_TEST

static Suite *memfd_suite(void)
{
    Suite *s = suite_create("memory-backend-memfd");
    TCase *tc = tcase_create("memfd");
    tcase_add_test(tc, shared_by_default);
    tcase_add_test(tc, sealed_by_default);
    tcase_add_test(tc, seal_off);
    tcase_add_test(tc, share_off_is_private);
    tcase_add_test(tc, prealloc_makes_pages_resident);
    tcase_add_test(tc, hugetlbsize_needs_hugetlb);
    tcase_add_test(tc, hugetlbsize_power_of_two);
    tcase_add_test(tc, unsupported_huge_page_size);
    tcase_add_test(tc, size_zero_is_refused);
    tcase_add_test(tc, teardown_releases_everything);
    suite_add_tcase(s, tc);

    TCase *huge = tcase_create("hugetlb");
    tcase_add_unchecked_fixture(huge, huge_setup, huge_teardown);
    tcase_add_test(huge, hugetlb_memfd);
    tcase_add_test(huge, hugetlb_size_not_multiple);
    tcase_add_test(huge, hugetlb_shortage);
    suite_add_tcase(s, huge);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(memfd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
