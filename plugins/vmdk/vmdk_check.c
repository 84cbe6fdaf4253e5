/* SPDX-License-Identifier: MIT */
/* Consistency check and repair of sparse extents. */
#include "vmdk_internal.h"

#include <errno.h>
#include <string.h>

int vmdk_check(struct vmdk_image *img, enum vmdk_check_mode mode, vmdk_check_report_fn report,
               void *ctx, struct vmdk_check_result *res, struct vmdk_error *err)
{
    (void)mode;
    (void)report;
    (void)ctx;
    memset(res, 0, sizeof(*res));
    return vmdk_fail(err, ENOTSUP, "%s: check is not implemented yet", img->path);
}
