# SPDX-License-Identifier: MIT
# Shell helpers for booting a stock Linux kernel with a small busybox initramfs (sourced,
# not run).

# initramfs_modules MODDIR DESTDIR MODULE...
# Copies each kernel module (a path under MODDIR without .ko, e.g. drivers/block/virtio_blk)
# to DESTDIR/NAME.ko, unpacking .ko.xz and .ko.zst. Prints the first missing module and
# returns 1 when one cannot be had.
initramfs_modules() {
    local moddir=$1 dest=$2 m f
    shift 2
    for m in "$@"; do
        f=$(ls "$moddir/$m.ko"* 2>/dev/null | head -n1)
        [ -n "$f" ] || { echo "kernel module $m not found under $moddir"; return 1; }
        case $f in
        *.ko) cp "$f" "$dest/${m##*/}.ko" ;;
        *.ko.xz) xz -dc "$f" >"$dest/${m##*/}.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$dest/${m##*/}.ko" ;;
        *) echo "cannot unpack module $f"; return 1 ;;
        esac || { echo "cannot copy module $f"; return 1; }
    done
}

# initramfs_pack ROOTDIR OUTPUT: a gzip-compressed newc cpio archive of ROOTDIR.
initramfs_pack() {
    (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

# linux_kvm_check: whether a stock kernel can boot under KVM here. Prints why not and
# returns 1 when /dev/kvm is missing, or when this host is itself a VM whose nested KVM
# emulates guest CPL0 code (unless TESSERA_LINUX_BOOT=force, or inside
# scripts/nested-kvm.sh's emulated host, TESSERA_NESTED_KVM=1, where it boots in about
# half a minute).
linux_kvm_check() {
    if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
        echo "needs /dev/kvm (a stock kernel boots only under KVM on real hardware)"
        return 1
    fi
    if grep -qw hypervisor /proc/cpuinfo && [ "${TESSERA_LINUX_BOOT:-}" != force ] &&
        [ -z "${TESSERA_NESTED_KVM:-}" ]; then
        echo "this host is itself a VM: its nested KVM emulates guest CPL0 code far too slowly" \
             "for a stock kernel (set TESSERA_LINUX_BOOT=force to try anyway)"
        return 1
    fi
}
