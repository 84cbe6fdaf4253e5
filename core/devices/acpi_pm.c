/* SPDX-License-Identifier: MIT */
/*
 * The ACPI fixed-hardware registers the FADT points at (core/boot/acpi.h): the PM1a
 * event block (status and enable, 0x600-0x603) and the PM1a control block (0x604-0x605).
 * A control write with SLP_EN and sleep type 0 (the DSDT's \_S5) powers the machine off;
 * SCI_EN always reads as set, since there is no legacy mode to leave. No event ever
 * fires, so status reads 0 and enables are kept only to be read back.
 */
#include <string.h>

#include "devices/devices.h"
#include "util/error.h"

#define PM1_EVT_PORT 0x600
#define PM1_EVT_LEN 4
#define PM1_CNT_PORT 0x604
#define PM1_CNT_LEN 2

#define PM1_CNT_SCI_EN 0x0001u
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN (1u << 13)
#define SLP_TYP_S5 0

struct acpi_pm_dev {
    io_bus *pio;
    acpi_pm_poweroff_fn on_poweroff;
    void *opaque;
    GMutex lock;
    uint16_t enable;
    uint16_t control;
};

static void evt_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    acpi_pm_dev *d = opaque;

    g_mutex_lock(&d->lock);
    for (unsigned i = 0; i < len && offset + i < PM1_EVT_LEN; i++) {
        unsigned reg = (unsigned)(offset + i);
        uint8_t *en = (uint8_t *)&d->enable;
        if (reg < 2) /* status: nothing ever happened; writes of 1 clear nothing */
            data[i] = is_write ? data[i] : 0;
        else if (is_write)
            en[reg - 2] = data[i];
        else
            data[i] = en[reg - 2];
    }
    g_mutex_unlock(&d->lock);
}

static void cnt_io(void *opaque, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
    acpi_pm_dev *d = opaque;
    bool poweroff = false;

    g_mutex_lock(&d->lock);
    uint8_t reg[2];
    uint16_t shown = (uint16_t)(d->control | PM1_CNT_SCI_EN);
    memcpy(reg, &shown, 2);
    for (unsigned i = 0; i < len && offset + i < PM1_CNT_LEN; i++) {
        if (is_write)
            reg[offset + i] = data[i];
        else
            data[i] = reg[offset + i];
    }
    if (is_write) {
        uint16_t v;
        memcpy(&v, reg, 2);
        if ((v & PM1_CNT_SLP_EN) &&
            ((v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT) == SLP_TYP_S5)
            poweroff = true;
        d->control = (uint16_t)(v & ~PM1_CNT_SLP_EN); /* SLP_EN is write-only */
    }
    g_mutex_unlock(&d->lock);
    if (poweroff)
        d->on_poweroff(d->opaque);
}

acpi_pm_dev *acpi_pm_create(io_bus *pio, acpi_pm_poweroff_fn on_poweroff, void *opaque,
                            GError **err)
{
    acpi_pm_dev *d = g_new0(acpi_pm_dev, 1);
    d->pio = pio;
    d->on_poweroff = on_poweroff;
    d->opaque = opaque;
    g_mutex_init(&d->lock);
    if (io_bus_register(pio, PM1_EVT_PORT, PM1_EVT_LEN, evt_io, d, "ACPI PM1a event", err) < 0)
        goto fail;
    if (io_bus_register(pio, PM1_CNT_PORT, PM1_CNT_LEN, cnt_io, d, "ACPI PM1a control", err) < 0) {
        io_bus_unregister(pio, PM1_EVT_PORT);
        goto fail;
    }
    return d;
fail:
    g_mutex_clear(&d->lock);
    g_free(d);
    return NULL;
}

void acpi_pm_destroy(acpi_pm_dev *d)
{
    if (!d)
        return;
    io_bus_unregister(d->pio, PM1_EVT_PORT);
    io_bus_unregister(d->pio, PM1_CNT_PORT);
    g_mutex_clear(&d->lock);
    g_free(d);
}
