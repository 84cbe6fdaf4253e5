/* SPDX-License-Identifier: MIT */
/* QEMU-style "TYPE,k=v" splitting. */
#include <check.h>
#include <string.h>

#include "config/keyval.h"

static const keyval_pair *pair(GPtrArray *pairs, guint i)
{
    ck_assert_uint_gt(pairs->len, i);
    return pairs->pdata[i];
}

START_TEST(type_and_pairs)
{
    g_autoptr(GPtrArray) p = keyval_split("memory-backend-file,size=1M,share,mem-path=/dev/shm/x",
                                          "qom-type", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->len, 4);
    ck_assert_str_eq(pair(p, 0)->key, "qom-type");
    ck_assert_str_eq(pair(p, 0)->value, "memory-backend-file");
    ck_assert_str_eq(pair(p, 1)->key, "size");
    ck_assert_str_eq(pair(p, 1)->value, "1M");
    ck_assert_str_eq(pair(p, 2)->key, "share");
    ck_assert_ptr_null(pair(p, 2)->value);
    ck_assert_str_eq(pair(p, 3)->value, "/dev/shm/x");
}
END_TEST

START_TEST(double_comma_is_a_literal_comma)
{
    g_autoptr(GPtrArray) p = keyval_split("file=a,,b.img,,,format=raw", NULL, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->len, 2);
    ck_assert_str_eq(pair(p, 0)->value, "a,b.img,");
    ck_assert_str_eq(pair(p, 1)->key, "format");
}
END_TEST

START_TEST(first_with_equals_is_not_implied)
{
    g_autoptr(GPtrArray) p = keyval_split("size=1G", "size", NULL);
    ck_assert_uint_eq(p->len, 1);
    ck_assert_str_eq(pair(p, 0)->key, "size");
    ck_assert_str_eq(pair(p, 0)->value, "1G");
    g_autoptr(GPtrArray) q = keyval_split("share,id=x", NULL, NULL);
    ck_assert_str_eq(pair(q, 0)->key, "share");
    ck_assert_ptr_null(pair(q, 0)->value);
}
END_TEST

START_TEST(empty_value_and_empty_text)
{
    g_autoptr(GPtrArray) p = keyval_split("t,label=", "type", NULL);
    ck_assert_str_eq(pair(p, 1)->value, "");
    g_autoptr(GPtrArray) e = keyval_split("", "type", NULL);
    ck_assert_uint_eq(e->len, 0);
}
END_TEST

START_TEST(empty_key_is_an_error)
{
    const char *bad[] = { "t,,", "t,=v", "t,", ",x" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        GPtrArray *p = keyval_split(bad[i], i == 3 ? NULL : "type", &err);
        if (i == 0) { /* "t,," is the type "t," */
            ck_assert_ptr_nonnull(p);
            ck_assert_str_eq(pair(p, 0)->value, "t,");
            g_ptr_array_free(p, TRUE);
            continue;
        }
        ck_assert_msg(p == NULL, "'%s' should fail", bad[i]);
        g_autofree char *want = g_strdup_printf("empty parameter name in '%s'", bad[i]);
        ck_assert_str_eq(err->message, want);
        g_error_free(err);
    }
}
END_TEST

START_TEST(last_value_wins_in_get)
{
    g_autoptr(GPtrArray) p = keyval_split("a=1,b,a=2", NULL, NULL);
    gboolean present = FALSE;
    ck_assert_str_eq(keyval_get(p, "a", &present), "2");
    ck_assert(present);
    ck_assert_ptr_null(keyval_get(p, "b", &present));
    ck_assert(present);
    keyval_get(p, "c", &present);
    ck_assert(!present);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyval");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, type_and_pairs);
    tcase_add_test(tc, double_comma_is_a_literal_comma);
    tcase_add_test(tc, first_with_equals_is_not_implied);
    tcase_add_test(tc, empty_value_and_empty_text);
    tcase_add_test(tc, empty_key_is_an_error);
    tcase_add_test(tc, last_value_wins_in_get);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
