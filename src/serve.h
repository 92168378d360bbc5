/*
 * serve.h — internals of `logrisk serve`, the HTTP scoring API, shared by
 * its files and their tests:
 *
 *   serve_frame.c    request bodies: framing detection (NDJSON, a JSON
 *                    array, text lines), validation naming the bad record,
 *                    the records as lines for the record layer; /predict
 *                    inputs; no HTTP and no model (the fuzz target's path);
 *   serve_records.c  a body's lines through the record layer into a scorer
 *                    (lr_scorer_score_text and the batcher's push);
 *   serve_queue.c    the bounded job queue and the batcher thread that
 *                    scores the jobs of every waiting request together;
 *   serve_metrics.c  counters, histograms, the Prometheus text;
 *   serve.c          the HTTP side (libevent's evhttp): routes, limits,
 *                    connections, replies, SIGTERM drain.
 *
 * The public API (lr_serve_*, lr_scorer_score_text) is in logrisk.h,
 * "serving" section; docs/serving.md describes the endpoints.
 */
#ifndef LR_SERVE_H
#define LR_SERVE_H

#include <pthread.h>

#include "logrisk.h"
#include "util.h"

/* ------------------------------------------------------------ framing */

typedef enum lr__serve_framing {
    LR_SERVE_NDJSON = 0, /* one JSON object per line; answered as NDJSON      */
    LR_SERVE_ARRAY,      /* a JSON array of objects; answered as a JSON array */
    LR_SERVE_TEXT        /* plain log lines; answered as NDJSON               */
} lr__serve_framing;

/* A request body made ready for the record layer: `text` holds its records
 * one per line (JSON records compacted to one line each), so that the
 * record layer reads them as `score` reads a file of the same lines. */
typedef struct lr__serve_body {
    lr__serve_framing framing;
    lr__buf text;
    size_t n_lines;    /* lines of text                         */
    size_t *line_off;  /* n_lines + 1 line starts (last: end)   */
} lr__serve_body;

void lr__serve_body_init(lr__serve_body *b);
void lr__serve_body_free(lr__serve_body *b);

/* The framing a Content-Type names (NULL or unknown: sniffed from the body:
 * '[' a JSON array, '{' NDJSON, else text). application/json is an array
 * when the body starts with '[' and NDJSON otherwise (Fluent Bit's
 * json_lines has been sent with that type). */
lr__serve_framing lr__serve_detect(const char *content_type, const char *body, size_t len);

/* Frame `body` as `content_type` says into out (initialised by the
 * caller): LR_EPARSE with "record N: ..." (N 1-based) for a malformed
 * body, LR_ENOMEM. Bounded: out is at most about the body's size. */
int lr__serve_frame(const char *content_type, const char *body, size_t len, lr__serve_body *out, lr_error *err);

/* /predict: {"inputs": "text"} or {"inputs": ["a", ...]}; the inputs go
 * into out->text one per line ('\n' and '\r' inside an input become
 * spaces), *batch says whether inputs was an array. LR_EPARSE, LR_ENOMEM. */
int lr__serve_predict_inputs(const char *body, size_t len, lr__serve_body *out, int *batch, lr_error *err);

/* ------------------------------------------------------------ records */

/* Push every event of body->text through the record layer (records,
 * events: auto format, multi-line groups) into s, each with its record
 * (the lines it came from) and `meta`. count(user, 1) is called before
 * each push and count(user, -1) after a push that was refused before it
 * was queued (the batcher numbers the events with it). */
int lr__serve_push_body(lr_scorer *s, const lr__serve_body *body, const lr_score_text_opts *o,
                        void (*count)(void *user, int delta), void *user, lr_error *err);

/* --------------------------------------------------------- metrics */

#define LR_SERVE_N_ROUTES 6 /* score, predict, health, model, metrics, other */
#define LR_SERVE_N_BUCKETS 12

typedef struct lr__serve_metrics {
    uint64_t codes[LR_SERVE_N_ROUTES][8];    /* 200 400 404 405 413 429 500 503 */
    uint64_t lat_buckets[LR_SERVE_N_ROUTES][LR_SERVE_N_BUCKETS];
    uint64_t lat_count[LR_SERVE_N_ROUTES];
    double lat_sum[LR_SERVE_N_ROUTES];
    uint64_t records;
    uint64_t rounds, round_records;           /* batcher rounds and their records */
    uint64_t round_buckets[LR_SERVE_N_BUCKETS];
    uint64_t batches, batch_lines;            /* model calls and their lines */
    uint64_t cache_hits, cache_lookups;
    uint64_t queue_records, queue_requests;   /* gauges */
    uint64_t in_flight;                       /* gauge: accepted, not yet answered */
    uint64_t connections, rejected_connections;
} lr__serve_metrics;

extern const char *const lr__serve_route_names[LR_SERVE_N_ROUTES];
/* Count one answered request (route index, HTTP code, seconds it took). */
void lr__serve_metrics_request(lr__serve_metrics *m, int route, int code, double seconds);
/* Count only its code: for an answer whose request's arrival is unknown
 * (those evhttp gives itself). */
void lr__serve_metrics_code(lr__serve_metrics *m, int route, int code);
/* Count one batcher round of n records. */
void lr__serve_metrics_round(lr__serve_metrics *m, uint64_t n);
/* The Prometheus text exposition (format 0.0.4) of m and the model. */
int lr__serve_metrics_text(const lr__serve_metrics *m, const lr_model *model, const char *model_name, int loaded,
                           lr__buf *out);

/* ----------------------------------------------------------- queue */

typedef enum lr__job_kind { LR_JOB_SCORE, LR_JOB_PREDICT } lr__job_kind;

typedef struct lr__job {
    struct lr__job *next;   /* queue, round, done list */
    lr__job_kind kind;
    lr__serve_body body;
    int batch;              /* predict: inputs was an array */
    lr_rec_format format;   /* score: the records' format (?format=; auto) */
    uint64_t first_seq, n_pushed, n_done;
    int code;               /* HTTP status when done (200, 500) */
    lr__buf out;            /* the response body */
    lr_error err;
    void *req;              /* the HTTP request (serve.c) */
    int route;
    double t_start;
} lr__job;

typedef struct lr__serve_queue lr__serve_queue;

/* notify(user) is called from the batcher thread whenever jobs are done. */
lr__serve_queue *lr__serve_queue_new(lr_scorer *scorer, const lr_model *model, size_t max_records,
                                     void (*notify)(void *user), void *user, lr_error *err);
/* Stop the batcher after the queued jobs are done; join it; free. */
void lr__serve_queue_free(lr__serve_queue *q);
/* Queue a job (its weight: body.n_lines records). 0, or 1 when the queue
 * is full (the caller answers 429; the job stays the caller's). */
int lr__serve_queue_push(lr__serve_queue *q, lr__job *job);
/* The jobs done so far, in completion order (the caller frees them). */
lr__job *lr__serve_queue_take_done(lr__serve_queue *q);
/* Copy the batcher's counters into m (queue depth, batches, cache). */
void lr__serve_queue_stats(lr__serve_queue *q, lr__serve_metrics *m);
void lr__serve_job_free(lr__job *job);

#endif /* LR_SERVE_H */
