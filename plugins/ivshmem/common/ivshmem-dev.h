/* SPDX-License-Identifier: MIT */
/*
 * What the ivshmem-plain and ivshmem-doorbell plugins share: the guest-visible register
 * model (BAR0), the peer table (eventfds of every peer, by ID and vector), the device's end
 * of the server connection (handshake with a deadline, then run-time peer changes), the
 * master/peer role rules and the checks on the shared memory.
 *
 * Built as a static library linked into each plugin (every symbol stays hidden in its .so).
 * Only ivshmem_memdev_*, ivshmem_role_* and ivshmem_pci_add touch the SDK; the rest is plain
 * POSIX so that it can be unit-tested and fuzzed without a host.
 *
 * Threads: ivshmem_regs_* and ivshmem_peers_ring run on vCPU threads; everything else runs on
 * the main thread. The peer table has its own lock, so a doorbell trapped on a vCPU never
 * writes to an eventfd that the main loop is closing.
 */
#ifndef TESSERA_IVSHMEM_DEV_H
#define TESSERA_IVSHMEM_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ivshmem-proto.h"
#include "tessera/tessera.h"

/* ---- PCI identity (docs/ivshmem.md, "What the guest sees") ---------------------------- */

#define IVSHMEM_PCI_VENDOR_ID 0x1af4
#define IVSHMEM_PCI_DEVICE_ID 0x1110
#define IVSHMEM_PCI_REVISION 1
#define IVSHMEM_PCI_CLASS 0x050000 /* memory controller, RAM: class 05, subclass 00, prog-if 00 */
#define IVSHMEM_PCI_SUBSYS_VENDOR_ID 0x1af4
#define IVSHMEM_PCI_SUBSYS_ID 0x1100

#define IVSHMEM_REG_BAR 0
#define IVSHMEM_MSIX_BAR 1
#define IVSHMEM_SHM_BAR 2

/* ---- BAR0 registers ------------------------------------------------------------------- */

#define IVSHMEM_REG_BAR_SIZE 0x100
#define IVSHMEM_REG_INTRMASK 0
#define IVSHMEM_REG_INTRSTATUS 4
#define IVSHMEM_REG_IVPOSITION 8
#define IVSHMEM_REG_DOORBELL 12

/* Most vectors a doorbell device may have (the MSI-X limit). */
#define IVSHMEM_MAX_VECTORS 2048

/*
 * The register file. IntrMask and IntrStatus are plain storage in revision 1 (no INTx);
 * IntrStatus clears when read, as in QEMU. IVPosition is the device's peer ID (0 for plain).
 */
struct ivshmem_regs {
    uint32_t intrmask;   /* accessed atomically: vCPUs may race */
    uint32_t intrstatus; /* accessed atomically: read-to-clear must not lose a write */
    uint32_t ivposition; /* set once before the guest runs */
};

/* Power-on state: IntrMask = IntrStatus = 0; IVPosition is the given ID. */
void ivshmem_regs_init(struct ivshmem_regs *r, uint16_t ivposition);
/* Guest reset: IntrMask = IntrStatus = 0; IVPosition keeps its value. */
void ivshmem_regs_reset(struct ivshmem_regs *r);

/*
 * A guest read of size bytes (1, 2, 4 or 8) at offset within BAR0. Registers are 32-bit
 * little-endian; QEMU's rules are kept: an access is widened to the 32-bit register that
 * holds it and narrowed back, an 8-byte access is two 32-bit accesses, unaligned or unknown
 * offsets read 0, Doorbell reads 0. Reading IntrStatus clears it.
 */
uint64_t ivshmem_regs_read(struct ivshmem_regs *r, uint64_t offset, unsigned size);

/*
 * A guest write. Returns the number of doorbell values written (0 or 1) and stores it in
 * *doorbell; the caller rings. Writes to IVPosition and to reserved offsets are ignored; the
 * register is chosen by offset & 0xfc as in QEMU, and a narrower write stores the value
 * zero-extended.
 */
int ivshmem_regs_write(struct ivshmem_regs *r, uint64_t offset, unsigned size, uint64_t value,
                       uint32_t *doorbell);

/*
 * The doorbell word: bits 16..31 the destination peer, bits 0..15 the vector. QEMU's trapped
 * path keeps only bits 0..7 of the vector; we keep all 16 as the specification says, which is
 * also what the ioeventfd datamatch (peer << 16 | vector) sees, so both paths agree.
 */
static inline uint16_t ivshmem_doorbell_peer(uint32_t v) { return (uint16_t)(v >> 16); }
static inline uint16_t ivshmem_doorbell_vector(uint32_t v) { return (uint16_t)(v & 0xffff); }
static inline uint32_t ivshmem_doorbell_value(uint16_t peer, uint16_t vector)
{
    return (uint32_t)peer << 16 | vector;
}

/* ---- The peer table ------------------------------------------------------------------- */

struct ivshmem_peer {
    int *fds;       /* fds[v] rings vector v of this peer, -1 where unknown */
    uint16_t nb;    /* length of fds in use (highest known vector + 1) */
    uint16_t cap;   /* allocated length of fds */
};

/*
 * Every peer's eventfds, indexed by peer ID (0..65535) and vector (0..max_vectors-1). The
 * table owns the fds it holds. Memory grows with what the server actually sent, so a server
 * announcing huge IDs or many vectors costs at most one slot per fd received.
 */
struct ivshmem_peers {
    pthread_mutex_t lock;
    struct ivshmem_peer *peer; /* indexed by ID */
    size_t len;                /* entries allocated in peer[] */
    unsigned max_vectors;      /* vectors of this device: larger vectors are refused */
    size_t fd_count;           /* fds held, for tests and the leak check */
};

/* Called for an fd about to leave the table (before it is closed). */
typedef void ivshmem_peer_fd_fn(void *opaque, uint16_t id, unsigned vector, int fd);

int ivshmem_peers_init(struct ivshmem_peers *p, unsigned max_vectors);
/* Closes every fd (calling each for it first when not NULL) and frees the table. */
void ivshmem_peers_destroy(struct ivshmem_peers *p, ivshmem_peer_fd_fn *each, void *opaque);

/*
 * Stores fd as vector of peer id; the table owns it from now on in every case. Returns 0,
 * -ERANGE (vector >= max_vectors: fd closed), -EEXIST (the slot is taken: fd closed, the
 * old one kept) or -ENOMEM (fd closed).
 */
int ivshmem_peers_set(struct ivshmem_peers *p, uint16_t id, unsigned vector, int fd);
/* Removes and closes one slot (each is called first). Returns 0 or -ENOENT. */
int ivshmem_peers_drop(struct ivshmem_peers *p, uint16_t id, unsigned vector,
                       ivshmem_peer_fd_fn *each, void *opaque);
/* Removes and closes every fd of peer id (each is called for each first). Returns the count. */
unsigned ivshmem_peers_remove(struct ivshmem_peers *p, uint16_t id, ivshmem_peer_fd_fn *each,
                              void *opaque);
/* Calls fn for every fd held, in ID then vector order, without removing anything. */
void ivshmem_peers_foreach(struct ivshmem_peers *p, ivshmem_peer_fd_fn *fn, void *opaque);
/* Number of vectors known for id (highest known + 1; 0 for an unknown peer). */
unsigned ivshmem_peers_vectors(struct ivshmem_peers *p, uint16_t id);
/* The fd of (id, vector) or -1. Only for the main thread: the fd may close once unlocked. */
int ivshmem_peers_fd(struct ivshmem_peers *p, uint16_t id, unsigned vector);

/*
 * Rings (id, vector) — the trapped doorbell path, any thread. Returns 0, -ENOENT when the
 * peer or vector is not known (the doorbell is ignored, as the spec says), or -errno of the
 * write.
 */
int ivshmem_peers_ring(struct ivshmem_peers *p, uint16_t id, unsigned vector);

/* ---- The device's connection to an ivshmem server ------------------------------------- */

/* What the device does when the table changes at run time (main thread). */
struct ivshmem_link_ops {
    /*
     * A vector of a peer (own: of this device) arrived and is in the table. A negative
     * return (e.g. the ioeventfd could not be registered) drops it again with a warning.
     */
    int (*vector_added)(void *opaque, uint16_t id, unsigned vector, int fd, bool own);
    /* A vector is about to be closed: its peer left, or the device goes away. */
    void (*vector_removed)(void *opaque, uint16_t id, unsigned vector, int fd, bool own);
    /* A warning or notice for the log (one line, no newline). level: TS_LOG_*. */
    void (*log)(void *opaque, int level, const char *msg);
};

/* How many warnings one link logs before it only counts them (a flooding server). */
#define IVSHMEM_LINK_WARNING_LIMIT 16
/* Messages one ivshmem_link_service call handles before giving the main loop back. */
#define IVSHMEM_LINK_SERVICE_BUDGET 256

enum ivshmem_link_state {
    IVSHMEM_LINK_HANDSHAKE, /* before ivshmem_link_handshake succeeded */
    IVSHMEM_LINK_OPEN,      /* handshake done; the socket is read for peer changes */
    IVSHMEM_LINK_CLOSED,    /* server gone or protocol broken: peers stay as they are */
};

struct ivshmem_link {
    int sock;                  /* borrowed from the chardev: never closed here */
    unsigned vectors;          /* this device's vector count */
    enum ivshmem_link_state state;
    struct ivshmem_msg_reader reader;
    struct ivshmem_session session;
    struct ivshmem_peers peers;
    int64_t own_id;            /* -1 until the server sent it */
    int shm_fd;                /* owned until taken with ivshmem_link_take_shm */
    uint64_t shm_size;
    const struct ivshmem_link_ops *ops; /* NULL until ivshmem_link_start */
    void *opaque;
    unsigned warnings;         /* warnings seen (logged or not) */
    uint64_t messages;         /* messages handled */
    char error[256];           /* why the handshake failed, or why the link closed */
    bool live;                 /* between ivshmem_link_init and ivshmem_link_destroy */
    bool closed_by_violation;  /* CLOSED because the server broke the protocol (not EOF) */
};

/*
 * Prepares a link on a connected UNIX stream socket (which is made non-blocking; the caller
 * keeps owning it). vectors: 1..IVSHMEM_MAX_VECTORS. Returns 0 or -errno.
 */
int ivshmem_link_init(struct ivshmem_link *l, int sock, unsigned vectors);

/*
 * Reads the server's setup messages until the shared memory has arrived (version, ID, shm,
 * and any peer vectors the server sends before or right after the shm that are already in the
 * socket). Fails after timeout_ms (-ETIMEDOUT; the call may be repeated to go on waiting), on
 * EOF, on every protocol violation before the shared memory and on a shared memory whose size
 * is not a power of two, with l->error set to one line. Messages already there after the
 * shared memory are handled as the main loop would: EOF or a violation among them closes the
 * link (reported at ivshmem_link_start) but the handshake succeeds. Peer and own vectors seen
 * go into l->peers; no ops are called. Returns 0 or -errno (-ETIMEDOUT, -EPROTO,
 * -ECONNRESET, -ENOMEM, -EIO).
 */
int ivshmem_link_handshake(struct ivshmem_link *l, int timeout_ms);

/* From now on, table changes call ops (run-time peer connect and disconnect). */
void ivshmem_link_start(struct ivshmem_link *l, const struct ivshmem_link_ops *ops,
                        void *opaque);

/*
 * Handles what the socket has (call when it is readable): up to `budget` messages. Returns
 * true while the socket should still be watched, false once the link is CLOSED (the server
 * went away — not an error for the VM — or broke the protocol: l->error says which, and it
 * was logged). Peers known so far stay usable in both cases.
 */
bool ivshmem_link_service(struct ivshmem_link *l, unsigned budget);

/* The shared memory fd, handed over to the caller (-1 when none or already taken). */
int ivshmem_link_take_shm(struct ivshmem_link *l);

/*
 * Closes every eventfd (calling ops->vector_removed when started) and the shm fd if held.
 * Safe to call after a failed ivshmem_link_init and more than once.
 */
void ivshmem_link_destroy(struct ivshmem_link *l);

/* True when fd is an eventfd (what a server must send for vectors). */
bool ivshmem_fd_is_eventfd(int fd);

/* ---- Roles (migration) ---------------------------------------------------------------- */

/* Values of the `master` property, in the order of ivshmem_master_values. */
enum ivshmem_master_prop { IVSHMEM_MASTER_OFF = 0, IVSHMEM_MASTER_ON = 1, IVSHMEM_MASTER_AUTO = 2 };
extern const char *const ivshmem_master_values[];

/*
 * What migration must do with this device: a master's shared memory migrates with it; a
 * peer blocks migration ("peer mode" in QEMU's words).
 */
enum ivshmem_role { IVSHMEM_ROLE_PEER = 0, IVSHMEM_ROLE_MASTER = 1 };

/*
 * Resolves the `master` property for a device whose ID is id (0 for plain). on requires
 * ID 0 ("master must connect to the server before any peers"), auto means master when the ID
 * is 0. Returns 0 with *role set, or -EINVAL with err (one line) filled.
 */
int ivshmem_role_resolve(enum ivshmem_master_prop master, int64_t id, enum ivshmem_role *role,
                         char *err, size_t err_len);
const char *ivshmem_role_name(enum ivshmem_role role);

/* ---- Shared memory checks ------------------------------------------------------------- */

/* True when size is a non-zero power of two (what a PCI BAR can be). */
bool ivshmem_size_is_pow2(uint64_t size);
/* "1M", "4G", "3145728": the shortest exact text of a byte count. */
const char *ivshmem_size_text(uint64_t bytes, char buf[32]);

/*
 * The memdev checks of ivshmem-plain: claims backend for dev (a backend in use by another
 * device is refused; the host's error names both), fetches its region, refuses a size that is
 * not a power of two, and warns (once, through the host's log) when the backend is not
 * shared — it still works, as in QEMU, but no other process sees the memory. On success the
 * claim stays held (give it back with host->memory_backend_release). Returns 0 or -errno
 * with the error set on dev.
 */
int ivshmem_memdev_attach(const ts_host_api *host, ts_object *dev, ts_object *backend,
                          ts_memory_region *region);

/* ---- The PCI function and the plugin ------------------------------------------------- */

/*
 * Adds dev's PCI function as QEMU shows it: the ivshmem identity, BAR0 registers trapped to
 * reg_ops (with reg_opaque), BAR1 for MSI-X of msix_bar_size bytes (0: no BAR1, as on
 * ivshmem-plain) and shm as BAR2 (64-bit, prefetchable). Returns 0 or -errno.
 */
int ivshmem_pci_add(const ts_host_api *host, ts_object *dev, const ts_io_ops *reg_ops,
                    void *reg_opaque, uint64_t msix_bar_size, const ts_memory_region *shm,
                    ts_pci_dev **pci);

/*
 * Defines the plugin ivshmem-PREFIX: its one PCI device type, also named ivshmem-PREFIX and
 * described by type_help, and the entry point. The plugin provides prefix_props and the hooks
 * prefix_init, prefix_create, prefix_realize, prefix_reset, prefix_unrealize, prefix_destroy.
 */
#define IVSHMEM_PLUGIN_DEFINE(prefix, type_help)                                         \
    static const ts_device_ops prefix##_device_ops = {                                   \
        .size = sizeof(ts_device_ops),                                                   \
        .bus = TS_BUS_PCI,                                                               \
    };                                                                                   \
    static const ts_type_desc prefix##_type = {                                          \
        .size = sizeof(ts_type_desc),                                                    \
        .kind = TS_KIND_DEVICE,                                                          \
        .name = "ivshmem-" #prefix,                                                      \
        .description = type_help,                                                        \
        .props = prefix##_props,                                                         \
        .create = prefix##_create,                                                       \
        .realize = prefix##_realize,                                                     \
        .reset = prefix##_reset,                                                         \
        .unrealize = prefix##_unrealize,                                                 \
        .destroy = prefix##_destroy,                                                     \
        .kind_ops = &prefix##_device_ops,                                                \
    };                                                                                   \
    static const ts_type_desc *const prefix##_types[] = { &prefix##_type, NULL };        \
    static const ts_plugin_desc prefix##_plugin = {                                      \
        TS_PLUGIN_DESC_HEAD,                                                             \
        .name = "ivshmem-" #prefix,                                                      \
        .version = "1.0.0",                                                              \
        .license = "MIT",                                                                \
        .description = "QEMU-compatible ivshmem-" #prefix " device",                     \
        .types = prefix##_types,                                                         \
        .init = prefix##_init,                                                           \
    };                                                                                   \
    TS_PLUGIN_DEFINE(prefix##_plugin)

#endif
