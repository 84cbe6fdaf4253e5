/* SPDX-License-Identifier: MIT */
#ifndef FUZZ_FAKE_SERVER_H
#define FUZZ_FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* The lowest fd number not in use (to check that nothing leaked). */
int lowest_free_fd(void);

/*
 * Makes the fds a fuzzed message carries, by kind: 0 an eventfd, 1 a 4 KiB memfd,
 * 2 the read end of a pipe (not an eventfd), else two eventfds. Returns how many were
 * made (fds[] gets them, -1 for none), or -1 on failure.
 */
int make_fds(unsigned kind, int fds[2]);

/* Sends bytes with nfds fds (SCM_RIGHTS) on sock; a closed peer is not an error. */
void send_chunk(int sock, const uint8_t *bytes, size_t len, const int *fds, int nfds);

#endif
