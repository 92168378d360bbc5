/*
 * kern_avx2.c — the AVX2 + FMA kernel table (compiled with -mavx2 -mfma
 * -mf16c; chosen when CPUID and XGETBV say the CPU and OS support it and
 * AVX-512 is not available or not wanted).
 *
 * Register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 ymm of B and
 * one broadcast (15 of the 16 ymm registers). K blocks of 256 keep the B
 * micro-panel (256 x 16 floats = 16 KB) in L1. Everything else is in
 * kern_simd.h.
 */
#include <immintrin.h>
#include <stddef.h>
#include <math.h>

#define LR_TABLE lr__kern_avx2
#define LR_NAME "avx2"
#define LR_MR 6
#define LR_NR 16
#define LR_KC 256
#define LR_MC 96
#define LR_VL 8

typedef __m256 vf;

static inline vf vf_ld(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_st(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_set1(float x) { return _mm256_set1_ps(x); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vf_abs(vf a) {
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}
static inline vf vf_round(vf a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* p * 2^n for integral n in [-126, 127] */
static inline vf vf_scale_pow2(vf p, vf n) {
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
/* a < b ? t : f, lane by lane */
static inline vf vf_select_lt(vf a, vf b, vf t, vf f) {
    return _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
static inline float vf_hsum(vf a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vf_hmax(vf a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The micro-kernel: c[6 x 16] (+)= a[6 x kc] * b[kc x 16] (+ bias[16]).
 * a is row-major with row stride lda, b row-major with row stride ldb, c
 * with row stride ldc. load_c adds the old c; bias may be NULL. */
static inline void micro(int kc, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, int load_c, const float *bias) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = a, *a3 = a + 3 * lda;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
#define LR_ROW(r, base, off)                                                                  \
    x = _mm256_broadcast_ss((base) + (off) + k);                                              \
    c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                                                \
    c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);
        LR_ROW(0, a0, 0)
        LR_ROW(1, a0, lda)
        LR_ROW(2, a0, 2 * lda)
        LR_ROW(3, a3, 0)
        LR_ROW(4, a3, lda)
        LR_ROW(5, a3, 2 * lda)
#undef LR_ROW
        b += ldb;
    }
    if (bias) {
        __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#define LR_BIAS(r)                                                                            \
    c##r##0 = _mm256_add_ps(c##r##0, b0);                                                     \
    c##r##1 = _mm256_add_ps(c##r##1, b1);
        LR_BIAS(0) LR_BIAS(1) LR_BIAS(2) LR_BIAS(3) LR_BIAS(4) LR_BIAS(5)
#undef LR_BIAS
    }
#define LR_STORE(r)                                                                           \
    {                                                                                         \
        float *y = c + (r) * ldc;                                                             \
        if (load_c) {                                                                         \
            c##r##0 = _mm256_add_ps(c##r##0, _mm256_loadu_ps(y));                             \
            c##r##1 = _mm256_add_ps(c##r##1, _mm256_loadu_ps(y + 8));                         \
        }                                                                                     \
        _mm256_storeu_ps(y, c##r##0);                                                         \
        _mm256_storeu_ps(y + 8, c##r##1);                                                     \
    }
    LR_STORE(0) LR_STORE(1) LR_STORE(2) LR_STORE(3) LR_STORE(4) LR_STORE(5)
#undef LR_STORE
}

/* 8 rows of 8 floats (rows src + i*lds) transposed into 8 rows of 8
 * (dst + j*ldd): in-lane unpacks and shuffles, then 128-bit lane swaps.
 * Fully unrolled so that every intermediate stays in a register. */
static inline void transpose8(const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd) {
    __m256 r[8], t[8], u[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; g += 4) { /* u[g + c]: lane l = column 4l + c of rows g..g+3 */
        u[g + 0] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xee);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
#pragma GCC unroll 8
    for (int c = 0; c < 4; c++) {
        _mm256_storeu_ps(dst + c * ldd, _mm256_permute2f128_ps(u[c], u[4 + c], 0x20));
        _mm256_storeu_ps(dst + (4 + c) * ldd, _mm256_permute2f128_ps(u[c], u[4 + c], 0x31));
    }
}

#define LR_TB 8 /* transpose8 is the packing transpose (kern_simd.h) */
#define LR_TRANSPOSE transpose8

#include "kern_simd.h"
