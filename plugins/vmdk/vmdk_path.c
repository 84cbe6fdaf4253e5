/* SPDX-License-Identifier: MIT */
/*
 * Resolving extent and parent file names found in descriptors. The names come from
 * untrusted files, so by default they must stay inside the descriptor's directory:
 * no absolute paths, no "..", and no symlink that leads out of it.
 */
#define _GNU_SOURCE
#include "vmdk_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vmdk_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

const char *vmdk_path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool has_dotdot_component(const char *name)
{
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        if (!slash)
            break;
        p = slash + 1;
    }
    return false;
}

/* If the file exists, its real location must be inside the real directory. A file
 * that does not exist yet cannot escape through a symlink. */
static int check_real_location(const char *dir, const char *full, const char *desc_name,
                               const char *name, struct vmdk_error *err)
{
    char real_dir[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(dir, real_dir) || !realpath(full, real_file))
        return 0;
    size_t n = strlen(real_dir);
    bool inside = strncmp(real_file, real_dir, n) == 0 &&
                  (real_file[n] == '/' || (n == 1 && real_dir[0] == '/'));
    if (!inside)
        return vmdk_fail(err, EACCES,
                         "%s: extent file '%s' resolves to '%s', outside the descriptor's "
                         "directory (allow_outside is off)",
                         desc_name, name, real_file);
    return 0;
}

int vmdk_path_resolve(const char *desc_path, const char *name, bool allow_outside,
                      char **out, struct vmdk_error *err)
{
    *out = NULL;
    if (name[0] == '\0')
        return vmdk_fail(err, EINVAL, "%s: empty extent file name", desc_path);
    if (!allow_outside && name[0] == '/')
        return vmdk_fail(err, EACCES,
                         "%s: extent file '%s' is an absolute path (allow_outside is off)",
                         desc_path, name);
    if (!allow_outside && has_dotdot_component(name))
        return vmdk_fail(err, EACCES,
                         "%s: extent file '%s' leaves the descriptor's directory "
                         "(allow_outside is off)",
                         desc_path, name);
    char *dir = vmdk_path_dirname(desc_path);
    if (!dir)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", desc_path);
    char *full = NULL;
    int r;
    if (name[0] == '/')
        full = strdup(name);
    else if (asprintf(&full, "%s/%s", dir, name) < 0)
        full = NULL;
    if (!full) {
        free(dir);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", desc_path);
    }
    r = allow_outside ? 0 : check_real_location(dir, full, desc_path, name, err);
    free(dir);
    if (r < 0) {
        free(full);
        return r;
    }
    *out = full;
    return 0;
}
