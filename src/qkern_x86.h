/*
 * qkern_x86.h — the ISA-independent half of the x86 VNNI / BF16 tables
 * (qkern_avx512.c, qkern_avxvnni.c; qkern.h has the contract).
 *
 * Included once by each of those files, which defines first
 *
 *   QK_MR, QK_NR          int8 register tile: MR rows of Y by NR columns
 *
 * and after the include (declared here, used by the drivers):
 *
 *   q8_tile(mr, kg, a, lda, b, e)
 *                         the int8 micro-kernel: rows a[0..mr) (u8, qa+128,
 *                         row stride lda) times one packed panel b over kg
 *                         groups of 4 k, finished by the epilogue e
 *   with QK_BF16 (and QK_BMR, QK_BNR) defined: bf16_tile(mr, kp, a, lda,
 *   b, e), the bf16 micro-kernel over kp pairs of k, and
 *   bf16_round_row(x, n, np, dst): dst[k] = bf16(x[k]) for k < n, 0 up to np.
 *
 * The includer then builds its table(s) from pack_q8_x86, gemm_q8_x86 and
 * (bf16) pack_bf16_x86, gemm_bf16_x86.
 *
 * The code here is compiled with at least -mavx2 -mfma (both includers).
 *
 * GEMM, int8 (gemm_q8_x86):
 *
 *   for each block of rows of X (as many as fit QK_ABUF bytes of u8)
 *     quantize those rows by qkern.h's rule (bit for bit the reference's
 *     lr__q8_quantize_row: amax, one division, one multiply, cvtps2dq =
 *     round half even, clamp), stored as qa ^ 0x80 = qa + 128 in u8
 *     for each packed W panel (NR columns x Kp bytes)
 *       for each tile of MR rows: q8_tile (whole K in int32 registers, so
 *       the sum is exact; the epilogue subtracts 128 * wsum, converts, and
 *       scales by sa[m] * ws[n], adds bias, stores or adds into Y with the
 *       ragged columns masked)
 *
 * With K = 256 the panel (16 KB) and the quantized rows (<= 48 KB, read a
 * tile at a time) live in L1/L2; the panel is reused by every row tile of
 * the block. A row longer than QK_ABUF / MR bytes (K > 8192: never in the
 * model) takes the long-K path: per tile of rows and per panel, K in chunks
 * quantized on the fly with the row's own scale (the same bytes), the int32
 * partial sums parked in a small tile between chunks (q8_epi.cin / cout).
 *
 * bf16 (gemm_bf16_x86) is the same loop with activations rounded to bf16
 * (vcvtne2ps2bf16) instead of quantized and fp32 partial sums.
 *
 * Scratch: QK_ABUF bytes of rows + one MR x NR partial tile, on the stack.
 */
#ifndef LR_QKERN_X86_H
#define LR_QKERN_X86_H

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qkern.h"
#include "util.h"

#ifndef QK_ABUF
#define QK_ABUF (48 * 1024) /* bytes of converted activation rows */
#endif
#define QK_MC_MAX 240       /* rows per block at most (sa[] size) */

/* What a micro-kernel does with its finished tile. */
typedef struct {
    const float *sa;     /* mr row scales (int8) */
    const float *ws;     /* NR column scales from the tile's first column (int8) */
    const int32_t *wsum; /* NR column weight sums (int8) */
    const float *bias;   /* NR biases or NULL */
    float *y;            /* Y at the tile's top-left */
    size_t ldy;
    int ncols;      /* valid columns, 1..NR (the rest is padding: not read, not stored) */
    int accumulate; /* add into y instead of overwriting */
    const void *cin; /* non-NULL: start from these partial sums (MR x NR, int32 or float) */
    void *cout;      /* non-NULL: store the raw partial sums there and stop (no y) */
} q8_epi;

/* Defined by the includer (see the top). */
static void q8_tile(int mr, int kg, const uint8_t *a, size_t lda, const int8_t *b, const q8_epi *e);
#ifdef QK_BF16
static void bf16_tile(int mr, int kp, const uint16_t *a, size_t lda, const uint16_t *b,
                      const q8_epi *e);
static void bf16_round_row(const float *x, int n, int np, uint16_t *dst);
#endif

/* ------------------------------------------------------------- packing */

/* qkern.h's int8 layout for panel width QK_NR, and wsum: four bytes of a
 * row at a time (one 32-bit lane of the dot product), zeros past N and K. */
static void pack_q8_x86(int N, int K, const int8_t *W, int ldw, int8_t *dst, int32_t *wsum) {
    lr__q8_pack_panels(QK_NR, N, K, W, ldw, dst, wsum);
}

/* ------------------------------------------------------ quantization */

/* amax = max_k |x[k]| as lr__q8_quantize_row computes it (max is exact, so
 * the order does not matter for finite x). Four independent running maxima:
 * one would wait on the max latency every vector. */
#ifdef __AVX512F__
static float q8_amax(const float *x, int K) {
    __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    int k = 0;
    for (; k + 64 <= K; k += 64) {
        m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
        m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(x + k + 16)));
        m2 = _mm512_max_ps(m2, _mm512_abs_ps(_mm512_loadu_ps(x + k + 32)));
        m3 = _mm512_max_ps(m3, _mm512_abs_ps(_mm512_loadu_ps(x + k + 48)));
    }
    for (; k + 16 <= K; k += 16) m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
    if (k < K) /* masked-off lanes load 0, which never raises the max */
        m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_maskz_loadu_ps(
                                   (__mmask16)((1u << (K - k)) - 1), x + k)));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}
#else
static float q8_amax(const float *x, int K) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + k), abs_mask));
        m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + k + 8), abs_mask));
        m2 = _mm256_max_ps(m2, _mm256_and_ps(_mm256_loadu_ps(x + k + 16), abs_mask));
        m3 = _mm256_max_ps(m3, _mm256_and_ps(_mm256_loadu_ps(x + k + 24), abs_mask));
    }
    for (; k + 8 <= K; k += 8)
        m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + k), abs_mask));
    float lanes[8], amax = 0.0f;
    _mm256_storeu_ps(lanes, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (int i = 0; i < 8; i++) amax = LR_MAX(amax, lanes[i]);
    for (; k < K; k++) amax = LR_MAX(amax, fabsf(x[k]));
    return amax;
}
#endif

/* The scales of one row (lr__q8_row_scales; sa = 0 makes every qa 0). */
static void q8_row_scale(const float *x, int K, float *inv, float *sa) {
    lr__q8_row_scales(q8_amax(x, K), inv, sa);
}

/* dst[k] = clamp(rne(x[k] * inv), -127, 127) + 128 for k < n, 128 for
 * n <= k < np (inv = 0: all 128, the zero row). cvtps2dq rounds half to
 * even (MXCSR default), the saturating narrowing clamps at +127 (and -128,
 * raised to -127), and qa ^ 0x80 is qa + 128 as a byte. */
static void q8_quant_span(const float *x, int n, int np, float inv, uint8_t *dst) {
    int k = 0;
    if (inv != 0.0f) {
#ifdef __AVX512F__
        const __m512 vinv = _mm512_set1_ps(inv);
        const __m512i lo = _mm512_set1_epi8(-127), flip = _mm512_set1_epi8((char)0x80);
        for (; k + 64 <= n; k += 64) {
            __m512i b = _mm512_castsi128_si512(_mm512_cvtsepi32_epi8(
                _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv))));
            b = _mm512_inserti32x4(b, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(
                                          _mm512_mul_ps(_mm512_loadu_ps(x + k + 16), vinv))), 1);
            b = _mm512_inserti32x4(b, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(
                                          _mm512_mul_ps(_mm512_loadu_ps(x + k + 32), vinv))), 2);
            b = _mm512_inserti32x4(b, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(
                                          _mm512_mul_ps(_mm512_loadu_ps(x + k + 48), vinv))), 3);
            _mm512_storeu_si512(dst + k, _mm512_xor_si512(_mm512_max_epi8(b, lo), flip));
        }
        for (; k < n; k += 16) {
            __mmask16 m = n - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - k)) - 1);
            __m128i q = _mm512_cvtsepi32_epi8(
                _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), vinv)));
            q = _mm_xor_si128(_mm_max_epi8(q, _mm512_castsi512_si128(lo)),
                              _mm512_castsi512_si128(flip));
            _mm_mask_storeu_epi8(dst + k, m, q);
        }
        k = n;
#else
        const __m256 vinv = _mm256_set1_ps(inv);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        const __m256i lo = _mm256_set1_epi8(-127), flip = _mm256_set1_epi8((char)0x80);
        for (; k + 32 <= n; k += 32) {
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), vinv));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8), vinv));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 16), vinv));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 24), vinv));
            __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            b = _mm256_permutevar8x32_epi32(b, order);
            b = _mm256_xor_si256(_mm256_max_epi8(b, lo), flip);
            _mm256_storeu_si256((__m256i *)(dst + k), b);
        }
        for (; k < n; k++) {
            dst[k] = (uint8_t)(lr__q8_clamp(nearbyintf(x[k] * inv)) + 128);
        }
#endif
    }
    if (np > k) memset(dst + k, 128, (size_t)(np - k));
}

/* ----------------------------------------------------------- int8 GEMM */

static void bias_only(int M, int N, const float *bias, float *Y, int ldy, int accumulate) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float v = bias ? bias[n] : 0.0f, *y = Y + (size_t)m * ldy + n;
            *y = accumulate ? *y + v : v;
        }
}

/* The long-K path (see the top): tile by tile, panel by panel, K in chunks. */
static void gemm_q8_longk(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                          const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                          int ldy, int accumulate, uint8_t *abuf) {
    const int Kp = (K + 3) / 4 * 4;
    const int chunk = QK_ABUF / QK_MR / 64 * 64; /* bytes of a row per chunk */
    _Alignas(64) int32_t part[QK_MR * QK_NR];
    float inv[QK_MR], sa[QK_MR];
    for (int i0 = 0; i0 < M; i0 += QK_MR) {
        int mr = LR_MIN(QK_MR, M - i0);
        for (int i = 0; i < mr; i++) q8_row_scale(X + (size_t)(i0 + i) * ldx, K, &inv[i], &sa[i]);
        for (int n0 = 0; n0 < N; n0 += QK_NR) {
            const int8_t *panel = Wp + (size_t)(n0 / QK_NR) * QK_NR * Kp;
            for (int k0 = 0; k0 < Kp; k0 += chunk) {
                int kc = LR_MIN(chunk, Kp - k0); /* a multiple of 4 */
                for (int i = 0; i < mr; i++)
                    q8_quant_span(X + (size_t)(i0 + i) * ldx + k0, LR_MIN(kc, K - k0), kc, inv[i],
                                  abuf + (size_t)i * kc);
                q8_epi e = {sa, wscale + n0, wsum + n0, bias ? bias + n0 : NULL,
                            Y + (size_t)i0 * ldy + n0, (size_t)ldy, LR_MIN(QK_NR, N - n0),
                            accumulate, k0 > 0 ? part : NULL, k0 + kc < Kp ? part : NULL};
                q8_tile(mr, kc / 4, abuf, (size_t)kc, panel + (size_t)k0 * QK_NR, &e);
            }
        }
    }
}

/* The table's gemm_q8 (qkern.h). */
static void gemm_q8_x86(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                        const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                        int ldy, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        bias_only(M, N, bias, Y, ldy, accumulate);
        return;
    }
    _Alignas(64) uint8_t abuf[QK_ABUF];
    const int Kp = (K + 3) / 4 * 4;
    if ((size_t)Kp * QK_MR > QK_ABUF) {
        gemm_q8_longk(M, N, K, X, ldx, Wp, wscale, wsum, bias, Y, ldy, accumulate, abuf);
        return;
    }
    float sa[QK_MC_MAX], inv[QK_MC_MAX];
    int mc_max = LR_MIN(QK_ABUF / Kp, QK_MC_MAX) / QK_MR * QK_MR;
    for (int m0 = 0; m0 < M; m0 += mc_max) {
        int mc = LR_MIN(mc_max, M - m0);
        /* all the scales first, then all the rows: the reduction and the
         * divisions of one row no longer wait on each other's latency */
        for (int i = 0; i < mc; i++) q8_row_scale(X + (size_t)(m0 + i) * ldx, K, &inv[i], &sa[i]);
        for (int i = 0; i < mc; i++)
            q8_quant_span(X + (size_t)(m0 + i) * ldx, K, Kp, inv[i], abuf + (size_t)i * Kp);
        for (int n0 = 0; n0 < N; n0 += QK_NR) {
            const int8_t *panel = Wp + (size_t)(n0 / QK_NR) * QK_NR * Kp;
            for (int i0 = 0; i0 < mc; i0 += QK_MR) {
                q8_epi e = {sa + i0, wscale + n0, wsum + n0, bias ? bias + n0 : NULL,
                            Y + (size_t)(m0 + i0) * ldy + n0, (size_t)ldy, LR_MIN(QK_NR, N - n0),
                            accumulate, NULL, NULL};
                q8_tile(LR_MIN(QK_MR, mc - i0), Kp / 4, abuf + (size_t)i0 * Kp, (size_t)Kp,
                        panel, &e);
            }
        }
    }
}

/* ----------------------------------------------------------- bf16 GEMM */
#ifdef QK_BF16

/* qkern.h's bf16 layout for panel width QK_BNR: a pair of k of a row at a
 * time, zeros past N and K. */
static void pack_bf16_x86(int N, int K, const uint16_t *W, int ldw, uint16_t *dst) {
    lr__bf16_pack_panels(QK_BNR, N, K, W, ldw, dst);
}

/* The long-K path of bf16, as gemm_q8_longk (fp32 partial sums). */
static void gemm_bf16_longk(int M, int N, int K, const float *X, int ldx, const uint16_t *Wp,
                            const float *bias, float *Y, int ldy, int accumulate, uint16_t *abuf) {
    const int Kp = (K + 1) / 2 * 2;
    const int chunk = QK_ABUF / 2 / QK_BMR / 32 * 32; /* elements of a row per chunk */
    _Alignas(64) float part[QK_BMR * QK_BNR];
    for (int i0 = 0; i0 < M; i0 += QK_BMR) {
        int mr = LR_MIN(QK_BMR, M - i0);
        for (int n0 = 0; n0 < N; n0 += QK_BNR) {
            const uint16_t *panel = Wp + (size_t)(n0 / QK_BNR) * QK_BNR * Kp;
            for (int k0 = 0; k0 < Kp; k0 += chunk) {
                int kc = LR_MIN(chunk, Kp - k0); /* even */
                for (int i = 0; i < mr; i++)
                    bf16_round_row(X + (size_t)(i0 + i) * ldx + k0, LR_MIN(kc, K - k0), kc,
                                   abuf + (size_t)i * kc);
                q8_epi e = {NULL, NULL, NULL, bias ? bias + n0 : NULL, Y + (size_t)i0 * ldy + n0,
                            (size_t)ldy, LR_MIN(QK_BNR, N - n0), accumulate,
                            k0 > 0 ? part : NULL, k0 + kc < Kp ? part : NULL};
                bf16_tile(mr, kc / 2, abuf, (size_t)kc, panel + (size_t)k0 * QK_BNR, &e);
            }
        }
    }
}

/* The table's gemm_bf16 (qkern.h). */
static void gemm_bf16_x86(int M, int N, int K, const float *X, int ldx, const uint16_t *Wp,
                          const float *bias, float *Y, int ldy, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        bias_only(M, N, bias, Y, ldy, accumulate);
        return;
    }
    _Alignas(64) uint16_t abuf[QK_ABUF / 2];
    const int Kp = (K + 1) / 2 * 2;
    if ((size_t)Kp * QK_BMR > QK_ABUF / 2) {
        gemm_bf16_longk(M, N, K, X, ldx, Wp, bias, Y, ldy, accumulate, abuf);
        return;
    }
    int mc_max = LR_MIN(QK_ABUF / 2 / Kp, QK_MC_MAX) / QK_BMR * QK_BMR;
    for (int m0 = 0; m0 < M; m0 += mc_max) {
        int mc = LR_MIN(mc_max, M - m0);
        for (int i = 0; i < mc; i++)
            bf16_round_row(X + (size_t)(m0 + i) * ldx, K, Kp, abuf + (size_t)i * Kp);
        for (int n0 = 0; n0 < N; n0 += QK_BNR) {
            const uint16_t *panel = Wp + (size_t)(n0 / QK_BNR) * QK_BNR * Kp;
            for (int i0 = 0; i0 < mc; i0 += QK_BMR) {
                q8_epi e = {NULL, NULL, NULL, bias ? bias + n0 : NULL,
                            Y + (size_t)(m0 + i0) * ldy + n0, (size_t)ldy,
                            LR_MIN(QK_BNR, N - n0), accumulate, NULL, NULL};
                bf16_tile(LR_MIN(QK_BMR, mc - i0), Kp / 2, abuf + (size_t)i0 * Kp, (size_t)Kp,
                          panel, &e);
            }
        }
    }
}
#endif /* QK_BF16 */

#endif /* LR_QKERN_X86_H */
