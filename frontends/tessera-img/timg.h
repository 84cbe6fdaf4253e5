/* SPDX-License-Identifier: MIT */
/*
 * tessera-img: qemu-img's command-line interface over tessera's block layer.
 *
 * Every subcommand is a function taking argv (argv[0] is the subcommand name) and a
 * struct timg_io naming where output and errors go, and returns the process exit status.
 * main() is a thin wrapper around timg_main(); tests call the same functions with
 * in-memory streams. Options follow qemu-img: getopt_long with GNU permutation, so
 * options may come after positional arguments.
 */
#ifndef TIMG_H
#define TIMG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct timg_io {
    FILE *out; /* normal output (stdout) */
    FILE *err; /* one-line errors and warnings (stderr) */
};

/* argv[0] is the program name, argv[1] the subcommand. */
int timg_main(const struct timg_io *io, int argc, char **argv);

/* Subcommands; argv[0] is the subcommand's name. */
int timg_cmd_create(const struct timg_io *io, int argc, char **argv);
int timg_cmd_info(const struct timg_io *io, int argc, char **argv);
int timg_cmd_check(const struct timg_io *io, int argc, char **argv);
int timg_cmd_convert(const struct timg_io *io, int argc, char **argv);
int timg_cmd_compare(const struct timg_io *io, int argc, char **argv);
int timg_cmd_map(const struct timg_io *io, int argc, char **argv);
int timg_cmd_bench(const struct timg_io *io, int argc, char **argv);

/* ---- shared helpers (timg_util.c) ---- */

/* Prints "tessera-img: MESSAGE\n" on io->err. */
void timg_error(const struct timg_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Output format of --output. */
enum timg_output { TIMG_OUTPUT_HUMAN, TIMG_OUTPUT_JSON };
/* Parses "human" or "json"; prints an error and returns -1 otherwise. */
int timg_parse_output(const struct timg_io *io, const char *arg, enum timg_output *out);

/* True when an -o argument asks for help: "help", "?", or a "help" item in a list. */
bool timg_opts_want_help(const char *opts);
/* Appends one -o argument to the accumulated list, qemu-img style (joined with ','). */
void timg_opts_append(GString *acc, const char *arg);

/* Reports an unknown option or a missing argument from getopt (one line). */
void timg_bad_option(const struct timg_io *io, int c, int optopt_value, char **argv, int optind_value);

/*
 * qemu-img's long options that tessera-img refuses, for a subcommand's longopts; its own
 * long options are numbered from 256, below these.
 */
enum { TIMG_OPT_IMAGE_OPTS = 0x1000, TIMG_OPT_OBJECT };
#define TIMG_REFUSED_LONGOPTS                                   \
    { "image-opts", no_argument, NULL, TIMG_OPT_IMAGE_OPTS },   \
    { "object", required_argument, NULL, TIMG_OPT_OBJECT }

/*
 * The default case of an image subcommand's getopt_long loop (it reads optind and optopt):
 * 'h' prints usage on io->out and returns 0; the refused long options, unknown options and
 * missing arguments print a one-line error and return 1. Returns the exit status.
 */
int timg_other_option(const struct timg_io *io, int c, char **argv, const char *usage);

/* Checks that nargs, the arguments left after the options, is one image file name. */
bool timg_expect_one_filename(const struct timg_io *io, int nargs);

/* ---- sizes (timg_size.c) ---- */

/*
 * qemu-img's size syntax: a decimal number, optionally with a fraction, or a 0x hex
 * integer, followed by an optional suffix B/b (bytes), k/K, M/m, G/g, T/t, P/p, E/e
 * (powers of 1024). default_unit multiplies a number without suffix (1 for bytes). A
 * fraction needs a suffix that makes the result whole. Returns 0, -EINVAL for bad
 * syntax, -ERANGE when the value does not fit in 63 bits.
 */
int timg_parse_size(const char *s, uint64_t default_unit, uint64_t *out);
/* qemu's human size: 3 significant digits and a binary unit, e.g. "1 GiB", "0.977 MiB". */
char *timg_size_to_str(uint64_t bytes);
/* The qemu-img message for a size that timg_parse_size refused with rc. */
void timg_size_error(const struct timg_io *io, int rc);

/* ---- printing of value trees (timg_print.c) ---- */

/*
 * Values are GVariants: a{sv} dictionaries, arrays of anything else are lists, scalars
 * are strings, booleans, integers and doubles. Dictionary keys are printed in the
 * order qemu-img prints them: qemu's QDict iterates its 512 hash buckets in order, so
 * its JSON and human output list keys by bucket. timg_key_rank() computes that bucket,
 * which lets outputs match qemu-img's byte for byte for any set of keys.
 */
unsigned timg_key_rank(const char *key);
/* qemu-img's pretty JSON (4-space indent) at the given nesting level, no final newline. */
void timg_print_json(FILE *f, GVariant *v, int level);
/* qemu-img's human dump of a dictionary's entries ("key: value", dashes as spaces). */
void timg_print_human_dict(FILE *f, GVariant *dict, int indent);
/* Appends the JSON string form of s (quotes and escapes) to out. */
void timg_json_string(GString *out, const char *s);

/* ---- progress (timg_progress.c) ---- */

struct timg_progress {
    FILE *f;
    bool enabled;
    double last;  /* last percentage printed, -1 before the first */
    double step;  /* minimum advance between prints */
};
void timg_progress_init(struct timg_progress *p, FILE *f, bool enabled, double step);
/* done of total; prints "    (NN.NN/100%)\r" when it advanced at least step. */
void timg_progress_update(struct timg_progress *p, uint64_t done, uint64_t total);
/* Prints 100% and a newline, as qemu-img does at the end. */
void timg_progress_end(struct timg_progress *p);

#endif
