/* SPDX-License-Identifier: MIT */
/*
 * Drives: the -drive items of a machine description, opened at VM launch, and the
 * ts_block_api services through which disk devices reach them.
 */
#include <errno.h>
#include <string.h>

#include "block/block_internal.h"
#include "object/object_private.h"
#include "util/error.h"

struct ts_block_drive {
    char *id;
    block_node *node;
    bool read_only;
    ts_object *claimed_by;
};

static GPtrArray *drives;       /* ts_block_drive * */
static GPtrArray *virtio_ids;   /* char * */
static GMutex drives_lock;

static void drive_free(gpointer p)
{
    ts_block_drive *d = p;
    GError *e = NULL;
    if (block_close(d->node, &e) < 0) {
        g_printerr("tessera: warning: drive '%s': %s\n", d->id, e->message);
        g_error_free(e);
    }
    g_free(d->id);
    g_free(d);
}

static const prop_value *value(md_item *it, const char *name)
{
    const prop_value *v = prop_values_find(it->values, name);
    return v && v->has_value ? v : NULL;
}

/* "ORIGIN: drive 'ID': property 'P': MESSAGE", origin of the property when it has one. */
static int drive_fail(GError **err, md_item *it, const char *id, const char *prop, const char *msg)
{
    const md_origin *where = &it->origin;
    for (guint i = 0; prop && i < it->props->len; i++) {
        md_prop *p = it->props->pdata[i];
        if (strcmp(p->key, prop) == 0 && (p->origin.file || p->origin.option))
            where = &p->origin;
    }
    g_autofree char *origin = md_origin_describe(where);
    if (prop)
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: drive '%s': property '%s': %s", origin, id,
                    prop, msg);
    else
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: drive '%s': %s", origin, id, msg);
    return -EINVAL;
}

int block_drives_open(machine_desc *d, GError **err)
{
    block_drives_close();
    drives = g_ptr_array_new_with_free_func(drive_free);
    virtio_ids = g_ptr_array_new_with_free_func(g_free);
    guint index = 0;
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls != MD_DRIVE)
            continue;
        g_autofree char *id = it->id ? g_strdup(it->id) : g_strdup_printf("drive%u", index);
        index++;
        if (!it->values) {
            int r = drive_fail(err, it, id, NULL, "not validated");
            block_drives_close();
            return r;
        }
        const prop_value *file = value(it, "file");
        if (!file || !*file->s)
            continue; /* an empty drive (no medium) */
        const prop_value *snap = value(it, "snapshot");
        if (snap && snap->b) {
            int r = drive_fail(err, it, id, "snapshot", "snapshot=on is not supported yet");
            block_drives_close();
            return r;
        }
        block_open_options o;
        block_open_options_init(&o);
        const prop_value *fmt = value(it, "format");
        o.format = fmt ? fmt->s : NULL;
        const prop_value *ro = value(it, "readonly");
        const prop_value *media = value(it, "media");
        o.read_only = (ro && ro->b) || (media && media->e == 1); /* media=cdrom is read-only, as in QEMU */
        const prop_value *cache = value(it, "cache");
        o.cache = cache ? (block_cache_mode)cache->e : BLOCK_CACHE_WRITEBACK;
        GError *e = NULL;
        block_node *n = block_open(file->s, &o, &e);
        if (!n) {
            int r = drive_fail(err, it, id, "file", e->message);
            g_error_free(e);
            block_drives_close();
            return r;
        }
        ts_block_drive *drv = g_new0(ts_block_drive, 1);
        drv->id = g_strdup(id);
        drv->node = n;
        drv->read_only = o.read_only;
        g_ptr_array_add(drives, drv);
        const prop_value *ifv = value(it, "if");
        if (ifv && ifv->e == 1) /* if=virtio: QEMU's shorthand for -device virtio-blk,drive=ID */
            g_ptr_array_add(virtio_ids, g_strdup(id));
    }
    return 0;
}

void block_drives_close(void)
{
    g_clear_pointer(&drives, g_ptr_array_unref);
    g_clear_pointer(&virtio_ids, g_ptr_array_unref);
}

static ts_block_drive *find(const char *id)
{
    for (guint i = 0; drives && id && i < drives->len; i++) {
        ts_block_drive *d = drives->pdata[i];
        if (strcmp(d->id, id) == 0)
            return d;
    }
    return NULL;
}

block_node *block_drive_find(const char *id)
{
    ts_block_drive *d = find(id);
    return d ? d->node : NULL;
}

const GPtrArray *block_drives_virtio(void)
{
    static GPtrArray *empty;
    if (!virtio_ids && !empty)
        empty = g_ptr_array_new();
    return virtio_ids ? virtio_ids : empty;
}

/* ---- services for devices ---- */

ts_block_drive *block_drive_get(ts_object *dev, const char *prop)
{
    const ts_host_api *host = object_host_api();
    prop_value *v = dev && dev->item ? prop_values_find(dev->item->values, prop) : NULL;
    if (!v || (v->desc->type != TS_PROP_STRING && v->desc->type != TS_PROP_REF)) {
        host->set_error(dev, "property '%s' does not name a drive", prop);
        return NULL;
    }
    if (!v->has_value || !v->s) {
        host->set_error(dev, "property '%s' is not set (give a drive id)", prop);
        return NULL;
    }
    g_mutex_lock(&drives_lock);
    ts_block_drive *d = find(v->s);
    if (!d) {
        g_mutex_unlock(&drives_lock);
        host->set_error(dev, "property '%s': no drive with id '%s' (or it has no file)", prop, v->s);
        return NULL;
    }
    if (d->claimed_by && d->claimed_by != dev) {
        ts_object *other = d->claimed_by;
        g_mutex_unlock(&drives_lock);
        host->set_error(dev, "property '%s': drive '%s' is already in use by %s '%s'", prop, v->s,
                        other->type->desc->name, other->id);
        return NULL;
    }
    d->claimed_by = dev;
    g_mutex_unlock(&drives_lock);
    return d;
}

void block_drive_release(ts_block_drive *drive, ts_object *dev)
{
    g_mutex_lock(&drives_lock);
    if (drive && drive->claimed_by == dev)
        drive->claimed_by = NULL;
    g_mutex_unlock(&drives_lock);
}

uint64_t block_drive_size(ts_block_drive *drive)
{
    return block_size(drive->node);
}

bool block_drive_read_only(ts_block_drive *drive)
{
    return drive->read_only || block_read_only(drive->node);
}

int block_drive_submit(ts_block_drive *drive, ts_block_request *req)
{
    if (!drive || !req)
        return -EINVAL;
    if (block_drive_read_only(drive) && req->op != TS_BLOCK_OP_READ && req->op != TS_BLOCK_OP_FLUSH)
        return -EROFS;
    return block_aio_submit_request(drive->node, req);
}
