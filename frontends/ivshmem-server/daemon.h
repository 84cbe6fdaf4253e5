/* Going into the background with a pid file, the way ivshmem-server needs it. */
#ifndef TESSERA_IVSHMEM_DAEMON_H
#define TESSERA_IVSHMEM_DAEMON_H

/*
 * Fork into a new session and write the child's pid to pidfile. The parent exits 0 only once
 * the pid file is written (so `ivshmem-server ... && kill $(cat pidfile)` works), or 1 if
 * the child failed. Returns 0 in the child (stdio now /dev/null), negative errno on failure.
 */
int daemonize_with_pidfile(const char *pidfile);

#endif
