/*
 * score.c — the scoring pipeline: raw lines in, one JSON object per line
 * out, in input order.
 *
 *     line ─► prep (mask) ─► tok (ids) ─► window ─► sort by length ─► batches
 *          ─► lr_model_logits ─► softmax, argmax, expected value ─► sink
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
 *    bytes replaced by U+FFFD), "top" (top_k classes by probability, ties
 *    by class index), min_risk (only lines with risk_label >= N or
 *    risk_score >= N are written), CSV instead of JSON lines.
 *  - Follow: the run loop never blocks in read(2) (the line reader's follow
 *    mode); it polls the fd with a timeout that ends `interval` after the
 *    oldest queued line arrived, then scores what is queued. A regular file
 *    at EOF is polled every 100 ms (poll(2) says regular files are always
 *    readable). *stop (set by the caller's signal handler) makes the loop
 *    treat the input as ended: everything read so far is scored and written.
 *
 * Label output: when the model's label names are exactly "0", "1", ...,
 * "C-1" (the risk model), risk_label is written as a JSON number; otherwise
 * as the label's name, a JSON string. risk_score is always the expected
 * class index sum_i p_i * i (for the risk model: the expected risk).
 */
#include "score.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <time.h>

#include "io.h"
#include "pool.h"

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
    lr_model_ctx *ctx;

    int n_labels;
    int max_len;
    int batch;
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

    /* output options */
    int echo, top_k, csv, csv_header_done;
    double min_risk;
    int numeric_labels;
    unsigned char *cached; /* window slot answered by the cache (1) or by an
                              earlier slot of the window with the same ids (2) */
    int *dup_of;           /* cached == 2: that slot */
    uint64_t *hashes;      /* window slot token hash */
    lr__buf echo_text;     /* messages of the window (echo) */
    size_t *echo_off, *echo_len;
    lr__buf tmp;           /* UTF-8 repair */
    lr_event_encoder *enc; /* events: rendering, masks, window */
    uint64_t stat_malformed, stat_cut;
    int *top_idx;          /* n_labels */

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
    opts->csv = 0;
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

/* FNV-1a over the ids' values. */
static uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int k = 0; k < 4; k++) {
            h ^= (v >> (8 * k)) & 0xffu;
            h *= 1099511628211ull;
        }
    }
    return h;
}

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

/* Render risk_label for every class once: numbers when the names are
 * "0".."C-1", quoted names otherwise. Returns 0 or LR_ENOMEM. */
static int build_label_json(lr_scorer *s, lr_error *err) {
    int numeric = 1;
    for (int i = 0; i < s->n_labels && numeric; i++) {
        size_t len = 0;
        const char *name = lr_model_label(s->model, i, &len);
        char want[16];
        int n = snprintf(want, sizeof want, "%d", i);
        if (!name || (size_t)n != len || memcmp(name, want, len) != 0) numeric = 0;
    }
    s->numeric_labels = numeric;
    s->label_json = lr__calloc((size_t)s->n_labels, sizeof *s->label_json);
    s->label_json_len = lr__calloc((size_t)s->n_labels, sizeof *s->label_json_len);
    if (!s->label_json || !s->label_json_len)
        return lr__err(err, LR_ENOMEM, "out of memory for %d label names", s->n_labels);
    for (int i = 0; i < s->n_labels; i++) {
        lr__buf b;
        lr__buf_init(&b);
        int rc;
        if (numeric) {
            rc = lr__buf_printf(&b, "%d", i);
        } else {
            size_t len = 0;
            const char *name = lr_model_label(s->model, i, &len);
            if (!name) {
                name = "";
                len = 0;
            }
            rc = lr__buf_put_json_string(&b, name, len);
        }
        if (rc) {
            lr__buf_free(&b);
            return lr__err(err, LR_ENOMEM, "out of memory for label names");
        }
        s->label_json[i] = b.data; /* ownership moves to the scorer */
        s->label_json_len[i] = b.len;
    }
    return 0;
}

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
    s->csv = opts->csv != 0;
    s->min_risk = opts->min_risk;
    lr__buf_init(&s->echo_text);
    lr__buf_init(&s->tmp);
    if (opts->cache_entries < 0 || opts->cache_entries > (1 << 22) || opts->top_k < 0) {
        lr__err(err, LR_EINVAL, "cache of %d entries / top_k %d out of range", opts->cache_entries,
                opts->top_k);
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

    s->pool = lr_pool_new(opts->n_threads, err);
    if (!s->pool) goto fail;
    s->ctx = lr_model_ctx_new(model, s->batch * s->max_len, err);
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
    s->top_idx = lr__alloc_array(c, sizeof *s->top_idx);
    if (!s->cached || !s->hashes || !s->dup_of || !s->echo_off || !s->echo_len || !s->top_idx) {
        lr__err(err, LR_ENOMEM, "out of memory for a window of %d lines", s->window_lines);
        goto fail;
    }
    s->top_k = LR_MIN(opts->top_k, s->n_labels);
    if (cache_init(s, opts->cache_entries, err)) goto fail;
    if (build_label_json(s, err)) goto fail;
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
    lr__free(s->top_idx);
    lr__free(s->ents);
    lr__free(s->cache_ids);
    lr__free(s->cache_logits);
    lr__free(s->buckets);
    lr__buf_free(&s->echo_text);
    lr__buf_free(&s->tmp);
    lr__buf_free(&s->out_buf);
    lr_model_ctx_free(s->ctx);
    lr_pool_free(s->pool);
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

/* Append `s` to tmp with every byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD, so the output is valid UTF-8 text. */
static int utf8_repair(lr__buf *tmp, const char *str, size_t len) {
    const unsigned char *p = (const unsigned char *)str;
    lr__buf_clear(tmp);
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] < 0x80) run++;
        if (run > i && lr__buf_put(tmp, p + i, run - i)) return LR_ENOMEM;
        i = run;
        if (i == len) break;
        unsigned c = p[i];
        size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        int ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && n == 3) {
            unsigned c1 = p[i + 1];
            if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) ok = 0; /* overlong, surrogate */
        }
        if (ok && n == 4) {
            unsigned c1 = p[i + 1];
            if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) ok = 0;
        }
        if (ok) {
            if (lr__buf_put(tmp, p + i, n)) return LR_ENOMEM;
            i += n;
        } else {
            if (lr__buf_put(tmp, "\xef\xbf\xbd", 3)) return LR_ENOMEM;
            i++;
        }
    }
    return 0;
}

/* The classes of r in descending probability (ties: lower index first);
 * the first top_k land in s->top_idx. */
static void top_classes(lr_scorer *s, const lr_score_result *r) {
    int k = s->top_k;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < r->n_labels; i++) {
            int used = 0;
            for (int q = 0; q < j && !used; q++) used = s->top_idx[q] == i;
            if (!used && (best < 0 || r->probs[i] > r->probs[best])) best = i;
        }
        s->top_idx[j] = best;
    }
}

/* Append one result as a JSON object and '\n' to b; msg (echo) may be NULL. */
static int put_result_json(lr_scorer *s, lr__buf *b, const lr_score_result *r, const char *msg, size_t msg_len) {
    int rc = lr__buf_printf(b, "{\"line\":%llu,\"line_end\":%llu,\"risk_label\":", (unsigned long long)r->line,
                            (unsigned long long)r->line_end);
    rc = rc ? rc : lr__buf_put(b, s->label_json[r->label], s->label_json_len[r->label]);
    rc = rc ? rc : lr__buf_puts(b, ",\"risk_score\":");
    rc = rc ? rc : lr__buf_put_json_float(b, r->score);
    rc = rc ? rc : lr__buf_puts(b, ",\"probabilities\":[");
    for (int i = 0; i < r->n_labels && !rc; i++) {
        if (i) rc = lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put_json_float(b, r->probs[i]);
    }
    rc = rc ? rc : lr__buf_putc(b, ']');
    if (s->with_logits) {
        rc = rc ? rc : lr__buf_puts(b, ",\"logits\":[");
        for (int i = 0; i < r->n_labels && !rc; i++) {
            if (i) rc = lr__buf_putc(b, ',');
            rc = rc ? rc : lr__buf_put_json_float(b, r->logits[i]);
        }
        rc = rc ? rc : lr__buf_putc(b, ']');
    }
    if (s->top_k > 0) {
        top_classes(s, r);
        rc = rc ? rc : lr__buf_puts(b, ",\"top\":[");
        for (int j = 0; j < s->top_k && !rc; j++) {
            int c = s->top_idx[j];
            rc = lr__buf_puts(b, j ? ",{\"label\":" : "{\"label\":");
            rc = rc ? rc : lr__buf_put(b, s->label_json[c], s->label_json_len[c]);
            rc = rc ? rc : lr__buf_puts(b, ",\"p\":");
            rc = rc ? rc : lr__buf_put_json_float(b, r->probs[c]);
            rc = rc ? rc : lr__buf_putc(b, '}');
        }
        rc = rc ? rc : lr__buf_putc(b, ']');
    }
    if (msg) {
        rc = rc ? rc : utf8_repair(&s->tmp, msg, msg_len);
        rc = rc ? rc : lr__buf_puts(b, ",\"message\":");
        rc = rc ? rc : lr__buf_put_json_string(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
    }
    rc = rc ? rc : lr__buf_puts(b, "}\n");
    return rc;
}

/* A label's name as CSV text. */
static int put_label_csv(const lr_scorer *s, lr__buf *b, int c) {
    size_t len = 0;
    const char *name = lr_model_label(s->model, c, &len);
    return lr__io_csv_put(b, name ? name : "", name ? len : 0);
}

/* The CSV header: line,line_end,risk_label,risk_score,p_<label>...[,logit_<label>...]
 * [,top<j>_label,top<j>_p...][,message]. */
static int put_csv_header(lr_scorer *s, lr__buf *b) {
    int rc = lr__buf_puts(b, "line,line_end,risk_label,risk_score");
    lr__buf name;
    lr__buf_init(&name);
    for (int pass = 0; pass < 1 + s->with_logits && !rc; pass++)
        for (int i = 0; i < s->n_labels && !rc; i++) {
            size_t len = 0;
            const char *l = lr_model_label(s->model, i, &len);
            lr__buf_clear(&name);
            rc = lr__buf_puts(&name, pass ? "logit_" : "p_");
            rc = rc ? rc : lr__buf_put(&name, l ? l : "", l ? len : 0);
            rc = rc ? rc : lr__buf_putc(b, ',');
            rc = rc ? rc : lr__io_csv_put(b, name.data, name.len);
        }
    lr__buf_free(&name);
    for (int j = 1; j <= s->top_k && !rc; j++) rc = lr__buf_printf(b, ",top%d_label,top%d_p", j, j);
    if (s->echo && !rc) rc = lr__buf_puts(b, ",message");
    return rc ? rc : lr__buf_puts(b, "\r\n");
}

/* Append one result as a CSV record (RFC 4180, CRLF). */
static int put_result_csv(lr_scorer *s, lr__buf *b, const lr_score_result *r, const char *msg, size_t msg_len) {
    int rc = lr__buf_printf(b, "%llu,%llu,", (unsigned long long)r->line, (unsigned long long)r->line_end);
    rc = rc ? rc : put_label_csv(s, b, r->label);
    rc = rc ? rc : lr__buf_putc(b, ',');
    rc = rc ? rc : lr__buf_put_json_float(b, r->score);
    for (int i = 0; i < r->n_labels && !rc; i++) {
        rc = lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put_json_float(b, r->probs[i]);
    }
    for (int i = 0; s->with_logits && i < r->n_labels && !rc; i++) {
        rc = lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put_json_float(b, r->logits[i]);
    }
    if (s->top_k > 0 && !rc) {
        top_classes(s, r);
        for (int j = 0; j < s->top_k && !rc; j++) {
            rc = lr__buf_putc(b, ',');
            rc = rc ? rc : put_label_csv(s, b, s->top_idx[j]);
            rc = rc ? rc : lr__buf_putc(b, ',');
            rc = rc ? rc : lr__buf_put_json_float(b, r->probs[s->top_idx[j]]);
        }
    }
    if (msg && !rc) {
        rc = utf8_repair(&s->tmp, msg, msg_len);
        rc = rc ? rc : lr__buf_putc(b, ',');
        rc = rc ? rc : lr__io_csv_put(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
    }
    return rc ? rc : lr__buf_puts(b, "\r\n");
}

/* Whether a result passes --min-risk: risk_label (its class index) >= N or
 * risk_score >= N. */
static int passes(const lr_scorer *s, const lr_score_result *r) {
    return s->min_risk <= 0 || (double)r->label >= s->min_risk || (double)r->score >= s->min_risk;
}

/* Write the bytes of out_buf to the output FILE; LR_EIO with the errno
 * text (EPIPE, ENOSPC, ...) on failure. */
static int write_out(lr_scorer *s, lr_error *err) {
    if (s->out_buf.len == 0) return 0;
    errno = 0;
    size_t n = fwrite(s->out_buf.data, 1, s->out_buf.len, s->out);
    if (n != s->out_buf.len || ferror(s->out)) {
        int e = errno ? errno : EIO;
        return lr__err(err, LR_EIO, "writing the scores failed: %s", strerror(e));
    }
    lr__buf_clear(&s->out_buf);
    return 0;
}

/* ------------------------------------------------------------- scoring */

/* Sort keys are n_tokens << 32 | slot: one integer compare orders by
 * length and keeps arrival order among equal lengths (no qsort context). */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
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
    for (int start = 0; start < m; start += s->batch) {
        int nb = LR_MIN(s->batch, m - start);
        for (int j = 0; j < nb; j++) {
            int slot = s->order[start + j];
            s->batch_ids[j] = s->ids + (size_t)slot * (size_t)s->max_len;
            s->batch_lens[j] = s->n_tokens[slot];
        }
        /* logits of the batch land in the rows of probs temporarily, then
         * are moved to their slots */
        float *tmp = s->probs + (size_t)start * c;
        int rc = lr_model_logits(s->ctx, s->pool, s->batch_ids, s->batch_lens, nb, tmp, err);
        if (rc) return rc;
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
    if (s->out && s->csv && !s->csv_header_done) {
        if (put_csv_header(s, &s->out_buf)) return lr__err(err, LR_ENOMEM, "out of memory");
        s->csv_header_done = 1;
    }
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
        lr_model_outputs(r.logits, s->n_labels, probs, &r.score, &r.label);
        if (!passes(s, &r)) continue;
        s->stat_written++;
        if (s->sink) {
            rc = s->sink(s->sink_user, &r, err);
        } else if (s->out) {
            const char *msg = s->echo ? s->echo_text.data + s->echo_off[i] : NULL;
            size_t ml = s->echo ? s->echo_len[i] : 0;
            int e = s->csv ? put_result_csv(s, &s->out_buf, &r, msg, ml) : put_result_json(s, &s->out_buf, &r, msg, ml);
            if (e) rc = lr__err(err, LR_ENOMEM, "out of memory formatting line %llu", (unsigned long long)r.line);
        }
    }
    s->n_pending = 0;
    lr__buf_clear(&s->echo_text);
    if (!rc && s->out) rc = write_out(s, err);
    return rc;
}

/* Queue the ids already written to the next window slot (n_tok of them)
 * for the event on lines line_no..line_end; `echo` is its text for the
 * "message" output. Looks the ids up in the cache; when the window is full
 * it is scored and the results go to the sink. */
static int queue_slot(lr_scorer *s, int n_tok, uint64_t line_no, uint64_t line_end, int truncated, const char *echo,
                      size_t echo_len, lr_error *err) {
    int slot = s->n_pending;
    int32_t *ids = s->ids + (size_t)slot * (size_t)s->max_len;
    if (s->echo) {
        s->echo_off[slot] = s->echo_text.len;
        s->echo_len[slot] = echo_len;
        if (lr__buf_put(&s->echo_text, echo, echo_len)) return lr__err(err, LR_ENOMEM, "out of memory");
    }
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
    int32_t *ids = s->ids + (size_t)s->n_pending * (size_t)s->max_len;
    int n_tok = encode(s, line, len, ids, line_no, err);
    if (n_tok < 0) return n_tok;
    return queue_slot(s, n_tok, line_no, line_no, truncated, line, len, err);
}

/* Queue one event: its model input (lr_event_encode: rendering, masks,
 * the window rule). */
int lr_scorer_push_event(lr_scorer *s, const lr_event *ev, lr_error *err) {
    int32_t *ids = s->ids + (size_t)s->n_pending * (size_t)s->max_len;
    lr_event_input in;
    int n_tok = lr_event_encode(s->enc, ev, ids, &in);
    if (n_tok < 0)
        return lr__err(err, n_tok, "encoding the event of line %llu failed: %s", (unsigned long long)ev->line,
                       lr_strerror(n_tok));
    return queue_slot(s, n_tok, ev->line, ev->line_end, ev->truncated || in.truncated, in.text, in.len, err);
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

/* True when a read of fd would block now (nothing to read yet): a pipe or
 * terminal that is quiet. Regular files never block. */
static bool input_is_quiet(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Read every raw line of `in_fd` (bounded memory: lines cut at
 * max_line_bytes), score them and write JSON lines to `out` (borrowed,
 * flushed, not closed; the fd is not closed either): the records reader in
 * raw format, so each line is one event scored as it is. When the input is
 * a pipe that has gone quiet, the lines queued so far are scored and
 * written before blocking, so `tail -f x | logrisk score` streams. Any sink
 * set before is replaced by the JSON writer. */
int lr_scorer_run(lr_scorer *s, int in_fd, FILE *out, lr_error *err) {
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = LR_REC_RAW;
    ro.max_bytes = s->max_line_bytes;
    lr_records *recs = lr_records_new(in_fd, &ro, err);
    if (!recs) return err ? err->code : LR_ENOMEM;
    int rc = lr_scorer_run_records(s, recs, in_fd, out, NULL, err);
    lr_records_free(recs);
    return rc;
}

/* Defaults: no follow, interval 1 s, no stop flag, multi-line groups. */
void lr_score_run_opts_init(lr_score_run_opts *o) {
    memset(o, 0, sizeof *o);
    o->interval = 1.0;
    o->multiline = 1;
}

uint64_t lr_scorer_regex_limits(const lr_scorer *s) {
    return lr_prep_regex_limits(s->prep) + lr_event_encoder_regex_limits(s->enc);
}

/* Malformed records and groups cut at the cap, seen by run_records. */
void lr_scorer_event_stats(const lr_scorer *s, uint64_t *malformed, uint64_t *groups_cut) {
    if (malformed) *malformed = s->stat_malformed;
    if (groups_cut) *groups_cut = s->stat_cut;
}

/* Score every event of `recs` (borrowed; it reads `in_fd`, also borrowed)
 * to `out` (borrowed, flushed, not closed), in the scorer's output format.
 * Records go through the events reader (formats, multi-line groups unless
 * ro->multiline is 0). Follow mode (recs created with follow): lines are
 * scored when a batch is full or ro->interval seconds after the oldest
 * queued line arrived, and an open multi-line group is closed when
 * ro->interval passes without a continuation; the loop waits in poll(2).
 * When *ro->stop becomes non-zero the input counts as ended: every record
 * read so far is scored and written, then 0. Without follow, a pipe that
 * goes quiet gets what is queued written. */
int lr_scorer_run_records(lr_scorer *s, lr_records *recs, int in_fd, FILE *out, const lr_score_run_opts *ro,
                          lr_error *err) {
    lr_score_run_opts def;
    if (!ro) {
        lr_score_run_opts_init(&def);
        ro = &def;
    }
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = ro->multiline;
    eo.group_timeout = ro->interval;
    eo.field = ro->field;
    lr_events *evs = lr_events_new(recs, &eo, err);
    if (!evs) return err ? err->code : LR_ENOMEM;
    lr_scorer_set_output(s, out);
    struct stat st;
    bool regular = fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode);
    int rc = 0, ended = 0;
    double oldest = 0;
    for (;;) {
        if (ro->stop && *ro->stop && !ended) {
            lr_records_end_input(recs);
            ended = 1;
        }
        if (!ro->follow && !regular && !lr_records_buffered(recs) && input_is_quiet(in_fd)) {
            /* a quiet pipe: an open group gets `interval` to go on, then is
             * closed; what is queued is scored before the read blocks */
            if (lr_events_open_group(evs)) {
                struct pollfd p = {.fd = in_fd, .events = POLLIN};
                if (poll(&p, 1, (int)(ro->interval * 1000.0) + 1) == 0) lr_events_end_group(evs);
            } else if (s->n_pending > 0) {
                rc = lr_scorer_flush(s, err);
                if (rc) break;
            }
        }
        lr_event ev;
        rc = lr_events_next(evs, &ev, err);
        if (rc <= 0) break;
        if (rc == 1) {
            int before = s->n_pending;
            rc = lr_scorer_push_event(s, &ev, err);
            if (rc) break;
            if (before == 0 && s->n_pending > 0) oldest = lr__now_s();
            /* follow: a group handed out with no new group open was closed by
             * its timeout (it already waited the interval): score it now */
            if (ro->follow && ro->multiline && !lr_events_open_group(evs)) oldest -= ro->interval;
            if (ro->follow && s->n_pending > 0 && lr__now_s() - oldest >= ro->interval) rc = lr_scorer_flush(s, err);
            if (rc) break;
            continue;
        }
        /* rc == 2: nothing complete to read; wait for input or the timer */
        rc = 0;
        int timeout = -1;
        if (s->n_pending > 0) {
            double left = ro->interval - (lr__now_s() - oldest);
            if (left <= 0) {
                rc = lr_scorer_flush(s, err);
                if (rc) break;
                continue;
            }
            timeout = (int)(left * 1000.0) + 1;
        }
        if (lr_events_open_group(evs)) { /* its timeout is checked on the next call */
            int group_ms = (int)(ro->interval * 1000.0 / 4) + 1;
            if (timeout < 0 || timeout > group_ms) timeout = group_ms;
        }
        if (regular) {
            int ms = timeout < 0 || timeout > 100 ? 100 : timeout;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
            nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap */
        } else {
            /* EINTR: the loop looks at *stop. A signal that lands between
             * that look and poll() is noticed at the latest 250 ms later. */
            struct pollfd p = {.fd = in_fd, .events = POLLIN};
            if (ro->stop && (timeout < 0 || timeout > 250)) timeout = 250;
            (void)poll(&p, 1, timeout);
        }
    }
    s->stat_malformed = lr_events_malformed(evs);
    s->stat_cut = lr_events_groups_cut(evs);
    lr_events_free(evs);
    if (rc < 0) {
        /* a read error: still deliver what was read, then report it */
        lr_error keep = err ? *err : (lr_error){0};
        if (s->n_pending > 0 && lr_scorer_flush(s, err) == 0 && err) *err = keep;
        return rc;
    }
    return lr_scorer_flush(s, err);
}
