/* SPDX-License-Identifier: MIT */
/* qemu-img info's output: the ImageInfo dictionary and the human block. */
#include "timg_info.h"

#include <inttypes.h>
#include <string.h>

GVariant *timg_info_to_variant(const struct timg_image_info *i)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "filename", g_variant_new_string(i->filename));
    g_variant_builder_add(&b, "{sv}", "format", g_variant_new_string(i->format));
    g_variant_builder_add(&b, "{sv}", "virtual-size", g_variant_new_uint64(i->virtual_size));
    if (i->has_actual_size)
        g_variant_builder_add(&b, "{sv}", "actual-size", g_variant_new_uint64(i->actual_size));
    if (i->cluster_size)
        g_variant_builder_add(&b, "{sv}", "cluster-size", g_variant_new_uint64(i->cluster_size));
    if (i->backing_filename) {
        g_variant_builder_add(&b, "{sv}", "backing-filename",
                              g_variant_new_string(i->backing_filename));
        if (i->full_backing_filename)
            g_variant_builder_add(&b, "{sv}", "full-backing-filename",
                                  g_variant_new_string(i->full_backing_filename));
        if (i->backing_format)
            g_variant_builder_add(&b, "{sv}", "backing-filename-format",
                                  g_variant_new_string(i->backing_format));
    }
    g_variant_builder_add(&b, "{sv}", "dirty-flag", g_variant_new_boolean(i->dirty));
    if (i->format_specific) {
        GVariantBuilder fs;
        g_variant_builder_init(&fs, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&fs, "{sv}", "type", g_variant_new_string(i->format));
        g_variant_builder_add(&fs, "{sv}", "data", i->format_specific);
        g_variant_builder_add(&b, "{sv}", "format-specific", g_variant_builder_end(&fs));
    }
    return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* "./name" and "name" are the same path: no "(actual path: ...)" for that. */
static const char *skip_dot_slash(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    return p;
}

void timg_info_print_human(FILE *f, const struct timg_image_info *i)
{
    char *vs = timg_size_to_str(i->virtual_size);

    fprintf(f, "image: %s\n", i->filename);
    fprintf(f, "file format: %s\n", i->format);
    fprintf(f, "virtual size: %s (%" PRIu64 " bytes)\n", vs, i->virtual_size);
    g_free(vs);
    if (i->has_actual_size) {
        char *ds = timg_size_to_str(i->actual_size);
        fprintf(f, "disk size: %s\n", ds);
        g_free(ds);
    } else {
        fputs("disk size: unavailable\n", f);
    }
    if (i->cluster_size)
        fprintf(f, "cluster_size: %" PRIu64 "\n", i->cluster_size);
    if (i->dirty)
        fputs("dirty flag: yes\n", f);
    if (i->backing_filename) {
        fprintf(f, "backing file: %s", i->backing_filename);
        if (i->full_backing_filename &&
            strcmp(skip_dot_slash(i->full_backing_filename), skip_dot_slash(i->backing_filename)) != 0)
            fprintf(f, " (actual path: %s)", i->full_backing_filename);
        fputc('\n', f);
        if (i->backing_format)
            fprintf(f, "backing file format: %s\n", i->backing_format);
    }
    if (i->format_specific) {
        fputs("Format specific information:\n", f);
        timg_print_human_dict(f, i->format_specific, 1);
    }
}
