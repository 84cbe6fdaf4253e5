/* ivshmem-client's interactive mode: QEMU's commands on stdin. */
#ifndef TESSERA_IVSHMEM_CLIENT_INTERACTIVE_H
#define TESSERA_IVSHMEM_CLIENT_INTERACTIVE_H

#include "options.h"

/* Runs until stdin ends or `quit`; reconnects to the server as QEMU's client does. */
int client_run_interactive(const struct client_options *o);

/* Executes one command line. Returns 1 for quit, else 0; errors are printed. */
struct ivshmem_client;
int client_execute_command(struct ivshmem_client *c, char *line);

#endif
