/*
 * arch.h — the one description of the model: the BERT configuration, every
 * tensor's name and shape, and the classifier heads.
 *
 * Everything that reads, writes or runs a model reads the layout here and
 * nowhere else: inference (model_bert.c binds and runs it), training
 * (train_bert.c declares its parameters and builds its graph from it), the
 * safetensors import (convert/safetensors.c finds the head and the tensors
 * by these names), quantisation (wtype.c: which tensors a q8/bf16 model
 * stores in its own type), the checkpoint and the ONNX export
 * (convert/onnx.c emits the head's nodes from its stages). This module
 * depends on nothing but util.
 *
 * Tensors, in their fixed order (lr__bert_tensor_at), with Hugging Face
 * BertModel names; Linear weights are [out, in] like torch.nn.Linear:
 *   embeddings   bert.embeddings.{word,position,token_type}_embeddings.weight
 *                [V,H] [P,H] [T,H], bert.embeddings.LayerNorm.{weight,bias} [H]
 *   per layer l  bert.encoder.layer.l. + the 16 names of lr__bert_layer_tensor
 *                (q, k, v, attention output, its LayerNorm, intermediate,
 *                output, its LayerNorm: weight then bias each)
 *   the head     per stage, PREFIX.weight [out,in] then PREFIX.bias [out]
 *
 * A head is a chain of stages on the final [CLS] row: each stage is one
 * Linear(in, out) followed by an activation (none on the last, whose out
 * is the C labels). The table in arch.c gives, per head type, its
 * model.head name, its stages (tensor prefix, sizes, activation, whether
 * training drops out before the Linear) and so everything each consumer
 * needs: the tensors, the inference forward (a GEMM and the activation per
 * stage), the training graph (dropout, linear, activation on the tape) and
 * the ONNX nodes (Gemm and the activation's operator). Adding a head is
 * one row there (docs/model.md walks through it).
 */
#ifndef LR_ARCH_H
#define LR_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

/* The head types, in the order of the table in arch.c (their values are
 * only ever stored by name, as model.head). */
typedef enum lr__head_type {
    LR_HEAD_MLP = 0,           /* Dropout-Linear(H,head_hidden)-ReLU-Dropout-Linear(head_hidden,C) */
    LR_HEAD_LINEAR = 1,        /* Dropout-Linear(H,C) on the [CLS] row */
    LR_HEAD_POOLER_LINEAR = 2, /* HF BertForSequenceClassification: tanh(Linear(H,H)), Linear(H,C) */
    LR_HEAD_COUNT
} lr__head_type;

/* The head `train` and `pretrain` build unless told otherwise. */
#define LR_HEAD_DEFAULT LR_HEAD_MLP

typedef struct lr__bert_config {
    int vocab_size;
    int hidden;          /* H */
    int n_layers;
    int n_heads;         /* A; H % A == 0 */
    int intermediate;    /* I */
    int max_positions;
    int type_vocab_size;
    int n_labels;        /* C */
    int head_hidden;     /* K: heads with a stage of this width only (H/2 for the seed head) */
    lr__head_type head;
    float ln_eps;        /* 1e-12 */
} lr__bert_config;

/* Upper bounds that keep every size product far from int overflow. */
#define LR_BERT_MAX_HIDDEN 8192
#define LR_BERT_MAX_LAYERS 128
#define LR_BERT_MAX_INTERMEDIATE 65536
#define LR_BERT_MAX_VOCAB (1 << 22)
#define LR_BERT_MAX_POSITIONS 8192
#define LR_BERT_MAX_LABELS 65536

/* LR_OK, or LR_EFORMAT with a message naming the first bad field (sizes
 * out of range, H not divisible by A, a head without its sizes). */
int lr__bert_config_check(const lr__bert_config *cfg, lr_error *err);

/* ----------------------------------------------------------------- heads */

/* The sizes a stage's Linear is given in. */
typedef enum lr__dim {
    LR_DIM_H,     /* hidden */
    LR_DIM_K,     /* head_hidden */
    LR_DIM_C,     /* n_labels */
    LR_DIM_I,     /* intermediate */
    LR_DIM_V,     /* vocab_size */
    LR_DIM_P,     /* max_positions */
    LR_DIM_T,     /* type_vocab_size */
    LR_DIM_NONE,  /* no second dimension (1-D tensors) */
} lr__dim;

/* Element-wise activations after a head stage's Linear. */
typedef enum lr__act { LR_ACT_NONE, LR_ACT_RELU, LR_ACT_TANH } lr__act;

#define LR_HEAD_MAX_STAGES 4

typedef struct lr__head_stage {
    const char *prefix; /* tensor names PREFIX.weight [out,in], PREFIX.bias [out] */
    lr__dim in, out;    /* the first stage's in is H, the last stage's out is C */
    lr__act act;        /* after the Linear; LR_ACT_NONE on the last stage */
    int dropout;        /* training: dropout (p_head) on the stage's input */
} lr__head_stage;

typedef struct lr__head_desc {
    const char *name;   /* model.head */
    int n_stages;
    lr__head_stage stage[LR_HEAD_MAX_STAGES];
} lr__head_desc;

/* The description of head type t, NULL when t is not one. */
const lr__head_desc *lr__head_desc_of(lr__head_type t);
/* "mlp", "linear", "pooler_linear"; and back (LR_OK or LR_EFORMAT). */
const char *lr__head_name(lr__head_type head);
int lr__head_parse(const char *name, size_t len, lr__head_type *out, lr_error *err);
/* 1 when the config's head has a stage of width head_hidden (model.head_hidden
 * is then stored; else it is 0). */
int lr__head_uses_hidden(const lr__bert_config *cfg);
/* The value of dimension d in cfg (0 for LR_DIM_NONE). */
int64_t lr__bert_dim(const lr__bert_config *cfg, lr__dim d);
/* Floats per row the inference forward needs for the head's activations
 * between stages: the widest stage output but the last (at least H), twice
 * that when two hidden stages follow each other. */
size_t lr__head_scratch_width(const lr__bert_config *cfg);

/* Apply activation a to x[0..n) in place (the inference forward). */
void lr__act_apply(lr__act a, float *x, size_t n);
/* The ONNX operator of activation a ("Relu", "Tanh"; NULL for none). */
const char *lr__act_onnx_op(lr__act a);
/* "none", "relu", "tanh" (messages). */
const char *lr__act_name(lr__act a);

/* --------------------------------------------------------------- tensors */

/* The 16 tensors of an encoder layer, in their order. */
enum lr__layer_tensor {
    LR_LT_QW, LR_LT_QB, LR_LT_KW, LR_LT_KB, LR_LT_VW, LR_LT_VB, LR_LT_AOW, LR_LT_AOB,
    LR_LT_LN1W, LR_LT_LN1B, LR_LT_FF1W, LR_LT_FF1B, LR_LT_FF2W, LR_LT_FF2B, LR_LT_LN2W,
    LR_LT_LN2B, LR_LT_COUNT
};
#define LR_BERT_TENSORS_PER_LAYER LR_LT_COUNT
#define LR_BERT_EMB_TENSORS 5

/* Where a tensor belongs. */
typedef enum lr__tensor_part { LR_PART_EMBEDDINGS, LR_PART_LAYER, LR_PART_HEAD } lr__tensor_part;

typedef struct lr__bert_tensor_spec {
    char name[96];
    int ndim;          /* 1 or 2 */
    int64_t shape[2];
    lr__tensor_part part;
    int layer;         /* LR_PART_LAYER: which layer, and which of its 16 (lr__layer_tensor) */
    int slot;          /* ... or LR_PART_HEAD: the stage * 2 + (0 weight, 1 bias) */
} lr__bert_tensor_spec;

/* The number of tensors of a model with this config, and the i-th one's
 * name and shape, in the fixed order above. */
int lr__bert_n_tensors(const lr__bert_config *cfg);
void lr__bert_tensor_at(const lr__bert_config *cfg, int i, lr__bert_tensor_spec *out);
/* Index of tensor k (lr__layer_tensor) of layer l, and of the head's first. */
int lr__bert_layer_tensor(int l, int k);
int lr__bert_head_tensor0(const lr__bert_config *cfg);

#endif /* LR_ARCH_H */
