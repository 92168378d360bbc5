/*
 * train_bert.h — BERT (post-LN, HF BertModel) with the log-risk head, built
 * on the autograd tape for training.
 *
 * The parameters live in one lr__params block (optim.h) in the order, with
 * the names and shapes, of the model description (arch.h: embeddings, the
 * 16 tensors of each layer, the head's stages; the order of
 * tests/fixtures/tiny's tensor_order), then,
 * with LR_TRAIN_MLM, the masked-LM head of HF BertForMaskedLM:
 *     cls.predictions.transform.dense.{weight,bias}
 *     cls.predictions.transform.LayerNorm.{weight,bias}
 *     cls.predictions.bias          (the decoder weight is TIED to
 *                                    bert.embeddings.word_embeddings.weight)
 *
 * The forward pass is the graph of tools/ref_bert.py:
 *   x = LN(word[ids] + type[0] + pos[0..L-1]) -> dropout
 *   per layer: ctx = attention(xWqᵀ+bq, xWkᵀ+bk, xWvᵀ+bv, mask) (attention
 *     dropout on the probabilities); a = LN(dropout(ctx Woᵀ+bo) + x);
 *     x = LN(dropout(gelu(a Wiᵀ+bi) Wo2ᵀ+bo2) + a)
 *   head on row 0 of each sequence: the head's stages (arch.h), each
 *   [dropout ->] Linear [-> activation]; for the MLP head dropout -> Linear
 *   -> ReLU -> dropout -> Linear -> logits [B, C]; loss = lr__op_xent. A
 *   head with an activation the tape has no op for (tanh: pooler_linear)
 *   is refused at init.
 * Batches are padded: B sequences of L positions, mask 1 = real token; the
 * word embedding row 0 ([PAD]) gets no gradient, like torch padding_idx=0.
 *
 * Masked-LM (lr__bert_train_forward_mlm): the encoder output rows of the
 * predicted positions only are gathered, then
 *   Linear(H,H) -> gelu -> LayerNorm -> x · word_embeddingsᵀ + bias -> [n, V]
 * and cross-entropy against the original ids (HF's loss with
 * ignore_index -100, i.e. the mean over predicted positions). At most
 * m->max_masked positions per batch (planned: B*L/5 + 64, capped at B*L).
 */
#ifndef LR_TRAIN_BERT_H
#define LR_TRAIN_BERT_H

#include <stdint.h>

#include "model.h"
#include "optim.h"
#include "tape.h"

/* lr__bert_train_init flags */
#define LR_TRAIN_MLM 1u /* add the masked-LM head and plan for it */

typedef struct lr__bert_train {
    lr__bert_config cfg;
    lr__params params;
    lr__tape tape;
    int max_batch, max_len;
    float p_hidden;   /* dropout after embeddings and sublayers (0.1) */
    float p_attn;     /* dropout on attention probabilities (0.1)     */
    float p_head;     /* dropout in the head (0.1)                    */
    int freeze_encoder; /* 1: backward stops at the head, encoder grads
                           stay 0 (train it with lr 0 for the encoder)  */

    /* index arrays the tape borrows (one allocation, owned) */
    int *ints;
    int *ids, *mask, *labels, *pos, *types, *cls;
    int *mlm_rows, *mlm_targets; /* [max_masked] */
    int max_masked;              /* 0 without LR_TRAIN_MLM */
    int n_masked;                /* of the last MLM forward */

    /* outputs of the last forward */
    int B, L;
    lr__var hidden; /* [B*L, H] encoder output  */
    lr__var logits; /* [B, C]                   */
    lr__var loss;   /* [1]                      */

    /* first tensor of each part in params (t_mlm -1 without MLM) */
    int t_emb, t_layer0, t_head, t_mlm;
} lr__bert_train;

/* Declare and allocate the parameters (all zero), then size the tape for
 * batches of up to max_batch x max_len with dropout on (and for the MLM
 * graph with flags LR_TRAIN_MLM). `pool` is borrowed (NULL = one thread).
 * Dropout defaults to 0.1 everywhere. On failure everything is released
 * and the message is in err. */
int lr__bert_train_init(lr__bert_train *m, const lr__bert_config *cfg, int max_batch, int max_len,
                        unsigned flags, lr_pool *pool, lr_error *err);

/* Release everything init allocated (not the pool). Safe after a failed
 * init and on a zeroed struct. */
void lr__bert_train_free(lr__bert_train *m);

/* Deterministic random init in the HF manner: N(0, std) for Linear and
 * embedding weights (row 0 of the word embeddings zeroed), biases 0,
 * LayerNorm gamma 1 and beta 0. Moments and the step counter are reset. */
void lr__bert_train_init_weights(lr__bert_train *m, uint64_t seed, float std);

/* Forward pass of a batch. ids, mask: [B*L]; labels: [B] (negative =
 * ignored) or NULL for logits only. The arrays are copied. training = 1
 * turns dropout on with masks drawn from `seed`. On success m->logits and,
 * with labels, m->loss and *loss_out (may be NULL) hold the results. */
int lr__bert_train_forward(lr__bert_train *m, const int *ids, const int *mask, const int *labels,
                           int B, int L, const lr__xent_opts *opts, int training, uint64_t seed,
                           float *loss_out, lr_error *err);

/* Masked-LM forward (init with LR_TRAIN_MLM). ids (already masked:
 * [MASK] / random / kept), mask: [B*L]; targets: [B*L], the original id at
 * predicted positions and a negative value elsewhere. The arrays are
 * copied. More than m->max_masked predicted positions is LR_ERANGE. The
 * loss is m->loss; backward and steps work as for the classifier. */
int lr__bert_train_forward_mlm(lr__bert_train *m, const int *ids, const int *mask,
                               const int *targets, int B, int L, int training, uint64_t seed,
                               float *loss_out, lr_error *err);

/* Zero the parameter gradients and backpropagate the last forward's loss
 * (which must have had labels). */
int lr__bert_train_backward(lr__bert_train *m, lr_error *err);

/* One optimisation step: forward (training mode), backward, clipping by
 * global norm `clip` (<= 0: none), AdamW. *loss_out and *grad_norm (both
 * optional) receive the loss and the norm before clipping. */
int lr__bert_train_step(lr__bert_train *m, const int *ids, const int *mask, const int *labels,
                        int B, int L, const lr__xent_opts *opts, uint64_t seed,
                        const lr__adamw_cfg *adamw, double clip, float *loss_out,
                        double *grad_norm, lr_error *err);

/* One MLM optimisation step (forward_mlm in training mode, backward,
 * clipping, AdamW); like lr__bert_train_step. */
int lr__bert_train_step_mlm(lr__bert_train *m, const int *ids, const int *mask, const int *targets,
                            int B, int L, uint64_t seed, const lr__adamw_cfg *adamw, double clip,
                            float *loss_out, double *grad_norm, lr_error *err);

#endif /* LR_TRAIN_BERT_H */
