/* SPDX-License-Identifier: MIT */
/*
 * Test guests under the KVM core: TAP output and exit status of hello and cpl3-loop,
 * stopping a running VM from another thread, and set-up errors. Exits 77 (skipped)
 * when /dev/kvm cannot be opened.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_runner.h"
#include "kvm/kvm.h"

/* A temporary file standing in for the serial console. */
static int console_open(void)
{
    char name[] = "/tmp/tessera-console-XXXXXX";
    int fd = mkstemp(name);
    ck_assert_int_ge(fd, 0);
    unlink(name);
    return fd;
}

static char *console_text(int fd)
{
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = g_malloc0(len + 1);
    ck_assert_int_eq(pread(fd, text, len, 0), len);
    return text;
}

/* Counts "ok N" / "not ok N" lines and reads the plan; true when the run is all green. */
static bool tap_all_ok(const char *text, unsigned *planned, unsigned *ok)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    unsigned bad = 0;

    *planned = *ok = 0;
    for (char **l = lines; *l; l++) {
        if (sscanf(*l, "1..%u", planned) == 1)
            continue;
        if (!strncmp(*l, "ok ", 3))
            (*ok)++;
        else if (!strncmp(*l, "not ok ", 7))
            bad++;
    }
    return *planned > 0 && *ok == *planned && bad == 0;
}

static void run_guest_and_check(const char *name, const char *cmdline, unsigned expect_tests)
{
    g_autofree char *path = g_build_filename(TESSERA_GUEST_DIR, name, NULL);
    GError *err = NULL;
    unsigned planned, ok;
    int fd = console_open();

    int status = guest_runner_run(path, cmdline, 128, fd, &err);
    ck_assert_msg(status >= 0, "%s: %s", name, err ? err->message : "");
    g_autofree char *text = console_text(fd);
    close(fd);
    ck_assert_msg(tap_all_ok(text, &planned, &ok), "%s failed its TAP tests:\n%s", name, text);
    ck_assert_uint_eq(planned, expect_tests);
    ck_assert_msg(status == VM_STATUS_DEBUG_EXIT(0), "%s exited with %d, not 1:\n%s", name, status,
                  text);
}

START_TEST(test_hello)
{
    run_guest_and_check("hello.elf", "token=tessera-guest expect_mem_mib=128", 6);
}
END_TEST

/*
 * 10^8 iterations at CPL3: quick when CPL3 runs natively, far beyond the test's timeout
 * if it were emulated like CPL0 is on nested hosts.
 */
START_TEST(test_cpl3_loop)
{
    run_guest_and_check("cpl3-loop.elf", NULL, 2);
}
END_TEST

/* A guest failing its TAP tests exits with debug-exit code 1 -> status 3. */
START_TEST(test_failing_guest_status)
{
    g_autofree char *path = g_build_filename(TESSERA_GUEST_DIR, "hello.elf", NULL);
    GError *err = NULL;
    unsigned planned, ok;
    int fd = console_open();

    int status = guest_runner_run(path, "token=wrong", 128, fd, &err);
    g_autofree char *text = console_text(fd);
    close(fd);
    ck_assert_int_eq(status, VM_STATUS_DEBUG_EXIT(1));
    ck_assert(!tap_all_ok(text, &planned, &ok));
    ck_assert_ptr_nonnull(strstr(text, "not ok 5 - command line"));
}
END_TEST

struct stopper {
    vm *v;
    int fd;
};

/* Waits until the guest has printed its plan (so it is in its endless loop), then stops it. */
static void *stop_when_running(void *arg)
{
    struct stopper *s = arg;
    for (;;) {
        g_autofree char *text = console_text(s->fd);
        if (strstr(text, "1..2"))
            break;
        g_usleep(10000);
    }
    vm_request_stop(s->v, 42);
    return NULL;
}

START_TEST(test_stop_from_another_thread)
{
    g_autofree char *path = g_build_filename(TESSERA_GUEST_DIR, "cpl3-loop.elf", NULL);
    ts_memory_region ram = { .size = 64 << 20, .fd = -1, .page_size = 4096 };
    struct stopper s = { .fd = console_open() };
    vm_config cfg = { .ram = &ram, .nr_vcpus = 2, .serial_fd = s.fd, .debug_exit = true,
                      .debug_exit_iobase = 0xf4 };
    GError *err = NULL;
    pthread_t t;

    ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(ram.host, MAP_FAILED);
    ck_assert_msg(vm_create(&cfg, &s.v, &err) == 0, "%s", err ? err->message : "");
    /* About 10^15 iterations: this guest only ends when we stop it. */
    ck_assert_int_eq(vm_load_pvh(s.v, path, "iterations=0x4000000000000", &err), 0);
    pthread_create(&t, NULL, stop_when_running, &s);
    /* The second vCPU never gets a SIPI: it sits in KVM_RUN and must be kicked out too. */
    ck_assert_int_eq(vm_run(s.v), 42);
    pthread_join(t, NULL);
    vm_destroy(s.v);
    close(s.fd);
    munmap(ram.host, ram.size);
}
END_TEST

START_TEST(test_setup_errors)
{
    GError *err = NULL;
    vm *v = NULL;
    ts_memory_region small = { .host = (void *)&err, .size = 4096, .fd = -1 };
    vm_config cfg = { .ram = &small, .serial_fd = -1 };

    ck_assert_int_eq(vm_create(&cfg, &v, &err), -EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err->message, "at least 2 MiB"));
    g_clear_error(&err);

    /* Not a kernel at all: a clear error, no VM run. */
    ck_assert_int_lt(guest_runner_run("/etc/hostname", NULL, 16, -1, &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "/etc/hostname"));
    g_clear_error(&err);
}
END_TEST

int main(void)
{
    char *why = NULL;
    if (!guest_runner_kvm_usable(&why)) {
        printf("SKIP: %s; the KVM guest tests need a host where /dev/kvm can be opened\n", why);
        g_free(why);
        return 77;
    }
    Suite *s = suite_create("kvm-guests");
    TCase *tc = tcase_create("guests");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hello);
    tcase_add_test(tc, test_cpl3_loop);
    tcase_add_test(tc, test_failing_guest_status);
    tcase_add_test(tc, test_stop_from_another_thread);
    tcase_add_test(tc, test_setup_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
