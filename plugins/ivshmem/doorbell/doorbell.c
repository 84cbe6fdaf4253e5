/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-doorbell: shared memory from an ivshmem server plus doorbells between the peers
 * connected to it, compatible with QEMU's device and server protocol.
 *
 * Realize connects through the chardev's UNIX socket, completes the server handshake with a
 * deadline (the guest never sees the device half set up), maps the server's memory as BAR2
 * (zero copy) and wires the eventfds:
 *   - ringing a peer: one ioeventfd per (peer, vector) on the Doorbell register with
 *     datamatch peer << 16 | vector, so KVM signals the peer's eventfd without a VMM exit;
 *     other doorbell values (and everything with ioeventfd=off) trap and are rung here, or
 *     ignored when the peer or vector is unknown;
 *   - being rung: each of our own eventfds bound to its MSI-X vector (irqfd while unmasked,
 *     the PBA pending bit while masked, dropped while MSI-X is off — all done by the host).
 * Afterwards the server socket is watched on the main loop for peers coming and going. The
 * server going away is logged and otherwise ignored: known peers stay reachable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib.h>

#include "ivshmem-dev.h"
#include "tessera/tessera.h"

/* How long realize waits for the server's setup messages. QEMU waits forever. */
#define DOORBELL_HANDSHAKE_TIMEOUT_MS 10000
#define HUGETLBFS_MAGIC_NUMBER 0x958458f6

static const ts_host_api *host;

typedef struct ivshmem_doorbell {
    ts_object *obj;
    uint32_t master;        /* enum ivshmem_master_prop */
    enum ivshmem_role role; /* recorded for migration: a peer blocks it, a master's memory moves */
    int64_t vectors;
    bool use_ioeventfd;
    ts_chardev *chr;
    struct ivshmem_link link;
    ts_fd_watch *watch;
    void *shm;              /* the server's memory, mapped shared */
    uint64_t shm_size;
    int shm_fd;
    ts_memory_region region;
    ts_pci_dev *pci;
    struct ivshmem_regs regs;
    GHashTable *ioeventfds;   /* peer << 16 | vector -> ts_ioeventfd * */
    bool ioeventfd_fallback;  /* an ioeventfd failed once: that doorbell traps instead */
    uint64_t ignored_doorbells; /* trapped doorbells to unknown peers/vectors (atomic) */
} ivshmem_doorbell;

/* In QEMU's order (alphabetical), so that "-device ivshmem-doorbell,help" reads the same. */
static const ts_prop_desc doorbell_props[] = {
    TS_PROP_DESC_REF("chardev", TS_PROP_REQUIRED, TS_REF_CHARDEV,
                     "ID of a socket chardev connected to the ivshmem server"),
    TS_PROP_DESC_BOOL("ioeventfd", 0, "on",
                      "handle doorbell writes in the kernel (KVM ioeventfd)"),
    TS_PROP_DESC_ENUM("master", 0, "off", ivshmem_master_values,
                      "on/off/auto: master (memory migrates; needs ID 0) or peer (blocks migration)"),
    TS_PROP_DESC_INT("vectors", 0, "1", 0, UINT32_MAX, "number of MSI-X vectors (1..2048)"),
    TS_PROP_DESC_END,
};

/* ---- BAR0 (vCPU threads) ---------------------------------------------------------------- */

static uint64_t doorbell_reg_read(void *opaque, uint64_t offset, unsigned size)
{
    ivshmem_doorbell *d = opaque;
    return ivshmem_regs_read(&d->regs, offset, size);
}

static void doorbell_reg_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    ivshmem_doorbell *d = opaque;
    uint32_t db;

    if (!ivshmem_regs_write(&d->regs, offset, size, value, &db))
        return;
    /* Unknown peer or vector: ignored, as the spec says (the guest cannot tell). */
    if (ivshmem_peers_ring(&d->link.peers, ivshmem_doorbell_peer(db),
                           ivshmem_doorbell_vector(db)) < 0)
        __atomic_fetch_add(&d->ignored_doorbells, 1, __ATOMIC_RELAXED);
}

static const ts_io_ops doorbell_reg_ops = {
    .size = sizeof(ts_io_ops),
    .read = doorbell_reg_read,
    .write = doorbell_reg_write,
};

/* ---- peer table changes (main thread) --------------------------------------------------- */

static void *ioeventfd_key(uint16_t id, unsigned vector)
{
    return GUINT_TO_POINTER(ivshmem_doorbell_value(id, (uint16_t)vector));
}

static int doorbell_vector_added(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    ivshmem_doorbell *d = opaque;
    int r;

    if (own && (r = host->pci->msix_bind_eventfd(d->pci, vector, fd)) < 0)
        return r;
    if (d->use_ioeventfd) {
        const ts_ioeventfd_desc desc = {
            .size = sizeof(desc),
            .where = TS_IOEVENTFD_BAR,
            .pci = d->pci,
            .bar = IVSHMEM_REG_BAR,
            .len = 4,
            .addr = IVSHMEM_REG_DOORBELL,
            .flags = TS_IOEVENTFD_DATAMATCH,
            .fd = fd,
            .datamatch = ivshmem_doorbell_value(id, (uint16_t)vector),
        };
        ts_ioeventfd *ioe = NULL;
        if ((r = host->events->ioeventfd_add(d->obj, &desc, &ioe)) == 0) {
            g_hash_table_insert(d->ioeventfds, ioeventfd_key(id, vector), ioe);
        } else if (!d->ioeventfd_fallback) {
            /* Still correct, only slower: the write traps and is rung from BAR0's handler. */
            d->ioeventfd_fallback = true;
            host->log(d->obj, TS_LOG_WARN, "ioeventfd for peer %u vector %u failed (%s); such"
                      " doorbells are handled by the VMM instead", id, vector, strerror(-r));
        }
    }
    return 0;
}

static void doorbell_vector_removed(void *opaque, uint16_t id, unsigned vector, int fd, bool own)
{
    ivshmem_doorbell *d = opaque;
    void *key = ioeventfd_key(id, vector);
    ts_ioeventfd *ioe = g_hash_table_lookup(d->ioeventfds, key);

    /* Both before the fd closes: KVM must stop signalling it, the host stop watching it. */
    if (ioe) {
        host->events->ioeventfd_remove(ioe);
        g_hash_table_remove(d->ioeventfds, key);
    }
    if (own)
        host->pci->msix_unbind_eventfd(d->pci, vector);
}

static void doorbell_link_log(void *opaque, int level, const char *msg)
{
    ivshmem_doorbell *d = opaque;
    host->log(d->obj, level, "%s", msg);
}

static const struct ivshmem_link_ops doorbell_link_ops = {
    .vector_added = doorbell_vector_added,
    .vector_removed = doorbell_vector_removed,
    .log = doorbell_link_log,
};

static void doorbell_server_ready(void *opaque, int fd, uint32_t events)
{
    ivshmem_doorbell *d = opaque;

    if (!ivshmem_link_service(&d->link, IVSHMEM_LINK_SERVICE_BUDGET)) {
        host->events->fd_watch_remove(d->watch);
        d->watch = NULL;
    }
}

/* ---- lifecycle -------------------------------------------------------------------------- */

#define SUB_HAS(tbl, m) \
    ((tbl) && (tbl)->size >= offsetof(__typeof__(*(tbl)), m) + sizeof((tbl)->m) && (tbl)->m)

static int doorbell_init(const ts_host_api *h)
{
    if (!TS_HOST_HAS(h, pci) || !TS_HOST_HAS(h, events) || !TS_HOST_HAS(h, chardev))
        return -ENOTSUP;
    if (!SUB_HAS(h->pci, function_add) || !SUB_HAS(h->pci, bar_add) ||
        !SUB_HAS(h->pci, msix_init) || !SUB_HAS(h->pci, msix_bind_eventfd) ||
        !SUB_HAS(h->pci, msix_unbind_eventfd) || !SUB_HAS(h->events, ioeventfd_add) ||
        !SUB_HAS(h->events, ioeventfd_remove) || !SUB_HAS(h->events, fd_watch_add) ||
        !SUB_HAS(h->events, fd_watch_remove) || !SUB_HAS(h->chardev, get) ||
        !SUB_HAS(h->chardev, id) || !SUB_HAS(h->chardev, socket_fd))
        return -ENOTSUP;
    host = h;
    return 0;
}

static int doorbell_create(ts_object *obj, void **state)
{
    ivshmem_doorbell *d = calloc(1, sizeof(*d));

    if (!d)
        return -ENOMEM;
    d->obj = obj;
    d->master = host->prop_enum(obj, "master");
    d->vectors = host->prop_int(obj, "vectors");
    d->use_ioeventfd = host->prop_bool(obj, "ioeventfd");
    d->shm_fd = -1;
    d->ioeventfds = g_hash_table_new(g_direct_hash, g_direct_equal);
    *state = d;
    return 0;
}

/*
 * The MSI-X BAR as QEMU lays it out: 4 KiB with the table at 0 and the PBA at 2 KiB for up
 * to 128 vectors; beyond that the PBA follows the table and the BAR grows to a power of two.
 */
static void msix_layout(uint32_t n, uint64_t *bar_size, uint32_t *pba_offset)
{
    uint32_t table = n * 16, pba_len = (n + 63) / 64 * 8;
    uint64_t size = 4096;

    *pba_offset = table > 2048 ? table : 2048;
    if (*pba_offset + pba_len > size) {
        size = 1;
        while (size < (uint64_t)*pba_offset + pba_len)
            size <<= 1;
    }
    *bar_size = size;
}

/* Maps the server's memory; page size from the file system (hugetlbfs or not). */
static int map_shared_memory(ivshmem_doorbell *d)
{
    struct statfs fs;
    char buf[32];

    d->shm_fd = ivshmem_link_take_shm(&d->link);
    d->shm_size = d->link.shm_size;
    d->shm = mmap(NULL, d->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->shm_fd, 0);
    if (d->shm == MAP_FAILED) {
        int r = -errno;
        d->shm = NULL;
        host->set_error(d->obj, "cannot map the %s bytes of shared memory sent by the ivshmem"
                        " server: %s", ivshmem_size_text(d->shm_size, buf), strerror(-r));
        return r;
    }
    memset(&d->region, 0, sizeof(d->region));
    d->region.host = d->shm;
    d->region.size = d->shm_size;
    d->region.fd = d->shm_fd;
    d->region.flags = TS_MEM_SHARED;
    d->region.page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    if (fstatfs(d->shm_fd, &fs) == 0 && (unsigned long)fs.f_type == HUGETLBFS_MAGIC_NUMBER) {
        d->region.flags |= TS_MEM_HUGETLB;
        d->region.page_size = (uint64_t)fs.f_bsize;
    }
    return 0;
}

static int add_function(ivshmem_doorbell *d)
{
    uint64_t msix_bar_size;
    uint32_t pba_offset;
    int r;

    msix_layout((uint32_t)d->vectors, &msix_bar_size, &pba_offset);
    if ((r = ivshmem_pci_add(host, d->obj, &doorbell_reg_ops, d, msix_bar_size, &d->region,
                             &d->pci)) < 0)
        return r;
    r = host->pci->msix_init(d->pci, (uint32_t)d->vectors, IVSHMEM_MSIX_BAR, 0,
                             IVSHMEM_MSIX_BAR, pba_offset);
    return r < 0 ? r : 0;
}

/* Undoes what realize set up, in an order that keeps nothing dangling (main thread). */
static void doorbell_teardown(ivshmem_doorbell *d)
{
    /* First stop reading the server, so no message can touch the state freed below. */
    if (d->watch)
        host->events->fd_watch_remove(d->watch);
    d->watch = NULL;
    /* Unregisters each ioeventfd and MSI-X binding, then closes the eventfds. */
    ivshmem_link_destroy(&d->link);
    g_hash_table_remove_all(d->ioeventfds);
}

static int doorbell_realize(ts_object *obj, void *state)
{
    ivshmem_doorbell *d = state;
    const char *chr_id;
    char err[200];
    int sock, r;

    if (d->vectors < 1 || d->vectors > IVSHMEM_MAX_VECTORS) {
        host->set_error(obj, "Failed to initialize interrupts: The number of MSI-X vectors is"
                        " invalid (vectors=%" PRId64 "; 1..%d)", d->vectors, IVSHMEM_MAX_VECTORS);
        return -EINVAL;
    }
    if (!(d->chr = host->chardev->get(obj, "chardev")))
        return -EINVAL; /* the host recorded why */
    chr_id = host->chardev->id(d->chr);
    sock = host->chardev->socket_fd(d->chr);
    if (sock == -ENOTSOCK) {
        host->set_error(obj, "chardev '%s' is not a socket: ivshmem-doorbell needs a UNIX socket"
                        " connected to an ivshmem server", chr_id);
        return -EINVAL;
    }
    if (sock < 0) {
        host->set_error(obj, "chardev '%s' is not connected to an ivshmem server (%s)", chr_id,
                        strerror(-sock));
        return sock;
    }

    /* The server's setup, before the guest can see anything. */
    r = ivshmem_link_init(&d->link, sock, (unsigned)d->vectors);
    if (r == 0)
        r = ivshmem_link_handshake(&d->link, DOORBELL_HANDSHAKE_TIMEOUT_MS);
    if (r < 0) {
        host->set_error(obj, "ivshmem server on chardev '%s': %s", chr_id, d->link.error);
        goto fail;
    }
    if ((r = ivshmem_role_resolve(d->master, d->link.own_id, &d->role, err, sizeof(err))) < 0) {
        host->set_error(obj, "%s", err);
        goto fail;
    }
    ivshmem_regs_init(&d->regs, (uint16_t)d->link.own_id);
    if ((r = map_shared_memory(d)) < 0 || (r = add_function(d)) < 0)
        goto fail;

    /* From here on peers change at run time; what the handshake collected is wired now. */
    ivshmem_link_start(&d->link, &doorbell_link_ops, d);
    if (d->link.state == IVSHMEM_LINK_OPEN &&
        (r = host->events->fd_watch_add(obj, sock, TS_FD_READABLE, doorbell_server_ready, d,
                                        &d->watch)) < 0) {
        host->set_error(obj, "cannot watch the ivshmem server connection on chardev '%s': %s",
                        chr_id, strerror(-r));
        goto fail;
    }
    host->log(obj, TS_LOG_INFO, "ivshmem server on chardev '%s': ID %" PRId64 " (%s), %" PRIu64
              " bytes of shared memory, %" PRId64 " vectors, ioeventfd %s", chr_id,
              d->link.own_id, ivshmem_role_name(d->role), d->shm_size, d->vectors,
              d->use_ioeventfd ? "on" : "off");
    return 0;
fail:
    doorbell_teardown(d);
    return r;
}

static void doorbell_reset(ts_object *obj, void *state)
{
    ivshmem_doorbell *d = state;
    /* The host reset MSI-X (disabled, all masked, nothing pending); IVPosition stays. */
    ivshmem_regs_reset(&d->regs);
}

static void doorbell_unrealize(ts_object *obj, void *state)
{
    doorbell_teardown(state);
}

static void doorbell_destroy(ts_object *obj, void *state)
{
    ivshmem_doorbell *d = state;

    /* BAR2 stays mapped until unrealize has returned and the host removed the slot. */
    ivshmem_link_destroy(&d->link);
    if (d->shm)
        munmap(d->shm, d->shm_size);
    if (d->shm_fd >= 0)
        close(d->shm_fd);
    g_hash_table_destroy(d->ioeventfds);
    free(d);
}

IVSHMEM_PLUGIN_DEFINE(doorbell, "Inter-VM shared memory with doorbells (ivshmem server, MSI-X)")
