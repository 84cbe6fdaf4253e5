/* SPDX-License-Identifier: MIT */
/* Write-zeroes and discard. */
#include "vmdk_internal.h"

#include <errno.h>

int vmdk_write_zeroes(struct vmdk_image *img, uint64_t offset, uint64_t len, unsigned flags,
                      struct vmdk_error *err)
{
    (void)offset;
    (void)len;
    (void)flags;
    return vmdk_fail(err, ENOTSUP, "%s: write-zeroes is not implemented yet", img->path);
}

int vmdk_discard(struct vmdk_image *img, uint64_t offset, uint64_t len, struct vmdk_error *err)
{
    (void)offset;
    (void)len;
    return vmdk_fail(err, ENOTSUP, "%s: discard is not implemented yet", img->path);
}

size_t vmdk_stream_pending(const struct vmdk_image *img)
{
    (void)img;
    return 0;
}
