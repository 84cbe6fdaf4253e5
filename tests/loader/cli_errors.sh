#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The loader's errors as a user sees them: `tessera -plugin-path DIR` with each broken
# plugin case, asking for its type. Each must fail with exit status 1 and one line on
# stderr that says what is wrong with which file.
#
# Usage: cli_errors.sh TESSERA CASE_ROOT
set -u
tessera=$1
root=$2
failures=0

# expect DIR TYPE-OPTION TEXT...: exit 1, exactly one stderr line, containing every TEXT
expect() {
    local dir=$1 option=$2
    shift 2
    local err rc
    err=$("$tessera" -plugin-path "$root/$dir" $option -print-config 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 1 ]; then
        echo "FAIL $dir: exit status $rc, wanted 1 (stderr: $err)"
        failures=$((failures + 1))
        return
    fi
    if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
        echo "FAIL $dir: wanted one line on stderr, got:"
        printf '%s\n' "$err"
        failures=$((failures + 1))
        return
    fi
    local text
    for text in "$@"; do
        case "$err" in
            *"$text"*) ;;
            *) echo "FAIL $dir: '$err' lacks '$text'"; failures=$((failures + 1)); return ;;
        esac
    done
    echo "ok $dir: $err"
}

obj="-object test-backend,id=m0,size=4096"
file=test-backend.so
expect good "-object no-such-type,id=m0" "unknown" "no-such-type" "$root/good"
expect no-entry "$obj" "$root/no-entry/$file" "not a tessera plugin"
expect bad-magic "$obj" "$root/bad-magic/$file" "not a tessera plugin" "magic"
expect major-desc "$obj" "$root/major-desc/$file" "ABI 2." "this tessera speaks ABI 1."
expect major-entry "$obj" "$root/major-entry/$file" "ABI 2.x" "this tessera speaks ABI 1."
expect minor-new "$obj" "$root/minor-new/$file" "upgrade tessera"
expect tail-nonzero "$obj" "$root/tail-nonzero/$file" "are not zero"
expect missing-dep "$obj" "$root/missing-dep/$file" "libtessera_test_dependency.so" "ldd"
expect init-fails "$obj" "$root/init-fails/$file"
expect duplicate "-object dup-type,id=m0,size=4096" "$root/duplicate/dup-a.so" "$root/duplicate/dup-b.so"

# A file that is no shared library at all.
junk=$(mktemp -d)
trap 'rm -rf "$junk"' EXIT
mkdir -p "$junk/junk"
echo "this is not an ELF file" > "$junk/junk/test-backend.so"
root=$junk expect junk "$obj" "$junk/junk/test-backend.so" "not a tessera plugin"

# A working plugin from the same directory layout still works.
if ! "$tessera" -plugin-path "$2/good" $obj -print-config >/dev/null; then
    echo "FAIL good: the working plugin was refused"
    failures=$((failures + 1))
fi

[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all loader CLI errors as expected"
