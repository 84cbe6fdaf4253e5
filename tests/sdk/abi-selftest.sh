#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Tests the ABI check itself on edited copies of the SDK headers (never the tree's):
# the headers as they are and a member appended to ts_host_api must pass; a member
# inserted at the start of ts_host_api, a removed member, and a changed enumerator value
# must fail. A check that passes everything would otherwise go unnoticed.
#
# Usage: abi-selftest.sh SOURCE_DIR        Exit: 0 pass, 1 fail, 77 no libabigail.
set -euo pipefail

src=$(cd "$1" && pwd)
check=$src/scripts/abi-check.sh
command -v abidiff >/dev/null 2>&1 || { echo "SKIP: abidiff not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-abi-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

# variant NAME FILE SED-SCRIPT: a copy of the headers with one edit applied to FILE.
variant() {
    rm -rf "$tmp/$1"
    cp -r "$src/sdk/include" "$tmp/$1"
    sed -i -e "$3" "$tmp/$1/tessera/$2"
    if cmp -s "$src/sdk/include/tessera/$2" "$tmp/$1/tessera/$2"; then
        echo "FAIL: the edit '$1' did not apply to $2 (update this test to the header)" >&2
        failures=$((failures + 1))
        return 1
    fi
}

# expect NAME STATUS: runs the check on variant NAME and compares its exit status.
expect() {
    local rc=0
    "$check" --headers "$tmp/$1" >"$tmp/$1.log" 2>&1 || rc=$?
    if [ "$rc" -eq "$2" ]; then
        echo "ok: $1 -> exit $rc"
    else
        cat "$tmp/$1.log"
        echo "FAIL: $1 -> exit $rc, expected $2" >&2
        failures=$((failures + 1))
    fi
}

rm -rf "$tmp/same" && cp -r "$src/sdk/include" "$tmp/same"
expect same 0

variant append host.h '/^} ts_host_api;/i\    int (*selftest_appended)(ts_object *obj);' &&
    expect append 0
variant insert-first host.h '/^typedef struct ts_host_api {/a\    uint64_t selftest_inserted;' &&
    expect insert-first 1
variant remove-member plugin.h '/^    uint32_t reserved0;  \/\*\*< zero \*\/$/d' &&
    expect remove-member 1
variant enum-value abi.h 's/TS_KIND_MEMORY_BACKEND = 3/TS_KIND_MEMORY_BACKEND = 4/' &&
    expect enum-value 1
variant grow-prop-desc props.h '/^} ts_prop_desc;/i\    int selftest_appended;' &&
    expect grow-prop-desc 1

[ "$failures" -eq 0 ] || { echo "$failures ABI self-test case(s) failed" >&2; exit 1; }
echo "PASS: the ABI check tells compatible from incompatible changes"
