#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots the demo guest as examples/demo.conf describes the VM (64 MiB, 2 CPUs, serial on
# stdout) and checks its report and its power-off (exit status 0).
# usage: run-demo.sh qemu DEMO.elf
#        run-demo.sh tessera DEMO.elf TESSERA SOURCE_DIR   (examples/demo.conf itself,
#                                                           with the kernel path made absolute)
# Exits 0 = pass, 1 = fail, 77 = QEMU or /dev/kvm missing.
set -u
vmm=$1 elf=$2
out=$(mktemp) || exit 1
trap 'rm -f "$out" "$out.clean" "$out.conf"' EXIT
case $vmm in
qemu)
    qemu=${QEMU:-$(command -v qemu-system-x86_64)}
    if [ -z "$qemu" ] || [ ! -x "$qemu" ]; then
        echo "SKIP: qemu-system-x86_64 not found; install the qemu-system-x86 package to run this test"
        exit 77
    fi
    timeout 100 "$qemu" -accel tcg -machine pc -m 64 -smp 2 -nographic -no-reboot \
        -device virtio-rng-pci -kernel "$elf" -append "demo=1" >"$out" 2>&1 </dev/null
    status=$?
    ;;
tessera)
    tessera=$3 src=$4
    if [ ! -c /dev/kvm ]; then
        echo "SKIP: /dev/kvm is missing; tessera runs guests under KVM only"
        exit 77
    fi
    sed "s|^\( *kernel = \).*|\1\"$elf\"\n    cmdline = \"demo=1\"|" "$src/examples/demo.conf" >"$out.conf"
    timeout 100 "$tessera" -config "$out.conf" >"$out" 2>&1 </dev/null
    status=$?
    ;;
*) echo "usage: $0 qemu|tessera DEMO.elf [TESSERA SOURCE_DIR]"; exit 2 ;;
esac
tr -d '\r' <"$out" >"$out.clean"
cat "$out.clean"
fail=0
check() { grep -q "$1" "$out.clean" || { echo "FAIL: no line matching '$1'"; fail=1; }; }
[ "$status" = 0 ] || { echo "FAIL: exit status $status, expected 0 (ACPI power-off)"; fail=1; }
check '^tessera demo guest'
check '^memory map (hvm_start_info, [1-9][0-9]* entries):'
check '^  0x000000100000-0x00000[0-9a-f]*  RAM '
check '^  RAM in total: 6[34] MiB'
check '^CPUs: 2 (ACPI MADT)'
check '^  started 1 more: CPU 1 (APIC id 1) says hello;'
check '^PCI devices on bus 0: [1-9]'
check '^  00:00.0  [0-9a-f]*:[0-9a-f]*  class 060000  host bridge'
[ "$vmm" = qemu ] && check '^  00:0[0-9a-f].0  1af4:1005  class 00ff00  virtio device'
check '^command line: demo=1'
check '^powering off (ACPI S5 through port 0x604)'
[ $fail = 0 ] && echo "PASS: the demo guest reported memory, CPUs and PCI devices and powered off"
exit $fail
