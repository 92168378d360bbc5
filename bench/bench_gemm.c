/*
 * bench_gemm.c — GFLOP/s of the Linear GEMM (Y = X W^T + b) on the
 * BERT-mini shapes, for every kernel table this CPU runs, at 1 and 2
 * threads, as a share of the CPU's measured fp32 peak (inline-asm FMA loops:
 * 445 GFLOP/s on 2 cores of this Zen 5, ~222 on one; override with
 * LR_PEAK_GFLOPS=<2-core peak>). Also the pre-packed-weight path, and
 * OpenBLAS cblas_sgemm on the same data in the same run when its shared
 * library can be dlopen'ed (the peer; never linked into the product).
 *
 *   build/bench/bench_gemm [min_seconds_per_case [shape_filter]]
 *
 * (default 0.25 s; shape_filter keeps shapes whose "MxNxK" contains it;
 * "backward" keeps only the gemm_nn / gemm_tn rows).
 *
 * Fixed seed; each case runs once to warm up, then in 8 rounds of
 * min_seconds / 8 each; the best round is reported (on a shared machine the
 * best round is the one least disturbed by other processes).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "pool.h"

static const int SHAPES[][3] = {/* M, N, K */
                                {768, 256, 256},   {768, 256, 1024},  {768, 1024, 256},
                                {4096, 256, 256},  {4096, 256, 1024}, {4096, 1024, 256}};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rand_buf(size_t n, uint64_t *s) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        p[i] = (float)((*s >> 40) * (2.0 / 16777216.0) - 1.0);
    }
    return p;
}

typedef struct {
    const lr__kern *k;
    lr_pool *pool;
    const lr__packed *packed; /* non-NULL: the pre-packed path */
    char op;                  /* 0 = nt (Linear), 'n' = gemm_nn, 'T' = gemm_tn */
    int M, N, K;
    const float *X, *W, *b;
    float *Y;
} bench_case;

/* cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*set_threads_fn)(int);
static sgemm_fn blas_sgemm;
static set_threads_fn blas_threads;

static void run_once(const bench_case *c) {
    if (!c->k) { /* OpenBLAS: Y = X W^T (bias not included) */
        blas_sgemm(101 /* RowMajor */, 111 /* NoTrans */, 112 /* Trans */, c->M, c->N, c->K, 1.0f,
                   c->X, c->K, c->W, c->K, 0.0f, c->Y, c->N);
    } else if (c->op == 'n') { /* X [M,K] * W [K,N] */
        lr__gemm_nn_with(c->k, c->pool, c->M, c->N, c->K, c->X, c->K, c->W, c->N, c->Y, c->N, 0);
    } else if (c->op == 'T') { /* X [K,M]^T * W [K,N] */
        lr__gemm_tn_with(c->k, c->pool, c->M, c->N, c->K, c->X, c->M, c->W, c->N, c->Y, c->N, 0);
    } else if (c->packed) {
        lr__gemm_nt_packed(c->pool, c->M, c->X, c->K, c->packed, c->b, c->Y, c->N, 0);
    } else {
        lr__gemm_nt_with(c->k, c->pool, c->M, c->N, c->K, c->X, c->K, c->W, c->K, c->b, c->Y,
                         c->N, 0);
    }
}

static double gflops(const bench_case *c, double min_s) {
    run_once(c);
    double flop = 2.0 * c->M * c->N * c->K, best = 0.0;
    for (int round = 0; round < 8; round++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            run_once(c);
            reps++;
            t = now() - t0;
        } while (t < min_s / 8);
        double g = flop * reps / t * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    double min_s = argc > 1 ? atof(argv[1]) : 0.25;
    if (min_s <= 0) min_s = 0.25;
    double peak2 = getenv("LR_PEAK_GFLOPS") ? atof(getenv("LR_PEAK_GFLOPS")) : 445.0;
    const char *blas_paths[] = {"libopenblas.so.0", "libopenblas.so",
                                "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"};
    for (size_t i = 0; i < sizeof blas_paths / sizeof blas_paths[0] && !blas_sgemm; i++) {
        void *h = dlopen(blas_paths[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        blas_sgemm = (sgemm_fn)(uintptr_t)dlsym(h, "cblas_sgemm");
        blas_threads = (set_threads_fn)(uintptr_t)dlsym(h, "openblas_set_num_threads");
    }
    lr_error err = {0};
    lr_pool *pools[2] = {lr_pool_new(1, &err), lr_pool_new(2, &err)};
    if (!pools[0] || !pools[1]) {
        fprintf(stderr, "bench_gemm: %s\n", err.msg);
        return 1;
    }
    const char *isas[] = {"avx512", "avx2", "neon"};
    printf("# GEMM Y = X W^T + b (lr__linear), GFLOP/s; %% of fp32 peak %.0f (2 cores) / %.0f "
           "(1 core); default path %s\n",
           peak2, peak2 / 2, lr_kernel_path());
    printf("%-7s %-6s %-16s %3s %9s %7s %s\n", "isa", "W", "MxNxK", "thr", "GFLOP/s", "%peak",
           blas_sgemm ? "vs OpenBLAS" : "(OpenBLAS not found)");
    uint64_t seed = 42;
    int status = 0;
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        int M = SHAPES[s][0], N = SHAPES[s][1], K = SHAPES[s][2];
        float *X = rand_buf((size_t)M * K, &seed), *W = rand_buf((size_t)N * K, &seed);
        float *b = rand_buf((size_t)N, &seed), *Y = malloc((size_t)M * N * sizeof *Y);
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", M, N, K);
        if (argc > 2 && !strstr(shape, argv[2])) {
            free(X), free(W), free(b), free(Y);
            continue;
        }
        for (int t = 0; t < 2; t++) {
            double blas = 0.0;
            if (blas_sgemm) {
                if (blas_threads) blas_threads(t + 1);
                bench_case bc = {NULL, NULL, NULL, 0, M, N, K, X, W, b, Y};
                blas = gflops(&bc, min_s);
                printf("%-7s %-6s %-16s %3d %9.1f %6.1f%%\n", "openblas", "", shape, t + 1, blas,
                       100.0 * blas / (peak2 / 2 * (t + 1)));
            }
            for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
                const lr__kern *k = lr__kern_by_name(isas[i]);
                if (!k) continue;
                for (int pre = 0; pre < 2; pre++) {
                    lr__packed *p = pre ? lr__pack_nt(pools[t], k, W, N, K, K, &err) : NULL;
                    if (pre && !p) {
                        fprintf(stderr, "bench_gemm: %s\n", err.msg);
                        status = 1;
                        continue;
                    }
                    bench_case bc = {k, pools[t], p, 0, M, N, K, X, W, b, Y};
                    double g = gflops(&bc, min_s);
                    printf("%-7s %-6s %-16s %3d %9.1f %6.1f%%", k->name, pre ? "packed" : "raw",
                           shape, t + 1, g, 100.0 * g / (peak2 / 2 * (t + 1)));
                    if (blas > 0) printf("   %.2fx", g / blas);
                    printf("\n");
                    lr__packed_free(p);
                }
            }
        }
        free(X), free(W), free(b), free(Y);
    }
    /* the backward GEMMs of a Linear(1024 -> 256) over 768 tokens, default table */
    if (argc <= 2 || strstr("backward", argv[2])) {
        int T = 768, In = 1024, Out = 256;
        float *A = rand_buf((size_t)T * In, &seed), *B = rand_buf((size_t)T * In, &seed);
        float *Y = malloc((size_t)T * In * sizeof *Y);
        for (int t = 0; t < 2; t++) {
            /* dX [T,In] = dY [T,Out] * W [Out,In]; dW [Out,In] = dY^T [Out,T] * X [T,In] */
            bench_case nn = {lr__kern_get(), pools[t], NULL, 'n', T, In, Out, A, B, NULL, Y};
            bench_case tn = {lr__kern_get(), pools[t], NULL, 'T', Out, In, T, A, B, NULL, Y};
            double g = gflops(&nn, min_s);
            printf("%-7s %-6s %-16s %3d %9.1f %6.1f%%   (gemm_nn: dX of Linear)\n", lr_kernel_path(),
                   "nn", "768x1024x256", t + 1, g, 100.0 * g / (peak2 / 2 * (t + 1)));
            g = gflops(&tn, min_s);
            printf("%-7s %-6s %-16s %3d %9.1f %6.1f%%   (gemm_tn: dW of Linear)\n", lr_kernel_path(),
                   "tn", "256x1024x768", t + 1, g, 100.0 * g / (peak2 / 2 * (t + 1)));
        }
        free(A), free(B), free(Y);
    }
    /* the scalar reference once, for scale */
    {
        int M = 96, N = 256, K = 256;
        float *X = rand_buf((size_t)M * K, &seed), *W = rand_buf((size_t)N * K, &seed);
        float *Y = malloc((size_t)M * N * sizeof *Y);
        bench_case bc = {&lr__kern_ref, NULL, NULL, 0, M, N, K, X, W, NULL, Y};
        double g = gflops(&bc, min_s);
        printf("%-7s %-6s %-16s %3d %9.1f %6.1f%%\n", "ref", "raw", "96x256x256", 1, g,
               100.0 * g / (peak2 / 2));
        free(X), free(W), free(Y);
    }
    lr_pool_free(pools[0]);
    lr_pool_free(pools[1]);
    return status;
}
