/*
 * model.h — the BERT classifier: configuration, weights and the fused
 * inference forward pass (no autograd).
 *
 * The configuration is shared with training (tape/train), whose parameter
 * block is in the same tensor order. All sizes come from the
 * config: BERT-mini, tiny test models and BERT-small work unchanged.
 *
 * Three structs split by lifetime (as in llama2.c):
 *   lr__bert_config   the sizes, read from the model file's metadata;
 *   lr__bert          pointers to the weights (into the .lrm mapping: no
 *                     copy), read-only, shared by all threads;
 *   lr__bert_scratch  the activations of one call, sized once from the
 *                     config and the maximum number of tokens per call.
 *
 * The configuration, the tensor names and order and the heads are the
 * model description of arch.h (lr__bert_tensor_at, shared by converters,
 * training, quantisation and the ONNX exporter). Linear weights are
 * [out, in] like torch.nn.Linear.
 *
 * The forward works on PACKED token rows: the n sequences of a call are laid
 * end to end as one [total_tokens, H] matrix for every dense layer (no
 * padding at all), and attention runs per sequence and head. The last layer
 * is computed for the [CLS] rows only (its keys and values still for every
 * token), since the head reads nothing else.
 */
#ifndef LR_MODEL_H
#define LR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h" /* the config and the tensor table */
#include "logrisk.h"
#include "qkern.h"
#include "wtype.h"

struct lr__packed; /* kern.h */

typedef struct lr__bert_layer {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* [H,H], [H]        */
    const float *ao_w, *ao_b;                       /* attention output  */
    const float *ln1_g, *ln1_b;                     /* [H]               */
    const float *ff1_w, *ff1_b;                     /* [I,H], [I]        */
    const float *ff2_w, *ff2_b;                     /* [H,I], [H]        */
    const float *ln2_g, *ln2_b;
    /* After lr__bert_pack (owned, else NULL): the Linear weights packed for
     * the GEMM kernel, Q|K|V fused into one [3H,H] weight with its bias. */
    struct lr__packed *qkv_p, *ao_p, *ff1_p, *ff2_p;
    float *qkv_b; /* [3H] */
    /* Views of qkv_p's Q and K|V columns (when H is a multiple of the
     * kernel's panel width, else NULL): the last layer needs queries for
     * the [CLS] rows only. */
    struct lr__packed *q_view, *kv_view;
    /* A low-precision model (lr__bert_bind_typed, wtype q8 or bf16): the six
     * Linear weights as stored (q, k, v, ao, ff1, ff2; int8 or bf16 [N,K])
     * and, for q8, their scales [N]; q_w, k_w, v_w, ao_w, ff1_w and ff2_w
     * are NULL then, and only the packed weights are used. */
    const void *lw[6];
    const float *ls[6];
} lr__bert_layer;

typedef struct lr__bert {
    lr__bert_config cfg;
    lr__wtype wtype;        /* of the encoder Linear weights */
    const float *word_emb;  /* [V,H] */
    const float *pos_emb;   /* [P,H] */
    const float *type_emb;  /* [T,H] (row 0 is used: token_type_ids are 0) */
    const float *emb_ln_g, *emb_ln_b;
    lr__bert_layer *layers; /* n_layers, owned */
    struct lr__packed *packs; /* 6 per layer after lr__bert_pack, owned */
    void *pack_mem;           /* the one block all packed weights live in */
    /* the head's stages (arch.h), weight [out,in] and bias [out] each */
    const float *head_w[LR_HEAD_MAX_STAGES], *head_b[LR_HEAD_MAX_STAGES];
} lr__bert;

/* Fill b from `tensors`, an array of lr__bert_n_tensors(cfg) float pointers
 * in the lr__bert_tensor_at order (the caller has checked their shapes).
 * The pointers are borrowed: they must outlive b. b->layers is allocated;
 * release with lr__bert_release. */
int lr__bert_bind(lr__bert *b, const lr__bert_config *cfg, const float *const *tensors,
                  lr_error *err);
void lr__bert_release(lr__bert *b);

/* lr__bert_bind for a model whose encoder Linear weights are of type wt:
 * for those tensors (lr__bert_tensor_is_quantized, wtype.h) `tensors` holds
 * NULL and qt the stored int8 / bf16 data, qs the q8 scales (NULL
 * elsewhere). f32 is lr__bert_bind. Such a model must be packed
 * (lr__bert_pack) before forward. Borrowed pointers, as in lr__bert_bind. */
int lr__bert_bind_typed(lr__bert *b, const lr__bert_config *cfg, const float *const *tensors,
                        lr__wtype wt, const void *const *qt, const float *const *qs,
                        lr_error *err);

/* Pack every encoder Linear weight once for the chosen GEMM kernel (a
 * copy: H*(4H+2I) floats per layer, owned by b, freed by lr__bert_release),
 * so that no call re-packs them. Optional: forward works either way.
 * The weights are packed over pool (NULL: on the calling thread). */
int lr__bert_pack(lr__bert *b, lr_pool *pool, lr_error *err);

/* lr__bert_pack of a q8 or bf16 model (model_lowp.c), for the table qk
 * (NULL: lr__qkern_get(); tests pack for every table). LR_EUNSUPPORTED for
 * bf16 when that table has no bf16 kernel: widen the weights to f32 and
 * bind them as f32 instead. */
int lr__bert_pack_lowp(lr__bert *b, const lr__qkern *qk, lr_error *err);

/* The one block every packed weight of b lives in (b->pack_mem, freed by
 * lr__bert_release): `bytes` usable from the returned start, which is
 * 2 MB-aligned, in whole 2 MB pages advised as huge pages (a few page faults
 * at load instead of one per 4 KB). NULL when out of memory. */
void *lr__bert_pack_block(lr__bert *b, size_t bytes);

/* [3H] = [bq | bk | bv] of layer L into a new L->qkv_b (LR_ENOMEM). */
int lr__bert_qkv_bias(lr__bert_layer *L, int H, lr_error *err);

/* --------------------------------------------------------------- forward */

typedef struct lr__bert_scratch lr__bert_scratch;

/* Activations for calls of up to max_tokens tokens in total (and as many
 * sequences); owned by the caller, one per thread that calls forward. */
lr__bert_scratch *lr__bert_scratch_new(const lr__bert_config *cfg, int max_tokens, lr_error *err);
void lr__bert_scratch_free(lr__bert_scratch *s);
int lr__bert_scratch_max_tokens(const lr__bert_scratch *s);

/* The forward pass for n sequences: ids[i] holds lens[i] token ids
 * ([CLS] first). Writes the final [CLS] hidden states to cls_out [n,H] and
 * the logits to logits [n,C] (either may be NULL). Each GEMM is threaded
 * over pool (NULL = the calling thread). Errors: LR_ERANGE (too many tokens
 * for the scratch, a sequence longer than max_positions or empty),
 * LR_EINVAL (a token id outside the vocabulary; the message names the
 * sequence and position). */
int lr__bert_forward(const lr__bert *b, lr__bert_scratch *s, lr_pool *pool,
                     const int32_t *const *ids, const int *lens, int n, float *cls_out,
                     float *logits, lr_error *err);

/* Softmax probabilities (may be NULL), the score (the median class index:
 * class i spread evenly over [i - 0.5, i + 0.5], the point where the
 * cumulative probability reaches 1/2, in [0, C - 1]) and argmax (first
 * maximum) of one row of C logits. */
void lr__head_outputs(const float *logits, int n_labels, float *probs, float *score, int *label);

/* ------------------------------------------------------ model file glue */

/* (format.h's types, declared here so this header does not pull in the
 * whole file module; C11 allows the repeated typedefs.) */
typedef struct lr__lrm lr__lrm;
typedef struct lr__lrm_writer lr__lrm_writer;

/* What a writer of a model file (convert, train) stores beside the
 * tensors; the keys are documented at the top of model.c. Everything is
 * copied by the writer. rules_yaml and source may be NULL. */
typedef struct lr__model_meta {
    const lr__bert_config *cfg;
    const char *const *labels; /* n_labels names (NUL-terminated) */
    size_t n_labels;
    const char *vocab;         /* vocab.txt text */
    size_t vocab_len;
    int max_len;               /* tokenizer max_len, 2..max_positions */
    const char *rules_yaml;
    size_t rules_len;
    const char *source;
    double temperature;        /* folded into the head by calibrate; 0: none */
} lr__model_meta;

/* The metadata of model file f as an lr__model_meta for a copy of it
 * (convert's, train's, quantize's and calibrate's writer,
 * lr__model_write_meta; a copy keeps the temperature): labels copied into
 * *labels and the source into *source (both freed by lr__model_meta_free
 * with cfg->n_labels), everything else pointing into f. */
int lr__model_read_meta(const lr__lrm *f, lr__bert_config *cfg, lr__model_meta *m, char ***labels,
                        char **source, lr_error *err);
void lr__model_meta_free(char **labels, int n_labels, char *source);

/* The model file at path or, when path is NULL, the image built into this
 * program (*name: its name for messages); NULL with err set, saying "WHAT:
 * no model given and none built in" when there is neither. */
lr__lrm *lr__model_open_any(const char *path, const char *what, const char **name, lr_error *err);

/* Write the metadata keys of a BERT model (not the tensors: add those in
 * lr__bert_tensor_at order, named and shaped as listed, F32). */
int lr__model_write_meta(lr__lrm_writer *w, const lr__model_meta *m, lr_error *err);
/* Read and check the config (and tokenizer max_len) of a model file. */
int lr__model_read_config(const lr__lrm *f, lr__bert_config *cfg, int *max_len, lr_error *err);
/* The weights of a loaded model (valid while the model is). */
const lr__bert *lr__model_bert(const lr_model *m);

#endif /* LR_MODEL_H */
