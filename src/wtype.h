/*
 * wtype.h — weight types: what a q8 or bf16 model stores differently from
 * an f32 one, and the queries on it that both the loader (model.c) and the
 * quantizer (quant.c) make. Below both: it knows the tensor table (arch.h)
 * and the file's keys, not the model or the quantizer.
 *
 * A model file of weight type q8 or bf16 is an ordinary model file plus the
 * key `model.dtype` ("q8" or "bf16"; absent means "f32"). Only the encoder's
 * Linear weights change (lr__bert_tensor_is_quantized); embeddings,
 * LayerNorms, biases and the head stay f32:
 *
 *   q8    NAME (I8 [N,K], values in [-127, 127]) and NAME_scale (F32 [N]):
 *         per output channel symmetric, W[n,k] ~ NAME[n,k] * NAME_scale[n]
 *   bf16  NAME (BF16 [N,K]): each float rounded to nearest even
 */
#ifndef LR_WTYPE_H
#define LR_WTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "logrisk.h"
#include "qkern.h" /* lr__wtype */

typedef struct lr__lrm lr__lrm; /* format.h */

/* "f32", "q8", "bf16"; and back (LR_OK, or LR_EINVAL naming the value). */
const char *lr__wtype_name(lr__wtype t);
int lr__wtype_parse(const char *s, size_t len, lr__wtype *out, lr_error *err);
/* Bytes per stored element of a weight of type t (1, 2 or 4). */
size_t lr__wtype_bytes(lr__wtype t);

/* The weight type of a model file: its model.dtype key, f32 when absent;
 * LR_EFORMAT for a value that is not one of the three. */
int lr__model_read_wtype(const lr__lrm *f, lr__wtype *out, lr_error *err);

/* 1 when tensor spec s is an encoder Linear weight (the tensors a q8 or
 * bf16 model stores in its own type), else 0. */
int lr__bert_tensor_is_quantized(const lr__bert_tensor_spec *s);

/* Per output channel symmetric int8 of W [N,K] (row-major): for each row
 * amax = max|W[n,:]|, scale[n] = amax / 127 and q = clamp(round_half_even(
 * W * (127 / amax)), -127, 127); a row of zeros gets scale 0 and q = 0. */
void lr__q8_quantize_weight(const float *W, int N, int K, int8_t *q, float *scale);

/* LR_OK when every value of an int8 weight is in [-127, 127] and every
 * scale is finite and >= 0, else LR_EFORMAT naming the tensor. */
int lr__q8_check_weight(const char *name, const int8_t *q, size_t n, const float *scale,
                        size_t n_scale, lr_error *err);

#endif /* LR_WTYPE_H */
