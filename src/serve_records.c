/*
 * serve_records.c — text in memory through the record layer into a
 * scorer: lr_scorer_score_text (the synchronous "these records -> their
 * results" call) and the batcher's push of a request body.
 *
 * Design
 *  - The record layer reads file descriptors, so the text is handed to it
 *    through a memfd (an anonymous in-memory file; a tmpfile() where the
 *    kernel has none): the same lr_records / lr_events code `score` runs,
 *    hence the same formats, multi-line groups and scores for the same
 *    lines. The copy is bounded by the text (the request body limit).
 *  - Each event is pushed with its record: the text of the lines it came
 *    from (line .. line_end of the text), so a JSON record's members and a
 *    plain line's text go out unchanged in the enriched output.
 */
#include "serve.h"

#include "score.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void lr_score_text_opts_init(lr_score_text_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = LR_REC_AUTO;
    o->multiline = 1;
}

/* A readable descriptor positioned at the start of text[0..len). */
static int text_fd(const char *text, size_t len, lr_error *err) {
    int fd = memfd_create("logrisk-body", MFD_CLOEXEC);
    if (fd < 0) {
        FILE *f = tmpfile();
        if (!f) return lr__err(err, LR_EIO, "no memory file for the request: %s", strerror(errno));
        fd = dup(fileno(f));
        fclose(f);
        if (fd < 0) return lr__err(err, LR_EIO, "no memory file for the request: %s", strerror(errno));
    }
    for (size_t at = 0; at < len;) {
        ssize_t n = write(fd, text + at, len - at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return lr__err(err, LR_EIO, "writing the request to a memory file: %s", strerror(e ? e : EIO));
        }
        at += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        int e = errno;
        close(fd);
        return lr__err(err, LR_EIO, "rewinding the memory file: %s", strerror(e));
    }
    return fd;
}

int lr__serve_push_body(lr_scorer *s, const lr__serve_body *body, const lr_score_text_opts *o,
                        void (*count)(void *user, int delta), void *user, lr_error *err) {
    lr_score_text_opts def;
    if (!o) {
        lr_score_text_opts_init(&def);
        o = &def;
    }
    if (body->text.len == 0) return 0;
    int fd = text_fd(body->text.data, body->text.len, err);
    if (fd < 0) return fd;
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = o->format;
    ro.field = o->field;
    ro.max_bytes = s->max_line_bytes;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = o->multiline;
    eo.field = o->field;
    int rc = 0;
    lr_records *recs = lr_records_new(fd, &ro, err);
    lr_events *evs = recs ? lr_events_new(recs, &eo, err) : NULL;
    if (!evs) rc = err ? err->code : LR_ENOMEM;
    const char *t = body->text.data;
    while (!rc) {
        lr_event ev;
        int got = lr_events_next(evs, &ev, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (got != 1) continue;
        /* the record: lines line .. line_end of the text, without the last '\n' */
        const char *rec = NULL;
        size_t rec_len = 0;
        if (ev.line >= 1 && ev.line_end >= ev.line && ev.line_end <= body->n_lines) {
            size_t a = body->line_off[ev.line - 1], b = body->line_off[ev.line_end];
            if (b > a && t[b - 1] == '\n') b--;
            if (b > a && t[b - 1] == '\r') b--;
            rec = t + a;
            rec_len = b - a;
        }
        /* counted before the push (a full window delivers it during the
         * push); a push refused before queueing is uncounted */
        int pending = s->n_pending;
        if (count) count(user, 1);
        rc = lr_scorer_push_event_ex(s, &ev, rec, rec_len, o->meta, o->meta ? o->meta_len : 0, err);
        if (rc && count && s->n_pending == pending && pending + 1 != s->window_lines) count(user, -1);
    }
    lr_events_free(evs);
    lr_records_free(recs);
    close(fd);
    return rc;
}

int lr_scorer_score_text(lr_scorer *s, const char *text, size_t len, const lr_score_text_opts *o,
                         lr_score_sink_fn fn, void *user, lr_error *err) {
    if (!s || (!text && len)) return lr__err(err, LR_EINVAL, "no scorer or no text");
    /* what was queued before goes where it was going */
    int rc = lr_scorer_flush(s, err);
    if (rc) return rc;
    lr_score_sink_fn old_fn = s->sink;
    void *old_user = s->sink_user;
    FILE *old_out = s->out;
    lr_score_output old_mode = s->output;
    s->sink = fn;
    s->sink_user = user;
    s->out = NULL;
    /* results carry their records, whatever the scorer writes itself */
    if (s->output != LR_SCORE_ENRICH) s->output = LR_SCORE_ENRICH;
    lr__serve_body body;
    lr__serve_body_init(&body);
    body.framing = LR_SERVE_TEXT;
    if (len && lr__buf_put(&body.text, text, len)) rc = lr__err(err, LR_ENOMEM, "out of memory");
    /* index the lines */
    if (!rc) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++) n += text[i] == '\n';
        if (len > 0 && text[len - 1] != '\n') n++;
        body.line_off = lr__alloc_array(n + 1, sizeof *body.line_off);
        if (!body.line_off) {
            rc = lr__err(err, LR_ENOMEM, "out of memory");
        } else {
            size_t k = 1;
            body.line_off[0] = 0;
            for (size_t i = 0; i < len && k < n; i++)
                if (text[i] == '\n') body.line_off[k++] = i + 1;
            body.line_off[n] = len;
            body.n_lines = n;
        }
    }
    if (!rc) rc = lr__serve_push_body(s, &body, o, NULL, NULL, err);
    if (!rc) rc = lr_scorer_flush(s, err);
    lr__serve_body_free(&body);
    s->sink = old_fn;
    s->sink_user = old_user;
    s->out = old_out;
    s->output = old_mode;
    return rc;
}
