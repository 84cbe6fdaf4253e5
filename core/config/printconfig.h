/* SPDX-License-Identifier: MIT */
/*
 * -print-config: a validated description in configuration-file syntax. Values are
 * canonical (prop_format), the machine section is printed in full (defaults included),
 * other sections with the values the user set. Parsing the output back and validating
 * it yields the same description.
 */
#ifndef TESSERA_CORE_PRINTCONFIG_H
#define TESSERA_CORE_PRINTCONFIG_H

#include <glib.h>

#include "config/machine.h"

/* The text of d, which must have been validated. Caller frees. */
char *printconfig_format(const machine_desc *d);

#endif
