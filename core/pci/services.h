/* SPDX-License-Identifier: MIT */
/* The device-facing host-service tables of ABI 1.1, as core/object/host_api.c hands them out. */
#ifndef TESSERA_CORE_PCI_SERVICES_H
#define TESSERA_CORE_PCI_SERVICES_H

#include "tessera/host.h"

extern const ts_guest_memory_api devsvc_guest_memory_api; /* devctx.c */
extern const ts_io_api devsvc_io_api;                     /* devctx.c */
extern const ts_event_api devsvc_event_api;               /* devctx.c */
extern const ts_pci_api devsvc_pci_api;                   /* pci_services.c */

/* Records msg as the reason the current hook of obj failed (ts_host_api.set_error). */
void devsvc_set_error(ts_object *obj, const char *msg);

/*
 * Copies a plugin-provided size-prefixed structure into dst (dst_size bytes, zeroed
 * first), reading only the bytes the plugin says it has. Returns false when the
 * plugin's size is too small to hold even the size field.
 */
bool devsvc_copy_sized(void *dst, size_t dst_size, const void *src);

#endif
