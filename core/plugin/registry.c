/* SPDX-License-Identifier: MIT */
/*
 * The plugin registry. Plugins are found by type name: every *.so on the search path is
 * loaded once (on the main thread; libltdl is not thread-safe) and indexed by the types
 * it provides. Files that cannot be used are remembered, not fatal: they matter only
 * when the user asks for a type that is then missing, or lists plugins.
 */
#include "util/error.h"
#include "plugin/registry.h"

#include <errno.h>
#include <limits.h>
#include <dlfcn.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "object/object.h"
#include "plugin/descriptor_check.h"

struct registry {
    GPtrArray *search_path; /* char * */
    GPtrArray *plugins;     /* registry_plugin * */
    GPtrArray *problems;    /* registry_problem * */
    GHashTable *types;      /* name -> registry_type * */
    GHashTable *conflicts;  /* name -> char * (path of the second provider) */
    GHashTable *seen_files; /* realpath -> NULL */
    bool scanned;
    bool ltdl_ready;
};

const char *registry_kind_name(uint32_t kind)
{
    switch (kind) {
    case TS_KIND_DEVICE: return "device";
    case TS_KIND_BLOCK_FORMAT: return "block-format";
    case TS_KIND_MEMORY_BACKEND: return "memory-backend";
    default: return "unknown";
    }
}

static void add_dir(GPtrArray *path, const char *dir)
{
    if (!dir || !*dir)
        return;
    for (guint i = 0; i < path->len; i++)
        if (strcmp(path->pdata[i], dir) == 0)
            return;
    g_ptr_array_add(path, g_strdup(dir));
}

/* True when the running program was built in (and is run from) the build tree. */
static bool running_from_build_tree(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char root[PATH_MAX];
    if (!realpath(TESSERA_BUILD_ROOT, root))
        return false;
    size_t len = strlen(root);
    return strncmp(exe, root, len) == 0 && exe[len] == '/';
}

registry *registry_new(const char *const *extra_dirs, guint n_extra)
{
    registry *reg = g_new0(registry, 1);
    reg->search_path = g_ptr_array_new_with_free_func(g_free);
    reg->plugins = g_ptr_array_new();
    reg->problems = g_ptr_array_new();
    reg->types = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    reg->conflicts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    reg->seen_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < n_extra; i++)
        add_dir(reg->search_path, extra_dirs[i]);
    const char *env = g_getenv("TESSERA_PLUGIN_PATH");
    if (env) {
        g_auto(GStrv) dirs = g_strsplit(env, ":", -1);
        for (guint i = 0; dirs[i]; i++)
            add_dir(reg->search_path, dirs[i]);
    }
    /*
     * A tessera run from its build tree uses that tree's plugins instead of the installed
     * ones: after `make install`, both hold the same types, and a build must test its own.
     */
    if (running_from_build_tree())
        add_dir(reg->search_path, TESSERA_BUILD_PLUGIN_DIR);
    else
        add_dir(reg->search_path, TESSERA_INSTALL_PLUGIN_DIR);
    return reg;
}

static void add_problem(registry *reg, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void add_problem(registry *reg, const char *path, const char *fmt, ...)
{
    registry_problem *p = g_new0(registry_problem, 1);
    va_list ap;
    va_start(ap, fmt);
    p->path = g_strdup(path);
    p->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(reg->problems, p);
}

/* Indexes a checked plugin's types; a type name taken by another plugin is a conflict. */
static void index_plugin(registry *reg, registry_plugin *plugin)
{
    g_ptr_array_add(reg->plugins, plugin);
    for (guint i = 0; plugin->desc->types[i]; i++) {
        const ts_type_desc *t = plugin->desc->types[i];
        registry_type *have = g_hash_table_lookup(reg->types, t->name);
        if (have) {
            if (!g_hash_table_contains(reg->conflicts, t->name))
                g_hash_table_insert(reg->conflicts, (gpointer)t->name, g_strdup(plugin->path));
            add_problem(reg, plugin->path, "type '%s' is also provided by %s", t->name,
                        have->plugin->path);
            continue;
        }
        registry_type *rt = g_new0(registry_type, 1);
        rt->desc = t;
        rt->plugin = plugin;
        g_hash_table_insert(reg->types, (gpointer)t->name, rt);
    }
}

/* Checks a descriptor and runs the plugin's init hook; NULL with *err on failure. */
static registry_plugin *accept_descriptor(const ts_plugin_desc *desc, const char *path,
                                          void *handle, GError **err)
{
    ts_plugin_desc *copy = descriptor_check_and_copy(desc, err);
    if (!copy)
        return NULL;
    if (object_plugin_init(copy, err) < 0) {
        descriptor_copy_free(copy);
        return NULL;
    }
    registry_plugin *p = g_new0(registry_plugin, 1);
    p->path = g_strdup(path);
    p->desc = copy;
    p->handle = handle;
    return p;
}

int registry_add_builtin(registry *reg, const ts_plugin_desc *desc, GError **err)
{
    registry_plugin *p = accept_descriptor(desc, "(built-in)", NULL, err);
    if (!p)
        return -EINVAL;
    index_plugin(reg, p);
    return 0;
}

static bool ensure_ltdl(registry *reg)
{
    if (!reg->ltdl_ready && lt_dlinit() == 0)
        reg->ltdl_ready = true;
    return reg->ltdl_ready;
}

/* A different ABI major exports a differently named entry point; say so precisely. */
static int other_abi_major(lt_dlhandle h)
{
    for (int major = 0; major < 16; major++) {
        char name[64];
        if (major == TS_ABI_MAJOR)
            continue;
        g_snprintf(name, sizeof(name), "tessera_plugin_entry_v%d", major);
        if (lt_dlsym(h, name))
            return major;
    }
    return -1;
}

/* True when the file starts with the ELF magic; plugins are ELF shared objects. */
static bool file_is_elf(const char *path)
{
    unsigned char magic[4] = { 0 };
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(magic, 1, sizeof(magic), f);
    fclose(f);
    return n == sizeof(magic) && memcmp(magic, "\177ELF", 4) == 0;
}

/*
 * libltdl reduces every dlopen failure to "file not found"; the system loader's own text
 * names the missing library or the bad ELF header, so it is fetched for the message.
 */
static void add_problem_load_failure(registry *reg, const char *path, const char *ltdl_why)
{
    if (!file_is_elf(path)) {
        add_problem(reg, path, "not a tessera plugin (not an ELF shared library)");
        return;
    }
    char *why = NULL;
    void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        dlclose(h);
    } else {
        const char *e = dlerror();
        why = e ? g_strdup(e) : NULL;
    }
    if (why && (strstr(why, "wrong ELF class") || strstr(why, "invalid ELF header") ||
                strstr(why, "file too short") || strstr(why, "cannot dynamically load"))) {
        add_problem(reg, path, "not a tessera plugin for this machine (%s)", why);
    } else {
        add_problem(reg, path, "cannot be loaded: %s (run 'ldd %s' to see which libraries are missing)",
                    why ? why : (ltdl_why ? ltdl_why : "unknown error"), path);
    }
    g_free(why);
}

static void load_file(registry *reg, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return;
    if (g_hash_table_contains(reg->seen_files, real))
        return;
    g_hash_table_add(reg->seen_files, g_strdup(real));

    lt_dladvise advise;
    lt_dladvise_init(&advise);
    lt_dladvise_local(&advise);
    lt_dlhandle h = lt_dlopenadvise(path, advise);
    lt_dladvise_destroy(&advise);
    if (!h) {
        add_problem_load_failure(reg, path, lt_dlerror());
        return;
    }
    ts_plugin_entry_fn entry = (ts_plugin_entry_fn)(uintptr_t)lt_dlsym(h, TS_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        int major = other_abi_major(h);
        if (major >= 0)
            add_problem(reg, path, "plugin is built for ABI %d.x, this tessera speaks ABI %d.%d "
                        "(major versions differ)", major, TS_ABI_MAJOR, TS_ABI_MINOR);
        else
            add_problem(reg, path, "not a tessera plugin (it exports no %s)", TS_PLUGIN_ENTRY_SYMBOL);
        lt_dlclose(h);
        return;
    }
    const ts_plugin_desc *desc = entry();
    GError *err = NULL;
    registry_plugin *p = NULL;
    if (!desc)
        add_problem(reg, path, "not a tessera plugin (%s returned no descriptor)", TS_PLUGIN_ENTRY_SYMBOL);
    else if (!(p = accept_descriptor(desc, path, h, &err))) {
        add_problem(reg, path, "%s", err->message);
        g_error_free(err);
    }
    if (!p) {
        lt_dlclose(h);
        return;
    }
    index_plugin(reg, p);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void scan_dir(registry *reg, const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".so"))
            g_ptr_array_add(names, g_strdup(name));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names); /* a stable order makes conflicts reproducible */
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        load_file(reg, path);
    }
    g_ptr_array_free(names, TRUE);
}

void registry_scan(registry *reg)
{
    if (reg->scanned)
        return;
    reg->scanned = true;
    if (!ensure_ltdl(reg)) {
        add_problem(reg, "libltdl", "cannot initialize the plugin loader: %s", lt_dlerror());
        return;
    }
    for (guint i = 0; i < reg->search_path->len; i++)
        scan_dir(reg, reg->search_path->pdata[i]);
}

static char *search_path_text(registry *reg)
{
    if (!reg->search_path->len)
        return g_strdup("(no plugin directories)");
    g_ptr_array_add(reg->search_path, NULL);
    char *s = g_strjoinv(", ", (char **)reg->search_path->pdata);
    g_ptr_array_remove_index(reg->search_path, reg->search_path->len - 1);
    return s;
}

/* The problem of a file named like the type, which probably was meant to provide it. */
static const registry_problem *problem_for_type(registry *reg, const char *name)
{
    g_autofree char *file = g_strconcat(name, ".so", NULL);
    for (guint i = 0; i < reg->problems->len; i++) {
        const registry_problem *p = reg->problems->pdata[i];
        g_autofree char *base = g_path_get_basename(p->path);
        if (strcmp(base, file) == 0)
            return p;
    }
    return NULL;
}

const registry_type *registry_find(registry *reg, const char *name, uint32_t kind, GError **err)
{
    registry_scan(reg);
    const char *kname = kind ? registry_kind_name(kind) : "plugin";
    registry_type *t = g_hash_table_lookup(reg->types, name);
    if (t && g_hash_table_contains(reg->conflicts, name)) {
        g_set_error(err, TS_ERROR, TS_ERROR_EXISTS,
                    "%s type '%s' is provided by two plugins: %s and %s (remove one)", kname, name,
                    t->plugin->path, (const char *)g_hash_table_lookup(reg->conflicts, name));
        return NULL;
    }
    if (t && kind && t->desc->kind != kind) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "'%s' is a %s type, not a %s type",
                    name, registry_kind_name(t->desc->kind), kname);
        return NULL;
    }
    if (t)
        return t;
    const registry_problem *p = problem_for_type(reg, name);
    if (p) {
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "%s type '%s' is unavailable: %s: %s",
                    kname, name, p->path, p->message);
        return NULL;
    }
    g_autofree char *where = search_path_text(reg);
    g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "unknown %s type '%s' (looked for plugins in %s)",
                kname, name, where);
    return NULL;
}

static gint compare_types(gconstpointer a, gconstpointer b)
{
    const registry_type *x = *(const registry_type *const *)a, *y = *(const registry_type *const *)b;
    return strcmp(x->desc->name, y->desc->name);
}

GPtrArray *registry_types(registry *reg)
{
    registry_scan(reg);
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, reg->types);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(out, value);
    g_ptr_array_sort(out, compare_types);
    return out;
}

const GPtrArray *registry_problems(registry *reg)
{
    return reg->problems;
}

const GPtrArray *registry_search_path(registry *reg)
{
    return reg->search_path;
}

void registry_free(registry *reg)
{
    if (!reg)
        return;
    for (guint i = reg->plugins->len; i-- > 0;) {
        registry_plugin *p = reg->plugins->pdata[i];
        if (p->desc->fini)
            p->desc->fini();
        if (p->handle)
            lt_dlclose(p->handle);
        descriptor_copy_free((ts_plugin_desc *)p->desc);
        g_free(p->path);
        g_free(p);
    }
    for (guint i = 0; i < reg->problems->len; i++) {
        registry_problem *p = reg->problems->pdata[i];
        g_free(p->path);
        g_free(p->message);
        g_free(p);
    }
    g_ptr_array_free(reg->plugins, TRUE);
    g_ptr_array_free(reg->problems, TRUE);
    g_ptr_array_free(reg->search_path, TRUE);
    g_hash_table_destroy(reg->types);
    g_hash_table_destroy(reg->conflicts);
    g_hash_table_destroy(reg->seen_files);
    if (reg->ltdl_ready)
        lt_dlexit();
    g_free(reg);
}
