/*
 * event.c — the canonical event: one parser per record format, and the one
 * rendering of an event that the model reads (docs/events.md).
 *
 * Design
 *  - A record's text becomes an lr__ev: time, level, source, message and
 *    error detail, its strings copied (and unescaped) into the event's own
 *    arena in that order, the error detail last so that a multi-line group
 *    (events.c) can append its continuation lines to it.
 *  - Formats: JSON objects (zap, logrus, slog, bunyan/pino, structlog ...),
 *    logfmt, klog (text and structured "msg" key=value), RFC 3164 and RFC
 *    5424 syslog (with or without PRI, classic or ISO timestamps), and the
 *    log4j / logback / Python-logging line. A syslog message is parsed again
 *    for JSON, klog or logfmt (the nesting of journald and rsyslog files).
 *  - Levels map to one canonical name per severity (lr_event_level_name):
 *    "warning", "W", syslog 4 and bunyan 40 all give WARN, so the same event
 *    renders the same whatever wrote it.
 *  - Auto detection (lr__ev_parse with LR_REC_AUTO) looks at the first bytes
 *    only: '{' JSON; '<' digits '>' syslog; a klog letter and four digits
 *    klog; a level word then ':' Python's default format; a level word,
 *    or one in brackets, at the start; a timestamp then a log4j/Python
 *    header (at most two words before the level word, which may be in
 *    brackets as nginx, Apache and MySQL write it, and a message after the
 *    header), else a syslog header; '=' in the line logfmt; else plain
 *    text. Each parser checks the whole shape, and a line that
 *    fails all of them is plain text: its message is the line itself, so
 *    plain lines render exactly as they are (the seed behaviour).
 *  - Metadata: the host of a syslog header or of a JSON / logfmt host field
 *    (cut at LR_EVENT_META_MAX bytes) is stored after the source. A plain
 *    line that starts with a loghub-style stamp (HDFS, Spark, Android,
 *    Proxifier, HealthApp, Windows, OpenStack) gets it as its time only,
 *    checked with lr_time_parse; the line stays the message, so the model's
 *    text does not change.
 *  - Nothing here allocates except the arena; nothing prints.
 */
#include "event.h"

#include <string.h>

#include "json.h"
#include "utf8.h"

/* ------------------------------------------------------------ levels */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_nocase(const char *a, size_t n, const char *b) {
    size_t m = strlen(b);
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != b[i]) return 0;
    return 1;
}

static const char *const syslog_levels[8] = {"EMERG", "ALERT", "CRITICAL", "ERROR",
                                             "WARN",  "NOTICE", "INFO",   "DEBUG"};

/* The canonical level of a number: bunyan/pino 10..60, syslog 0..7. */
static const char *level_of_number(long v) {
    switch (v) {
    case 10: return "TRACE";
    case 20: return "DEBUG";
    case 30: return "INFO";
    case 40: return "WARN";
    case 50: return "ERROR";
    case 60: return "FATAL";
    default: return v >= 0 && v <= 7 ? syslog_levels[v] : NULL;
    }
}

const char *lr_event_level_name(const char *w, size_t n) {
    static const struct {
        const char *word, *level;
    } words[] = {
        {"trace", "TRACE"},   {"trc", "TRACE"},     {"debug", "DEBUG"},         {"dbg", "DEBUG"},
        {"info", "INFO"},     {"inf", "INFO"},      {"information", "INFO"},    {"informational", "INFO"},
        {"notice", "NOTICE"}, {"warn", "WARN"},     {"warning", "WARN"},        {"wrn", "WARN"},
        {"error", "ERROR"},   {"err", "ERROR"},     {"eror", "ERROR"},          {"severe", "ERROR"},
        {"crit", "CRITICAL"}, {"critical", "CRITICAL"}, {"alert", "ALERT"},     {"fatal", "FATAL"},
        {"ftl", "FATAL"},     {"panic", "PANIC"},   {"dpanic", "PANIC"},        {"emerg", "EMERG"},
        {"emergency", "EMERG"},
    };
    if (!w || n == 0 || n > 13) return NULL;
    if (w[0] >= '0' && w[0] <= '9') {
        long v = 0;
        for (size_t i = 0; i < n; i++) {
            if (w[i] < '0' || w[i] > '9') return NULL;
            v = v * 10 + (w[i] - '0');
        }
        return level_of_number(v);
    }
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (eq_nocase(w, n, words[i].word)) return words[i].level;
    return NULL;
}

/* ------------------------------------------------------------ the event */

void lr__ev_init(lr__ev *ev) {
    memset(ev, 0, sizeof *ev);
    lr__buf_init(&ev->arena);
}

void lr__ev_free(lr__ev *ev) { lr__buf_free(&ev->arena); }

void lr__ev_clear(lr__ev *ev) {
    lr__buf_clear(&ev->arena);
    ev->t_off = ev->t_len = ev->s_off = ev->s_len = ev->h_off = ev->h_len = ev->m_off = ev->m_len = ev->e_off = 0;
    ev->level = NULL;
    ev->format = LR_REC_RAW;
}

void lr__ev_view(const lr__ev *ev, lr_event *out) {
    const char *a = ev->arena.data ? ev->arena.data : "";
    out->time = a + ev->t_off;
    out->time_len = ev->t_len;
    out->level = ev->level;
    out->source = a + ev->s_off;
    out->source_len = ev->s_len;
    out->host = a + ev->h_off;
    out->host_len = ev->h_len;
    out->stream = out->wrapper_time = "";
    out->stream_len = out->wrapper_time_len = 0;
    out->message = a + ev->m_off;
    out->message_len = ev->m_len;
    out->error = a + ev->e_off;
    out->error_len = ev->arena.len - ev->e_off;
    out->format = ev->format;
}

/* Append a value to the arena; `quoted`: decode the escapes of a Go /
 * logfmt quoted string (\" \\ \n \t \r \xNN \uNNNN, others kept). */
static int put_val(lr__buf *b, const char *p, size_t n, int quoted) {
    if (!quoted) return lr__buf_put(b, p, n);
    if (lr__buf_reserve(b, n)) return LR_ENOMEM;
    size_t i = 0;
    while (i < n) {
        const char *bs = memchr(p + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (p + i)) : n - i;
        if (run && lr__buf_put(b, p + i, run)) return LR_ENOMEM;
        i += run;
        if (i >= n) break;
        char c = i + 1 < n ? p[i + 1] : '\\';
        int rc = 0;
        size_t used = 2;
        switch (c) {
        case 'n': rc = lr__buf_putc(b, '\n'); break;
        case 't': rc = lr__buf_putc(b, '\t'); break;
        case 'r': rc = lr__buf_putc(b, '\r'); break;
        case '"': rc = lr__buf_putc(b, '"'); break;
        case '\\': rc = lr__buf_putc(b, '\\'); break;
        case 'x':
        case 'u': {
            size_t nd = c == 'x' ? 2 : 4;
            unsigned v = 0, ok = i + 2 + nd <= n;
            for (size_t k = 0; ok && k < nd; k++) {
                int h = p[i + 2 + k];
                int d = h >= '0' && h <= '9' ? h - '0' : lower(h) >= 'a' && lower(h) <= 'f' ? lower(h) - 'a' + 10 : -1;
                if (d < 0) ok = 0;
                v = v * 16 + (unsigned)(d < 0 ? 0 : d);
            }
            if (!ok) {
                rc = lr__buf_put(b, p + i, 2);
                break;
            }
            used = 2 + nd;
            if (c == 'x' || v < 0x80) {
                rc = lr__buf_putc(b, (char)v);
            } else {
                char u[4]; /* a surrogate becomes U+FFFD */
                rc = lr__buf_put(b, u, lr__utf8_encode(v, u));
            }
            break;
        }
        default: rc = lr__buf_put(b, p + i, i + 1 < n ? 2 : 1); break;
        }
        if (rc) return LR_ENOMEM;
        i += used;
    }
    return 0;
}

/* The fields are written in order: time, source, host, message, error. */
static int set_time(lr__ev *ev, const char *p, size_t n) {
    ev->t_off = ev->arena.len;
    ev->t_len = n;
    return lr__buf_put(&ev->arena, p, n);
}

static int set_source(lr__ev *ev, const char *p, size_t n) {
    ev->s_off = ev->arena.len;
    ev->s_len = n;
    return lr__buf_put(&ev->arena, p, n);
}

/* The host (metadata, cut at LR_EVENT_META_MAX bytes): after the source,
 * before the message. */
static int set_host(lr__ev *ev, const char *p, size_t n) {
    n = n > LR_EVENT_META_MAX ? LR_EVENT_META_MAX : n;
    ev->h_off = ev->arena.len;
    ev->h_len = n;
    return lr__buf_put(&ev->arena, p, n);
}

static int set_message(lr__ev *ev, const char *p, size_t n, int quoted) {
    ev->m_off = ev->arena.len;
    int rc = put_val(&ev->arena, p, n, quoted);
    ev->m_len = ev->arena.len - ev->m_off;
    ev->e_off = ev->arena.len;
    return rc;
}

/* Add one piece of error detail ('\n' between pieces). */
static int add_error(lr__ev *ev, const char *p, size_t n, int quoted) {
    if (n == 0) return 0;
    if (ev->arena.len > ev->e_off && lr__buf_putc(&ev->arena, '\n')) return LR_ENOMEM;
    return put_val(&ev->arena, p, n, quoted);
}

/* Plain text: the message is the text itself. */
static int set_plain(lr__ev *ev, const char *text, size_t len) {
    lr__ev_clear(ev);
    return set_message(ev, text, len, 0);
}

/* ------------------------------------------------------------ scanning */

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i])) return 0;
    return 1;
}

/* hh:mm:ss[(.|,)frac] at s; its length or 0. */
static size_t time_of_day(const char *s, size_t len) {
    if (len < 8 || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' || !digits(s + 6, 2)) return 0;
    size_t i = 8;
    if (i + 1 < len && (s[i] == '.' || s[i] == ',') && is_digit((unsigned char)s[i + 1])) {
        i++;
        while (i < len && is_digit((unsigned char)s[i])) i++;
    }
    return i;
}

/* A zone after a time: Z, +hh:mm, +hhmm, -hh; its length or 0. */
static size_t zone(const char *s, size_t len) {
    if (len >= 1 && (s[0] == 'Z' || s[0] == 'z')) return 1;
    if (len >= 3 && (s[0] == '+' || s[0] == '-') && digits(s + 1, 2)) {
        if (len >= 6 && s[3] == ':' && digits(s + 4, 2)) return 6;
        if (len >= 5 && digits(s + 3, 2)) return 5;
        return 3;
    }
    return 0;
}

/* A time zone's abbreviation as PostgreSQL's %m and %t, MySQL and Go
 * write it after a blank ("12:00:00.123 CEST"), not followed by a letter or
 * digit: its length, or 0. Only these, so that a level or a word after a
 * time stays what it is. */
static size_t zone_name(const char *s, size_t len) {
    static const char *const names[] = {"UTC",  "GMT",  "CET",  "CEST", "EET",  "EEST", "WET",  "WEST", "BST",
                                        "IST",  "MSK",  "EST",  "EDT",  "CST",  "CDT",  "MST",  "MDT",  "PST",
                                        "PDT",  "AKST", "AKDT", "HST",  "JST",  "KST",  "AEST", "AEDT", "ACST",
                                        "AWST", "NZST", "NZDT", "SGT",  "HKT",  "WIB"};
    size_t n = 0;
    while (n < len && n < 5 && is_alpha((unsigned char)s[n])) n++;
    if (n < len && is_digit((unsigned char)s[n])) return 0;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        if (strlen(names[k]) == n && memcmp(s, names[k], n) == 0) return n;
    return 0;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

size_t lr__ev_timestamp(const char *s, size_t len) {
    /* YYYY-MM-DD[T ]hh:mm:ss[.frac][zone], also with '/' */
    if (len >= 19 && digits(s, 4) && (s[4] == '-' || s[4] == '/') && digits(s + 5, 2) && s[7] == s[4] &&
        digits(s + 8, 2) && (s[10] == 'T' || s[10] == ' ')) {
        size_t t = time_of_day(s + 11, len - 11);
        if (!t) return 0;
        size_t i = 11 + t;
        return i + zone(s + i, len - i);
    }
    /* Mmm [d]d hh:mm:ss (syslog) */
    if (len >= 15 && s[3] == ' ' && (s[4] == ' ' || is_digit((unsigned char)s[4])) &&
        is_digit((unsigned char)s[5]) && s[6] == ' ') {
        int month = 0;
        for (int m = 0; m < 12 && !month; m++)
            if (memcmp(s, months + 3 * m, 3) == 0) month = m + 1;
        size_t t = month ? time_of_day(s + 7, len - 7) : 0;
        return t ? 7 + t : 0;
    }
    /* YYMMDD [h]h:mm:ss (MySQL 5.5 and MariaDB's error log; a blank pads
     * the hour) */
    if (len >= 15 && digits(s, 6) && s[6] == ' ' && (s[7] == ' ' || is_digit((unsigned char)s[7]))) {
        int mm = (s[2] - '0') * 10 + (s[3] - '0'), dd = (s[4] - '0') * 10 + (s[5] - '0');
        char hms[8];
        memcpy(hms, s + 7, 8);
        if (hms[0] == ' ') hms[0] = '0';
        if (mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31 && time_of_day(hms, 8) == 8) return 15;
    }
    /* hh:mm:ss[.frac] (logback's default) */
    return time_of_day(s, len);
}

/* ------------------------------------------------------------ JSON */

static const lr__json *json_path(const lr__json *obj, const char *path) {
    const lr__json *v = lr__json_get(obj, path);
    if (v) return v;
    const char *p = path;
    v = obj;
    while (v && v->type == LR_JSON_OBJECT) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        v = lr__json_getn(v, p, n);
        if (!dot) return v;
        p = dot + 1;
    }
    return NULL;
}

/* The first member of `names` that is a (non-empty) string. */
static const lr__json *json_first_str(const lr__json *obj, const char *const *names) {
    for (; *names; names++) {
        const lr__json *v = json_path(obj, *names);
        if (v && v->type == LR_JSON_STRING && v->len > 0) return v;
    }
    return NULL;
}

/* One scalar JSON value as text: a string as it is (in quotes when it is
 * empty or holds a space), a number, true or false. 0 for null, objects and
 * arrays, which write nothing. */
static int put_scalar(lr__buf *b, const lr__json *v, int *rc) {
    char num[32];
    switch (v->type) {
    case LR_JSON_STRING:
        if (v->len && !memchr(v->str, ' ', v->len)) *rc = lr__buf_put(b, v->str, v->len);
        else *rc = lr__buf_putc(b, '"') || lr__buf_put(b, v->str, v->len) || lr__buf_putc(b, '"');
        return 1;
    case LR_JSON_NUMBER:
        if (v->is_int) snprintf(num, sizeof num, "%lld", (long long)v->i64);
        else snprintf(num, sizeof num, "%.15g", v->num);
        *rc = lr__buf_put(b, num, strlen(num));
        return 1;
    case LR_JSON_TRUE:
    case LR_JSON_FALSE:
        *rc = v->type == LR_JSON_TRUE ? lr__buf_put(b, "true", 4) : lr__buf_put(b, "false", 5);
        return 1;
    default:
        return 0;
    }
}

/* The message of a JSON record with no message member: its other members
 * as logfmt, `key=value` in the record's order, the members of a nested
 * object as `outer.key=value` and an array of scalars as `key=a,b`; deeper
 * nesting is left out. `skip` holds the members already read as the
 * record's level, time, source, host or error. Returns 0 and writes nothing
 * when no member is left. */
static int set_fields_message(lr__ev *ev, const lr__json *root, const lr__json *const *skip, size_t nskip) {
    lr__buf *b = &ev->arena;
    int rc = 0;
    ev->m_off = b->len;
    for (size_t i = 0; i < root->n && !rc; i++) {
        const lr__json *m = &root->items[i];
        int used = 0;
        for (size_t k = 0; k < nskip; k++) used |= skip[k] == m;
        if (used) continue;
        const lr__json *inner = m->type == LR_JSON_OBJECT ? m->items : m;
        size_t n = m->type == LR_JSON_OBJECT ? m->n : 1;
        for (size_t j = 0; j < n && !rc; j++) {
            const lr__json *v = &inner[j];
            size_t mark = b->len;
            if (b->len > ev->m_off) rc = lr__buf_putc(b, ' ');
            rc = rc ? rc : lr__buf_put(b, m->key, m->key_len);
            if (v != m) rc = rc ? rc : lr__buf_putc(b, '.') || lr__buf_put(b, v->key, v->key_len);
            rc = rc ? rc : lr__buf_putc(b, '=');
            int wrote = 0;
            if (v->type == LR_JSON_ARRAY) {
                for (size_t a = 0; a < v->n && !rc; a++) {
                    lr__json_type ty = v->items[a].type;
                    if (ty == LR_JSON_NULL || ty == LR_JSON_OBJECT || ty == LR_JSON_ARRAY) continue;
                    if (wrote && (rc = lr__buf_putc(b, ','))) break;
                    wrote |= put_scalar(b, &v->items[a], &rc);
                }
            } else {
                wrote = put_scalar(b, v, &rc);
            }
            if (!wrote && !rc) b->len = mark; /* null, or nested too deep */
        }
    }
    if (rc) return rc;
    ev->m_len = b->len - ev->m_off;
    ev->e_off = b->len;
    return ev->m_len ? 1 : 0;
}

int lr__ev_json(lr__ev *ev, const char *text, size_t len, const char *field) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i == len || text[i] != '{') return 0;
    lr__json_doc *doc = lr__json_parse(text, len, 0, NULL);
    if (!doc) return 0;
    const lr__json *root = lr__json_root(doc);
    int rc = 0;
    if (root->type != LR_JSON_OBJECT) goto done;
    /* the message: the common names, HashiCorp's hclog (@message, @level,
     * @module), Serilog's compact JSON (@m, @mt, @l, @t, @x), Google Cloud
     * Logging (textPayload, jsonPayload.message) and structlog (event) */
    static const char *const msg_keys[] = {"message", "msg",         "log",    "MESSAGE",
                                           "@message", "@m",         "textPayload", "jsonPayload.message",
                                           "event",   "@mt",         NULL};
    static const char *const time_keys[] = {"time", "ts", "timestamp", "@timestamp", "t", "@t", NULL};
    static const char *const source_keys[] = {"logger", "logger_name", "caller", "component", "source",
                                              "name", "unit", "SYSLOG_IDENTIFIER", "@module", NULL};
    static const char *const level_keys[] = {"level", "severity", "lvl", "levelname", "log.level", "log_level",
                                             "loglevel", "PRIORITY", "@level", "@l", NULL};
    static const char *const host_keys[] = {"_HOSTNAME", "hostname", "host", "host.name", "HOSTNAME", NULL};
    static const char *const err_keys[] = {"err",   "error",      "exception",   "exc_info", "error.message",
                                           "stack", "stacktrace", "stack_trace", "error.stack_trace", "@x",
                                           NULL};
    const lr__json *msg;
    if (field) {
        msg = json_path(root, field);
        if (msg && msg->type != LR_JSON_STRING) msg = NULL;
        if (!msg) goto done; /* no such field: the caller judges the line as text */
    } else {
        msg = json_first_str(root, msg_keys);
        if (!msg) { /* an empty message string is still a message */
            for (int k = 0; msg_keys[k] && !msg; k++) {
                const lr__json *v = lr__json_get(root, msg_keys[k]);
                if (v && v->type == LR_JSON_STRING) msg = v;
            }
        }
    }
    lr__ev_clear(ev);
    ev->format = LR_REC_JSONL;
    /* what is read as level, time, source and host (skip[0..3]) and as
     * error detail (skip[4..]) is not part of a message made of fields */
    const lr__json *skip[4 + sizeof err_keys / sizeof *err_keys] = {NULL};
    size_t nskip = 4;
    for (int k = 0; level_keys[k] && !ev->level; k++) {
        const lr__json *v = json_path(root, level_keys[k]);
        if (!v) continue;
        if (v->type == LR_JSON_STRING) ev->level = lr_event_level_name(v->str, v->len);
        else if (v->type == LR_JSON_NUMBER && v->is_int && v->i64 >= 0 && v->i64 <= 100)
            ev->level = level_of_number((long)v->i64);
        if (ev->level) skip[0] = v;
    }
    const lr__json *t = json_first_str(root, time_keys);
    const lr__json *s = json_first_str(root, source_keys), *h = json_first_str(root, host_keys);
    skip[1] = t;
    for (int k = 0; time_keys[k] && !skip[1]; k++) { /* or a number: epoch seconds */
        const lr__json *v = json_path(root, time_keys[k]);
        if (v && v->type == LR_JSON_NUMBER) skip[1] = v;
    }
    skip[2] = s;
    skip[3] = h;
    static const char *const inner[] = {"message", "msg", NULL};
    static const char *const stack[] = {"stack", "stacktrace", "stack_trace", NULL};
    for (int k = 0; err_keys[k]; k++) { /* an object, bunyan's or pino's, when it has a message or stack */
        const lr__json *v = json_path(root, err_keys[k]);
        if (v && v != msg &&
            (v->type == LR_JSON_STRING ||
             (v->type == LR_JSON_OBJECT && (json_first_str(v, inner) || json_first_str(v, stack)))))
            skip[nskip++] = v;
    }
    rc = set_time(ev, t ? t->str : "", t ? t->len : 0);
    rc = rc ? rc : set_source(ev, s ? s->str : "", s ? s->len : 0);
    rc = rc ? rc : set_host(ev, h ? h->str : "", h ? h->len : 0);
    if (!rc && msg) {
        rc = set_message(ev, msg->str, msg->len, 0);
    } else if (!rc) {
        int fields = set_fields_message(ev, root, skip, nskip);
        if (fields < 0) rc = fields;
        else if (fields == 0 && nskip == 4) goto done; /* no message, no error: the line is text */
    }
    for (size_t k = 4; k < nskip && !rc; k++) {
        const lr__json *v = skip[k];
        if (v->type == LR_JSON_OBJECT) {
            const lr__json *m = json_first_str(v, inner), *st = json_first_str(v, stack);
            if (m && !(st && st->len >= m->len && memcmp(st->str, m->str, m->len) == 0))
                rc = add_error(ev, m->str, m->len, 0);
            if (st && !rc) rc = add_error(ev, st->str, st->len, 0);
        } else {
            rc = add_error(ev, v->str, v->len, 0);
        }
    }
    if (rc == 0) rc = 1;
done:
    lr__json_free(doc);
    return rc;
}

/* ------------------------------------------------------------ logfmt */

/* One key=value pair of logfmt at s[*i]: key span, value span (without
 * quotes), quoted flag. Returns 1, 0 at end of text, -1 when the text is
 * not key=value here. */
typedef struct kv {
    const char *k, *v;
    size_t kn, vn;
    int quoted;
} kv;

static int next_pair(const char *s, size_t len, size_t *pi, kv *out) {
    size_t i = *pi;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == len) {
        *pi = i;
        return 0;
    }
    size_t k0 = i;
    while (i < len && s[i] != '=' && s[i] != ' ' && s[i] != '"' && s[i] != '\t') i++;
    if (i == k0 || i == len || s[i] != '=') return -1;
    out->k = s + k0;
    out->kn = i - k0;
    i++;
    if (i < len && s[i] == '"') {
        size_t v0 = ++i;
        while (i < len && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
        if (i >= len) return -1;
        out->v = s + v0;
        out->vn = i - v0;
        out->quoted = 1;
        i++;
        if (i < len && s[i] != ' ' && s[i] != '\t') return -1;
    } else {
        size_t v0 = i;
        while (i < len && s[i] != ' ' && s[i] != '\t') i++;
        out->v = s + v0;
        out->vn = i - v0;
        out->quoted = 0;
    }
    *pi = i;
    return 1;
}

static int key_is(const kv *p, const char *const *names) {
    for (; *names; names++)
        if (strlen(*names) == p->kn && memcmp(p->k, *names, p->kn) == 0) return 1;
    return 0;
}

static const char *const kv_msg[] = {"msg", "message", NULL};
static const char *const kv_level[] = {"level", "lvl", "severity", NULL};
static const char *const kv_time[] = {"time", "ts", "t", "timestamp", NULL};
static const char *const kv_source[] = {"logger", "caller", "component", "source", "module", NULL};
static const char *const kv_err[] = {"err", "error", "exception", "stack", "stacktrace", NULL};
static const char *const kv_host[] = {"host", "hostname", NULL};

/* Fill ev from a logfmt line: every token must be a key=value pair and
 * one of them msg or message (so "a=1 b=2" stays plain text). Returns 1, 0 (not logfmt), LR_ENOMEM. */
static int logfmt_fields(lr__ev *ev, const char *s, size_t len) {
    kv m = {0}, t = {0}, src = {0}, host = {0}, p;
    const char *level = NULL;
    int have_m = 0, have_t = 0, have_s = 0, have_h = 0, r;
    size_t i = 0;
    while ((r = next_pair(s, len, &i, &p)) == 1) {
        if (!have_m && key_is(&p, kv_msg)) m = p, have_m = 1;
        else if (!level && key_is(&p, kv_level)) level = lr_event_level_name(p.v, p.vn);
        else if (!have_t && key_is(&p, kv_time)) t = p, have_t = 1;
        else if (!have_s && key_is(&p, kv_source)) src = p, have_s = 1;
        else if (!have_h && key_is(&p, kv_host) && !p.quoted) host = p, have_h = 1;
    }
    if (r < 0 || !have_m) return 0;
    lr__ev_clear(ev);
    ev->level = level;
    int rc = set_time(ev, have_t ? t.v : "", have_t ? t.vn : 0);
    rc = rc ? rc : set_source(ev, have_s ? src.v : "", have_s ? src.vn : 0);
    rc = rc ? rc : set_host(ev, have_h ? host.v : "", have_h ? host.vn : 0);
    rc = rc ? rc : set_message(ev, m.v, m.vn, m.quoted);
    i = 0;
    while (!rc && next_pair(s, len, &i, &p) == 1)
        if (key_is(&p, kv_err)) rc = add_error(ev, p.v, p.vn, p.quoted);
    return rc ? rc : 1;
}

int lr__ev_logfmt(lr__ev *ev, const char *text, size_t len) {
    if (!memchr(text, '=', len)) return 0;
    int rc = logfmt_fields(ev, text, len);
    if (rc == 1) ev->format = LR_REC_LOGFMT;
    return rc;
}

/* ------------------------------------------------------------ klog */

int lr__ev_klog(lr__ev *ev, const char *s, size_t len) {
    /* Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg */
    static const char letters[] = "IWEF";
    static const char *const names[] = {"INFO", "WARN", "ERROR", "FATAL"};
    if (len < 6 || !memchr(letters, s[0], 4) || !digits(s + 1, 4) || s[5] != ' ') return 0;
    size_t t = time_of_day(s + 6, len - 6);
    if (!t) return 0;
    size_t i = 6 + t;
    size_t sp = i;
    while (i < len && s[i] == ' ') i++;
    if (i == sp) return 0;
    size_t d0 = i;
    while (i < len && is_digit((unsigned char)s[i])) i++;
    if (i == d0 || i >= len || s[i] != ' ') return 0;
    size_t f0 = ++i;
    while (i < len && s[i] != ']' && s[i] != ' ') i++;
    if (i >= len || s[i] != ']' || !memchr(s + f0, ':', i - f0)) return 0;
    size_t f1 = i++;
    if (i < len && s[i] == ' ') i++;
    lr__ev_clear(ev);
    ev->format = LR_REC_KLOG;
    ev->level = names[strchr(letters, s[0]) - letters];
    int rc = set_time(ev, s + 1, 5 + t);
    rc = rc ? rc : set_source(ev, s + f0, f1 - f0);
    if (rc) return rc;
    /* structured (klog.InfoS / ErrorS): "quoted message" key=value ...; the
     * err pair is the error detail, the other pairs are metadata */
    if (i < len && s[i] == '"') {
        size_t q = i + 1;
        while (q < len && s[q] != '"') q += s[q] == '\\' ? 2 : 1;
        size_t j = q + 1;
        kv p;
        int r = q < len ? 1 : -1;
        while (r == 1) r = next_pair(s, len, &j, &p);
        if (r == 0) {
            rc = set_message(ev, s + i + 1, q - i - 1, 1);
            j = q + 1;
            while (!rc && next_pair(s, len, &j, &p) == 1)
                if (key_is(&p, kv_err)) rc = add_error(ev, p.v, p.vn, p.quoted);
            return rc ? rc : 1;
        }
    }
    rc = set_message(ev, s + i, len - i, 0);
    return rc ? rc : 1;
}

/* ------------------------------------------------------------ syslog */

static size_t dmesg_stamp(const char *s, size_t len);
static size_t ctime_stamp(const char *s, size_t len);

/* Fill ev from an inner event `in` (parsed out of a wrapper's message)
 * with the level, time, source and host given (the caller picks the
 * wrapper's or the inner record's), and in's message and error detail. */
static int adopt(lr__ev *ev, const lr__ev *in, const char *level, const char *t, size_t tn, const char *src,
                 size_t sn, const char *host, size_t hn) {
    lr_event v;
    lr__ev_view(in, &v);
    lr__ev_clear(ev);
    ev->format = in->format;
    ev->level = level;
    int rc = set_time(ev, t, tn);
    rc = rc ? rc : set_source(ev, src, sn);
    rc = rc ? rc : set_host(ev, host, hn);
    rc = rc ? rc : set_message(ev, v.message, v.message_len, 0);
    return rc ? rc : add_error(ev, v.error, v.error_len, 0);
}

/* Parse the message part of a wrapper (syslog) for an inner structure:
 * JSON, klog, logfmt or a timestamped header with a level (a container's
 * or PostgreSQL's own log line, forwarded by journald or docker). The wrapper's fields are kept unless the inner
 * record has them: its level wins, its time and source are used when the
 * wrapper has none. Returns 1 when an inner format matched. */
static int parse_inner(lr__ev *ev, const char *msg, size_t n, const char *outer_level, const char *t, size_t tn,
                       const char *src, size_t sn, const char *host, size_t hn) {
    lr__ev inner;
    lr__ev_init(&inner);
    int rc = 0;
    if (n && msg[0] == '{') rc = lr__ev_json(&inner, msg, n, NULL);
    if (rc == 0 && n > 5 && memchr("IWEF", msg[0], 4) && msg[0]) rc = lr__ev_klog(&inner, msg, n);
    if (rc == 0 && memchr(msg, '=', n)) rc = lr__ev_logfmt(&inner, msg, n);
    if (rc == 0 && n && is_digit((unsigned char)msg[0])) rc = lr__ev_log4j(&inner, msg, n);
    if (rc == 1) {
        lr_event v;
        lr__ev_view(&inner, &v);
        int r = adopt(ev, &inner, v.level ? v.level : outer_level, tn ? t : v.time, tn ? tn : v.time_len,
                      sn ? src : v.source, sn ? sn : v.source_len, hn ? host : v.host, hn ? hn : v.host_len);
        if (r) rc = r;
    }
    lr__ev_free(&inner);
    return rc;
}

/* A syslog header: PRI (-1 none), time, host, app, and where the message
 * starts; bare: "<PRI>message" without a header. */
typedef struct syslog_hdr {
    int pri, bare;
    const char *t, *host, *app;
    size_t tn, hn, an, msg;
    size_t hostn; /* the host alone (host: host and app, the stream key) */
} syslog_hdr;

/* The ISO timestamp of a syslog file line without PRI (rsyslog's file
 * format, journalctl -o short-iso): RFC 3339 with its 'T', at most six
 * digits of fraction and a zone. A date and time with a space, or
 * nanoseconds (kubectl --timestamps, CRI), start a plain line instead. */
static int iso_syslog_time(const char *s, size_t n) {
    if (n < 20 || s[10] != 'T') return 0;
    size_t i = 19;
    if (s[i] == '.' || s[i] == ',') {
        size_t f = ++i;
        while (i < n && is_digit((unsigned char)s[i])) i++;
        if (i - f > 6) return 0;
    }
    return i < n && zone(s + i, n - i) == n - i;
}

static int syslog_header(const char *s, size_t len, syslog_hdr *h) {
    size_t i = 0;
    memset(h, 0, sizeof *h);
    h->pri = -1;
    h->t = h->host = h->app = "";
    if (len >= 3 && s[0] == '<') {
        size_t j = 1;
        int v = 0;
        while (j < len && j < 5 && is_digit((unsigned char)s[j])) v = v * 10 + (s[j++] - '0');
        if (j == 1 || j >= len || s[j] != '>' || v > 191) return 0;
        h->pri = v;
        i = j + 1;
    }
    if (h->pri >= 0 && len - i >= 2 && s[i] == '1' && s[i + 1] == ' ') {
        /* RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG] */
        i += 2;
        const char *f[5];
        size_t fn[5];
        for (int k = 0; k < 5; k++) {
            size_t f0 = i;
            while (i < len && s[i] != ' ') i++;
            if (i == f0 || i >= len) return 0;
            f[k] = s + f0;
            fn[k] = i - f0;
            i++;
        }
        if (i >= len) return 0; /* no STRUCTURED-DATA */
        if (s[i] == '-') {
            i++;
        } else if (s[i] == '[') {
            while (i < len && s[i] == '[') {
                i++;
                while (i < len && s[i] != ']') i += s[i] == '\\' ? 2 : 1;
                if (i >= len) return 0;
                i++;
            }
        } else {
            return 0;
        }
        if (i < len && s[i] != ' ') return 0;
        if (i < len) i++;
        if (len - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i += 3;
        int nil_t = fn[0] == 1 && f[0][0] == '-', nil_a = fn[2] == 1 && f[2][0] == '-';
        h->t = nil_t ? "" : f[0];
        h->tn = nil_t ? 0 : fn[0];
        h->host = f[1];
        h->hn = (size_t)(f[2] - f[1]) + fn[2]; /* host and app: the stream's key */
        h->hostn = fn[1] == 1 && f[1][0] == '-' ? 0 : fn[1];
        h->app = nil_a ? "" : f[2];
        h->an = nil_a ? 0 : fn[2];
        h->msg = i;
        return 1;
    }
    /* RFC 3164 / syslog files: TIMESTAMP SP HOST SP TAG[pid]: MSG */
    size_t ts = lr__ev_timestamp(s + i, len - i);
    if (ts < 15) {
        if (h->pri < 0) return 0;
        h->bare = 1; /* "<PRI>message" */
        h->msg = i;
        return 1;
    }
    if (h->pri < 0 && is_digit((unsigned char)s[i]) && !iso_syslog_time(s + i, ts)) return 0;
    h->t = s + i;
    h->tn = ts;
    i += ts;
    if (i >= len || s[i] != ' ') return 0;
    i++;
    size_t h0 = i;
    while (i < len && s[i] != ' ') i++;
    if (i == h0 || i >= len) return 0;
    i++;
    size_t a0 = i;
    while (i < len && s[i] != ' ' && s[i] != '[' && s[i] != ':') i++;
    if (i == a0 || i >= len) return 0;
    h->app = s + a0;
    h->an = i - a0;
    h->host = s + h0;
    h->hn = i - h0;
    h->hostn = a0 - 1 - h0;
    if (s[i] == '[') {
        size_t p0 = ++i;
        while (i < len && is_digit((unsigned char)s[i])) i++;
        if (i == p0 || i >= len || s[i] != ']') return 0;
        i++;
    }
    if (i >= len || s[i] != ':') return 0;
    i++;
    if (i < len && s[i] == ' ') i++;
    h->msg = i;
    return 1;
}

size_t lr__ev_syslog_prefix(const char *s, size_t len, const char **key, size_t *key_len) {
    syslog_hdr h;
    if (!syslog_header(s, len, &h) || h.bare) return 0;
    *key = h.host;
    *key_len = h.hn;
    return h.msg;
}

int lr__ev_syslog(lr__ev *ev, const char *s, size_t len) {
    syslog_hdr h;
    if (!syslog_header(s, len, &h)) return 0;
    /* the kernel's own stamp in the message: "kernel: [ 1009.228833] ..." */
    size_t ks = dmesg_stamp(s + h.msg, len - h.msg);
    if (ks && h.msg + ks + 1 < len && s[h.msg + ks] == ' ') h.msg += ks + 1;
    const char *level = h.pri >= 0 ? syslog_levels[h.pri & 7] : NULL;
    int rc = parse_inner(ev, s + h.msg, len - h.msg, level, h.t, h.tn, h.app, h.an, h.host, h.hostn);
    if (rc) {
        if (rc == 1) ev->format = LR_REC_SYSLOG;
        return rc;
    }
    lr__ev_clear(ev);
    ev->format = LR_REC_SYSLOG;
    ev->level = level;
    rc = set_time(ev, h.t, h.tn);
    rc = rc ? rc : set_source(ev, h.app, h.an);
    rc = rc ? rc : set_host(ev, h.host, h.hostn);
    rc = rc ? rc : set_message(ev, s + h.msg, len - h.msg, 0);
    return rc ? rc : 1;
}

/* ------------------------------------------------------------ log4j / Python */

/* A token of a header: s[i..end) up to the next space. */
static size_t token_end(const char *s, size_t len, size_t i) {
    while (i < len && s[i] != ' ' && s[i] != '\t') i++;
    return i;
}

static int starts_with(const char *s, size_t len, const char *p) {
    size_t k = strlen(p);
    return len >= k && memcmp(s, p, k) == 0;
}

/* Past the blanks and lone '-' tokens at s[i]: the separator and the empty
 * fields (an MDC value that is not set prints "-") between a header's level
 * and its message, as in "DEBUG - - - com.x.Pool closing". A message of
 * dashes alone is kept. */
static size_t skip_dashes(const char *s, size_t len, size_t i) {
    size_t k = i;
    for (;;) {
        while (k < len && (s[k] == ' ' || s[k] == '\t')) k++;
        if (k < len && s[k] == '-' && (k + 1 == len || s[k + 1] == ' ' || s[k + 1] == '\t'))
            k++;
        else
            break;
    }
    if (k < len) return k;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    return i;
}

/* The kernel's report names are text, not a level: "INFO: task x blocked
 * for more than 120 seconds", "INFO: rcu_sched detected stalls", "WARNING:
 * CPU: 4 PID: 1 at ...". */
static int kernel_report(const char *s, size_t len) {
    return starts_with(s, len, "INFO: task ") || starts_with(s, len, "INFO: rcu_") ||
           starts_with(s, len, "WARNING: CPU: ");
}

/* Logger-like: letters, digits and . _ $ / - : (a dotted class, a module). */
static int logger_like(const char *s, size_t n) {
    if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '$' || c == '/' || c == '-' || c == ':'))
            return 0;
    }
    return 1;
}

/* A level word of a header: the whole token (without a trailing ':'),
 * upper case or capitalised, known to lr_event_level_name. */
static const char *header_level(const char *s, size_t n) {
    if (n == 4 && memcmp(s, "LOG:", 4) == 0) return "INFO"; /* PostgreSQL's LOG: */
    if (n && s[n - 1] == ':') n--;
    if (n < 3 || n > 9 || !(s[0] >= 'A' && s[0] <= 'Z') || is_digit((unsigned char)s[0])) return NULL;
    return lr_event_level_name(s, n);
}

/* A level in brackets, the whole token "[...]" of n bytes: any case of a
 * level word ("[ERROR]", "[error]", "[Warning]"), MySQL's "[Note]" (INFO)
 * and "[System]" (NOTICE), Apache's "[module:level]" ("[core:error]") and
 * "[trace1]".."[trace8]"; or NULL. */
static const char *bracket_level(const char *tok, size_t n) {
    if (n < 5 || tok[0] != '[' || tok[n - 1] != ']') return NULL;
    const char *w = tok + 1;
    size_t wn = n - 2;
    const char *colon = memchr(w, ':', wn);
    if (colon) { /* Apache 2.4: "[module:level]", the module a C name */
        for (const char *c = w; c < colon; c++)
            if (!(is_alpha((unsigned char)*c) || is_digit((unsigned char)*c) || *c == '_')) return NULL;
        if (colon == w) return NULL;
        wn -= (size_t)(colon - w) + 1;
        w = colon + 1;
    }
    if (wn == 6 && eq_nocase(w, 5, "trace") && w[5] >= '1' && w[5] <= '8') return "TRACE";
    if (eq_nocase(w, wn, "note")) return "INFO";
    if (eq_nocase(w, wn, "system")) return "NOTICE";
    return wn >= 3 && is_alpha((unsigned char)w[0]) ? lr_event_level_name(w, wn) : NULL;
}

/* nginx's "pid#tid:" after the level of its error log. */
static int pid_tid(const char *s, size_t n) {
    const char *hash = n > 3 && s[n - 1] == ':' ? memchr(s, '#', n) : NULL;
    return hash && hash > s && digits(s, (size_t)(hash - s)) && hash + 1 < s + n - 1 &&
           digits(hash + 1, (size_t)(s + n - 2 - hash));
}

int lr__ev_log4j(lr__ev *ev, const char *s, size_t len) {
    size_t i = 0, t0 = 0, tn;
    /* Python's default: LEVEL:logger:message */
    {
        size_t c = 0;
        while (c < len && c < 10 && s[c] >= 'A' && s[c] <= 'Z') c++;
        if (c >= 4 && c < len && s[c] == ':') {
            const char *lv = lr_event_level_name(s, c);
            const char *colon = lv ? memchr(s + c + 1, ':', len - c - 1) : NULL;
            if (lv && colon && logger_like(s + c + 1, (size_t)(colon - s) - c - 1)) {
                lr__ev_clear(ev);
                ev->format = LR_REC_LOG4J;
                ev->level = lv;
                size_t m = (size_t)(colon - s) + 1;
                int rc = set_time(ev, "", 0);
                rc = rc ? rc : set_source(ev, s + c + 1, (size_t)(colon - s) - c - 1);
                rc = rc ? rc : set_message(ev, s + m, len - m, 0);
                return rc ? rc : 1;
            }
        }
    }
    /* a line that starts with an upper-case level word, then ':' or a
     * blank, then a message: "ERROR: could not read block", "WARNING disk";
     * PostgreSQL's "LOG:" (with its colon) is INFO */
    {
        size_t c = 0;
        while (c < len && c < 10 && s[c] >= 'A' && s[c] <= 'Z') c++;
        const char *lv = c >= 3 && c < len && (s[c] == ':' || s[c] == ' ' || s[c] == '\t') ? lr_event_level_name(s, c)
                                                                                            : NULL;
        if (c == 3 && s[c] == ':' && memcmp(s, "LOG", 3) == 0) lv = "INFO"; /* PostgreSQL's LOG: */
        if (lv && kernel_report(s, len)) lv = NULL;
        size_t m = c + (lv && s[c] == ':');
        if (lv && m < len && (s[m] == ' ' || s[m] == '\t')) {
            m = skip_dashes(s, len, m);
            if (m < len) {
                lr__ev_clear(ev);
                ev->format = LR_REC_LOG4J;
                ev->level = lv;
                int rc = set_time(ev, "", 0);
                rc = rc ? rc : set_source(ev, "", 0);
                rc = rc ? rc : set_message(ev, s + m, len - m, 0);
                return rc ? rc : 1;
            }
        }
    }
    const char *level = NULL;
    if (len && s[0] == '[') t0 = i = 1;
    tn = lr__ev_timestamp(s + i, len - i);
    if (!tn) tn = ctime_stamp(s + i, len - i); /* Apache: "[Sun Dec 04 04:47:44 2005]" */
    if (tn) {
        i += tn;
        if (t0 && i < len && s[i] == ']') i++;
        size_t z = !t0 && i + 1 < len && s[i] == ' ' ? zone_name(s + i + 1, len - i - 1) : 0;
        if (z) i += 1 + z, tn += 1 + z; /* "12:00:00.123 CEST" */
    } else { /* no time: a line that starts with a level in brackets */
        const char *close = t0 ? memchr(s, ']', len) : NULL;
        if (!close || !(level = bracket_level(s, (size_t)(close - s) + 1))) return 0;
        t0 = 0;
        i = (size_t)(close - s) + 1;
    }
    const char *src = "";
    size_t srcn = 0, msg = len;
    int words = 0; /* logger-like words before the level */
    for (int k = 0; k < 10; k++) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= len) break;
        size_t e = token_end(s, len, i), n = e - i;
        const char *tok = s + i;
        if (tok[0] == '[') { /* [thread] (may hold spaces), or [LEVEL] */
            const char *close = memchr(tok, ']', len - i);
            if (!close) return 0;
            if (!level) level = bracket_level(tok, (size_t)(close - tok) + 1);
            i = (size_t)(close - s) + 1;
            continue;
        }
        if (level && pid_tid(tok, n)) { /* nginx: "[error] 1717#1717: …" */
            i = e;
            continue;
        }
        if (!level && (memchr(tok, '@', n) || memchr(tok, '=', n)) && !memchr(tok, '"', n)) {
            /* PostgreSQL's "%u@%d" or "user=%u,db=%d" before the level */
            if (++words > 2) return 0;
            i = e;
            continue;
        }
        const char *lv = level ? NULL : header_level(tok, n);
        if (lv && kernel_report(tok, len - i)) return 0;
        if (lv) {
            level = lv;
            i = e;
            if (tok[n - 1] == ':') { /* "LEVEL: message" */
                msg = skip_dashes(s, len, i);
                break;
            }
            continue;
        }
        if (n == 3 && memcmp(tok, "---", 3) == 0) {
            i = e;
            continue;
        }
        if (digits(tok, n)) { /* a pid: before the level, or Spring Boot's "LEVEL pid ---" */
            size_t after = e;
            while (after < len && s[after] == ' ') after++;
            if (level && !(len - after >= 3 && memcmp(s + after, "---", 3) == 0)) {
                msg = i;
                break;
            }
            i = e;
            continue;
        }
        if (n == 1 && (tok[0] == '-' || tok[0] == ':' || tok[0] == '|')) {
            i = e;
            if (level) {
                msg = skip_dashes(s, len, i);
                break;
            }
            continue;
        }
        if (logger_like(tok, n)) {
            size_t after = e;
            while (after < len && s[after] == ' ') after++;
            int sep_next = after < len && (s[after] == '-' || s[after] == ':' || s[after] == '|') &&
                           (after + 1 == len || s[after + 1] == ' ');
            /* after the level, "name:" is a logger only when it is dotted
             * or a path (com.x.Foo:, plugin/reload:); "Warning:", "FLAG:"
             * or "http:" start the message */
            int named = tok[n - 1] == ':' && (!level || memchr(tok, '.', n) || memchr(tok, '/', n) ||
                                             memchr(tok, '$', n));
            if (named || sep_next || !level) {
                if (!level && ++words > 2) return 0; /* text, not a header */
                src = tok;
                srcn = tok[n - 1] == ':' ? n - 1 : n;
                i = e;
                if (tok[n - 1] == ':' && level) {
                    msg = i;
                    break;
                }
                continue;
            }
        }
        if (!level) return 0;
        msg = i; /* the message starts at this token */
        break;
    }
    if (!level) return 0;
    while (msg < len && (s[msg] == ' ' || s[msg] == '\t')) msg++;
    if (msg >= len) return 0; /* a header without a message is text */
    lr__ev_clear(ev);
    ev->format = LR_REC_LOG4J;
    ev->level = level;
    int rc = set_time(ev, s + t0, tn);
    rc = rc ? rc : set_source(ev, src, srcn);
    rc = rc ? rc : set_message(ev, s + msg, len - msg, 0);
    return rc ? rc : 1;
}

/* ------------------------------------------------------------ leading time */

/* A dmesg stamp at s: "[", spaces, seconds, ".", six digits, "]"; its
 * length or 0. */
static size_t dmesg_stamp(const char *s, size_t len) {
    size_t i = 1;
    if (len < 10 || s[0] != '[') return 0;
    while (i < len && s[i] == ' ') i++;
    size_t d = i;
    while (i < len && is_digit((unsigned char)s[i])) i++;
    if (i == d || i - d > 10 || i + 8 > len || s[i] != '.' || !digits(s + i + 1, 6) || s[i + 7] != ']') return 0;
    return i + 8;
}

/* After a dmesg stamp of length n (> 0): the caller id of
 * CONFIG_PRINTK_CALLER, "[   T31]" or "[  C0]"; the length with it. */
static size_t caller_id(const char *s, size_t len, size_t n) {
    if (!n || n + 3 >= len || s[n] != '[') return n;
    size_t i = n + 1;
    while (i < len && s[i] == ' ') i++;
    size_t d = i + 1;
    if (i >= len || (s[i] != 'T' && s[i] != 'C')) return n;
    i++;
    while (i < len && is_digit((unsigned char)s[i])) i++;
    return i > d && i < len && s[i] == ']' ? i + 1 : n;
}

/* Epoch seconds 1000000000..1999999999 (2001..2033), optionally with a
 * fraction of 1..9 digits; its length or 0. */
static size_t epoch_seconds(const char *s, size_t len) {
    if (len < 10 || s[0] != '1' || !digits(s, 10) || (len > 10 && is_digit((unsigned char)s[10]))) return 0;
    size_t i = 10;
    if (i + 1 < len && s[i] == '.' && is_digit((unsigned char)s[i + 1])) {
        size_t f = ++i;
        while (i < len && is_digit((unsigned char)s[i])) i++;
        if (i - f > 9) return 0;
    }
    return i;
}

/* ctime: "Www Mmm [d]d hh:mm:ss yyyy" (Apache, asctime); its length or 0. */
static size_t ctime_stamp(const char *s, size_t len) {
    static const char days[] = "MonTueWedThuFriSatSun";
    int day = 0;
    if (len < 24 || s[3] != ' ') return 0;
    for (int k = 0; k < 7 && !day; k++) day = memcmp(s, days + 3 * k, 3) == 0;
    size_t t = day ? lr__ev_timestamp(s + 4, len - 4) : 0;
    if (t < 15 || t > 22 || 4 + t + 5 > len || s[4 + t] != ' ' || !digits(s + 4 + t + 1, 4)) return 0;
    return 4 + t + 5;
}

size_t lr__ev_kernel_stamp(const char *s, size_t len) {
    /* dmesg -r: "<6>[    3.848729] ..." */
    size_t pri = len > 4 && s[0] == '<' && is_digit((unsigned char)s[1]) && s[2] == '>' && s[3] == '[' ? 3 : 0;
    size_t n = caller_id(s + pri, len - pri, dmesg_stamp(s + pri, len - pri));
    if (n) n += pri;
    if (!n && len > 2 && s[0] == '[') {
        n = ctime_stamp(s + 1, len - 1);
        n = n && 1 + n < len && s[1 + n] == ']' ? n + 2 : 0;
    }
    if (!n) return 0;
    return n < len && (s[n] == ' ' || s[n] == '\t') ? n + 1 : n == len ? n : 0;
}

size_t lr__ev_lead_time(const char *s, size_t len, size_t *t0, size_t *tn) {
    size_t i = 0, n = 0, close = 0;
    if ((n = dmesg_stamp(s, len)) > 0) {
        *t0 = 1;
        while (s[*t0] == ' ') (*t0)++;
        *tn = n - 1 - *t0;
        i = caller_id(s, len, n);
    } else {
        if (len && s[0] == '[') i = close = 1;
        n = ctime_stamp(s + i, len - i);
        if (!n && (n = lr__ev_timestamp(s + i, len - i)) > 0) {
            /* a zone after a blank: " +0000", " UTC" (Go, PostgreSQL, MySQL) */
            size_t z = 0, e = i + n;
            if (e + 1 < len && s[e] == ' ' && (z = zone(s + e + 1, len - e - 1)) >= 5) n += 1 + z, e += 1 + z;
            if (e + 1 < len && s[e] == ' ' && (z = zone_name(s + e + 1, len - e - 1)) > 0) n += 1 + z;
        }
        if (!n) n = epoch_seconds(s + i, len - i);
        if (!n) return 0;
        *t0 = i;
        *tn = n;
        i += n;
        if (close) {
            if (i >= len || s[i] != ']') return 0;
            i++;
        }
    }
    /* one blank, then the message (further blanks are its indentation) */
    if (i + 1 >= len || (s[i] != ' ' && s[i] != '\t')) return 0;
    return i + 1;
}

/* s[i..] has the shape `pat`: 'd' a digit, any other byte itself. */
static int shape(const char *s, size_t len, size_t i, const char *pat) {
    size_t n = strlen(pat);
    if (i > len || len - i < n) return 0;
    for (size_t k = 0; k < n; k++)
        if (pat[k] == 'd' ? !is_digit((unsigned char)s[i + k]) : s[i + k] != pat[k]) return 0;
    return 1;
}

/* A stamp taken for the time only (docs/events.md, "Stamps read for the
 * time only"): the forms of loghub's system logs that the leading-timestamp
 * rule does not read, each ended by a blank (HealthApp: '|'; an ISO time
 * also ',' and a blank) and checked with lr_time_parse (a real month, day
 * and time). The line stays the message. 1 and *t0, *tn, or 0. */
static int time_only_stamp(const char *s, size_t len, size_t *t0, size_t *tn) {
    size_t i = 0, n = 0;
    if (shape(s, len, 0, "dddddd dddddd ")) n = 13;                          /* HDFS 081109 203615 */
    else if (shape(s, len, 0, "dd/dd/dd dd:dd:dd ")) n = 17;                 /* Spark 17/06/09 20:10:40 */
    else if (shape(s, len, 0, "dd-dd dd:dd:dd.ddd ")) n = 18;                /* Android 03-17 16:13:38.811 */
    else if (shape(s, len, 0, "[dd.dd dd:dd:dd] ")) i = 1, n = 14;          /* Proxifier [10.30 16:49:06] */
    else if (shape(s, len, 0, "dddddddd-dd:dd:dd:d")) {                       /* HealthApp 20171223-22:15:29:606| */
        n = 19;
        while (n < len && n < 21 && is_digit((unsigned char)s[n])) n++;
        if (n >= len || s[n] != '|') n = 0;
    } else {
        /* an ISO time then ", " (Windows CBS), or after one word (an
         * OpenStack file name): "nova-api.log.1 2017-05-16 00:00:00.008 " */
        size_t w = 0;
        if ((n = lr__ev_timestamp(s, len)) >= 19 && n + 1 < len && s[n] == ',' && s[n + 1] == ' ') {
            /* n as found */
        } else {
            n = 0;
            while (w < len && w < 128 && s[w] != ' ' && s[w] != '\t') w++;
            if (w > 0 && w < len && w < 128 && s[w] == ' ' && (n = lr__ev_timestamp(s + w + 1, len - w - 1)) >= 19 &&
                w + 1 + n < len && s[w + 1 + n] == ' ' && digits(s + w + 1, 4))
                i = w + 1;
            else
                n = 0;
        }
    }
    int64_t ms;
    if (!n || lr_time_parse(s + i, n, 2000, &ms) != LR_OK) return 0;
    *t0 = i;
    *tn = n;
    return 1;
}

/* ------------------------------------------------------------ multiplexer prefix */

static int name_char(int c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-'; }

size_t lr__ev_mux_prefix(const char *s, size_t len, const char **key, size_t *kn, size_t *t0, size_t *tn) {
    size_t i = 0;
    *key = "";
    *kn = *t0 = *tn = 0;
    if (len > 5 && memcmp(s, "[pod/", 5) == 0) { /* kubectl logs --prefix: "[pod/NAME/CONTAINER] " */
        size_t j = 5;
        while (j < len && j < 512 && s[j] != ']' && s[j] != ' ' && s[j] != '\t') j++;
        if (j + 1 >= len || s[j] != ']' || s[j + 1] != ' ' || !memchr(s + 5, '/', j - 5)) return 0;
        *key = s + 1;
        *kn = j - 1;
        return j + 2;
    }
    size_t td = time_of_day(s, len); /* goreman, foreman: "15:04:05 web.1  | " */
    if (td == 8 && td < len && s[td] == ' ') *t0 = 0, *tn = td, i = td + 1;
    size_t j = i;
    int lower_case = 0; /* a service name has one; a level word, a number,
                           a date, "E" or "SUCCESS" (loguru) has none */
    while (j < len && j - i < 128 && name_char((unsigned char)s[j])) lower_case |= s[j] >= 'a' && s[j] <= 'z', j++;
    size_t k = j;
    while (k < len && s[k] == ' ') k++;
    if (j == i || k == j || k + 1 >= len || s[k] != '|' || s[k + 1] != ' ' || !lower_case ||
        !(is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i])) || lr_event_level_name(s + i, j - i)) {
        *tn = 0;
        return 0;
    }
    *key = s + i;
    *kn = j - i;
    return k + 2;
}

/* ------------------------------------------------------------ dispatch */

/* Auto detection of one record (docs/events.md, "Auto detection"). */
static int parse_auto(lr__ev *ev, const char *text, size_t len, const char *field) {
    int rc = 0;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i < len && text[i] == '{') rc = lr__ev_json(ev, text, len, field);
    if (rc == 0 && len && text[0] == '<') rc = lr__ev_syslog(ev, text, len);
    if (rc == 0 && len > 5 && memchr("IWEF", text[0], 4) && text[0] && is_digit((unsigned char)text[1]))
        rc = lr__ev_klog(ev, text, len);
    if (rc == 0 && len && (is_digit((unsigned char)text[0]) || text[0] == '[' || is_alpha((unsigned char)text[0]))) {
        rc = lr__ev_log4j(ev, text, len);
        if (rc == 0 && len && !(text[0] == '[')) rc = lr__ev_syslog(ev, text, len);
    }
    if (rc == 0) rc = lr__ev_logfmt(ev, text, len);
    if (rc == 1) return 1;
    if (rc < 0) return rc;
    /* plain text: a leading timestamp is the event's time, and what
     * follows it may be JSON, klog or logfmt (kubectl --timestamps) */
    size_t t0, tn, rest = lr__ev_lead_time(text, len, &t0, &tn);
    if (rest) {
        rc = parse_inner(ev, text + rest, len - rest, NULL, text + t0, tn, "", 0, "", 0);
        if (rc) return rc;
        lr__ev_clear(ev);
        rc = set_time(ev, text + t0, tn);
        rc = rc ? rc : set_source(ev, "", 0);
        rc = rc ? rc : set_message(ev, text + rest, len - rest, 0);
        return rc ? rc : 1;
    }
    rc = set_plain(ev, text, len);
    if (rc == 0 && time_only_stamp(text, len, &t0, &tn)) { /* the time; the line stays the message */
        lr__ev_clear(ev);
        rc = set_time(ev, text + t0, tn);
        rc = rc ? rc : set_message(ev, text, len, 0);
    }
    return rc ? rc : 1;
}

int lr__ev_parse(lr__ev *ev, const char *text, size_t len, lr_rec_format fmt, const char *field) {
    int rc = 0;
    if (fmt != LR_REC_RAW && len && text[len - 1] == '\r') len--; /* CRLF input */
    switch (fmt) {
    case LR_REC_JSONL: rc = lr__ev_json(ev, text, len, field); break;
    case LR_REC_LOGFMT: rc = lr__ev_logfmt(ev, text, len); break;
    case LR_REC_KLOG: rc = lr__ev_klog(ev, text, len); break;
    case LR_REC_SYSLOG: rc = lr__ev_syslog(ev, text, len); break;
    case LR_REC_LOG4J: rc = lr__ev_log4j(ev, text, len); break;
    case LR_REC_AUTO: {
        const char *key;
        size_t kn, t0, tn, k = lr__ev_mux_prefix(text, len, &key, &kn, &t0, &tn);
        if (!k) return parse_auto(ev, text, len, field);
        /* a multiplexer's prefix: the payload is the record; the service
         * name is its source and the prefix's time its time, when the
         * payload has none */
        lr__ev inner;
        lr__ev_init(&inner);
        rc = parse_auto(&inner, text + k, len - k, field);
        if (rc == 1) {
            lr_event v;
            lr__ev_view(&inner, &v);
            rc = adopt(ev, &inner, v.level, v.time_len ? v.time : text + t0, v.time_len ? v.time_len : tn,
                       v.source_len ? v.source : key, v.source_len ? v.source_len : kn, v.host, v.host_len);
            rc = rc ? rc : 1;
        }
        lr__ev_free(&inner);
        return rc;
    }
    default: break;
    }
    if (rc == 1 || rc < 0) return rc;
    rc = set_plain(ev, text, len);
    if (rc) return rc;
    return fmt == LR_REC_RAW || fmt == LR_REC_CSV || fmt == LR_REC_CRI || fmt == LR_REC_DOCKER ? 1 : 0;
}

/* ------------------------------------------------------------ rendering */

size_t lr_event_render(const lr_event *ev, char *out, size_t cap, size_t *head_len) {
    size_t n = 0;
#define PUT(p, len)                                                                                                    \
    do {                                                                                                               \
        size_t l_ = (len);                                                                                             \
        if (n < cap) memcpy(out + n, (p), l_ < cap - n ? l_ : cap - n);                                                \
        n += l_;                                                                                                       \
    } while (0)
    if (ev->level) {
        PUT(ev->level, strlen(ev->level));
        if (ev->message_len || ev->error_len) PUT(" ", 1);
    }
    PUT(ev->message, ev->message_len);
    if (head_len) *head_len = n;
    if (ev->error_len) {
        if (ev->message_len) PUT(": ", 2);
        PUT(ev->error, ev->error_len);
    }
#undef PUT
    if (cap) out[n < cap ? n : cap - 1] = '\0';
    return n;
}
