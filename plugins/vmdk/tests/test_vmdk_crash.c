/* SPDX-License-Identifier: MIT */
/*
 * Crash consistency: a child process does allocating writes (with a flush now and then)
 * to a monolithicSparse and a twoGbMaxExtentSparse image; the parent kills it with
 * SIGKILL at a random moment, many times. After every crash:
 *  - vmdk_check finds no corruption (leaks are allowed);
 *  - every write acknowledged by a completed vmdk_flush reads back;
 *  - every allocated sector holds either zeros or exactly what some write put there;
 *  - vmdk_check -r leaks leaves an image that checks clean, for us and for qemu-img.
 * The next round continues on the repaired image. Every byte any write puts at virtual
 * offset o is a fixed function of o, so overlapping writes never disagree.
 *
 * The seed is printed; VMDK_CRASH_SEED=n reruns a failure, VMDK_CRASH_ROUNDS=n changes
 * the number of rounds per image (default 100).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmdk.h"
#include "vmdk_format.h"
#include "vmdk_test_util.h"

static char *dir;
static uint64_t seed;
static unsigned rounds = 100;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The content of the virtual disk at offset o, as every write writes it. */
static uint8_t content(uint64_t o)
{
    return (uint8_t)(mix(o / 8) >> (8 * (o % 8)));
}

static void fill(uint8_t *buf, uint64_t off, size_t len)
{
    size_t i = 0;
    for (; i < len && (off + i) % 8; i++)
        buf[i] = content(off + i);
    for (; i + 8 <= len; i += 8) {
        uint64_t v = mix((off + i) / 8);
        for (int b = 0; b < 8; b++)
            buf[i + b] = (uint8_t)(v >> (8 * b));
    }
    for (; i < len; i++)
        buf[i] = content(off + i);
}

struct wr {
    uint64_t off;
    size_t len;
};

/* Write k of round r: mostly small and unaligned, some spanning grains and tables. */
static struct wr nth_write(uint64_t round_seed, unsigned k, uint64_t size)
{
    uint64_t x = mix(round_seed ^ ((uint64_t)k << 32));
    size_t len;
    switch (x % 4) {
    case 0:
        len = 512;
        break;
    case 1:
        len = 1 + (size_t)(mix(x) % 9000);
        break;
    case 2:
        len = 65536;
        break;
    default:
        len = 1 + (size_t)(mix(x) % 150000);
        break;
    }
    uint64_t off = mix(x + 1) % (size - len);
    if (x % 3 == 0)
        off &= ~511ull;
    return (struct wr){ off, len };
}

static void open_or_die(const char *p, bool ro, struct vmdk_image **img)
{
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = ro;
    o.gt_cache_tables = 2; /* evictions write tables back mid-run */
    struct vmdk_error err = { 0 };
    if (vmdk_open(p, &o, img, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        _exit(2);
    }
}

/* Shared with the child: writes started, and writes made durable by a flush. */
struct progress {
    volatile uint32_t attempted, acked;
};

/* The child: write until killed (or 3000 writes), publishing after every successful
 * flush how many writes are now durable. */
static void child(const char *p, uint64_t round_seed, struct progress *pg)
{
    struct vmdk_image *img;
    open_or_die(p, false, &img);
    uint64_t size = vmdk_size(img);
    uint8_t *buf = malloc(200000);
    struct vmdk_error err = { 0 };
    for (unsigned k = 0; k < 3000; k++) {
        struct wr w = nth_write(round_seed, k, size);
        fill(buf, w.off, w.len);
        pg->attempted = k + 1;
        __sync_synchronize();
        if (vmdk_write(img, w.off, buf, w.len, &err) < 0) {
            fprintf(stderr, "write: %s\n", err.msg);
            _exit(3);
        }
        if (mix(round_seed + k) % 4 == 0) {
            if (vmdk_flush(img, &err) < 0) {
                fprintf(stderr, "flush: %s\n", err.msg);
                _exit(3);
            }
            __sync_synchronize();
            pg->acked = k + 1;
        }
    }
    vmdk_close(img, NULL);
    _exit(0);
}

struct problems {
    char text[2048];
    unsigned corruptions;
};

static void note(void *ctx, enum vmdk_problem kind, bool fixed, const char *msg)
{
    struct problems *pr = ctx;
    if (kind != VMDK_PROBLEM_LEAK)
        pr->corruptions++;
    size_t l = strlen(pr->text);
    snprintf(pr->text + l, sizeof(pr->text) - l, "%s%s\n", msg, fixed ? " (fixed)" : "");
}

static struct vmdk_check_result check(const char *p, enum vmdk_check_mode mode,
                                      struct problems *pr)
{
    struct vmdk_image *img;
    open_or_die(p, mode == VMDK_CHECK_NONE, &img);
    struct vmdk_check_result res;
    struct vmdk_error err = { 0 };
    memset(pr, 0, sizeof(*pr));
    ck_assert_msg(vmdk_check(img, mode, note, pr, &res, &err) == 0, "seed %llu: %s",
                  (unsigned long long)seed, err.msg);
    ck_assert_int_eq(vmdk_close(img, &err), 0);
    return res;
}

static void read_or_die(struct vmdk_image *img, uint64_t off, uint8_t *buf, size_t len)
{
    struct vmdk_error err = { 0 };
    if (vmdk_read(img, off, buf, len, &err) < 0)
        ck_abort_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
}

/* Writes acknowledged in earlier rounds, for spot checks after later repairs. */
static struct wr *history;
static size_t n_history, cap_history;

static void remember(struct wr w)
{
    if (n_history == cap_history) {
        cap_history = cap_history ? cap_history * 2 : 256;
        history = realloc(history, cap_history * sizeof(*history));
        ck_assert_ptr_nonnull(history);
    }
    history[n_history++] = w;
}

static void expect_written(struct vmdk_image *img, struct wr w, uint8_t *got, uint8_t *want,
                           const char *what, unsigned round, unsigned k)
{
    read_or_die(img, w.off, got, w.len);
    fill(want, w.off, w.len);
    if (memcmp(got, want, w.len) != 0)
        ck_abort_msg("seed %llu round %u: %s write %u (0x%llx+%zu) is lost",
                     (unsigned long long)seed, round, what, k, (unsigned long long)w.off, w.len);
}

/* Acknowledged writes read back; the grains every attempted write touched hold zeros
 * or the right content, nothing else. */
static void verify(const char *p, uint64_t round_seed, const struct progress *pg,
                   unsigned round, bool scan, bool all_history)
{
    struct vmdk_image *img;
    open_or_die(p, true, &img);
    uint64_t size = vmdk_size(img);
    uint8_t *got = malloc(1 << 20), *want = malloc(1 << 20);
    for (unsigned k = 0; k < pg->acked; k++)
        expect_written(img, nth_write(round_seed, k, size), got, want, "acknowledged", round, k);
    for (unsigned k = 0; scan && k < pg->attempted; k++) {
        struct wr w = nth_write(round_seed, k, size);
        uint64_t start = w.off & ~65535ull;
        uint64_t end = (w.off + w.len + 65535) & ~65535ull;
        if (end > size)
            end = size;
        size_t n = (size_t)(end - start);
        read_or_die(img, start, got, n);
        fill(want, start, n);
        if (memcmp(got, want, n) == 0)
            continue;
        /* (a plain loop: every ck_assert costs a message to the test runner) */
        for (size_t i = 0; i < n; i++)
            if (got[i] != want[i] && got[i] != 0)
                ck_abort_msg("seed %llu round %u: garbage at 0x%llx (near write %u)",
                             (unsigned long long)seed, round, (unsigned long long)(start + i), k);
    }
    /* Earlier rounds' acknowledged writes survive repairs and later crashes. */
    for (unsigned i = 0; i < n_history && i < (all_history ? n_history : 64); i++) {
        size_t j = all_history ? i : (size_t)(mix(round_seed + i) % n_history);
        expect_written(img, history[j], got, want, "earlier", round, (unsigned)j);
    }
    free(got);
    free(want);
    vmdk_close(img, NULL);
}

static void crash_rounds(const char *p)
{
    n_history = 0;
    unsigned total_acked = 0;
    for (unsigned round = 0; round < rounds; round++) {
        uint64_t round_seed = mix(seed ^ round ^ (uint64_t)(uintptr_t)p[strlen(p) - 6]);
        struct progress *pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(pg, MAP_FAILED);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            child(p, round_seed, pg);
        /* Let the child start a random number of writes (0-39), then kill it after a
         * random extra delay of up to 2 ms: before the open, mid-write, mid-flush. */
        uint32_t target = (uint32_t)(mix(round_seed) % 40);
        int status;
        pid_t done = 0;
        while (pg->attempted < target && (done = waitpid(pid, &status, WNOHANG)) == 0) {
            struct timespec ts = { 0, 50000 };
            nanosleep(&ts, NULL);
        }
        if (done == 0) {
            struct timespec ts = { 0, (long)(mix(round_seed + 1) % 2000) * 1000 };
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        }
        ck_assert_msg(WIFSIGNALED(status) || WEXITSTATUS(status) == 0,
                      "seed %llu round %u: the writer failed (status %d)",
                      (unsigned long long)seed, round, status);

        struct problems pr;
        struct vmdk_check_result res = check(p, VMDK_CHECK_NONE, &pr);
        ck_assert_msg(res.corruptions == 0 && res.check_errors == 0,
                      "seed %llu round %u: corruption after a crash:\n%s",
                      (unsigned long long)seed, round, pr.text);
        verify(p, round_seed, pg, round, true, false);
        res = check(p, VMDK_CHECK_LEAKS, &pr);
        ck_assert_msg(res.corruptions == 0 && res.leaks == 0,
                      "seed %llu round %u: repair left problems:\n%s",
                      (unsigned long long)seed, round, pr.text);
        res = check(p, VMDK_CHECK_NONE, &pr);
        ck_assert_msg(res.corruptions == 0 && res.leaks == 0,
                      "seed %llu round %u: not clean after repair:\n%s",
                      (unsigned long long)seed, round, pr.text);
        verify(p, round_seed, pg, round, false, round + 1 == rounds);
        uint64_t size = 0;
        {
            struct vmdk_image *img;
            open_or_die(p, true, &img);
            size = vmdk_size(img);
            vmdk_close(img, NULL);
        }
        total_acked += pg->acked;
        for (unsigned k = 0; k < pg->acked; k++)
            remember(nth_write(round_seed, k, size));
        munmap(pg, sizeof(*pg));
        if (tu_have_qemu() && (round % 25 == 24 || round + 1 == rounds)) {
            char *out = NULL;
            int rc = tu_run(&out, "qemu-img check -f vmdk '%s' 2>&1", p);
            ck_assert_msg(rc == 0, "seed %llu round %u: qemu-img check: %s",
                          (unsigned long long)seed, round, out);
            free(out);
        }
    }
    printf("%s: %u rounds, %u acknowledged writes\n", p, rounds, total_acked);
}

/* Creates the image and empties some directory entries, so new grain tables get
 * allocated (and their directory entries written) under the crashes too. */
static char *prepare(const char *name, uint64_t size, enum vmdk_subformat f,
                     const char *first_extent)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = f;
    struct vmdk_error err = { 0 };
    char *p = tu_path(dir, name);
    ck_assert_msg(vmdk_create(p, &o, &err) == 0, "%s", err.msg);
    char *ext = tu_path(dir, first_extent);
    uint8_t hdr[512];
    ck_assert_int_eq(tu_pread_file(ext, hdr, sizeof(hdr), 0), 0);
    struct vmdk_sparse_header h;
    vmdk_header_decode(hdr, &h);
    uint8_t zero[4 * 6] = { 0 };
    ck_assert_int_eq(tu_pwrite_file(ext, zero, sizeof(zero), h.gd_offset * 512 + 8), 0);
    ck_assert_int_eq(tu_pwrite_file(ext, zero, sizeof(zero), h.rgd_offset * 512 + 8), 0);
    free(ext);
    return p;
}

START_TEST(crash_monolithic_sparse)
{
    char *p = prepare("mono.vmdk", 256 << 20, VMDK_MONOLITHIC_SPARSE, "mono.vmdk");
    crash_rounds(p);
    free(p);
}
END_TEST

START_TEST(crash_two_gb_sparse)
{
    char *p = prepare("split.vmdk", 5ull << 30, VMDK_TWO_GB_SPARSE, "split-s001.vmdk");
    crash_rounds(p);
    free(p);
}
END_TEST

/* SIGKILL leaves the page cache intact, so the file system's own durability is not
 * under test: tmpfs keeps the many flushes cheap. */
static void setup(void)
{
    if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0) {
        dir = strdup("/dev/shm/vmdk-crash-XXXXXX");
        if (dir && mkdtemp(dir))
            return;
        free(dir);
    }
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rmdir(dir);
}

int main(void)
{
    const char *s = getenv("VMDK_CRASH_SEED");
    seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
    const char *n = getenv("VMDK_CRASH_ROUNDS");
    if (n)
        rounds = (unsigned)strtoul(n, NULL, 0);
    printf("crash test seed: VMDK_CRASH_SEED=%llu (%u rounds per image)\n",
           (unsigned long long)seed, rounds);
    fflush(stdout);
    Suite *su = suite_create("vmdk_crash");
    TCase *tc = tcase_create("crash");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, crash_monolithic_sparse);
    tcase_add_test(tc, crash_two_gb_sparse);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
