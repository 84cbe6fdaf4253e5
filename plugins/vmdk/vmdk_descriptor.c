/* SPDX-License-Identifier: MIT */
/* Loose parser for the VMDK text descriptor. */
#include "vmdk_descriptor.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILENAME 4096

static const char *const type_names[] = {
    [VMDK_EXTENT_FLAT] = "FLAT",           [VMDK_EXTENT_SPARSE] = "SPARSE",
    [VMDK_EXTENT_ZERO] = "ZERO",           [VMDK_EXTENT_VMFS] = "VMFS",
    [VMDK_EXTENT_VMFSSPARSE] = "VMFSSPARSE", [VMDK_EXTENT_SESPARSE] = "SESPARSE",
    [VMDK_EXTENT_VMFSRDM] = "VMFSRDM",     [VMDK_EXTENT_VMFSRAW] = "VMFSRAW",
};

static const char *const access_names[] = {
    [VMDK_ACCESS_RW] = "RW", [VMDK_ACCESS_RDONLY] = "RDONLY", [VMDK_ACCESS_NOACCESS] = "NOACCESS",
};

/* Layouts whose extents the engine knows how to open. The deprecated and raw-device
 * types are refused: they name host devices, not files. */
static const char *const create_types[] = {
    "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "2GbMaxExtentSparse",
    "twoGbMaxExtentFlat", "2GbMaxExtentFlat", "streamOptimized", "vmfs", "vmfsSparse",
    "seSparse", "custom", "vmfsThin", "vmfsPreallocated", "vmfsEagerZeroedThick",
};

const char *vmdk_extent_type_name(enum vmdk_extent_type t)
{
    return type_names[t];
}

const char *vmdk_access_name(enum vmdk_access a)
{
    return access_names[a];
}

bool vmdk_create_type_supported(const char *ct)
{
    for (size_t i = 0; i < sizeof(create_types) / sizeof(create_types[0]); i++)
        if (strcasecmp(ct, create_types[i]) == 0)
            return true;
    return false;
}

void vmdk_descriptor_free(struct vmdk_descriptor *d)
{
    for (size_t i = 0; i < d->n_extents; i++)
        free(d->extents[i].filename);
    for (size_t i = 0; i < d->n_ddb; i++) {
        free(d->ddb[i].key);
        free(d->ddb[i].value);
    }
    free(d->extents);
    free(d->ddb);
    free(d->create_type);
    free(d->parent_hint);
    memset(d, 0, sizeof(*d));
    d->parent_cid = VMDK_CID_NONE;
}

const char *vmdk_descriptor_ddb(const struct vmdk_descriptor *d, const char *key)
{
    const char *found = NULL;
    for (size_t i = 0; i < d->n_ddb; i++)
        if (strcasecmp(d->ddb[i].key, key) == 0)
            found = d->ddb[i].value; /* the last definition wins */
    return found;
}

/* ---- small lexing helpers over a [p, end) line ---- */

struct line {
    const char *p, *end;
    unsigned number;
};

static void skip_space(struct line *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
        l->p++;
}

static size_t token_len(const struct line *l)
{
    const char *q = l->p;
    while (q < l->end && *q != ' ' && *q != '\t')
        q++;
    return (size_t)(q - l->p);
}

static bool token_is(const struct line *l, size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(l->p, word, n) == 0;
}

static bool parse_u64(const char *p, size_t n, int base, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = tolower((unsigned char)p[i]), digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else
            return false;
        if (v > (UINT64_MAX - (uint64_t)digit) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)digit;
    }
    *out = v;
    return true;
}

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* ---- extent lines ---- */

static int bad_extent(const struct line *whole, const char *name, const char *why,
                      struct vmdk_error *err)
{
    int n = (int)(whole->end - whole->p);
    return vmdk_fail(err, EINVAL, "%s: line %u: Invalid extent line (%s): %.*s", name,
                     whole->number, why, n > 200 ? 200 : n, whole->p);
}

static int parse_extent(struct line l, const char *name, struct vmdk_descriptor *d,
                        struct vmdk_error *err)
{
    const struct line whole = l;
    struct vmdk_desc_extent e = { 0 };
    size_t n = token_len(&l);
    if (token_is(&l, n, "RW"))
        e.access = VMDK_ACCESS_RW;
    else if (token_is(&l, n, "RDONLY"))
        e.access = VMDK_ACCESS_RDONLY;
    else
        e.access = VMDK_ACCESS_NOACCESS;
    l.p += n;
    skip_space(&l);
    n = token_len(&l);
    if (!parse_u64(l.p, n, 10, &e.sectors))
        return bad_extent(&whole, name, "sector count is not a number", err);
    if (e.sectors > INT64_MAX / 512)
        return bad_extent(&whole, name, "sector count too large", err);
    l.p += n;
    skip_space(&l);
    n = token_len(&l);
    size_t t;
    for (t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++)
        if (token_is(&l, n, type_names[t]))
            break;
    if (t == sizeof(type_names) / sizeof(type_names[0]))
        return bad_extent(&whole, name, "unknown extent type", err);
    e.type = (enum vmdk_extent_type)t;
    l.p += n;
    skip_space(&l);

    if (l.p < l.end) {
        const char *fn;
        size_t fn_len;
        if (*l.p == '"') {
            fn = ++l.p;
            while (l.p < l.end && *l.p != '"')
                l.p++;
            if (l.p == l.end)
                return bad_extent(&whole, name, "unterminated file name", err);
            fn_len = (size_t)(l.p - fn);
            l.p++;
        } else {
            fn = l.p;
            fn_len = token_len(&l);
            l.p += fn_len;
        }
        if (fn_len == 0 || fn_len > MAX_FILENAME)
            return bad_extent(&whole, name, "empty or overlong file name", err);
        if (memchr(fn, '\0', fn_len))
            return bad_extent(&whole, name, "NUL in file name", err);
        skip_space(&l);
        n = token_len(&l);
        if (n && !parse_u64(l.p, n, 10, &e.offset))
            return bad_extent(&whole, name, "offset is not a number", err);
        if (e.offset > INT64_MAX / 512)
            return bad_extent(&whole, name, "offset too large", err);
        /* Anything after the offset (partition UUID, device id of raw extents) is not
         * needed to read files. */
        if (e.type != VMDK_EXTENT_ZERO) {
            e.filename = dup_range(fn, fn_len);
            if (!e.filename)
                return vmdk_fail(err, ENOMEM, "%s: out of memory", name);
        }
    } else if (e.type != VMDK_EXTENT_ZERO) {
        return bad_extent(&whole, name, "missing file name", err);
    }

    struct vmdk_desc_extent *grown = realloc(d->extents, (d->n_extents + 1) * sizeof(e));
    if (!grown) {
        free(e.filename);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", name);
    }
    d->extents = grown;
    d->extents[d->n_extents++] = e;
    return 0;
}

/* ---- key = value lines ---- */

static int set_string(char **slot, const char *v, size_t n, const char *name,
                      struct vmdk_error *err)
{
    char *s = dup_range(v, n);
    if (!s)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", name);
    free(*slot);
    *slot = s;
    return 0;
}

static int parse_cid(const char *v, size_t n, uint32_t *out, const char *name,
                     const struct line *l, const char *key, struct vmdk_error *err)
{
    uint64_t x;
    if (n > 8 || !parse_u64(v, n, 16, &x))
        return vmdk_fail(err, EINVAL, "%s: line %u: %s is not a 32-bit hex number: %.*s", name,
                         l->number, key, (int)(n > 40 ? 40 : n), v);
    *out = (uint32_t)x;
    return 0;
}

static int parse_key_value(struct line l, const char *eq, const char *name,
                           struct vmdk_descriptor *d, struct vmdk_error *err)
{
    const char *k = l.p, *kend = eq;
    while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
        kend--;
    size_t klen = (size_t)(kend - k);
    const char *v = eq + 1, *vend = l.end;
    while (v < vend && (*v == ' ' || *v == '\t'))
        v++;
    if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
        v++;
        vend--;
    } else if (v < vend && *v == '"') {
        return vmdk_fail(err, EINVAL, "%s: line %u: unterminated quoted value", name, l.number);
    }
    size_t vlen = (size_t)(vend - v);
    if (klen == 0)
        return vmdk_fail(err, EINVAL, "%s: line %u: '=' without a key", name, l.number);

#define KEY(s) (klen == strlen(s) && strncasecmp(k, s, klen) == 0)
    if (KEY("version")) {
        uint64_t ver;
        if (!parse_u64(v, vlen, 10, &ver) || ver < 1 || ver > 3)
            return vmdk_fail(err, ENOTSUP, "%s: line %u: unsupported descriptor version '%.*s'",
                             name, l.number, (int)(vlen > 20 ? 20 : vlen), v);
        d->version = (unsigned)ver;
    } else if (KEY("CID")) {
        d->has_cid = true;
        return parse_cid(v, vlen, &d->cid, name, &l, "CID", err);
    } else if (KEY("parentCID")) {
        return parse_cid(v, vlen, &d->parent_cid, name, &l, "parentCID", err);
    } else if (KEY("createType")) {
        return set_string(&d->create_type, v, vlen, name, err);
    } else if (KEY("parentFileNameHint")) {
        if (vlen == 0 || vlen > MAX_FILENAME || memchr(v, '\0', vlen))
            return vmdk_fail(err, EINVAL, "%s: line %u: bad parentFileNameHint", name, l.number);
        return set_string(&d->parent_hint, v, vlen, name, err);
    } else if (klen > 4 && strncasecmp(k, "ddb.", 4) == 0) {
        struct vmdk_desc_kv kv = { dup_range(k, klen), dup_range(v, vlen) };
        struct vmdk_desc_kv *grown = realloc(d->ddb, (d->n_ddb + 1) * sizeof(kv));
        if (!kv.key || !kv.value || !grown) {
            free(kv.key);
            free(kv.value);
            if (grown)
                d->ddb = grown;
            return vmdk_fail(err, ENOMEM, "%s: out of memory", name);
        }
        d->ddb = grown;
        d->ddb[d->n_ddb++] = kv;
    }
    /* Other keys (encoding, isNativeSnapshot, changeTrackPath, ...) do not change how
     * data is read; they are accepted and ignored. */
#undef KEY
    return 0;
}

static int parse_line(struct line l, const char *name, struct vmdk_descriptor *d,
                      struct vmdk_error *err)
{
    size_t n = token_len(&l);
    if (n < (size_t)(l.end - l.p) &&
        (token_is(&l, n, "RW") || token_is(&l, n, "RDONLY") || token_is(&l, n, "NOACCESS")))
        return parse_extent(l, name, d, err);
    const char *eq = memchr(l.p, '=', (size_t)(l.end - l.p));
    if (eq)
        return parse_key_value(l, eq, name, d, err);
    int len = (int)(l.end - l.p);
    return vmdk_fail(err, EINVAL, "%s: line %u: invalid VMDK image descriptor line: %.*s", name,
                     l.number, len > 80 ? 80 : len, l.p);
}

int vmdk_descriptor_parse(const char *text, size_t len, const char *name,
                          struct vmdk_descriptor *d, struct vmdk_error *err)
{
    memset(d, 0, sizeof(*d));
    d->parent_cid = VMDK_CID_NONE;
    const char *nul = memchr(text, '\0', len);
    if (nul)
        len = (size_t)(nul - text);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
            return vmdk_fail(err, EINVAL,
                             "%s: descriptor contains binary data (byte 0x%02x at offset %zu)",
                             name, c, i);
    }
    const char *p = text, *end = text + len;
    unsigned number = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        struct line l = { p, eol ? eol : end, ++number };
        while (l.end > l.p && (l.end[-1] == '\r' || l.end[-1] == ' ' || l.end[-1] == '\t'))
            l.end--;
        skip_space(&l);
        p = next;
        if (l.p == l.end || *l.p == '#')
            continue;
        int r = parse_line(l, name, d, err);
        if (r < 0) {
            vmdk_descriptor_free(d);
            return r;
        }
    }
    return 0;
}
