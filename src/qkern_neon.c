/*
 * qkern_neon.c — the AArch64 int8 GEMM tables: "neondot" (sdot, the
 * ARMv8.2 dot-product extension, chosen only when HWCAP says ASIMDDP) and
 * "neon" (plain Advanced SIMD, for cores without it). No bf16 kernel on
 * either (bf16_nr = 0: the model widens bf16 weights to fp32).
 *
 * The file is compiled with -march=armv8.2-a+dotprod so that the sdot
 * intrinsics are available; only micro_dot (reached from gemm_q8_neondot)
 * uses them. Everything the "neon" table runs is plain ARMv8.0 intrinsics
 * and scalar code (tests/neon.test.sh runs it under qemu on a Cortex-A53
 * model, which has no dot product: an sdot there would be SIGILL).
 *
 * Layout (qkern.h): panels of NR = 16 columns, a k group of 4 is 64 bytes
 * = four q registers, lane j of register q holding W[4q + j, 4g..4g+3].
 *
 *   neondot: vdotq_laneq_s32(acc, b, a, l) adds, in each int32 lane j, the
 *   dot product of b's 4 bytes j with a's 4 bytes l: one instruction for
 *   4 columns x 4 k. Register tile 4 rows x 16 columns: 16 accumulators,
 *   4 B and 4 A registers (each A register holds one row's next 4 groups,
 *   taken by lane), as in the fp32 NEON kernel.
 *
 *   neon: smull multiplies 8 bytes of B (2 columns x 4 k) by the row's 4
 *   activations repeated, into int16; smlal adds the next group's products
 *   to the same lanes (two products of at most 127 * 127 each: 32258, no
 *   overflow); sadalp adds adjacent int16 pairs into int32. Each column
 *   then has two partial sums in adjacent lanes, added pairwise (addp) at
 *   the end. Tile 2 rows x 16 columns (16 accumulators); the 4-row tile of
 *   the driver is two of them.
 *
 * Blocking, scratch and quantization as in qkern_avx2.c: rows in blocks of
 * MB = 16 with their scales over all of K, columns in chunks of NC = 256
 * summed in an int32 stack buffer, K in chunks of KC = 512 quantized just
 * before use (about 25 KB of stack). Quantization is lr__q8_quantize_row's
 * rule: one division 127/amax, one multiply, vcvtnq_s32_f32 (round half to
 * even), clamp to +-127: bit-identical qa.
 */
#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qkern.h"
#include "util.h"

#define MR 4    /* rows of the driver's tile                  */
#define NR 16   /* columns of a panel and of the tile         */
#define MB 16   /* rows per block (a multiple of MR)           */
#define KC 512  /* k per chunk (a multiple of 16)              */
#define NC 256  /* columns per chunk (a multiple of NR)        */

/* ------------------------------------------------------------- packing */

/* pack_q8 (qkern.h): panel p, group g, column j, byte k%4 at
 * dst[p*NR*Kp + g*NR*4 + j*4 + k%4]; zeros past N and K. */
static void pack_q8_neon(int N, int K, const int8_t *W, int ldw, int8_t *dst, int32_t *wsum) {
    lr__q8_pack_panels(NR, N, K, W, ldw, dst, wsum);
}

/* ------------------------------------------------------- quantization */

/* max_k |x[k]| of one row */
static float row_amax(const float *x, int K) {
    float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0;
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + k)));
        m1 = vmaxq_f32(m1, vabsq_f32(vld1q_f32(x + k + 4)));
    }
    float amax = vmaxvq_f32(vmaxq_f32(m0, m1));
    for (; k < K; k++) amax = LR_MAX(amax, x[k] < 0 ? -x[k] : x[k]);
    return amax;
}

/* 16 floats times inv, rounded half to even, clamped to +-127, as bytes */
static inline int8x16_t quant16(const float *x, float32x4_t inv) {
    const int32x4_t hi = vdupq_n_s32(127), lo = vdupq_n_s32(-127);
    int16x4_t h[4];
    for (int i = 0; i < 4; i++) {
        int32x4_t v = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 4 * i), inv));
        h[i] = vmovn_s32(vmaxq_s32(vminq_s32(v, hi), lo));
    }
    return vcombine_s8(vmovn_s16(vcombine_s16(h[0], h[1])), vmovn_s16(vcombine_s16(h[2], h[3])));
}

/* x[0..kc) of one row into qa[0..kcp) (zeros from kc); inv = 127/amax, or
 * 0 for a row whose sa is 0 (all qa 0). */
static void quant_chunk(const float *x, int kc, int kcp, float inv, int8_t *qa) {
    if (inv == 0.0f) {
        memset(qa, 0, (size_t)kcp);
        return;
    }
    const float32x4_t vinv = vdupq_n_f32(inv);
    int k = 0;
    for (; k + 16 <= kc; k += 16) vst1q_s8(qa + k, quant16(x + k, vinv));
    if (k < kcp) { /* the tail through a zero-padded buffer: same formula */
        float tail[16] = {0};
        int8_t qt[16];
        memcpy(tail, x + k, (size_t)(kc - k) * sizeof(float));
        vst1q_s8(qt, quant16(tail, vinv));
        memcpy(qa + k, qt, (size_t)(kcp - k));
    }
}

/* ------------------------------------------------------ micro-kernels */

/* Both: c[4 x NR] (+)= qa[4 x 4ng] * B[4ng x NR] in int32; a rows at
 * stride lda, b a panel at group 0 of the chunk (groups NR*4 bytes apart),
 * c row stride ldc; load adds the old c. */

static inline void store_row(int32_t *c, const int32x4_t acc[4], int load) {
    for (int j = 0; j < 4; j++) {
        int32x4_t v = acc[j];
        if (load) v = vaddq_s32(v, vld1q_s32(c + 4 * j));
        vst1q_s32(c + 4 * j, v);
    }
}

static inline void micro_dot(int ng, const int8_t *a, ptrdiff_t lda, const int8_t *b, int32_t *c,
                             ptrdiff_t ldc, int load) {
    int32x4_t acc[MR][4];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);
    int g = 0;
    for (; g + 4 <= ng; g += 4) {
        int8x16_t a0 = vld1q_s8(a + 4 * g), a1 = vld1q_s8(a + lda + 4 * g);
        int8x16_t a2 = vld1q_s8(a + 2 * lda + 4 * g), a3 = vld1q_s8(a + 3 * lda + 4 * g);
#define LR_ROW(i, av, lane)                                                                   \
    acc[i][0] = vdotq_laneq_s32(acc[i][0], b0, av, lane);                                     \
    acc[i][1] = vdotq_laneq_s32(acc[i][1], b1, av, lane);                                     \
    acc[i][2] = vdotq_laneq_s32(acc[i][2], b2, av, lane);                                     \
    acc[i][3] = vdotq_laneq_s32(acc[i][3], b3, av, lane);
#define LR_STEP(lane)                                                                         \
    {                                                                                         \
        const int8_t *bk = b + (size_t)(g + (lane)) * NR * 4;                                 \
        int8x16_t b0 = vld1q_s8(bk), b1 = vld1q_s8(bk + 16);                                  \
        int8x16_t b2 = vld1q_s8(bk + 32), b3 = vld1q_s8(bk + 48);                             \
        LR_ROW(0, a0, lane) LR_ROW(1, a1, lane) LR_ROW(2, a2, lane) LR_ROW(3, a3, lane)       \
    }
        LR_STEP(0) LR_STEP(1) LR_STEP(2) LR_STEP(3)
#undef LR_STEP
#undef LR_ROW
    }
    for (; g < ng; g++) { /* the last 1..3 groups, one at a time */
        const int8_t *bk = b + (size_t)g * NR * 4;
        int8x16_t b0 = vld1q_s8(bk), b1 = vld1q_s8(bk + 16);
        int8x16_t b2 = vld1q_s8(bk + 32), b3 = vld1q_s8(bk + 48);
        for (int i = 0; i < MR; i++) {
            int32_t v;
            memcpy(&v, a + i * lda + 4 * g, 4);
            int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(v));
            acc[i][0] = vdotq_laneq_s32(acc[i][0], b0, av, 0);
            acc[i][1] = vdotq_laneq_s32(acc[i][1], b1, av, 0);
            acc[i][2] = vdotq_laneq_s32(acc[i][2], b2, av, 0);
            acc[i][3] = vdotq_laneq_s32(acc[i][3], b3, av, 0);
        }
    }
    for (int i = 0; i < MR; i++) store_row(c + i * ldc, acc[i], load);
}

/* One row's activations of group g repeated over 16 bytes */
static inline int8x16_t dup_group(const int8_t *row, int g) {
    int32_t v;
    memcpy(&v, row + 4 * g, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/* acc[q*2 + h] += pairwise(sum over the groups of b_q half h * a), h = 0
 * the low 8 bytes (columns 4q, 4q+1), 1 the high (4q+2, 4q+3). */
#define LR_PLAIN2(accr, A0, A1)                                                               \
    for (int q = 0; q < 4; q++) {                                                             \
        int16x8_t lo = vmull_s8(vget_low_s8(bg0[q]), vget_low_s8(A0));                        \
        lo = vmlal_s8(lo, vget_low_s8(bg1[q]), vget_low_s8(A1));                              \
        int16x8_t hi = vmull_high_s8(bg0[q], A0);                                             \
        hi = vmlal_high_s8(hi, bg1[q], A1);                                                   \
        accr[2 * q] = vpadalq_s16(accr[2 * q], lo);                                           \
        accr[2 * q + 1] = vpadalq_s16(accr[2 * q + 1], hi);                                   \
    }

/* Two rows (a, a + lda) x NR columns of the plain-NEON product into
 * c (row stride ldc). */
static inline void micro_plain2(int ng, const int8_t *a, ptrdiff_t lda, const int8_t *b,
                                int32_t *c, ptrdiff_t ldc, int load) {
    int32x4_t acc0[8], acc1[8];
    for (int j = 0; j < 8; j++) acc0[j] = acc1[j] = vdupq_n_s32(0);
    int g = 0;
    for (; g + 2 <= ng; g += 2) {
        int8x16_t bg0[4], bg1[4];
        for (int q = 0; q < 4; q++) {
            bg0[q] = vld1q_s8(b + (size_t)g * NR * 4 + 16 * q);
            bg1[q] = vld1q_s8(b + (size_t)(g + 1) * NR * 4 + 16 * q);
        }
        int8x16_t x0 = dup_group(a, g), x1 = dup_group(a, g + 1);
        LR_PLAIN2(acc0, x0, x1)
        int8x16_t y0 = dup_group(a + lda, g), y1 = dup_group(a + lda, g + 1);
        LR_PLAIN2(acc1, y0, y1)
    }
    if (g < ng) { /* one group left: pair it with a zero group */
        int8x16_t bg0[4], bg1[4];
        for (int q = 0; q < 4; q++) {
            bg0[q] = vld1q_s8(b + (size_t)g * NR * 4 + 16 * q);
            bg1[q] = vdupq_n_s8(0);
        }
        int8x16_t z = vdupq_n_s8(0);
        int8x16_t x0 = dup_group(a, g), y0 = dup_group(a + lda, g);
        LR_PLAIN2(acc0, x0, z)
        LR_PLAIN2(acc1, y0, z)
    }
    int32x4_t r0[4], r1[4];
    for (int q = 0; q < 4; q++) { /* the two partial sums of each column */
        r0[q] = vpaddq_s32(acc0[2 * q], acc0[2 * q + 1]);
        r1[q] = vpaddq_s32(acc1[2 * q], acc1[2 * q + 1]);
    }
    store_row(c, r0, load);
    store_row(c + ldc, r1, load);
}
#undef LR_PLAIN2

static inline void micro_plain(int ng, const int8_t *a, ptrdiff_t lda, const int8_t *b,
                               int32_t *c, ptrdiff_t ldc, int load) {
    micro_plain2(ng, a, lda, b, c, ldc, load);
    micro_plain2(ng, a + 2 * lda, lda, b, c + 2 * ldc, ldc, load);
}

/* ---------------------------------------------------------------- GEMM */

/* Rows [0, mr) and columns [0, nc) of acc (row stride NC) into Y:
 * y = acc * (sa[i] * ws[n]) + bias[n], added to Y when accumulate. */
static void epilogue(int mr, int nc, const int32_t *acc, const float *sa, const float *ws,
                     const float *bias, float *Y, int ldy, int accumulate) {
    for (int i = 0; i < mr; i++) {
        const int32_t *a = acc + (size_t)i * NC;
        float *y = Y + (size_t)i * ldy;
        int n = 0;
        for (; n + 4 <= nc; n += 4) {
            float32x4_t s = vmulq_n_f32(vld1q_f32(ws + n), sa[i]);
            float32x4_t b = bias ? vld1q_f32(bias + n) : vdupq_n_f32(0.0f);
            float32x4_t v = vfmaq_f32(b, vcvtq_f32_s32(vld1q_s32(a + n)), s);
            if (accumulate) v = vaddq_f32(vld1q_f32(y + n), v);
            vst1q_f32(y + n, v);
        }
        for (; n < nc; n++) {
            float v = (float)a[n] * (sa[i] * ws[n]) + (bias ? bias[n] : 0.0f);
            y[n] = accumulate ? y[n] + v : v;
        }
    }
}

/* gemm_q8 (qkern.h) with the dot-product micro-kernel (dot) or the plain
 * one; always inlined, so the "neon" table's copy holds no sdot. Scratch on the stack: qa (MB * KC bytes), acc (MB * NC int32), the
 * row scales. */
static inline __attribute__((always_inline)) void
gemm_q8_any(int M, int N, int K, const float *X, int ldx, const int8_t *Wp, const float *wscale,
            const float *bias, float *Y, int ldy, int accumulate, int dot) {
    if (M <= 0 || N <= 0) return;
    const int Kp = K > 0 ? (K + 3) / 4 * 4 : 0;
    int8_t qa[MB * KC];
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
                    if (i < mb)
                        quant_chunk(X + (size_t)(m0 + i) * ldx + k0, kc, kcp, inv[i],
                                    qa + (size_t)i * KC);
                    else
                        memset(qa + (size_t)i * KC, 0, (size_t)kcp);
                }
                for (int j0 = 0; j0 < nc; j0 += NR) {
                    const int8_t *b = Wp + (size_t)((n0 + j0) / NR) * NR * Kp + (size_t)k0 * NR;
                    for (int t = 0; t < tiles; t++) {
                        const int8_t *a = qa + (size_t)t * MR * KC;
                        int32_t *c = acc + (size_t)t * MR * NC + j0;
                        if (dot) micro_dot(kcp / 4, a, KC, b, c, NC, k0 > 0);
                        else micro_plain(kcp / 4, a, KC, b, c, NC, k0 > 0);
                    }
                }
            }
            epilogue(mb, nc, acc, sa, wscale + n0, bias ? bias + n0 : NULL,
                     Y + (size_t)m0 * ldy + n0, ldy, accumulate);
        }
    }
}

static void gemm_q8_neon(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                         const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                         int ldy, int accumulate) {
    (void)wsum;
    gemm_q8_any(M, N, K, X, ldx, Wp, wscale, bias, Y, ldy, accumulate, 0);
}

static void gemm_q8_neondot(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                            const float *wscale, const int32_t *wsum, const float *bias,
                            float *Y, int ldy, int accumulate) {
    (void)wsum;
    gemm_q8_any(M, N, K, X, ldx, Wp, wscale, bias, Y, ldy, accumulate, 1);
}

const lr__qkern lr__qkern_neon = {
    .name = "neon",
    .q8_nr = NR,
    .pack_q8 = pack_q8_neon,
    .gemm_q8 = gemm_q8_neon,
    .bf16_nr = 0,
    .pack_bf16 = NULL,
    .gemm_bf16 = NULL,
};

const lr__qkern lr__qkern_neondot = {
    .name = "neondot",
    .q8_nr = NR,
    .pack_q8 = pack_q8_neon,
    .gemm_q8 = gemm_q8_neondot,
    .bf16_nr = 0,
    .pack_bf16 = NULL,
    .gemm_bf16 = NULL,
};
