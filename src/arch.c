/*
 * arch.c — the model description (arch.h): the head table, the tensor
 * table and the config checks. The tables are the only place a head type
 * or a tensor name is spelled out; every other module loops over them.
 */
#include "arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ----------------------------------------------------------------- heads */

/* One row per head type, in lr__head_type order. The safetensors import
 * recognises a head by its stages' weights: heads with more stages are
 * tried first, then in this order (so classifier.1 + classifier.4 is the
 * MLP head, bert.pooler.dense + classifier the pooled one, classifier
 * alone the linear one). */
static const lr__head_desc g_heads[LR_HEAD_COUNT] = {
    [LR_HEAD_MLP] = {"mlp", 2,
                     {{"classifier.1", LR_DIM_H, LR_DIM_K, LR_ACT_RELU, 1},
                      {"classifier.4", LR_DIM_K, LR_DIM_C, LR_ACT_NONE, 1}}},
    [LR_HEAD_LINEAR] = {"linear", 1, {{"classifier", LR_DIM_H, LR_DIM_C, LR_ACT_NONE, 1}}},
    [LR_HEAD_POOLER_LINEAR] = {"pooler_linear", 2,
                               {{"bert.pooler.dense", LR_DIM_H, LR_DIM_H, LR_ACT_TANH, 0},
                                {"classifier", LR_DIM_H, LR_DIM_C, LR_ACT_NONE, 1}}},
};

const lr__head_desc *lr__head_desc_of(lr__head_type t) {
    return (unsigned)t < LR_HEAD_COUNT ? &g_heads[t] : NULL;
}

const char *lr__head_name(lr__head_type head) {
    const lr__head_desc *d = lr__head_desc_of(head);
    return d ? d->name : "?";
}

int lr__head_parse(const char *name, size_t len, lr__head_type *out, lr_error *err) {
    char names[256];
    size_t o = 0;
    for (int i = 0; i < LR_HEAD_COUNT; i++) {
        if (strlen(g_heads[i].name) == len && memcmp(g_heads[i].name, name, len) == 0) {
            *out = (lr__head_type)i;
            return LR_OK;
        }
        o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "", g_heads[i].name);
        if (o >= sizeof names) o = sizeof names - 1;
    }
    return lr__err(err, LR_EFORMAT, "model head \"%.*s\" is not one of %s", (int)LR_MIN(len, 64),
                   name, names);
}

int lr__head_uses_hidden(const lr__bert_config *c) {
    const lr__head_desc *d = lr__head_desc_of(c->head);
    for (int s = 0; d && s < d->n_stages; s++)
        if (d->stage[s].in == LR_DIM_K || d->stage[s].out == LR_DIM_K) return 1;
    return 0;
}

int64_t lr__bert_dim(const lr__bert_config *c, lr__dim d) {
    switch (d) {
    case LR_DIM_H: return c->hidden;
    case LR_DIM_K: return c->head_hidden;
    case LR_DIM_C: return c->n_labels;
    case LR_DIM_I: return c->intermediate;
    case LR_DIM_V: return c->vocab_size;
    case LR_DIM_P: return c->max_positions;
    case LR_DIM_T: return c->type_vocab_size;
    case LR_DIM_NONE: break;
    }
    return 0;
}

size_t lr__head_scratch_width(const lr__bert_config *c) {
    const lr__head_desc *d = lr__head_desc_of(c->head);
    size_t w = (size_t)c->hidden;
    int hidden_stages = 0;
    for (int s = 0; d && s + 1 < d->n_stages; s++, hidden_stages++)
        w = LR_MAX(w, (size_t)lr__bert_dim(c, d->stage[s].out));
    return hidden_stages > 1 ? 2 * w : w;
}

void lr__act_apply(lr__act a, float *x, size_t n) {
    switch (a) {
    case LR_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            if (x[i] < 0.0f) x[i] = 0.0f;
        break;
    case LR_ACT_TANH:
        for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
        break;
    case LR_ACT_NONE: break;
    }
}

const char *lr__act_onnx_op(lr__act a) {
    return a == LR_ACT_RELU ? "Relu" : a == LR_ACT_TANH ? "Tanh" : NULL;
}

const char *lr__act_name(lr__act a) {
    return a == LR_ACT_RELU ? "relu" : a == LR_ACT_TANH ? "tanh" : "none";
}

/* ---------------------------------------------------------------- config */

int lr__bert_config_check(const lr__bert_config *c, lr_error *err) {
#define RANGE(field, lo, hi)                                                                   \
    if (c->field < (lo) || c->field > (hi))                                                    \
        return lr__err(err, LR_EFORMAT, "model config: %s = %d is outside [%d, %d]", #field,     \
                       c->field, (int)(lo), (int)(hi));
    RANGE(vocab_size, 1, LR_BERT_MAX_VOCAB);
    RANGE(hidden, 1, LR_BERT_MAX_HIDDEN);
    RANGE(n_layers, 1, LR_BERT_MAX_LAYERS);
    RANGE(n_heads, 1, c->hidden);
    RANGE(intermediate, 1, LR_BERT_MAX_INTERMEDIATE);
    RANGE(max_positions, 1, LR_BERT_MAX_POSITIONS);
    RANGE(type_vocab_size, 1, 1024);
    RANGE(n_labels, 1, LR_BERT_MAX_LABELS);
    if (lr__head_uses_hidden(c)) RANGE(head_hidden, 1, LR_BERT_MAX_INTERMEDIATE);
#undef RANGE
    if (c->hidden % c->n_heads != 0)
        return lr__err(err, LR_EFORMAT, "model config: hidden %d is not divisible by %d heads",
                       c->hidden, c->n_heads);
    if (!lr__head_desc_of(c->head))
        return lr__err(err, LR_EFORMAT, "model config: unknown head type %d", (int)c->head);
    if (!(c->ln_eps > 0.0f) || !(c->ln_eps < 1.0f))
        return lr__err(err, LR_EFORMAT, "model config: layer_norm_eps %g is not in (0, 1)",
                       (double)c->ln_eps);
    return LR_OK;
}

/* --------------------------------------------------------------- tensors */

typedef struct {
    const char *name;
    lr__dim d0, d1; /* d1 LR_DIM_NONE: 1-D */
} tensor_row;

static const tensor_row g_emb[LR_BERT_EMB_TENSORS] = {
    {"bert.embeddings.word_embeddings.weight", LR_DIM_V, LR_DIM_H},
    {"bert.embeddings.position_embeddings.weight", LR_DIM_P, LR_DIM_H},
    {"bert.embeddings.token_type_embeddings.weight", LR_DIM_T, LR_DIM_H},
    {"bert.embeddings.LayerNorm.weight", LR_DIM_H, LR_DIM_NONE},
    {"bert.embeddings.LayerNorm.bias", LR_DIM_H, LR_DIM_NONE},
};

static const tensor_row g_layer[LR_LT_COUNT] = {
    [LR_LT_QW] = {"attention.self.query.weight", LR_DIM_H, LR_DIM_H},
    [LR_LT_QB] = {"attention.self.query.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_KW] = {"attention.self.key.weight", LR_DIM_H, LR_DIM_H},
    [LR_LT_KB] = {"attention.self.key.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_VW] = {"attention.self.value.weight", LR_DIM_H, LR_DIM_H},
    [LR_LT_VB] = {"attention.self.value.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_AOW] = {"attention.output.dense.weight", LR_DIM_H, LR_DIM_H},
    [LR_LT_AOB] = {"attention.output.dense.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_LN1W] = {"attention.output.LayerNorm.weight", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_LN1B] = {"attention.output.LayerNorm.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_FF1W] = {"intermediate.dense.weight", LR_DIM_I, LR_DIM_H},
    [LR_LT_FF1B] = {"intermediate.dense.bias", LR_DIM_I, LR_DIM_NONE},
    [LR_LT_FF2W] = {"output.dense.weight", LR_DIM_H, LR_DIM_I},
    [LR_LT_FF2B] = {"output.dense.bias", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_LN2W] = {"output.LayerNorm.weight", LR_DIM_H, LR_DIM_NONE},
    [LR_LT_LN2B] = {"output.LayerNorm.bias", LR_DIM_H, LR_DIM_NONE},
};

int lr__bert_layer_tensor(int l, int k) { return LR_BERT_EMB_TENSORS + l * LR_LT_COUNT + k; }

int lr__bert_head_tensor0(const lr__bert_config *c) { return lr__bert_layer_tensor(c->n_layers, 0); }

int lr__bert_n_tensors(const lr__bert_config *c) {
    const lr__head_desc *d = lr__head_desc_of(c->head);
    return lr__bert_head_tensor0(c) + (d ? 2 * d->n_stages : 0);
}

static void fill(lr__bert_tensor_spec *o, const lr__bert_config *c, lr__dim d0, lr__dim d1) {
    o->ndim = d1 == LR_DIM_NONE ? 1 : 2;
    o->shape[0] = lr__bert_dim(c, d0);
    o->shape[1] = lr__bert_dim(c, d1);
}

void lr__bert_tensor_at(const lr__bert_config *c, int i, lr__bert_tensor_spec *o) {
    memset(o, 0, sizeof *o);
    if (i < LR_BERT_EMB_TENSORS) {
        o->part = LR_PART_EMBEDDINGS;
        o->slot = i;
        snprintf(o->name, sizeof o->name, "%s", g_emb[i].name);
        fill(o, c, g_emb[i].d0, g_emb[i].d1);
        return;
    }
    const int h0 = lr__bert_head_tensor0(c);
    if (i < h0) {
        const int j = i - LR_BERT_EMB_TENSORS, k = j % LR_LT_COUNT;
        o->part = LR_PART_LAYER;
        o->layer = j / LR_LT_COUNT;
        o->slot = k;
        snprintf(o->name, sizeof o->name, "bert.encoder.layer.%d.%s", o->layer, g_layer[k].name);
        fill(o, c, g_layer[k].d0, g_layer[k].d1);
        return;
    }
    const lr__head_desc *d = lr__head_desc_of(c->head);
    const int j = i - h0;
    o->part = LR_PART_HEAD;
    o->slot = j;
    if (!d || j / 2 >= d->n_stages) return; /* past the end: an empty spec */
    const lr__head_stage *s = &d->stage[j / 2];
    snprintf(o->name, sizeof o->name, "%s.%s", s->prefix, j % 2 ? "bias" : "weight");
    fill(o, c, s->out, j % 2 ? LR_DIM_NONE : s->in);
}
