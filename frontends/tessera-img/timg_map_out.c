/* SPDX-License-Identifier: MIT */
/* qemu-img map's entry merging and its human and JSON lines. */
#include "timg_map.h"

#include <inttypes.h>
#include <string.h>

bool timg_map_mergeable(const struct timg_map_entry *cur, const struct timg_map_entry *next)
{
    if (cur->length == 0)
        return false;
    if (cur->zero != next->zero || cur->data != next->data || cur->depth != next->depth ||
        cur->present != next->present || cur->has_offset != next->has_offset)
        return false;
    if (cur->has_offset && cur->offset + cur->length != next->offset)
        return false;
    /* Contiguous offsets in two different files (split extents) are not one range. */
    if ((cur->filename == NULL) != (next->filename == NULL))
        return false;
    if (cur->filename && strcmp(cur->filename, next->filename) != 0)
        return false;
    return true;
}

void timg_map_begin(struct timg_map_printer *p, FILE *out, enum timg_output output)
{
    p->out = out;
    p->output = output;
    p->first = true;
    if (output == TIMG_OUTPUT_HUMAN)
        fprintf(out, "%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
}

int timg_map_print(struct timg_map_printer *p, const struct timg_map_entry *e)
{
    if (p->output == TIMG_OUTPUT_HUMAN) {
        if (e->data && !e->has_offset)
            return -1;
        if (e->data)
            fprintf(p->out, "%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start,
                    e->length, e->offset, e->filename ? e->filename : "");
        p->first = false;
        return 0;
    }
    fprintf(p->out, "%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d,"
            " \"present\": %s, \"zero\": %s, \"data\": %s",
            p->first ? "[" : ",\n", e->start, e->length, e->depth, e->present ? "true" : "false",
            e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset)
        fprintf(p->out, ", \"offset\": %" PRIu64, e->offset);
    fputc('}', p->out);
    p->first = false;
    return 0;
}

void timg_map_end(struct timg_map_printer *p)
{
    if (p->output == TIMG_OUTPUT_JSON)
        fputs(p->first ? "[]\n" : "]\n", p->out);
}
