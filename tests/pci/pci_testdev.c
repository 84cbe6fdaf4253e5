/* SPDX-License-Identifier: MIT */
/*
 * pci-testdev: a small PCI device plugin that uses every device service of ABI 1.1, for
 * the core's PCI tests (tests/pci/test_pci.c) and as an example of the SDK's device API.
 * It includes nothing but the SDK.
 *
 * Identity 1b36:10f0, class 0xff0000 (unassigned), revision 1.
 * BAR0  4 KiB 32-bit memory, trapped: registers (4-byte accesses unless noted)
 *   0x00 RW  scratch (an 8-byte read returns magic << 32 | scratch)
 *   0x04 RO  magic 0x54535444
 *   0x08 W   raise MSI-X vector VALUE (msix_notify); R: what the last notify returned
 *   0x0c W   doorbell: 1 signals the vector eventfd, 2 the counted eventfd, both through
 *            ioeventfds (ioeventfd=on) that never reach this code; other values count in 0x10
 *   0x10 RO  doorbell writes that reached the device
 *   0x14 RO  signals the main-loop watch consumed from the counted eventfd
 *   0x18 W   INTx level
 *   0x1c RO  size of the previous access to BAR0
 *   0x20 W   DMA address low, 0x24 high
 *   0x28 W   write VALUE (4 bytes) to guest memory at the DMA address; R: result (0 or -errno)
 *   0x2c RO  4 bytes of guest memory at the DMA address (0xffffffff when it is not RAM)
 *   0x30 RO  last value the guest wrote to config 0x60
 *   0x34 W   start a timer of VALUE ns that raises vector 0
 *   0x38 RO  bit 0 MSI-X enabled, bit 1 vector 0 masked, bit 2 vector 0 pending
 * BAR1  4 KiB 32-bit memory: MSI-X table at 0, PBA at 0x800 (host-only)
 * BAR2  the memdev's memory, 64-bit prefetchable, RAM-backed (only with memdev=)
 * BAR4  32 bytes of I/O, trapped: 0x00 RW scratch; 0x04 (2 bytes) doorbell, 3 signals
 *       the counted eventfd through an ioeventfd
 * Config: a vendor capability (ID 9, 8 bytes: byte 4 writable, byte 5 = 0xab), 0x60 a
 * writable device register (write hook), 0x64 read hook returning 0xc0de0000 | (0x60 & 0xffff).
 * The eventfd of vector min(1, vectors - 1) is bound with msix_bind_eventfd.
 * With chardev=ID the device writes "pci-testdev up\n" to that chardev in realize.
 * With port=P (and mmio=A) it also claims 4 fixed ports at P (and 16 bytes of MMIO at A)
 * through ts_io_api: reads return the magic, writes go to the scratch register.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <tessera/tessera.h>

static const ts_host_api *host;

typedef struct testdev {
    ts_object *obj;
    ts_pci_dev *pci;
    uint32_t nvec;
    uint32_t irq_vector;
    bool use_ioeventfd;
    uint32_t pin;
    ts_object *memdev;
    ts_memory_region mem;
    int efd_irq, efd_count;
    ts_ioeventfd *ioev[3];
    ts_fd_watch *watch;
    ts_timer *timer;
    _Atomic uint32_t scratch, slow, watched, last_size, cfg60, io_scratch;
    _Atomic int32_t last_notify, dma_result;
    _Atomic uint64_t dma_addr;
    ts_io_region *fixed[2];
} testdev;

static int testdev_create(ts_object *obj, void **state)
{
    testdev *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->obj = obj;
    t->nvec = (uint32_t)host->prop_int(obj, "vectors");
    t->use_ioeventfd = host->prop_bool(obj, "ioeventfd");
    t->pin = (uint32_t)host->prop_int(obj, "pin");
    t->memdev = host->prop_ref(obj, "memdev");
    t->efd_irq = t->efd_count = -1;
    *state = t;
    return 0;
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
    testdev *t = opaque;
    uint32_t prev = atomic_exchange(&t->last_size, size);
    if (off == 0 && size == 8)
        return (uint64_t)0x54535444 << 32 | t->scratch;
    if (size != 4 || (off & 3))
        return 0;
    switch (off) {
    case 0x00: return t->scratch;
    case 0x04: return 0x54535444;
    case 0x08: return (uint32_t)t->last_notify;
    case 0x10: return t->slow;
    case 0x14: return t->watched;
    case 0x1c: return prev;
    case 0x28: return (uint32_t)t->dma_result;
    case 0x2c: {
        uint32_t v;
        return host->guest_memory->read(t->obj, t->dma_addr, &v, 4) == 0 ? v : 0xffffffffu;
    }
    case 0x30: return t->cfg60;
    case 0x38:
        return (host->pci->msix_enabled(t->pci) ? 1u : 0) | (host->pci->msix_masked(t->pci, 0) ? 2u : 0) |
               (host->pci->msix_pending(t->pci, 0) ? 4u : 0);
    default: return 0;
    }
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    testdev *t = opaque;
    t->last_size = size;
    if (size != 4 || (off & 3))
        return;
    uint32_t v = (uint32_t)value;
    switch (off) {
    case 0x00: t->scratch = v; break;
    case 0x08: t->last_notify = host->pci->msix_notify(t->pci, v); break;
    case 0x0c:
        t->slow++;
        if (v == 1) /* without ioeventfd the device does the kernel's job */
            signal_fd(t->efd_irq);
        else if (v == 2)
            signal_fd(t->efd_count);
        break;
    case 0x18: host->pci->intx_set(t->pci, (int)v); break;
    case 0x20: t->dma_addr = (t->dma_addr & ~0xffffffffull) | v; break;
    case 0x24: t->dma_addr = (t->dma_addr & 0xffffffffull) | (uint64_t)v << 32; break;
    case 0x28: t->dma_result = host->guest_memory->write(t->obj, t->dma_addr, &v, 4); break;
    case 0x34: host->events->timer_start(t->timer, v); break;
    default: break;
    }
}

static const ts_io_ops bar0_ops = { .size = sizeof(ts_io_ops), .read = bar0_read, .write = bar0_write };

static uint64_t bar4_read(void *opaque, uint64_t off, unsigned size)
{
    testdev *t = opaque;
    return off == 0 && size == 4 ? t->io_scratch : 0;
}

static void bar4_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    testdev *t = opaque;
    if (off == 0 && size == 4)
        t->io_scratch = (uint32_t)value;
    else if (off == 4)
        t->slow++;
}

static const ts_io_ops bar4_ops = { .size = sizeof(ts_io_ops), .read = bar4_read, .write = bar4_write };

static uint64_t fixed_read(void *opaque, uint64_t off, unsigned size)
{
    return off == 0 && size == 4 ? 0x54535444 : 0;
}

static void fixed_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    testdev *t = opaque;
    if (off == 0 && size == 4)
        t->scratch = (uint32_t)value;
}

static const ts_io_ops fixed_ops = { .size = sizeof(ts_io_ops), .read = fixed_read, .write = fixed_write };

static uint32_t cfg_read(void *opaque, uint32_t offset, unsigned size, uint32_t value)
{
    testdev *t = opaque;
    return offset == 0x64 && size == 4 ? 0xc0de0000u | (t->cfg60 & 0xffff) : value;
}

static void cfg_write(void *opaque, uint32_t offset, unsigned size, uint32_t value)
{
    testdev *t = opaque;
    if (offset == 0x60 && size == 4)
        t->cfg60 = value;
}

static const ts_pci_config_ops cfg_ops = { .size = sizeof(ts_pci_config_ops), .read = cfg_read, .write = cfg_write };

static void count_watch(void *opaque, int fd, uint32_t events)
{
    testdev *t = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) == sizeof(n))
        t->watched += (uint32_t)n;
}

static void timer_fired(void *opaque)
{
    testdev *t = opaque;
    t->last_notify = host->pci->msix_notify(t->pci, 0);
}

static int add_ioeventfd(testdev *t, unsigned slot, uint32_t bar, uint64_t off, uint32_t len, uint64_t match, int fd)
{
    ts_ioeventfd_desc d = {
        .size = sizeof(d), .where = TS_IOEVENTFD_BAR, .pci = t->pci, .bar = bar, .len = len,
        .addr = off, .flags = TS_IOEVENTFD_DATAMATCH, .fd = fd, .datamatch = match,
    };
    return host->events->ioeventfd_add(t->obj, &d, &t->ioev[slot]);
}

static int testdev_realize(ts_object *obj, void *state)
{
    testdev *t = state;
    int r;
    if (!TS_HOST_HAS(host, pci) || !TS_HOST_HAS(host, events) || !TS_HOST_HAS(host, guest_memory)) {
        host->set_error(obj, "this tessera has no device services");
        return -ENOTSUP;
    }
    if (t->nvec < 1 || t->nvec > 2048 || t->pin > 4) {
        host->set_error(obj, "vectors must be 1..2048 and pin 0..4");
        return -EINVAL;
    }
    ts_pci_identity id = {
        .size = sizeof(id), .vendor_id = 0x1b36, .device_id = 0x10f0, .class_code = 0xff0000,
        .revision = 1, .interrupt_pin = (uint8_t)t->pin,
    };
    if ((r = host->pci->function_add(obj, &id, &t->pci)) < 0)
        return r;
    ts_pci_bar_desc b0 = { .size = sizeof(b0), .index = 0, .type = TS_PCI_BAR_MEM32, .bar_size = 4096,
                           .ops = &bar0_ops, .opaque = t };
    ts_pci_bar_desc b1 = { .size = sizeof(b1), .index = 1, .type = TS_PCI_BAR_MEM32, .bar_size = 4096 };
    ts_pci_bar_desc b4 = { .size = sizeof(b4), .index = 4, .type = TS_PCI_BAR_IO, .bar_size = 32,
                           .ops = &bar4_ops, .opaque = t };
    if ((r = host->pci->bar_add(t->pci, &b0)) < 0 || (r = host->pci->bar_add(t->pci, &b1)) < 0 ||
        (r = host->pci->bar_add(t->pci, &b4)) < 0)
        return r;
    if (t->memdev) {
        if ((r = host->memory_backend_claim(t->memdev, obj)) < 0)
            return r;
        if ((r = host->memory_backend_region(t->memdev, &t->mem)) < 0)
            return r;
        ts_pci_bar_desc b2 = { .size = sizeof(b2), .index = 2, .type = TS_PCI_BAR_MEM64,
                               .flags = TS_PCI_BAR_PREFETCHABLE, .ram = &t->mem };
        if ((r = host->pci->bar_add(t->pci, &b2)) < 0)
            return r;
    }
    uint32_t pba_off = 0x800;
    if (t->nvec * 16 > pba_off) {
        host->set_error(obj, "pci-testdev supports at most 128 vectors");
        return -EINVAL;
    }
    if ((r = host->pci->msix_init(t->pci, t->nvec, 1, 0, 1, pba_off)) < 0)
        return r;
    uint8_t cap[8] = { 0, 0, 8, 0, 0, 0xab, 0, 0 }, wm[8] = { 0, 0, 0, 0, 0xff, 0, 0, 0 };
    if ((r = host->pci->capability_add(t->pci, 0x09, cap, sizeof(cap), wm)) < 0)
        return r;
    if ((r = host->pci->config_set(t->pci, 0x60, 4, 0, true, 0xffffffffu)) < 0) {
        host->set_error(obj, "config_set 0x60 failed");
        return r;
    }
    host->pci->config_set_ops(t->pci, &cfg_ops, t);

    t->efd_irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->efd_count = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->efd_irq < 0 || t->efd_count < 0) {
        host->set_error(obj, "eventfd: %s", strerror(errno));
        return -errno;
    }
    t->irq_vector = t->nvec > 1 ? 1 : 0;
    if ((r = host->pci->msix_bind_eventfd(t->pci, t->irq_vector, t->efd_irq)) < 0) {
        host->set_error(obj, "msix_bind_eventfd: %s", strerror(-r));
        return r;
    }
    if (t->use_ioeventfd &&
        ((r = add_ioeventfd(t, 0, 0, 0x0c, 4, 1, t->efd_irq)) < 0 ||
         (r = add_ioeventfd(t, 1, 0, 0x0c, 4, 2, t->efd_count)) < 0 ||
         (r = add_ioeventfd(t, 2, 4, 0x04, 2, 3, t->efd_count)) < 0))
        return r;
    if ((r = host->events->fd_watch_add(obj, t->efd_count, TS_FD_READABLE, count_watch, t, &t->watch)) < 0)
        return r;
    if ((r = host->events->timer_add(obj, timer_fired, t, &t->timer)) < 0)
        return r;
    if (host->prop_is_set(obj, "port") &&
        (r = host->io->region_add(obj, TS_IO_PIO, (uint64_t)host->prop_int(obj, "port"), 4, &fixed_ops, t,
                                  &t->fixed[0])) < 0)
        return r;
    if (host->prop_is_set(obj, "mmio") &&
        (r = host->io->region_add(obj, TS_IO_MMIO, host->prop_size(obj, "mmio"), 16, &fixed_ops, t,
                                  &t->fixed[1])) < 0)
        return r;
    if (host->prop_is_set(obj, "chardev")) {
        ts_chardev *chr = TS_HOST_HAS(host, chardev) ? host->chardev->get(obj, "chardev") : NULL;
        if (!chr)
            return -ENOENT;
        if (host->chardev->write(chr, "pci-testdev up\n", 15) != 15) {
            host->set_error(obj, "cannot write to chardev '%s'", host->chardev->id(chr));
            return -EIO;
        }
    }
    return 0;
}

static void testdev_reset(ts_object *obj, void *state)
{
    testdev *t = state;
    t->scratch = t->slow = t->watched = t->cfg60 = t->io_scratch = 0;
    t->last_notify = t->dma_result = 0;
    t->dma_addr = 0;
    host->events->timer_stop(t->timer);
}

static void testdev_unrealize(ts_object *obj, void *state)
{
    testdev *t = state;
    for (unsigned i = 0; i < 3; i++)
        host->events->ioeventfd_remove(t->ioev[i]);
    host->pci->msix_unbind_eventfd(t->pci, t->irq_vector);
    host->events->fd_watch_remove(t->watch);
    host->events->timer_remove(t->timer);
    host->io->region_remove(t->fixed[0]); /* fixed[1] is left to the host on purpose (tests) */
    if (t->memdev)
        host->memory_backend_release(t->memdev, obj);
}

static void testdev_destroy(ts_object *obj, void *state)
{
    testdev *t = state;
    /* realize may have failed half-way: the host released its registrations; close our fds. */
    if (t->efd_irq >= 0)
        close(t->efd_irq);
    if (t->efd_count >= 0)
        close(t->efd_count);
    free(t);
}

static const ts_prop_desc testdev_props[] = {
    TS_PROP_DESC_INT("vectors", 0, "2", 1, 128, "number of MSI-X vectors"),
    TS_PROP_DESC_BOOL("ioeventfd", 0, "on", "doorbells through ioeventfds"),
    TS_PROP_DESC_INT("pin", 0, "0", 0, 4, "INTx pin (0 none, 1..4 INTA..INTD)"),
    TS_PROP_DESC_REF("memdev", 0, TS_REF_MEMORY_BACKEND, "memory backend for the RAM BAR (BAR2)"),
    TS_PROP_DESC_REF("chardev", 0, TS_REF_CHARDEV, "chardev to greet in realize"),
    TS_PROP_DESC_INT("port", 0, NULL, 0, 0xffff, "also claim 4 fixed ports here (ts_io_api)"),
    TS_PROP_DESC_SIZE("mmio", 0, NULL, 0, 0, "also claim 16 bytes of MMIO here (ts_io_api)"),
    TS_PROP_DESC_END,
};

static const ts_device_ops testdev_ops = { .size = sizeof(ts_device_ops), .bus = TS_BUS_PCI };

static const ts_type_desc testdev_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_DEVICE,
    .name = "pci-testdev",
    .description = "PCI test device exercising the device services (tests only)",
    .props = testdev_props,
    .create = testdev_create,
    .realize = testdev_realize,
    .reset = testdev_reset,
    .unrealize = testdev_unrealize,
    .destroy = testdev_destroy,
    .kind_ops = &testdev_ops,
};

static const ts_type_desc *const testdev_types[] = { &testdev_type, NULL };

static int testdev_init(const ts_host_api *h)
{
    host = h;
    return 0;
}

static const ts_plugin_desc testdev_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "pci-testdev",
    .version = "1.0.0",
    .license = "MIT",
    .description = "PCI test device for the core's tests",
    .types = testdev_types,
    .init = testdev_init,
};

TS_PLUGIN_DEFINE(testdev_plugin)
