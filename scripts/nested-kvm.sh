#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs a command on a KVM host that QEMU emulates, for machines without /dev/kvm.
#
#   scripts/nested-kvm.sh [-m MIB] [-smp N] [-timeout SECONDS] [--] COMMAND [ARG...]
#
# QEMU (TCG, -cpu max, which emulates AMD SVM with nested paging) boots the distribution
# kernel with a small busybox initramfs. Its init loads kvm-amd and the virtio-fs modules,
# mounts this machine's root directory read-write through virtiofsd, gives it a private
# /tmp and /dev/shm, and runs COMMAND there with bash, in the current directory and with
# the current exported environment. /dev/kvm is real KVM inside that VM, so tessera runs
# its guests under KVM for real, only slowly: everything in the emulated host runs at TCG
# speed. COMMAND's output is this script's output; its exit status is this script's.
#
# Exit status: COMMAND's; 77 when something needed is missing (no kernel, no QEMU, no
# virtiofsd, no kvm-amd module, or KVM did not come up in the emulated host); 124 when the
# timeout (default 1800 s) ran out; 1 when the VM died without reporting a status.
# Defaults: 4096 MiB and one CPU (with two, QEMU 7.2's emulated SVM froze the emulated host
# now and then; docs/running.md). Environment: NESTED_KVM_KERNEL (default: the newest
# /boot/vmlinuz-*-cloud-amd64), NESTED_KVM_TCG_THREAD (multi or single), QEMU.
set -u

mem=4096 smp=1 timeout_s=1800 tcg_thread=${NESTED_KVM_TCG_THREAD:-multi}
while [ $# -gt 0 ]; do
    case $1 in
    -m) mem=$2; shift 2 ;;
    -smp) smp=$2; shift 2 ;;
    -timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "nested-kvm: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n '6,7p' "$0" | sed 's/^# //' >&2; exit 2; }

skip() { echo "nested-kvm: SKIP: $*" >&2; exit 77; }
. "$(dirname "$0")/lib/initramfs.sh"

kernel=${NESTED_KVM_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)}
[ -n "$kernel" ] && [ -r "$kernel" ] ||
    skip "no readable Linux kernel (scripts/install-deps.sh installs linux-image-cloud-amd64)"
kver=${kernel#*/vmlinuz-}
moddir=/lib/modules/$kver/kernel
qemu=${QEMU:-$(command -v qemu-system-x86_64)} || skip "qemu-system-x86_64 not found"
virtiofsd=$(ls /usr/lib/qemu/virtiofsd /usr/libexec/virtiofsd 2>/dev/null | head -n1)
[ -x "$virtiofsd" ] || skip "virtiofsd not found (it comes with qemu-system-common)"
busybox=$(command -v busybox) || skip "busybox not found (install busybox-static)"
# The initramfs holds no libraries: a dynamically linked busybox could not run there.
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is dynamically linked (install busybox-static)"
command -v cpio >/dev/null || skip "cpio not found"
[ "$(id -u)" = 0 ] || skip "virtiofsd needs root to share the root directory"

# Modules in load order (each after what it depends on).
modules="virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd drivers/virtio/virtio_ring
         drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/fuse/fuse
         fs/fuse/virtiofs"

work=$(mktemp -d) || exit 1
vfs_pid= qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
    [ -n "$vfs_pid" ] && kill "$vfs_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/mod" "$root/host"
cp "$busybox" "$root/bin/busybox"
why=$(initramfs_modules "$moddir" "$root/mod" $modules) || skip "$why"

# The command, with the caller's directory and exported environment (less what belongs
# to this terminal or shell instance).
{
    echo '#!/bin/bash'
    export -p | grep -v -E '^declare -x (SHLVL|OLDPWD|PWD|_|TERM|SSH_[A-Z_]*|DISPLAY)(=|$)'
    echo 'export TESSERA_NESTED_KVM=1'
    printf 'cd %q || exit 1\n' "$PWD"
    printf '%q ' "$@"
    echo
} >"$root/command"

cat >"$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in $(for m in $modules; do printf '%s ' "${m##*/}"; done); do
    insmod /mod/\$m.ko 2>/dev/null || echo "nested-kvm: cannot load \$m"
done
report() { printf '\\n%s\\n' "nested-kvm-status: \$1"; poweroff -f; }
[ -c /dev/kvm ] || { echo "nested-kvm: no /dev/kvm in the emulated host"; report 77; }
mount -t virtiofs hostroot /host || { echo "nested-kvm: cannot mount the host root"; report 1; }
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/shm /host/dev/pts
mount -t devpts devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
cp /command /host/tmp/nested-kvm-command
# Straight to the console (a pipe would stay open as long as anything COMMAND left running
# holds it); TERM=dumb keeps colour codes out.
TERM=dumb chroot /host /bin/bash /tmp/nested-kvm-command </dev/null >/dev/console 2>&1
report \$?
EOF
chmod +x "$root/init"
initramfs_pack "$root" "$work/initrd.gz" ||
    { echo "nested-kvm: cannot build the initramfs" >&2; exit 1; }

"$virtiofsd" --socket-path="$work/vfs.sock" -o source=/ -o cache=none -o sandbox=chroot \
    -o log_level=err >"$work/virtiofsd.log" 2>&1 &
vfs_pid=$!
for ((i = 0; i < 50; i++)); do [ -S "$work/vfs.sock" ] && break; sleep 0.1; done
[ -S "$work/vfs.sock" ] || { cat "$work/virtiofsd.log" >&2; echo "nested-kvm: virtiofsd did not start" >&2; exit 1; }

mkfifo "$work/out"
timeout --kill-after=10s "$timeout_s" \
"$qemu" -accel "tcg,thread=$tcg_thread" -cpu max -smp "$smp" -machine q35,memory-backend=mem \
    -object memory-backend-memfd,id=mem,size="${mem}M",share=on -m "${mem}M" \
    -display none -serial stdio -monitor none -no-reboot -nodefaults \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=1" \
    -chardev socket,id=vfs,path="$work/vfs.sock" \
    -device vhost-user-fs-pci,chardev=vfs,tag=hostroot </dev/null >"$work/out" 2>&1 &
qemu_pid=$!

status=
while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
    *nested-kvm-status:*) status=${line##*nested-kvm-status: } ;;
    *"reboot: Power down"*) ;;
    *) printf '%s\n' "$line" ;;
    esac
done <"$work/out"
qemu_rc=0
wait "$qemu_pid" 2>/dev/null || qemu_rc=$?
qemu_pid=
if [ -z "$status" ]; then
    if [ $qemu_rc -eq 124 ] || [ $qemu_rc -eq 137 ]; then
        echo "nested-kvm: no status after ${timeout_s}s: the emulated host was stopped" >&2
        status=124
    else
        echo "nested-kvm: the emulated host stopped without a status (QEMU exit $qemu_rc)" >&2
        status=1
    fi
fi
exit "$status"
