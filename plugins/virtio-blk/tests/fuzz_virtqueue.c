/* SPDX-License-Identifier: MIT */
/*
 * A hostile driver, fuzzed: each input fills queue 0's descriptor table, avail ring and
 * a 64 KiB buffer area of guest RAM (headers, indirect tables, data) with guest-chosen
 * bytes, makes entries available and notifies. The device must not crash, and a
 * well-formed read on queue 1 must still complete after every input.
 *
 * With TESSERA_FUZZ=ON and clang this is a libFuzzer target (fuzz_virtio_blk); with any
 * compiler, test_virtio_blk_fuzz_replay runs it over deterministic pseudo-random inputs.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAP 0x1000000ull
#define AREA 0x10000u

static tk_machine *m;
static char disk[64];

static void machine_once(void)
{
    if (m)
        return;
    snprintf(disk, sizeof(disk), "/tmp/vblk-fuzz-%d.raw", (int)getpid());
    int fd = open(disk, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        abort();
    close(fd);
    m = tk_machine_new(0);
    char spec[128];
    snprintf(spec, sizeof(spec), "file=%s,format=raw,if=none,id=d0,cache=unsafe", disk);
    if (!m || tk_drive_add(m, spec) < 0 ||
        !tk_device_add(m, "virtio-blk-pci,drive=d0,num-queues=2,queue-size=16"))
        abort();
    unlink(disk); /* the open drive keeps it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    machine_once();
    tk_reset(m);
    vdrv d;
    vdrv_probe(&d, m);
    vdrv_init(&d, F_INDIRECT | F_EVENT_IDX | (1ull << 12) /* MQ */ | (1ull << 13) | (1ull << 14), 2, 0);
    if (size < 16 * 16 + 2 * 16 + 4)
        return 0;
    /* Descriptors: addresses mostly inside the buffer area, sometimes anywhere. */
    uint8_t *desc = vdrv_ptr(&d, d.q[0].desc, 16 * 16);
    for (unsigned i = 0; i < 16; i++, data += 16, size -= 16) {
        uint64_t addr;
        uint32_t len;
        memcpy(&addr, data, 8);
        memcpy(&len, data + 8, 4);
        if (!(addr >> 62))
            addr = HEAP + (addr % 64) * 1024; /* 1 KiB slots: headers sit at slot starts */
        else if (!(addr >> 63))
            addr = HEAP + addr % AREA;
        if (!(len >> 31))
            len %= 0x3000;
        memcpy(desc + 16 * i, &addr, 8);
        memcpy(desc + 16 * i + 8, &len, 4);
        memcpy(desc + 16 * i + 12, data + 12, 4); /* flags and next as given */
    }
    uint16_t *avail = vdrv_ptr(&d, d.q[0].avail, 6 + 2 * 16);
    memcpy(&avail[2], data, 2 * 16);
    data += 32, size -= 32;
    avail[0] = data[0] & 1;                       /* flags */
    avail[2 + 16] = (uint16_t)(data[1] | data[2] << 8); /* used_event */
    uint16_t count = data[3];                     /* entries made available: may exceed the ring */
    data += 4, size -= 4;
    memcpy(vdrv_ptr(&d, HEAP, AREA), data, size < AREA ? size : AREA);
    __atomic_store_n(&avail[1], count, __ATOMIC_RELEASE);
    vdrv_kick(&d, 0);
    tk_process_events(m);

    /* Queue 1 still serves a good request. */
    d.heap = HEAP + AREA;
    uint64_t buf = vdrv_alloc(&d, 4096);
    if (vdrv_blk(&d, 1, 0 /* IN */, 8, buf, 4096) != 0)
        abort();
    return 0;
}

#ifndef TESSERA_LIBFUZZER
#include "fuzz_replay.h"

START_TEST(replay_random_inputs)
{
    uint32_t s = 0x2545f491u;
    static uint8_t buf[16384];
    for (unsigned round = 0; round < 1500; round++) {
        size_t n = 300 + (round * 997) % (sizeof(buf) - 300);
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            buf[i] = (uint8_t)s;
        }
        /* Make well-formed-looking chains common: small next indices, sane flags. */
        for (unsigned k = 0; k < 16; k++) {
            if (round % 3)
                buf[16 * k + 14] %= 18, buf[16 * k + 15] = 0;
            if (round % 5 == 0)
                buf[16 * k + 12] &= 7, buf[16 * k + 13] = 0;
        }
        for (unsigned k = 0; k < 16 && round % 7; k++)
            buf[256 + 2 * k] %= 17, buf[256 + 2 * k + 1] = 0; /* heads mostly in range */
        if (round % 2 == 0) {
            /* Every other round: chains of three (header, data, status) with mutated details. */
            for (unsigned k = 0; k < 15; k++) {
                uint8_t *dsc = buf + 16 * k, pos = k % 3, r = dsc[12];
                uint16_t flags = pos == 0 ? 1 : pos == 1 ? (uint16_t)(1 | (r & 2)) : 2;
                uint32_t len = pos == 0 ? 16u + (r & 7) * (r & 8 ? 1 : 0) : pos == 1 ? 512u * (1 + (r & 7)) : 1;
                if ((r & 0xf0) == 0xf0)
                    flags ^= (uint16_t)(1u << (r & 3)); /* now and then a flipped flag */
                memset(dsc + 7, 0, 1); /* keep addresses in the slot range */
                memcpy(dsc + 8, &len, 4);
                memcpy(dsc + 12, &flags, 2);
                dsc[14] = (uint8_t)(k + 1), dsc[15] = 0;
            }
            for (unsigned k = 0; k < 16; k++)
                buf[256 + 2 * k] = (uint8_t)(3 * (buf[256 + 2 * k] % 5)), buf[256 + 2 * k + 1] = 0;
        }
        buf[16 * 16 + 32 + 3] %= (round % 4 == 0) ? 255 : 17;
        /* Plausible request headers at the slot starts: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES. */
        static const uint8_t types[] = { 0, 1, 4, 8, 11, 13, 0, 1 };
        for (size_t slot = 0; slot < 64 && 292 + slot * 1024 + 16 <= n; slot++) {
            uint8_t *h = buf + 292 + slot * 1024;
            h[0] = types[h[0] % 8], h[1] = h[2] = h[3] = 0;
            h[8] = h[8] % 64, memset(h + 9, 0, 7); /* sector below 64 */
        }
        ck_assert_int_eq(LLVMFuzzerTestOneInput(buf, n), 0);
    }
    tk_machine_free(m);
    m = NULL;
}
END_TEST

int main(void)
{
    return fuzz_replay_run("virtio_blk_fuzz_replay", replay_random_inputs, 240);
}
#endif
