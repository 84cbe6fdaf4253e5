/* SPDX-License-Identifier: MIT */
/* The image information tessera-img prints, independent of the block layer (for tests). */
#ifndef TIMG_INFO_H
#define TIMG_INFO_H

#include "timg.h"

struct timg_image_info {
    const char *filename;
    const char *format;
    uint64_t virtual_size;
    uint64_t actual_size;
    bool has_actual_size;
    uint64_t cluster_size;             /* 0: none */
    const char *backing_filename;      /* NULL: no backing */
    const char *full_backing_filename; /* NULL: unknown */
    const char *backing_format;        /* NULL: unknown */
    bool dirty;
    GVariant *format_specific;         /* a{sv} or NULL; borrowed */
};

/* qemu-img's ImageInfo keys as a dictionary (new reference). */
GVariant *timg_info_to_variant(const struct timg_image_info *i);
/* qemu-img's human "info" block. */
void timg_info_print_human(FILE *f, const struct timg_image_info *i);

#endif
