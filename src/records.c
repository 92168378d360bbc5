/*
 * records.c — log records out of the formats logs are really stored in:
 * raw lines, CRI container logs, Docker json-file, JSON lines, CSV.
 *
 * Design
 *  - A record reader sits on a line reader (lr_io_reader; CSV: lr_io_csv)
 *    and turns physical lines into records: one message each, with the
 *    number of the first physical line it came from.
 *  - auto: decided per line, so a file may mix them: a CRI line -> cri; a
 *    JSON object with a string "log" and a "stream" or "time" member ->
 *    docker; any other JSON object with a message field -> jsonl; else raw.
 *    (--column given -> csv; CSV is never guessed.) In auto no line is
 *    malformed. lr_records_format reports the first wrapper seen.
 *  - What is inside a record (JSON, logfmt, klog, syslog, log4j) is the
 *    event layer's job (event.c, events.c): the record hands it `payload`,
 *    the message for raw, cri, docker and csv and the whole object for
 *    jsonl. The formats logfmt, klog, syslog and log4j are read as raw
 *    lines here.
 *  - Partial records: CRI "P" lines and Docker "log" values without a final
 *    '\n' (Docker splits lines at 16 KiB) are joined into the next record
 *    until an "F" line / a "log" ending in '\n'; line_end is the last
 *    physical line joined. A partial still open at end of input, or
 *    followed by an empty line or a line that is not of its format, is emitted
 *    as it is (never lost); the following line is held and processed next.
 *    Partials are joined whatever their stream (stdout/stderr).
 *  - Wrapper metadata: a CRI or Docker record also hands out its stream and
 *    its time (the first piece's, for a joined record), each cut at
 *    LR_EVENT_META_MAX bytes and copied into the reader (meta / part_meta:
 *    stream then time), so a hostile value costs bounded memory.
 *  - Malformed lines (not of the format; a JSON line without the field, a
 *    CSV record without the column) become records of their raw text with
 *    `malformed` set, and are counted. Empty lines are empty records, not
 *    malformed.
 *  - A trailing '\r' (CRLF input) is removed from raw and CRI messages. A
 *    message is cut at max_bytes (truncated set); the physical lines of the
 *    structured formats are read with a cap of 4 * max_bytes + 4 KiB, so a
 *    longer JSON line cannot be parsed and is scored as raw text (cut).
 *  - follow: the line reader never blocks (lr_io_reader_set_follow) and
 *    next() returns 2 when no complete record is available; partial state
 *    lives in the struct, so the caller can poll and call again.
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

struct lr_records {
    lr_io_reader *rd;
    lr_io_csv *csv;
    lr_rec_format fmt; /* LR_REC_AUTO until decided */
    char *field, *column;
    long col;          /* CSV: index of the message column */
    int header_done;
    size_t max_bytes;

    lr__buf msg;       /* the record handed out */
    lr__buf part;      /* the partial (P / unterminated docker) record */
    lr__buf meta, part_meta; /* stream then time of the record / partial */
    size_t meta_sn, part_sn; /* the stream's length in each               */
    int part_active, part_trunc;
    lr_rec_format part_kind;
    uint64_t part_line, part_last;
    lr_rec_format seen;   /* auto: the first wrapper seen (lr_records_format) */
    lr__buf held;      /* a physical line to process before reading more */
    int has_held, held_trunc;
    uint64_t held_line;
    uint64_t malformed;
};

static const char *const format_names[] = {"auto",   "raw",   "cri",  "docker", "jsonl",
                                           "csv",    "logfmt", "klog", "syslog", "log4j"};

/* Parse "auto", "raw", ...; 0 and *out set, or LR_EINVAL. */
int lr_records_parse_format(const char *name, lr_rec_format *out) {
    for (int i = 0; i < (int)(sizeof format_names / sizeof *format_names); i++)
        if (name && strcmp(name, format_names[i]) == 0) {
            *out = (lr_rec_format)i;
            return 0;
        }
    return LR_EINVAL;
}

/* The name of a format (static string). */
const char *lr_records_format_name(lr_rec_format f) {
    return (unsigned)f < sizeof format_names / sizeof *format_names ? format_names[f] : "?";
}

/* Defaults: auto, default fields, max_bytes 64 KiB, no follow. */
void lr_records_opts_init(lr_records_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = LR_REC_AUTO;
    o->max_bytes = (size_t)64 * 1024;
}

/* ------------------------------------------------------------ parsers */

static int digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int lr__rec_is_rfc3339(const char *s, size_t len) {
    /* YYYY-MM-DDTHH:MM:SS */
    if (len < 20) return 0;
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2))
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t j = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == j) return 0;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == len;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        return len - i == 6 && digits(s + i + 1, 2) && s[i + 3] == ':' && digits(s + i + 4, 2);
    return 0;
}

int lr__rec_parse_cri(const char *line, size_t len, lr__rec_cri *out) {
    const char *sp = memchr(line, ' ', len);
    if (!sp || !lr__rec_is_rfc3339(line, (size_t)(sp - line))) return 0;
    size_t i = (size_t)(sp - line) + 1;
    int stream;
    if (len - i >= 6 && memcmp(line + i, "stdout", 6) == 0)
        stream = 1;
    else if (len - i >= 6 && memcmp(line + i, "stderr", 6) == 0)
        stream = 2;
    else
        return 0;
    i += 6;
    if (len - i < 2 || line[i] != ' ' || (line[i + 1] != 'P' && line[i + 1] != 'F')) return 0;
    int partial = line[i + 1] == 'P';
    i += 2;
    if (i < len && line[i] != ' ') return 0;
    if (i < len) i++;
    out->msg = line + i;
    out->msg_len = len - i;
    out->time = line;
    out->time_len = (size_t)(sp - line);
    out->stream = stream;
    out->partial = partial;
    return 1;
}

/* Find a member by dotted path: the whole path as one key first, then
 * segment by segment through nested objects. */
static const lr__json *json_path(const lr__json *obj, const char *path) {
    const lr__json *v = lr__json_get(obj, path);
    if (v) return v;
    const char *p = path;
    v = obj;
    while (v) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        v = lr__json_getn(v, p, n);
        if (!dot) return v;
        p = dot + 1;
    }
    return NULL;
}

/* Wrapper metadata into b: the stream, then the time, each cut at
 * LR_EVENT_META_MAX bytes; *sn gets the stream's length. */
static int put_meta(lr__buf *b, size_t *sn, const char *st, size_t stn, const char *t, size_t tn) {
    lr__buf_clear(b);
    *sn = LR_MIN(stn, (size_t)LR_EVENT_META_MAX);
    if (lr__buf_put(b, st, *sn)) return LR_ENOMEM;
    return lr__buf_put(b, t, LR_MIN(tn, (size_t)LR_EVENT_META_MAX)) ? LR_ENOMEM : 0;
}

/* Point rec's stream and time at b (put_meta). */
static void point_meta(lr_record *rec, const lr__buf *b, size_t sn) {
    const char *d = b->data ? b->data : "";
    rec->stream = d;
    rec->stream_len = sn;
    rec->time = d + sn;
    rec->time_len = b->len - sn;
}

/* lr__rec_json_message, and with meta (may be NULL) the object's string
 * "stream" and "time" members (Docker json-file) put into it. */
static int json_message(const char *line, size_t len, const char *field, lr__buf *msg, int *docker, lr__buf *meta,
                        size_t *meta_sn) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len || line[i] != '{') return 0;
    lr__json_doc *doc = lr__json_parse(line, len, 0, NULL);
    if (!doc) return 0;
    const lr__json *root = lr__json_root(doc);
    if (root->type != LR_JSON_OBJECT) {
        lr__json_free(doc);
        return 0;
    }
    const lr__json *log = lr__json_get(root, "log");
    if (docker)
        *docker = log && log->type == LR_JSON_STRING &&
                  (lr__json_get(root, "stream") != NULL || lr__json_get(root, "time") != NULL);
    const lr__json *v = NULL;
    if (field) {
        v = json_path(root, field);
    } else {
        static const char *const defaults[] = {"message", "msg", "log"};
        for (int k = 0; k < 3 && !(v && v->type == LR_JSON_STRING); k++) v = lr__json_get(root, defaults[k]);
    }
    int rc = 2;
    if (v && v->type == LR_JSON_STRING) rc = lr__buf_put(msg, v->str, v->len) ? LR_ENOMEM : 1;
    if (rc == 1 && meta) {
        const lr__json *st = lr__json_get(root, "stream"), *t = lr__json_get(root, "time");
        if (st && st->type != LR_JSON_STRING) st = NULL;
        if (t && t->type != LR_JSON_STRING) t = NULL;
        if (put_meta(meta, meta_sn, st ? st->str : "", st ? st->len : 0, t ? t->str : "", t ? t->len : 0))
            rc = LR_ENOMEM;
    }
    lr__json_free(doc);
    return rc;
}

int lr__rec_json_message(const char *line, size_t len, const char *field, lr__buf *msg, int *docker) {
    return json_message(line, len, field, msg, docker, NULL, NULL);
}

/* ------------------------------------------------------------ reader */

/* Create a record reader on fd (borrowed, not closed). opts may be NULL
 * (defaults). Strings in opts are copied. NULL and err on failure. */
lr_records *lr_records_new(int fd, const lr_records_opts *opts, lr_error *err) {
    lr_records_opts def;
    if (!opts) {
        lr_records_opts_init(&def);
        opts = &def;
    }
    if ((unsigned)opts->format >= LR_REC_N_FORMATS || opts->max_bytes < 1) {
        lr__err(err, LR_EINVAL, "bad record reader options");
        return NULL;
    }
    if (opts->format == LR_REC_CSV && opts->follow) {
        lr__err(err, LR_EUNSUPPORTED, "CSV input cannot be followed (use jsonl, cri, docker or raw)");
        return NULL;
    }
    lr_records *r = lr__calloc(1, sizeof *r);
    if (!r) {
        lr__err(err, LR_ENOMEM, "out of memory for a record reader");
        return NULL;
    }
    lr__buf_init(&r->msg);
    lr__buf_init(&r->part);
    lr__buf_init(&r->held);
    lr__buf_init(&r->meta);
    lr__buf_init(&r->part_meta);
    r->fmt = opts->format;
    r->seen = LR_REC_RAW;
    if (r->fmt == LR_REC_AUTO && opts->column) r->fmt = LR_REC_CSV;
    r->max_bytes = opts->max_bytes;
    r->col = -1;
    if ((opts->field && !(r->field = lr__strdup(opts->field))) ||
        (opts->column && !(r->column = lr__strdup(opts->column)))) {
        lr__err(err, LR_ENOMEM, "out of memory for a record reader");
        goto fail;
    }
    int wrapped = r->fmt == LR_REC_AUTO || (r->fmt >= LR_REC_CRI && r->fmt <= LR_REC_CSV);
    size_t cap = !wrapped ? r->max_bytes : r->max_bytes * 4 + 4096;
    if (cap < r->max_bytes) cap = r->max_bytes;
    r->rd = lr_io_reader_new(fd, cap, err);
    if (!r->rd) goto fail;
    if (opts->follow) lr_io_reader_set_follow(r->rd, 1);
    if (r->fmt == LR_REC_CSV) {
        r->csv = lr_io_csv_new(r->rd, err);
        if (!r->csv) goto fail;
        lr_io_csv_set_max(r->csv, cap); /* a quoted field over many lines too */
    }
    return r;
fail:
    lr_records_free(r);
    return NULL;
}

/* Free the reader and its buffers (not the fd). Accepts NULL. */
void lr_records_free(lr_records *r) {
    if (!r) return;
    lr_io_csv_free(r->csv);
    lr_io_reader_free(r->rd);
    lr__buf_free(&r->msg);
    lr__buf_free(&r->part);
    lr__buf_free(&r->held);
    lr__buf_free(&r->meta);
    lr__buf_free(&r->part_meta);
    lr__free(r->field);
    lr__free(r->column);
    lr__free(r);
}

lr_rec_format lr_records_format(const lr_records *r) { return r->fmt == LR_REC_AUTO ? r->seen : r->fmt; }
uint64_t lr_records_malformed(const lr_records *r) { return r->malformed; }
lr_rec_format lr__records_requested(const lr_records *r) { return r->fmt; }
void lr_records_end_input(lr_records *r) { lr_io_reader_end_input(r->rd); }
int lr_records_buffered(const lr_records *r) { return r->has_held || lr_io_reader_buffered(r->rd); }

/* Append up to the cap to b; sets *trunc when something was cut. */
static int put_capped(lr_records *r, lr__buf *b, const char *s, size_t n, int *trunc) {
    size_t room = b->len < r->max_bytes ? r->max_bytes - b->len : 0;
    if (n > room) {
        n = room;
        *trunc = 1;
    }
    return n ? lr__buf_put(b, s, n) : 0;
}

/* Hand out s as the record (payload = the message unless set after). */
static int give(lr_records *r, lr_record *rec, const char *s, size_t n, uint64_t line, int trunc, int bad) {
    if (n > r->max_bytes) {
        n = r->max_bytes;
        trunc = 1;
    }
    rec->msg = rec->payload = s;
    rec->len = rec->payload_len = n;
    rec->line = rec->line_end = line;
    rec->truncated = trunc;
    rec->malformed = bad;
    rec->kind = LR_REC_RAW;
    rec->stream = rec->time = "";
    rec->stream_len = rec->time_len = 0;
    if (bad) r->malformed++;
    return 1;
}

/* Emit the open partial record and close it. */
static int give_part(lr_records *r, lr_record *rec) {
    lr__buf_clear(&r->msg);
    if (lr__buf_put(&r->msg, r->part.data ? r->part.data : "", r->part.len)) return LR_ENOMEM;
    r->part_active = 0;
    int trunc = r->part_trunc;
    lr__buf_clear(&r->part);
    give(r, rec, r->msg.data ? r->msg.data : "", r->msg.len, r->part_line, trunc, 0);
    rec->line_end = r->part_last;
    rec->kind = r->part_kind;
    point_meta(rec, &r->part_meta, r->part_sn);
    return 1;
}

/* auto: the wrapper of one line: cri, docker, jsonl (a JSON object with a
 * message field) or raw. */
static lr_rec_format detect_line(lr_records *r, const char *line, size_t len) {
    lr__rec_cri cri;
    lr_rec_format f = LR_REC_RAW;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (lr__rec_parse_cri(line, len, &cri)) {
        f = LR_REC_CRI;
    } else if (i < len && line[i] == '{') {
        lr__buf_clear(&r->msg);
        int docker = 0;
        int rc = lr__rec_json_message(line, len, r->field, &r->msg, &docker);
        if (rc == 1 || (rc == 2 && docker)) f = docker && !r->field ? LR_REC_DOCKER : rc == 1 ? LR_REC_JSONL : LR_REC_RAW;
    }
    if (r->seen == LR_REC_RAW || (r->seen == LR_REC_JSONL && f != LR_REC_RAW)) r->seen = f;
    return f;
}

/* CSV: the header on the first call, then one record per call. */
static int next_csv(lr_records *r, lr_record *rec, lr_error *err) {
    int rc;
    if (!r->header_done) {
        rc = lr_io_csv_read(r->csv, err);
        if (rc == 0)
            return lr__err(err, LR_EPARSE, "CSV input is empty: no header row with a column '%s'",
                           r->column ? r->column : "message");
        if (rc < 0) return rc;
        r->header_done = 1;
        if (r->column) {
            r->col = lr_io_csv_find(r->csv, r->column);
            if (r->col < 0 && *r->column && digits(r->column, strlen(r->column)) && strlen(r->column) < 9)
                r->col = strtol(r->column, NULL, 10) - 1;
            if (r->col < 0)
                return lr__err(err, LR_EINVAL, "CSV input has no column '%s' in its header", r->column);
        } else {
            static const char *const defaults[] = {"message", "msg", "log"};
            for (int k = 0; k < 3 && r->col < 0; k++) r->col = lr_io_csv_find(r->csv, defaults[k]);
            if (r->col < 0)
                return lr__err(err, LR_EINVAL,
                               "CSV header has no message, msg or log column (name one with --column)");
        }
    }
    rc = lr_io_csv_read(r->csv, err);
    if (rc <= 0) return rc;
    uint64_t line = lr_io_csv_line(r->csv);
    size_t n = 0;
    const char *f = lr_io_csv_field(r->csv, (size_t)r->col, &n);
    if (f) {
        give(r, rec, f, n, line, lr_io_csv_truncated(r->csv), 0);
        rec->kind = LR_REC_CSV;
        rec->line_end = lr_io_lines(r->rd);
        return 1;
    }
    /* a record without the column: its fields joined by ',' as raw text */
    lr__buf_clear(&r->msg);
    int trunc = 0;
    for (size_t i = 0; i < lr_io_csv_n_fields(r->csv); i++) {
        const char *fi = lr_io_csv_field(r->csv, i, &n);
        if ((i && put_capped(r, &r->msg, ",", 1, &trunc)) || put_capped(r, &r->msg, fi, n, &trunc))
            return lr__err(err, LR_ENOMEM, "out of memory for a CSV record");
    }
    give(r, rec, r->msg.data ? r->msg.data : "", r->msg.len, line, trunc || lr_io_csv_truncated(r->csv), 1);
    rec->kind = LR_REC_CSV;
    rec->line_end = lr_io_lines(r->rd);
    return 1;
}

/* Next record: 1 and *rec set (rec->msg owned by the reader, valid until
 * the next call), 0 at end of input, 2 in follow mode when no complete
 * record is available yet, or LR_EIO / LR_ENOMEM / LR_EPARSE (CSV) /
 * LR_EINVAL (CSV column missing) with err set. */
int lr_records_next(lr_records *r, lr_record *rec, lr_error *err) {
    if (r->fmt == LR_REC_CSV) return next_csv(r, rec, err);
    for (;;) {
        const char *line;
        size_t len;
        int cut = 0;
        uint64_t ln;
        if (r->has_held) {
            r->has_held = 0;
            line = r->held.data ? r->held.data : "";
            len = r->held.len;
            cut = r->held_trunc;
            ln = r->held_line;
        } else {
            int rc = lr_io_read_line(r->rd, &line, &len, &cut, err);
            if (rc < 0 || rc == 2) return rc;
            if (rc == 0) return r->part_active ? give_part(r, rec) : 0;
            ln = lr_io_lines(r->rd);
        }
        size_t full = len; /* a raw payload keeps its '\r' for lr_prep_line */
        if (len > 0 && line[len - 1] == '\r' && !cut) len--;
        lr_rec_format lf = r->fmt;
        if (lf == LR_REC_AUTO) lf = len && !cut ? detect_line(r, line, len) : LR_REC_RAW;
        if (lf > LR_REC_CSV) lf = LR_REC_RAW; /* logfmt, klog, ...: lines for the event layer */
        if (r->part_active && (lf != r->part_kind || len == 0)) goto hold;
        if (len == 0 || lf == LR_REC_RAW) {
            give(r, rec, line, len, ln, cut, 0);
            rec->payload_len = LR_MIN(full, r->max_bytes);
            return 1;
        }
        if (lf == LR_REC_CRI) {
            lr__rec_cri c;
            if (!cut && lr__rec_parse_cri(line, len, &c)) {
                const char *sname = c.stream == 1 ? "stdout" : "stderr";
                if (!r->part_active && !c.partial) {
                    give(r, rec, c.msg, c.msg_len, ln, 0, 0);
                    rec->kind = LR_REC_CRI;
                    rec->stream = sname;
                    rec->stream_len = 6;
                    rec->time = c.time;
                    rec->time_len = LR_MIN(c.time_len, (size_t)LR_EVENT_META_MAX);
                    return 1;
                }
                if (!r->part_active) {
                    if (put_meta(&r->part_meta, &r->part_sn, sname, 6, c.time, c.time_len))
                        return lr__err(err, LR_ENOMEM, "out of memory joining a partial CRI line");
                    r->part_active = 1;
                    r->part_trunc = 0;
                    r->part_line = ln;
                    r->part_kind = LR_REC_CRI;
                }
                r->part_last = ln;
                if (put_capped(r, &r->part, c.msg, c.msg_len, &r->part_trunc))
                    return lr__err(err, LR_ENOMEM, "out of memory joining a partial CRI line");
                if (!c.partial) return give_part(r, rec);
                continue;
            }
        } else { /* docker, jsonl */
            int docker = 0;
            int rc = 1;
            if (r->fmt != LR_REC_AUTO || lf == LR_REC_DOCKER) {
                lr__buf_clear(&r->msg);
                rc = cut ? 0
                         : json_message(line, len, lf == LR_REC_DOCKER ? "log" : r->field, &r->msg, &docker,
                                        lf == LR_REC_DOCKER ? &r->meta : NULL, &r->meta_sn);
            }
            if (rc < 0) return lr__err(err, rc, "out of memory reading line %llu", (unsigned long long)ln);
            if (rc == 1 && lf == LR_REC_JSONL) {
                give(r, rec, r->msg.data ? r->msg.data : "", r->msg.len, ln, 0, 0);
                rec->kind = LR_REC_JSONL;
                rec->payload = line;
                rec->payload_len = len;
                return 1;
            }
            if (rc == 1) {
                int ends = r->msg.len > 0 && r->msg.data[r->msg.len - 1] == '\n';
                size_t n = r->msg.len - (size_t)ends;
                if (!r->part_active && ends) {
                    if (n > 0 && r->msg.data[n - 1] == '\r') n--;
                    give(r, rec, r->msg.data, n, ln, 0, 0);
                    rec->kind = LR_REC_DOCKER;
                    point_meta(rec, &r->meta, r->meta_sn);
                    return 1;
                }
                if (!r->part_active) {
                    lr__buf_clear(&r->part_meta);
                    r->part_sn = r->meta_sn;
                    if (lr__buf_put(&r->part_meta, r->meta.data ? r->meta.data : "", r->meta.len))
                        return lr__err(err, LR_ENOMEM, "out of memory joining a split Docker line");
                    r->part_active = 1;
                    r->part_trunc = 0;
                    r->part_line = ln;
                    r->part_kind = LR_REC_DOCKER;
                }
                r->part_last = ln;
                if (put_capped(r, &r->part, r->msg.data ? r->msg.data : "", n, &r->part_trunc))
                    return lr__err(err, LR_ENOMEM, "out of memory joining a split Docker line");
                if (ends) {
                    if (r->part.len > 0 && r->part.data[r->part.len - 1] == '\r') r->part.len--;
                    return give_part(r, rec);
                }
                continue;
            }
        }
        /* not of the format: the open partial first, then this line raw */
        if (r->part_active) goto hold;
        return give(r, rec, line, len, ln, cut, r->fmt != LR_REC_AUTO);
    hold:
        if (line != r->held.data) {
            lr__buf_clear(&r->held);
            if (lr__buf_put(&r->held, line, len)) return lr__err(err, LR_ENOMEM, "out of memory");
        }
        r->has_held = 1;
        r->held_trunc = cut;
        r->held_line = ln;
        return give_part(r, rec);
    }
}
