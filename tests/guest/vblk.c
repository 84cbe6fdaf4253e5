/* SPDX-License-Identifier: MIT */
/*
 * vblk: the runtime's virtio-blk driver against a virtio-blk-pci device (1af4:1042) whose
 * drive tests/guest/run-vblk.sh prepared (layout below, in 4 KiB blocks; block k of a
 * region with seed S holds the byte (S + 37 k) | 1):
 *   blocks    0..31    host pattern, seed 0x40: read and checked
 *   blocks  256..511   written by the guest, seed 0x90, many requests in flight on every
 *                      queue; read back
 *   blocks 1024..1055  host pattern seed 0x20; write-zeroes makes it zero
 *   blocks 1100..1131  host pattern seed 0x60; discarded, then written with seed 0xa0
 * With mode=ro the drive must be read-only: reads work, writes, write-zeroes and
 * discards fail with IOERR.
 *
 * Command line: mode=rw|ro, move_bar=1 (move the virtio BAR as if it were above 4 GiB,
 * which tessera does with 64-bit BARs), serial=S (GET_ID must return it), queues=N (MQ must give N
 * queues), bench=1 (no tests: times 4 KiB I/O, see bench/virtio-blk), ops=N (at most 65536; sequential
 * runs wrap at the end of the disk), depth=N, event_idx=0 (do not negotiate RING_EVENT_IDX: the
 * device then suppresses notifications with VRING_USED_F_NO_NOTIFY).
 */
#include "guest.h"
#include "virtio.h"

#define BLK 4096u
#define R_FIRST 0
#define R_COUNT 32
#define W_FIRST 256
#define W_COUNT 256
#define Z_FIRST 1024
#define Z_COUNT 32
#define D_FIRST 1100
#define D_COUNT 32

static struct vblk dev;
static uint8_t data[W_COUNT * BLK] __attribute__((aligned(4096)));

static uint8_t pattern(unsigned seed, unsigned block) { return (uint8_t)((seed + 37 * block) | 1); }

/* ---- loops that run at CPL3 ---- */

struct fill { uint8_t *buf; unsigned first, count, seed; bool zero; };

static uint64_t fill_blocks(uint64_t arg)
{
    struct fill *f = (struct fill *)(uintptr_t)arg;
    for (unsigned i = 0; i < f->count; i++)
        memset(f->buf + (uint64_t)i * BLK, f->zero ? 0 : pattern(f->seed, f->first + i), BLK);
    return 0;
}

/* Number of blocks that do not hold their pattern (or zeros). */
static uint64_t check_blocks(uint64_t arg)
{
    struct fill *f = (struct fill *)(uintptr_t)arg;
    uint64_t bad = 0;
    for (unsigned i = 0; i < f->count; i++) {
        uint8_t want = f->zero ? 0 : pattern(f->seed, f->first + i);
        const uint8_t *p = f->buf + (uint64_t)i * BLK;
        for (unsigned j = 0; j < BLK; j++) {
            if (p[j] != want) {
                bad++;
                break;
            }
        }
    }
    return bad;
}

static void fill(unsigned first, unsigned count, unsigned seed)
{
    struct fill f = { data, first, count, seed, false };
    cpl3_call(fill_blocks, (uintptr_t)&f);
}

static uint64_t check(unsigned first, unsigned count, unsigned seed, bool zero)
{
    struct fill f = { data, first, count, seed, zero };
    return cpl3_call(check_blocks, (uintptr_t)&f);
}

/*
 * A batch of 4 KiB requests: block first + i from data + i * BLK (or block order[i] when
 * order is set), spread over every queue, keeping up to depth requests in flight.
 */
struct batch {
    uint32_t type;
    unsigned first, count, depth;
    const uint32_t *order;   /* NULL: sequential */
    bool same_buffer;        /* every request uses data[0..BLK) (benchmark) */
    unsigned wrap;           /* block numbers modulo this when nonzero (benchmark) */
    unsigned failed, max_inflight, want_status_count;
    uint8_t want_status;
};

static uint64_t run_batch(uint64_t arg)
{
    struct batch *bt = (struct batch *)(uintptr_t)arg;
    unsigned next = 0, done = 0, inflight = 0, nq = dev.nqueues;
    unsigned depth = bt->depth ? bt->depth : nq * dev.slots;

    bt->failed = bt->max_inflight = bt->want_status_count = 0;
    for (uint64_t spin = 0; done < bt->count && spin < (1ull << 34); spin++) {
        unsigned queued[VBLK_MAX_QUEUES] = { 0 };
        while (next < bt->count && inflight < depth) {
            unsigned qi = next % nq;
            unsigned blk = bt->order ? bt->order[next] : bt->first + next;
            if (bt->wrap)
                blk %= bt->wrap;
            uint8_t *buf = data + (bt->same_buffer ? 0 : (uint64_t)next * BLK);
            if (vblk_submit(&dev, qi, bt->type, (uint64_t)blk * (BLK / 512), buf, BLK, 0) < 0)
                break;
            queued[qi]++;
            next++;
            inflight++;
        }
        if (inflight > bt->max_inflight)
            bt->max_inflight = inflight;
        for (unsigned qi = 0; qi < nq; qi++)
            if (queued[qi])
                vblk_kick(&dev, qi);
        for (unsigned qi = 0; qi < nq; qi++) {
            if (!vblk_reap(&dev, qi))
                continue;
            for (unsigned s = 0; s < dev.slots; s++) {
                struct vblk_slot *sl = &dev.slot[qi][s];
                if (sl->busy && sl->done) {
                    uint8_t st = vblk_release(&dev, qi, (int)s);
                    bt->failed += st != VIRTIO_BLK_S_OK;
                    bt->want_status_count += st == bt->want_status;
                    done++;
                    inflight--;
                }
            }
        }
    }
    return done;
}

static bool batch(uint32_t type, unsigned first, unsigned count, struct batch *bt)
{
    *bt = (struct batch){ .type = type, .first = first, .count = count };
    return cpl3_call(run_batch, (uintptr_t)bt) == count && bt->failed == 0;
}

/* ---- benchmark ---- */

#define BENCH_MAX_OPS 65536
static uint32_t order[BENCH_MAX_OPS];
static unsigned order_n;

/* order[0..order_n) = pseudo-random blocks in [0, arg) (xorshift64). */
static uint64_t make_order(uint64_t arg)
{
    unsigned n = order_n;
    uint64_t span = arg, x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        order[i] = span ? (uint32_t)(x % span) : 0;
    }
    return 0;
}

/* Doorbells rung on every queue so far. */
static uint64_t total_kicks(void)
{
    uint64_t n = 0;
    for (unsigned qi = 0; qi < dev.nqueues; qi++)
        n += dev.q[qi].kicks;
    return n;
}

static int bench(const struct boot_info *bi)
{
    unsigned ops = (unsigned)cmdline_get_u64(bi->cmdline, "ops", 4096);
    unsigned depth = (unsigned)cmdline_get_u64(bi->cmdline, "depth", 1);
    uint64_t blocks = dev.capacity / (BLK / 512);
    uint64_t tpu = tsc_hz() / 1000000;
    static const struct { const char *name; uint32_t type; bool random; } w[] = {
        { "seq-read", VIRTIO_BLK_T_IN, false }, { "rand-read", VIRTIO_BLK_T_IN, true },
        { "seq-write", VIRTIO_BLK_T_OUT, false }, { "rand-write", VIRTIO_BLK_T_OUT, true },
    };

    if (ops > BENCH_MAX_OPS)
        ops = BENCH_MAX_OPS;
    order_n = ops;
    printf("bench: %lu blocks, %u queue(s), depth %u, %u ops, tsc %lu/us\n", blocks,
           dev.nqueues, depth, ops, tpu);
    for (unsigned i = 0; i < 4; i++) {
        struct batch bt = { .type = w[i].type, .count = ops, .depth = depth,
                            .order = w[i].random ? order : NULL, .same_buffer = true,
                            .wrap = (unsigned)blocks };
        cpl3_call(make_order, blocks);
        uint64_t kicks0 = total_kicks();
        uint64_t t0 = rdtsc();
        uint64_t done = cpl3_call(run_batch, (uintptr_t)&bt);
        uint64_t t = rdtsc() - t0;
        uint64_t us = tpu ? t / tpu : 0, kicks = total_kicks() - kicks0;
        printf("bench: %s ops=%lu failed=%u us=%lu iops=%lu kicks=%lu\n", w[i].name, done,
               bt.failed, us, us ? done * 1000000 / us : 0, kicks);
    }
    vblk_do(&dev, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    return 0;
}

/* ---- tests ---- */

int guest_main(const struct boot_info *bi)
{
    char mode[8] = "rw", serial[24] = "", id[21];
    bool ro;
    struct batch bt;

    cmdline_get(bi->cmdline, "mode", mode, sizeof(mode));
    cmdline_get(bi->cmdline, "serial", serial, sizeof(serial));
    unsigned want_queues = (unsigned)cmdline_get_u64(bi->cmdline, "queues", 1);
    ro = !strcmp(mode, "ro");

    vpci_move_bars_low = cmdline_get_u64(bi->cmdline, "move_bar", 0) != 0;
    vblk_no_event_idx = cmdline_get_u64(bi->cmdline, "event_idx", 1) == 0;
    int r = vblk_init(&dev, VBLK_MAX_QUEUES);
    if (cmdline_get_u64(bi->cmdline, "bench", 0)) {
        if (r < 0) {
            printf("bench: no usable virtio-blk device (%d)\n", r);
            return 1;
        }
        return bench(bi);
    }

    tap_plan(ro ? 7 : 12);
    if (!tap_ok(r == 0, "virtio-blk device found and set up (%d)", r))
        return tap_result();
    tap_diag("capacity %lu sectors, block size %u, features %#lx of %#lx, %u queue(s) of %u, "
             "%u slots each", dev.capacity, dev.blk_size, dev.dev.features,
             dev.dev.device_features, dev.nqueues, dev.q[0].size, dev.slots);
    tap_ok(dev.capacity >= (uint64_t)(D_FIRST + D_COUNT) * 8 && dev.blk_size == 512 &&
               vblk_has(&dev, VIRTIO_BLK_F_FLUSH) && vblk_has(&dev, VIRTIO_BLK_F_SEG_MAX) &&
               vblk_has(&dev, VIRTIO_BLK_F_RO) == ro,
           "capacity %lu, 512-byte blocks, FLUSH and SEG_MAX offered, RO %s", dev.capacity,
           ro ? "offered" : "not offered");
    tap_ok(dev.nqueues == want_queues &&
               (want_queues == 1 || vblk_has(&dev, VIRTIO_BLK_F_MQ)),
           "%u queue(s) set up (MQ %s), %u wanted", dev.nqueues,
           vblk_has(&dev, VIRTIO_BLK_F_MQ) ? "offered" : "not offered", want_queues);

    memset(id, 0, sizeof(id));
    uint8_t st = vblk_do(&dev, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20, 0);
    tap_ok(st == VIRTIO_BLK_S_OK && !strcmp(id, serial), "GET_ID: status %u, \"%s\" (want \"%s\")",
           st, id, serial);

    bool ok = batch(VIRTIO_BLK_T_IN, R_FIRST, R_COUNT, &bt);
    uint64_t bad = check(R_FIRST, R_COUNT, 0x40, false);
    tap_ok(ok && bad == 0, "read the host's pattern: %u blocks on %u queue(s), %u failed, "
           "%lu wrong", R_COUNT, dev.nqueues, bt.failed, bad);

    if (ro) {
        fill(W_FIRST, 8, 0x90);
        *(struct batch *)&bt = (struct batch){ .type = VIRTIO_BLK_T_OUT, .first = W_FIRST,
                                               .count = 8, .want_status = VIRTIO_BLK_S_IOERR };
        uint64_t n = cpl3_call(run_batch, (uintptr_t)&bt);
        tap_ok(n == 8 && bt.want_status_count == 8, "writes to a read-only drive: %u of 8 IOERR",
               bt.want_status_count);
        uint8_t wz = vblk_do(&dev, 0, VIRTIO_BLK_T_WRITE_ZEROES, Z_FIRST * 8ull, NULL,
                             Z_COUNT * BLK, 0);
        uint8_t dc = vblk_do(&dev, 0, VIRTIO_BLK_T_DISCARD, D_FIRST * 8ull, NULL,
                             D_COUNT * BLK, 0);
        /* A discard only allows the device to drop data, so QEMU answers OK; either way
         * the range must still hold the host's pattern. */
        ok = batch(VIRTIO_BLK_T_IN, D_FIRST, D_COUNT, &bt);
        bad = check(D_FIRST, D_COUNT, 0x60, false);
        tap_ok(wz == VIRTIO_BLK_S_IOERR && (dc == VIRTIO_BLK_S_IOERR || dc == VIRTIO_BLK_S_OK) &&
                   ok && bad == 0,
               "read-only drive: write-zeroes status %u (IOERR), discard status %u, discarded "
               "range unchanged (%lu wrong)", wz, dc, bad);
        return tap_result();
    }

    fill(W_FIRST, W_COUNT, 0x90);
    ok = batch(VIRTIO_BLK_T_OUT, W_FIRST, W_COUNT, &bt);
    tap_ok(ok && bt.max_inflight > 1, "wrote %u blocks, up to %u requests in flight, %u failed",
           W_COUNT, bt.max_inflight, bt.failed);
    for (unsigned qi = 0; qi < dev.nqueues; qi++)
        tap_diag("queue %u: %lu doorbells rung, %lu left out at the device's request (event index %s)",
                 qi, dev.q[qi].kicks, dev.q[qi].kicks_saved, dev.q[qi].event_idx ? "on" : "off");
    st = vblk_do(&dev, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    tap_ok(st == VIRTIO_BLK_S_OK, "flush: status %u", st);
    memset(data, 0, sizeof(data));
    ok = batch(VIRTIO_BLK_T_IN, W_FIRST, W_COUNT, &bt);
    bad = check(W_FIRST, W_COUNT, 0x90, false);
    tap_ok(ok && bad == 0, "read back %u written blocks: %u failed, %lu wrong", W_COUNT,
           bt.failed, bad);

    if (vblk_has(&dev, VIRTIO_BLK_F_WRITE_ZEROES)) {
        st = vblk_do(&dev, dev.nqueues - 1, VIRTIO_BLK_T_WRITE_ZEROES, Z_FIRST * 8ull, NULL,
                     Z_COUNT * BLK, 0);
        ok = batch(VIRTIO_BLK_T_IN, Z_FIRST, Z_COUNT, &bt);
        bad = check(Z_FIRST, Z_COUNT, 0, true);
        tap_ok(st == VIRTIO_BLK_S_OK && ok && bad == 0,
               "write-zeroes of %u blocks: status %u, %lu not zero", Z_COUNT, st, bad);
    } else {
        tap_skip("WRITE_ZEROES not offered");
    }
    if (vblk_has(&dev, VIRTIO_BLK_F_DISCARD)) {
        st = vblk_do(&dev, 0, VIRTIO_BLK_T_DISCARD, D_FIRST * 8ull, NULL, D_COUNT * BLK, 0);
        fill(D_FIRST, D_COUNT, 0xa0);
        bool wok = batch(VIRTIO_BLK_T_OUT, D_FIRST, D_COUNT, &bt);
        memset(data, 0, D_COUNT * BLK);
        ok = batch(VIRTIO_BLK_T_IN, D_FIRST, D_COUNT, &bt);
        bad = check(D_FIRST, D_COUNT, 0xa0, false);
        tap_ok(st == VIRTIO_BLK_S_OK && wok && ok && bad == 0,
               "discard of %u blocks: status %u; rewritten and read back, %lu wrong", D_COUNT,
               st, bad);
    } else {
        tap_skip("DISCARD not offered");
    }
    /* A request past the end of the disk fails with IOERR and the device keeps going. */
    st = vblk_do(&dev, 0, VIRTIO_BLK_T_IN, dev.capacity, data, BLK, 0);
    tap_ok(st == VIRTIO_BLK_S_IOERR, "a read past the end of the disk: status %u (IOERR)", st);
    st = vblk_do(&dev, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
    tap_ok(st == VIRTIO_BLK_S_OK &&
               !(vpci_status(&dev.dev) & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)),
           "final flush: status %u, device status %#x", st, vpci_status(&dev.dev));
    return tap_result();
}
