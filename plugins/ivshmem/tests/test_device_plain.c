/*
 * ivshmem-plain through the SDK testkit (real PCI emulation, real memory backends, no VM):
 * every assertion of QEMU's qtest cases /ivshmem/single, /ivshmem/memdev, /ivshmem/pair and
 * /ivshmem/hotplug, plus the PCI identity, BAR moves, reset, errors and a hostile guest.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tessera/testkit.h"

#define SHM_SIZE (1u << 20)
#define PCI_CAP_ID_MSIX 0x11

static char shm_path[128];

static void shm_setup(void)
{
    snprintf(shm_path, sizeof(shm_path), "/dev/shm/ivshmem-plain-test-%d-%u", (int)getpid(),
             (unsigned)random());
}

static void shm_teardown(void)
{
    unlink(shm_path);
}

static tk_machine *new_machine(void)
{
    tk_machine *m = tk_machine_new(0);
    ck_assert_ptr_nonnull(m);
    return m;
}

static void add_object(tk_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_object(tk_machine *m, const char *fmt, ...)
{
    char spec[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(spec, sizeof(spec), fmt, ap);
    va_end(ap);
    ck_assert_msg(tk_object_add(m, spec) == 0, "%s: %s", spec, tk_error(m));
}

static tk_device *add_device(tk_machine *m, const char *spec)
{
    tk_device *d = tk_device_add(m, spec);
    ck_assert_msg(d != NULL, "%s: %s", spec, tk_error(m));
    return d;
}

/* What qtest's setup_vm_cmd checks: the device is found, BAR0 is 256 bytes, BAR2 1 MiB. */
static uint8_t setup_device(tk_machine *m)
{
    int devfn = tk_pci_find(m, 0x1af4, 0x1110, 0);
    ck_assert_int_ge(devfn, 0);
    tk_device_enable(m, (uint8_t)devfn);
    ck_assert_uint_eq(tk_bar_size(m, (uint8_t)devfn, 0), 256);
    ck_assert_uint_eq(tk_bar_size(m, (uint8_t)devfn, 2), SHM_SIZE);
    return (uint8_t)devfn;
}

static uint32_t reg_read(tk_machine *m, uint8_t devfn, unsigned off)
{
    return (uint32_t)tk_bar_read(m, devfn, 0, off, 4);
}

static void reg_write(tk_machine *m, uint8_t devfn, unsigned off, uint32_t v)
{
    tk_bar_write(m, devfn, 0, off, v, 4);
}

START_TEST(single)
{
    tk_machine *m = new_machine();
    add_object(m, "memory-backend-file,id=mb1,size=1M,share=on,mem-path=%s", shm_path);
    add_device(m, "ivshmem-plain,memdev=mb1");
    uint8_t devfn = setup_device(m);

    /* Registers start at 0; IVPosition of a plain device is 0. */
    ck_assert_uint_eq(reg_read(m, devfn, 0), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 4), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 8), 0);
    /* IntrMask keeps what is written. */
    reg_write(m, devfn, 0, 0xffffffff);
    ck_assert_uint_eq(reg_read(m, devfn, 0), 0xffffffff);
    /* IntrStatus reads back once, then 0. */
    reg_write(m, devfn, 4, 1);
    ck_assert_uint_eq(reg_read(m, devfn, 4), 1);
    ck_assert_uint_eq(reg_read(m, devfn, 4), 0);
    /* Invalid accesses: writing IVPosition, reading Doorbell. */
    reg_write(m, devfn, 8, 1);
    ck_assert_uint_eq(reg_read(m, devfn, 8), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 12), 0);
    /* A doorbell on a plain device goes nowhere. */
    reg_write(m, devfn, 12, 8 << 16);
    ck_assert_uint_eq(tk_msi_count(m), 0);

    /* 4 KiB written through BAR2 appear in the host's mapping of the backend, and back. */
    int fd = open(shm_path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint32_t *host = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(host != MAP_FAILED);
    for (uint32_t i = 0; i < 1024; i++)
        tk_bar_write(m, devfn, 2, i * 4, i, 4);
    for (uint32_t i = 0; i < 1024; i++)
        ck_assert_uint_eq(host[i], i);
    for (uint32_t i = 0; i < 1024; i++)
        ck_assert_uint_eq(tk_bar_read(m, devfn, 2, i * 4, 4), i);
    /* And the other way: the host writes, the guest reads. */
    host[SHM_SIZE / 4 - 1] = 0xfeedf00d;
    ck_assert_uint_eq(tk_bar_read(m, devfn, 2, SHM_SIZE - 4, 4), 0xfeedf00d);
    munmap(host, SHM_SIZE);
    close(fd);
    tk_machine_free(m);
}
END_TEST

START_TEST(pci_identity_and_zero_copy_bar)
{
    tk_machine *m = new_machine();
    add_object(m, "memory-backend-file,id=mb1,size=1M,share=on,mem-path=%s", shm_path);
    add_device(m, "ivshmem-plain,memdev=mb1,addr=5");
    uint8_t devfn = setup_device(m);

    ck_assert_uint_eq(devfn, 5 << 3);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x08, 1), 1);          /* revision */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x0a, 2), 0x0500);      /* class RAM */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x09, 1), 0);           /* prog-if */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x2c, 2), 0x1af4);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x2e, 2), 0x1100);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x3d, 1), 0);          /* no INTx pin */
    ck_assert_uint_eq(tk_pci_find_capability(m, devfn, PCI_CAP_ID_MSIX), 0);
    ck_assert_uint_eq(tk_msix_table_size(m, devfn), 0);
    /* BAR0 32-bit memory, BAR1 absent, BAR2 64-bit prefetchable memory. */
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x10, 4) & 0xf, 0x0);
    ck_assert_uint_eq(tk_bar_size(m, devfn, 1), 0);
    ck_assert_uint_eq(tk_config_read(m, devfn, 0x18, 4) & 0xf, 0xc);

    /* BAR2 is a memory slot (zero copy) at its address, and follows a move. */
    uint64_t addr = tk_bar_address(m, devfn, 2);
    ck_assert(tk_ram_mapped_at(m, addr, SHM_SIZE));
    tk_bar_write(m, devfn, 2, 64, 0x11223344, 4);
    uint64_t moved = addr + 16 * SHM_SIZE;
    tk_bar_set_address(m, devfn, 2, moved);
    ck_assert_uint_eq(tk_bar_address(m, devfn, 2), moved);
    ck_assert(tk_ram_mapped_at(m, moved, SHM_SIZE));
    ck_assert(!tk_ram_mapped_at(m, addr, SHM_SIZE));
    ck_assert_uint_eq(tk_mmio_read(m, moved + 64, 4), 0x11223344);
    /* Memory decode off: unmapped; on again: mapped. */
    uint16_t cmd = (uint16_t)tk_config_read(m, devfn, 0x04, 2);
    tk_config_write(m, devfn, 0x04, cmd & ~0x2u, 2);
    ck_assert_uint_eq(tk_ram_map_count(m), 0);
    tk_config_write(m, devfn, 0x04, cmd, 2);
    ck_assert(tk_ram_mapped_at(m, moved, SHM_SIZE));
    tk_machine_free(m);
}
END_TEST

START_TEST(memdev_not_shared)
{
    tk_machine *m = new_machine();
    /* QEMU's test uses a private memory-backend-ram: accepted (with a warning here). */
    add_object(m, "memory-backend-ram,id=mb1,size=1M");
    add_device(m, "ivshmem-plain,memdev=mb1");
    uint8_t devfn = setup_device(m);
    tk_bar_write(m, devfn, 2, 0, 0xabcdef01, 4);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 2, 0, 4), 0xabcdef01);
    tk_machine_free(m);
}
END_TEST

static bool all_bytes(const uint8_t *buf, size_t len, uint8_t c)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != c)
            return false;
    return true;
}

START_TEST(pair)
{
    tk_machine *m1 = new_machine(), *m2 = new_machine();
    add_object(m1, "memory-backend-file,id=mb1,size=1M,share=on,mem-path=%s", shm_path);
    add_device(m1, "ivshmem-plain,memdev=mb1");
    add_object(m2, "memory-backend-file,id=mb1,size=1M,share=on,mem-path=%s", shm_path);
    add_device(m2, "ivshmem-plain,memdev=mb1");
    uint8_t d1 = setup_device(m1), d2 = setup_device(m2);
    static uint8_t buf[SHM_SIZE];

    /* The host fills the memory with 0x42: both guests read 0x42 everywhere. */
    int fd = open(shm_path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t *host = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(host != MAP_FAILED);
    memset(host, 0x42, SHM_SIZE);
    tk_memread(m1, tk_bar_address(m1, d1, 2), buf, SHM_SIZE);
    ck_assert(all_bytes(buf, SHM_SIZE, 0x42));
    tk_memread(m2, tk_bar_address(m2, d2, 2), buf, SHM_SIZE);
    ck_assert(all_bytes(buf, SHM_SIZE, 0x42));

    /* Guest 1 writes 0x43, guest 2 reads it; guest 2 writes 0x44, guest 1 reads it. */
    memset(buf, 0x43, SHM_SIZE);
    tk_memwrite(m1, tk_bar_address(m1, d1, 2), buf, SHM_SIZE);
    memset(buf, 0, SHM_SIZE);
    tk_memread(m2, tk_bar_address(m2, d2, 2), buf, SHM_SIZE);
    ck_assert(all_bytes(buf, SHM_SIZE, 0x43));
    memset(buf, 0x44, SHM_SIZE);
    tk_memwrite(m2, tk_bar_address(m2, d2, 2), buf, SHM_SIZE);
    memset(buf, 0, SHM_SIZE);
    tk_memread(m1, tk_bar_address(m1, d1, 2), buf, SHM_SIZE);
    ck_assert(all_bytes(buf, SHM_SIZE, 0x44));
    ck_assert_uint_eq(host[SHM_SIZE / 2], 0x44);
    munmap(host, SHM_SIZE);
    close(fd);
    tk_machine_free(m1);
    tk_machine_free(m2);
}
END_TEST

START_TEST(hotplug_and_churn)
{
    tk_machine *m = new_machine();
    add_object(m, "memory-backend-ram,id=mb1,size=1M");
    /* QEMU's /ivshmem/hotplug: add at slot 6, then unplug; here repeatedly, which must not
     * leak anything nor keep the memdev busy. */
    for (int i = 0; i < 50; i++) {
        tk_device *d = add_device(m, "ivshmem-plain,memdev=mb1,addr=0x06");
        ck_assert_int_eq(tk_device_devfn(d), 6 << 3);
        ck_assert_int_eq(tk_pci_find(m, 0x1af4, 0x1110, 0), 6 << 3);
        ck_assert_uint_eq(tk_ram_map_count(m), 1);
        tk_device_del(d);
        ck_assert_int_eq(tk_pci_find(m, 0x1af4, 0x1110, 0), -1);
        ck_assert_uint_eq(tk_ram_map_count(m), 0);
    }
    tk_machine_free(m);
}
END_TEST

START_TEST(reset_clears_registers)
{
    tk_machine *m = new_machine();
    add_object(m, "memory-backend-ram,id=mb1,size=1M");
    add_device(m, "ivshmem-plain,memdev=mb1,master=on");
    uint8_t devfn = setup_device(m);
    reg_write(m, devfn, 0, 0x5a5a);
    reg_write(m, devfn, 4, 0x7);
    tk_bar_write(m, devfn, 2, 8, 0x99, 4);
    tk_reset(m);
    devfn = setup_device(m);
    ck_assert_uint_eq(reg_read(m, devfn, 0), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 4), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 8), 0);
    /* The shared memory is not the device's to clear. */
    ck_assert_uint_eq(tk_bar_read(m, devfn, 2, 8, 4), 0x99);
    tk_machine_free(m);
}
END_TEST

static void expect_device_error(tk_machine *m, const char *spec, const char *text)
{
    ck_assert_ptr_null(tk_device_add(m, spec));
    if (!strstr(tk_error(m), text))
        ck_abort_msg("error \"%s\" lacks \"%s\"", tk_error(m), text);
    ck_assert_ptr_null(strchr(tk_error(m), '\n'));
}

START_TEST(errors)
{
    tk_machine *m = new_machine();
    add_object(m, "memory-backend-ram,id=mb1,size=1M");
    add_object(m, "memory-backend-ram,id=odd,size=3M");

    expect_device_error(m, "ivshmem-plain", "memdev");
    expect_device_error(m, "ivshmem-plain,memdev=nope", "nope");
    expect_device_error(m, "ivshmem-plain,memdev=odd", "memdev 'odd' is 3M bytes; ivshmem needs a power of two");
    expect_device_error(m, "ivshmem-plain,memdev=mb1,master=maybe", "master");
    expect_device_error(m, "ivshmem-plain,memdev=mb1,vectors=2", "vectors");

    /* The failures released their claims: mb1 and odd are free. One device per memdev. */
    tk_device *d = add_device(m, "ivshmem-plain,memdev=mb1,id=first");
    expect_device_error(m, "ivshmem-plain,memdev=mb1,id=second", "memory backend 'mb1' is already in use by ivshmem-plain 'first'");
    tk_device_del(d);
    add_device(m, "ivshmem-plain,memdev=mb1,id=third");
    tk_machine_free(m);
}
END_TEST

START_TEST(hostile_guest)
{
    tk_machine *m = new_machine();
    unsigned seed = 4242;
    add_object(m, "memory-backend-ram,id=mb1,size=1M");
    add_device(m, "ivshmem-plain,memdev=mb1");
    uint8_t devfn = setup_device(m);
    uint64_t bar0 = tk_bar_address(m, devfn, 0);

    for (int i = 0; i < 100000; i++) {
        unsigned size = 1u << (rand_r(&seed) % 4);
        uint64_t off = (uint64_t)(rand_r(&seed) % 0x108);
        uint64_t v = (uint64_t)rand_r(&seed) << 32 | (uint64_t)rand_r(&seed);
        if (rand_r(&seed) & 1)
            tk_mmio_write(m, bar0 + off, v, size);
        else
            tk_mmio_read(m, bar0 + off, size);
    }
    /* Every doorbell value: nothing happens on a plain device. */
    for (uint32_t peer = 0; peer < 65536; peer += 257)
        reg_write(m, devfn, 12, peer << 16 | (peer & 0xffff));
    ck_assert_uint_eq(tk_msi_count(m), 0);
    ck_assert_uint_eq(reg_read(m, devfn, 8), 0);
    /* Config space garbage (the host guards the header; the device has nothing to break). */
    for (int i = 0; i < 2000; i++)
        tk_config_write(m, devfn, (uint32_t)(rand_r(&seed) % 256) & ~3u, (uint32_t)rand_r(&seed), 4);
    tk_machine_free(m);
}
END_TEST

static Suite *plain_suite(void)
{
    Suite *s = suite_create("ivshmem-plain");
    TCase *qtest = tcase_create("qtest"), *more = tcase_create("more");

    tcase_add_checked_fixture(qtest, shm_setup, shm_teardown);
    tcase_add_test(qtest, single);
    tcase_add_test(qtest, memdev_not_shared);
    tcase_add_test(qtest, pair);
    tcase_add_test(qtest, hotplug_and_churn);
    tcase_add_checked_fixture(more, shm_setup, shm_teardown);
    tcase_add_test(more, pci_identity_and_zero_copy_bar);
    tcase_add_test(more, reset_clears_registers);
    tcase_add_test(more, errors);
    tcase_add_test(more, hostile_guest);
    suite_add_tcase(s, qtest);
    suite_add_tcase(s, more);
    return s;
}

int main(void)
{
    srandom((unsigned)getpid());
    SRunner *sr = srunner_create(plain_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
