/* SPDX-License-Identifier: MIT */
/*
 * mmio-bench: guest MMIO writes per second with a userspace exit versus with an
 * ioeventfd, in one process run (bench/mmio/README.md). A benchmark, not a test: it
 * asserts nothing about the figures.
 *
 *     mmio-bench [-n WRITES] [-a ADDR] [-m MEM_MIB] GUEST.elf
 *
 * GUEST.elf is tests/guest/mmio_bench.c's image (build/tests/guest/mmio-bench.elf). The
 * program boots it three times under the KVM core, each time with a do-nothing handler
 * registered on the MMIO bus at ADDR, the way a device's register is:
 *   baseline   n=0 writes: the fixed cost of a run (boot, calibration, printing, exit);
 *   userspace  n=WRITES, every write leaves KVM_RUN and is dispatched to the handler;
 *   ioeventfd  n=WRITES with an eventfd registered for ADDR (4 bytes, no datamatch), so
 *              KVM completes each write in the kernel and only bumps the eventfd.
 * The guest times its write loop with the TSC and prints the rate; the host counts the
 * handler's calls, the eventfd's count, and the process's context switches (voluntary
 * plus involuntary, every thread, also the vCPU thread that has ended by the time it
 * is read: getrusage(RUSAGE_SELF); /proc/self/task/ would lose that thread's counts).
 *
 * Exit status: 0 when every run produced its figure; 77 without /dev/kvm; 1 otherwise.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "util/error.h"

/* In the 32-bit PCI hole, where a guest may move BARs, below the IOAPIC (docs/boot.md);
 * this VM has no PCI bus, so nothing else claims it. */
#define DEFAULT_ADDR 0xfe000000ull
#define DEFAULT_WRITES 20000ull
#define DEFAULT_MEM_MIB 64u
#define SERIAL_MAX 65536

typedef enum { MODE_BASELINE, MODE_USERSPACE, MODE_IOEVENTFD } bench_mode;

static const char *const mode_names[] = { "baseline", "userspace exit", "ioeventfd" };

typedef struct bench_result {
    uint64_t n, us, per_s;
    uint64_t handler_calls; /* userspace exits the MMIO bus dispatched to our region */
    uint64_t eventfd_count; /* writes KVM signalled on the eventfd */
    uint64_t ctx_switches;  /* the process's, over the whole run */
} bench_result;

static void noop_mmio(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    atomic_uint_fast64_t *calls = opaque;
    atomic_fetch_add_explicit(calls, 1, memory_order_relaxed);
    if (!is_write)
        memset(data, 0, len);
}

static uint64_t process_ctx_switches(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
}

/* Finds the guest's "bench: mmio-writes ..." line in its serial output. */
static int parse_guest_line(const char *out, bench_result *r)
{
    const char *line = strstr(out, "bench: mmio-writes ");
    if (!line)
        return -EINVAL;
    uint64_t n, us, per_s;
    if (sscanf(line, "bench: mmio-writes n=%" SCNu64 " us=%" SCNu64 " per_s=%" SCNu64, &n, &us,
               &per_s) != 3)
        return -EINVAL;
    r->n = n;
    r->us = us;
    r->per_s = per_s;
    return 0;
}

/* Reads up to SERIAL_MAX bytes of what the guest wrote to fd, NUL-terminated. */
static char *read_serial(int fd)
{
    char *buf = g_malloc(SERIAL_MAX + 1);
    ssize_t got = pread(fd, buf, SERIAL_MAX, 0);
    buf[got > 0 ? got : 0] = '\0';
    return buf;
}

static int run_once(const char *elf, uint64_t addr, uint64_t n, unsigned mem_mib,
                    bench_mode mode, bench_result *r, GError **err)
{
    ts_memory_region ram = { .size = (uint64_t)mem_mib << 20, .fd = -1, .page_size = 4096 };
    vm_config cfg = {
        .ram = &ram,
        .nr_vcpus = 1,
        .debug_exit = true,
        .debug_exit_iobase = 0xf4,
        .debug_exit_iosize = 4,
        .no_reboot = true,
    };
    atomic_uint_fast64_t calls = 0;
    g_autofree char *cmdline = g_strdup_printf("addr=%#" PRIx64 " n=%" PRIu64, addr, n);
    g_autofree char *out = NULL;
    vm *v = NULL;
    int efd = -1, ret;

    memset(r, 0, sizeof(*r));
    cfg.serial_fd = memfd_create("mmio-bench-serial", MFD_CLOEXEC);
    if (cfg.serial_fd < 0) {
        ret = -errno;
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "memfd_create for the serial output: %s",
                    strerror(-ret));
        return ret;
    }
    ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram.host == MAP_FAILED) {
        ret = -errno;
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "cannot map %u MiB of guest RAM: %s",
                    mem_mib, strerror(-ret));
        goto out_serial;
    }
    ret = vm_create(&cfg, &v, err);
    if (ret < 0)
        goto out_ram;
    ret = vm_load_pvh(v, elf, cmdline, err);
    if (ret < 0)
        goto out_vm;
    ret = io_bus_register(vm_mmio_bus(v), addr, 4, noop_mmio, &calls, "mmio-bench", err);
    if (ret < 0)
        goto out_vm;
    if (mode == MODE_IOEVENTFD) {
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0) {
            ret = -errno;
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "eventfd: %s", strerror(-ret));
            goto out_vm;
        }
        ret = vm_ioeventfd_add(v, false, addr, 4, false, 0, efd);
        if (ret < 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "KVM_IOEVENTFD for 4 bytes at %#" PRIx64 ": %s", addr, strerror(-ret));
            goto out_efd;
        }
    }

    uint64_t switches = process_ctx_switches();
    int status = vm_run(v);
    r->ctx_switches = process_ctx_switches() - switches;
    r->handler_calls = atomic_load(&calls);
    if (efd >= 0) {
        uint64_t count = 0;
        if (read(efd, &count, sizeof(count)) == (ssize_t)sizeof(count))
            r->eventfd_count = count;
    }

    out = read_serial(cfg.serial_fd);
    if (status != VM_STATUS_DEBUG_EXIT(0) || parse_guest_line(out, r) < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "%s run: the guest ended with status %d without a bench line; its "
                    "output:\n%s", mode_names[mode], status, out);
        ret = -EIO;
    }
out_efd:
    if (efd >= 0)
        close(efd);
out_vm:
    vm_destroy(v);
out_ram:
    munmap(ram.host, ram.size);
out_serial:
    close(cfg.serial_fd);
    return ret;
}

static double per_write(uint64_t total, uint64_t baseline, uint64_t n)
{
    double extra = (double)total - (double)baseline;
    return n ? (extra > 0 ? extra : 0) / (double)n : 0;
}

static void print_result(bench_mode mode, const bench_result *r, const bench_result *base)
{
    printf("%-15s %9" PRIu64 " writes in %9" PRIu64 " us = %10" PRIu64 " writes/s; "
           "per write: %.3f exits to the VMM, %.3f eventfd signals, %.4f wake-ups "
           "(%" PRIu64 " in the run, %" PRIu64 " in the baseline)\n",
           mode_names[mode], r->n, r->us, r->per_s, r->n ? (double)r->handler_calls / (double)r->n : 0,
           r->n ? (double)r->eventfd_count / (double)r->n : 0,
           per_write(r->ctx_switches, base->ctx_switches, r->n), r->ctx_switches,
           base->ctx_switches);
}

int main(int argc, char **argv)
{
    g_autofree char *addr_str = NULL;
    gint64 writes = DEFAULT_WRITES;
    gint mem_mib = DEFAULT_MEM_MIB;
    GOptionEntry entries[] = {
        { "writes", 'n', 0, G_OPTION_ARG_INT64, &writes, "writes per run (default 20000)", "N" },
        { "addr", 'a', 0, G_OPTION_ARG_STRING, &addr_str,
          "guest-physical MMIO address (default 0xfe000000)", "GPA" },
        { "mem", 'm', 0, G_OPTION_ARG_INT, &mem_mib, "guest RAM in MiB (default 64)", "MIB" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "GUEST.elf - guest MMIO writes per second: userspace exit versus ioeventfd");
    GError *err = NULL;
    uint64_t addr = DEFAULT_ADDR;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "mmio-bench: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    if (argc != 2) {
        fprintf(stderr, "mmio-bench: expected one argument, the guest image "
                        "(build/tests/guest/mmio-bench.elf)\n");
        return 1;
    }
    if (addr_str) {
        char *end;
        errno = 0;
        addr = g_ascii_strtoull(addr_str, &end, 0);
        if (errno || end == addr_str || *end || addr >= (1ull << 32) || (addr & 3)) {
            fprintf(stderr, "mmio-bench: --addr %s: want a 4-byte-aligned address below 4 GiB\n",
                    addr_str);
            return 1;
        }
    }
    if (writes < 1 || writes > 1000000000 || mem_mib < 16 || mem_mib > 3072) {
        fprintf(stderr, "mmio-bench: --writes must be 1..10^9 and --mem 16..3072\n");
        return 1;
    }
    if (access("/dev/kvm", F_OK) < 0) {
        printf("skipped: no /dev/kvm\n");
        return 77;
    }

    const char *elf = argv[1];
    bench_result res[3];
    printf("mmio-bench: %s, %" PRId64 " 4-byte writes to %#" PRIx64
           " at CPL3, 1 vCPU, %d MiB\n", elf, writes, addr, mem_mib);
    for (bench_mode m = MODE_BASELINE; m <= MODE_IOEVENTFD; m++) {
        uint64_t n = m == MODE_BASELINE ? 0 : (uint64_t)writes;
        if (run_once(elf, addr, n, (unsigned)mem_mib, m, &res[m], &err) < 0) {
            fprintf(stderr, "mmio-bench: %s\n", err->message);
            g_error_free(err);
            return 1;
        }
        if (m != MODE_BASELINE)
            print_result(m, &res[m], &res[MODE_BASELINE]);
        fflush(stdout);
    }
    if (res[MODE_USERSPACE].per_s)
        printf("ioeventfd / userspace exit: %.2fx writes per second\n",
               (double)res[MODE_IOEVENTFD].per_s / (double)res[MODE_USERSPACE].per_s);
    else
        printf("ioeventfd / userspace exit: n/a (the userspace run measured no time)\n");
    return 0;
}
