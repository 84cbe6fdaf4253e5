/* SPDX-License-Identifier: MIT */
/* Launching a machine from its description; see launch.h. */
#include "kvm/launch.h"

#include <errno.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "block/block.h"
#include "boot/boot.h"
#include "config/core_schemas.h"
#include "kvm/topology.h"
#include "pci/devices.h"
#include "pci/pci.h"
#include "pci/platform.h"
#include "util/error.h"

static prop_value *machine_value(machine_desc *d, const char *key)
{
    return prop_values_find(machine_desc_machine(d)->values, key);
}

int launch_ram_get(machine_desc *d, object_set *objects, launch_ram *out, GError **err)
{
    prop_value *backend = machine_value(d, "memory-backend");
    memset(out, 0, sizeof(*out));

    if (backend->has_value && backend->s) {
        ts_object *obj = objects ? object_set_find(objects, backend->s) : NULL;
        if (!obj || object_memory_region(obj, &out->region) < 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "machine: memory-backend '%s' is not a realized memory backend",
                        backend->s);
            return -EINVAL;
        }
        return 0;
    }
    uint64_t size = machine_value(d, "memory")->size;
    /* MAP_NORESERVE: the host commits pages only as the guest touches them. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "cannot map %" PRIu64 " MiB of guest RAM: %s (lower -m)", size >> 20,
                    g_strerror(errno));
        return -ENOMEM;
    }
    out->owned = p;
    out->owned_size = size;
    out->region = (ts_memory_region){ .host = p, .size = size, .fd = -1, .page_size = 4096 };
    return 0;
}

void launch_ram_release(launch_ram *r)
{
    if (r->owned)
        munmap(r->owned, r->owned_size);
    memset(r, 0, sizeof(*r));
}

int launch_serial_ports(machine_desc *d, chardev_set *chardevs,
                        struct ts_chardev *ports[VM_MAX_SERIALS], GError **err)
{
    unsigned n = 0;
    memset(ports, 0, VM_MAX_SERIALS * sizeof(ports[0]));

    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls != MD_SERIAL)
            continue;
        g_autofree char *where = md_origin_describe(&it->origin);
        if (n == VM_MAX_SERIALS) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: serial: at most %d serial ports (COM1-COM4)", where, VM_MAX_SERIALS);
            return -EINVAL;
        }
        g_autofree char *id = g_strdup_printf("serial%u", n);
        g_autofree char *arg = NULL;
        core_serial_kind kind;
        GError *e = NULL;
        chardev *chr = NULL;
        if (core_serial_parse(prop_values_find(it->values, "backend")->s, &kind, &arg, &e) < 0)
            goto fail;
        switch (kind) {
        case CORE_SERIAL_NONE:
            break;
        case CORE_SERIAL_STDIO:
            chr = chardev_new_stdio(id, &e);
            break;
        case CORE_SERIAL_NULL:
            chr = chardev_new_null(id);
            break;
        case CORE_SERIAL_FILE:
            chr = chardev_new_file(id, arg, false, &e);
            break;
        case CORE_SERIAL_CHARDEV:
            chr = chardev_set_find(chardevs, arg);
            if (!chr)
                g_set_error(&e, TS_ERROR, TS_ERROR_NOT_FOUND, "there is no chardev '%s'", arg);
            break;
        }
        if (e)
            goto fail;
        if (chr && kind != CORE_SERIAL_CHARDEV && chardev_set_add(chardevs, chr, &e) < 0)
            goto fail;
        ports[n++] = chr;
        continue;
fail:
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: serial: %s", where, e->message);
        g_error_free(e);
        return -EINVAL;
    }
    if (n == 0) {
        GError *e = NULL;
        chardev *chr = chardev_new_stdio("serial0", &e);
        if (chardev_set_add(chardevs, chr, &e) < 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "serial: %s (COM1 goes to stdio unless -serial says otherwise)",
                        e->message);
            g_error_free(e);
            return -EINVAL;
        }
        ports[0] = chr;
    }
    return 0;
}

/* A device item of a type the core implements itself (no plugin behind it). */
static bool is_builtin_device(const md_item *it)
{
    return it->cls == MD_DEVICE && !it->resolved && core_schema_find(MD_DEVICE, it->type);
}

int launch_debug_exit(machine_desc *d, vm_config *cfg, GError **err)
{
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (!is_builtin_device(it) || strcmp(it->type, "isa-debug-exit") != 0)
            continue;
        if (cfg->debug_exit) {
            g_autofree char *where = md_origin_describe(&it->origin);
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: device (isa-debug-exit): only one isa-debug-exit is supported", where);
            return -EINVAL;
        }
        int64_t iosize = prop_values_find(it->values, "iosize")->i;
        if (iosize != 1 && iosize != 2 && iosize != 4) {
            g_autofree char *where = md_origin_describe(&it->origin);
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "%s: device (isa-debug-exit): property 'iosize': %" PRId64
                        " is not 1, 2 or 4", where, iosize);
            return -EINVAL;
        }
        cfg->debug_exit = true;
        cfg->debug_exit_iobase = (uint16_t)prop_values_find(it->values, "iobase")->i;
        cfg->debug_exit_iosize = (uint8_t)iosize;
    }
    return 0;
}

/* Everything a running machine holds, released in reverse order by machine_teardown. */
typedef struct machine {
    object_set *objects;
    launch_ram ram;
    chardev_set *chardevs;
    vm *vm;
    pci_platform platform;
    pci_host *pci;
    device_set *devices;
    guint signal_sources[3];
} machine;

/* Device references the PCI code does not resolve itself: chardevs and drives. */
static void *resolve_ref(void *opaque, md_item *it, const prop_value *v, GError **err)
{
    machine *m = opaque;
    void *found = NULL;
    const char *what = "chardev";

    if (v->desc->ref_target == TS_REF_CHARDEV) {
        found = chardev_set_find(m->chardevs, v->s);
    } else if (v->desc->ref_target == TS_REF_DRIVE) {
        found = block_drive_find(v->s);
        what = "drive";
    }
    if (!found) {
        g_autofree char *where = md_origin_describe(&it->origin);
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "%s: device (%s): property '%s': there is no %s '%s'",
                    where, it->type, v->desc->name, what, v->s ? v->s : "");
    }
    return found;
}

/* The description without the built-in devices, for the PCI code's device set. */
static machine_desc plugin_devices_view(machine_desc *d)
{
    machine_desc view = { .items = g_ptr_array_new(), .plugin_paths = d->plugin_paths };
    for (guint i = 0; i < d->items->len; i++)
        if (!is_builtin_device(d->items->pdata[i]))
            g_ptr_array_add(view.items, d->items->pdata[i]);
    return view;
}

static gboolean on_signal(gpointer opaque)
{
    machine *m = opaque;
    fprintf(stderr, "tessera: terminating on a signal\n");
    vm_request_stop(m->vm, VM_STATUS_POWEROFF);
    return G_SOURCE_CONTINUE;
}

static void machine_teardown(machine *m)
{
    for (size_t i = 0; i < G_N_ELEMENTS(m->signal_sources); i++)
        if (m->signal_sources[i])
            g_source_remove(m->signal_sources[i]);
    device_set_free(m->devices);
    pci_host_free(m->pci);
    vm_destroy(m->vm);
    chardev_set_free(m->chardevs);
    launch_ram_release(&m->ram);
    object_set_free(m->objects);
}

/* The vm_config of the description; serial ports and debug-exit filled by the caller. */
static vm_config machine_config(machine_desc *d)
{
    prop_value *sockets = machine_value(d, "sockets"), *cores = machine_value(d, "cores"),
               *threads = machine_value(d, "threads");
    return (vm_config){
        .nr_vcpus = (unsigned)machine_value(d, "cpus")->i,
        .sockets = sockets->is_set ? (unsigned)sockets->i : 0,
        .cores = cores->is_set ? (unsigned)cores->i : 0,
        .threads = threads->is_set ? (unsigned)threads->i : 0,
        .serial_chardevs = true,
        .serial_fd = -1,
        .no_reboot = machine_value(d, "no-reboot")->b,
        .log_unclaimed_io = g_strcmp0(g_getenv("TESSERA_LOG"), "debug") == 0,
    };
}

/* The MADT holds 8-bit APIC ids (xAPIC entries), and 0xff means "all": ids must stay below. */
static int check_apic_ids(const vm_config *cfg, GError **err)
{
    cpu_topology t;
    int ret = cpu_topology_init(&t, cfg->nr_vcpus, cfg->sockets, cfg->cores, cfg->threads, err);
    if (ret < 0)
        return ret;
    uint32_t top = cpu_topology_apic_id(&t, t.nr_vcpus - 1);
    if (top > 254) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "-smp %u,sockets=%u,cores=%u,threads=%u needs APIC id %u, above the 254 the "
                    "ACPI tables can describe: use fewer vCPUs or powers of two for cores and threads",
                    t.nr_vcpus, t.sockets, t.cores, t.threads, top);
        return -EINVAL;
    }
    return 0;
}

int launch_machine(machine_desc *d, registry *reg, GError **err)
{
    /* -drive ...,if=virtio: QEMU's shorthand for a virtio-blk-pci device (issue #6). First:
     * it validates d again, which replaces the property values read below. */
    if (block_drives_add_virtio_devices(d, reg, err) < 0)
        return -EINVAL;
    machine m = { 0 };
    const char *kernel = machine_value(d, "kernel")->s;
    vm_config cfg = machine_config(d);
    boot_kernel_kind kind;
    int ret;
    (void)reg; /* plugin types were resolved by validation */

    if (!kernel) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "no kernel to boot: give -kernel FILE (a PVH ELF or a Linux bzImage)");
        return -EINVAL;
    }
    /* Cheap checks first (KVM itself, then the kernel file), before anything waits or allocates. */
    if ((ret = vm_check_host(err)) < 0 || (ret = boot_detect_file(kernel, &kind, err)) < 0 ||
        (ret = check_apic_ids(&cfg, err)) < 0)
        return ret;
    if ((ret = launch_debug_exit(d, &cfg, err)) < 0)
        return ret;

    m.objects = object_set_build(d, err);
    if (!m.objects)
        return -EINVAL;
    if ((ret = launch_ram_get(d, m.objects, &m.ram, err)) < 0)
        goto out;
    cfg.ram = &m.ram.region;
    m.chardevs = chardev_set_build(d, err);
    if (!m.chardevs) {
        ret = -EINVAL;
        goto out;
    }
    chardev_set_make_current(m.chardevs);
    if ((ret = launch_serial_ports(d, m.chardevs, cfg.serial, err)) < 0)
        goto out;
    if ((ret = vm_create(&cfg, &m.vm, err)) < 0)
        goto out;

    vm_pci_platform(m.vm, &m.platform);
    if ((ret = pci_host_new(&m.platform, &m.pci, err)) < 0)
        goto out;
    machine_desc view = plugin_devices_view(d);
    m.devices = device_set_build(&view, m.objects, m.pci, resolve_ref, &m, err);
    g_ptr_array_free(view.items, TRUE);
    if (!m.devices) {
        ret = -EINVAL;
        goto out;
    }
    const char *initrd = machine_value(d, "initrd")->s;
    const char *cmdline = machine_value(d, "cmdline")->s;
    if ((ret = vm_load_kernel(m.vm, kernel, initrd, cmdline, err)) < 0)
        goto out;

    /* A chardev peer or a pipe on stdout that goes away is an -EPIPE, not our death. */
    signal(SIGPIPE, SIG_IGN);
    m.signal_sources[0] = g_unix_signal_add(SIGINT, on_signal, &m);
    m.signal_sources[1] = g_unix_signal_add(SIGTERM, on_signal, &m);
    m.signal_sources[2] = g_unix_signal_add(SIGHUP, on_signal, &m);
    fflush(stdout);
    ret = vm_run(m.vm);
out:
    machine_teardown(&m);
    return ret;
}
