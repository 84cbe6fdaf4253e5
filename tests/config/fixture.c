/* SPDX-License-Identifier: MIT */
/* Test types registered as a built-in plugin, so config tests need no plugin files. */
#include "fixture.h"

#include <stdarg.h>

static int test_create(ts_object *obj, void **state)
{
    *state = NULL;
    return 0;
}

static int test_get_region(ts_object *obj, void *state, ts_memory_region *out)
{
    return -1;
}

static const char *const modes[] = { "fast", "slow", NULL };

static const ts_prop_desc dev_props[] = {
    TS_PROP_DESC_BOOL("flag", 0, "off", "a switch"),
    TS_PROP_DESC_INT("count", 0, "1", 0, 10, "how many"),
    TS_PROP_DESC_SIZE("buf", 0, "64K", 4096, 1 << 30, "buffer size"),
    TS_PROP_DESC_STRING("label", 0, NULL, "a name"),
    TS_PROP_DESC_ENUM("mode", 0, "fast", modes, "speed"),
    TS_PROP_DESC_REF("memdev", 0, TS_REF_MEMORY_BACKEND, "memory"),
    TS_PROP_DESC_REF("chardev", 0, TS_REF_CHARDEV, "character device"),
    TS_PROP_DESC_REF("drive", 0, TS_REF_DRIVE, "disk"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc req_props[] = {
    TS_PROP_DESC_STRING("name", TS_PROP_REQUIRED, NULL, "must be given"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc mem_props[] = {
    TS_PROP_DESC_SIZE("size", TS_PROP_REQUIRED, NULL, 1, 0, "size"),
    TS_PROP_DESC_BOOL("share", 0, "off", "shared"),
    TS_PROP_DESC_END,
};

static const ts_device_ops dev_ops = { .size = sizeof(ts_device_ops), .bus = TS_BUS_PCI };
static const ts_memory_backend_ops mem_ops = { .size = sizeof(ts_memory_backend_ops),
                                               .get_region = test_get_region };
static const ts_block_format_ops fmt_ops = { .size = sizeof(ts_block_format_ops) };

#define TEST_TYPE(n, k, p, ops) \
    { .size = sizeof(ts_type_desc), .kind = (k), .name = (n), .description = "test type " n, \
      .props = (p), .create = test_create, .kind_ops = (ops) }

static const ts_type_desc dev_type = TEST_TYPE("test-dev", TS_KIND_DEVICE, dev_props, &dev_ops);
static const ts_type_desc req_type = TEST_TYPE("test-req", TS_KIND_DEVICE, req_props, &dev_ops);
static const ts_type_desc mem_type = TEST_TYPE("test-mem", TS_KIND_MEMORY_BACKEND, mem_props, &mem_ops);
static const ts_type_desc fmt_type = TEST_TYPE("test-fmt", TS_KIND_BLOCK_FORMAT, NULL, &fmt_ops);
static const ts_type_desc *const types[] = { &dev_type, &req_type, &mem_type, &fmt_type, NULL };

static const ts_plugin_desc plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "config-test",
    .version = "0.0.1",
    .license = "MIT",
    .description = "types for the config tests",
    .types = types,
};

static registry *shared;

registry *fixture_registry(void)
{
    if (shared)
        return shared;
    g_unsetenv("TESSERA_PLUGIN_PATH");
    shared = registry_new(NULL, 0);
    GError *err = NULL;
    int r = registry_add_builtin(shared, &plugin, &err);
    ck_assert_msg(r == 0, "%s", err ? err->message : "");
    return shared;
}

/* argv from a NULL-terminated va_list, with a program name in front. */
static GPtrArray *collect(const char *first, va_list ap)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"tessera");
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (char *)a);
    g_ptr_array_add(argv, NULL);
    return argv;
}

static int parse_va(cmdline *cl, GError **err, const char *first, va_list ap)
{
    g_autoptr(GPtrArray) argv = collect(first, ap);
    return cmdline_parse(cl, (int)argv->len - 1, (char **)argv->pdata, err);
}

machine_desc *fixture_parse(const char *first, ...)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    va_list ap;
    va_start(ap, first);
    int r = parse_va(&cl, &err, first, ap);
    va_end(ap);
    ck_assert_msg(r == 0, "parse failed: %s", err ? err->message : "");
    machine_desc *d = cl.desc;
    cl.desc = NULL;
    cmdline_clear(&cl);
    return d;
}

char *fixture_parse_error(const char *first, ...)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    va_list ap;
    va_start(ap, first);
    int r = parse_va(&cl, &err, first, ap);
    va_end(ap);
    ck_assert_msg(r < 0, "parse should fail");
    ck_assert_ptr_nonnull(err);
    char *msg = g_strdup(err->message);
    g_error_free(err);
    cmdline_clear(&cl);
    return msg;
}

char *fixture_validate_error(const char *first, ...)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    va_list ap;
    va_start(ap, first);
    int r = parse_va(&cl, &err, first, ap);
    va_end(ap);
    ck_assert_msg(r == 0, "parse failed: %s", err ? err->message : "");
    r = machine_desc_validate(cl.desc, fixture_registry(), &err);
    ck_assert_msg(r < 0, "validation should fail");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(!strchr(err->message, '\n'), "message is not one line: %s", err->message);
    char *msg = g_strdup(err->message);
    g_error_free(err);
    cmdline_clear(&cl);
    return msg;
}

void fixture_validate_ok(machine_desc *d)
{
    GError *err = NULL;
    int r = machine_desc_validate(d, fixture_registry(), &err);
    ck_assert_msg(r == 0, "validation failed: %s", err ? err->message : "");
}
