#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Records the current plugin SDK ABI as the baseline sdk/abi/tessera-sdk-1.abi.
# Run it deliberately: when a release appends to the ABI (with TS_ABI_MINOR raised), or
# first thing on a new major (then also rename the baseline after the new major).
# scripts/abi-check.sh compares every build against this file.
#
# Usage: scripts/abi-update.sh [--build-dir DIR | --probe FILE | --headers DIR] [--out FILE]
#   Without options the probe is compiled from the SDK headers of this tree.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$here/sdk/abi/tessera-sdk-1.abi
probe= headers= build_dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build_dir=$2; shift 2 ;;
        --probe) probe=$2; shift 2 ;;
        --headers) headers=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "abi-update: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$probe$headers$build_dir" ]; then
    headers=$here/sdk/include
fi
command -v abidw >/dev/null 2>&1 ||
    { echo "abi-update: abidw not found (Debian package abigail-tools)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=scripts/lib/abi.sh
. "$here/scripts/lib/abi.sh"
probe=$(abi_probe_library "$tmp" "$build_dir" "$probe" "$headers")
abi_dump "$probe" "$tmp/new.abi"
if [ -f "$out" ] && cmp -s "$tmp/new.abi" "$out"; then
    echo "abi-update: $out is already up to date"
    exit 0
fi
mv "$tmp/new.abi" "$out"
echo "abi-update: wrote $out; review 'git diff' and commit it together with the header change"
