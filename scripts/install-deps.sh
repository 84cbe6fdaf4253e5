#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs the Debian 12 packages tessera needs to build and test.
#
# Every package is probed first (a command on PATH, a pkg-config module, a file, or the
# package being installed according to dpkg); when all are present, apt is not touched at
# all, so the script is cheap to run before every build. Otherwise, as root, it runs
# 'apt-get update' once and installs only what is missing, without asking questions. Not
# as root, it prints what to install and exits 1.
#
# Usage: scripts/install-deps.sh [--check | --list]
#   --check  only report what is missing (exit 1 when something is)
#   --list   print the package names, one a line
set -euo pipefail

# The one list of packages. Columns: package, probe, purpose.
# Probe forms: cmd:NAME (command on PATH), pc:MODULE (pkg-config module),
# file:GLOB (some path matches), static:NAME (command is a static executable).
# A package whose probe fails still counts as present when dpkg says it is installed.
DEPS=(
    # building
    "cmake               cmd:cmake               build system"
    "gcc                 cmd:gcc                 C compiler"
    "libc6-dev           file:/usr/include/stdio.h C library headers (only recommended by gcc)"
    "make                cmd:make                build driver"
    "pkg-config          cmd:pkg-config          library lookup"
    "libglib2.0-dev      pc:glib-2.0             main loop, utilities"
    "libconfuse-dev      pc:libconfuse           config-file parser"
    "check               pc:check                unit-test framework"
    "libltdl-dev         file:/usr/include/ltdl.h plugin loader"
    # tests, peers and tools
    "qemu-utils          cmd:qemu-img            VMDK interoperability (qemu-img, qemu-io)"
    "qemu-system-x86     cmd:qemu-system-x86_64  ivshmem interoperability"
    "qemu-system-common  file:/usr/lib/qemu/virtiofsd emulated KVM host (scripts/nested-kvm.sh)"
    "abigail-tools       cmd:abidiff             SDK ABI check (abidw, abidiff)"
    "acpica-tools        cmd:iasl                ACPI table checks"
    "clang               cmd:clang               fuzz targets (libFuzzer)"
    "libclang-rt-14-dev  file:/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a  libFuzzer runtime"
    "zlib1g-dev          pc:zlib                 compressed VMDK grains"
    "libdeflate-dev      pc:libdeflate           fast VMDK grain compression (zlib is the fallback)"
    "busybox-static      static:busybox          test guest userland"
    "cpio                cmd:cpio                test guest initramfs"
    "linux-image-cloud-amd64 file:/boot/vmlinuz-*-cloud-amd64 bzImage loader tests, Linux boot test, emulated KVM host"
)

mode=install
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    --list) mode=list ;;
    -h|--help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

dpkg_installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

probe() {
    local kind=${1%%:*} arg=${1#*:} path
    case "$kind" in
        cmd) command -v "$arg" >/dev/null 2>&1 ;;
        pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$arg" ;;
        file) compgen -G "$arg" >/dev/null ;;
        static)
            path=$(command -v "$arg" 2>/dev/null) || return 1
            # A static executable has no program interpreter.
            ! LC_ALL=C readelf -l "$path" 2>/dev/null | grep -q 'program interpreter' ;;
        *) echo "install-deps.sh: bad probe '$1'" >&2; return 2 ;;
    esac
}

missing=()
for entry in "${DEPS[@]}"; do
    read -r pkg check _ <<<"$entry"
    if [ "$mode" = list ]; then
        echo "$pkg"
        continue
    fi
    if ! probe "$check" && ! dpkg_installed "$pkg"; then
        missing+=("$pkg")
    fi
done
[ "$mode" = list ] && exit 0

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all build and test dependencies are present"
    exit 0
fi

if [ "$mode" = check ]; then
    echo "install-deps: missing: ${missing[*]}" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    {
        echo "install-deps: these Debian packages are missing: ${missing[*]}"
        echo "install them as root with:"
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    } >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get here; install the equivalents of: ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get update -q </dev/null
apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: done"
