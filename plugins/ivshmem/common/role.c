/* SPDX-License-Identifier: MIT */
/* master/peer roles (what migration must do with a device) and shared-memory checks. */
#include "ivshmem-dev.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

const char *const ivshmem_master_values[] = { "off", "on", "auto", NULL };

int ivshmem_role_resolve(enum ivshmem_master_prop master, int64_t id, enum ivshmem_role *role,
                         char *err, size_t err_len)
{
    switch (master) {
    case IVSHMEM_MASTER_ON:
        /*
         * The master's memory migrates and peers re-attach to it on the destination; that
         * only works when the master is the first client, and the first client gets ID 0.
         */
        if (id != 0) {
            snprintf(err, err_len, "master must connect to the server before any peers"
                     " (the server gave this device ID %" PRId64 ", a master needs ID 0)", id);
            return -EINVAL;
        }
        *role = IVSHMEM_ROLE_MASTER;
        return 0;
    case IVSHMEM_MASTER_AUTO:
        *role = id == 0 ? IVSHMEM_ROLE_MASTER : IVSHMEM_ROLE_PEER;
        return 0;
    case IVSHMEM_MASTER_OFF:
        *role = IVSHMEM_ROLE_PEER;
        return 0;
    }
    snprintf(err, err_len, "invalid value %d of property 'master'", (int)master);
    return -EINVAL;
}

const char *ivshmem_role_name(enum ivshmem_role role)
{
    return role == IVSHMEM_ROLE_MASTER ? "master" : "peer";
}

bool ivshmem_size_is_pow2(uint64_t size)
{
    return size != 0 && (size & (size - 1)) == 0;
}

const char *ivshmem_size_text(uint64_t bytes, char buf[32])
{
    static const char units[] = "KMGTPE";
    int u = -1;

    while (bytes != 0 && bytes % 1024 == 0 && u < 5) {
        bytes /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, 32, "%" PRIu64, bytes);
    else
        snprintf(buf, 32, "%" PRIu64 "%c", bytes, units[u]);
    return buf;
}

int ivshmem_memdev_attach(const ts_host_api *host, ts_object *dev, ts_object *backend,
                          ts_memory_region *region)
{
    const char *name;
    char buf[32];
    int err;

    if (!backend) {
        host->set_error(dev, "You must specify a 'memdev'");
        return -EINVAL;
    }
    name = host->object_id(backend);
    /* The host's error names the backend and the device holding it. */
    if ((err = host->memory_backend_claim(backend, dev)) < 0)
        return err;
    if ((err = host->memory_backend_region(backend, region)) < 0) {
        host->set_error(dev, "memdev '%s' has no memory to share", name);
        goto fail;
    }
    if (!ivshmem_size_is_pow2(region->size)) {
        host->set_error(dev, "memdev '%s' is %s bytes; ivshmem needs a power of two"
                        " (it becomes a PCI BAR)", name, ivshmem_size_text(region->size, buf));
        err = -EINVAL;
        goto fail;
    }
    if (!region->host) {
        host->set_error(dev, "memdev '%s' is not mapped", name);
        err = -EINVAL;
        goto fail;
    }
    if (!(region->flags & TS_MEM_SHARED))
        host->log(dev, TS_LOG_WARN, "memdev '%s' is not shared (share=off): the guest sees its"
                  " memory, but no other process or VM does", name);
    return 0;
fail:
    host->memory_backend_release(backend, dev);
    return err;
}
