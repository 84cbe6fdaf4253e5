/* SPDX-License-Identifier: MIT */
/* qemu-img check's output and exit status. */
#include "timg_check.h"

#include <inttypes.h>

GVariant *timg_check_to_variant(const struct timg_check *c)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "filename", g_variant_new_string(c->filename));
    g_variant_builder_add(&b, "{sv}", "format", g_variant_new_string(c->format));
    g_variant_builder_add(&b, "{sv}", "check-errors", g_variant_new_uint64(c->check_errors));
#define OPTIONAL(key, field) \
    if (c->field) \
        g_variant_builder_add(&b, "{sv}", key, g_variant_new_uint64(c->field))
    OPTIONAL("image-end-offset", image_end_offset);
    OPTIONAL("corruptions", corruptions);
    OPTIONAL("leaks", leaks);
    OPTIONAL("corruptions-fixed", corruptions_fixed);
    OPTIONAL("leaks-fixed", leaks_fixed);
    OPTIONAL("total-clusters", total_clusters);
    OPTIONAL("allocated-clusters", allocated_clusters);
    OPTIONAL("fragmented-clusters", fragmented_clusters);
    OPTIONAL("compressed-clusters", compressed_clusters);
#undef OPTIONAL
    return g_variant_ref_sink(g_variant_builder_end(&b));
}

void timg_check_print_human(FILE *f, const struct timg_check *c)
{
    if (c->corruptions == 0 && c->leaks == 0 && c->check_errors == 0) {
        fputs("No errors were found on the image.\n", f);
    } else {
        if (c->corruptions)
            fprintf(f, "\n%" PRIu64 " errors were found on the image.\n"
                       "Data may be corrupted, or further writes to the image may corrupt it.\n",
                    c->corruptions);
        if (c->leaks)
            fprintf(f, "\n%" PRIu64 " leaked clusters were found on the image.\n"
                       "This means waste of disk space, but no harm to data.\n",
                    c->leaks);
        if (c->check_errors)
            fprintf(f, "\n%" PRIu64 " internal errors have occurred during the check.\n",
                    c->check_errors);
    }
    if (c->total_clusters && c->allocated_clusters) {
        double alloc = (double)c->allocated_clusters;
        fprintf(f, "%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, "
                   "%0.2f%% compressed clusters\n",
                c->allocated_clusters, c->total_clusters,
                alloc * 100.0 / (double)c->total_clusters,
                (double)c->fragmented_clusters * 100.0 / alloc,
                (double)c->compressed_clusters * 100.0 / alloc);
    }
    if (c->image_end_offset)
        fprintf(f, "Image end offset: %" PRIu64 "\n", c->image_end_offset);
}

void timg_check_print_repaired(FILE *f, const struct timg_check *c)
{
    fprintf(f, "The following inconsistencies were found and repaired:\n\n"
               "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n"
               "Double checking the fixed image now...\n",
            c->leaks_fixed, c->corruptions_fixed);
}

int timg_check_status(const struct timg_check *c)
{
    if (c->check_errors)
        return 1;
    if (c->corruptions)
        return 2;
    if (c->leaks)
        return 3;
    return 0;
}
