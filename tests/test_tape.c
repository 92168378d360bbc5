/*
 * test_tape.c — every autograd op's backward against central finite
 * differences, plus known values of the forward passes.
 *
 * Method: each case builds a small graph on a tape from test-owned input
 * buffers and reduces the op's output to a scalar with fixed random
 * weights R (loss = sum out * R, itself a tape op: a 1-row linear), so the
 * upstream gradient is arbitrary, not all ones. The analytic gradient
 * (one backward) is compared with (loss(x + h) - loss(x - h)) / 2h for every
 * input element, in float with h = 1e-2 * max(1, |x|). The check passes
 * when |num - ana| <= 2e-3 * max|ana| + 2e-2 * |ana| element-wise AND the
 * relative L2 error ||num - ana|| / ||ana|| <= 5e-3; a wrong backward
 * (wrong sign, missing term, wrong index) fails both by orders of magnitude
 * (the broken-gradient case below proves the checker can fail). The
 * harness is tests/grad_util.h, shared with test_anomaly.c.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kern.h"
#include "t.h"
#include "grad_util.h"
#include "tape.h"
#include "util.h"

/* ------------------------------------------------------------ gather */

static const int g_idx[6] = {3, 0, 3, 6, 1, 3};

static lr__var g_gather(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_gather(t, TV(in[0]), 7, 5, g_idx, 6, 0);
}

static int gather_pad_row(int input, size_t i) { return input == 0 && i < 5; }

static void test_gather(void) {
    buf in[1] = {buf_new(35, -1, 1)};
    harness h = {.fn = g_gather, .in = in, .n_in = 1};
    check_grads(&h, gather_pad_row); /* row 0 is padding: no gradient */
    free_inputs(in, 1);
}

static void test_gather_bad_index(void) {
    buf in[1] = {buf_new(35, -1, 1)};
    lr__tape t;
    lr__tape_init(&t, NULL);
    static const int bad[2] = {1, 7};
    lr__tape_plan_begin(&t);
    lr__op_gather(&t, TV(in[0]), 7, 5, bad, 2, -1);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__op_gather(&t, TV(in[0]), 7, 5, bad, 2, -1);
    lr_error err;
    T_EQ_INT(lr__tape_status(&t, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "out of range") != NULL);
    lr__tape_free(&t);
    free_inputs(in, 1);
}

/* ------------------------------------------------------------ add, linear */

static lr__var g_add(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    /* a used twice: its gradient must accumulate */
    return lr__op_add(t, lr__op_add(t, TV(in[0]), TV(in[1])), TV(in[0]));
}

static void test_add(void) {
    buf in[2] = {buf_new(13, -1, 1), buf_new(13, -1, 1)};
    harness h = {.fn = g_add, .in = in, .n_in = 2};
    check_grads(&h, NULL);
    free_inputs(in, 2);
}

static lr__var g_linear(lr__tape *t, buf *in, void *ctx) {
    int with_bias = *(int *)ctx;
    lr__var none = {NULL, NULL, 0};
    return lr__op_linear(t, TV(in[0]), TV(in[1]), with_bias ? TV(in[2]) : none, 4, 5, 6);
}

static void test_linear(void) {
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
        buf in[3] = {buf_new(24, -1, 1), buf_new(30, -1, 1), buf_new(5, -1, 1)};
        harness h = {.fn = g_linear, .ctx = &with_bias, .in = in, .n_in = 2 + with_bias};
        check_grads(&h, NULL);
        free_inputs(in, 3);
    }
}

static void test_linear_forward_value(void) {
    float x[2 * 3] = {1, 2, 3, 4, 5, 6}, w[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, b[2] = {10, 20};
    lr__var X = {x, NULL, 6}, W = {w, NULL, 6}, Bt = {b, NULL, 2};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_linear(&t, X, W, Bt, 2, 2, 3);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__var y = lr__op_linear(&t, X, W, Bt, 2, 2, 3);
    T_NEAR(y.v[0], 1 - 3 + 10, 1e-6);
    T_NEAR(y.v[1], 3 + 20, 1e-6);
    T_NEAR(y.v[2], 4 - 6 + 10, 1e-6);
    T_NEAR(y.v[3], 7.5 + 20, 1e-6);
    lr__tape_free(&t);
}

/* ------------------------------------------------------------ layernorm */

static lr__var g_ln(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_layernorm(t, TV(in[0]), TV(in[1]), TV(in[2]), 3, 8, 1e-5f);
}

static void test_layernorm(void) {
    buf in[3] = {buf_new(24, -2, 2), buf_new(8, 0.5f, 1.5f), buf_new(8, -0.5f, 0.5f)};
    harness h = {.fn = g_ln, .in = in, .n_in = 3};
    check_grads(&h, NULL);
    free_inputs(in, 3);
}

static void test_layernorm_forward_value(void) {
    float x[4] = {1, 2, 3, 4}, g[4] = {1, 1, 1, 1}, b[4] = {0, 0, 0, 0};
    lr__var X = {x, NULL, 4}, G = {g, NULL, 4}, Bt = {b, NULL, 4};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_layernorm(&t, X, G, Bt, 1, 4, 1e-12f);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__var y = lr__op_layernorm(&t, X, G, Bt, 1, 4, 1e-12f);
    /* mean 2.5, biased var 1.25 */
    for (int i = 0; i < 4; i++) T_NEAR(y.v[i], (x[i] - 2.5) / sqrt(1.25), 1e-6);
    lr__tape_free(&t);
}

/* ------------------------------------------------------------ gelu, relu */

static lr__var g_gelu(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_gelu(t, TV(in[0]));
}

static lr__var g_relu(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_relu(t, TV(in[0]));
}

static void test_gelu(void) {
    buf in[1] = {buf_new(40, -3, 3)};
    /* the near-0 branch of the backward and the far tails */
    in[0].v[0] = 0.0f;
    in[0].v[1] = 5e-4f;
    in[0].v[2] = -7e-4f;
    in[0].v[3] = -8.0f;
    in[0].v[4] = 9.0f;
    harness h = {.fn = g_gelu, .in = in, .n_in = 1};
    check_grads(&h, NULL);
    free_inputs(in, 1);
}

static void test_relu(void) {
    buf in[1] = {buf_new(40, -3, 3)};
    for (size_t i = 0; i < in[0].n; i++) /* keep clear of the kink */
        if (fabsf(in[0].v[i]) < 0.1f) in[0].v[i] = 0.5f;
    harness h = {.fn = g_relu, .in = in, .n_in = 1};
    check_grads(&h, NULL);
    free_inputs(in, 1);
}

/* ------------------------------------------------------------ attention */

static const int g_mask[2 * 5] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};

static lr__var g_attn(lr__tape *t, buf *in, void *ctx) {
    float p = *(float *)ctx;
    return lr__op_attention(t, TV(in[0]), TV(in[1]), TV(in[2]), g_mask, 2, 5, 6, 2, p);
}

/* keys/values at padded positions (batch 0, positions 3, 4) get no grad */
static int attn_padded(int input, size_t i) {
    size_t row = i / 6;
    return (input == 1 || input == 2) && (row == 3 || row == 4);
}

static void test_attention(void) {
    float p = 0.0f;
    buf in[3] = {buf_new(60, -1.5f, 1.5f), buf_new(60, -1.5f, 1.5f), buf_new(60, -1, 1)};
    harness h = {.fn = g_attn, .ctx = &p, .in = in, .n_in = 3};
    check_grads(&h, attn_padded);
    free_inputs(in, 3);
}

static void test_attention_dropout(void) {
    float p = 0.3f;
    buf in[3] = {buf_new(60, -1.5f, 1.5f), buf_new(60, -1.5f, 1.5f), buf_new(60, -1, 1)};
    harness h = {.fn = g_attn, .ctx = &p, .in = in, .n_in = 3, .seed = 7};
    check_grads(&h, attn_padded);
    free_inputs(in, 3);
}

/* The forward against a direct computation: masked softmax per head. */
static void test_attention_forward_value(void) {
    buf in[3] = {buf_new(60, -1.5f, 1.5f), buf_new(60, -1.5f, 1.5f), buf_new(60, -1, 1)};
    float p = 0.0f;
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    g_attn(&t, in, &p);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__var out = g_attn(&t, in, &p);
    int L = 5, H = 6, d = 3;
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < L; i++) {
                double s[5], max = -1e300, sum = 0.0;
                for (int j = 0; j < L; j++) {
                    s[j] = 0.0;
                    for (int e = 0; e < d; e++)
                        s[j] += (double)in[0].v[(b * L + i) * H + h * d + e] *
                                in[1].v[(b * L + j) * H + h * d + e];
                    s[j] = s[j] / sqrt(d) + (g_mask[b * L + j] ? 0.0 : -3.4028234663852886e38);
                    max = fmax(max, s[j]);
                }
                for (int j = 0; j < L; j++) sum += exp(s[j] - max);
                for (int e = 0; e < d; e++) {
                    double o = 0.0;
                    for (int j = 0; j < L; j++)
                        o += exp(s[j] - max) / sum * in[2].v[(b * L + j) * H + h * d + e];
                    T_NEAR(out.v[(b * L + i) * H + h * d + e], o, 1e-5);
                }
            }
    lr__tape_free(&t);
    free_inputs(in, 3);
}

/* ------------------------------------------------------------ dropout */

static lr__var g_dropout(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_dropout(t, TV(in[0]), 0.3f);
}

static void test_dropout(void) {
    buf in[1] = {buf_new(50, -1, 1)};
    harness h = {.fn = g_dropout, .in = in, .n_in = 1, .seed = 99};
    check_grads(&h, NULL);
    free_inputs(in, 1);
}

/* Keep rate, scaling and determinism of the mask. */
static void test_dropout_mask(void) {
    size_t n = 100000, kept = 0;
    buf in[1] = {buf_new(n, 1, 2)};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_dropout(&t, TV(in[0]), 0.25f);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 5);
    lr__var y = lr__op_dropout(&t, TV(in[0]), 0.25f);
    float *first = lr__alloc_array(n, sizeof(float));
    memcpy(first, y.v, n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        if (y.v[i] != 0.0f) {
            kept++;
            T_CHECK(fabsf(y.v[i] - in[0].v[i] / 0.75f) < 1e-6f);
        }
    }
    T_CHECK(fabs((double)kept / n - 0.75) < 0.01);
    lr__tape_begin(&t, 5); /* same seed: same mask */
    y = lr__op_dropout(&t, TV(in[0]), 0.25f);
    T_CHECK(memcmp(first, y.v, n * sizeof(float)) == 0);
    lr__tape_begin(&t, 6); /* another seed: another mask */
    y = lr__op_dropout(&t, TV(in[0]), 0.25f);
    T_CHECK(memcmp(first, y.v, n * sizeof(float)) != 0);
    lr__free(first);
    lr__tape_free(&t);
    free_inputs(in, 1);
}

/* ------------------------------------------------------------ cross-entropy */

static const int g_labels[6] = {0, 3, -1, 2, 1, 3};
static const float g_weights[4] = {0.5f, 2.0f, 1.0f, 1.5f};

static lr__var g_xent(lr__tape *t, buf *in, void *ctx) {
    return lr__op_xent(t, TV(in[0]), g_labels, 6, 4, (const lr__xent_opts *)ctx);
}

static int xent_ignored(int input, size_t i) { return input == 0 && i / 4 == 2; }

static void test_xent(void) {
    lr__xent_opts cases[] = {
        {NULL, 0.0f, 0.0f, 0.0f, 0.0f},      {g_weights, 0.0f, 0.0f, 0.0f, 0.0f},
        {NULL, 0.2f, 0.0f, 0.0f, 0.0f},      {NULL, 0.0f, 2.0f, 0.0f, 0.0f},
        {NULL, 0.0f, 0.5f, 0.0f, 0.0f},      {g_weights, 0.1f, 1.5f, 0.0f, 0.0f},
        /* ordinal smoothing, the expected-class term, and both with the rest */
        {NULL, 0.3f, 0.0f, 1.0f, 0.0f},      {g_weights, 0.2f, 0.0f, 0.7f, 0.0f},
        {NULL, 0.0f, 0.0f, 0.0f, 0.5f},      {g_weights, 0.0f, 0.0f, 0.0f, 0.25f},
        {g_weights, 0.1f, 1.5f, 1.0f, 0.3f},
    };
    for (size_t c = 0; c < LR_ARRAY_LEN(cases); c++) {
        buf in[1] = {buf_new(24, -3, 3)};
        harness h = {.fn = g_xent, .ctx = &cases[c], .in = in, .n_in = 1, .scalar = 1};
        check_grads(&h, xent_ignored);
        free_inputs(in, 1);
    }
}

static void test_xent_value(void) {
    /* two rows, 3 classes: -log softmax by hand */
    float z[6] = {1, 2, 3, 0, 0, 0};
    static const int y[2] = {2, 0};
    lr__var Z = {z, NULL, 6};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_xent(&t, Z, y, 2, 3, NULL);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__var loss = lr__op_xent(&t, Z, y, 2, 3, NULL);
    double l0 = log(exp(1) + exp(2) + exp(3)) - 3, l1 = log(3.0);
    T_NEAR(loss.v[0], (l0 + l1) / 2, 1e-6);
    lr__tape_free(&t);

    /* ordinal smoothing (sigma 1) and the expected-class term by hand */
    lr__xent_opts o = {NULL, 0.5f, 0.0f, 1.0f, 0.25f};
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_xent(&t, Z, y, 2, 3, &o);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    loss = lr__op_xent(&t, Z, y, 2, 3, &o);
    double want = 0.0;
    for (int i = 0; i < 2; i++) {
        const float *zi = z + 3 * i;
        double lse = log(exp(zi[0]) + exp(zi[1]) + exp(zi[2])), s[3], ssum = 0.0, e = 0.0;
        for (int c = 0; c < 3; c++) s[c] = exp(-(c - y[i]) * (c - y[i]) / 2.0), ssum += s[c];
        double ce = 0.5 * (lse - zi[y[i]]);
        for (int c = 0; c < 3; c++) ce += 0.5 * s[c] / ssum * (lse - zi[c]), e += c * exp(zi[c] - lse);
        want += ce + 0.25 * (e - y[i]) * (e - y[i]);
    }
    T_NEAR(loss.v[0], want / 2, 1e-6);
    lr__tape_free(&t);
}

/* ------------------------------------------------------------ the checker can fail */

static lr__var g_wrong(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    /* forward uses x twice but the harness perturbs it: compare against a
     * graph whose backward is not its forward's derivative (a linear with
     * the weight replaced after recording) */
    lr__var out = lr__op_gelu(t, TV(in[0]));
    if (!t->planning && t->n_ops > 0) t->ops[t->n_ops - 1].type = LR_OP_RELU;
    return out;
}

static void test_checker_catches_wrong_backward(void) {
    int before = t__failed_checks;
    buf in[1] = {buf_new(20, -3, 3)};
    harness h = {.fn = g_wrong, .in = in, .n_in = 1};
    check_grads(&h, NULL);
    free_inputs(in, 1);
    int caught = t__failed_checks > before;
    t__failed_checks = before; /* expected failures do not count */
    T_CHECK(caught);
}

/* ------------------------------------------------------------ tape errors */

static void test_arena_overrun(void) {
    buf in[1] = {buf_new(16, -1, 1)};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_gelu(&t, TV(in[0]));
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__op_gelu(&t, TV(in[0]));
    lr__var y = lr__op_gelu(&t, TV(in[0])); /* one more than planned */
    T_CHECK(y.v == NULL);
    T_EQ_INT(lr__tape_status(&t, NULL), LR_ERANGE);
    lr__tape_free(&t);
    free_inputs(in, 1);
}

T_MAIN(T_CASE(test_gather), T_CASE(test_gather_bad_index), T_CASE(test_add),
       T_CASE(test_linear), T_CASE(test_linear_forward_value), T_CASE(test_layernorm),
       T_CASE(test_layernorm_forward_value), T_CASE(test_gelu), T_CASE(test_relu),
       T_CASE(test_attention), T_CASE(test_attention_dropout),
       T_CASE(test_attention_forward_value), T_CASE(test_dropout), T_CASE(test_dropout_mask),
       T_CASE(test_xent), T_CASE(test_xent_value), T_CASE(test_checker_catches_wrong_backward),
       T_CASE(test_arena_overrun))
