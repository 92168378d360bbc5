/*
 * kern_neon.c — the AArch64 Advanced SIMD (NEON) kernel table, chosen when
 * HWCAP says the CPU has ASIMD (every arm64 Linux machine does).
 *
 * Register tile: 4 rows x 16 columns = 16 q-register accumulators, 4 of B
 * and 4 of A (4 k steps of each row, used by lane: fmla by element), 24 of
 * the 32 vector registers, so nothing spills. K blocks of 256 keep the B
 * micro-panel (16 KB) in L1.
 * Everything else is in kern_simd.h.
 */
#include <arm_neon.h>
#include <stddef.h>
#include <math.h>

#define LR_TABLE lr__kern_neon
#define LR_NAME "neon"
#define LR_MR 4
#define LR_NR 16
#define LR_KC 256
#define LR_MC 96
#define LR_VL 4

typedef float32x4_t vf;

static inline vf vf_ld(const float *p) { return vld1q_f32(p); }
static inline void vf_st(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vf_set1(float x) { return vdupq_n_f32(x); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline vf vf_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf vf_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf vf_abs(vf a) { return vabsq_f32(a); }
static inline vf vf_round(vf a) { return vrndnq_f32(a); }
/* p * 2^n for integral n in [-126, 127] */
static inline vf vf_scale_pow2(vf p, vf n) {
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}
/* a < b ? t : f, lane by lane */
static inline vf vf_select_lt(vf a, vf b, vf t, vf f) { return vbslq_f32(vcltq_f32(a, b), t, f); }
static inline float vf_hsum(vf a) { return vaddvq_f32(a); }
static inline float vf_hmax(vf a) { return vmaxvq_f32(a); }

/* The micro-kernel: c[4 x 16] (+)= a[4 x kc] * b[kc x 16] (+ bias[16]).
 * a is row-major with row stride lda, b row-major with row stride ldb, c
 * with row stride ldc. load_c adds the old c; bias may be NULL. Four k
 * steps at a time: one q register holds a row's next 4 A values and each
 * FMA takes its multiplier by lane (16 accumulators, 4 A, 4 B registers). */
static inline void micro(int kc, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, int load_c, const float *bias) {
    float32x4_t acc[LR_MR][4];
    for (int i = 0; i < LR_MR; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_f32(0.0f);
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        float32x4_t a0 = vld1q_f32(a + k), a1 = vld1q_f32(a + lda + k);
        float32x4_t a2 = vld1q_f32(a + 2 * lda + k), a3 = vld1q_f32(a + 3 * lda + k);
#define LR_ROW(i, av, lane)                                                                   \
    acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);                                     \
    acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);                                     \
    acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);                                     \
    acc[i][3] = vfmaq_laneq_f32(acc[i][3], b3, av, lane);
#define LR_STEP(lane)                                                                         \
    {                                                                                         \
        const float *bk = b + (lane) * ldb;                                                   \
        float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4);                               \
        float32x4_t b2 = vld1q_f32(bk + 8), b3 = vld1q_f32(bk + 12);                          \
        LR_ROW(0, a0, lane) LR_ROW(1, a1, lane) LR_ROW(2, a2, lane) LR_ROW(3, a3, lane)       \
    }
        LR_STEP(0) LR_STEP(1) LR_STEP(2) LR_STEP(3)
#undef LR_STEP
#undef LR_ROW
        b += 4 * ldb;
    }
    for (; k < kc; k++) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        for (int i = 0; i < LR_MR; i++) {
            float x = a[i * lda + k];
            acc[i][0] = vfmaq_n_f32(acc[i][0], b0, x);
            acc[i][1] = vfmaq_n_f32(acc[i][1], b1, x);
            acc[i][2] = vfmaq_n_f32(acc[i][2], b2, x);
            acc[i][3] = vfmaq_n_f32(acc[i][3], b3, x);
        }
        b += ldb;
    }
    for (int i = 0; i < LR_MR; i++) {
        float *y = c + i * ldc;
        for (int j = 0; j < 4; j++) {
            float32x4_t v = acc[i][j];
            if (bias) v = vaddq_f32(v, vld1q_f32(bias + 4 * j));
            if (load_c) v = vaddq_f32(v, vld1q_f32(y + 4 * j));
            vst1q_f32(y + 4 * j, v);
        }
    }
}

#include "kern_simd.h"
