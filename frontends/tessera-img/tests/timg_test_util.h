/* SPDX-License-Identifier: MIT */
/* Helpers for tessera-img's tests: scratch directories, in-process runs, peers, files. */
#ifndef TIMG_TEST_UTIL_H
#define TIMG_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Points the plugin search path at the build tree's plugins (call first in main). */
void tt_setup_env(void);

/* A fresh directory under $TMPDIR; tt_rmdir removes it and everything in it. */
char *tt_mkdtemp(void);
void tt_rmdir(char *dir);
/* dir/name, newly allocated. */
char *tt_path(const char *dir, const char *name);

/* The result of one tessera-img run (in process) or shell command. */
struct tt_run {
    int status;
    char *out;
    char *err;
};
void tt_run_clear(struct tt_run *r);

/* Runs timg_main with the words of a printf-formatted command line (split on spaces;
 * no quoting). argv[0] is "tessera-img". */
struct tt_run tt_timg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a shell command, capturing stdout and stderr separately. */
struct tt_run tt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when qemu-img and qemu-io are on PATH. */
bool tt_have_qemu(void);

/* Content hash (FNV-1a 64) and modification time (ns) of a file, to prove it unchanged. */
struct tt_stamp {
    uint64_t hash;
    int64_t mtime_ns;
    uint64_t size;
};
struct tt_stamp tt_stamp_file(const char *path);
bool tt_stamp_equal(struct tt_stamp a, struct tt_stamp b);

int tt_write_file(const char *path, const void *buf, size_t len);
int tt_pwrite_file(const char *path, const void *buf, size_t len, uint64_t off);
int tt_pread_file(const char *path, void *buf, size_t len, uint64_t off);
uint64_t tt_file_size(const char *path);
/* Deterministic non-zero bytes from seed. */
void tt_fill(uint8_t *buf, size_t len, uint64_t seed);

/* Reads a whole file into a NUL-terminated string. */
char *tt_slurp(const char *path);

#endif
