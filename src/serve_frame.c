/*
 * serve_frame.c — request bodies of the HTTP API, made ready for the
 * record layer. No HTTP and no model here: this is the request-handling
 * path the fuzz target (tests/fuzz/fuzz_serve_frame.c) drives.
 *
 * Framing
 *  - NDJSON (application/x-ndjson, Fluent Bit's json_lines, Vector's
 *    newline-delimited JSON): one JSON object per line; blank lines are
 *    skipped. Answered as NDJSON.
 *  - A JSON array of objects (application/json starting with '[': Fluent
 *    Bit's json format, Vector's json codec without framing). Answered as a
 *    JSON array.
 *  - Text lines (text/plain): every line is a record, as `score` reads a
 *    file. Answered as NDJSON.
 *  - The Content-Type decides; application/json is an array or NDJSON by
 *    its first byte (Fluent Bit has sent json_lines as application/json);
 *    none or another type: '[' an array, '{' NDJSON, else text.
 *
 * Design
 *  - A JSON record is checked with the strict parser (json.c) on its own,
 *    so an error names the record ("record 3: ..."); only a malformed body
 *    is refused. Array elements are found by a scanner that only tracks
 *    strings and nesting, then each element is parsed strictly.
 *  - The records go to `text` one per line: an array element's '\n' and
 *    '\r' (whitespace outside strings; inside strings they are invalid JSON
 *    and were refused) become spaces, so a pretty-printed element is one
 *    line. line_off indexes the lines, so that each result can carry the
 *    exact text its event came from.
 *  - Memory: text is at most the body's size plus a '\n' per record.
 */
#include "serve.h"

#include <string.h>
#include <strings.h>

#include "json.h"

void lr__serve_body_init(lr__serve_body *b) {
    memset(b, 0, sizeof *b);
    lr__buf_init(&b->text);
}

void lr__serve_body_free(lr__serve_body *b) {
    if (!b) return;
    lr__buf_free(&b->text);
    lr__free(b->line_off);
    b->line_off = NULL;
    b->n_lines = 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The first byte that is not whitespace, or 0. */
static char first_byte(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_ws(s[i])) return s[i];
    return 0;
}

/* Whether the media type of `ct` (before any ';') is `want`. */
static int media_is(const char *ct, const char *want) {
    size_t n = strlen(want);
    while (*ct == ' ') ct++;
    if (strncasecmp(ct, want, n) != 0) return 0;
    ct += n;
    while (*ct == ' ') ct++;
    return *ct == '\0' || *ct == ';';
}

lr__serve_framing lr__serve_detect(const char *ct, const char *body, size_t len) {
    char c = first_byte(body, len);
    if (ct) {
        if (media_is(ct, "application/x-ndjson") || media_is(ct, "application/jsonl") ||
            media_is(ct, "application/json-lines") || media_is(ct, "application/x-jsonlines") ||
            media_is(ct, "application/jsonlines"))
            return LR_SERVE_NDJSON;
        if (media_is(ct, "application/json")) return c == '[' ? LR_SERVE_ARRAY : LR_SERVE_NDJSON;
        if (media_is(ct, "text/plain")) return LR_SERVE_TEXT;
    }
    return c == '[' ? LR_SERVE_ARRAY : c == '{' ? LR_SERVE_NDJSON : LR_SERVE_TEXT;
}

/* Index the lines of out->text. */
static int index_lines(lr__serve_body *out, lr_error *err) {
    const char *t = out->text.data ? out->text.data : "";
    size_t len = out->text.len, n = 0;
    for (size_t i = 0; i < len; i++) n += t[i] == '\n';
    if (len > 0 && t[len - 1] != '\n') n++;
    out->line_off = lr__alloc_array(n + 1, sizeof *out->line_off);
    if (!out->line_off) return lr__err(err, LR_ENOMEM, "out of memory indexing %zu lines", n);
    size_t k = 0;
    out->line_off[k++] = 0;
    for (size_t i = 0; i < len && k <= n; i++)
        if (t[i] == '\n' && k < n) out->line_off[k++] = i + 1;
    out->line_off[n] = len;
    out->n_lines = n;
    return 0;
}

/* Check that text[0..n) is one JSON object; LR_EPARSE naming record `no`. */
static int check_object(const char *text, size_t n, size_t no, lr_error *err) {
    lr_error e = {0, ""};
    lr__json_doc *doc = lr__json_parse(text, n, 0, &e);
    if (!doc) {
        if (e.code == LR_ENOMEM) return lr__err(err, LR_ENOMEM, "out of memory parsing record %zu", no);
        return lr__err(err, LR_EPARSE, "record %zu: %s", no, e.msg);
    }
    lr__json_type t = lr__json_root(doc)->type;
    lr__json_free(doc);
    if (t != LR_JSON_OBJECT)
        return lr__err(err, LR_EPARSE, "record %zu: a JSON %s, not an object", no, lr__json_type_name(t));
    return 0;
}

/* Append one JSON record to text on a line of its own. */
static int put_record(lr__buf *text, const char *rec, size_t n) {
    size_t at = text->len;
    if (lr__buf_put(text, rec, n) || lr__buf_putc(text, '\n')) return LR_ENOMEM;
    for (size_t i = at; i + 1 < text->len; i++)
        if (text->data[i] == '\n' || text->data[i] == '\r') text->data[i] = ' ';
    return 0;
}

static int frame_ndjson(const char *body, size_t len, lr__serve_body *out, lr_error *err) {
    size_t no = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(body + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t a = at, b = end;
        while (a < b && is_ws(body[a])) a++;
        while (b > a && is_ws(body[b - 1])) b--;
        if (b > a) {
            no++;
            int rc = check_object(body + a, b - a, no, err);
            if (rc) return rc;
            if (put_record(&out->text, body + a, b - a)) return lr__err(err, LR_ENOMEM, "out of memory");
        }
        at = end + 1;
    }
    return 0;
}

/* The end of the JSON value starting at body[i] (a scan that only follows
 * strings and nesting; the value is then parsed strictly): the index of
 * the ',' or ']' that ends it at depth 0, or len. */
static size_t value_end(const char *body, size_t i, size_t len) {
    size_t depth = 0;
    for (; i < len; i++) {
        char c = body[i];
        if (c == '"') {
            for (i++; i < len && body[i] != '"'; i++)
                if (body[i] == '\\') i++;
            if (i >= len) return len;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i;
            depth--;
        } else if (c == ',' && depth == 0) {
            return i;
        }
    }
    return len;
}

static int frame_array(const char *body, size_t len, lr__serve_body *out, lr_error *err) {
    size_t i = 0;
    while (i < len && is_ws(body[i])) i++;
    if (i >= len || body[i] != '[') return lr__err(err, LR_EPARSE, "the body is not a JSON array");
    i++;
    size_t no = 0;
    for (;;) {
        while (i < len && is_ws(body[i])) i++;
        if (i >= len) return lr__err(err, LR_EPARSE, "record %zu: the array is not closed", no + 1);
        if (body[i] == ']' && no == 0) {
            i++;
            break;
        }
        no++;
        size_t end = value_end(body, i, len);
        if (end >= len) return lr__err(err, LR_EPARSE, "record %zu: the array is not closed", no);
        size_t b = end;
        while (b > i && is_ws(body[b - 1])) b--;
        if (b == i) return lr__err(err, LR_EPARSE, "record %zu: missing", no);
        int rc = check_object(body + i, b - i, no, err);
        if (rc) return rc;
        if (put_record(&out->text, body + i, b - i)) return lr__err(err, LR_ENOMEM, "out of memory");
        i = end + 1;
        if (body[end] == ']') break;
    }
    while (i < len && is_ws(body[i])) i++;
    if (i < len) return lr__err(err, LR_EPARSE, "text after the array at byte %zu", i);
    return 0;
}

int lr__serve_frame(const char *ct, const char *body, size_t len, lr__serve_body *out, lr_error *err) {
    out->framing = lr__serve_detect(ct, body, len);
    lr__buf_clear(&out->text);
    int rc = 0;
    switch (out->framing) {
    case LR_SERVE_NDJSON: rc = frame_ndjson(body, len, out, err); break;
    case LR_SERVE_ARRAY: rc = frame_array(body, len, out, err); break;
    case LR_SERVE_TEXT:
        if (len && lr__buf_put(&out->text, body, len)) rc = lr__err(err, LR_ENOMEM, "out of memory");
        break;
    }
    return rc ? rc : index_lines(out, err);
}

int lr__serve_predict_inputs(const char *body, size_t len, lr__serve_body *out, int *batch, lr_error *err) {
    lr_error e = {0, ""};
    lr__json_doc *doc = lr__json_parse(body, len, 0, &e);
    if (!doc) {
        if (e.code == LR_ENOMEM) return lr__err(err, LR_ENOMEM, "out of memory");
        return lr__err(err, LR_EPARSE, "the body is not JSON: %s", e.msg);
    }
    const lr__json *in = lr__json_get(lr__json_root(doc), "inputs");
    int rc = 0;
    out->framing = LR_SERVE_TEXT;
    lr__buf_clear(&out->text);
    if (!in || (in->type != LR_JSON_STRING && in->type != LR_JSON_ARRAY)) {
        rc = lr__err(err, LR_EPARSE, "the body has no \"inputs\" string or array of strings");
    } else {
        *batch = in->type == LR_JSON_ARRAY;
        size_t n = *batch ? in->n : 1;
        if (*batch && n == 0) rc = lr__err(err, LR_EPARSE, "\"inputs\" is an empty array");
        for (size_t i = 0; i < n && !rc; i++) {
            const lr__json *v = *batch ? &in->items[i] : in;
            if (v->type != LR_JSON_STRING) {
                rc = lr__err(err, LR_EPARSE, "input %zu: a JSON %s, not a string", i + 1, lr__json_type_name(v->type));
                break;
            }
            size_t at = out->text.len;
            if (lr__buf_put(&out->text, v->str, v->len) || lr__buf_putc(&out->text, '\n')) {
                rc = lr__err(err, LR_ENOMEM, "out of memory");
                break;
            }
            for (size_t k = at; k + 1 < out->text.len; k++)
                if (out->text.data[k] == '\n' || out->text.data[k] == '\r') out->text.data[k] = ' ';
        }
    }
    lr__json_free(doc);
    return rc ? rc : index_lines(out, err);
}
