/* SPDX-License-Identifier: MIT */
/* Running a test guest under the KVM core, for the tests and the run-guest tool. */
#ifndef TESSERA_TESTS_GUEST_RUNNER_H
#define TESSERA_TESTS_GUEST_RUNNER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Whether /dev/kvm can be opened; when not, *why says so (caller frees). */
bool guest_runner_kvm_usable(char **why);

/*
 * Boots elf with cmdline in a VM of mem_mib MiB (anonymous memory) with an
 * isa-debug-exit at 0xf4, serial output to serial_fd. Returns the VM's exit status,
 * or -1 with *err set when the VM could not be set up.
 */
int guest_runner_run(const char *elf, const char *cmdline, unsigned mem_mib, int serial_fd,
                     GError **err);

#endif
