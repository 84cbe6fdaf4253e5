/* SPDX-License-Identifier: MIT */
/* QEMU-style options into a machine description; see cmdline.h. */
#include "config/cmdline.h"

#include <errno.h>
#include <string.h>

#include "config/configfile.h"
#include "config/keyval.h"
#include "util/error.h"

/* What one option handler needs: the option as the user wrote it, and its argument. */
typedef struct opt_ctx {
    cmdline *cl;
    const char *name; /* canonical name, without dashes */
    const char *arg;  /* NULL for options without argument */
    md_origin origin; /* option = "-name arg" as written */
} opt_ctx;

typedef int (*opt_handler)(opt_ctx *c, GError **err);

static int opt_error(opt_ctx *c, GError **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int opt_error(opt_ctx *c, GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "option '%s': %s", c->origin.option, what);
    return -EINVAL;
}

static void set_machine(opt_ctx *c, const char *key, const char *value)
{
    md_item *m = machine_desc_machine(c->cl->desc);
    if (!m->origin.file && !m->origin.option)
        md_origin_copy(&m->origin, &c->origin);
    md_item_set(m, key, value, &c->origin);
}

static GPtrArray *split(opt_ctx *c, const char *implied, GError **err)
{
    GError *e = NULL;
    GPtrArray *pairs = keyval_split(c->arg, implied, &e);
    if (!pairs) {
        opt_error(c, err, "%s", e->message);
        g_error_free(e);
    }
    return pairs;
}

/*
 * Options whose keys map onto machine properties one to one, or through a table:
 * keys[] lists accepted option keys, props[] the machine property each one sets.
 */
static int set_machine_keys(opt_ctx *c, const char *implied, const char *const *keys,
                            const char *const *props, GError **err)
{
    g_autoptr(GPtrArray) pairs = split(c, implied, err);
    if (!pairs)
        return -EINVAL;
    for (guint i = 0; i < pairs->len; i++) {
        keyval_pair *kv = pairs->pdata[i];
        const char *prop = keys ? NULL : kv->key;
        for (guint k = 0; keys && keys[k]; k++)
            if (strcmp(kv->key, keys[k]) == 0)
                prop = props[k];
        if (!prop) {
            g_autofree char *known = g_strjoinv(", ", (char **)keys);
            return opt_error(c, err, "unknown parameter '%s' (accepted: %s)", kv->key, known);
        }
        set_machine(c, prop, kv->value);
    }
    return 0;
}

/* -m 256 (MiB, as in QEMU), -m 256M, -m size=1G */
static int opt_memory(opt_ctx *c, GError **err)
{
    static const char *const keys[] = { "size", NULL }, *const props[] = { "memory" };
    int r = set_machine_keys(c, "size", keys, props, err);
    if (r < 0)
        return r;
    md_item *m = machine_desc_machine(c->cl->desc);
    const char *v = md_item_get(m, "memory", NULL);
    size_t n = v ? strlen(v) : 0;
    bool hex = v && (g_str_has_prefix(v, "0x") || g_str_has_prefix(v, "0X"));
    if (n && g_ascii_isdigit(v[n - 1]) && !hex) {
        g_autofree char *mib = g_strconcat(v, "M", NULL);
        set_machine(c, "memory", mib);
    }
    return 0;
}

static int opt_smp(opt_ctx *c, GError **err)
{
    static const char *const keys[] = { "cpus", "sockets", "cores", "threads", NULL };
    return set_machine_keys(c, "cpus", keys, keys, err);
}

static int opt_machine(opt_ctx *c, GError **err)
{
    return set_machine_keys(c, "type", NULL, NULL, err);
}

static int opt_accel(opt_ctx *c, GError **err)
{
    static const char *const keys[] = { "accel", NULL };
    return set_machine_keys(c, "accel", keys, keys, err);
}

static int opt_display(opt_ctx *c, GError **err)
{
    static const char *const keys[] = { "type", NULL }, *const props[] = { "display" };
    return set_machine_keys(c, "type", keys, props, err);
}

/* Options with one machine property as their whole argument, or a fixed value. */
static int opt_machine_value(opt_ctx *c, GError **err)
{
    static const struct {
        const char *opt, *prop, *fixed;
    } map[] = {
        { "kernel", "kernel", NULL },   { "initrd", "initrd", NULL },
        { "append", "cmdline", NULL },  { "nographic", "nographic", "on" },
        { "no-reboot", "no-reboot", "on" }, { "enable-kvm", "accel", "kvm" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
        if (strcmp(c->name, map[i].opt) == 0)
            set_machine(c, map[i].prop, map[i].fixed ? map[i].fixed : c->arg);
    return 0;
}

/* "-device help" lists types; "-device TYPE,help" describes one. */
static bool help_request(opt_ctx *c, md_class cls, const char *type, GPtrArray *pairs)
{
    gboolean asked = FALSE;
    keyval_get(pairs, "help", &asked);
    bool list = type && (strcmp(type, "help") == 0 || strcmp(type, "?") == 0);
    if (!list && !asked)
        return false;
    c->cl->type_help = true;
    c->cl->help_class = cls;
    g_free(c->cl->help_type);
    c->cl->help_type = list ? NULL : g_strdup(type);
    return true;
}

/* -object, -chardev, -device, -drive: an item of the description. */
static int opt_item(opt_ctx *c, GError **err)
{
    static const struct {
        const char *opt, *implied;
        md_class cls;
    } map[] = {
        { "object", "qom-type", MD_OBJECT },
        { "chardev", "backend", MD_CHARDEV },
        { "device", "driver", MD_DEVICE },
        { "drive", NULL, MD_DRIVE },
    };
    size_t k = 0;
    while (strcmp(map[k].opt, c->name) != 0)
        k++;
    g_autoptr(GPtrArray) pairs = split(c, map[k].implied, err);
    if (!pairs)
        return -EINVAL;
    const char *type = map[k].implied ? keyval_get(pairs, map[k].implied, NULL) : "drive";
    if (help_request(c, map[k].cls, type, pairs))
        return 0;
    if (!type)
        return opt_error(c, err, "missing %s type (-%s TYPE,...)", c->name, c->name);
    md_item *it = md_item_add(c->cl->desc, map[k].cls, type, keyval_get(pairs, "id", NULL), &c->origin);
    for (guint i = 0; i < pairs->len; i++) {
        keyval_pair *kv = pairs->pdata[i];
        if (map[k].implied && strcmp(kv->key, map[k].implied) == 0)
            continue;
        if (strcmp(kv->key, "id") == 0) {
            if (!kv->value || !*kv->value)
                return opt_error(c, err, "parameter 'id' needs a value (id=NAME)");
            continue;
        }
        md_item_set(it, kv->key, kv->value, &c->origin);
    }
    return 0;
}

/* -serial takes its argument whole: "file:PATH" may hold commas. */
static int opt_serial(opt_ctx *c, GError **err)
{
    md_item *it = md_item_add(c->cl->desc, MD_SERIAL, "serial", NULL, &c->origin);
    md_item_set(it, "backend", c->arg, &c->origin);
    return 0;
}

static int opt_config(opt_ctx *c, GError **err)
{
    return configfile_load(c->cl->desc, c->arg, err);
}

static int opt_plugin_path(opt_ctx *c, GError **err)
{
    g_ptr_array_add(c->cl->desc->plugin_paths, g_strdup(c->arg));
    return 0;
}

static int opt_flag(opt_ctx *c, GError **err)
{
    cmdline *cl = c->cl;
    if (strcmp(c->name, "print-config") == 0)
        cl->print_config = true;
    else if (strcmp(c->name, "plugins") == 0)
        cl->list_plugins = true;
    else if (strcmp(c->name, "version") == 0)
        cl->version = true;
    else
        cl->usage = true;
    return 0;
}

typedef struct opt_def {
    const char *name;
    const char *alias; /* another accepted name, or NULL */
    const char *synopsis; /* argument syntax for -help; NULL: no argument */
    opt_handler handler;
    const char *help;
} opt_def;

static const opt_def options[] = {
    { "h", "help", NULL, opt_flag, "display this help and exit" },
    { "version", NULL, NULL, opt_flag, "display version information and exit" },
    { "config", NULL, "FILE", opt_config, "read a configuration file (merged at this point)" },
    { "machine", "M", "[type=]name[,memory-backend=id][,accel=kvm][,prop=value...]",
      opt_machine, "select the machine type and set machine properties" },
    { "m", NULL, "[size=]megs[M|G]", opt_memory, "guest RAM size (a plain number means MiB)" },
    { "smp", NULL, "[cpus=]n[,sockets=s][,cores=c][,threads=t]", opt_smp, "number of vCPUs (1 to 255)" },
    { "accel", NULL, "kvm", opt_accel, "select the accelerator (only kvm)" },
    { "enable-kvm", NULL, NULL, opt_machine_value, "same as -accel kvm" },
    { "kernel", NULL, "bzImage", opt_machine_value, "kernel image to boot (bzImage or PVH ELF)" },
    { "initrd", NULL, "file", opt_machine_value, "initial ram disk" },
    { "append", NULL, "cmdline", opt_machine_value, "kernel command line" },
    { "object", NULL, "TYPE,id=id[,prop=value...]", opt_item,
      "create a memory backend (-object help lists the types, -object TYPE,help their properties)" },
    { "chardev", NULL, "BACKEND,id=id[,prop=value...]", opt_item,
      "create a character device: socket, file, stdio or null" },
    { "drive", NULL, "[file=file][,format=f][,if=none|virtio|ide][,id=id][,readonly=on|off][,cache=mode]...",
      opt_item, "define a drive (a disk image)" },
    { "device", NULL, "TYPE[,prop=value...]", opt_item,
      "add a device (-device help lists the types, -device TYPE,help their properties)" },
    { "serial", NULL, "stdio|null|none|file:PATH|chardev:ID", opt_serial,
      "add a serial port connected to the given backend" },
    { "nographic", NULL, NULL, opt_machine_value, "no display; serial port on stdio" },
    { "display", NULL, "none", opt_display, "select the display (only none)" },
    { "no-reboot", NULL, NULL, opt_machine_value, "exit instead of rebooting" },
    { "plugin-path", NULL, "DIR", opt_plugin_path, "look for plugins in DIR first (repeatable)" },
    { "plugins", NULL, NULL, opt_flag, "list the plugins found and their problems, then exit" },
    { "print-config", NULL, NULL, opt_flag, "print the validated configuration and exit" },
};

static const opt_def *find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
        if (strcmp(options[i].name, name) == 0 || (options[i].alias && strcmp(options[i].alias, name) == 0))
            return &options[i];
    return NULL;
}

int cmdline_parse(cmdline *cl, int argc, char **argv, GError **err)
{
    if (!cl->desc)
        cl->desc = machine_desc_new();
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (word[0] != '-' || !word[1]) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                        "unexpected argument '%s' (options start with '-'; see -help)", word);
            return -EINVAL;
        }
        const char *name = word + (word[1] == '-' ? 2 : 1);
        g_autofree char *bare = g_strdup(name);
        char *eq = strchr(bare, '=');
        if (eq)
            *eq = '\0';
        const opt_def *def = find_option(bare);
        if (!def) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "unknown option '%s' (see -help)", word);
            return -EINVAL;
        }
        const char *arg = NULL;
        if (def->synopsis) {
            if (eq)
                arg = name + (eq - bare) + 1;
            else if (i + 1 < argc)
                arg = argv[++i];
            else {
                g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "option '%s' needs an argument (%s)",
                            word, def->synopsis);
                return -EINVAL;
            }
        } else if (eq) {
            g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "option '%s' takes no argument", word);
            return -EINVAL;
        }
        /* After a help request only -plugin-path still matters: it decides what help lists. */
        if (cl->type_help && def->handler != opt_plugin_path)
            continue;
        opt_ctx c = { .cl = cl, .name = def->name, .arg = arg };
        c.origin.option = arg && !eq ? g_strdup_printf("%s %s", word, arg) : g_strdup(word);
        int r = def->handler(&c, err);
        md_origin_clear(&c.origin);
        if (r < 0)
            return r;
    }
    return 0;
}

void cmdline_clear(cmdline *cl)
{
    machine_desc_free(cl->desc);
    g_free(cl->help_type);
    memset(cl, 0, sizeof(*cl));
}

char *cmdline_usage(const char *prog)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "usage: %s [options]\n\n", prog);
    g_string_append(s, "Options may be written -opt or --opt; -opt ARG or --opt=ARG.\n\n");
    for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
        const opt_def *o = &options[i];
        g_string_append_printf(s, "-%s%s%s%s%s\n                %s\n", o->name, o->alias ? "|-" : "",
                               o->alias ? o->alias : "", o->synopsis ? " " : "",
                               o->synopsis ? o->synopsis : "", o->help);
    }
    g_string_append(s, "\nSee tessera(1) and docs/config.md for the configuration file syntax.\n");
    return g_string_free(s, FALSE);
}

const char *cmdline_version(void)
{
    return "tessera version " TESSERA_VERSION;
}
