/*
 * train_ckpt.h — training checkpoints: everything needed to resume a run
 * after kill -9 (parameters, AdamW moments and step, the caller's loop
 * state), written atomically.
 *
 * File layout (little-endian; every size checked against the file size
 * before use):
 *
 *   off  size
 *   0    8    magic "LRCKPT\0\1"
 *   8    4    byte-order mark 0x01020304 (a big-endian reader rejects it)
 *   12   4    version (1)
 *   16   4    n_tensors
 *   20   4    extra_len (bytes of caller state)
 *   24   8    n_floats (length of one parameter slice)
 *   32   8    AdamW step
 *   40   48   lr__bert_config as 11 int32 + ln_eps float32 (48 bytes)
 *   88   n_tensors x 112: name[96] (NUL-padded), shape[0], shape[1] (int32),
 *             offset (uint64)
 *   ...  extra_len bytes of caller state
 *   ...  3 x n_floats float32: values, AdamW m, AdamW v
 *   end  8    FNV-1a 64 of every byte before it
 *
 * Writing goes to PATH.tmp, is fsync'd, renamed over PATH and the
 * directory is fsync'd, so PATH is always either the old or the new
 * checkpoint. Loading checks the magic, sizes, the checksum, and that the
 * config and the tensor table equal those of the model being resumed.
 */
#ifndef LR_TRAIN_CKPT_H
#define LR_TRAIN_CKPT_H

#include <stddef.h>

#include "model.h"
#include "optim.h"

/* Save p (values, moments, step), cfg and `extra` (may be NULL when
 * extra_len is 0) to `path` atomically. 0 or LR_EIO / LR_ENOMEM. */
int lr__ckpt_save(const char *path, const lr__params *p, const lr__bert_config *cfg,
                  const void *extra, size_t extra_len, lr_error *err);

/* Load `path` into p (same layout as saved: same config and tensor table)
 * and copy its caller state into extra (exactly extra_len bytes expected).
 * Gradients are zeroed. On any error p is unchanged. LR_EIO, LR_EFORMAT,
 * LR_ECHECKSUM, LR_EINVAL (different model), LR_ENOMEM. */
int lr__ckpt_load(const char *path, lr__params *p, const lr__bert_config *cfg, void *extra,
                  size_t extra_len, lr_error *err);

#endif /* LR_TRAIN_CKPT_H */
