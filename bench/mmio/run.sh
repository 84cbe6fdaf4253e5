#!/bin/bash
# Guest MMIO writes per second with a userspace exit versus with an ioeventfd, in one
# run (bench/mmio/README.md). Builds nothing; not a test. Extra options go to
# mmio-bench (-n WRITES, -a ADDR, -m MEM_MIB).
#
#   bench/mmio/run.sh [-b BUILD_DIR] [-- MMIO_BENCH_OPTIONS...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=build
while getopts "b:h" opt; do
    case $opt in
        b) build=$OPTARG ;;
        *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $build in /*) ;; *) [ -d "$build" ] || build=$root/$build ;; esac

if [ ! -e /dev/kvm ]; then
    echo "skipped: no /dev/kvm (try: scripts/nested-kvm.sh -- bench/mmio/run.sh)"
    exit 0
fi
bench=$build/bin/mmio-bench
guest=$build/tests/guest/mmio-bench.elf
for f in "$bench" "$guest"; do
    [ -e "$f" ] || { echo "run.sh: $f is missing (cmake --build $build --target mmio-bench)" >&2; exit 1; }
done
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
exec "$bench" "$@" "$guest"
