/* SPDX-License-Identifier: MIT */
#include "util/error.h"

G_DEFINE_QUARK(tessera-error-quark, ts_error)
