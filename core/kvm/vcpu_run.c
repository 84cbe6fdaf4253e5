/* SPDX-License-Identifier: MIT */
/*
 * The vCPU loop: KVM_RUN, then hand the exit to the bus or decide the VM's fate.
 * Runs on the vCPU's own thread; device handlers called from here run there too.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "kvm/kvm_internal.h"

int vcpu_kick_signal(void)
{
    return SIGRTMIN + 1;
}

static void handle_io(vcpu *c)
{
    struct kvm_run *run = c->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

    /* rep ins/outs arrive as count back-to-back accesses in one buffer. */
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
        io_bus_dispatch(c->vm->pio, run->io.port, data, run->io.size, is_write);
}

static void handle_mmio(vcpu *c)
{
    struct kvm_run *run = c->run;
    unsigned len = run->mmio.len;

    if (len == 0 || len > sizeof(run->mmio.data))
        return;
    io_bus_dispatch(c->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

/* A reset request: an exit, as with QEMU's -no-reboot. */
void vm_guest_reset(vm *v, const char *why)
{
    if (!v->cfg.no_reboot)
        fprintf(stderr, "tessera: guest reset (%s); rebooting is not supported yet, stopping\n",
                why);
    vm_request_stop(v, VM_STATUS_POWEROFF);
}

static void fail_vcpu(vcpu *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_vcpu(vcpu *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tessera: vCPU %u: ", c->index);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    vcpu_dump_state(c, stderr);
    vm_request_stop(c->vm, VM_STATUS_FAILURE);
}

static void handle_system_event(vcpu *c)
{
    switch (c->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_request_stop(c->vm, VM_STATUS_POWEROFF);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        vm_guest_reset(c->vm, "system event");
        break;
    case KVM_SYSTEM_EVENT_CRASH:
        fail_vcpu(c, "the guest reported a crash");
        break;
    default:
        fail_vcpu(c, "unknown system event %u", c->run->system_event.type);
        break;
    }
}

/* Handles one exit. */
static void handle_exit(vcpu *c)
{
    struct kvm_run *run = c->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(c);
        break;
    case KVM_EXIT_MMIO:
        handle_mmio(c);
        break;
    case KVM_EXIT_INTR:
        break; /* a kick: the loop checks whether to stop */
    case KVM_EXIT_HLT:
        /* Only without an in-kernel LAPIC; ours has one, so a halt here means "done". */
        vm_request_stop(c->vm, VM_STATUS_POWEROFF);
        break;
    case KVM_EXIT_SHUTDOWN:
        vm_guest_reset(c->vm, "triple fault");
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        handle_system_event(c);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        fail_vcpu(c, "KVM could not enter the guest (hardware reason %#llx)",
                  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        fail_vcpu(c, "KVM internal error, suberror %u%s", run->internal.suberror,
                  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                      ? " (an instruction KVM cannot emulate)"
                      : "");
        break;
    default:
        fail_vcpu(c, "unhandled KVM exit reason %u", run->exit_reason);
        break;
    }
}

void *vcpu_thread(void *arg)
{
    vcpu *c = arg;
    vm *v = c->vm;
    sigset_t kick;

    /* The kick signal is blocked everywhere but here, so it lands only in KVM_RUN's thread. */
    sigemptyset(&kick);
    sigaddset(&kick, vcpu_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

    while (!atomic_load(&v->stopping)) {
        if (ioctl(c->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            fail_vcpu(c, "KVM_RUN failed: %s", g_strerror(errno));
            break;
        }
        handle_exit(c);
    }
    /* The main thread waits in its loop for the last vCPU to leave. */
    atomic_fetch_sub(&v->running_threads, 1);
    g_main_context_wakeup(v->main_context);
    return NULL;
}
