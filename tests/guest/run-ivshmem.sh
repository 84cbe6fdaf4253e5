#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the ivshmem-doorbell test guest (tests/guest/ivshmem_doorbell.c) against shared memory:
#
#   run-ivshmem.sh GUEST.elf SERVER CLIENT client VMM   ivshmem-server, one VM, three host ivshmem-clients
#   run-ivshmem.sh GUEST.elf SERVER CLIENT pair VMM VMM ivshmem-server and two VMs ringing each other
#   run-ivshmem.sh GUEST.elf SERVER CLIENT plain VMM    ivshmem-plain on a file: data both ways
#
# VMM is qemu (qemu-system-x86_64 -accel tcg; $QEMU or PATH) or tessera ($TESSERA; needs
# /dev/kvm). Exits 0 on success, 1 on failure, 77 (CTest's skip) when a VMM cannot run here.
# Environment: IVG_VECTORS (default 4), IVG_ROUNDS (pair mode, default 3).
set -u
elf=$1 server=$2 client=$3 mode=$4 vmm_a=$5 vmm_b=${6:-$5}
vectors=${IVG_VECTORS:-4} rounds=${IVG_ROUNDS:-3}
qemu=${QEMU:-$(command -v qemu-system-x86_64)}
tessera=${TESSERA:-}
check=$(dirname "$0")/check-tap.sh

for vmm in $vmm_a $vmm_b; do
    case $vmm in
    qemu) if [ -z "$qemu" ] || [ ! -x "$qemu" ]; then
              echo "SKIP: qemu-system-x86_64 not found; install the qemu-system-x86 package"
              exit 77
          fi ;;
    tessera) if [ ! -c /dev/kvm ]; then
                 echo "SKIP: /dev/kvm is missing; tessera runs guests under KVM only"
                 exit 77
             fi
             [ -x "$tessera" ] || { echo "FAIL: TESSERA='$tessera' is not executable"; exit 1; } ;;
    *) echo "FAIL: unknown VMM '$vmm' (qemu or tessera)"; exit 1 ;;
    esac
done

dir=$(mktemp -d) || exit 1
name=tessera-ivg-$$
shm=/dev/shm/$name
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$dir" "$shm"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# vm VMM OUTFILE CMDLINE DEVICE_OPTIONS...: boots the guest in the background.
vm() {
    v=$1 out=$2 cmdline=$3
    shift 3
    if [ "$v" = qemu ]; then
        # -accel tcg on purpose (docs/guest-runtime.md).
        set -- "$qemu" -accel tcg -machine pc "$@"
    else
        set -- "$tessera" "$@"
    fi
    timeout 100 "$@" -m 128 -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel "$elf" -append "$cmdline" >"$out" 2>&1 </dev/null &
    pids="$pids $!"
    last_pid=$!
}

# Four bytes at OFFSET of FILE as a little-endian hex number.
peek32() { od -An -tx4 -j "$2" -N 4 "$1" 2>/dev/null | tr -d ' \n'; }
# poll32 FILE OFFSET VALUE PID: waits (60 s at most) until the word is VALUE; fails if PID ends.
poll32() {
    i=0
    while [ "$(peek32 "$1" "$2")" != "$3" ]; do
        kill -0 "$4" 2>/dev/null || { echo "FAIL: the VM ended before word $2 became $3"; return 1; }
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "FAIL: timed out waiting for word $2 to become $3"; return 1; }
        sleep 0.1
    done
}
# The bytes of a text at OFFSET of FILE.
text_at() { dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null; }
# finish VM_PID OUTFILE: waits for the VM and judges its TAP.
finish() {
    wait "$1"
    status=$?
    "$check" "$2" "$status"
}

host_text="host->guest ivshmem data"
guest_text="guest->host ivshmem data"
fail=0

if [ "$mode" = plain ]; then
    file=$dir/plain-shm
    printf '%s\0' "$host_text" >"$file"
    truncate -s 1M "$file"
    vm "$vmm_a" "$dir/a.out" "mode=plain" \
        -object "memory-backend-file,id=hostmem,size=1M,share=on,mem-path=$file" \
        -device ivshmem-plain,memdev=hostmem
    finish "$last_pid" "$dir/a.out" || fail=1
    got=$(text_at "$file" 4096 ${#guest_text})
    if [ "$got" = "$guest_text" ]; then
        echo "host read the guest's text from the backend file"
    else
        echo "FAIL: the backend file holds '$got' at 0x1000, expected '$guest_text'"
        fail=1
    fi
    exit $fail
fi

"$server" -F -S "$dir/sock" -M "$name" -l 1M -n "$vectors" >"$dir/server.out" 2>&1 &
pids="$pids $!"
server_pid=$!
i=0
while [ ! -S "$dir/sock" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] && kill -0 $server_pid 2>/dev/null || {
        echo "FAIL: ivshmem-server did not start"; cat "$dir/server.out"; exit 1; }
    sleep 0.1
done
dev="-chardev socket,path=$dir/sock,id=c -device ivshmem-doorbell,chardev=c,vectors=$vectors"

case $mode in
client)
    # Client 1 connects first (peer 0), so the VM (peer 1) knows it from its handshake;
    # the guest rings each of its vectors once.
    "$client" -S "$dir/sock" -n "$vectors" --print-id --wait-peers 1 --wait "$vectors" \
        --timeout 60 >"$dir/client1.out" 2>&1 &
    c1=$!
    i=0
    until grep -q '^0$' "$dir/client1.out"; do
        i=$((i + 1))
        [ $i -lt 100 ] && kill -0 $c1 2>/dev/null || {
            echo "FAIL: ivshmem-client 1 did not connect as peer 0"; cat "$dir/client1.out"; exit 1; }
        sleep 0.1
    done
    vm "$vmm_a" "$dir/a.out" "mode=client vectors=$vectors peer=0 move_bar2=1" $dev
    vm_pid=$last_pid
    poll32 "$shm" $((256 + 16)) 59444552 $vm_pid || fail=1   # slot 1: MSI-X is set up
    if [ $fail = 0 ]; then
        # Client 2 rings every vector of the guest once.
        "$client" -S "$dir/sock" -n "$vectors" --wait-peers 1 --ring 1:all --timeout 60
        rc=$?
        echo "ivshmem-client 2 (rings 1:all): exit $rc"
        [ $rc = 0 ] || { echo "FAIL: second ivshmem-client"; fail=1; }
    fi
    [ $fail = 0 ] || kill $c1 2>/dev/null   # no point waiting for its timeout
    wait $c1
    rc=$?
    echo "ivshmem-client 1 (waits for $vectors doorbells): exit $rc"; cat "$dir/client1.out"
    [ $rc = 0 ] || { echo "FAIL: first ivshmem-client"; fail=1; }
    if [ $fail = 0 ] && poll32 "$shm" $((256 + 16 + 4)) 00000002 $vm_pid; then
        # The guest masked vector 0: write our text, then ring that vector.
        printf '%s\0' "$host_text" | dd of="$shm" conv=notrunc 2>/dev/null
        "$client" -S "$dir/sock" -n "$vectors" --wait-peers 1 --ring 1:0 --timeout 60
        rc=$?
        echo "ivshmem-client 3 (rings 1:0): exit $rc"
        [ $rc = 0 ] || { echo "FAIL: third ivshmem-client"; fail=1; }
    else
        fail=1
    fi
    finish $vm_pid "$dir/a.out" || fail=1
    got=$(text_at "$shm" 4096 ${#guest_text})
    [ "$got" = "$guest_text" ] && echo "host read the guest's text from the shared memory" ||
        { echo "FAIL: shared memory holds '$got' at 0x1000, expected '$guest_text'"; fail=1; }
    ;;
pair)
    vm "$vmm_a" "$dir/a.out" "mode=pair vectors=$vectors rounds=$rounds" $dev
    a=$last_pid
    vm "$vmm_b" "$dir/b.out" "mode=pair vectors=$vectors rounds=$rounds" $dev
    b=$last_pid
    echo "--- VM A ($vmm_a)"
    finish $a "$dir/a.out" || fail=1
    echo "--- VM B ($vmm_b)"
    finish $b "$dir/b.out" || fail=1
    ;;
*)
    echo "FAIL: unknown mode '$mode' (client, pair or plain)"
    exit 1
    ;;
esac
[ $fail = 0 ] || { echo "--- ivshmem-server"; cat "$dir/server.out"; }
exit $fail
