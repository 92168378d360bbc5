/*
 * kern_ref.c — the scalar reference kernels: plain loops, the definition of
 * correct that every SIMD path is tested against. Accumulation in float, in
 * the natural k order.
 */
#include <math.h>

#include "kern.h"

static void gemm_nt_ref(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                        const float *bias, float *Y, int ldy, int accumulate) {
    for (int m = 0; m < M; m++) {
        const float *x = X + (size_t)m * ldx;
        float *y = Y + (size_t)m * ldy;
        for (int n = 0; n < N; n++) {
            const float *w = W + (size_t)n * ldw;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += x[k] * w[k];
            if (bias) acc += bias[n];
            y[n] = accumulate ? y[n] + acc : acc;
        }
    }
}

static void gemm_nn_ref(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                        float *Y, int ldy, int accumulate) {
    for (int m = 0; m < M; m++) {
        float *y = Y + (size_t)m * ldy;
        if (!accumulate)
            for (int n = 0; n < N; n++) y[n] = 0.0f;
        for (int k = 0; k < K; k++) {
            float a = X[(size_t)m * ldx + k];
            const float *w = W + (size_t)k * ldw;
            for (int n = 0; n < N; n++) y[n] += a * w[n];
        }
    }
}

static void gemm_tn_ref(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                        float *Y, int ldy, int accumulate) {
    for (int m = 0; m < M; m++) {
        float *y = Y + (size_t)m * ldy;
        if (!accumulate)
            for (int n = 0; n < N; n++) y[n] = 0.0f;
        for (int k = 0; k < K; k++) {
            float a = X[(size_t)k * ldx + m];
            const float *w = W + (size_t)k * ldw;
            for (int n = 0; n < N; n++) y[n] += a * w[n];
        }
    }
}

static void layernorm_ref(float *x, const float *gamma, const float *beta, int n, float eps) {
    float mean = 0.0f;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    float var = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

static void gelu_ref(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

static void softmax_ref(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

/* The reference "packing" is the identity: panels of one column, i.e. the
 * rows of W with stride K. */
static void pack_nt_ref(int N, int K, const float *W, int ldw, float *dst) {
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) dst[(size_t)n * K + k] = W[(size_t)n * ldw + k];
}

static void gemm_nt_packed_ref(int M, int N, int K, const float *X, int ldx, const float *Wp,
                               const float *bias, float *Y, int ldy, int accumulate) {
    gemm_nt_ref(M, N, K, X, ldx, Wp, K, bias, Y, ldy, accumulate);
}

static void gemm_nt_gelu_ref(int M, int N, int K, const float *X, int ldx, const float *W, int ldw,
                             int w_packed, const float *bias, float *Y, int ldy) {
    gemm_nt_ref(M, N, K, X, ldx, W, w_packed ? K : ldw, bias, Y, ldy, 0);
    for (int m = 0; m < M; m++) gelu_ref(Y + (size_t)m * ldy, (size_t)N);
}

/* One query row at a time: s = Q[i] K^T (gemm_nt_ref's sum in k order),
 * s *= scale, softmax_ref(s), O[i] = s V (gemm_nn_ref's sum in j order),
 * i.e. exactly the unfused gemm_nt / scale / softmax / gemm_nn sequence.
 * Uses L floats of scratch. */
static void attention_ref(int n_q, int L, int d, const float *Q, int ldq, const float *K, int ldk,
                          const float *V, int ldv, float *O, int ldo, float scale,
                          float *scratch) {
    if (n_q <= 0 || L <= 0 || d <= 0) return;
    float *s = scratch;
    for (int i = 0; i < n_q; i++) {
        const float *q = Q + (size_t)i * ldq;
        for (int j = 0; j < L; j++) {
            const float *k = K + (size_t)j * ldk;
            float acc = 0.0f;
            for (int c = 0; c < d; c++) acc += q[c] * k[c];
            s[j] = acc;
        }
        for (int j = 0; j < L; j++) s[j] *= scale;
        softmax_ref(s, L);
        float *o = O + (size_t)i * ldo;
        for (int c = 0; c < d; c++) o[c] = 0.0f;
        for (int j = 0; j < L; j++) {
            const float *v = V + (size_t)j * ldv;
            for (int c = 0; c < d; c++) o[c] += s[j] * v[c];
        }
    }
}

const lr__kern lr__kern_ref = {
    .name = "ref",
    .gemm_nt = gemm_nt_ref,
    .gemm_nn = gemm_nn_ref,
    .gemm_tn = gemm_tn_ref,
    .layernorm = layernorm_ref,
    .gelu = gelu_ref,
    .softmax = softmax_ref,
    .nr = 1,
    .pack_nt = pack_nt_ref,
    .gemm_nt_packed = gemm_nt_packed_ref,
    .gemm_nt_gelu = gemm_nt_gelu_ref,
    .attention = attention_ref,
};
