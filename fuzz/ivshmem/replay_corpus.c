/*
 * Runs the fuzz target over every file of the seed corpus with any compiler, so the
 * target's invariants are checked in every ordinary ctest run, not only under clang.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    ck_assert_msg(f != NULL, "cannot open corpus file %s", path);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(replay_every_seed)
{
    static uint8_t buf[1 << 16];
    DIR *dir = opendir(IVSHMEM_FUZZ_CORPUS);
    struct dirent *de;
    int files = 0;

    ck_assert_msg(dir != NULL, "cannot open corpus directory %s", IVSHMEM_FUZZ_CORPUS);
    while ((de = readdir(dir)) != NULL) {
        char path[4096];
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", IVSHMEM_FUZZ_CORPUS, de->d_name);
        LLVMFuzzerTestOneInput(buf, read_whole(path, buf, sizeof(buf)));
        files++;
    }
    closedir(dir);
    ck_assert_int_gt(files, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ivshmem-fuzz-replay");
    TCase *tc = tcase_create("corpus");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, replay_every_seed);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
