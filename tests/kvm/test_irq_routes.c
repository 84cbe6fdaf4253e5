/* SPDX-License-Identifier: MIT */
/*
 * The GSI routing table without KVM: the commit callback records each table the kernel
 * would get (or fails on demand), so the legacy layout, MSI allocation, reuse,
 * updates, exhaustion, rollback on failure and concurrent use can be checked.
 */
#include <check.h>
#include <glib.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/irq_routes.h"

typedef struct recorder {
    unsigned commits;
    int fail_with; /* next commit returns this when non-zero */
    struct kvm_irq_routing *last;
} recorder;

static int record(void *opaque, const struct kvm_irq_routing *t)
{
    recorder *r = opaque;
    if (r->fail_with) {
        int e = r->fail_with;
        r->fail_with = 0;
        return e;
    }
    g_free(r->last);
    r->last = g_memdup2(t, sizeof(*t) + t->nr * sizeof(t->entries[0]));
    r->commits++;
    return 0;
}

/* The entries of gsi in the last committed table. */
static unsigned find(const recorder *r, uint32_t gsi, struct kvm_irq_routing_entry *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->last->nr; i++)
        if (r->last->entries[i].gsi == gsi && n < max)
            out[n++] = r->last->entries[i];
    return n;
}

START_TEST(test_legacy_layout)
{
    recorder rec = { 0 };
    irq_routes *r = irq_routes_new(1024, record, &rec);
    struct kvm_irq_routing_entry e[4];

    ck_assert_int_eq(irq_routes_commit(r), 0);
    ck_assert_uint_eq(rec.commits, 1);
    ck_assert_uint_eq(rec.last->nr, 15 + 23);
    ck_assert_uint_eq(irq_routes_entries(r), 38);

    /* GSI 0: PIC master pin 0 and IOAPIC pin 2 (the PIT, as the MADT override says). */
    ck_assert_uint_eq(find(&rec, 0, e, 4), 2);
    ck_assert_uint_eq(e[0].u.irqchip.irqchip, KVM_IRQCHIP_PIC_MASTER);
    ck_assert_uint_eq(e[0].u.irqchip.pin, 0);
    ck_assert_uint_eq(e[1].u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
    ck_assert_uint_eq(e[1].u.irqchip.pin, 2);
    /* GSI 2 (the cascade) routes nowhere. */
    ck_assert_uint_eq(find(&rec, 2, e, 4), 0);
    /* GSI 4 (COM1): PIC master pin 4 and IOAPIC pin 4. */
    ck_assert_uint_eq(find(&rec, 4, e, 4), 2);
    ck_assert_uint_eq(e[0].type, KVM_IRQ_ROUTING_IRQCHIP);
    ck_assert_uint_eq(e[0].u.irqchip.pin, 4);
    ck_assert_uint_eq(e[1].u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
    ck_assert_uint_eq(e[1].u.irqchip.pin, 4);
    /* GSI 12: PIC slave pin 4. */
    ck_assert_uint_eq(find(&rec, 12, e, 4), 2);
    ck_assert_uint_eq(e[0].u.irqchip.irqchip, KVM_IRQCHIP_PIC_SLAVE);
    ck_assert_uint_eq(e[0].u.irqchip.pin, 4);
    /* GSI 16..23: IOAPIC only (PCI INTx). */
    for (uint32_t gsi = 16; gsi < 24; gsi++) {
        ck_assert_uint_eq(find(&rec, gsi, e, 4), 1);
        ck_assert_uint_eq(e[0].u.irqchip.irqchip, KVM_IRQCHIP_IOAPIC);
        ck_assert_uint_eq(e[0].u.irqchip.pin, gsi);
    }
    ck_assert_uint_eq(find(&rec, 24, e, 4), 0);
    irq_routes_free(r);
    g_free(rec.last);
}
END_TEST

START_TEST(test_msi_add_update_remove_reuse)
{
    recorder rec = { 0 };
    irq_routes *r = irq_routes_new(1024, record, &rec);
    struct kvm_irq_routing_entry e[2];
    uint32_t g1, g2, g3;

    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 0x4041, &g1), 0);
    ck_assert_int_eq(irq_routes_add_msi(r, 0x1fee01000ull, 0x22, &g2), 0);
    ck_assert_uint_eq(g1, IRQ_ROUTES_FIRST_MSI_GSI);
    ck_assert_uint_eq(g2, IRQ_ROUTES_FIRST_MSI_GSI + 1);
    ck_assert_uint_eq(rec.commits, 2);
    ck_assert_uint_eq(rec.last->nr, 38 + 2);
    ck_assert_uint_eq(find(&rec, g2, e, 2), 1);
    ck_assert_uint_eq(e[0].type, KVM_IRQ_ROUTING_MSI);
    ck_assert_uint_eq(e[0].u.msi.address_lo, 0xfee01000);
    ck_assert_uint_eq(e[0].u.msi.address_hi, 1);
    ck_assert_uint_eq(e[0].u.msi.data, 0x22);

    ck_assert_int_eq(irq_routes_update_msi(r, g1, 0xfee02000, 0x4099), 0);
    ck_assert_uint_eq(find(&rec, g1, e, 2), 1);
    ck_assert_uint_eq(e[0].u.msi.address_lo, 0xfee02000);
    ck_assert_uint_eq(e[0].u.msi.data, 0x4099);

    ck_assert_int_eq(irq_routes_remove_msi(r, g1), 0);
    ck_assert_uint_eq(find(&rec, g1, e, 2), 0);
    ck_assert_uint_eq(irq_routes_msi_count(r), 1);
    /* The freed GSI is the next one handed out. */
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 1, &g3), 0);
    ck_assert_uint_eq(g3, g1);

    /* Legacy GSIs and unknown ones are not MSI routes. */
    ck_assert_int_eq(irq_routes_update_msi(r, 4, 0xfee00000, 1), -ENOENT);
    ck_assert_int_eq(irq_routes_remove_msi(r, 4), -ENOENT);
    ck_assert_int_eq(irq_routes_remove_msi(r, 500), -ENOENT);
    ck_assert_int_eq(irq_routes_remove_msi(r, 1u << 31), -ENOENT);
    irq_routes_free(r);
    g_free(rec.last);
}
END_TEST

START_TEST(test_exhaustion)
{
    recorder rec = { 0 };
    irq_routes *r = irq_routes_new(IRQ_ROUTES_FIRST_MSI_GSI + 3, record, &rec);
    uint32_t g;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, (uint32_t)i, &g), 0);
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 9, &g), -ENOSPC);
    ck_assert_uint_eq(rec.commits, 3);
    ck_assert_int_eq(irq_routes_remove_msi(r, IRQ_ROUTES_FIRST_MSI_GSI + 1), 0);
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 9, &g), 0);
    ck_assert_uint_eq(g, IRQ_ROUTES_FIRST_MSI_GSI + 1);
    irq_routes_free(r);
    g_free(rec.last);

    /* A kernel that allows fewer GSIs than the legacy ones still gets its legacy table. */
    rec = (recorder){ 0 };
    r = irq_routes_new(8, record, &rec);
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 0, &g), -ENOSPC);
    ck_assert_int_eq(irq_routes_commit(r), 0);
    irq_routes_free(r);
    g_free(rec.last);
}
END_TEST

/* A failed KVM_SET_GSI_ROUTING leaves the table as it was. */
START_TEST(test_rollback_on_failure)
{
    recorder rec = { 0 };
    irq_routes *r = irq_routes_new(1024, record, &rec);
    struct kvm_irq_routing_entry e[2];
    uint32_t g, g2;

    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 7, &g), 0);
    rec.fail_with = -ENOMEM;
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 8, &g2), -ENOMEM);
    ck_assert_uint_eq(irq_routes_msi_count(r), 1);
    rec.fail_with = -EINVAL;
    ck_assert_int_eq(irq_routes_update_msi(r, g, 0xfee01000, 9), -EINVAL);
    rec.fail_with = -EINVAL;
    ck_assert_int_eq(irq_routes_remove_msi(r, g), -EINVAL);
    ck_assert_uint_eq(irq_routes_msi_count(r), 1);
    /* The next successful commit shows the old route unchanged. */
    ck_assert_int_eq(irq_routes_commit(r), 0);
    ck_assert_uint_eq(find(&rec, g, e, 2), 1);
    ck_assert_uint_eq(e[0].u.msi.address_lo, 0xfee00000);
    ck_assert_uint_eq(e[0].u.msi.data, 7);
    ck_assert_uint_eq(rec.last->nr, 39);
    /* The GSI of the failed add was not consumed. */
    ck_assert_int_eq(irq_routes_add_msi(r, 0xfee00000, 8, &g2), 0);
    ck_assert_uint_eq(g2, g + 1);
    irq_routes_free(r);
    g_free(rec.last);
}
END_TEST

/* Many threads adding and removing routes: every GSI handed out is unique while held. */
typedef struct churn {
    irq_routes *r;
    uint8_t *held; /* per GSI, atomically toggled */
    int dup;
} churn;

static void *churn_thread(void *arg)
{
    churn *c = arg;
    for (int i = 0; i < 500; i++) {
        uint32_t g;
        if (irq_routes_add_msi(c->r, 0xfee00000, (uint32_t)i, &g) < 0)
            continue;
        if (__atomic_exchange_n(&c->held[g], 1, __ATOMIC_SEQ_CST))
            __atomic_store_n(&c->dup, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->held[g], 0, __ATOMIC_SEQ_CST);
        ck_assert_int_eq(irq_routes_remove_msi(c->r, g), 0);
    }
    return NULL;
}

static int count_commit(void *opaque, const struct kvm_irq_routing *t)
{
    (void)t;
    __atomic_add_fetch((unsigned *)opaque, 1, __ATOMIC_SEQ_CST);
    return 0;
}

START_TEST(test_concurrent_use)
{
    unsigned commits = 0;
    churn c = { .r = irq_routes_new(64, count_commit, &commits), .held = g_new0(uint8_t, 64) };
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn_thread, &c);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(c.dup, 0);
    ck_assert_uint_eq(irq_routes_msi_count(c.r), 0);
    ck_assert_uint_eq(commits, 4 * 500 * 2);
    irq_routes_free(c.r);
    g_free(c.held);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("irq-routes");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, test_legacy_layout);
    tcase_add_test(tc, test_msi_add_update_remove_reuse);
    tcase_add_test(tc, test_exhaustion);
    tcase_add_test(tc, test_rollback_on_failure);
    tcase_add_test(tc, test_concurrent_use);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
