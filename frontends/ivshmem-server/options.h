/* ivshmem-server's command line: QEMU's options and defaults, plus tessera's long options. */
#ifndef TESSERA_IVSHMEM_SERVER_OPTIONS_H
#define TESSERA_IVSHMEM_SERVER_OPTIONS_H

#include "server.h"

struct ivshmem_server_options {
    struct ivshmem_server_config cfg;
    bool foreground;
    const char *pidfile;
};

enum { OPTIONS_RUN = 0, OPTIONS_EXIT_OK = 1 };

/*
 * Returns OPTIONS_RUN, OPTIONS_EXIT_OK (help was printed) or -EINVAL after printing a
 * one-line error naming the option.
 */
int ivshmem_server_parse_options(struct ivshmem_server_options *o, int argc, char **argv);

/* "4194304", "4M", "4G", "1T": binary suffixes K M G T P E, optionally followed by B. */
int ivshmem_parse_size(const char *text, uint64_t *out);

#endif
