/* SPDX-License-Identifier: MIT */
/*
 * Measures the VMDK engine directly, without the block layer or tessera-img: the same
 * workloads as run.sh, so the engine's share of tessera-img's time is visible.
 *
 *   vmdk_engine_bench RAW_FILE WORKDIR [THREADS]
 *
 * RAW_FILE is the mixed-content raw image run.sh makes (make_mixed.py). THREADS is the
 * number of compression threads for the streamOptimized conversion (default: CPUs).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmdk.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const struct vmdk_error *err)
{
    fprintf(stderr, "vmdk_engine_bench: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static struct vmdk_image *open_image(const char *path, bool ro, unsigned threads)
{
    struct vmdk_open_options o;
    vmdk_open_options_init(&o);
    o.read_only = ro;
    o.compress_threads = threads;
    o.unsafe_no_ordering_flush = false;
    struct vmdk_image *img;
    struct vmdk_error err = { 0 };
    if (vmdk_open(path, &o, &img, &err) < 0)
        die(path, &err);
    return img;
}

static void create(const char *path, uint64_t size, enum vmdk_subformat f)
{
    struct vmdk_create_options o;
    vmdk_create_options_init(&o);
    o.size = size;
    o.subformat = f;
    struct vmdk_error err = { 0 };
    unlink(path);
    if (vmdk_create(path, &o, &err) < 0)
        die(path, &err);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/* raw -> VMDK in 1 MiB requests, skipping all-zero 64 KiB pieces as convert does. */
static double convert_to(const char *raw, const char *out, enum vmdk_subformat f,
                         unsigned threads)
{
    int fd = open(raw, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(raw);
        exit(1);
    }
    uint64_t size = (uint64_t)st.st_size;
    double t0 = now();
    create(out, size, f);
    struct vmdk_image *img = open_image(out, false, threads);
    uint8_t *buf = malloc(1 << 20);
    struct vmdk_error err = { 0 };
    for (uint64_t off = 0; off < size; off += 1 << 20) {
        size_t n = size - off < (1 << 20) ? (size_t)(size - off) : (1 << 20);
        if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
            perror("pread");
            exit(1);
        }
        for (size_t g = 0; g < n; g += 65536) {
            size_t l = n - g < 65536 ? n - g : 65536;
            if (!is_zero(buf + g, l) && vmdk_write(img, off + g, buf + g, l, &err) < 0)
                die("write", &err);
        }
    }
    if (vmdk_close(img, &err) < 0)
        die("close", &err);
    free(buf);
    close(fd);
    return now() - t0;
}

static double vmdk_to_raw(const char *in, const char *out)
{
    double t0 = now();
    struct vmdk_image *img = open_image(in, true, 1);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint64_t size = vmdk_size(img);
    uint8_t *buf = malloc(1 << 20);
    struct vmdk_error err = { 0 };
    for (uint64_t off = 0; off < size;) {
        struct vmdk_map m;
        if (vmdk_block_status(img, off, size - off, &m, &err) < 0)
            die("block status", &err);
        uint64_t end = off + m.length;
        for (; m.status == VMDK_STATUS_DATA && off < end;) {
            size_t n = end - off < (1 << 20) ? (size_t)(end - off) : (1 << 20);
            if (vmdk_read(img, off, buf, n, &err) < 0)
                die("read", &err);
            if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
                perror("pwrite");
                exit(1);
            }
            off += n;
        }
        off = end;
    }
    if (ftruncate(fd, (off_t)size) < 0 || fdatasync(fd) < 0)
        perror(out);
    close(fd);
    free(buf);
    vmdk_close(img, NULL);
    return now() - t0;
}

static double read_pattern(const char *path, uint64_t count, uint64_t step)
{
    struct vmdk_image *img = open_image(path, true, 1);
    uint64_t size = vmdk_size(img);
    uint8_t buf[4096];
    struct vmdk_error err = { 0 };
    double t0 = now();
    uint64_t off = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (off + sizeof(buf) > size)
            off = 0;
        if (vmdk_read(img, off, buf, sizeof(buf), &err) < 0)
            die("read", &err);
        off += step;
    }
    double t = now() - t0;
    vmdk_close(img, NULL);
    return t;
}

static double allocating_writes(const char *path, uint64_t count)
{
    create(path, 2ull << 30, VMDK_MONOLITHIC_SPARSE);
    double t0 = now();
    struct vmdk_image *img = open_image(path, false, 1);
    uint8_t buf[4096];
    memset(buf, 0x5a, sizeof(buf));
    struct vmdk_error err = { 0 };
    for (uint64_t i = 0; i < count; i++)
        if (vmdk_write(img, i * 65536, buf, sizeof(buf), &err) < 0)
            die("write", &err);
    if (vmdk_close(img, &err) < 0) /* flushes: the writes are durable */
        die("close", &err);
    return now() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: vmdk_engine_bench RAW_FILE WORKDIR [THREADS]\n");
        return 2;
    }
    const char *raw = argv[1], *dir = argv[2];
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    char sparse[4096], stream[4096], stream1[4096], out[4096], w[4096];
    snprintf(sparse, sizeof(sparse), "%s/e-sparse.vmdk", dir);
    snprintf(stream, sizeof(stream), "%s/e-stream.vmdk", dir);
    snprintf(stream1, sizeof(stream1), "%s/e-stream1.vmdk", dir);
    snprintf(out, sizeof(out), "%s/e-out.raw", dir);
    snprintf(w, sizeof(w), "%s/e-w.vmdk", dir);
    struct stat st;
    if (stat(raw, &st) < 0) {
        perror(raw);
        return 1;
    }
    uint64_t mib = (uint64_t)st.st_size >> 20;
    printf("engine only (%llu MiB raw, %u compression threads)\n", (unsigned long long)mib,
           threads);
    printf("  convert raw -> monolithicSparse          %8.3fs\n",
           convert_to(raw, sparse, VMDK_MONOLITHIC_SPARSE, 1));
    printf("  convert raw -> streamOptimized, 1 thread %8.3fs\n",
           convert_to(raw, stream1, VMDK_STREAM_OPTIMIZED, 1));
    printf("  convert raw -> streamOptimized, %2u thr.  %8.3fs\n", threads,
           convert_to(raw, stream, VMDK_STREAM_OPTIMIZED, threads));
    printf("  convert monolithicSparse -> raw          %8.3fs\n", vmdk_to_raw(sparse, out));
    uint64_t reads = ((uint64_t)st.st_size / 53248) < 20000 ? (uint64_t)st.st_size / 53248 : 20000;
    printf("  %5llu 4K reads, 52K stride (sparse)      %8.3fs\n", (unsigned long long)reads,
           read_pattern(sparse, reads, 53248));
    printf("  20000 allocating 4K writes, 64K stride   %8.3fs\n", allocating_writes(w, 20000));
    uint64_t seq = (uint64_t)st.st_size / 4096;
    printf("  %6llu 4K sequential reads (stream)     %8.3fs\n", (unsigned long long)seq,
           read_pattern(stream, seq, 4096));
    unlink(sparse);
    unlink(stream);
    unlink(stream1);
    unlink(out);
    unlink(w);
    return 0;
}
