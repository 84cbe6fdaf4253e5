/* SPDX-License-Identifier: MIT */
/* Running a VM: one thread per vCPU; stopping from any thread. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "kvm/kvm_internal.h"

int vm_run(vm *v)
{
    sigset_t kick, saved;
    unsigned started = 0;

    atomic_store(&v->stopping, false);
    atomic_store(&v->exit_status, VM_STATUS_POWEROFF);
    for (unsigned i = 0; i < v->nr_vcpus; i++)
        v->vcpus[i].run->immediate_exit = 0;

    /* Threads inherit a blocked kick signal; each vCPU thread unblocks it for itself. */
    sigemptyset(&kick);
    sigaddset(&kick, vcpu_kick_signal());
    pthread_sigmask(SIG_BLOCK, &kick, &saved);
    for (unsigned i = 0; i < v->nr_vcpus; i++) {
        vcpu *c = &v->vcpus[i];
        atomic_fetch_add(&v->running_threads, 1);
        int e = pthread_create(&c->thread, NULL, vcpu_thread, c);
        if (e) {
            atomic_fetch_sub(&v->running_threads, 1);
            fprintf(stderr, "tessera: cannot start the thread of vCPU %u: %s\n", i, strerror(e));
            vm_request_stop(v, VM_STATUS_FAILURE);
            break;
        }
        atomic_store(&c->thread_started, true);
        started++;
        /* "vcpuN" in /proc/PID/task/TID/comm: tools (and bench/ivshmem) tell the guest's
         * threads from the VMM's own by it. */
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", i);
        pthread_setname_np(c->thread, name);
        /* A stop requested before thread_started was set could not kick this thread. */
        if (atomic_load(&v->stopping))
            pthread_kill(c->thread, vcpu_kick_signal());
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);

    /*
     * The main loop runs here until the last vCPU thread has left its loop; each one
     * wakes the context on its way out, so no wake-up is lost between the check and
     * the poll.
     */
    while (atomic_load(&v->running_threads) > 0)
        g_main_context_iteration(v->main_context, TRUE);

    for (unsigned i = 0; i < started; i++) {
        pthread_join(v->vcpus[i].thread, NULL);
        atomic_store(&v->vcpus[i].thread_started, false);
    }
    return atomic_load(&v->exit_status);
}

void vm_request_stop(vm *v, int status)
{
    bool expected = false;

    if (!atomic_compare_exchange_strong(&v->stopping, &expected, true))
        return;
    atomic_store(&v->exit_status, status);
    for (unsigned i = 0; i < v->nr_vcpus; i++) {
        vcpu *c = &v->vcpus[i];
        /*
         * immediate_exit covers a vCPU about to enter KVM_RUN; the signal one already
         * inside it. The thread id is valid from pthread_create on; a vCPU whose thread
         * is not started yet sees stopping before it ever runs.
         */
        c->run->immediate_exit = 1;
        if (atomic_load(&c->thread_started) && !pthread_equal(c->thread, pthread_self()))
            pthread_kill(c->thread, vcpu_kick_signal());
    }
}
