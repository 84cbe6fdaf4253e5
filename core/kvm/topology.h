/* SPDX-License-Identifier: MIT */
/*
 * CPU topology for -smp: sockets x cores x threads, and the APIC ids that follow from
 * it. An APIC id packs (socket, core, thread) into bit fields just wide enough for each
 * count, as CPUID leaf 0xB describes it; with a power-of-two topology ids are dense.
 */
#ifndef TESSERA_CORE_TOPOLOGY_H
#define TESSERA_CORE_TOPOLOGY_H

#include <glib.h>
#include <stdint.h>

typedef struct cpu_topology {
    unsigned nr_vcpus;
    unsigned sockets, cores, threads;
    unsigned thread_bits; /* APIC id bits for the thread within a core */
    unsigned core_bits;   /* APIC id bits for the core within a socket */
} cpu_topology;

/*
 * Fills t for nr_vcpus (>= 1). sockets, cores and threads may be 0 (derived: missing
 * cores = what is left, missing sockets/threads = 1); the product of the three must be
 * nr_vcpus. Returns 0, or -EINVAL with *err naming the numbers.
 */
int cpu_topology_init(cpu_topology *t, unsigned nr_vcpus, unsigned sockets, unsigned cores,
                      unsigned threads, GError **err);

/* The APIC id of vCPU index (0-based; the threads of a core are consecutive). */
uint32_t cpu_topology_apic_id(const cpu_topology *t, unsigned index);

#endif
