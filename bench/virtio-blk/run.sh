#!/bin/sh
# SPDX-License-Identifier: MIT
# virtio-blk benchmark (not a test): 4 KiB sequential and random I/O from the vblk test
# guest's polling driver, on a raw and a VMDK drive, next to tessera-img bench on the same
# image in the same run. See bench/virtio-blk/README.md.
# usage: bench/virtio-blk/run.sh [-b BUILD_DIR] [-c COUNT] [-d DEPTH] [-r RUNS] [-s SIZE_MIB] [-w WORKDIR]
set -u
build="" count=20000 depth=32 runs=3 size=64 work=""
while getopts b:c:d:r:s:w: o; do
    case $o in
    b) build=$OPTARG ;; c) count=$OPTARG ;; d) depth=$OPTARG ;; r) runs=$OPTARG ;; s) size=$OPTARG ;;
    w) work=$OPTARG ;; *) sed -n 6p "$0"; exit 2 ;;
    esac
done
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "$build" ]; then
    build=$(ls -dt "$top"/build*/tests/guest/vblk.elf 2>/dev/null | head -n1)
    build=${build%/tests/guest/vblk.elf}
fi
elf=$build/tests/guest/vblk.elf timg=$build/bin/tessera-img tessera=$build/bin/tessera
for f in "$elf" "$timg"; do
    [ -e "$f" ] || { echo "run.sh: $f is missing; build the guest-vblk and tessera-img targets (and vmdk)"; exit 1; }
done
[ "$count" -le 65536 ] || { echo "run.sh: -c at most 65536 (the guest's limit)"; exit 2; }
command -v qemu-img >/dev/null || { echo "run.sh: qemu-img not found (qemu-utils)"; exit 1; }
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/var/tmp}/vblk-bench.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT
fi
blocks=$((size * 256))
# A stride coprime with the block count visits every block once in pseudo-random order:
# tessera-img bench's stand-in for the guest's random offsets (it has no random mode).
stride=4099
while [ $((blocks % stride)) -eq 0 ]; do stride=$((stride + 2)); done

qemu-img create -q -f raw "$work/disk.raw" "${size}M" || exit 1
qemu-io -f raw -c "write -q -P 0x5a 0 ${size}M" "$work/disk.raw" >/dev/null || exit 1
qemu-img convert -q -f raw -O vmdk "$work/disk.raw" "$work/disk.vmdk" || exit 1

echo "virtio-blk bench: $count x 4 KiB, depth $depth, ${size} MiB images, $runs runs, $(date -u +%FT%TZ)"
echo "build: $build, CPUs: $(nproc)"
[ "$(nproc)" -ge 2 ] ||
    echo "note: one CPU: the polling guest and the device's threads take turns on it, so the guest gets about half"
secs() { sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p'; }
iops() { awk -v c="$count" -v s="$1" 'BEGIN { if (s > 0) printf "%d", c / s; else print "?" }'; }
# The guest's "bench: NAME ops=N failed=F us=T iops=I kicks=K" lines as "NAME I K N F".
guest_lines() { sed -n 's/^bench: \([a-z-]*\) ops=\([0-9]*\) failed=\([0-9]*\) us=[0-9]* iops=\([0-9]*\) kicks=\([0-9]*\).*/\1 \4 \5 \2 \3/p'; }
# One row per workload from "NAME IOPS [KICKS OPS FAILED]" lines: the median of the runs,
# their range, doorbells per request; with a host file, the guest's median as a share of
# the host's median (the figure issue #6 sets at 80% or more).
rows() {
    awk -v who="$1" -v hostf="${3:-}" '
        function median(list,   a, n, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            lo = a[1]; hi = a[n]
            return n % 2 ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2)
        }
        BEGIN {
            if (hostf != "") while ((getline l < hostf) > 0) { split(l, f, " "); hl[f[1]] = hl[f[1]] " " f[2] }
        }
        { if (!($1 in got)) order[++n] = $1; got[$1] = got[$1] " " $2; kicks[$1] += $3; ops[$1] += $4; failed[$1] += $5 }
        END {
            for (i = 1; i <= n; i++) {
                w = order[i]; m = median(got[w])
                row = sprintf("  %-18s %-10s %7d IOPS (%d-%d)", who, w, m, lo, hi)
                if (ops[w] > 0) row = row sprintf("  %.2f doorbells/request", kicks[w] / ops[w])
                if (failed[w] > 0) row = row sprintf("  %d FAILED", failed[w])
                if (w in hl) { h = median(hl[w]); if (h > 0) row = row sprintf("  %3.0f%% of tessera-img bench", 100 * m / h) }
                print row
            }
        }' "$2"
}
have_kvm=0
[ -c /dev/kvm ] && [ -x "$tessera" ] && have_kvm=1
for fmt in raw vmdk; do
    img=$work/disk.$fmt
    host=$work/host.$fmt guest=$work/guest.$fmt
    : >"$host"
    : >"$guest"
    # Host side (tessera-img bench) and guest side (the vblk guest under tessera, KVM) take
    # turns, so that both see the same machine over the runs.
    for run in $(seq "$runs"); do
        for w in seq-read rand-read seq-write rand-write; do
            opts="-f $fmt -c $count -d $depth -s 4096"
            case $w in rand-*) opts="$opts -S $((stride * 4096))" ;; esac
            case $w in *-write) opts="$opts -w" ;; esac
            echo "$w $(iops "$("$timg" bench $opts "$img" 2>&1 | secs)")" >>"$host"
        done
        [ $have_kvm = 1 ] || continue
        timeout 300 "$tessera" -m 128 -nographic -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -drive file="$img",format=$fmt,if=none,id=d0 \
            -device virtio-blk-pci,drive=d0,num-queues=1 \
            -kernel "$elf" -append "bench=1 ops=$count depth=$depth" </dev/null >"$work/guest-tessera.$fmt.$run.out" 2>&1
        guest_lines <"$work/guest-tessera.$fmt.$run.out" >>"$guest"
    done
    echo "== $fmt"
    rows "tessera-img bench" "$host"
    if [ $have_kvm = 1 ]; then
        rows "tessera guest" "$guest" "$host"
    else
        echo "  tessera guest      skipped: no /dev/kvm"
    fi
    # Reference only, one run: the same guest under QEMU TCG (an emulated CPU, so not comparable).
    if command -v qemu-system-x86_64 >/dev/null; then
        timeout 300 qemu-system-x86_64 -accel tcg -machine pc -m 128 -nographic -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -drive file="$img",format=$fmt,if=none,id=d0 \
            -device virtio-blk-pci,drive=d0,disable-legacy=on,num-queues=1 \
            -kernel "$elf" -append "bench=1 ops=$count depth=$depth" </dev/null >"$work/guest-qemu.$fmt.out" 2>&1
        guest_lines <"$work/guest-qemu.$fmt.out" >"$work/qemu.$fmt"
        rows "qemu-tcg guest" "$work/qemu.$fmt"
    fi
done
