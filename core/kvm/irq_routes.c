/* SPDX-License-Identifier: MIT */
/* The GSI routing table: legacy PIC/IOAPIC entries, MSI routes, commits; see irq_routes.h. */
#include "kvm/irq_routes.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <pthread.h>
#include <string.h>

#define PIC_MASTER 0 /* KVM_IRQCHIP_PIC_MASTER */
#define PIC_SLAVE 1
#define PIC_CASCADE_IRQ 2

typedef struct msi_route {
    bool used;
    uint64_t address;
    uint32_t data;
} msi_route;

struct irq_routes {
    pthread_mutex_t lock;
    irq_routes_commit_fn commit;
    void *opaque;
    uint32_t max_gsi;
    msi_route *msi; /* index = gsi - IRQ_ROUTES_FIRST_MSI_GSI */
    uint32_t nr_msi_slots;
    unsigned msi_count;
};

irq_routes *irq_routes_new(uint32_t max_gsi, irq_routes_commit_fn commit, void *opaque)
{
    irq_routes *r = g_new0(irq_routes, 1);
    pthread_mutex_init(&r->lock, NULL);
    r->commit = commit;
    r->opaque = opaque;
    r->max_gsi = MAX(max_gsi, IRQ_ROUTES_FIRST_MSI_GSI);
    r->nr_msi_slots = r->max_gsi - IRQ_ROUTES_FIRST_MSI_GSI;
    r->msi = g_new0(msi_route, r->nr_msi_slots ? r->nr_msi_slots : 1);
    return r;
}

void irq_routes_free(irq_routes *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    g_free(r->msi);
    g_free(r);
}

static unsigned legacy_entries(void)
{
    /* 15 PIC pins (no cascade) + 23 IOAPIC pins (GSI 2 has none: IRQ 0 uses pin 2). */
    return (IRQ_ROUTES_ISA_GSIS - 1) + (IRQ_ROUTES_IOAPIC_PINS - 1);
}

static void add_irqchip(struct kvm_irq_routing *t, uint32_t gsi, uint32_t chip, uint32_t pin)
{
    struct kvm_irq_routing_entry *e = &t->entries[t->nr++];
    memset(e, 0, sizeof(*e));
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

/* Caller holds the lock. Builds the whole table and hands it to commit. */
static int commit_locked(irq_routes *r)
{
    unsigned n = legacy_entries() + r->msi_count;
    g_autofree struct kvm_irq_routing *t =
        g_malloc0(sizeof(*t) + n * sizeof(struct kvm_irq_routing_entry));

    for (uint32_t gsi = 0; gsi < IRQ_ROUTES_ISA_GSIS; gsi++)
        if (gsi != PIC_CASCADE_IRQ)
            add_irqchip(t, gsi, gsi < 8 ? PIC_MASTER : PIC_SLAVE, gsi % 8);
    for (uint32_t gsi = 0; gsi < IRQ_ROUTES_IOAPIC_PINS; gsi++) {
        if (gsi == 0)
            add_irqchip(t, 0, KVM_IRQCHIP_IOAPIC, 2);
        else if (gsi != 2)
            add_irqchip(t, gsi, KVM_IRQCHIP_IOAPIC, gsi);
    }
    for (uint32_t i = 0; i < r->nr_msi_slots; i++) {
        if (!r->msi[i].used)
            continue;
        struct kvm_irq_routing_entry *e = &t->entries[t->nr++];
        memset(e, 0, sizeof(*e));
        e->gsi = IRQ_ROUTES_FIRST_MSI_GSI + i;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)r->msi[i].address;
        e->u.msi.address_hi = (uint32_t)(r->msi[i].address >> 32);
        e->u.msi.data = r->msi[i].data;
    }
    return r->commit(r->opaque, t);
}

int irq_routes_commit(irq_routes *r)
{
    pthread_mutex_lock(&r->lock);
    int ret = commit_locked(r);
    pthread_mutex_unlock(&r->lock);
    return ret;
}

/* Caller holds the lock. The slot of an MSI gsi in use, or NULL. */
static msi_route *find_msi(irq_routes *r, uint32_t gsi)
{
    if (gsi < IRQ_ROUTES_FIRST_MSI_GSI || gsi - IRQ_ROUTES_FIRST_MSI_GSI >= r->nr_msi_slots)
        return NULL;
    msi_route *m = &r->msi[gsi - IRQ_ROUTES_FIRST_MSI_GSI];
    return m->used ? m : NULL;
}

int irq_routes_add_msi(irq_routes *r, uint64_t address, uint32_t data, uint32_t *gsi)
{
    int ret = -ENOSPC;
    pthread_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < r->nr_msi_slots; i++) {
        msi_route *m = &r->msi[i];
        if (m->used)
            continue;
        *m = (msi_route){ .used = true, .address = address, .data = data };
        r->msi_count++;
        ret = commit_locked(r);
        if (ret < 0) {
            m->used = false;
            r->msi_count--;
        } else {
            *gsi = IRQ_ROUTES_FIRST_MSI_GSI + i;
        }
        break;
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

int irq_routes_update_msi(irq_routes *r, uint32_t gsi, uint64_t address, uint32_t data)
{
    int ret = -ENOENT;
    pthread_mutex_lock(&r->lock);
    msi_route *m = find_msi(r, gsi);
    if (m) {
        msi_route old = *m;
        m->address = address;
        m->data = data;
        ret = commit_locked(r);
        if (ret < 0)
            *m = old;
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

int irq_routes_remove_msi(irq_routes *r, uint32_t gsi)
{
    int ret = -ENOENT;
    pthread_mutex_lock(&r->lock);
    msi_route *m = find_msi(r, gsi);
    if (m) {
        m->used = false;
        r->msi_count--;
        ret = commit_locked(r);
        if (ret < 0) {
            m->used = true;
            r->msi_count++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

unsigned irq_routes_entries(irq_routes *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = legacy_entries() + r->msi_count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

unsigned irq_routes_msi_count(irq_routes *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = r->msi_count;
    pthread_mutex_unlock(&r->lock);
    return n;
}
