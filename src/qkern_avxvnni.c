/*
 * qkern_avxvnni.c — the AVX-VNNI int8 table "avxvnni" (qkern.h): vpdpbusd
 * on 256-bit vectors with the VEX encoding (_mm256_dpbusd_avx_epi32), for
 * CPUs that have AVX-VNNI but no AVX-512 (Alder Lake and later client
 * cores, Zen 5 without AVX-512 state). No bf16 kernel (bf16_nr = 0: the
 * model widens bf16 weights to fp32 there). Compiled with -mavx2 -mfma
 * -mavxvnni; qkern.c runs it only where CPUID + XGETBV allow.
 *
 * Register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 ymm of the
 * packed panel and one broadcast per group of 4 k: 15 of the 16 ymm
 * registers, 12 vpdpbusd per 8 loads. The blocking, quantization (the same
 * bytes as the reference) and the long-K path are in qkern_x86.h.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QK_MR 6
#define QK_NR 16

#include "qkern_x86.h"

#define QK_INLINE static inline __attribute__((always_inline))

/* All-ones in the lanes of column vector j (columns 8j..8j+7) that are
 * real columns (maskload / maskstore take the top bit). */
QK_INLINE __m256i col_mask(int ncols, int j) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(ncols - 8 * j),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

QK_INLINE __m256i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* c[MR x 16] = sum over kg groups of a (u8) times b (s8 panel), then the
 * epilogue e (see qkern_x86.h); rows >= MR fold away. */
QK_INLINE void q8_tile_rows(const int MR, int kg, const uint8_t *a, size_t lda, const int8_t *b,
                            const q8_epi *e) {
    __m256i c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    /* The sums start at -128 * wsum[n] (the u8 offset's share), or at the
     * partial sums of the previous K chunk. */
    const int32_t *cin = e->cin;
    __m256i m0 = col_mask(e->ncols, 0), m1 = col_mask(e->ncols, 1), k0, k1;
    if (!cin) {
        const __m256i neg128 = _mm256_set1_epi32(-128);
        k0 = _mm256_mullo_epi32(_mm256_maskload_epi32(e->wsum, m0), neg128);
        k1 = _mm256_mullo_epi32(_mm256_maskload_epi32(e->wsum + 8, m1), neg128);
    }
#define QK_INIT(r)                                                                             \
    if (cin) {                                                                                 \
        c##r##0 = _mm256_load_si256((const __m256i *)(cin + (r) * 16));                        \
        c##r##1 = _mm256_load_si256((const __m256i *)(cin + (r) * 16 + 8));                    \
    } else {                                                                                   \
        c##r##0 = k0, c##r##1 = k1;                                                            \
    }
    QK_INIT(0) QK_INIT(1) QK_INIT(2) QK_INIT(3) QK_INIT(4) QK_INIT(5)
#undef QK_INIT
    const uint8_t *a0 = a, *a3 = a + 3 * lda;
    for (int k = 0; k < kg; k++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
        __m256i x;
#define QK_ROW(r, base, off)                                                                   \
    if (MR > (r)) {                                                                            \
        x = bcast32((base) + (off));                                                           \
        c##r##0 = _mm256_dpbusd_avx_epi32(c##r##0, x, b0);                                     \
        c##r##1 = _mm256_dpbusd_avx_epi32(c##r##1, x, b1);                                     \
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
        b += 64;
    }
    if (e->cout) {
        int32_t *cout = e->cout;
#define QK_PARK(r)                                                                             \
    if (MR > (r)) {                                                                            \
        _mm256_store_si256((__m256i *)(cout + (r) * 16), c##r##0);                             \
        _mm256_store_si256((__m256i *)(cout + (r) * 16 + 8), c##r##1);                         \
    }
        QK_PARK(0) QK_PARK(1) QK_PARK(2) QK_PARK(3) QK_PARK(4) QK_PARK(5)
#undef QK_PARK
        return;
    }
    __m256 ws0 = _mm256_maskload_ps(e->ws, m0), ws1 = _mm256_maskload_ps(e->ws + 8, m1);
    __m256 z = _mm256_setzero_ps();
    __m256 bi0 = e->bias ? _mm256_maskload_ps(e->bias, m0) : z;
    __m256 bi1 = e->bias ? _mm256_maskload_ps(e->bias + 8, m1) : z;
    /* y = (float)acc * (sa * ws[n]) + bias[n], rounded as the reference
     * rounds it (no fused multiply-add) */
#define QK_OUT1(r, j)                                                                          \
    {                                                                                          \
        __m256 v = _mm256_cvtepi32_ps(c##r##j);                                                \
        v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_mul_ps(sa, ws##j)), bi##j);                  \
        if (e->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(y + 8 * (j), m##j), v);        \
        _mm256_maskstore_ps(y + 8 * (j), m##j, v);                                             \
    }
#define QK_OUT(r)                                                                              \
    if (MR > (r)) {                                                                            \
        __m256 sa = _mm256_set1_ps(e->sa[r]);                                                  \
        float *y = e->y + (r) * e->ldy;                                                        \
        QK_OUT1(r, 0) QK_OUT1(r, 1)                                                            \
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

const lr__qkern lr__qkern_avxvnni = {
    .name = "avxvnni",
    .q8_nr = QK_NR,
    .pack_q8 = pack_q8_x86,
    .gemm_q8 = gemm_q8_x86,
    .bf16_nr = 0,
    .pack_bf16 = NULL,
    .gemm_bf16 = NULL,
};
