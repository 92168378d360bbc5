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

#include "util.h"

#define LR_PARAM_ALIGN 16

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

lr__tensor lr__params_tensor(const lr__params *p, int i) {
    lr__tensor t = {p->value + p->info[i].offset, p->grad + p->info[i].offset, p->info[i].size};
    return t;
}

void lr__params_zero_grad(lr__params *p) {
    if (p->grad) memset(p->grad, 0, p->n_floats * sizeof(float));
}

double lr__grad_norm(const lr__params *p) {
    /* torch: norm of the stacked per-tensor norms (same value; the padding
     * between tensors is always 0) */
    double sum = 0.0;
    for (size_t i = 0; i < p->n_floats; i++) sum += (double)p->grad[i] * p->grad[i];
    return sqrt(sum);
}

double lr__clip_grad_norm(lr__params *p, double max_norm) {
    double total = lr__grad_norm(p);
    if (max_norm <= 0.0) return total;
    double coef = max_norm / (total + 1e-6);
    if (coef > 1.0) coef = 1.0;
    float fcoef = (float)coef;
    for (size_t i = 0; i < p->n_floats; i++) p->grad[i] *= fcoef;
    return total;
}

lr__adamw_cfg lr__adamw_defaults(double lr) {
    lr__adamw_cfg c = {{lr, lr}, 0.9, 0.999, 1e-8, 0.01};
    return c;
}

void lr__adamw_step(lr__params *p, const lr__adamw_cfg *cfg) {
    long step = ++p->step;
    double bc1 = 1.0 - pow(cfg->beta1, (double)step);
    double bc2 = 1.0 - pow(cfg->beta2, (double)step);
    double bc2_sqrt = sqrt(bc2);
    float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
    float one_b1 = (float)(1.0 - cfg->beta1), one_b2 = (float)(1.0 - cfg->beta2);
    float eps = (float)cfg->eps, fbc2 = (float)bc2_sqrt;
    for (int t = 0; t < p->n; t++) {
        const lr__param_info *info = &p->info[t];
        double lr = cfg->lr[info->group];
        if (lr == 0.0) continue;
        float decay = (float)(1.0 - lr * (info->decay ? cfg->weight_decay : 0.0));
        float step_size = (float)(lr / bc1);
        float *w = p->value + info->offset, *g = p->grad + info->offset;
        float *m = p->m + info->offset, *v = p->v + info->offset;
        for (size_t i = 0; i < info->size; i++) {
            w[i] *= decay;
            m[i] = m[i] * b1 + g[i] * one_b1;
            v[i] = v[i] * b2 + g[i] * g[i] * one_b2;
            float denom = sqrtf(v[i]) / fbc2 + eps;
            w[i] -= step_size * (m[i] / denom);
        }
    }
}

double lr__lr_schedule(long step, long warmup, long total) {
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    double rest = (double)(total - step) / (double)(total - warmup > 1 ? total - warmup : 1);
    return rest > 0.0 ? rest : 0.0;
}
