#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a test guest under the KVM core (run-guest) and checks it like run-qemu.sh does.
# usage: run-kvm.sh RUN_GUEST GUEST.elf CMDLINE MEM_MIB
set -u
runner=$1 elf=$2 cmdline=$3 mem=$4
if [ ! -c /dev/kvm ]; then
    echo "SKIP: /dev/kvm is missing; KVM guest tests need a host with KVM"
    exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
timeout 100 "$runner" "$elf" "$cmdline" "$mem" >"$out" 2>&1 </dev/null
status=$?
[ $status = 77 ] && { cat "$out"; exit 77; }
exec "$(dirname "$0")/../guest/check-tap.sh" "$out" "$status"
