/* The interactive commands: dump, int PEER VECTOR, int PEER all, int all, help. */
#include "interactive.h"

#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void print_help(void)
{
    printf("dump                 show our ID, vectors and every peer's vectors\n"
           "int PEER VECTOR      ring one vector of a peer\n"
           "int PEER all         ring every vector of a peer\n"
           "int all              ring every vector of every peer but ourselves\n"
           "help, ?              this text\n"
           "quit                 leave\n");
}

static bool parse_number(const char *text, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(text, &end, 10);
    return text[0] && !errno && !*end && *out >= 0 && *out <= max;
}

static void report_ring(int rc, const char *peer, const char *vector)
{
    if (rc == 0)
        return;
    printf("cannot ring peer %s vector %s: %s\n", peer, vector,
           rc == -ENOENT ? "no such peer" : rc == -ERANGE ? "no such vector" : strerror(-rc));
}

static void command_int(struct ivshmem_client *c, char *peer, char *vector)
{
    long id, v;

    if (peer && strcmp(peer, "all") == 0 && !vector) {
        report_ring(ivshmem_client_ring_all(c), "all", "all");
        return;
    }
    if (!peer || !vector || !parse_number(peer, 65535, &id)) {
        printf("usage: int PEER VECTOR | int PEER all | int all\n");
        return;
    }
    if (strcmp(vector, "all") == 0) {
        report_ring(ivshmem_client_ring_peer(c, id), peer, "all");
        return;
    }
    if (!parse_number(vector, IVSHMEM_CLIENT_MAX_VECTORS - 1, &v)) {
        printf("invalid vector '%s'\n", vector);
        return;
    }
    report_ring(ivshmem_client_ring(c, id, (unsigned)v), peer, vector);
}

int client_execute_command(struct ivshmem_client *c, char *line)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r\n", &save);
    char *arg1 = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *arg2 = arg1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    bool connected = c->sock >= 0 && ivshmem_client_introduced(c);

    if (!cmd)
        return 0;
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
        return 1;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0)
        print_help();
    else if (strcmp(cmd, "dump") == 0 && connected)
        ivshmem_client_dump(c, stdout);
    else if (strcmp(cmd, "int") == 0 && connected)
        command_int(c, arg1, arg2);
    else if (strcmp(cmd, "dump") == 0 || strcmp(cmd, "int") == 0)
        printf("not connected to the server yet\n");
    else
        printf("unknown command '%s'; try 'help'\n", cmd);
    fflush(stdout);
    return 0;
}
