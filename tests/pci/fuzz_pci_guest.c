/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest, fuzzed: each input is a stream of guest operations (config writes
 * and reads through both mechanisms, BAR accesses of every width, raw port writes,
 * doorbells, MSI-X table garbage, resets, event processing) run against a testkit
 * machine holding a pci-testdev with a RAM BAR. The VMM must never crash and the host
 * bridge and the device's identity must survive every input.
 *
 * With TESSERA_FUZZ=ON and clang this is a libFuzzer target (fuzz_pci_guest); with any
 * compiler, test_pci_fuzz_replay runs it over deterministic pseudo-random inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tessera/testkit.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tk_machine *m;
static uint8_t devfn;

static void machine_once(void)
{
    if (m)
        return;
    m = tk_machine_new(16u << 20);
    if (!m || tk_plugin_path_add(m, PCI_TEST_PLUGIN_DIR) < 0 ||
        tk_object_add(m, "memory-backend-ram,id=mb,size=64K") < 0)
        abort();
    tk_device *d = tk_device_add(m, "pci-testdev,vectors=4,memdev=mb,pin=1,addr=3");
    if (!d)
        abort();
    devfn = (uint8_t)tk_device_devfn(d);
}

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

static uint64_t take(cursor *c, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && c->n; i++, c->p++, c->n--)
        v |= (uint64_t)*c->p << (8 * i);
    return v;
}

static const unsigned widths[] = { 1, 2, 4, 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    machine_once();
    tk_reset(m);
    tk_msi_clear(m);
    cursor c = { data, size };
    while (c.n) {
        unsigned op = (unsigned)take(&c, 1);
        uint8_t target = (op & 0x80) ? 0 : devfn;
        switch (op % 10) {
        case 0:
            tk_config_write(m, target, (uint32_t)take(&c, 1), (uint32_t)take(&c, 4), widths[take(&c, 1) % 3]);
            break;
        case 1:
            (void)tk_config_read(m, target, (uint32_t)take(&c, 1), widths[take(&c, 1) % 4]);
            break;
        case 2: {
            unsigned bar = (unsigned)take(&c, 1) % 6;
            uint64_t off = take(&c, 2) % 4200;
            tk_bar_write(m, devfn, bar, off, take(&c, 8), widths[take(&c, 1) % 4]);
            break;
        }
        case 3: {
            unsigned bar = (unsigned)take(&c, 1) % 6;
            (void)tk_bar_read(m, devfn, bar, take(&c, 2) % 4200, widths[take(&c, 1) % 4]);
            break;
        }
        case 4:
            tk_pio_write(m, (uint16_t)(0xcf8 + take(&c, 1) % 8), take(&c, 4), widths[take(&c, 1) % 4]);
            break;
        case 5:
            tk_mmio_write(m, 0xe0000000ull + (take(&c, 3) & 0xfffff), take(&c, 4), widths[take(&c, 1) % 4]);
            break;
        case 6:
            tk_process_events(m);
            break;
        case 7:
            tk_device_enable(m, devfn);
            tk_msix_enable(m, devfn, take(&c, 1) & 1);
            break;
        case 8:
            tk_bar_write(m, devfn, 0, (take(&c, 1) & 1) ? 0x08 : 0x0c, take(&c, 4) % 6, 4);
            break;
        case 9:
            if (take(&c, 1) == 0xa5)
                tk_reset(m);
            break;
        }
    }
    tk_process_events(m);
    if (tk_config_read(m, 0, 0, 4) != 0x12378086u || tk_config_read(m, devfn, 0, 4) != 0x10f01b36u)
        abort();
    return 0;
}

#ifndef TESSERA_LIBFUZZER
#include "fuzz_replay.h"

START_TEST(replay_random_inputs)
{
    uint32_t s = 0x9e3779b9u;
    uint8_t buf[512];
    for (unsigned round = 0; round < 3000; round++) {
        size_t n = 1 + round % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            buf[i] = (uint8_t)s;
        }
        ck_assert_int_eq(LLVMFuzzerTestOneInput(buf, n), 0);
    }
    /* After all of it, a reset device still works. */
    tk_reset(m);
    tk_device_enable(m, devfn);
    ck_assert_uint_eq(tk_bar_read(m, devfn, 0, 4, 4), 0x54535444u);
    tk_machine_free(m);
    m = NULL;
}
END_TEST

int main(void)
{
    return fuzz_replay_run("pci_fuzz_replay", replay_random_inputs, 120);
}
#endif
