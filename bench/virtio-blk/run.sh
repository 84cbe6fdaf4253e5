#!/bin/sh
# SPDX-License-Identifier: MIT
# virtio-blk benchmark (not a test): 4 KiB sequential and random I/O from the vblk test
# guest's polling driver, on a raw and a VMDK drive, next to tessera-img bench on the same
# image in the same run. See bench/virtio-blk/README.md.
# usage: bench/virtio-blk/run.sh [-b BUILD_DIR] [-c COUNT] [-d DEPTH] [-s SIZE_MIB] [-w WORKDIR]
set -u
build="" count=20000 depth=32 size=64 work=""
while getopts b:c:d:s:w: o; do
    case $o in
    b) build=$OPTARG ;; c) count=$OPTARG ;; d) depth=$OPTARG ;; s) size=$OPTARG ;;
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

echo "virtio-blk bench: $count x 4 KiB, depth $depth, ${size} MiB images, $(date -u +%FT%TZ)"
echo "build: $build"
secs() { sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p'; }
iops() { awk -v c="$count" -v s="$1" 'BEGIN { if (s > 0) printf "%d", c / s; else print "?" }'; }
# The guest's "bench:" lines as rows; with a host file (workload IOPS per line), each row
# also gives the guest's IOPS as a share of the host's: the figure issue #6 sets at 80%.
guest_rows() {
    awk -v who="$1" -v hostf="$2" '
        BEGIN { if (hostf != "") while ((getline l < hostf) > 0) { split(l, f, " "); host[f[1]] = f[2] } }
        /^bench: [a-z-]+ ops=/ {
            delete v
            for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            row = sprintf("  %-18s %-10s %8d IOPS (%d us, %d failed, %.2f doorbells/request)", who, $2,
                          v["iops"], v["us"], v["failed"], v["ops"] ? v["kicks"] / v["ops"] : 0)
            if (($2 in host) && host[$2] > 0)
                row = row sprintf("  %3.0f%% of tessera-img bench", 100 * v["iops"] / host[$2])
            print row
        }'
}
for fmt in raw vmdk; do
    img=$work/disk.$fmt
    echo "== $fmt"
    # Host side: tessera-img bench.
    for w in seq-read rand-read seq-write rand-write; do
        opts="-f $fmt -c $count -d $depth -s 4096"
        case $w in rand-*) opts="$opts -S $((stride * 4096))" ;; esac
        case $w in *-write) opts="$opts -w" ;; esac
        s=$("$timg" bench $opts "$img" 2>&1 | secs)
        printf '  tessera-img bench  %-10s %8s IOPS (%s s)\n' $w "$(iops "$s")" "${s:-failed}"
        echo "$w $(iops "$s")" >>"$work/host.$fmt"
    done
    # Guest side under tessera (KVM): the target is >= 80% of the host figures above.
    if [ -c /dev/kvm ] && [ -x "$tessera" ]; then
        timeout 300 "$tessera" -m 128 -nographic -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -drive file="$img",format=$fmt,if=none,id=d0 \
            -device virtio-blk-pci,drive=d0,num-queues=1 \
            -kernel "$elf" -append "bench=1 ops=$count depth=$depth" </dev/null 2>&1 |
            guest_rows "tessera guest" "$work/host.$fmt"
    else
        echo "  tessera guest      skipped: no /dev/kvm"
    fi
    # Reference only: the same guest under QEMU TCG (emulated CPU, so not comparable).
    if command -v qemu-system-x86_64 >/dev/null; then
        timeout 300 qemu-system-x86_64 -accel tcg -machine pc -m 128 -nographic -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=4 \
            -drive file="$img",format=$fmt,if=none,id=d0 \
            -device virtio-blk-pci,drive=d0,disable-legacy=on,num-queues=1 \
            -kernel "$elf" -append "bench=1 ops=$count depth=$depth" </dev/null 2>&1 |
            guest_rows "qemu-tcg guest" 
    fi
done
