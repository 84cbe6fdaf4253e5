/* SPDX-License-Identifier: MIT */
/* ABI checks of plugin descriptors: version policy, sizes, zero tails, normalized copies. */
#ifndef TESSERA_CORE_DESCRIPTOR_CHECK_H
#define TESSERA_CORE_DESCRIPTOR_CHECK_H

#include <glib.h>

#include "tessera/plugin.h"

/*
 * Checks desc against the ABI rules and returns a normalized copy the core can read
 * safely: structures shorter than this host's are zero-extended, longer ones are
 * accepted only when their unknown tail is zero. Types of unknown kinds are dropped.
 * On failure returns NULL with a one-line reason in *err (without the file name).
 */
ts_plugin_desc *descriptor_check_and_copy(const ts_plugin_desc *desc, GError **err);
void descriptor_copy_free(ts_plugin_desc *copy);

#endif
