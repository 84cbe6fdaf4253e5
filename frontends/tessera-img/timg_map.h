/* SPDX-License-Identifier: MIT */
/* qemu-img map's entries, merging and output (independent of the block layer, for tests). */
#ifndef TIMG_MAP_H
#define TIMG_MAP_H

#include "timg.h"

struct timg_map_entry {
    uint64_t start, length;
    int depth;
    bool present, zero, data;
    bool has_offset;
    uint64_t offset;
    const char *filename; /* host file of the data (human output), may be NULL */
};

/* True when next continues cur the way qemu-img merges map entries. */
bool timg_map_mergeable(const struct timg_map_entry *cur, const struct timg_map_entry *next);

struct timg_map_printer {
    FILE *out;
    enum timg_output output;
    bool first;
};

/* Starts the output: the human header line, or nothing for JSON. */
void timg_map_begin(struct timg_map_printer *p, FILE *out, enum timg_output output);
/*
 * Prints one merged entry. Returns -1 for data that human output cannot show (compressed
 * or otherwise without an offset): qemu-img then fails with "File contains external,
 * encrypted or compressed clusters."
 */
int timg_map_print(struct timg_map_printer *p, const struct timg_map_entry *e);
/* Ends the output (JSON's closing bracket). */
void timg_map_end(struct timg_map_printer *p);

#endif
