/* SPDX-License-Identifier: MIT */
/* Shared by the config tests: a registry with built-in test types, and parse helpers. */
#ifndef TESSERA_TESTS_CONFIG_FIXTURE_H
#define TESSERA_TESTS_CONFIG_FIXTURE_H

#include <check.h>
#include <string.h>

#include "config/cmdline.h"
#include "config/machine.h"
#include "plugin/registry.h"

/*
 * A registry holding, besides whatever the build tree provides, the built-in types
 * test-dev (device: flag, count 0..10, buf 4K..1G, label, mode fast|slow, memdev,
 * chardev, drive), test-req (device: required 'name'), test-mem (memory backend:
 * required size, share) and test-fmt (block format).
 */
registry *fixture_registry(void);

/* Parses a NULL-terminated list of options; fails the test on a parse error. */
machine_desc *fixture_parse(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The message of validating the options (parse must succeed, validation must fail). */
char *fixture_validate_error(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The message of parsing the options (parse must fail). */
char *fixture_parse_error(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Validates d against the fixture registry; fails the test with the message on error. */
void fixture_validate_ok(machine_desc *d);

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

#endif
