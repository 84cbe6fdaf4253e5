/* SPDX-License-Identifier: MIT */
/* The AML emitter (aml.h): opcodes and encodings from ACPI 6.5, sections 6.4 and 20.2. */
#include "boot/aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after the prefix */
#define AML_ROOT_CHAR '\\'

/* Small and large resource descriptor tags (section 6.4). */
#define RES_IRQ_NOFLAGS 0x22
#define RES_IO 0x47
#define RES_MEM32_FIXED 0x86
#define RES_END_TAG 0x79
#define RES_DWORD_ADDRESS 0x87
#define RES_WORD_ADDRESS 0x88
#define RES_QWORD_ADDRESS 0x8a
#define RES_TYPE_MEMORY 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
#define RES_FLAGS_WINDOW 0x0c       /* producer, positive decode, min and max fixed */
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_RW_NONCACHEABLE 0x01
#define RES_MEM_RW_CACHEABLE 0x03

struct aml {
    GByteArray *bytes;
    aml *parent;
    uint8_t opcode[2];
    unsigned opcode_len;
    char name[6]; /* encoded name: optional root char + 4-byte segment */
    unsigned name_len;
};

struct aml_resources {
    GByteArray *bytes;
};

struct aml_package {
    GByteArray *elements;
    unsigned count;
};

static void put8(GByteArray *b, uint8_t v) { g_byte_array_append(b, &v, 1); }
static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        put8(b, (uint8_t)(v >> (8 * i)));
}

/* A NameString of one segment, optionally rooted; returns its length in out. */
static unsigned encode_name(const char *name, char *out)
{
    unsigned n = 0;
    if (*name == AML_ROOT_CHAR)
        out[n++] = *name++;
    size_t l = strlen(name);
    g_assert(l >= 1 && l <= 4);
    for (unsigned i = 0; i < 4; i++)
        out[n++] = i < l ? name[i] : '_';
    return n;
}

static void put_name(GByteArray *b, const char *name)
{
    char enc[6];
    unsigned n = encode_name(name, enc);
    g_byte_array_append(b, (const uint8_t *)enc, n);
}

static void put_int(GByteArray *b, uint64_t v)
{
    if (v == 0)
        put8(b, AML_ZERO_OP);
    else if (v == 1)
        put8(b, AML_ONE_OP);
    else if (v <= 0xff)
        put8(b, AML_BYTE_PREFIX), put8(b, (uint8_t)v);
    else if (v <= 0xffff)
        put8(b, AML_WORD_PREFIX), put_le(b, v, 2);
    else if (v <= 0xffffffff)
        put8(b, AML_DWORD_PREFIX), put_le(b, v, 4);
    else
        put8(b, AML_QWORD_PREFIX), put_le(b, v, 8);
}

/*
 * PkgLength (20.2.4): the length of the package including the PkgLength bytes. One byte
 * holds up to 63; otherwise bits 7:6 of the lead byte count the following bytes, its low
 * nibble holds bits 3:0 and each following byte 8 more bits.
 */
static void put_pkg_length(GByteArray *b, size_t body)
{
    if (body + 1 <= 0x3f) {
        put8(b, (uint8_t)(body + 1));
        return;
    }
    for (unsigned extra = 1; extra <= 3; extra++) {
        size_t total = body + 1 + extra;
        if (total < (1ull << (4 + 8 * extra))) {
            put8(b, (uint8_t)((extra << 6) | (total & 0xf)));
            for (unsigned i = 0; i < extra; i++)
                put8(b, (uint8_t)(total >> (4 + 8 * i)));
            return;
        }
    }
    g_assert_not_reached(); /* 256 MiB of AML: never produced by us */
}

aml *aml_new(void)
{
    aml *a = g_new0(aml, 1);
    a->bytes = g_byte_array_new();
    return a;
}

void aml_free(aml *a)
{
    if (!a)
        return;
    g_byte_array_free(a->bytes, TRUE);
    g_free(a);
}

const uint8_t *aml_data(const aml *a) { return a->bytes->data; }
size_t aml_len(const aml *a) { return a->bytes->len; }

static aml *open_child(aml *parent, const char *name, const uint8_t *op, unsigned op_len)
{
    aml *c = aml_new();
    c->parent = parent;
    memcpy(c->opcode, op, op_len);
    c->opcode_len = op_len;
    c->name_len = encode_name(name, c->name);
    return c;
}

aml *aml_scope_open(aml *parent, const char *name)
{
    static const uint8_t op[] = { AML_SCOPE_OP };
    return open_child(parent, name, op, sizeof(op));
}

aml *aml_device_open(aml *parent, const char *name)
{
    static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
    return open_child(parent, name, op, sizeof(op));
}

void aml_close(aml *c)
{
    GByteArray *out = c->parent->bytes;
    g_byte_array_append(out, c->opcode, c->opcode_len);
    put_pkg_length(out, c->name_len + c->bytes->len);
    g_byte_array_append(out, (const uint8_t *)c->name, c->name_len);
    g_byte_array_append(out, c->bytes->data, c->bytes->len);
    aml_free(c);
}

void aml_name_int(aml *a, const char *name, uint64_t value)
{
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    put_int(a->bytes, value);
}

uint32_t aml_eisaid(const char *id)
{
    g_assert(strlen(id) == 7);
    uint32_t letters = (uint32_t)((id[0] - 0x40) & 0x1f) << 10 |
                       (uint32_t)((id[1] - 0x40) & 0x1f) << 5 | (uint32_t)((id[2] - 0x40) & 0x1f);
    uint32_t digits = (uint32_t)strtoul(id + 3, NULL, 16);
    /* Stored big-endian: letters high byte first, then the product number's bytes. */
    return (letters >> 8) | (letters & 0xff) << 8 | (digits >> 8 & 0xff) << 16 | (digits & 0xff) << 24;
}

void aml_name_eisaid(aml *a, const char *name, const char *eisaid)
{
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    put8(a->bytes, AML_DWORD_PREFIX);
    put_le(a->bytes, aml_eisaid(eisaid), 4);
}

void aml_name_string(aml *a, const char *name, const char *value)
{
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    put8(a->bytes, AML_STRING_PREFIX);
    g_byte_array_append(a->bytes, (const uint8_t *)value, strlen(value) + 1);
}

void aml_name_int_package(aml *a, const char *name, const uint64_t *values, unsigned count)
{
    g_autoptr(GByteArray) body = g_byte_array_new();

    g_assert(count <= 255);
    put8(body, (uint8_t)count);
    for (unsigned i = 0; i < count; i++)
        put_int(body, values[i]);
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    put8(a->bytes, AML_PACKAGE_OP);
    put_pkg_length(a->bytes, body->len);
    g_byte_array_append(a->bytes, body->data, body->len);
}

aml_package *aml_package_new(void)
{
    aml_package *p = g_new0(aml_package, 1);
    p->elements = g_byte_array_new();
    return p;
}

void aml_package_int(aml_package *p, uint64_t value)
{
    g_assert(p->count < 255);
    put_int(p->elements, value);
    p->count++;
}

/* PackageOp PkgLength NumElements elements, into b; frees p. */
static void emit_package(GByteArray *b, aml_package *p)
{
    put8(b, AML_PACKAGE_OP);
    put_pkg_length(b, 1 + p->elements->len);
    put8(b, (uint8_t)p->count);
    g_byte_array_append(b, p->elements->data, p->elements->len);
    g_byte_array_free(p->elements, TRUE);
    g_free(p);
}

void aml_package_add(aml_package *p, aml_package *child)
{
    g_assert(p->count < 255);
    emit_package(p->elements, child);
    p->count++;
}

void aml_name_package(aml *a, const char *name, aml_package *p)
{
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    emit_package(a->bytes, p);
}

aml_resources *aml_resources_new(void)
{
    aml_resources *r = g_new0(aml_resources, 1);
    r->bytes = g_byte_array_new();
    return r;
}

void aml_res_io(aml_resources *r, uint16_t base, uint8_t length)
{
    put8(r->bytes, RES_IO);
    put8(r->bytes, 0x01); /* 16-bit decode */
    put_le(r->bytes, base, 2);
    put_le(r->bytes, base, 2);
    put8(r->bytes, 1); /* alignment */
    put8(r->bytes, length);
}

void aml_res_irq(aml_resources *r, uint8_t irq)
{
    g_assert(irq < 16);
    put8(r->bytes, RES_IRQ_NOFLAGS);
    put_le(r->bytes, 1u << irq, 2);
}

/* Word, DWord and QWord address space descriptors share one layout at three widths. */
static void address_space(aml_resources *r, uint8_t tag, unsigned width, uint8_t type,
                          uint8_t type_flags, uint64_t first, uint64_t last)
{
    put8(r->bytes, tag);
    put_le(r->bytes, 3 + 5 * width, 2); /* type, general flags, type flags, 5 numbers */
    put8(r->bytes, type);
    put8(r->bytes, RES_FLAGS_WINDOW);
    put8(r->bytes, type_flags);
    put_le(r->bytes, 0, width);                /* granularity */
    put_le(r->bytes, first, width);            /* minimum */
    put_le(r->bytes, last, width);             /* maximum */
    put_le(r->bytes, 0, width);                /* translation offset */
    put_le(r->bytes, last - first + 1, width); /* length */
}

void aml_res_bus_numbers(aml_resources *r, uint16_t first, uint16_t last)
{
    address_space(r, RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, first, last);
}

void aml_res_io_window(aml_resources *r, uint16_t first, uint16_t last)
{
    address_space(r, RES_WORD_ADDRESS, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, first, last);
}

void aml_res_mem32_window(aml_resources *r, uint32_t first, uint32_t last)
{
    address_space(r, RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY, RES_MEM_RW_NONCACHEABLE, first, last);
}

void aml_res_mem64_window(aml_resources *r, uint64_t first, uint64_t last)
{
    address_space(r, RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY, RES_MEM_RW_CACHEABLE, first, last);
}

void aml_res_mem32_fixed(aml_resources *r, uint32_t base, uint32_t length)
{
    put8(r->bytes, RES_MEM32_FIXED);
    put_le(r->bytes, 9, 2); /* information byte, base, length */
    put8(r->bytes, 0x01);   /* read-write */
    put_le(r->bytes, base, 4);
    put_le(r->bytes, length, 4);
}

void aml_name_resources(aml *a, const char *name, aml_resources *r)
{
    g_autoptr(GByteArray) body = g_byte_array_new();

    put8(r->bytes, RES_END_TAG);
    put8(r->bytes, 0); /* checksum 0: "the descriptors sum correctly" by convention */
    put_int(body, r->bytes->len);
    g_byte_array_append(body, r->bytes->data, r->bytes->len);
    put8(a->bytes, AML_NAME_OP);
    put_name(a->bytes, name);
    put8(a->bytes, AML_BUFFER_OP);
    put_pkg_length(a->bytes, body->len);
    g_byte_array_append(a->bytes, body->data, body->len);
    g_byte_array_free(r->bytes, TRUE);
    g_free(r);
}
