/* SPDX-License-Identifier: MIT */
/* memory-backend-ram through the core: private and shared anonymous memory, hints, prealloc. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend_harness.h"

#define MiB (1024 * 1024)

/* Has a child process write byte c at the start of region; returns what the parent sees there after. */
static char child_writes(const ts_memory_region *r, char c)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ((volatile char *)r->host)[0] = c;
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return ((volatile char *)r->host)[0];
}

START_TEST(private_by_default)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-ram", "size=1M", NULL) == 0, "%s", bt.error);
    ck_assert_ptr_nonnull(bt.region.host);
    ck_assert_uint_eq(bt.region.size, MiB);
    ck_assert_int_eq(bt.region.fd, -1);
    ck_assert_uint_eq(bt.region.flags, 0);
    ck_assert_uint_eq(bt.region.page_size, (uint64_t)sysconf(_SC_PAGESIZE));
    memset(bt.region.host, 0x5a, MiB);
    ck_assert_int_eq(child_writes(&bt.region, 'c'), 0x5a); /* private: the child's copy */
    bt_free(&bt);
}
END_TEST

START_TEST(share_uses_memfd)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-ram", "size=1M", "share=on", NULL) == 0, "%s", bt.error);
    ck_assert_int_ge(bt.region.fd, 0);
    ck_assert_uint_eq(bt.region.flags, TS_MEM_SHARED);
    struct stat st;
    ck_assert_int_eq(fstat(bt.region.fd, &st), 0);
    ck_assert_int_eq(st.st_size, MiB);
    /* writes through the backend's mapping show in a second mapping of the fd, and back */
    char *other = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, bt.region.fd, 0);
    ck_assert_ptr_ne(other, MAP_FAILED);
    strcpy(bt.region.host, "through the backend");
    ck_assert_str_eq(other, "through the backend");
    strcpy(other + 4096, "through the fd");
    ck_assert_str_eq((char *)bt.region.host + 4096, "through the fd");
    ck_assert_int_eq(child_writes(&bt.region, 'c'), 'c');
    munmap(other, MiB);
    bt_free(&bt);
}
END_TEST

START_TEST(size_rounds_up_to_page)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-ram", "size=1000", NULL) == 0, "%s", bt.error);
    ck_assert_uint_eq(bt.region.size, (uint64_t)sysconf(_SC_PAGESIZE));
    bt_free(&bt);
}
END_TEST

START_TEST(merge_hint)
{
    if (access("/sys/kernel/mm/ksm", F_OK) != 0) {
        printf("SKIP: merge_hint: the kernel has no KSM\n");
        return;
    }
    bt_backend on, off;
    ck_assert_msg(bt_build(&on, "memory-backend-ram", "size=1M", NULL) == 0, "%s", on.error);
    ck_assert_msg(bt_build(&off, "memory-backend-ram", "size=1M", "merge=off", NULL) == 0, "%s", off.error);
    ck_assert(bt_has_vmflag(on.region.host, "mg"));
    ck_assert(!bt_has_vmflag(off.region.host, "mg"));
    bt_free(&on);
    bt_free(&off);
}
END_TEST

START_TEST(dump_hint)
{
    bt_backend on, off;
    ck_assert_msg(bt_build(&on, "memory-backend-ram", "size=1M", NULL) == 0, "%s", on.error);
    ck_assert_msg(bt_build(&off, "memory-backend-ram", "size=1M", "dump=off", NULL) == 0, "%s", off.error);
    ck_assert(!bt_has_vmflag(on.region.host, "dd"));
    ck_assert(bt_has_vmflag(off.region.host, "dd"));
    bt_free(&on);
    bt_free(&off);
}
END_TEST

START_TEST(prealloc_makes_pages_resident)
{
    bt_backend lazy, eager;
    ck_assert_msg(bt_build(&lazy, "memory-backend-ram", "size=4M", NULL) == 0, "%s", lazy.error);
    ck_assert_msg(bt_build(&eager, "memory-backend-ram", "size=4M", "prealloc=on", NULL) == 0, "%s",
                  eager.error);
    uint64_t pages = 4 * MiB / (uint64_t)sysconf(_SC_PAGESIZE);
    ck_assert_uint_eq(bt_resident_pages(lazy.region.host, lazy.region.size), 0);
    ck_assert_uint_eq(bt_resident_pages(eager.region.host, eager.region.size), pages);
    bt_free(&lazy);
    bt_free(&eager);
}
END_TEST

START_TEST(shared_prealloc)
{
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-ram", "size=2M", "share=on", "prealloc=on", NULL) == 0,
                  "%s", bt.error);
    ck_assert_uint_eq(bt_resident_pages(bt.region.host, bt.region.size),
                      2 * MiB / (uint64_t)sysconf(_SC_PAGESIZE));
    bt_free(&bt);
}
END_TEST

START_TEST(size_zero_is_refused)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-ram", "size=0", NULL), -1);
    bt_assert_error(&bt, "property 'size': 0 is too small", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(size_is_required)
{
    bt_backend bt;
    ck_assert_int_eq(bt_build(&bt, "memory-backend-ram", "share=on", NULL), -1);
    bt_assert_error(&bt, "missing required property 'size'", NULL);
    bt_free(&bt);
}
END_TEST

START_TEST(teardown_releases_everything)
{
    int fds = bt_count_fds();
    bt_backend bt;
    ck_assert_msg(bt_build(&bt, "memory-backend-ram", "size=1M", "share=on", NULL) == 0, "%s", bt.error);
    void *host = bt.region.host;
    ck_assert_int_eq(bt_count_fds(), fds + 1);
    ck_assert(bt_is_mapped(host));
    bt_free(&bt);
    ck_assert_int_eq(bt_count_fds(), fds);
    ck_assert(!bt_is_mapped(host));
}
END_TEST

static Suite *ram_suite(void)
{
    Suite *s = suite_create("memory-backend-ram");
    TCase *tc = tcase_create("ram");
    tcase_add_test(tc, private_by_default);
    tcase_add_test(tc, share_uses_memfd);
    tcase_add_test(tc, size_rounds_up_to_page);
    tcase_add_test(tc, merge_hint);
    tcase_add_test(tc, dump_hint);
    tcase_add_test(tc, prealloc_makes_pages_resident);
    tcase_add_test(tc, shared_prealloc);
    tcase_add_test(tc, size_zero_is_refused);
    tcase_add_test(tc, size_is_required);
    tcase_add_test(tc, teardown_releases_everything);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ram_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
