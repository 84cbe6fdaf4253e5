/* SPDX-License-Identifier: MIT */
/*
 * What the KVM core computes before any ioctl, tested without KVM: -smp topology and
 * APIC ids, the CPUID filter applied to a made-up supported table, memory-slot
 * allocation and mapping checks.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "kvm/kvm_internal.h"
#include "pci/platform.h"

START_TEST(test_topology_defaults_and_errors)
{
    cpu_topology t;
    GError *err = NULL;

    ck_assert_int_eq(cpu_topology_init(&t, 4, 0, 0, 0, &err), 0);
    ck_assert_uint_eq(t.sockets, 1);
    ck_assert_uint_eq(t.cores, 4);
    ck_assert_uint_eq(t.threads, 1);
    ck_assert_uint_eq(t.core_bits, 2);
    ck_assert_uint_eq(t.thread_bits, 0);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(cpu_topology_apic_id(&t, i), i);

    ck_assert_int_eq(cpu_topology_init(&t, 1, 0, 0, 0, &err), 0);
    ck_assert_uint_eq(cpu_topology_apic_id(&t, 0), 0);

    ck_assert_int_eq(cpu_topology_init(&t, 6, 2, 2, 2, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err->message, "2 sockets x 2 cores x 2 threads does not make 6 vCPUs"));
    g_clear_error(&err);
}
END_TEST

START_TEST(test_topology_apic_ids)
{
    cpu_topology t;

    /* 2 sockets x 3 cores x 2 threads: thread 1 bit, core 2 bits; socket starts at bit 3. */
    ck_assert_int_eq(cpu_topology_init(&t, 12, 2, 3, 2, NULL), 0);
    ck_assert_uint_eq(t.thread_bits, 1);
    ck_assert_uint_eq(t.core_bits, 2);
    static const uint32_t want[12] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13 };
    for (unsigned i = 0; i < 12; i++)
        ck_assert_uint_eq(cpu_topology_apic_id(&t, i), want[i]);

    /* Derived cores: -smp 8,sockets=2 is 2 x 4 x 1. */
    ck_assert_int_eq(cpu_topology_init(&t, 8, 2, 0, 0, NULL), 0);
    ck_assert_uint_eq(t.cores, 4);
    ck_assert_uint_eq(cpu_topology_apic_id(&t, 5), 5);
}
END_TEST

static struct kvm_cpuid2 *fake_supported(void)
{
    static const struct kvm_cpuid_entry2 entries[] = {
        { .function = 0, .eax = 0x1f },
        { .function = 1, .eax = 0x906ea, .ebx = 0xff0a0800, .ecx = 0x7ffafbff, .edx = 0xbfebfbff & ~(1u << 28) },
        { .function = 4, .index = 0, .eax = 0x1c004121 },
        { .function = 4, .index = 3, .eax = 0x1c03c163 },
        { .function = 4, .index = 4, .eax = 0 },
        { .function = 6, .ecx = 0x9 },
        { .function = 0xa, .eax = 0x7300404, .ebx = 1, .edx = 0x603 },
        { .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 9, .ebx = 9, .ecx = 0x100, .edx = 77 },
        { .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 9, .ebx = 9, .ecx = 0x201, .edx = 77 },
        { .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 9, .ebx = 9, .ecx = 0x2, .edx = 77 },
        { .function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800 },
    };
    size_t n = G_N_ELEMENTS(entries);
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
    c->nent = (uint32_t)n;
    memcpy(c->entries, entries, sizeof(entries));
    return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
    for (unsigned i = 0; i < c->nent; i++)
        if (c->entries[i].function == fn && c->entries[i].index == idx)
            return &c->entries[i];
    ck_abort_msg("leaf %#x.%u missing", fn, idx);
    return NULL;
}

START_TEST(test_cpuid_filter)
{
    cpu_topology t;
    ck_assert_int_eq(cpu_topology_init(&t, 12, 2, 3, 2, NULL), 0);
    g_autofree struct kvm_cpuid2 *c = fake_supported();

    cpuid_filter(c, &t, 7); /* socket 1, core 0, thread 1: APIC id 9 */
    const struct kvm_cpuid_entry2 *l1 = leaf(c, 1, 0);
    ck_assert_uint_eq(l1->ebx >> 24, 9);
    ck_assert_uint_eq((l1->ebx >> 16) & 0xff, 8); /* 1 << (1 + 2) addressable ids */
    ck_assert_uint_eq(l1->ebx & 0xffff, 0x0800);  /* CLFLUSH size, brand index kept */
    ck_assert(l1->ecx & (1u << 31));              /* hypervisor */
    ck_assert(l1->edx & (1u << 28));              /* HTT */
    ck_assert_uint_eq(leaf(c, 4, 0)->eax >> 26, 3); /* 4 addressable cores - 1 */
    ck_assert_uint_eq(leaf(c, 4, 0)->eax & 0x03ffffff, 0x1c004121 & 0x03ffffff);
    ck_assert_uint_eq(leaf(c, 4, 4)->eax, 0);       /* the end marker stays empty */
    ck_assert_uint_eq(leaf(c, 6, 0)->ecx, 0x1);      /* EPB hidden */
    ck_assert_uint_eq(leaf(c, 0xa, 0)->eax, 0);      /* no PMU */
    ck_assert_uint_eq(leaf(c, 0xa, 0)->edx, 0);
    const struct kvm_cpuid_entry2 *smt = leaf(c, 0xb, 0), *core = leaf(c, 0xb, 1), *end = leaf(c, 0xb, 2);
    ck_assert_uint_eq(smt->eax, 1);
    ck_assert_uint_eq(smt->ebx, 2);
    ck_assert_uint_eq(smt->ecx, 0x100);
    ck_assert_uint_eq(core->eax, 3);
    ck_assert_uint_eq(core->ebx, 6);
    ck_assert_uint_eq(core->ecx, 0x201);
    ck_assert_uint_eq(end->eax, 0);
    ck_assert_uint_eq(end->ebx, 0);
    ck_assert_uint_eq(end->ecx, 2);
    ck_assert_uint_eq(smt->edx, 9);
    ck_assert_uint_eq(core->edx, 9);
    ck_assert_uint_eq(end->edx, 9);
    ck_assert_uint_eq(leaf(c, 0x80000001, 0)->edx, 0x2c100800); /* untouched */

    /* One vCPU: no HTT, one addressable id. */
    g_autofree struct kvm_cpuid2 *c1 = fake_supported();
    ck_assert_int_eq(cpu_topology_init(&t, 1, 0, 0, 0, NULL), 0);
    cpuid_filter(c1, &t, 0);
    ck_assert(!(leaf(c1, 1, 0)->edx & (1u << 28)));
    ck_assert_uint_eq((leaf(c1, 1, 0)->ebx >> 16) & 0xff, 1);
    ck_assert_uint_eq(leaf(c1, 1, 0)->ebx >> 24, 0);
}
END_TEST

START_TEST(test_mem_slots)
{
    mem_slots s;
    uint32_t a, b, c;

    mem_slots_init(&s, 3);
    ck_assert_int_eq(mem_slots_alloc(&s, &a), 0);
    ck_assert_int_eq(mem_slots_alloc(&s, &b), 0);
    ck_assert_int_eq(mem_slots_alloc(&s, &c), 0);
    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, 1);
    ck_assert_uint_eq(c, 2);
    ck_assert_int_eq(mem_slots_alloc(&s, &c), -ENOSPC);
    ck_assert_int_eq(mem_slots_release(&s, 1), 0);
    ck_assert_int_eq(mem_slots_release(&s, 1), -ENOENT);
    ck_assert_int_eq(mem_slots_release(&s, 99), -ENOENT);
    ck_assert_int_eq(mem_slots_alloc(&s, &c), 0);
    ck_assert_uint_eq(c, 1);
    ck_assert_uint_eq(s.in_use, 3);
    mem_slots_fini(&s);
}
END_TEST

START_TEST(test_mapping_checks)
{
    void *page = (void *)(uintptr_t)0x7f0000000000ull;
    ck_assert_int_eq(mem_slots_check_mapping(0xc0000000, 0x100000, page), 0);
    ck_assert_int_eq(mem_slots_check_mapping(0xc0000000, 0, page), -EINVAL);
    ck_assert_int_eq(mem_slots_check_mapping(0xc0000800, 0x1000, page), -EINVAL);
    ck_assert_int_eq(mem_slots_check_mapping(0xc0000000, 0x1800, page), -EINVAL);
    ck_assert_int_eq(mem_slots_check_mapping(0xc0000000, 0x1000, (char *)page + 8), -EINVAL);
    ck_assert_int_eq(mem_slots_check_mapping(0xfffffffffffff000ull, 0x2000, page), -EINVAL);
}
END_TEST

/*
 * The VM's interrupt, eventfd and slot services on a VM whose fd is not KVM's
 * (/dev/null): argument checks fail before any ioctl, the ioctls themselves fail with
 * -ENOTTY, and a failed slot mapping gives its slot number back. The GSI table commits
 * to a recorder, so the pci_platform ops are seen reaching it.
 */
static unsigned commits;
static struct kvm_irq_routing_entry last_msi;

static int record_table(void *opaque, const struct kvm_irq_routing *t)
{
    (void)opaque;
    commits++;
    for (unsigned i = 0; i < t->nr; i++)
        if (t->entries[i].type == KVM_IRQ_ROUTING_MSI)
            last_msi = t->entries[i];
    return 0;
}

START_TEST(test_vm_services_without_kvm)
{
    vm v = { 0 };
    uint32_t slot, gsi;
    void *page = (void *)(uintptr_t)0x7f0000000000ull;

    v.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(v.vm_fd, 0);
    mem_slots_init(&v.slots, 4);
    v.routes = irq_routes_new(64, record_table, NULL);

    ck_assert_int_eq(vm_ioeventfd_add(&v, false, 0xc0000000, 3, false, 0, 5), -EINVAL);
    ck_assert_int_eq(vm_ioeventfd_add(&v, true, 0xffff, 2, false, 0, 5), -EINVAL);
    ck_assert_int_eq(vm_ioeventfd_add(&v, true, 0x10000, 1, false, 0, 5), -EINVAL);
    ck_assert_int_eq(vm_ioeventfd_add(&v, true, 0xc040, 2, true, 7, -1), -EBADF);
    ck_assert_int_eq(vm_ioeventfd_add(&v, true, 0xc040, 2, true, 7, 5), -ENOTTY);
    ck_assert_int_eq(vm_ioeventfd_remove(&v, false, 0xc0000000, 4, false, 0, 5), -ENOTTY);
    ck_assert_int_eq(vm_irqfd_bind(&v, 24, -1), -EBADF);
    ck_assert_int_eq(vm_irqfd_bind(&v, 24, 5), -ENOTTY);
    ck_assert_int_eq(vm_irqfd_unbind(&v, 24, 5), -ENOTTY);
    ck_assert_int_eq(vm_signal_msi(&v, 0xfee00000, 0x41), -ENOTTY);
    ck_assert_int_eq(vm_set_irq_line(&v, 4, 1), -ENOTTY);

    ck_assert_int_eq(vm_map_ram(&v, 0xc0000800, 0x1000, page, false, &slot), -EINVAL);
    ck_assert_int_eq(vm_map_ram(&v, 0xc0000000, 0x1000, page, true, &slot), -ENOTSUP);
    ck_assert_int_eq(vm_map_ram(&v, 0xc0000000, 0x1000, page, false, &slot), -ENOTTY);
    ck_assert_uint_eq(v.slots.in_use, 0); /* the failed mapping gave its slot back */
    ck_assert_int_eq(vm_unmap_ram(&v, 0), -ENOTTY);

    /* The PCI code's view reaches the same services. */
    pci_platform plat;
    vm_pci_platform(&v, &plat);
    ck_assert_ptr_eq(plat.opaque, &v);
    ck_assert_ptr_eq(plat.ram, &v.mem);
    msi_msg msg = { .address = 0xfee01000, .data = 0x4062 };
    ck_assert_int_eq(plat.ops->msi_route_add(plat.opaque, &msg, &gsi), 0);
    ck_assert_uint_eq(gsi, IRQ_ROUTES_FIRST_MSI_GSI);
    ck_assert_uint_eq(last_msi.u.msi.address_lo, 0xfee01000);
    ck_assert_uint_eq(last_msi.u.msi.data, 0x4062);
    msg.data = 0x4063;
    ck_assert_int_eq(plat.ops->msi_route_update(plat.opaque, gsi, &msg), 0);
    ck_assert_uint_eq(last_msi.u.msi.data, 0x4063);
    plat.ops->msi_route_remove(plat.opaque, gsi);
    ck_assert_uint_eq(irq_routes_msi_count(v.routes), 0);
    ck_assert_uint_eq(commits, 3);
    ck_assert_int_eq(plat.ops->msi_inject(plat.opaque, &msg), -ENOTTY);
    ck_assert_int_eq(plat.ops->ioeventfd_add(plat.opaque, true, 0xc000, 4, false, 0, 5), -ENOTTY);
    ck_assert_int_eq(plat.ops->map_ram(plat.opaque, 0xc0000000, 0x1000, page, -1, 0, false, &slot),
                     -ENOTTY);

    irq_routes_free(v.routes);
    mem_slots_fini(&v.slots);
    close(v.vm_fd);
}
END_TEST

/* The one-line errors of opening KVM, on paths that are not KVM. */
START_TEST(test_kvm_open_errors)
{
    kvm_limits limits;
    GError *err = NULL;

    ck_assert_int_eq(kvm_open_path("/nonexistent/kvm", &limits, &err), -ENOENT);
    ck_assert_str_eq(err->message, "/nonexistent/kvm is missing: enable virtualization (VT-x/AMD-V) "
                                   "in the firmware and load the kvm_intel or kvm_amd module");
    g_clear_error(&err);
    /* Not a KVM device: the API-version check says so. */
    ck_assert_int_eq(kvm_open_path("/dev/null", &limits, &err), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err->message, "/dev/null speaks KVM API version -1, tessera needs 12"));
    g_clear_error(&err);
    /* Anything else names the path and the reason. */
    ck_assert_int_eq(kvm_open_path("/", &limits, &err), -EISDIR);
    ck_assert_str_eq(err->message, "cannot open /: Is a directory");
    g_clear_error(&err);
    /* The real thing: missing here, or usable. */
    if (access("/dev/kvm", F_OK) != 0) {
        ck_assert_int_lt(vm_check_host(&err), 0);
        ck_assert_ptr_nonnull(strstr(err->message, "/dev/kvm is missing"));
        g_clear_error(&err);
    }
}
END_TEST

/* How stop requests become the exit status: the first one wins; a reset is status 0. */
START_TEST(test_exit_status_mapping)
{
    vm v = { 0 };
    ck_assert_int_eq(VM_STATUS_DEBUG_EXIT(0), 1);
    ck_assert_int_eq(VM_STATUS_DEBUG_EXIT(1), 3);
    ck_assert_int_eq(VM_STATUS_DEBUG_EXIT(0x7e), 253);
    ck_assert_int_eq(VM_STATUS_DEBUG_EXIT(0xff), 511); /* the shell sees 511 & 0xff = 255 */

    vm_request_stop(&v, VM_STATUS_DEBUG_EXIT(1));
    vm_request_stop(&v, VM_STATUS_POWEROFF);
    vm_request_stop(&v, VM_STATUS_FAILURE);
    ck_assert(atomic_load(&v.stopping));
    ck_assert_int_eq(atomic_load(&v.exit_status), 3);

    vm r = { .cfg = { .no_reboot = true } };
    atomic_store(&r.exit_status, -1);
    vm_guest_reset(&r, "i8042 reset");
    ck_assert_int_eq(atomic_load(&r.exit_status), VM_STATUS_POWEROFF);
    /* Without no_reboot a reset still stops (tessera cannot reboot), also with status 0. */
    vm r2 = { 0 };
    atomic_store(&r2.exit_status, -1);
    vm_guest_reset(&r2, "triple fault");
    ck_assert_int_eq(atomic_load(&r2.exit_status), VM_STATUS_POWEROFF);
    ck_assert_int_ne(VM_STATUS_FAILURE & 1, 1); /* never mistaken for a debug-exit status */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vcpu-setup");
    TCase *tc = tcase_create("setup");
    tcase_add_test(tc, test_topology_defaults_and_errors);
    tcase_add_test(tc, test_topology_apic_ids);
    tcase_add_test(tc, test_cpuid_filter);
    tcase_add_test(tc, test_mem_slots);
    tcase_add_test(tc, test_mapping_checks);
    tcase_add_test(tc, test_vm_services_without_kvm);
    tcase_add_test(tc, test_exit_status_mapping);
    tcase_add_test(tc, test_kvm_open_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
