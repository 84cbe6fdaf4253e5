#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a test guest under QEMU (TCG) and checks its TAP output and exit status.
# usage: run-qemu.sh GUEST.elf CMDLINE MEM_MIB [QEMU_OPTIONS]
# QEMU_OPTIONS: extra options, split at spaces (e.g. "-device virtio-rng-pci -smp 2").
# Exits 0 when the guest passed, 1 when it failed, 77 (CTest's skip) without QEMU.
set -u
elf=$1 cmdline=$2 mem=$3 extra=${4:-}
qemu=${QEMU:-$(command -v qemu-system-x86_64)}
if [ -z "$qemu" ] || [ ! -x "$qemu" ]; then
    echo "SKIP: qemu-system-x86_64 not found; install the qemu-system-x86 package to run this test"
    exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
# -accel tcg on purpose: this machine's /dev/kvm is not for QEMU.
timeout 100 "$qemu" -accel tcg -machine pc -m "$mem" -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 $extra \
    -kernel "$elf" -append "$cmdline" >"$out" 2>&1 </dev/null
status=$?
exec "$(dirname "$0")/check-tap.sh" "$out" "$status"
