/* SPDX-License-Identifier: MIT */
/*
 * tessera: launch a VM from QEMU-style options or a configuration file.
 * A thin main: parsing, validation, help and printing live in core/config.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config/cmdline.h"
#include "config/help.h"
#include "config/machine.h"
#include "config/printconfig.h"
#include "block/block.h"
#include "kvm/launch.h"
#include "plugin/registry.h"
#include "tessera/abi.h"

static int fail(const char *message)
{
    fprintf(stderr, "tessera: %s\n", message);
    return 1;
}

/* -plugins: every type found, then every file that could not be used. */
static int list_plugins(registry *reg)
{
    g_autoptr(GPtrArray) types = registry_types(reg);
    int name_width = 24; /* the TYPE column grows to the longest name */
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        name_width = MAX(name_width, (int)strlen(t->desc->name));
    }
    printf("%-*s %-15s %-9s %-5s %s\n", name_width, "TYPE", "KIND", "VERSION", "ABI", "FILE");
    for (guint i = 0; i < types->len; i++) {
        const registry_type *t = types->pdata[i];
        const ts_plugin_desc *p = t->plugin->desc;
        g_autofree char *abi = g_strdup_printf("%u.%u", p->abi_major, p->abi_minor);
        printf("%-*s %-15s %-9s %-5s %s\n", name_width, t->desc->name,
               registry_kind_name(t->desc->kind), p->version ? p->version : "?", abi,
               t->plugin->path);
        printf("    %s\n", t->desc->description ? t->desc->description : "");
    }
    const GPtrArray *problems = registry_problems(reg);
    for (guint i = 0; i < problems->len; i++) {
        const registry_problem *pr = problems->pdata[i];
        fprintf(stderr, "tessera: %s: %s\n", pr->path, pr->message);
    }
    return problems->len ? 1 : 0;
}

static int type_help(registry *reg, const cmdline *cl)
{
    GError *err = NULL;
    g_autofree char *text = cl->help_type ? help_describe_type(reg, cl->help_class, cl->help_type, &err)
                                          : help_list_types(reg, cl->help_class);
    if (!text) {
        int r = fail(err->message);
        g_error_free(err);
        return r;
    }
    fputs(text, stdout);
    return 0;
}

/*
 * Where the VM starts: objects, guest RAM, chardevs, the VM, devices and the kernel
 * (core/kvm/launch.c), then the vCPUs run. Returns the exit status: the VM's (0 power-
 * off or reset, (V << 1) | 1 from isa-debug-exit, 2 when KVM failed), or 1 when the
 * machine could not be started.
 */
static int run_machine(machine_desc *desc, registry *reg)
{
    GError *err = NULL;
    int status = launch_machine(desc, reg, &err);
    if (status < 0) {
        status = fail(err->message);
        g_error_free(err);
    }
    return status;
}

int main(int argc, char **argv)
{
    cmdline cl = { 0 };
    GError *err = NULL;
    registry *reg = NULL;
    int status = 1;
    if (cmdline_parse(&cl, argc, argv, &err) < 0) {
        status = fail(err->message);
        goto out;
    }
    if (cl.usage || cl.version) {
        g_autofree char *usage = cl.usage ? cmdline_usage("tessera") : NULL;
        fputs(cl.usage ? usage : cmdline_version(), stdout);
        if (!cl.usage)
            putchar('\n');
        status = 0;
        goto out;
    }
    reg = registry_new((const char *const *)cl.desc->plugin_paths->pdata, cl.desc->plugin_paths->len);
    /* The built-in formats (raw) join the registry first, so listings and help show them. */
    if (block_init(reg, &err) < 0) {
        status = fail(err->message);
        goto out;
    }
    if (cl.list_plugins) {
        status = list_plugins(reg);
        goto out;
    }
    if (cl.type_help) {
        status = type_help(reg, &cl);
        goto out;
    }
    if (machine_desc_validate(cl.desc, reg, &err) < 0) {
        status = fail(err->message);
        goto out;
    }
    if (cl.print_config) {
        g_autofree char *text = printconfig_format(cl.desc);
        fputs(text, stdout);
        status = 0;
        goto out;
    }
    /* Drives open before the VM starts, so a bad image fails with its -drive named. */
    if (block_drives_open(cl.desc, &err) < 0) {
        status = fail(err->message);
        goto out;
    }
    status = run_machine(cl.desc, reg);
    block_drives_close();
out:
    g_clear_error(&err);
    registry_free(reg);
    cmdline_clear(&cl);
    return status;
}
