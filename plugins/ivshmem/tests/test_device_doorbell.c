/*
 * ivshmem-doorbell through the SDK testkit with our ivshmem-server in a thread: every
 * assertion of QEMU's /ivshmem/server qtest case (two VMs, 2 vectors, PBA pending bits for
 * masked vectors), plus MSI-X delivery while unmasked, dropping while disabled, the
 * ioeventfd per (peer, vector), peers leaving, ioeventfd=off, a host client, server EOF,
 * a hostile server and a hostile guest.
 */
#define _GNU_SOURCE
#include "ivshmem_test_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tessera/testkit.h"

#define SHM_SIZE (1u << 20)
#define MSI_ADDR 0xfee00000u

static struct test_dir dir;
static struct test_server server;
static struct ivshmem_server_config cfg;

static void server_setup(void)
{
    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = SHM_SIZE;
    cfg.n_vectors = 2;
    cfg.unlink_shm = true;
    test_server_start(&server, &cfg);
}

static void server_teardown(void)
{
    test_server_stop(&server);
    test_dir_remove(&dir);
}

struct vm {
    tk_machine *m;
    tk_device *dev;
    uint8_t devfn;
    uint32_t id;
};

/* A machine with a chardev to the socket and an ivshmem-doorbell with extra properties. */
static tk_device *try_vm(struct vm *vm, const char *sock, const char *props)
{
    char spec[512];

    vm->m = tk_machine_new(0);
    ck_assert_ptr_nonnull(vm->m);
    snprintf(spec, sizeof(spec), "socket,id=chr0,path=%s", sock);
    ck_assert_msg(tk_chardev_add(vm->m, spec) == 0, "%s: %s", spec, tk_error(vm->m));
    snprintf(spec, sizeof(spec), "ivshmem-doorbell,chardev=chr0%s%s", props[0] ? "," : "", props);
    return vm->dev = tk_device_add(vm->m, spec);
}

/* As qtest's setup_vm_cmd for the server case: MSI-X on before BAR2 is used, then enable. */
static void start_vm(struct vm *vm, const char *props)
{
    ck_assert_msg(try_vm(vm, dir.sock, props) != NULL, "%s", tk_error(vm->m));
    int devfn = tk_pci_find(vm->m, 0x1af4, 0x1110, 0);
    ck_assert_int_ge(devfn, 0);
    vm->devfn = (uint8_t)devfn;
    ck_assert_uint_eq(tk_bar_size(vm->m, vm->devfn, 0), 256);
    ck_assert_uint_eq(tk_bar_size(vm->m, vm->devfn, 2), SHM_SIZE);
    tk_msix_enable(vm->m, vm->devfn, true);
    tk_device_enable(vm->m, vm->devfn);
    vm->id = (uint32_t)tk_bar_read(vm->m, vm->devfn, 0, 8, 4);
}

static void stop_vm(struct vm *vm)
{
    tk_machine_free(vm->m);
    vm->m = NULL;
}

static void doorbell(struct vm *vm, uint32_t peer, uint32_t vector)
{
    tk_bar_write(vm->m, vm->devfn, 0, 12, peer << 16 | vector, 4);
}

/* Runs both machines' main loops until cond holds (bounded, not a timing assertion). */
static void pump(struct vm *a, struct vm *b)
{
    if (a && a->m)
        tk_wait_event(a->m, 5);
    if (b && b->m)
        tk_process_events(b->m);
}

#define PUMP_UNTIL(a, b, cond)                                                                \
    do {                                                                                      \
        for (int _i = 0; !(cond) && _i < TEST_TIMEOUT_MS / 5; _i++)                           \
            pump((a), (b));                                                                   \
        ck_assert(cond);                                                                      \
    } while (0)

/* ---- QEMU's /ivshmem/server ------------------------------------------------------------- */

START_TEST(server_qtest)
{
    struct vm vm1, vm2;

    start_vm(&vm1, "vectors=2");
    start_vm(&vm2, "vectors=2");
    ck_assert_int_ge((int32_t)vm1.id, 0);
    ck_assert_int_ge((int32_t)vm2.id, 0);
    ck_assert_uint_ne(vm1.id, vm2.id);
    ck_assert_uint_eq(tk_msix_table_size(vm1.m, vm1.devfn), 2);
    ck_assert_uint_eq(tk_msix_table_size(vm2.m, vm2.devfn), 2);

    /* Each knows the other (own and peer vectors: one ioeventfd each). */
    PUMP_UNTIL(&vm1, &vm2, tk_ioeventfd_count(vm1.m) == 4 && tk_ioeventfd_count(vm2.m) == 4);

    /* VM2 rings VM1's vector 0; VM1's vector 0 is masked (libqos never unmasks): pending. */
    ck_assert(!tk_msix_pending(vm1.m, vm1.devfn, 0));
    doorbell(&vm2, vm1.id, 0);
    PUMP_UNTIL(&vm1, &vm2, tk_msix_pending(vm1.m, vm1.devfn, 0));
    ck_assert(!tk_msix_pending(vm1.m, vm1.devfn, 1));

    /* VM1 rings VM2's vector 1. */
    ck_assert(!tk_msix_pending(vm2.m, vm2.devfn, 1));
    doorbell(&vm1, vm2.id, 1);
    PUMP_UNTIL(&vm2, &vm1, tk_msix_pending(vm2.m, vm2.devfn, 1));
    ck_assert(!tk_msix_pending(vm2.m, vm2.devfn, 0));
    ck_assert_uint_eq(tk_msi_count(vm1.m), 0);
    ck_assert_uint_eq(tk_msi_count(vm2.m), 0);

    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

/* /ivshmem/single's register and memory assertions, on a doorbell device. */
START_TEST(single_on_doorbell)
{
    struct vm vm;

    start_vm(&vm, "");
    uint8_t d = vm.devfn;
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 0, 4), 0);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 4, 4), 0);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 8, 4), 0); /* the first client: ID 0 */
    tk_bar_write(vm.m, d, 0, 0, 0xffffffff, 4);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 0, 4), 0xffffffff);
    tk_bar_write(vm.m, d, 0, 4, 1, 4);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 4, 4), 1);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 4, 4), 0);
    tk_bar_write(vm.m, d, 0, 8, 1, 4);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 8, 4), 0);
    ck_assert_uint_eq(tk_bar_read(vm.m, d, 0, 12, 4), 0);
    tk_bar_write(vm.m, d, 0, 12, 8 << 16, 4); /* no peer 8: ignored */
    ck_assert_uint_eq(tk_msi_count(vm.m), 0);
    /* PCI identity: rev 1, class RAM, no INTx pin, MSI-X with 1 vector in a 4 KiB BAR1. */
    ck_assert_uint_eq(tk_config_read(vm.m, d, 0x08, 1), 1);
    ck_assert_uint_eq(tk_config_read(vm.m, d, 0x0a, 2), 0x0500);
    ck_assert_uint_eq(tk_config_read(vm.m, d, 0x3d, 1), 0);
    ck_assert_uint_eq(tk_msix_table_size(vm.m, d), 1);
    ck_assert_uint_eq(tk_bar_size(vm.m, d, 1), 4096);
    ck_assert_uint_eq(tk_config_read(vm.m, d, 0x18, 4) & 0xf, 0xc); /* 64-bit prefetchable */
    ck_assert(tk_ram_mapped_at(vm.m, tk_bar_address(vm.m, d, 2), SHM_SIZE));

    /* 4 KiB through BAR2 land in the server's shared memory, and back. */
    int fd = shm_open(dir.shm_name, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    uint32_t *host = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(host != MAP_FAILED);
    for (uint32_t i = 0; i < 1024; i++)
        tk_bar_write(vm.m, d, 2, i * 4, i, 4);
    for (uint32_t i = 0; i < 1024; i++)
        ck_assert_uint_eq(host[i], i);
    for (uint32_t i = 0; i < 1024; i++)
        ck_assert_uint_eq(tk_bar_read(vm.m, d, 2, i * 4, 4), i);
    munmap(host, SHM_SIZE);
    close(fd);
    stop_vm(&vm);
}
END_TEST

/* /ivshmem/pair's memory assertions, with the memory coming from the server. */
START_TEST(pair_on_doorbell)
{
    struct vm vm1, vm2;
    static uint8_t buf[SHM_SIZE], want[SHM_SIZE];

    start_vm(&vm1, "");
    start_vm(&vm2, "");
    int fd = shm_open(dir.shm_name, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    uint8_t *host = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(host != MAP_FAILED);
    memset(host, 0x42, SHM_SIZE);
    memset(want, 0x42, SHM_SIZE);
    tk_memread(vm1.m, tk_bar_address(vm1.m, vm1.devfn, 2), buf, SHM_SIZE);
    ck_assert(memcmp(buf, want, SHM_SIZE) == 0);
    tk_memread(vm2.m, tk_bar_address(vm2.m, vm2.devfn, 2), buf, SHM_SIZE);
    ck_assert(memcmp(buf, want, SHM_SIZE) == 0);
    memset(want, 0x43, SHM_SIZE);
    tk_memwrite(vm1.m, tk_bar_address(vm1.m, vm1.devfn, 2), want, SHM_SIZE);
    tk_memread(vm2.m, tk_bar_address(vm2.m, vm2.devfn, 2), buf, SHM_SIZE);
    ck_assert(memcmp(buf, want, SHM_SIZE) == 0);
    memset(want, 0x44, SHM_SIZE);
    tk_memwrite(vm2.m, tk_bar_address(vm2.m, vm2.devfn, 2), want, SHM_SIZE);
    tk_memread(vm1.m, tk_bar_address(vm1.m, vm1.devfn, 2), buf, SHM_SIZE);
    ck_assert(memcmp(buf, want, SHM_SIZE) == 0);
    munmap(host, SHM_SIZE);
    close(fd);
    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

/* ---- interrupts ------------------------------------------------------------------------- */

START_TEST(msix_unmasked_delivers_masked_pends_disabled_drops)
{
    struct vm vm1, vm2;
    tk_msi msi;

    start_vm(&vm1, "vectors=2");
    start_vm(&vm2, "vectors=2");
    PUMP_UNTIL(&vm1, &vm2, tk_ioeventfd_count(vm1.m) == 4 && tk_ioeventfd_count(vm2.m) == 4);

    /* Unmasked: the message arrives through the irqfd, nothing pends. */
    tk_msix_set_vector(vm1.m, vm1.devfn, 1, MSI_ADDR, 0x4041, false);
    ck_assert_uint_ge(tk_irqfd_count(vm1.m), 1);
    doorbell(&vm2, vm1.id, 1);
    PUMP_UNTIL(&vm1, &vm2, tk_msi_count(vm1.m) == 1);
    ck_assert(tk_msi_pop(vm1.m, &msi));
    ck_assert_uint_eq(msi.address, MSI_ADDR);
    ck_assert_uint_eq(msi.data, 0x4041);
    ck_assert(!tk_msix_pending(vm1.m, vm1.devfn, 1));

    /* Masked: pending; unmask delivers it and clears the bit. */
    tk_msix_mask(vm1.m, vm1.devfn, 1, true);
    doorbell(&vm2, vm1.id, 1);
    PUMP_UNTIL(&vm1, &vm2, tk_msix_pending(vm1.m, vm1.devfn, 1));
    ck_assert_uint_eq(tk_msi_count(vm1.m), 0);
    tk_msix_mask(vm1.m, vm1.devfn, 1, false);
    PUMP_UNTIL(&vm1, &vm2, tk_msi_count(vm1.m) == 1);
    ck_assert(!tk_msix_pending(vm1.m, vm1.devfn, 1));
    tk_msi_clear(vm1.m);

    /* Function mask: pending as well. */
    tk_msix_function_mask(vm1.m, vm1.devfn, true);
    doorbell(&vm2, vm1.id, 1);
    PUMP_UNTIL(&vm1, &vm2, tk_msix_pending(vm1.m, vm1.devfn, 1));
    tk_msix_function_mask(vm1.m, vm1.devfn, false);
    PUMP_UNTIL(&vm1, &vm2, tk_msi_count(vm1.m) == 1);
    tk_msi_clear(vm1.m);

    /* MSI-X disabled: dropped, as QEMU does — neither delivered nor pending later. */
    tk_msix_enable(vm1.m, vm1.devfn, false);
    doorbell(&vm2, vm1.id, 1);
    for (int i = 0; i < 20; i++)
        tk_wait_event(vm1.m, 5);
    tk_msix_enable(vm1.m, vm1.devfn, true);
    for (int i = 0; i < 20; i++)
        tk_wait_event(vm1.m, 5);
    ck_assert_uint_eq(tk_msi_count(vm1.m), 0);
    ck_assert(!tk_msix_pending(vm1.m, vm1.devfn, 1));

    /* A doorbell to ourselves works like any other. */
    doorbell(&vm1, vm1.id, 1);
    PUMP_UNTIL(&vm1, &vm2, tk_msi_count(vm1.m) == 1);

    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

START_TEST(peers_leave_and_unknown_doorbells_are_ignored)
{
    struct vm vm1, vm2;

    start_vm(&vm1, "vectors=2");
    start_vm(&vm2, "vectors=2");
    PUMP_UNTIL(&vm1, &vm2, tk_ioeventfd_count(vm1.m) == 4);
    tk_msix_set_vector(vm2.m, vm2.devfn, 0, MSI_ADDR, 1, false);
    tk_msix_set_vector(vm2.m, vm2.devfn, 1, MSI_ADDR, 2, false);

    /* Doorbells to peers and vectors that do not exist go nowhere. */
    doorbell(&vm1, vm2.id, 2);
    doorbell(&vm1, vm2.id + 1, 0);
    doorbell(&vm1, 65535, 0);
    tk_bar_write(vm1.m, vm1.devfn, 0, 12, 0xffffffff, 4);
    for (int i = 0; i < 20; i++)
        tk_wait_event(vm2.m, 5);
    ck_assert_uint_eq(tk_msi_count(vm2.m), 0);
    /* A real one still does. */
    doorbell(&vm1, vm2.id, 0);
    PUMP_UNTIL(&vm2, &vm1, tk_msi_count(vm2.m) == 1);

    /* VM2 goes away: VM1 drops its ioeventfds, and doorbells to it are ignored. */
    stop_vm(&vm2);
    PUMP_UNTIL(&vm1, (struct vm *)NULL, tk_ioeventfd_count(vm1.m) == 2);
    doorbell(&vm1, 1, 0);
    stop_vm(&vm1);
}
END_TEST

START_TEST(ioeventfd_off_traps_and_still_rings)
{
    struct vm vm1, vm2;

    start_vm(&vm1, "vectors=2,ioeventfd=off");
    start_vm(&vm2, "vectors=2");
    ck_assert_uint_eq(tk_ioeventfd_count(vm1.m), 0);
    PUMP_UNTIL(&vm2, &vm1, tk_ioeventfd_count(vm2.m) == 4);
    tk_msix_set_vector(vm2.m, vm2.devfn, 0, MSI_ADDR, 7, false);
    /* VM1 may not know VM2 yet: ring until it does (each ring is harmless). */
    for (int i = 0; i < TEST_TIMEOUT_MS / 5 && tk_msi_count(vm2.m) == 0; i++) {
        tk_process_events(vm1.m);
        doorbell(&vm1, vm2.id, 0);
        tk_wait_event(vm2.m, 5);
    }
    ck_assert_uint_ge(tk_msi_count(vm2.m), 1);
    ck_assert_uint_eq(tk_ioeventfd_count(vm1.m), 0);
    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

START_TEST(host_client_rings_and_is_rung)
{
    struct vm vm;
    struct raw_client c;
    int to_vm[2];
    int own[2];

    start_vm(&vm, "vectors=2");
    ck_assert_uint_eq(vm.id, 0);
    raw_connect(&c, dir.sock);
    raw_expect(&c, 0, false);
    raw_expect(&c, 1, false);
    close(raw_expect(&c, -1, true));
    to_vm[0] = raw_expect(&c, 0, true);
    to_vm[1] = raw_expect(&c, 0, true);
    own[0] = raw_expect(&c, 1, true);
    own[1] = raw_expect(&c, 1, true);

    /* The host client rings the VM's vector 0 (masked): pending. */
    ck_assert_int_eq(ivshmem_eventfd_ring(to_vm[0]), 0);
    PUMP_UNTIL(&vm, (struct vm *)NULL, tk_msix_pending(vm.m, vm.devfn, 0));
    /* The VM rings the client's vector 1 once it knows the client. */
    PUMP_UNTIL(&vm, (struct vm *)NULL, tk_ioeventfd_count(vm.m) == 4);
    doorbell(&vm, 1, 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(own[1]), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(own[0]), 0);
    for (int i = 0; i < 2; i++) {
        close(to_vm[i]);
        close(own[i]);
    }
    raw_close(&c);
    stop_vm(&vm);
}
END_TEST

START_TEST(server_eof_does_not_stop_the_vm)
{
    struct vm vm1, vm2;

    start_vm(&vm1, "vectors=1");
    start_vm(&vm2, "vectors=1");
    PUMP_UNTIL(&vm1, &vm2, tk_ioeventfd_count(vm1.m) == 2 && tk_ioeventfd_count(vm2.m) == 2);
    tk_msix_set_vector(vm1.m, vm1.devfn, 0, MSI_ADDR, 3, false);
    test_server_stop(&server);
    for (int i = 0; i < 20; i++) {
        tk_wait_event(vm1.m, 5);
        tk_process_events(vm2.m);
    }
    /* Both still run and still reach each other. */
    doorbell(&vm2, vm1.id, 0);
    PUMP_UNTIL(&vm1, &vm2, tk_msi_count(vm1.m) == 1);
    ck_assert_uint_eq(tk_ioeventfd_count(vm1.m), 2);
    test_server_start(&server, &cfg); /* for the teardown */
    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

START_TEST(realize_errors)
{
    struct vm vm1, vm2;

    start_vm(&vm1, "vectors=1");
    /* master=on as the second client. */
    ck_assert_ptr_null(try_vm(&vm2, dir.sock, "master=on"));
    ck_assert_ptr_nonnull(strstr(tk_error(vm2.m), "master must connect to the server before any peers"));
    stop_vm(&vm2);
    ck_assert_ptr_null(try_vm(&vm2, dir.sock, "vectors=0"));
    ck_assert_ptr_nonnull(strstr(tk_error(vm2.m), "The number of MSI-X vectors is invalid"));
    stop_vm(&vm2);
    ck_assert_ptr_null(try_vm(&vm2, dir.sock, "vectors=4096"));
    ck_assert_ptr_nonnull(strstr(tk_error(vm2.m), "vectors"));
    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

/* ---- a hostile server ------------------------------------------------------------------- */

struct fake_server {
    int listen_fd;
    volatile int done;
    char path[96];
    pthread_t thread;
    void (*script)(int sock);
};

static void *fake_server_main(void *arg)
{
    struct fake_server *fs = arg;
    int s = accept(fs->listen_fd, NULL, NULL);
    if (s >= 0) {
        fs->script(s);
        close(s);
    }
    __atomic_store_n(&fs->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void fake_server_start(struct fake_server *fs, void (*script)(int))
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    snprintf(fs->path, sizeof(fs->path), "%s/fake", dir.path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fs->path);
    fs->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fs->listen_fd, 0);
    ck_assert_int_eq(bind(fs->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fs->listen_fd, 1), 0);
    fs->script = script;
    fs->done = 0;
    ck_assert_int_eq(pthread_create(&fs->thread, NULL, fake_server_main, fs), 0);
}

static void fake_server_stop(struct fake_server *fs)
{
    pthread_join(fs->thread, NULL);
    close(fs->listen_fd);
    unlink(fs->path);
}

static int shm_memfd(off_t size)
{
    int fd = memfd_create("fake-shm", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    return fd;
}

static void script_wrong_version(int s) { ivshmem_msg_send(s, 7, -1); }

static void script_odd_size(int s)
{
    int fd = shm_memfd(3 * 4096);
    ivshmem_msg_send(s, 0, -1);
    ivshmem_msg_send(s, 0, -1);
    ivshmem_msg_send(s, -1, fd);
    close(fd);
}

/* A valid handshake, then garbage: wrong fds, huge IDs, a flood, a second shm. */
static void script_garbage_after_handshake(int s)
{
    int fd = shm_memfd(SHM_SIZE), pipefd[2];
    ivshmem_msg_send(s, 0, -1);
    ivshmem_msg_send(s, 0, -1);
    ivshmem_msg_send(s, -1, fd);
    close(fd);
    ck_assert_int_eq(pipe(pipefd), 0);
    ivshmem_msg_send(s, 5, pipefd[0]);       /* not an eventfd */
    ivshmem_msg_send(s, 65535, -1);           /* unknown peer leaves */
    for (int i = 0; i < 3000; i++)
        ivshmem_msg_send(s, 1 + i % 1000, -1); /* flood */
    fd = shm_memfd(4096);
    ivshmem_msg_send(s, -1, fd);              /* second shm: protocol violation */
    close(fd);
    ivshmem_msg_send(s, 1ll << 40, -1);       /* ignored: no longer read */
    close(pipefd[0]);
    close(pipefd[1]);
}

START_TEST(hostile_server)
{
    struct fake_server fs;
    struct vm vm;

    fake_server_start(&fs, script_wrong_version);
    ck_assert_ptr_null(try_vm(&vm, fs.path, ""));
    ck_assert_ptr_nonnull(strstr(tk_error(vm.m), "server sent protocol version 7, expecting 0"));
    stop_vm(&vm);
    fake_server_stop(&fs);

    fake_server_start(&fs, script_odd_size);
    ck_assert_ptr_null(try_vm(&vm, fs.path, ""));
    ck_assert_ptr_nonnull(strstr(tk_error(vm.m), "not a power of two"));
    stop_vm(&vm);
    fake_server_stop(&fs);

    fake_server_start(&fs, script_garbage_after_handshake);
    ck_assert_msg(try_vm(&vm, fs.path, "vectors=1") != NULL, "%s", tk_error(vm.m));
    /* The VM's main loop reads the flood while the server is still writing it. */
    for (int i = 0; i < TEST_TIMEOUT_MS / 2 && !__atomic_load_n(&fs.done, __ATOMIC_ACQUIRE); i++)
        tk_wait_event(vm.m, 2);
    ck_assert(__atomic_load_n(&fs.done, __ATOMIC_ACQUIRE));
    fake_server_stop(&fs);
    for (int i = 0; i < 50; i++)
        tk_wait_event(vm.m, 2);
    /* The device still answers. */
    int devfn = tk_pci_find(vm.m, 0x1af4, 0x1110, 0);
    ck_assert_int_ge(devfn, 0);
    tk_device_enable(vm.m, (uint8_t)devfn);
    ck_assert_uint_eq(tk_bar_read(vm.m, (uint8_t)devfn, 0, 8, 4), 0);
    stop_vm(&vm);
}
END_TEST

/* ---- a hostile guest -------------------------------------------------------------------- */

START_TEST(hostile_guest)
{
    struct vm vm1, vm2;
    unsigned seed = 99;

    start_vm(&vm1, "vectors=4");
    start_vm(&vm2, "vectors=4");
    PUMP_UNTIL(&vm1, &vm2, tk_ioeventfd_count(vm1.m) == 4);
    uint64_t bar0 = tk_bar_address(vm1.m, vm1.devfn, 0);
    uint64_t bar1 = tk_bar_address(vm1.m, vm1.devfn, 1);

    /* Doorbells to every peer ID, with assorted vectors. */
    for (uint32_t peer = 0; peer < 65536; peer++)
        doorbell(&vm1, peer, peer % 7);
    /* Random register accesses, and garbage in the MSI-X table, PBA and capability. */
    uint8_t cap = tk_pci_find_capability(vm1.m, vm1.devfn, 0x11);
    ck_assert_uint_ne(cap, 0);
    for (int i = 0; i < 50000; i++) {
        unsigned size = 1u << (rand_r(&seed) % 4);
        uint64_t v = (uint64_t)rand_r(&seed) << 32 | (uint64_t)rand_r(&seed);
        switch (rand_r(&seed) % 4) {
        case 0:
            tk_mmio_write(vm1.m, bar0 + (uint64_t)(rand_r(&seed) % 0x104), v, size);
            break;
        case 1:
            tk_mmio_write(vm1.m, bar1 + (uint64_t)(rand_r(&seed) % 0x1000), v, size);
            break;
        case 2:
            tk_config_write(vm1.m, vm1.devfn, cap + (uint32_t)(rand_r(&seed) % 12), (uint32_t)v, 1);
            break;
        default:
            tk_mmio_read(vm1.m, bar0 + (uint64_t)(rand_r(&seed) % 0x104), size);
            break;
        }
        if (i % 1000 == 0) {
            tk_process_events(vm1.m);
            tk_process_events(vm2.m);
        }
    }
    tk_msi_clear(vm1.m);
    tk_msi_clear(vm2.m);
    /* The IDs did not change and the pair still works. */
    ck_assert_uint_eq(tk_bar_read(vm2.m, vm2.devfn, 0, 8, 4), vm2.id);
    tk_msix_enable(vm2.m, vm2.devfn, true);
    tk_msix_function_mask(vm2.m, vm2.devfn, false);
    /* The server hands out 2 vectors: vector 1 is the device's last connected one. */
    tk_msix_set_vector(vm2.m, vm2.devfn, 1, MSI_ADDR, 0x33, false);
    /* (VM1's doorbell sweep left vector 1 pending: unmasking delivered it.) */
    for (int i = 0; i < 20; i++)
        tk_wait_event(vm2.m, 5);
    tk_msi_clear(vm2.m);
    doorbell(&vm2, vm2.id, 3);
    for (int i = 0; i < 20; i++)
        tk_wait_event(vm2.m, 5);
    ck_assert_uint_eq(tk_msi_count(vm2.m), 0);
    doorbell(&vm2, vm2.id, 1);
    PUMP_UNTIL(&vm2, &vm1, tk_msi_count(vm2.m) >= 1);
    stop_vm(&vm2);
    stop_vm(&vm1);
}
END_TEST

static Suite *doorbell_suite(void)
{
    Suite *s = suite_create("ivshmem-doorbell");
    TCase *qtest = tcase_create("qtest"), *more = tcase_create("more");

    tcase_add_checked_fixture(qtest, server_setup, server_teardown);
    tcase_set_timeout(qtest, 60);
    tcase_add_test(qtest, server_qtest);
    tcase_add_test(qtest, single_on_doorbell);
    tcase_add_test(qtest, pair_on_doorbell);
    tcase_add_checked_fixture(more, server_setup, server_teardown);
    tcase_set_timeout(more, 60);
    tcase_add_test(more, msix_unmasked_delivers_masked_pends_disabled_drops);
    tcase_add_test(more, peers_leave_and_unknown_doorbells_are_ignored);
    tcase_add_test(more, ioeventfd_off_traps_and_still_rings);
    tcase_add_test(more, host_client_rings_and_is_rung);
    tcase_add_test(more, server_eof_does_not_stop_the_vm);
    tcase_add_test(more, realize_errors);
    tcase_add_test(more, hostile_server);
    tcase_add_test(more, hostile_guest);
    suite_add_tcase(s, qtest);
    suite_add_tcase(s, more);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(doorbell_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
