/*
 * tape.c — autograd-lite ops (see tape.h for the model of a step).
 *
 * Layout of this file: arena and tape bookkeeping, a small parallel-for
 * over the pool, then one section per op with its forward (which records)
 * and its backward, and finally the reverse loop.
 *
 * Arithmetic: matrix products go through the GEMM drivers / the kernel
 * table (so SIMD paths are picked up transparently); per-row reductions
 * (LayerNorm statistics, softmax sums, the loss) accumulate in double.
 */
#include "tape.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "kern.h"
#include "pool.h"
#include "util.h"

#define LR_TAPE_ALIGN 16 /* floats: every arena slice starts 64-byte aligned */

/* ------------------------------------------------------------ bookkeeping */

static void tape_fail(lr__tape *t, int code, const char *fmt, ...) LR_PRINTF(3, 4);
static void tape_fail(lr__tape *t, int code, const char *fmt, ...) {
    if (t->status) return;
    t->status = code;
    va_list ap;
    va_start(ap, fmt);
    lr__verr(&t->err, code, fmt, ap);
    va_end(ap);
}

void lr__tape_init(lr__tape *t, lr_pool *pool) {
    memset(t, 0, sizeof *t);
    t->pool = pool;
    t->n_threads = pool ? lr_pool_size(pool) : 1;
    if (t->n_threads < 1) t->n_threads = 1;
}

void lr__tape_free(lr__tape *t) {
    lr__free(t->val);
    lr__free(t->grad);
    lr__free(t->ops);
    lr__free(t->scratch);
    lr_pool *pool = t->pool;
    int nth = t->n_threads;
    memset(t, 0, sizeof *t);
    t->pool = pool;
    t->n_threads = nth;
}

void lr__tape_plan_begin(lr__tape *t) {
    t->planning = 1;
    t->status = 0;
    t->used = 0;
    t->n_ops = 0;
    t->scratch_per = 0;
    t->plan_used = 0;
    t->plan_ops = 0;
}

void lr__tape_plan_next(lr__tape *t) {
    if (t->used > t->plan_used) t->plan_used = t->used;
    if (t->n_ops > t->plan_ops) t->plan_ops = t->n_ops;
    t->used = 0;
    t->n_ops = 0;
}

int lr__tape_plan_end(lr__tape *t, lr_error *err) {
    t->planning = 0;
    if (t->status) return lr__tape_status(t, err);
    lr__tape_plan_next(t);
    t->used = t->plan_used;
    t->n_ops = t->plan_ops;
    lr__free(t->val);
    lr__free(t->grad);
    lr__free(t->ops);
    lr__free(t->scratch);
    t->val = t->grad = t->scratch = NULL;
    t->ops = NULL;
    size_t cap = t->used ? t->used : LR_TAPE_ALIGN;
    int cap_ops = t->n_ops ? t->n_ops : 1;
    size_t scratch = 0;
    if (!lr__mul_ok(t->scratch_per ? t->scratch_per : 1, (size_t)t->n_threads, &scratch))
        return lr__err(err, LR_ERANGE, "tape scratch size overflows");
    t->val = lr__alloc_array(cap, sizeof(float));
    t->grad = lr__alloc_array(cap, sizeof(float));
    t->ops = lr__alloc_array((size_t)cap_ops, sizeof(lr__op));
    t->scratch = lr__alloc_array(scratch, sizeof(float));
    if (!t->val || !t->grad || !t->ops || !t->scratch) {
        lr__free(t->val);
        lr__free(t->grad);
        lr__free(t->ops);
        lr__free(t->scratch);
        t->val = t->grad = t->scratch = NULL;
        t->ops = NULL;
        t->cap = 0;
        t->cap_ops = 0;
        return lr__err(err, LR_ENOMEM, "out of memory for the training arena (%zu floats x 2)",
                       cap);
    }
    t->cap = cap;
    t->cap_ops = cap_ops;
    t->used = 0;
    t->n_ops = 0;
    return 0;
}

void lr__tape_begin(lr__tape *t, uint64_t seed) {
    t->planning = 0;
    t->status = 0;
    t->used = 0;
    t->n_ops = 0;
    t->seed = seed;
    t->backward_stop = 0;
}

int lr__tape_status(const lr__tape *t, lr_error *err) {
    if (t->status && err) *err = t->err;
    return t->status;
}

/* n floats of values (and gradient) from the arena; with `with_grad` == 0
 * the gradient pointer is NULL (kept statistics). */
static lr__var arena_take(lr__tape *t, size_t n, int with_grad) {
    lr__var x = {NULL, NULL, n};
    if (t->status) return x;
    size_t rounded = (n + LR_TAPE_ALIGN - 1) / LR_TAPE_ALIGN * LR_TAPE_ALIGN;
    if (rounded < n || t->used > SIZE_MAX - rounded) {
        tape_fail(t, LR_ERANGE, "%s: arena size overflows (%zu + %zu floats)", "tape", t->used, n);
        return x;
    }
    if (t->planning) {
        t->used += rounded;
        return x;
    }
    if (t->used + rounded > t->cap) {
        tape_fail(t, LR_ERANGE, "%s: arena exhausted (%zu floats planned, %zu more wanted)",
                  "tape", t->cap, rounded);
        return x;
    }
    x.v = t->val + t->used;
    x.g = with_grad ? t->grad + t->used : NULL;
    t->used += rounded;
    return x;
}

lr__var lr__tape_var(lr__tape *t, size_t n) { return arena_take(t, n, 1); }

static void need_scratch(lr__tape *t, size_t per_thread) {
    if (t->status) return;
    if (t->planning) {
        if (per_thread > t->scratch_per) t->scratch_per = per_thread;
    } else if (per_thread > t->scratch_per) {
        tape_fail(t, LR_ERANGE, "%s: scratch exhausted (%zu floats planned, %zu wanted)", "tape",
                  t->scratch_per, per_thread);
    }
}

/* Append a record; NULL in planning mode (after counting it) or on error. */
static lr__op *record(lr__tape *t, lr__op_type type) {
    if (t->status) return NULL;
    if (t->planning) {
        t->n_ops++;
        return NULL;
    }
    if (t->n_ops >= t->cap_ops) {
        tape_fail(t, LR_ERANGE, "%s: more ops than planned (%zu, op type %zu)", "tape",
                  (size_t)t->cap_ops, (size_t)type);
        return NULL;
    }
    lr__op *op = &t->ops[t->n_ops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    return op;
}

lr__op *lr__tape_record(lr__tape *t, lr__op_type type) { return record(t, type); }

void lr__tape_fail(lr__tape *t, int code, const char *msg) { tape_fail(t, code, "%s", msg); }

static int check_len(lr__tape *t, const char *what, size_t have, size_t want) {
    if (have < want) {
        tape_fail(t, LR_EINVAL, "%s: tensor has %zu floats, the shape needs %zu", what, have, want);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ parallel for */

typedef void (*range_fn)(void *ctx, int begin, int end, int ith);

typedef struct {
    range_fn fn;
    void *ctx;
    int n, align;
} par_job;

static void par_task(int ith, int nth, void *arg) {
    const par_job *j = arg;
    int begin, end;
    lr__split_range(j->n, ith, nth, j->align, &begin, &end);
    if (begin < end) j->fn(j->ctx, begin, end, ith);
}

/* Run fn over [0, n) split in chunks of `align` across the pool. `work` is
 * the rough number of flops: small jobs stay on this thread. */
static void par_for(lr__tape *t, int n, int align, double work, range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (t->n_threads == 1 || work < 32768.0 || n <= align) {
        fn(ctx, 0, n, 0);
        return;
    }
    par_job job = {fn, ctx, n, align};
    lr__pool_run(t->pool, par_task, &job);
}

/* ------------------------------------------------------------ random bits */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int lr__dropout_keep(uint64_t key, size_t i, float p) {
    uint64_t u = splitmix64(key ^ ((uint64_t)i * 0xD1B54A32D192ED03ull));
    float r = (float)(u >> 40) * (1.0f / 16777216.0f); /* 24 bits in [0, 1) */
    return r >= p;
}

static uint64_t op_key(const lr__tape *t, int op_index) {
    return splitmix64(t->seed ^ splitmix64((uint64_t)op_index + 1));
}

/* ------------------------------------------------------------ gather */

lr__var lr__op_gather(lr__tape *t, lr__var table, int V, int D, const int *idx, int n,
                         int pad_idx) {
    lr__var out = lr__tape_var(t, (size_t)n * D);
    if (!check_len(t, "gather", table.n, (size_t)V * D)) return out;
    lr__op *op = record(t, LR_OP_GATHER);
    if (!op) return out;
    for (int i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= V) {
            tape_fail(t, LR_EINVAL, "%s: index at position %zu is out of range [0, %zu)",
                      "gather", (size_t)i, (size_t)V);
            return out;
        }
        memcpy(out.v + (size_t)i * D, table.v + (size_t)idx[i] * D, (size_t)D * sizeof(float));
    }
    op->a = table;
    op->out = out;
    op->M = n;
    op->N = D;
    op->K = V;
    op->idx = idx;
    op->pad_idx = pad_idx;
    return out;
}

/* table.g[idx[i], :] += out.g[i, :]  (serial: rows may repeat) */
static void gather_backward(const lr__op *op) {
    if (!op->a.g) return;
    int D = op->N;
    for (int i = 0; i < op->M; i++) {
        if (op->idx[i] == op->pad_idx) continue;
        float *dst = op->a.g + (size_t)op->idx[i] * D;
        const float *src = op->out.g + (size_t)i * D;
        for (int j = 0; j < D; j++) dst[j] += src[j];
    }
}

/* ------------------------------------------------------------ add */

typedef struct {
    const lr__op *op;
    const lr__tape *t;
} op_ctx;

static void add_fwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    for (int i = begin; i < end; i++) op->out.v[i] = op->a.v[i] + op->b.v[i];
}

lr__var lr__op_add(lr__tape *t, lr__var a, lr__var b) {
    lr__var out = lr__tape_var(t, a.n);
    if (!check_len(t, "add", b.n, a.n)) return out;
    lr__op *op = record(t, LR_OP_ADD);
    if (!op) return out;
    op->a = a;
    op->b = b;
    op->out = out;
    op_ctx ctx = {op, NULL};
    par_for(t, (int)a.n, 1024, (double)a.n, add_fwd_range, &ctx);
    return out;
}

static void add_bwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    if (op->a.g)
        for (int i = begin; i < end; i++) op->a.g[i] += op->out.g[i];
    if (op->b.g)
        for (int i = begin; i < end; i++) op->b.g[i] += op->out.g[i];
}

/* ------------------------------------------------------------ linear */

lr__var lr__op_linear(lr__tape *t, lr__var x, lr__var w, lr__var bias, int M, int N,
                         int K) {
    lr__var out = lr__tape_var(t, (size_t)M * N);
    if (!check_len(t, "linear input", x.n, (size_t)M * K) ||
        !check_len(t, "linear weight", w.n, (size_t)N * K) ||
        (bias.n && !check_len(t, "linear bias", bias.n, (size_t)N)))
        return out;
    lr__op *op = record(t, LR_OP_LINEAR);
    if (!op) return out;
    op->a = x;
    op->w = w;
    op->bias = bias;
    op->out = out;
    op->M = M;
    op->N = N;
    op->K = K;
    lr__gemm_nt(t->pool, M, N, K, x.v, K, w.v, K, bias.v, out.v, N, 0);
    return out;
}

static void bias_grad_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    for (int m = 0; m < op->M; m++) {
        const float *dy = op->out.g + (size_t)m * op->N;
        for (int n = begin; n < end; n++) op->bias.g[n] += dy[n];
    }
}

static void linear_backward(lr__tape *t, const lr__op *op) {
    int M = op->M, N = op->N, K = op->K;
    const float *dy = op->out.g;
    /* dx[M,K] += dy[M,N] · w[N,K] */
    if (op->a.g) lr__gemm_nn(t->pool, M, K, N, dy, N, op->w.v, K, op->a.g, K, 1);
    /* dw[N,K] += dyᵀ[N,M] · x[M,K] */
    if (op->w.g) lr__gemm_tn(t->pool, N, K, M, dy, N, op->a.v, K, op->w.g, K, 1);
    /* db[N] += column sums of dy */
    if (op->bias.g) {
        op_ctx ctx = {op, NULL};
        par_for(t, N, 16, (double)M * N, bias_grad_range, &ctx);
    }
}

/* ------------------------------------------------------------ layernorm */

static void ln_fwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    int D = op->N;
    float eps = op->p;
    for (int r = begin; r < end; r++) {
        const float *x = op->a.v + (size_t)r * D;
        float *y = op->out.v + (size_t)r * D;
        double sum = 0.0;
        for (int i = 0; i < D; i++) sum += x[i];
        double mean = sum / D, var = 0.0;
        for (int i = 0; i < D; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= D;
        float rstd = (float)(1.0 / sqrt(var + (double)eps));
        float fmean = (float)mean;
        for (int i = 0; i < D; i++) y[i] = (x[i] - fmean) * rstd * op->w.v[i] + op->bias.v[i];
        op->saved[2 * (size_t)r] = fmean;
        op->saved[2 * (size_t)r + 1] = rstd;
    }
}

lr__var lr__op_layernorm(lr__tape *t, lr__var x, lr__var gamma, lr__var beta, int M,
                            int D, float eps) {
    lr__var out = lr__tape_var(t, (size_t)M * D);
    lr__var stats = arena_take(t, 2 * (size_t)M, 0);
    if (!check_len(t, "layernorm input", x.n, (size_t)M * D) ||
        !check_len(t, "layernorm gamma", gamma.n, (size_t)D) ||
        !check_len(t, "layernorm beta", beta.n, (size_t)D))
        return out;
    lr__op *op = record(t, LR_OP_LAYERNORM);
    if (!op) return out;
    op->a = x;
    op->w = gamma;
    op->bias = beta;
    op->out = out;
    op->saved = stats.v;
    op->M = M;
    op->N = D;
    op->p = eps;
    op_ctx ctx = {op, NULL};
    par_for(t, M, 4, 8.0 * M * D, ln_fwd_range, &ctx);
    return out;
}

/* dx = rstd (dxh - mean(dxh) - xh mean(dxh xh)), dxh = dy gamma (rows) */
static void ln_bwd_rows(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    int D = op->N;
    for (int r = begin; r < end; r++) {
        const float *x = op->a.v + (size_t)r * D;
        const float *dy = op->out.g + (size_t)r * D;
        float *dx = op->a.g + (size_t)r * D;
        float mean = op->saved[2 * (size_t)r], rstd = op->saved[2 * (size_t)r + 1];
        double s1 = 0.0, s2 = 0.0;
        for (int i = 0; i < D; i++) {
            double dxh = (double)dy[i] * op->w.v[i];
            double xh = (double)(x[i] - mean) * rstd;
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= D;
        s2 /= D;
        for (int i = 0; i < D; i++) {
            double dxh = (double)dy[i] * op->w.v[i];
            double xh = (double)(x[i] - mean) * rstd;
            dx[i] += (float)(rstd * (dxh - s1 - xh * s2));
        }
    }
}

/* dgamma[i] += sum_r dy xh, dbeta[i] += sum_r dy (columns) */
static void ln_bwd_cols(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    int D = op->N;
    for (int r = 0; r < op->M; r++) {
        const float *x = op->a.v + (size_t)r * D;
        const float *dy = op->out.g + (size_t)r * D;
        float mean = op->saved[2 * (size_t)r], rstd = op->saved[2 * (size_t)r + 1];
        for (int i = begin; i < end; i++) {
            if (op->w.g) op->w.g[i] += dy[i] * (x[i] - mean) * rstd;
            if (op->bias.g) op->bias.g[i] += dy[i];
        }
    }
}

static void layernorm_backward(lr__tape *t, const lr__op *op) {
    op_ctx ctx = {op, NULL};
    if (op->a.g) par_for(t, op->M, 4, 8.0 * op->M * op->N, ln_bwd_rows, &ctx);
    if (op->w.g || op->bias.g) par_for(t, op->N, 16, 4.0 * op->M * op->N, ln_bwd_cols, &ctx);
}

/* ------------------------------------------------------------ gelu, relu */

/* Through the kernel table (the SIMD paths evaluate erf with a polynomial,
 * |error| < 2e-7; backward below uses libm's erff). */
static void gelu_fwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    memcpy(op->out.v + begin, op->a.v + begin, (size_t)(end - begin) * sizeof(float));
    lr__kern_get()->gelu(op->out.v + begin, (size_t)(end - begin));
}

/* d gelu / dx = Phi(x) + x phi(x). Phi comes from the forward's output,
 * gelu(x) / x, except near 0 where Phi = 1/2 + x phi(0) to float accuracy
 * (the next term is x^3 / (6 sqrt(2 pi)) < 1e-10 for |x| < 1e-3). */
static void gelu_bwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    const float inv_sqrt_2pi = 0.3989422804014327f;
    for (int i = begin; i < end; i++) {
        float x = op->a.v[i];
        float cdf = fabsf(x) >= 1e-3f ? op->out.v[i] / x : 0.5f + inv_sqrt_2pi * x;
        float pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
        op->a.g[i] += op->out.g[i] * (cdf + x * pdf);
    }
}

static void relu_fwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    for (int i = begin; i < end; i++) op->out.v[i] = op->a.v[i] > 0.0f ? op->a.v[i] : 0.0f;
}

static void relu_bwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    for (int i = begin; i < end; i++)
        if (op->a.v[i] > 0.0f) op->a.g[i] += op->out.g[i];
}

static lr__var unary(lr__tape *t, lr__var x, lr__op_type type, range_fn fwd, double cost) {
    lr__var out = lr__tape_var(t, x.n);
    lr__op *op = record(t, type);
    if (!op) return out;
    op->a = x;
    op->out = out;
    op_ctx ctx = {op, NULL};
    par_for(t, (int)x.n, 1024, cost * x.n, fwd, &ctx);
    return out;
}

lr__var lr__op_gelu(lr__tape *t, lr__var x) {
    return unary(t, x, LR_OP_GELU, gelu_fwd_range, 20.0);
}

lr__var lr__op_relu(lr__tape *t, lr__var x) {
    return unary(t, x, LR_OP_RELU, relu_fwd_range, 1.0);
}

/* ------------------------------------------------------------ dropout */

static void dropout_fwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    float scale = 1.0f / (1.0f - op->p);
    for (int i = begin; i < end; i++)
        op->out.v[i] = lr__dropout_keep(op->key, (size_t)i, op->p) ? op->a.v[i] * scale : 0.0f;
}

static void dropout_bwd_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__op *op = ((op_ctx *)ctx)->op;
    float scale = 1.0f / (1.0f - op->p);
    for (int i = begin; i < end; i++)
        if (lr__dropout_keep(op->key, (size_t)i, op->p)) op->a.g[i] += op->out.g[i] * scale;
}

lr__var lr__op_dropout(lr__tape *t, lr__var x, float p) {
    if (p <= 0.0f) return x;
    if (p >= 1.0f) {
        lr__var none = {NULL, NULL, x.n};
        tape_fail(t, LR_EINVAL, "dropout: probability %g must be below 1", (double)p);
        return none;
    }
    lr__var out = lr__tape_var(t, x.n);
    int index = t->n_ops;
    lr__op *op = record(t, LR_OP_DROPOUT);
    if (!op) return out;
    op->a = x;
    op->out = out;
    op->p = p;
    op->key = op_key(t, index);
    op_ctx ctx = {op, NULL};
    par_for(t, (int)x.n, 1024, 8.0 * x.n, dropout_fwd_range, &ctx);
    return out;
}

/* ------------------------------------------------------------ attention */

/* One (sequence, head) pair per job; op->M = B, N = L, K = H, A = heads. */
static void attn_fwd_range(void *ctx, int begin, int end, int ith) {
    const lr__op *op = ((op_ctx *)ctx)->op;
    const lr__tape *t = ((op_ctx *)ctx)->t;
    const lr__kern *kr = lr__kern_get();
    int L = op->N, H = op->K, A = op->A, d = H / A;
    float scale = 1.0f / sqrtf((float)d);
    float keep_scale = op->p > 0.0f ? 1.0f / (1.0f - op->p) : 1.0f;
    float *dropped = t->scratch + (size_t)ith * t->scratch_per;
    for (int job = begin; job < end; job++) {
        int b = job / A, h = job % A;
        size_t base = (size_t)b * L * H + (size_t)h * d;
        const float *Q = op->a.v + base, *Kt = op->b.v + base, *V = op->c.v + base;
        const int *mk = op->idx + (size_t)b * L;
        float *P = op->saved + (size_t)job * L * L;
        kr->gemm_nt(L, L, d, Q, H, Kt, H, NULL, P, L, 0);
        int n_real = 0;
        for (int j = 0; j < L; j++) n_real += mk[j] != 0;
        for (int i = 0; i < L; i++) {
            float *row = P + (size_t)i * L;
            if (n_real == 0) {
                for (int j = 0; j < L; j++) row[j] = 1.0f / (float)L;
                continue;
            }
            float max = -INFINITY;
            for (int j = 0; j < L; j++)
                if (mk[j] && row[j] * scale > max) max = row[j] * scale;
            double sum = 0.0;
            for (int j = 0; j < L; j++) {
                row[j] = mk[j] ? expf(row[j] * scale - max) : 0.0f;
                sum += row[j];
            }
            float inv = (float)(1.0 / sum);
            for (int j = 0; j < L; j++) row[j] *= inv;
        }
        const float *use = P;
        if (op->p > 0.0f) {
            size_t off = (size_t)job * L * L;
            for (size_t e = 0; e < (size_t)L * L; e++)
                dropped[e] = lr__dropout_keep(op->key, off + e, op->p) ? P[e] * keep_scale : 0.0f;
            use = dropped;
        }
        kr->gemm_nn(L, d, L, use, L, V, H, op->out.v + base, H, 0);
    }
}

static void attn_bwd_range(void *ctx, int begin, int end, int ith) {
    const lr__op *op = ((op_ctx *)ctx)->op;
    const lr__tape *t = ((op_ctx *)ctx)->t;
    const lr__kern *kr = lr__kern_get();
    int L = op->N, H = op->K, A = op->A, d = H / A;
    size_t LL = (size_t)L * L;
    float scale = 1.0f / sqrtf((float)d);
    float keep_scale = op->p > 0.0f ? 1.0f / (1.0f - op->p) : 1.0f;
    float *dP = t->scratch + (size_t)ith * t->scratch_per;
    float *dropped = dP + LL;
    for (int job = begin; job < end; job++) {
        int b = job / A, h = job % A;
        size_t base = (size_t)b * L * H + (size_t)h * d;
        const float *Q = op->a.v + base, *Kt = op->b.v + base, *V = op->c.v + base;
        const float *dO = op->out.g + base;
        const float *P = op->saved + (size_t)job * LL;
        /* dP'[i,j] = sum_e dO[i,e] V[j,e] */
        kr->gemm_nt(L, L, d, dO, H, V, H, NULL, dP, L, 0);
        const float *used = P;
        if (op->p > 0.0f) {
            size_t off = (size_t)job * LL;
            for (size_t e = 0; e < LL; e++) {
                int keep = lr__dropout_keep(op->key, off + e, op->p);
                dropped[e] = keep ? P[e] * keep_scale : 0.0f;
                dP[e] = keep ? dP[e] * keep_scale : 0.0f;
            }
            used = dropped;
        }
        /* dV[j,e] += sum_i P'[i,j] dO[i,e] */
        if (op->c.g) kr->gemm_tn(L, d, L, used, L, dO, H, op->c.g + base, H, 1);
        /* dS = P (dP - rowsum(P dP)) / sqrt d, in place of dP */
        for (int i = 0; i < L; i++) {
            const float *p = P + (size_t)i * L;
            float *g = dP + (size_t)i * L;
            double dot = 0.0;
            for (int j = 0; j < L; j++) dot += (double)p[j] * g[j];
            for (int j = 0; j < L; j++) g[j] = p[j] * (g[j] - (float)dot) * scale;
        }
        /* dQ[i,e] += sum_j dS[i,j] K[j,e];  dK[j,e] += sum_i dS[i,j] Q[i,e] */
        if (op->a.g) kr->gemm_nn(L, d, L, dP, L, Kt, H, op->a.g + base, H, 1);
        if (op->b.g) kr->gemm_tn(L, d, L, dP, L, Q, H, op->b.g + base, H, 1);
    }
}

lr__var lr__op_attention(lr__tape *t, lr__var q, lr__var k, lr__var v, const int *mask,
                            int B, int L, int H, int A, float p_drop) {
    lr__var out = lr__tape_var(t, (size_t)B * L * H);
    lr__var probs = arena_take(t, (size_t)B * A * L * L, 0);
    need_scratch(t, 2 * (size_t)L * L);
    if (A <= 0 || H % A != 0) {
        tape_fail(t, LR_EINVAL, "%s: hidden %zu is not a multiple of %zu heads", "attention",
                  (size_t)H, (size_t)A);
        return out;
    }
    if (p_drop < 0.0f || p_drop >= 1.0f) {
        tape_fail(t, LR_EINVAL, "attention: dropout %g is outside [0, 1)", (double)p_drop);
        return out;
    }
    size_t n = (size_t)B * L * H;
    if (!check_len(t, "attention q", q.n, n) || !check_len(t, "attention k", k.n, n) ||
        !check_len(t, "attention v", v.n, n))
        return out;
    int index = t->n_ops;
    lr__op *op = record(t, LR_OP_ATTENTION);
    if (!op) return out;
    op->a = q;
    op->b = k;
    op->c = v;
    op->out = out;
    op->idx = mask;
    op->saved = probs.v;
    op->M = B;
    op->N = L;
    op->K = H;
    op->A = A;
    op->p = p_drop;
    op->key = op_key(t, index);
    op_ctx ctx = {op, t};
    par_for(t, B * A, 1, 4.0 * B * L * L * H, attn_fwd_range, &ctx);
    return out;
}

/* ------------------------------------------------------------ cross-entropy */

/* Per row: log-sum-exp of the logits (double). */
static double row_lse(const float *z, int C) {
    double max = z[0];
    for (int c = 1; c < C; c++)
        if (z[c] > max) max = z[c];
    double sum = 0.0;
    for (int c = 0; c < C; c++) sum += exp(z[c] - max);
    return max + log(sum);
}

/* The smoothing distribution s(y) (see tape.h): s_c(y) = smooth_w(c, y) /
 * smooth_z(y), uniform when sigma is 0. Computed on the fly, so neither
 * pass needs scratch memory. */
static double smooth_w(int c, int y, double sigma) {
    double d = (double)(c - y);
    return sigma > 0.0 ? exp(-d * d / (2.0 * sigma * sigma)) : 1.0;
}

static double smooth_z(int C, int y, double sigma) {
    double z = 0.0;
    for (int c = 0; c < C; c++) z += smooth_w(c, y, sigma);
    return z;
}

/* The per-row smoothed, weighted cross-entropy ce_i (see tape.h). */
static double row_ce(const float *z, int C, int y, double lse, const lr__xent_opts *o) {
    double eps = o->label_smoothing;
    double wy = o->class_weights ? o->class_weights[y] : 1.0;
    double ce = (1.0 - eps) * wy * (lse - z[y]);
    if (eps > 0.0) {
        double sz = smooth_z(C, y, o->label_spread), smooth = 0.0;
        for (int c = 0; c < C; c++)
            smooth += smooth_w(c, y, o->label_spread) / sz * (o->class_weights ? o->class_weights[c] : 1.0) *
                      (lse - z[c]);
        ce += eps * smooth;
    }
    return ce;
}

/* The expected class E = sum_c c p_c of one row. */
static double row_expected(const float *z, int C, double lse) {
    double e = 0.0;
    for (int c = 0; c < C; c++) e += c * exp(z[c] - lse);
    return e;
}

lr__var lr__op_xent(lr__tape *t, lr__var logits, const int *labels, int N, int C,
                       const lr__xent_opts *opts) {
    lr__var out = lr__tape_var(t, 1);
    if (!check_len(t, "xent logits", logits.n, (size_t)N * C)) return out;
    lr__op *op = record(t, LR_OP_XENT);
    if (!op) return out;
    op->a = logits;
    op->out = out;
    op->idx = labels;
    op->M = N;
    op->N = C;
    if (opts) op->xent = *opts;
    double total = 0.0, denom = 0.0, gamma = op->xent.focal_gamma, lambda = op->xent.expected_weight;
    for (int i = 0; i < N; i++) {
        int y = labels[i];
        if (y < 0) continue;
        if (y >= C) {
            tape_fail(t, LR_EINVAL, "%s: label %zu is not below the %zu classes", "xent",
                      (size_t)y, (size_t)C);
            return out;
        }
        const float *z = logits.v + (size_t)i * C;
        double lse = row_lse(z, C);
        double ce = row_ce(z, C, y, lse, &op->xent);
        double focal = gamma > 0.0 ? pow(1.0 - exp(z[y] - lse), gamma) : 1.0;
        double wy = op->xent.class_weights ? op->xent.class_weights[y] : 1.0;
        total += focal * ce;
        if (lambda > 0.0) {
            double d = row_expected(z, C, lse) - y;
            total += lambda * wy * d * d;
        }
        denom += wy;
    }
    out.v[0] = denom > 0.0 ? (float)(total / denom) : 0.0f;
    op->p = (float)denom;
    return out;
}

static void xent_backward(const lr__op *op) {
    if (!op->a.g || op->p <= 0.0f) return;
    int N = op->M, C = op->N;
    const lr__xent_opts *o = &op->xent;
    double eps = o->label_smoothing, gamma = o->focal_gamma, lambda = o->expected_weight;
    double gl = (double)op->out.g[0] / (double)op->p;
    for (int i = 0; i < N; i++) {
        int y = op->idx[i];
        if (y < 0) continue;
        const float *z = op->a.v + (size_t)i * C;
        float *dz = op->a.g + (size_t)i * C;
        double lse = row_lse(z, C);
        double wy = o->class_weights ? o->class_weights[y] : 1.0;
        double py = exp(z[y] - lse);
        double focal = 1.0, dfocal = 0.0; /* d focal / d p_y */
        if (gamma > 0.0) {
            focal = pow(1.0 - py, gamma);
            dfocal = 1.0 - py > 0.0 ? -gamma * pow(1.0 - py, gamma - 1.0) : 0.0;
        }
        double ce = gamma > 0.0 ? row_ce(z, C, y, lse, o) : 0.0;
        /* sum_c s_c w_c, the smoothed weight mass */
        double swsum = 0.0, sz = eps > 0.0 ? smooth_z(C, y, o->label_spread) : 1.0;
        for (int c = 0; eps > 0.0 && c < C; c++)
            swsum += smooth_w(c, y, o->label_spread) / sz * (o->class_weights ? o->class_weights[c] : 1.0);
        double e = lambda > 0.0 ? row_expected(z, C, lse) : 0.0;
        for (int k = 0; k < C; k++) {
            double pk = exp(z[k] - lse);
            double wk = o->class_weights ? o->class_weights[k] : 1.0;
            double dce = (1.0 - eps) * wy * (pk - (k == y));
            if (eps > 0.0) dce += eps * (swsum * pk - smooth_w(k, y, o->label_spread) / sz * wk);
            double dpy = py * ((k == y) - pk); /* d p_y / d z_k */
            double g = focal * dce + ce * dfocal * dpy;
            if (lambda > 0.0) g += lambda * wy * 2.0 * (e - y) * pk * (k - e); /* dE/dz_k = p_k (k - E) */
            dz[k] += (float)(gl * g);
        }
    }
}

/* ------------------------------------------------------------ backward */

#define LR_ZERO_CHUNK 65536 /* floats per zeroing job */

static void zero_grad_range(void *ctx, int begin, int end, int ith) {
    (void)ith;
    const lr__tape *t = ctx;
    size_t lo = (size_t)begin * LR_ZERO_CHUNK, hi = LR_MIN(t->used, (size_t)end * LR_ZERO_CHUNK);
    if (lo < hi) memset(t->grad + lo, 0, (hi - lo) * sizeof(float));
}

int lr__tape_backward(lr__tape *t, lr__var loss) {
    if (t->status) return t->status;
    if (t->planning || !loss.g) {
        tape_fail(t, LR_EINVAL, "%s: no loss tensor to differentiate (%zu ops, %zu floats)",
                  "backward", (size_t)t->n_ops, t->used);
        return t->status;
    }
    int chunks = (int)((t->used + LR_ZERO_CHUNK - 1) / LR_ZERO_CHUNK);
    par_for(t, chunks, 1, (double)t->used, zero_grad_range, t);
    loss.g[0] = 1.0f;
    for (int i = t->n_ops - 1; i >= t->backward_stop; i--) {
        const lr__op *op = &t->ops[i];
        op_ctx ctx = {op, NULL};
        switch (op->type) {
        case LR_OP_GATHER:
            gather_backward(op);
            break;
        case LR_OP_ADD:
            par_for(t, (int)op->a.n, 1024, (double)op->a.n, add_bwd_range, &ctx);
            break;
        case LR_OP_LINEAR:
            linear_backward(t, op);
            break;
        case LR_OP_LAYERNORM:
            layernorm_backward(t, op);
            break;
        case LR_OP_GELU:
            if (op->a.g) par_for(t, (int)op->a.n, 1024, 20.0 * op->a.n, gelu_bwd_range, &ctx);
            break;
        case LR_OP_RELU:
            if (op->a.g) par_for(t, (int)op->a.n, 1024, (double)op->a.n, relu_bwd_range, &ctx);
            break;
        case LR_OP_DROPOUT:
            if (op->a.g) par_for(t, (int)op->a.n, 1024, 8.0 * op->a.n, dropout_bwd_range, &ctx);
            break;
        case LR_OP_ATTENTION: {
            ctx.t = t;
            par_for(t, op->M * op->A, 1, 8.0 * op->M * op->N * op->N * op->K, attn_bwd_range,
                    &ctx);
            break;
        }
        case LR_OP_XENT:
            xent_backward(op);
            break;
        case LR_OP_LSTM:
            lr__lstm_backward(t, op);
            break;
        }
    }
    return t->status;
}
