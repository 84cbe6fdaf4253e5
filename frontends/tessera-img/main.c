/* SPDX-License-Identifier: MIT */
/* tessera-img: a thin main() around the library in this directory. */
#include "timg.h"

int main(int argc, char **argv)
{
    struct timg_io io = { stdout, stderr };

    return timg_main(&io, argc, argv);
}
