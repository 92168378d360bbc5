/*
 * serve_queue.c — dynamic batching for `logrisk serve`: a bounded queue of
 * jobs (one per request) and one batcher thread that scores the records of
 * every waiting job together on the shared model and pool.
 *
 * Design
 *  - The event loop frames a request (serve_frame.c) and queues it as a
 *    job weighted by its records (lines). The queue holds at most
 *    max_records records: a job that does not fit is refused (429) unless
 *    the queue is empty, so one request up to the body limit always gets
 *    in. Jobs never wait behind a full window: the batcher takes ALL the
 *    waiting jobs at once (a "round"), pushes their events into the one
 *    scorer (which sorts them by length and cuts model calls at `batch`
 *    lines or max_batch_tokens tokens, like TEI's max-batch-tokens) and
 *    flushes. Requests that arrive during a round form the next round, so
 *    under load rounds grow and batches fill; alone, a request is scored at
 *    once.
 *  - Results come back from the scorer in push order; each pushed event
 *    gets the next sequence number and each job knows its first number and
 *    count, so the sink appends a result to exactly the job it belongs to:
 *    no record of one request can land in another's response.
 *  - The sink renders straight into the job's response body (the enriched
 *    JSON of score_write.c, or /predict's label list), so a finished job
 *    needs no more work; done jobs go to a list the event loop takes after
 *    notify() (a pipe write in serve.c). The scorer, its cache and the model
 *    context are used by the batcher thread only.
 */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#include "score.h"

struct lr__serve_queue {
    lr_scorer *scorer;       /* borrowed; batcher thread only */
    const lr_model *model;
    size_t max_records;
    void (*notify)(void *user);
    void *user;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started, stopping;
    lr__job *head, *tail;    /* waiting */
    size_t q_records, q_requests;
    lr__job *done, *done_tail;
    lr__serve_metrics stats; /* the batcher's counters (under mu) */

    /* the round being scored (batcher thread) */
    lr__job *round;
    lr__job *cur;            /* the job the next result belongs to */
    lr__job *pushing;
    uint64_t seq, delivered;
    int *order;              /* predict: label order scratch */
};

void lr__serve_job_free(lr__job *job) {
    if (!job) return;
    lr__serve_body_free(&job->body);
    lr__buf_free(&job->out);
    lr__free(job);
}

/* /predict: one input's labels by descending probability, TEI's shape. */
static int put_predict(lr__serve_queue *q, lr__job *job, const lr_score_result *r) {
    lr__buf *b = &job->out;
    int n = r->n_labels;
    for (int i = 0; i < n; i++) q->order[i] = i;
    /* insertion sort: descending p, ties by index */
    for (int i = 1; i < n; i++) {
        int v = q->order[i], j = i;
        while (j > 0 && r->probs[q->order[j - 1]] < r->probs[v]) {
            q->order[j] = q->order[j - 1];
            j--;
        }
        q->order[j] = v;
    }
    int rc = 0;
    if (job->batch && job->n_done > 0) rc = lr__buf_putc(b, ',');
    rc = rc ? rc : lr__buf_putc(b, '[');
    for (int k = 0; k < n && !rc; k++) {
        size_t len = 0;
        const char *name = lr_model_label(q->model, q->order[k], &len);
        rc = lr__buf_puts(b, k ? ",{\"label\":" : "{\"label\":");
        rc = rc ? rc : lr__buf_put_json_string(b, name ? name : "", name ? len : 0);
        rc = rc ? rc : lr__buf_puts(b, ",\"score\":");
        rc = rc ? rc : lr__buf_put_json_float(b, r->probs[q->order[k]]);
        rc = rc ? rc : lr__buf_putc(b, '}');
    }
    return rc ? rc : lr__buf_putc(b, ']');
}

static int sink(void *user, const lr_score_result *r, lr_error *err) {
    lr__serve_queue *q = user;
    uint64_t seq = q->delivered++;
    while (q->cur && seq >= q->cur->first_seq + q->cur->n_pushed) q->cur = q->cur->next;
    lr__job *job = q->cur;
    if (!job) return lr__err(err, LR_ERANGE, "a result with no request (internal error)");
    int rc;
    if (job->kind == LR_JOB_PREDICT) {
        rc = put_predict(q, job, r);
    } else {
        if (job->body.framing == LR_SERVE_ARRAY && job->n_done > 0 && lr__buf_putc(&job->out, ','))
            return lr__err(err, LR_ENOMEM, "out of memory");
        rc = lr__score_put(q->scorer, &job->out, r, LR_SCORE_ENRICH);
        /* a JSON array's elements: no '\n' after each */
        if (!rc && job->body.framing == LR_SERVE_ARRAY && job->out.len) job->out.len--;
    }
    if (rc) return lr__err(err, LR_ENOMEM, "out of memory rendering a result");
    job->n_done++;
    return 0;
}

static void count_push(void *user, int delta) {
    lr__serve_queue *q = user;
    q->pushing->n_pushed += (uint64_t)(int64_t)delta;
    q->seq += (uint64_t)(int64_t)delta;
}

/* Push one job's records; its error (if any) is kept in the job. */
static void push_job(lr__serve_queue *q, lr__job *job) {
    job->first_seq = q->seq;
    job->n_pushed = 0;
    q->pushing = job;
    int rc;
    if (job->kind == LR_JOB_PREDICT) {
        rc = 0;
        const char *t = job->body.text.data;
        for (size_t i = 0; i < job->body.n_lines && !rc; i++) {
            size_t a = job->body.line_off[i], b = job->body.line_off[i + 1];
            if (b > a && t[b - 1] == '\n') b--;
            int pending = q->scorer->n_pending;
            count_push(q, 1);
            rc = lr_scorer_push_record(q->scorer, t + a, b - a, i + 1, 0, &job->err);
            if (rc && q->scorer->n_pending == pending && pending + 1 != q->scorer->window_lines) count_push(q, -1);
        }
    } else {
        lr_score_text_opts to;
        lr_score_text_opts_init(&to);
        to.format = job->format;
        rc = lr__serve_push_body(q->scorer, &job->body, &to, count_push, q, &job->err);
    }
    if (rc) job->code = 500;
}

static void *batcher(void *arg) {
    lr__serve_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
        if (!q->head) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        /* a round: every waiting job */
        lr__job *round = q->head;
        size_t records = q->q_records;
        q->head = q->tail = NULL;
        q->q_records = q->q_requests = 0;
        pthread_mutex_unlock(&q->mu);

        q->round = q->cur = round;
        for (lr__job *j = round; j; j = j->next) {
            j->code = 200;
            push_job(q, j);
        }
        lr_error ferr = {0, ""};
        if (lr_scorer_flush(q->scorer, &ferr) != 0) {
            for (lr__job *j = round; j; j = j->next)
                if (j->code == 200) {
                    j->code = 500;
                    j->err = ferr;
                }
        }
        for (lr__job *j = round; j; j = j->next)
            if (j->code == 200 && j->n_done != j->n_pushed) {
                j->code = 500;
                lr__err(&j->err, LR_ERANGE, "%llu of %llu results (internal error)", (unsigned long long)j->n_done,
                        (unsigned long long)j->n_pushed);
            }
        /* counters and the done list */
        uint64_t hits = 0, lookups = 0, batches = 0, lines = 0, scored = 0;
        lr_scorer_cache_stats(q->scorer, &hits, &lookups, NULL);
        lr_scorer_batch_stats(q->scorer, &batches, &lines);
        for (lr__job *j = round; j; j = j->next) scored += j->n_done;
        (void)records;
        pthread_mutex_lock(&q->mu);
        q->stats.cache_hits = hits;
        q->stats.cache_lookups = lookups;
        q->stats.batches = batches;
        q->stats.batch_lines = lines;
        q->stats.records += scored;
        lr__serve_metrics_round(&q->stats, scored);
        lr__job *last = round;
        while (last->next) last = last->next;
        if (q->done_tail) q->done_tail->next = round;
        else q->done = round;
        q->done_tail = last;
        pthread_mutex_unlock(&q->mu);
        q->round = q->cur = q->pushing = NULL;
        q->notify(q->user);
    }
    return NULL;
}

lr__serve_queue *lr__serve_queue_new(lr_scorer *scorer, const lr_model *model, size_t max_records,
                                     void (*notify)(void *user), void *user, lr_error *err) {
    lr__serve_queue *q = lr__calloc(1, sizeof *q);
    if (!q) {
        lr__err(err, LR_ENOMEM, "out of memory for the request queue");
        return NULL;
    }
    q->scorer = scorer;
    q->model = model;
    q->max_records = max_records;
    q->notify = notify;
    q->user = user;
    q->order = lr__alloc_array((size_t)lr_model_n_labels(model), sizeof *q->order);
    if (!q->order) {
        lr__free(q);
        lr__err(err, LR_ENOMEM, "out of memory for the request queue");
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    lr_scorer_set_sink(scorer, sink, q);
    if (pthread_create(&q->thread, NULL, batcher, q) != 0) {
        lr__err(err, LR_ENOMEM, "cannot start the batcher thread");
        lr__serve_queue_free(q);
        return NULL;
    }
    q->started = 1;
    return q;
}

void lr__serve_queue_free(lr__serve_queue *q) {
    if (!q) return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        q->stopping = 1;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->thread, NULL);
    }
    for (lr__job *j = q->head, *n; j; j = n) {
        n = j->next;
        lr__serve_job_free(j);
    }
    for (lr__job *j = q->done, *n; j; j = n) {
        n = j->next;
        lr__serve_job_free(j);
    }
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    lr__free(q->order);
    lr__free(q);
}

int lr__serve_queue_push(lr__serve_queue *q, lr__job *job) {
    size_t w = job->body.n_lines;
    pthread_mutex_lock(&q->mu);
    if (q->head && q->q_records + w > q->max_records) {
        pthread_mutex_unlock(&q->mu);
        return 1;
    }
    job->next = NULL;
    if (q->tail) q->tail->next = job;
    else q->head = job;
    q->tail = job;
    q->q_records += w;
    q->q_requests++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

lr__job *lr__serve_queue_take_done(lr__serve_queue *q) {
    pthread_mutex_lock(&q->mu);
    lr__job *d = q->done;
    q->done = q->done_tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return d;
}

void lr__serve_queue_stats(lr__serve_queue *q, lr__serve_metrics *m) {
    pthread_mutex_lock(&q->mu);
    m->records = q->stats.records;
    m->rounds = q->stats.rounds;
    m->round_records = q->stats.round_records;
    memcpy(m->round_buckets, q->stats.round_buckets, sizeof m->round_buckets);
    m->batches = q->stats.batches;
    m->batch_lines = q->stats.batch_lines;
    m->cache_hits = q->stats.cache_hits;
    m->cache_lookups = q->stats.cache_lookups;
    m->queue_records = q->q_records;
    m->queue_requests = q->q_requests;
    pthread_mutex_unlock(&q->mu);
}
