# SPDX-License-Identifier: MIT
# Shared by abi-check.sh and abi-update.sh (sourced, not run): how the SDK ABI is
# turned into a libabigail description. Both must make it the same way, or the
# comparison would report differences of method instead of differences of ABI.

# abi_probe_library OUTDIR BUILD_DIR PROBE HEADERS
# Prints the path of the probe library: PROBE if given; else compiled from
# sdk/abi/probe.c against HEADERS if given; else the one in BUILD_DIR (default build).
abi_probe_library() {
    local outdir=$1 build_dir=$2 probe=$3 headers=$4 root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if [ -n "$probe" ]; then
        :
    elif [ -n "$headers" ]; then
        if [ ! -f "$headers/tessera/tessera.h" ]; then
            echo "abi: $headers/tessera/tessera.h does not exist" >&2
            return 1
        fi
        probe=$outdir/libtessera_sdk_abi_probe.so
        # Same flags as the CMake target: full debug information, no optimizing away.
        "${CC:-cc}" -std=gnu11 -g -Og -shared -fPIC -fvisibility=hidden -I"$headers" \
            -Wl,-soname,libtessera_sdk_abi_probe.so \
            -o "$probe" "$root/sdk/abi/probe.c" >&2 || return 1
    else
        probe=${build_dir:-$root/build}/sdk/abi/libtessera_sdk_abi_probe.so
    fi
    if [ ! -f "$probe" ]; then
        echo "abi: no probe library $probe (build the tessera_sdk_abi_probe target first)" >&2
        return 1
    fi
    echo "$probe"
}

# abi_dump PROBE OUT: the ABI description, free of paths and build-specific noise
# (the source path of the probe is cut to its file name: checkouts live anywhere).
abi_dump() {
    abidw --no-show-locs --no-corpus-path --no-comp-dir-path --type-id-style hash \
        --drop-undefined-syms --out-file "$2.raw" "$1" || return 1
    sed -E "s|(<abi-instr [^>]*path=')[^']*/|\\1|" "$2.raw" >"$2" && rm -f "$2.raw"
}
