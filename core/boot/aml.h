/* SPDX-License-Identifier: MIT */
/*
 * A tiny AML emitter: just enough of the ACPI Machine Language (ACPI 6.5 chapter 20) to
 * describe platform devices in a DSDT. Objects are byte arrays; a scope or device is
 * opened, filled, then closed, which prefixes it with its package length.
 *
 *     aml *dev = aml_device_open(dsdt, "COM1");
 *     aml_name_eisaid(dev, "_HID", "PNP0501");
 *     ...
 *     aml_close(dev);
 *
 * Names are single 4-character segments ("COM1", "_HID"), or a root path of one segment
 * ("\\_SB_"); shorter segments are padded with '_'.
 */
#ifndef TESSERA_CORE_AML_H
#define TESSERA_CORE_AML_H

#include <glib.h>
#include <stdint.h>

typedef struct aml aml;

/* A fresh top-level term list (a DSDT's body). Free with aml_free. */
aml *aml_new(void);
void aml_free(aml *a);
const uint8_t *aml_data(const aml *a);
size_t aml_len(const aml *a);

/* Scope (name) { ... } and Device (name) { ... }: write into the result, then aml_close. */
aml *aml_scope_open(aml *parent, const char *name);
aml *aml_device_open(aml *parent, const char *name);
/* Emits the opened object, with its package length, into its parent and frees it. */
void aml_close(aml *child);

/* Name (name, value) for the value kinds we need. */
void aml_name_int(aml *a, const char *name, uint64_t value);
void aml_name_eisaid(aml *a, const char *name, const char *eisaid); /* "PNP0501" */
void aml_name_string(aml *a, const char *name, const char *value);
/* Name (name, Package () { values... }) of integers. */
void aml_name_int_package(aml *a, const char *name, const uint64_t *values, unsigned count);

/*
 * Packages of integers and packages (e.g. a _PRT): add elements in order, nest a finished
 * package with aml_package_add, then emit the outermost one with aml_name_package. At
 * most 255 elements each (one-byte NumElements).
 *
 *     aml_package *prt = aml_package_new();
 *     aml_package *e = aml_package_new();
 *     aml_package_int(e, 0xffff); ... aml_package_add(prt, e);
 *     aml_name_package(pci, "_PRT", prt);
 */
typedef struct aml_package aml_package;
aml_package *aml_package_new(void);
void aml_package_int(aml_package *p, uint64_t value);
/* Appends child as an element of p and frees child. */
void aml_package_add(aml_package *p, aml_package *child);
/* Emits Name (name, Package () {...}) into a and frees p. */
void aml_name_package(aml *a, const char *name, aml_package *p);

/* Resource templates: build the descriptors, then Name (name, ResourceTemplate () {...}). */
typedef struct aml_resources aml_resources;
aml_resources *aml_resources_new(void);
void aml_res_io(aml_resources *r, uint16_t base, uint8_t length);            /* IO (Decode16) */
void aml_res_irq(aml_resources *r, uint8_t irq);                             /* IRQNoFlags */
void aml_res_bus_numbers(aml_resources *r, uint16_t first, uint16_t last);   /* WordBusNumber */
void aml_res_io_window(aml_resources *r, uint16_t first, uint16_t last);     /* WordIO */
void aml_res_mem32_window(aml_resources *r, uint32_t first, uint32_t last);  /* DWordMemory */
void aml_res_mem64_window(aml_resources *r, uint64_t first, uint64_t last);  /* QWordMemory */
void aml_res_mem32_fixed(aml_resources *r, uint32_t base, uint32_t length);  /* Memory32Fixed RW */
/* Emits the template (with its end tag) as a named buffer and frees r. */
void aml_name_resources(aml *a, const char *name, aml_resources *r);

/* The compressed EISA id of "PNP0501" and friends (3 letters, 4 hex digits). */
uint32_t aml_eisaid(const char *id);

#endif
