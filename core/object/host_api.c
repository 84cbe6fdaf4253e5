/* SPDX-License-Identifier: MIT */
/* The host-services table of SDK ABI 1.0, as the core implements it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chardev/chardev.h"
#include "util/error.h"
#include "object/object_private.h"
#include "pci/services.h"
#include "block/block.h"

/* Log threshold: warnings and errors by default, more with TESSERA_LOG=info|debug. */
static int log_threshold(void)
{
    static int level = -1;
    if (level < 0) {
        const char *env = g_getenv("TESSERA_LOG");
        level = !env ? TS_LOG_WARN
              : !strcmp(env, "debug") ? TS_LOG_DEBUG
              : !strcmp(env, "info") ? TS_LOG_INFO : TS_LOG_WARN;
    }
    return level;
}

static void host_log(ts_object *obj, int level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if (level > log_threshold())
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    const char *lname = level >= 0 && level <= TS_LOG_DEBUG ? names[level] : "log";
    if (obj)
        fprintf(stderr, "tessera: %s: %s '%s': %s\n", lname, obj->type->desc->name, obj->id, msg);
    else
        fprintf(stderr, "tessera: %s: %s\n", lname, msg);
}

static void host_set_error(ts_object *obj, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(obj->error);
    obj->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static const char *host_object_id(ts_object *obj)
{
    return obj->id;
}

static const char *host_object_type(ts_object *obj)
{
    return obj->type->desc->name;
}

/*
 * A plugin asking for a property it did not declare, or with the wrong getter, is a bug
 * in the plugin: stop loudly rather than hand it a made-up value.
 */
static prop_value *lookup(ts_object *obj, const char *name, uint32_t type)
{
    prop_value *v = prop_values_find(obj->item->values, name);
    if (!v || v->desc->type != type) {
        fprintf(stderr, "tessera: plugin bug: %s (%s) reads %s property '%s' that it does not declare "
                "as such\n", obj->type->desc->name, obj->type->plugin->path, prop_type_name(type), name);
        abort();
    }
    return v;
}

static bool host_prop_is_set(ts_object *obj, const char *name)
{
    prop_value *v = prop_values_find(obj->item->values, name);
    return v && v->is_set;
}

static bool host_prop_bool(ts_object *obj, const char *name)
{
    return lookup(obj, name, TS_PROP_BOOL)->b;
}

static int64_t host_prop_int(ts_object *obj, const char *name)
{
    return lookup(obj, name, TS_PROP_INT)->i;
}

static uint64_t host_prop_size(ts_object *obj, const char *name)
{
    return lookup(obj, name, TS_PROP_SIZE)->size;
}

static const char *host_prop_string(ts_object *obj, const char *name)
{
    prop_value *v = lookup(obj, name, TS_PROP_STRING);
    return v->has_value ? v->s : NULL;
}

static uint32_t host_prop_enum(ts_object *obj, const char *name)
{
    return lookup(obj, name, TS_PROP_ENUM)->e;
}

static ts_object *host_prop_ref(ts_object *obj, const char *name)
{
    return lookup(obj, name, TS_PROP_REF)->ref;
}

static int host_memory_backend_region(ts_object *backend, ts_memory_region *out)
{
    return object_memory_region(backend, out);
}

static int host_memory_backend_claim(ts_object *backend, ts_object *user)
{
    if (!backend || backend->type->desc->kind != TS_KIND_MEMORY_BACKEND)
        return -EINVAL;
    if (backend->claimed_by && backend->claimed_by != user) {
        host_set_error(user, "memory backend '%s' is already in use by %s '%s'", backend->id,
                       backend->claimed_by->type->desc->name, backend->claimed_by->id);
        return -EBUSY;
    }
    backend->claimed_by = user;
    return 0;
}

static void host_memory_backend_release(ts_object *backend, ts_object *user)
{
    if (backend && backend->claimed_by == user)
        backend->claimed_by = NULL;
}

static const ts_host_api host_api = {
    .size = sizeof(ts_host_api),
    .abi_major = TS_ABI_MAJOR,
    .abi_minor = TS_ABI_MINOR,
    .log = host_log,
    .set_error = host_set_error,
    .object_id = host_object_id,
    .object_type = host_object_type,
    .prop_is_set = host_prop_is_set,
    .prop_bool = host_prop_bool,
    .prop_int = host_prop_int,
    .prop_size = host_prop_size,
    .prop_string = host_prop_string,
    .prop_enum = host_prop_enum,
    .prop_ref = host_prop_ref,
    .memory_backend_region = host_memory_backend_region,
    .memory_backend_claim = host_memory_backend_claim,
    .memory_backend_release = host_memory_backend_release,
    .guest_memory = &devsvc_guest_memory_api,
    .io = &devsvc_io_api,
    .pci = &devsvc_pci_api,
    .events = &devsvc_event_api,
    .chardev = &chardev_api_table,
    .block = &block_host_services,
};

const ts_host_api *object_host_api(void)
{
    return &host_api;
}

int object_plugin_init(const ts_plugin_desc *desc, GError **err)
{
    if (!desc->init)
        return 0;
    int r = desc->init(&host_api);
    if (r < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "plugin %s failed to initialize: %s",
                    desc->name, g_strerror(-r));
        return r;
    }
    return 0;
}
