/* SPDX-License-Identifier: MIT */
/* Helpers shared by the VMDK engine's tests: scratch directories, checksums, peers. */
#ifndef VMDK_TEST_UTIL_H
#define VMDK_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
