/* SPDX-License-Identifier: MIT */
#ifndef VMDK_PATH_H
#define VMDK_PATH_H

#include <stdbool.h>

#include "vmdk_error.h"

/* Joins an extent name from the descriptor at desc_path to a path the opener can use.
 * Unless allow_outside, refuses names that leave the descriptor's directory. */
int vmdk_path_resolve(const char *desc_path, const char *name, bool allow_outside,
                      char **out, struct vmdk_error *err);

/* Newly allocated directory part of path ("." when there is none). */
char *vmdk_path_dirname(const char *path);
/* Pointer into path after the last '/'. */
const char *vmdk_path_basename(const char *path);

#endif
