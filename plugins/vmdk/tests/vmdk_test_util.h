/* SPDX-License-Identifier: MIT */
/* Helpers shared by the VMDK engine's tests: scratch directories, checksums, peers. */
#ifndef VMDK_TEST_UTIL_H
#define VMDK_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmdk_image;

/* A fresh directory under $TMPDIR, removed by tu_rmdir. */
char *tu_mkdtemp(void);
void tu_rmdir(char *dir);
/* dir + "/" + name, newly allocated. */
char *tu_path(const char *dir, const char *name);

/* 64-bit FNV-1a of a whole file; 0 with *ok false if unreadable. */
uint64_t tu_file_hash(const char *path);
uint64_t tu_file_size(const char *path);
int tu_write_file(const char *path, const void *buf, size_t len);
/* Reads len bytes at off, or returns -1. */
int tu_pread_file(const char *path, void *buf, size_t len, uint64_t off);
int tu_pwrite_file(const char *path, const void *buf, size_t len, uint64_t off);

/* Runs a shell command; returns its exit status (or -1). Output goes to *out if out
 * is non-NULL (newly allocated, NUL-terminated). */
int tu_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when qemu-img and qemu-io are on PATH. */
bool tu_have_qemu(void);

void tu_fill_pattern(uint8_t *buf, size_t len, uint64_t seed);

/* Rebuilds QEMU's sample image tests/qemu-iotests/sample_images/iotest-version3.vmdk
 * (VMware-made streamOptimized, 16 GiB, 282624 bytes) from the facts the spec records:
 * header (v3, flags 0x30001, GD_AT_END, overHead 128, descriptor 1 sector at 1), 151
 * one-sector grain markers from sector 128, 53 GT markers each after its grains, GD
 * marker at 544 (GD at 545), footer marker at 549, footer (gdOffset 545), EOS at 551,
 * and the embedded descriptor (RDONLY extent, lsilogic, 2088/255/63, longContentID,
 * virtualHWVersion 8, trailing spaces). The payloads are not VMware's bytes (the spec
 * does not record them): the 100 grains iotest 059 reads hold its pattern (512 bytes of
 * i % 10 + 0x30 at i * 655872) and 51 more, one at the start of each of tables 2-52,
 * hold 512 bytes of 0x5a. Returns 0 or -1. */
int tu_build_iotest_version3(const char *path);
/* Byte offset of iotest 059's i-th read in that image, and its expected byte. */
#define TU_V3_READ_OFFSET(i) ((uint64_t)(i) * 655360 + (uint64_t)(i) * 512)
#define TU_V3_READ_BYTE(i) ((uint8_t)((i) % 10 + 0x30))

/* Rebuilds QEMU's fuzzed afl9.vmdk as the spec describes it: a 196608-byte KDMV, v1,
 * flags 3, capacity 2233785398448881665, grain 128, descriptorOffset 251658241,
 * 506 GTEs per GT, rgd 71, gd 0x2800000000000000, overHead 0, the rest zero. */
int tu_build_afl9(const char *path);

/* Opens path (read-only when ro) with default options; fails the running Check test if not. */
struct vmdk_image *tu_open(const char *path, bool ro);

/* Fails the running Check test unless the len bytes at off all read back as v. */
void tu_expect_bytes(struct vmdk_image *img, uint64_t off, size_t len, uint8_t v);

#endif
