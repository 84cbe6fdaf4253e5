/* SPDX-License-Identifier: MIT */
/*
 * The stdio chardev's terminal: while the guest reads a terminal on stdin, it is put in raw
 * mode, as a serial line wants: keys go to the guest as typed (no line editing, no local
 * echo; the guest echoes), and Enter sends CR. Ctrl-C still stops tessera unless the
 * chardev has signal=off, which passes it to the guest. The terminal's settings come back
 * when the chardev stops reading, is freed, or tessera exits.
 */
#include <errno.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "chardev/chardev_internal.h"

static struct termios saved;
static int saved_fd = -1;

int chardev_tty_raw(int fd, bool signals)
{
    static bool at_exit;
    struct termios t;

    if (saved_fd >= 0)
        return 0;
    if (!isatty(fd))
        return 0;
    /* Our controlling terminal while tessera runs in the background: changing it would
     * stop us (SIGTTOU), and the keys belong to the foreground job anyway. */
    pid_t fg = tcgetpgrp(fd);
    if (fg >= 0 && fg != getpgrp())
        return 0;
    if (tcgetattr(fd, &saved) < 0)
        return -errno;
    t = saved;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
    if (!signals)
        t.c_lflag &= ~(tcflag_t)ISIG;
    t.c_cflag = (t.c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) < 0)
        return -errno;
    saved_fd = fd;
    if (!at_exit) {
        at_exit = true;
        atexit(chardev_tty_restore); /* error paths that exit() still give the terminal back */
    }
    return 1;
}

void chardev_tty_restore(void)
{
    if (saved_fd < 0)
        return;
    tcsetattr(saved_fd, TCSANOW, &saved);
    saved_fd = -1;
}
