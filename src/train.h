/*
 * train.h — the trainer: a YAML configuration, then the whole run (data,
 * split, model, epochs with validation, early stopping, checkpoints,
 * metrics file, the best model written as .lrm). Public entry point:
 * lr_train_run (logrisk.h); the pieces live in train_data, train_loop,
 * train_ckpt and train_export.
 *
 * Configuration (a flat YAML mapping; unknown keys are errors):
 *
 *   data: labelled.jsonl        required; JSONL or .csv with text, label
 *   vocab: vocab.txt            required; Hugging Face vocab.txt
 *   output: model.lrm           the best model (CLI -o overrides)
 *   metrics: PATH               default OUTPUT.metrics.json
 *   checkpoint: PATH            default OUTPUT.ckpt ("" = none)
 *   resume: false               continue from the checkpoint if present
 *   rules: rules.yaml           optional, stored in the model (pretrain:
 *                               masks the raw lines; default built-in)
 *   init: encoder.lrm           start from this model's encoder (bert.*)
 *   max_len: 128                tokens incl. [CLS] [SEP]
 *   epochs: 5    batch: 32      patience: 2 (early stopping on val loss)
 *   lr: 5e-4     lr_head: (lr)  weight_decay: 0.01  warmup: 0.1  clip: 1.0
 *   dropout: 0.1                hidden, attention and head dropout
 *   split: random | chronological      valid_fraction: 0.1    seed: 42
 *   threads: 0 (all cores)
 *   class_weights: balanced | [w0, w1, ...]    label_smoothing: 0
 *   focal_gamma: 0              freeze_encoder: false
 *   label_spread: 0             ordinal smoothing (sigma, in classes; 0: uniform)
 *   expected_weight: 0          weight of (expected class - label)^2 in the loss
 *   valid_data: FILE            validate on this file's examples (all of data trains)
 *   hidden: 256  layers: 4  heads: 4  intermediate: 1024  head_hidden: 128
 *   max_positions: 512          init_std: 0.02
 *   head: mlp                   the classifier head (arch.h): mlp or linear
 *                               (pooler_linear has no training graph)
 *
 * train and pretrain share their setup (lr__train_setup_begin, then the
 * data, then lr__train_setup_model): the config with its defaults and
 * checks, the tokenizer, the split, the pool, and the model built from the
 * config, initialised and, with `init`, started from an encoder.
 */
#ifndef LR_TRAIN_H
#define LR_TRAIN_H

#include <stdint.h>

#include "arch.h"
#include "logrisk.h"
#include "train_bert.h"
#include "train_data.h"
#include "util.h" /* LR_PRINTF */

typedef struct lr__train_config {
    char *data, *vocab, *output, *metrics, *checkpoint, *rules, *init;
    char *input_format;    /* the texts of data: raw (NULL) or a log format */
    char *valid_data;      /* validation examples (NULL: a split of data)   */
    int resume;
    int max_len, epochs, batch, patience, threads;
    double lr, lr_head, weight_decay, warmup, clip, dropout;
    int chronological;
    double valid_fraction;
    uint64_t seed;
    int balanced;          /* class_weights: balanced  */
    double *class_weights; /* explicit list, or NULL   */
    int n_class_weights;
    double label_smoothing, focal_gamma, label_spread, expected_weight;
    int freeze_encoder;
    int hidden, layers, heads, intermediate, head_hidden, max_positions;
    double init_std;
    lr__head_type head;
} lr__train_config;

/* Defaults (see above); strings NULL. */
void lr__train_config_defaults(lr__train_config *c);
/* Parse a YAML file over the defaults. Errors name file:line:column. */
int lr__train_config_load(lr__train_config *c, const char *path, lr_error *err);
/* The same from text in memory (source_name for messages). */
int lr__train_config_parse(lr__train_config *c, const char *yaml, size_t len,
                           const char *source_name, lr_error *err);
void lr__train_config_free(lr__train_config *c);

/* Shared by train and pretrain: read a whole regular file (config,
 * vocabulary, rules: NUL-terminated, caller frees), at most
 * LR__TRAIN_MAX_TEXT_BYTES. */
#define LR__TRAIN_MAX_TEXT_BYTES (64u << 20)
int lr__train_read_file(const char *path, char **out, size_t *len, lr_error *err);

/* ------------------------------------------------- the shared setup */

/* What train and pretrain build before their epochs; owned by the setup. */
typedef struct lr__train_setup {
    lr__train_config c;
    char *vocab_text;
    size_t vocab_len;
    lr_tok *tok;
    lr__train_data d;      /* loaded by the caller between the two steps */
    int *tr, *va, ntr, nva; /* the split */
    int n_tail_valid;       /* > 0: the last n_tail_valid examples of d are
                               the validation set (valid_data), not a split */
    lr_pool *pool;
    lr__bert_config cfg;
    lr__bert_train m;
} lr__train_setup;

/* Load the config at config_path (`out_path`, when not NULL, overrides its
 * output, which defaults to default_output), check that data and vocab are
 * given and that max_len fits max_positions, default the metrics path to
 * OUTPUT.metrics.json, read the vocabulary and make the tokenizer. The
 * setup is initialised first, so lr__train_setup_free is always safe. */
int lr__train_setup_begin(lr__train_setup *s, const char *config_path, const char *out_path,
                          const char *default_output, lr_error *err);
/* With s->d loaded: split it, make the pool, the model config (vocabulary
 * size, n_labels classes, the config's sizes and head) and the training
 * model for batches of c.batch x c.max_len (flags: lr__bert_train_init's),
 * dropout from the config, weights initialised from the seed and, with
 * `init`, the encoder copied from that model file. */
int lr__train_setup_model(lr__train_setup *s, int n_labels, unsigned flags, lr_error *err);
void lr__train_setup_free(lr__train_setup *s);

/* A formatted line to the run's log callback (nothing when log is NULL). */
void lr__train_log(lr_train_log_fn log, void *user, const char *fmt, ...) LR_PRINTF(3, 4);

#endif /* LR_TRAIN_H */
