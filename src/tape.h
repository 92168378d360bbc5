/*
 * tape.h — autograd-lite: a tape of ops, each a forward/backward pair over
 * plain float buffers, in the manner of llm.c's train_gpt2.c.
 *
 * A variable (lr__var, a tensor on the tape; lr__tensor is the model
 * file's) is two pointers: its values `v` and its gradient `g` (same
 * length `n`). Parameters point into the parameter and gradient blocks of
 * an lr__params (optim.h); activations point into the tape's arena. Shapes
 * are not stored in the variable: each op takes them as
 * arguments and records them, and they are written in the comments as
 * [rows, cols] of row-major floats.
 *
 * Life of one training step:
 *
 *     lr__tape_begin(t)            forget the previous step's ops
 *     y = lr__op_linear(t, ...)    each op computes its output now and
 *     ...                          appends one record to the tape
 *     lr__tape_backward(t, loss)   zero activation grads, d(loss) = 1, then
 *                                  one loop over the records in reverse
 *
 * Every backward ACCUMULATES (+=) into the gradients of its inputs, so a
 * tensor used twice (a residual, tied embeddings) gets the sum. Parameter
 * gradients are zeroed by the caller (lr__params_zero_grad) once per step.
 *
 * Memory is sized up front: the same builder code is first run on a tape in
 * planning mode (lr__tape_plan_begin ... lr__tape_plan_end), where tensors
 * get NULL pointers, ops only count what they would allocate, and nothing is
 * computed; lr__tape_plan_end then allocates one arena for values, one for
 * gradients, the op records and the per-thread scratch. A real pass that
 * would need more than the plan (larger batch) fails with LR_ERANGE.
 *
 * Errors are sticky: an op that fails (bad index, arena exhausted) records
 * the error in the tape and every later op is a no-op; the builder checks
 * lr__tape_status() once at the end.
 *
 * Dropout masks are never stored: they are a pure function (counter-based
 * splitmix64 hash) of the tape seed, the op's position on the tape and the
 * element index, so backward regenerates them and a fixed seed gives a fixed
 * mask on any thread count.
 *
 * Attention works on padded batches: B sequences of L positions each, an
 * int mask [B*L] (1 = real token, 0 = padding). Padded keys get probability
 * exactly 0, which is what HF's additive finfo(f32).min mask gives in f32.
 */
#ifndef LR_TAPE_H
#define LR_TAPE_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

typedef struct lr__var {
    float *v; /* values                                  */
    float *g; /* gradient, same length; NULL = not needed */
    size_t n; /* number of floats                        */
} lr__var;

typedef enum lr__op_type {
    LR_OP_GATHER,
    LR_OP_ADD,
    LR_OP_LINEAR,
    LR_OP_LAYERNORM,
    LR_OP_GELU,
    LR_OP_RELU,
    LR_OP_ATTENTION,
    LR_OP_DROPOUT,
    LR_OP_XENT,
    LR_OP_LSTM /* tape_lstm.c */
} lr__op_type;

/* Options of the cross-entropy loss (see lr__op_xent). */
typedef struct lr__xent_opts {
    const float *class_weights; /* [C] or NULL (all 1)            */
    float label_smoothing;      /* epsilon in [0, 1)              */
    float focal_gamma;          /* 0 = plain cross-entropy        */
    float label_spread;         /* sigma of ordinal smoothing, 0 = uniform */
    float expected_weight;      /* lambda of the squared error of the expected class */
} lr__xent_opts;

/* One record of the tape: the op, its operands and its shapes. */
typedef struct lr__op {
    lr__op_type type;
    lr__var a, b, c; /* inputs (meaning per op)           */
    lr__var w, bias; /* parameters: weight / gamma, bias / beta */
    lr__var out;
    int M, N, K, A;      /* shapes (meaning per op)           */
    const int *idx;      /* gather indices, mask or labels (caller-owned) */
    int pad_idx;         /* gather: index whose row gets no gradient      */
    float *saved;        /* arena floats kept for backward    */
    float p;             /* dropout probability               */
    uint64_t key;        /* dropout hash key                  */
    lr__xent_opts xent;
} lr__op;

typedef struct lr__tape {
    lr_pool *pool;   /* not owned; NULL = single-threaded */
    int n_threads;
    int planning;    /* 1 between plan_begin and plan_end */
    int status;      /* sticky error code (0 = ok)        */
    lr_error err;    /* message of the sticky error       */
    uint64_t seed;   /* dropout seed for the current step */

    float *val;      /* arena of values                    */
    float *grad;     /* arena of gradients, same offsets   */
    size_t cap, used;
    lr__op *ops;
    int n_ops, cap_ops;
    float *scratch;  /* per-thread scratch, n_threads * scratch_per */
    size_t scratch_per;
    size_t plan_used;   /* maxima of earlier graphs of the same plan */
    int plan_ops;
    int backward_stop;  /* backward skips the ops before this one (frozen part) */
} lr__tape;

/* Initialise an empty tape (no memory yet). `pool` is borrowed and must
 * outlive the tape. */
void lr__tape_init(lr__tape *t, lr_pool *pool);
/* Release everything the tape owns (not the pool). Safe on a zeroed tape. */
void lr__tape_free(lr__tape *t);

/* Planning pass: between these calls ops only measure. plan_end allocates
 * the arenas (freeing older ones); 0 or LR_ENOMEM (message in err). */
void lr__tape_plan_begin(lr__tape *t);
int lr__tape_plan_end(lr__tape *t, lr_error *err);

/* Within a plan: start sizing another graph (e.g. a second head); the arena
 * is sized for the largest of the graphs planned. */
void lr__tape_plan_next(lr__tape *t);

/* Start a new step: forget the ops, reuse the arena, set the dropout seed. */
void lr__tape_begin(lr__tape *t, uint64_t seed);

/* The sticky status: 0, or the first error (message copied to err). */
int lr__tape_status(const lr__tape *t, lr_error *err);

/* A new activation of n floats from the arena (uninitialised values). */
lr__var lr__tape_var(lr__tape *t, size_t n);

/* Run the backward pass: zero all activation gradients, set d(loss) = 1 and
 * run every op's backward in reverse order, down to t->backward_stop (0 by
 * default; lr__tape_begin resets it): a builder that sets it to t->n_ops
 * after a frozen sub-graph gets no gradients for that part and pays
 * nothing for it. `loss` is a 1-float tensor made on this tape. Returns the
 * sticky status. */
int lr__tape_backward(lr__tape *t, lr__var loss);

/* ------------------------------------------------------------------ ops
 * Each returns its output tensor (NULL pointers in planning mode or after
 * an error). Inputs must stay valid until backward; index arrays are
 * borrowed, not copied. */

/* out[n, D] = table[idx[i], :]  (table [V, D]). Backward scatter-adds into
 * table.g, skipping rows with idx == pad_idx (torch padding_idx; -1 = none).
 * An index outside [0, V) is an LR_EINVAL error. */
lr__var lr__op_gather(lr__tape *t, lr__var table, int V, int D, const int *idx, int n,
                         int pad_idx);

/* out = a + b, all of n = a.n floats (b.n must equal a.n). */
lr__var lr__op_add(lr__tape *t, lr__var a, lr__var b);

/* out[M, N] = x[M, K] · w[N, K]ᵀ + bias[N]   (bias.v may be NULL). */
lr__var lr__op_linear(lr__tape *t, lr__var x, lr__var w, lr__var bias, int M, int N,
                         int K);

/* out[M, D] = (x - mean) / sqrt(var + eps) * gamma + beta per row, biased
 * variance (torch.nn.LayerNorm). Keeps mean and 1/std per row. */
lr__var lr__op_layernorm(lr__tape *t, lr__var x, lr__var gamma, lr__var beta, int M,
                            int D, float eps);

/* out = 0.5 x (1 + erf(x / sqrt 2))  (exact GELU), elementwise. */
lr__var lr__op_gelu(lr__tape *t, lr__var x);

/* out = max(x, 0), elementwise (gradient 0 at x = 0, like torch). */
lr__var lr__op_relu(lr__tape *t, lr__var x);

/* Multi-head self-attention core over a padded batch.
 * q, k, v, out: [B*L, H] with head h in columns [h*d, (h+1)*d), d = H/A.
 * mask: [B*L] ints, nonzero = real token. P = softmax(q kᵀ / sqrt d) over
 * the real keys of the same sequence (padded keys get 0; a sequence with
 * no real token attends uniformly), dropout(P, p_drop), out = P v.
 * Keeps P ([B, A, L, L]) for backward. */
lr__var lr__op_attention(lr__tape *t, lr__var q, lr__var k, lr__var v, const int *mask,
                            int B, int L, int H, int A, float p_drop);

/* Inverted dropout: out = x * keep / (1 - p), keep with probability 1 - p.
 * p <= 0 returns x itself and records nothing. */
lr__var lr__op_dropout(lr__tape *t, lr__var x, float p);

/* Cross-entropy of logits [N, C] against labels [N] (a negative label is
 * ignored), returned as a 1-float tensor. With w = class weights (1 if
 * NULL), eps = label smoothing, g = focal gamma, p = softmax(logits),
 * s(y) the smoothing distribution (uniform 1/C when the spread sigma is 0,
 * else s_c(y) proportional to exp(-(c - y)^2 / (2 sigma^2)): ordinal
 * smoothing, which puts the smoothed mass on the classes next to y),
 * E_i = sum_c c p_i,c the expected class and lambda the expected weight:
 *   ce_i   = (1-eps) w[y_i] (-log p_i,y) + eps sum_c s_c(y_i) w[c] (-log p_i,c)
 *   loss   = sum_i [(1 - p_i,y)^g ce_i + lambda w[y_i] (E_i - y_i)^2] / sum_i w[y_i]
 * For g = 0, sigma = 0 and lambda = 0 this is exactly
 * torch.nn.functional.cross_entropy(logits, y, weight=w, label_smoothing=eps)
 * (mean reduction). The lambda term trains the expected class, which is
 * what a risk score reports, to be close to the label (classes are ordered).
 * A label >= C is an LR_EINVAL error; no labelled row gives loss 0. */
lr__var lr__op_xent(lr__tape *t, lr__var logits, const int *labels, int N, int C,
                       const lr__xent_opts *opts);

/* For ops defined in other files (tape_lstm.c): append a record of `type`
 * (NULL in planning mode, after counting it, or on a sticky error), and
 * make the tape's status a sticky error. */
lr__op *lr__tape_record(lr__tape *t, lr__op_type type);
void lr__tape_fail(lr__tape *t, int code, const char *msg);

/* One LSTM layer over B sequences of T steps (torch.nn.LSTM, batch_first,
 * gate order i, f, g, o, zero initial state, one bias = b_ih + b_hh):
 *   x [B*T, I] (row b*T + s), w_ih [4H, I], w_hh [4H, H], bias [4H]
 *   out [B*T, H] = h of every step.
 * Keeps the gates and cells for backward (tape_lstm.c). */
lr__var lr__op_lstm(lr__tape *t, lr__var x, lr__var w_ih, lr__var w_hh, lr__var bias, int B,
                    int T, int I, int H);
void lr__lstm_backward(lr__tape *t, const lr__op *op);

/* The dropout keep decision for element i of the op with hash key `key`:
 * exposed for tests. */
int lr__dropout_keep(uint64_t key, size_t i, float p);

#endif /* LR_TAPE_H */
