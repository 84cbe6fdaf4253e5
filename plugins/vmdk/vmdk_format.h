/* SPDX-License-Identifier: MIT */
/*
 * On-disk constants and the hosted sparse extent header ("KDMV"), plus the limits the
 * engine enforces before trusting any number read from a file.
 */
#ifndef VMDK_FORMAT_H
#define VMDK_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmdk_error.h"

#define VMDK_SECTOR 512u
#define VMDK_SPARSE_MAGIC 0x564d444bu /* "KDMV" on disk, little-endian */
#define VMDK_COWD_MAGIC 0x44574f43u   /* "COWD" */
#define VMDK_GD_AT_END UINT64_MAX

#define VMDK_FLAG_NL_TEST (1u << 0)
#define VMDK_FLAG_RGD (1u << 1)
#define VMDK_FLAG_ZEROED_GTE (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)

#define VMDK_COMPRESS_NONE 0
#define VMDK_COMPRESS_DEFLATE 1

/* Marker types (struct Marker with size == 0). */
#define VMDK_MARKER_EOS 0
#define VMDK_MARKER_GT 1
#define VMDK_MARKER_GD 2
#define VMDK_MARKER_FOOTER 3

/* Limits. The first three are QEMU's (they keep a hostile header from making us
 * allocate or loop without bound); the descriptor limits match QEMU and VirtualBox. */
#define VMDK_MAX_GRAIN_SECTORS 0x200000u          /* 1 GiB */
#define VMDK_MAX_GTES_PER_GT 512u
/* COWD (vmfsSparse): fixed 4096-entry tables, a 4-sector header. */
#define VMDK_COWD_GTES 4096u
#define VMDK_COWD_HEADER_SECTORS 4u
#define VMDK_MAX_TABLE_ENTRIES 4096u
#define VMDK_MAX_GD_ENTRIES (32u * 1024 * 1024)
#define VMDK_MAX_EMBEDDED_DESC_SECTORS 20480u     /* 10 MiB */
#define VMDK_MAX_DESC_FILE_BYTES (1024u * 1024 - 1)
/* GTEs are 32-bit sector numbers, so grains can only live below 2 TiB of file. */
#define VMDK_MAX_EXTENT_FILE_SECTORS (1ull << 32)

/* Default layout QEMU and VMware create. */
#define VMDK_DEFAULT_GRAIN_SECTORS 128u
#define VMDK_DEFAULT_GTES_PER_GT 512u
#define VMDK_EMBEDDED_DESC_OFFSET 1u
#define VMDK_EMBEDDED_DESC_SECTORS 20u

struct vmdk_sparse_header {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint64_t capacity;      /* sectors */
    uint64_t grain_size;    /* sectors */
    uint64_t desc_offset;   /* sectors, 0 if no embedded descriptor */
    uint64_t desc_size;     /* sectors */
    uint32_t num_gtes_per_gt;
    uint64_t rgd_offset;    /* sectors */
    uint64_t gd_offset;     /* sectors, VMDK_GD_AT_END in a stream header */
    uint64_t overhead;      /* sectors of metadata before the first grain */
    uint8_t unclean_shutdown;
    char nl_chars[4];       /* '\n', ' ', '\r', '\n' */
    uint16_t compress_algorithm;
};

void vmdk_header_decode(const uint8_t buf[VMDK_SECTOR], struct vmdk_sparse_header *h);
void vmdk_header_encode(const struct vmdk_sparse_header *h, uint8_t buf[VMDK_SECTOR]);

/* Checks every field against the limits and the file size, in QEMU's order and with
 * QEMU's messages where QEMU has one. writable: the caller wants to write. */
int vmdk_header_validate(const struct vmdk_sparse_header *h, const char *name,
                         uint64_t file_size, bool writable, struct vmdk_error *err);

/* Number of grain-directory entries the header implies (validated headers only). */
uint64_t vmdk_header_gd_entries(const struct vmdk_sparse_header *h);

/* Little-endian helpers. */
static inline uint32_t vmdk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vmdk_le64(const uint8_t *p)
{
    return (uint64_t)vmdk_le32(p) | (uint64_t)vmdk_le32(p + 4) << 32;
}

static inline void vmdk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void vmdk_put_le64(uint8_t *p, uint64_t v)
{
    vmdk_put_le32(p, (uint32_t)v);
    vmdk_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t vmdk_div_round_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

#endif
