/* SPDX-License-Identifier: MIT */
/*
 * Consistency check and repair of sparse extents.
 *
 * The check builds a list of everything that occupies file space (header, embedded
 * descriptor, directories, tables, grains), sorts it and sweeps it: two objects sharing
 * a sector is a corruption (the lower-priority one, a grain before a table before a
 * directory, is the one that is wrong), space after the metadata that nothing uses is
 * a leak. Pointers past the end of the file or (for grains) into the metadata area are
 * corruptions. The redundant directory and tables must match the primary ones; where
 * one side is empty and the other not, the copy merely lags (a crash between the two
 * writes) and that is repaired with the leaks; conflicting non-empty entries are
 * corruptions.
 *
 * Repairs follow the engine's rule: data before the metadata that points to it. Leak
 * repair resyncs lagging copies, then compacts: the highest used grain-sized slots are
 * copied into leaked slots lower down, the copies are flushed, the pointers updated
 * (written back after another flush) and only then is the file truncated. A crash at
 * any point leaves at worst leaks.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum obj_kind { OBJ_HEADER, OBJ_DESC, OBJ_GD, OBJ_RGD, OBJ_GT, OBJ_RGT, OBJ_GRAIN };

static const char *const kind_names[] = {
    "header", "embedded descriptor", "grain directory", "redundant grain directory",
    "grain table", "redundant grain table", "grain",
};

/* Higher wins an overlap. */
static int priority(uint8_t kind)
{
    switch (kind) {
    case OBJ_HEADER:
    case OBJ_DESC:
        return 3;
    case OBJ_GD:
    case OBJ_RGD:
        return 2;
    case OBJ_GT:
    case OBJ_RGT:
        return 1;
    default:
        return 0;
    }
}

struct obj {
    uint64_t start;   /* sector */
    uint64_t index;   /* directory index (tables) or grain index (grains) */
    uint32_t len;     /* sectors */
    uint8_t kind;
    uint8_t bad;      /* lost an overlap */
};

struct checker {
    struct vmdk_image *img;
    struct vmdk_extent *e;
    enum vmdk_check_mode mode;
    vmdk_check_report_fn report;
    void *ctx;
    bool quiet;       /* re-analysis after a repair: count, do not report */

    struct obj *objs;
    size_t n_objs, cap_objs;

    /* findings of one analysis */
    uint64_t corruptions, leaks, lag_tables;
    uint64_t allocated, fragmented, compressed, total;
    uint64_t used_end;     /* sectors */
    uint64_t *bad_grains;  /* grain indices whose GTE must be dropped */
    size_t n_bad_grains, cap_bad_grains;
    uint8_t *bad_gt;       /* per directory index: 1 primary table bad, 2 redundant bad */
};

static void say(struct checker *c, enum vmdk_problem kind, bool fixed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(struct checker *c, enum vmdk_problem kind, bool fixed, const char *fmt, ...)
{
    if (c->quiet || !c->report)
        return;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "%s: ", c->e->file->name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(msg))
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    c->report(c->ctx, kind, fixed, msg);
}

static bool fixes_corruptions(const struct checker *c)
{
    return c->mode == VMDK_CHECK_ALL;
}

static bool fixes_leaks(const struct checker *c)
{
    return c->mode != VMDK_CHECK_NONE;
}

static int add_obj(struct checker *c, uint8_t kind, uint64_t start, uint64_t len,
                   uint64_t index)
{
    if (c->n_objs == c->cap_objs) {
        size_t n = c->cap_objs ? c->cap_objs * 2 : 1024;
        struct obj *o = realloc(c->objs, n * sizeof(*o));
        if (!o)
            return -ENOMEM;
        c->objs = o;
        c->cap_objs = n;
    }
    c->objs[c->n_objs++] = (struct obj){ .start = start, .index = index,
                                         .len = (uint32_t)len, .kind = kind };
    return 0;
}

static int add_bad_grain(struct checker *c, uint64_t grain)
{
    if (c->n_bad_grains == c->cap_bad_grains) {
        size_t n = c->cap_bad_grains ? c->cap_bad_grains * 2 : 64;
        uint64_t *g = realloc(c->bad_grains, n * sizeof(*g));
        if (!g)
            return -ENOMEM;
        c->bad_grains = g;
        c->cap_bad_grains = n;
    }
    c->bad_grains[c->n_bad_grains++] = grain;
    return 0;
}

static void reset_findings(struct checker *c)
{
    c->n_objs = 0;
    c->n_bad_grains = 0;
    c->corruptions = c->leaks = c->lag_tables = 0;
    c->allocated = c->fragmented = c->compressed = c->total = 0;
    c->used_end = 0;
    if (c->bad_gt)
        memset(c->bad_gt, 0, c->e->gd_entries);
}

static uint64_t file_sectors(const struct vmdk_extent *e)
{
    return vmdk_div_round_up(e->file_size, VMDK_SECTOR);
}

/* Sectors a compressed grain occupies (marker + payload), or 0 when it is unusable. */
static int compressed_length(struct checker *c, uint32_t gte, uint64_t *sectors,
                             struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    *sectors = 1;
    if (!e->markers)
        return 0;
    uint8_t m[12];
    uint64_t at = (uint64_t)gte * VMDK_SECTOR;
    if (at + sizeof(m) > e->file_size) {
        *sectors = 0;
        return 0;
    }
    int r = vmdk_file_read_exact(e->file, m, sizeof(m), at, err);
    if (r < 0)
        return r;
    uint64_t size = vmdk_le32(m + 8);
    if (size == 0 || size > 2 * e->grain_bytes || at + 12 + size > e->file_size) {
        *sectors = 0;
        return 0;
    }
    *sectors = vmdk_div_round_up(12 + size, VMDK_SECTOR);
    return 0;
}

/* Walks the directories and tables: bounds, redundancy, counts, and the object list. */
static int collect(struct checker *c, struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    const char *gdname = "grain directory";
    uint64_t fs = file_sectors(e);
    uint64_t gd_sectors = vmdk_div_round_up(e->gd_entries * 4, VMDK_SECTOR);
    int r = add_obj(c, OBJ_HEADER, 0, e->cowd ? VMDK_COWD_HEADER_SECTORS : 1, 0);
    if (r == 0 && e->hdr.desc_offset)
        r = add_obj(c, OBJ_DESC, e->hdr.desc_offset, e->hdr.desc_size, 0);
    if (r == 0)
        r = add_obj(c, OBJ_GD, e->hdr.gd_offset, gd_sectors, 0);
    if (r == 0 && e->rgd)
        r = add_obj(c, OBJ_RGD, e->hdr.rgd_offset, gd_sectors, 0);
    if (r < 0)
        return r;

    uint32_t *t = malloc((size_t)e->gtes * 4);
    uint8_t *rt = malloc((size_t)e->gtes * 4);
    if (!t || !rt) {
        free(t);
        free(rt);
        return -ENOMEM;
    }
    uint64_t prev_end = 0; /* file sector after the previous allocated grain */
    c->total = vmdk_div_round_up(e->sectors, e->hdr.grain_size);
    for (uint64_t gi = 0; gi < e->gd_entries && r == 0; gi++) {
        uint32_t gde = e->gd[gi], rgde = e->rgd ? e->rgd[gi] : 0;
        bool gt_ok = gde != 0, rgt_ok = rgde != 0;
        if (gde && !vmdk_sparse_table_inside(e, gde)) {
            gt_ok = false;
            c->bad_gt[gi] |= 1;
            c->corruptions++;
            say(c, VMDK_PROBLEM_CORRUPTION, fixes_corruptions(c),
                "%s entry %" PRIu64 " points to a grain table at 0x%" PRIx64
                " past the end of the file", gdname, gi, (uint64_t)gde * VMDK_SECTOR);
        }
        if (rgde && !vmdk_sparse_table_inside(e, rgde)) {
            rgt_ok = false;
            c->bad_gt[gi] |= 2;
            c->corruptions++;
            say(c, VMDK_PROBLEM_CORRUPTION, fixes_corruptions(c),
                "redundant %s entry %" PRIu64 " points to a grain table at 0x%" PRIx64
                " past the end of the file", gdname, gi, (uint64_t)rgde * VMDK_SECTOR);
        }
        if (e->rgd && (gde == 0) != (rgde == 0) && !c->bad_gt[gi]) {
            c->lag_tables++;
            say(c, VMDK_PROBLEM_LEAK, fixes_leaks(c),
                "%s entry %" PRIu64 " is %s in the primary directory but %s in the "
                "redundant one", gdname, gi, gde ? "set" : "empty", rgde ? "set" : "empty");
        }
        if (gt_ok)
            r = add_obj(c, OBJ_GT, gde, e->gt_sectors, gi);
        if (r == 0 && rgt_ok)
            r = add_obj(c, OBJ_RGT, rgde, e->gt_sectors, gi);
        if (r < 0 || !gt_ok)
            continue;
        r = vmdk_sparse_copy_table(c->img, e, gi, t, err);
        if (r < 0)
            break;
        if (rgt_ok) {
            r = vmdk_file_read_exact(e->file, rt, (size_t)e->gtes * 4,
                                     (uint64_t)rgde * VMDK_SECTOR, err);
            if (r < 0)
                break;
            bool lag = false, conflict = false;
            for (uint32_t i = 0; i < e->gtes; i++) {
                uint32_t a = t[i], b = vmdk_le32(rt + 4 * i);
                if (a == b)
                    continue;
                if (a > 1 && b > 1)
                    conflict = true;
                else
                    lag = true;
            }
            if (conflict) {
                c->corruptions++;
                say(c, VMDK_PROBLEM_CORRUPTION, fixes_corruptions(c),
                    "grain table %" PRIu64 " and its redundant copy name different grains",
                    gi);
            } else if (lag) {
                c->lag_tables++;
                say(c, VMDK_PROBLEM_LEAK, fixes_leaks(c),
                    "the redundant copy of grain table %" PRIu64 " lags behind the primary",
                    gi);
            }
        }
        for (uint32_t i = 0; i < e->gtes && r == 0; i++) {
            uint64_t grain = gi * e->gtes + i;
            uint32_t gte = t[i];
            if (gte == 0 || (gte == 1 && e->zeroed_gte))
                continue;
            uint64_t vsector = grain * e->hdr.grain_size;
            uint64_t len = e->hdr.grain_size;
            const char *why = NULL;
            if (vsector >= e->sectors) {
                why = "lies beyond the extent's capacity";
            } else if (gte < e->hdr.overhead) {
                why = "points into the metadata area";
            } else if (e->compressed) {
                r = compressed_length(c, gte, &len, err);
                if (r < 0)
                    break;
                if (len == 0)
                    why = gte >= fs ? "points past the end of the file"
                                    : "points to an invalid compressed grain";
            } else {
                uint64_t valid = e->sectors - vsector < len ? e->sectors - vsector : len;
                if ((uint64_t)gte + valid > fs)
                    why = "points past the end of the file";
            }
            if (why) {
                c->corruptions++;
                say(c, VMDK_PROBLEM_CORRUPTION, fixes_corruptions(c),
                    "grain table entry for offset 0x%" PRIx64 " (sector %" PRIu32 ") %s",
                    vsector * VMDK_SECTOR, gte, why);
                r = add_bad_grain(c, grain);
                continue;
            }
            c->allocated++;
            if (e->compressed)
                c->compressed++;
            if (prev_end && gte != prev_end)
                c->fragmented++;
            prev_end = gte + len;
            r = add_obj(c, OBJ_GRAIN, gte, len, grain);
        }
    }
    free(t);
    free(rt);
    return r;
}

static int by_start(const void *a, const void *b)
{
    const struct obj *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return priority(y->kind) - priority(x->kind);
}

static void describe(const struct checker *c, const struct obj *o, char *buf, size_t n)
{
    if (o->kind == OBJ_GRAIN)
        snprintf(buf, n, "the grain for offset 0x%" PRIx64 " (sector %" PRIu64 ")",
                 o->index * c->e->hdr.grain_size * VMDK_SECTOR, o->start);
    else if (o->kind == OBJ_GT || o->kind == OBJ_RGT)
        snprintf(buf, n, "%s %" PRIu64 " (sector %" PRIu64 ")", kind_names[o->kind], o->index,
                 o->start);
    else
        snprintf(buf, n, "the %s (sector %" PRIu64 ")", kind_names[o->kind], o->start);
}

/* Sorts the objects and finds overlaps; marks the loser of each. */
static void sweep_overlaps(struct checker *c)
{
    qsort(c->objs, c->n_objs, sizeof(*c->objs), by_start);
    size_t holder = SIZE_MAX;
    uint64_t holder_end = 0;
    for (size_t i = 0; i < c->n_objs; i++) {
        struct obj *o = &c->objs[i];
        if (holder != SIZE_MAX && o->start < holder_end) {
            struct obj *h = &c->objs[holder];
            struct obj *loser = priority(o->kind) > priority(h->kind) ? h : o;
            char a[160], b[160];
            describe(c, o, a, sizeof(a));
            describe(c, h, b, sizeof(b));
            bool fixable = loser->kind >= OBJ_GT;
            c->corruptions++;
            say(c, VMDK_PROBLEM_CORRUPTION, fixable && fixes_corruptions(c),
                "%s overlaps %s", a, b);
            loser->bad = 1;
            if (loser == h) {
                holder = i;
                holder_end = o->start + o->len;
            }
            continue;
        }
        if (holder == SIZE_MAX || o->start + o->len > holder_end) {
            holder = i;
            holder_end = o->start + o->len;
        }
    }
    for (size_t i = 0; i < c->n_objs; i++)
        if (c->objs[i].start + c->objs[i].len > c->used_end)
            c->used_end = c->objs[i].start + c->objs[i].len;
}

/* Grain-sized, grain-aligned slots after the metadata that nothing touches. */
static void find_leaks(struct checker *c)
{
    struct vmdk_extent *e = c->e;
    if (e->compressed || e->gd_at_end)
        return; /* streams are packed by sector; a gap there is not a reusable slot */
    uint64_t g = e->hdr.grain_size;
    uint64_t fs = file_sectors(e);
    uint64_t pos = vmdk_div_round_up(e->hdr.overhead, g) * g; /* next unchecked sector */
    uint64_t run_start = 0, run = 0;
    size_t i = 0;
    while (pos < fs) {
        /* skip objects that end before pos */
        while (i < c->n_objs && c->objs[i].start + c->objs[i].len <= pos)
            i++;
        uint64_t slot_end = pos + g;
        bool used = false;
        for (size_t j = i; j < c->n_objs && c->objs[j].start < slot_end; j++)
            if (c->objs[j].start + c->objs[j].len > pos)
                used = true;
        if (!used) {
            if (run == 0)
                run_start = pos;
            run++;
        }
        if ((used || slot_end >= fs) && run) {
            c->leaks += run;
            say(c, VMDK_PROBLEM_LEAK, fixes_leaks(c),
                "%" PRIu64 " leaked grain%s at 0x%" PRIx64 "-0x%" PRIx64, run, run == 1 ? "" : "s",
                run_start * VMDK_SECTOR,
                (used ? pos : fs) * VMDK_SECTOR);
            run = 0;
        }
        pos = slot_end;
    }
}

static int analyse(struct checker *c, struct vmdk_error *err)
{
    reset_findings(c);
    int r = collect(c, err);
    if (r == -ENOMEM)
        return vmdk_fail(err, ENOMEM, "%s: out of memory for the check", c->e->file->name);
    if (r < 0)
        return r;
    sweep_overlaps(c);
    find_leaks(c);
    return 0;
}

/* ---- repairs ---- */

static int repair_corruptions(struct checker *c, struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    int r = 0;
    for (uint64_t gi = 0; gi < e->gd_entries && r == 0; gi++) {
        if (c->bad_gt[gi] & 1)
            r = vmdk_sparse_reset_table(c->img, e, gi, err);
        else if (c->bad_gt[gi] & 2) {
            e->rgd[gi] = 0; /* the lag repair gives it a new copy */
            e->gd_dirty = true;
        }
    }
    for (size_t i = 0; i < c->n_bad_grains && r == 0; i++)
        r = vmdk_sparse_set_gte(c->img, e, c->bad_grains[i] * e->hdr.grain_size, 0, err);
    for (size_t i = 0; i < c->n_objs && r == 0; i++) {
        const struct obj *o = &c->objs[i];
        if (!o->bad)
            continue;
        if (o->kind == OBJ_GRAIN)
            r = vmdk_sparse_set_gte(c->img, e, o->index * e->hdr.grain_size, 0, err);
        else if (o->kind == OBJ_GT)
            r = vmdk_sparse_reset_table(c->img, e, o->index, err);
        else if (o->kind == OBJ_RGT) {
            e->rgd[o->index] = 0;
            e->gd_dirty = true;
        }
    }
    if (r == 0)
        r = vmdk_sparse_writeback(c->img, e, err);
    return r;
}

static int resync_redundant(struct checker *c, struct vmdk_error *err);

static int write_new_redundant_table(struct checker *c, uint64_t gi, struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    uint32_t *t = malloc((size_t)e->gtes * 4);
    uint8_t *raw = malloc((size_t)e->gtes * 4);
    int r = t && raw ? vmdk_sparse_copy_table(c->img, e, gi, t, err) : -ENOMEM;
    uint64_t at = e->next_alloc;
    uint64_t end = vmdk_div_round_up(at + e->gt_sectors, e->hdr.grain_size) * e->hdr.grain_size;
    if (r == 0 && end >= VMDK_MAX_EXTENT_FILE_SECTORS)
        r = vmdk_fail(err, ENOSPC, "%s: no room for a grain table below 2 TiB", e->file->name);
    if (r == 0) {
        for (uint32_t i = 0; i < e->gtes; i++)
            vmdk_put_le32(raw + 4 * i, t[i]);
        r = vmdk_file_write(e->file, raw, (size_t)e->gtes * 4, at * VMDK_SECTOR, err);
    }
    if (r == 0) {
        if (at * VMDK_SECTOR + (uint64_t)e->gtes * 4 > e->file_size)
            e->file_size = at * VMDK_SECTOR + (uint64_t)e->gtes * 4;
        e->next_alloc = end;
        e->rgd[gi] = (uint32_t)at;
        e->gd_dirty = true; /* written after a flush, by the writeback */
    }
    free(t);
    free(raw);
    return r == -ENOMEM ? vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name) : r;
}

/* Makes the redundant directory and tables equal to the primary ones. */
static int resync_redundant(struct checker *c, struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    if (!e->rgd)
        return 0;
    uint8_t *rt = malloc((size_t)e->gtes * 4);
    uint32_t *t = malloc((size_t)e->gtes * 4);
    int r = rt && t ? 0 : vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name);
    for (uint64_t gi = 0; gi < e->gd_entries && r == 0; gi++) {
        if (e->gd[gi] == 0 && e->rgd[gi] != 0) {
            e->rgd[gi] = 0;
            e->gd_dirty = true;
        } else if (e->gd[gi] != 0 && e->rgd[gi] == 0) {
            r = write_new_redundant_table(c, gi, err);
        } else if (e->gd[gi] != 0 && vmdk_sparse_table_inside(e, e->rgd[gi])) {
            r = vmdk_sparse_copy_table(c->img, e, gi, t, err);
            if (r == 0)
                r = vmdk_file_read_exact(e->file, rt, (size_t)e->gtes * 4,
                                         (uint64_t)e->rgd[gi] * VMDK_SECTOR, err);
            bool same = true, conflict = false;
            for (uint32_t i = 0; r == 0 && i < e->gtes; i++) {
                uint32_t a = t[i], b = vmdk_le32(rt + 4 * i);
                same = same && a == b;
                conflict = conflict || (a != b && a > 1 && b > 1);
            }
            /* A conflict is a corruption: only -r all lets the primary win. */
            if (r == 0 && !same && (!conflict || fixes_corruptions(c)))
                r = vmdk_sparse_touch_table(c->img, e, gi, err);
        }
    }
    free(rt);
    free(t);
    if (r == 0)
        r = vmdk_sparse_writeback(c->img, e, err);
    return r;
}

struct move {
    uint64_t from, to; /* slot numbers */
};

/* Moves the highest used slots into the lowest leaked ones, then truncates. */
static int compact(struct checker *c, struct vmdk_error *err)
{
    struct vmdk_extent *e = c->e;
    if (e->compressed || e->gd_at_end)
        return 0;
    uint64_t g = e->hdr.grain_size;
    uint64_t fs = file_sectors(e);
    uint64_t first = vmdk_div_round_up(e->hdr.overhead, g);
    uint64_t n_slots = vmdk_div_round_up(fs, g);
    if (n_slots <= first)
        return 0;
    /* Per slot: 0 free, 1 used and movable, 2 used and pinned. */
    uint64_t span = n_slots - first;
    uint8_t *slot = calloc(span, 1);
    struct move *moves = NULL;
    size_t n_moves = 0;
    uint8_t *buf = NULL;
    int r = slot ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && i < c->n_objs; i++) {
        const struct obj *o = &c->objs[i];
        uint64_t end = o->start + o->len;
        if (end <= first * g)
            continue;
        uint64_t s0 = o->start / g, s1 = (end - 1) / g;
        bool movable = (o->kind == OBJ_GRAIN || o->kind == OBJ_GT || o->kind == OBJ_RGT) &&
                       s0 == s1 && s0 >= first;
        for (uint64_t s = s0 < first ? first : s0; s <= s1 && s < n_slots; s++)
            if (slot[s - first] < (movable ? 1 : 2))
                slot[s - first] = movable ? 1 : 2;
    }
    if (r == 0) {
        moves = malloc(span * sizeof(*moves));
        buf = malloc(g * VMDK_SECTOR < (1u << 20) ? g * VMDK_SECTOR : (1u << 20));
        if (!moves || !buf)
            r = -ENOMEM;
    }
    uint64_t lo = 0, hi = span;
    while (r == 0) {
        while (lo < span && slot[lo] != 0)
            lo++;
        while (hi > 0 && slot[hi - 1] == 0)
            hi--;
        if (hi == 0 || lo >= hi - 1 || slot[hi - 1] != 1)
            break;
        /* Copy slot hi-1 to slot lo; only the bytes the file has. */
        uint64_t src = (first + hi - 1) * g * VMDK_SECTOR, dst = (first + lo) * g * VMDK_SECTOR;
        uint64_t bytes = g * VMDK_SECTOR;
        if (src + bytes > e->file_size)
            bytes = e->file_size - src;
        size_t chunk = g * VMDK_SECTOR < (1u << 20) ? (size_t)(g * VMDK_SECTOR) : (1u << 20);
        for (uint64_t done = 0; r == 0 && done < bytes; done += chunk) {
            size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
            r = vmdk_file_read_exact(e->file, buf, n, src + done, err);
            if (r == 0)
                r = vmdk_file_write(e->file, buf, n, dst + done, err);
        }
        moves[n_moves++] = (struct move){ first + hi - 1, first + lo };
        slot[lo] = 1;
        slot[hi - 1] = 0;
    }
    /* The copies are durable before anything points at them. */
    if (r == 0 && n_moves)
        r = vmdk_file_flush(e->file, err);
    uint64_t new_end = 0;
    for (size_t i = 0; r == 0 && i < c->n_objs; i++) {
        struct obj *o = &c->objs[i];
        uint64_t s = o->start / g;
        for (size_t m = 0; m < n_moves; m++) {
            if (moves[m].from != s || (o->start + o->len - 1) / g != s)
                continue;
            uint64_t to = o->start - moves[m].from * g + moves[m].to * g;
            if (o->kind == OBJ_GRAIN)
                r = vmdk_sparse_set_gte(c->img, e, o->index * g, (uint32_t)to, err);
            else if (o->kind == OBJ_GT)
                e->gd[o->index] = (uint32_t)to;
            else
                e->rgd[o->index] = (uint32_t)to;
            if (o->kind != OBJ_GRAIN)
                e->gd_dirty = true;
            o->start = to;
            break;
        }
        if (o->start + o->len > new_end)
            new_end = o->start + o->len;
    }
    free(slot);
    free(moves);
    free(buf);
    if (r == -ENOMEM)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", e->file->name);
    if (r == 0)
        r = vmdk_sparse_writeback(c->img, e, err);
    /* Only once the new pointers are durable may the old copies go. */
    if (r == 0)
        r = vmdk_file_flush(e->file, err);
    if (new_end < e->hdr.overhead)
        new_end = e->hdr.overhead;
    if (r == 0 && new_end * VMDK_SECTOR < e->file_size) {
        r = vmdk_file_truncate(e->file, new_end * VMDK_SECTOR, err);
        if (r == 0) {
            e->file_size = new_end * VMDK_SECTOR;
            e->next_alloc = vmdk_div_round_up(new_end, g) * g;
        }
    }
    return r;
}

/* ---- entry point ---- */

static void accumulate(struct vmdk_check_result *res, const struct checker *c, bool first)
{
    res->total_clusters += c->total;
    res->allocated_clusters += c->allocated;
    res->fragmented_clusters += c->fragmented;
    res->compressed_clusters += c->compressed;
    if (first)
        res->image_end_offset = c->used_end * VMDK_SECTOR;
}

static int check_extent(struct vmdk_image *img, struct vmdk_extent *e,
                        enum vmdk_check_mode mode, vmdk_check_report_fn report, void *ctx,
                        struct vmdk_check_result *res, bool first, struct vmdk_error *err)
{
    struct checker c = { .img = img, .e = e, .mode = mode, .report = report, .ctx = ctx };
    c.bad_gt = calloc(e->gd_entries ? e->gd_entries : 1, 1);
    if (!c.bad_gt)
        return vmdk_fail(err, ENOMEM, "%s: out of memory for the check", e->file->name);
    /* A GD-at-end stream's metadata is rewritten whole by its next append; it is only
     * checked. */
    bool repairable = !e->gd_at_end && mode != VMDK_CHECK_NONE;
    int r = analyse(&c, err);
    uint64_t corrupt0 = c.corruptions, leaks0 = c.leaks + c.lag_tables;
    if (r == 0 && repairable && (corrupt0 || leaks0)) {
        c.quiet = true;
        if (mode == VMDK_CHECK_ALL && corrupt0) {
            r = repair_corruptions(&c, err);
            if (r == 0)
                r = resync_redundant(&c, err);
            if (r == 0)
                r = analyse(&c, err);
        }
        if (r == 0 && c.leaks + c.lag_tables) {
            r = resync_redundant(&c, err);
            if (r == 0)
                r = analyse(&c, err);
            if (r == 0 && c.corruptions == 0 && c.leaks) {
                r = compact(&c, err);
                if (r == 0)
                    r = analyse(&c, err);
            }
        }
        uint64_t left = c.leaks + c.lag_tables;
        if (r == 0 && left) {
            c.quiet = false;
            say(&c, VMDK_PROBLEM_LEAK, false,
                "%" PRIu64 " leaked grains or lagging tables could not be reclaimed", left);
        }
    }
    if (r == 0) {
        res->corruptions += c.corruptions;
        res->leaks += c.leaks + c.lag_tables;
        res->corruptions_fixed += corrupt0 > c.corruptions ? corrupt0 - c.corruptions : 0;
        uint64_t left = c.leaks + c.lag_tables;
        res->leaks_fixed += leaks0 > left ? leaks0 - left : 0;
        accumulate(res, &c, first);
    }
    free(c.objs);
    free(c.bad_grains);
    free(c.bad_gt);
    return r;
}

int vmdk_check(struct vmdk_image *img, enum vmdk_check_mode mode, vmdk_check_report_fn report,
               void *ctx, struct vmdk_check_result *res, struct vmdk_error *err)
{
    memset(res, 0, sizeof(*res));
    if (mode != VMDK_CHECK_NONE && img->read_only)
        return vmdk_fail(err, EROFS, "%s: repairing needs the image open read-write",
                         img->path);
    /* Everything the engine holds in memory reaches the file first, so the check sees
     * what a reader after a restart would see. */
    int r = vmdk_flush(img, err);
    bool first = true;
    for (size_t i = 0; i < img->n_extents && r == 0; i++) {
        struct vmdk_extent *e = &img->extents[i];
        if (e->type != VMDK_EXTENT_SPARSE || !e->gd)
            continue;
        enum vmdk_check_mode m = e->writable ? mode : VMDK_CHECK_NONE;
        r = check_extent(img, e, m, report, ctx, res, first, err);
        first = false;
    }
    return r;
}
