/*
 * tokenize.c — the tokenizer's two command jobs on any input: `logrisk
 * tokenize` (lr_tokenize_stream), the WordPiece tokens and ids of every
 * input event exactly as the model sees them, and `logrisk vocab`
 * (lr_vocab_learn_stream), a vocabulary learned from those events. Both
 * read the input through the records and events readers, opened the same
 * way (open_events); tokenize encodes each event with lr_event_encode
 * (rendering, masks, window), the code `score` uses, so what is shown is
 * what is scored, and vocab learns from each event's rendering
 * (lr_vocab_learn_events).
 *
 * Output, one JSON line per event, in input order:
 *     {"tokens":["[CLS]",...,"[SEP]"],"ids":[2,...,3]}
 * plus "line" and "line_end" (the event's first and last input line) when
 * the input is a log format rather than raw lines. Raw lines are read
 * whole (no byte cap), as the tokenizer always read them.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "logrisk.h"
#include "util.h"

void lr_tokenize_opts_init(lr_tokenize_opts *opts) {
    memset(opts, 0, sizeof *opts);
    opts->mask = 1;
    opts->max_len = LR_TOK_MAX_LEN;
    opts->format = LR_REC_RAW;
    opts->multiline = 1;
}

/* The events of in_fd in `format` (raw: each line whole, no byte cap, as
 * the tokenizer always read lines), multi-line groups joined or not. Both
 * readers are the caller's to free; 0 or the readers' error. */
static int open_events(int in_fd, lr_rec_format format, int multiline, lr_records **recs, lr_events **evs,
                       lr_error *err) {
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = format;
    ro.max_bytes = SIZE_MAX / 8;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = multiline;
    *evs = NULL;
    if (!(*recs = lr_records_new(in_fd, &ro, err))) return err->code ? err->code : LR_ENOMEM;
    if (!(*evs = lr_events_new(*recs, &eo, err))) return err->code ? err->code : LR_ENOMEM;
    return 0;
}

/* One event's JSON line into buf (cleared first): 0 or LR_ENOMEM. */
static int render_line(lr__buf *buf, const lr_tok *tok, const int32_t *ids, int n, const lr_event *ev, int with_lines) {
    lr__buf_clear(buf);
    int rc = lr__buf_puts(buf, "{\"tokens\":[");
    for (int k = 0; k < n && !rc; k++) {
        size_t len;
        const char *t = lr_tok_token(tok, ids[k], &len);
        if (k) rc = lr__buf_putc(buf, ',');
        if (!rc) rc = lr__buf_put_json_string(buf, t ? t : "", t ? len : 0);
    }
    if (!rc) rc = lr__buf_puts(buf, "],\"ids\":[");
    for (int k = 0; k < n && !rc; k++)
        rc = lr__buf_printf(buf, k ? ",%d" : "%d", (int)ids[k]);
    if (!rc) rc = lr__buf_putc(buf, ']');
    if (!rc && with_lines)
        rc = lr__buf_printf(buf, ",\"line\":%llu,\"line_end\":%llu", (unsigned long long)ev->line,
                            (unsigned long long)ev->line_end);
    if (!rc) rc = lr__buf_puts(buf, "}\n");
    return rc;
}

int lr_tokenize_stream(const lr_tokenize_opts *opts, int in_fd, FILE *out, lr_error *err) {
    lr_error local = {0, ""};
    if (!err) err = &local;
    if (!opts || !opts->vocab_path || !out) return lr__err(err, LR_EINVAL, "tokenize: no vocabulary or no output");
    if (opts->max_len < 2 || opts->max_len > 65536)
        return lr__err(err, LR_EINVAL, "tokenize: max_len must be in 2..65536, not %d", opts->max_len);
    if (!opts->mask && opts->rules_path) return lr__err(err, LR_EINVAL, "tokenize: rules given but masking is off");

    int rc = LR_OK;
    lr_tok *tok = NULL;
    lr_rules *rules = NULL;
    lr_event_encoder *enc = NULL;
    lr_records *recs = NULL;
    lr_events *evs = NULL;
    int32_t *ids = NULL;
    lr__buf buf;
    lr__buf_init(&buf);

    if (!(tok = lr_tok_load(opts->vocab_path, err))) goto fail;
    if (opts->mask && !(rules = opts->rules_path ? lr_rules_load(opts->rules_path, err) : lr_rules_default(err)))
        goto fail;
    if (!(enc = lr_event_encoder_new(rules, tok, opts->max_len, SIZE_MAX / 8, err))) goto fail;
    if (open_events(in_fd, opts->format, opts->multiline, &recs, &evs, err)) goto fail;
    if (!(ids = lr__alloc_array((size_t)opts->max_len, sizeof *ids))) {
        rc = lr__err(err, LR_ENOMEM, "tokenize: out of memory");
        goto done;
    }

    lr_event ev;
    int got;
    while ((got = lr_events_next(evs, &ev, err)) == 1) {
        int n = lr_event_encode(enc, &ev, ids, NULL);
        if (n < 0 || render_line(&buf, tok, ids, n, &ev, opts->format != LR_REC_RAW)) {
            rc = lr__err(err, LR_ENOMEM, "tokenize: out of memory");
            goto done;
        }
        if (fwrite(buf.data, 1, buf.len, out) != buf.len) {
            rc = lr__err(err, LR_EIO, "error writing the output: %s", strerror(errno ? errno : EIO));
            goto done;
        }
    }
    if (got < 0) goto fail;
    if (fflush(out) != 0 || ferror(out))
        rc = lr__err(err, LR_EIO, "error writing the output: %s", strerror(errno ? errno : EIO));
    goto done;
fail:
    rc = err->code ? err->code : LR_ENOMEM;
done:
    lr__free(ids);
    lr__buf_free(&buf);
    lr_events_free(evs);
    lr_records_free(recs);
    lr_event_encoder_free(enc);
    lr_rules_free(rules);
    lr_tok_free(tok);
    return rc;
}

void lr_vocab_opts_init(lr_vocab_opts *opts) {
    memset(opts, 0, sizeof *opts);
    opts->mask = 1;
    opts->min_freq = 2;
    opts->format = LR_REC_RAW;
    opts->multiline = 1;
}

int lr_vocab_learn_stream(const lr_vocab_opts *opts, int in_fd, const char *out_path, lr_error *err) {
    lr_error local = {0, ""};
    if (!err) err = &local;
    if (!opts || !out_path) return lr__err(err, LR_EINVAL, "vocab: no options or no output path");
    if (!opts->mask && opts->rules_path) return lr__err(err, LR_EINVAL, "vocab: rules given but masking is off");
    lr_rules *rules = NULL;
    lr_records *recs = NULL;
    lr_events *evs = NULL;
    int rc = 0;
    if (opts->mask && !(rules = opts->rules_path ? lr_rules_load(opts->rules_path, err) : lr_rules_default(err)))
        rc = err->code ? err->code : LR_ENOMEM;
    if (!rc) rc = open_events(in_fd, opts->format, opts->multiline, &recs, &evs, err);
    if (!rc) rc = lr_vocab_learn_events(evs, rules, opts->vocab_size, opts->min_freq, out_path, err);
    lr_events_free(evs);
    lr_records_free(recs);
    lr_rules_free(rules);
    return rc;
}
