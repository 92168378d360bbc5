/*
 * score_write.c — the scorer's writers: what one result looks like.
 *
 *   compact  {"line":N,"line_end":M,"risk_label":L,"risk_score":S,
 *            "probabilities":[..]} (+ "logits", "top", "message"), one per
 *            line: the default of `score`; the caller's metadata members,
 *            when given, follow "line_end" (the "file" of several inputs);
 *   enrich   the record itself plus its risk: a JSON record's own members,
 *            else "message" (the record's text, or the event's message and
 *            error detail), then "risk_score", "risk_label", "line",
 *            "line_end", the caller's metadata members, then "top" and
 *            "probabilities" when asked; one object per line;
 *   csv      RFC 4180 with a header line.
 *
 * Design
 *  - risk_label values are rendered once per scorer (numbers when the
 *    model's labels are "0".."C-1", else quoted names).
 *  - Enrich copies a JSON record's members verbatim (their bytes as read:
 *    numbers, escapes and key order survive), found by parsing the object
 *    with the strict JSON parser (json.c). Members named like a field the
 *    writer adds (risk_score, risk_label, line, line_end, top,
 *    probabilities, logits) are left out, so the output never has a
 *    duplicate key of ours. A record that is not a JSON object goes out as
 *    "message" (UTF-8 repaired). The metadata fragment was checked when it
 *    was pushed (lr__score_meta_ok) and is copied as is.
 *  - With a template miner: "template_id", "novel":true (only when true)
 *    and "template" (with template_text) after the arrays in compact,
 *    after the metadata in enrich; CSV columns template_id, novel
 *    (true/false) and template before message.
 *  - Every text field goes out as valid UTF-8 (utf8.h: one U+FFFD per
 *    maximal invalid subpart).
 */
#include "score.h"

#include <errno.h>
#include <string.h>

#include "io.h"
#include "json.h"
#include "utf8.h"

/* ---------------------------------------------------------- labels */

/* Render risk_label for every class once: numbers when the names are
 * "0".."C-1", quoted names otherwise. Returns 0 or LR_ENOMEM. */
int lr__score_labels_init(lr_scorer *s, lr_error *err) {
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

/* --------------------------------------------------------- writers */

/* tmp := `s` as valid UTF-8 (lr__utf8_repair: one U+FFFD per maximal
 * invalid subpart, like the rules' repair of the same bytes). */
static int utf8_repair(lr__buf *tmp, const char *str, size_t len) {
    lr__buf_clear(tmp);
    return lr__utf8_repair(tmp, str, len);
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

/* Append ,"name":[v0,v1,...] to b. */
static int put_floats(lr__buf *b, const char *name, const float *v, int n) {
    int rc = lr__buf_printf(b, ",\"%s\":[", name);
    for (int i = 0; i < n && !rc; i++) {
        if (i) rc = lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put_json_float(b, v[i]);
    }
    return rc ? rc : lr__buf_putc(b, ']');
}

/* Append ,"top":[{"label":L,"p":P},...] (the top_k classes) to b. */
static int put_top(lr_scorer *s, lr__buf *b, const lr_score_result *r) {
    top_classes(s, r);
    int rc = lr__buf_puts(b, ",\"top\":[");
    for (int j = 0; j < s->top_k && !rc; j++) {
        int c = s->top_idx[j];
        rc = lr__buf_puts(b, j ? ",{\"label\":" : "{\"label\":");
        rc = rc ? rc : lr__buf_put(b, s->label_json[c], s->label_json_len[c]);
        rc = rc ? rc : lr__buf_puts(b, ",\"p\":");
        rc = rc ? rc : lr__buf_put_json_float(b, r->probs[c]);
        rc = rc ? rc : lr__buf_putc(b, '}');
    }
    return rc ? rc : lr__buf_putc(b, ']');
}

/* The template's text as valid UTF-8 in s->tmp ("" without one). */
static int template_utf8(lr_scorer *s, const lr_score_result *r) {
    return utf8_repair(&s->tmp, r->template_text ? r->template_text : "", r->template_text ? r->template_len : 0);
}

/* With a miner: append ,"template_id":N[,"novel":true][,"template":T]
 * (T null when the event has no template). */
static int put_template(lr_scorer *s, lr__buf *b, const lr_score_result *r) {
    if (!s->miner) return 0;
    int rc = lr__buf_printf(b, ",\"template_id\":%lu", (unsigned long)r->template_id);
    if (!rc && r->novel) rc = lr__buf_puts(b, ",\"novel\":true");
    if (!rc && s->template_text) {
        rc = lr__buf_puts(b, ",\"template\":");
        if (!rc && !r->template_text) rc = lr__buf_puts(b, "null");
        else if (!rc) {
            rc = template_utf8(s, r);
            rc = rc ? rc : lr__buf_put_json_string(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
        }
    }
    return rc;
}

/* Append one result as a JSON object and '\n' to b; msg (echo) may be NULL. */
static int put_result_json(lr_scorer *s, lr__buf *b, const lr_score_result *r, const char *msg, size_t msg_len) {
    int rc = lr__buf_printf(b, "{\"line\":%llu,\"line_end\":%llu,", (unsigned long long)r->line,
                            (unsigned long long)r->line_end);
    if (r->meta && r->meta_len) { /* the caller's metadata ("file" of several inputs) */
        rc = rc ? rc : lr__buf_put(b, r->meta, r->meta_len);
        rc = rc ? rc : lr__buf_putc(b, ',');
    }
    rc = rc ? rc : lr__buf_puts(b, "\"risk_label\":");
    rc = rc ? rc : lr__buf_put(b, s->label_json[r->label], s->label_json_len[r->label]);
    rc = rc ? rc : lr__buf_puts(b, ",\"risk_score\":");
    rc = rc ? rc : lr__buf_put_json_float(b, r->score);
    rc = rc ? rc : put_floats(b, "probabilities", r->probs, r->n_labels);
    if (s->with_logits) rc = rc ? rc : put_floats(b, "logits", r->logits, r->n_labels);
    if (s->top_k > 0) rc = rc ? rc : put_top(s, b, r);
    rc = rc ? rc : put_template(s, b, r);
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
int lr__score_put_csv_header(lr_scorer *s, lr__buf *b) {
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
    if (s->miner && !rc) rc = lr__buf_puts(b, s->template_text ? ",template_id,novel,template" : ",template_id,novel");
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
    if (s->miner && !rc) {
        rc = lr__buf_printf(b, ",%lu,%s", (unsigned long)r->template_id, r->novel ? "true" : "false");
        if (s->template_text && !rc) {
            rc = template_utf8(s, r);
            rc = rc ? rc : lr__buf_putc(b, ',');
            rc = rc ? rc : lr__io_csv_put(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
        }
    }
    if (msg && !rc) {
        rc = utf8_repair(&s->tmp, msg, msg_len);
        rc = rc ? rc : lr__buf_putc(b, ',');
        rc = rc ? rc : lr__io_csv_put(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
    }
    return rc ? rc : lr__buf_puts(b, "\r\n");
}

/* Write the bytes of out_buf to the output FILE; LR_EIO with the errno
 * text (EPIPE, ENOSPC, ...) on failure. */
int lr__score_write_out(lr_scorer *s, lr_error *err) {
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

/* Keys the enriched writer adds itself: a record's members with these
 * names are left out (the template's three only when it adds them). */
static int own_key(const lr_scorer *s, const char *k, size_t n) {
    static const char *const keys[] = {"risk_score", "risk_label", "line", "line_end", "top", "probabilities",
                                       "logits", "template_id", "novel", "template"};
    size_t n_keys = sizeof keys / sizeof keys[0] - (s->miner ? 0 : 3);
    for (size_t i = 0; i < n_keys; i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0) return 1;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Append the members of the JSON object `rec` (verbatim, minus our own
 * keys) to b with a ',' after each; 1 when rec is not a JSON object (b
 * unchanged), 0, or LR_ENOMEM. */
static int put_members(const lr_scorer *s, lr__buf *b, const char *rec, size_t len) {
    lr_error e;
    lr__json_doc *doc = lr__json_parse(rec, len, 0, &e);
    if (!doc) return e.code == LR_ENOMEM ? LR_ENOMEM : 1;
    const lr__json *o = lr__json_root(doc);
    int rc = 0;
    if (o->type != LR_JSON_OBJECT) {
        lr__json_free(doc);
        return 1;
    }
    /* the closing brace of the object */
    size_t close = len;
    while (close > 0 && rec[close - 1] != '}') close--;
    for (size_t i = 0; i < o->n && !rc; i++) {
        const lr__json *m = &o->items[i];
        size_t start = m->key_offset;
        size_t end = i + 1 < o->n ? o->items[i + 1].key_offset : close - 1;
        /* back over whitespace, the ',' between members, whitespace */
        while (end > start && is_space(rec[end - 1])) end--;
        if (i + 1 < o->n && end > start && rec[end - 1] == ',') end--;
        while (end > start && is_space(rec[end - 1])) end--;
        if (own_key(s, m->key, m->key_len)) continue;
        rc = lr__buf_put(b, rec + start, end - start);
        rc = rc ? rc : lr__buf_putc(b, ',');
    }
    lr__json_free(doc);
    return rc;
}

int lr__score_meta_ok(const char *meta, size_t len) {
    lr__buf b;
    lr__buf_init(&b);
    int ok = 0;
    if (lr__buf_putc(&b, '{') == 0 && lr__buf_put(&b, meta, len) == 0 && lr__buf_putc(&b, '}') == 0) {
        lr__json_doc *doc = lr__json_parse(b.data, b.len, 0, NULL);
        ok = doc != NULL && lr__json_root(doc)->n > 0;
        lr__json_free(doc);
    }
    lr__buf_free(&b);
    return ok;
}

/* Append one result as an enriched JSON object and '\n'. */
static int put_result_enrich(lr_scorer *s, lr__buf *b, const lr_score_result *r) {
    int rc = lr__buf_putc(b, '{');
    int msg = 1;
    if (r->record) {
        size_t at = b->len;
        int m = put_members(s, b, r->record, r->record_len);
        if (m < 0) return m;
        if (m == 0) {
            msg = 0;
        } else { /* not a JSON object: the record's text is the message */
            b->len = at;
            rc = rc ? rc : utf8_repair(&s->tmp, r->record, r->record_len);
        }
    } else {
        rc = rc ? rc : utf8_repair(&s->tmp, r->message ? r->message : "", r->message ? r->message_len : 0);
    }
    if (msg) {
        rc = rc ? rc : lr__buf_puts(b, "\"message\":");
        rc = rc ? rc : lr__buf_put_json_string(b, s->tmp.data ? s->tmp.data : "", s->tmp.len);
        rc = rc ? rc : lr__buf_putc(b, ',');
    }
    rc = rc ? rc : lr__buf_puts(b, "\"risk_score\":");
    rc = rc ? rc : lr__buf_put_json_float(b, r->score);
    rc = rc ? rc : lr__buf_puts(b, ",\"risk_label\":");
    rc = rc ? rc : lr__buf_put(b, s->label_json[r->label], s->label_json_len[r->label]);
    rc = rc ? rc : lr__buf_printf(b, ",\"line\":%llu,\"line_end\":%llu", (unsigned long long)r->line,
                                  (unsigned long long)r->line_end);
    if (r->meta && r->meta_len) {
        rc = rc ? rc : lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put(b, r->meta, r->meta_len);
    }
    rc = rc ? rc : put_template(s, b, r);
    if (s->top_k > 0) rc = rc ? rc : put_top(s, b, r);
    if (s->with_probs) rc = rc ? rc : put_floats(b, "probabilities", r->probs, r->n_labels);
    if (s->with_logits) rc = rc ? rc : put_floats(b, "logits", r->logits, r->n_labels);
    return rc ? rc : lr__buf_puts(b, "}\n");
}

int lr__score_put(lr_scorer *s, lr__buf *b, const lr_score_result *r, lr_score_output mode) {
    switch (mode) {
    case LR_SCORE_ENRICH: return put_result_enrich(s, b, r);
    case LR_SCORE_CSV: return put_result_csv(s, b, r, r->message, r->message_len);
    default: return put_result_json(s, b, r, r->message, r->message_len);
    }
}

/* Render one result in `mode` into out (snprintf-like: *len the full
 * length). */
int lr_scorer_render(lr_scorer *s, const lr_score_result *r, lr_score_output mode, char *out, size_t cap,
                     size_t *len, lr_error *err) {
    lr__buf b;
    lr__buf_init(&b);
    int rc = lr__score_put(s, &b, r, mode);
    if (rc) {
        lr__buf_free(&b);
        return lr__err(err, rc, "out of memory rendering line %llu", (unsigned long long)r->line);
    }
    if (cap > 0) {
        size_t n = LR_MIN(b.len, cap - 1);
        if (n) memcpy(out, b.data, n);
        out[n] = '\0';
    }
    if (len) *len = b.len;
    lr__buf_free(&b);
    return 0;
}
