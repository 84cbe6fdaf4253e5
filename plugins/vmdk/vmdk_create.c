/* SPDX-License-Identifier: MIT */
/*
 * Creating images with qemu-img's options, defaults, messages and file names:
 * monolithicSparse, monolithicFlat, twoGbMaxExtentSparse/Flat and streamOptimized.
 * Extent files are written before the descriptor that names them.
 */
#define _GNU_SOURCE
#include "vmdk_layout.h"
#include "vmdk_path.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_SECTORS 4194304ull /* QEMU splits at exactly 2 GiB */

static const char *const subformat_names[] = {
    [VMDK_MONOLITHIC_SPARSE] = "monolithicSparse",
    [VMDK_MONOLITHIC_FLAT] = "monolithicFlat",
    [VMDK_TWO_GB_SPARSE] = "twoGbMaxExtentSparse",
    [VMDK_TWO_GB_FLAT] = "twoGbMaxExtentFlat",
    [VMDK_STREAM_OPTIMIZED] = "streamOptimized",
};

const char *vmdk_subformat_name(enum vmdk_subformat f)
{
    return subformat_names[f];
}

int vmdk_subformat_parse(const char *s, enum vmdk_subformat *out)
{
    for (size_t i = 0; i < sizeof(subformat_names) / sizeof(subformat_names[0]); i++)
        if (strcmp(s, subformat_names[i]) == 0) {
            *out = (enum vmdk_subformat)i;
            return 0;
        }
    return -EINVAL;
}

void vmdk_create_options_init(struct vmdk_create_options *o)
{
    memset(o, 0, sizeof(*o));
    o->subformat = VMDK_MONOLITHIC_SPARSE;
}

static bool is_flat(enum vmdk_subformat f)
{
    return f == VMDK_MONOLITHIC_FLAT || f == VMDK_TWO_GB_FLAT;
}

static int check_options(const char *path, const struct vmdk_create_options *o,
                         struct vmdk_error *err)
{
    static const char *const adapters[] = { "ide", "buslogic", "lsilogic", "legacyESX" };
    if ((unsigned)o->subformat > VMDK_STREAM_OPTIMIZED)
        return vmdk_fail(err, EINVAL, "%s: invalid parameter value: subformat %d", path,
                         (int)o->subformat);
    if (o->adapter_type) {
        bool known = false;
        for (size_t i = 0; i < 4; i++)
            known |= strcmp(o->adapter_type, adapters[i]) == 0;
        if (!known)
            return vmdk_fail(err, EINVAL, "%s: invalid parameter value: %s", path,
                             o->adapter_type);
    }
    if (o->compat6 && o->hwversion)
        return vmdk_fail(err, EINVAL, "%s: compat6 cannot be enabled with hwversion set", path);
    if (is_flat(o->subformat) && o->zeroed_grain)
        return vmdk_fail(err, EINVAL, "%s: Flat image can't enable zeroed grain", path);
    if (is_flat(o->subformat) && o->backing_file)
        return vmdk_fail(err, EINVAL, "%s: Flat image can't have backing file", path);
    /* Values end up quoted in the descriptor: a quote or newline would corrupt it. */
    const char *texts[] = { o->hwversion, o->toolsversion, o->backing_file };
    for (size_t i = 0; i < 3; i++)
        if (texts[i] && strpbrk(texts[i], "\"\r\n"))
            return vmdk_fail(err, EINVAL, "%s: option value '%s' contains a quote or newline",
                             path, texts[i]);
    return 0;
}

/* The parent's CID, read through the engine itself (so it must be a VMDK). A relative
 * name is relative to the new image's directory, as qemu-img resolves it. */
static int read_parent_cid(const char *path, const struct vmdk_create_options *o, uint32_t *cid,
                           struct vmdk_error *err)
{
    char *full = NULL;
    if (o->backing_file[0] == '/') {
        full = strdup(o->backing_file);
    } else {
        char *dir = vmdk_path_dirname(path);
        if (dir && asprintf(&full, "%s/%s", dir, o->backing_file) < 0)
            full = NULL;
        free(dir);
    }
    if (!full)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", path);
    struct vmdk_open_options oo;
    vmdk_open_options_init(&oo);
    oo.read_only = true;
    oo.allow_outside = o->allow_outside;
    oo.opener = o->opener;
    struct vmdk_image *parent;
    struct vmdk_error perr = { 0 };
    int r = vmdk_open(full, &oo, &parent, &perr);
    free(full);
    if (r < 0)
        return vmdk_fail(err, r, "%s: backing_file must be a vmdk image (%s)", path, perr.msg);
    *cid = vmdk_cid(parent);
    vmdk_close(parent, NULL);
    return 0;
}

/* "dir/name.vmdk" -> "dir/name" + ".vmdk" (no extension: empty postfix). */
static int extent_path(const char *path, const char *tag, unsigned index, char **out)
{
    const char *base = vmdk_path_basename(path);
    const char *dot = strrchr(base, '.');
    size_t prefix = dot ? (size_t)(dot - path) : strlen(path);
    const char *postfix = dot ? dot : "";
    int n = index ? asprintf(out, "%.*s-%s%03u%s", (int)prefix, path, tag, index, postfix)
                  : asprintf(out, "%.*s-%s%s", (int)prefix, path, tag, postfix);
    return n < 0 ? -ENOMEM : 0;
}

static int append_line(char **lines, const char *fmt_type, uint64_t sectors, const char *name,
                       bool flat)
{
    char *line = NULL, *joined = NULL;
    int n = flat ? asprintf(&line, "RW %" PRIu64 " %s \"%s\" 0\n", sectors, fmt_type, name)
                 : asprintf(&line, "RW %" PRIu64 " %s \"%s\"\n", sectors, fmt_type, name);
    if (n < 0)
        return -ENOMEM;
    n = asprintf(&joined, "%s%s", *lines ? *lines : "", line);
    free(line);
    if (n < 0)
        return -ENOMEM;
    free(*lines);
    *lines = joined;
    return 0;
}

/* Creates the extent files of a split or flat image and collects their lines. */
static int create_extent_files(const char *path, const struct vmdk_create_options *o,
                               uint64_t capacity, char **lines, struct vmdk_error *err)
{
    bool flat = is_flat(o->subformat);
    bool split = o->subformat == VMDK_TWO_GB_SPARSE || o->subformat == VMDK_TWO_GB_FLAT;
    uint64_t done = 0;
    unsigned index = 0;
    do {
        uint64_t sectors = split && capacity - done > SPLIT_SECTORS ? SPLIT_SECTORS
                                                                    : capacity - done;
        char *file;
        if (extent_path(path, split ? (flat ? "f" : "s") : "flat", split ? ++index : 0, &file))
            return vmdk_fail(err, ENOMEM, "%s: out of memory", path);
        struct vmdk_file *f;
        int r = o->opener->open(o->opener->ctx, file, VMDK_OPEN_CREATE, &f, err);
        if (r == 0) {
            r = flat ? vmdk_file_truncate(f, sectors * VMDK_SECTOR, err)
                     : vmdk_layout_write_sparse(f, sectors, o->zeroed_grain, NULL, err);
            if (r == 0)
                r = vmdk_file_flush(f, err);
            vmdk_file_close(f);
        }
        if (r == 0 && append_line(lines, flat ? "FLAT" : "SPARSE", sectors,
                                  vmdk_path_basename(file), flat) < 0)
            r = vmdk_fail(err, ENOMEM, "%s: out of memory", path);
        free(file);
        if (r < 0)
            return r;
        done += sectors;
    } while (done < capacity);
    return 0;
}

int vmdk_create(const char *path, const struct vmdk_create_options *opts, struct vmdk_error *err)
{
    struct vmdk_create_options o = *opts;
    if (!o.opener)
        o.opener = vmdk_posix_opener();
    int r = check_options(path, &o, err);
    if (r < 0)
        return r;
    if (o.size > INT64_MAX - VMDK_SECTOR)
        return vmdk_fail(err, EFBIG, "%s: size %" PRIu64 " is too large", path, o.size);
    uint64_t size = vmdk_div_round_up(o.size, VMDK_SECTOR) * VMDK_SECTOR;
    uint64_t capacity = size / VMDK_SECTOR;
    struct vmdk_desc_params p = {
        .cid = vmdk_random_cid(),
        .parent_cid = VMDK_CID_NONE,
        .create_type = vmdk_subformat_name(o.subformat),
        .parent_hint = o.backing_file,
        .hwversion = o.hwversion ? o.hwversion : o.compat6 ? "6" : "4",
        .adapter_type = o.adapter_type ? o.adapter_type : "ide",
        .toolsversion = o.toolsversion ? o.toolsversion : "2147483647",
        .size = size,
    };
    if (o.backing_file) {
        r = read_parent_cid(path, &o, &p.parent_cid, err);
        if (r < 0)
            return r;
    }
    char *lines = NULL;
    bool monolithic = o.subformat == VMDK_MONOLITHIC_SPARSE ||
                      o.subformat == VMDK_STREAM_OPTIMIZED;
    if (monolithic)
        r = append_line(&lines, "SPARSE", capacity, vmdk_path_basename(path), false) < 0
                ? vmdk_fail(err, ENOMEM, "%s: out of memory", path)
                : 0;
    else
        r = create_extent_files(path, &o, capacity, &lines, err);
    if (r < 0) {
        free(lines);
        return r;
    }
    p.extent_lines = lines;
    char *desc = vmdk_layout_descriptor(&p);
    free(lines);
    if (!desc)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", path);

    struct vmdk_file *f;
    r = o.opener->open(o.opener->ctx, path, VMDK_OPEN_CREATE, &f, err);
    if (r == 0) {
        if (o.subformat == VMDK_MONOLITHIC_SPARSE)
            r = vmdk_layout_write_sparse(f, capacity, o.zeroed_grain, desc, err);
        else if (o.subformat == VMDK_STREAM_OPTIMIZED)
            r = vmdk_layout_write_stream(f, capacity, o.zeroed_grain, desc, err);
        else
            r = vmdk_file_write(f, desc, strlen(desc), 0, err);
        if (r == 0)
            r = vmdk_file_flush(f, err);
        vmdk_file_close(f);
    }
    free(desc);
    return r;
}
