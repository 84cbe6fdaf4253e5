/* SPDX-License-Identifier: MIT */
/* The main() of a fuzz target's replay test; see fuzz_replay.h. */
#include "fuzz_replay.h"

#include <stdbool.h>
#include <stdlib.h>

int fuzz_replay_run(const char *suite_name, const TTest *test, double timeout_s)
{
    TCase *replay = tcase_create("replay");
    tcase_set_timeout(replay, timeout_s);
    tcase_add_test(replay, test);
    Suite *suite = suite_create(suite_name);
    suite_add_tcase(suite, replay);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    bool passed = srunner_ntests_failed(runner) == 0;
    srunner_free(runner);
    return passed ? EXIT_SUCCESS : EXIT_FAILURE;
}
