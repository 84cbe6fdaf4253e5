/* ivshmem-client's command line: QEMU's -h -v -S, plus options for scripts and tests. */
#ifndef TESSERA_IVSHMEM_CLIENT_OPTIONS_H
#define TESSERA_IVSHMEM_CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_ALL (-1)

struct ring_target {
    int64_t peer; /* RING_ALL: every peer but ourselves */
    int vector;   /* RING_ALL: every vector of the peer */
};

struct client_options {
    const char *socket_path;
    bool verbose;
    unsigned vectors;
    bool print_id, print_peers;
    long wait_peers;         /* -1: don't wait */
    long wait_notifications; /* -1: don't wait */
    int64_t timeout_ms;      /* -1: wait forever */
    struct ring_target *rings;
    size_t n_rings;
    bool scripted;           /* any script option given: no stdin, no reconnecting */
};

enum { CLIENT_OPTIONS_RUN = 0, CLIENT_OPTIONS_EXIT_OK = 1 };

int client_parse_options(struct client_options *o, int argc, char **argv);
void client_options_free(struct client_options *o);

#endif
