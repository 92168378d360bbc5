/*
 * qkern_avx2.c — the AVX2 int8 GEMM table "avx2" (compiled with -mavx2
 * -mfma), for x86-64 CPUs without VNNI; no bf16 kernel (bf16_nr = 0: the
 * model widens bf16 weights to fp32 and uses kern.h).
 *
 * Products: vpmaddubsw multiplies unsigned by signed bytes and adds
 * adjacent pairs into int16 with saturation. Feeding it |qa| (unsigned)
 * and W with qa's sign applied (vpsignb) gives qa*W exactly, and a pair of
 * those is at most 2 * 127 * 127 = 32258 < 32767: never saturates.
 * vpmaddwd with ones then adds the two pairs of a 4-byte group into the
 * int32 lane of that output column. Per 32 multiply-adds: sign, maddubs,
 * maddwd, add. wsum is not needed. Those four vector ops are the limit:
 * about 180 GOP/s on one Zen 5 core, 1.7x the fp32 AVX2 GEMM on BERT-mini
 * shapes (a 2 x 32 tile, half the broadcasts per product, measured the
 * same).
 *
 * Layout (qkern.h): panels of NR = 16 columns, each k group of 4 is 64
 * bytes = two ymm, lane j holding W[j, 4g..4g+3]. A row's 4 activation
 * bytes are broadcast to all 8 lanes (vpbroadcastd from memory).
 *
 * Register tile: MR = 4 rows x 16 columns = 8 ymm int32 accumulators, 2 of
 * B, the ones vector, two broadcasts and two temporaries (15 of 16 ymm).
 *
 * Blocking (stack only, about 45 KB): rows in blocks of MB = 16; for each
 * block, amax and the scales of its rows over all of K first; then columns
 * in chunks of NC = 256 whose int32 sums live in `acc` (16 KB), and K in
 * chunks of KC = 512 whose quantized activations (qa and |qa|, 16 KB) are
 * made just before the panels of the column chunk use them. The B chunk of
 * one panel (16 x 512 bytes = 8 KB) stays in L1 while the 4 row tiles run
 * over it. With K <= 512 each activation is quantized once per column
 * chunk: 1/256 of the work of the products. The epilogue turns the int32
 * sums into y = acc * (sa * ws[n]) + bias[n] once the column chunk has
 * seen all of K.
 *
 * Quantization is lr__q8_quantize_row's rule in the same float operations:
 * amax by max (exact in any order), one division 127/amax, one multiply
 * per element, cvtps2dq (round half to even under the default MXCSR), a
 * clamp to +-127, so qa is bit-identical to the reference's.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qkern.h"
#include "util.h"

#define MR 4    /* rows of the register tile                  */
#define NR 16   /* columns of a panel and of the tile         */
#define MB 16   /* rows per block (a multiple of MR)           */
#define KC 512  /* k per chunk (a multiple of 4)               */
#define NC 256  /* columns per chunk (a multiple of NR)        */

/* ------------------------------------------------------------- packing */

/* pack_q8 (qkern.h): panel p, group g, column j, byte k%4 at
 * dst[p*NR*Kp + g*NR*4 + j*4 + k%4]; zeros past N and K. */
static void pack_q8_avx2(int N, int K, const int8_t *W, int ldw, int8_t *dst, int32_t *wsum) {
    lr__q8_pack_panels(NR, N, K, W, ldw, dst, wsum);
}

/* ------------------------------------------------------- quantization */

/* max_k |x[k]| of one row */
static float row_amax(const float *x, int K) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = m0;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + k), absmask));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + k + 8), absmask));
    }
    m0 = _mm256_max_ps(m0, m1);
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    float amax = _mm_cvtss_f32(s);
    for (; k < K; k++) amax = LR_MAX(amax, x[k] < 0 ? -x[k] : x[k]);
    return amax;
}

/* 32 floats times inv, rounded half to even, clamped to +-127, as bytes in
 * order (the two packs interleave 128-bit lanes; the permute undoes it). */
static inline __m256i quant32(const float *x, __m256 inv) {
    const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-127);
    __m256i q[4];
    for (int i = 0; i < 4; i++) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inv));
        q[i] = _mm256_max_epi32(_mm256_min_epi32(v, hi), lo);
    }
    __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
    __m256i b = _mm256_packs_epi16(w01, w23);
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* x[0..kc) of one row into qa and |qa| (kcp bytes each: zeros from kc to
 * kcp); inv = 127/amax, or 0 for a row whose sa is 0 (all qa 0). */
static void quant_chunk(const float *x, int kc, int kcp, float inv, int8_t *qa, int8_t *aa) {
    if (inv == 0.0f) {
        memset(qa, 0, (size_t)kcp);
        memset(aa, 0, (size_t)kcp);
        return;
    }
    const __m256 vinv = _mm256_set1_ps(inv);
    size_t k = 0; /* unsigned: the tail's offsets are visibly >= 0 */
    for (; k + 32 <= (size_t)kc; k += 32) {
        __m256i b = quant32(x + k, vinv);
        _mm256_storeu_si256((__m256i *)(qa + k), b);
        _mm256_storeu_si256((__m256i *)(aa + k), _mm256_abs_epi8(b));
    }
    if (k < (size_t)kcp) { /* the tail through a zero-padded buffer: same formula */
        float tail[32] = {0};
        int8_t qt[32], at[32];
        const size_t nx = (size_t)kc - k, nq = LR_MIN((size_t)32, (size_t)kcp - k);
        memcpy(tail, x + k, nx * sizeof(float));
        __m256i b = quant32(tail, vinv);
        _mm256_storeu_si256((__m256i *)qt, b);
        _mm256_storeu_si256((__m256i *)at, _mm256_abs_epi8(b));
        memcpy(qa + k, qt, nq);
        memcpy(aa + k, at, nq);
    }
}

/* ------------------------------------------------------- micro-kernel */

static inline __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* c[MR x NR] (+)= qa[MR x 4ng] * B[4ng x NR] in int32: a (signed) and aa
 * (absolute values) rows at stride lda, b a panel at group 0 of the chunk
 * (groups 64 bytes apart), c row stride ldc; load adds the old c. */
static inline void micro(int ng, const int8_t *a, const int8_t *aa, ptrdiff_t lda,
                         const int8_t *b, int32_t *c, ptrdiff_t ldc, int load) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int g = 0; g < ng; g++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * NR * 4));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + (size_t)g * NR * 4 + 32));
        __m256i s, u;
#define LR_ROW(r)                                                                             \
    s = bcast4(a + (r) * lda + 4 * g);                                                        \
    u = bcast4(aa + (r) * lda + 4 * g);                                                       \
    c##r##0 = _mm256_add_epi32(                                                               \
        c##r##0, _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(b0, s)), ones));  \
    c##r##1 = _mm256_add_epi32(                                                               \
        c##r##1, _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(b1, s)), ones));
        LR_ROW(0) LR_ROW(1) LR_ROW(2) LR_ROW(3)
#undef LR_ROW
    }
#define LR_STORE(r)                                                                           \
    {                                                                                         \
        __m256i *p0 = (__m256i *)(c + (r) * ldc), *p1 = (__m256i *)(c + (r) * ldc + 8);      \
        if (load) {                                                                           \
            c##r##0 = _mm256_add_epi32(c##r##0, _mm256_loadu_si256(p0));                      \
            c##r##1 = _mm256_add_epi32(c##r##1, _mm256_loadu_si256(p1));                      \
        }                                                                                     \
        _mm256_storeu_si256(p0, c##r##0);                                                     \
        _mm256_storeu_si256(p1, c##r##1);                                                     \
    }
    LR_STORE(0) LR_STORE(1) LR_STORE(2) LR_STORE(3)
#undef LR_STORE
}

/* ---------------------------------------------------------------- GEMM */

/* Rows [0, mr) and columns [0, nc) of acc (row stride NC) into Y:
 * y = acc * (sa[i] * ws[n]) + bias[n], added to Y when accumulate. */
static void epilogue(int mr, int nc, const int32_t *acc, const float *sa, const float *ws,
                     const float *bias, float *Y, int ldy, int accumulate) {
    for (int i = 0; i < mr; i++) {
        const int32_t *a = acc + (size_t)i * NC;
        float *y = Y + (size_t)i * ldy;
        const __m256 vs = _mm256_set1_ps(sa[i]);
        int n = 0;
        for (; n + 8 <= nc; n += 8) {
            __m256 s = _mm256_mul_ps(vs, _mm256_loadu_ps(ws + n));
            __m256 b = bias ? _mm256_loadu_ps(bias + n) : _mm256_setzero_ps();
            /* multiply, then add (not fused): the reference's rounding, so
             * int8 outputs match it bit for bit as on the VNNI tables */
            __m256 v = _mm256_add_ps(
                _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(a + n))), s),
                b);
            if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(y + n), v);
            _mm256_storeu_ps(y + n, v);
        }
        for (; n < nc; n++) {
            float v = (float)a[n] * (sa[i] * ws[n]) + (bias ? bias[n] : 0.0f);
            y[n] = accumulate ? y[n] + v : v;
        }
    }
}

/* gemm_q8 (qkern.h). Scratch on the stack: abuf (2 * MB * KC bytes), acc
 * (MB * NC int32), the row scales. */
static void gemm_q8_avx2(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                         const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                         int ldy, int accumulate) {
    (void)wsum;
    if (M <= 0 || N <= 0) return;
    const int Kp = K > 0 ? (K + 3) / 4 * 4 : 0;
    int8_t qa[MB * KC], aa[MB * KC];
    int32_t acc[MB * NC];
    float sa[MB], inv[MB];

    for (int m0 = 0; m0 < M; m0 += MB) {
        const int mb = LR_MIN(MB, M - m0);
        const int tiles = (mb + MR - 1) / MR;
        for (int i = 0; i < mb; i++) {
            float amax = K > 0 ? row_amax(X + (size_t)(m0 + i) * ldx, K) : 0.0f;
            lr__q8_row_scales(amax, &inv[i], &sa[i]);
        }
        for (int n0 = 0; n0 < N; n0 += NC) {
            const int nc = LR_MIN(NC, N - n0);
            if (Kp == 0) memset(acc, 0, sizeof acc);
            for (int k0 = 0; k0 < Kp; k0 += KC) {
                const int kcp = LR_MIN(KC, Kp - k0), kc = LR_MIN(kcp, K - k0);
                /* rows of the block, padded with zero rows to whole tiles */
                for (int i = 0; i < tiles * MR; i++) {
                    if (i < mb) {
                        quant_chunk(X + (size_t)(m0 + i) * ldx + k0, kc, kcp, inv[i],
                                    qa + (size_t)i * KC, aa + (size_t)i * KC);
                    } else {
                        memset(qa + (size_t)i * KC, 0, (size_t)kcp);
                        memset(aa + (size_t)i * KC, 0, (size_t)kcp);
                    }
                }
                for (int j0 = 0; j0 < nc; j0 += NR) {
                    const int8_t *b = Wp + (size_t)((n0 + j0) / NR) * NR * Kp + (size_t)k0 * NR;
                    for (int t = 0; t < tiles; t++)
                        micro(kcp / 4, qa + (size_t)t * MR * KC, aa + (size_t)t * MR * KC, KC, b,
                              acc + (size_t)t * MR * NC + j0, NC, k0 > 0);
                }
            }
            epilogue(mb, nc, acc, sa, wscale + n0, bias ? bias + n0 : NULL,
                     Y + (size_t)m0 * ldy + n0, ldy, accumulate);
        }
    }
}

const lr__qkern lr__qkern_avx2 = {
    .name = "avx2",
    .q8_nr = NR,
    .pack_q8 = pack_q8_avx2,
    .gemm_q8 = gemm_q8_avx2,
    .bf16_nr = 0,
    .pack_bf16 = NULL,
    .gemm_bf16 = NULL,
};
