/* SPDX-License-Identifier: MIT */
/*
 * Device contexts and the generic device services of ABI 1.1: guest memory, port-I/O
 * and MMIO regions, ioeventfds, main-loop fd watches and timers (ts_guest_memory_api,
 * ts_io_api, ts_event_api). The PCI services are in pci_services.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "object/object.h"
#include "pci/devctx.h"
#include "pci/pci_internal.h"
#include "pci/services.h"
#include "util/error.h"

struct ts_io_region {
    devctx *ctx;
    uint32_t space;
    uint64_t base;
    const ts_io_ops *ops;
    void *opaque;
    char owner[96];
};

struct ts_fd_watch {
    GSource src; /* first: the watch is its GSource */
    devctx *ctx;
    gpointer tag;
    int fd;
    ts_fd_watch_fn cb;
    void *opaque;
};

struct ts_timer {
    GSource src; /* first: the timer is its GSource */
    devctx *ctx;
    ts_timer_fn cb;
    void *opaque;
};

void devsvc_set_error(ts_object *obj, const char *msg)
{
    if (obj)
        object_host_api()->set_error(obj, "%s", msg);
}

bool devsvc_copy_sized(void *dst, size_t dst_size, const void *src)
{
    memset(dst, 0, dst_size);
    if (!src)
        return false;
    uint32_t n;
    memcpy(&n, src, sizeof(n));
    if (n < sizeof(uint32_t))
        return false;
    memcpy(dst, src, n < dst_size ? n : dst_size);
    return true;
}

static devctx *ctx_of(ts_object *obj)
{
    return obj ? object_devctx(obj) : NULL;
}

devctx *devctx_new(pci_host *host, uint32_t bus, const char *label)
{
    devctx *c = g_new0(devctx, 1);
    c->host = host;
    c->plat = pci_host_platform(host);
    c->bus = bus;
    c->label = g_strdup(label);
    c->regions = g_ptr_array_new();
    c->ioeventfds = g_ptr_array_new();
    c->watches = g_ptr_array_new();
    c->timers = g_ptr_array_new();
    return c;
}

void devctx_realized(devctx *ctx)
{
    if (ctx->fn)
        pci_function_go_live(ctx->fn);
}

static void region_remove(ts_io_region *r);
static void ioeventfd_remove(ts_ioeventfd *e);
static void fd_watch_remove(ts_fd_watch *w);
static void timer_remove(ts_timer *t);

void devctx_release(devctx *ctx)
{
    if (!ctx)
        return;
    while (ctx->ioeventfds->len)
        ioeventfd_remove(ctx->ioeventfds->pdata[ctx->ioeventfds->len - 1]);
    if (ctx->fn) {
        pci_function_free(ctx->fn);
        ctx->fn = NULL;
    }
    if (ctx->reserved)
        pci_host_unreserve(ctx->host, ctx->devfn);
    while (ctx->regions->len)
        region_remove(ctx->regions->pdata[ctx->regions->len - 1]);
    while (ctx->watches->len)
        fd_watch_remove(ctx->watches->pdata[ctx->watches->len - 1]);
    while (ctx->timers->len)
        timer_remove(ctx->timers->pdata[ctx->timers->len - 1]);
    g_ptr_array_free(ctx->regions, TRUE);
    g_ptr_array_free(ctx->ioeventfds, TRUE);
    g_ptr_array_free(ctx->watches, TRUE);
    g_ptr_array_free(ctx->timers, TRUE);
    g_free(ctx->label);
    g_free(ctx);
}

/* --- guest memory --- */

static int gm_read(ts_object *obj, uint64_t gpa, void *buf, uint64_t len)
{
    devctx *c = ctx_of(obj);
    if (!c)
        return -EINVAL;
    return len ? guest_memory_read(c->plat->ram, gpa, buf, len) : 0;
}

static int gm_write(ts_object *obj, uint64_t gpa, const void *buf, uint64_t len)
{
    devctx *c = ctx_of(obj);
    if (!c)
        return -EINVAL;
    return len ? guest_memory_write(c->plat->ram, gpa, buf, len) : 0;
}

static void *gm_map(ts_object *obj, uint64_t gpa, uint64_t len)
{
    devctx *c = ctx_of(obj);
    if (!c || !len)
        return NULL;
    return guest_memory_ptr(c->plat->ram, gpa, len);
}

const ts_guest_memory_api devsvc_guest_memory_api = {
    .size = sizeof(ts_guest_memory_api),
    .read = gm_read,
    .write = gm_write,
    .map = gm_map,
};

/* --- port-I/O and MMIO regions --- */

static uint64_t le_get(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void region_io(void *opaque, uint64_t off, uint8_t *data, unsigned len, bool is_write)
{
    ts_io_region *r = opaque;
    if (is_write) {
        if (r->ops->write)
            r->ops->write(r->opaque, off, le_get(data, len), len);
        return;
    }
    uint64_t v = r->ops->read ? r->ops->read(r->opaque, off, len) : 0;
    for (unsigned i = 0; i < len; i++)
        data[i] = (uint8_t)(v >> (8 * i));
}

static int region_add(ts_object *obj, uint32_t space, uint64_t base, uint64_t len,
                      const ts_io_ops *ops, void *opaque, ts_io_region **out)
{
    devctx *c = ctx_of(obj);
    if (!c || !ops || !out) {
        devsvc_set_error(obj, "io region_add: not a device, or no ops");
        return -EINVAL;
    }
    if (space > TS_IO_MMIO || !len || base + len < base ||
        (space == TS_IO_PIO && base + len > 0x10000)) {
        g_autofree char *m = g_strdup_printf("invalid %s region 0x%" PRIx64 "+0x%" PRIx64,
                                             space == TS_IO_PIO ? "port" : "MMIO", base, len);
        devsvc_set_error(obj, m);
        return -EINVAL;
    }
    ts_io_region *r = g_new0(ts_io_region, 1);
    r->ctx = c;
    r->space = space;
    r->base = base;
    r->ops = ops;
    r->opaque = opaque;
    g_snprintf(r->owner, sizeof(r->owner), "%s", c->label);
    GError *err = NULL;
    int rc = io_bus_register(space == TS_IO_PIO ? c->plat->pio : c->plat->mmio, base, len, region_io,
                             r, r->owner, &err);
    if (rc < 0) {
        devsvc_set_error(obj, err->message);
        g_error_free(err);
        g_free(r);
        return rc;
    }
    g_ptr_array_add(c->regions, r);
    *out = r;
    return 0;
}

static void region_remove(ts_io_region *r)
{
    if (!r)
        return;
    io_bus_unregister(r->space == TS_IO_PIO ? r->ctx->plat->pio : r->ctx->plat->mmio, r->base);
    g_ptr_array_remove(r->ctx->regions, r);
    g_free(r);
}

const ts_io_api devsvc_io_api = {
    .size = sizeof(ts_io_api),
    .region_add = region_add,
    .region_remove = region_remove,
};

/* --- ioeventfds --- */

static bool same_ioeventfd(const ts_ioeventfd *a, const ts_ioeventfd *b)
{
    return a->where == b->where && a->fn == b->fn && a->bar == b->bar && a->addr == b->addr &&
           a->len == b->len && a->has_datamatch == b->has_datamatch &&
           (!a->has_datamatch || a->datamatch == b->datamatch);
}

static int ioeventfd_fail(ts_object *obj, int code, const char *msg)
{
    g_autofree char *m = g_strdup_printf("ioeventfd: %s", msg);
    devsvc_set_error(obj, m);
    return code;
}

static int ioeventfd_add(ts_object *obj, const ts_ioeventfd_desc *desc, ts_ioeventfd **out)
{
    devctx *c = ctx_of(obj);
    ts_ioeventfd_desc d;
    if (!c || !out || !devsvc_copy_sized(&d, sizeof(d), desc))
        return ioeventfd_fail(obj, -EINVAL, "bad arguments");
    if (d.len != 1 && d.len != 2 && d.len != 4 && d.len != 8)
        return ioeventfd_fail(obj, -EINVAL, "length must be 1, 2, 4 or 8");
    if (d.fd < 0)
        return ioeventfd_fail(obj, -EINVAL, "no eventfd");
    ts_ioeventfd *e = g_new0(ts_ioeventfd, 1);
    e->ctx = c;
    e->where = d.where;
    e->addr = d.addr;
    e->len = d.len;
    e->has_datamatch = d.flags & TS_IOEVENTFD_DATAMATCH;
    e->datamatch = d.datamatch;
    e->fd = d.fd;
    e->bar = d.bar;
    int r = 0;
    if (d.where == TS_IOEVENTFD_BAR) {
        pci_function *fn = (pci_function *)d.pci;
        if (!fn || fn != c->fn || d.bar >= PCI_NUM_BARS || !fn->bars[d.bar].present ||
            fn->bars[d.bar].type > TS_PCI_BAR_MEM64 || fn->bars[d.bar].is_ram ||
            d.addr + d.len > fn->bars[d.bar].size) {
            r = ioeventfd_fail(obj, -EINVAL, "not within a trapped BAR of the device's own function");
            goto fail;
        }
        e->fn = fn;
        pci_lock(fn->host);
        for (guint i = 0; i < fn->bar_ioeventfds->len; i++)
            if (same_ioeventfd(fn->bar_ioeventfds->pdata[i], e))
                r = -EEXIST;
        if (r == 0) {
            g_ptr_array_add(fn->bar_ioeventfds, e);
            pci_ioeventfd_install(e);
        }
        pci_unlock(fn->host);
        if (r < 0) {
            ioeventfd_fail(obj, r, "the same address, length and datamatch are registered already");
            goto fail;
        }
    } else if (d.where == TS_IOEVENTFD_PIO || d.where == TS_IOEVENTFD_MMIO) {
        bool pio = d.where == TS_IOEVENTFD_PIO;
        if (d.addr + d.len < d.addr || (pio && d.addr + d.len > 0x10000)) {
            r = ioeventfd_fail(obj, -EINVAL, "address out of range");
            goto fail;
        }
        if (!c->plat->ops->ioeventfd_add) {
            r = ioeventfd_fail(obj, -ENOTSUP, "this machine has no ioeventfd support");
            goto fail;
        }
        for (guint i = 0; i < c->ioeventfds->len; i++)
            if (same_ioeventfd(c->ioeventfds->pdata[i], e)) {
                r = ioeventfd_fail(obj, -EEXIST, "the same address, length and datamatch are registered already");
                goto fail;
            }
        r = c->plat->ops->ioeventfd_add(c->plat->opaque, pio, d.addr, d.len, e->has_datamatch,
                                         d.datamatch, d.fd);
        if (r < 0) {
            g_autofree char *m = g_strdup_printf("cannot register at 0x%" PRIx64 ": %s", d.addr, g_strerror(-r));
            ioeventfd_fail(obj, r, m);
            goto fail;
        }
        e->installed = true;
        e->inst_pio = pio;
        e->inst_addr = d.addr;
    } else {
        r = ioeventfd_fail(obj, -EINVAL, "unknown 'where'");
        goto fail;
    }
    g_ptr_array_add(c->ioeventfds, e);
    *out = e;
    return 0;
fail:
    g_free(e);
    return r;
}

static void ioeventfd_remove(ts_ioeventfd *e)
{
    if (!e)
        return;
    devctx *c = e->ctx;
    if (e->where == TS_IOEVENTFD_BAR) {
        pci_function *fn = e->fn;
        if (fn) {
            pci_lock(fn->host);
            pci_ioeventfd_uninstall(e);
            g_ptr_array_remove(fn->bar_ioeventfds, e);
            pci_unlock(fn->host);
        }
    } else if (e->installed) {
        c->plat->ops->ioeventfd_remove(c->plat->opaque, e->inst_pio, e->inst_addr, e->len,
                                       e->has_datamatch, e->datamatch, e->fd);
    }
    g_ptr_array_remove(c->ioeventfds, e);
    g_free(e);
}

/* --- fd watches --- */

static gboolean watch_dispatch(GSource *src, GSourceFunc unused_cb, gpointer unused)
{
    ts_fd_watch *w = (ts_fd_watch *)src;
    GIOCondition rev = g_source_query_unix_fd(src, w->tag);
    uint32_t ev = ((rev & (G_IO_IN | G_IO_PRI)) ? TS_FD_READABLE : 0) |
                  ((rev & G_IO_OUT) ? TS_FD_WRITABLE : 0) |
                  ((rev & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) ? TS_FD_ERROR : 0);
    if (ev)
        w->cb(w->opaque, w->fd, ev);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { .dispatch = watch_dispatch };

static GIOCondition watch_cond(uint32_t events)
{
    return ((events & TS_FD_READABLE) ? G_IO_IN : 0) | ((events & TS_FD_WRITABLE) ? G_IO_OUT : 0) |
           G_IO_ERR | G_IO_HUP;
}

static int fd_watch_add(ts_object *obj, int fd, uint32_t events, ts_fd_watch_fn cb, void *opaque,
                        ts_fd_watch **out)
{
    devctx *c = ctx_of(obj);
    if (!c || fd < 0 || !cb || !out) {
        devsvc_set_error(obj, "fd_watch_add: bad arguments");
        return -EINVAL;
    }
    ts_fd_watch *w = (ts_fd_watch *)g_source_new(&watch_funcs, sizeof(ts_fd_watch));
    w->ctx = c;
    w->fd = fd;
    w->cb = cb;
    w->opaque = opaque;
    w->tag = g_source_add_unix_fd(&w->src, fd, watch_cond(events));
    g_source_attach(&w->src, c->plat->main_context);
    g_ptr_array_add(c->watches, w);
    *out = w;
    return 0;
}

static void fd_watch_update(ts_fd_watch *w, uint32_t events)
{
    if (w)
        g_source_modify_unix_fd(&w->src, w->tag, events ? watch_cond(events) : 0);
}

static void fd_watch_remove(ts_fd_watch *w)
{
    if (!w)
        return;
    g_ptr_array_remove(w->ctx->watches, w);
    g_source_destroy(&w->src);
    g_source_unref(&w->src);
}

/* --- timers --- */

static gboolean timer_dispatch(GSource *src, GSourceFunc unused_cb, gpointer unused)
{
    ts_timer *t = (ts_timer *)src;
    g_source_set_ready_time(src, -1);
    t->cb(t->opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

static int timer_add(ts_object *obj, ts_timer_fn cb, void *opaque, ts_timer **out)
{
    devctx *c = ctx_of(obj);
    if (!c || !cb || !out) {
        devsvc_set_error(obj, "timer_add: bad arguments");
        return -EINVAL;
    }
    ts_timer *t = (ts_timer *)g_source_new(&timer_funcs, sizeof(ts_timer));
    t->ctx = c;
    t->cb = cb;
    t->opaque = opaque;
    g_source_set_ready_time(&t->src, -1);
    g_source_attach(&t->src, c->plat->main_context);
    g_ptr_array_add(c->timers, t);
    *out = t;
    return 0;
}

static void timer_start(ts_timer *t, uint64_t delay_ns)
{
    if (!t)
        return;
    uint64_t us = delay_ns / 1000 + (delay_ns % 1000 != 0);
    if (us > (uint64_t)G_MAXINT64 / 2)
        us = (uint64_t)G_MAXINT64 / 2;
    g_source_set_ready_time(&t->src, g_get_monotonic_time() + (gint64)us);
}

static void timer_stop(ts_timer *t)
{
    if (t)
        g_source_set_ready_time(&t->src, -1);
}

static void timer_remove(ts_timer *t)
{
    if (!t)
        return;
    g_ptr_array_remove(t->ctx->timers, t);
    g_source_destroy(&t->src);
    g_source_unref(&t->src);
}

const ts_event_api devsvc_event_api = {
    .size = sizeof(ts_event_api),
    .ioeventfd_add = ioeventfd_add,
    .ioeventfd_remove = ioeventfd_remove,
    .fd_watch_add = fd_watch_add,
    .fd_watch_update = fd_watch_update,
    .fd_watch_remove = fd_watch_remove,
    .timer_add = timer_add,
    .timer_start = timer_start,
    .timer_stop = timer_stop,
    .timer_remove = timer_remove,
};
