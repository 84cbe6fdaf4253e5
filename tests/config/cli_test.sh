#!/bin/sh
# SPDX-License-Identifier: MIT
# The tessera binary end to end: exit status, where messages go, -print-config.
# usage: cli_test.sh TESSERA SOURCE_DIR
set -u
tessera=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS ARGS...: runs tessera, checks the exit status, keeps stdout/stderr in $tmp.
expect() {
    want=$1; shift
    "$tessera" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "tessera $* exited $got, expected $want: $(cat "$tmp/err")"
}

# Errors: status 1, one line on stderr starting "tessera: ", nothing on stdout.
expect_error() {
    expect 1 "$@"
    [ ! -s "$tmp/out" ] || fail "tessera $*: wrote to stdout on error"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "tessera $*: error is not one line: $(cat "$tmp/err")"
    grep -q '^tessera: ' "$tmp/err" || fail "tessera $*: error lacks the 'tessera: ' prefix"
}

expect 0 -version
grep -q '^tessera version ' "$tmp/out" || fail "-version output"
expect 0 -help
grep -q '^-object ' "$tmp/out" || fail "-help lacks -object"
expect 0 --help
expect 0 -object help
grep -q 'List of user creatable objects' "$tmp/out" || fail "-object help output"
expect 0 -device help
expect 0 -chardev socket,help
grep -q '^socket options:' "$tmp/out" || fail "-chardev socket,help output"

expect_error -bogus
grep -q "unknown option '-bogus'" "$tmp/err" || fail "unknown option message"
expect_error -m 1G,slots=2
expect_error -smp 300
grep -q "property 'cpus': 300 is out of range" "$tmp/err" || fail "-smp 300 message"
expect_error -object memory-backend-file,size=1M,share,mem-path=/dev/shm/ivshmem,id=hostmem \
    -device no-such-ivshmem,memdev=hostmem -plugin-path "$tmp/empty"
grep -q "no-such-ivshmem" "$tmp/err" || fail "unknown device message"
expect_error -device nonesuch,help
# The built-in device is listed and has help; addr= belongs to PCI-bus types only.
expect 0 -device help
grep -q '^name "isa-debug-exit", bus ISA, desc "' "$tmp/out" || fail "-device help lacks isa-debug-exit"
expect 0 -device isa-debug-exit,help
grep -q '^  iobase=<int>' "$tmp/out" || fail "-device isa-debug-exit,help lacks iobase"
! grep -q 'addr=' "$tmp/out" || fail "-device isa-debug-exit,help lists addr="
if "$tessera" -plugins 2>/dev/null | grep -q '^ivshmem-plain '; then
    expect 0 -device ivshmem-plain,help
    grep -q '^  addr=<string> *- slot\[.function\] on PCI bus 0 (hex), like QEMU$' "$tmp/out" ||
        fail "-device ivshmem-plain,help lacks addr="
else
    echo "skip: ivshmem plugin not built; addr= in its help not checked"
fi
expect_error -config "$tmp/missing.conf"

printf 'machine {\n  cpus = 2\n  cpus\n}\n' >"$tmp/bad.conf"
expect_error -config "$tmp/bad.conf"
grep -q "bad.conf:4: " "$tmp/err" || fail "config syntax error lacks file:line: $(cat "$tmp/err")"

expect 0 -m 512 -smp 2 -serial stdio -print-config
grep -q 'memory = 512M' "$tmp/out" || fail "-print-config lacks memory"
# What -print-config prints reads back to the same configuration.
cp "$tmp/out" "$tmp/printed.conf"
expect 0 -config "$tmp/printed.conf" -print-config
cmp -s "$tmp/out" "$tmp/printed.conf" || fail "-print-config does not round-trip"

if "$tessera" -plugins 2>/dev/null | grep -q '^memory-backend-ram '; then
    expect 0 -config "$src/examples/demo.conf" -print-config
    grep -q 'memory-backend = ram0' "$tmp/out" || fail "demo.conf -print-config"
    # Launching needs KVM: without it, one line naming /dev/kvm (running it is the guest tests' job).
    if [ ! -e /dev/kvm ]; then
        expect_error -config "$src/examples/demo.conf"
        grep -q '/dev/kvm' "$tmp/err" || fail "launch without KVM does not name /dev/kvm"
    fi
else
    echo "skip: memory-backend-ram plugin not built; demo.conf not validated"
fi

[ "$failures" -eq 0 ] && echo "all cli checks passed"
exit "$failures"
