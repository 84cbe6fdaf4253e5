/* SPDX-License-Identifier: MIT */
/*
 * Configuration files (libconfuse syntax) into the machine description:
 *
 *   machine { memory = 256M  cpus = 2  memory-backend = ram0 }
 *   object ram0 { type = memory-backend-ram  size = 256M }
 *   chardev con0 { type = socket  path = /tmp/con.sock  server = on }
 *   drive disk0 { file = disk.vmdk  format = vmdk  if = none }
 *   device [ID] { type = ivshmem-plain  memdev = ram0 }
 *   serial { backend = stdio }
 *
 * Sections may repeat (except machine, whose repeats merge); keys are free-form, so
 * plugin properties need no declaration here. See docs/config.md.
 */
#ifndef TESSERA_CORE_CONFIGFILE_H
#define TESSERA_CORE_CONFIGFILE_H

#include <glib.h>

#include "config/machine.h"

/* Reads path and merges it into d. Returns 0, or -EINVAL/-errno with *err = "path:line: ...". */
int configfile_load(machine_desc *d, const char *path, GError **err);

/* Same for text already in memory; name is what messages and origins call it. */
int configfile_parse_text(machine_desc *d, const char *text, const char *name, GError **err);

#endif
