#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the vblk guest against a virtio-blk-pci drive and checks the disk afterwards.
# usage: run-vblk.sh qemu|tessera GUEST.elf raw|vmdk rw|ro [TESSERA] [TESSERA_IMG]
# Prepares an 8 MiB drive with the layout tests/guest/vblk.c expects (host patterns
# written with qemu-io), boots the guest (QEMU: TCG; tessera: KVM, skipped without
# /dev/kvm), judges its TAP with check-tap.sh, then compares the drive with the expected
# raw image using qemu-img compare and, when TESSERA_IMG is executable, tessera-img compare.
# Exits 0 passed, 1 failed, 77 skipped.
set -u
vmm=$1 elf=$2 fmt=$3 mode=$4 tessera=${5:-} timg=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
for tool in qemu-img qemu-io; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not found (qemu-utils)"; exit 77; }
done
if [ "$vmm" = qemu ]; then
    qemu=${QEMU:-$(command -v qemu-system-x86_64)}
    if [ -z "$qemu" ] || [ ! -x "$qemu" ]; then
        echo "SKIP: qemu-system-x86_64 not found"; exit 77
    fi
elif [ ! -c /dev/kvm ]; then
    echo "SKIP: /dev/kvm is missing; tessera runs guests under KVM only"; exit 77
fi
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

# write_blocks IMAGE SEED FIRST COUNT: block k (4 KiB) gets byte (SEED + 37 k) | 1.
write_blocks() {
    cmds=""
    k=$3
    while [ "$k" -lt $(($3 + $4)) ]; do
        cmds="$cmds -c \"write -q -P $(( (($2 + 37 * k) | 1) & 255 )) $((k * 4096)) 4096\""
        k=$((k + 1))
    done
    eval qemu-io -f raw $cmds "$1" >/dev/null || exit 1
}
base=$dir/base.raw expect=$dir/expect.raw disk=$dir/disk.$fmt
qemu-img create -q -f raw "$base" 8M || exit 1
write_blocks "$base" $((0x40)) 0 32
write_blocks "$base" $((0x20)) 1024 32
write_blocks "$base" $((0x60)) 1100 32
cp "$base" "$expect"
if [ "$mode" = rw ]; then
    write_blocks "$expect" $((0x90)) 256 256
    qemu-io -f raw -c "write -q -z $((1024 * 4096)) $((32 * 4096))" "$expect" >/dev/null || exit 1
    write_blocks "$expect" $((0xa0)) 1100 32
fi
if [ "$fmt" = raw ]; then
    cp "$base" "$disk"
else
    qemu-img convert -q -f raw -O "$fmt" "$base" "$disk" || exit 1
fi
ro=""
[ "$mode" = ro ] && ro=",readonly=on"
serial=tessera-vblk0
drive="-drive file=$disk,format=$fmt,if=none,id=d0$ro"
# The VMDK runs also move the virtio BAR the way the driver does for BARs above 4 GiB, and
# leave RING_EVENT_IDX out (notification hints then travel in the ring flags).
move=0 evidx=1
[ "$fmt" = vmdk ] && move=1 evidx=0
out=$dir/out
if [ "$vmm" = qemu ]; then
    timeout 100 "$qemu" -accel tcg -machine pc -m 128 -nographic -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 $drive \
        -device virtio-blk-pci,drive=d0,disable-legacy=on,num-queues=4,serial=$serial \
        -kernel "$elf" -append "mode=$mode serial=$serial queues=4 move_bar=$move event_idx=$evidx" >"$out" 2>&1 </dev/null
else
    timeout 100 "$tessera" -m 128 -nographic -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 $drive \
        -device virtio-blk-pci,drive=d0,num-queues=4,serial=$serial \
        -kernel "$elf" -append "mode=$mode serial=$serial queues=4 move_bar=$move event_idx=$evidx" >"$out" 2>&1 </dev/null
fi
status=$?
fail=0
"$here/check-tap.sh" "$out" "$status" || fail=1
if qemu-img compare -f "$fmt" -F raw "$disk" "$expect"; then
    echo "PASS: qemu-img compare: the $fmt drive matches the expected image"
else
    echo "FAIL: qemu-img compare: the $fmt drive differs from the expected image"; fail=1
fi
if [ -n "$timg" ] && [ -x "$timg" ]; then
    if "$timg" compare -f "$fmt" -F raw "$disk" "$expect"; then
        echo "PASS: tessera-img compare: the $fmt drive matches the expected image"
    else
        echo "FAIL: tessera-img compare: the $fmt drive differs from the expected image"; fail=1
    fi
fi
exit $fail
