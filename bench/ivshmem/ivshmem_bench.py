#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ivshmem doorbell benchmark (bench/ivshmem/README.md).

Round-trip latency and rate of ivshmem-doorbell interrupts between a host client and a VM,
and between two VMs, with ioeventfd on and off, plus VMM thread wake-ups per doorbell (context
switches of every thread of the VMM processes, from /proc/PID/task/*/status). The VMs run the
test guest tests/guest/ivshmem_doorbell.c in mode=bench. QEMU runs with -accel tcg; tessera
needs /dev/kvm and is reported as skipped without it. Not a test: it prints figures.
"""
import argparse
import mmap
import os
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SLOT_BASE = 0x100
READY_MAGIC = 0x59444552
STAGE_BENCH, STAGE_BENCH_DONE = 10, 11
SHM_SIZE = 1 << 20


def is_vcpu_thread(comm):
    """tessera names its vCPU threads vcpuN; QEMU (-name debug-threads=on) "CPU N/TCG"."""
    return re.fullmatch(r"vcpu\d+|CPU \d+/\w+", comm) is not None


def ctx_switches(pids):
    """Voluntary + involuntary context switches of the threads of these processes, as
    (VMM threads, vCPU threads)."""
    vmm = vcpu = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
                n = 0
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            n += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if is_vcpu_thread(comm):
                vcpu += n
            else:
                vmm += n
    return vmm, vcpu


def per_doorbell(sw0, sw1, doorbells):
    return {"wakeups_per_doorbell": (sw1[0] - sw0[0]) / doorbells,
            "vcpu_wakeups_per_doorbell": (sw1[1] - sw0[1]) / doorbells}


class Server:
    def __init__(self, server_bin, tmp, vectors=1):
        self.sock = os.path.join(tmp, "sock")
        self.name = f"tessera-ivbench-{os.getpid()}"
        self.proc = subprocess.Popen([server_bin, "-F", "-S", self.sock, "-M", self.name,
                                      "-l", "1M", "-n", str(vectors), "--unlink-shm"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("ivshmem-server did not create its socket")
        with open(f"/dev/shm/{self.name}", "r+b") as f:
            self.shm = mmap.mmap(f.fileno(), SHM_SIZE)

    def slot(self, peer_id):
        return struct.unpack_from("<II", self.shm, SLOT_BASE + peer_id * 16)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.shm.close()
        try:
            os.unlink(f"/dev/shm/{self.name}")
        except FileNotFoundError:
            pass


class Client:
    """A minimal ivshmem client: the server's protocol, one vector."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.peers = {}
        self.id = None
        self.own = None
        if self._msg()[0] != 0:
            raise RuntimeError("unexpected protocol version")
        self.id = self._msg()[0]
        value, fd = self._msg()
        if value != -1 or fd is None:
            raise RuntimeError("expected the shared memory message")
        os.close(fd)

    def _msg(self):
        data, fds, _, _ = socket.recv_fds(self.s, 8, 1)
        if len(data) != 8:
            raise RuntimeError("ivshmem-server closed the connection")
        value = struct.unpack("<q", data)[0]
        fd = fds[0] if fds else None
        if fd is not None and value >= 0:
            if value == self.id:
                if self.own is None:
                    self.own = fd
                else:
                    os.close(fd)
            elif value not in self.peers:
                self.peers[value] = fd
            else:
                os.close(fd)
        elif fd is None and value in self.peers:
            os.close(self.peers.pop(value))
        return value, fd

    def wait_peer(self, timeout):
        end = time.monotonic() + timeout
        while not self.peers or self.own is None:
            if not select.select([self.s], [], [], max(0, end - time.monotonic()))[0]:
                raise RuntimeError("no peer joined")
            self._msg()
        return next(iter(self.peers))

    def close(self):
        for fd in list(self.peers.values()) + ([self.own] if self.own is not None else []):
            os.close(fd)
        self.s.close()


def vm_cmd(vmm, binary, elf, sock, rounds, ioeventfd):
    cmd = [binary]
    if vmm == "qemu":
        cmd += ["-accel", "tcg", "-machine", "pc", "-name", "ivbench,debug-threads=on"]
    return cmd + ["-m", "128", "-nographic", "-no-reboot",
                  "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                  "-chardev", f"socket,path={sock},id=c",
                  "-device", f"ivshmem-doorbell,chardev=c,vectors=1,ioeventfd={ioeventfd}",
                  "-kernel", elf, "-append", f"mode=bench vectors=1 rounds={rounds}"]


def start_vm(vmm, binary, elf, sock, rounds, ioeventfd, log):
    return subprocess.Popen(vm_cmd(vmm, binary, elf, sock, rounds, ioeventfd),
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def finish_vm(proc, log_path, what):
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.returncode != 1:
        with open(log_path, errors="replace") as f:
            sys.stderr.write(f"{what}: VMM exit status {proc.returncode}\n{f.read()[-2000:]}\n")
        return False
    return True


def host_client_vs_vm(args, vmm, binary, ioeventfd, tmp):
    """The host client (peer 0) answers each of the guest's doorbells; the guest starts."""
    srv = Server(args.server, tmp)
    client = Client(srv.sock)
    log_path = os.path.join(tmp, "vm.log")
    log = open(log_path, "w")
    vm = start_vm(vmm, binary, args.guest, srv.sock, args.rounds, ioeventfd, log)
    try:
        peer = client.wait_peer(60)
        struct.pack_into("<II", srv.shm, SLOT_BASE + client.id * 16, READY_MAGIC, STAGE_BENCH)
        one = struct.pack("<Q", 1)
        stamps = []
        sw0 = None
        for _ in range(args.rounds):
            if not select.select([client.own], [], [], 30)[0]:
                raise RuntimeError("the guest stopped ringing")
            os.read(client.own, 8)
            stamps.append(time.perf_counter())
            if sw0 is None:
                sw0 = ctx_switches([vm.pid])
            os.write(client.peers[peer], one)
        sw1 = ctx_switches([vm.pid])
    finally:
        ok = finish_vm(vm, log_path, f"{vmm} VM")
        log.close()
        client.close()
        srv.stop()
    if not ok or len(stamps) < 2:
        return None
    rtts = [b - a for a, b in zip(stamps, stamps[1:])]
    n = len(rtts)
    return {"rtt_us": statistics.median(rtts) * 1e6, "p99_us": sorted(rtts)[int(n * 0.99)] * 1e6,
            "rate": n / (stamps[-1] - stamps[0]), **per_doorbell(sw0, sw1, 2 * n)}


def vm_vs_vm(args, vmm_a, bin_a, vmm_b, bin_b, ioeventfd, tmp):
    """Two VMs ping-pong; the benchmark watches their stages in the shared memory."""
    srv = Server(args.server, tmp)
    logs = [os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")]
    files = [open(p, "w") for p in logs]
    vms = [start_vm(vmm_a, bin_a, args.guest, srv.sock, args.rounds, ioeventfd, files[0]),
           start_vm(vmm_b, bin_b, args.guest, srv.sock, args.rounds, ioeventfd, files[1])]
    pids = [v.pid for v in vms]
    t0 = t1 = None
    sw0 = sw1 = (0, 0)
    try:
        deadline = time.monotonic() + 100
        while time.monotonic() < deadline and any(v.poll() is None for v in vms):
            st = [srv.slot(i) for i in (0, 1)]
            started = all(m == READY_MAGIC and s >= STAGE_BENCH for m, s in st)
            done = all(m == READY_MAGIC and s >= STAGE_BENCH_DONE for m, s in st)
            if t0 is None and started:
                t0, sw0 = time.perf_counter(), ctx_switches(pids)
            if t0 is not None and done:
                t1, sw1 = time.perf_counter(), ctx_switches(pids)
                break
            time.sleep(0.0002)
    finally:
        ok = all([finish_vm(v, p, f"VM {i}") for i, (v, p) in enumerate(zip(vms, logs))])
        for f in files:
            f.close()
        srv.stop()
    if not ok or t0 is None or t1 is None:
        return None
    elapsed = t1 - t0
    return {"rtt_us": elapsed / args.rounds * 1e6, "p99_us": None, "rate": args.rounds / elapsed,
            **per_doorbell(sw0, sw1, 2 * args.rounds)}


def attempt(fn, *a):
    try:
        return fn(*a)
    except (RuntimeError, OSError) as e:
        sys.stderr.write(f"ivshmem_bench: {e}\n")
        return None


def show(label, r):
    if r is None:
        print(f"  {label:<34} FAILED (see the VM output above)")
        return
    p99 = f"p99 {r['p99_us']:9.1f} us" if r["p99_us"] is not None else " " * 16
    print(f"  {label:<34} round trip {r['rtt_us']:9.1f} us  {p99}  {r['rate']:9.0f} round trips/s"
          f"  {r['wakeups_per_doorbell']:6.2f} VMM + {r['vcpu_wakeups_per_doorbell']:.2f} vCPU"
          " wake-ups/doorbell")


def ratio(label, on, off):
    if on and off:
        print(f"  {label}: ioeventfd=off / on round-trip time {off['rtt_us'] / on['rtt_us']:.2f}x,"
              f" wake-ups per doorbell {off['wakeups_per_doorbell']:.2f} vs {on['wakeups_per_doorbell']:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="build directory (default ./build)")
    ap.add_argument("--rounds", type=int, default=2000, help="round trips per run (default 2000)")
    args = ap.parse_args()
    b = os.path.abspath(args.build)
    args.server = os.path.join(b, "bin/ivshmem-server")
    args.guest = os.path.join(b, "tests/guest/ivshmem-doorbell.elf")
    tessera = os.path.join(b, "bin/tessera")
    qemu = shutil.which("qemu-system-x86_64")
    for path in (args.server, args.guest):
        if not os.path.exists(path):
            sys.exit(f"ivshmem_bench: {path} is missing; build the ivshmem-server and "
                     f"guest-ivshmem-doorbell targets in {b}")
    print(f"ivshmem doorbell benchmark: {args.rounds} round trips per run, vector 0, "
          f"{os.cpu_count()} host CPUs")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    vmms = []
    if qemu:
        vmms.append(("qemu", qemu, "QEMU TCG"))
    else:
        print("qemu: skipped: qemu-system-x86_64 not found")
    if os.path.exists("/dev/kvm") and os.access(tessera, os.X_OK):
        vmms.append(("tessera", tessera, "tessera KVM"))
    else:
        print("tessera: skipped: no /dev/kvm" if not os.path.exists("/dev/kvm")
              else f"tessera: skipped: {tessera} not built")
    with tempfile.TemporaryDirectory() as tmp:
        for vmm, binary, title in vmms:
            print(f"{title} ({binary}):")
            res = {}
            for io in ("on", "off"):
                res["client", io] = attempt(host_client_vs_vm, args, vmm, binary, io, tmp)
                show(f"host client <-> VM, ioeventfd={io}", res["client", io])
            for io in ("on", "off"):
                res["pair", io] = attempt(vm_vs_vm, args, vmm, binary, vmm, binary, io, tmp)
                show(f"VM <-> VM, ioeventfd={io}", res["pair", io])
            ratio("host client <-> VM", res["client", "on"], res["client", "off"])
            ratio("VM <-> VM", res["pair", "on"], res["pair", "off"])
            c, p = res["client", "on"], res["pair", "on"]
            if c and p:
                print(f"  VM <-> VM / host client <-> VM round-trip time: {p['rtt_us'] / c['rtt_us']:.2f}x")


if __name__ == "__main__":
    main()
