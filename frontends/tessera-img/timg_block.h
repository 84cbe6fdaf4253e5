/* SPDX-License-Identifier: MIT */
/* What the subcommands share about the block layer (internal to tessera-img). */
#ifndef TIMG_BLOCK_H
#define TIMG_BLOCK_H

#include "timg.h"

#include "block/block.h"

/* Creates the plugin registry (once) and initialises the block layer. Prints on failure. */
int timg_block_ready(const struct timg_io *io);
/* Prints err's message (or fallback) as a one-line error. */
void timg_report(const struct timg_io *io, GError *err, const char *fallback);
/* Parses a cache mode for -t/-T, printing qemu-img's message when unknown. */
int timg_parse_cache(const struct timg_io *io, const char *arg, block_cache_mode *out);

/* Opens filename read-only (or read-write) for a subcommand; prints errors. */
block_node *timg_open(const struct timg_io *io, const char *filename, const char *fmt,
                      bool writable, block_cache_mode cache, bool no_backing);

/*
 * For a subcommand taking one image file name: checks that args (nargs of them, what is
 * left after the options) is one, readies the block layer and opens it like timg_open.
 */
block_node *timg_open_one(const struct timg_io *io, int nargs, char **args, const char *fmt,
                          bool writable, block_cache_mode cache, bool no_backing);

#endif
