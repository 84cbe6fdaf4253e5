/* SPDX-License-Identifier: MIT */
/*
 * The built-in raw format: the image file is the disk. It is registered like a plugin
 * (registry_add_builtin) and reaches its file only through ts_block_api, the same
 * services a format plugin gets. It probes lowest of all formats, so any image another
 * format recognises by content is that format, and nothing else ever is raw by name.
 */
#include <errno.h>
#include <string.h>

#include "block/block_internal.h"
#include "object/object.h"

typedef struct raw_state {
    ts_block_file *file;
    uint64_t size;
} raw_state;

static const ts_block_api *api(void)
{
    return &block_host_services;
}

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)buf;
    (void)len;
    (void)filename;
    return 1; /* anything can be raw; every real format outscores this */
}

static int raw_open(ts_block_node *node, void **state)
{
    uint32_t fl = api()->node_flags(node);
    raw_state *s = g_new0(raw_state, 1);
    int r = api()->file_open(node, api()->node_filename(node),
                             (fl & TS_BLOCK_NODE_READ_ONLY) ? 0 : TS_BLOCK_FILE_WRITE, &s->file);
    if (r == 0)
        r = api()->file_size(s->file, &s->size);
    if (r < 0) {
        api()->file_close(s->file);
        g_free(s);
        return r;
    }
    *state = s;
    return 0;
}

static int raw_close(ts_block_node *node, void *state)
{
    raw_state *s = state;
    int r = (api()->node_flags(node) & TS_BLOCK_NODE_READ_ONLY) ? 0 : api()->file_flush(s->file);
    api()->file_close(s->file);
    g_free(s);
    return r;
}

static uint64_t raw_get_size(ts_block_node *node, void *state)
{
    (void)node;
    return ((raw_state *)state)->size;
}

static int raw_read(ts_block_node *node, void *state, uint64_t off, void *buf, size_t len)
{
    (void)node;
    raw_state *s = state;
    int64_t got = api()->file_pread(s->file, buf, len, off);
    if (got < 0)
        return (int)got;
    if ((size_t)got < len) /* the file shrank under us: what is gone reads as zeros */
        memset((char *)buf + got, 0, len - (size_t)got);
    return 0;
}

static int raw_write(ts_block_node *node, void *state, uint64_t off, const void *buf, size_t len)
{
    (void)node;
    return api()->file_pwrite(((raw_state *)state)->file, buf, len, off);
}

static int raw_write_zeroes(ts_block_node *node, void *state, uint64_t off, uint64_t len, uint32_t flags)
{
    (void)node;
    raw_state *s = state;
    if (flags & TS_BLOCK_ZERO_MAY_UNMAP) {
        int r = api()->file_allocate(s->file, off, len, TS_BLOCK_ALLOC_PUNCH);
        if (r != -ENOTSUP)
            return r;
    }
    return api()->file_allocate(s->file, off, len, TS_BLOCK_ALLOC_ZERO); /* -ENOTSUP: host writes zeros */
}

static int raw_discard(ts_block_node *node, void *state, uint64_t off, uint64_t len)
{
    (void)node;
    int r = api()->file_allocate(((raw_state *)state)->file, off, len, TS_BLOCK_ALLOC_PUNCH);
    return r == -ENOTSUP ? 0 : r;
}

static int raw_flush(ts_block_node *node, void *state)
{
    (void)node;
    return api()->file_flush(((raw_state *)state)->file);
}

static int raw_block_status(ts_block_node *node, void *state, uint64_t off, uint64_t max_len,
                            ts_block_status *out)
{
    (void)node;
    raw_state *s = state;
    bool data = true;
    uint64_t len = max_len;
    if (api()->file_extent(s->file, off, max_len, &data, &len) < 0) {
        data = true; /* cannot tell: claim data, which is always safe */
        len = max_len;
    }
    out->length = len;
    out->flags = TS_BLOCK_STATUS_ALLOCATED | TS_BLOCK_STATUS_OFFSET_VALID |
                 (data ? TS_BLOCK_STATUS_DATA : TS_BLOCK_STATUS_ZERO);
    out->file = s->file;
    out->host_offset = off;
    return 0;
}

static int raw_create(ts_object *opts, const char *filename, uint64_t size)
{
    const ts_host_api *host = object_host_api();
    uint32_t prealloc = host->prop_enum(opts, "preallocation");
    ts_block_file *f = NULL;
    int r = api()->file_open(NULL, filename, TS_BLOCK_FILE_CREATE, &f);
    if (r < 0)
        return r;
    r = api()->file_truncate(f, size);
    if (r == 0 && prealloc == 1 && size) {
        r = api()->file_allocate(f, 0, size, TS_BLOCK_ALLOC_RESERVE);
        if (r == -ENOTSUP)
            host->set_error(opts, "preallocation=falloc is not supported by the file system");
    } else if (r == 0 && prealloc == 2) {
        const size_t chunk = 1u << 20;
        g_autofree void *zeros = g_malloc0(chunk);
        for (uint64_t off = 0; r == 0 && off < size; off += chunk)
            r = api()->file_pwrite(f, zeros, (size_t)MIN((uint64_t)chunk, size - off), off);
    }
    if (r == 0)
        r = api()->file_flush(f);
    api()->file_close(f);
    return r;
}

static int raw_info(ts_block_node *node, void *state, ts_block_info *out, ts_block_info_builder *b)
{
    (void)b;
    out->virtual_size = raw_get_size(node, state);
    return 0;
}

static int raw_type_create(ts_object *obj, void **state)
{
    (void)obj;
    *state = NULL;
    return 0;
}

static const char *const prealloc_values[] = { "off", "falloc", "full", NULL };

static const ts_prop_desc raw_options[] = {
    TS_PROP_DESC_ENUM("preallocation", 0, "off", prealloc_values,
                      "off: sparse file; falloc: reserve the space; full: write zeros"),
    TS_PROP_DESC_END,
};

static const ts_block_format_ops raw_ops = {
    .size = sizeof(ts_block_format_ops),
    .flags = TS_BLOCK_FORMAT_THREAD_SAFE,
    .probe = raw_probe,
    .open = raw_open,
    .close = raw_close,
    .get_size = raw_get_size,
    .read = raw_read,
    .write = raw_write,
    .write_zeroes = raw_write_zeroes,
    .discard = raw_discard,
    .flush = raw_flush,
    .block_status = raw_block_status,
    .create = raw_create,
    .info = raw_info,
};

static const ts_type_desc raw_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_BLOCK_FORMAT,
    .name = "raw",
    .description = "raw disk image (built in): the file is the disk",
    .props = raw_options,
    .create = raw_type_create,
    .kind_ops = &raw_ops,
};

static const ts_type_desc *const raw_types[] = { &raw_type, NULL };

static const ts_plugin_desc raw_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "block-raw",
    .version = TESSERA_VERSION,
    .license = "MIT",
    .description = "built-in raw block format",
    .types = raw_types,
};

int block_raw_register(registry *reg, GError **err)
{
    return registry_add_builtin(reg, &raw_plugin, err);
}
