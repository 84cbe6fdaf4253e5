#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the tessera program itself on a test guest and judges the run.
# usage: tessera-guest.sh TESSERA GUEST_DIR CASE
# Cases:
#   no-kvm         without /dev/kvm: exit 1, one line on stderr naming /dev/kvm, no output
#                  (skipped where /dev/kvm exists)
#   hello          hello.elf with its serial on stdio: TAP all ok, exit status 1
#   serial-file    the same with -serial file:PATH: the TAP lands in the file
#   serial-irq     platform.elf: COM1 interrupts through the IOAPIC, input from stdin
#   i8042-reset    platform.elf resets through the i8042; -no-reboot makes that exit 0
#   acpi-poweroff  platform.elf powers off through ACPI PM1a: exit 0
#   memory-backend hello.elf with guest RAM from -object memory-backend-ram (64 MiB)
# Every case but no-kvm exits 77 (skipped) where /dev/kvm is missing.
set -u
tessera=$1 guests=$2 case=$3
here=$(cd "$(dirname "$0")" && pwd)
check_tap="$here/../guest/check-tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
exit_dev="isa-debug-exit,iobase=0xf4,iosize=4"

if [ "$case" = no-kvm ]; then
    if [ -e /dev/kvm ]; then
        echo "SKIP: /dev/kvm exists here; this case checks the error without it"
        exit 77
    fi
    "$tessera" -kernel "$guests/hello.elf" -m 128 -device "$exit_dev" \
        -append "token=tessera-guest" >"$tmp/out" 2>"$tmp/err" </dev/null
    status=$?
    cat "$tmp/err"
    fail=0
    [ "$status" = 1 ] || { echo "FAIL: exit status $status, expected 1"; fail=1; }
    [ ! -s "$tmp/out" ] || { echo "FAIL: wrote to stdout"; fail=1; }
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || { echo "FAIL: the error is not one line"; fail=1; }
    grep -q '^tessera: /dev/kvm is missing: .*load the kvm_intel or kvm_amd module' "$tmp/err" ||
        { echo "FAIL: the error does not say what to do about /dev/kvm"; fail=1; }
    [ $fail = 0 ] && echo "PASS: tessera without KVM fails with one line, status 1"
    exit $fail
fi

if [ ! -c /dev/kvm ]; then
    echo "SKIP: /dev/kvm is missing; tessera guest runs need a host with KVM"
    exit 77
fi

# run EXPECTED_STATUS... : tessera's stdout and stderr go to $tmp/out, status to $status.
run() {
    timeout 100 "$tessera" "$@" >"$tmp/out" 2>&1
    status=$?
}

# A run that ends by power-off or reset: status 0, the one planned test ok, no "not ok".
check_exit0() {
    cat "$tmp/out"
    fail=0
    [ "$status" = 0 ] || { echo "FAIL: exit status $status, expected 0"; fail=1; }
    grep -q '^ok 1 - about to' "$tmp/out" || { echo "FAIL: the guest did not get going"; fail=1; }
    ! grep -q '^not ok' "$tmp/out" || { echo "FAIL: the guest kept running"; fail=1; }
    [ $fail = 0 ] && echo "PASS: exit status 0"
    exit $fail
}

case $case in
hello)
    run -kernel "$guests/hello.elf" -m 128 -device "$exit_dev" -serial stdio \
        -append "token=tessera-guest expect_mem_mib=128" </dev/null
    exec "$check_tap" "$tmp/out" "$status" ;;
serial-file)
    run -kernel "$guests/hello.elf" -m 128 -device "$exit_dev" -serial "file:$tmp/console" \
        -append "token=tessera-guest expect_mem_mib=128" </dev/null
    [ ! -s "$tmp/out" ] || { cat "$tmp/out"; echo "FAIL: output outside the serial file"; exit 1; }
    exec "$check_tap" "$tmp/console" "$status" ;;
serial-irq)
    printf 'x' >"$tmp/in"
    run -kernel "$guests/platform.elf" -device "$exit_dev" -nographic \
        -append "mode=serial-irq rx=x" <"$tmp/in"
    exec "$check_tap" "$tmp/out" "$status" ;;
i8042-reset)
    run -kernel "$guests/platform.elf" -no-reboot -append "mode=i8042-reset" </dev/null
    check_exit0 ;;
acpi-poweroff)
    run -kernel "$guests/platform.elf" -append "mode=acpi-poweroff" </dev/null
    check_exit0 ;;
memory-backend)
    if ! "$tessera" -plugins 2>/dev/null | grep -q '^memory-backend-ram '; then
        echo "SKIP: the memory-backend-ram plugin is not built"
        exit 77
    fi
    run -object memory-backend-ram,id=ram0,size=64M -machine memory-backend=ram0 \
        -kernel "$guests/hello.elf" -device "$exit_dev" \
        -append "token=tessera-guest expect_mem_mib=64" </dev/null
    exec "$check_tap" "$tmp/out" "$status" ;;
*)
    echo "unknown case $case"
    exit 2 ;;
esac
