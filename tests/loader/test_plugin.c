/* SPDX-License-Identifier: MIT */
/*
 * One source, many deliberately good or broken plugins: each build of this file defines
 * one CASE_* macro (see CMakeLists.txt) and so produces one kind of plugin file the
 * loader must accept or refuse with a precise message.
 */
#pragma GCC diagnostic ignored "-Woverride-init" /* cases override one field of the good descriptor */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <tessera/tessera.h>

#ifndef TYPE_NAME
#define TYPE_NAME "test-backend"
#endif

static const ts_host_api *host;

typedef struct { void *mem; uint64_t size; } test_state;

static int test_create(ts_object *obj, void **state)
{
    test_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->size = host->prop_size(obj, "size");
    *state = s;
    return 0;
}

static int test_realize(ts_object *obj, void *state)
{
    test_state *s = state;
    s->mem = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->mem == MAP_FAILED) {
        s->mem = NULL;
        host->set_error(obj, "cannot map %llu bytes", (unsigned long long)s->size);
        return -ENOMEM;
    }
    return 0;
}

static void test_unrealize(ts_object *obj, void *state)
{
    test_state *s = state;
    munmap(s->mem, s->size);
}

static void test_destroy(ts_object *obj, void *state)
{
    free(state);
}

static int test_get_region(ts_object *obj, void *state, ts_memory_region *out)
{
    test_state *s = state;
    out->host = s->mem;
    out->size = s->size;
    out->fd = -1;
    out->page_size = 4096;
    return 0;
}

static const ts_memory_backend_ops test_ops = {
    .size = sizeof(ts_memory_backend_ops),
    .get_region = test_get_region,
};

static const ts_prop_desc test_props[] = {
    TS_PROP_DESC_SIZE("size", TS_PROP_REQUIRED, NULL, 4096, 0, "bytes of memory"),
    TS_PROP_DESC_END,
};

static const ts_type_desc test_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_MEMORY_BACKEND,
    .name = TYPE_NAME,
    .description = "a memory backend for loader tests",
    .props = test_props,
    .create = test_create,
    .realize = test_realize,
    .unrealize = test_unrealize,
    .destroy = test_destroy,
    .kind_ops = &test_ops,
};

__attribute__((unused)) static const ts_type_desc *const test_types[] = { &test_type, NULL };

__attribute__((unused)) static int test_init(const ts_host_api *h)
{
    host = h;
    return 0;
}

#define DESC_BODY                                                                       \
    .name = "test-plugin", .version = "0.0.1", .license = "MIT",                        \
    .description = "plugin built for loader tests", .types = test_types, .init = test_init

#if defined(CASE_GOOD)
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY };
TS_PLUGIN_DEFINE(desc)

#elif defined(CASE_NO_ENTRY)
/* A shared object with exports, none of them ours. */
TS_EXPORT int some_other_library_function(void);
TS_EXPORT int some_other_library_function(void) { return 42; }

#elif defined(CASE_BAD_MAGIC)
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .magic = 0xdeadbeef };
TS_PLUGIN_DEFINE(desc)

#elif defined(CASE_MAJOR_IN_DESC)
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .abi_major = 2 };
TS_PLUGIN_DEFINE(desc)

#elif defined(CASE_MAJOR_ENTRY_V2)
/* What a plugin for a future ABI 2 looks like from here: a differently named entry point. */
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .abi_major = 2 };
TS_EXPORT const ts_plugin_desc *tessera_plugin_entry_v2(void);
TS_EXPORT const ts_plugin_desc *tessera_plugin_entry_v2(void) { return &desc; }

#elif defined(CASE_MINOR_TOO_NEW)
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .abi_minor = TS_ABI_MINOR + 7 };
TS_PLUGIN_DEFINE(desc)

#elif defined(CASE_TAIL_NONZERO) || defined(CASE_TAIL_ZERO)
/* A descriptor built with newer headers: longer than ours, asking only for our minor. */
static const struct {
    ts_plugin_desc d;
    uint64_t newer_field;
} desc_long = {
    .d = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .size = sizeof(desc_long) },
#ifdef CASE_TAIL_NONZERO
    .newer_field = 1,
#endif
};
TS_PLUGIN_DEFINE(desc_long.d)

#elif defined(CASE_MISSING_DEP)
int tessera_test_dependency(void); /* provided by a library that is not installed */
static int init_with_dep(const ts_host_api *h)
{
    host = h;
    return tessera_test_dependency() == 7 ? 0 : -EINVAL;
}
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .init = init_with_dep };
TS_PLUGIN_DEFINE(desc)

#elif defined(CASE_INIT_FAILS)
static int init_fails(const ts_host_api *h)
{
    return -ENODEV;
}
static const ts_plugin_desc desc = { TS_PLUGIN_DESC_HEAD, DESC_BODY, .init = init_fails };
TS_PLUGIN_DEFINE(desc)

#else
#error "define one CASE_* macro"
#endif
