#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs the SDK of a build tree into a temporary prefix, builds the out-of-tree
# example (sdk/examples/memory-backend-zero) against it twice - with CMake's
# find_package(TesseraSDK) and with the plain Makefile over pkg-config - and checks
# the result: one exported symbol, a working lifecycle (sdk-example-driver), and
# 'tessera -plugin-path DIR -plugins' listing the type with its file.
#
# Usage: install-example.sh BUILD_DIR SOURCE_DIR
# Exit: 0 pass, 1 fail, 77 skipped (the tessera binary cannot list plugins yet).
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
type=example-memory-backend-zero
so=$type.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-sdk-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '\n--- %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install the SDK into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install failed"; }
test -f "$prefix/include/tessera/tessera.h" || fail "headers not installed"
pc=$(find "$prefix" -name tessera-sdk.pc -path '*/pkgconfig/*' | head -n1)
test -n "$pc" || fail "tessera-sdk.pc not installed"
config=$(find "$prefix" -name TesseraSDKConfig.cmake | head -n1)
test -n "$config" || fail "TesseraSDKConfig.cmake not installed"
echo "pkg-config file: $pc"
echo "CMake package:   $config"

step "pkg-config view of the SDK"
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_LIBDIR=$(dirname "$pc") # only this SDK, never the host's copy
pkg-config --print-errors --exists 'tessera-sdk >= 1.0' || fail "pkg-config cannot use tessera-sdk.pc"
cflags=$(pkg-config --cflags tessera-sdk | sed "s/ *$//")
plugindir=$(pkg-config --variable=plugindir tessera-sdk)
libs=$(pkg-config --libs tessera-sdk | sed "s/ *$//")
echo "cflags='$cflags' libs='$libs' plugindir='$plugindir'"
[ "$cflags" = "-I$prefix/include" ] || fail "Cflags should be -I$prefix/include, got '$cflags'"
[ -z "$libs" ] || fail "plugins link nothing of tessera, yet Libs is '$libs'"
case "$plugindir" in
    "$prefix"/lib*/tessera/plugins) ;;
    *) fail "plugindir '$plugindir' is not <prefix>/<libdir>/tessera/plugins" ;;
esac

# The example is copied out of the tree: it must build from its own directory alone.
cp -r "$src/sdk/examples/memory-backend-zero" "$tmp/example"
rm -rf "$tmp/example/build" "$tmp/example/$so"

step "build the example with CMake (find_package(TesseraSDK))"
cmake -S "$tmp/example" -B "$tmp/example-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-Werror >"$tmp/cmake.log" ||
    { cat "$tmp/cmake.log"; fail "configuring the example failed"; }
cmake --build "$tmp/example-cmake" || fail "building the example with CMake failed"
cmake --install "$tmp/example-cmake" || fail "installing the example with CMake failed"
test -f "$plugindir/$so" || fail "CMake did not install $so into the SDK's plugin dir $plugindir"
cmake_so=$tmp/plugins-cmake/$so
mkdir -p "$tmp/plugins-cmake"
mv "$plugindir/$so" "$cmake_so"

step "build the example with make + pkg-config"
make -C "$tmp/example" CFLAGS="-O2 -g -Werror" || fail "building the example with make failed"
make -C "$tmp/example" install plugindir="$tmp/plugins-make" || fail "make install failed"
make_so=$tmp/plugins-make/$so
test -f "$make_so" || fail "make install did not install $make_so"

for f in "$cmake_so" "$make_so"; do
    step "check $f"
    exports=$(nm -D --defined-only "$f" | awk '{ print $NF }' | sort)
    echo "exported: $exports"
    [ "$exports" = tessera_plugin_entry_v1 ] ||
        fail "$f must export only tessera_plugin_entry_v1 (hidden visibility)"
    "$build/tests/sdk-example-driver" "$f" || fail "the example misbehaves ($f)"
done

step "tessera -plugin-path DIR -plugins"
tessera=$build/bin/tessera
if [ ! -x "$tessera" ]; then
    echo "SKIP: $tessera is not built (yet); the SDK and example checks above passed"
    exit 77
fi
set +e
"$tessera" -plugin-path "$tmp/plugins-cmake" -plugins >"$tmp/plugins.out" 2>"$tmp/plugins.err"
rc=$?
set -e
cat "$tmp/plugins.out" "$tmp/plugins.err"
if [ $rc -ne 0 ] && grep -qiE 'unknown|unrecognized|invalid|usage' "$tmp/plugins.err" &&
   ! grep -q "$type" "$tmp/plugins.out"; then
    echo "SKIP: this tessera does not support -plugins yet (exit $rc); the SDK and example checks above passed"
    exit 77
fi
grep -q "$type" "$tmp/plugins.out" || fail "tessera -plugins does not list $type (exit $rc)"
grep -qF "$cmake_so" "$tmp/plugins.out" || fail "tessera -plugins does not show the file $cmake_so"
if [ $rc -ne 0 ]; then
    # tessera also scans its installed plugin directory, which this test does not own:
    # problems there (e.g. an older install duplicating the build's plugins) are not
    # the example's, but a problem naming the example is.
    if grep -qF "$cmake_so" "$tmp/plugins.err"; then
        fail "tessera -plugins reports a problem with $cmake_so (exit $rc)"
    fi
    echo "note: tessera -plugins exited with $rc because of other plugin files (above)"
fi
echo "ok: $type listed from $cmake_so"

step "tessera validates the example's properties from its schema"
"$tessera" -plugin-path "$tmp/plugins-cmake" -object "$type,help" >"$tmp/help.out" 2>&1 ||
    { cat "$tmp/help.out"; fail "-object $type,help failed"; }
cat "$tmp/help.out"
grep -q 'size' "$tmp/help.out" && grep -q 'fill' "$tmp/help.out" ||
    fail "-object $type,help does not show the properties size and fill"
if "$tessera" -plugin-path "$tmp/plugins-cmake" -object "$type,id=m0,size=1M,fill=256" \
        -print-config >"$tmp/bad.out" 2>&1; then
    cat "$tmp/bad.out"
    fail "fill=256 was accepted (the schema says 0..255)"
fi
cat "$tmp/bad.out"
grep -q "fill" "$tmp/bad.out" || fail "the error for fill=256 does not name the property"
"$tessera" -plugin-path "$tmp/plugins-cmake" -object "$type,id=m0,size=1M,fill=0x7f" \
        -print-config >"$tmp/good.out" 2>&1 ||
    { cat "$tmp/good.out"; fail "a valid $type object was refused"; }
echo "PASS: $type built against the installed SDK, listed and validated by tessera"
