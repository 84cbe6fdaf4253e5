/* SPDX-License-Identifier: MIT */
/*
 * example-memory-backend-zero: the smallest useful tessera plugin.
 *
 * It provides one memory-backend type whose memory is private anonymous memory that
 * starts out filled with a chosen byte. It is built outside the tessera tree against the
 * installed SDK and shows every part a plugin has: the property schema, the lifecycle
 * hooks, the kind operations of a memory backend, the type and plugin descriptors and
 * the one exported entry point.
 *
 * Usage, once installed or found with -plugin-path:
 *   -object example-memory-backend-zero,id=mem0,size=64M,fill=0xff
 */
#define _GNU_SOURCE
#include <tessera/tessera.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The host's services, handed to init. Every call into tessera goes through it. */
static const ts_host_api *host;

/* Per-object state, allocated in create and freed in destroy. */
typedef struct zero_backend {
    uint64_t size;      /* as the user asked (bytes) */
    uint8_t fill;       /* byte the memory starts out with */
    void *mem;          /* mapping while realized, else NULL */
    uint64_t mapped;    /* size rounded up to whole pages */
    uint64_t page_size;
} zero_backend;

/*
 * The properties, declared as data. The host parses and validates what the user wrote
 * against these (size is required and at least one byte, fill is an integer in 0..255)
 * and prints help from them, so the hooks below never see a bad value.
 */
static const ts_prop_desc zero_props[] = {
    TS_PROP_DESC_SIZE("size", TS_PROP_REQUIRED, NULL, 1, 0,
                      "size of the memory (rounded up to whole pages)"),
    TS_PROP_DESC_INT("fill", 0, "0", 0, 255, "byte value the memory starts out filled with"),
    TS_PROP_DESC_END,
};

/* Runs once, right after loading: keep the services table, check what we will use. */
static int zero_init(const ts_host_api *h)
{
    /* The table only grows; a member is there when it lies within h->size. */
    if (!TS_HOST_HAS(h, set_error) || !TS_HOST_HAS(h, prop_size) || !TS_HOST_HAS(h, prop_int))
        return -ENOTSUP;
    host = h;
    return 0;
}

/* create: read the (already validated) properties and allocate state, nothing more. */
static int zero_create(ts_object *obj, void **state)
{
    zero_backend *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->size = host->prop_size(obj, "size");
    z->fill = (uint8_t)host->prop_int(obj, "fill");
    *state = z;
    return 0;
}

/* realize: acquire the memory. Failures are reported with set_error and -errno. */
static int zero_realize(ts_object *obj, void *state)
{
    zero_backend *z = state;
    long page = sysconf(_SC_PAGESIZE);
    z->page_size = page > 0 ? (uint64_t)page : 4096;
    if (z->size > UINT64_MAX - (z->page_size - 1)) {
        host->set_error(obj, "size %llu is too large", (unsigned long long)z->size);
        return -EINVAL;
    }
    z->mapped = (z->size + z->page_size - 1) & ~(z->page_size - 1);
    void *mem = mmap(NULL, z->mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        host->set_error(obj, "cannot map %llu bytes: %s", (unsigned long long)z->mapped,
                        strerror(err));
        return -err;
    }
    /* Anonymous memory is already zero; touch the pages only for another fill byte. */
    if (z->fill)
        memset(mem, z->fill, z->mapped);
    z->mem = mem;
    return 0;
}

/* unrealize: undo realize (called only after a successful realize). */
static void zero_unrealize(ts_object *obj, void *state)
{
    zero_backend *z = state;
    munmap(z->mem, z->mapped);
    z->mem = NULL;
}

/* destroy: free state (called even when realize failed). */
static void zero_destroy(ts_object *obj, void *state)
{
    free(state);
}

/* The memory-backend kind operation: where the memory is, for the host to map into the guest. */
static int zero_get_region(ts_object *obj, void *state, ts_memory_region *out)
{
    zero_backend *z = state;
    if (!z->mem)
        return -EINVAL;
    *out = (ts_memory_region){
        .host = z->mem,
        .size = z->mapped,
        .fd = -1, /* anonymous: cannot be shared with another process */
        .flags = 0,
        .fd_offset = 0,
        .page_size = z->page_size,
    };
    return 0;
}

static const ts_memory_backend_ops zero_ops = {
    .size = sizeof(ts_memory_backend_ops),
    .get_region = zero_get_region,
};

static const ts_type_desc zero_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_MEMORY_BACKEND,
    .name = "example-memory-backend-zero",
    .description = "anonymous memory filled with one byte (SDK example)",
    .props = zero_props,
    .create = zero_create,
    .realize = zero_realize,
    .unrealize = zero_unrealize,
    .destroy = zero_destroy,
    .kind_ops = &zero_ops,
};

static const ts_type_desc *const zero_types[] = { &zero_type, NULL };

static const ts_plugin_desc zero_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "example-memory-backend-zero",
    .version = "1.0.0",
    .license = "MIT",
    .description = "SDK example: a memory backend filled with one byte",
    .types = zero_types,
    .init = zero_init,
};

/* The one exported symbol: tessera_plugin_entry_v1, returning &zero_plugin. */
TS_PLUGIN_DEFINE(zero_plugin)
