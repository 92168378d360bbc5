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

#include "pool.h"

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

    s->pool = lr_pool_new(opts->n_threads, err);
    if (!s->pool) goto fail;
    s->ctx = lr_model_ctx_new(model, s->batch * s->max_len, err);
    if (!s->ctx) goto fail;

    size_t w = (size_t)s->window_lines, c = (size_t)s->n_labels;
    s->line_no = lr__alloc_array(w, sizeof *s->line_no);
    s->n_tokens = lr__alloc_array(w, sizeof *s->n_tokens);
    s->truncated = lr__alloc_array(w, sizeof *s->truncated);
    s->ids = lr__alloc_array(w * (size_t)s->max_len, sizeof *s->ids);
    s->order = lr__alloc_array(w, sizeof *s->order);
    s->sort_keys = lr__alloc_array(w, sizeof *s->sort_keys);
    s->batch_ids = lr__alloc_array((size_t)s->batch, sizeof *s->batch_ids);
    s->batch_lens = lr__alloc_array((size_t)s->batch, sizeof *s->batch_lens);
    s->logits = lr__alloc_array(w * c, sizeof *s->logits);
    s->probs = lr__alloc_array(w * c, sizeof *s->probs);
    if (!s->line_no || !s->n_tokens || !s->truncated || !s->ids || !s->order || !s->sort_keys || !s->batch_ids ||
        !s->batch_lens || !s->logits || !s->probs) {
        lr__err(err, LR_ENOMEM, "out of memory for a window of %d lines", s->window_lines);
        goto fail;
    }
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
    lr__free(s->n_tokens);
    lr__free(s->truncated);
    lr__free(s->ids);
    lr__free(s->order);
    lr__free(s->sort_keys);
    lr__free(s->batch_ids);
    lr__free(s->batch_lens);
    lr__free(s->logits);
    lr__free(s->probs);
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

/* Append one result as a JSON object and '\n' to b. */
static int put_result_json(const lr_scorer *s, lr__buf *b, const lr_score_result *r) {
    int rc = lr__buf_printf(b, "{\"line\":%llu,\"risk_label\":", (unsigned long long)r->line);
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
    rc = rc ? rc : lr__buf_puts(b, "}\n");
    return rc;
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

/* Score every queued line and hand the results to the sink in arrival
 * order; empties the window. */
static int score_window(lr_scorer *s, lr_error *err) {
    int n = s->n_pending;
    if (n == 0) return 0;
    /* order the slots by (token count, slot); the slot lives in the low bits */
    uint64_t *k = s->sort_keys;
    for (int i = 0; i < n; i++) k[i] = ((uint64_t)(uint32_t)s->n_tokens[i] << 32) | (uint32_t)i;
    qsort(k, (size_t)n, sizeof *k, cmp_u64);
    for (int i = 0; i < n; i++) s->order[i] = (int)(k[i] & 0xffffffffu);

    size_t c = (size_t)s->n_labels;
    for (int start = 0; start < n; start += s->batch) {
        int nb = LR_MIN(s->batch, n - start);
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
    for (int i = 0; i < n; i++)
        memcpy(s->logits + (size_t)s->order[i] * c, s->probs + (size_t)i * c, c * sizeof(float));

    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        lr_score_result r;
        float *probs = s->probs + (size_t)i * c;
        r.line = s->line_no[i];
        r.n_labels = s->n_labels;
        r.logits = s->logits + (size_t)i * c;
        r.probs = probs;
        r.n_tokens = s->n_tokens[i];
        r.truncated = s->truncated[i];
        lr_model_outputs(r.logits, s->n_labels, probs, &r.score, &r.label);
        if (s->sink) {
            rc = s->sink(s->sink_user, &r, err);
        } else if (s->out) {
            if (put_result_json(s, &s->out_buf, &r))
                rc = lr__err(err, LR_ENOMEM, "out of memory formatting line %llu",
                             (unsigned long long)r.line);
        }
    }
    s->n_pending = 0;
    if (!rc && s->out) rc = write_out(s, err);
    return rc;
}

/* Queue one raw line (bytes without the '\n'; may hold NUL, invalid UTF-8,
 * a trailing '\r'); `truncated` says the caller cut it. The line is
 * preprocessed and tokenized now (the bytes are not kept); when the window
 * is full, it is scored and the results go to the sink. */
static int push_line(lr_scorer *s, const char *line, size_t len, int truncated, lr_error *err) {
    lr_line_info info;
    int rc = lr_prep_line(s->prep, line, len, &info);
    if (rc) return lr__err(err, rc, "preprocessing line %llu failed: %s",
                           (unsigned long long)s->next_line, lr_strerror(rc));
    int slot = s->n_pending;
    int32_t *ids = s->ids + (size_t)slot * (size_t)s->max_len;
    int n_tok = lr_tok_encode(s->tok, info.text, info.text_len, s->max_len, ids);
    if (n_tok < 2 || n_tok > s->max_len)
        return lr__err(err, n_tok < 0 ? n_tok : LR_ERANGE, "tokenizing line %llu failed (%d tokens)",
                       (unsigned long long)s->next_line, n_tok);
    s->line_no[slot] = s->next_line++;
    s->n_tokens[slot] = n_tok;
    s->truncated[slot] = truncated != 0;
    s->n_pending++;
    s->stat_lines++;
    s->stat_tokens += (uint64_t)n_tok;
    s->stat_truncated += truncated != 0;
    if (s->n_pending == s->window_lines) return score_window(s, err);
    return 0;
}

int lr_scorer_push(lr_scorer *s, const char *line, size_t len, lr_error *err) {
    size_t keep = len > s->max_line_bytes ? s->max_line_bytes : len;
    return push_line(s, line, keep, keep != len, err);
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

/* True when a read of fd would block now (nothing to read yet): a pipe or
 * terminal that is quiet. Regular files never block. */
static bool input_is_quiet(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Read every line of `in_fd` (bounded memory, lr_io_reader with the
 * max_line_bytes cap), score them and write JSON lines to `out` (borrowed,
 * flushed, not closed; the fd is not closed either). When the input is a
 * pipe that has gone quiet, the lines queued so far are scored and written
 * before blocking, so `tail -f x | logrisk score` streams. Any sink set
 * before is replaced by the JSON writer. */
int lr_scorer_run(lr_scorer *s, int in_fd, FILE *out, lr_error *err) {
    lr_scorer_set_output(s, out);
    lr_io_reader *reader = lr_io_reader_new(in_fd, s->max_line_bytes, err);
    if (!reader) return err ? err->code : LR_ENOMEM;
    struct stat st;
    bool regular = fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode);
    int rc = 0;
    for (;;) {
        if (!regular && s->n_pending > 0 && !lr_io_reader_buffered(reader) && input_is_quiet(in_fd)) {
            rc = lr_scorer_flush(s, err);
            if (rc) break;
        }
        const char *line = NULL;
        size_t len = 0;
        int cut = 0;
        rc = lr_io_read_line(reader, &line, &len, &cut, err);
        if (rc <= 0) break;
        rc = push_line(s, line, len, cut, err);
        if (rc) break;
    }
    lr_io_reader_free(reader);
    if (rc < 0) return rc;
    return lr_scorer_flush(s, err);
}
