/* SPDX-License-Identifier: MIT */
/* The plugin loader against good and deliberately broken plugin files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object/object.h"
#include "plugin/registry.h"

/* A registry whose first search directory is one test case's directory. */
static registry *case_registry(const char *dir)
{
    g_autofree char *path = g_build_filename(LOADER_CASE_ROOT, dir, NULL);
    const char *dirs[] = { path };
    g_unsetenv("TESSERA_PLUGIN_PATH");
    registry *reg = registry_new(dirs, 1);
    registry_scan(reg);
    return reg;
}

/* The message of registry_find(name) failing; the test fails if it succeeds. */
static char *find_error(registry *reg, const char *name, uint32_t kind)
{
    GError *err = NULL;
    const registry_type *t = registry_find(reg, name, kind, &err);
    ck_assert_msg(t == NULL, "finding %s should fail", name);
    ck_assert_ptr_nonnull(err);
    char *msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay), (needle))

START_TEST(good_plugin_loads)
{
    registry *reg = case_registry("good");
    GError *err = NULL;
    const registry_type *t = registry_find(reg, "test-backend", TS_KIND_MEMORY_BACKEND, &err);
    ck_assert_msg(t != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(t->desc->name, "test-backend");
    ck_assert_str_eq(t->plugin->desc->version, "0.0.1");
    ck_assert_contains(t->plugin->path, "/good/test-backend.so");
    registry_free(reg);
}
END_TEST

START_TEST(wrong_kind_is_refused)
{
    registry *reg = case_registry("good");
    g_autofree char *msg = find_error(reg, "test-backend", TS_KIND_DEVICE);
    ck_assert_str_eq(msg, "'test-backend' is a memory-backend type, not a device type");
    registry_free(reg);
}
END_TEST

START_TEST(unknown_type_says_where_it_looked)
{
    registry *reg = case_registry("good");
    g_autofree char *msg = find_error(reg, "no-such-type", TS_KIND_DEVICE);
    ck_assert_contains(msg, "unknown device type 'no-such-type' (looked for plugins in ");
    ck_assert_contains(msg, LOADER_CASE_ROOT "/good");
    registry_free(reg);
}
END_TEST

/* Each broken case: the problem list names the file, and asking for the type explains why. */
static void expect_broken(const char *dir, const char *expected)
{
    registry *reg = case_registry(dir);
    g_autofree char *file = g_build_filename(LOADER_CASE_ROOT, dir, "test-backend.so", NULL);
    const GPtrArray *problems = registry_problems(reg);
    bool seen = false;
    for (guint i = 0; i < problems->len; i++) {
        const registry_problem *p = problems->pdata[i];
        if (strcmp(p->path, file) == 0) {
            ck_assert_contains(p->message, expected);
            seen = true;
        }
    }
    ck_assert_msg(seen, "no problem recorded for %s", file);
    g_autofree char *msg = find_error(reg, "test-backend", TS_KIND_MEMORY_BACKEND);
    ck_assert_contains(msg, "memory-backend type 'test-backend' is unavailable: ");
    ck_assert_contains(msg, file);
    ck_assert_contains(msg, expected);
    registry_free(reg);
}

START_TEST(no_entry_symbol)
{
    expect_broken("no-entry", "not a tessera plugin (it exports no tessera_plugin_entry_v1)");
}
END_TEST

START_TEST(bad_magic)
{
    expect_broken("bad-magic", "not a tessera plugin (descriptor magic 0xdeadbeef");
}
END_TEST

START_TEST(major_mismatch_in_descriptor)
{
    char want[160];
    snprintf(want, sizeof(want), "plugin is built for ABI 2.%d, this tessera speaks ABI 1.%d (major versions differ)",
             TS_ABI_MINOR, TS_ABI_MINOR);
    expect_broken("major-desc", want);
}
END_TEST

START_TEST(major_mismatch_entry_name)
{
    char want[160];
    snprintf(want, sizeof(want), "plugin is built for ABI 2.x, this tessera speaks ABI 1.%d (major versions differ)",
             TS_ABI_MINOR);
    expect_broken("major-entry", want);
}
END_TEST

START_TEST(minor_too_new)
{
    g_autofree char *want = g_strdup_printf("plugin needs ABI 1.%d, this tessera provides ABI 1.%d (plugin is too new",
                                            TS_ABI_MINOR + 7, TS_ABI_MINOR);
    expect_broken("minor-new", want);
}
END_TEST

START_TEST(tail_not_zero)
{
    char want[160];
    snprintf(want, sizeof(want), "its 8 bytes unknown to this tessera (ABI 1.%d) are not zero", TS_ABI_MINOR);
    expect_broken("tail-nonzero", want);
}
END_TEST

START_TEST(tail_zero_is_accepted)
{
    registry *reg = case_registry("tail-zero");
    GError *err = NULL;
    const registry_type *t = registry_find(reg, "test-backend", TS_KIND_MEMORY_BACKEND, &err);
    ck_assert_msg(t != NULL, "%s", err ? err->message : "");
    registry_free(reg);
}
END_TEST

START_TEST(missing_dependency)
{
    expect_broken("missing-dep", "cannot be loaded: ");
    expect_broken("missing-dep", "libtessera_test_dependency.so");
    expect_broken("missing-dep", "(run 'ldd ");
}
END_TEST

START_TEST(init_failure)
{
    expect_broken("init-fails", "plugin test-plugin failed to initialize: No such device");
}
END_TEST

START_TEST(duplicate_type_names_both_files)
{
    registry *reg = case_registry("duplicate");
    g_autofree char *a = g_build_filename(LOADER_CASE_ROOT, "duplicate", "dup-a.so", NULL);
    g_autofree char *b = g_build_filename(LOADER_CASE_ROOT, "duplicate", "dup-b.so", NULL);
    g_autofree char *msg = find_error(reg, "dup-type", TS_KIND_MEMORY_BACKEND);
    g_autofree char *want = g_strdup_printf("memory-backend type 'dup-type' is provided by two plugins: %s and %s",
                                            a, b);
    ck_assert_contains(msg, want);
    registry_free(reg);
}
END_TEST

START_TEST(same_file_twice_is_loaded_once)
{
    g_autofree char *path = g_build_filename(LOADER_CASE_ROOT, "good", NULL);
    g_autofree char *alias = g_strconcat(path, "/.", NULL);
    const char *dirs[] = { path, alias };
    registry *reg = registry_new(dirs, 2);
    GError *err = NULL;
    ck_assert_ptr_nonnull(registry_find(reg, "test-backend", 0, &err));
    registry_free(reg);
}
END_TEST

START_TEST(search_path_order)
{
    g_setenv("TESSERA_PLUGIN_PATH", "/env/one:/env/two", TRUE);
    const char *dirs[] = { "/opt/first", "/opt/second" };
    registry *reg = registry_new(dirs, 2);
    const GPtrArray *sp = registry_search_path(reg);
    ck_assert_uint_ge(sp->len, 5);
    ck_assert_str_eq(sp->pdata[0], "/opt/first");
    ck_assert_str_eq(sp->pdata[1], "/opt/second");
    ck_assert_str_eq(sp->pdata[2], "/env/one");
    ck_assert_str_eq(sp->pdata[3], "/env/two");
    /* Tests run from the build tree, so its plugin directory comes next, then the installed one. */
    ck_assert_str_eq(sp->pdata[4], TESSERA_TEST_BUILD_PLUGIN_DIR);
    g_unsetenv("TESSERA_PLUGIN_PATH");
    registry_free(reg);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("cases");
    tcase_add_test(tc, good_plugin_loads);
    tcase_add_test(tc, wrong_kind_is_refused);
    tcase_add_test(tc, unknown_type_says_where_it_looked);
    tcase_add_test(tc, no_entry_symbol);
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, major_mismatch_in_descriptor);
    tcase_add_test(tc, major_mismatch_entry_name);
    tcase_add_test(tc, minor_too_new);
    tcase_add_test(tc, tail_not_zero);
    tcase_add_test(tc, tail_zero_is_accepted);
    tcase_add_test(tc, missing_dependency);
    tcase_add_test(tc, init_failure);
    tcase_add_test(tc, duplicate_type_names_both_files);
    tcase_add_test(tc, same_file_twice_is_loaded_once);
    tcase_add_test(tc, search_path_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
