/*
 * kern.h — the numeric kernels: GEMM, the few hot element-wise ops and
 * fused attention of one (sequence, head).
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
 *
 * GEMM on the SIMD paths is the usual packed-panel scheme (kern_simd.h):
 * W is packed into panels of `nr` output columns laid out [k][nr] (zero
 * padded), X into tiles of MR rows, and a register-tile micro-kernel runs
 * over blocks of K. Packing W is exposed (pack_nt / gemm_nt_packed and the
 * lr__packed handle) so a model can pack its Linear weights once at load.
 */
#ifndef LR_KERN_H
#define LR_KERN_H

#include <stddef.h>

#include "logrisk.h"
#include "qkern.h"

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

    /* Width of a packed W panel (1 for ref: packed == W with ldw = K). */
    int nr;

    /* Pack W [N,K] (row stride ldw) into ceil(N/nr) panels of nr*K floats,
     * panel p holding dst[p*nr*K + k*nr + j] = W[p*nr + j, k] (0 past N).
     * dst is caller-owned, lr__packed_floats(nr, N, K) floats. */
    void (*pack_nt)(int N, int K, const float *W, int ldw, float *dst);

    /* gemm_nt with W given packed by pack_nt of this table. Wp may point at
     * any panel boundary (Wp + p*nr*K) to compute the columns from p*nr on. */
    void (*gemm_nt_packed)(int M, int N, int K, const float *X, int ldx, const float *Wp,
                           const float *bias, float *Y, int ldy, int accumulate);

    /* Y = gelu(X W^T + bias) (overwrites Y): the FFN's first Linear with
     * its activation fused. W is raw [N,K] with stride ldw, or with
     * w_packed the pack_nt output of this table (ldw ignored). */
    void (*gemm_nt_gelu)(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                         int w_packed, const float *bias, float *Y, int ldy);

    /* Attention of one sequence and one head, fused (no mask: all L keys
     * are real tokens). For each query row i < n_q:
     *   s[j]   = scale * (Q[i,:] . K[j,:])            j < L
     *   p      = softmax(s)   (max subtracted, exp, times 1/sum)
     *   O[i,:] = sum_j p[j] V[j,:]
     * Q is [n_q, d], K and V [L, d], O [n_q, d], with row strides ldq, ldk,
     * ldv, ldo (>= d); only O's first d columns of n_q rows are written.
     * scratch: caller-owned, lr__attention_scratch_floats(L, d) floats, any
     * alignment, contents undefined before and after. The arithmetic is the
     * reference's (kern_ref.c): gemm_nt, the scale, softmax, gemm_nn, row by
     * row. Nothing is written when n_q, L or d is <= 0. */
    void (*attention)(int n_q, int L, int d, const float *Q, int ldq, const float *K, int ldk,
                      const float *V, int ldv, float *O, int ldo, float scale, float *scratch);
} lr__kern;

/* Floats of scratch any table's attention needs for L keys of head size d
 * (monotone in L and d: enough for every shorter sequence): with Lp, dp
 * = L, d rounded up to 16 (the widest vector), (d + 8) * Lp + (L + 8) * dp
 * (the SIMD tables' K^T [d][Lp], a block of <= 8 score rows, a padded
 * copy of V and a block of output rows; ref needs L). 0 if L or d <= 0. */
size_t lr__attention_scratch_floats(int L, int d);

/* The table chosen for this CPU (and LOGRISK_ISA). Never NULL. */
const lr__kern *lr__kern_get(void);

/* A table by name ("ref", "avx2", ...) if this build has it and this CPU
 * can run it, else NULL. Tests use it to compare every path with ref. */
const lr__kern *lr__kern_by_name(const char *name);

/* The table LOGRISK_ISA=force selects (force NULL or "" = the best this
 * CPU runs): a known ISA this CPU cannot run gives ref, an unknown name is
 * ignored. lr__kern_get() is lr__kern_choose(getenv("LOGRISK_ISA")). */
const lr__kern *lr__kern_choose(const char *force);

/* The reference table: always available. The SIMD tables exist only in
 * builds for their architecture; use lr__kern_by_name to get one safely. */
extern const lr__kern lr__kern_ref;
#if defined(__x86_64__)
extern const lr__kern lr__kern_avx2;
extern const lr__kern lr__kern_avx512;
#endif
#if defined(__aarch64__)
extern const lr__kern lr__kern_neon;
#endif

/* Floats in W packed with panel width nr (ceil(N/nr) * nr * K). */
size_t lr__packed_floats(int nr, int N, int K);

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

/* The smallest job (in multiply-adds M*N*K) the drivers hand to the pool;
 * smaller ones run on the calling thread, where waking workers would cost
 * more than they save. */
#define LR_KERN_PAR_MIN_MACS (1L << 18)

/* A Linear weight packed once for the chosen table (see pack_nt). Owned by
 * whoever called lr__pack_nt; freed with lr__packed_free. It does not refer
 * to W after packing. */
typedef struct lr__packed {
    const lr__kern *kern; /* the table the f32 layout belongs to (its GELU serves all types) */
    int N, K;
    float *data; /* f32: lr__packed_floats(kern->nr, N, K) floats, 64-byte aligned */
    void *mem;   /* the allocation data points into (NULL: owned by someone else) */
    /* Low-precision weights (qkern.h), packed by the model (lr__bert_pack):
     * wtype LR_WTYPE_Q8 or LR_WTYPE_BF16, computed with qk; data unused. */
    lr__wtype wtype;
    const lr__qkern *qk;
    const void *qdata;    /* int8 panels (Q8) or uint16 panels (BF16) */
    const float *wscale;  /* Q8: [N] per-output-channel scales */
    const int32_t *wsum;  /* Q8: [N] row sums of the int8 weight */
} lr__packed;

/* The panel width of p's layout (column splits must fall on it). */
int lr__packed_nr(const lr__packed *p);

/* Columns [c0, c0 + nc) of Y[M,N] (+)= X p^T + bias on the calling thread,
 * for any weight type (c0 a multiple of lr__packed_nr(p); bias, when not
 * NULL, and Y are the full-width arrays). gelu: Y = gelu(X p^T + bias)
 * (accumulate ignored). */
void lr__packed_gemm_here(const lr__packed *p, int c0, int nc, int M, const float *X, int ldx,
                          const float *bias, float *Y, int ldy, int accumulate, int gelu);

/* Pack W [N,K] (row stride ldw) for kern (NULL = lr__kern_get()), packing
 * panels in parallel over pool (may be NULL). NULL and err filled
 * (LR_ENOMEM, LR_EINVAL) on failure. */
lr__packed *lr__pack_nt(lr_pool *pool, const lr__kern *kern, const float *W, int N, int K,
                        int ldw, lr_error *err);
void lr__packed_free(lr__packed *p);

/* Y[M,N] (+)= X[M,K] * W^T + bias with W pre-packed; same contract as
 * lr__gemm_nt, computed with p->kern. */
void lr__gemm_nt_packed(lr_pool *pool, int M, const float *X, int ldx, const lr__packed *p,
                        const float *bias, float *Y, int ldy, int accumulate);

/* Y = gelu(X W^T + bias), threaded like lr__linear / lr__gemm_nt_packed:
 * the FFN's first Linear with its activation fused into the GEMM. */
void lr__linear_gelu(lr_pool *pool, int M, int N, int K, const float *X, const float *W,
                     const float *bias, float *Y);
void lr__gemm_nt_packed_gelu(lr_pool *pool, int M, const float *X, int ldx, const lr__packed *p,
                             const float *bias, float *Y, int ldy);

/* Attention of one sequence and one head, on the calling thread (callers
 * spread sequences x heads over the pool): kern->attention (see the table
 * entry) for n_q query rows against L keys/values,
 *   O[n_q, d] = softmax(scale * Q K^T) V   row by row, no mask.
 * `scratch` is caller-owned, lr__attention_scratch_floats(L, d) floats.
 * kern NULL = chosen. */
void lr__attention(const lr__kern *kern, int n_q, int L, int d, const float *Q, int ldq,
                   const float *K, int ldk, const float *V, int ldv, float *O, int ldo,
                   float scale, float *scratch);

/* The same drivers on an explicit table (tests and benchmarks compare
 * tables with them); kern NULL = lr__kern_get(). */
void lr__gemm_nt_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, const float *bias, float *Y, int ldy,
                      int accumulate);
void lr__gemm_nn_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, float *Y, int ldy, int accumulate);
void lr__gemm_tn_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, float *Y, int ldy, int accumulate);

#endif /* LR_KERN_H */
