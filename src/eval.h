/*
 * eval.h — agreement of risk scores with judged labels (`logrisk eval`).
 * The gold file format and every metric are described at the top of eval.c.
 */
#ifndef LR_EVAL_H
#define LR_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "logrisk.h"

/* One event's outcome: the gold label, the score used for ranking and
 * error (the model's risk_score; the rules' label), the predicted label,
 * and the predicted label's probability (-1 when there is none). */
typedef struct lr_eval_item {
    double gold, score;
    int label;
    double confidence;
} lr_eval_item;

typedef struct lr_eval_metrics {
    int n, n_pos; /* events; events with gold >= 7 */
    double spearman, kendall, auc, mae, exact, within_one, precision, recall, ece;
} lr_eval_metrics;

/* The metrics of items[0..n) into *m (undefined figures are NaN). 0 or
 * LR_ENOMEM. */
int lr_eval_compute(const lr_eval_item *items, int n, lr_eval_metrics *m);

/* A judged event of a gold file. */
typedef struct lr_eval_event {
    char *text;        /* the event's text (may hold '\n')        */
    size_t text_len;
    char *group;       /* the value of the grouping member, "all" */
    int gold;          /* 0..10                                    */
    uint64_t line;     /* its line in the gold file                */
} lr_eval_event;

typedef struct lr_eval_gold {
    lr_eval_event *events;
    int n, cap;
} lr_eval_gold;

/* Read a gold file: the events whose "split" is `split` (NULL: all),
 * grouped by the string member `by` (NULL or missing: "all"). Errors name
 * the file and line. The caller frees *g with lr_eval_gold_free. */
int lr_eval_gold_load(const char *path, const char *split, const char *by, lr_eval_gold *g, lr_error *err);
void lr_eval_gold_free(lr_eval_gold *g);

/* Score every gold event with the model (scorer options in *opts: threads,
 * batch, ...) into model_out[i] (score, label, confidence) and, when
 * logits_out is not NULL, its logits into logits_out[i * n_labels ...];
 * when rules is not NULL, label it with the rules into rules_out[i]. Texts
 * go through the records and events layers as `logrisk score` reads a
 * file. */
int lr_eval_score(const lr_model *model, const lr_score_opts *opts, const lr_rules *rules,
                  const lr_eval_gold *g, lr_eval_item *model_out, lr_eval_item *rules_out, float *logits_out,
                  lr_error *err);

/* The temperature T that minimises the mean negative log-likelihood of the
 * gold labels under softmax(logits / T) (n rows of C logits), searched in
 * [0.05, 20]; the NLL at T = 1 and at T into *nll_before / *nll_after (may
 * be NULL). */
double lr_eval_fit_temperature(const float *logits, const int *gold, int n, int C, double *nll_before,
                               double *nll_after);

/* Temperature scaling: score g with the model at model_path (NULL: the
 * built-in one), fit T (lr_eval_fit_temperature), write the calibrated copy
 * to out_path (lr_model_calibrate) and score g again with it. */
typedef struct lr_eval_calibration {
    int n;
    double temperature, nll_before, nll_after, ece_before, ece_after;
} lr_eval_calibration;
int lr_eval_calibrate(const char *model_path, const lr_score_opts *opts, const lr_eval_gold *g,
                      const char *out_path, lr_eval_calibration *out, lr_error *err);

/* The wrapper spread: every gold event's canonical event written in each
 * wrapper logrisk reads (klog, logfmt, zap / logrus / slog JSON, RFC 5424
 * syslog, log4j, CRI and Docker around JSON, plain text) and scored; per
 * event the largest minus the smallest risk_score. */
typedef struct lr_eval_spread {
    int n, n_wrappers;
    double mean, max;
    double *per_event; /* g->n spreads, NAN where fewer than two wrappers
                          carry the event; freed by lr_eval_spread_free */
} lr_eval_spread;
int lr_eval_wrappers(const lr_model *model, const lr_score_opts *opts, const lr_eval_gold *g,
                     lr_eval_spread *out, lr_error *err);
void lr_eval_spread_free(lr_eval_spread *s);

/* The report: overall and per-group figures of the model and (when
 * rules_items is not NULL) the rules side by side, as a table for people
 * or one JSON object. `names` labels the two sides. */
typedef struct lr_eval_report_opts {
    int json;
    const char *model_name, *rules_name;
    const lr_eval_spread *spread; /* may be NULL */
} lr_eval_report_opts;
int lr_eval_report(FILE *out, const lr_eval_gold *g, const lr_eval_item *model_items,
                   const lr_eval_item *rules_items, const lr_eval_report_opts *opts, lr_error *err);

/* One JSON object per gold event: its gold file line, group, gold label,
 * the model's risk_score, risk_label and that label's probability, and
 * (rules_items not NULL) the rules' label, (logits not NULL, g->n rows of
 * n_labels) the model's logits, before the model's temperature, and
 * (spread not NULL) the event's wrapper spread (null where not measured). */
int lr_eval_write_details(FILE *out, const lr_eval_gold *g, const lr_eval_item *model_items,
                          const lr_eval_item *rules_items, const float *logits, int n_labels,
                          const lr_eval_spread *spread, lr_error *err);

#endif /* LR_EVAL_H */
