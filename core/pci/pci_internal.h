/* SPDX-License-Identifier: MIT */
/* What the files of core/pci/ share: the host, function, BAR and MSI-X structures. */
#ifndef TESSERA_CORE_PCI_INTERNAL_H
#define TESSERA_CORE_PCI_INTERNAL_H

#include "pci/pci.h"

#define PCI_CFG_SIZE 256u
#define PCI_NUM_BARS 6u

/* Standard header offsets and bits used here. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_START 0x40

#define PCI_COMMAND_INTX_DISABLE 0x0400u
#define PCI_COMMAND_WRITABLE 0x0547u /* IO, MEMORY, MASTER, PARITY, SERR, INTX_DISABLE */
#define PCI_STATUS_CAP_LIST 0x0010u
#define PCI_STATUS_INTERRUPT 0x0008u
#define PCI_STATUS_W1C 0xf900u
#define PCI_CAP_ID_MSIX 0x11

#define PCI_MSIX_ENTRY_SIZE 16u
#define PCI_MSIX_MAX_VECTORS 2048u
#define PCI_MSIX_FLAGS_ENABLE 0x8000u
#define PCI_MSIX_FLAGS_MASKALL 0x4000u
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1u

typedef struct pci_bar {
    pci_function *fn;
    unsigned index;
    bool present;
    uint32_t type;  /* TS_PCI_BAR_* */
    uint32_t flags; /* TS_PCI_BAR_PREFETCHABLE */
    uint64_t size;
    const ts_io_ops *ops;
    void *opaque;
    bool is_ram;
    ts_memory_region ram;
    uint64_t placed; /* where the VMM put it (the reset value) */
    /* Current mapping. */
    bool mapped;
    uint64_t addr;
    bool slot_valid; /* RAM BARs: mapped as a memory slot (else served by the bus handler) */
    bool map_warned; /* the platform refused a memory slot once (reported) */
    uint32_t slot;
    char owner[96];
} pci_bar;

typedef struct msix_vector {
    struct pci_function *fn;
    uint32_t index;
    bool pending;
    int fd;         /* bound eventfd or -1 */
    bool irqfd;     /* fd is bound as an irqfd right now */
    bool route;     /* a platform MSI route exists */
    uint32_t gsi;
    GSource *watch; /* main-loop watch on fd while it is not an irqfd */
} msix_vector;

typedef struct pci_msix {
    uint32_t n;
    uint8_t cap;
    unsigned table_bar, pba_bar;
    uint32_t table_off, pba_off;
    uint32_t table_len, pba_len;
    uint8_t *table; /* n * 16 bytes, little-endian as the guest sees it */
    msix_vector *v;
} pci_msix;

/* An ioeventfd registered by a device (ts_ioeventfd of the SDK). */
struct ts_ioeventfd {
    struct devctx *ctx;
    uint32_t where;
    pci_function *fn; /* TS_IOEVENTFD_BAR */
    unsigned bar;
    uint64_t addr;
    unsigned len;
    bool has_datamatch;
    uint64_t datamatch;
    int fd;
    /* Installed in the platform (KVM) right now at: */
    bool installed;
    bool inst_pio;
    uint64_t inst_addr;
};

struct pci_function {
    pci_host *host;
    uint8_t devfn;
    char *name; /* "TYPE 'ID' at SS.F" for messages */
    ts_object *obj;
    bool live; /* visible to the guest */
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];
    uint8_t w1cmask[PCI_CFG_SIZE];
    uint8_t reset_cfg[PCI_CFG_SIZE]; /* taken when the function goes live */
    uint8_t managed[PCI_CFG_SIZE];   /* 1: host-managed byte (config_set refuses it) */
    pci_bar bars[PCI_NUM_BARS];
    const ts_pci_config_ops *cfg_ops;
    void *cfg_opaque;
    pci_msix *msix;
    uint32_t next_cap; /* next free capability offset (dword-aligned; may reach 256) */
    uint8_t last_cap; /* offset of the last capability, or 0 */
    int intx_level;
    GPtrArray *bar_ioeventfds; /* ts_ioeventfd * on this function's BARs */
};

struct pci_host {
    pci_platform plat;
    GRecMutex lock;
    pci_function *fns[256];
    char *reserved[256]; /* owner of a reserved devfn not yet live */
    uint32_t config_address; /* 0xcf8 latch */
    uint64_t next_io, next_mmio32, next_mmio64, mmio64_base;
};

static inline void pci_lock(pci_host *h) { g_rec_mutex_lock(&h->lock); }
static inline void pci_unlock(pci_host *h) { g_rec_mutex_unlock(&h->lock); }

/* Little-endian config helpers (cfg arrays). */
static inline uint32_t pci_get_le(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static inline void pci_put_le(uint8_t *p, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* config.c */
pci_function *pci_function_new(pci_host *h, uint8_t devfn, ts_object *obj, const char *name);
void pci_function_set_identity(pci_function *fn, const ts_pci_identity *id);
/* Makes the function visible and snapshots its reset state. */
void pci_function_go_live(pci_function *fn);
/* Removes it from the host and frees it (unmaps, unbinds, removes ioeventfds). */
void pci_function_free(pci_function *fn);
uint32_t pci_function_config_read(pci_function *fn, uint32_t off, unsigned size);
void pci_function_config_write(pci_function *fn, uint32_t off, unsigned size, uint32_t val);
void pci_function_reset(pci_function *fn);
int pci_function_add_capability(pci_function *fn, uint8_t id, const void *data, uint8_t len,
                                const void *wmask, bool managed, GError **err);
void pci_function_update_intx(pci_function *fn);

/* bar.c */
int pci_bar_add(pci_function *fn, const ts_pci_bar_desc *d, GError **err);
/* Recomputes every BAR mapping of every function from config space. Lock held. */
void pci_host_update_mappings(pci_host *h);
void pci_function_unmap_all(pci_function *fn);
/* Where BAR index of fn decodes now, or TS_PCI_BAR_UNMAPPED. */
uint64_t pci_bar_current(pci_function *fn, unsigned index);
void pci_ioeventfd_install(ts_ioeventfd *e);
void pci_ioeventfd_uninstall(ts_ioeventfd *e);
/* A write the platform did not catch: signal a matching BAR ioeventfd. Returns true if one matched. */
bool pci_bar_soft_ioeventfd(pci_bar *bar, uint64_t off, uint64_t val, unsigned len);

/* msix.c */
int pci_msix_init(pci_function *fn, uint32_t n, unsigned table_bar, uint32_t table_off,
                  unsigned pba_bar, uint32_t pba_off, GError **err);
void pci_msix_free(pci_function *fn);
void pci_msix_reset(pci_function *fn);
/* Config space around the capability changed (enable, function mask). Lock held. */
void pci_msix_config_changed(pci_function *fn);
/* Does [off, off + len) of BAR index touch the table or PBA? */
bool pci_msix_claims(pci_function *fn, unsigned bar, uint64_t off, unsigned len);
void pci_msix_bar_access(pci_function *fn, unsigned bar, uint64_t off, uint8_t *data,
                         unsigned len, bool is_write);
int pci_msix_notify(pci_function *fn, uint32_t vector);
bool pci_msix_enabled(pci_function *fn);
bool pci_msix_masked(pci_function *fn, uint32_t vector);
bool pci_msix_pending(pci_function *fn, uint32_t vector);
int pci_msix_bind(pci_function *fn, uint32_t vector, int fd);
void pci_msix_unbind(pci_function *fn, uint32_t vector);

#endif
