/*
 * quant.h — quantized models: which weights are quantized, the weight
 * rules, and writing a quantized copy of a model file (`logrisk quantize`).
 *
 * A quantized .lrm is an ordinary model file (model.c's keys and tensor
 * names) plus the key `model.dtype` ("q8" or "bf16"; absent means "f32").
 * Only the encoder's Linear weights change (4H^2 + 2HI per layer: 3.1 M
 * floats in BERT-mini, 74% of the default model's 4.3 M parameters, 28% of
 * BERT-mini with a 30,522-word vocabulary); embeddings, LayerNorms, biases and the
 * head stay f32, where they cost little time and hold the most range:
 *
 *   q8    NAME (I8 [N,K], values in [-127, 127]) and NAME_scale (F32 [N]):
 *         per output channel symmetric, W[n,k] ~ NAME[n,k] * NAME_scale[n]
 *   bf16  NAME (BF16 [N,K]): each float rounded to nearest even
 *
 * Activations are quantized at run time, per row (qkern.h).
 */
#ifndef LR_QUANT_H
#define LR_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"
#include "model.h"
#include "qkern.h"

/* "f32", "q8", "bf16"; and back (LR_OK, or LR_EINVAL naming the value). */
const char *lr__wtype_name(lr__wtype t);
int lr__wtype_parse(const char *s, size_t len, lr__wtype *out, lr_error *err);

/* The weight type of a model file: its model.dtype key, f32 when absent;
 * LR_EFORMAT for a value that is not one of the three. */
int lr__model_read_wtype(const lr__lrm *f, lr__wtype *out, lr_error *err);

/* 1 when tensor spec s is an encoder Linear weight (the tensors a
 * quantized model stores in its own type), else 0. */
int lr__bert_tensor_is_quantized(const lr__bert_tensor_spec *s);

/* Per output channel symmetric int8 of W [N,K] (row-major): for each row
 * amax = max|W[n,:]|, scale[n] = amax / 127 and q = clamp(round_half_even(
 * W * (127 / amax)), -127, 127); a row of zeros gets scale 0 and q = 0. */
void lr__q8_quantize_weight(const float *W, int N, int K, int8_t *q, float *scale);

/* LR_OK when every value of an int8 weight is in [-127, 127] and every
 * scale is finite and >= 0, else LR_EFORMAT naming the tensor. */
int lr__q8_check_weight(const char *name, const int8_t *q, size_t n, const float *scale,
                        size_t n_scale, lr_error *err);

/* The metadata of model file f as an lr__model_meta for a copy of it
 * (convert's and train's writer, lr__model_write_meta): labels copied into
 * *labels and the source into *source (both freed by lr__model_meta_free
 * with cfg->n_labels), everything else pointing into f. */
int lr__model_read_meta(const lr__lrm *f, lr__bert_config *cfg, lr__model_meta *m, char ***labels,
                        char **source, lr_error *err);
void lr__model_meta_free(char **labels, int n_labels, char *source);

/* The model file at path or, when path is NULL, the image built into this
 * program (*name: its name for messages); NULL with err set, saying "WHAT:
 * no model given and none built in" when there is neither. */
lr__lrm *lr__model_open_any(const char *path, const char *what, const char **name, lr_error *err);

#endif /* LR_QUANT_H */
