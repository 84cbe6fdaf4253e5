/* SPDX-License-Identifier: MIT */
/*
 * QEMU-style command lines: argv -> machine_desc plus what the frontend was asked to do
 * (print help, list plugins, print the configuration). Options may start with '-' or '--'
 * and take their argument as the next word ("-m 256") or after '=' ("--m=256").
 */
#ifndef TESSERA_CORE_CMDLINE_H
#define TESSERA_CORE_CMDLINE_H

#include <glib.h>
#include <stdbool.h>

#include "config/machine.h"

typedef struct cmdline {
    machine_desc *desc;  /* what the options describe */
    bool print_config;   /* -print-config */
    bool list_plugins;   /* -plugins */
    bool usage;          /* -h, -help, --help */
    bool version;        /* -version */
    bool type_help;      /* -device help, -device TYPE,help, -object ..., -chardev ... */
    md_class help_class; /* MD_DEVICE, MD_OBJECT or MD_CHARDEV */
    char *help_type;     /* type to describe, or NULL to list the types */
} cmdline;

/*
 * Parses argv[1..argc-1] into cl (which the caller zeroes first and later clears with
 * cmdline_clear). -config FILE merges the file at its position. Returns 0, or -EINVAL
 * with *err = "option '-m 1G,slots=2': unknown parameter 'slots'"-style one line.
 */
int cmdline_parse(cmdline *cl, int argc, char **argv, GError **err);
void cmdline_clear(cmdline *cl);

/* The -help text, generated from the option table. */
char *cmdline_usage(const char *prog);
/* "tessera version X.Y.Z". */
const char *cmdline_version(void);

#endif
