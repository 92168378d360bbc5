/*
 * optim.c — parameter block, AdamW, clipping and the learning-rate schedule
 * (see optim.h for the layout and the exact formulas).
 *
 * Scalars that torch computes in Python double (bias corrections, step
 * size, clip coefficient) are computed in double here too; the per-element
 * arithmetic is float, in torch's order, so that three steps agree with
 * torch to float rounding.
 */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "pool.h"
#include "util.h"

#define LR_PARAM_ALIGN 16
#define LR_MAX_THREADS 256

/* Run fn over [0, n_floats) of the block, one contiguous slice per thread
 * (single-threaded without a pool or for small blocks). */
typedef void (*slice_fn)(lr__params *p, size_t begin, size_t end, int ith, void *ctx);

typedef struct {
    lr__params *p;
    slice_fn fn;
    void *ctx;
} slice_job;

static void slice_task(int ith, int nth, void *arg) {
    slice_job *j = arg;
    size_t n = j->p->n_floats, per = (n + (size_t)nth - 1) / (size_t)nth;
    per = (per + LR_PARAM_ALIGN - 1) / LR_PARAM_ALIGN * LR_PARAM_ALIGN;
    size_t begin = LR_MIN(n, (size_t)ith * per), end = LR_MIN(n, begin + per);
    if (begin < end) j->fn(j->p, begin, end, ith, j->ctx);
}

static void for_slices(lr__params *p, slice_fn fn, void *ctx) {
    if (!p->pool || p->n_floats < 65536 || lr_pool_size(p->pool) > LR_MAX_THREADS) {
        fn(p, 0, p->n_floats, 0, ctx);
        return;
    }
    slice_job job = {p, fn, ctx};
    lr__pool_run(p->pool, slice_task, &job);
}

int lr__params_add(lr__params *p, const char *name, int d0, int d1, int group, lr_error *err) {
    if (p->block) return lr__err(err, LR_EINVAL, "tensor %s declared after allocation", name);
    if (strlen(name) >= sizeof p->info[0].name)
        return lr__err(err, LR_EINVAL, "tensor name too long: %s", name);
    if (d0 <= 0) return lr__err(err, LR_EINVAL, "tensor %s: bad shape [%d, %d]", name, d0, d1);
    if (group < 0 || group >= LR_N_GROUPS)
        return lr__err(err, LR_EINVAL, "tensor %s: bad group %d", name, group);
    size_t size;
    if (!lr__mul_ok((size_t)d0, (size_t)(d1 > 0 ? d1 : 1), &size))
        return lr__err(err, LR_ERANGE, "tensor %s: size overflows", name);
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        lr__param_info *info = lr__realloc(p->info, (size_t)cap * sizeof *info);
        if (!info) return lr__err(err, LR_ENOMEM, "out of memory for the parameter table");
        p->info = info;
        p->cap = cap;
    }
    lr__param_info *t = &p->info[p->n];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 1;
    t->size = size;
    t->offset = p->n_floats;
    t->group = group;
    size_t len = strlen(name);
    int is_bias = len >= 5 && strcmp(name + len - 5, ".bias") == 0;
    t->decay = !(is_bias || strstr(name, "LayerNorm"));
    size_t rounded = (size + LR_PARAM_ALIGN - 1) / LR_PARAM_ALIGN * LR_PARAM_ALIGN;
    if (!lr__add_ok(p->n_floats, rounded, &p->n_floats))
        return lr__err(err, LR_ERANGE, "parameter block size overflows at %s", name);
    p->n++;
    return 0;
}

int lr__params_alloc(lr__params *p, lr_error *err) {
    size_t total;
    if (!lr__mul_ok(p->n_floats ? p->n_floats : 1, 4, &total))
        return lr__err(err, LR_ERANGE, "parameter block size overflows");
    lr__free(p->block);
    p->block = lr__calloc(total, sizeof(float));
    if (!p->block)
        return lr__err(err, LR_ENOMEM, "out of memory for %zu parameters (x4 for training)",
                       p->n_floats);
    p->value = p->block;
    p->grad = p->block + p->n_floats;
    p->m = p->block + 2 * p->n_floats;
    p->v = p->block + 3 * p->n_floats;
    p->step = 0;
    return 0;
}

void lr__params_free(lr__params *p) {
    lr__free(p->info);
    lr__free(p->block);
    memset(p, 0, sizeof *p);
}

int lr__params_find(const lr__params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->info[i].name, name) == 0) return i;
    return -1;
}

lr__var lr__params_var(const lr__params *p, int i) {
    lr__var t = {p->value + p->info[i].offset, p->grad + p->info[i].offset, p->info[i].size};
    return t;
}

static void zero_slice(lr__params *p, size_t begin, size_t end, int ith, void *ctx) {
    (void)ith;
    (void)ctx;
    memset(p->grad + begin, 0, (end - begin) * sizeof(float));
}

void lr__params_zero_grad(lr__params *p) {
    if (p->grad) for_slices(p, zero_slice, NULL);
}

static void sumsq_slice(lr__params *p, size_t begin, size_t end, int ith, void *ctx) {
    double sum = 0.0;
    for (size_t i = begin; i < end; i++) sum += (double)p->grad[i] * p->grad[i];
    ((double *)ctx)[ith] = sum;
}

double lr__grad_norm(const lr__params *p) {
    /* torch: norm of the stacked per-tensor norms (same value; the padding
     * between tensors is always 0) */
    double partial[LR_MAX_THREADS] = {0};
    for_slices((lr__params *)p, sumsq_slice, partial);
    double sum = 0.0;
    for (int i = 0; i < LR_MAX_THREADS; i++) sum += partial[i];
    return sqrt(sum);
}

static void scale_slice(lr__params *p, size_t begin, size_t end, int ith, void *ctx) {
    (void)ith;
    float coef = *(const float *)ctx;
    for (size_t i = begin; i < end; i++) p->grad[i] *= coef;
}

double lr__clip_grad_norm(lr__params *p, double max_norm) {
    double total = lr__grad_norm(p);
    if (max_norm <= 0.0) return total;
    double coef = max_norm / (total + 1e-6);
    if (coef > 1.0) coef = 1.0;
    float fcoef = (float)coef;
    for_slices(p, scale_slice, &fcoef);
    return total;
}

lr__adamw_cfg lr__adamw_defaults(double lr) {
    lr__adamw_cfg c = {{lr, lr}, 0.9, 0.999, 1e-8, 0.01};
    return c;
}

typedef struct {
    const lr__adamw_cfg *cfg;
    double bc1, bc2_sqrt;
} adamw_ctx;

/* The AdamW update of the block slice [begin, end): the parts of every
 * tensor that overlap it. With GCC the loop is compiled at O3 without errno
 * for sqrtf (v >= 0, so no call can set it), which lets it vectorise with
 * the baseline ISA; the arithmetic and its order are unchanged. */
static void adamw_slice(lr__params *p, size_t begin, size_t end, int ith, void *arg) {
    (void)ith;
    const adamw_ctx *a = arg;
    const lr__adamw_cfg *cfg = a->cfg;
    float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
    float one_b1 = (float)(1.0 - cfg->beta1), one_b2 = (float)(1.0 - cfg->beta2);
    float eps = (float)cfg->eps, fbc2 = (float)a->bc2_sqrt;
    for (int t = 0; t < p->n; t++) {
        const lr__param_info *info = &p->info[t];
        size_t lo = LR_MAX(begin, info->offset), hi = LR_MIN(end, info->offset + info->size);
        if (lo >= hi) continue;
        double lr = cfg->lr[info->group];
        if (lr == 0.0) continue;
        float decay = (float)(1.0 - lr * (info->decay ? cfg->weight_decay : 0.0));
        float step_size = (float)(lr / a->bc1);
        float *restrict w = p->value + lo, *restrict m = p->m + lo, *restrict v = p->v + lo;
        const float *restrict g = p->grad + lo;
        for (size_t i = 0; i < hi - lo; i++) {
            w[i] *= decay;
            m[i] = m[i] * b1 + g[i] * one_b1;
            v[i] = v[i] * b2 + g[i] * g[i] * one_b2;
            float denom = sqrtf(v[i]) / fbc2 + eps;
            w[i] -= step_size * (m[i] / denom);
        }
    }
}

void lr__adamw_step(lr__params *p, const lr__adamw_cfg *cfg) {
    long step = ++p->step;
    adamw_ctx a = {cfg, 1.0 - pow(cfg->beta1, (double)step),
                   sqrt(1.0 - pow(cfg->beta2, (double)step))};
    for_slices(p, adamw_slice, &a);
}

double lr__lr_schedule(long step, long warmup, long total) {
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    double rest = (double)(total - step) / (double)(total - warmup > 1 ? total - warmup : 1);
    return rest > 0.0 ? rest : 0.0;
}
