#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a test guest under the tessera program (KVM) and checks it like run-qemu.sh does.
# usage: run-tessera.sh TESSERA GUEST.elf CMDLINE MEM_MIB [TESSERA_OPTIONS]
# Exits 0 when the guest passed, 1 when it failed, 77 (CTest's skip) without /dev/kvm.
set -u
tessera=$1 elf=$2 cmdline=$3 mem=$4 extra=${5:-}
if [ ! -c /dev/kvm ]; then
    echo "SKIP: /dev/kvm is missing; tessera runs guests under KVM only"
    exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
timeout 100 "$tessera" -m "$mem" -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=4 $extra \
    -kernel "$elf" -append "$cmdline" >"$out" 2>&1 </dev/null
status=$?
exec "$(dirname "$0")/check-tap.sh" "$out" "$status"
