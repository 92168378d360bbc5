/*
 * rules_stream.c — the `preprocess` / `label` job on a whole stream:
 * lines (or CSV records) in, one JSONL or CSV record out per input record,
 * in order.
 *
 * Design: one lr_prep, one reader, one output buffer written with
 * write(2) when it passes 64 KiB or when the input has no complete line
 * buffered (the next read may block, so what we have is flushed first:
 * this is what makes `tail -f log | logrisk label` stream). Memory is the
 * reader's (about twice the longest line) plus the prep's buffers.
 *
 * Log input goes through the records and events readers like every other
 * command (events.c). Raw lines (the default) are plain events whose
 * rendering is the line itself, so the output is the seed's byte for byte;
 * other input formats write the canonical rendering of each event
 * (docs/events.md), masked, plus "line" and "line_end". CSV input (a table
 * of lines, not a log) goes through the same readers: each row's column
 * (default "text") is an event read as it is, written like a raw line; a
 * row without the column is an error naming its line.
 *
 * Output formats (byte for byte what tools/reference_rules.py writes):
 *   JSONL  {"text":"...","level_raw":"ERROR"|null[,"label":N]}\n
 *          JSON strings escape only '"', '\' and control bytes < 0x20
 *          (\n \r \t \b \f by name, others \u00XX), like Python's
 *          json.dumps(ensure_ascii=False).
 *   CSV    header "text,level_raw[,label]", then one row per record, "\n"
 *          line ends, fields quoted when they hold , " \r or \n, a null
 *          level written as an empty field.
 */
#include "io.h"
#include "rules.h"

#include <stdint.h>
#include <string.h>

#define FLUSH_AT (64u << 10)

/* ",N" for a label 0..10 (no printf in the per-line path). */
static int put_label(lr__buf *out, int label, const char *prefix) {
    char num[4];
    size_t len = 0;
    if (label >= 10) num[len++] = (char)('0' + label / 10);
    num[len++] = (char)('0' + label % 10);
    return lr__buf_puts(out, prefix) || lr__buf_put(out, num, len) ? LR_ENOMEM : LR_OK;
}

/* Append the output record of `info` to `out`; ev (events input) adds the
 * event's first and last line. */
static int put_record(lr__buf *out, const lr_line_info *info, const lr_prep_stream_opts *o, const lr_event *ev) {
    int rc;
    if (o->out_format == LR_FORMAT_CSV) {
        rc = lr__io_csv_put(out, info->text, info->text_len);
        if (!rc) rc = lr__buf_putc(out, ',');
        if (!rc && info->level) rc = lr__io_csv_put(out, info->level, strlen(info->level));
        if (!rc && o->with_label) rc = put_label(out, info->label, ",");
        if (!rc && ev)
            rc = lr__buf_printf(out, ",%llu,%llu", (unsigned long long)ev->line, (unsigned long long)ev->line_end);
        return rc ? rc : lr__buf_putc(out, '\n');
    }
    rc = lr__buf_puts(out, "{\"text\":");
    if (!rc) rc = lr__buf_put_json_string(out, info->text, info->text_len);
    if (!rc) rc = lr__buf_puts(out, ",\"level_raw\":");
    if (!rc) rc = info->level ? lr__buf_put_json_string(out, info->level, strlen(info->level)) : lr__buf_puts(out, "null");
    if (!rc && o->with_label) rc = put_label(out, info->label, ",\"label\":");
    if (!rc && ev)
        rc = lr__buf_printf(out, ",\"line\":%llu,\"line_end\":%llu", (unsigned long long)ev->line,
                            (unsigned long long)ev->line_end);
    return rc ? rc : lr__buf_puts(out, "}\n");
}

/* Log input: records -> events -> rendering -> prep. `raw`: the seed's raw
 * lines (no line numbers written). */
static int stream_events(lr_prep *prep, int in_fd, int out_fd, const lr_prep_stream_opts *o, lr_rec_format fmt,
                         uint64_t *count, lr_error *err) {
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = fmt;
    ro.column = fmt == LR_REC_CSV ? (o->column ? o->column : "text") : NULL;
    ro.max_bytes = o->max_line ? o->max_line : SIZE_MAX / 8;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = !o->single_line;
    lr_records *recs = lr_records_new(in_fd, &ro, err);
    lr_events *evs = recs ? lr_events_new(recs, &eo, err) : NULL;
    lr__buf out, text;
    lr__buf_init(&out);
    lr__buf_init(&text);
    int rc = evs ? LR_OK : (err ? err->code : LR_ENOMEM);
    int raw = fmt == LR_REC_RAW || fmt == LR_REC_CSV; /* the seed's output: no line numbers */
    if (!rc && o->out_format == LR_FORMAT_CSV)
        rc = lr__buf_puts(&out, o->with_label ? (raw ? "text,level_raw,label\n" : "text,level_raw,label,line,line_end\n")
                                              : (raw ? "text,level_raw\n" : "text,level_raw,line,line_end\n"));
    while (!rc) {
        lr_event ev;
        int got = lr_events_next(evs, &ev, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (fmt == LR_REC_CSV && ev.malformed && !ev.truncated) {
            rc = lr__err(err, LR_EPARSE, "CSV line %llu: the record has no column '%s'", (unsigned long long)ev.line,
                         ro.column);
            break;
        }
        size_t n = lr_event_render(&ev, NULL, 0, NULL);
        lr__buf_clear(&text);
        lr_line_info info;
        if (lr__buf_reserve(&text, n + 1) || (lr_event_render(&ev, text.data, n + 1, NULL), 0) ||
            lr_prep_line(prep, text.data, n, &info) || put_record(&out, &info, o, raw ? NULL : &ev)) {
            rc = lr__err(err, LR_ENOMEM, "out of memory at record %llu", (unsigned long long)*count + 1);
            break;
        }
        ++*count;
        if (out.len >= FLUSH_AT || !lr_records_buffered(recs)) {
            rc = lr__io_write_all(out_fd, out.data, out.len, err);
            lr__buf_clear(&out);
        }
    }
    if (!rc && out.len) rc = lr__io_write_all(out_fd, out.data, out.len, err);
    lr__buf_free(&out);
    lr__buf_free(&text);
    lr_events_free(evs);
    lr_records_free(recs);
    return rc;
}

int lr_prep_stream(const lr_rules *rules, int in_fd, int out_fd, const lr_prep_stream_opts *o, uint64_t *n_records,
                   lr_error *err) {
    lr_prep_stats stats;
    int rc = lr_prep_stream_stats(rules, in_fd, out_fd, o, &stats, err);
    if (n_records) *n_records = stats.records;
    return rc;
}

int lr_prep_stream_stats(const lr_rules *rules, int in_fd, int out_fd, const lr_prep_stream_opts *o,
                         lr_prep_stats *stats, lr_error *err) {
    static const lr_prep_stream_opts defaults = {0, LR_FORMAT_JSONL, LR_FORMAT_JSONL, "text", 0, NULL, 0};
    lr_prep_stats ignore;
    if (!stats) stats = &ignore;
    memset(stats, 0, sizeof *stats);
    if (!o) o = &defaults;
    if (!rules) return lr__err(err, LR_EINVAL, "lr_prep_stream: no rules");
    lr_rec_format fmt = LR_REC_RAW;
    if (o->input_format && (lr_records_parse_format(o->input_format, &fmt) || fmt == LR_REC_CSV))
        return lr__err(err, LR_EINVAL, "lr_prep_stream: unknown input format '%s'", o->input_format);
    lr_prep *prep = lr_prep_new(rules, err);
    if (!prep) return err && err->code ? err->code : LR_ENOMEM;
    /* CSV input (a table of lines, not a log): the column's text of each
     * row as it is, through the same readers */
    uint64_t count = 0;
    int rc = stream_events(prep, in_fd, out_fd, o, o->in_format == LR_FORMAT_CSV ? LR_REC_CSV : fmt, &count, err);
    stats->records = count;
    stats->regex_limits = lr_prep_regex_limits(prep);
    lr_prep_free(prep);
    return rc;
}
