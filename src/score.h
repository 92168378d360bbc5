/*
 * score.h — internals of the scoring pipeline, shared by its three files
 * and its tests:
 *
 *   score.c        the scorer: options, the batching window, the LRU cache,
 *                  push / flush, counters;
 *   score_write.c  the writers: compact JSON lines, enriched JSON (the
 *                  record plus its risk), CSV, and the result -> JSON
 *                  renderer of the public API;
 *   score_run.c    the stream driver: lr_scorer_run, lr_scorer_run_records
 *                  and the follow loop.
 *
 * The public API (lr_scorer_*) is in include/logrisk.h, "scoring" section;
 * the design is described at the top of score.c.
 */
#ifndef LR_SCORE_H
#define LR_SCORE_H

#include "logrisk.h"
#include "util.h"

/* Default number of bytes of one raw line that are kept; the rest of a
 * longer line is read and dropped (see the design note in score.c). */
#define LR_SCORE_MAX_LINE_BYTES ((size_t)64 * 1024)

/* An LRU cache entry; prev/next link the recency list, hnext the bucket. */
typedef struct cache_ent {
    uint64_t hash;
    int n;                  /* token count; 0 = free */
    int prev, next, hnext;
} cache_ent;

struct lr_scorer {
    const lr_model *model; /* borrowed */
    lr_rules *own_rules;   /* rules we loaded (NULL when borrowed) */
    lr_prep *prep;
    lr_tok *tok;
    lr_pool *pool;
    int own_pool;          /* 0: opts.pool, borrowed */
    lr_model_ctx *ctx;

    int n_labels;
    int max_len;
    int batch;
    int max_batch_tokens;  /* a model call gets at most this many tokens */
    int window_lines; /* batch * window */
    int with_logits;
    size_t max_line_bytes;
    char **label_json;    /* n_labels pre-rendered JSON values of risk_label */
    size_t *label_json_len;

    /* the window: slot i holds the i-th queued line */
    int n_pending;
    uint64_t *line_no;
    uint64_t *line_end;
    int *n_tokens;
    unsigned char *truncated;
    int32_t *ids; /* window_lines * max_len */
    int *order;          /* slots in (length, arrival) order */
    uint64_t *sort_keys; /* window_lines */
    const int32_t **batch_ids;
    int *batch_lens;
    float *logits; /* window_lines * n_labels */
    float *probs;  /* window_lines * n_labels */

    uint64_t next_line; /* number of the next pushed line (1-based) */
    uint64_t stat_lines, stat_tokens, stat_truncated;
    uint64_t stat_written, stat_hits, stat_lookups;
    uint64_t stat_batches, stat_batch_lines;

    /* output options */
    int echo, top_k, csv_header_done, with_probs;
    lr_score_output output;
    double min_risk;
    int numeric_labels;
    unsigned char *cached; /* window slot answered by the cache (1) or by an
                              earlier slot of the window with the same ids (2) */
    int *dup_of;           /* cached == 2: that slot */
    uint64_t *hashes;      /* window slot token hash */
    lr__buf echo_text;     /* messages of the window (echo, enrich) */
    size_t *echo_off, *echo_len;
    lr__buf rec_text;      /* enrich: records and metadata of the window */
    size_t *rec_off, *rec_len, *meta_off, *meta_len; /* rec_len SIZE_MAX: none */
    lr__buf tmp;           /* UTF-8 repair */
    lr_event_encoder *enc; /* events: rendering, masks, window */
    uint64_t stat_malformed, stat_cut;
    int *top_idx;          /* n_labels */

    /* templates (opts.miner): each slot's assignment */
    lr_miner *miner;       /* borrowed */
    int miner_learn, template_text;
    const char *miner_path;
    uint32_t *tmpl_id;
    unsigned char *tmpl_novel;
    lr__buf tmpl_text;     /* template_text: the texts of the window */
    size_t *tmpl_off, *tmpl_len;
    int64_t year;          /* for event times written without one */
    uint64_t stat_novel, stat_unmatched;
    uint64_t learnt;       /* events learnt since the miner was last saved */

    /* the cache */
    int cache_cap, cache_used, cache_head, cache_tail;
    cache_ent *ents;
    int32_t *cache_ids;     /* cache_cap * max_len */
    float *cache_logits;    /* cache_cap * n_labels */
    int *buckets;           /* n_buckets heads (-1 empty) */
    size_t n_buckets;

    lr_score_sink_fn sink;
    void *sink_user;
    FILE *out;        /* built-in JSON sink */
    lr__buf out_buf;  /* JSON of the current window */
};

/* score_write.c: label names rendered once (lr_scorer_new). */
int lr__score_labels_init(lr_scorer *s, lr_error *err);
/* Append one result in `mode` to b: a JSON object (compact or enrich) and
 * '\n', or a CSV record with CRLF. 0 or LR_ENOMEM. */
int lr__score_put(lr_scorer *s, lr__buf *b, const lr_score_result *r, lr_score_output mode);
/* The CSV header line. */
int lr__score_put_csv_header(lr_scorer *s, lr__buf *b);
/* Write out_buf to the output FILE (LR_EIO with errno's text). */
int lr__score_write_out(lr_scorer *s, lr_error *err);
/* Whether "meta" (JSON object members without braces) is well-formed. */
int lr__score_meta_ok(const char *meta, size_t len);
/* score.c: save the miner to opts.miner_path when it has learnt since the
 * last save (0 when there is nothing to do); the drivers call it at each
 * checkpoint and at the end. */
int lr__score_save_templates(lr_scorer *s, lr_error *err);

#endif /* LR_SCORE_H */
