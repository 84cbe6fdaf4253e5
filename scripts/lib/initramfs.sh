# SPDX-License-Identifier: MIT
# Shell helpers for building small initramfs images around busybox (sourced, not run).

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
