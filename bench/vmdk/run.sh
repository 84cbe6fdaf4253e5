#!/bin/bash
# VMDK benchmarks: tessera-img against qemu-img in the same run, alternating, median of
# N runs and the ratio (qemu-img time / tessera-img time: above 1 means tessera is
# faster). Not a test; see README.md.
#
#   bench/vmdk/run.sh [-n RUNS] [-s SIZE_MIB] [-d WORKDIR] [-t TESSERA_IMG]
set -euo pipefail

runs=3
size_mib=1024
workdir=
timg=${TESSERA_IMG:-}
while getopts "n:s:d:t:h" opt; do
    case $opt in
        n) runs=$OPTARG ;;
        s) size_mib=$OPTARG ;;
        d) workdir=$OPTARG ;;
        t) timg=$OPTARG ;;
        *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "$timg" ]; then
    # the most recently built tessera-img of any build tree
    timg=$(ls -t "$root"/build*/bin/tessera-img 2>/dev/null | head -1 || true)
fi
[ -x "$timg" ] || { echo "run.sh: no tessera-img (build it, or pass -t PATH)" >&2; exit 1; }
timg=$(cd "$(dirname "$timg")" && pwd)/$(basename "$timg")
command -v qemu-img >/dev/null || { echo "run.sh: qemu-img not installed (Debian qemu-utils)" >&2; exit 1; }
if [ -z "$workdir" ]; then
    workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/vmdk-bench.XXXXXX")
    trap 'rm -rf "$workdir"' EXIT
fi
mkdir -p "$workdir"
cd "$workdir"

echo "tessera-img: $timg"
echo "qemu-img:    $(qemu-img --version | head -1)"
echo "work dir:    $workdir   size: ${size_mib} MiB   runs: $runs   cpus: $(nproc)   load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 "$here/make_mixed.py" raw.img "$size_mib"
# Inputs both tools read: made once, by qemu-img, so neither reads its own output.
qemu-img convert -f raw -O vmdk raw.img in-sparse.vmdk
stream_mib=$(( size_mib < 256 ? size_mib : 256 ))
head -c $(( stream_mib * 1024 * 1024 )) raw.img > raw-small.img
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized raw-small.img in-stream.vmdk

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# time_cmd SETUP CMD...: runs SETUP (untimed), then times CMD; prints seconds.
time_cmd() {
    local setup=$1
    shift
    eval "$setup"
    sync
    local t0 t1
    t0=$(now)
    "$@" >/dev/null || return 1
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

printf '\n%-44s %10s %10s %8s\n' "workload (median of $runs)" "qemu-img" "tessera" "ratio"
# bench_pair NAME SETUP QEMU_ARGS -- TESSERA_ARGS (both run through the same command line
# shape; SETUP runs before each measurement)
bench_pair() {
    local name=$1 setup=$2
    shift 2
    local qargs=() targs=() side=q
    for a in "$@"; do
        if [ "$a" = "--" ]; then side=t; continue; fi
        if [ $side = q ]; then qargs+=("$a"); else targs+=("$a"); fi
    done
    local qt=() tt=()
    local t
    for ((i = 0; i < runs; i++)); do
        t=$(time_cmd "$setup" qemu-img "${qargs[@]}") || { echo "run.sh: qemu-img ${qargs[*]} failed" >&2; exit 1; }
        qt+=("$t")
        t=$(time_cmd "$setup" "$timg" "${targs[@]}") || { echo "run.sh: tessera-img ${targs[*]} failed" >&2; exit 1; }
        tt+=("$t")
    done
    local qm tm
    qm=$(printf '%s\n' "${qt[@]}" | median)
    tm=$(printf '%s\n' "${tt[@]}" | median)
    printf '%-44s %9.3fs %9.3fs %7.2fx\n' "$name" "$qm" "$tm" "$(echo "$qm / $tm" | bc -l)"
}

both() { local a=("$@"); bench_pair "${a[0]}" "${a[1]}" "${a[@]:2}" -- "${a[@]:2}"; }

both "convert raw -> monolithicSparse (${size_mib}M)" "rm -f out.vmdk" \
    convert -f raw -O vmdk raw.img out.vmdk
both "convert raw -> streamOptimized (${size_mib}M)" "rm -f out.vmdk" \
    convert -f raw -O vmdk -o subformat=streamOptimized raw.img out.vmdk
both "convert monolithicSparse -> raw (${size_mib}M)" "rm -f out.raw" \
    convert -f vmdk -O raw in-sparse.vmdk out.raw
reads=$(( size_mib * 1024 * 1024 / 53248 )); reads=$(( reads < 20000 ? reads : 20000 ))
both "bench: $reads 4K reads, 52K stride (sparse)" ":" \
    bench -f vmdk -c $reads -s 4096 -S 53248 in-sparse.vmdk
both "bench -w: 20000 allocating 4K writes, 64K stride" \
    "rm -f w.vmdk; qemu-img create -q -f vmdk w.vmdk 2G" \
    bench -w -f vmdk -t writeback -c 20000 -s 4096 -S 65536 w.vmdk
both "bench: 4K sequential reads, stream (${stream_mib}M)" ":" \
    bench -f vmdk -c $(( stream_mib * 256 )) -s 4096 -S 4096 in-stream.vmdk
