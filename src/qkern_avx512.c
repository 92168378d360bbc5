/*
 * qkern_avx512.c — the AVX-512 low-precision tables (qkern.h):
 * "avx512vnni" (int8 with vpdpbusd; no bf16 kernel, bf16_nr = 0) and
 * "avx512bf16" (the same int8 kernel plus bf16 with vdpbf16ps and
 * vcvtne2ps2bf16). Compiled with -mavx512f/bw/vl/dq/vnni/bf16 -mfma; the
 * dispatcher (qkern.c) runs each only where CPUID + XGETBV say it can, and
 * the bf16 instructions sit only in bf16_tile / bf16_round_row, which the
 * avx512vnni table never reaches.
 *
 * Register tile (both dtypes): 6 rows x 64 columns = 24 zmm accumulators,
 * 4 zmm of the packed panel and one broadcast row element per step (a group
 * of 4 int8 k, or a pair of bf16 k): 24 dot-product instructions per 10
 * loads. On Zen 5 two vpdpbusd (or vdpbf16ps) issue per cycle with a few
 * cycles of latency, so 24 independent chains keep both pipes busy. The
 * whole K stays in the registers (exact int32 sums); the blocking, the
 * activation quantization and the long-K path are in qkern_x86.h.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QK_MR 6
#define QK_NR 64
#define QK_BF16 1
#define QK_BMR 6
#define QK_BNR 64

#include "qkern_x86.h"

#define QK_INLINE static inline __attribute__((always_inline))

/* The lanes of column vector j (columns 16j..16j+15) that are real columns. */
QK_INLINE __mmask16 col_mask(int ncols, int j) {
    int n = ncols - 16 * j;
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* The 32 bits at p in every lane. */
QK_INLINE __m512i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

/* ------------------------------------------------------------------ int8 */

/* q8_tile for a fixed row count MR (1..6): c[MR x 64] = sum over kg groups
 * of a (u8) times b (s8, the packed panel), then the epilogue e. */
QK_INLINE void q8_tile_rows(const int MR, int kg, const uint8_t *a, size_t lda, const int8_t *b,
                            const q8_epi *e) {
    /* Named accumulators, every row written out (GCC keeps an array of
     * vectors indexed in a loop in memory); rows >= MR fold away. */
    __m512i c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
    __m512i c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
    /* The sums start at -128 * wsum[n] (the u8 offset's share), or at the
     * partial sums of the previous K chunk. */
    const int32_t *cin = e->cin;
    __mmask16 m0 = col_mask(e->ncols, 0), m1 = col_mask(e->ncols, 1);
    __mmask16 m2 = col_mask(e->ncols, 2), m3 = col_mask(e->ncols, 3);
    __m512i k0, k1, k2, k3;
    if (!cin) {
        const __m512i neg128 = _mm512_set1_epi32(-128);
        k0 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m0, e->wsum), neg128);
        k1 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m1, e->wsum + 16), neg128);
        k2 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m2, e->wsum + 32), neg128);
        k3 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m3, e->wsum + 48), neg128);
    }
#define QK_INIT(r)                                                                             \
    if (cin) {                                                                                 \
        c##r##0 = _mm512_load_si512(cin + (r) * 64);                                           \
        c##r##1 = _mm512_load_si512(cin + (r) * 64 + 16);                                      \
        c##r##2 = _mm512_load_si512(cin + (r) * 64 + 32);                                      \
        c##r##3 = _mm512_load_si512(cin + (r) * 64 + 48);                                      \
    } else {                                                                                   \
        c##r##0 = k0, c##r##1 = k1, c##r##2 = k2, c##r##3 = k3;                                \
    }
    QK_INIT(0) QK_INIT(1) QK_INIT(2) QK_INIT(3) QK_INIT(4) QK_INIT(5)
#undef QK_INIT
    const uint8_t *a0 = a, *a3 = a + 3 * lda;
    for (int k = 0; k < kg; k++) {
        __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
        __m512i b2 = _mm512_loadu_si512(b + 128), b3 = _mm512_loadu_si512(b + 192);
        __m512i x;
#define QK_ROW(r, base, off)                                                                   \
    if (MR > (r)) {                                                                            \
        x = bcast32((base) + (off));                                                           \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, x, b0);                                         \
        c##r##1 = _mm512_dpbusd_epi32(c##r##1, x, b1);                                         \
        c##r##2 = _mm512_dpbusd_epi32(c##r##2, x, b2);                                         \
        c##r##3 = _mm512_dpbusd_epi32(c##r##3, x, b3);                                         \
    }
        QK_ROW(0, a0, 0)
        QK_ROW(1, a0, lda)
        QK_ROW(2, a0, 2 * lda)
        QK_ROW(3, a3, 0)
        QK_ROW(4, a3, lda)
        QK_ROW(5, a3, 2 * lda)
#undef QK_ROW
        a0 += 4;
        a3 += 4;
        b += 256;
    }
    if (e->cout) {
        int32_t *cout = e->cout;
#define QK_PARK(r)                                                                             \
    if (MR > (r)) {                                                                            \
        _mm512_store_si512(cout + (r) * 64, c##r##0);                                          \
        _mm512_store_si512(cout + (r) * 64 + 16, c##r##1);                                     \
        _mm512_store_si512(cout + (r) * 64 + 32, c##r##2);                                     \
        _mm512_store_si512(cout + (r) * 64 + 48, c##r##3);                                     \
    }
        QK_PARK(0) QK_PARK(1) QK_PARK(2) QK_PARK(3) QK_PARK(4) QK_PARK(5)
#undef QK_PARK
        return;
    }
    __m512 ws0 = _mm512_maskz_loadu_ps(m0, e->ws), ws1 = _mm512_maskz_loadu_ps(m1, e->ws + 16);
    __m512 ws2 = _mm512_maskz_loadu_ps(m2, e->ws + 32), ws3 = _mm512_maskz_loadu_ps(m3, e->ws + 48);
    __m512 z = _mm512_setzero_ps();
    __m512 bi0 = e->bias ? _mm512_maskz_loadu_ps(m0, e->bias) : z;
    __m512 bi1 = e->bias ? _mm512_maskz_loadu_ps(m1, e->bias + 16) : z;
    __m512 bi2 = e->bias ? _mm512_maskz_loadu_ps(m2, e->bias + 32) : z;
    __m512 bi3 = e->bias ? _mm512_maskz_loadu_ps(m3, e->bias + 48) : z;
    /* y = (float)acc * (sa * ws[n]) + bias[n], rounded as the reference
     * rounds it (no fused multiply-add) */
#define QK_OUT1(r, j)                                                                          \
    {                                                                                          \
        __m512 v = _mm512_cvtepi32_ps(c##r##j);                                                \
        v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_mul_ps(sa, ws##j)), bi##j);                  \
        if (e->accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m##j, y + 16 * (j)), v);    \
        _mm512_mask_storeu_ps(y + 16 * (j), m##j, v);                                          \
    }
#define QK_OUT(r)                                                                              \
    if (MR > (r)) {                                                                            \
        __m512 sa = _mm512_set1_ps(e->sa[r]);                                                  \
        float *y = e->y + (r) * e->ldy;                                                        \
        QK_OUT1(r, 0) QK_OUT1(r, 1) QK_OUT1(r, 2) QK_OUT1(r, 3)                                \
    }
    QK_OUT(0) QK_OUT(1) QK_OUT(2) QK_OUT(3) QK_OUT(4) QK_OUT(5)
#undef QK_OUT
#undef QK_OUT1
}

static void q8_tile(int mr, int kg, const uint8_t *a, size_t lda, const int8_t *b,
                    const q8_epi *e) {
    switch (mr) {
    case 6: q8_tile_rows(6, kg, a, lda, b, e); break;
    case 5: q8_tile_rows(5, kg, a, lda, b, e); break;
    case 4: q8_tile_rows(4, kg, a, lda, b, e); break;
    case 3: q8_tile_rows(3, kg, a, lda, b, e); break;
    case 2: q8_tile_rows(2, kg, a, lda, b, e); break;
    default: q8_tile_rows(1, kg, a, lda, b, e); break;
    }
}

/* ------------------------------------------------------------------ bf16 */

/* dst[k] = bf16(x[k]) (round to nearest even, subnormals to zero: exactly
 * lr__bf16_from_f32) for k < n, 0 for n <= k < np. */
static void bf16_round_row(const float *x, int n, int np, uint16_t *dst) {
    int k = 0;
    for (; k + 32 <= n; k += 32) {
        __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k));
        _mm512_storeu_si512(dst + k, (__m512i)h);
    }
    if (k < n) {
        int rest = n - k;
        __mmask16 lo = (__mmask16)(rest >= 16 ? 0xffff : (1u << rest) - 1);
        __mmask16 hi = (__mmask16)(rest <= 16 ? 0 : (1u << (rest - 16)) - 1);
        __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + k + 16),
                                         _mm512_maskz_loadu_ps(lo, x + k));
        _mm512_mask_storeu_epi16(dst + k, (__mmask32)((1ull << rest) - 1), (__m512i)h);
        k = n;
    }
    for (; k < np; k++) dst[k] = 0;
}

/* bf16_tile for a fixed row count MR: c[MR x 64] = sum over kp pairs of a
 * (bf16 pairs) times b (the packed panel), then + bias into y. */
QK_INLINE void bf16_tile_rows(const int MR, int kp, const uint16_t *a, size_t lda,
                              const uint16_t *b, const q8_epi *e) {
    __m512 c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
    __m512 c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
    const float *cin = e->cin;
#define QK_INIT(r)                                                                             \
    if (cin) {                                                                                 \
        c##r##0 = _mm512_load_ps(cin + (r) * 64);                                              \
        c##r##1 = _mm512_load_ps(cin + (r) * 64 + 16);                                         \
        c##r##2 = _mm512_load_ps(cin + (r) * 64 + 32);                                         \
        c##r##3 = _mm512_load_ps(cin + (r) * 64 + 48);                                         \
    } else {                                                                                   \
        c##r##0 = c##r##1 = c##r##2 = c##r##3 = _mm512_setzero_ps();                           \
    }
    QK_INIT(0) QK_INIT(1) QK_INIT(2) QK_INIT(3) QK_INIT(4) QK_INIT(5)
#undef QK_INIT
    const uint16_t *a0 = a, *a3 = a + 3 * lda;
    for (int k = 0; k < kp; k++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(b + 64);
        __m512bh b3 = (__m512bh)_mm512_loadu_si512(b + 96);
        __m512bh x;
#define QK_ROW(r, base, off)                                                                   \
    if (MR > (r)) {                                                                            \
        x = (__m512bh)bcast32((base) + (off));                                                 \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, x, b0);                                            \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, x, b1);                                            \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, x, b2);                                            \
        c##r##3 = _mm512_dpbf16_ps(c##r##3, x, b3);                                            \
    }
        QK_ROW(0, a0, 0)
        QK_ROW(1, a0, lda)
        QK_ROW(2, a0, 2 * lda)
        QK_ROW(3, a3, 0)
        QK_ROW(4, a3, lda)
        QK_ROW(5, a3, 2 * lda)
#undef QK_ROW
        a0 += 2;
        a3 += 2;
        b += 128;
    }
    if (e->cout) {
        float *cout = e->cout;
#define QK_PARK(r)                                                                             \
    if (MR > (r)) {                                                                            \
        _mm512_store_ps(cout + (r) * 64, c##r##0);                                             \
        _mm512_store_ps(cout + (r) * 64 + 16, c##r##1);                                        \
        _mm512_store_ps(cout + (r) * 64 + 32, c##r##2);                                        \
        _mm512_store_ps(cout + (r) * 64 + 48, c##r##3);                                        \
    }
        QK_PARK(0) QK_PARK(1) QK_PARK(2) QK_PARK(3) QK_PARK(4) QK_PARK(5)
#undef QK_PARK
        return;
    }
    __mmask16 m0 = col_mask(e->ncols, 0), m1 = col_mask(e->ncols, 1);
    __mmask16 m2 = col_mask(e->ncols, 2), m3 = col_mask(e->ncols, 3);
    __m512 z = _mm512_setzero_ps();
    __m512 bi0 = e->bias ? _mm512_maskz_loadu_ps(m0, e->bias) : z;
    __m512 bi1 = e->bias ? _mm512_maskz_loadu_ps(m1, e->bias + 16) : z;
    __m512 bi2 = e->bias ? _mm512_maskz_loadu_ps(m2, e->bias + 32) : z;
    __m512 bi3 = e->bias ? _mm512_maskz_loadu_ps(m3, e->bias + 48) : z;
#define QK_OUT1(r, j)                                                                          \
    {                                                                                          \
        __m512 v = _mm512_add_ps(c##r##j, bi##j);                                              \
        if (e->accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m##j, y + 16 * (j)), v);    \
        _mm512_mask_storeu_ps(y + 16 * (j), m##j, v);                                          \
    }
#define QK_OUT(r)                                                                              \
    if (MR > (r)) {                                                                            \
        float *y = e->y + (r) * e->ldy;                                                        \
        QK_OUT1(r, 0) QK_OUT1(r, 1) QK_OUT1(r, 2) QK_OUT1(r, 3)                                \
    }
    QK_OUT(0) QK_OUT(1) QK_OUT(2) QK_OUT(3) QK_OUT(4) QK_OUT(5)
#undef QK_OUT
#undef QK_OUT1
}

static void bf16_tile(int mr, int kp, const uint16_t *a, size_t lda, const uint16_t *b,
                      const q8_epi *e) {
    switch (mr) {
    case 6: bf16_tile_rows(6, kp, a, lda, b, e); break;
    case 5: bf16_tile_rows(5, kp, a, lda, b, e); break;
    case 4: bf16_tile_rows(4, kp, a, lda, b, e); break;
    case 3: bf16_tile_rows(3, kp, a, lda, b, e); break;
    case 2: bf16_tile_rows(2, kp, a, lda, b, e); break;
    default: bf16_tile_rows(1, kp, a, lda, b, e); break;
    }
}

/* ---------------------------------------------------------------- tables */

const lr__qkern lr__qkern_avx512vnni = {
    .name = "avx512vnni",
    .q8_nr = QK_NR,
    .pack_q8 = pack_q8_x86,
    .gemm_q8 = gemm_q8_x86,
    .bf16_nr = 0,
    .pack_bf16 = NULL,
    .gemm_bf16 = NULL,
};

const lr__qkern lr__qkern_avx512bf16 = {
    .name = "avx512bf16",
    .q8_nr = QK_NR,
    .pack_q8 = pack_q8_x86,
    .gemm_q8 = gemm_q8_x86,
    .bf16_nr = QK_BNR,
    .pack_bf16 = pack_bf16_x86,
    .gemm_bf16 = gemm_bf16_x86,
};
