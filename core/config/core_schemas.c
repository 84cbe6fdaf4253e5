/* SPDX-License-Identifier: MIT */
/* Schemas of the core's own sections; see core_schemas.h. Defaults follow QEMU's. */
#include "config/core_schemas.h"

#include <errno.h>
#include <string.h>

#include "util/error.h"

/* All names select tessera's one x86 platform; QEMU's names are accepted so scripts carry over. */
const char *const core_machine_types[] = { "pc", "q35", "microvm", NULL };
static const char *const display_values[] = { "none", NULL };
static const char *const accel_values[] = { "kvm", NULL };

static const ts_prop_desc machine_schema[] = {
    TS_PROP_DESC_ENUM("type", 0, "pc", core_machine_types,
                      "machine type (pc, q35 and microvm all select tessera's x86 platform)"),
    TS_PROP_DESC_SIZE("memory", 0, "128M", 1 << 20, 0, "guest RAM size (-m)"),
    TS_PROP_DESC_REF("memory-backend", 0, TS_REF_MEMORY_BACKEND,
                     "id of the memory-backend object that provides guest RAM"),
    TS_PROP_DESC_INT("cpus", 0, "1", 1, 255, "number of vCPUs (-smp)"),
    TS_PROP_DESC_INT("sockets", 0, NULL, 1, 255, "CPU sockets; sockets*cores*threads must equal cpus"),
    TS_PROP_DESC_INT("cores", 0, NULL, 1, 255, "cores per socket"),
    TS_PROP_DESC_INT("threads", 0, NULL, 1, 255, "threads per core"),
    TS_PROP_DESC_STRING("kernel", 0, NULL, "kernel image to boot (bzImage or PVH ELF) (-kernel)"),
    TS_PROP_DESC_STRING("initrd", 0, NULL, "initial ram disk (-initrd)"),
    TS_PROP_DESC_STRING("cmdline", 0, NULL, "kernel command line (-append)"),
    TS_PROP_DESC_BOOL("no-reboot", 0, "off", "exit instead of rebooting the guest (-no-reboot)"),
    TS_PROP_DESC_BOOL("nographic", 0, "off", "no display; serial on stdio unless a serial is given (-nographic)"),
    TS_PROP_DESC_ENUM("display", 0, "none", display_values, "display backend (-display)"),
    TS_PROP_DESC_ENUM("accel", 0, "kvm", accel_values, "accelerator (-accel, -enable-kvm)"),
    TS_PROP_DESC_END,
};

const char *const core_chardev_backends[] = { "socket", "file", "stdio", "null", NULL };

static const ts_prop_desc chardev_socket_schema[] = {
    TS_PROP_DESC_STRING("path", TS_PROP_REQUIRED, NULL, "path of the Unix socket"),
    TS_PROP_DESC_BOOL("server", 0, "off", "listen on path instead of connecting to it"),
    TS_PROP_DESC_BOOL("wait", 0, "on", "as server, wait for a client before the VM starts"),
    TS_PROP_DESC_INT("reconnect", 0, "0", 0, 86400,
                     "as client, seconds between reconnection attempts (0: never)"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc chardev_file_schema[] = {
    TS_PROP_DESC_STRING("path", TS_PROP_REQUIRED, NULL, "file to write output to"),
    TS_PROP_DESC_BOOL("append", 0, "off", "append to the file instead of truncating it"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc chardev_stdio_schema[] = {
    TS_PROP_DESC_BOOL("signal", 0, "on", "let Ctrl-C on the terminal stop tessera"),
    TS_PROP_DESC_BOOL("mux", 0, "off", "share the terminal between several frontends"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc chardev_null_schema[] = {
    TS_PROP_DESC_END,
};

static const char *const drive_if_values[] = { "none", "virtio", "ide", NULL };
static const char *const drive_cache_values[] = { "writeback", "none", "unsafe", "directsync",
                                                  "writethrough", NULL };
static const char *const drive_media_values[] = { "disk", "cdrom", NULL };

static const ts_prop_desc drive_schema[] = {
    TS_PROP_DESC_STRING("file", 0, NULL, "image file"),
    TS_PROP_DESC_STRING("format", 0, NULL, "image format: raw or a block-format plugin (default: probe)"),
    TS_PROP_DESC_ENUM("if", 0, "ide", drive_if_values,
                      "interface: none (attach with -device), virtio or ide"),
    TS_PROP_DESC_BOOL("readonly", 0, "off", "open the image read-only"),
    TS_PROP_DESC_ENUM("cache", 0, "writeback", drive_cache_values, "host cache mode"),
    TS_PROP_DESC_ENUM("media", 0, "disk", drive_media_values, "media type"),
    TS_PROP_DESC_BOOL("snapshot", 0, "off", "discard writes when tessera exits"),
    TS_PROP_DESC_END,
};

static const ts_prop_desc serial_schema[] = {
    TS_PROP_DESC_STRING("backend", TS_PROP_REQUIRED, NULL,
                        "where the port goes: stdio, null, none, file:PATH or chardev:ID"),
    TS_PROP_DESC_END,
};

/* Built-in devices (core/devices/): isa-debug-exit, with QEMU's defaults. */
static const ts_prop_desc isa_debug_exit_schema[] = {
    TS_PROP_DESC_INT("iobase", 0, "0x501", 0, 0xffff, "I/O port of the device"),
    TS_PROP_DESC_INT("iosize", 0, "2", 1, 4, "width in ports: 1, 2 or 4"),
    TS_PROP_DESC_END,
};

static const struct core_chardev {
    const char *name;
    const ts_prop_desc *schema;
    const char *description;
} chardevs[] = {
    { "socket", chardev_socket_schema, "Unix domain socket, as client or server" },
    { "file", chardev_file_schema, "output to a file" },
    { "stdio", chardev_stdio_schema, "tessera's standard input and output" },
    { "null", chardev_null_schema, "discards output, never has input" },
};

static const struct core_chardev *find_chardev(const char *type)
{
    for (size_t i = 0; type && i < G_N_ELEMENTS(chardevs); i++)
        if (strcmp(chardevs[i].name, type) == 0)
            return &chardevs[i];
    return NULL;
}

const ts_prop_desc *core_schema_find(md_class cls, const char *type)
{
    switch (cls) {
    case MD_MACHINE: return machine_schema;
    case MD_DRIVE: return drive_schema;
    case MD_SERIAL: return serial_schema;
    case MD_DEVICE: return type && strcmp(type, "isa-debug-exit") == 0 ? isa_debug_exit_schema : NULL;
    case MD_CHARDEV: {
        const struct core_chardev *c = find_chardev(type);
        return c ? c->schema : NULL;
    }
    default: return NULL;
    }
}

const char *core_type_description(md_class cls, const char *type)
{
    switch (cls) {
    case MD_MACHINE: return "tessera's x86 platform";
    case MD_DRIVE: return "a disk image";
    case MD_SERIAL: return "a 16550 serial port";
    case MD_DEVICE:
        return type && strcmp(type, "isa-debug-exit") == 0
                   ? "QEMU's isa-debug-exit: a write of V exits with status (V << 1) | 1"
                   : NULL;
    case MD_CHARDEV: {
        const struct core_chardev *c = find_chardev(type);
        return c ? c->description : NULL;
    }
    default: return NULL;
    }
}

int core_serial_parse(const char *text, core_serial_kind *kind, char **arg, GError **err)
{
    static const struct {
        const char *word;
        core_serial_kind kind;
    } plain[] = {
        { "none", CORE_SERIAL_NONE }, { "stdio", CORE_SERIAL_STDIO }, { "null", CORE_SERIAL_NULL },
    };
    *arg = NULL;
    for (size_t i = 0; text && i < G_N_ELEMENTS(plain); i++) {
        if (strcmp(text, plain[i].word) == 0) {
            *kind = plain[i].kind;
            return 0;
        }
    }
    if (text && g_str_has_prefix(text, "file:") && text[5]) {
        *kind = CORE_SERIAL_FILE;
        *arg = g_strdup(text + 5);
        return 0;
    }
    if (text && g_str_has_prefix(text, "chardev:") && text[8]) {
        *kind = CORE_SERIAL_CHARDEV;
        *arg = g_strdup(text + 8);
        return 0;
    }
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                "property 'backend': '%s' is not a serial backend (use stdio, null, none, "
                "file:PATH or chardev:ID)", text ? text : "");
    return -EINVAL;
}
