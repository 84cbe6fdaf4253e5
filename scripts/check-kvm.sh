#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the tests labelled needs-kvm (guests under KVM) of one build directory.
#
#   scripts/check-kvm.sh BUILD_DIR [CTEST_ARGUMENT...]
#
# With a usable /dev/kvm they run here. Without one they run inside an emulated KVM host
# (scripts/nested-kvm.sh: QEMU TCG with AMD SVM, sharing this machine's files), where
# kvm-amd gives them a real /dev/kvm; that takes about two minutes for all of them. If not
# even that can be had (no QEMU, no kernel, not root), the tests are reported as skipped
# and the script exits 0. Used by `make check` and `make asan`.
set -u
build=${1:?usage: check-kvm.sh BUILD_DIR [CTEST_ARGUMENT...]}
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$build" && pwd) || exit 1

# Nothing selected (say CTEST_ARGS='-L vmdk'): no VM to boot.
if ctest --test-dir "$build" -N "$@" -L needs-kvm | grep -q '^Total Tests: 0$'; then
    exit 0
fi

if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    exec ctest --test-dir "$build" "$@" -L needs-kvm
fi

echo "check-kvm: no usable /dev/kvm here: running the needs-kvm tests inside an emulated" \
     "KVM host (scripts/nested-kvm.sh)"
# Exit status 124 means the emulated host itself stopped answering: QEMU 7.2's emulated SVM
# has frozen it now and then (docs/running.md), which says nothing about the tests, whose
# own CTest timeouts end a hung test inside it. That case is run once more. A whole
# set takes 3-6 min there, so 15 min without an end means the emulated host froze.
rc=0
"$here/nested-kvm.sh" -timeout 900 -- ctest --test-dir "$build" "$@" -L needs-kvm || rc=$?
if [ $rc -eq 124 ]; then
    echo "check-kvm: the emulated KVM host stopped answering (not a test result); once more"
    rc=0
    "$here/nested-kvm.sh" -timeout 900 -- ctest --test-dir "$build" "$@" -L needs-kvm || rc=$?
fi
if [ $rc -eq 77 ]; then
    echo "check-kvm: the needs-kvm tests were skipped: neither /dev/kvm nor an emulated KVM" \
         "host is available (reason above)"
    exit 0
fi
exit $rc
