/*
 * eval.c — how well risk scores agree with judged labels.
 *
 * Design
 *  - A gold file is JSON lines, one judged event each:
 *        {"text": "<the log event>", "risk": 0..10, ...}
 *    "text" may hold several lines ('\n') of one event (a stack trace).
 *    Optional members: "split" (train / dev / test; lr_eval_opts.split
 *    keeps one), and any string member named by lr_eval_opts.by (default
 *    "origin") that groups the per-source table. A line that is not such an
 *    object is an error naming its line number; empty lines are skipped.
 *  - The model side scores each text as `logrisk score` would read it as a
 *    file of its own: records -> events (formats, wrappers, one multi-line
 *    group) -> the scorer. A text that still gives several events takes the
 *    highest risk of them (what an operator would look at first). Texts are
 *    scored in batches like any input, each under its own line number.
 *  - The rules side gives each event the weak label of a rules file on the
 *    canonical rendering of its (first) event: the rules' level base plus
 *    keyword bonuses, 0..10, with no probabilities.
 *  - Metrics (lr_eval_compute) take the per-event score (risk_score, the
 *    median risk, for the model; the label for the rules) for ranking and error, and the
 *    predicted label (argmax; the rules' label) for accuracy and the >= 7
 *    decision:
 *      spearman      Pearson correlation of the average ranks;
 *      kendall       Kendall's tau-b (ties in either side corrected);
 *      auc           P(score of a gold >= 7 event > score of a gold < 7
 *                    event), ties counting one half;
 *      mae           mean |score - gold|;
 *      exact, within_one   share of labels equal to gold, within 1 of it;
 *      precision, recall   of "label >= 7" for "gold >= 7";
 *      ece           expected calibration error of the top probability
 *                    against "label == gold", 10 equal-width bins
 *                    (NaN when there are no probabilities).
 *    A figure that is undefined on the data (one class only, a constant
 *    side) is NaN and printed as "-".
 */
#include "eval.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

/* ------------------------------------------------------------ metrics */

typedef struct ranked {
    double v;
    int i;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Average ranks (1-based, ties share their mean rank) of v[0..n) into r. */
static int average_ranks(const double *v, int n, double *r) {
    ranked *s = lr__alloc_array((size_t)n, sizeof *s);
    if (!s) return LR_ENOMEM;
    for (int i = 0; i < n; i++) s[i] = (ranked){v[i], i};
    qsort(s, (size_t)n, sizeof *s, cmp_ranked);
    for (int lo = 0; lo < n;) {
        int hi = lo;
        while (hi + 1 < n && s[hi + 1].v == s[lo].v) hi++;
        double mean = 0.5 * (lo + hi) + 1.0;
        for (int k = lo; k <= hi; k++) r[s[k].i] = mean;
        lo = hi + 1;
    }
    lr__free(s);
    return 0;
}

static double pearson(const double *x, const double *y, int n) {
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

/* Kendall's tau-b over all pairs: (C - D) / sqrt((P - Tx)(P - Ty)). */
static double kendall_tau_b(const double *x, const double *y, int n) {
    double concordant = 0, discordant = 0, tie_x = 0, tie_y = 0, pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            pairs += 1;
            if (dx == 0) tie_x += 1;
            if (dy == 0) tie_y += 1;
            if (dx != 0 && dy != 0) {
                if ((dx > 0) == (dy > 0))
                    concordant += 1;
                else
                    discordant += 1;
            }
        }
    double den = sqrt((pairs - tie_x) * (pairs - tie_y));
    return den > 0 ? (concordant - discordant) / den : NAN;
}

int lr_eval_compute(const lr_eval_item *items, int n, lr_eval_metrics *m) {
    memset(m, 0, sizeof *m);
    m->n = n;
    m->spearman = m->kendall = m->auc = m->mae = m->exact = m->within_one = NAN;
    m->precision = m->recall = m->ece = NAN;
    if (n <= 0) return 0;
    double *gold = lr__alloc_array((size_t)n, sizeof *gold);
    double *score = lr__alloc_array((size_t)n, sizeof *score);
    double *rg = lr__alloc_array((size_t)n, sizeof *rg);
    double *rs = lr__alloc_array((size_t)n, sizeof *rs);
    int rc = gold && score && rg && rs ? 0 : LR_ENOMEM;
    for (int i = 0; !rc && i < n; i++) gold[i] = items[i].gold, score[i] = items[i].score;
    if (!rc) rc = average_ranks(gold, n, rg);
    if (!rc) rc = average_ranks(score, n, rs);
    if (!rc) {
        m->spearman = pearson(rg, rs, n);
        m->kendall = kendall_tau_b(gold, score, n);
        /* AUC from the ranks of the scores (Mann-Whitney U) */
        double pos_rank_sum = 0;
        int n_pos = 0;
        for (int i = 0; i < n; i++)
            if (gold[i] >= 7) pos_rank_sum += rs[i], n_pos++;
        int n_neg = n - n_pos;
        m->n_pos = n_pos;
        if (n_pos > 0 && n_neg > 0)
            m->auc = (pos_rank_sum - 0.5 * n_pos * (n_pos + 1.0)) / ((double)n_pos * n_neg);
        double abs_err = 0;
        int exact = 0, within = 0, tp = 0, pred_pos = 0, with_conf = 0;
        for (int i = 0; i < n; i++) {
            abs_err += fabs(score[i] - gold[i]);
            int d = abs(items[i].label - (int)gold[i]);
            exact += d == 0;
            within += d <= 1;
            pred_pos += items[i].label >= 7;
            tp += items[i].label >= 7 && gold[i] >= 7;
            with_conf += items[i].confidence >= 0;
        }
        m->mae = abs_err / n;
        m->exact = (double)exact / n;
        m->within_one = (double)within / n;
        if (pred_pos > 0) m->precision = (double)tp / pred_pos;
        if (n_pos > 0) m->recall = (double)tp / n_pos;
        if (with_conf == n) {
            double conf_sum[10] = {0}, hit_sum[10] = {0};
            int count[10] = {0};
            for (int i = 0; i < n; i++) {
                double c = items[i].confidence;
                int b = c >= 1.0 ? 9 : (int)(c * 10.0);
                conf_sum[b] += c;
                hit_sum[b] += items[i].label == (int)gold[i];
                count[b]++;
            }
            double ece = 0;
            for (int b = 0; b < 10; b++)
                if (count[b]) ece += fabs(hit_sum[b] - conf_sum[b]) / n;
            m->ece = ece;
        }
    }
    lr__free(gold);
    lr__free(score);
    lr__free(rg);
    lr__free(rs);
    return rc;
}

/* ---------------------------------------------------------- gold file */

void lr_eval_gold_free(lr_eval_gold *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        lr__free(g->events[i].text);
        lr__free(g->events[i].group);
    }
    lr__free(g->events);
    memset(g, 0, sizeof *g);
}

/* One gold line into g (appended), or an error naming the line. */
static int gold_line(lr_eval_gold *g, const char *line, size_t len, uint64_t line_no, const char *path,
                     const char *split, const char *by, lr_error *err) {
    lr_error jerr = {0};
    lr__json_doc *doc = lr__json_parse(line, len, 0, &jerr);
    if (!doc)
        return lr__err(err, jerr.code == LR_ENOMEM ? LR_ENOMEM : LR_EPARSE, "%s:%llu: not JSON: %s", path,
                       (unsigned long long)line_no, jerr.msg);
    const lr__json *root = lr__json_root(doc);
    const char *text = NULL, *split_s = NULL, *group = "all";
    size_t text_len = 0, split_len = 0, group_len = 3;
    const lr__json *risk = lr__json_get(root, "risk");
    int rc = 0;
    if (root->type != LR_JSON_OBJECT)
        rc = lr__err(err, LR_EPARSE, "%s:%llu: a gold line must be a JSON object", path, (unsigned long long)line_no);
    else if (!lr__json_get_str(root, "text", &text, &text_len))
        rc = lr__err(err, LR_EPARSE, "%s:%llu: no \"text\" string", path, (unsigned long long)line_no);
    else if (!risk || risk->type != LR_JSON_NUMBER || !risk->is_int || risk->i64 < 0 || risk->i64 > 10)
        rc = lr__err(err, LR_EPARSE, "%s:%llu: \"risk\" must be a whole number from 0 to 10", path,
                     (unsigned long long)line_no);
    if (!rc && split &&
        (!lr__json_get_str(root, "split", &split_s, &split_len) || split_len != strlen(split) ||
         memcmp(split_s, split, split_len) != 0)) {
        lr__json_free(doc);
        return 0;
    }
    if (!rc && by) lr__json_get_str(root, by, &group, &group_len);
    if (!rc && g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 1024;
        lr_eval_event *ev = lr__realloc(g->events, (size_t)cap * sizeof *ev);
        if (!ev)
            rc = lr__err(err, LR_ENOMEM, "out of memory");
        else
            g->events = ev, g->cap = cap;
    }
    if (!rc) {
        lr_eval_event *e = &g->events[g->n];
        e->text = lr__strndup(text, text_len);
        e->text_len = text_len;
        e->group = lr__strndup(group, group_len);
        e->gold = (int)risk->i64;
        e->line = line_no;
        if (!e->text || !e->group) {
            lr__free(e->text);
            lr__free(e->group);
            rc = lr__err(err, LR_ENOMEM, "out of memory");
        } else {
            g->n++;
        }
    }
    lr__json_free(doc);
    return rc;
}

int lr_eval_gold_load(const char *path, const char *split, const char *by, lr_eval_gold *g, lr_error *err) {
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) return lr__err(err, LR_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lr__err(err, LR_EIO, "%s: not a regular file", path);
    }
    lr_io_reader *rd = lr_io_reader_new(fd, 0, err);
    int rc = rd ? 0 : LR_ENOMEM;
    const char *line;
    size_t len;
    while (!rc) {
        int got = lr_io_read_line(rd, &line, &len, NULL, err);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0) break;
        if (len && line[len - 1] == '\r') len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == len) continue;
        rc = gold_line(g, line, len, lr_io_lines(rd), path, split, by, err);
    }
    lr_io_reader_free(rd);
    close(fd);
    if (!rc && g->n == 0)
        rc = lr__err(err, LR_EFORMAT, "%s: no gold events%s%s%s", path, split ? " in split \"" : "",
                     split ? split : "", split ? "\"" : "");
    if (rc) lr_eval_gold_free(g);
    return rc;
}

/* ------------------------------------------------------------ scoring */

typedef struct collect {
    lr_eval_item *items;
    int n;
    char *seen;    /* 1 once an event of that gold line has a result */
    float *logits; /* [n * n_labels] of the kept result, or NULL     */
} collect;

/* The scorer's sink: result->line is the gold index + 1; the highest risk
 * of a text's events is kept. */
static int collect_sink(void *user, const lr_score_result *r, lr_error *err) {
    collect *c = user;
    if (r->line < 1 || r->line > (uint64_t)c->n) return lr__err(err, LR_ERANGE, "result for an unknown event");
    lr_eval_item *it = &c->items[r->line - 1];
    if (!c->seen[r->line - 1] || r->score > it->score) {
        it->score = r->score;
        it->label = r->label;
        it->confidence = r->probs[r->label];
        c->seen[r->line - 1] = 1;
        if (c->logits) memcpy(c->logits + (r->line - 1) * (size_t)r->n_labels, r->logits, (size_t)r->n_labels * sizeof(float));
    }
    return 0;
}

/* Put text in the memory file fd (from its start) and rewind it. */
static int memfile_set(int fd, const char *text, size_t len, lr_error *err) {
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return lr__err(err, LR_EIO, "memory file: %s", strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return lr__err(err, LR_EIO, "memory file: %s", strerror(errno));
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) return lr__err(err, LR_EIO, "memory file: %s", strerror(errno));
    return 0;
}

/* Each event of `text` (read as a file of its own) to fn(user, ev, i). */
typedef int (*event_fn)(void *user, lr_event *ev, int index, lr_error *err);

static int for_each_event(int fd, const char *text, size_t len, int index, event_fn fn, void *user,
                          lr_error *err) {
    int rc = memfile_set(fd, text, len, err);
    if (rc) return rc;
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    lr_records *recs = lr_records_new(fd, &ro, err);
    if (!recs) return err && err->code ? err->code : LR_ENOMEM;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    lr_events *evs = lr_events_new(recs, &eo, err);
    rc = evs ? 0 : (err && err->code ? err->code : LR_ENOMEM);
    int n_events = 0;
    while (!rc) {
        lr_event ev;
        int got = lr_events_next(evs, &ev, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        /* an empty line beside the event is not an event of its own */
        if (ev.message_len == 0 && ev.error_len == 0 && !ev.level && n_events > 0) continue;
        n_events++;
        rc = fn(user, &ev, index, err);
    }
    lr_events_free(evs);
    lr_records_free(recs);
    return rc;
}

typedef struct score_ctx {
    lr_scorer *scorer;
    lr_prep *prep;
    lr_eval_item *rules_out;
    char *seen_rules;
    lr__buf render;
} score_ctx;

static int score_event(void *user, lr_event *ev, int index, lr_error *err) {
    score_ctx *s = user;
    if (s->prep && !s->seen_rules[index]) {
        size_t n = lr_event_render(ev, NULL, 0, NULL);
        lr__buf_clear(&s->render);
        if (lr__buf_reserve(&s->render, n + 1)) return lr__err(err, LR_ENOMEM, "out of memory");
        lr_event_render(ev, s->render.data, n + 1, NULL);
        lr_line_info info;
        if (lr_prep_line(s->prep, s->render.data, n, &info)) return lr__err(err, LR_ENOMEM, "out of memory");
        s->rules_out[index] = (lr_eval_item){.score = info.label, .label = info.label, .confidence = -1};
        s->seen_rules[index] = 1;
    }
    ev->line = ev->line_end = (uint64_t)index + 1;
    return lr_scorer_push_event(s->scorer, ev, err);
}

static int open_memfile(lr_error *err) {
    int fd = memfd_create("logrisk-eval", MFD_CLOEXEC);
    if (fd < 0) return lr__err(err, LR_EIO, "memfd_create: %s", strerror(errno));
    return fd;
}

int lr_eval_score(const lr_model *model, const lr_score_opts *opts, const lr_rules *rules,
                  const lr_eval_gold *g, lr_eval_item *model_out, lr_eval_item *rules_out, float *logits_out,
                  lr_error *err) {
    collect c = {.items = model_out, .n = g->n, .seen = lr__calloc((size_t)g->n, 1), .logits = logits_out};
    score_ctx s = {.rules_out = rules_out, .seen_rules = lr__calloc((size_t)g->n, 1)};
    lr__buf_init(&s.render);
    int fd = -1, rc = c.seen && s.seen_rules ? 0 : lr__err(err, LR_ENOMEM, "out of memory");
    if (!rc) rc = fd = open_memfile(err);
    if (fd >= 0) rc = 0;
    if (!rc && rules) {
        s.prep = lr_prep_new(rules, err);
        if (!s.prep) rc = err && err->code ? err->code : LR_ENOMEM;
    }
    if (!rc) {
        s.scorer = lr_scorer_new(model, opts, err);
        if (!s.scorer) rc = err && err->code ? err->code : LR_ENOMEM;
    }
    if (!rc) lr_scorer_set_sink(s.scorer, collect_sink, &c);
    for (int i = 0; !rc && i < g->n; i++) {
        model_out[i] = (lr_eval_item){.gold = g->events[i].gold, .confidence = -1};
        if (rules_out) rules_out[i] = (lr_eval_item){.gold = g->events[i].gold, .confidence = -1};
        rc = for_each_event(fd, g->events[i].text, g->events[i].text_len, i, score_event, &s, err);
        if (rc) {
            lr_error inner = err ? *err : (lr_error){0};
            rc = lr__err(err, rc, "gold line %llu: %s", (unsigned long long)g->events[i].line, inner.msg);
        }
    }
    if (!rc) rc = lr_scorer_flush(s.scorer, err);
    for (int i = 0; !rc && i < g->n; i++) {
        if (!c.seen[i])
            rc = lr__err(err, LR_EPARSE, "gold line %llu: the text holds no event",
                         (unsigned long long)g->events[i].line);
        model_out[i].gold = g->events[i].gold;
        if (rules_out) rules_out[i].gold = g->events[i].gold;
    }
    lr_scorer_free(s.scorer);
    lr_prep_free(s.prep);
    lr__buf_free(&s.render);
    if (fd >= 0) close(fd);
    lr__free(c.seen);
    lr__free(s.seen_rules);
    return rc;
}

/* -------------------------------------------------------- temperature */

/* Mean negative log-likelihood of the gold labels under softmax(z / T). */
static double mean_nll(const float *logits, const int *gold, int n, int C, double T) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * C;
        double mx = z[0];
        for (int k = 1; k < C; k++) mx = z[k] > mx ? z[k] : mx;
        double se = 0;
        for (int k = 0; k < C; k++) se += exp((z[k] - mx) / T);
        sum += -((z[gold[i]] - mx) / T - log(se));
    }
    return sum / n;
}

double lr_eval_fit_temperature(const float *logits, const int *gold, int n, int C, double *nll_before,
                               double *nll_after) {
    /* golden-section search of log T in [log 0.05, log 20]: the NLL is
     * convex in 1/T, so it has one minimum there */
    const double phi = 0.5 * (sqrt(5.0) - 1.0);
    double lo = log(0.05), hi = log(20.0);
    double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    double fa = mean_nll(logits, gold, n, C, exp(a)), fb = mean_nll(logits, gold, n, C, exp(b));
    for (int it = 0; it < 80; it++) {
        if (fa < fb) {
            hi = b, b = a, fb = fa;
            a = hi - phi * (hi - lo);
            fa = mean_nll(logits, gold, n, C, exp(a));
        } else {
            lo = a, a = b, fa = fb;
            b = lo + phi * (hi - lo);
            fb = mean_nll(logits, gold, n, C, exp(b));
        }
    }
    double T = exp(0.5 * (lo + hi));
    if (nll_before) *nll_before = mean_nll(logits, gold, n, C, 1.0);
    if (nll_after) *nll_after = mean_nll(logits, gold, n, C, T);
    return T;
}

/* ----------------------------------------------------------- wrappers */

enum { W_PLAIN, W_ZAP, W_LOGRUS, W_SLOG, W_LOGFMT, W_KLOG, W_SYSLOG, W_LOG4J, W_CRI, W_DOCKER, N_WRAPPERS };

/* How the wrappers write a canonical level: the word (lower or upper case),
 * klog's letter, syslog's severity; NULL / -1 where the format has none. */
typedef struct level_forms {
    const char *canon, *lower, *klog;
    int syslog;
} level_forms;

static const level_forms LEVELS[] = {
    {"TRACE", "trace", NULL, -1},    {"DEBUG", "debug", NULL, 7},    {"INFO", "info", "I", 6},
    {"NOTICE", "notice", NULL, 5},   {"WARN", "warn", "W", -1},      {"WARNING", "warning", NULL, 4},
    {"ERROR", "error", "E", 3},      {"CRITICAL", "critical", NULL, 2}, {"ALERT", "alert", NULL, 1},
    {"FATAL", "fatal", "F", -1},     {"PANIC", "panic", NULL, -1},   {"EMERG", "emerg", NULL, 0},
};

static const level_forms *level_of(const char *canon) {
    if (!canon) return NULL;
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (strcmp(LEVELS[i].canon, canon) == 0) return &LEVELS[i];
    return NULL;
}

/* A form names `canon` when the event layer reads it back as canon. */
static int names(const char *form, const char *canon) {
    const char *back = form ? lr_event_level_name(form, strlen(form)) : NULL;
    return back && strcmp(back, canon) == 0;
}

/* Append s as the body of a logfmt quoted value (escape " and \, and
 * line breaks and tabs as \n \r \t, so that the record is one line). */
static int put_logfmt(lr__buf *b, const char *s, size_t len) {
    int rc = lr__buf_putc(b, '"');
    for (size_t i = 0; !rc && i < len; i++) {
        const char *esc = s[i] == '\n' ? "\\n" : s[i] == '\r' ? "\\r" : s[i] == '\t' ? "\\t" : NULL;
        if (esc) {
            rc = lr__buf_puts(b, esc);
            continue;
        }
        if (s[i] == '"' || s[i] == '\\') rc = lr__buf_putc(b, '\\');
        if (!rc) rc = lr__buf_putc(b, s[i]);
    }
    return rc ? rc : lr__buf_putc(b, '"');
}

/* The JSON object of a zap / logrus / slog record into b. */
static int json_record(lr__buf *b, int style, const level_forms *lv, const char *msg, size_t msg_len,
                       const char *err_s, size_t err_len) {
    static const char *const msg_key[] = {"msg", "msg", "msg"}, *const err_key[] = {"error", "error", "err"};
    int rc = lr__buf_puts(b, style == 1 ? "{\"time\":\"2026-12-07T10:00:00Z\"" : "{\"ts\":1796637600.5");
    if (!rc && lv) {
        rc = lr__buf_printf(b, ",\"level\":\"%s\"", style == 2 ? lv->canon : lv->lower);
    }
    if (!rc) rc = lr__buf_printf(b, ",\"%s\":", msg_key[style]);
    if (!rc) rc = lr__buf_put_json_string(b, msg, msg_len);
    if (!rc && err_len) {
        rc = lr__buf_printf(b, ",\"%s\":", err_key[style]);
        if (!rc) rc = lr__buf_put_json_string(b, err_s, err_len);
    }
    return rc ? rc : lr__buf_putc(b, '}');
}

/* Event ev written in wrapper w into b; 1 when written, 0 when the wrapper
 * cannot carry this event (its level, or a line break), LR_ENOMEM. */
static int write_wrapped(lr__buf *b, int w, const char *level, const char *msg, size_t msg_len, const char *err_s,
                         size_t err_len) {
    const level_forms *lv = level_of(level);
    if (level && !lv) return 0;
    int one_line = !memchr(msg, '\n', msg_len) && !memchr(err_s, '\n', err_len);
    lr__buf_clear(b);
    lr__buf joined; /* "message: error", for formats with no error field */
    lr__buf_init(&joined);
    int rc = lr__buf_put(&joined, msg, msg_len);
    if (!rc && err_len) rc = lr__buf_printf(&joined, "%s", msg_len ? ": " : "");
    if (!rc) rc = lr__buf_put(&joined, err_s, err_len);
    int ok = 1;
    switch (w) {
    case W_PLAIN:
        ok = one_line && (!lv || names(lv->canon, lv->canon));
        if (ok) rc = lr__buf_printf(b, "2026-12-07 10:00:00.123 %s%s", lv ? lv->canon : "", lv ? " " : "");
        if (ok && !rc) rc = lr__buf_put(b, joined.data, joined.len);
        break;
    case W_ZAP: case W_LOGRUS: case W_SLOG:
        ok = !lv || names(w == W_SLOG ? lv->canon : lv->lower, lv->canon);
        if (ok) rc = json_record(b, w - W_ZAP, lv, msg, msg_len, err_s, err_len);
        break;
    case W_LOGFMT:
        ok = !lv || names(lv->lower, lv->canon);
        if (ok) rc = lr__buf_puts(b, "time=2026-12-07T10:00:00Z");
        if (ok && !rc && lv) rc = lr__buf_printf(b, " level=%s", lv->lower);
        if (ok && !rc) rc = lr__buf_puts(b, " msg=");
        if (ok && !rc) rc = put_logfmt(b, msg, msg_len);
        if (ok && !rc && err_len) {
            rc = lr__buf_puts(b, " err=");
            if (!rc) rc = put_logfmt(b, err_s, err_len);
        }
        break;
    case W_KLOG:
        ok = one_line && lv && lv->klog && names(lv->klog, lv->canon);
        if (ok) rc = lr__buf_printf(b, "%s1207 10:00:00.123456    4242 handler.go:87] ", lv->klog);
        if (ok && !rc) rc = lr__buf_put(b, joined.data, joined.len);
        break;
    case W_SYSLOG:
        ok = one_line && lv && lv->syslog >= 0;
        if (ok) rc = lr__buf_printf(b, "<%d>1 2026-12-07T10:00:00.123Z node-1 app 4242 - - ", 8 + lv->syslog);
        if (ok && !rc) rc = lr__buf_put(b, joined.data, joined.len);
        break;
    case W_LOG4J:
        ok = one_line && lv && names(lv->canon, lv->canon);
        if (ok) rc = lr__buf_printf(b, "2026-12-07 10:00:00,123 [main] %s com.example.App - ", lv->canon);
        if (ok && !rc) rc = lr__buf_put(b, joined.data, joined.len);
        break;
    case W_CRI:
        ok = !lv || names(lv->lower, lv->canon);
        if (ok) rc = lr__buf_puts(b, "2026-12-07T10:00:00.123456789Z stderr F ");
        if (ok && !rc) rc = json_record(b, 0, lv, msg, msg_len, err_s, err_len);
        break;
    case W_DOCKER: {
        ok = !lv || names(lv->lower, lv->canon);
        lr__buf inner;
        lr__buf_init(&inner);
        if (ok) rc = json_record(&inner, 0, lv, msg, msg_len, err_s, err_len);
        if (ok && !rc) rc = lr__buf_putc(&inner, '\n');
        if (ok && !rc) rc = lr__buf_puts(b, "{\"log\":");
        if (ok && !rc) rc = lr__buf_put_json_string(b, inner.data, inner.len);
        if (ok && !rc) rc = lr__buf_puts(b, ",\"stream\":\"stderr\",\"time\":\"2026-12-07T10:00:00.123456789Z\"}");
        lr__buf_free(&inner);
        break;
    }
    }
    lr__buf_free(&joined);
    if (rc) return LR_ENOMEM;
    return ok;
}

typedef struct canon_copy {
    char *level;
    lr__buf msg, err;
    int have;
} canon_copy;

static int keep_first(void *user, lr_event *ev, int index, lr_error *err) {
    (void)index;
    canon_copy *c = user;
    if (c->have) return 0;
    c->have = 1;
    c->level = ev->level ? lr__strdup(ev->level) : NULL;
    if ((ev->level && !c->level) || lr__buf_put(&c->msg, ev->message, ev->message_len) ||
        lr__buf_put(&c->err, ev->error, ev->error_len))
        return lr__err(err, LR_ENOMEM, "out of memory");
    return 0;
}

typedef struct spread_ctx {
    lr_scorer *scorer;
    double *scores; /* [n * N_WRAPPERS], NAN where not scored */
} spread_ctx;

static int spread_sink(void *user, const lr_score_result *r, lr_error *err) {
    (void)err;
    spread_ctx *s = user;
    double *slot = &s->scores[r->line - 1];
    if (isnan(*slot) || r->score > *slot) *slot = r->score;
    return 0;
}

static int push_wrapped(void *user, lr_event *ev, int index, lr_error *err) {
    spread_ctx *s = user;
    ev->line = ev->line_end = (uint64_t)index + 1;
    return lr_scorer_push_event(s->scorer, ev, err);
}

int lr_eval_wrappers(const lr_model *model, const lr_score_opts *opts, const lr_eval_gold *g,
                     lr_eval_spread *out, lr_error *err) {
    memset(out, 0, sizeof *out);
    out->n_wrappers = N_WRAPPERS;
    size_t cells = (size_t)g->n * N_WRAPPERS;
    spread_ctx s = {.scores = lr__alloc_array(cells, sizeof(double))};
    out->per_event = lr__alloc_array((size_t)g->n, sizeof(double));
    lr__buf line;
    lr__buf_init(&line);
    int fd = -1, rc = s.scores && out->per_event ? 0 : lr__err(err, LR_ENOMEM, "out of memory");
    for (size_t k = 0; s.scores && k < cells; k++) s.scores[k] = NAN;
    if (!rc) rc = fd = open_memfile(err);
    if (fd >= 0) rc = 0;
    if (!rc) {
        s.scorer = lr_scorer_new(model, opts, err);
        if (!s.scorer) rc = err && err->code ? err->code : LR_ENOMEM;
    }
    if (!rc) lr_scorer_set_sink(s.scorer, spread_sink, &s);
    for (int i = 0; !rc && i < g->n; i++) {
        canon_copy c = {0};
        lr__buf_init(&c.msg);
        lr__buf_init(&c.err);
        rc = for_each_event(fd, g->events[i].text, g->events[i].text_len, i, keep_first, &c, err);
        for (int w = 0; !rc && c.have && w < N_WRAPPERS; w++) {
            int got = write_wrapped(&line, w, c.level, c.msg.data ? c.msg.data : "", c.msg.len,
                                    c.err.data ? c.err.data : "", c.err.len);
            if (got < 0) rc = lr__err(err, got, "out of memory");
            if (got > 0)
                rc = for_each_event(fd, line.data, line.len, i * N_WRAPPERS + w, push_wrapped, &s, err);
        }
        lr__free(c.level);
        lr__buf_free(&c.msg);
        lr__buf_free(&c.err);
    }
    if (!rc) rc = lr_scorer_flush(s.scorer, err);
    double sum = 0;
    for (int i = 0; !rc && i < g->n; i++) {
        double lo = INFINITY, hi = -INFINITY;
        int n_scored = 0;
        out->per_event[i] = NAN;
        for (int w = 0; w < N_WRAPPERS; w++) {
            double v = s.scores[(size_t)i * N_WRAPPERS + w];
            if (isnan(v)) continue;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            n_scored++;
        }
        if (n_scored < 2) continue;
        out->per_event[i] = hi - lo;
        sum += hi - lo;
        out->max = hi - lo > out->max ? hi - lo : out->max;
        out->n++;
    }
    out->mean = out->n ? sum / out->n : NAN;
    lr_scorer_free(s.scorer);
    lr__buf_free(&line);
    if (fd >= 0) close(fd);
    lr__free(s.scores);
    if (rc) lr_eval_spread_free(out);
    return rc;
}

void lr_eval_spread_free(lr_eval_spread *s) {
    lr__free(s->per_event);
    s->per_event = NULL;
}

/* ------------------------------------------------------------- report */

static const struct {
    const char *key, *title;
    size_t off;
} FIGURES[] = {
    {"spearman", "Spearman", offsetof(lr_eval_metrics, spearman)},
    {"kendall_tau_b", "Kendall tau-b", offsetof(lr_eval_metrics, kendall)},
    {"auc_ge7", "AUC (gold >= 7)", offsetof(lr_eval_metrics, auc)},
    {"mae", "MAE", offsetof(lr_eval_metrics, mae)},
    {"exact", "exact", offsetof(lr_eval_metrics, exact)},
    {"within_one", "within one", offsetof(lr_eval_metrics, within_one)},
    {"precision_ge7", "precision (>= 7)", offsetof(lr_eval_metrics, precision)},
    {"recall_ge7", "recall (>= 7)", offsetof(lr_eval_metrics, recall)},
    {"ece", "ECE", offsetof(lr_eval_metrics, ece)},
};
#define N_FIGURES (sizeof FIGURES / sizeof FIGURES[0])

static double figure(const lr_eval_metrics *m, size_t k) {
    return *(const double *)((const char *)m + FIGURES[k].off);
}

static void put_num(FILE *out, double v, int json) {
    if (isnan(v))
        fputs(json ? "null" : "-", out);
    else
        fprintf(out, "%.4f", v);
}

/* Metrics of the events of group `group` (NULL: all) on one side. */
static int group_metrics(const lr_eval_gold *g, const lr_eval_item *items, const char *group, lr_eval_item *tmp,
                         lr_eval_metrics *m) {
    int n = 0;
    for (int i = 0; i < g->n; i++)
        if (!group || strcmp(g->events[i].group, group) == 0) tmp[n++] = items[i];
    return lr_eval_compute(tmp, n, m);
}

/* s as a JSON string; 0 or LR_ENOMEM. */
static int put_json_str(FILE *out, const char *s) {
    lr__buf b;
    lr__buf_init(&b);
    int rc = lr__buf_put_json_string(&b, s, strlen(s));
    if (!rc) fwrite(b.data, 1, b.len, out);
    lr__buf_free(&b);
    return rc;
}

static void json_metrics(FILE *out, const lr_eval_metrics *m) {
    fprintf(out, "{\"n\":%d,\"n_gold_ge7\":%d", m->n, m->n_pos);
    for (size_t k = 0; k < N_FIGURES; k++) {
        fprintf(out, ",\"%s\":", FIGURES[k].key);
        put_num(out, figure(m, k), 1);
    }
    fputc('}', out);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int lr_eval_report(FILE *out, const lr_eval_gold *g, const lr_eval_item *model_items,
                   const lr_eval_item *rules_items, const lr_eval_report_opts *opts, lr_error *err) {
    lr_eval_item *tmp = lr__alloc_array((size_t)g->n, sizeof *tmp);
    const char **groups = lr__alloc_array((size_t)g->n, sizeof *groups);
    if (!tmp || !groups) {
        lr__free(tmp);
        lr__free(groups);
        return lr__err(err, LR_ENOMEM, "out of memory");
    }
    int n_groups = 0;
    for (int i = 0; i < g->n; i++) groups[n_groups++] = g->events[i].group;
    qsort(groups, (size_t)n_groups, sizeof *groups, cmp_str);
    int u = 0;
    for (int i = 0; i < n_groups; i++)
        if (u == 0 || strcmp(groups[u - 1], groups[i]) != 0) groups[u++] = groups[i];
    n_groups = u;
    const char *names[2] = {opts->model_name ? opts->model_name : "model",
                            opts->rules_name ? opts->rules_name : "rules"};
    const lr_eval_item *sides[2] = {model_items, rules_items};
    int n_sides = rules_items ? 2 : 1, rc = 0;
    lr_eval_metrics all[2];
    for (int s = 0; !rc && s < n_sides; s++) rc = group_metrics(g, sides[s], NULL, tmp, &all[s]);
    if (!rc && opts->json) {
        fputc('{', out);
        for (int s = 0; s < n_sides && !rc; s++) {
            fprintf(out, "%s\"%s\":{\"name\":", s ? "," : "", s ? "rules" : "model");
            rc = put_json_str(out, names[s]);
            fputs(",\"all\":", out);
            json_metrics(out, &all[s]);
            fputs(",\"groups\":{", out);
            for (int k = 0; !rc && k < n_groups; k++) {
                lr_eval_metrics m;
                rc = group_metrics(g, sides[s], groups[k], tmp, &m);
                if (k) fputc(',', out);
                if (!rc) rc = put_json_str(out, groups[k]);
                fputc(':', out);
                json_metrics(out, &m);
            }
            fputs("}}", out);
        }
        if (opts->spread) {
            fprintf(out, ",\"wrappers\":{\"events\":%d,\"wrappers\":%d,\"mean_spread\":", opts->spread->n,
                    opts->spread->n_wrappers);
            put_num(out, opts->spread->mean, 1);
            fputs(",\"max_spread\":", out);
            put_num(out, opts->spread->n ? opts->spread->max : NAN, 1);
            fputc('}', out);
        }
        fputs("}\n", out);
    } else if (!rc) {
        fprintf(out, "%d gold events, %d with gold >= 7\n\n| figure | %s |%s%s%s\n|---|---:|%s\n", all[0].n,
                all[0].n_pos, names[0], n_sides > 1 ? " " : "", n_sides > 1 ? names[1] : "",
                n_sides > 1 ? " |" : "", n_sides > 1 ? "---:|" : "");
        for (size_t k = 0; k < N_FIGURES; k++) {
            fprintf(out, "| %s | ", FIGURES[k].title);
            put_num(out, figure(&all[0], k), 0);
            if (n_sides > 1) {
                fputs(" | ", out);
                put_num(out, figure(&all[1], k), 0);
            }
            fputs(" |\n", out);
        }
        fprintf(out, "\n| group | events | gold >= 7 | Spearman | AUC | MAE | exact |%s\n"
                     "|---|---:|---:|---:|---:|---:|---:|%s\n",
                n_sides > 1 ? " rules Spearman | rules AUC | rules MAE | rules exact |" : "",
                n_sides > 1 ? "---:|---:|---:|---:|" : "");
        for (int k = 0; !rc && k < n_groups; k++) {
            lr_eval_metrics m[2];
            for (int s = 0; !rc && s < n_sides; s++) rc = group_metrics(g, sides[s], groups[k], tmp, &m[s]);
            fprintf(out, "| %s | %d | %d |", groups[k], m[0].n, m[0].n_pos);
            for (int s = 0; !rc && s < n_sides; s++) {
                const double v[4] = {m[s].spearman, m[s].auc, m[s].mae, m[s].exact};
                for (int j = 0; j < 4; j++) {
                    fputc(' ', out);
                    put_num(out, v[j], 0);
                    fputs(" |", out);
                }
            }
            fputc('\n', out);
        }
        if (opts->spread) {
            fprintf(out, "\nwrapper spread (%d events, each in up to %d wrappers): mean ", opts->spread->n,
                    opts->spread->n_wrappers);
            put_num(out, opts->spread->mean, 0);
            fputs(", max ", out);
            put_num(out, opts->spread->n ? opts->spread->max : NAN, 0);
            fputc('\n', out);
        }
    }
    lr__free(tmp);
    lr__free(groups);
    if (!rc && ferror(out)) rc = lr__err(err, LR_EIO, "writing the report failed");
    return rc;
}

/* ---------------------------------------------------------- calibrate */

/* Model `path` (NULL: the built-in one). */
static lr_model *load_model(const char *path, lr_error *err) {
    return path ? lr_model_load(path, err) : lr_model_load_builtin(err);
}

/* ECE of `model` on g, and (when logits is not NULL) its logits. */
static int score_for_calibration(const lr_model *model, const lr_score_opts *opts, const lr_eval_gold *g,
                                 float *logits, double *ece, lr_error *err) {
    lr_eval_item *items = lr__alloc_array((size_t)g->n, sizeof *items);
    if (!items) return lr__err(err, LR_ENOMEM, "out of memory");
    int rc = lr_eval_score(model, opts, NULL, g, items, NULL, logits, err);
    lr_eval_metrics m;
    if (!rc) rc = lr_eval_compute(items, g->n, &m);
    if (!rc) *ece = m.ece;
    lr__free(items);
    return rc;
}

int lr_eval_calibrate(const char *model_path, const lr_score_opts *opts, const lr_eval_gold *g,
                      const char *out_path, lr_eval_calibration *out, lr_error *err) {
    memset(out, 0, sizeof *out);
    out->n = g->n;
    lr_model *model = load_model(model_path, err);
    if (!model) return err && err->code ? err->code : LR_EFORMAT;
    int C = lr_model_n_labels(model);
    float *logits = lr__alloc_array((size_t)g->n * (size_t)C, sizeof *logits);
    int *gold = lr__alloc_array((size_t)g->n, sizeof *gold);
    int rc = logits && gold ? 0 : lr__err(err, LR_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < g->n; i++) {
        gold[i] = g->events[i].gold;
        if (gold[i] >= C)
            rc = lr__err(err, LR_EINVAL, "gold line %llu: risk %d is not one of the model's %d labels",
                         (unsigned long long)g->events[i].line, gold[i], C);
    }
    if (!rc) rc = score_for_calibration(model, opts, g, logits, &out->ece_before, err);
    lr_model_free(model);
    if (!rc) {
        out->temperature = lr_eval_fit_temperature(logits, gold, g->n, C, &out->nll_before, &out->nll_after);
        rc = lr_model_calibrate(model_path, out_path, out->temperature, err);
    }
    if (!rc) {
        lr_model *calibrated = lr_model_load(out_path, err);
        rc = calibrated ? score_for_calibration(calibrated, opts, g, NULL, &out->ece_after, err)
                        : (err && err->code ? err->code : LR_EFORMAT);
        lr_model_free(calibrated);
    }
    lr__free(logits);
    lr__free(gold);
    return rc;
}

int lr_eval_write_details(FILE *out, const lr_eval_gold *g, const lr_eval_item *model_items,
                          const lr_eval_item *rules_items, const float *logits, int n_labels,
                          const lr_eval_spread *spread, lr_error *err) {
    for (int i = 0; i < g->n; i++) {
        const lr_eval_item *m = &model_items[i];
        fprintf(out, "{\"line\":%llu,\"group\":", (unsigned long long)g->events[i].line);
        if (put_json_str(out, g->events[i].group)) return lr__err(err, LR_ENOMEM, "out of memory");
        fprintf(out, ",\"gold\":%d,\"risk_score\":%.6f,\"risk_label\":%d,\"p_label\":%.6f", g->events[i].gold,
                m->score, m->label, m->confidence);
        if (rules_items) fprintf(out, ",\"rules_label\":%d", rules_items[i].label);
        if (logits) {
            fputs(",\"logits\":[", out);
            for (int c = 0; c < n_labels; c++)
                fprintf(out, "%s%.6g", c ? "," : "", (double)logits[(size_t)i * (size_t)n_labels + (size_t)c]);
            fputc(']', out);
        }
        if (spread) {
            fputs(",\"wrapper_spread\":", out);
            put_num(out, spread->per_event[i], 1);
        }
        fputs("}\n", out);
    }
    return ferror(out) ? lr__err(err, LR_EIO, "writing the details failed") : 0;
}
