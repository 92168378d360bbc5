/*
 * train_loop.h — the trainer's inner loops: one epoch of optimisation over
 * shuffled padded batches with the warm-up/decay schedule, and evaluation
 * into lr__metrics. The outer loop (epochs, early stopping, checkpoints,
 * the YAML config and the CLI) builds on these.
 *
 * Token id 0 is [PAD] (as in every logrisk and Hugging Face BERT
 * vocabulary): batches are padded with it and its embedding row gets no
 * gradient.
 */
#ifndef LR_TRAIN_LOOP_H
#define LR_TRAIN_LOOP_H

#include <stdint.h>

#include "train_bert.h"
#include "train_data.h"

/* Progress of a run, reported through the run's log callback as lines that
 * start with "progress: " (step, loss, tokens/s, ETA), at most one a
 * second; the CLI overwrites them in place on a terminal and thins them out
 * otherwise. */
typedef struct lr__progress {
    lr_train_log_fn log;
    void *user;
    int epoch, epochs;    /* 1-based epoch being run, of `epochs`          */
    long first_step;      /* the step the timing started at                */
    long total_steps;
    double t_start, t_last;
    double tokens;        /* real (non-pad) tokens trained since t_start   */
} lr__progress;

void lr__progress_init(lr__progress *p, lr_train_log_fn log, void *user, int epochs,
                       long step, long total_steps);
/* After optimiser step `step` (already counted) with this loss and n_tokens. */
void lr__progress_step(lr__progress *p, long step, double loss, int n_tokens);
/* Count the real (mask != 0) tokens of a padded batch of n x L. */
int lr__count_tokens(const int *mask, int n, int L);

typedef struct lr__train_opts {
    int batch;               /* examples per step (32)                       */
    double lr_encoder;       /* peak learning rates per group (0 = frozen)   */
    double lr_head;
    double weight_decay;     /* 0.01, not on biases and LayerNorm            */
    double clip;             /* global gradient norm (1.0; <= 0: none)       */
    lr__xent_opts loss;      /* class weights, label smoothing, focal gamma  */
    uint64_t seed;           /* shuffling and dropout                        */
    lr__progress *progress;  /* optional: step-by-step progress lines        */
} lr__train_opts;

/* Defaults of a fine-tuning run: batch 32, lr 3e-5 for both groups, wd 0.01, clip 1. */
lr__train_opts lr__train_opts_defaults(void);

typedef struct lr__train_state {
    long step;          /* optimiser steps taken                  */
    long total_steps;   /* of the whole run (for the schedule)     */
    long warmup_steps;  /* linear warm-up length                   */
    uint64_t rng;       /* shuffling state, advanced every epoch   */
} lr__train_state;

/* Start a run of `epochs` over n_train examples with warm-up over
 * warmup_fraction of all steps (HF's int(fraction * total)). */
void lr__train_state_init(lr__train_state *st, int n_train, int epochs, int batch,
                          double warmup_fraction, uint64_t seed);

/* One epoch: shuffle train_idx (a copy), then one step per batch (the last
 * may be smaller) with lr = peak * lr__lr_schedule(step, warmup, total).
 * *mean_loss (optional) receives the mean training loss of the epoch.
 * m must have been planned for opts->batch x the longest example. */
int lr__train_epoch(lr__bert_train *m, const lr__train_data *d, const int *train_idx,
                    int n_train, const lr__train_opts *opts, lr__train_state *st,
                    double *mean_loss, lr_error *err);

/* Evaluate examples idx[0..n) in eval mode (no dropout) in batches of
 * `batch`: each example's prediction (argmax) and plain cross-entropy go
 * into `metrics` (reset first, finished at the end). */
int lr__train_evaluate(lr__bert_train *m, const lr__train_data *d, const int *idx, int n,
                       int batch, lr__metrics *metrics, lr_error *err);

#endif /* LR_TRAIN_LOOP_H */
