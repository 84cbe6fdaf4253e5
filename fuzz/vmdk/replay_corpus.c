/* SPDX-License-Identifier: MIT */
/*
 * Runs the fuzz target over every seed with any compiler (gcc in an ordinary build),
 * so the target's paths run in every ctest, and checks that the seeds meant to be valid
 * images do open: a corpus of images the engine rejects would fuzz only the parser.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_vmdk_run(const uint8_t *data, size_t size, int passes, struct vmdk_error *open_err);

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open corpus file %s", path);
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Seeds that are broken on purpose. */
static const char *const invalid[] = { "afl9-header" };

START_TEST(replay_every_seed)
{
    DIR *dir = opendir(VMDK_FUZZ_CORPUS);
    ck_assert_msg(dir != NULL, "cannot open corpus directory %s", VMDK_FUZZ_CORPUS);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", VMDK_FUZZ_CORPUS, de->d_name);
        size_t len;
        uint8_t *data = read_whole(path, &len);
        bool want_ok = true;
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
            want_ok = want_ok && strcmp(de->d_name, invalid[i]) != 0;
        struct vmdk_error err = { 0 };
        int r = fuzz_vmdk_run(data, len, 1, &err);
        ck_assert_msg((r == 0) == want_ok, "seed %s: open %s (%s)", de->d_name,
                      r == 0 ? "succeeded" : "failed", err.msg);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        files++;
    }
    closedir(dir);
    ck_assert_int_gt(files, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmdk-fuzz-replay");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, replay_every_seed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
