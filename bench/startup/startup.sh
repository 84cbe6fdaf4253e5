#!/bin/bash
# SPDX-License-Identifier: MIT
# Startup benchmark: time from VMM process start to the guest's first instruction, and
# VMM memory overhead, for tessera and qemu-system-x86_64 -accel tcg on the same PVH
# guest, measured in one run, alternating. See README.md. Not a test: it prints figures.
#
# usage: bench/startup/startup.sh [-n RUNS] [-t TESSERA] [-q QEMU] [-m MIB]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=21 mem=64
tessera=${TESSERA:-$root/build/bin/tessera}
qemu=${QEMU:-$(command -v qemu-system-x86_64 || true)}
while getopts "n:t:q:m:h" opt; do
    case $opt in
    n) runs=$OPTARG ;;
    t) tessera=$OPTARG ;;
    q) qemu=$OPTARG ;;
    m) mem=$OPTARG ;;
    *) sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
guest=$work/exit-now.elf
gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-n -Wl,-T,"$root/tests/guest/guest.ld" \
    -o "$guest" "$here/exit_now.S" || { echo "cannot build the guest"; exit 1; }
guest_bytes=$(stat -c %s "$guest")

# What the VMM's guest RAM has to hold for this guest: the image's one page of code
# and notes, plus the boot data the VMM writes (start info + memory map, command line,
# ACPI tables): at most 4 pages. Everything else in the RSS is the VMM's own.
guest_touched_kib=16

tessera_ok=1
if [ ! -x "$tessera" ]; then
    echo "tessera: skipped: $tessera not built (make build)"
    tessera_ok=0
elif [ ! -c /dev/kvm ]; then
    echo "tessera: skipped: no /dev/kvm"
    tessera_ok=0
fi
qemu_ok=1
if [ -z "$qemu" ] || [ ! -x "$qemu" ]; then
    echo "qemu: skipped: qemu-system-x86_64 not found"
    qemu_ok=0
fi

# run NAME CMD...: one timed run; appends "elapsed_us max_rss_kib" to $work/NAME.
run() {
    local name=$1
    shift
    local t0 t1 status
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out" 2>&1 </dev/null
    status=$?
    t1=$(date +%s%N)
    if [ "$status" != 1 ]; then
        echo "$name: unexpected exit status $status (expected 1 from debug-exit):"
        tail -n 5 "$work/out"
        return 1
    fi
    echo "$(( (t1 - t0) / 1000 )) $(tail -n1 "$work/rss")" >>"$work/$name"
}

tessera_cmd=("$tessera" -m "${mem}M" -nographic -no-reboot
             -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest")
qemu_cmd=("$qemu" -accel tcg -machine pc -m "$mem" -nographic -no-reboot -nodefaults
          -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$guest")

echo "guest: $guest_bytes-byte PVH ELF whose first instructions write to isa-debug-exit"
echo "runs: $runs each, alternating; guest RAM ${mem} MiB"
for ((i = 0; i < runs; i++)); do
    [ $tessera_ok = 1 ] && { run tessera "${tessera_cmd[@]}" || tessera_ok=0; }
    [ $qemu_ok = 1 ] && { run qemu "${qemu_cmd[@]}" || qemu_ok=0; }
done

# median FILE COLUMN
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report() {
    local name=$1 t rss
    t=$(median "$work/$name" 1)
    rss=$(median "$work/$name" 2)
    awk -v n="$name" -v t="$t" -v rss="$rss" -v g="$guest_touched_kib" 'BEGIN {
        printf "%-8s start to first guest instruction: median %8.2f ms   max RSS %6d KiB   overhead %6d KiB (%.2f MiB)\n",
               n, t / 1000, rss, rss - g, (rss - g) / 1024 }'
    eval "${name}_us=$t ${name}_rss=$rss"
}
[ $tessera_ok = 1 ] && report tessera
[ $qemu_ok = 1 ] && report qemu

# The max RSS above counts whatever guest RAM KVM or QEMU faulted in, and with transparent
# huge pages one touched byte can make 2 MiB resident, so it varies by 2 MiB between runs.
# Here the VMM runs a guest that keeps running (cpl3-loop), and its peak RSS less the
# resident part of its largest mapping (guest RAM) is the VMM's own memory.
loop_guest=$(dirname "$tessera")/../tests/guest/cpl3-loop.elf
# largest_mapping_rss PID: the Rss (KiB) of the process's largest mapping.
largest_mapping_rss() {
    local line range size best=0 rss=0 cur=0
    while read -r line; do
        case $line in
        [0-9a-f]*-[0-9a-f]*\ *)
            range=${line%% *}
            cur=$(( 0x${range#*-} - 0x${range%-*} )) ;;
        Rss:*)
            size=${line#Rss:}; size=${size% kB}
            if [ "$cur" -gt "$best" ]; then best=$cur rss=$((size)); fi ;;
        esac
    done </proc/"$1"/smaps
    echo "$rss"
}
steady() {
    local name=$1
    shift
    "$@" -kernel "$loop_guest" -append "iterations=1000000000000" >"$work/steady.out" 2>&1 </dev/null &
    local pid=$! t
    for ((t = 0; t < 600; t++)); do
        grep -q '^1\.\.' "$work/steady.out" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    sleep 0.5
    if kill -0 $pid 2>/dev/null; then
        local hwm now ram
        hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$pid/status)
        now=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status)
        ram=$(largest_mapping_rss $pid)
        printf '%-8s running guest: peak RSS %6d KiB, guest RAM resident %6d KiB, VMM own %6d KiB (%.2f MiB) at peak, %6d KiB now\n' \
            "$name" "$hwm" "$ram" $((hwm - ram)) "$(awk -v k=$((hwm - ram)) 'BEGIN { print k / 1024 }')" $((now - ram))
        eval "${name}_own=$((hwm - ram))"
    else
        echo "$name: the running-guest measurement failed:"
        tail -n 5 "$work/steady.out"
    fi
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
}
if [ -r "$loop_guest" ]; then
    [ $tessera_ok = 1 ] && steady tessera "${tessera_cmd[@]:0:${#tessera_cmd[@]}-2}"
    [ $qemu_ok = 1 ] && steady qemu "${qemu_cmd[@]:0:${#qemu_cmd[@]}-2}"
else
    echo "running-guest measurement skipped: $loop_guest not built"
fi
if [ $tessera_ok = 1 ] && [ $qemu_ok = 1 ]; then
    awk -v qt="$qemu_us" -v tt="$tessera_us" -v qr="$qemu_rss" -v tr="$tessera_rss" 'BEGIN {
        printf "ratio    qemu/tessera: time %.1fx, RSS %.1fx\n", qt / tt, qr / tr }'
    printf "targets  start < 10 ms: %s; overhead < 3 MiB: %s\n" \
        "$([ "$tessera_us" -lt 10000 ] && echo met || echo missed)" \
        "$([ "${tessera_own:-$((tessera_rss - guest_touched_kib))}" -lt 3072 ] && echo met || echo missed)"
fi
exit 0
