/* Command-line parsing for ivshmem-client. */
#include "options.h"

#include "client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_RING = 256,
    OPT_WAIT,
    OPT_WAIT_PEERS,
    OPT_TIMEOUT,
    OPT_PRINT_ID,
    OPT_PRINT_PEERS,
};

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "verbose", no_argument, NULL, 'v' },
    { "socket", required_argument, NULL, 'S' },
    { "vectors", required_argument, NULL, 'n' },
    { "ring", required_argument, NULL, OPT_RING },
    { "wait", required_argument, NULL, OPT_WAIT },
    { "wait-peers", required_argument, NULL, OPT_WAIT_PEERS },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "print-id", no_argument, NULL, OPT_PRINT_ID },
    { "print-peers", no_argument, NULL, OPT_PRINT_PEERS },
    { NULL, 0, NULL, 0 },
};

static void usage(const char *prog)
{
    printf("Usage: %s [OPTION]...\n"
           "Connect to an ivshmem server, ring peers and receive their notifications.\n"
           "Without script options, read commands from stdin (type 'help').\n"
           "\n"
           "  -h, --help             show this help\n"
           "  -v, --verbose          print protocol events\n"
           "  -S, --socket PATH      server socket (default %s)\n"
           "  -n, --vectors N        vectors this client uses, 1..%d (default %d)\n"
           "\n"
           "Script options (run once, exit 0 on success, 1 on failure or timeout):\n"
           "      --print-id         print our ID\n"
           "      --wait-peers N     wait until N peers are connected\n"
           "      --print-peers      print the connected peers' IDs, one a line\n"
           "      --ring PEER:VECTOR ring a peer (repeatable); PEER or VECTOR may be 'all'\n"
           "      --wait N           wait for N notifications on our vectors\n"
           "      --timeout SECONDS  give up after this long (default: never)\n"
           "They run in this order: print-id, wait-peers, print-peers, ring, wait.\n",
           prog, IVSHMEM_CLIENT_DEFAULT_SOCKET, IVSHMEM_CLIENT_MAX_VECTORS,
           IVSHMEM_CLIENT_MAX_VECTORS);
}

static int parse_count(const char *text, const char *opt, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > max) {
        fprintf(stderr, "ivshmem-client: %s: invalid number '%s'\n", opt, text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_ring(struct client_options *o, const char *text)
{
    const char *colon = strchr(text, ':');
    struct ring_target t;
    struct ring_target *grown;
    long v;
    char peer[16];

    if (!colon || (size_t)(colon - text) >= sizeof(peer))
        goto bad;
    memcpy(peer, text, (size_t)(colon - text));
    peer[colon - text] = '\0';
    if (strcmp(peer, "all") == 0)
        t.peer = RING_ALL;
    else if (parse_count(peer, "--ring", 65535, &v) == 0)
        t.peer = v;
    else
        goto bad;
    if (strcmp(colon + 1, "all") == 0)
        t.vector = RING_ALL;
    else if (parse_count(colon + 1, "--ring", IVSHMEM_CLIENT_MAX_VECTORS - 1, &v) == 0)
        t.vector = (int)v;
    else
        goto bad;
    grown = realloc(o->rings, (o->n_rings + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    o->rings = grown;
    o->rings[o->n_rings++] = t;
    return 0;

bad:
    fprintf(stderr, "ivshmem-client: --ring: expected PEER:VECTOR, got '%s'\n", text);
    return -EINVAL;
}

static int parse_timeout(struct client_options *o, const char *text)
{
    char *end;
    double s;

    errno = 0;
    s = strtod(text, &end);
    if (errno || end == text || *end || !(s >= 0) || s > 1e7) {
        fprintf(stderr, "ivshmem-client: --timeout: invalid number of seconds '%s'\n", text);
        return -EINVAL;
    }
    o->timeout_ms = (int64_t)(s * 1000);
    return 0;
}

void client_options_free(struct client_options *o)
{
    free(o->rings);
    o->rings = NULL;
    o->n_rings = 0;
}

int client_parse_options(struct client_options *o, int argc, char **argv)
{
    long v;
    int c;

    memset(o, 0, sizeof(*o));
    o->socket_path = IVSHMEM_CLIENT_DEFAULT_SOCKET;
    o->vectors = IVSHMEM_CLIENT_MAX_VECTORS;
    o->wait_peers = o->wait_notifications = -1;
    o->timeout_ms = -1;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hvS:n:", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(argv[0]);
            return CLIENT_OPTIONS_EXIT_OK;
        case 'v':
            o->verbose = true;
            break;
        case 'S':
            o->socket_path = optarg;
            break;
        case 'n':
            if (parse_count(optarg, "-n", IVSHMEM_CLIENT_MAX_VECTORS, &v) < 0 || v == 0)
                goto fail;
            o->vectors = (unsigned)v;
            break;
        case OPT_RING:
            if (parse_ring(o, optarg) < 0)
                goto fail;
            o->scripted = true;
            break;
        case OPT_WAIT:
            if (parse_count(optarg, "--wait", INT32_MAX, &o->wait_notifications) < 0)
                goto fail;
            o->scripted = true;
            break;
        case OPT_WAIT_PEERS:
            if (parse_count(optarg, "--wait-peers", 65536, &o->wait_peers) < 0)
                goto fail;
            o->scripted = true;
            break;
        case OPT_TIMEOUT:
            if (parse_timeout(o, optarg) < 0)
                goto fail;
            break;
        case OPT_PRINT_ID:
            o->print_id = o->scripted = true;
            break;
        case OPT_PRINT_PEERS:
            o->print_peers = o->scripted = true;
            break;
        default:
            fprintf(stderr, "ivshmem-client: unknown option or missing argument: '%s'\n",
                    argv[optind - 1]);
            fprintf(stderr, "Try '%s -h' for more information.\n", argv[0]);
            goto fail;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ivshmem-client: unexpected argument '%s'\n", argv[optind]);
        goto fail;
    }
    return CLIENT_OPTIONS_RUN;

fail:
    client_options_free(o);
    return -EINVAL;
}
