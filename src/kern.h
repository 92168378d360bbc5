/*
 * kern.h — the numeric kernels: GEMM and the few hot element-wise ops.
 *
 * Every kernel has a plain-C reference (kern_ref.c) that is always compiled
 * and is the definition of correct; SIMD versions (kern_avx2.c,
 * kern_avx512.c, kern_neon.c, each compiled with its own target flags) fill
 * the same table. lr__kern_get() picks one table once, from CPUID + XGETBV
 * (HWCAP on arm64); the environment variable LOGRISK_ISA=ref|avx2|avx512|neon
 * forces a path (falling back to ref if the CPU cannot run it).
 *
 * All matrices are row-major float with explicit leading dimensions.
 * Nothing here knows about BERT.
 */
#ifndef LR_KERN_H
#define LR_KERN_H

#include <stddef.h>

#include "logrisk.h"

typedef struct lr__kern {
    const char *name; /* "ref", "avx2", "avx512", "neon" */

    /* Y[m,n] (+)= sum_k X[m,k] * W[n,k] + bias[n]   (X times W transposed:
     * W is a torch Linear weight [N, K]). bias may be NULL. With accumulate
     * the product is added to Y, else Y is overwritten. */
    void (*gemm_nt)(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                    const float *bias, float *Y, int ldy, int accumulate);

    /* Y[m,n] (+)= sum_k X[m,k] * W[k,n]   (W is [K, N]) */
    void (*gemm_nn)(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                    float *Y, int ldy, int accumulate);

    /* Y[m,n] (+)= sum_k X[k,m] * W[k,n]   (X is [K, M]: weight gradients) */
    void (*gemm_tn)(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                    float *Y, int ldy, int accumulate);

    /* x[i] = gamma[i] * (x[i] - mean) / sqrt(var + eps) + beta[i], one row
     * of n (biased variance, like torch.nn.LayerNorm). */
    void (*layernorm)(float *x, const float *gamma, const float *beta, int n, float eps);

    /* x[i] = 0.5 x (1 + erf(x / sqrt 2)), in place */
    void (*gelu)(float *x, size_t n);

    /* x = softmax(x) over one row of n, numerically stable */
    void (*softmax)(float *x, int n);
} lr__kern;

/* The table chosen for this CPU (and LOGRISK_ISA). Never NULL. */
const lr__kern *lr__kern_get(void);

/* A table by name ("ref", "avx2", ...) if this build has it and this CPU
 * can run it, else NULL. Tests use it to compare every path with ref. */
const lr__kern *lr__kern_by_name(const char *name);

/* The reference table: always available. */
extern const lr__kern lr__kern_ref;

/* Threaded drivers: split the work over the pool (NULL = this thread) and
 * call the chosen table. Same contracts as the table entries. */
void lr__linear(lr_pool *pool, int M, int N, int K, const float *X, const float *W,
                const float *bias, float *Y);
void lr__gemm_nt(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, const float *bias, float *Y, int ldy, int accumulate);
void lr__gemm_nn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate);
void lr__gemm_tn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate);

#endif /* LR_KERN_H */
