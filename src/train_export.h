/*
 * train_export.h — writing a trained model as an .lrm file that the
 * inference engine (lr_model_load, `logrisk score`) reads.
 *
 * The metadata keys are those of model.c (lr__model_write_meta); the
 * tensors are the training parameters named and shaped as
 * lr__bert_tensor_at lists them, F32, copied from the parameter block at
 * write time. Masked-LM head tensors are training-only and not written.
 */
#ifndef LR_TRAIN_EXPORT_H
#define LR_TRAIN_EXPORT_H

#include "model.h"
#include "train_bert.h"

/* Write m's current parameters with `meta` (its cfg is ignored: m's config
 * is written) to `path`, atomically. Errors: a tensor the engine
 * expects that the training model lacks or shapes differently (LR_EINVAL,
 * naming it), writer errors (LR_EIO, LR_ENOMEM). */
int lr__bert_train_export(const lr__bert_train *m, const lr__model_meta *meta, const char *path,
                          lr_error *err);

/* Copy every encoder tensor (names starting with "bert.") of the model
 * file at `path` into m's parameters: starting `train` from a pre-trained
 * encoder. Each must exist there as F32 with m's shape (LR_EFORMAT naming
 * it otherwise); the head keeps its values. */
int lr__bert_train_load_encoder(lr__bert_train *m, const char *path, lr_error *err);

#endif /* LR_TRAIN_EXPORT_H */
