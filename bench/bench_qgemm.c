/*
 * bench_qgemm.c — the low-precision Linear GEMMs (qkern.h) against the fp32
 * one (kern.h) on BERT-mini's shapes, one thread: GOP/s (2*M*N*K per
 * second), % of this CPU's measured per-core peak for the dtype, and the
 * speed-up over fp32 measured in the same run.
 *
 *   build/bench/bench_qgemm [seconds_per_rep]      (default 0.02)
 *
 * Shapes: M = 64 (one thread's block of rows) and 512, N x K in 768x256
 * (Q|K|V fused), 256x256 (attention output), 1024x256 (FFN up), 256x1024
 * (FFN down). For each: fp32 with lr__kern_get()'s pre-packed GEMM, then
 * int8 and bf16 on every qkern table this build and CPU run (the chosen one
 * marked '*'; the scalar reference is left out: it is a definition, not a
 * contender). Weights are real quantizations of one fixed random matrix
 * (lr__q8_quantize_weight, lr__bf16_from_f32), so "err" is the largest
 * |y - y_fp32| relative to max |y_fp32|, i.e. the dtype's accuracy cost on
 * this data.
 *
 * Peaks (measured on this Zen 5 with inline-asm loops of 16 independent
 * accumulators, per core = half the 2-core figure): fp32
 * FMA 222.5 GFLOP/s, bf16 vdpbf16ps 455.5, int8 vpdpbusd 917 GOP/s;
 * override with LR_PEAK_FP32 / LR_PEAK_BF16 / LR_PEAK_INT8 elsewhere.
 *
 * Fixed seed; each case runs once to warm up, then 7 timed repetitions of
 * at least seconds_per_rep each; the median is reported. About 10 s.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "qkern.h"
#include "quant.h"

#define REPS 7

static const int SHAPES[][2] = {{768, 256}, {256, 256}, {1024, 256}, {256, 1024}}; /* N, K */
static const int ROWS[] = {64, 512};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}

/* 64-byte aligned, size rounded up (aligned_alloc wants a multiple). */
static void *alloc64(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "bench_qgemm: out of memory\n");
        exit(1);
    }
    return p;
}

typedef struct {
    int M, N, K;
    const float *X, *bias;
    float *Y;
    const lr__kern *k; /* fp32 */
    const float *wp32;
    const lr__qkern *q; /* int8 or bf16 */
    int bf16;
    const int8_t *wq8;
    const float *wscale;
    const int32_t *wsum;
    const uint16_t *wbf16;
} bench_case;

static void run_once(const bench_case *c) {
    if (c->k)
        c->k->gemm_nt_packed(c->M, c->N, c->K, c->X, c->K, c->wp32, c->bias, c->Y, c->N, 0);
    else if (c->bf16)
        c->q->gemm_bf16(c->M, c->N, c->K, c->X, c->K, c->wbf16, c->bias, c->Y, c->N, 0);
    else
        c->q->gemm_q8(c->M, c->N, c->K, c->X, c->K, c->wq8, c->wscale, c->wsum, c->bias, c->Y,
                      c->N, 0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median GOP/s over REPS repetitions of at least rep_s seconds. */
static double gops(const bench_case *c, double rep_s) {
    double ops = 2.0 * c->M * c->N * c->K, rate[REPS];
    run_once(c);
    for (int r = 0; r < REPS; r++) {
        int n = 0;
        double t0 = now(), t;
        do {
            run_once(c);
            n++;
            t = now() - t0;
        } while (t < rep_s);
        rate[r] = ops * n / t * 1e-9;
    }
    qsort(rate, REPS, sizeof rate[0], cmp_double);
    return rate[REPS / 2];
}

static double max_rel_err(const float *y, const float *ref, size_t n) {
    double amax = 0.0, dmax = 0.0;
    for (size_t i = 0; i < n; i++) {
        amax = fmax(amax, fabs(ref[i]));
        dmax = fmax(dmax, fabs((double)y[i] - ref[i]));
    }
    return amax > 0 ? dmax / amax : dmax;
}

static double env_or(const char *name, double dflt) {
    const char *v = getenv(name);
    return v && atof(v) > 0 ? atof(v) : dflt;
}

int main(int argc, char **argv) {
    double rep_s = argc > 1 && atof(argv[1]) > 0 ? atof(argv[1]) : 0.02;
    double peak_fp32 = env_or("LR_PEAK_FP32", 222.5), peak_bf16 = env_or("LR_PEAK_BF16", 455.5);
    double peak_int8 = env_or("LR_PEAK_INT8", 917.0);
    const lr__kern *k32 = lr__kern_get();
    const lr__qkern *chosen = lr__qkern_get();
    const lr__qkern *tables[16];
    int n_tables = 0;
    for (int i = 0; lr__qkern_name(i) && n_tables < 16; i++) {
        const lr__qkern *q = lr__qkern_by_name(lr__qkern_name(i));
        if (q && strcmp(q->name, "ref") != 0) tables[n_tables++] = q;
    }
    printf("# low-precision Linear GEMM Y = X W^T + b, 1 thread, GOP/s = 2MNK/s (median of %d)\n",
           REPS);
    printf("# %% of measured per-core peak: fp32 %.1f, bf16 %.1f, "
           "int8 %.0f GOP/s\n",
           peak_fp32, peak_bf16, peak_int8);
    printf("# fp32 = kern %s (pre-packed); qkern chosen: %s (*)\n", k32->name, chosen->name);
    printf("%-14s %-5s %-12s %8s %7s %8s %9s\n", "MxNxK", "dtype", "table", "GOP/s", "%peak",
           "x fp32", "err");

    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        int N = SHAPES[s][0], K = SHAPES[s][1];
        float *W = malloc((size_t)N * K * sizeof *W), *bias = malloc((size_t)N * sizeof *bias);
        int8_t *wq = malloc((size_t)N * K);
        float *wscale = malloc((size_t)N * sizeof *wscale);
        uint16_t *wb = malloc((size_t)N * K * sizeof *wb);
        int32_t *wsum = malloc((size_t)N * sizeof *wsum);
        for (size_t i = 0; i < (size_t)N * K; i++) W[i] = 0.05f * frand();
        for (int n = 0; n < N; n++) bias[n] = 0.02f * frand();
        lr__q8_quantize_weight(W, N, K, wq, wscale);
        for (size_t i = 0; i < (size_t)N * K; i++) wb[i] = lr__bf16_from_f32(W[i]);
        float *wp32 = alloc64(lr__packed_floats(k32->nr, N, K) * sizeof(float));
        k32->pack_nt(N, K, W, K, wp32);

        for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
            int M = ROWS[r];
            float *X = malloc((size_t)M * K * sizeof *X);
            float *Y = malloc((size_t)M * N * sizeof *Y), *Y32 = malloc((size_t)M * N * sizeof *Y);
            for (size_t i = 0; i < (size_t)M * K; i++) X[i] = frand();
            char shape[32];
            snprintf(shape, sizeof shape, "%dx%dx%d", M, N, K);

            bench_case c = {.M = M, .N = N, .K = K, .X = X, .bias = bias, .Y = Y32, .k = k32,
                            .wp32 = wp32};
            double g32 = gops(&c, rep_s);
            printf("%-14s %-5s %-12s %8.1f %6.1f%% %8s %9s\n", shape, "fp32", k32->name, g32,
                   100.0 * g32 / peak_fp32, "1.00", "-");

            for (int bf = 0; bf < 2; bf++)
                for (int t = 0; t < n_tables; t++) {
                    const lr__qkern *q = tables[t];
                    if (bf && q->bf16_nr == 0) continue;
                    int nr = bf ? q->bf16_nr : q->q8_nr;
                    int8_t *pq = NULL;
                    uint16_t *pb = NULL;
                    if (bf) {
                        pb = alloc64(lr__bf16_packed_elems(nr, N, K) * sizeof *pb);
                        q->pack_bf16(N, K, wb, K, pb);
                    } else {
                        pq = alloc64(lr__q8_packed_bytes(nr, N, K));
                        q->pack_q8(N, K, wq, K, pq, wsum);
                    }
                    bench_case cq = {.M = M, .N = N, .K = K, .X = X, .bias = bias, .Y = Y,
                                     .q = q, .bf16 = bf, .wq8 = pq, .wscale = wscale,
                                     .wsum = wsum, .wbf16 = pb};
                    double g = gops(&cq, rep_s);
                    char name[24];
                    snprintf(name, sizeof name, "%s%s", q->name, q == chosen ? "*" : "");
                    printf("%-14s %-5s %-12s %8.1f %6.1f%% %7.2fx %9.2e\n", shape,
                           bf ? "bf16" : "int8", name, g,
                           100.0 * g / (bf ? peak_bf16 : peak_int8), g / g32,
                           max_rel_err(Y, Y32, (size_t)M * N));
                    free(pq);
                    free(pb);
                }
            free(X);
            free(Y);
            free(Y32);
        }
        free(W);
        free(bias);
        free(wq);
        free(wscale);
        free(wb);
        free(wsum);
        free(wp32);
    }
    return 0;
}
