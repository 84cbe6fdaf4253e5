/* SPDX-License-Identifier: MIT */
/* The library the missing-dependency plugin links against; tests never put it on the path. */
__attribute__((visibility("default"))) int tessera_test_dependency(void);
__attribute__((visibility("default"))) int tessera_test_dependency(void) { return 7; }
