/*
 * test_score.c — the scoring API: the float formatter, option checks, and
 * the push/flush/sink streaming interface on the tiny model
 * (converted here from tests/fixtures/tiny with a generated
 * vocabulary), checked against a reference path that scores each line
 * alone (prep -> tok -> lr_model_logits -> lr_model_outputs, no window,
 * no sorting, no batching). The CLI and hostile input are tested end to end
 * by tests/score.test.sh.
 */
#include <float.h>
#include <stdint.h>

#include <sys/stat.h>

#include "score.h"
#include "t.h"
#include "score_util.h"

static void test_float_shortest(void) {
    static const float values[] = {0.0f, 1.0f, 0.1f, 0.5f, 1.0f / 3.0f, 9.99999e-8f, 123456.789f,
                                   FLT_MIN, FLT_MAX, -2.5e-30f, 0.0909090936f, 5.30682468f};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        lr__buf b;
        lr__buf_init(&b);
        T_EQ_INT(lr__buf_put_json_float(&b, values[i]), 0);
        T_CHECK(strtof(b.data, NULL) == values[i]); /* round-trips */
        /* and no shorter precision would */
        char shorter[320];
        int digits = 0;
        int seen_nonzero = 0; /* significant digits: from the first non-zero one */
        for (const char *p = b.data; *p && *p != 'e'; p++) {
            if (*p >= '1' && *p <= '9') seen_nonzero = 1;
            digits += seen_nonzero && *p >= '0' && *p <= '9';
        }
        if (digits > 1 && values[i] != 0.0f) {
            snprintf(shorter, sizeof shorter, "%.*g", digits - 1, (double)values[i]);
            T_CHECK(strtof(shorter, NULL) != values[i]);
        }
        lr__buf_free(&b);
    }
    lr__buf b;
    lr__buf_init(&b);
    lr__buf_put_json_float(&b, 0.1f);
    T_EQ_STR(b.data, "0.1");
    lr__buf_clear(&b);
    lr__buf_put_json_float(&b, NAN);
    T_EQ_STR(b.data, "null");
    lr__buf_clear(&b);
    lr__buf_put_json_float(&b, -INFINITY);
    T_EQ_STR(b.data, "null");
    lr__buf_free(&b);
}

static void test_opts_defaults(void) {
    lr_score_opts o;
    memset(&o, 0x5a, sizeof o);
    lr_score_opts_init(&o);
    T_EQ_INT(o.batch, 32);
    T_EQ_INT(o.window, 8);
    T_EQ_INT(o.n_threads, 0);
    T_EQ_INT(o.with_logits, 0);
    T_EQ_INT(o.max_line_bytes, LR_SCORE_MAX_LINE_BYTES);
    T_CHECK(o.rules == NULL);
    /* bad options are refused before the model is touched */
    lr_error err = {0};
    T_CHECK(lr_scorer_new(NULL, &o, &err) == NULL);
    T_EQ_INT(err.code, LR_EINVAL);
}

/* ------------------------------------------------------- with a model */

#define OUT_DIR "tests/out/test_score"

static const char *const lines[] = {
    "2024-01-15T10:30:45.123Z kubelet ERROR connection refused from 192.168.1.100:8080",
    "",
    "a",
    "node disk pressure WARN evicted pod abc-123 after 3 retries on /var/lib/kubelet/pods/x/y",
    "nul \0 in the middle",
    "INFO ok\r",
    "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x",
    "\xff\xfe invalid utf-8",
    "pid=4242 failed",
};
#define N_LINES (sizeof lines / sizeof lines[0])

static size_t line_len(size_t i) {
    return i == 4 ? 20 : strlen(lines[i]); /* line 4 holds a NUL */
}

typedef struct collected {
    int n;
    uint64_t line[64];
    float probs[64][11];
    float score[64];
    int label[64];
    int fail_at; /* return LR_EIO on this call (1-based), 0: never */
} collected;

static int collect(void *user, const lr_score_result *r, lr_error *err) {
    collected *c = user;
    if (c->fail_at && c->n + 1 == c->fail_at) return lr__err(err, LR_EIO, "sink refused");
    if (c->n < 64 && r->n_labels == 11) {
        c->line[c->n] = r->line;
        memcpy(c->probs[c->n], r->probs, sizeof c->probs[0]);
        c->score[c->n] = r->score;
        c->label[c->n] = r->label;
    }
    c->n++;
    return 0;
}

/* The reference: line i scored alone, without the scorer. */
static void reference(const lr_model *m, size_t i, float *probs, float *score, int *label) {
    lr_error err = {0};
    size_t yaml_len = 0;
    const char *yaml = lr_model_rules_yaml(m, &yaml_len);
    lr_rules *rules = yaml ? lr_rules_parse(yaml, yaml_len, "model", &err) : lr_rules_default(&err);
    lr_prep *prep = rules ? lr_prep_new(rules, &err) : NULL;
    size_t vocab_len = 0;
    const char *vocab = lr_model_vocab_text(m, &vocab_len);
    lr_tok *tok = lr_tok_from_text(vocab, vocab_len, &err);
    lr_model_ctx *ctx = lr_model_ctx_new(m, 128, &err);
    T_CHECK(prep && tok && ctx);
    if (prep && tok && ctx) {
        lr_line_info info;
        T_EQ_INT(lr_prep_line(prep, lines[i], line_len(i), &info), 0);
        int32_t ids[128];
        int n = lr_tok_encode(tok, info.text, info.text_len, lr_model_max_len(m), ids);
        const int32_t *p = ids;
        float logits[11];
        T_EQ_INT(lr_model_logits(ctx, NULL, &p, &n, 1, logits, &err), 0);
        lr_model_outputs(logits, 11, probs, score, label);
    }
    lr_model_ctx_free(ctx);
    lr_tok_free(tok);
    lr_prep_free(prep);
    lr_rules_free(rules);
}

static void check_against_reference(const lr_model *m, const collected *c, size_t first) {
    for (int k = 0; k < c->n && k < 64; k++) {
        size_t i = (first + (size_t)k) % N_LINES;
        float probs[11], score;
        int label;
        reference(m, i, probs, &score, &label);
        T_EQ_INT(c->label[k], label);
        T_NEAR(c->score[k], score, 1e-5);
        for (int j = 0; j < 11; j++) T_NEAR(c->probs[k][j], probs[j], 1e-6);
    }
}

static void test_push_flush_order(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.batch = 2;
    o.window = 2; /* 4 lines per window */
    o.n_threads = 2;
    lr_error err = {0};
    lr_scorer *s = lr_scorer_new(m, &o, &err);
    T_CHECK(s != NULL);
    if (!s) {
        lr_model_free(m);
        return;
    }
    collected c = {0};
    lr_scorer_set_sink(s, collect, &c);
    for (size_t i = 0; i < 3; i++) T_EQ_INT(lr_scorer_push(s, lines[i], line_len(i), &err), 0);
    T_EQ_INT(lr_scorer_pending(s), 3); /* nothing delivered before the window is full */
    T_EQ_INT(c.n, 0);
    T_EQ_INT(lr_scorer_push(s, lines[3], line_len(3), &err), 0);
    T_EQ_INT(lr_scorer_pending(s), 0);
    T_EQ_INT(c.n, 4);
    for (size_t i = 4; i < N_LINES; i++) T_EQ_INT(lr_scorer_push(s, lines[i], line_len(i), &err), 0);
    T_EQ_INT(lr_scorer_flush(s, &err), 0);
    T_EQ_INT(lr_scorer_pending(s), 0);
    T_EQ_INT(c.n, (int)N_LINES);
    for (int k = 0; k < c.n; k++) T_EQ_INT(c.line[k], k + 1); /* input order */
    check_against_reference(m, &c, 0);
    T_EQ_INT(lr_scorer_flush(s, &err), 0); /* flushing nothing is fine */
    T_EQ_INT(c.n, (int)N_LINES);
    uint64_t n_lines = 0, n_tokens = 0, n_cut = 1;
    lr_scorer_stats(s, &n_lines, &n_tokens, &n_cut);
    T_EQ_INT(n_lines, N_LINES);
    T_CHECK(n_tokens >= 2 * N_LINES);
    T_EQ_INT(n_cut, 0);
    lr_scorer_free(s);
    lr_model_free(m);
}

static void test_window_sizes_agree(void) {
    /* every batch / window / thread setting gives the reference's results */
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    static const int settings[][3] = {{1, 1, 1}, {3, 1, 2}, {32, 8, 2}, {4, 3, 1}};
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        lr_score_opts o;
        lr_score_opts_init(&o);
        o.batch = settings[k][0];
        o.window = settings[k][1];
        o.n_threads = settings[k][2];
        lr_error err = {0};
        lr_scorer *s = lr_scorer_new(m, &o, &err);
        T_CHECK(s != NULL);
        if (!s) continue;
        collected c = {0};
        lr_scorer_set_sink(s, collect, &c);
        for (size_t r = 0; r < 3; r++) /* 27 lines: windows end mid-way */
            for (size_t i = 0; i < N_LINES; i++) T_EQ_INT(lr_scorer_push(s, lines[i], line_len(i), &err), 0);
        T_EQ_INT(lr_scorer_flush(s, &err), 0);
        T_EQ_INT(c.n, 3 * (int)N_LINES);
        for (int j = 0; j < c.n; j++) T_EQ_INT(c.line[j], j + 1);
        check_against_reference(m, &c, 0);
        lr_scorer_free(s);
    }
    lr_model_free(m);
}

static void test_sink_error_and_cap(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.max_line_bytes = 8;
    o.batch = 300; /* over the limit: refused */
    lr_error err = {0};
    T_CHECK(lr_scorer_new(m, &o, &err) == NULL);
    T_EQ_INT(err.code, LR_EINVAL);
    o.batch = 4;
    lr_scorer *s = lr_scorer_new(m, &o, &err);
    T_CHECK(s != NULL);
    if (!s) {
        lr_model_free(m);
        return;
    }
    collected c = {0};
    c.fail_at = 2;
    lr_scorer_set_sink(s, collect, &c);
    T_EQ_INT(lr_scorer_push(s, lines[0], line_len(0), &err), 0); /* 82 bytes: cut to 8 */
    T_EQ_INT(lr_scorer_push(s, lines[2], line_len(2), &err), 0);
    T_EQ_INT(lr_scorer_flush(s, &err), LR_EIO); /* the sink's error comes back */
    T_CHECK(strstr(err.msg, "sink refused") != NULL);
    uint64_t n_cut = 0;
    lr_scorer_stats(s, NULL, NULL, &n_cut);
    T_EQ_INT(n_cut, 1);
    lr_scorer_free(s);
    lr_model_free(m);
}

/* Push lines[seq[k]] as records numbered 10, 20, ... and check every
 * result against the reference and the cache counters. */
static void run_cache_case(lr_model *m, int cache, int batch, int window, const int *seq, int n, uint64_t want_hits) {
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.batch = batch;
    o.window = window;
    o.n_threads = 1;
    o.cache_entries = cache;
    lr_error err = {0};
    lr_scorer *s = lr_scorer_new(m, &o, &err);
    T_CHECK(s != NULL);
    if (!s) return;
    collected c = {0};
    lr_scorer_set_sink(s, collect, &c);
    for (int k = 0; k < n; k++)
        T_EQ_INT(lr_scorer_push_record(s, lines[seq[k]], line_len((size_t)seq[k]), (uint64_t)(k + 1) * 10, 0, &err), 0);
    T_EQ_INT(lr_scorer_flush(s, &err), 0);
    T_EQ_INT(c.n, n);
    for (int k = 0; k < c.n && k < 64; k++) {
        T_EQ_INT(c.line[k], (uint64_t)(k + 1) * 10);
        float probs[11], score;
        int label;
        reference(m, (size_t)seq[k], probs, &score, &label);
        T_EQ_INT(c.label[k], label);
        for (int j = 0; j < 11; j++) T_NEAR(c.probs[k][j], probs[j], 1e-6);
    }
    uint64_t hits = 99, lookups = 99, written = 0;
    lr_scorer_cache_stats(s, &hits, &lookups, &written);
    T_EQ_INT(hits, want_hits);
    T_EQ_INT(lookups, cache ? (uint64_t)n : 0);
    T_EQ_INT(written, (uint64_t)n);
    lr_scorer_free(s);
}

static void test_cache_lru(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    /* A B A C B C with 2 entries, scored one at a time: A miss, B miss,
     * A hit, C miss (evicts B, the least recently used), B miss (evicts A),
     * C hit */
    static const int seq[] = {0, 3, 0, 4, 3, 4};
    run_cache_case(m, 2, 1, 1, seq, 6, 2);
    run_cache_case(m, 0, 1, 1, seq, 6, 0);
    /* repeats inside one window reuse the first one's result: A A B A */
    static const int dup[] = {0, 0, 3, 0};
    run_cache_case(m, 16, 2, 2, dup, 4, 2);
    lr_model_free(m);
}

T_MAIN(T_CASE(test_float_shortest), T_CASE(test_opts_defaults), T_CASE(test_push_flush_order),
       T_CASE(test_window_sizes_agree), T_CASE(test_sink_error_and_cap), T_CASE(test_cache_lru))
