/* SPDX-License-Identifier: MIT */
/*
 * Creating a VM: the KVM set-up sequence (VM, TSS and identity-map pages, in-kernel
 * irqchip and PIT, RAM slots), the buses and platform devices, then the vCPUs.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/pvh.h"
#include "chardev/chardev.h"
#include "kvm/kvm_internal.h"
#include "util/error.h"

/* COM1..COM4 as on every PC. */
static const struct {
    uint16_t base;
    unsigned gsi;
} serial_ports[VM_MAX_SERIALS] = { { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 } };

static int fail_errno(GError **err, const char *what)
{
    int e = errno;
    g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s failed: %s", what, g_strerror(e));
    return -e;
}

static void ignore_signal(int sig)
{
    (void)sig;
}

/* The kick signal must interrupt KVM_RUN, not kill us: a handler that does nothing. */
static int install_kick_handler(GError **err)
{
    struct sigaction sa = { .sa_handler = ignore_signal };

    sigemptyset(&sa.sa_mask);
    if (sigaction(vcpu_kick_signal(), &sa, NULL) < 0)
        return fail_errno(err, "installing the vCPU kick signal handler");
    return 0;
}

static int setup_platform(vm *v, GError **err)
{
    /* Intel's VMX needs three pages for a real-mode TSS and one for an identity map. */
    if (ioctl(v->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
        return fail_errno(err, "KVM_SET_TSS_ADDR");
    uint64_t identity = KVM_IDENTITY_MAP_GPA;
    if (ioctl(v->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        return fail_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
    /* PIC, IOAPIC and local APICs in the kernel: interrupts never need userspace. */
    if (ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return fail_errno(err, "KVM_CREATE_IRQCHIP");
    /* A dummy speaker keeps port 0x61 in the kernel too. */
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(v->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return fail_errno(err, "KVM_CREATE_PIT2");
    /* Our own routing table from the start, so MSI routes only ever add to it. */
    int ret = irq_routes_commit(v->routes);
    if (ret < 0) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "KVM_SET_GSI_ROUTING failed: %s",
                    g_strerror(-ret));
        return ret;
    }
    return 0;
}

static int setup_ram(vm *v, GError **err)
{
    int ret = guest_memory_init(&v->mem, v->cfg.ram, err);
    if (ret < 0)
        return ret;
    for (unsigned i = 0; i < v->mem.nr_banks; i++) {
        const guest_ram_bank *b = &v->mem.banks[i];
        uint32_t slot;
        ret = vm_map_ram(v, b->gpa, b->size, b->host, false, &slot);
        if (ret < 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "KVM_SET_USER_MEMORY_REGION for guest RAM at %#" PRIx64 " failed: %s",
                        b->gpa, g_strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static void debug_exit_stop(void *opaque, int status)
{
    vm_request_stop(opaque, status);
}

static void acpi_poweroff(void *opaque)
{
    vm_request_stop(opaque, VM_STATUS_POWEROFF);
}

static void i8042_reset(void *opaque)
{
    vm_guest_reset(opaque, "i8042 reset");
}

/* A UART's interrupt line: KVM_IRQ_LINE. A failure here means the irqchip is gone. */
static void serial_set_irq(void *opaque, unsigned gsi, int level)
{
    int ret = vm_set_irq_line(opaque, gsi, level);
    if (ret < 0)
        fprintf(stderr, "tessera: KVM_IRQ_LINE for GSI %u failed: %s\n", gsi, g_strerror(-ret));
}

static void serial_tx_chardev(void *opaque, const uint8_t *buf, size_t len)
{
    chardev_write(opaque, buf, len);
}

static void serial_tx_fd(void *opaque, const uint8_t *buf, size_t len)
{
    int fd = (int)(intptr_t)opaque;
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* Chardev input for the guest (main thread). */
static void serial_input(void *opaque, const uint8_t *buf, size_t len)
{
    if (len)
        serial_uart_receive(opaque, buf, len);
}

static int setup_serial(vm *v, GError **err)
{
    for (unsigned i = 0; i < VM_MAX_SERIALS; i++) {
        serial_uart_config sc = {
            .base = serial_ports[i].base,
            .gsi = serial_ports[i].gsi,
            .set_irq = serial_set_irq,
            .irq_opaque = v,
        };
        if (v->cfg.serial_chardevs) {
            if (!v->cfg.serial[i])
                continue;
            sc.tx = serial_tx_chardev;
            sc.tx_opaque = v->cfg.serial[i];
        } else if (i == 0) {
            sc.tx = v->cfg.serial_fd >= 0 ? serial_tx_fd : NULL;
            sc.tx_opaque = (void *)(intptr_t)v->cfg.serial_fd;
        } else {
            break;
        }
        v->serial[i] = serial_uart_create(v->pio, &sc, err);
        if (!v->serial[i])
            return -EINVAL;
        if (v->cfg.serial_chardevs)
            chardev_set_read_handler(v->cfg.serial[i], serial_input, v->serial[i]);
    }
    return 0;
}

static int setup_devices(vm *v, GError **err)
{
    io_bus_set_log_unclaimed(v->pio, v->cfg.log_unclaimed_io);
    io_bus_set_log_unclaimed(v->mmio, v->cfg.log_unclaimed_io);
    int ret = legacy_ports_register(v->pio, err);
    if (ret < 0)
        return ret;
    ret = setup_serial(v, err);
    if (ret < 0)
        return ret;
    v->i8042 = i8042_create(v->pio, i8042_reset, v, err);
    if (!v->i8042)
        return -EINVAL;
    v->acpi_pm = acpi_pm_create(v->pio, acpi_poweroff, v, err);
    if (!v->acpi_pm)
        return -EINVAL;
    if (v->cfg.debug_exit) {
        v->debug_exit = debug_exit_create(v->pio, v->cfg.debug_exit_iobase,
                                          v->cfg.debug_exit_iosize ? v->cfg.debug_exit_iosize : 4,
                                          debug_exit_stop, v, err);
        if (!v->debug_exit)
            return -EINVAL;
    }
    return 0;
}

int vm_create(const vm_config *cfg, vm **out, GError **err)
{
    vm *v = g_new0(vm, 1);
    int ret;

    v->cfg = *cfg;
    v->kvm_fd = v->vm_fd = -1;
    v->nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1;
    v->pio = io_bus_new("pio");
    v->mmio = io_bus_new("mmio");
    v->main_context = g_main_context_ref(g_main_context_default());
    if (v->nr_vcpus > VM_MAX_VCPUS) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%u vCPUs requested; tessera supports at most %d",
                    v->nr_vcpus, VM_MAX_VCPUS);
        ret = -EINVAL;
        goto fail;
    }
    ret = cpu_topology_init(&v->topo, v->nr_vcpus, cfg->sockets, cfg->cores, cfg->threads, err);
    if (ret < 0)
        goto fail;
    ret = install_kick_handler(err);
    if (ret < 0)
        goto fail;
    kvm_limits limits;
    ret = v->kvm_fd = kvm_open_system(&limits, err);
    if (ret < 0)
        goto fail;
    uint32_t top_apic_id = cpu_topology_apic_id(&v->topo, v->nr_vcpus - 1);
    if (v->nr_vcpus > limits.max_vcpus || top_apic_id >= limits.max_vcpu_id) {
        g_set_error(err, TS_ERROR, TS_ERROR_INVALID,
                    "this host's KVM allows %u vCPUs with APIC ids below %u; %u vCPUs need "
                    "APIC ids up to %u: lower -smp",
                    limits.max_vcpus, limits.max_vcpu_id, v->nr_vcpus, top_apic_id);
        ret = -EINVAL;
        goto fail;
    }
    v->has_readonly_mem = limits.readonly_mem;
    mem_slots_init(&v->slots, limits.nr_memslots);
    v->routes = irq_routes_new(limits.max_gsi, vm_commit_routes, v);
    v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0UL);
    if (v->vm_fd < 0) {
        ret = fail_errno(err, "KVM_CREATE_VM");
        goto fail;
    }
    ret = setup_platform(v, err);
    if (ret < 0)
        goto fail;
    ret = setup_ram(v, err);
    if (ret < 0)
        goto fail;
    ret = setup_devices(v, err);
    if (ret < 0)
        goto fail;
    v->cpuid = cpuid_get_supported(v->kvm_fd, err);
    if (!v->cpuid) {
        ret = -ENOTSUP;
        goto fail;
    }
    v->vcpus = g_new0(vcpu, v->nr_vcpus);
    for (unsigned i = 0; i < v->nr_vcpus; i++)
        v->vcpus[i].fd = -1;
    for (unsigned i = 0; i < v->nr_vcpus; i++) {
        ret = vcpu_init(v, &v->vcpus[i], i, err);
        if (ret < 0)
            goto fail;
    }
    *out = v;
    return 0;

fail:
    vm_destroy(v);
    *out = NULL;
    return ret;
}

void vm_destroy(vm *v)
{
    if (!v)
        return;
    for (unsigned i = 0; v->vcpus && i < v->nr_vcpus; i++)
        vcpu_fini(&v->vcpus[i]);
    g_free(v->vcpus);
    debug_exit_destroy(v->debug_exit);
    i8042_destroy(v->i8042);
    acpi_pm_destroy(v->acpi_pm);
    for (unsigned i = 0; i < VM_MAX_SERIALS; i++) {
        if (v->serial[i] && v->cfg.serial_chardevs)
            chardev_set_read_handler(v->cfg.serial[i], NULL, NULL);
        serial_uart_destroy(v->serial[i]);
    }
    g_free(v->cpuid);
    irq_routes_free(v->routes);
    if (v->slots.used)
        mem_slots_fini(&v->slots);
    if (v->vm_fd >= 0)
        close(v->vm_fd);
    if (v->kvm_fd >= 0)
        close(v->kvm_fd);
    io_bus_free(v->pio);
    io_bus_free(v->mmio);
    g_main_context_unref(v->main_context);
    g_free(v);
}

int vm_load_pvh(vm *v, const char *path, const char *cmdline, GError **err)
{
    pvh_boot boot;
    int ret = pvh_load_file(&v->mem, path, cmdline, &boot, err);
    if (ret < 0)
        return ret;
    /* The boot vCPU starts at the entry; the others wait for INIT/SIPI from the guest. */
    return vcpu_set_pvh_entry(&v->vcpus[0], boot.entry, boot.start_info, err);
}

uint32_t vm_vcpu_apic_id(vm *v, unsigned index)
{
    return cpu_topology_apic_id(&v->topo, index);
}

unsigned vm_nr_vcpus(vm *v)
{
    return v->nr_vcpus;
}

GMainContext *vm_main_context(vm *v)
{
    return v->main_context;
}

int vm_load_kernel(vm *v, const char *kernel, const char *initrd, const char *cmdline,
                   GError **err)
{
    g_autofree uint32_t *apic_ids = g_new(uint32_t, v->nr_vcpus);
    for (unsigned i = 0; i < v->nr_vcpus; i++)
        apic_ids[i] = cpu_topology_apic_id(&v->topo, i);
    boot_config bc = {
        .apic_ids = apic_ids, /* the MADT lists the ids the vCPUs were created with */
        .kernel = kernel,
        .initrd = initrd,
        .cmdline = cmdline,
        .nr_vcpus = v->nr_vcpus,
        .acpi = true,
        .irq0_to_gsi2 = true, /* our routing sends the PIT's GSI 0 to IOAPIC pin 2 */
    };
    boot_result br;
    int ret = boot_load_kernel(&v->mem, &bc, &br, err);
    if (ret < 0)
        return ret;
    /* The boot vCPU starts at the entry; the others wait for INIT/SIPI from the guest. */
    return vcpu_set_boot_state(&v->vcpus[0], &br.cpu, err);
}

io_bus *vm_pio_bus(vm *v)
{
    return v->pio;
}

io_bus *vm_mmio_bus(vm *v)
{
    return v->mmio;
}

const guest_memory *vm_guest_memory(vm *v)
{
    return &v->mem;
}
