/* SPDX-License-Identifier: MIT */
/*
 * ABI probe of the tessera plugin SDK.
 *
 * The SDK is headers only, so there is no library whose debug information libabigail
 * could compare. This tiny shared library exists to give it one: its single exported
 * function takes every public structure, enumeration and function-pointer type of the
 * SDK, so the DWARF that abidw reads describes all of them (abidw only records types
 * reachable from exported symbols). scripts/abi-check.sh compares that description
 * against the committed baseline sdk/abi/tessera-sdk-1.abi.
 *
 * DWARF carries no macro values, so the constants that are part of ABI 1 are pinned
 * below with static assertions instead: changing one breaks this build.
 */
#include <tessera/tessera.h>

#include <string.h>

_Static_assert(TS_ABI_MAJOR == 1, "the baseline describes ABI major 1; start a new baseline");
_Static_assert(TS_PLUGIN_MAGIC == 0x4c505354u, "the descriptor magic is part of ABI 1");
_Static_assert(sizeof(TS_PLUGIN_ENTRY_SYMBOL) == sizeof("tessera_plugin_entry_v1"),
               "the entry-point name is part of ABI 1");
_Static_assert(TS_MEM_SHARED == 1u && TS_MEM_READONLY == 2u && TS_MEM_HUGETLB == 4u,
               "TS_MEM_* flag values are part of ABI 1");
_Static_assert(TS_PROP_REQUIRED == 1u, "TS_PROP_REQUIRED is part of ABI 1");

/* Everything of the ABI, by pointer or by value; exported only for abidw to see. */
TS_EXPORT int tessera_sdk_abi_probe(const ts_plugin_desc *plugin, const ts_type_desc *type,
                                    const ts_prop_desc *prop, const ts_host_api *host,
                                    const ts_memory_region *region,
                                    const ts_memory_backend_ops *memory_backend_ops,
                                    const ts_device_ops *device_ops,
                                    const ts_block_format_ops *block_format_ops,
                                    const ts_guest_memory_api *guest_memory, const ts_io_api *io,
                                    const ts_pci_api *pci, const ts_event_api *events,
                                    const ts_chardev_api *chardev, const ts_block_api *block,
                                    ts_object *object, ts_state_stream *stream,
                                    ts_plugin_entry_fn entry, enum ts_kind kind,
                                    enum ts_prop_type prop_type, enum ts_ref_target ref_target,
                                    enum ts_log_level log_level, enum ts_device_bus bus);

TS_EXPORT int tessera_sdk_abi_probe(const ts_plugin_desc *plugin, const ts_type_desc *type,
                                    const ts_prop_desc *prop, const ts_host_api *host,
                                    const ts_memory_region *region,
                                    const ts_memory_backend_ops *memory_backend_ops,
                                    const ts_device_ops *device_ops,
                                    const ts_block_format_ops *block_format_ops,
                                    const ts_guest_memory_api *guest_memory, const ts_io_api *io,
                                    const ts_pci_api *pci, const ts_event_api *events,
                                    const ts_chardev_api *chardev, const ts_block_api *block,
                                    ts_object *object, ts_state_stream *stream,
                                    ts_plugin_entry_fn entry, enum ts_kind kind,
                                    enum ts_prop_type prop_type, enum ts_ref_target ref_target,
                                    enum ts_log_level log_level, enum ts_device_bus bus)
{
    /* Touch the arguments so that no optimizer reason exists to drop their types. */
    return (plugin != NULL) + (type != NULL) + (prop != NULL) + (host != NULL) +
           (region != NULL) + (memory_backend_ops != NULL) + (device_ops != NULL) +
           (block_format_ops != NULL) + (guest_memory != NULL) + (io != NULL) + (pci != NULL) +
           (events != NULL) + (chardev != NULL) + (block != NULL) + (object != NULL) +
           (stream != NULL) + (entry != NULL) + (int)kind + (int)prop_type + (int)ref_target +
           (int)log_level + (int)bus + (int)strlen(TS_PLUGIN_ENTRY_SYMBOL);
}
