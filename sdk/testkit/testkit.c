/* SPDX-License-Identifier: MIT */
/*
 * The testkit machine: guest RAM, buses, the PCI host on a fake platform, and objects
 * and devices made from -object/-device arguments. Every argument is validated the way
 * tessera validates a command line: the arguments made so far plus the new one are
 * parsed and validated together (so ids, references and duplicates are checked), and
 * only the new item is instantiated.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/cmdline.h"
#include "object/object.h"
#include "pci/devctx.h"
#include "testkit_internal.h"
#include "util/error.h"

#define TK_DEFAULT_RAM (64ull << 20)

void tk_set_error(tk_machine *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(m->error);
    m->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

TK_API const char *tk_error(const tk_machine *m)
{
    return m && m->error ? m->error : "";
}

TK_API tk_machine *tk_machine_new(uint64_t ram_size)
{
    if (!ram_size)
        ram_size = TK_DEFAULT_RAM;
    tk_machine *m = g_new0(tk_machine, 1);
    GError *err = NULL;
    m->ctx = g_main_context_new();
    m->ram_size = ram_size;
    m->ram_host = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
    if (m->ram_host == MAP_FAILED) {
        m->ram_host = NULL;
        fprintf(stderr, "testkit: cannot allocate %llu bytes of guest RAM\n", (unsigned long long)ram_size);
        goto fail;
    }
    ts_memory_region ram = { .host = m->ram_host, .size = ram_size, .fd = -1, .page_size = 4096 };
    if (guest_memory_init(&m->gm, &ram, &err) < 0)
        goto fail;
    m->pio = io_bus_new("pio");
    m->mmio = io_bus_new("mmio");
    m->fake = fake_platform_new(m->ctx);
    m->plat = (pci_platform){
        .ops = fake_platform_ops(), .opaque = m->fake, .pio = m->pio, .mmio = m->mmio,
        .ram = &m->gm, .main_context = m->ctx,
    };
    if (pci_host_new(&m->plat, &m->host, &err) < 0)
        goto fail;
    m->plugin_dirs = g_ptr_array_new_with_free_func(g_free);
    m->specs = g_ptr_array_new_with_free_func(g_free);
    m->keep = machine_desc_new();
    m->objects = g_hash_table_new(g_str_hash, g_str_equal);
    m->chardevs = chardev_set_new();
    m->object_list = g_ptr_array_new();
    m->devices = g_ptr_array_new();
    return m;
fail:
    if (err)
        fprintf(stderr, "testkit: %s\n", err->message);
    g_clear_error(&err);
    tk_machine_free(m);
    return NULL;
}

TK_API void tk_machine_free(tk_machine *m)
{
    if (!m)
        return;
    while (m->devices && m->devices->len)
        tk_device_del(m->devices->pdata[m->devices->len - 1]);
    if (m->specs)
        tk_drives_release(m); /* drive.c; after the devices that hold drives, before the registry */
    if (m->object_list)
        for (guint i = m->object_list->len; i-- > 0;)
            object_destroy(m->object_list->pdata[i]);
    chardev_set_free(m->chardevs);
    pci_host_free(m->host);
    fake_platform_free(m->fake);
    if (m->pio)
        io_bus_free(m->pio);
    if (m->mmio)
        io_bus_free(m->mmio);
    if (m->ram_host)
        munmap(m->ram_host, m->ram_size);
    if (m->ctx) {
        while (g_main_context_iteration(m->ctx, FALSE))
            ;
        g_main_context_unref(m->ctx);
    }
    if (m->plugin_dirs)
        g_ptr_array_free(m->plugin_dirs, TRUE);
    if (m->specs)
        g_ptr_array_free(m->specs, TRUE);
    if (m->objects)
        g_hash_table_destroy(m->objects);
    if (m->object_list)
        g_ptr_array_free(m->object_list, TRUE);
    if (m->devices)
        g_ptr_array_free(m->devices, TRUE);
    machine_desc_free(m->keep);
    registry_free(m->reg);
    g_free(m->error);
    g_free(m);
}

TK_API int tk_plugin_path_add(tk_machine *m, const char *dir)
{
    if (m->reg) {
        tk_set_error(m, "plugin directories must be added before the first object or device");
        return -EBUSY;
    }
    g_ptr_array_add(m->plugin_dirs, g_strdup(dir));
    return 0;
}

static registry *get_registry(tk_machine *m)
{
    if (!m->reg)
        m->reg = registry_new((const char *const *)m->plugin_dirs->pdata, m->plugin_dirs->len);
    return m->reg;
}

/*
 * Parses and validates the live arguments plus "-OPT SPEC"; returns the new item (owned
 * by m->keep) or NULL with the error recorded.
 */
static md_item *validate_new(tk_machine *m, const char *opt, const char *spec)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"testkit");
    for (guint i = 0; i < m->specs->len; i++)
        g_ptr_array_add(argv, m->specs->pdata[i]);
    g_ptr_array_add(argv, (char *)opt);
    g_ptr_array_add(argv, (char *)spec);
    cmdline cl = { 0 };
    GError *err = NULL;
    md_item *it = NULL;
    if (cmdline_parse(&cl, (int)argv->len, (char **)argv->pdata, &err) < 0)
        goto out;
    if (cl.type_help || cl.desc->items->len == 0) {
        g_set_error(&err, TS_ERROR, TS_ERROR_INVALID, "'%s %s' asks for help; give a real argument", opt, spec);
        goto out;
    }
    if (machine_desc_validate(cl.desc, get_registry(m), &err) < 0)
        goto out;
    /* The new item is the last one of its class. */
    md_class cls = strcmp(opt, "-object") == 0 ? MD_OBJECT : strcmp(opt, "-chardev") == 0 ? MD_CHARDEV : MD_DEVICE;
    for (guint i = cl.desc->items->len; i-- > 0;) {
        md_item *cand = cl.desc->items->pdata[i];
        if (cand->cls == cls) {
            it = g_ptr_array_steal_index(cl.desc->items, i);
            g_ptr_array_add(m->keep->items, it);
            break;
        }
    }
out:
    if (err)
        tk_set_error(m, "%s", err->message);
    g_clear_error(&err);
    cmdline_clear(&cl);
    g_ptr_array_free(argv, TRUE);
    return it;
}

static ts_object *find_object(void *opaque, const char *id)
{
    tk_machine *m = opaque;
    return g_hash_table_lookup(m->objects, id);
}

TK_API int tk_object_add(tk_machine *m, const char *spec)
{
    md_item *it = validate_new(m, "-object", spec);
    if (!it)
        return -EINVAL;
    for (guint i = 0; i < it->values->n; i++) {
        prop_value *v = &it->values->v[i];
        if (v->desc->type == TS_PROP_REF && v->has_value)
            v->ref = g_hash_table_lookup(m->objects, v->s);
    }
    GError *err = NULL;
    ts_object *obj = object_instantiate(it, &err);
    if (!obj) {
        tk_set_error(m, "%s", err->message);
        g_error_free(err);
        return -EINVAL;
    }
    g_ptr_array_add(m->object_list, obj);
    g_hash_table_insert(m->objects, (char *)object_get_id(obj), obj);
    g_ptr_array_add(m->specs, g_strdup("-object"));
    g_ptr_array_add(m->specs, g_strdup(spec));
    return 0;
}

TK_API int tk_chardev_add(tk_machine *m, const char *spec)
{
    md_item *it = validate_new(m, "-chardev", spec);
    if (!it)
        return -EINVAL;
    GError *err = NULL;
    chardev *chr = chardev_open_item(it, &err);
    if (!chr || chardev_set_add(m->chardevs, chr, &err) < 0) {
        tk_set_error(m, "%s", err ? err->message : "cannot open the chardev");
        g_clear_error(&err);
        return -EINVAL;
    }
    g_ptr_array_add(m->specs, g_strdup("-chardev"));
    g_ptr_array_add(m->specs, g_strdup(spec));
    return 0;
}

/* Chardev references of devices: this machine's chardevs. Drives are not offered yet. */
static void *resolve_other(void *opaque, md_item *it, const prop_value *v, GError **err)
{
    tk_machine *m = opaque;
    void *found = v->desc->ref_target == TS_REF_CHARDEV ? chardev_set_find(m->chardevs, v->s) : NULL;
    if (!found) {
        g_autofree char *where = md_origin_describe(&it->origin);
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "%s: device (%s): property '%s': %s", where, it->type,
                    v->desc->name, v->desc->ref_target == TS_REF_CHARDEV ? "there is no such chardev"
                                                                         : "the testkit has no drives");
    }
    return found;
}

TK_API tk_device *tk_device_add(tk_machine *m, const char *spec)
{
    md_item *it = validate_new(m, "-device", spec);
    if (!it)
        return NULL;
    device_refs refs = { .find_object = find_object, .resolve_other = resolve_other, .opaque = m };
    GError *err = NULL;
    /* ts_chardev_api.get looks chardevs up in the current set: this machine's, while it realizes. */
    chardev_set_make_current(m->chardevs);
    ts_object *obj = device_instantiate(it, m->host, &refs, -1, &err);
    if (!obj) {
        tk_set_error(m, "%s", err->message);
        g_error_free(err);
        return NULL;
    }
    tk_device *d = g_new0(tk_device, 1);
    d->m = m;
    d->obj = obj;
    d->spec = g_strdup(spec);
    g_ptr_array_add(m->devices, d);
    g_ptr_array_add(m->specs, g_strdup("-device"));
    g_ptr_array_add(m->specs, g_strdup(spec));
    return d;
}

TK_API void tk_device_del(tk_device *d)
{
    if (!d)
        return;
    tk_machine *m = d->m;
    object_destroy(d->obj);
    for (guint i = 0; i + 1 < m->specs->len; i += 2) {
        if (strcmp(m->specs->pdata[i], "-device") == 0 && strcmp(m->specs->pdata[i + 1], d->spec) == 0) {
            g_ptr_array_remove_range(m->specs, i, 2);
            break;
        }
    }
    g_ptr_array_remove(m->devices, d);
    g_free(d->spec);
    g_free(d);
}

TK_API int tk_device_devfn(const tk_device *d)
{
    devctx *c = object_devctx(d->obj);
    return c && c->has_devfn ? c->devfn : -1;
}

TK_API void tk_reset(tk_machine *m)
{
    pci_host_reset(m->host);
    for (guint i = 0; i < m->devices->len; i++)
        device_reset(((tk_device *)m->devices->pdata[i])->obj);
}

TK_API int tk_process_events(tk_machine *m)
{
    /* Device watches and timers run in the machine's context; chardev read handlers and
     * socket accepts in the default one. */
    int n = 0;
    bool more = true;
    while (more) {
        more = false;
        while (g_main_context_iteration(m->ctx, FALSE))
            n++, more = true;
        while (g_main_context_iteration(NULL, FALSE))
            n++, more = true;
    }
    return n;
}

static gboolean set_flag(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

TK_API bool tk_wait_event(tk_machine *m, int timeout_ms)
{
    /*
     * Work arrives in two contexts (the machine's; the default one for chardevs), so block
     * on the machine's for at most a millisecond at a time and look at both in between.
     * When the tick and other work dispatch together the work is still done; the caller
     * checks the state it waits for anyway.
     */
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_ms < 0 ? 0 : timeout_ms) * 1000;
    for (;;) {
        if (tk_process_events(m) > 0)
            return true;
        if (g_get_monotonic_time() >= deadline)
            return false;
        bool tick = false;
        GSource *t = g_timeout_source_new(1);
        g_source_set_callback(t, set_flag, &tick, NULL);
        g_source_attach(t, m->ctx);
        bool ran = g_main_context_iteration(m->ctx, TRUE);
        g_source_destroy(t);
        g_source_unref(t);
        if (ran && !tick) {
            tk_process_events(m);
            return true;
        }
    }
}

/* --- eventfds --- */

TK_API int tk_eventfd_new(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

TK_API void tk_eventfd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w;
}

TK_API uint64_t tk_eventfd_take(int fd)
{
    uint64_t n = 0;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN) || read(fd, &n, sizeof(n)) != sizeof(n))
        n = 0;
    return n;
}
