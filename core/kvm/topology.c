/* SPDX-License-Identifier: MIT */
/* CPU topology and APIC ids; see topology.h. */
#include "kvm/topology.h"

#include <errno.h>

#include "util/error.h"

/* Bits needed to number n things: ceil(log2(n)), 0 for n = 1. */
static unsigned id_bits(unsigned n)
{
    unsigned bits = 0;
    while ((1u << bits) < n)
        bits++;
    return bits;
}

int cpu_topology_init(cpu_topology *t, unsigned nr_vcpus, unsigned sockets, unsigned cores,
                      unsigned threads, GError **err)
{
    if (nr_vcpus == 0)
        nr_vcpus = 1;
    if (!sockets)
        sockets = 1;
    if (!threads)
        threads = 1;
    if (!cores)
        cores = nr_vcpus / (sockets * threads) ? nr_vcpus / (sockets * threads) : 1;
    if ((uint64_t)sockets * cores * threads != nr_vcpus) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "CPU topology %u sockets x %u cores x %u threads does not make %u vCPUs: "
                    "fix -smp",
                    sockets, cores, threads, nr_vcpus);
        return -EINVAL;
    }
    *t = (cpu_topology){
        .nr_vcpus = nr_vcpus,
        .sockets = sockets,
        .cores = cores,
        .threads = threads,
        .thread_bits = id_bits(threads),
        .core_bits = id_bits(cores),
    };
    return 0;
}

uint32_t cpu_topology_apic_id(const cpu_topology *t, unsigned index)
{
    unsigned thread = index % t->threads;
    unsigned core = (index / t->threads) % t->cores;
    unsigned socket = index / (t->threads * t->cores);
    return (socket << (t->core_bits + t->thread_bits)) | (core << t->thread_bits) | thread;
}
