/*
 * grad_util.h — the finite-difference harness of the autograd suites
 * (test_tape, test_anomaly): test-owned input buffers, a graph built on a
 * tape from them, its output reduced to a scalar with fixed random weights
 * R (loss = sum out * R, a 1-row linear on the tape), and every input's
 * analytic gradient compared with central differences
 * (loss(x + h) - loss(x - h)) / 2h, h = 1e-2 * max(1, |x|): an element
 * passes when |num - ana| <= 2e-3 * max|ana| + 2e-2 * |ana|, an input when
 * its relative L2 error is <= 5e-3. Include after t.h.
 */
#ifndef LR_GRAD_UTIL_H
#define LR_GRAD_UTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tape.h"
#include "util.h"

/* Inputs are drawn from a fixed LCG; a suite may set its first state
 * (T_GRAD_SEED) before including this file. */
#ifndef T_GRAD_SEED
#define T_GRAD_SEED 42
#endif
static uint64_t rng_state = T_GRAD_SEED;

static float frand(float lo, float hi) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

typedef struct buf {
    float *v, *g;
    size_t n;
} buf;

static buf buf_new(size_t n, float lo, float hi) {
    buf b = {lr__calloc(n, sizeof(float)), lr__calloc(n, sizeof(float)), n};
    for (size_t i = 0; i < n; i++) b.v[i] = frand(lo, hi);
    return b;
}

static void buf_free(buf *b) {
    lr__free(b->v);
    lr__free(b->g);
}

static lr__var TV(buf b) {
    lr__var t = {b.v, b.g, b.n};
    return t;
}

/* A graph under test: builds the op(s) from the inputs, returns the output
 * tensor (reduced to a scalar by the harness unless `scalar`). */
typedef lr__var (*graph_fn)(lr__tape *t, buf *in, void *ctx);

typedef struct harness {
    graph_fn fn;
    void *ctx;
    buf *in;
    int n_in;
    int scalar; /* the graph already returns a loss */
    int reach;  /* every input must get a non-zero gradient */
    buf R;      /* reduction weights                */
    uint64_t seed;
    lr__tape tape;
} harness;

static lr__var reduce(harness *h, lr__var out) {
    if (h->scalar) return out;
    if (!h->R.v) h->R = buf_new(out.n, -1.0f, 1.0f);
    lr__var none = {NULL, NULL, 0};
    lr__var R = {h->R.v, NULL, h->R.n};
    return lr__op_linear(&h->tape, out, R, none, 1, 1, (int)out.n);
}

static float run_forward(harness *h) {
    lr__tape_begin(&h->tape, h->seed);
    lr__var loss = reduce(h, h->fn(&h->tape, h->in, h->ctx));
    T_CHECK(lr__tape_status(&h->tape, NULL) == 0);
    return loss.v ? loss.v[0] : NAN;
}

/* Plan, forward, backward; then compare every input gradient with finite
 * differences. must_be_zero (may be NULL): the elements of an input whose
 * analytic gradient must be exactly 0 (padding rows). Returns the number
 * of elements (and inputs, for the L2 error) that failed. */
static int check_grads(harness *h, int (*must_be_zero)(int input, size_t i)) {
    lr__tape_init(&h->tape, NULL);
    lr__tape_plan_begin(&h->tape);
    /* planning mode: tensors have no memory, R is created on first real run */
    lr__var o = h->fn(&h->tape, h->in, h->ctx);
    if (!h->scalar) {
        lr__var none = {NULL, NULL, 0};
        lr__var R = {NULL, NULL, o.n};
        lr__op_linear(&h->tape, o, R, none, 1, 1, (int)o.n);
    }
    lr_error err;
    T_EQ_INT(lr__tape_plan_end(&h->tape, &err), 0);

    for (int k = 0; k < h->n_in; k++) memset(h->in[k].g, 0, h->in[k].n * sizeof(float));
    lr__tape_begin(&h->tape, h->seed);
    lr__var loss = reduce(h, h->fn(&h->tape, h->in, h->ctx));
    T_EQ_INT(lr__tape_backward(&h->tape, loss), 0);

    int total_bad = 0;
    for (int k = 0; k < h->n_in; k++) {
        buf *b = &h->in[k];
        float *ana = lr__calloc(b->n, sizeof(float));
        memcpy(ana, b->g, b->n * sizeof(float));
        double max_ana = 0.0, num2 = 0.0, diff2 = 0.0, ana2 = 0.0;
        for (size_t i = 0; i < b->n; i++) max_ana = fmax(max_ana, fabs(ana[i]));
        int bad = 0;
        for (size_t i = 0; i < b->n; i++) {
            if (must_be_zero && must_be_zero(k, i)) {
                if (ana[i] != 0.0f && bad++ < 5) T_FAIL("input %d [%zu]: gradient %g, want 0", k, i, ana[i]);
                continue;
            }
            float x = b->v[i];
            float step = 1e-2f * fmaxf(1.0f, fabsf(x));
            b->v[i] = x + step;
            double fp = run_forward(h);
            b->v[i] = x - step;
            double fm = run_forward(h);
            b->v[i] = x;
            double num = (fp - fm) / ((double)(x + step) - (double)(x - step));
            double d = fabs(num - ana[i]);
            num2 += num * num;
            ana2 += (double)ana[i] * ana[i];
            diff2 += d * d;
            if (d > 2e-3 * max_ana + 2e-2 * fabs(ana[i]) && bad++ < 5)
                T_FAIL("input %d [%zu]: analytic %.6g, numeric %.6g", k, i, ana[i], num);
        }
        if (ana2 > 0.0 && sqrt(diff2 / ana2) > 5e-3) {
            bad++;
            T_FAIL("input %d: relative L2 error %.3g", k, sqrt(diff2 / ana2));
        }
        if (getenv("T_VERBOSE"))
            fprintf(stderr, "    input %d: n %zu, |ana| %.3g, rel L2 err %.2g\n", k, b->n,
                    sqrt(ana2), ana2 > 0 ? sqrt(diff2 / ana2) : 0.0);
        if (h->reach) T_CHECK(ana2 > 0.0); /* every input reaches the loss */
        else T_CHECK(ana2 > 0.0 || num2 == 0.0); /* a zero gradient must be right too */
        total_bad += bad;
        lr__free(ana);
    }
    lr__tape_free(&h->tape);
    buf_free(&h->R);
    return total_bad;
}

static void free_inputs(buf *in, int n) {
    for (int i = 0; i < n; i++) buf_free(&in[i]);
}

#endif /* LR_GRAD_UTIL_H */
