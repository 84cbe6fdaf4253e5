/*
 * The two device plugins as built (.so, loaded with dlopen), driven through a recording fake
 * of the host-services table: what each asks of the host (PCI identity, BARs, MSI-X, every
 * ioeventfd with its datamatch, every eventfd bound to a vector, the server watch), what
 * their BAR0 does, how they follow peers through our ivshmem-server, that unrealize gives
 * everything back, and every realize error. The SDK testkit tests (test_device_*.c) drive
 * the same plugins through the real PCI emulation; this one pins the plugin's own contract.
 */
#define _GNU_SOURCE
#include "ivshmem_test_util.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tessera/tessera.h"

/* ---- the fake host ---------------------------------------------------------------------- */

struct ts_object {
    const char *id;
    const char *type;
    /* properties, as the host would have validated them */
    uint32_t master;
    int64_t vectors;
    bool ioeventfd;
    struct ts_object *memdev;
    struct ts_chardev *chardev;
    /* memory backends */
    ts_memory_region region;
    struct ts_object *claimed_by;
};

struct ts_chardev {
    const char *id;
    int fd; /* or -ENOTSOCK / -ENOTCONN */
};

struct ts_pci_dev {
    ts_pci_identity identity;
    ts_pci_bar_desc bars[6];
    bool bar_present[6];
    ts_memory_region ram[6];
    uint32_t msix_vectors, msix_table_bar, msix_table_off, msix_pba_bar, msix_pba_off;
    int bound[64]; /* vector -> fd, -1 */
};

#define MAX_IOEVENTFDS 256
struct ts_ioeventfd {
    bool live;
    ts_ioeventfd_desc desc;
};

struct ts_fd_watch {
    bool live;
    int fd;
    ts_fd_watch_fn cb;
    void *opaque;
};

static struct ts_pci_dev pci_dev;
static bool pci_used;
static struct ts_ioeventfd ioeventfds[MAX_IOEVENTFDS];
static struct ts_fd_watch watch;
static char last_error[512];
static char log_text[8192];
static int ioeventfd_fail; /* ioeventfd_add fails with this when non-zero */

static void fake_log(ts_object *obj, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ck_assert_ptr_null(strchr(line, '\n'));
    if (strlen(log_text) + strlen(line) + 2 < sizeof(log_text)) {
        strcat(log_text, line);
        strcat(log_text, "\n");
    }
}

static void fake_set_error(ts_object *obj, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    ck_assert_ptr_null(strchr(last_error, '\n'));
}

static const char *fake_object_id(ts_object *obj) { return obj->id; }
static const char *fake_object_type(ts_object *obj) { return obj->type; }
static bool fake_prop_is_set(ts_object *obj, const char *name) { return true; }
static bool fake_prop_bool(ts_object *obj, const char *name)
{
    ck_assert_str_eq(name, "ioeventfd");
    return obj->ioeventfd;
}
static int64_t fake_prop_int(ts_object *obj, const char *name)
{
    ck_assert_str_eq(name, "vectors");
    return obj->vectors;
}
static uint32_t fake_prop_enum(ts_object *obj, const char *name)
{
    ck_assert_str_eq(name, "master");
    return obj->master;
}
static ts_object *fake_prop_ref(ts_object *obj, const char *name)
{
    ck_assert_str_eq(name, "memdev");
    return obj->memdev;
}

static int fake_backend_region(ts_object *backend, ts_memory_region *out)
{
    *out = backend->region;
    return 0;
}

static int fake_backend_claim(ts_object *backend, ts_object *user)
{
    if (backend->claimed_by && backend->claimed_by != user) {
        fake_set_error(user, "memory backend '%s' is already in use by %s '%s'", backend->id,
                       backend->claimed_by->type, backend->claimed_by->id);
        return -EBUSY;
    }
    backend->claimed_by = user;
    return 0;
}

static void fake_backend_release(ts_object *backend, ts_object *user)
{
    if (backend->claimed_by == user)
        backend->claimed_by = NULL;
}

static int fake_function_add(ts_object *obj, const ts_pci_identity *id, ts_pci_dev **out)
{
    ck_assert(!pci_used);
    pci_used = true;
    memset(&pci_dev, 0, sizeof(pci_dev));
    for (int i = 0; i < 64; i++)
        pci_dev.bound[i] = -1;
    pci_dev.identity = *id;
    *out = &pci_dev;
    return 0;
}

static int fake_bar_add(ts_pci_dev *dev, const ts_pci_bar_desc *bar)
{
    ck_assert_uint_lt(bar->index, 6);
    ck_assert(!dev->bar_present[bar->index]);
    ck_assert((bar->bar_size & (bar->bar_size - 1)) == 0);
    dev->bars[bar->index] = *bar;
    dev->bar_present[bar->index] = true;
    if (bar->ram) {
        dev->ram[bar->index] = *bar->ram;
        dev->bars[bar->index].ram = &dev->ram[bar->index];
    }
    return 0;
}

static int fake_msix_init(ts_pci_dev *dev, uint32_t n, uint32_t tbar, uint32_t toff,
                          uint32_t pbar, uint32_t poff)
{
    dev->msix_vectors = n;
    dev->msix_table_bar = tbar;
    dev->msix_table_off = toff;
    dev->msix_pba_bar = pbar;
    dev->msix_pba_off = poff;
    return 0x40;
}

static int fake_msix_bind(ts_pci_dev *dev, uint32_t vector, int fd)
{
    ck_assert_uint_lt(vector, dev->msix_vectors);
    ck_assert(fd_is_eventfd(fd));
    if (dev->bound[vector] >= 0)
        return -EBUSY;
    dev->bound[vector] = fd;
    return 0;
}

static void fake_msix_unbind(ts_pci_dev *dev, uint32_t vector)
{
    /* Unbinding comes before the fd closes. */
    if (dev->bound[vector] >= 0)
        ck_assert_int_ge(fcntl(dev->bound[vector], F_GETFD), 0);
    dev->bound[vector] = -1;
}

static int fake_ioeventfd_add(ts_object *obj, const ts_ioeventfd_desc *desc, ts_ioeventfd **out)
{
    if (ioeventfd_fail)
        return ioeventfd_fail;
    for (int i = 0; i < MAX_IOEVENTFDS; i++) {
        if (ioeventfds[i].live && ioeventfds[i].desc.datamatch == desc->datamatch)
            return -EEXIST;
    }
    for (int i = 0; i < MAX_IOEVENTFDS; i++) {
        if (!ioeventfds[i].live) {
            ioeventfds[i].live = true;
            ioeventfds[i].desc = *desc;
            *out = &ioeventfds[i];
            return 0;
        }
    }
    ck_abort_msg("too many ioeventfds");
    return -ENOSPC;
}

static void fake_ioeventfd_remove(ts_ioeventfd *ioe)
{
    if (!ioe)
        return;
    ck_assert(ioe->live);
    ck_assert_int_ge(fcntl(ioe->desc.fd, F_GETFD), 0); /* removed before closing */
    ioe->live = false;
}

static int fake_watch_add(ts_object *obj, int fd, uint32_t events, ts_fd_watch_fn cb,
                          void *opaque, ts_fd_watch **out)
{
    ck_assert(!watch.live);
    watch = (struct ts_fd_watch){ .live = true, .fd = fd, .cb = cb, .opaque = opaque };
    *out = &watch;
    return 0;
}

static void fake_watch_remove(ts_fd_watch *w)
{
    if (w)
        w->live = false;
}

static ts_chardev *fake_chardev_get(ts_object *obj, const char *prop)
{
    ck_assert_str_eq(prop, "chardev");
    if (!obj->chardev)
        fake_set_error(obj, "missing chardev");
    return obj->chardev;
}
static const char *fake_chardev_id(ts_chardev *chr) { return chr->id; }
static int fake_chardev_socket_fd(ts_chardev *chr) { return chr->fd; }

static const ts_pci_api fake_pci = {
    .size = sizeof(ts_pci_api),
    .function_add = fake_function_add,
    .bar_add = fake_bar_add,
    .msix_init = fake_msix_init,
    .msix_bind_eventfd = fake_msix_bind,
    .msix_unbind_eventfd = fake_msix_unbind,
};

static const ts_event_api fake_events = {
    .size = sizeof(ts_event_api),
    .ioeventfd_add = fake_ioeventfd_add,
    .ioeventfd_remove = fake_ioeventfd_remove,
    .fd_watch_add = fake_watch_add,
    .fd_watch_remove = fake_watch_remove,
};

static const ts_chardev_api fake_chardev = {
    .size = sizeof(ts_chardev_api),
    .get = fake_chardev_get,
    .id = fake_chardev_id,
    .socket_fd = fake_chardev_socket_fd,
};

static const ts_host_api fake_host = {
    .size = sizeof(ts_host_api),
    .abi_major = TS_ABI_MAJOR,
    .abi_minor = TS_ABI_MINOR,
    .log = fake_log,
    .set_error = fake_set_error,
    .object_id = fake_object_id,
    .object_type = fake_object_type,
    .prop_is_set = fake_prop_is_set,
    .prop_bool = fake_prop_bool,
    .prop_int = fake_prop_int,
    .prop_size = NULL,
    .prop_string = NULL,
    .prop_enum = fake_prop_enum,
    .prop_ref = fake_prop_ref,
    .memory_backend_region = fake_backend_region,
    .memory_backend_claim = fake_backend_claim,
    .memory_backend_release = fake_backend_release,
    .pci = &fake_pci,
    .events = &fake_events,
    .chardev = &fake_chardev,
};

/* ---- loading the plugins ---------------------------------------------------------------- */

static void *dl;
static const ts_type_desc *type;

static const ts_type_desc *load(const char *name)
{
    char path[1024];
    const char *build = getenv("TESSERA_BUILD_DIR");

    ck_assert_ptr_nonnull(build);
    snprintf(path, sizeof(path), "%s/plugins/%s.so", build, name);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "dlopen %s: %s", path, dlerror());
    ts_plugin_entry_fn entry = (ts_plugin_entry_fn)dlsym(dl, TS_PLUGIN_ENTRY_SYMBOL);
    ck_assert_ptr_nonnull(entry);
    const ts_plugin_desc *pd = entry();
    ck_assert_uint_eq(pd->magic, TS_PLUGIN_MAGIC);
    ck_assert_int_eq(pd->init(&fake_host), 0);
    ck_assert_str_eq(pd->types[0]->name, name);
    ck_assert_ptr_null(pd->types[1]);
    return pd->types[0];
}

static const ts_prop_desc *find_prop(const ts_type_desc *t, const char *name)
{
    for (const ts_prop_desc *p = t->props; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void reset_fake(void)
{
    pci_used = false;
    memset(ioeventfds, 0, sizeof(ioeventfds));
    memset(&watch, 0, sizeof(watch));
    last_error[0] = log_text[0] = '\0';
    ioeventfd_fail = 0;
}

static int live_ioeventfds(void)
{
    int n = 0;
    for (int i = 0; i < MAX_IOEVENTFDS; i++)
        n += ioeventfds[i].live;
    return n;
}

static struct ts_ioeventfd *ioeventfd_for(uint16_t peer, uint16_t vector)
{
    for (int i = 0; i < MAX_IOEVENTFDS; i++)
        if (ioeventfds[i].live && ioeventfds[i].desc.datamatch == ((uint64_t)peer << 16 | vector))
            return &ioeventfds[i];
    return NULL;
}

static int bound_vectors(void)
{
    int n = 0;
    for (int i = 0; i < 64; i++)
        n += pci_dev.bound[i] >= 0;
    return n;
}

static void check_identity(uint8_t expected_bars)
{
    ck_assert_uint_eq(pci_dev.identity.vendor_id, 0x1af4);
    ck_assert_uint_eq(pci_dev.identity.device_id, 0x1110);
    ck_assert_uint_eq(pci_dev.identity.revision, 1);
    ck_assert_uint_eq(pci_dev.identity.class_code, 0x050000);
    ck_assert_uint_eq(pci_dev.identity.interrupt_pin, 0);
    ck_assert_uint_eq(pci_dev.identity.subsystem_vendor_id, 0x1af4);
    ck_assert_uint_eq(pci_dev.identity.subsystem_id, 0x1100);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(pci_dev.bar_present[i], (expected_bars >> i) & 1);
    ck_assert_uint_eq(pci_dev.bars[0].bar_size, 256);
    ck_assert_uint_eq(pci_dev.bars[0].type, TS_PCI_BAR_MEM32);
    ck_assert_ptr_nonnull(pci_dev.bars[0].ops);
    ck_assert_uint_eq(pci_dev.bars[2].type, TS_PCI_BAR_MEM64);
    ck_assert_uint_eq(pci_dev.bars[2].flags, TS_PCI_BAR_PREFETCHABLE);
    ck_assert_ptr_null(pci_dev.bars[2].ops);
    ck_assert_ptr_nonnull(pci_dev.bars[2].ram);
}

static uint64_t bar0_read(uint64_t off)
{
    return pci_dev.bars[0].ops->read(pci_dev.bars[0].opaque, off, 4);
}

static void bar0_write(uint64_t off, uint64_t v)
{
    pci_dev.bars[0].ops->write(pci_dev.bars[0].opaque, off, v, 4);
}

/* ---- ivshmem-plain ---------------------------------------------------------------------- */

static int plain_mem_fd = -1;

static ts_object make_backend(const char *id, uint64_t size, bool shared)
{
    ts_object b = { .id = id, .type = "memory-backend-file" };

    plain_mem_fd = memfd_create("plain", MFD_CLOEXEC);
    ck_assert_int_ge(plain_mem_fd, 0);
    ck_assert_int_eq(ftruncate(plain_mem_fd, (off_t)size), 0);
    b.region.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, plain_mem_fd, 0);
    ck_assert(b.region.host != MAP_FAILED);
    b.region.size = size;
    b.region.fd = shared ? plain_mem_fd : -1;
    b.region.flags = shared ? TS_MEM_SHARED : 0;
    b.region.page_size = 4096;
    return b;
}

static void free_backend(ts_object *b)
{
    munmap(b->region.host, b->region.size);
    close(plain_mem_fd);
}

START_TEST(plain_properties_match_qemu)
{
    const ts_prop_desc *p;

    type = load("ivshmem-plain");
    ck_assert_uint_eq(type->kind, TS_KIND_DEVICE);
    ck_assert_uint_eq(((const ts_device_ops *)type->kind_ops)->bus, TS_BUS_PCI);
    ck_assert_ptr_nonnull(p = find_prop(type, "memdev"));
    ck_assert_uint_eq(p->type, TS_PROP_REF);
    ck_assert_uint_eq(p->ref_target, TS_REF_MEMORY_BACKEND);
    ck_assert_uint_eq(p->flags, TS_PROP_REQUIRED);
    ck_assert_ptr_nonnull(p = find_prop(type, "master"));
    ck_assert_uint_eq(p->type, TS_PROP_ENUM);
    ck_assert_str_eq(p->default_value, "off");
    ck_assert_str_eq(p->enum_values[0], "off");
    ck_assert_str_eq(p->enum_values[1], "on");
    ck_assert_str_eq(p->enum_values[2], "auto");
    ck_assert_ptr_null(p->enum_values[3]);
    ck_assert_ptr_null(find_prop(type, "chardev"));
    ck_assert_ptr_null(find_prop(type, "vectors"));
    ck_assert_ptr_null(find_prop(type, "ioeventfd"));
}
END_TEST

START_TEST(plain_realize_registers_and_release)
{
    ts_object mb = make_backend("mb1", 1 << 20, true);
    ts_object dev = { .id = "dev0", .type = "ivshmem-plain", .memdev = &mb, .master = 1 };
    void *state;

    type = load("ivshmem-plain");
    reset_fake();
    ck_assert_int_eq(type->create(&dev, &state), 0);
    ck_assert_int_eq(type->realize(&dev, state), 0);
    check_identity(0x05);
    ck_assert_ptr_eq(pci_dev.bars[2].ram->host, mb.region.host);
    ck_assert_uint_eq(pci_dev.bars[2].ram->size, 1 << 20);
    ck_assert_ptr_eq(mb.claimed_by, &dev);
    ck_assert_ptr_nonnull(strstr(log_text, "as master"));

    /* /ivshmem/single through the BAR0 callbacks. */
    ck_assert_uint_eq(bar0_read(0), 0);
    ck_assert_uint_eq(bar0_read(4), 0);
    ck_assert_uint_eq(bar0_read(8), 0);
    bar0_write(0, 0xffffffff);
    ck_assert_uint_eq(bar0_read(0), 0xffffffff);
    bar0_write(4, 1);
    ck_assert_uint_eq(bar0_read(4), 1);
    ck_assert_uint_eq(bar0_read(4), 0);
    bar0_write(8, 1);
    ck_assert_uint_eq(bar0_read(8), 0);
    ck_assert_uint_eq(bar0_read(12), 0);
    bar0_write(12, 8 << 16);
    /* reset clears the registers */
    bar0_write(0, 0x1234);
    type->reset(&dev, state);
    ck_assert_uint_eq(bar0_read(0), 0);

    type->unrealize(&dev, state);
    ck_assert_ptr_null(mb.claimed_by);
    type->destroy(&dev, state);
    free_backend(&mb);
}
END_TEST

START_TEST(plain_errors)
{
    ts_object mb = make_backend("mb1", 3 << 20, true);
    ts_object other = { .id = "dev9", .type = "ivshmem-plain" };
    ts_object dev = { .id = "dev0", .type = "ivshmem-plain", .memdev = &mb };
    void *state;

    type = load("ivshmem-plain");
    /* Not a power of two: refused, and the claim is given back. */
    reset_fake();
    ck_assert_int_eq(type->create(&dev, &state), 0);
    ck_assert_int_eq(type->realize(&dev, state), -EINVAL);
    ck_assert_str_eq(last_error, "memdev 'mb1' is 3M bytes; ivshmem needs a power of two (it becomes a PCI BAR)");
    ck_assert_ptr_null(mb.claimed_by);
    ck_assert(!pci_used);
    type->destroy(&dev, state);
    free_backend(&mb);

    /* Busy: the host's message naming both. */
    mb = make_backend("mb1", 1 << 20, true);
    dev.memdev = &mb;
    mb.claimed_by = &other;
    reset_fake();
    ck_assert_int_eq(type->create(&dev, &state), 0);
    ck_assert_int_eq(type->realize(&dev, state), -EBUSY);
    ck_assert_str_eq(last_error, "memory backend 'mb1' is already in use by ivshmem-plain 'dev9'");
    type->destroy(&dev, state);

    /* Not shared: works, with a warning. */
    free_backend(&mb);
    mb = make_backend("mb2", 1 << 20, false);
    dev.memdev = &mb;
    reset_fake();
    ck_assert_int_eq(type->create(&dev, &state), 0);
    ck_assert_int_eq(type->realize(&dev, state), 0);
    ck_assert_ptr_nonnull(strstr(log_text, "memdev 'mb2' is not shared (share=off)"));
    type->unrealize(&dev, state);
    type->destroy(&dev, state);
    free_backend(&mb);
}
END_TEST

/* ---- ivshmem-doorbell ------------------------------------------------------------------- */

static struct test_dir dir;
static struct test_server server;
static struct ivshmem_server_config cfg;

static void server_setup(void)
{
    test_dir_create(&dir);
    ivshmem_server_config_init(&cfg);
    cfg.socket_path = dir.sock;
    cfg.shm_path = dir.shm_name;
    cfg.shm_size = 1 << 20;
    cfg.n_vectors = 2;
    cfg.unlink_shm = true;
    test_server_start(&server, &cfg);
}

static void server_teardown(void)
{
    test_server_stop(&server);
    test_dir_remove(&dir);
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return s;
}

/* Runs the server watch like the main loop would until cond holds (bounded). */
#define MAIN_LOOP_UNTIL(cond)                                                                 \
    do {                                                                                      \
        for (int _i = 0; !(cond) && watch.live && _i < TEST_TIMEOUT_MS / 10; _i++) {          \
            struct pollfd _p = { .fd = watch.fd, .events = POLLIN };                          \
            if (poll(&_p, 1, 10) > 0)                                                         \
                watch.cb(watch.opaque, watch.fd, TS_FD_READABLE);                             \
        }                                                                                     \
        ck_assert(cond);                                                                      \
    } while (0)

START_TEST(doorbell_properties_match_qemu)
{
    const ts_prop_desc *p;

    type = load("ivshmem-doorbell");
    ck_assert_ptr_nonnull(p = find_prop(type, "chardev"));
    ck_assert_uint_eq(p->type, TS_PROP_REF);
    ck_assert_uint_eq(p->ref_target, TS_REF_CHARDEV);
    ck_assert_uint_eq(p->flags, TS_PROP_REQUIRED);
    ck_assert_ptr_nonnull(p = find_prop(type, "vectors"));
    ck_assert_uint_eq(p->type, TS_PROP_INT);
    ck_assert_str_eq(p->default_value, "1");
    ck_assert_ptr_nonnull(p = find_prop(type, "ioeventfd"));
    ck_assert_uint_eq(p->type, TS_PROP_BOOL);
    ck_assert_str_eq(p->default_value, "on");
    ck_assert_ptr_nonnull(p = find_prop(type, "master"));
    ck_assert_str_eq(p->default_value, "off");
    ck_assert_ptr_null(find_prop(type, "memdev"));
}
END_TEST

START_TEST(doorbell_follows_peers_and_gives_everything_back)
{
    int fds_before = -1;
    struct ts_chardev chr = { .id = "iv0" };
    ts_object dev = { .id = "d0", .type = "ivshmem-doorbell", .vectors = 2, .ioeventfd = true,
                      .master = 2, .chardev = &chr };
    struct raw_client peer;
    struct handshake hs;
    void *state;

    type = load("ivshmem-doorbell");
    reset_fake();
    fds_before = dup(0);
    close(fds_before);
    chr.fd = connect_unix(dir.sock);
    ck_assert_int_eq(type->create(&dev, &state), 0);
    ck_assert_int_eq(type->realize(&dev, state), 0);
    check_identity(0x07);
    ck_assert_uint_eq(pci_dev.bars[1].bar_size, 4096);
    ck_assert_ptr_null(pci_dev.bars[1].ops);
    ck_assert_ptr_null(pci_dev.bars[1].ram);
    ck_assert_uint_eq(pci_dev.msix_vectors, 2);
    ck_assert_uint_eq(pci_dev.msix_table_bar, 1);
    ck_assert_uint_eq(pci_dev.msix_table_off, 0);
    ck_assert_uint_eq(pci_dev.msix_pba_bar, 1);
    ck_assert_uint_eq(pci_dev.msix_pba_off, 0x800);
    ck_assert_uint_eq(pci_dev.bars[2].ram->size, 1 << 20);
    ck_assert(pci_dev.bars[2].ram->flags & TS_MEM_SHARED);
    ck_assert_uint_eq(bar0_read(8), 0); /* first client */
    ck_assert_ptr_nonnull(strstr(log_text, "ID 0 (master)"));
    ck_assert(watch.live);

    /* Own vectors arrive on the main loop: bound to MSI-X, and an ioeventfd each (self-ring). */
    MAIN_LOOP_UNTIL(bound_vectors() == 2);
    ck_assert_ptr_nonnull(ioeventfd_for(0, 0));
    ck_assert_ptr_nonnull(ioeventfd_for(0, 1));

    /* A peer joins (raw client, ID 1): one ioeventfd per vector, datamatch 1<<16|v. */
    raw_connect(&peer, dir.sock);
    raw_expect(&peer, 0, false);
    raw_expect(&peer, 1, false);
    hs.shm_fd = raw_expect(&peer, -1, true);
    int to_us[2] = { raw_expect(&peer, 0, true), raw_expect(&peer, 0, true) };
    for (unsigned v = 0; v < 2; v++) {
        hs.own[v] = raw_expect(&peer, 1, true);
        fcntl(hs.own[v], F_SETFL, O_NONBLOCK);
    }
    MAIN_LOOP_UNTIL(live_ioeventfds() == 4);
    struct ts_ioeventfd *ioe = ioeventfd_for(1, 1);
    ck_assert_ptr_nonnull(ioe);
    ck_assert_uint_eq(ioe->desc.where, TS_IOEVENTFD_BAR);
    ck_assert_uint_eq(ioe->desc.bar, 0);
    ck_assert_uint_eq(ioe->desc.addr, 12);
    ck_assert_uint_eq(ioe->desc.len, 4);
    ck_assert_uint_eq(ioe->desc.flags, TS_IOEVENTFD_DATAMATCH);
    /* What KVM would do on a matching write: the peer's own eventfd for vector 1 fires. */
    ck_assert_int_eq(ivshmem_eventfd_ring(ioe->desc.fd), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[1]), 1);
    /* The trapped path (a value KVM did not match) rings the same eventfds. */
    bar0_write(12, 1 << 16 | 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[0]), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[1]), 0);
    /* Unknown vector and unknown peers are ignored. */
    bar0_write(12, 1 << 16 | 2);
    bar0_write(12, 7 << 16 | 0);
    bar0_write(12, 0xffffffff);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[0]), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[1]), 0);
    /* The peer rings our vector 1: the eventfd bound to MSI-X vector 1 fires (an irqfd in a
     * real host), vector 0's does not. */
    ck_assert_int_eq(ivshmem_eventfd_ring(to_us[1]), 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(pci_dev.bound[1]), 1);
    ck_assert_int_eq(ivshmem_eventfd_drain(pci_dev.bound[0]), 0);
    close(to_us[0]);
    close(to_us[1]);

    /* The peer leaves: its ioeventfds go, doorbells to it are ignored. */
    handshake_close(&hs, 2);
    raw_close(&peer);
    MAIN_LOOP_UNTIL(live_ioeventfds() == 2);
    ck_assert_ptr_null(ioeventfd_for(1, 0));
    bar0_write(12, 1 << 16 | 0);

    /* Server EOF: the watch goes away, nothing else changes, no error. */
    test_server_stop(&server);
    MAIN_LOOP_UNTIL(!watch.live);
    ck_assert_ptr_nonnull(strstr(log_text, "closed the connection"));
    ck_assert_int_eq(bound_vectors(), 2);
    test_server_start(&server, &cfg); /* for the teardown */

    /* Unrealize: every ioeventfd and binding removed before the fds close; no fd leaks. */
    type->unrealize(&dev, state);
    ck_assert_int_eq(live_ioeventfds(), 0);
    ck_assert_int_eq(bound_vectors(), 0);
    type->destroy(&dev, state);
    close(chr.fd);
    int now = dup(0);
    close(now);
    ck_assert_int_eq(now, fds_before);
}
END_TEST

START_TEST(doorbell_without_ioeventfd_traps)
{
    struct ts_chardev chr = { .id = "iv0" };
    ts_object a = { .id = "a", .type = "ivshmem-doorbell", .vectors = 2, .ioeventfd = false,
                    .chardev = &chr };
    struct raw_client peer;
    struct handshake hs;
    void *state;
    int64_t peers[] = { 0 };

    type = load("ivshmem-doorbell");
    reset_fake();
    chr.fd = connect_unix(dir.sock);
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), 0);
    ck_assert_ptr_nonnull(strstr(log_text, "ID 0 (peer)"));
    raw_connect(&peer, dir.sock);
    raw_expect_handshake(&peer, 1, 2, peers, 1, &hs);
    MAIN_LOOP_UNTIL(bound_vectors() == 2);
    /* wait until both of the peer's vectors are known: ring until it gets through */
    for (int i = 0; i < TEST_TIMEOUT_MS / 10 && ivshmem_eventfd_drain(hs.own[1]) == 0; i++) {
        struct pollfd p = { .fd = watch.fd, .events = POLLIN };
        if (poll(&p, 1, 10) > 0)
            watch.cb(watch.opaque, watch.fd, TS_FD_READABLE);
        bar0_write(12, 1 << 16 | 1);
    }
    ck_assert_int_eq(live_ioeventfds(), 0);
    bar0_write(12, 1 << 16 | 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(hs.own[0]), 1);
    type->unrealize(&a, state);
    type->destroy(&a, state);
    handshake_close(&hs, 2);
    raw_close(&peer);
    close(chr.fd);
}
END_TEST

START_TEST(doorbell_ioeventfd_failure_falls_back_to_trapping)
{
    struct ts_chardev chr = { .id = "iv0" };
    ts_object a = { .id = "a", .type = "ivshmem-doorbell", .vectors = 1, .ioeventfd = true,
                    .chardev = &chr };
    void *state;

    type = load("ivshmem-doorbell");
    reset_fake();
    ioeventfd_fail = -ENOSYS;
    chr.fd = connect_unix(dir.sock);
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), 0);
    MAIN_LOOP_UNTIL(bound_vectors() == 1);
    ck_assert_ptr_nonnull(strstr(log_text, "doorbells are handled by the VMM instead"));
    /* Self-ring through the trapped path reaches our own vector's eventfd. */
    bar0_write(12, 0);
    ck_assert_int_eq(ivshmem_eventfd_drain(pci_dev.bound[0]), 1);
    type->unrealize(&a, state);
    type->destroy(&a, state);
    close(chr.fd);
}
END_TEST

START_TEST(doorbell_errors)
{
    struct ts_chardev chr = { .id = "iv0" };
    ts_object a = { .id = "a", .type = "ivshmem-doorbell", .vectors = 1, .ioeventfd = true,
                    .chardev = &chr };
    int first;
    void *state;

    type = load("ivshmem-doorbell");

    a.vectors = 0;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -EINVAL);
    ck_assert_str_eq(last_error, "Failed to initialize interrupts: The number of MSI-X vectors is invalid (vectors=0; 1..2048)");
    type->destroy(&a, state);
    a.vectors = 2049;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -EINVAL);
    ck_assert_ptr_nonnull(strstr(last_error, "vectors=2049"));
    type->destroy(&a, state);
    a.vectors = 1;

    chr.fd = -ENOTSOCK;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -EINVAL);
    ck_assert_str_eq(last_error, "chardev 'iv0' is not a socket: ivshmem-doorbell needs a UNIX socket connected to an ivshmem server");
    type->destroy(&a, state);

    chr.fd = -ENOTCONN;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -ENOTCONN);
    ck_assert_ptr_nonnull(strstr(last_error, "chardev 'iv0' is not connected to an ivshmem server"));
    type->destroy(&a, state);

    /* master=on as the second client. */
    first = connect_unix(dir.sock);
    test_server_wait_peers(&server, 1);
    chr.fd = connect_unix(dir.sock);
    a.master = 1;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -EINVAL);
    ck_assert_str_eq(last_error, "master must connect to the server before any peers (the server gave this device ID 1, a master needs ID 0)");
    ck_assert(!pci_used);
    type->destroy(&a, state);
    close(chr.fd);
    close(first);

    /* A server speaking another protocol version. */
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(ivshmem_msg_send(sv[1], 3, -1), 0);
    chr.fd = sv[0];
    a.master = 0;
    reset_fake();
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), -EPROTO);
    ck_assert_str_eq(last_error, "ivshmem server on chardev 'iv0': server sent protocol version 3, expecting 0");
    type->destroy(&a, state);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(doorbell_many_vectors_msix_layout)
{
    struct ts_chardev chr = { .id = "iv0" };
    ts_object a = { .id = "a", .type = "ivshmem-doorbell", .vectors = 2048, .ioeventfd = true,
                    .chardev = &chr };
    void *state;

    type = load("ivshmem-doorbell");
    reset_fake();
    chr.fd = connect_unix(dir.sock);
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), 0);
    ck_assert_uint_eq(pci_dev.msix_vectors, 2048);
    ck_assert_uint_eq(pci_dev.msix_pba_off, 2048 * 16);
    ck_assert_uint_eq(pci_dev.bars[1].bar_size, 65536);
    type->unrealize(&a, state);
    type->destroy(&a, state);
    close(chr.fd);

    a.vectors = 129;
    reset_fake();
    chr.fd = connect_unix(dir.sock);
    ck_assert_int_eq(type->create(&a, &state), 0);
    ck_assert_int_eq(type->realize(&a, state), 0);
    ck_assert_uint_eq(pci_dev.msix_pba_off, 129 * 16);
    ck_assert_uint_eq(pci_dev.bars[1].bar_size, 4096);
    type->unrealize(&a, state);
    type->destroy(&a, state);
    close(chr.fd);
}
END_TEST

static Suite *glue_suite(void)
{
    Suite *s = suite_create("ivshmem-plugin-glue");
    TCase *plain = tcase_create("plain"), *doorbell = tcase_create("doorbell");

    tcase_add_test(plain, plain_properties_match_qemu);
    tcase_add_test(plain, plain_realize_registers_and_release);
    tcase_add_test(plain, plain_errors);
    tcase_add_checked_fixture(doorbell, server_setup, server_teardown);
    tcase_set_timeout(doorbell, 60);
    tcase_add_test(doorbell, doorbell_properties_match_qemu);
    tcase_add_test(doorbell, doorbell_follows_peers_and_gives_everything_back);
    tcase_add_test(doorbell, doorbell_without_ioeventfd_traps);
    tcase_add_test(doorbell, doorbell_ioeventfd_failure_falls_back_to_trapping);
    tcase_add_test(doorbell, doorbell_errors);
    tcase_add_test(doorbell, doorbell_many_vectors_msix_layout);
    suite_add_tcase(s, plain);
    suite_add_tcase(s, doorbell);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(glue_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
