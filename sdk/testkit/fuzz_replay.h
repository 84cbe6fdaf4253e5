/* SPDX-License-Identifier: MIT */
/*
 * The main() of a fuzz target's replay test: with any compiler, ctest runs the target's
 * LLVMFuzzerTestOneInput over deterministic inputs through one Check test. In-tree only
 * (not part of the installed testkit).
 */
#ifndef TESSERA_FUZZ_REPLAY_H
#define TESSERA_FUZZ_REPLAY_H

#include <check.h>

/*
 * Runs test (from START_TEST) as the one test of case "replay" in suite suite_name, with a
 * timeout of timeout_s seconds. Returns the exit status for main: EXIT_SUCCESS when it passed.
 */
int fuzz_replay_run(const char *suite_name, const TTest *test, double timeout_s);

#endif
