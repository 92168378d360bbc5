/*
 * kern_simd.h — the ISA-independent half of every SIMD kernel table.
 *
 * Included (once) by kern_avx2.c, kern_avx512.c and kern_neon.c after they
 * define, for their vector width:
 *
 *   LR_TABLE, LR_NAME        the table's variable and its name string
 *   LR_MR, LR_NR             register tile: MR rows of Y by NR columns
 *   LR_KC, LR_MC             cache blocks: K per pass, rows of X per pass
 *   micro(kc, a, lda, b, ldb, c, ldc, load_c, bias)
 *                            the MR x NR micro-kernel (contract below)
 *   vf, LR_VL and the vf_* primitives used by the element-wise ops
 *   optionally LR_TB and LR_TRANSPOSE(src, lds, dst, ldd): an in-register
 *   LR_TB x LR_TB transpose that the packing of W (nt) and of X (tn) use
 *
 * GEMM (all three layouts) is one blocked loop, gemm_core:
 *
 *   for each block of LR_MC rows of Y
 *     for each block of LR_KC along K
 *       copy those rows of X into `abuf` (row-major, row stride kc, rows
 *       padded with zeros to a multiple of MR: contiguous, so no cache-set
 *       conflicts whatever ldx is)
 *       for each panel of NR columns
 *         B micro-panel [kc][NR]: pre-packed W, or a panel packed on the
 *         fly into `pbuf` (nt without a packed W: a transpose; nn/tn: a
 *         row copy, contiguous and zero padded)
 *         for each tile of MR rows: micro()
 *
 * The B micro-panel (kc * NR floats) stays in L1 while the row tiles of
 * the X block stream through from L2, and the LR_MC rows of Y being summed
 * over the K blocks stay in L2 (K outside the row blocks instead would sweep
 * all of Y once per K block: half the speed once Y outgrows the caches). Ragged tiles are computed into a
 * local MR x NR tile and merged with scalar code. The GELU epilogue
 * (gemm_nt_gelu) runs on each tile right after its last K block, while it
 * is still in L1.
 *
 * Attention (attention_simd, comment there) is fused per (sequence, head):
 * K transposed once, then register tiles of the micro-kernel's shape for
 * the scores and for P V, with the softmax in between on rows in L1.
 *
 * The element-wise ops work a vector at a time; the ragged tail goes
 * through a padded vector so every element takes the same formula. exp is
 * Cody-Waite range reduction plus a degree-7 polynomial (|rel err| < 2e-7
 * on x <= 0, the only range we need); erf is Abramowitz & Stegun 7.1.26
 * (|abs err| <= 1.5e-7), computed so that 1 + erf(x) for x < 0 has no
 * cancellation.
 */
#ifndef LR_KERN_SIMD_H
#define LR_KERN_SIMD_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kern.h"
#include "util.h"

#if LR_MC % LR_MR != 0
#error "LR_MC must be a multiple of LR_MR"
#endif


/* ------------------------------------------------------ element-wise ops */

/* exp(x) for x <= 0 (x > 88 is clamped; x < -87.33 gives 0). */
static inline vf vf_exp_nonpos(vf x) {
    const vf lo = vf_set1(-87.33654f);
    vf xc = vf_max(vf_min(x, vf_set1(88.0f)), lo);
    vf n = vf_round(vf_mul(xc, vf_set1(1.44269504088896341f)));
    vf r = vf_fmadd(n, vf_set1(-0.693145751953125f), xc); /* ln2 high part */
    r = vf_fmadd(n, vf_set1(-1.428606765330187e-06f), r); /* ln2 low part  */
    vf p = vf_set1(1.0f / 5040.0f);
    p = vf_fmadd(p, r, vf_set1(1.0f / 720.0f));
    p = vf_fmadd(p, r, vf_set1(1.0f / 120.0f));
    p = vf_fmadd(p, r, vf_set1(1.0f / 24.0f));
    p = vf_fmadd(p, r, vf_set1(1.0f / 6.0f));
    p = vf_fmadd(p, r, vf_set1(0.5f));
    p = vf_fmadd(p, r, vf_set1(1.0f));
    p = vf_fmadd(p, r, vf_set1(1.0f));
    return vf_select_lt(x, lo, vf_set1(0.0f), vf_scale_pow2(p, n));
}

/* 0.5 x (1 + erf(x / sqrt 2)) */
static inline vf vf_gelu(vf x) {
    vf z = vf_mul(vf_abs(x), vf_set1(0.70710678118654752f));
    vf t = vf_div(vf_set1(1.0f), vf_fmadd(z, vf_set1(0.3275911f), vf_set1(1.0f)));
    vf p = vf_set1(1.061405429f);
    p = vf_fmadd(p, t, vf_set1(-1.453152027f));
    p = vf_fmadd(p, t, vf_set1(1.421413741f));
    p = vf_fmadd(p, t, vf_set1(-0.284496736f));
    p = vf_fmadd(p, t, vf_set1(0.254829592f));
    p = vf_mul(p, t);
    /* q = erfc(|x|/sqrt 2); 1 + erf = 2 - q for x >= 0, q for x < 0 */
    vf q = vf_mul(p, vf_exp_nonpos(vf_mul(vf_sub(vf_set1(0.0f), z), z)));
    vf one_plus_erf = vf_select_lt(x, vf_set1(0.0f), q, vf_sub(vf_set1(2.0f), q));
    return vf_mul(vf_mul(vf_set1(0.5f), x), one_plus_erf);
}

static void gelu_simd(float *x, size_t n) {
    size_t i = 0;
    for (; i + LR_VL <= n; i += LR_VL) vf_st(x + i, vf_gelu(vf_ld(x + i)));
    if (i < n) {
        float tail[LR_VL] = {0};
        memcpy(tail, x + i, (n - i) * sizeof(float));
        vf_st(tail, vf_gelu(vf_ld(tail)));
        memcpy(x + i, tail, (n - i) * sizeof(float));
    }
}

/* ------------------------------------------------------------- packing */

/* W [N,K] (row stride ldw), columns [n0, n0+nr) and k in [k0, k0+kc), into
 * dst[k*LR_NR + j] with zeros for j >= nr. */
static void pack_panel_nk(const float *W, int ldw, int n0, int nr, int k0, int kc, float *dst) {
    int cols_done = 0, k_done = 0;
#ifdef LR_TRANSPOSE /* whole LR_TB x LR_TB blocks in registers */
    cols_done = nr / LR_TB * LR_TB;
    k_done = kc / LR_TB * LR_TB;
    for (int j = 0; j < cols_done; j += LR_TB)
        for (int k = 0; k < k_done; k += LR_TB)
            LR_TRANSPOSE(W + (size_t)(n0 + j) * ldw + k0 + k, ldw, dst + (size_t)k * LR_NR + j, LR_NR);
#endif
    for (int j = 0; j < nr; j++) {
        const float *w = W + (size_t)(n0 + j) * ldw + k0;
        for (int k = j < cols_done ? k_done : 0; k < kc; k++) dst[(size_t)k * LR_NR + j] = w[k];
    }
    for (int j = nr; j < LR_NR; j++)
        for (int k = 0; k < kc; k++) dst[(size_t)k * LR_NR + j] = 0.0f;
}

/* W [K,N] (row stride ldw), columns [n0, n0+nr), k in [k0, k0+kc), into
 * dst[k*LR_NR + j], zero padded. */
static void pack_panel_kn(const float *W, int ldw, int n0, int nr, int k0, int kc, float *dst) {
    for (int k = 0; k < kc; k++) {
        const float *w = W + (size_t)(k0 + k) * ldw + n0;
        float *d = dst + (size_t)k * LR_NR;
        memcpy(d, w, (size_t)nr * sizeof(float));
        for (int j = nr; j < LR_NR; j++) d[j] = 0.0f;
    }
}

/* The table's pack_nt (see kern.h): whole panels, k in blocks of 64 so the
 * strided writes stay in L1. */
static void pack_nt_simd(int N, int K, const float *W, int ldw, float *dst) {
    for (int n0 = 0; n0 < N; n0 += LR_NR) {
        int nr = LR_MIN(LR_NR, N - n0);
        float *panel = dst + (size_t)(n0 / LR_NR) * LR_NR * K;
        for (int k0 = 0; k0 < K; k0 += 64)
            pack_panel_nk(W, ldw, n0, nr, k0, LR_MIN(64, K - k0), panel + (size_t)k0 * LR_NR);
    }
}

/* ---------------------------------------------------------------- GEMM */

enum { B_PACKED, B_NK, B_KN }; /* how gemm_core finds its B micro-panels */

/* Rows [m0, m0+mc) of X (x_trans: X is [K,M], element (m,k) at
 * X[k*ldx + m]), k in [k0, k0+kc), into abuf[i*kc + k]; rows up to the next
 * multiple of LR_MR are zero. */
static void pack_a(const float *X, int ldx, int x_trans, int m0, int mc, int k0, int kc,
                   float *abuf) {
    int rows = (mc + LR_MR - 1) / LR_MR * LR_MR;
    if (!x_trans) {
        for (int i = 0; i < mc; i++)
            memcpy(abuf + (size_t)i * kc, X + (size_t)(m0 + i) * ldx + k0,
                   (size_t)kc * sizeof(float));
    } else {
        int i_done = 0, k_done = 0;
#ifdef LR_TRANSPOSE
        i_done = mc / LR_TB * LR_TB;
        k_done = kc / LR_TB * LR_TB;
        for (int k = 0; k < k_done; k += LR_TB)
            for (int i = 0; i < i_done; i += LR_TB)
                LR_TRANSPOSE(X + (size_t)(k0 + k) * ldx + m0 + i, ldx, abuf + (size_t)i * kc + k, kc);
#endif
        for (int k = 0; k < kc; k++) {
            const float *x = X + (size_t)(k0 + k) * ldx + m0;
            for (int i = k < k_done ? i_done : 0; i < mc; i++) abuf[(size_t)i * kc + k] = x[i];
        }
    }
    if (rows > mc) memset(abuf + (size_t)mc * kc, 0, (size_t)(rows - mc) * kc * sizeof(float));
}

/* Y[M,N] (+)= A * B (+ bias), A from X as in pack_a, B as b_kind says:
 *   B_PACKED: B is pack_nt output (panel p at B + p*NR*K),
 *   B_NK:     B is W [N,K] with row stride ldb (packed on the fly),
 *   B_KN:     B is W [K,N] with row stride ldb (read in place).
 * bias is only for B_PACKED / B_NK (may be NULL). */
static void gemm_core(int M, int N, int K, const float *X, int ldx, int x_trans, const float *B,
                      int ldb, int b_kind, const float *bias, float *Y, int ldy, int accumulate,
                      int gelu) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* the product is empty: Y = (Y or 0) + bias */
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                float v = bias ? bias[n] : 0.0f;
                float *y = Y + (size_t)m * ldy + n;
                *y = accumulate ? *y + v : v;
            }
            if (gelu) gelu_simd(Y + (size_t)m * ldy, (size_t)N);
        }
        return;
    }
    /* abuf: one block of X rows, on the stack (no allocation per call; the
     * stack use of gemm_core is 4 * (LR_MC * LR_KC + LR_KC * LR_NR +
     * LR_MR * LR_NR) bytes, about 130 KB; pool threads get >= 1 MB). */
    float abuf[LR_MC * LR_KC];
    int mc_max = LR_MIN(LR_MC, (M + LR_MR - 1) / LR_MR * LR_MR);
    float pbuf[LR_KC * LR_NR];
    float ctile[LR_MR * LR_NR];

    for (int m0 = 0; m0 < M; m0 += mc_max) {
        int mc = LR_MIN(mc_max, M - m0);
        for (int k0 = 0; k0 < K; k0 += LR_KC) {
            int kc = LR_MIN(LR_KC, K - k0);
            int load_c = accumulate || k0 > 0;
            pack_a(X, ldx, x_trans, m0, mc, k0, kc, abuf);
            for (int n0 = 0; n0 < N; n0 += LR_NR) {
                int nr = LR_MIN(LR_NR, N - n0);
                const float *bp;
                ptrdiff_t bstride = LR_NR;
                if (b_kind == B_PACKED) {
                    bp = B + (size_t)(n0 / LR_NR) * LR_NR * K + (size_t)k0 * LR_NR;
                } else if (b_kind == B_NK) {
                    pack_panel_nk(B, ldb, n0, nr, k0, kc, pbuf);
                    bp = pbuf;
                } else {
                    /* copied even when whole: rows of W at a stride of 4 KB
                     * would all fall in the same few L1 sets */
                    pack_panel_kn(B, ldb, n0, nr, k0, kc, pbuf);
                    bp = pbuf;
                }
                const float *bias_p = bias && k0 == 0 ? bias + n0 : NULL;
                for (int i0 = 0; i0 < mc; i0 += LR_MR) {
                    int mr = LR_MIN(LR_MR, mc - i0);
                    const float *ap = abuf + (size_t)i0 * kc;
                    float *y = Y + (size_t)(m0 + i0) * ldy + n0;
                    if (mr == LR_MR && nr == LR_NR) {
                        micro(kc, ap, kc, bp, bstride, y, ldy, load_c, bias_p);
                    } else {
                        micro(kc, ap, kc, bp, bstride, ctile, LR_NR, 0, NULL);
                        for (int i = 0; i < mr; i++)
                            for (int j = 0; j < nr; j++) {
                                float v = ctile[i * LR_NR + j] + (bias_p ? bias_p[j] : 0.0f);
                                float *yy = y + (size_t)i * ldy + j;
                                *yy = load_c ? *yy + v : v;
                            }
                    }
                    if (gelu && k0 + kc == K) /* the tile is final and still in L1 */
                        for (int i = 0; i < mr; i++) gelu_simd(y + (size_t)i * ldy, (size_t)nr);
                }
            }
        }
    }
}

static void gemm_nt_packed_simd(int M, int N, int K, const float *X, int ldx, const float *Wp,
                                const float *bias, float *Y, int ldy, int accumulate) {
    gemm_core(M, N, K, X, ldx, 0, Wp, 0, B_PACKED, bias, Y, ldy, accumulate, 0);
}

/* Small M: each W panel is used by one row block only, so pack it on the
 * fly (no allocation). Larger M: pack W once and reuse it for every row
 * block (on the fly again if that allocation fails). */
static void gemm_nt_any(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                        const float *bias, float *Y, int ldy, int accumulate, int gelu) {
    if (M > LR_MC && K > 0 && N > 0) {
        float *wp = lr__malloc(lr__packed_floats(LR_NR, N, K) * sizeof(float));
        if (wp) {
            pack_nt_simd(N, K, W, ldw, wp);
            gemm_core(M, N, K, X, ldx, 0, wp, 0, B_PACKED, bias, Y, ldy, accumulate, gelu);
            lr__free(wp);
            return;
        }
    }
    gemm_core(M, N, K, X, ldx, 0, W, ldw, B_NK, bias, Y, ldy, accumulate, gelu);
}

static void gemm_nt_simd(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                         const float *bias, float *Y, int ldy, int accumulate) {
    gemm_nt_any(M, N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate, 0);
}

static void gemm_nt_gelu_simd(int M, int N, int K, const float *X, int ldx, const float *W,
                              int ldw, int w_packed, const float *bias, float *Y, int ldy) {
    if (w_packed) gemm_core(M, N, K, X, ldx, 0, W, 0, B_PACKED, bias, Y, ldy, 0, 1);
    else gemm_nt_any(M, N, K, X, ldx, W, ldw, bias, Y, ldy, 0, 1);
}

static void gemm_nn_simd(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                         float *Y, int ldy, int accumulate) {
    gemm_core(M, N, K, X, ldx, 0, W, ldw, B_KN, NULL, Y, ldy, accumulate, 0);
}

static void gemm_tn_simd(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                         float *Y, int ldy, int accumulate) {
    gemm_core(M, N, K, X, ldx, 1, W, ldw, B_KN, NULL, Y, ldy, accumulate, 0);
}

static void softmax_simd(float *x, int n) {
    if (n <= 0) return;
    int i = 0;
    float max = x[0];
    if (n >= LR_VL) {
        vf vmax = vf_ld(x);
        for (i = LR_VL; i + LR_VL <= n; i += LR_VL) vmax = vf_max(vmax, vf_ld(x + i));
        max = vf_hmax(vmax);
    }
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    vf vm = vf_set1(max), vsum = vf_set1(0.0f);
    for (i = 0; i + LR_VL <= n; i += LR_VL) {
        vf e = vf_exp_nonpos(vf_sub(vf_ld(x + i), vm));
        vf_st(x + i, e);
        vsum = vf_add(vsum, e);
    }
    float sum = vf_hsum(vsum);
    if (i < n) {
        float tail[LR_VL];
        for (int j = 0; j < LR_VL; j++) tail[j] = i + j < n ? x[i + j] - max : 0.0f;
        vf_st(tail, vf_exp_nonpos(vf_ld(tail)));
        for (int j = 0; i + j < n; j++) {
            x[i + j] = tail[j];
            sum += tail[j];
        }
    }
    vf inv = vf_set1(1.0f / sum);
    for (i = 0; i + LR_VL <= n; i += LR_VL) vf_st(x + i, vf_mul(vf_ld(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}

/* ------------------------------------------------------------ attention */

/* Fused attention of one (sequence, head) (see kern.h). Everything stays in
 * L1/L2: K is transposed once into kt [d][Lp] (Lp = L rounded up to the
 * vector width, zero columns past L); then for each block of LR_ATT_R query
 * rows
 *   S block [R][Lp]  = scale * Q_rows kt      register tiles (att_tile)
 *   each row of S    = softmax, lanes past L masked to -inf (so exp -> 0)
 *   O rows [R][d]    = P V                     register tiles over d
 * The register tile is the GEMM micro-kernel's shape (LR_MR rows by LR_NR
 * columns), which each table sized to its register file; ragged row blocks
 * and column chunks use the same code with fewer rows / vectors. V is read
 * in place unless d is not a multiple of the vector width (then a zero
 * padded copy [L][dp], and O rows go through a staging block); a
 * contiguous copy of V for long sequences measured no faster (L = 64..128,
 * V rows at a stride of 3H floats). */
#define LR_ATT_R LR_MR
#define LR_ATT_NV (LR_NR / LR_VL)
#if LR_VL > 16 || (LR_ATT_R != 4 && LR_ATT_R != 6) || (LR_ATT_NV != 2 && LR_ATT_NV != 4)
#error "attention: tile shape not covered by att_tile_any / lr__attention_scratch_floats"
#endif
#if defined(LR_TRANSPOSE) && LR_TB != LR_VL
#error "attention: the K transpose assumes LR_TB == LR_VL"
#endif

#if defined(__GNUC__)
#define LR_ATT_INLINE static inline __attribute__((always_inline))
#else
#define LR_ATT_INLINE static inline
#endif

/* c[r*ldc + v*VL + l] = (scaled ? scale : 1) * sum_k a[r*lda + k] * b[k*ldb + v*VL + l]
 * for r < R, v < NV, k < kc (k in order, one FMA per term). R and NV are
 * constants at every call (att_tile_any), so acc is registers only. */
LR_ATT_INLINE void att_tile(const int R, const int NV, int kc, const float *a, ptrdiff_t lda,
                            const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int scaled,
                            float scale) {
    vf acc[LR_ATT_R][LR_ATT_NV];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = vf_set1(0.0f);
    for (int k = 0; k < kc; k++) {
        vf bv[LR_ATT_NV];
        const float *bk = b + (ptrdiff_t)k * ldb;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = vf_ld(bk + v * LR_VL);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            vf x = vf_set1(a[r * lda + k]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[r][v] = vf_fmadd(x, bv[v], acc[r][v]);
        }
    }
    vf vs = vf_set1(scale);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            vf_st(c + r * ldc + v * LR_VL, scaled ? vf_mul(acc[r][v], vs) : acc[r][v]);
}

/* att_tile for 1 <= R <= LR_ATT_R rows and 1 <= NV <= LR_ATT_NV vectors. */
static void att_tile_any(int R, int NV, int kc, const float *a, ptrdiff_t lda, const float *b,
                         ptrdiff_t ldb, float *c, ptrdiff_t ldc, int scaled, float scale) {
#define LR_ATT_CASE(r, nv)                                                                    \
    case (r) * 8 + (nv): att_tile(r, nv, kc, a, lda, b, ldb, c, ldc, scaled, scale); break;
#if LR_ATT_NV == 4
#define LR_ATT_ROW(r) LR_ATT_CASE(r, 1) LR_ATT_CASE(r, 2) LR_ATT_CASE(r, 3) LR_ATT_CASE(r, 4)
#else
#define LR_ATT_ROW(r) LR_ATT_CASE(r, 1) LR_ATT_CASE(r, 2)
#endif
    switch (R * 8 + NV) {
        LR_ATT_ROW(1) LR_ATT_ROW(2) LR_ATT_ROW(3) LR_ATT_ROW(4)
#if LR_ATT_R == 6
        LR_ATT_ROW(5) LR_ATT_ROW(6)
#endif
    default: break;
    }
#undef LR_ATT_ROW
#undef LR_ATT_CASE
}

/* kt[k*Lp + j] = K[j*ldk + k] for j < L, k < d; 0 for L <= j < Lp. Whole
 * LR_TB x LR_TB blocks in registers (the last, partial block of keys via
 * a zero-padded copy on the stack, which also writes the padding), the k
 * past the last whole block scalar. */
static void att_pack_kt(int L, int d, const float *K, int ldk, float *kt, int Lp) {
    int k_done = 0;
#ifdef LR_TRANSPOSE
    k_done = d / LR_TB * LR_TB;
    for (int j0 = 0; j0 < L; j0 += LR_TB) {
        int nj = LR_MIN(LR_TB, L - j0);
        for (int k0 = 0; k0 < k_done; k0 += LR_TB) {
            const float *src = K + (size_t)j0 * ldk + k0;
            if (nj == LR_TB) {
                LR_TRANSPOSE(src, ldk, kt + (size_t)k0 * Lp + j0, Lp);
            } else {
                float tmp[LR_TB * LR_TB]; /* one vector per row: LR_TB == LR_VL */
                for (int j = 0; j < LR_TB; j++)
                    vf_st(tmp + j * LR_TB, j < nj ? vf_ld(src + (size_t)j * ldk) : vf_set1(0.0f));
                LR_TRANSPOSE(tmp, LR_TB, kt + (size_t)k0 * Lp + j0, Lp);
            }
        }
    }
#endif
    for (int k = k_done; k < d; k++) {
        float *row = kt + (size_t)k * Lp;
        for (int j = 0; j < L; j++) row[j] = K[(size_t)j * ldk + k];
        for (int j = L; j < Lp; j++) row[j] = 0.0f;
    }
}

/* Each of the `rows` rows of S (row stride Lp) holds L scaled scores:
 * softmax them (as softmax_simd: max, exp of the difference, times 1/sum);
 * lanes from L to Lp become 0. Row by row within each step, so the
 * reductions of different rows (hmax, hsum) overlap. */
static inline void att_softmax_rows(float *S, int rows, int L, int Lp) {
    static const float lane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const int last = Lp - LR_VL;
    const vf lanes = vf_ld(lane), vrem = vf_set1((float)(L - last)), ninf = vf_set1(-INFINITY);
    float mx[LR_ATT_R], inv[LR_ATT_R];
    for (int r = 0; r < rows; r++) {
        float *s = S + (size_t)r * Lp;
        vf x = vf_select_lt(lanes, vrem, vf_ld(s + last), ninf);
        vf_st(s + last, x);
        for (int j = 0; j < last; j += LR_VL) x = vf_max(x, vf_ld(s + j));
        mx[r] = vf_hmax(x);
    }
    for (int r = 0; r < rows; r++) {
        float *s = S + (size_t)r * Lp;
        vf vm = vf_set1(mx[r]), vsum = vf_set1(0.0f);
        for (int j = 0; j < Lp; j += LR_VL) {
            vf e = vf_exp_nonpos(vf_sub(vf_ld(s + j), vm));
            vf_st(s + j, e);
            vsum = vf_add(vsum, e);
        }
        inv[r] = 1.0f / vf_hsum(vsum);
    }
    for (int r = 0; r < rows; r++) {
        float *s = S + (size_t)r * Lp;
        vf vinv = vf_set1(inv[r]);
        for (int j = 0; j < Lp; j += LR_VL) vf_st(s + j, vf_mul(vf_ld(s + j), vinv));
    }
}

/* The table's attention (contract in kern.h). Scratch layout, in floats:
 * kt d*Lp | S LR_ATT_R*Lp | V copy L*dp | O staging LR_ATT_R*dp, within
 * lr__attention_scratch_floats(L, d) since Lp, dp <= the 16-rounded sizes
 * and LR_ATT_R <= 8. */
static void attention_simd(int n_q, int L, int d, const float *Q, int ldq, const float *K, int ldk,
                           const float *V, int ldv, float *O, int ldo, float scale,
                           float *scratch) {
    if (n_q <= 0 || L <= 0 || d <= 0) return;
    const int Lp = (L + LR_VL - 1) / LR_VL * LR_VL, dp = (d + LR_VL - 1) / LR_VL * LR_VL;
    float *kt = scratch, *S = kt + (size_t)d * Lp, *vc = S + (size_t)LR_ATT_R * Lp;
    float *ost = vc + (size_t)L * dp;
    const int ragged = dp != d;
    att_pack_kt(L, d, K, ldk, kt, Lp);
    const float *vb = V;
    ptrdiff_t ldvb = ldv;
    if (ragged) {
        for (int j = 0; j < L; j++) {
            memcpy(vc + (size_t)j * dp, V + (size_t)j * ldv, (size_t)d * sizeof(float));
            for (int c = d; c < dp; c++) vc[(size_t)j * dp + c] = 0.0f;
        }
        vb = vc;
        ldvb = dp;
    }
    for (int i0 = 0; i0 < n_q; i0 += LR_ATT_R) {
        const int rows = LR_MIN(LR_ATT_R, n_q - i0);
        for (int c0 = 0; c0 < Lp; c0 += LR_ATT_NV * LR_VL)
            att_tile_any(rows, LR_MIN(LR_ATT_NV, (Lp - c0) / LR_VL), d, Q + (size_t)i0 * ldq, ldq,
                         kt + c0, Lp, S + c0, Lp, 1, scale);
        att_softmax_rows(S, rows, L, Lp);
        float *o = ragged ? ost : O + (size_t)i0 * ldo;
        const ptrdiff_t ldob = ragged ? dp : ldo;
        for (int c0 = 0; c0 < dp; c0 += LR_ATT_NV * LR_VL)
            att_tile_any(rows, LR_MIN(LR_ATT_NV, (dp - c0) / LR_VL), L, S, Lp, vb + c0, ldvb,
                         o + c0, ldob, 0, 1.0f);
        if (ragged)
            for (int r = 0; r < rows; r++)
                memcpy(O + (size_t)(i0 + r) * ldo, ost + (size_t)r * dp, (size_t)d * sizeof(float));
    }
}

static void layernorm_simd(float *x, const float *gamma, const float *beta, int n, float eps) {
    if (n <= 0) return;
    int i;
    vf acc = vf_set1(0.0f);
    for (i = 0; i + LR_VL <= n; i += LR_VL) acc = vf_add(acc, vf_ld(x + i));
    float sum = vf_hsum(acc);
    for (; i < n; i++) sum += x[i];
    float mean = sum / (float)n;
    vf vmean = vf_set1(mean);
    acc = vf_set1(0.0f);
    for (i = 0; i + LR_VL <= n; i += LR_VL) {
        vf d = vf_sub(vf_ld(x + i), vmean);
        acc = vf_fmadd(d, d, acc);
    }
    float var = vf_hsum(acc);
    for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    vf vinv = vf_set1(inv);
    for (i = 0; i + LR_VL <= n; i += LR_VL) {
        vf d = vf_mul(vf_sub(vf_ld(x + i), vmean), vinv);
        vf_st(x + i, vf_fmadd(d, vf_ld(gamma + i), vf_ld(beta + i)));
    }
    for (; i < n; i++) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

const lr__kern LR_TABLE = {
    .name = LR_NAME,
    .gemm_nt = gemm_nt_simd,
    .gemm_nn = gemm_nn_simd,
    .gemm_tn = gemm_tn_simd,
    .layernorm = layernorm_simd,
    .gelu = gelu_simd,
    .softmax = softmax_simd,
    .nr = LR_NR,
    .pack_nt = pack_nt_simd,
    .gemm_nt_packed = gemm_nt_packed_simd,
    .gemm_nt_gelu = gemm_nt_gelu_simd,
    .attention = attention_simd,
};

#endif /* LR_KERN_SIMD_H */
