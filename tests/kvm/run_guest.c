/* SPDX-License-Identifier: MIT */
/*
 * run-guest: boots a test guest under the KVM core, its serial on stdout, and exits
 * with the VM's exit status (1 = the guest passed). Until the tessera frontend is
 * wired to the KVM core, this is how to run a guest by hand:
 *     build-kvm/tests/run-guest build-kvm/tests/guest/hello.elf "token=tessera-guest" 128
 */
#include <stdio.h>
#include <stdlib.h>

#include "guest_runner.h"

int main(int argc, char **argv)
{
    GError *err = NULL;
    char *why = NULL;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s GUEST.elf [CMDLINE [MEM_MIB]]\n", argv[0]);
        return 2;
    }
    if (!guest_runner_kvm_usable(&why)) {
        fprintf(stderr, "SKIP: %s; run this where KVM is available\n", why);
        g_free(why);
        return 77;
    }
    unsigned mem = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 128;
    fflush(stdout);
    int status = guest_runner_run(argv[1], argc > 2 ? argv[2] : NULL, mem, 1, &err);
    if (status < 0) {
        fprintf(stderr, "tessera: %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    return status;
}
