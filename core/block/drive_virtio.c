/* SPDX-License-Identifier: MIT */
/*
 * QEMU's "-drive file=IMG,if=virtio" shorthand: one virtio-blk-pci device for every drive
 * given with if=virtio (block_drives_virtio), added to the machine description before
 * the devices are created. The only place the core names a device plugin type: the
 * shorthand itself names it. (virtio-blk, issue #6.)
 */
#include <string.h>

#include "block/block.h"

int block_drives_add_virtio_devices(machine_desc *d, registry *reg, GError **err)
{
    const GPtrArray *ids = block_drives_virtio();
    if (!ids->len)
        return 0;
    guint index = 0;
    for (guint i = 0, n = d->items->len; i < n; i++) {
        md_item *it = d->items->pdata[i];
        if (it->cls != MD_DRIVE)
            continue;
        /* Drive ids as block_drives_open gives them. */
        g_autofree char *id = it->id ? g_strdup(it->id) : g_strdup_printf("drive%u", index);
        index++;
        for (guint j = 0; j < ids->len; j++) {
            if (strcmp(ids->pdata[j], id) != 0)
                continue;
            md_item *dev = md_item_add(d, MD_DEVICE, "virtio-blk-pci", NULL, &it->origin);
            md_item_set(dev, "drive", id, &it->origin);
        }
    }
    /* The new items need their schema and values; a missing plugin is reported here,
     * at the drive's option. */
    return machine_desc_validate(d, reg, err);
}
