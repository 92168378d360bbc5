/*
 * qkern_ref.c — the reference low-precision GEMMs: the definition of what
 * the SIMD tables in qkern_*.c compute (qkern.h has the contract).
 *
 * Plain loops, nothing clever: a row of X is quantized (int8) or rounded
 * (bf16) once, then every output column is one dot product over the
 * row-major packed weight (panel width 1, rows padded to Kp with zeros).
 * The int8 sum is exact int32; the bf16 sum is accumulated in double so the
 * reference is at least as accurate as any table it is compared with.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "qkern.h"
#include "util.h"

void lr__q8_quantize_row(const float *x, int K, int8_t *qa, float *sa) {
    float amax = 0.0f;
    for (int k = 0; k < K; k++) amax = LR_MAX(amax, fabsf(x[k]));
    float inv;
    lr__q8_row_scales(amax, &inv, sa);
    if (inv == 0.0f) {
        memset(qa, 0, (size_t)K);
        return;
    }
    for (int k = 0; k < K; k++) {
        float v = nearbyintf(x[k] * inv); /* round half to even (default mode) */
        qa[k] = lr__q8_clamp(v);
    }
}

static void pack_q8_ref(int N, int K, const int8_t *W, int ldw, int8_t *dst, int32_t *wsum) {
    const int Kp = (K + 3) / 4 * 4;
    for (int n = 0; n < N; n++) {
        int32_t s = 0;
        int8_t *d = dst + (size_t)n * Kp;
        for (int k = 0; k < K; k++) {
            d[k] = W[(size_t)n * ldw + k];
            s += d[k];
        }
        memset(d + K, 0, (size_t)(Kp - K));
        wsum[n] = s;
    }
}

static void gemm_q8_ref(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                        const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                        int ldy, int accumulate) {
    (void)wsum;
    int8_t qa[LR_Q8_MAX_K];
    const int Kp = (K + 3) / 4 * 4;
    for (int m = 0; m < M; m++) {
        float sa;
        lr__q8_quantize_row(X + (size_t)m * ldx, K, qa, &sa);
        float *y = Y + (size_t)m * ldy;
        for (int n = 0; n < N; n++) {
            const int8_t *w = Wp + (size_t)n * Kp;
            int32_t acc = 0;
            for (int k = 0; k < K; k++) acc += (int32_t)qa[k] * w[k];
            float v = (float)acc * (sa * wscale[n]) + (bias ? bias[n] : 0.0f);
            y[n] = accumulate ? y[n] + v : v;
        }
    }
}

static void pack_bf16_ref(int N, int K, const uint16_t *W, int ldw, uint16_t *dst) {
    const int Kp = (K + 1) / 2 * 2;
    for (int n = 0; n < N; n++) {
        uint16_t *d = dst + (size_t)n * Kp;
        memcpy(d, W + (size_t)n * ldw, (size_t)K * sizeof *d);
        if (Kp > K) d[K] = 0;
    }
}

static void gemm_bf16_ref(int M, int N, int K, const float *X, int ldx, const uint16_t *Wp,
                          const float *bias, float *Y, int ldy, int accumulate) {
    const int Kp = (K + 1) / 2 * 2;
    for (int m = 0; m < M; m++) {
        const float *x = X + (size_t)m * ldx;
        float *y = Y + (size_t)m * ldy;
        for (int n = 0; n < N; n++) {
            const uint16_t *w = Wp + (size_t)n * Kp;
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)lr__f32_from_bf16(lr__bf16_from_f32(x[k])) *
                       (double)lr__f32_from_bf16(w[k]);
            float v = (float)acc + (bias ? bias[n] : 0.0f);
            y[n] = accumulate ? y[n] + v : v;
        }
    }
}

const lr__qkern lr__qkern_ref = {
    .name = "ref",
    .q8_nr = 1,
    .pack_q8 = pack_q8_ref,
    .gemm_q8 = gemm_q8_ref,
    .bf16_nr = 1,
    .pack_bf16 = pack_bf16_ref,
    .gemm_bf16 = gemm_bf16_ref,
};
