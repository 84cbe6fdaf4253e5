/* SPDX-License-Identifier: MIT */
/* What the testkit's files share: the machine and its fake platform. */
#ifndef TESSERA_TESTKIT_INTERNAL_H
#define TESSERA_TESTKIT_INTERNAL_H

#include <glib.h>

#include "bus/bus.h"
#include "chardev/chardev.h"
#include "config/machine.h"
#include "kvm/guest_memory.h"
#include "pci/devices.h"
#include "pci/pci.h"
#include "plugin/registry.h"
#include "tessera/testkit.h"

/* The fake KVM: MSI routes, irqfds, ioeventfds, memory slots, line levels, delivered MSIs. */
typedef struct fake_platform fake_platform;

fake_platform *fake_platform_new(GMainContext *ctx);
void fake_platform_free(fake_platform *fp);
const pci_platform_ops *fake_platform_ops(void);
/* A write that KVM would turn into an ioeventfd signal: signals and returns true. */
bool fake_ioeventfd_write(fake_platform *fp, bool pio, uint64_t addr, uint64_t value, unsigned len);
/* Host address of [gpa, gpa + len) when it lies inside one memory slot, else NULL. */
void *fake_slot_ptr(fake_platform *fp, uint64_t gpa, uint64_t len, bool write);
unsigned fake_msi_count(fake_platform *fp);
bool fake_msi_pop(fake_platform *fp, tk_msi *out);
void fake_msi_clear(fake_platform *fp);
int fake_irq_level(fake_platform *fp, uint32_t gsi);
unsigned fake_ioeventfd_count(fake_platform *fp);
unsigned fake_irqfd_count(fake_platform *fp);
unsigned fake_slot_count(fake_platform *fp);
bool fake_slot_at(fake_platform *fp, uint64_t gpa, uint64_t size);

struct tk_machine {
    GMainContext *ctx;
    void *ram_host;
    uint64_t ram_size;
    guest_memory gm;
    io_bus *pio, *mmio;
    fake_platform *fake;
    pci_platform plat;
    pci_host *host;
    GPtrArray *plugin_dirs;  /* char * */
    registry *reg;           /* created on first use */
    GPtrArray *specs;        /* char * "-object" / "-device" followed by its spec, pairwise */
    machine_desc *keep;      /* items of live objects and devices */
    GHashTable *objects;     /* id -> ts_object * (memory backends) */
    chardev_set *chardevs;   /* -chardev made with tk_chardev_add */
    GPtrArray *object_list;  /* ts_object *, creation order */
    GPtrArray *devices;      /* tk_device * */
    char *error;
};

struct tk_device {
    tk_machine *m;
    ts_object *obj;
    char *spec;
};

void tk_set_error(tk_machine *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* drive.c: closes m's drives and lets go of the block layer when m's registry serves it. */
void tk_drives_release(tk_machine *m);

#endif
