/* The client's event pump: server messages, our vectors' eventfds and one extra fd (stdin). */
#ifndef TESSERA_IVSHMEM_CLIENT_PUMP_H
#define TESSERA_IVSHMEM_CLIENT_PUMP_H

#include "client.h"

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t client_now_ms(void);

/*
 * Waits up to timeout_ms (-1 = forever) for one round of events and handles them; sets
 * *extra_ready when extra_fd (if >= 0) is readable. With announce, every notification is
 * printed. Returns 0, or the negative errno of ivshmem_client_handle_server().
 */
int client_pump(struct ivshmem_client *c, int extra_fd, int timeout_ms, bool *extra_ready,
                bool announce);

#endif
