/* SPDX-License-Identifier: MIT */
/*
 * The block layer proper: format lookup and probing, nodes and backing chains,
 * synchronous I/O, block status through the chain, check and info.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_internal.h"
#include "object/object.h"
#include "util/error.h"

/* Bytes handed to probe functions. */
#define PROBE_BYTES 4096u

static registry *block_registry;
static registry *raw_registered_in;

void block_file_close(ts_block_file *f);

int block_init(registry *reg, GError **err)
{
    if (reg != raw_registered_in) {
        int r = block_raw_register(reg, err);
        if (r < 0)
            return r;
        raw_registered_in = reg;
    }
    block_registry = reg;
    return 0;
}

void block_aio_shutdown(void);
void block_shutdown(void)
{
    block_aio_shutdown();
    block_registry = NULL;
    raw_registered_in = NULL;
}

/* A format is usable when it has the required operations. */
static const ts_block_format_ops *usable_ops(const registry_type *t)
{
    const ts_block_format_ops *ops = t->desc->kind_ops;
    if (!ops || !ops->probe || !ops->open || !ops->get_size || !ops->read)
        return NULL;
    return ops;
}

GPtrArray *block_formats(void)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    if (!block_registry)
        return names;
    g_autoptr(GPtrArray) types = registry_types(block_registry);
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        if (t->desc->kind == TS_KIND_BLOCK_FORMAT && usable_ops(t))
            g_ptr_array_add(names, g_strdup(t->desc->name));
    }
    return names;
}

const registry_type *block_find_format(const char *name, GError **err)
{
    if (!block_registry) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "the block layer is not initialised");
        return NULL;
    }
    const registry_type *t = registry_find(block_registry, name, TS_KIND_BLOCK_FORMAT, err);
    if (t && !usable_ops(t)) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "format '%s' (%s) lacks the operations needed to open images", name,
                    t->plugin->path);
        return NULL;
    }
    return t;
}

/* ---- cache modes ---- */

static const char *const cache_names[] = { "writeback", "none", "unsafe", "directsync", "writethrough" };

bool block_cache_mode_parse(const char *text, block_cache_mode *out)
{
    for (guint i = 0; text && i < G_N_ELEMENTS(cache_names); i++) {
        if (strcmp(text, cache_names[i]) == 0) {
            *out = (block_cache_mode)i;
            return true;
        }
    }
    return false;
}

const char *block_cache_mode_name(block_cache_mode mode)
{
    return (unsigned)mode < G_N_ELEMENTS(cache_names) ? cache_names[mode] : "?";
}

void block_open_options_init(block_open_options *o)
{
    memset(o, 0, sizeof(*o));
    o->cache = BLOCK_CACHE_WRITEBACK;
}

/* ---- errors ---- */

/* Sets *err from the thread's plugin error, or from what + errno. */
static int node_fail(GError **err, const char *filename, int r, const char *what)
{
    g_autofree char *msg = block_take_error();
    if (r >= 0)
        r = -EIO;
    size_t fl = strlen(filename);
    if (msg && strncmp(msg, "'", 1) == 0 && strncmp(msg + 1, filename, fl) == 0 &&
        g_str_has_prefix(msg + 1 + fl, "': "))
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s", msg); /* already names the image */
    else if (msg && strncmp(msg, filename, fl) == 0 && g_str_has_prefix(msg + fl, ": "))
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': %s", filename, msg + fl + 2);
    else if (msg)
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': %s", filename, msg);
    else {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': %s: %s", filename, what, g_strerror(-r));
    }
    return r;
}

/* ---- probing ---- */

static const registry_type *probe_format(const char *filename, GError **err)
{
    int fd = open(filename, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': could not open: %s", filename,
                    g_strerror(errno));
        return NULL;
    }
    uint8_t *buf = g_malloc0(PROBE_BYTES);
    size_t len = 0;
    while (len < PROBE_BYTES) {
        ssize_t r = pread(fd, buf + len, PROBE_BYTES - len, (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            g_free(buf);
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': could not read: %s", filename,
                        g_strerror(e));
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    const registry_type *best = NULL;
    int best_score = 0;
    g_autoptr(GPtrArray) types = registry_types(block_registry);
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        const ts_block_format_ops *ops = t->desc->kind == TS_KIND_BLOCK_FORMAT ? usable_ops(t) : NULL;
        if (!ops)
            continue;
        int score = ops->probe(buf, len, filename);
        if (score > best_score) {
            best = t;
            best_score = score;
        }
    }
    g_free(buf);
    if (!best)
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': could not determine the image format",
                    filename);
    return best;
}

/* ---- nodes ---- */

/* name as seen from the directory of image (as QEMU combines paths: no "./" prefix). */
static char *relative_to_image(const char *image, const char *name)
{
    if (g_path_is_absolute(name))
        return g_strdup(name);
    g_autofree char *dir = g_path_get_dirname(image);
    if (strcmp(dir, ".") == 0)
        return g_strdup(name);
    return g_build_filename(dir, name, NULL);
}

/*
 * The format a backing file is opened with: the one the image states, unless the
 * parent's content is not of that format at all; then its content decides (so a VMDK,
 * whose parents QEMU always calls "vmdk", may sit on a raw parent).
 */
static const char *backing_format_for(const char *path, const char *stated)
{
    if (!stated)
        return NULL;
    const registry_type *t = block_find_format(stated, NULL);
    if (!t)
        return stated; /* let the open report the unknown format */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return stated;
    uint8_t *buf = g_malloc0(PROBE_BYTES);
    ssize_t r = pread(fd, buf, PROBE_BYTES, 0);
    close(fd);
    const ts_block_format_ops *ops = t->desc->kind_ops;
    int score = r >= 0 ? ops->probe(buf, (size_t)r, path) : 1;
    g_free(buf);
    return score > 0 ? stated : NULL;
}

static void node_free(block_node *n)
{
    if (!n)
        return;
    g_free(n->filename);
    g_free(n->real_dir);
    g_free(n->real_path);
    g_ptr_array_free(n->paths, TRUE);
    g_mutex_clear(&n->lock);
    g_mutex_clear(&n->paths_lock);
    g_mutex_clear(&n->aio_lock);
    g_cond_clear(&n->aio_cond);
    g_free(n);
}

static void node_lock(block_node *n)
{
    if (!n->thread_safe)
        g_mutex_lock(&n->lock);
}

static void node_unlock(block_node *n)
{
    if (!n->thread_safe)
        g_mutex_unlock(&n->lock);
}

static char *real_or_null(const char *path)
{
    char *r = realpath(path, NULL);
    char *copy = g_strdup(r);
    free(r);
    return copy;
}

/* Opens one layer; chain is the real paths of the layers above it (loop detection). */
static block_node *open_layer(const char *filename, const char *format, const block_open_options *o,
                              bool read_only, GPtrArray *chain, GError **err)
{
    if (chain->len >= BLOCK_MAX_CHAIN) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "'%s': backing chain is deeper than %d images", filename, BLOCK_MAX_CHAIN);
        return NULL;
    }
    g_autofree char *real = real_or_null(filename);
    if (!real) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': could not open: %s", filename,
                    g_strerror(errno));
        return NULL;
    }
    for (guint i = 0; i < chain->len; i++) {
        if (strcmp(chain->pdata[i], real) == 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "'%s': backing chain loop: the image is already in the chain", filename);
            return NULL;
        }
    }
    const registry_type *type = format ? block_find_format(format, err) : probe_format(filename, err);
    if (!type) {
        if (format && err && *err) {
            g_autofree char *m = g_strdup((*err)->message);
            g_clear_error(err);
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': unknown format '%s': %s", filename,
                        format, m);
        }
        return NULL;
    }
    block_node *n = g_new0(block_node, 1);
    n->filename = g_strdup(filename);
    g_autofree char *dir = g_path_get_dirname(filename);
    n->real_dir = real_or_null(dir);
    n->real_path = g_steal_pointer(&real);
    n->type = type;
    n->ops = type->desc->kind_ops;
    n->read_only = read_only;
    n->allow_outside = o->allow_outside;
    n->cache = o->cache;
    n->thread_safe = n->ops->flags & TS_BLOCK_FORMAT_THREAD_SAFE;
    n->paths = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&n->lock);
    g_mutex_init(&n->paths_lock);
    g_mutex_init(&n->aio_lock);
    g_cond_init(&n->aio_cond);
    g_free(block_take_error());
    int r = n->ops->open((ts_block_node *)n, &n->state);
    if (r < 0) {
        node_fail(err, filename, r, "could not open");
        node_free(n);
        return NULL;
    }
    n->opened = true;
    n->size = n->ops->get_size((ts_block_node *)n, n->state);

    if (!o->no_backing && n->ops->info) {
        ts_block_info info = { .size = sizeof(info) };
        r = n->ops->info((ts_block_node *)n, n->state, &info, NULL);
        if (r < 0) {
            node_fail(err, filename, r, "could not read the image information");
            goto fail;
        }
        if (info.read_only_format && !read_only) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "'%s': this %s image can only be opened read-only", filename,
                        type->desc->name);
            goto fail;
        }
        if (info.backing_file && *info.backing_file) {
            n->has_backing_name = true;
            g_autofree char *bpath = relative_to_image(filename, info.backing_file);
            const char *bfmt = chain->len == 0 && o->backing_format
                ? o->backing_format : backing_format_for(bpath, info.backing_format);
            g_ptr_array_add(chain, g_strdup(n->real_path));
            GError *e = NULL;
            n->backing = open_layer(bpath, bfmt, o, true, chain, &e);
            g_free(g_ptr_array_steal_index(chain, chain->len - 1));
            if (!n->backing) {
                g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': could not open backing file: %s",
                            filename, e->message);
                g_error_free(e);
                goto fail;
            }
        }
    }
    return n;
fail:
    if (n->ops->close)
        n->ops->close((ts_block_node *)n, n->state);
    g_free(block_take_error());
    node_free(n);
    return NULL;
}

block_node *block_open(const char *filename, const block_open_options *o, GError **err)
{
    block_open_options defaults;
    if (!o) {
        block_open_options_init(&defaults);
        o = &defaults;
    }
    if (!block_registry) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "the block layer is not initialised");
        return NULL;
    }
    if (!filename || !*filename) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "no image file name given");
        return NULL;
    }
    g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func(g_free);
    return open_layer(filename, o->format, o, o->read_only, chain, err);
}

int block_close(block_node *n, GError **err)
{
    int ret = 0;
    while (n) {
        block_node *below = n->backing;
        block_aio_drain(n);
        if (n->opened && n->ops->close) {
            g_free(block_take_error());
            int r = n->ops->close((ts_block_node *)n, n->state);
            if (r < 0 && ret == 0) {
                ret = node_fail(err, n->filename, r, "could not close");
            }
            g_free(block_take_error());
        }
        node_free(n);
        n = below;
    }
    return ret;
}

uint64_t block_size(block_node *n) { return n->size; }
const char *block_format_name(block_node *n) { return n->type->desc->name; }
const char *block_filename(block_node *n) { return n->filename; }
bool block_read_only(block_node *n) { return n->read_only; }
block_cache_mode block_cache(block_node *n) { return n->cache; }
block_node *block_backing(block_node *n) { return n->backing; }

/* ---- synchronous I/O ---- */

static int check_range(block_node *n, uint64_t off, uint64_t len, GError **err)
{
    if (off > n->size || len > n->size - off) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "'%s': request at offset %" PRIu64 " of %" PRIu64 " bytes is beyond the end "
                    "of the image (%" PRIu64 " bytes)", n->filename, off, len, n->size);
        return -EINVAL;
    }
    return 0;
}

static int check_writable(block_node *n, GError **err)
{
    if (n->read_only) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': the image is opened read-only",
                    n->filename);
        return -EROFS;
    }
    return 0;
}

int block_read(block_node *n, uint64_t off, void *buf, size_t len, GError **err)
{
    int r = check_range(n, off, len, err);
    if (r < 0 || len == 0)
        return r;
    g_free(block_take_error());
    node_lock(n);
    r = n->ops->read((ts_block_node *)n, n->state, off, buf, len);
    node_unlock(n);
    return r < 0 ? node_fail(err, n->filename, r, "read failed") : 0;
}

int block_node_backing_read(block_node *n, uint64_t off, void *buf, size_t len)
{
    block_node *b = n->backing;
    if (!b || off >= b->size) {
        memset(buf, 0, len);
        return 0;
    }
    size_t in = (size_t)MIN((uint64_t)len, b->size - off);
    if (in < len)
        memset((char *)buf + in, 0, len - in);
    node_lock(b);
    int r = b->ops->read((ts_block_node *)b, b->state, off, buf, in);
    node_unlock(b);
    return r;
}

int block_write(block_node *n, uint64_t off, const void *buf, size_t len, GError **err)
{
    int r = check_writable(n, err);
    if (r == 0)
        r = check_range(n, off, len, err);
    if (r < 0 || len == 0)
        return r;
    if (!n->ops->write) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': format %s cannot write", n->filename,
                    n->type->desc->name);
        return -ENOTSUP;
    }
    g_free(block_take_error());
    node_lock(n);
    r = n->ops->write((ts_block_node *)n, n->state, off, buf, len);
    node_unlock(n);
    return r < 0 ? node_fail(err, n->filename, r, "write failed") : 0;
}

/* Zeros in chunks, for formats (or file systems) that cannot zero efficiently. */
static int write_zero_buffers(block_node *n, uint64_t off, uint64_t len, GError **err)
{
    const size_t chunk = 1u << 20;
    g_autofree void *zeros = g_malloc0(MIN(chunk, len));
    while (len) {
        size_t now = (size_t)MIN((uint64_t)chunk, len);
        int r = block_write(n, off, zeros, now, err);
        if (r < 0)
            return r;
        off += now;
        len -= now;
    }
    return 0;
}

int block_write_zeroes(block_node *n, uint64_t off, uint64_t len, uint32_t flags, GError **err)
{
    int r = check_writable(n, err);
    if (r == 0)
        r = check_range(n, off, len, err);
    if (r < 0 || len == 0)
        return r;
    if (n->ops->write_zeroes) {
        g_free(block_take_error());
        node_lock(n);
        r = n->ops->write_zeroes((ts_block_node *)n, n->state, off, len, flags);
        node_unlock(n);
        if (r != -ENOTSUP)
            return r < 0 ? node_fail(err, n->filename, r, "write zeroes failed") : 0;
        g_free(block_take_error());
    }
    return write_zero_buffers(n, off, len, err);
}

int block_discard(block_node *n, uint64_t off, uint64_t len, GError **err)
{
    int r = check_writable(n, err);
    if (r == 0)
        r = check_range(n, off, len, err);
    if (r < 0 || len == 0 || !n->ops->discard)
        return r;
    g_free(block_take_error());
    node_lock(n);
    r = n->ops->discard((ts_block_node *)n, n->state, off, len);
    node_unlock(n);
    if (r == -ENOTSUP) { /* discard is advisory */
        g_free(block_take_error());
        return 0;
    }
    return r < 0 ? node_fail(err, n->filename, r, "discard failed") : 0;
}

int block_flush(block_node *n, GError **err)
{
    if (n->read_only || !n->ops->flush)
        return 0;
    g_free(block_take_error());
    node_lock(n);
    int r = n->ops->flush((ts_block_node *)n, n->state);
    node_unlock(n);
    return r < 0 ? node_fail(err, n->filename, r, "flush failed") : 0;
}

/* ---- block status ---- */

static int layer_status(block_node *n, uint64_t off, uint64_t max_len, ts_block_status *st,
                        GError **err)
{
    memset(st, 0, sizeof(*st));
    st->size = sizeof(*st);
    if (!n->ops->block_status) {
        st->flags = TS_BLOCK_STATUS_DATA | TS_BLOCK_STATUS_ALLOCATED;
        st->length = max_len;
        return 0;
    }
    g_free(block_take_error());
    node_lock(n);
    int r = n->ops->block_status((ts_block_node *)n, n->state, off, max_len, st);
    node_unlock(n);
    if (r < 0)
        return node_fail(err, n->filename, r, "block status failed");
    if (st->length == 0 || st->length > max_len) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "'%s': format %s reported a bad block-status length", n->filename,
                    n->type->desc->name);
        return -EIO;
    }
    return 0;
}

int block_get_status(block_node *n, uint64_t off, uint64_t max_len, bool through_backing,
                     block_status *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    out->offset = off;
    if (off < n->size)
        max_len = MIN(max_len, n->size - off); /* a range running past the end is clipped */
    int r = check_range(n, off, max_len, err);
    if (r < 0)
        return r;
    if (max_len == 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s': block status of an empty range",
                    n->filename);
        return -EINVAL;
    }
    uint64_t len = max_len;
    int depth = 0;
    for (block_node *l = n; l; l = l->backing, depth++) {
        if (off >= l->size) { /* beyond a shorter backing file: zeros */
            out->zero = true;
            out->depth = depth > 0 ? depth - 1 : 0;
            out->length = len;
            return 0;
        }
        len = MIN(len, l->size - off);
        ts_block_status st;
        r = layer_status(l, off, len, &st, err);
        if (r < 0)
            return r;
        len = st.length;
        out->depth = depth;
        if (st.flags & TS_BLOCK_STATUS_ALLOCATED) {
            out->allocated = true;
            out->data = st.flags & TS_BLOCK_STATUS_DATA;
            out->zero = st.flags & TS_BLOCK_STATUS_ZERO;
            out->compressed = st.flags & TS_BLOCK_STATUS_COMPRESSED;
            out->layer = l;
            if ((st.flags & TS_BLOCK_STATUS_OFFSET_VALID) && st.file) {
                out->offset_valid = true;
                out->host_offset = st.host_offset;
                out->host_file = st.file->interned ? st.file->interned
                                                   : block_node_intern_path(l, st.file->path);
            }
            out->length = len;
            return 0;
        }
        if (!through_backing)
            break;
    }
    /* Unallocated in every layer asked: reads as zeros. */
    out->zero = true;
    out->length = len;
    return 0;
}

/* ---- check ---- */

static __thread block_check_report_fn report_fn;
static __thread void *report_ctx;

void block_check_report_problem(ts_block_node *node, uint32_t kind, bool fixed, const char *msg);
void block_check_report_problem(ts_block_node *node, uint32_t kind, bool fixed, const char *msg)
{
    (void)node;
    if (report_fn && msg)
        report_fn(report_ctx, (int)kind, fixed, msg);
}

int block_check(block_node *n, block_repair repair, block_check_result *out, GError **err)
{
    return block_check_report(n, repair, NULL, NULL, out, err);
}

int block_check_report(block_node *n, block_repair repair, block_check_report_fn report, void *ctx,
                       block_check_result *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    if (!n->ops->check) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "'%s': format %s does not support checks",
                    n->filename, n->type->desc->name);
        return -ENOTSUP;
    }
    if (repair != BLOCK_REPAIR_NONE) {
        int r = check_writable(n, err);
        if (r < 0)
            return r;
    }
    ts_block_check_result res = { .size = sizeof(res) };
    g_free(block_take_error());
    node_lock(n);
    report_fn = report;
    report_ctx = ctx;
    int r = n->ops->check((ts_block_node *)n, n->state, (uint32_t)repair, &res);
    report_fn = NULL;
    report_ctx = NULL;
    node_unlock(n);
    if (r < 0)
        return node_fail(err, n->filename, r, "check failed");
    out->corruptions = res.corruptions;
    out->leaks = res.leaks;
    out->corruptions_fixed = res.corruptions_fixed;
    out->leaks_fixed = res.leaks_fixed;
    out->check_errors = res.check_errors;
    out->allocated_clusters = res.allocated_clusters;
    out->total_clusters = res.total_clusters;
    out->fragmented_clusters = res.fragmented_clusters;
    out->compressed_clusters = res.compressed_clusters;
    out->image_end_offset = res.image_end_offset;
    return 0;
}

/* ---- info ---- */

static uint64_t allocated_bytes(block_node *n)
{
    uint64_t total = 0;
    g_mutex_lock(&n->paths_lock);
    for (guint i = 0; i < n->paths->len; i++) {
        struct stat st;
        if (stat(n->paths->pdata[i], &st) == 0)
            total += (uint64_t)st.st_blocks * 512u;
    }
    g_mutex_unlock(&n->paths_lock);
    return total;
}

int block_get_info(block_node *n, block_info *out, GError **err)
{
    memset(out, 0, sizeof(*out));
    ts_block_info info = { .size = sizeof(info) };
    ts_block_info_builder *b = block_info_builder_new();
    int r = 0;
    if (n->ops->info) {
        g_free(block_take_error());
        node_lock(n);
        r = n->ops->info((ts_block_node *)n, n->state, &info, b);
        if (r == 0) {
            out->backing_file = g_strdup(info.backing_file);
            out->backing_format = g_strdup(info.backing_format);
        }
        node_unlock(n);
        if (r < 0) {
            block_info_builder_free(b);
            return node_fail(err, n->filename, r, "could not read the image information");
        }
    }
    out->format_specific = block_info_builder_finish(b);
    out->filename = g_strdup(n->filename);
    out->format = g_strdup(n->type->desc->name);
    out->virtual_size = n->size;
    out->cluster_size = info.cluster_size;
    out->dirty = info.dirty;
    out->read_only = n->read_only;
    out->disk_size = allocated_bytes(n);
    if (out->backing_file && *out->backing_file)
        out->full_backing_filename = relative_to_image(n->filename, out->backing_file);
    return 0;
}

void block_info_clear(block_info *info)
{
    g_free(info->filename);
    g_free(info->format);
    g_free(info->backing_file);
    g_free(info->backing_format);
    g_free(info->full_backing_filename);
    if (info->format_specific)
        g_variant_unref(info->format_specific);
    memset(info, 0, sizeof(*info));
}
