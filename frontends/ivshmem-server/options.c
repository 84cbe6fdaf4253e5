/* Command-line parsing for ivshmem-server. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_SOCKET_MODE = 256,
    OPT_SOCKET_GROUP,
    OPT_SHM_MODE,
    OPT_SHM_GROUP,
    OPT_UNLINK_SHM,
    OPT_MAX_QUEUE,
};

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "verbose", no_argument, NULL, 'v' },
    { "foreground", no_argument, NULL, 'F' },
    { "pidfile", required_argument, NULL, 'p' },
    { "socket", required_argument, NULL, 'S' },
    { "shm-name", required_argument, NULL, 'M' },
    { "shm-path", required_argument, NULL, 'm' },
    { "size", required_argument, NULL, 'l' },
    { "vectors", required_argument, NULL, 'n' },
    { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
    { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
    { "shm-mode", required_argument, NULL, OPT_SHM_MODE },
    { "shm-group", required_argument, NULL, OPT_SHM_GROUP },
    { "unlink-shm", no_argument, NULL, OPT_UNLINK_SHM },
    { "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
    { NULL, 0, NULL, 0 },
};

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [OPTION]...\n"
            "Serve QEMU's ivshmem protocol: shared memory and eventfds for ivshmem-doorbell.\n"
            "\n"
            "  -h, --help            show this help\n"
            "  -v, --verbose         print what happens (only with -F)\n"
            "  -F, --foreground      do not daemonize\n"
            "  -p, --pidfile FILE    pid file when daemonized (default %s)\n"
            "  -S, --socket PATH     UNIX socket to listen on (default %s)\n"
            "  -M, --shm-name NAME   POSIX shared memory object (default %s)\n"
            "  -m, --shm-path PATH   directory (e.g. hugetlbfs) to create the memory in;\n"
            "                        a PATH that is not a directory is a shm name, like -M\n"
            "  -l, --size SIZE       memory size, K/M/G/T suffixes, rounded up to a power\n"
            "                        of two (default 4M)\n"
            "  -n, --vectors N       interrupt vectors per client, 0..%d (default 1)\n"
            "      --socket-mode MODE    chmod the socket (octal, e.g. 0660)\n"
            "      --socket-group GROUP  chgrp the socket (name or number)\n"
            "      --shm-mode MODE       chmod the shared memory (default mode 0600)\n"
            "      --shm-group GROUP     chgrp the shared memory\n"
            "      --unlink-shm          remove the shm object at exit (QEMU keeps it)\n"
            "      --max-queue N         drop a client that falls N messages behind\n"
            "                            (default %d)\n",
            prog, IVSHMEM_SERVER_DEFAULT_PIDFILE, IVSHMEM_SERVER_DEFAULT_SOCKET,
            IVSHMEM_SERVER_DEFAULT_SHM, IVSHMEM_SERVER_MAX_VECTORS,
            IVSHMEM_SERVER_DEFAULT_MAX_QUEUE);
}

int ivshmem_parse_size(const char *text, uint64_t *out)
{
    static const char suffixes[] = "KMGTPE";
    unsigned long long v;
    char *end;
    int shift = 0;

    if (!text[0] || text[0] == '-')
        return -EINVAL;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || end == text)
        return -EINVAL;
    if (*end) {
        const char *at = strchr(suffixes, end[0] & ~0x20);
        if (!at || !end[0])
            return -EINVAL;
        shift = 10 * (int)(at - suffixes + 1);
        end++;
        if ((*end & ~0x20) == 'B')
            end++;
        if (*end)
            return -EINVAL;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_mode(const char *text, const char *opt, mode_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 8);
    if (errno || end == text || *end || v > 07777) {
        fprintf(stderr, "ivshmem-server: %s: invalid mode '%s' (octal, e.g. 0660)\n", opt, text);
        return -EINVAL;
    }
    *out = (mode_t)v;
    return 0;
}

static int parse_group(const char *text, const char *opt, gid_t *out)
{
    struct group *gr = getgrnam(text);
    char *end;
    unsigned long v;

    if (gr) {
        *out = gr->gr_gid;
        return 0;
    }
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno || end == text || *end || v >= (gid_t)-1) {
        fprintf(stderr, "ivshmem-server: %s: unknown group '%s'\n", opt, text);
        return -EINVAL;
    }
    *out = (gid_t)v;
    return 0;
}

static int bad_value(const char *opt, const char *text, const char *why)
{
    fprintf(stderr, "ivshmem-server: %s: invalid value '%s': %s\n", opt, text, why);
    return -EINVAL;
}

int ivshmem_server_parse_options(struct ivshmem_server_options *o, int argc, char **argv)
{
    struct ivshmem_server_config *cfg = &o->cfg;
    uint64_t n;
    int c;

    memset(o, 0, sizeof(*o));
    ivshmem_server_config_init(cfg);
    o->pidfile = IVSHMEM_SERVER_DEFAULT_PIDFILE;
    optind = 0; /* full reset, so tests can parse several command lines */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hvFp:S:m:M:l:n:", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout, argv[0]);
            return OPTIONS_EXIT_OK;
        case 'v':
            cfg->verbose = true;
            break;
        case 'F':
            o->foreground = true;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'S':
            cfg->socket_path = optarg;
            break;
        case 'M':
            cfg->shm_path = optarg;
            cfg->shm_kind = IVSHMEM_SHM_NAME;
            break;
        case 'm':
            /* QEMU's docs use -m for a shm name; QEMU's server for a directory. Do both. */
            cfg->shm_path = optarg;
            cfg->shm_kind = IVSHMEM_SHM_AUTO;
            break;
        case 'l':
            if (ivshmem_parse_size(optarg, &cfg->shm_size) < 0 || cfg->shm_size == 0)
                return bad_value("-l", optarg, "expected a size such as 4194304, 4M or 4G");
            break;
        case 'n':
            if (ivshmem_parse_size(optarg, &n) < 0 || optarg[strspn(optarg, "0123456789")])
                return bad_value("-n", optarg, "expected a number of vectors");
            if (n > IVSHMEM_SERVER_MAX_VECTORS) {
                fprintf(stderr, "ivshmem-server: too many requested vectors (max is %d)\n",
                        IVSHMEM_SERVER_MAX_VECTORS);
                return -EINVAL;
            }
            cfg->n_vectors = (unsigned)n;
            break;
        case OPT_SOCKET_MODE:
            if (parse_mode(optarg, "--socket-mode", &cfg->socket_mode) < 0)
                return -EINVAL;
            cfg->socket_mode_set = true;
            break;
        case OPT_SOCKET_GROUP:
            if (parse_group(optarg, "--socket-group", &cfg->socket_group) < 0)
                return -EINVAL;
            cfg->socket_group_set = true;
            break;
        case OPT_SHM_MODE:
            if (parse_mode(optarg, "--shm-mode", &cfg->shm_mode) < 0)
                return -EINVAL;
            cfg->shm_mode_set = true;
            break;
        case OPT_SHM_GROUP:
            if (parse_group(optarg, "--shm-group", &cfg->shm_group) < 0)
                return -EINVAL;
            cfg->shm_group_set = true;
            break;
        case OPT_UNLINK_SHM:
            cfg->unlink_shm = true;
            break;
        case OPT_MAX_QUEUE:
            if (ivshmem_parse_size(optarg, &n) < 0 || n == 0 || n > SIZE_MAX / 2)
                return bad_value("--max-queue", optarg, "expected a positive number");
            cfg->max_queue = (size_t)n;
            break;
        case '?':
        default:
            if (optopt > 0 && optopt < 256)
                fprintf(stderr, "ivshmem-server: option -%c: %s\n", optopt,
                        strchr("pSmMln", optopt) ? "missing argument" : "unknown option");
            else
                fprintf(stderr, "ivshmem-server: unknown option or missing argument: '%s'\n",
                        argv[optind - 1]);
            fprintf(stderr, "Try '%s -h' for more information.\n", argv[0]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ivshmem-server: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    if (cfg->verbose && !o->foreground) {
        fprintf(stderr, "ivshmem-server: cannot use verbose in daemon mode\n");
        return -EINVAL;
    }
    return OPTIONS_RUN;
}
