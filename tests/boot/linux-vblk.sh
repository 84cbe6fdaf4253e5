#!/bin/bash
# SPDX-License-Identifier: MIT
# Linux's own virtio_blk driver against tessera's virtio-blk-pci: boots the distribution
# kernel (2 vCPUs) with a busybox initramfs that loads the virtio modules, then works two
# disks and powers off:
#   vda  a monolithicSparse VMDK made by qemu-img, -device virtio-blk-pci with 2 queues
#        and a serial: the host's pattern is read back, four writers run at once with
#        O_DIRECT, their data is read back, a range is discarded, caches are flushed;
#   vdb  a raw image given with QEMU's shorthand (if=virtio) read-only: it reads, and a
#        write is refused.
# Afterwards the host checks the VMDK with qemu-img check and tessera-img check, and
# compares it with the image it expects using qemu-img compare.
#
# usage: linux-vblk.sh PATH/TO/tessera PATH/TO/tessera-img
# Environment: TESSERA_LINUX_KERNEL (default: newest /boot/vmlinuz-*-cloud-amd64),
#              BOOT_TIMEOUT seconds (default 420: under load in the emulated KVM host it has
#              taken 3 min); TESSERA_NESTED_KVM / TESSERA_LINUX_BOOT
#              as for linux-boot.sh.
# Exits 0 on success, 1 on failure, 77 (CTest's skip) when something needed is missing.
set -u
tessera=$1 timg=$2
timeout_s=${BOOT_TIMEOUT:-420}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/initramfs.sh"

skip() { echo "SKIP: $*"; exit 77; }

kernel=${TESSERA_LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)}
[ -n "$kernel" ] && [ -r "$kernel" ] ||
    skip "no readable Linux kernel (scripts/install-deps.sh installs linux-image-cloud-amd64)"
moddir=/lib/modules/${kernel#*/vmlinuz-}/kernel
busybox=$(command -v busybox) || skip "busybox not found (install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is dynamically linked (install busybox-static)"
for tool in cpio qemu-img qemu-io; do
    command -v $tool >/dev/null || skip "$tool not found"
done
[ -x "$tessera" ] || skip "tessera binary '$tessera' not found"
why=$(linux_kvm_check) || skip "$why"

work=$(mktemp -d) || exit 1
vmm_pid=
trap '[ -n "$vmm_pid" ] && kill $vmm_pid 2>/dev/null; rm -rf "$work"' EXIT

modules="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk"
root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/mod" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
why=$(initramfs_modules "$moddir" "$root/mod" $modules) || skip "$why"

# The guest's side. Each result is one "vblk-linux: KEY VALUE" line the host checks.
cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/console >/dev/console 2>&1
for m in $(for m in $modules; do printf '%s ' "${m##*/}"; done); do
    insmod /mod/\$m.ko || echo "vblk-linux: cannot load \$m"
done
r() { echo "vblk-linux: \$*"; }
for i in \$(seq 100); do [ -b /dev/vda ] && [ -b /dev/vdb ] && break; sleep 0.1; done
r "disks \$(ls /sys/block | grep -c '^vd')"
r "serial \$(cat /sys/block/vda/serial)"
r "queues \$(ls /sys/block/vda/mq | wc -l)"
r "size-vda \$(cat /sys/block/vda/size)"
r "ro-vdb \$(cat /sys/block/vdb/ro)"
# The host wrote 'Z' (0x5a) over the first MiB of both disks.
r "host-pattern-vda \$(dd if=/dev/vda bs=64k count=16 iflag=direct 2>/dev/null | tr -d Z | wc -c)"
r "host-pattern-vdb \$(dd if=/dev/vdb bs=64k count=16 2>/dev/null | tr -d Z | wc -c)"
yes tessera-vblk | head -c 1048576 >/tmp/pat
for k in 1 2 3 4; do
    dd if=/tmp/pat of=/dev/vda bs=16k seek=\$((k * 64)) oflag=direct conv=notrunc 2>/dev/null &
done
wait
bad=0
for k in 1 2 3 4; do
    dd if=/dev/vda bs=16k skip=\$((k * 64)) count=64 iflag=direct 2>/dev/null | cmp -s - /tmp/pat ||
        bad=\$((bad + 1))
done
r "readback-bad \$bad"
blkdiscard -o 8388608 -l 1048576 /dev/vda && r "discard ok" || r "discard failed"
blockdev --flushbufs /dev/vda && sync && r "flush ok"
dd if=/tmp/pat of=/dev/vdb bs=4k count=1 oflag=direct 2>/dev/null && r "ro-write accepted" ||
    r "ro-write refused"
r done
poweroff -f
EOF
chmod +x "$root/init"
initramfs_pack "$root" "$work/initramfs.gz" || { echo "FAIL: cannot build the initramfs"; exit 1; }

# The disks, and the image vda should end up as.
size=32M
qemu-img create -q -f raw "$work/base.raw" $size || exit 1
qemu-io -f raw -c "write -q -P 0x5a 0 1M" "$work/base.raw" >/dev/null || exit 1
qemu-img convert -q -f raw -O vmdk "$work/base.raw" "$work/vda.vmdk" || exit 1
cp "$work/base.raw" "$work/vdb.raw" || exit 1
cp "$work/base.raw" "$work/expect.raw" || exit 1
yes tessera-vblk | head -c 1048576 >"$work/pat"
for k in 1 2 3 4; do
    dd if="$work/pat" of="$work/expect.raw" bs=16k seek=$((k * 64)) conv=notrunc 2>/dev/null
done

"$tessera" -m 256M -smp 2 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 panic=-1 rdinit=/init quiet" \
    -drive file="$work/vda.vmdk",format=vmdk,if=none,id=d0 \
    -device virtio-blk-pci,drive=d0,num-queues=2,serial=TESSERA-LNX0 \
    -drive file="$work/vdb.raw",format=raw,if=virtio,readonly=on \
    </dev/null >"$work/out" 2>&1 &
vmm_pid=$!
for ((t = 0; t < timeout_s; t++)); do
    kill -0 $vmm_pid 2>/dev/null || break
    sleep 1
done
if kill -0 $vmm_pid 2>/dev/null; then
    echo "FAIL: the guest did not finish within ${timeout_s}s"
    kill $vmm_pid
fi
wait $vmm_pid
status=$?
vmm_pid=
tr -d '\r' <"$work/out" >"$work/console" # the serial console ends lines with CR LF
grep -a 'vblk-linux:\|tessera:' "$work/console"

fail=0
expect() {
    if grep -aqx "vblk-linux: $1" "$work/console"; then
        echo "ok: $1"
    else
        echo "FAIL: expected 'vblk-linux: $1'"
        fail=1
    fi
}
expect "disks 2"
expect "serial TESSERA-LNX0"
expect "queues 2"
expect "size-vda $((32 * 2048))"
expect "ro-vdb 1"
expect "host-pattern-vda 0"
expect "host-pattern-vdb 0"
expect "readback-bad 0"
expect "discard ok"
expect "flush ok"
expect "ro-write refused"
expect "done"
[ $status = 0 ] || { echo "FAIL: tessera exited with status $status"; fail=1; }
if [ $fail = 1 ]; then
    echo "--- guest console (last 40 lines)"
    tail -n 40 "$work/console"
fi

# The host's side: the images are sound and hold what the guest wrote.
qemu-img check -q "$work/vda.vmdk" || { echo "FAIL: qemu-img check found errors"; fail=1; }
if [ -x "$timg" ]; then
    "$timg" check "$work/vda.vmdk" >/dev/null || { echo "FAIL: tessera-img check found errors"; fail=1; }
fi
# The discarded range reads back as zeroes or as before; it held zeroes either way.
if qemu-img compare -q -f vmdk -F raw "$work/vda.vmdk" "$work/expect.raw"; then
    echo "ok: qemu-img compare: the VMDK holds the host's pattern and the guest's writes"
else
    echo "FAIL: qemu-img compare: the VMDK differs from what was expected"
    fail=1
fi
cmp -s "$work/vdb.raw" "$work/base.raw" || { echo "FAIL: the read-only disk changed"; fail=1; }
[ $fail = 0 ] && echo "PASS: Linux virtio_blk on tessera's virtio-blk-pci"
exit $fail
