/* SPDX-License-Identifier: MIT */
/* Register state: the PVH entry state, and a dump for when things go wrong. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "boot/boot_cpu.h"
#include "kvm/kvm_internal.h"
#include "util/error.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define RFLAGS_RESERVED_1 (1ull << 1)

/* Flat 4 GiB segment, granularity 4 KiB, 32-bit default operand size. */
static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = 1,
        .s = 1,
        .l = 0,
        .g = 1,
    };
}

/*
 * The PVH ABI's entry state: 32-bit protected mode with paging off; CS a flat 32-bit
 * read/execute segment, DS/ES/SS flat read/write, TR a 32-bit busy TSS at 0 with limit
 * 0x67; EFLAGS clear but bit 1; ebx = start_info; everything else zero.
 */
int vcpu_set_pvh_entry(vcpu *c, uint32_t entry, uint32_t start_info, GError **err)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs = {
        .rip = entry,
        .rbx = start_info,
        .rflags = RFLAGS_RESERVED_1,
    };

    if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
        goto fail;
    sregs.cs = flat_segment(0x08, 0xb); /* execute/read, accessed */
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x10, 0x3);
    sregs.tr = (struct kvm_segment){
        .base = 0, .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1, .s = 0,
    };
    sregs.cr0 = CR0_PE | CR0_ET;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
        goto fail;
    return 0;

fail:;
    int e = errno;
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "setting the PVH entry state on vCPU %u: %s",
                c->index, g_strerror(e));
    return -e;
}

static void dump_segment(FILE *out, const char *name, const struct kvm_segment *s)
{
    fprintf(out, "  %-3s %04x base %016" PRIx64 " limit %08x type %x%s%s%s dpl %u\n", name,
            s->selector, (uint64_t)s->base, s->limit, s->type, s->present ? " P" : "",
            s->l ? " L" : "", s->db ? " D" : "", s->dpl);
}

void vcpu_dump_state(vcpu *c, FILE *out)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    fprintf(out, "vCPU %u state:\n", c->index);
    if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
        fprintf(out, "  (registers unavailable: %s)\n", g_strerror(errno));
        return;
    }
    fprintf(out, "  rip %016llx rflags %016llx\n", r.rip, r.rflags);
    fprintf(out, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
    fprintf(out, "  rsi %016llx rdi %016llx rsp %016llx rbp %016llx\n", r.rsi, r.rdi, r.rsp, r.rbp);
    fprintf(out, "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n", r.r8, r.r9, r.r10, r.r11);
    fprintf(out, "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n", r.r12, r.r13, r.r14, r.r15);
    fprintf(out, "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n", s.cr0, s.cr2,
            s.cr3, s.cr4, s.efer);
    dump_segment(out, "cs", &s.cs);
    dump_segment(out, "ss", &s.ss);
    dump_segment(out, "ds", &s.ds);
    dump_segment(out, "tr", &s.tr);
    fprintf(out, "  gdt %016llx/%04x idt %016llx/%04x\n", s.gdt.base, s.gdt.limit, s.idt.base,
            s.idt.limit);
}

static struct kvm_segment to_kvm_segment(const boot_segment *b)
{
    return (struct kvm_segment){
        .base = b->base,
        .limit = b->limit,
        .selector = b->selector,
        .type = b->type,
        .present = b->present,
        .dpl = b->dpl,
        .db = b->db,
        .s = b->s,
        .l = b->l,
        .g = b->g,
    };
}

int vcpu_set_boot_state(vcpu *c, const boot_cpu_state *st, GError **err)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs = {
        .rip = st->rip,
        .rsp = st->rsp,
        .rbp = st->rbp,
        .rsi = st->rsi,
        .rbx = st->rbx,
        .rflags = st->rflags | BOOT_RFLAGS_RESERVED,
    };

    if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
        goto fail;
    sregs.cs = to_kvm_segment(&st->cs);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = to_kvm_segment(&st->ds);
    sregs.tr = to_kvm_segment(&st->tr);
    sregs.gdt.base = st->gdt_base;
    sregs.gdt.limit = st->gdt_limit;
    sregs.idt.base = st->idt_base;
    sregs.idt.limit = st->idt_limit;
    sregs.cr0 = st->cr0;
    sregs.cr3 = st->cr3;
    sregs.cr4 = st->cr4;
    sregs.efer = st->efer;
    if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
        goto fail;
    return 0;

fail:;
    int e = errno;
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "setting the boot state of vCPU %u: %s",
                c->index, g_strerror(e));
    return -e;
}
