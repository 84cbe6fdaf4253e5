/* SPDX-License-Identifier: MIT */
/* tessera-img: a thin main() around the library in this directory. */
#include <malloc.h>

#include "timg.h"

int main(int argc, char **argv)
{
    struct timg_io io = { stdout, stderr };

    /*
     * Image I/O allocates and frees buffers of a grain or a chunk (64 KiB - 2 MiB) at a
     * high rate. With glibc's defaults each free above 128 KiB gives memory back to the
     * kernel (brk/munmap), and each give-back is a TLB shoot-down on every CPU: a stream
     * conversion measured 3x slower on a 2-vCPU VM. Keep freed memory for reuse instead.
     */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    return timg_main(&io, argc, argv);
}
