#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Compares the plugin SDK ABI of a fresh build against the committed baseline
# (sdk/abi/tessera-sdk-1.abi) with libabigail, and fails on incompatible changes.
#
# Usage: scripts/abi-check.sh [--build-dir DIR | --probe FILE | --headers DIR]
#                             [--baseline FILE]
#   --build-dir DIR  use DIR/sdk/abi/libtessera_sdk_abi_probe.so (default DIR: build)
#   --probe FILE     use this already built probe library
#   --headers DIR    compile sdk/abi/probe.c against the SDK headers in DIR (holding
#                    tessera/tessera.h) instead of using a build
#   --baseline FILE  compare against FILE instead of sdk/abi/tessera-sdk-1.abi
#
# What passes: no change; enumerators added (libabigail files those as harmless); new
# data members appended at the end of a structure, which grows (the ABI's rule: every
# structure is size-prefixed and only grows at its end) - except ts_prop_desc and
# ts_memory_region, which have no size field and may not change size at all. What
# fails: everything else
# that abidiff reports - a removed symbol or any change abidiff marks incompatible (exit
# bit 8, ABIDIFF_ABI_INCOMPATIBLE_CHANGE), and any other type change (exit bit 4,
# ABIDIFF_ABI_CHANGE) such as a member removed, moved, retyped or inserted in the middle,
# or a changed enumerator value.
#
# Why not bit 8 alone: abidiff 2.2 sets it only for removed or changed symbols. A
# reordered or removed structure member, which breaks every plugin, comes out as bit 4
# with the same code as a harmless append, so the leaf-change report is read to tell
# the two apart.
#
# Exit status: 0 compatible, 1 incompatible, 2 could not check, 77 libabigail missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline=$here/sdk/abi/tessera-sdk-1.abi
probe=
headers=
build_dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build_dir=$2; shift 2 ;;
        --probe) probe=$2; shift 2 ;;
        --headers) headers=$2; shift 2 ;;
        --baseline) baseline=$2; shift 2 ;;
        -h|--help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "abi-check: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

for tool in abidw abidiff; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "abi-check: $tool not found (Debian package abigail-tools; scripts/install-deps.sh)" >&2
        exit 77
    fi
done
if [ ! -f "$baseline" ]; then
    echo "abi-check: no baseline $baseline (create it with scripts/abi-update.sh)" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=scripts/lib/abi.sh
. "$here/scripts/lib/abi.sh"
probe=$(abi_probe_library "$tmp" "$build_dir" "$probe" "$headers") || exit 2
current=$tmp/current.abi
abi_dump "$probe" "$current" || exit 2

report=$tmp/report.txt
set +e
abidiff --leaf-changes-only --no-show-locs "$baseline" "$current" >"$report" 2>&1
rc=$?
set -e

# abidiff exit bits: 1 error, 2 usage error, 4 ABI change, 8 incompatible ABI change.
if (( rc & 3 )); then
    cat "$report" >&2
    echo "abi-check: abidiff failed (exit status $rc)" >&2
    exit 2
fi
if (( rc == 0 )); then
    echo "abi-check: SDK ABI matches the baseline $(basename "$baseline")"
    exit 0
fi

# Reads the leaf report and prints why it is not an append-only change, or nothing.
# A leaf block starts with "'<type>' changed:"; within it only these lines are allowed:
# a size growth, the header of a member-insertion list, insertions at offsets at or past
# the old size, and the list of impacted interfaces.
# Structures without a size field never grow, not even at the end: ts_prop_desc is
# laid out in arrays (the element size is fixed), ts_memory_region is filled by one
# side into memory the other side allocated. They change only by giving a reserved
# field a meaning, which this check reports (record it with abi-update.sh when meant).
fixed_size="ts_prop_desc ts_memory_region"
verdict=$(awk -v fixed="$fixed_size" '
    function bad(why) { if (!reason) reason = why; }
    BEGIN { n = split(fixed, f, " "); for (i = 1; i <= n; i++) is_fixed["'"'"'struct " f[i] "'"'"' changed:"] = 1; }
    /^[^ ].* changed:$/ {
        block = $0 " "; old_size = -1; in_insert = 0; in_impact = 0;
        if ($0 !~ /^.(struct|union) /) bad($0);
        if ($0 in is_fixed) bad($0 " (its size is fixed)");
        next;
    }
    /^  type size changed from [0-9]+ to [0-9]+ \(in bits\)$/ {
        old_size = $5 + 0;
        if ($7 + 0 <= old_size) bad(block " shrinks");
        in_insert = 0; in_impact = 0; next;
    }
    /^  type size hasn.t changed$/ { old_size = -1; in_insert = 0; in_impact = 0; next; }
    /^  [0-9a-z]+ data member insertions?:$/ {
        if (old_size < 0) bad(block " gains members without growing");
        in_insert = 1; in_impact = 0; next;
    }
    /^  [0-9a-z]+ impacted interfaces?:$/ { in_insert = 0; in_impact = 1; next; }
    /^    / {
        if (in_impact) next;
        if (in_insert && match($0, /at offset [0-9]+ \(in bits\)/)) {
            split(substr($0, RSTART, RLENGTH), w, " ");
            if (w[3] + 0 < old_size) bad(block " gains a member in the middle: " $0);
            next;
        }
        bad(block ":" $0); next;
    }
    /^  / { bad(block ":" $0); next; }
    /^ *$/ { next; }
    /summary:/ { next; }
    { bad($0); }
    END { print reason; }
' "$report")

if (( rc & 8 )) || [ -n "$verdict" ]; then
    cat "$report"
    echo
    echo "abi-check: INCOMPATIBLE change to the plugin SDK ABI ${verdict:+(}${verdict:0:200}${verdict:+)}" >&2
    echo "abi-check: released structures may only grow at their end; a real break needs a new" >&2
    echo "abi-check: TS_ABI_MAJOR, a new baseline (scripts/abi-update.sh) and a note in docs/sdk.md" >&2
    exit 1
fi

cat "$report"
echo
echo "abi-check: compatible: only members appended at the end of structures (see above)."
echo "abi-check: when releasing them, raise TS_ABI_MINOR and record the new baseline with scripts/abi-update.sh"
exit 0
