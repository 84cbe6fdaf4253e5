/* SPDX-License-Identifier: MIT */
/* Guest RAM from an anonymous mapping wrapped in a ts_memory_region, then vm_run. */
#include "guest_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "util/error.h"

bool guest_runner_kvm_usable(char **why)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = g_strdup_printf("/dev/kvm: %s", strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

int guest_runner_run(const char *elf, const char *cmdline, unsigned mem_mib, int serial_fd,
                     GError **err)
{
    ts_memory_region ram = {
        .size = (uint64_t)mem_mib << 20,
        .fd = -1,
        .page_size = 4096,
    };
    vm_config cfg = {
        .ram = &ram,
        .nr_vcpus = 1,
        .serial_fd = serial_fd,
        .debug_exit = true,
        .debug_exit_iobase = 0xf4,
        .debug_exit_iosize = 4,
        .no_reboot = true,
    };
    vm *v = NULL;
    int status = -1;

    ram.host = mmap(NULL, ram.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0);
    if (ram.host == MAP_FAILED) {
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "cannot map %u MiB of guest RAM: %s", mem_mib,
                    strerror(errno));
        return -1;
    }
    if (vm_create(&cfg, &v, err) == 0 && vm_load_pvh(v, elf, cmdline, err) == 0)
        status = vm_run(v);
    vm_destroy(v);
    munmap(ram.host, ram.size);
    return status;
}
