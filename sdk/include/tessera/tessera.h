/* SPDX-License-Identifier: MIT */
/**
 * @file tessera/tessera.h
 * @brief Umbrella header of the tessera plugin SDK: include this one.
 */
#ifndef TESSERA_TESSERA_H
#define TESSERA_TESSERA_H

#include "tessera/abi.h"
#include "tessera/host.h"
#include "tessera/plugin.h"
#include "tessera/props.h"

#endif /* TESSERA_TESSERA_H */
