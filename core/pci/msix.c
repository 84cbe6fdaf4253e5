/* SPDX-License-Identifier: MIT */
/*
 * MSI-X: the capability, the table and PBA inside a BAR, function and vector masks,
 * pending bits, and eventfds bound to vectors. A bound eventfd is a KVM irqfd on the
 * vector's MSI route while the vector can deliver; otherwise the host watches it on
 * the main loop and turns signals into pending bits (masked) or drops them (MSI-X
 * disabled, as QEMU does). Everything here runs with the host's PCI lock held.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "pci/pci_internal.h"
#include "util/error.h"

/* Writable bits of the 16 bytes of a table entry: address (dword-aligned), data, mask bit. */
static const uint8_t entry_wmask[PCI_MSIX_ENTRY_SIZE] = {
    0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
};

static uint16_t msg_ctl(pci_function *fn)
{
    return (uint16_t)pci_get_le(fn->cfg + fn->msix->cap + 2, 2);
}

bool pci_msix_enabled(pci_function *fn)
{
    if (!fn->msix)
        return false;
    pci_lock(fn->host);
    bool on = msg_ctl(fn) & PCI_MSIX_FLAGS_ENABLE;
    pci_unlock(fn->host);
    return on;
}

static bool vector_masked(pci_function *fn, uint32_t v)
{
    uint16_t ctl = msg_ctl(fn);
    return (ctl & PCI_MSIX_FLAGS_MASKALL) ||
           (fn->msix->table[v * PCI_MSIX_ENTRY_SIZE + 12] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool pci_msix_masked(pci_function *fn, uint32_t vector)
{
    if (!fn->msix || vector >= fn->msix->n)
        return true;
    pci_lock(fn->host);
    bool m = vector_masked(fn, vector);
    pci_unlock(fn->host);
    return m;
}

bool pci_msix_pending(pci_function *fn, uint32_t vector)
{
    if (!fn->msix || vector >= fn->msix->n)
        return false;
    pci_lock(fn->host);
    bool p = fn->msix->v[vector].pending;
    pci_unlock(fn->host);
    return p;
}

static msi_msg entry_msg(pci_function *fn, uint32_t v)
{
    const uint8_t *e = fn->msix->table + v * PCI_MSIX_ENTRY_SIZE;
    msi_msg m = {
        .address = (uint64_t)pci_get_le(e, 4) | ((uint64_t)pci_get_le(e + 4, 4) << 32),
        .data = pci_get_le(e + 8, 4),
    };
    return m;
}

static void deliver(pci_function *fn, uint32_t v)
{
    const pci_platform *p = &fn->host->plat;
    msi_msg m = entry_msg(fn, v);
    p->ops->msi_inject(p->opaque, &m); /* a garbage message is the guest's problem */
}

/* Reads and clears an eventfd's counter without blocking; 0 when nothing is there. */
static uint64_t drain_eventfd(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    uint64_t n = 0;
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) && read(fd, &n, sizeof(n)) != sizeof(n))
        n = 0;
    return n;
}

static gboolean vector_watch_cb(int fd, GIOCondition cond, gpointer data)
{
    msix_vector *vec = data;
    pci_function *fn = vec->fn;
    pci_lock(fn->host);
    if (cond & G_IO_NVAL) {
        /* The device closed the fd without unbinding it: stop watching. */
        GSource *s = vec->watch;
        vec->watch = NULL;
        pci_unlock(fn->host);
        if (s)
            g_source_unref(s);
        return G_SOURCE_REMOVE;
    }
    if (drain_eventfd(fd) && (msg_ctl(fn) & PCI_MSIX_FLAGS_ENABLE)) {
        if (vector_masked(fn, vec->index))
            vec->pending = true;
        else
            deliver(fn, vec->index);
    }
    pci_unlock(fn->host);
    return G_SOURCE_CONTINUE;
}

static void watch_start(msix_vector *vec)
{
    if (vec->watch)
        return;
    GSource *s = g_unix_fd_source_new(vec->fd, G_IO_IN);
    g_source_set_callback(s, G_SOURCE_FUNC(vector_watch_cb), vec, NULL);
    g_source_attach(s, vec->fn->host->plat.main_context);
    vec->watch = s;
}

static void watch_stop(msix_vector *vec)
{
    if (!vec->watch)
        return;
    g_source_destroy(vec->watch);
    g_source_unref(vec->watch);
    vec->watch = NULL;
}

/* Brings one vector's delivery machinery in line with the masks and the enable bit. */
static void vector_update(pci_function *fn, uint32_t v)
{
    const pci_platform *p = &fn->host->plat;
    msix_vector *vec = &fn->msix->v[v];
    bool live = (msg_ctl(fn) & PCI_MSIX_FLAGS_ENABLE) && !vector_masked(fn, v);
    if (live && vec->pending) {
        vec->pending = false;
        deliver(fn, v);
    }
    if (vec->fd < 0)
        return;
    bool want_irqfd = live && p->ops->irqfd_bind && p->ops->msi_route_add;
    if (want_irqfd && !vec->irqfd) {
        if (drain_eventfd(vec->fd))
            deliver(fn, v);
        msi_msg m = entry_msg(fn, v);
        int r = 0;
        if (!vec->route) {
            r = p->ops->msi_route_add(p->opaque, &m, &vec->gsi);
            vec->route = r == 0;
        } else if (p->ops->msi_route_update) {
            r = p->ops->msi_route_update(p->opaque, vec->gsi, &m);
        }
        if (r == 0 && p->ops->irqfd_bind(p->opaque, vec->gsi, vec->fd) == 0) {
            vec->irqfd = true;
            watch_stop(vec);
        }
    } else if (!want_irqfd && vec->irqfd) {
        if (p->ops->irqfd_unbind)
            p->ops->irqfd_unbind(p->opaque, vec->gsi, vec->fd);
        vec->irqfd = false;
    }
    if (!vec->irqfd)
        watch_start(vec);
}

void pci_msix_config_changed(pci_function *fn)
{
    for (uint32_t v = 0; v < fn->msix->n; v++)
        vector_update(fn, v);
}

static void table_reset(pci_msix *mx)
{
    memset(mx->table, 0, (size_t)mx->n * PCI_MSIX_ENTRY_SIZE);
    for (uint32_t v = 0; v < mx->n; v++) {
        mx->table[v * PCI_MSIX_ENTRY_SIZE + 12] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
        mx->v[v].pending = false;
    }
}

void pci_msix_reset(pci_function *fn)
{
    table_reset(fn->msix);
    pci_msix_config_changed(fn);
}

static bool range_overlaps(uint64_t off, unsigned len, uint64_t start, uint64_t n)
{
    return off < start + n && start < off + len;
}

bool pci_msix_claims(pci_function *fn, unsigned bar, uint64_t off, unsigned len)
{
    pci_msix *mx = fn->msix;
    return (bar == mx->table_bar && range_overlaps(off, len, mx->table_off, mx->table_len)) ||
           (bar == mx->pba_bar && range_overlaps(off, len, mx->pba_off, mx->pba_len));
}

void pci_msix_bar_access(pci_function *fn, unsigned bar, uint64_t off, uint8_t *data,
                         unsigned len, bool is_write)
{
    pci_msix *mx = fn->msix;
    pci_lock(fn->host);
    uint32_t first = UINT32_MAX, last = 0; /* entries whose mask or message changed */
    bool msg_changed[2] = { false, false }, ctl_changed[2] = { false, false };
    for (unsigned i = 0; i < len; i++) {
        uint64_t o = off + i;
        if (bar == mx->table_bar && o >= mx->table_off && o < mx->table_off + mx->table_len) {
            uint32_t rel = (uint32_t)(o - mx->table_off);
            uint8_t *b = &mx->table[rel];
            if (!is_write) {
                data[i] = *b;
                continue;
            }
            uint8_t m = entry_wmask[rel % PCI_MSIX_ENTRY_SIZE];
            uint8_t nb = (uint8_t)((*b & ~m) | (data[i] & m));
            if (nb == *b)
                continue;
            *b = nb;
            uint32_t e = rel / PCI_MSIX_ENTRY_SIZE;
            if (first == UINT32_MAX)
                first = e;
            last = e;
            unsigned which = e == first ? 0 : 1;
            if (rel % PCI_MSIX_ENTRY_SIZE >= 12)
                ctl_changed[which] = true;
            else
                msg_changed[which] = true;
        } else if (bar == mx->pba_bar && o >= mx->pba_off && o < mx->pba_off + mx->pba_len) {
            if (is_write)
                continue; /* the PBA is read-only */
            uint32_t byte = (uint32_t)(o - mx->pba_off);
            uint8_t v = 0;
            for (unsigned bit = 0; bit < 8; bit++) {
                uint32_t vec = byte * 8 + bit;
                if (vec < mx->n && mx->v[vec].pending)
                    v |= (uint8_t)(1u << bit);
            }
            data[i] = v;
        } else if (!is_write) {
            data[i] = 0;
        }
    }
    /* An access of at most 8 bytes touches at most two entries. */
    for (unsigned k = 0; first != UINT32_MAX && k < 2; k++) {
        uint32_t e = k == 0 ? first : last;
        if (k == 1 && last == first)
            break;
        msix_vector *vec = &mx->v[e];
        if (msg_changed[k] && vec->route && fn->host->plat.ops->msi_route_update) {
            msi_msg m = entry_msg(fn, e);
            fn->host->plat.ops->msi_route_update(fn->host->plat.opaque, vec->gsi, &m);
        }
        if (ctl_changed[k])
            vector_update(fn, e);
    }
    pci_unlock(fn->host);
}

int pci_msix_notify(pci_function *fn, uint32_t vector)
{
    if (!fn->msix || vector >= fn->msix->n)
        return -EINVAL;
    pci_lock(fn->host);
    int r = 0;
    if (!(msg_ctl(fn) & PCI_MSIX_FLAGS_ENABLE))
        r = -EAGAIN;
    else if (vector_masked(fn, vector))
        fn->msix->v[vector].pending = true;
    else
        deliver(fn, vector);
    pci_unlock(fn->host);
    return r;
}

int pci_msix_bind(pci_function *fn, uint32_t vector, int fd)
{
    if (!fn->msix || vector >= fn->msix->n || fd < 0)
        return -EINVAL;
    pci_lock(fn->host);
    int r = 0;
    msix_vector *vec = &fn->msix->v[vector];
    if (vec->fd >= 0) {
        r = -EBUSY;
    } else {
        vec->fd = fd;
        vector_update(fn, vector);
    }
    pci_unlock(fn->host);
    return r;
}

static void vector_unbind(pci_function *fn, msix_vector *vec)
{
    const pci_platform *p = &fn->host->plat;
    if (vec->irqfd && p->ops->irqfd_unbind)
        p->ops->irqfd_unbind(p->opaque, vec->gsi, vec->fd);
    vec->irqfd = false;
    if (vec->route && p->ops->msi_route_remove)
        p->ops->msi_route_remove(p->opaque, vec->gsi);
    vec->route = false;
    watch_stop(vec);
    vec->fd = -1;
}

void pci_msix_unbind(pci_function *fn, uint32_t vector)
{
    if (!fn->msix || vector >= fn->msix->n)
        return;
    pci_lock(fn->host);
    vector_unbind(fn, &fn->msix->v[vector]);
    pci_unlock(fn->host);
}

void pci_msix_free(pci_function *fn)
{
    pci_msix *mx = fn->msix;
    if (!mx)
        return;
    pci_lock(fn->host);
    for (uint32_t v = 0; v < mx->n; v++)
        vector_unbind(fn, &mx->v[v]);
    fn->msix = NULL;
    pci_unlock(fn->host);
    g_free(mx->table);
    g_free(mx->v);
    g_free(mx);
}

static int msix_fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int msix_fail(GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "MSI-X: %s", msg);
    return -EINVAL;
}

static bool bar_usable(pci_function *fn, unsigned bar)
{
    return bar < PCI_NUM_BARS && fn->bars[bar].present && !fn->bars[bar].is_ram &&
           (fn->bars[bar].type == TS_PCI_BAR_MEM32 || fn->bars[bar].type == TS_PCI_BAR_MEM64);
}

int pci_msix_init(pci_function *fn, uint32_t n, unsigned table_bar, uint32_t table_off,
                  unsigned pba_bar, uint32_t pba_off, GError **err)
{
    if (fn->msix)
        return msix_fail(err, "already initialized");
    if (n < 1 || n > PCI_MSIX_MAX_VECTORS)
        return msix_fail(err, "the number of vectors (%u) is invalid (1..%u)", n, PCI_MSIX_MAX_VECTORS);
    if (!bar_usable(fn, table_bar) || !bar_usable(fn, pba_bar))
        return msix_fail(err, "the table and PBA must be in memory BARs added before that are not RAM-backed");
    uint64_t table_len = (uint64_t)n * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_len = ((n + 63) / 64) * 8;
    if ((table_off & 7) || (pba_off & 7))
        return msix_fail(err, "table offset 0x%x and PBA offset 0x%x must be 8-byte aligned", table_off,
                         pba_off);
    if (table_off + table_len > fn->bars[table_bar].size)
        return msix_fail(err, "a table of %u vectors at 0x%x does not fit in BAR%u", n, table_off, table_bar);
    if (pba_off + pba_len > fn->bars[pba_bar].size)
        return msix_fail(err, "the PBA at 0x%x does not fit in BAR%u", pba_off, pba_bar);
    if (table_bar == pba_bar && table_off < pba_off + pba_len && pba_off < table_off + table_len)
        return msix_fail(err, "table and PBA overlap");

    uint8_t cap[12] = { 0 }, wm[12] = { 0 };
    pci_put_le(cap + 2, 2, n - 1);
    pci_put_le(cap + 4, 4, table_off | table_bar);
    pci_put_le(cap + 8, 4, pba_off | pba_bar);
    wm[3] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
    int at = pci_function_add_capability(fn, PCI_CAP_ID_MSIX, cap, sizeof(cap), wm, true, err);
    if (at < 0)
        return at;

    pci_msix *mx = g_new0(pci_msix, 1);
    mx->n = n;
    mx->cap = (uint8_t)at;
    mx->table_bar = table_bar;
    mx->pba_bar = pba_bar;
    mx->table_off = table_off;
    mx->pba_off = pba_off;
    mx->table_len = (uint32_t)table_len;
    mx->pba_len = (uint32_t)pba_len;
    mx->table = g_malloc0(table_len);
    mx->v = g_new0(msix_vector, n);
    for (uint32_t v = 0; v < n; v++) {
        mx->v[v].fn = fn;
        mx->v[v].index = v;
        mx->v[v].fd = -1;
    }
    table_reset(mx);
    pci_lock(fn->host);
    fn->msix = mx;
    pci_unlock(fn->host);
    return at;
}
