/*
 * model.h — the BERT classifier: configuration, weights and the fused
 * inference forward pass (no autograd).
 *
 * The configuration is shared with training (tape/train), which keeps its
 * own parameter block in the same tensor order. All sizes come from the
 * config: BERT-mini, tiny test models and BERT-small work unchanged.
 */
#ifndef LR_MODEL_H
#define LR_MODEL_H

#include "logrisk.h"

typedef enum lr__head_type {
    LR_HEAD_MLP = 0,    /* Dropout-Linear(H,head_hidden)-ReLU-Dropout-Linear(head_hidden,C):
                           tensors classifier.1.* and classifier.4.* */
    LR_HEAD_LINEAR = 1, /* HF BertForSequenceClassification: pooler-free Linear(H,C),
                           tensors classifier.* */
} lr__head_type;

typedef struct lr__bert_config {
    int vocab_size;
    int hidden;          /* H */
    int n_layers;
    int n_heads;         /* A; H % A == 0 */
    int intermediate;    /* I */
    int max_positions;
    int type_vocab_size;
    int n_labels;        /* C */
    int head_hidden;     /* MLP head only (H/2 for the seed head) */
    lr__head_type head;
    float ln_eps;        /* 1e-12 */
} lr__bert_config;

#endif /* LR_MODEL_H */
