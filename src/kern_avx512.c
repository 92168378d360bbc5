/*
 * kern_avx512.c — the AVX-512F kernel table (compiled with -mavx512f ...
 * -mfma; chosen only when CPUID and XGETBV say the CPU and OS support it).
 *
 * Register tile: 6 rows x 64 columns = 24 zmm accumulators, 4 zmm of B and
 * one broadcast per row each k step (24 FMAs per 10 loads). K blocks of 128
 * keep the B micro-panel (128 x 64 floats = 32 KB) in the 48 KB L1 while
 * 192-row blocks of X (96 KB) stream from L2. Everything else is in
 * kern_simd.h.
 */
#include <immintrin.h>
#include <stddef.h>
#include <math.h>

#define LR_TABLE lr__kern_avx512
#define LR_NAME "avx512"
#define LR_MR 6
#define LR_NR 64
#define LR_KC 128
#define LR_MC 192
#define LR_VL 16

typedef __m512 vf;

static inline vf vf_ld(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_st(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_set1(float x) { return _mm512_set1_ps(x); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm512_abs_ps(a); }
static inline vf vf_round(vf a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* p * 2^n for integral n in [-126, 127] */
static inline vf vf_scale_pow2(vf p, vf n) {
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}
/* a < b ? t : f, lane by lane */
static inline vf vf_select_lt(vf a, vf b, vf t, vf f) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), f, t);
}
static inline float vf_hsum(vf a) { return _mm512_reduce_add_ps(a); }
static inline float vf_hmax(vf a) { return _mm512_reduce_max_ps(a); }

/* The micro-kernel: c[6 x 64] (+)= a[6 x kc] * b[kc x 64] (+ bias[64]).
 * a is row-major with row stride lda, b row-major with row stride ldb, c
 * with row stride ldc. load_c adds the old c; bias may be NULL. */
static inline void micro(int kc, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, int load_c, const float *bias) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    __m512 c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c43 = c00;
    __m512 c50 = c00, c51 = c00, c52 = c00, c53 = c00;
    const float *a0 = a, *a3 = a + 3 * lda;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
        __m512 x;
#define LR_ROW(r, base, off)                                                                  \
    x = _mm512_set1_ps((base)[(off) + k]);                                                    \
    c##r##0 = _mm512_fmadd_ps(x, b0, c##r##0);                                                \
    c##r##1 = _mm512_fmadd_ps(x, b1, c##r##1);                                                \
    c##r##2 = _mm512_fmadd_ps(x, b2, c##r##2);                                                \
    c##r##3 = _mm512_fmadd_ps(x, b3, c##r##3);
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
        __m512 b0 = _mm512_loadu_ps(bias), b1 = _mm512_loadu_ps(bias + 16);
        __m512 b2 = _mm512_loadu_ps(bias + 32), b3 = _mm512_loadu_ps(bias + 48);
#define LR_BIAS(r)                                                                            \
    c##r##0 = _mm512_add_ps(c##r##0, b0);                                                     \
    c##r##1 = _mm512_add_ps(c##r##1, b1);                                                     \
    c##r##2 = _mm512_add_ps(c##r##2, b2);                                                     \
    c##r##3 = _mm512_add_ps(c##r##3, b3);
        LR_BIAS(0) LR_BIAS(1) LR_BIAS(2) LR_BIAS(3) LR_BIAS(4) LR_BIAS(5)
#undef LR_BIAS
    }
#define LR_STORE(r)                                                                           \
    {                                                                                         \
        float *y = c + (r) * ldc;                                                             \
        if (load_c) {                                                                         \
            c##r##0 = _mm512_add_ps(c##r##0, _mm512_loadu_ps(y));                             \
            c##r##1 = _mm512_add_ps(c##r##1, _mm512_loadu_ps(y + 16));                        \
            c##r##2 = _mm512_add_ps(c##r##2, _mm512_loadu_ps(y + 32));                        \
            c##r##3 = _mm512_add_ps(c##r##3, _mm512_loadu_ps(y + 48));                        \
        }                                                                                     \
        _mm512_storeu_ps(y, c##r##0);                                                         \
        _mm512_storeu_ps(y + 16, c##r##1);                                                    \
        _mm512_storeu_ps(y + 32, c##r##2);                                                    \
        _mm512_storeu_ps(y + 48, c##r##3);                                                    \
    }
    LR_STORE(0) LR_STORE(1) LR_STORE(2) LR_STORE(3) LR_STORE(4) LR_STORE(5)
#undef LR_STORE
}

/* 16 rows of 16 floats (rows src + i*lds) transposed into 16 rows of 16
 * (dst + j*ldd): in-lane unpacks and shuffles give 4x4 blocks, two rounds
 * of 128-bit lane shuffles put the blocks in place. Fully unrolled so that
 * every intermediate stays in a register (the loops over arrays otherwise
 * go through the stack: 128 extra loads and stores per block). */
static inline void transpose16(const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd) {
    __m512 r[16], t[16], u[16], v[8], w[8];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; g += 4) { /* u[g + c]: lane l = column 4l + c of rows g..g+3 */
        u[g + 0] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);
        u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
#pragma GCC unroll 16
    for (int c = 0; c < 4; c++) {
        v[c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);      /* columns c, 8+c  */
        v[4 + c] = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);  /* columns 4+c, 12+c */
        w[c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        w[4 + c] = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
    }
#pragma GCC unroll 16
    for (int c = 0; c < 4; c++) {
        _mm512_storeu_ps(dst + (c)*ldd, _mm512_shuffle_f32x4(v[c], w[c], 0x88));
        _mm512_storeu_ps(dst + (8 + c) * ldd, _mm512_shuffle_f32x4(v[c], w[c], 0xdd));
        _mm512_storeu_ps(dst + (4 + c) * ldd, _mm512_shuffle_f32x4(v[4 + c], w[4 + c], 0x88));
        _mm512_storeu_ps(dst + (12 + c) * ldd, _mm512_shuffle_f32x4(v[4 + c], w[4 + c], 0xdd));
    }
}

#define LR_TB 16 /* transpose16 is the packing transpose (kern_simd.h) */
#define LR_TRANSPOSE transpose16

#include "kern_simd.h"
