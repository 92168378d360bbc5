/*
 * encode.c — an event's model input: the canonical rendering (event.c)
 * masked with the rules and cut to the model's window by one rule, shared
 * by `score` and `tokenize` so that what tokenize shows is what the model
 * reads (docs/events.md, "The window").
 *
 * The window rule: the rendering's head ([LEVEL] message) and its error
 * detail (": " and the detail) are masked and tokenized apart. When both
 * fit in max_len - 2 tokens they are concatenated, which gives the same ids
 * as the whole rendering (the masks and the tokenizer never join text across
 * the ": " between them); otherwise the head keeps
 * max(budget - detail, budget / 2) tokens, or all of its own when it is
 * shorter, and the detail the rest. So the level, the start of the message
 * and the start of the error detail are always in the window. Before that,
 * a rendering longer than max_bytes keeps its first max_bytes / 2 bytes of
 * head (or all of it) and the detail's start up to max_bytes.
 *
 * Plain text has no parsed header: when a plain line does not fit in the
 * window and holds a level word (a whole upper-case word such as ERROR,
 * WARN, INFO) after some prefix, the prefix (times, hosts, node names,
 * ids) is dropped and the model reads from the level word on, so the level
 * and the start of the message are in the window there too. A line that
 * fits is read whole, and so is every line read as it is (--input-format
 * raw or csv: ev->as_is).
 */
#include <string.h>

#include "util.h"

struct lr_event_encoder {
    const lr_tok *tok;  /* borrowed */
    lr_prep *prep;      /* NULL: no masking */
    int max_len;
    size_t max_bytes;
    lr__buf render;
    int32_t *detail;    /* max_len ids */
};

lr_event_encoder *lr_event_encoder_new(const lr_rules *rules, const lr_tok *tok, int max_len, size_t max_bytes,
                                       lr_error *err) {
    if (!tok || max_len < 2 || max_bytes < 2) {
        lr__err(err, LR_EINVAL, "event encoder: need a tokenizer, max_len >= 2 and max_bytes >= 2");
        return NULL;
    }
    lr_event_encoder *e = lr__calloc(1, sizeof *e);
    if (!e || !(e->detail = lr__alloc_array((size_t)max_len, sizeof *e->detail))) {
        lr__free(e);
        lr__err(err, LR_ENOMEM, "out of memory for an event encoder");
        return NULL;
    }
    e->tok = tok;
    e->max_len = max_len;
    e->max_bytes = max_bytes;
    lr__buf_init(&e->render);
    if (rules && !(e->prep = lr_prep_new(rules, err))) {
        lr_event_encoder_free(e);
        return NULL;
    }
    return e;
}

uint64_t lr_event_encoder_regex_limits(const lr_event_encoder *e) {
    return e && e->prep ? lr_prep_regex_limits(e->prep) : 0;
}

void lr_event_encoder_free(lr_event_encoder *e) {
    if (!e) return;
    lr_prep_free(e->prep);
    lr__buf_free(&e->render);
    lr__free(e->detail);
    lr__free(e);
}

/* Mask (when there are rules) and tokenize text into ids; the count. */
static int encode_part(lr_event_encoder *e, const char *text, size_t len, int32_t *ids) {
    if (e->prep) {
        lr_line_info info;
        int rc = lr_prep_line(e->prep, text, len, &info);
        if (rc) return rc;
        text = info.text;
        len = info.text_len;
    }
    int n = lr_tok_encode(e->tok, text, len, e->max_len, ids);
    return n < 2 || n > e->max_len ? (n < 0 ? n : LR_ERANGE) : n;
}

/* The offset of the first level word of s (a whole upper-case word known
 * to lr_event_level_name, 4..8 letters), or 0 when there is none. */
static size_t level_word_at(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        while (i < len && !(s[i] >= 'A' && s[i] <= 'Z')) i++;
        size_t w = i;
        while (i < len && s[i] >= 'A' && s[i] <= 'Z') i++;
        int before = w == 0 || !((s[w - 1] >= 'a' && s[w - 1] <= 'z') || (s[w - 1] >= '0' && s[w - 1] <= '9') ||
                                 s[w - 1] == '_');
        int after = i == len || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_');
        if (before && after && i - w >= 4 && i - w <= 8 && lr_event_level_name(s + w, i - w)) return w;
        while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            i++;
    }
    return 0;
}

int lr_event_encode(lr_event_encoder *e, const lr_event *ev, int32_t *ids, lr_event_input *out) {
    size_t head = 0;
    size_t n = lr_event_render(ev, NULL, 0, &head);
    lr__buf_clear(&e->render);
    if (lr__buf_reserve(&e->render, n + 1)) return LR_ENOMEM;
    lr_event_render(ev, e->render.data, n + 1, &head);
    int cut = 0;
    if (n > e->max_bytes) { /* keep the head (at most half) and the detail's start */
        cut = 1;
        size_t keep_head = LR_MIN(head, e->max_bytes / 2);
        size_t keep_det = LR_MIN(n - head, e->max_bytes - keep_head);
        memmove(e->render.data + keep_head, e->render.data + head, keep_det);
        head = keep_head;
        n = keep_head + keep_det;
    }
    e->render.len = n;
    e->render.data[n] = '\0';
    const char *text = e->render.data;
    int n_tok = encode_part(e, text, head, ids);
    if (n_tok < 0) return n_tok;
    size_t skip = 0;
    if (n_tok == e->max_len && !ev->as_is && !ev->level && ev->error_len == 0 &&
        (skip = level_word_at(text, head)) > 0) {
        /* a plain line cut before its end: read it from its level word */
        text += skip;
        head -= skip;
        n -= skip;
        n_tok = encode_part(e, text, head, ids);
        if (n_tok < 0) return n_tok;
    }
    if (n > head) {
        int n_det = encode_part(e, text + head, n - head, e->detail);
        if (n_det < 0) return n_det;
        int budget = e->max_len - 2, nh = n_tok - 2, nd = n_det - 2;
        int kh = nh, kd = nd;
        if (nh + nd > budget) {
            int floor_h = budget - nd > budget / 2 ? budget - nd : budget / 2;
            kh = LR_MIN(nh, floor_h);
            kd = LR_MIN(nd, budget - kh);
        }
        memcpy(ids + 1 + kh, e->detail + 1, (size_t)kd * sizeof *ids);
        ids[1 + kh + kd] = e->detail[n_det - 1]; /* [SEP] */
        n_tok = kh + kd + 2;
    }
    if (out) {
        out->text = text;
        out->len = n;
        out->head_len = head;
        out->skipped = skip;
        out->truncated = cut;
    }
    return n_tok;
}
