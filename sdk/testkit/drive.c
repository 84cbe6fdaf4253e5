/* SPDX-License-Identifier: MIT */
/*
 * Drives for testkit machines: -drive arguments opened by the core block layer exactly as
 * tessera opens them at launch (validated against the drive schema, then
 * block_drives_open), so disk devices find them with ts_block_api.drive_get.
 *
 * The block layer keeps one process-wide set of drives, so one machine at a time has
 * drives; adding a drive reopens the machine's earlier ones, which is why drives must be
 * added before the devices that use them.
 */
#include <errno.h>
#include <string.h>

#include "block/block.h"
#include "config/cmdline.h"
#include "testkit_internal.h"

/* The registry the block layer was last initialised with, while its machine lives. */
static registry *block_owner;

TK_API int tk_drive_add(tk_machine *m, const char *spec)
{
    if (m->devices->len) {
        tk_set_error(m, "-drive %s: add drives before devices (adding one reopens the drives)", spec);
        return -EBUSY;
    }
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)"testkit");
    for (guint i = 0; i + 1 < m->specs->len; i += 2) {
        if (strcmp(m->specs->pdata[i], "-drive") == 0) {
            g_ptr_array_add(argv, m->specs->pdata[i]);
            g_ptr_array_add(argv, m->specs->pdata[i + 1]);
        }
    }
    g_ptr_array_add(argv, (char *)"-drive");
    g_ptr_array_add(argv, (char *)spec);
    if (!m->reg)
        m->reg = registry_new((const char *const *)m->plugin_dirs->pdata, m->plugin_dirs->len);
    cmdline cl = { 0 };
    GError *err = NULL;
    int r = -EINVAL;
    if (cmdline_parse(&cl, (int)argv->len, (char **)argv->pdata, &err) < 0 ||
        machine_desc_validate(cl.desc, m->reg, &err) < 0 || block_init(m->reg, &err) < 0 ||
        block_drives_open(cl.desc, &err) < 0)
        goto out;
    block_owner = m->reg;
    g_ptr_array_add(m->specs, g_strdup("-drive"));
    g_ptr_array_add(m->specs, g_strdup(spec));
    r = 0;
out:
    if (err)
        tk_set_error(m, "%s", err->message);
    g_clear_error(&err);
    cmdline_clear(&cl);
    g_ptr_array_free(argv, TRUE);
    return r;
}

TK_API void tk_drives_close(tk_machine *m)
{
    /* Only this machine's: another machine's drives stay open when it had none. */
    bool had = false;
    for (guint i = 0; i + 1 < m->specs->len;) {
        if (strcmp(m->specs->pdata[i], "-drive") == 0) {
            g_ptr_array_remove_range(m->specs, i, 2);
            had = true;
        } else {
            i += 2;
        }
    }
    if (had)
        block_drives_close();
}

void tk_drives_release(tk_machine *m)
{
    tk_drives_close(m);
    /* The registry dies with m: the block layer must not keep it (a later machine's
     * registry may get the same address and would then lack the raw format). */
    if (block_owner && block_owner == m->reg) {
        block_shutdown();
        block_owner = NULL;
    }
}
