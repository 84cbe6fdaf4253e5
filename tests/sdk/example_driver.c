/* SPDX-License-Identifier: MIT */
/*
 * Drives the SDK example plugin through its whole lifecycle without tessera: loads the
 * .so given on the command line with dlopen, checks its descriptor the way the ABI
 * requires, and runs create, realize, get_region, unrealize and destroy against a stub
 * services table that answers property reads from a small fixed list. It proves that
 * the example built against the installed SDK does what its README says (memory of the
 * requested size, rounded to pages, filled with the fill byte).
 *
 * Usage: sdk-example-driver PLUGIN.so
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tessera/tessera.h>

#define EXAMPLE_TYPE "example-memory-backend-zero"

static int failures;

#define EXPECT(cond, ...)                                             \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
            failures++;                                               \
        }                                                             \
    } while (0)

/* The property values the stub host returns for the object being driven. */
static uint64_t stub_size;
static int64_t stub_fill;

static void stub_log(ts_object *obj, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "plugin log %d: ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void stub_set_error(ts_object *obj, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "plugin error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *stub_object_id(ts_object *obj) { return "mem0"; }
static const char *stub_object_type(ts_object *obj) { return EXAMPLE_TYPE; }
static bool stub_prop_is_set(ts_object *obj, const char *name) { return true; }

static uint64_t stub_prop_size(ts_object *obj, const char *name)
{
    EXPECT(strcmp(name, "size") == 0, "size property read as '%s'", name);
    return stub_size;
}

static int64_t stub_prop_int(ts_object *obj, const char *name)
{
    EXPECT(strcmp(name, "fill") == 0, "int property read as '%s'", name);
    return stub_fill;
}

static const ts_host_api stub_host = {
    .size = sizeof(ts_host_api),
    .abi_major = TS_ABI_MAJOR,
    .abi_minor = TS_ABI_MINOR,
    .log = stub_log,
    .set_error = stub_set_error,
    .object_id = stub_object_id,
    .object_type = stub_object_type,
    .prop_is_set = stub_prop_is_set,
    .prop_int = stub_prop_int,
    .prop_size = stub_prop_size,
};

static const ts_prop_desc *find_prop(const ts_prop_desc *props, const char *name)
{
    for (; props && props->name; props++)
        if (strcmp(props->name, name) == 0)
            return props;
    return NULL;
}

/* One object's life with the given properties; checks the memory it describes. */
static void drive(const ts_type_desc *t, uint64_t size, int64_t fill)
{
    const ts_memory_backend_ops *ops = t->kind_ops;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    void *state = NULL;
    ts_object *obj = (ts_object *)&stub_host; /* any non-NULL handle: the stub ignores it */

    stub_size = size;
    stub_fill = fill;
    int r = t->create(obj, &state);
    EXPECT(r == 0 && state, "create returned %d", r);
    if (r)
        return;
    r = t->realize(obj, state);
    EXPECT(r == 0, "realize returned %d", r);
    if (r == 0) {
        ts_memory_region region;
        memset(&region, 0x5a, sizeof(region));
        r = ops->get_region(obj, state, &region);
        EXPECT(r == 0, "get_region returned %d", r);
        uint64_t want = (size + page - 1) / page * page;
        EXPECT(region.size == want, "region size %llu, expected %llu",
               (unsigned long long)region.size, (unsigned long long)want);
        EXPECT(region.fd == -1, "anonymous memory has fd %d", region.fd);
        EXPECT(region.page_size == page, "page size %llu", (unsigned long long)region.page_size);
        EXPECT(region.reserved[0] == NULL && region.reserved[3] == NULL, "reserved not zeroed");
        const unsigned char *p = region.host;
        uint64_t bad = 0;
        for (uint64_t i = 0; p && i < region.size; i++)
            bad += p[i] != (unsigned char)fill;
        EXPECT(p && bad == 0, "%llu bytes differ from fill 0x%02x", (unsigned long long)bad,
               (unsigned)fill);
        if (t->unrealize)
            t->unrealize(obj, state);
    }
    if (t->destroy)
        t->destroy(obj, state);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "FAIL: cannot load %s: %s\n", argv[1], dlerror());
        return 1;
    }
    ts_plugin_entry_fn entry = (ts_plugin_entry_fn)(uintptr_t)dlsym(h, TS_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        fprintf(stderr, "FAIL: %s exports no %s\n", argv[1], TS_PLUGIN_ENTRY_SYMBOL);
        return 1;
    }
    const ts_plugin_desc *d = entry();
    EXPECT(d && d->magic == TS_PLUGIN_MAGIC, "bad descriptor magic");
    if (!d || d->magic != TS_PLUGIN_MAGIC)
        return 1;
    EXPECT(d->abi_major == TS_ABI_MAJOR && d->abi_minor <= TS_ABI_MINOR, "ABI %u.%u",
           d->abi_major, d->abi_minor);
    EXPECT(d->size == sizeof(ts_plugin_desc), "descriptor size %u", d->size);
    EXPECT(d->name && d->version && d->license, "descriptor lacks name, version or license");
    EXPECT(d->types && d->types[0] && !d->types[1], "expected exactly one type");
    EXPECT(!d->init || d->init(&stub_host) == 0, "init failed");
    if (failures || !d->types || !d->types[0])
        return 1;

    const ts_type_desc *t = d->types[0];
    EXPECT(t->size == sizeof(ts_type_desc), "type descriptor size %u", t->size);
    EXPECT(t->kind == TS_KIND_MEMORY_BACKEND, "kind %u", t->kind);
    EXPECT(t->name && strcmp(t->name, EXAMPLE_TYPE) == 0, "type name %s", t->name);
    EXPECT(t->create && t->realize && t->kind_ops, "type lacks hooks");
    const ts_prop_desc *size = find_prop(t->props, "size");
    const ts_prop_desc *fill = find_prop(t->props, "fill");
    EXPECT(size && size->type == TS_PROP_SIZE && (size->flags & TS_PROP_REQUIRED),
           "size must be a required size property");
    EXPECT(fill && fill->type == TS_PROP_INT && fill->min == 0 && fill->max == 255 &&
           fill->default_value && strcmp(fill->default_value, "0") == 0,
           "fill must be an int property 0..255 defaulting to 0");
    const ts_memory_backend_ops *ops = t->kind_ops;
    EXPECT(ops && ops->size >= sizeof(uint32_t) * 2 && ops->get_region, "bad memory-backend ops");
    if (failures)
        return 1;

    drive(t, 1, 0);
    drive(t, 10000, 0xab);
    drive(t, 3 * (uint64_t)sysconf(_SC_PAGESIZE), 255);
    if (d->fini)
        d->fini();
    dlclose(h);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("example plugin %s: descriptor and lifecycle OK\n", argv[1]);
    return 0;
}
