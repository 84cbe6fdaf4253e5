/* SPDX-License-Identifier: MIT */
/* Opening /dev/kvm and checking that it offers everything the core relies on. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/kvm_internal.h"
#include "util/error.h"

#define KVM_DEVICE "/dev/kvm"

static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    { KVM_CAP_USER_MEMORY, "USER_MEMORY" },
    { KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
    { KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR" },
    { KVM_CAP_IRQCHIP, "IRQCHIP" },
    { KVM_CAP_PIT2, "PIT2" },
    { KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING" },
    { KVM_CAP_EXT_CPUID, "EXT_CPUID" },
    { KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
    { KVM_CAP_IOEVENTFD, "IOEVENTFD" },
    { KVM_CAP_IRQFD, "IRQFD" },
    { KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI" },
    { KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
};

/* A capability's value, or dflt when the kernel does not report one. */
static uint32_t cap_value(int fd, int cap, uint32_t dflt)
{
    int v = ioctl(fd, KVM_CHECK_EXTENSION, cap);
    return v > 0 ? (uint32_t)v : dflt;
}

int kvm_open_path(const char *path, kvm_limits *limits, GError **err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENXIO || e == ENODEV)
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "%s is missing: enable virtualization (VT-x/AMD-V) in the firmware and "
                        "load the kvm_intel or kvm_amd module",
                        path);
        else if (e == EACCES || e == EPERM)
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "no permission to open %s: add your user to the kvm group "
                        "(usermod -aG kvm USER) and log in again",
                        path);
        else
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                    "%s speaks KVM API version %d, tessera needs %d: use a host kernel with a "
                    "standard KVM",
                    path, version, KVM_API_VERSION);
        close(fd);
        return -ENOTSUP;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(required_caps); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
            g_set_error(err, TS_ERROR, TS_ERROR_FAILED,
                        "KVM lacks capability KVM_CAP_%s, which tessera needs: use a host kernel of Linux 4.14 or newer",
                        required_caps[i].name);
            close(fd);
            return -ENOTSUP;
        }
    }
    /* api.rst: without KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS is the limit (and 4 before that). */
    limits->nr_memslots = cap_value(fd, KVM_CAP_NR_MEMSLOTS, 32);
    limits->max_gsi = cap_value(fd, KVM_CAP_IRQ_ROUTING, 1024);
    limits->max_vcpus = cap_value(fd, KVM_CAP_MAX_VCPUS, cap_value(fd, KVM_CAP_NR_VCPUS, 4));
    limits->max_vcpu_id = cap_value(fd, KVM_CAP_MAX_VCPU_ID, limits->max_vcpus);
    limits->readonly_mem = cap_value(fd, KVM_CAP_READONLY_MEM, 0) != 0;
    return fd;
}

int kvm_open_system(kvm_limits *limits, GError **err)
{
    return kvm_open_path(KVM_DEVICE, limits, err);
}

int vm_check_host(GError **err)
{
    kvm_limits limits;
    int fd = kvm_open_system(&limits, err);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}
