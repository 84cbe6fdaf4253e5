/* SPDX-License-Identifier: MIT */
/* Block layer tests: raw format, probing, read-only, cache modes, async, create, drives. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "config/cmdline.h"
#include "config/machine.h"
#include "object/object.h"
#include "plugin/registry.h"

static registry *reg;
static char *dir;

/* ---- a test-only format whose reads wait for each other: proves parallelism without timing ---- */

static GMutex gate_lock;
static GCond gate_cond;
static int gate_inside, gate_max, gate_target;

static int gate_probe(const uint8_t *buf, size_t len, const char *name)
{
    (void)buf; (void)len; (void)name;
    return 0; /* only by name: format=gate-* */
}

static int gate_open(ts_block_node *node, void **state)
{
    (void)node;
    *state = NULL;
    return 0;
}

static int gate_close(ts_block_node *node, void *state)
{
    (void)node; (void)state;
    return 0;
}

static uint64_t gate_size(ts_block_node *node, void *state)
{
    (void)node; (void)state;
    return 1 << 20;
}

/* Waits (at most 30 s, a deadlock guard, not a timing assertion) until gate_target reads are inside. */
static int gate_read(ts_block_node *node, void *state, uint64_t off, void *buf, size_t len)
{
    (void)node; (void)state; (void)off;
    memset(buf, 0x5a, len);
    g_mutex_lock(&gate_lock);
    gate_inside++;
    gate_max = MAX(gate_max, gate_inside);
    g_cond_broadcast(&gate_cond);
    gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
    while (gate_max < gate_target)
        if (!g_cond_wait_until(&gate_cond, &gate_lock, end))
            break;
    gate_inside--;
    g_mutex_unlock(&gate_lock);
    return 0;
}

static int gate_type_create(ts_object *obj, void **state)
{
    (void)obj;
    *state = NULL;
    return 0;
}

#define GATE_OPS(f) { .size = sizeof(ts_block_format_ops), .flags = (f), .probe = gate_probe, \
    .open = gate_open, .close = gate_close, .get_size = gate_size, .read = gate_read }
static const ts_block_format_ops gate_ts_ops = GATE_OPS(TS_BLOCK_FORMAT_THREAD_SAFE);
static const ts_block_format_ops gate_serial_ops = GATE_OPS(0);
static const ts_type_desc gate_ts = { .size = sizeof(ts_type_desc), .kind = TS_KIND_BLOCK_FORMAT,
    .name = "gate-ts", .description = "test", .create = gate_type_create, .kind_ops = &gate_ts_ops };
static const ts_type_desc gate_serial = { .size = sizeof(ts_type_desc), .kind = TS_KIND_BLOCK_FORMAT,
    .name = "gate-serial", .description = "test", .create = gate_type_create,
    .kind_ops = &gate_serial_ops };
/* ---- a test disk device that reaches its drive through ts_block_api ---- */

typedef struct disk_state {
    ts_block_drive *drive;
} disk_state;

static int disk_create(ts_object *obj, void **state)
{
    (void)obj;
    *state = g_new0(disk_state, 1);
    return 0;
}

static int disk_realize(ts_object *obj, void *state)
{
    const ts_host_api *host = object_host_api();
    disk_state *s = state;
    s->drive = host->block->drive_get(obj, "drive");
    return s->drive ? 0 : -EINVAL;
}

static void disk_unrealize(ts_object *obj, void *state)
{
    disk_state *s = state;
    object_host_api()->block->drive_release(s->drive, obj);
}

static void disk_destroy(ts_object *obj, void *state)
{
    (void)obj;
    g_free(state);
}

static const ts_prop_desc disk_props[] = {
    TS_PROP_DESC_REF("drive", TS_PROP_REQUIRED, TS_REF_DRIVE, "the drive"),
    TS_PROP_DESC_END,
};
static const ts_device_ops disk_ops = { .size = sizeof(ts_device_ops), .bus = TS_BUS_ISA };
static const ts_type_desc disk_type = { .size = sizeof(ts_type_desc), .kind = TS_KIND_DEVICE,
    .name = "test-disk", .description = "test", .props = disk_props, .create = disk_create,
    .realize = disk_realize, .unrealize = disk_unrealize, .destroy = disk_destroy,
    .kind_ops = &disk_ops };

static const ts_type_desc *const gate_types[] = { &gate_ts, &gate_serial, &disk_type, NULL };
static const ts_plugin_desc gate_plugin = { TS_PLUGIN_DESC_HEAD, .name = "gate", .version = "0",
    .license = "MIT", .description = "test formats", .types = gate_types };

/* ---- fixtures ---- */

static void setup(void)
{
    const char *base = g_getenv("TESSERA_BUILD_DIR");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(), "blocktest-XXXXXX", NULL);
    dir = g_mkdtemp(g_steal_pointer(&tmpl));
    ck_assert_ptr_nonnull(dir);
    reg = registry_new(NULL, 0);
    GError *err = NULL;
    ck_assert_msg(block_init(reg, &err) == 0, "%s", err ? err->message : "");
    ck_assert_msg(registry_add_builtin(reg, &gate_plugin, &err) == 0, "%s", err ? err->message : "");
}

static void teardown(void)
{
    block_shutdown();
    registry_free(reg);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(dir);
}

static char *path(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static void write_file(const char *p, const void *data, size_t len)
{
    GError *err = NULL;
    ck_assert_msg(g_file_set_contents(p, data, (gssize)len, &err), "%s", err ? err->message : "");
}

static block_node *open_ok(const char *p, const block_open_options *o)
{
    GError *err = NULL;
    block_node *n = block_open(p, o, &err);
    ck_assert_msg(n, "open %s: %s", p, err ? err->message : "?");
    return n;
}

static void close_ok(block_node *n)
{
    GError *err = NULL;
    ck_assert_msg(block_close(n, &err) == 0, "%s", err ? err->message : "");
}

/* ---- raw ---- */

START_TEST(raw_create_write_read)
{
    g_autofree char *p = path("a.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 1 << 20, NULL, &err), 0);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_size, 1 << 20);
    block_node *n = open_ok(p, NULL);
    ck_assert_str_eq(block_format_name(n), "raw");
    ck_assert_uint_eq(block_size(n), 1 << 20);
    char buf[4096], back[4096];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7);
    ck_assert_int_eq(block_write(n, 12345, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(block_flush(n, &err), 0);
    ck_assert_int_eq(block_read(n, 12345, back, sizeof(back), &err), 0);
    ck_assert_mem_eq(buf, back, sizeof(buf));
    close_ok(n);
    /* the bytes are in the file itself */
    g_autofree char *data = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(p, &data, &len, NULL));
    ck_assert_uint_eq(len, 1 << 20);
    ck_assert_mem_eq(data + 12345, buf, sizeof(buf));
}
END_TEST

START_TEST(raw_out_of_range)
{
    g_autofree char *p = path("r.raw");
    write_file(p, "0123456789abcdef", 16);
    block_node *n = open_ok(p, NULL);
    char buf[32];
    GError *err = NULL;
    ck_assert_int_eq(block_read(n, 8, buf, 16, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "beyond the end"));
    ck_assert_ptr_nonnull(strstr(err->message, p));
    g_clear_error(&err);
    ck_assert_int_eq(block_read(n, 8, buf, 8, &err), 0);
    ck_assert_mem_eq(buf, "89abcdef", 8);
    close_ok(n);
}
END_TEST

START_TEST(raw_zeroes_discard_status)
{
    g_autofree char *p = path("z.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 4 << 20, NULL, &err), 0);
    block_node *n = open_ok(p, NULL);
    g_autofree char *ones = g_malloc(1 << 20);
    memset(ones, 1, 1 << 20);
    ck_assert_int_eq(block_write(n, 0, ones, 1 << 20, &err), 0);
    ck_assert_int_eq(block_write(n, 2 << 20, ones, 1 << 20, &err), 0);
    ck_assert_int_eq(block_write_zeroes(n, 4096, 8192, TS_BLOCK_ZERO_MAY_UNMAP, &err), 0);
    ck_assert_int_eq(block_write_zeroes(n, 65536, 4096, 0, &err), 0);
    ck_assert_int_eq(block_discard(n, 2 << 20, 1 << 20, &err), 0);
    g_autofree char *back = g_malloc(1 << 20);
    ck_assert_int_eq(block_read(n, 0, back, 1 << 20, &err), 0);
    memset(ones + 4096, 0, 8192);
    memset(ones + 65536, 0, 4096);
    ck_assert(memcmp(back, ones, 1 << 20) == 0);
    /* block status: data at 0, the untouched second MiB is a hole reported as zero */
    block_status st;
    ck_assert_int_eq(block_get_status(n, 0, 4 << 20, true, &st, &err), 0);
    ck_assert(st.allocated && st.data && !st.zero);
    ck_assert(st.offset_valid);
    ck_assert_uint_eq(st.host_offset, 0);
    ck_assert_str_eq(st.host_file, p);
    ck_assert_int_eq(block_get_status(n, 1 << 20, 1 << 20, true, &st, &err), 0);
    ck_assert(!st.data && st.zero);
    ck_assert_uint_eq(st.length, 1 << 20);
    close_ok(n);
}
END_TEST

START_TEST(raw_info_and_formats)
{
    g_autofree char *p = path("i.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 65536, "preallocation=full", &err), 0);
    block_node *n = open_ok(p, NULL);
    block_info info;
    ck_assert_int_eq(block_get_info(n, &info, &err), 0);
    ck_assert_str_eq(info.format, "raw");
    ck_assert_str_eq(info.filename, p);
    ck_assert_uint_eq(info.virtual_size, 65536);
    ck_assert_uint_ge(info.disk_size, 65536);
    ck_assert_ptr_null(info.backing_file);
    ck_assert_ptr_null(info.format_specific);
    block_info_clear(&info);
    close_ok(n);
    g_autoptr(GPtrArray) fmts = block_formats();
    bool raw = false;
    for (guint i = 0; i < fmts->len; i++)
        raw |= strcmp(fmts->pdata[i], "raw") == 0;
    ck_assert(raw);
}
END_TEST

/* ---- create options are validated against the format's schema ---- */

START_TEST(create_option_errors)
{
    g_autofree char *p = path("o.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 4096, "bogus=1", &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "has no option 'bogus'"));
    ck_assert_ptr_nonnull(strstr(err->message, "preallocation"));
    g_clear_error(&err);
    ck_assert_int_eq(block_create("raw", p, 4096, "preallocation=maybe", &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "'maybe' is not one of"));
    g_clear_error(&err);
    ck_assert_int_lt(block_create("nosuchformat", p, 4096, NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "nosuchformat"));
    g_clear_error(&err);
    ck_assert(!g_file_test(p, G_FILE_TEST_EXISTS)); /* nothing written on bad options */
    g_autofree char *help = block_create_help("raw", &err);
    ck_assert_ptr_nonnull(help);
    ck_assert_ptr_nonnull(strstr(help, "preallocation"));
    ck_assert_ptr_nonnull(strstr(help, "off|falloc|full"));
    const char *keys[] = { "preallocation" }, *vals[] = { "falloc" };
    ck_assert_int_eq(block_create_kv("raw", p, 8192, keys, vals, 1, &err), 0);
}
END_TEST

/* ---- probing: content decides, never the name ---- */

START_TEST(probe_text_file_is_raw)
{
    g_autofree char *p = path("looks-like.vmdk");
    const char text[] = "Hello, this raw disk happens to start with text.\n";
    write_file(p, text, sizeof(text));
    block_node *n = open_ok(p, NULL);
    ck_assert_str_eq(block_format_name(n), "raw");
    close_ok(n);
}
END_TEST

START_TEST(probe_missing_file)
{
    g_autofree char *p = path("nothere.img");
    GError *err = NULL;
    ck_assert_ptr_null(block_open(p, NULL, &err));
    g_autofree char *want = g_strdup_printf("'%s':", p);
    ck_assert_ptr_nonnull(strstr(err->message, want));
    ck_assert_ptr_nonnull(strstr(err->message, "No such file"));
    g_clear_error(&err);
    block_open_options o;
    block_open_options_init(&o);
    o.format = "nosuchfmt";
    write_file(p, "x", 1);
    ck_assert_ptr_null(block_open(p, &o, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "unknown format 'nosuchfmt'"));
    g_clear_error(&err);
}
END_TEST

/* ---- read-only opens never modify the file ---- */

START_TEST(read_only_never_writes)
{
    g_autofree char *p = path("ro.raw");
    char data[8192];
    memset(data, 0x33, sizeof(data));
    write_file(p, data, sizeof(data));
    struct stat before, after;
    ck_assert_int_eq(stat(p, &before), 0);
    block_open_options o;
    block_open_options_init(&o);
    o.read_only = true;
    block_node *n = open_ok(p, &o);
    ck_assert(block_read_only(n));
    GError *err = NULL;
    char buf[512];
    ck_assert_int_eq(block_read(n, 0, buf, sizeof(buf), &err), 0);
    ck_assert_int_eq(block_write(n, 0, buf, sizeof(buf), &err), -EROFS);
    ck_assert_ptr_nonnull(strstr(err->message, "read-only"));
    g_clear_error(&err);
    ck_assert_int_eq(block_write_zeroes(n, 0, 512, 0, &err), -EROFS);
    g_clear_error(&err);
    ck_assert_int_eq(block_discard(n, 0, 512, &err), -EROFS);
    g_clear_error(&err);
    ck_assert_int_eq(block_flush(n, &err), 0);
    block_info info;
    ck_assert_int_eq(block_get_info(n, &info, &err), 0);
    ck_assert(info.read_only);
    block_info_clear(&info);
    close_ok(n);
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_int_eq(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    ck_assert_int_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    g_autofree char *now = NULL;
    gsize len;
    ck_assert(g_file_get_contents(p, &now, &len, NULL));
    ck_assert_uint_eq(len, sizeof(data));
    ck_assert_mem_eq(now, data, sizeof(data));
}
END_TEST

/* ---- cache modes ---- */

START_TEST(cache_modes_round_trip)
{
    g_autofree char *p = path("c.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 4 << 20, NULL, &err), 0);
    for (int m = BLOCK_CACHE_WRITEBACK; m <= BLOCK_CACHE_WRITETHROUGH; m++) {
        block_cache_mode parsed;
        ck_assert(block_cache_mode_parse(block_cache_mode_name(m), &parsed));
        ck_assert_int_eq(parsed, m);
        block_open_options o;
        block_open_options_init(&o);
        o.cache = m;
        block_node *n = block_open(p, &o, &err);
        if (!n && (m == BLOCK_CACHE_NONE || m == BLOCK_CACHE_DIRECTSYNC)) {
            /* a file system without O_DIRECT (tmpfs): refused with a clear message, as QEMU does */
            ck_assert_ptr_nonnull(strstr(err->message, "O_DIRECT"));
            g_clear_error(&err);
            continue;
        }
        ck_assert_msg(n, "cache=%s: %s", block_cache_mode_name(m), err ? err->message : "");
        ck_assert_int_eq(block_cache(n), m);
        /* aligned (direct path) and unaligned (buffered path) requests both work */
        void *abuf = NULL;
        ck_assert_int_eq(posix_memalign(&abuf, 4096, 8192), 0);
        memset(abuf, 'A' + m, 8192);
        ck_assert_int_eq(block_write(n, 8192, abuf, 8192, &err), 0);
        char small[100];
        memset(small, 'a' + m, sizeof(small));
        ck_assert_int_eq(block_write(n, 777, small, sizeof(small), &err), 0);
        ck_assert_int_eq(block_flush(n, &err), 0);
        memset(abuf, 0, 8192);
        ck_assert_int_eq(block_read(n, 8192, abuf, 8192, &err), 0);
        for (int i = 0; i < 8192; i++)
            ck_assert_int_eq(((char *)abuf)[i], 'A' + m);
        char back[100];
        ck_assert_int_eq(block_read(n, 777, back, sizeof(back), &err), 0);
        ck_assert_mem_eq(back, small, sizeof(small));
        /* aligned range in unaligned memory, larger than one bounce buffer */
        size_t big = (1u << 20) + 8192;
        char *mem = g_malloc(big + 1), *mem2 = g_malloc(big + 1);
        for (size_t i = 0; i < big; i++)
            mem[1 + i] = (char)(i * 31 + m);
        ck_assert_int_eq(block_write(n, 1 << 20, mem + 1, big, &err), 0);
        ck_assert_int_eq(block_read(n, 1 << 20, mem2 + 1, big, &err), 0);
        ck_assert(memcmp(mem + 1, mem2 + 1, big) == 0);
        g_free(mem);
        g_free(mem2);
        free(abuf);
        close_ok(n);
    }
    block_cache_mode x;
    ck_assert(!block_cache_mode_parse("sometimes", &x));
}
END_TEST

/* ---- asynchronous requests ---- */

typedef struct aio_counter {
    GMutex lock;
    int done, failed;
} aio_counter;

static void count_cb(void *opaque, int ret, const GError *err)
{
    aio_counter *c = opaque;
    g_mutex_lock(&c->lock);
    c->done++;
    if (ret < 0 || err)
        c->failed++;
    g_mutex_unlock(&c->lock);
}

START_TEST(aio_many_requests)
{
    g_autofree char *p = path("aio.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", p, 64 * 4096, NULL, &err), 0);
    block_node *n = open_ok(p, NULL);
    static char bufs[64][4096];
    aio_counter c = { 0 };
    g_mutex_init(&c.lock);
    for (int i = 0; i < 64; i++) {
        memset(bufs[i], i + 1, 4096);
        ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_WRITE, (uint64_t)i * 4096, bufs[i], 4096, 0,
                                          count_cb, &c), 0);
    }
    block_aio_drain(n);
    ck_assert_int_eq(c.done, 64);
    ck_assert_int_eq(c.failed, 0);
    ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_FLUSH, 0, NULL, 0, 0, count_cb, &c), 0);
    for (int i = 0; i < 64; i++) {
        memset(bufs[i], 0, 4096);
        ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_READ, (uint64_t)i * 4096, bufs[i], 4096, 0,
                                          count_cb, &c), 0);
    }
    /* a request beyond the end completes with an error, not a crash */
    static char extra[4096];
    ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_READ, 64 * 4096, extra, 4096, 0, count_cb, &c), 0);
    block_aio_drain(n);
    ck_assert_int_eq(c.done, 64 + 1 + 64 + 1);
    ck_assert_int_eq(c.failed, 1);
    for (int i = 0; i < 64; i++)
        for (int k = 0; k < 4096; k++)
            ck_assert_int_eq(bufs[i][k], i + 1);
    close_ok(n);
    g_mutex_clear(&c.lock);
}
END_TEST

static void run_gate(const char *fmt, int target, int *max_seen)
{
    g_autofree char *p = path("gate");
    write_file(p, "", 0);
    block_open_options o;
    block_open_options_init(&o);
    o.format = fmt;
    block_node *n = open_ok(p, &o);
    gate_inside = gate_max = 0;
    gate_target = target;
    static char bufs[4][512];
    aio_counter c = { 0 };
    g_mutex_init(&c.lock);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_READ, (uint64_t)i * 512, bufs[i], 512, 0,
                                          count_cb, &c), 0);
    block_aio_drain(n);
    ck_assert_int_eq(c.done, 4);
    ck_assert_int_eq(c.failed, 0);
    *max_seen = gate_max;
    close_ok(n);
    g_mutex_clear(&c.lock);
}

START_TEST(aio_parallel_when_thread_safe)
{
    int max_seen = 0;
    run_gate("gate-ts", 4, &max_seen);
    ck_assert_int_eq(max_seen, 4); /* all four reads were inside the format at once */
}
END_TEST

START_TEST(aio_serialised_otherwise)
{
    int max_seen = 0;
    /* target 1: each read proceeds at once; a second read inside would raise the maximum */
    run_gate("gate-serial", 1, &max_seen);
    ck_assert_int_eq(max_seen, 1);
}
END_TEST

/* Completions of a serial node, in the order they ran; the first one submits more. */
typedef struct order_log {
    GMutex lock;
    block_node *n;
    int seen[300];
    int count, failed, resubmitted;
} order_log;

typedef struct order_req {
    order_log *log;
    int id;
    char buf[512];
} order_req;

static order_req order_reqs[300];

static void order_cb(void *opaque, int ret, const GError *err)
{
    order_req *r = opaque;
    order_log *l = r->log;
    g_mutex_lock(&l->lock);
    if (ret < 0 || err || r->buf[0] != 0x5a)
        l->failed++;
    l->seen[l->count++] = r->id;
    bool more = r->id == 0;
    g_mutex_unlock(&l->lock);
    if (more) { /* from inside the node's runner: queues behind what is already waiting */
        for (int i = 200; i < 300; i++)
            if (block_aio_submit(l->n, BLOCK_OP_READ, (uint64_t)(i % 8) * 512, order_reqs[i].buf,
                                 512, 0, order_cb, &order_reqs[i]) == 0)
                l->resubmitted++;
    }
}

START_TEST(aio_serial_runs_in_submission_order)
{
    g_autofree char *p = path("gate");
    write_file(p, "", 0);
    block_open_options o;
    block_open_options_init(&o);
    o.format = "gate-serial";
    block_node *n = open_ok(p, &o);
    gate_inside = gate_max = 0;
    gate_target = 1;
    static order_log l;
    memset(&l, 0, sizeof(l));
    g_mutex_init(&l.lock);
    l.n = n;
    for (int i = 0; i < 300; i++)
        order_reqs[i] = (order_req){ .log = &l, .id = i };
    /*
     * Holding the log's lock while submitting 0..199 keeps request 0's callback (which
     * submits 200..299) from running until they are all queued: submission order is then
     * exactly 0..299 however fast or slow the runner is.
     */
    g_mutex_lock(&l.lock);
    int submitted = 0;
    for (int i = 0; i < 200; i++)
        submitted += block_aio_submit(n, BLOCK_OP_READ, (uint64_t)(i % 8) * 512,
                                      order_reqs[i].buf, 512, 0, order_cb, &order_reqs[i]) == 0;
    g_mutex_unlock(&l.lock);
    ck_assert_int_eq(submitted, 200);
    block_aio_drain(n); /* waits for the requests submitted from the callback too */
    ck_assert_int_eq(l.resubmitted, 100);
    ck_assert_int_eq(l.count, 300);
    ck_assert_int_eq(l.failed, 0);
    ck_assert_int_eq(gate_max, 1);
    /* one at a time, first submitted first run (200..299 were submitted after 0..199) */
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(l.seen[i], i);
    /* the runner stopped when its queue emptied: a later request starts a new one */
    aio_counter c = { 0 };
    g_mutex_init(&c.lock);
    ck_assert_int_eq(block_aio_submit(n, BLOCK_OP_READ, 0, order_reqs[0].buf, 512, 0, count_cb, &c),
                     0);
    block_aio_drain(n);
    ck_assert_int_eq(c.done, 1);
    ck_assert_int_eq(c.failed, 0);
    g_mutex_clear(&c.lock);
    close_ok(n);
    g_mutex_clear(&l.lock);
}
END_TEST

/* ---- drives ---- */

static machine_desc *parse(const char *const *args, int argc)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    g_autofree char **argv = g_new0(char *, argc + 2);
    argv[0] = (char *)"tessera";
    for (int i = 0; i < argc; i++)
        argv[i + 1] = (char *)args[i];
    ck_assert_msg(cmdline_parse(&cl, argc + 1, argv, &err) == 0, "%s", err ? err->message : "");
    ck_assert_msg(machine_desc_validate(cl.desc, reg, &err) == 0, "%s", err ? err->message : "");
    machine_desc *d = cl.desc;
    cl.desc = NULL;
    cmdline_clear(&cl);
    return d;
}

START_TEST(drives_open_and_virtio_shorthand)
{
    g_autofree char *a = path("d0.raw");
    g_autofree char *b = path("d1.raw");
    write_file(a, "aaaaaaaa", 8);
    write_file(b, "bbbbbbbbbbbbbbbb", 16);
    g_autofree char *opt0 = g_strdup_printf("file=%s,format=raw,if=none,id=d0,readonly=on", a);
    g_autofree char *opt1 = g_strdup_printf("file=%s,if=virtio,cache=writethrough", b);
    g_autofree char *opt2 = g_strdup_printf("file=%s,format=raw,media=cdrom,id=cd", b);
    const char *args[] = { "-drive", opt0, "-drive", opt1, "-drive", opt2 };
    machine_desc *d = parse(args, 6);
    GError *err = NULL;
    ck_assert_msg(block_drives_open(d, &err) == 0, "%s", err ? err->message : "");
    block_node *n0 = block_drive_find("d0");
    ck_assert_ptr_nonnull(n0);
    ck_assert(block_read_only(n0));
    ck_assert_uint_eq(block_size(n0), 8);
    block_node *n1 = block_drive_find("drive1");
    ck_assert_ptr_nonnull(n1);
    ck_assert_int_eq(block_cache(n1), BLOCK_CACHE_WRITETHROUGH);
    ck_assert(!block_read_only(n1));
    ck_assert(block_read_only(block_drive_find("cd")));
    const GPtrArray *virtio = block_drives_virtio();
    ck_assert_uint_eq(virtio->len, 1);
    ck_assert_str_eq(virtio->pdata[0], "drive1");
    block_drives_close();
    ck_assert_ptr_null(block_drive_find("d0"));
    machine_desc_free(d);
}
END_TEST

START_TEST(drives_bad_image_names_option)
{
    g_autofree char *a = path("missing.raw");
    g_autofree char *opt = g_strdup_printf("file=%s,format=raw,if=none,id=d0", a);
    const char *args[] = { "-drive", opt };
    machine_desc *d = parse(args, 2);
    GError *err = NULL;
    ck_assert_int_lt(block_drives_open(d, &err), 0);
    ck_assert_ptr_nonnull(strstr(err->message, "-drive"));
    ck_assert_ptr_nonnull(strstr(err->message, "drive 'd0'"));
    ck_assert_ptr_nonnull(strstr(err->message, "property 'file'"));
    ck_assert_ptr_nonnull(strstr(err->message, a));
    g_clear_error(&err);
    machine_desc_free(d);
}
END_TEST

/* A device's requests: submitted through ts_block_api, completed on the pool. */
typedef struct dev_req {
    ts_block_request req;
    struct iovec iov[2];
    int ret;
    gint *done;
} dev_req;

static void dev_complete(ts_block_request *req, int ret)
{
    dev_req *r = (dev_req *)req;
    r->ret = ret;
    g_atomic_int_inc(r->done);
}

static void wait_done(gint *done, int n)
{
    /* completion is asynchronous; poll the counter (no timing assertion: ctest's timeout guards) */
    while (g_atomic_int_get(done) < n)
        g_usleep(1000);
}

START_TEST(device_requests_through_sdk)
{
    g_autofree char *a = path("dev.raw");
    GError *err = NULL;
    ck_assert_int_eq(block_create("raw", a, 1 << 20, NULL, &err), 0);
    g_autofree char *opt = g_strdup_printf("file=%s,format=raw,if=none,id=d0", a);
    const char *args[] = { "-drive", opt, "-device", "test-disk,id=disk0,drive=d0",
                           "-device", "test-disk,id=disk1,drive=d0" };
    machine_desc *d = parse(args, 6);
    ck_assert_msg(block_drives_open(d, &err) == 0, "%s", err ? err->message : "");
    md_item *dev0 = NULL, *dev1 = NULL;
    for (guint i = 0; i < d->items->len; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls == MD_DEVICE)
            *(dev0 ? &dev1 : &dev0) = it;
    }
    ts_object *o0 = object_instantiate(dev0, &err);
    ck_assert_msg(o0, "%s", err ? err->message : "");
    /* a second device cannot claim the same drive */
    ck_assert_ptr_null(object_instantiate(dev1, &err));
    ck_assert_msg(strstr(err->message, "drive 'd0' is already in use by test-disk 'disk0'"), "%s",
                  err->message);
    g_clear_error(&err);
    const ts_block_api *b = object_host_api()->block;
    ts_block_drive *drv = ((disk_state *)object_get_state(o0))->drive;
    ck_assert_uint_eq(b->drive_size(drv), 1 << 20);
    ck_assert(!b->drive_read_only(drv));

    gint done = 0;
    static char w1[4096], w2[512], r1[4096 + 512];
    memset(w1, 'x', sizeof(w1));
    memset(w2, 'y', sizeof(w2));
    dev_req wr = { .req = { .size = sizeof(ts_block_request), .op = TS_BLOCK_OP_WRITE, .offset = 8192,
                            .iovcnt = 2, .complete = dev_complete }, .done = &done };
    wr.iov[0] = (struct iovec){ w1, sizeof(w1) };
    wr.iov[1] = (struct iovec){ w2, sizeof(w2) };
    wr.req.iov = wr.iov;
    ck_assert_int_eq(b->drive_submit(drv, &wr.req), 0);
    wait_done(&done, 1);
    ck_assert_int_eq(wr.ret, 0);
    dev_req fl = { .req = { .size = sizeof(ts_block_request), .op = TS_BLOCK_OP_FLUSH,
                            .complete = dev_complete }, .done = &done };
    ck_assert_int_eq(b->drive_submit(drv, &fl.req), 0);
    wait_done(&done, 2);
    ck_assert_int_eq(fl.ret, 0);
    dev_req rd = { .req = { .size = sizeof(ts_block_request), .op = TS_BLOCK_OP_READ, .offset = 8192,
                            .iovcnt = 1, .complete = dev_complete }, .done = &done };
    rd.iov[0] = (struct iovec){ r1, sizeof(r1) };
    rd.req.iov = rd.iov;
    ck_assert_int_eq(b->drive_submit(drv, &rd.req), 0);
    wait_done(&done, 3);
    ck_assert_int_eq(rd.ret, 0);
    ck_assert(memcmp(r1, w1, sizeof(w1)) == 0 && memcmp(r1 + 4096, w2, sizeof(w2)) == 0);
    dev_req wz = { .req = { .size = sizeof(ts_block_request), .op = TS_BLOCK_OP_WRITE_ZEROES,
                            .offset = 8192, .length = 4096, .flags = TS_BLOCK_ZERO_MAY_UNMAP,
                            .complete = dev_complete }, .done = &done };
    ck_assert_int_eq(b->drive_submit(drv, &wz.req), 0);
    wait_done(&done, 4);
    ck_assert_int_eq(wz.ret, 0);
    /* past the end: the request completes with an error */
    dev_req bad = { .req = { .size = sizeof(ts_block_request), .op = TS_BLOCK_OP_READ,
                             .offset = (1 << 20) - 512, .iovcnt = 1, .complete = dev_complete },
                    .done = &done };
    bad.iov[0] = (struct iovec){ r1, sizeof(r1) };
    bad.req.iov = bad.iov;
    ck_assert_int_eq(b->drive_submit(drv, &bad.req), 0);
    wait_done(&done, 5);
    ck_assert_int_eq(bad.ret, -EINVAL);
    ck_assert_int_eq(block_read(block_drive_find("d0"), 8192, r1, sizeof(r1), &err), 0);
    for (int i = 0; i < 4096; i++)
        ck_assert_int_eq(r1[i], 0);
    ck_assert_int_eq(r1[4096], 'y');
    object_destroy(o0);
    block_drives_close();
    machine_desc_free(d);
}
END_TEST

#ifdef TESSERA_BIN
/* The real program: a bad -drive fails before the VM starts, naming the option. */
START_TEST(tessera_bad_drive_fails_early)
{
    g_autofree char *a = path("nope.raw");
    g_autofree char *opt = g_strdup_printf("file=%s,format=raw,if=none,id=d0", a);
    char *argv[] = { (char *)TESSERA_BIN, (char *)"-drive", opt, NULL };
    g_autofree char *out = NULL, *errs = NULL;
    int status = 0;
    GError *err = NULL;
    ck_assert(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out, &errs, &status, &err));
    ck_assert(!g_spawn_check_wait_status(status, NULL));
    ck_assert_msg(strstr(errs, "drive 'd0'") && strstr(errs, "property 'file'") && strstr(errs, a),
                  "stderr: %s", errs);
    ck_assert_ptr_null(strstr(out, "would start"));
}
END_TEST
#endif

static Suite *block_suite(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("block");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, raw_create_write_read);
    tcase_add_test(tc, raw_out_of_range);
    tcase_add_test(tc, raw_zeroes_discard_status);
    tcase_add_test(tc, raw_info_and_formats);
    tcase_add_test(tc, create_option_errors);
    tcase_add_test(tc, probe_text_file_is_raw);
    tcase_add_test(tc, probe_missing_file);
    tcase_add_test(tc, read_only_never_writes);
    tcase_add_test(tc, cache_modes_round_trip);
    tcase_add_test(tc, aio_many_requests);
    tcase_add_test(tc, aio_parallel_when_thread_safe);
    tcase_add_test(tc, aio_serialised_otherwise);
    tcase_add_test(tc, aio_serial_runs_in_submission_order);
    tcase_add_test(tc, drives_open_and_virtio_shorthand);
    tcase_add_test(tc, drives_bad_image_names_option);
    tcase_add_test(tc, device_requests_through_sdk);
#ifdef TESSERA_BIN
    tcase_add_test(tc, tessera_bad_drive_fails_early);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
