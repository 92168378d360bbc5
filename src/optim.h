/*
 * optim.h — the training parameter block and the optimiser: AdamW with
 * torch semantics, gradient clipping by global norm, the linear warm-up /
 * linear decay schedule.
 *
 * Layout (llm.c style): a model declares its tensors once, in a fixed
 * order, with their Hugging Face names and shapes (lr__params_add); then
 * lr__params_alloc makes ONE allocation of 4 * n_floats floats, sliced as
 *
 *     value[n_floats] | grad[n_floats] | adam_m[n_floats] | adam_v[n_floats]
 *
 * and tensor i lives at [offset_i, offset_i + size_i) of each slice, so a
 * parameter, its gradient and its two moments share one offset. Offsets are
 * rounded up to 16 floats (64 bytes).
 *
 * Each tensor carries `decay` (1 = weight decay applies: not biases, not
 * LayerNorm) and a `group` (LR_GROUP_ENCODER or LR_GROUP_HEAD) so that the
 * encoder and the head can have their own learning rates (0 = frozen).
 */
#ifndef LR_OPTIM_H
#define LR_OPTIM_H

#include <stddef.h>

#include "logrisk.h"
#include "tape.h"

enum { LR_GROUP_ENCODER = 0, LR_GROUP_HEAD = 1, LR_N_GROUPS = 2 };

typedef struct lr__param_info {
    char name[96];
    int ndim;       /* 1 or 2                   */
    int shape[2];   /* shape[1] = 1 when ndim 1 */
    size_t offset;  /* floats, into each slice  */
    size_t size;    /* floats                   */
    int decay;
    int group;
} lr__param_info;

typedef struct lr__params {
    lr__param_info *info;
    int n, cap;
    size_t n_floats;  /* length of each slice (with alignment padding) */
    float *block;     /* the one allocation, owned                     */
    float *value, *grad, *m, *v;
    long step;        /* AdamW steps taken                             */
    lr_pool *pool;    /* borrowed; NULL = single-threaded updates      */
} lr__params;

/* Declare the next tensor (before lr__params_alloc). decay is set from the
 * name: 0 for "*.bias" and "*LayerNorm*", else 1. d1 <= 0 means a vector.
 * Returns 0, LR_EINVAL (name too long, bad shape, after alloc) or LR_ENOMEM. */
int lr__params_add(lr__params *p, const char *name, int d0, int d1, int group, lr_error *err);

/* Allocate the block (zeroed: values, gradients and moments all 0). */
int lr__params_alloc(lr__params *p, lr_error *err);

/* Release the table and the block; the struct is zeroed. */
void lr__params_free(lr__params *p);

/* Index of the tensor with this name, or -1. */
int lr__params_find(const lr__params *p, const char *name);

/* Tensor i as a tape variable (value and gradient slices). */
lr__var lr__params_var(const lr__params *p, int i);

/* Set every gradient to 0. The whole-block operations below (zeroing,
 * norm, clipping, AdamW) split the block over p->pool when it is set. */
void lr__params_zero_grad(lr__params *p);

/* The global L2 norm of all gradients (double accumulation). */
double lr__grad_norm(const lr__params *p);

/* torch.nn.utils.clip_grad_norm_(params, max_norm): total = global norm;
 * every gradient is multiplied by min(1, max_norm / (total + 1e-6)).
 * Returns the norm before clipping. max_norm <= 0 only measures. */
double lr__clip_grad_norm(lr__params *p, double max_norm);

typedef struct lr__adamw_cfg {
    double lr[LR_N_GROUPS]; /* per group; 0 freezes the group */
    double beta1, beta2, eps, weight_decay;
} lr__adamw_cfg;

/* Defaults of torch.optim.AdamW except weight decay 0.01: betas (0.9,
 * 0.999), eps 1e-8, lr `lr` for both groups. */
lr__adamw_cfg lr__adamw_defaults(double lr);

/* One torch.optim.AdamW step (torch 1.13 _single_tensor_adamw) over every
 * tensor, with step = ++p->step:
 *   param *= 1 - lr * wd                      (wd = 0 when !decay)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * A group with lr 0 is left untouched (moments included). */
void lr__adamw_step(lr__params *p, const lr__adamw_cfg *cfg);

/* transformers.get_linear_schedule_with_warmup: the factor on the base
 * learning rate for optimiser step `step` (0-based, the value LambdaLR has
 * after `step` scheduler.step() calls):
 *   step < warmup: step / max(1, warmup)
 *   else:          max(0, (total - step) / max(1, total - warmup)) */
double lr__lr_schedule(long step, long warmup, long total);

#endif /* LR_OPTIM_H */
