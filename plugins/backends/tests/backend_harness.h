/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the memory-backend plugins: builds one backend object through the core
 * (description → validation → object set), exactly as the launcher does, and offers the
 * probes the tests share (residency, VmFlags, open fds, temp dirs, huge pages).
 */
#ifndef TESSERA_BACKEND_HARNESS_H
#define TESSERA_BACKEND_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "config/machine.h"
#include "object/object.h"
#include "plugin/registry.h"

typedef struct bt_backend {
    machine_desc *desc;
    registry *reg;
    object_set *set;
    ts_object *obj;
    ts_memory_region region;
    char *error; /* message of the failed step, or NULL */
} bt_backend;

/*
 * Describes "-object TYPE,id=m0,PROPS..." (props: "key=value" or a bare "key", ending with
 * NULL) and validates it. Returns 0, or -1 with bt->error set.
 */
int bt_describe(bt_backend *bt, const char *type, ...) __attribute__((sentinel));
/* Builds the objects of a described bt and fetches m0's region. Returns 0, or -1 with bt->error. */
int bt_instantiate(bt_backend *bt);
/* bt_describe + bt_instantiate. */
int bt_build(bt_backend *bt, const char *type, ...) __attribute__((sentinel));
/* Destroys everything bt holds. */
void bt_free(bt_backend *bt);

/* Asserts that bt->error contains every given fragment (NULL-terminated). */
void bt_assert_error(const bt_backend *bt, ...) __attribute__((sentinel));

/* Number of open file descriptors of this process. */
int bt_count_fds(void);
/* True when addr is part of any mapping of this process. */
bool bt_is_mapped(const void *addr);
/* Number of resident pages in [addr, addr + len), by mincore. */
uint64_t bt_resident_pages(const void *addr, uint64_t len);
/* True when the mapping containing addr has VmFlag flag ("mg", "dd", "sh", ...) in smaps. */
bool bt_has_vmflag(const void *addr, const char *flag);
/* True when the mapping containing addr is writable (from /proc/self/maps). */
bool bt_is_writable(const void *addr);

/* Makes a temporary directory (mode 0755) in parent (NULL: /tmp); returns its malloc'd path. */
char *bt_make_temp_dir(const char *parent);
/* Removes dir and everything in it. */
void bt_remove_dir(const char *dir);
/* Number of entries (besides . and ..) in dir. */
int bt_dir_entries(const char *dir);
/* Writes len bytes of byte c to path (creating it, mode 0644). */
void bt_write_file(const char *path, uint64_t len, int c);
/* Size of path in bytes, or -1 when missing. */
int64_t bt_file_size(const char *path);

/*
 * Huge pages for tests (root only): reserves n more 2M pages in /proc/sys/vm/nr_hugepages
 * and, when mount_dir is true, mounts hugetlbfs on a new temp dir (*mnt). Returns NULL, or
 * why huge pages are not available (a reason for "SKIP: ..."). bt_hugepages_put restores.
 */
const char *bt_hugepages_get(int n, bool mount_dir, char **mnt);
void bt_hugepages_put(char *mnt);
/* HugePages_Free of /proc/meminfo. */
long bt_hugepages_free(void);

#endif
