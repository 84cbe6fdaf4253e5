/* SPDX-License-Identifier: MIT */
/*
 * The vmdk format plugin: a thin adapter from ts_block_format_ops to the VMDK engine
 * (../vmdk.h). Every file the engine opens goes through the host's file service
 * (ts_block_api.file_*), so the drive's read-only flag, cache mode and the extent-path
 * rule apply; unallocated grains read through the host's backing node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/tessera.h>

#include "vmdk.h"

static const ts_host_api *host;
#define BLK (host->block)

/* ---- the engine's files, over host files ---- */

struct vmdk_state;

typedef struct host_vfile {
    struct vmdk_file base; /* first: the engine casts */
    ts_block_file *f;
    struct vmdk_state *owner; /* node state (NULL while creating) */
    struct host_vfile *next;  /* in owner->files */
} host_vfile;

typedef struct vmdk_state {
    struct vmdk_image *img;
    ts_block_node *node;
    struct vmdk_opener opener;
    host_vfile *files; /* every file the engine has open, for block status */
    bool parent_checked; /* the parent's CID matched once; as QEMU, checked only once */
} vmdk_state;

static ssize_t hf_pread(struct vmdk_file *vf, void *buf, size_t len, uint64_t off)
{
    return (ssize_t)BLK->file_pread(((host_vfile *)vf)->f, buf, len, off);
}

static ssize_t hf_pwrite(struct vmdk_file *vf, const void *buf, size_t len, uint64_t off)
{
    int r = BLK->file_pwrite(((host_vfile *)vf)->f, buf, len, off);
    return r < 0 ? r : (ssize_t)len;
}

static int hf_get_size(struct vmdk_file *vf, uint64_t *size)
{
    return BLK->file_size(((host_vfile *)vf)->f, size);
}

static int hf_truncate(struct vmdk_file *vf, uint64_t size)
{
    return BLK->file_truncate(((host_vfile *)vf)->f, size);
}

static int hf_flush(struct vmdk_file *vf)
{
    return BLK->file_flush(((host_vfile *)vf)->f);
}

static void hf_close(struct vmdk_file *vf)
{
    host_vfile *h = (host_vfile *)vf;
    if (h->owner) {
        for (host_vfile **p = &h->owner->files; *p; p = &(*p)->next) {
            if (*p == h) {
                *p = h->next;
                break;
            }
        }
    }
    BLK->file_close(h->f);
    free(h->base.name);
    free(h);
}

static const struct vmdk_file_ops host_file_ops = {
    .pread = hf_pread,
    .pwrite = hf_pwrite,
    .get_size = hf_get_size,
    .truncate = hf_truncate,
    .flush = hf_flush,
    .close = hf_close,
};

static int host_open(void *ctx, const char *path, unsigned flags, struct vmdk_file **out,
                     struct vmdk_error *err)
{
    vmdk_state *owner = ctx; /* NULL while creating */
    ts_block_node *node = owner ? owner->node : NULL;
    uint32_t hflags = ((flags & VMDK_OPEN_WRITE) ? TS_BLOCK_FILE_WRITE : 0) |
                      ((flags & VMDK_OPEN_CREATE) ? TS_BLOCK_FILE_CREATE : 0);
    ts_block_file *f = NULL;
    int r = BLK->file_open(node, path, hflags, &f);
    if (r < 0) {
        if (r == -EACCES)
            return vmdk_fail(err, r, "'%s': refused: the file is outside the image's directory "
                             "or not accessible", path);
        return vmdk_fail(err, r, "'%s': could not open: %s", path, strerror(-r));
    }
    host_vfile *h = calloc(1, sizeof(*h));
    char *name = strdup(path);
    if (!h || !name) {
        free(h);
        free(name);
        BLK->file_close(f);
        return vmdk_fail(err, -ENOMEM, "'%s': out of memory", path);
    }
    h->base.ops = &host_file_ops;
    h->base.name = name;
    h->f = f;
    h->owner = owner;
    if (owner) {
        h->next = owner->files;
        owner->files = h;
    }
    *out = &h->base;
    return 0;
}

/* ---- nodes ---- */

/* The engine reports failures in struct vmdk_error; pass the message on. */
static int fail(ts_block_node *node, int r, const struct vmdk_error *e)
{
    if (e->msg[0])
        BLK->set_error(node, "%s", e->msg);
    return r < 0 ? r : -EIO;
}

/*
 * As QEMU (iotest 225): the first time the parent's data is needed, the child's
 * parentCID must equal the parent's CID, or the parent changed since the child was made
 * and reading through it would mix two disks. Non-VMDK parents have no CID to check.
 */
static int check_parent_cid(vmdk_state *s, struct vmdk_error *err)
{
    if (s->parent_checked)
        return 0;
    const vmdk_state *parent = BLK->backing_state(s->node, "vmdk");
    if (parent && vmdk_parent_cid(s->img) != vmdk_cid(parent->img))
        return vmdk_fail(err, -EINVAL, "parentCID %08x does not match the parent's CID %08x "
                         "(the parent changed after this image was made)",
                         vmdk_parent_cid(s->img), vmdk_cid(parent->img));
    s->parent_checked = true;
    return 0;
}

static int backing_read(void *ctx, uint64_t off, void *buf, size_t len, struct vmdk_error *err)
{
    vmdk_state *s = ctx;
    ts_block_node *node = s->node;
    int r = check_parent_cid(s, err);
    if (r < 0)
        return r;
    r = BLK->backing_read(node, off, buf, len);
    if (r < 0)
        return vmdk_fail(err, r, "could not read the backing file at offset %llu: %s",
                         (unsigned long long)off, strerror(-r));
    return 0;
}

static int vmdk_plugin_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename; /* content decides */
    return vmdk_probe(buf, len);
}

static int vmdk_plugin_open(ts_block_node *node, void **state)
{
    uint32_t fl = BLK->node_flags(node);
    vmdk_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->node = node;
    s->opener.open = host_open;
    s->opener.ctx = s;
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = fl & TS_BLOCK_NODE_READ_ONLY;
    o.allow_outside = fl & TS_BLOCK_NODE_ALLOW_OUTSIDE;
    o.opener = &s->opener;
    o.unsafe_no_ordering_flush = fl & TS_BLOCK_NODE_UNSAFE;
    struct vmdk_error e = { 0 };
    int r = vmdk_open(BLK->node_filename(node), &o, &s->img, &e);
    if (r < 0) {
        free(s);
        return fail(node, r, &e);
    }
    if (vmdk_parent_hint(s->img)) {
        /* The host opens the parent after open returns; until then (or with backing
         * disabled) backing_read reads zeros, as QEMU does without a backing file. */
        struct vmdk_backing b = { .read = backing_read, .ctx = s };
        vmdk_set_backing(s->img, &b);
    }
    *state = s;
    return 0;
}

static int vmdk_plugin_close(ts_block_node *node, void *state)
{
    vmdk_state *s = state;
    struct vmdk_error e = { 0 };
    int r = vmdk_close(s->img, &e);
    free(s);
    return r < 0 ? fail(node, r, &e) : 0;
}

static uint64_t vmdk_plugin_size(ts_block_node *node, void *state)
{
    (void)node;
    return vmdk_size(((vmdk_state *)state)->img);
}

static int vmdk_plugin_read(ts_block_node *node, void *state, uint64_t off, void *buf, size_t len)
{
    struct vmdk_error e = { 0 };
    int r = vmdk_read(((vmdk_state *)state)->img, off, buf, len, &e);
    return r < 0 ? fail(node, r, &e) : 0;
}

static int vmdk_plugin_write(ts_block_node *node, void *state, uint64_t off, const void *buf,
                             size_t len)
{
    struct vmdk_error e = { 0 };
    int r = vmdk_write(((vmdk_state *)state)->img, off, buf, len, &e);
    return r < 0 ? fail(node, r, &e) : 0;
}

static int vmdk_plugin_write_zeroes(ts_block_node *node, void *state, uint64_t off, uint64_t len,
                                    uint32_t flags)
{
    struct vmdk_error e = { 0 };
    unsigned vf = (flags & TS_BLOCK_ZERO_MAY_UNMAP) ? VMDK_ZEROES_MAY_UNMAP : 0;
    int r = vmdk_write_zeroes(((vmdk_state *)state)->img, off, len, vf, &e);
    if (r == -ENOTSUP)
        return r; /* the host writes zero buffers */
    return r < 0 ? fail(node, r, &e) : 0;
}

static int vmdk_plugin_discard(ts_block_node *node, void *state, uint64_t off, uint64_t len)
{
    struct vmdk_error e = { 0 };
    int r = vmdk_discard(((vmdk_state *)state)->img, off, len, &e);
    if (r == -ENOTSUP)
        return r;
    return r < 0 ? fail(node, r, &e) : 0;
}

static int vmdk_plugin_flush(ts_block_node *node, void *state)
{
    struct vmdk_error e = { 0 };
    int r = vmdk_flush(((vmdk_state *)state)->img, &e);
    return r < 0 ? fail(node, r, &e) : 0;
}

/* The host file the engine opened under name (block status names files by path). */
static ts_block_file *host_file_named(vmdk_state *s, const char *name)
{
    for (host_vfile *h = s->files; h; h = h->next)
        if (strcmp(h->base.name, name) == 0)
            return h->f;
    return NULL;
}

static int vmdk_plugin_block_status(ts_block_node *node, void *state, uint64_t off,
                                    uint64_t max_len, ts_block_status *out)
{
    vmdk_state *s = state;
    struct vmdk_map m;
    struct vmdk_error e = { 0 };
    int r = vmdk_block_status(s->img, off, max_len, &m, &e);
    if (r < 0)
        return fail(node, r, &e);
    out->length = m.length;
    switch (m.status) {
    case VMDK_STATUS_UNALLOCATED:
        out->flags = 0;
        break;
    case VMDK_STATUS_ZERO:
        out->flags = TS_BLOCK_STATUS_ZERO | TS_BLOCK_STATUS_ALLOCATED;
        break;
    case VMDK_STATUS_DATA:
        out->flags = TS_BLOCK_STATUS_DATA | TS_BLOCK_STATUS_ALLOCATED |
                     (m.compressed ? TS_BLOCK_STATUS_COMPRESSED : 0);
        break;
    }
    if (m.status == VMDK_STATUS_DATA && m.offset_valid && m.filename) {
        ts_block_file *f = host_file_named(s, m.filename);
        if (f) {
            out->flags |= TS_BLOCK_STATUS_OFFSET_VALID;
            out->file = f;
            out->host_offset = m.file_offset;
            struct vmdk_extent_info x;
            vmdk_extent_info(s->img, m.extent, &x);
            bool is_data = true;
            uint64_t len = m.length;
            /* Flat extents are plain files: as QEMU, ask the file where its holes are
             * (grains of sparse extents are data even when the host file has a hole). */
            if (x.cluster_size == 0 && BLK->file_extent(f, m.file_offset, m.length, &is_data, &len) == 0) {
                out->length = len;
                if (!is_data)
                    out->flags |= TS_BLOCK_STATUS_ZERO;
            }
        }
    }
    return 0;
}

static void check_report(void *ctx, enum vmdk_problem kind, bool fixed, const char *msg)
{
    uint32_t k = kind == VMDK_PROBLEM_LEAK ? TS_BLOCK_PROBLEM_LEAK
               : kind == VMDK_PROBLEM_CORRUPTION ? TS_BLOCK_PROBLEM_CORRUPTION
               : TS_BLOCK_PROBLEM_ERROR;
    BLK->check_report(ctx, k, fixed, msg);
}

static int vmdk_plugin_check(ts_block_node *node, void *state, uint32_t repair,
                             ts_block_check_result *out)
{
    vmdk_state *s = state;
    enum vmdk_check_mode mode = repair == TS_BLOCK_REPAIR_ALL ? VMDK_CHECK_ALL
                              : repair == TS_BLOCK_REPAIR_LEAKS ? VMDK_CHECK_LEAKS : VMDK_CHECK_NONE;
    struct vmdk_check_result res = { 0 };
    struct vmdk_error e = { 0 };
    int r = vmdk_check(s->img, mode, check_report, node, &res, &e);
    if (r < 0)
        return fail(node, r, &e);
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

/*
 * Generic info plus qemu-img's format-specific VMDK keys: cid, parent-cid, create-type
 * and one entry per extent (virtual-size, filename, cluster-size for sparse extents,
 * format: the extent type, empty for a monolithic file, compressed when true).
 */
static int vmdk_plugin_info(ts_block_node *node, void *state, ts_block_info *out,
                            ts_block_info_builder *b)
{
    vmdk_state *s = state;
    out->virtual_size = vmdk_size(s->img);
    out->backing_file = vmdk_parent_hint(s->img);
    /* As QEMU: a VMDK's parent is a VMDK. (The host still opens a parent whose content
     * is plainly another format, e.g. raw, by its content.) */
    out->backing_format = out->backing_file ? "vmdk" : NULL;
    size_t n = vmdk_extent_count(s->img);
    uint64_t cluster = 0;
    bool same = n > 0;
    for (size_t i = 0; i < n; i++) {
        struct vmdk_extent_info x;
        vmdk_extent_info(s->img, i, &x);
        if (i == 0)
            cluster = x.cluster_size;
        else if (x.cluster_size != cluster)
            same = false;
    }
    out->cluster_size = same ? cluster : 0;
    if (!b)
        return 0;
    BLK->info_int(b, "cid", vmdk_cid(s->img));
    BLK->info_int(b, "parent-cid", vmdk_parent_cid(s->img));
    BLK->info_string(b, "create-type", vmdk_create_type(s->img));
    BLK->info_begin_list(b, "extents");
    for (size_t i = 0; i < n; i++) {
        struct vmdk_extent_info x;
        vmdk_extent_info(s->img, i, &x);
        BLK->info_begin_dict(b, NULL);
        if (x.compressed)
            BLK->info_bool(b, "compressed", true);
        BLK->info_int(b, "virtual-size", (int64_t)x.virtual_size);
        const char *fname = x.filename ? x.filename : "";
        if (strncmp(fname, "./", 2) == 0 && !strchr(BLK->node_filename(node), '/'))
            fname += 2; /* "q-flat.vmdk" next to "q.vmdk", as qemu-img prints it */
        BLK->info_string(b, "filename", fname);
        if (x.cluster_size)
            BLK->info_int(b, "cluster-size", (int64_t)x.cluster_size);
        BLK->info_string(b, "format", x.monolithic ? "" : x.type);
        BLK->info_end(b);
    }
    BLK->info_end(b);
    return 0;
}

/* ---- create: the type's properties are qemu-img's -o options ---- */

static const char *const subformats[] = { "monolithicSparse", "monolithicFlat",
                                          "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                          "streamOptimized", NULL };
static const char *const adapter_types[] = { "ide", "buslogic", "lsilogic", "legacyESX", NULL };

static int vmdk_plugin_create(ts_object *opts, const char *filename, uint64_t size)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = (enum vmdk_subformat)host->prop_enum(opts, "subformat");
    o.adapter_type = adapter_types[host->prop_enum(opts, "adapter_type")];
    o.hwversion = host->prop_is_set(opts, "hwversion") ? host->prop_string(opts, "hwversion") : NULL;
    o.compat6 = host->prop_bool(opts, "compat6");
    o.toolsversion = host->prop_string(opts, "toolsversion");
    o.zeroed_grain = host->prop_bool(opts, "zeroed_grain");
    o.backing_file = host->prop_string(opts, "backing_file");
    const char *bfmt = host->prop_string(opts, "backing_fmt");
    if (bfmt && strcmp(bfmt, "vmdk") != 0) {
        host->set_error(opts, "backing_file must be a vmdk image");
        return -EINVAL;
    }
    struct vmdk_opener opener = { .open = host_open, .ctx = NULL };
    o.opener = &opener;
    struct vmdk_error e = { 0 };
    int r = vmdk_create(filename, &o, &e);
    if (r < 0) {
        host->set_error(opts, "%s", e.msg[0] ? e.msg : strerror(-r));
        return r;
    }
    return 0;
}

static int vmdk_type_create(ts_object *obj, void **state)
{
    (void)obj;
    *state = NULL;
    return 0;
}

static const ts_prop_desc vmdk_create_options[] = {
    TS_PROP_DESC_ENUM("subformat", 0, "monolithicSparse", subformats,
                      "VMDK subformat: monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, "
                      "twoGbMaxExtentFlat or streamOptimized"),
    TS_PROP_DESC_ENUM("adapter_type", 0, "ide", adapter_types,
                      "virtual adapter type: ide, buslogic, lsilogic or legacyESX"),
    TS_PROP_DESC_STRING("hwversion", 0, NULL, "VMDK hardware version (ddb.virtualHWVersion; default 4)"),
    TS_PROP_DESC_BOOL("compat6", 0, "off", "VMDK version 6 image (hardware version 6)"),
    TS_PROP_DESC_STRING("toolsversion", 0, "2147483647", "VMware guest tools version (ddb.toolsVersion)"),
    TS_PROP_DESC_BOOL("zeroed_grain", 0, "off", "enable efficient zero writes (zeroed-grain flag)"),
    TS_PROP_DESC_STRING("backing_file", 0, NULL, "file name of a base image (a VMDK)"),
    TS_PROP_DESC_STRING("backing_fmt", 0, NULL, "image format of the base image (must be vmdk)"),
    TS_PROP_DESC_END,
};

static const ts_block_format_ops vmdk_ops = {
    .size = sizeof(ts_block_format_ops),
    .flags = TS_BLOCK_FORMAT_HAS_BACKING,
    .probe = vmdk_plugin_probe,
    .open = vmdk_plugin_open,
    .close = vmdk_plugin_close,
    .get_size = vmdk_plugin_size,
    .read = vmdk_plugin_read,
    .write = vmdk_plugin_write,
    .write_zeroes = vmdk_plugin_write_zeroes,
    .discard = vmdk_plugin_discard,
    .flush = vmdk_plugin_flush,
    .block_status = vmdk_plugin_block_status,
    .create = vmdk_plugin_create,
    .check = vmdk_plugin_check,
    .info = vmdk_plugin_info,
};

static const ts_type_desc vmdk_type = {
    .size = sizeof(ts_type_desc),
    .kind = TS_KIND_BLOCK_FORMAT,
    .name = "vmdk",
    .description = "VMware virtual disk (every subformat; QEMU- and VMware-compatible)",
    .props = vmdk_create_options,
    .create = vmdk_type_create,
    .kind_ops = &vmdk_ops,
};

static int vmdk_plugin_init(const ts_host_api *h)
{
    if (!TS_HOST_HAS(h, block) || h->block->size < offsetof(ts_block_api, backing_state) +
                                                      sizeof(h->block->backing_state))
        return -ENOTSUP; /* a host without the block layer cannot use a format */
    host = h;
    return 0;
}

static const ts_type_desc *const vmdk_types[] = { &vmdk_type, NULL };

static const ts_plugin_desc vmdk_plugin = {
    TS_PLUGIN_DESC_HEAD,
    .name = "vmdk",
    .version = "1.0.0",
    .license = "MIT",
    .description = "VMDK disk-image format",
    .types = vmdk_types,
    .init = vmdk_plugin_init,
};

TS_PLUGIN_DEFINE(vmdk_plugin)
