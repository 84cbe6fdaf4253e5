/* ivshmem-client's non-interactive mode. */
#ifndef TESSERA_IVSHMEM_CLIENT_SCRIPT_H
#define TESSERA_IVSHMEM_CLIENT_SCRIPT_H

#include "client.h"
#include "options.h"

/* Runs the script options on a connected client; returns the exit status (0 or 1). */
int client_run_script(struct ivshmem_client *c, const struct client_options *o);

#endif
