/*
 * tape_lstm.c — the LSTM layer as one autograd op (tape.h), for the
 * next-event model of the sequence anomaly detector (anomaly.c).
 *
 * One op runs a whole layer over B sequences of T steps, like
 * torch.nn.LSTM(batch_first=True) with zero initial state:
 *
 *   z_s = x_s W_ihᵀ + h_{s-1} W_hhᵀ + bias        [B, 4H], gates i f g o
 *   i = σ(z_i)  f = σ(z_f)  g = tanh(z_g)  o = σ(z_o)
 *   c_s = f ⊙ c_{s-1} + i ⊙ g       h_s = o ⊙ tanh(c_s)
 *
 * Forward: the input projection of all B*T rows is one GEMM (bias folded
 * in), then per step one [B, H] x [H, 4H] GEMM into the same rows and the
 * elementwise cell. Rows are batch-major (row b*T + s), so the rows of one
 * step are T rows apart: every GEMM works on them in place via its leading
 * dimension, nothing is copied.
 *
 * Kept for backward (one arena block): the activated gates [B*T, 4H] and
 * the cells [B*T, H]; plus room for the pre-activation gradients
 * [B*T, 4H] and the running dh, dc [B, H] of backpropagation through time.
 * Backward walks the steps in reverse, then does the input projection's
 * three gradients as three whole-batch GEMMs; W_hh's gradient is one GEMM
 * per step. torch keeps two biases (b_ih, b_hh); only their sum matters,
 * so there is one here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kern.h"
#include "tape.h"

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

lr__var lr__op_lstm(lr__tape *t, lr__var x, lr__var w_ih, lr__var w_hh, lr__var bias, int B,
                    int T, int I, int H) {
    lr__var out = lr__tape_var(t, (size_t)B * T * H);
    size_t rows = (size_t)B * T, G = 4 * (size_t)H;
    lr__var keep = lr__tape_var(t, rows * G * 2 + rows * H + 2 * (size_t)B * H);
    if (t->status) return out;
    if (B < 1 || T < 1 || I < 1 || H < 1 || x.n < rows * I || w_ih.n < G * I ||
        w_hh.n < G * H || bias.n < G) {
        char msg[160];
        snprintf(msg, sizeof msg, "lstm: tensors too small for B %d, T %d, I %d, H %d", B, T, I,
                 H);
        lr__tape_fail(t, LR_EINVAL, msg);
        return out;
    }
    lr__op *op = lr__tape_record(t, LR_OP_LSTM);
    if (!op) return out;
    op->a = x;
    op->w = w_ih;
    op->b = w_hh;
    op->bias = bias;
    op->out = out;
    op->M = B;
    op->N = T;
    op->K = I;
    op->A = H;
    op->saved = keep.v;

    float *gates = keep.v, *cells = gates + rows * G;
    lr__gemm_nt(t->pool, (int)rows, (int)G, I, x.v, I, w_ih.v, I, bias.v, gates, (int)G, 0);
    for (int s = 0; s < T; s++) {
        if (s > 0)
            lr__gemm_nt(t->pool, B, (int)G, H, out.v + (size_t)(s - 1) * H, T * H, w_hh.v, H,
                        NULL, gates + (size_t)s * G, T * (int)G, 1);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + s;
            float *z = gates + r * G, *c = cells + r * H, *h = out.v + r * H;
            const float *cp = s > 0 ? c - H : NULL;
            for (int j = 0; j < H; j++) {
                float ig = sigm(z[j]), fg = sigm(z[H + j]), gg = tanhf(z[2 * H + j]),
                      og = sigm(z[3 * H + j]);
                z[j] = ig;
                z[H + j] = fg;
                z[2 * H + j] = gg;
                z[3 * H + j] = og;
                c[j] = (cp ? fg * cp[j] : 0.0f) + ig * gg;
                h[j] = og * tanhf(c[j]);
            }
        }
    }
    return out;
}

void lr__lstm_backward(lr__tape *t, const lr__op *op) {
    int B = op->M, T = op->N, I = op->K, H = op->A;
    size_t rows = (size_t)B * T, G = 4 * (size_t)H;
    const float *gates = op->saved, *cells = gates + rows * G;
    float *dpre = op->saved + rows * G + rows * H;
    float *dh_rec = dpre + rows * G, *dc = dh_rec + (size_t)B * H;
    memset(dh_rec, 0, 2 * (size_t)B * H * sizeof(float));
    const float *dout = op->out.g;
    for (int s = T - 1; s >= 0; s--) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + s;
            const float *z = gates + r * G, *c = cells + r * H;
            const float *cp = s > 0 ? c - H : NULL;
            float *dz = dpre + r * G, *dhr = dh_rec + (size_t)b * H, *dcb = dc + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                float ig = z[j], fg = z[H + j], gg = z[2 * H + j], og = z[3 * H + j];
                float dh = dout[r * H + j] + dhr[j];
                float tc = tanhf(c[j]);
                float dcj = dcb[j] + dh * og * (1.0f - tc * tc);
                dz[j] = dcj * gg * ig * (1.0f - ig);
                dz[H + j] = cp ? dcj * cp[j] * fg * (1.0f - fg) : 0.0f;
                dz[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                dz[3 * H + j] = dh * tc * og * (1.0f - og);
                dcb[j] = dcj * fg;
            }
        }
        if (s > 0) {
            const float *dzs = dpre + (size_t)s * G;
            /* dh_{s-1} from the recurrence: dz_s [B, 4H] · W_hh [4H, H] */
            lr__gemm_nn(t->pool, B, H, (int)G, dzs, T * (int)G, op->b.v, H, dh_rec, H, 0);
            /* dW_hh [4H, H] += dz_sᵀ · h_{s-1} */
            if (op->b.g)
                lr__gemm_tn(t->pool, (int)G, H, B, dzs, T * (int)G, op->out.v + (size_t)(s - 1) * H,
                            T * H, op->b.g, H, 1);
        }
    }
    /* dx [B*T, I] += dz · W_ih;  dW_ih [4H, I] += dzᵀ · x;  dbias += Σ rows dz */
    if (op->a.g) lr__gemm_nn(t->pool, (int)rows, I, (int)G, dpre, (int)G, op->w.v, I, op->a.g, I, 1);
    if (op->w.g) lr__gemm_tn(t->pool, (int)G, I, (int)rows, dpre, (int)G, op->a.v, I, op->w.g, I, 1);
    if (op->bias.g)
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < G; j++) op->bias.g[j] += dpre[r * G + j];
}
