#!/bin/bash
# SPDX-License-Identifier: MIT
# Boots the distribution kernel with a busybox initramfs to a shell prompt, types a command
# at the prompt and checks the answer, then powers the guest off.
#
# usage: linux-boot.sh tessera PATH/TO/tessera    (needs /dev/kvm on real hardware)
#        linux-boot.sh qemu-loader QEMU BOOT_DUMP BZIMAGE_SHIM_ELF
#              tessera's bzImage loader and ACPI tables, started under QEMU TCG: boot-dump
#              writes what the loader puts in guest RAM, QEMU's generic loader places it,
#              the bzimage-shim guest copies the low 1 MiB into place and enters the kernel
#              with the loader's registers. Runs here; proves the loader on a real kernel.
#        linux-boot.sh qemu    PATH/TO/qemu-system-x86_64   (QEMU's own loader: the harness)
# Environment: TESSERA_LINUX_KERNEL (default: newest /boot/vmlinuz-*-cloud-amd64),
#              TESSERA_LINUX_BOOT=force runs the tessera variant under nested KVM too
#              (TESSERA_NESTED_KVM, set by scripts/nested-kvm.sh, does the same there),
#              BOOT_TIMEOUT seconds (default 240).
# Exits 0 on success, 1 on failure, 77 (CTest's skip) when something needed is missing.
set -u
kind=$1 vmm=$2 boot_dump=${3:-} shim=${4:-}
timeout_s=${BOOT_TIMEOUT:-240}

skip() { echo "SKIP: $*"; exit 77; }
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/lib/initramfs.sh"

kernel=${TESSERA_LINUX_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)}
[ -n "$kernel" ] && [ -r "$kernel" ] ||
    skip "no readable Linux kernel (scripts/install-deps.sh installs linux-image-cloud-amd64)"
busybox=$(command -v busybox) || skip "busybox not found (install busybox-static)"
command -v cpio >/dev/null || skip "cpio not found"
[ -x "$vmm" ] || skip "$kind binary '$vmm' not found"

case $kind in
tessera)
    why=$(linux_kvm_check) || skip "$why"
    ;;
qemu) ;;
qemu-loader)
    [ -x "$boot_dump" ] || skip "boot-dump not built"
    [ -r "$shim" ] || skip "the bzimage-shim guest is not built"
    ;;
*) echo "usage: $0 tessera|qemu|qemu-loader VMM_BINARY [BOOT_DUMP SHIM]"; exit 2 ;;
esac

work=$(mktemp -d) || exit 1
trap 'kill $vmm_pid 2>/dev/null; rm -rf "$work"' EXIT

# The initramfs: a static busybox and an init that gives a shell on the console.
mkdir -p "$work/root/bin" "$work/root/dev" "$work/root/proc" "$work/root/sys"
cp "$busybox" "$work/root/bin/busybox"
cat >"$work/root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
exec </dev/console >/dev/console 2>&1
echo "tessera-linux: $(cat /proc/cpuinfo | grep -c ^processor) cpus, init running"
exec setsid cttyhack sh -i
EOF
chmod +x "$work/root/init"
initramfs_pack "$work/root" "$work/initramfs.gz" ||
    { echo "FAIL: cannot build the initramfs"; exit 1; }

cmdline="console=ttyS0 earlyprintk=serial panic=-1 reboot=k rdinit=/init loglevel=7"
mkfifo "$work/in"
case $kind in
tessera)
    "$vmm" -m 256M -smp 2 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initramfs.gz" \
        -append "$cmdline" <"$work/in" >"$work/out" 2>&1 &
    ;;
qemu)
    "$vmm" -accel tcg -machine pc -m 256 -smp 2 -nographic -no-reboot -kernel "$kernel" \
        -initrd "$work/initramfs.gz" -append "$cmdline" <"$work/in" >"$work/out" 2>&1 &
    ;;
qemu-loader)
    # The loader lays out a 256 MiB guest; QEMU gets 512 MiB so the staging copy of the
    # low 1 MiB (SeaBIOS owns low memory until the shim runs) lies outside that layout.
    mkdir "$work/dump"
    vars=$("$boot_dump" "$kernel" "$work/initramfs.gz" "$cmdline" 256 2 "$work/dump") ||
        { echo "FAIL: boot-dump could not load the kernel"; exit 1; }
    echo "tessera's loader: $vars"
    eval "$vars"
    staging=0x18000000
    "$vmm" -accel tcg -machine pc -m 512 -smp 2 -nographic -no-reboot \
        -device loader,file="$work/dump/low.bin",addr=$staging,force-raw=on \
        -device loader,file="$work/dump/kernel.bin",addr="$kernel_gpa",force-raw=on \
        -device loader,file="$work/dump/initrd.bin",addr="$initrd_gpa",force-raw=on \
        -kernel "$shim" -append "low=$staging rip=$rip rsi=$rsi cr3=$cr3 gdt=$gdt" \
        <"$work/in" >"$work/out" 2>&1 &
    ;;
esac
vmm_pid=$!
exec 3>"$work/in"

# Wait for the prompt, then type at it until the answer appears.
status=1
for ((t = 0; t < timeout_s; t++)); do
    if ! kill -0 $vmm_pid 2>/dev/null; then
        echo "FAIL: $kind exited before the shell answered"
        break
    fi
    if grep -q 'answer-42' "$work/out"; then
        status=0
        break
    fi
    if grep -q '^/ # ' "$work/out" || grep -q 'init running' "$work/out"; then
        echo 'echo answer-$((6*7))' >&3
    fi
    sleep 1
done
[ $status = 0 ] || [ $t -lt "$timeout_s" ] || echo "FAIL: no shell answer within ${timeout_s}s"
echo 'poweroff -f' >&3
for ((t = 0; t < 30; t++)); do kill -0 $vmm_pid 2>/dev/null || break; sleep 1; done
kill $vmm_pid 2>/dev/null
exec 3>&-
tr -d '\r' <"$work/out" | tail -n 40
grep -q 'tessera-linux: 2 cpus' "$work/out" || { echo "FAIL: the guest did not see 2 CPUs"; status=1; }
if [ "$kind" != qemu ]; then
    # tessera's ACPI tables and e820 were the ones the kernel used
    for want in 'ACPI: RSDP 0x00000000000E0000 000024 (v02 TESSRA)' \
                'BIOS-e820: \[mem 0x00000000000e0000-0x00000000000fffff\] reserved' \
                'ttyS0 at I/O 0x3f8 (irq = 4' 'ACPI: PM: Preparing to enter system sleep state S5'; do
        tr -d '\r' <"$work/out" | grep -q "$want" || { echo "FAIL: the kernel log lacks '$want'"; status=1; }
    done
fi
[ $status = 0 ] && echo "PASS: $kind booted $kernel to a shell prompt"
exit $status
