/* SPDX-License-Identifier: MIT */
/* qemu-img check's output and exit status (independent of the block layer, for tests). */
#ifndef TIMG_CHECK_H
#define TIMG_CHECK_H

#include "timg.h"

struct timg_check {
    const char *filename, *format;
    uint64_t corruptions, leaks, corruptions_fixed, leaks_fixed, check_errors;
    uint64_t allocated_clusters, total_clusters, fragmented_clusters, compressed_clusters;
    uint64_t image_end_offset;
};

/* qemu-img's ImageCheck keys (optional ones only when non-zero); new reference. */
GVariant *timg_check_to_variant(const struct timg_check *c);
void timg_check_print_human(FILE *f, const struct timg_check *c);
/* "The following inconsistencies were found and repaired: ..." */
void timg_check_print_repaired(FILE *f, const struct timg_check *c);
/* 0 clean, 1 check not completed, 2 corruptions, 3 leaks. */
int timg_check_status(const struct timg_check *c);

#endif
