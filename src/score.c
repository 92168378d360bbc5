/*
 * score.c — the scorer: raw lines or events in, one result per event out,
 * in input order (the batching window, the LRU cache, push / flush). The
 * writers live in score_write.c, the stream driver in score_run.c
 * (score.h lists the three).
 *
 *     line ─► prep (mask) ─► tok (ids) ─► window ─► sort by length ─► batches
 *          ─► lr_model_logits ─► softmax, argmax, median ─► sink
 *
 * Design
 *  - Each pushed line is preprocessed and tokenized at once; only its token
 *    ids (at most max_len int32) are queued, never the raw text, so memory
 *    is bounded by the window size whatever the input looks like.
 *  - A window holds `batch * window` lines (default 32 * 8). When it is full
 *    (or on flush) its lines are ordered by (token count, arrival) and cut
 *    into batches of up to `batch` lines of similar length, which is what
 *    makes short log lines cheap: the model packs the tokens of a batch and
 *    never pads to 128. Results are kept per window slot and handed to the
 *    sink in arrival order, so reordering never shows outside.
 *  - Streaming (--follow, later) is the same machinery with window = 1 and a
 *    caller that calls lr_scorer_flush() when its timer fires; the scorer
 *    itself never blocks, sleeps or reads.
 *  - The sink is a callback receiving one lr_score_result per line; the
 *    built-in sink writes JSON lines to a FILE (lr_scorer_set_output).
 *  - Huge lines: the line reader (lr_io_reader) keeps the first max_line_bytes
 *    (64 KiB by default) of a record and drops the rest. The model sees at
 *    most max_len (128) tokens, and 64 KiB of text gives far more than 126
 *    word pieces unless it is almost all whitespace or control characters,
 *    or masks that collapse long runs (a 64 KiB path becomes one <PATH>);
 *    for such lines only, the tokens after the cut may differ from an
 *    unbounded read. The truncation is reported in lr_score_result.
 *  - Threads: one lr_pool (opts.n_threads) shared by every GEMM of the
 *    forward; preprocessing and tokenizing run on the caller's thread
 *    (they cost ~1% of the model time).
 *
 * Input
 *  - Events: lr_scorer_push_event scores the canonical rendering of an
 *    event (docs/events.md) under its first and last physical line;
 *    lr_scorer_run_records reads records through the events reader
 *    (events.c: formats, multi-line groups), in follow mode too.
 *  - An event's ids come from lr_event_encode (encode.c: the rendering,
 *    the masks and the window rule), the same code `tokenize` uses.
 *  - Cache: a bounded LRU (opts.cache_entries, default 4096) keyed by the
 *    token id sequence (64-bit FNV-1a hash, then a full compare) holding the
 *    logits. A hit is looked up at push time and never reaches the model;
 *    misses are inserted after scoring. Entries are preallocated (max_len
 *    ids + n_labels floats each), so memory is fixed. The model's logits of
 *    a line do not depend on the other lines of its batch, so results are
 *    identical with and without the cache (tested).
 *  - Output options: "message" (echo: the record's message, invalid UTF-8
 *    repaired by lr__utf8_repair), "top" (top_k classes by probability, ties
 *    by class index), min_risk (only lines with risk_label >= N or
 *    risk_score >= N are written), CSV instead of JSON lines.
 *  - Templates (opts.miner): each event's message is masked with the
 *    scorer's rules (lr_miner_event_text) and learnt by the miner (or only
 *    matched) when it is pushed, so ids follow input order whatever the
 *    batching; the slot keeps the id, whether it was novel and (with
 *    template_text) the template's text at that moment. The drivers save
 *    the miner (lr__score_save_templates) at their checkpoints.
 *  - Follow: the run loop never blocks in read(2) (the line reader's follow
 *    mode); it polls the fd with a timeout that ends `interval` after the
 *    oldest queued line arrived, then scores what is queued. A regular file
 *    at EOF is polled every 100 ms (poll(2) says regular files are always
 *    readable). *stop (set by the caller's signal handler) makes the loop
 *    treat the input as ended: everything read so far is scored and written.
 *
 * Label output: when the model's label names are exactly "0", "1", ...,
 * "C-1" (the risk model), risk_label is written as a JSON number; otherwise
 * as the label's name, a JSON string. risk_score is always the median
 * class index (lr_model_outputs; for the risk model: the risk 0..10).
 */
#include "score.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

/* An LRU cache entry; prev/next link the recency list, hnext the bucket. */

/* ------------------------------------------------------------- options */

/* Fill opts with the defaults documented in logrisk.h. */
void lr_score_opts_init(lr_score_opts *opts) {
    memset(opts, 0, sizeof *opts);
    opts->n_threads = 0;
    opts->batch = 32;
    opts->window = 8;
    opts->with_logits = 0;
    opts->max_line_bytes = LR_SCORE_MAX_LINE_BYTES;
    opts->rules = NULL;
    opts->cache_entries = 4096;
    opts->echo = 0;
    opts->top_k = 0;
    opts->min_risk = 0;
    opts->output = LR_SCORE_COMPACT;
    opts->pool = NULL;
    opts->max_batch_tokens = 0;
}

/* --------------------------------------------------------------- cache */

/* Preallocate `cap` entries (0: no cache). Returns 0 or LR_ENOMEM. */
static int cache_init(lr_scorer *s, int cap, lr_error *err) {
    s->cache_cap = cap;
    s->cache_head = s->cache_tail = -1;
    if (cap == 0) return 0;
    size_t nb = 16;
    while (nb < (size_t)cap * 2) nb *= 2;
    s->n_buckets = nb;
    s->ents = lr__alloc_array((size_t)cap, sizeof *s->ents);
    s->cache_ids = lr__alloc_array((size_t)cap * (size_t)s->max_len, sizeof *s->cache_ids);
    s->cache_logits = lr__alloc_array((size_t)cap * (size_t)s->n_labels, sizeof *s->cache_logits);
    s->buckets = lr__alloc_array(nb, sizeof *s->buckets);
    if (!s->ents || !s->cache_ids || !s->cache_logits || !s->buckets)
        return lr__err(err, LR_ENOMEM, "out of memory for a cache of %d entries", cap);
    for (size_t i = 0; i < nb; i++) s->buckets[i] = -1;
    return 0;
}

/* FNV-1a over the ids' bytes (in memory only: byte order does not matter). */
static uint64_t hash_ids(const int32_t *ids, int n) { return lr__fnv1a(ids, (size_t)n * sizeof *ids); }

static void lru_unlink(lr_scorer *s, int e) {
    cache_ent *x = &s->ents[e];
    if (x->prev >= 0) s->ents[x->prev].next = x->next; else s->cache_head = x->next;
    if (x->next >= 0) s->ents[x->next].prev = x->prev; else s->cache_tail = x->prev;
}

static void lru_front(lr_scorer *s, int e) {
    cache_ent *x = &s->ents[e];
    x->prev = -1;
    x->next = s->cache_head;
    if (s->cache_head >= 0) s->ents[s->cache_head].prev = e;
    s->cache_head = e;
    if (s->cache_tail < 0) s->cache_tail = e;
}

/* The entry holding exactly ids[0..n), or -1. */
static int cache_find(lr_scorer *s, uint64_t h, const int32_t *ids, int n) {
    for (int e = s->buckets[h & (s->n_buckets - 1)]; e >= 0; e = s->ents[e].hnext)
        if (s->ents[e].hash == h && s->ents[e].n == n &&
            memcmp(s->cache_ids + (size_t)e * (size_t)s->max_len, ids, (size_t)n * sizeof *ids) == 0)
            return e;
    return -1;
}

/* Insert (ids, logits) unless present; evicts the least recently used. */
static void cache_put(lr_scorer *s, uint64_t h, const int32_t *ids, int n, const float *logits) {
    if (s->cache_cap == 0 || cache_find(s, h, ids, n) >= 0) return;
    int e;
    if (s->cache_used < s->cache_cap) {
        e = s->cache_used++;
    } else {
        e = s->cache_tail;
        lru_unlink(s, e);
        int *pp = &s->buckets[s->ents[e].hash & (s->n_buckets - 1)];
        while (*pp != e) pp = &s->ents[*pp].hnext;
        *pp = s->ents[e].hnext;
    }
    cache_ent *x = &s->ents[e];
    x->hash = h;
    x->n = n;
    memcpy(s->cache_ids + (size_t)e * (size_t)s->max_len, ids, (size_t)n * sizeof *ids);
    memcpy(s->cache_logits + (size_t)e * (size_t)s->n_labels, logits, (size_t)s->n_labels * sizeof *logits);
    size_t b = h & (s->n_buckets - 1);
    x->hnext = s->buckets[b];
    s->buckets[b] = e;
    lru_front(s, e);
}

/* ---------------------------------------------------------- new / free */

/* Create a scorer for `model` (borrowed: it must outlive the scorer).
 * opts may be NULL (defaults). The scorer owns its rules (unless
 * opts->rules is given, which is borrowed), preprocessor, tokenizer,
 * thread pool and model context. NULL and err filled on failure. */
lr_scorer *lr_scorer_new(const lr_model *model, const lr_score_opts *opts, lr_error *err) {
    lr_score_opts def;
    if (!opts) {
        lr_score_opts_init(&def);
        opts = &def;
    }
    if (!model) {
        lr__err(err, LR_EINVAL, "no model given to the scorer");
        return NULL;
    }
    if (opts->batch < 1 || opts->batch > 256) {
        lr__err(err, LR_EINVAL, "batch size %d is out of range 1..256", opts->batch);
        return NULL;
    }
    if (opts->window < 1 || opts->window > 1024 || opts->batch * opts->window > 65536) {
        lr__err(err, LR_EINVAL, "window of %d batches is out of range (1..1024, at most 65536 lines)",
                opts->window);
        return NULL;
    }
    if (opts->max_line_bytes < 1) {
        lr__err(err, LR_EINVAL, "max_line_bytes must be at least 1");
        return NULL;
    }
    lr_scorer *s = lr__calloc(1, sizeof *s);
    if (!s) {
        lr__err(err, LR_ENOMEM, "out of memory for the scorer");
        return NULL;
    }
    s->model = model;
    s->n_labels = lr_model_n_labels(model);
    s->max_len = lr_model_max_len(model);
    s->batch = opts->batch;
    s->window_lines = opts->batch * opts->window;
    s->with_logits = opts->with_logits != 0;
    s->max_line_bytes = opts->max_line_bytes;
    s->next_line = 1;
    lr__buf_init(&s->out_buf);
    s->echo = opts->echo != 0;
    s->output = opts->output;
    s->with_probs = opts->with_probs != 0;
    s->min_risk = opts->min_risk;
    lr__buf_init(&s->echo_text);
    lr__buf_init(&s->rec_text);
    lr__buf_init(&s->tmp);
    if (opts->cache_entries < 0 || opts->cache_entries > (1 << 22) || opts->top_k < 0) {
        lr__err(err, LR_EINVAL, "cache of %d entries / top_k %d out of range", opts->cache_entries,
                opts->top_k);
        goto fail;
    }
    if (s->output != LR_SCORE_COMPACT && s->output != LR_SCORE_ENRICH && s->output != LR_SCORE_CSV) {
        lr__err(err, LR_EINVAL, "unknown output form %d", (int)s->output);
        goto fail;
    }
    if (opts->max_batch_tokens < 0) {
        lr__err(err, LR_EINVAL, "max_batch_tokens %d is negative", opts->max_batch_tokens);
        goto fail;
    }
    if (s->n_labels < 1 || s->max_len < 2) {
        lr__err(err, LR_EFORMAT, "model has %d labels and max_len %d; need >= 1 and >= 2",
                s->n_labels, s->max_len);
        goto fail;
    }

    /* rules: the caller's, else the model's training rules, else the defaults */
    const lr_rules *rules = opts->rules;
    if (!rules) {
        size_t yaml_len = 0;
        const char *yaml = lr_model_rules_yaml(model, &yaml_len);
        if (yaml && yaml_len > 0)
            s->own_rules = lr_rules_parse(yaml, yaml_len, "<model rules>", err);
        else
            s->own_rules = lr_rules_default(err);
        if (!s->own_rules) goto fail;
        rules = s->own_rules;
    }
    s->prep = lr_prep_new(rules, err);
    if (!s->prep) goto fail;

    size_t vocab_len = 0;
    const char *vocab = lr_model_vocab_text(model, &vocab_len);
    if (!vocab || vocab_len == 0) {
        lr__err(err, LR_EFORMAT, "model has no tokenizer vocabulary");
        goto fail;
    }
    s->tok = lr_tok_from_text(vocab, vocab_len, err);
    if (!s->tok) goto fail;
    s->enc = lr_event_encoder_new(rules, s->tok, s->max_len, s->max_line_bytes, err);
    if (!s->enc) goto fail;

    if (opts->pool) {
        s->pool = opts->pool;
    } else {
        s->pool = lr_pool_new(opts->n_threads, err);
        if (!s->pool) goto fail;
        s->own_pool = 1;
    }
    /* a model call holds at most max_batch_tokens tokens, and always room
     * for one sequence of max_len */
    s->max_batch_tokens = s->batch * s->max_len;
    if (opts->max_batch_tokens > 0 && opts->max_batch_tokens < s->max_batch_tokens)
        s->max_batch_tokens = LR_MAX(opts->max_batch_tokens, s->max_len);
    s->ctx = lr_model_ctx_new(model, s->max_batch_tokens, err);
    if (!s->ctx) goto fail;

    size_t w = (size_t)s->window_lines, c = (size_t)s->n_labels;
    s->line_no = lr__alloc_array(w, sizeof *s->line_no);
    s->line_end = lr__alloc_array(w, sizeof *s->line_end);
    s->n_tokens = lr__alloc_array(w, sizeof *s->n_tokens);
    s->truncated = lr__alloc_array(w, sizeof *s->truncated);
    s->ids = lr__alloc_array(w * (size_t)s->max_len, sizeof *s->ids);
    s->order = lr__alloc_array(w, sizeof *s->order);
    s->sort_keys = lr__alloc_array(w, sizeof *s->sort_keys);
    s->batch_ids = lr__alloc_array((size_t)s->batch, sizeof *s->batch_ids);
    s->batch_lens = lr__alloc_array((size_t)s->batch, sizeof *s->batch_lens);
    s->logits = lr__alloc_array(w * c, sizeof *s->logits);
    s->probs = lr__alloc_array(w * c, sizeof *s->probs);
    if (!s->line_no || !s->line_end || !s->n_tokens || !s->truncated || !s->ids || !s->order || !s->sort_keys || !s->batch_ids ||
        !s->batch_lens || !s->logits || !s->probs) {
        lr__err(err, LR_ENOMEM, "out of memory for a window of %d lines", s->window_lines);
        goto fail;
    }
    s->cached = lr__calloc(w, 1);
    s->hashes = lr__alloc_array(w, sizeof *s->hashes);
    s->dup_of = lr__alloc_array(w, sizeof *s->dup_of);
    s->echo_off = lr__alloc_array(w, sizeof *s->echo_off);
    s->echo_len = lr__alloc_array(w, sizeof *s->echo_len);
    s->rec_off = lr__alloc_array(w, sizeof *s->rec_off);
    s->rec_len = lr__alloc_array(w, sizeof *s->rec_len);
    s->meta_off = lr__alloc_array(w, sizeof *s->meta_off);
    s->meta_len = lr__alloc_array(w, sizeof *s->meta_len);
    s->top_idx = lr__alloc_array(c, sizeof *s->top_idx);
    if (!s->cached || !s->hashes || !s->dup_of || !s->echo_off || !s->echo_len || !s->top_idx || !s->rec_off ||
        !s->rec_len || !s->meta_off || !s->meta_len) {
        lr__err(err, LR_ENOMEM, "out of memory for a window of %d lines", s->window_lines);
        goto fail;
    }
    s->top_k = LR_MIN(opts->top_k, s->n_labels);
    lr__buf_init(&s->tmpl_text);
    if (opts->miner) {
        s->miner = opts->miner;
        s->miner_learn = !opts->miner_match_only;
        s->template_text = opts->template_text != 0;
        s->miner_path = opts->miner_path;
        s->tmpl_id = lr__alloc_array(w, sizeof *s->tmpl_id);
        s->tmpl_novel = lr__calloc(w, 1);
        s->tmpl_off = lr__alloc_array(w, sizeof *s->tmpl_off);
        s->tmpl_len = lr__alloc_array(w, sizeof *s->tmpl_len);
        if (!s->tmpl_id || !s->tmpl_novel || !s->tmpl_off || !s->tmpl_len) {
            lr__err(err, LR_ENOMEM, "out of memory for a window of %d lines", s->window_lines);
            goto fail;
        }
        /* event times written without a year (syslog) take this one */
        time_t now = time(NULL);
        struct tm g;
        gmtime_r(&now, &g);
        s->year = g.tm_year + 1900;
    }
    if (cache_init(s, opts->cache_entries, err)) goto fail;
    if (lr__score_labels_init(s, err)) goto fail;
    return s;
fail:
    lr_scorer_free(s);
    return NULL;
}

/* Free the scorer and everything it owns (not the model, not borrowed
 * rules, not the output FILE). Queued lines that were not flushed are
 * dropped. Accepts NULL. */
void lr_scorer_free(lr_scorer *s) {
    if (!s) return;
    if (s->label_json)
        for (int i = 0; i < s->n_labels; i++) lr__free(s->label_json[i]);
    lr__free(s->label_json);
    lr__free(s->label_json_len);
    lr__free(s->line_no);
    lr__free(s->line_end);
    lr_event_encoder_free(s->enc);
    lr__free(s->n_tokens);
    lr__free(s->truncated);
    lr__free(s->ids);
    lr__free(s->order);
    lr__free(s->sort_keys);
    lr__free(s->batch_ids);
    lr__free(s->batch_lens);
    lr__free(s->logits);
    lr__free(s->probs);
    lr__free(s->cached);
    lr__free(s->hashes);
    lr__free(s->dup_of);
    lr__free(s->echo_off);
    lr__free(s->echo_len);
    lr__free(s->rec_off);
    lr__free(s->rec_len);
    lr__free(s->meta_off);
    lr__free(s->meta_len);
    lr__free(s->top_idx);
    lr__free(s->tmpl_id);
    lr__free(s->tmpl_novel);
    lr__free(s->tmpl_off);
    lr__free(s->tmpl_len);
    lr__buf_free(&s->tmpl_text);
    lr__free(s->ents);
    lr__free(s->cache_ids);
    lr__free(s->cache_logits);
    lr__free(s->buckets);
    lr__buf_free(&s->echo_text);
    lr__buf_free(&s->rec_text);
    lr__buf_free(&s->tmp);
    lr__buf_free(&s->out_buf);
    lr_model_ctx_free(s->ctx);
    if (s->own_pool) lr_pool_free(s->pool);
    lr_tok_free(s->tok);
    lr_prep_free(s->prep);
    lr_rules_free(s->own_rules);
    lr__free(s);
}

/* ---------------------------------------------------------------- sinks */

/* Route results to fn(user, result, err); a non-zero return from fn stops
 * the flush and is returned by push/flush. Replaces any output FILE. */
void lr_scorer_set_sink(lr_scorer *s, lr_score_sink_fn fn, void *user) {
    s->sink = fn;
    s->sink_user = user;
    s->out = NULL;
}

/* Write results as JSON lines to `out` (borrowed; the caller closes it). */
void lr_scorer_set_output(lr_scorer *s, FILE *out) {
    s->sink = NULL;
    s->sink_user = NULL;
    s->out = out;
}

/* ------------------------------------------------------------- scoring */

/* Sort keys are n_tokens << 32 | slot: one integer compare orders by
 * length and keeps arrival order among equal lengths (no qsort context). */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether a result passes --min-risk: risk_label (its class index) >= N or
 * risk_score >= N. */
static int passes(const lr_scorer *s, const lr_score_result *r) {
    return s->min_risk <= 0 || (double)r->label >= s->min_risk || (double)r->score >= s->min_risk;
}

/* Score every queued line (those not answered by the cache) and hand the
 * results to the sink in arrival order; empties the window. */
static int score_window(lr_scorer *s, lr_error *err) {
    int n = s->n_pending;
    if (n == 0) return 0;
    /* order the model's slots by (token count, slot); the slot is in the low bits */
    uint64_t *k = s->sort_keys;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!s->cached[i]) k[m++] = ((uint64_t)(uint32_t)s->n_tokens[i] << 32) | (uint32_t)i;
    qsort(k, (size_t)m, sizeof *k, cmp_u64);
    for (int i = 0; i < m; i++) s->order[i] = (int)(k[i] & 0xffffffffu);

    size_t c = (size_t)s->n_labels;
    for (int start = 0, nb = 0; start < m; start += nb) {
        /* a batch: up to `batch` lines and max_batch_tokens tokens */
        int tokens = 0;
        for (nb = 0; nb < s->batch && start + nb < m; nb++) {
            int slot = s->order[start + nb];
            if (nb > 0 && tokens + s->n_tokens[slot] > s->max_batch_tokens) break;
            tokens += s->n_tokens[slot];
            s->batch_ids[nb] = s->ids + (size_t)slot * (size_t)s->max_len;
            s->batch_lens[nb] = s->n_tokens[slot];
        }
        /* logits of the batch land in the rows of probs temporarily, then
         * are moved to their slots */
        float *tmp = s->probs + (size_t)start * c;
        int rc = lr_model_logits(s->ctx, s->pool, s->batch_ids, s->batch_lens, nb, tmp, err);
        if (rc) return rc;
        s->stat_batches++;
        s->stat_batch_lines += (uint64_t)nb;
    }
    for (int i = 0; i < m; i++) {
        int slot = s->order[i];
        memcpy(s->logits + (size_t)slot * c, s->probs + (size_t)i * c, c * sizeof(float));
        cache_put(s, s->hashes[slot], s->ids + (size_t)slot * (size_t)s->max_len, s->n_tokens[slot],
                  s->logits + (size_t)slot * c);
    }
    for (int i = 0; i < n; i++)
        if (s->cached[i] == 2)
            memcpy(s->logits + (size_t)i * c, s->logits + (size_t)s->dup_of[i] * c, c * sizeof(float));

    int rc = 0;
    if (s->out && s->output == LR_SCORE_CSV && !s->csv_header_done) {
        if (lr__score_put_csv_header(s, &s->out_buf)) return lr__err(err, LR_ENOMEM, "out of memory");
        s->csv_header_done = 1;
    }
    int keep_text = s->echo || s->output == LR_SCORE_ENRICH;
    for (int i = 0; i < n && !rc; i++) {
        lr_score_result r;
        float *probs = s->probs + (size_t)i * c;
        r.line = s->line_no[i];
        r.line_end = s->line_end[i];
        r.n_labels = s->n_labels;
        r.logits = s->logits + (size_t)i * c;
        r.probs = probs;
        r.n_tokens = s->n_tokens[i];
        r.truncated = s->truncated[i];
        r.message = keep_text ? s->echo_text.data + s->echo_off[i] : NULL;
        r.message_len = keep_text ? s->echo_len[i] : 0;
        int has_rec = s->output == LR_SCORE_ENRICH && s->rec_len[i] != SIZE_MAX;
        r.record = has_rec ? s->rec_text.data + s->rec_off[i] : NULL;
        r.record_len = has_rec ? s->rec_len[i] : 0;
        int has_meta = s->meta_len[i] > 0;
        r.meta = has_meta ? s->rec_text.data + s->meta_off[i] : NULL;
        r.meta_len = has_meta ? s->meta_len[i] : 0;
        r.template_id = s->miner ? s->tmpl_id[i] : 0;
        r.novel = s->miner ? s->tmpl_novel[i] : 0;
        int has_tmpl = s->template_text && r.template_id;
        r.template_text = has_tmpl ? s->tmpl_text.data + s->tmpl_off[i] : NULL;
        r.template_len = has_tmpl ? s->tmpl_len[i] : 0;
        lr_model_outputs(r.logits, s->n_labels, probs, &r.score, &r.label);
        if (!passes(s, &r)) continue;
        s->stat_written++;
        if (s->sink) {
            rc = s->sink(s->sink_user, &r, err);
        } else if (s->out) {
            if (!s->echo && s->output != LR_SCORE_ENRICH) r.message = NULL;
            if (lr__score_put(s, &s->out_buf, &r, s->output))
                rc = lr__err(err, LR_ENOMEM, "out of memory formatting line %llu", (unsigned long long)r.line);
        }
    }
    s->n_pending = 0;
    lr__buf_clear(&s->echo_text);
    lr__buf_clear(&s->rec_text);
    lr__buf_clear(&s->tmpl_text);
    if (!rc && s->out) rc = lr__score_write_out(s, err);
    return rc;
}

/* Keep `len` bytes of text for the window slot in buf; *off gets where. */
static int keep(lr__buf *buf, const char *text, size_t len, size_t *off, size_t *out_len) {
    *off = buf->len;
    *out_len = len;
    return len ? lr__buf_put(buf, text, len) : 0;
}

/* Queue the ids already written to the next window slot (n_tok of them)
 * for the event on lines line_no..line_end; `echo` is its text for the
 * "message" output, record / meta what the enriched writer adds (record
 * NULL: none). Looks the ids up in the cache; when the window is full it
 * is scored and the results go to the sink. */
static int queue_slot(lr_scorer *s, int n_tok, uint64_t line_no, uint64_t line_end, int truncated, const char *echo,
                      size_t echo_len, const char *record, size_t record_len, const char *meta, size_t meta_len,
                      lr_error *err) {
    int slot = s->n_pending;
    int32_t *ids = s->ids + (size_t)slot * (size_t)s->max_len;
    if (s->echo || s->output == LR_SCORE_ENRICH) {
        if (keep(&s->echo_text, echo, echo_len, &s->echo_off[slot], &s->echo_len[slot]))
            return lr__err(err, LR_ENOMEM, "out of memory");
    }
    if (s->output == LR_SCORE_ENRICH) {
        s->rec_len[slot] = SIZE_MAX;
        if (record && keep(&s->rec_text, record, record_len, &s->rec_off[slot], &s->rec_len[slot]))
            return lr__err(err, LR_ENOMEM, "out of memory");
    }
    /* metadata: enrich, and compact (the "file" of several inputs) */
    if (keep(&s->rec_text, meta, meta ? meta_len : 0, &s->meta_off[slot], &s->meta_len[slot]))
        return lr__err(err, LR_ENOMEM, "out of memory");
    s->cached[slot] = 0;
    if (s->cache_cap > 0) {
        uint64_t h = hash_ids(ids, n_tok);
        s->hashes[slot] = h;
        s->stat_lookups++;
        int e = cache_find(s, h, ids, n_tok);
        if (e >= 0) {
            s->stat_hits++;
            s->cached[slot] = 1;
            memcpy(s->logits + (size_t)slot * (size_t)s->n_labels, s->cache_logits + (size_t)e * (size_t)s->n_labels,
                   (size_t)s->n_labels * sizeof(float));
            lru_unlink(s, e);
            lru_front(s, e);
        } else {
            /* the same ids queued earlier in this window: reuse its result */
            for (int j = 0; j < slot; j++)
                if (s->hashes[j] == h && s->cached[j] != 2 && s->n_tokens[j] == n_tok &&
                    memcmp(s->ids + (size_t)j * (size_t)s->max_len, ids, (size_t)n_tok * sizeof *ids) == 0) {
                    s->stat_hits++;
                    s->cached[slot] = 2;
                    s->dup_of[slot] = j;
                    break;
                }
        }
    }
    s->line_no[slot] = line_no;
    s->line_end[slot] = line_end;
    s->next_line = line_end + 1;
    s->n_tokens[slot] = n_tok;
    s->truncated[slot] = truncated != 0;
    s->n_pending++;
    s->stat_lines++;
    s->stat_tokens += (uint64_t)n_tok;
    s->stat_truncated += truncated != 0;
    if (s->n_pending == s->window_lines) return score_window(s, err);
    return 0;
}

/* Give the event of the next window slot its template: the masked
 * message (lr_miner_event_text with the scorer's rules) learnt by the
 * miner, or only matched. Uses s->prep: call it before encode(). */
static int assign_template(lr_scorer *s, const lr_event *ev, lr_error *err) {
    int slot = s->n_pending;
    const char *text;
    size_t len;
    if (lr_miner_event_text(s->prep, ev, &text, &len))
        return lr__err(err, LR_ENOMEM, "out of memory masking the message of line %llu",
                       (unsigned long long)ev->line);
    lr_template_match tm;
    if (s->miner_learn) {
        int64_t when = (int64_t)ev->line, ms;
        if (ev->time_len && lr_time_parse(ev->time, ev->time_len, (int)s->year, &ms) == LR_OK) when = ms;
        int rc = lr_miner_add(s->miner, text, len, when, &tm, err);
        if (rc) return rc;
        s->learnt++;
    } else {
        lr_miner_match(s->miner, text, len, &tm);
    }
    s->tmpl_id[slot] = tm.id;
    s->tmpl_novel[slot] = tm.novel != 0;
    s->stat_novel += tm.novel != 0;
    s->stat_unmatched += tm.id == 0;
    if (s->template_text && keep(&s->tmpl_text, tm.text, tm.id ? tm.len : 0, &s->tmpl_off[slot], &s->tmpl_len[slot]))
        return lr__err(err, LR_ENOMEM, "out of memory");
    return 0;
}

int lr__score_save_templates(lr_scorer *s, lr_error *err) {
    if (!s->miner || !s->miner_path || !s->learnt) return 0;
    int rc = lr_miner_save(s->miner, s->miner_path, err);
    if (!rc) s->learnt = 0;
    return rc;
}

void lr_scorer_template_stats(const lr_scorer *s, uint64_t *novel, uint64_t *unmatched) {
    if (novel) *novel = s->stat_novel;
    if (unmatched) *unmatched = s->stat_unmatched;
}

/* Mask and tokenize `text` into ids (at most max_len, [CLS] .. [SEP]);
 * the count or an error code with err set. */
static int encode(lr_scorer *s, const char *text, size_t len, int32_t *ids, uint64_t line_no, lr_error *err) {
    lr_line_info info;
    int rc = lr_prep_line(s->prep, text, len, &info);
    if (rc) return lr__err(err, rc, "preprocessing line %llu failed: %s", (unsigned long long)line_no,
                           lr_strerror(rc));
    int n_tok = lr_tok_encode(s->tok, info.text, info.text_len, s->max_len, ids);
    if (n_tok < 2 || n_tok > s->max_len)
        return lr__err(err, n_tok < 0 ? n_tok : LR_ERANGE, "tokenizing line %llu failed (%d tokens)",
                       (unsigned long long)line_no, n_tok);
    return n_tok;
}

/* Queue one raw line (bytes without the '\n'; may hold NUL, invalid UTF-8,
 * a trailing '\r') numbered `line_no`, preprocessed and tokenized as it is. */
static int push_line(lr_scorer *s, const char *line, size_t len, uint64_t line_no, int truncated,
                     lr_error *err) {
    if (s->miner) { /* a plain line: its whole text is the message */
        lr_event ev;
        memset(&ev, 0, sizeof ev);
        ev.time = ev.source = ev.error = "";
        ev.message = line;
        ev.message_len = len;
        ev.line = ev.line_end = line_no;
        int rc = assign_template(s, &ev, err);
        if (rc) return rc;
    }
    int32_t *ids = s->ids + (size_t)s->n_pending * (size_t)s->max_len;
    int n_tok = encode(s, line, len, ids, line_no, err);
    if (n_tok < 0) return n_tok;
    return queue_slot(s, n_tok, line_no, line_no, truncated, line, len, line, len, NULL, 0, err);
}

/* Queue one event: its model input (lr_event_encode: rendering, masks,
 * the window rule). */
int lr_scorer_push_event(lr_scorer *s, const lr_event *ev, lr_error *err) {
    return lr_scorer_push_event_ex(s, ev, NULL, 0, NULL, 0, err);
}

/* The same with the record and metadata the enriched writer adds. The
 * "message" of an event without a record is its message and error detail,
 * kept in echo_text after the rendering; a record over max_line_bytes is
 * dropped (the message goes out instead). */
int lr_scorer_push_event_ex(lr_scorer *s, const lr_event *ev, const char *record, size_t record_len,
                            const char *meta, size_t meta_len, lr_error *err) {
    if (meta && meta_len > s->max_line_bytes)
        return lr__err(err, LR_ERANGE, "metadata of line %llu is %zu bytes, over the limit of %zu",
                       (unsigned long long)ev->line, meta_len, s->max_line_bytes);
    if (meta && meta_len > 0 && s->output == LR_SCORE_ENRICH && !lr__score_meta_ok(meta, meta_len))
        return lr__err(err, LR_EINVAL, "metadata of line %llu is not JSON object members", (unsigned long long)ev->line);
    if (s->miner) {
        int rc = assign_template(s, ev, err);
        if (rc) return rc;
    }
    int32_t *ids = s->ids + (size_t)s->n_pending * (size_t)s->max_len;
    lr_event_input in;
    int n_tok = lr_event_encode(s->enc, ev, ids, &in);
    if (n_tok < 0)
        return lr__err(err, n_tok, "encoding the event of line %llu failed: %s", (unsigned long long)ev->line,
                       lr_strerror(n_tok));
    int truncated = ev->truncated || in.truncated;
    const char *text = in.text;
    size_t text_len = in.len;
    if (s->output == LR_SCORE_ENRICH) {
        if (!record && ev->record) {
            record = ev->record;
            record_len = ev->record_len;
        }
        if (record && record_len > s->max_line_bytes) {
            record = NULL;
            truncated = 1;
        }
        if (!record && !s->echo) {
            /* "message": the event's message and its error detail; the
             * rendering (echo) is not needed */
            lr__buf_clear(&s->tmp);
            size_t ml = LR_MIN(ev->message_len, s->max_line_bytes);
            size_t el = LR_MIN(ev->error_len, s->max_line_bytes - ml);
            int rc = lr__buf_put(&s->tmp, ev->message, ml);
            if (!rc && el && ml) rc = lr__buf_putc(&s->tmp, '\n');
            if (!rc && el) rc = lr__buf_put(&s->tmp, ev->error, el);
            if (rc) return lr__err(err, LR_ENOMEM, "out of memory");
            text = s->tmp.data ? s->tmp.data : "";
            text_len = s->tmp.len;
        }
    }
    return queue_slot(s, n_tok, ev->line, ev->line_end, truncated, text, text_len, record, record_len, meta,
                      meta ? meta_len : 0, err);
}

int lr_scorer_push(lr_scorer *s, const char *line, size_t len, lr_error *err) {
    size_t keep = len > s->max_line_bytes ? s->max_line_bytes : len;
    return push_line(s, line, keep, s->next_line, keep != len, err);
}

/* Queue one record's message with its own line number (see push_line). */
int lr_scorer_push_record(lr_scorer *s, const char *msg, size_t len, uint64_t line_no, int truncated,
                          lr_error *err) {
    size_t keep = len > s->max_line_bytes ? s->max_line_bytes : len;
    return push_line(s, msg, keep, line_no, truncated || keep != len, err);
}

/* Score whatever is queued, deliver it, and flush the output FILE. */
int lr_scorer_flush(lr_scorer *s, lr_error *err) {
    int rc = score_window(s, err);
    if (rc) return rc;
    if (s->out && fflush(s->out) != 0)
        return lr__err(err, LR_EIO, "writing the scores failed: %s", strerror(errno ? errno : EIO));
    return 0;
}

int lr_scorer_pending(const lr_scorer *s) { return s->n_pending; }

void lr_scorer_stats(const lr_scorer *s, uint64_t *lines, uint64_t *tokens, uint64_t *truncated) {
    if (lines) *lines = s->stat_lines;
    if (tokens) *tokens = s->stat_tokens;
    if (truncated) *truncated = s->stat_truncated;
}

/* Cache hits and lookups since creation, and results written (after
 * --min-risk). Any may be NULL. */
void lr_scorer_cache_stats(const lr_scorer *s, uint64_t *hits, uint64_t *lookups, uint64_t *written) {
    if (hits) *hits = s->stat_hits;
    if (lookups) *lookups = s->stat_lookups;
    if (written) *written = s->stat_written;
}

void lr_scorer_batch_stats(const lr_scorer *s, uint64_t *batches, uint64_t *lines) {
    if (batches) *batches = s->stat_batches;
    if (lines) *lines = s->stat_batch_lines;
}

uint64_t lr_scorer_regex_limits(const lr_scorer *s) {
    return lr_prep_regex_limits(s->prep) + lr_event_encoder_regex_limits(s->enc);
}
