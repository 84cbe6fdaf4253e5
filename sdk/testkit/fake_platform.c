/* SPDX-License-Identifier: MIT */
/*
 * The testkit's stand-in for KVM (core/pci/platform.h): MSI routes in a table, irqfds
 * watched on the testkit's main context (a signal becomes a delivered MSI with the
 * route's current message, as KVM would inject it), ioeventfds matched against the
 * testkit's writes before any device sees them, memory slots kept in a list that the
 * testkit's accesses read and write directly, INTx levels, and every MSI delivered.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "testkit_internal.h"

typedef struct fake_route {
    bool used;
    msi_msg msg;
} fake_route;

typedef struct fake_irqfd {
    fake_platform *fp;
    uint32_t gsi;
    int fd;
    GSource *src;
} fake_irqfd;

typedef struct fake_ioeventfd {
    bool pio;
    uint64_t addr;
    unsigned len;
    bool has_datamatch;
    uint64_t datamatch;
    int fd;
} fake_ioeventfd;

typedef struct fake_slot {
    uint32_t id;
    uint64_t gpa, size;
    uint8_t *host;
    bool readonly;
} fake_slot;

#define FAKE_GSI_BASE 24u /* GSIs below are the IOAPIC's, as with KVM */
#define FAKE_MAX_ROUTES 4096u
#define FAKE_IRQ_LINES 64u

struct fake_platform {
    GMutex lock;
    GMainContext *ctx;
    fake_route *routes; /* index gsi - FAKE_GSI_BASE */
    GPtrArray *irqfds;  /* fake_irqfd * */
    GArray *ioeventfds; /* fake_ioeventfd */
    GArray *slots;      /* fake_slot */
    GArray *msis;       /* tk_msi */
    uint32_t next_slot;
    int levels[FAKE_IRQ_LINES];
};

static void record_msi(fake_platform *fp, const msi_msg *m)
{
    tk_msi x = { .address = m->address, .data = m->data };
    g_array_append_val(fp->msis, x);
}

static int f_route_add(void *opaque, const msi_msg *msg, uint32_t *gsi)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    for (uint32_t i = 0; i < FAKE_MAX_ROUTES; i++) {
        if (!fp->routes[i].used) {
            fp->routes[i].used = true;
            fp->routes[i].msg = *msg;
            *gsi = FAKE_GSI_BASE + i;
            g_mutex_unlock(&fp->lock);
            return 0;
        }
    }
    g_mutex_unlock(&fp->lock);
    return -ENOSPC;
}

static fake_route *route_of(fake_platform *fp, uint32_t gsi)
{
    if (gsi < FAKE_GSI_BASE || gsi >= FAKE_GSI_BASE + FAKE_MAX_ROUTES || !fp->routes[gsi - FAKE_GSI_BASE].used)
        return NULL;
    return &fp->routes[gsi - FAKE_GSI_BASE];
}

static int f_route_update(void *opaque, uint32_t gsi, const msi_msg *msg)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    fake_route *r = route_of(fp, gsi);
    if (r)
        r->msg = *msg;
    g_mutex_unlock(&fp->lock);
    return r ? 0 : -ENOENT;
}

static void f_route_remove(void *opaque, uint32_t gsi)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    fake_route *r = route_of(fp, gsi);
    if (r)
        r->used = false;
    g_mutex_unlock(&fp->lock);
}

/* An irqfd fired: inject the route's message, as KVM's irqfd worker does. */
static gboolean irqfd_fired(int fd, GIOCondition cond, gpointer data)
{
    fake_irqfd *q = data;
    fake_platform *fp = q->fp;
    uint64_t n = 0;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) && read(fd, &n, sizeof(n)) != sizeof(n))
        n = 0;
    g_mutex_lock(&fp->lock);
    fake_route *r = route_of(fp, q->gsi);
    if (n && r)
        record_msi(fp, &r->msg);
    g_mutex_unlock(&fp->lock);
    return (cond & G_IO_NVAL) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static int f_irqfd_bind(void *opaque, uint32_t gsi, int fd)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->irqfds->len; i++) {
        fake_irqfd *q = fp->irqfds->pdata[i];
        if (q->fd == fd) {
            g_mutex_unlock(&fp->lock);
            return -EBUSY; /* KVM refuses one eventfd on two irqfds */
        }
    }
    fake_irqfd *q = g_new0(fake_irqfd, 1);
    q->fp = fp;
    q->gsi = gsi;
    q->fd = fd;
    q->src = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(q->src, G_SOURCE_FUNC(irqfd_fired), q, NULL);
    g_source_attach(q->src, fp->ctx);
    g_ptr_array_add(fp->irqfds, q);
    g_mutex_unlock(&fp->lock);
    return 0;
}

static void irqfd_free(fake_irqfd *q)
{
    g_source_destroy(q->src);
    g_source_unref(q->src);
    g_free(q);
}

static int f_irqfd_unbind(void *opaque, uint32_t gsi, int fd)
{
    fake_platform *fp = opaque;
    int r = -ENOENT;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->irqfds->len; i++) {
        fake_irqfd *q = fp->irqfds->pdata[i];
        if (q->fd == fd && q->gsi == gsi) {
            g_ptr_array_remove_index(fp->irqfds, i);
            irqfd_free(q);
            r = 0;
            break;
        }
    }
    g_mutex_unlock(&fp->lock);
    return r;
}

static int f_msi_inject(void *opaque, const msi_msg *msg)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    record_msi(fp, msg);
    g_mutex_unlock(&fp->lock);
    return 0;
}

static int f_set_irq_line(void *opaque, uint32_t gsi, int level)
{
    fake_platform *fp = opaque;
    if (gsi >= FAKE_IRQ_LINES)
        return -EINVAL;
    g_mutex_lock(&fp->lock);
    fp->levels[gsi] = level;
    g_mutex_unlock(&fp->lock);
    return 0;
}

static bool same_ioev(const fake_ioeventfd *e, bool pio, uint64_t addr, unsigned len, bool dm, uint64_t datamatch)
{
    return e->pio == pio && e->addr == addr && e->len == len && e->has_datamatch == dm &&
           (!dm || e->datamatch == datamatch);
}

static int f_ioeventfd_add(void *opaque, bool pio, uint64_t addr, unsigned len, bool dm,
                           uint64_t datamatch, int fd)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->ioeventfds->len; i++) {
        if (same_ioev(&g_array_index(fp->ioeventfds, fake_ioeventfd, i), pio, addr, len, dm, datamatch)) {
            g_mutex_unlock(&fp->lock);
            return -EEXIST;
        }
    }
    fake_ioeventfd e = { pio, addr, len, dm, datamatch, fd };
    g_array_append_val(fp->ioeventfds, e);
    g_mutex_unlock(&fp->lock);
    return 0;
}

static int f_ioeventfd_remove(void *opaque, bool pio, uint64_t addr, unsigned len, bool dm,
                              uint64_t datamatch, int fd)
{
    fake_platform *fp = opaque;
    int r = -ENOENT;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->ioeventfds->len; i++) {
        fake_ioeventfd *e = &g_array_index(fp->ioeventfds, fake_ioeventfd, i);
        if (same_ioev(e, pio, addr, len, dm, datamatch) && e->fd == fd) {
            g_array_remove_index(fp->ioeventfds, i);
            r = 0;
            break;
        }
    }
    g_mutex_unlock(&fp->lock);
    return r;
}

static int f_map_ram(void *opaque, uint64_t gpa, uint64_t size, void *host, int fd, uint64_t fd_offset,
                     bool readonly, uint32_t *slot)
{
    fake_platform *fp = opaque;
    if ((gpa | size | (uintptr_t)host) & 4095)
        return -EINVAL;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->slots->len; i++) {
        fake_slot *s = &g_array_index(fp->slots, fake_slot, i);
        if (gpa < s->gpa + s->size && s->gpa < gpa + size) {
            g_mutex_unlock(&fp->lock);
            return -EEXIST; /* KVM refuses overlapping slots */
        }
    }
    fake_slot s = { fp->next_slot++, gpa, size, host, readonly };
    g_array_append_val(fp->slots, s);
    *slot = s.id;
    g_mutex_unlock(&fp->lock);
    return 0;
}

static void f_unmap_ram(void *opaque, uint32_t slot)
{
    fake_platform *fp = opaque;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->slots->len; i++) {
        if (g_array_index(fp->slots, fake_slot, i).id == slot) {
            g_array_remove_index(fp->slots, i);
            break;
        }
    }
    g_mutex_unlock(&fp->lock);
}

static const pci_platform_ops fake_ops = {
    .msi_route_add = f_route_add,
    .msi_route_update = f_route_update,
    .msi_route_remove = f_route_remove,
    .irqfd_bind = f_irqfd_bind,
    .irqfd_unbind = f_irqfd_unbind,
    .msi_inject = f_msi_inject,
    .set_irq_line = f_set_irq_line,
    .ioeventfd_add = f_ioeventfd_add,
    .ioeventfd_remove = f_ioeventfd_remove,
    .map_ram = f_map_ram,
    .unmap_ram = f_unmap_ram,
};

const pci_platform_ops *fake_platform_ops(void)
{
    return &fake_ops;
}

fake_platform *fake_platform_new(GMainContext *ctx)
{
    fake_platform *fp = g_new0(fake_platform, 1);
    g_mutex_init(&fp->lock);
    fp->ctx = ctx;
    fp->routes = g_new0(fake_route, FAKE_MAX_ROUTES);
    fp->irqfds = g_ptr_array_new();
    fp->ioeventfds = g_array_new(FALSE, TRUE, sizeof(fake_ioeventfd));
    fp->slots = g_array_new(FALSE, TRUE, sizeof(fake_slot));
    fp->msis = g_array_new(FALSE, TRUE, sizeof(tk_msi));
    fp->next_slot = 16;
    return fp;
}

void fake_platform_free(fake_platform *fp)
{
    if (!fp)
        return;
    for (guint i = 0; i < fp->irqfds->len; i++)
        irqfd_free(fp->irqfds->pdata[i]);
    g_ptr_array_free(fp->irqfds, TRUE);
    g_array_free(fp->ioeventfds, TRUE);
    g_array_free(fp->slots, TRUE);
    g_array_free(fp->msis, TRUE);
    g_free(fp->routes);
    g_mutex_clear(&fp->lock);
    g_free(fp);
}

bool fake_ioeventfd_write(fake_platform *fp, bool pio, uint64_t addr, uint64_t value, unsigned len)
{
    int fd = -1;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->ioeventfds->len && fd < 0; i++) {
        fake_ioeventfd *e = &g_array_index(fp->ioeventfds, fake_ioeventfd, i);
        if (e->pio == pio && e->addr == addr && e->len == len &&
            (!e->has_datamatch || e->datamatch == value))
            fd = e->fd;
    }
    g_mutex_unlock(&fp->lock);
    if (fd < 0)
        return false;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w;
    return true;
}

void *fake_slot_ptr(fake_platform *fp, uint64_t gpa, uint64_t len, bool write)
{
    void *p = NULL;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->slots->len; i++) {
        fake_slot *s = &g_array_index(fp->slots, fake_slot, i);
        if (gpa >= s->gpa && gpa + len <= s->gpa + s->size && gpa + len >= gpa) {
            if (!(write && s->readonly))
                p = s->host + (gpa - s->gpa);
            break;
        }
    }
    g_mutex_unlock(&fp->lock);
    return p;
}

unsigned fake_msi_count(fake_platform *fp)
{
    g_mutex_lock(&fp->lock);
    unsigned n = fp->msis->len;
    g_mutex_unlock(&fp->lock);
    return n;
}

bool fake_msi_pop(fake_platform *fp, tk_msi *out)
{
    g_mutex_lock(&fp->lock);
    bool have = fp->msis->len > 0;
    if (have) {
        *out = g_array_index(fp->msis, tk_msi, 0);
        g_array_remove_index(fp->msis, 0);
    }
    g_mutex_unlock(&fp->lock);
    return have;
}

void fake_msi_clear(fake_platform *fp)
{
    g_mutex_lock(&fp->lock);
    g_array_set_size(fp->msis, 0);
    g_mutex_unlock(&fp->lock);
}

int fake_irq_level(fake_platform *fp, uint32_t gsi)
{
    if (gsi >= FAKE_IRQ_LINES)
        return 0;
    g_mutex_lock(&fp->lock);
    int l = fp->levels[gsi];
    g_mutex_unlock(&fp->lock);
    return l;
}

unsigned fake_ioeventfd_count(fake_platform *fp)
{
    g_mutex_lock(&fp->lock);
    unsigned n = fp->ioeventfds->len;
    g_mutex_unlock(&fp->lock);
    return n;
}

unsigned fake_irqfd_count(fake_platform *fp)
{
    g_mutex_lock(&fp->lock);
    unsigned n = fp->irqfds->len;
    g_mutex_unlock(&fp->lock);
    return n;
}

unsigned fake_slot_count(fake_platform *fp)
{
    g_mutex_lock(&fp->lock);
    unsigned n = fp->slots->len;
    g_mutex_unlock(&fp->lock);
    return n;
}

bool fake_slot_at(fake_platform *fp, uint64_t gpa, uint64_t size)
{
    bool hit = false;
    g_mutex_lock(&fp->lock);
    for (guint i = 0; i < fp->slots->len; i++) {
        fake_slot *s = &g_array_index(fp->slots, fake_slot, i);
        if (s->gpa == gpa && s->size == size)
            hit = true;
    }
    g_mutex_unlock(&fp->lock);
    return hit;
}
