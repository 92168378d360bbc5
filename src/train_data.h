/*
 * train_data.h — the trainer's data side: labelled examples loaded and
 * tokenized once, the seeded train/validation split, padded batches, and
 * the validation metrics.
 *
 * Input files: JSON Lines (one object a line with a string "text" and a
 * "label" that is an integer or a string; other members are ignored, so
 * `logrisk label` output works as is) or CSV (a ".csv" name; a header row
 * with columns "text" and "label"). Empty lines of a JSONL file are skipped.
 *
 * Classes: when every label is an integer 0..10 (or a string spelling one)
 * the data are risk levels: 11 classes named "0".."10", class i = risk i.
 * Otherwise each distinct label string is a class, in byte order of the
 * names, so the same data always give the same class numbering.
 *
 * Metrics follow scikit-learn: accuracy; macro-F1 as the mean of per-class
 * F1 over the classes that occur in the truth or in the predictions
 * (F1 = 0 when precision + recall = 0); for risk data the high-risk set
 * (label >= 7) as a binary problem: precision and recall of "predicted
 * >= 7" against "true >= 7" (0 when undefined).
 */
#ifndef LR_TRAIN_DATA_H
#define LR_TRAIN_DATA_H

#include <stdint.h>

#include "logrisk.h"
#include "util.h"

#define LR_RISK_CLASSES 11
#define LR_HIGH_RISK 7

typedef struct lr__train_data {
    int n;                /* examples                                   */
    int32_t *ids;         /* every example's token ids, end to end      */
    size_t *start;        /* [n + 1]: example i is ids[start[i], start[i+1]) */
    int *label;           /* [n] class index                            */
    uint64_t *line;       /* [n] input line number (for messages)       */
    int n_classes;
    char **class_names;   /* [n_classes], owned                         */
    int risk;             /* 1 = classes are risk levels 0..10          */
} lr__train_data;

/* Load and tokenize `path` ([CLS] text [SEP], at most max_len tokens).
 * Errors name the file and line: a line that is not a JSON object, a
 * missing or mistyped "text"/"label", a CSV without those columns, an empty
 * file. On failure d is left empty. The caller frees d. */
int lr__train_data_load(lr__train_data *d, const char *path, const lr_tok *tok, int max_len,
                        lr_error *err);
/* The same with each text read as a log in format `fmt` through the
 * records and events readers and encoded as `logrisk score` encodes it
 * (lr_event_encode: canonical rendering, the masks of `rules` (NULL: the
 * built-in seed rules), the window), from its first non-empty event (an
 * empty text: [CLS] [SEP]). LR_REC_RAW: the text as it is, tokenized
 * without masks (lr__train_data_load; `logrisk label` output). */
int lr__train_data_load_events(lr__train_data *d, const char *path, const lr_tok *tok, int max_len,
                               lr_rec_format fmt, const lr_rules *rules, lr_error *err);
void lr__train_data_free(lr__train_data *d);
/* Append v's examples to d (v stays the caller's): both must have the same
 * classes, else LR_EINVAL naming `what`. On failure d is unchanged or
 * larger in capacity only. */
int lr__train_data_append(lr__train_data *d, const lr__train_data *v, const char *what, lr_error *err);

/* Unlabelled raw log lines for pre-training: every non-empty line of
 * `path` is masked with `rules` (lr_prep_line) and tokenized; all labels
 * are 0 and there is one class. */
int lr__train_data_load_lines(lr__train_data *d, const char *path, const lr_tok *tok,
                              const lr_rules *rules, int max_len, lr_error *err);
/* The same for a log in format `fmt` (LR_REC_RAW: lines): every event's
 * canonical rendering (multi-line groups joined), masked and tokenized. */
int lr__train_data_load_log(lr__train_data *d, const char *path, const lr_tok *tok, const lr_rules *rules,
                            int max_len, lr_rec_format fmt, lr_error *err);
/* The config's input_format (NULL: raw) as a format; LR_EINVAL with a
 * one-line message for csv or an unknown name. */
int lr__train_input_format(const char *name, lr_rec_format *fmt, lr_error *err);

/* Split n examples into train and validation index lists (allocated, the
 * caller frees both). valid_fraction in [0, 1): n_valid = round(n * f),
 * at least 1 when f > 0 and n >= 2. Chronological: validation is the last
 * n_valid examples in input order; else a seeded random permutation (the
 * same seed gives the same split). Both lists are sorted ascending. */
int lr__train_split(int n, double valid_fraction, int chronological, uint64_t seed,
                    int **train_idx, int *n_train, int **valid_idx, int *n_valid,
                    lr_error *err);
/* The same with the validation count given: 0 <= nv < n (else LR_EINVAL).
 * Chronological with nv = the size of an appended validation file
 * validates on exactly that file (train's valid_data). */
int lr__train_split_count(int n, int nv, int chronological, uint64_t seed, int **train_idx, int *n_train,
                          int **valid_idx, int *n_valid, lr_error *err);

/* Fisher-Yates shuffle of idx[n] with the splitmix64 state *rng. */
void lr__train_shuffle(int *idx, int n, uint64_t *rng);

/* One padded batch from examples idx[0..n): ids and mask [n * L] (pad_id
 * and 0 after each example), labels [n]; *L_out = the longest example.
 * The caller's arrays hold n * max_len ints. */
void lr__train_batch(const lr__train_data *d, const int *idx, int n, int pad_id, int *ids,
                     int *mask, int *labels, int *L_out);

/* Masked-LM corruption of one padded batch, like Hugging Face's
 * DataCollatorForLanguageModeling: every real token (mask != 0) other than
 * cls_id / sep_id is selected with probability `prob` (0.15); a selected
 * token becomes mask_id with probability 0.8, a uniformly random id in
 * [0, vocab_size) with 0.1, and stays with 0.1. targets[i] = the original id
 * at selected positions, -1 elsewhere. At most max_masked positions are
 * selected (later ones are dropped); when none was selected and an eligible
 * position exists, one is chosen uniformly so every batch has a target.
 * ids are changed in place; *rng is a splitmix64 state. Returns the count. */
int lr__mlm_mask(int *ids, const int *mask, int n, int vocab_size, int mask_id, int cls_id,
                 int sep_id, double prob, int max_masked, uint64_t *rng, int *targets);

typedef struct lr__metrics {
    int n_classes;
    int risk;
    long *confusion;   /* [C * C]: row = truth, column = prediction */
    long n;
    double loss_sum;   /* sum of per-example losses added            */
    /* filled by lr__metrics_finish */
    double loss, accuracy, macro_f1, hr_precision, hr_recall;
} lr__metrics;

int lr__metrics_init(lr__metrics *m, int n_classes, int risk, lr_error *err);
void lr__metrics_free(lr__metrics *m);
void lr__metrics_reset(lr__metrics *m);
/* Count one example (truth and prediction are class indices). */
void lr__metrics_add(lr__metrics *m, int truth, int pred, double loss);
void lr__metrics_finish(lr__metrics *m);
/* Append the metrics as one JSON object (class names for the confusion
 * matrix labels; NULL = indices). */
int lr__metrics_json(const lr__metrics *m, char *const *class_names, lr__buf *out);

#endif /* LR_TRAIN_DATA_H */
