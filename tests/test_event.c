/*
 * test_event.c — the canonical event (src/event.c), the events reader with
 * multi-line grouping (src/events.c) and the model input (src/encode.c):
 * level names, each format's fields and rendering, nesting, auto detection,
 * JVM / Python / Go / indented groups with their line ranges, the group
 * cap, follow-mode group timeout, hostile inputs (a level that is an object
 * or 10 MB, a 10 MB logfmt line, invalid UTF-8, CRI partials inside a
 * trace, a 100,000-line trace) and the window rule; the metadata of
 * wrappers and headers (time, host, stream, wrapper time) against the
 * golden tests/golden/events/meta.fields.txt, and hostile metadata (a
 * 10 MB host, invalid UTF-8 in a stream).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "train_data.h"
#include "logrisk.h"
#include "t.h"

static FILE *tmp_with(const char *data, size_t len) {
    FILE *f = tmpfile();
    if (!f) return NULL;
    if (len) fwrite(data, 1, len, f);
    fflush(f);
    lseek(fileno(f), 0, SEEK_SET);
    return f;
}

/* The rendering of one record parsed as fmt ("" on failure to parse). */
static char rendered[4096];
static const char *render_of(const char *text, lr_rec_format fmt, lr_event *view) {
    lr__ev ev;
    lr__ev_init(&ev);
    int rc = lr__ev_parse(&ev, text, strlen(text), fmt, NULL);
    lr_event v;
    memset(&v, 0, sizeof v);
    lr__ev_view(&ev, &v);
    lr_event_render(&v, rendered, sizeof rendered, NULL);
    if (rc != 1) strcpy(rendered, "!");
    static lr__ev keep;
    static int kept;
    if (kept) lr__ev_free(&keep);
    keep = ev; /* the view's strings stay valid until the next call */
    kept = 1;
    if (view) lr__ev_view(&keep, view);
    return rendered;
}

/* Every event of `data`: "line-line_end:rendering" joined by '|'. */
static int events_of(const char *data, lr_rec_format fmt, int multiline, int max_lines, char *out, size_t cap,
                     uint64_t *cut) {
    FILE *f = tmp_with(data, strlen(data));
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = fmt;
    lr_records *r = lr_records_new(fileno(f), &ro, NULL);
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = multiline;
    if (max_lines) eo.max_group_lines = max_lines;
    lr_events *e = lr_events_new(r, &eo, NULL);
    T_CHECK(r && e);
    lr_event ev;
    int n = 0, rc;
    size_t used = 0;
    char *text = malloc(1 << 20);
    while ((rc = lr_events_next(e, &ev, NULL)) == 1) {
        lr_event_render(&ev, text, 1 << 20, NULL);
        int k = snprintf(out + used, cap - used, "%s%llu-%llu:%s", n ? "|" : "", (unsigned long long)ev.line,
                         (unsigned long long)ev.line_end, text);
        if (k > 0 && (size_t)k < cap - used) used += (size_t)k;
        n++;
    }
    T_EQ_INT(rc, 0);
    if (cut) *cut = lr_events_groups_cut(e);
    free(text);
    lr_events_free(e);
    lr_records_free(r);
    fclose(f);
    return n;
}

static void test_level_names(void) {
    const char *cases[][2] = {{"warning", "WARN"}, {"WARN", "WARN"},  {"Warning", "WARN"}, {"err", "ERROR"},
                              {"ERROR", "ERROR"},  {"crit", "CRITICAL"}, {"dpanic", "PANIC"}, {"50", "ERROR"},
                              {"30", "INFO"},      {"3", "ERROR"},    {"7", "DEBUG"},     {"information", "INFO"},
                              {"fatal", "FATAL"},  {"emerg", "EMERG"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        T_EQ_STR(lr_event_level_name(cases[i][0], strlen(cases[i][0])), cases[i][1]);
    T_CHECK(lr_event_level_name("verbose", 7) == NULL);
    T_CHECK(lr_event_level_name("45", 2) == NULL);
    T_CHECK(lr_event_level_name("", 0) == NULL);
}

static void test_formats(void) {
    lr_event v;
    /* zap JSON: level, message, error; caller and ts are metadata */
    T_EQ_STR(render_of("{\"level\":\"error\",\"ts\":1.5,\"caller\":\"a/b.go:3\",\"msg\":\"sync failed\","
                       "\"error\":\"EOF\"}", LR_REC_AUTO, &v),
             "ERROR sync failed: EOF");
    T_EQ_INT((int)v.format, LR_REC_JSONL);
    T_CHECK(v.source_len == 8 && memcmp(v.source, "a/b.go:3", 8) == 0);
    /* bunyan numbers and an error object with a stack */
    T_EQ_STR(render_of("{\"level\":40,\"msg\":\"slow\",\"err\":{\"message\":\"boom\",\"stack\":\"Error: boom\\n at x\"}}",
                       LR_REC_AUTO, NULL),
             "WARN slow: boom\nError: boom\n at x");
    /* JSON without a level: the message as it is, judged by its text */
    T_EQ_STR(render_of("{\"msg\":\"ERROR raw text\"}", LR_REC_AUTO, NULL), "ERROR raw text");
    /* a level that is an object, an array or a huge word: no level */
    T_EQ_STR(render_of("{\"level\":{\"a\":1},\"msg\":\"m\"}", LR_REC_AUTO, NULL), "m");
    T_EQ_STR(render_of("{\"level\":[\"error\"],\"msg\":\"m\"}", LR_REC_AUTO, NULL), "m");
    /* a JSON object with nothing but a level is plain text */
    T_EQ_STR(render_of("{\"level\":\"error\"}", LR_REC_AUTO, &v), "{\"level\":\"error\"}");
    T_EQ_INT((int)v.format, LR_REC_RAW);
    /* logfmt */
    T_EQ_STR(render_of("time=2024-01-01T00:00:00Z level=warning msg=\"disk \\\"sda\\\" slow\" err=\"io: timeout\"",
                       LR_REC_AUTO, &v),
             "WARN disk \"sda\" slow: io: timeout");
    T_EQ_INT((int)v.format, LR_REC_LOGFMT);
    T_EQ_STR(render_of("a=1 b=2", LR_REC_AUTO, &v), "a=1 b=2"); /* no msg: plain */
    T_EQ_INT((int)v.format, LR_REC_RAW);
    /* klog, text and structured */
    T_EQ_STR(render_of("W1122 10:00:00.123456   12345 file.go:12] plain text", LR_REC_AUTO, &v), "WARN plain text");
    T_CHECK(v.source_len == 10 && memcmp(v.source, "file.go:12", 10) == 0);
    T_EQ_STR(render_of("E1122 10:00:00.123456 1 f.go:1] \"Sync failed\" err=\"x \\\"y\\\"\" pod=\"ns/p\"", LR_REC_AUTO,
                       NULL),
             "ERROR Sync failed: x \"y\"");
    /* syslog: RFC 5424 with structured data and BOM, RFC 3164 with and
     * without PRI, and nesting (journald around klog) */
    T_EQ_STR(render_of("<11>1 2024-01-01T00:00:00Z host app 12 ID1 [a b=\"c\\]\"] \xEF\xBB\xBF" "disk failed", LR_REC_AUTO,
                       &v),
             "ERROR disk failed");
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    T_CHECK(v.source_len == 3 && memcmp(v.source, "app", 3) == 0);
    T_EQ_STR(render_of("<12>Mar  5 01:02:03 host sshd[42]: Failed password", LR_REC_AUTO, NULL), "WARN Failed password");
    /* RFC 5424 cut before its STRUCTURED-DATA (found by fuzz_ev_syslog: read past the end) */
    T_EQ_STR(render_of("<11>1 - - \240-- - - ", LR_REC_SYSLOG, NULL), "!");
    T_EQ_STR(render_of("Mar 25 12:13:43 host kernel: Out of memory", LR_REC_AUTO, &v), "Out of memory");
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    T_EQ_STR(render_of("Mar 25 12:13:43 host kubelet[1304]: E0325 12:13:43.1 1304 k.go:1] \"Boom\" err=\"x\"",
                       LR_REC_AUTO, &v),
             "ERROR Boom: x");
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    /* a timestamped header with a level inside syslog (PostgreSQL, Patroni,
     * a JVM's logback behind journald); digits that start no header stay */
    T_EQ_STR(render_of("Feb 25 14:43:29 api1 docker-postgresql[1478]: 2025-02-25 14:43:29.482 UTC [13234] LOG:  "
                       "received fast shutdown request",
                       LR_REC_AUTO, &v),
             "INFO received fast shutdown request");
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    T_CHECK(v.source_len == 17 && memcmp(v.source, "docker-postgresql", 17) == 0);
    T_CHECK(v.time_len == 15 && memcmp(v.time, "Feb 25 14:43:29", 15) == 0);
    T_EQ_STR(render_of("<14>Feb 25 14:43:29 h app[1]: 2025-02-25 14:43:29,482 ERROR [main] com.x.Y - boom", LR_REC_AUTO,
                       &v),
             "ERROR boom");
    T_EQ_STR(render_of("Feb 25 14:43:29 h app[1]: 2025 was a good year", LR_REC_AUTO, NULL), "2025 was a good year");
    T_EQ_STR(render_of("Feb 25 14:43:29 h app[1]: 12:00:01 pool exhausted", LR_REC_AUTO, NULL), "12:00:01 pool exhausted");
    /* log4j / logback / Python */
    T_EQ_STR(render_of("2024-01-01 12:00:00,123 [main] ERROR com.x.Foo - Request failed", LR_REC_AUTO, &v),
             "ERROR Request failed");
    T_EQ_INT((int)v.format, LR_REC_LOG4J);
    T_CHECK(v.source_len == 9 && memcmp(v.source, "com.x.Foo", 9) == 0);
    T_EQ_STR(render_of("12:00:00.123 [pool-1 thread-2] WARN  c.x.Bar - slow", LR_REC_AUTO, NULL), "WARN slow");
    T_EQ_STR(render_of("2024-01-01 12:00:00,123 - mod - WARNING - careful", LR_REC_AUTO, NULL), "WARN careful");
    T_EQ_STR(render_of("2024-01-01 12:00:00.123  INFO 1 --- [main] o.s.Boot : Started", LR_REC_AUTO, NULL),
             "INFO Started");
    T_EQ_STR(render_of("CRITICAL:root:out of cheese", LR_REC_AUTO, NULL), "CRITICAL out of cheese");
    T_EQ_STR(render_of("2024-01-01 12:00:00 ERROR disk full", LR_REC_AUTO, NULL), "ERROR disk full");
    /* a level word late in the text, or with nothing after it, is not a
     * header: plain text, whose leading timestamp is the event's time */
    T_EQ_STR(render_of("2024-01-01 12:00:00 disk failed with ERROR", LR_REC_AUTO, &v), "disk failed with ERROR");
    T_EQ_INT((int)v.format, LR_REC_RAW);
    T_CHECK(v.time_len == 19 && memcmp(v.time, "2024-01-01 12:00:00", 19) == 0);
    T_EQ_STR(render_of("2024-01-01 12:00:00 app ERROR", LR_REC_AUTO, &v), "app ERROR");
    /* plain text and requested formats */
    T_EQ_STR(render_of("just words, ERROR later", LR_REC_AUTO, &v), "just words, ERROR later");
    T_EQ_INT((int)v.format, LR_REC_RAW);
    T_EQ_STR(render_of("just words", LR_REC_KLOG, NULL), "!");
    T_EQ_STR(render_of("{\"msg\":\"x\",\"level\":\"info\"}", LR_REC_RAW, NULL), "{\"msg\":\"x\",\"level\":\"info\"}");
}

/* Leading timestamps of plain text (auto only), and the header rules that
 * keep a message the same with or without a time in front of it. */
static void test_lead_time(void) {
    lr_event v;
    static const char *const stamped[][2] = {
        {"2024-05-01T12:00:00Z failed to sync: EOF", "2024-05-01T12:00:00Z"},
        {"2024-05-01T12:00:00.123+02:00 failed to sync: EOF", "2024-05-01T12:00:00.123+02:00"},
        {"2024-05-01 12:00:00.123 +0000 UTC failed to sync: EOF", "2024-05-01 12:00:00.123 +0000 UTC"},
        {"2024/05/01 12:00:00 failed to sync: EOF", "2024/05/01 12:00:00"},
        {"May  1 12:00:00 failed to sync: EOF", "May  1 12:00:00"},
        {"12:00:00.123 failed to sync: EOF", "12:00:00.123"},
        {"14:07:19 UTC failed to sync: EOF", "14:07:19 UTC"},
        {"[2024-05-01 12:00:00,123] failed to sync: EOF", "2024-05-01 12:00:00,123"},
        {"[Sun Dec 04 04:51:08 2005] failed to sync: EOF", "Sun Dec 04 04:51:08 2005"},
        {"1714564800 failed to sync: EOF", "1714564800"},
        {"1714564800.25 failed to sync: EOF", "1714564800.25"},
        {"[  467.167731] failed to sync: EOF", "467.167731"},
        {"2024-05-01T12:00:00.123456789Z failed to sync: EOF", "2024-05-01T12:00:00.123456789Z"},
    };
    for (size_t i = 0; i < sizeof stamped / sizeof *stamped; i++) {
        T_EQ_STR(render_of(stamped[i][0], LR_REC_AUTO, &v), "failed to sync: EOF");
        T_CHECK(v.time_len == strlen(stamped[i][1]) && memcmp(v.time, stamped[i][1], v.time_len) == 0);
        T_EQ_INT((int)v.format, LR_REC_RAW);
    }
    /* one blank is the separator; more is the message's indentation */
    T_EQ_STR(render_of("2024-05-01 12:00:00   at x.y(Z.java:1)", LR_REC_AUTO, NULL), "  at x.y(Z.java:1)");
    /* after the time: JSON, klog or logfmt (kubectl logs --timestamps) */
    T_EQ_STR(render_of("2024-05-01T12:00:00.1Z {\"level\":\"error\",\"msg\":\"sync\",\"error\":\"EOF\"}",
                       LR_REC_AUTO, &v),
             "ERROR sync: EOF");
    T_EQ_INT((int)v.format, LR_REC_JSONL);
    T_EQ_STR(render_of("2024-05-01T12:00:00Z level=warn msg=slow", LR_REC_AUTO, NULL), "WARN slow");
    /* not timestamps: left in the text */
    static const char *const unstamped[] = {
        "1234567890123 bytes", "12:00 noon", "2024-05-01 the date", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z ",
        "0714564800 x", "[  467.16] x", "[2024-05-01 12:00:00 x", "May  1 12:00:00x",
    };
    for (size_t i = 0; i < sizeof unstamped / sizeof *unstamped; i++)
        T_EQ_STR(render_of(unstamped[i], LR_REC_AUTO, NULL), unstamped[i]);
    /* only auto: raw input and a named format keep the line */
    T_EQ_STR(render_of("2024-05-01T12:00:00Z failed", LR_REC_RAW, NULL), "2024-05-01T12:00:00Z failed");
    T_EQ_STR(render_of("2024-05-01T12:00:00Z failed", LR_REC_LOG4J, &v), "!");
    /* a syslog file line without PRI needs an RFC 3339 time with 'T', a
     * zone and at most microseconds; else "word word:" starts the message */
    T_EQ_STR(render_of("2024-05-01T12:00:00.123456+00:00 node-a kernel: oops", LR_REC_AUTO, &v), "oops");
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    T_EQ_STR(render_of("2024-05-01 12:00:00.123 rpc error: code = Unavailable", LR_REC_AUTO, NULL),
             "rpc error: code = Unavailable");
    T_EQ_STR(render_of("2024-05-01T12:00:00.123456789Z rpc error: code = Unavailable", LR_REC_AUTO, NULL),
             "rpc error: code = Unavailable");
    T_EQ_STR(render_of("<13>2024-05-01 12:00:00 host app: with a PRI", LR_REC_AUTO, NULL), "NOTICE with a PRI");
    /* after the level word, a "name:" is a logger only when dotted or a
     * path, and a number only before Spring Boot's "---" */
    T_EQ_STR(render_of("2024-05-01 12:00:00 INFO FLAG: --x=y", LR_REC_AUTO, NULL), "INFO FLAG: --x=y");
    T_EQ_STR(render_of("2024-05-01 12:00:00 WARN Warning: quota", LR_REC_AUTO, NULL), "WARN Warning: quota");
    T_EQ_STR(render_of("2024-05-01 12:00:00 INFO c.x.Foo: started", LR_REC_AUTO, NULL), "INFO started");
    T_EQ_STR(render_of("2024-05-01 12:00:00 INFO 2 pods pending", LR_REC_AUTO, NULL), "INFO 2 pods pending");
    /* a line that starts with an upper-case level word: its level */
    T_EQ_STR(render_of("ERROR:  could not read block 0", LR_REC_AUTO, &v), "ERROR could not read block 0");
    T_EQ_INT((int)v.format, LR_REC_LOG4J);
    T_EQ_STR(render_of("WARNING disk slow", LR_REC_AUTO, NULL), "WARN disk slow");
    T_EQ_STR(render_of("ERROR", LR_REC_AUTO, NULL), "ERROR");
    T_EQ_STR(render_of("ERROR:", LR_REC_AUTO, NULL), "ERROR:");
    T_EQ_STR(render_of("Error connecting", LR_REC_AUTO, NULL), "Error connecting");
    T_EQ_STR(render_of("ERRORS: 3", LR_REC_AUTO, NULL), "ERRORS: 3");
    /* the same message with and without a time in front */
    static const char *const msgs[] = {"ERROR: disk failed", "WARNING  slow", "rpc error: EOF", "  indented",
                                       "kernel: audit: overflow", "INFO FLAG: --x"};
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        char a[256], line[300];
        strcpy(a, render_of(msgs[i], LR_REC_AUTO, NULL));
        snprintf(line, sizeof line, "2026-12-07 10:00:00.123 %s", msgs[i]);
        T_EQ_STR(render_of(line, LR_REC_AUTO, NULL), a);
    }
}

/* Multiplexer prefixes (docker compose, foreman, kubectl logs --prefix)
 * and empty header fields: the record behind them reads as it does alone. */
static void test_mux_prefix(void) {
    lr_event v;
    T_EQ_STR(render_of("api_1     | {\"level\":\"error\",\"msg\":\"sync\",\"error\":\"EOF\"}", LR_REC_AUTO, &v),
             "ERROR sync: EOF");
    T_EQ_INT((int)v.format, LR_REC_JSONL);
    T_CHECK(v.source_len == 5 && memcmp(v.source, "api_1", 5) == 0);
    /* the inner record's own logger and time win over the prefix's */
    T_EQ_STR(render_of("08:00:01 web.1  | time=2024-03-11T08:00:01Z level=warn msg=slow logger=db", LR_REC_AUTO, &v),
             "WARN slow");
    T_CHECK(v.source_len == 2 && memcmp(v.source, "db", 2) == 0);
    T_CHECK(v.time_len == 20 && memcmp(v.time, "2024-03-11T08:00:01Z", 20) == 0);
    T_EQ_STR(render_of("08:00:01 web.1  | plain text", LR_REC_AUTO, &v), "plain text");
    T_CHECK(v.time_len == 8 && memcmp(v.time, "08:00:01", 8) == 0);
    T_CHECK(v.source_len == 5 && memcmp(v.source, "web.1", 5) == 0);
    T_EQ_STR(render_of("db-1  | 2024-05-01 12:00:00.123 UTC [27] ERROR:  deadlock detected", LR_REC_AUTO, NULL),
             "ERROR deadlock detected");
    T_EQ_STR(render_of("[pod/web-7f9c/nginx] E0311 08:00:01.102345 1 k.go:1] \"failed\" err=\"EOF\"", LR_REC_AUTO, NULL),
             "ERROR failed: EOF");
    T_EQ_STR(render_of("[pod/web-7f9c/nginx] upstream timed out", LR_REC_AUTO, &v), "upstream timed out");
    T_CHECK(v.source_len == 18 && memcmp(v.source, "pod/web-7f9c/nginx", 18) == 0);
    /* not prefixes: the line stays whole */
    static const char *const whole[] = {
        "INFO | a level word is not a service", "a|b no blank before the bar", "name |no blank after",
        "two words | x", "| x", "-x  | leading punctuation", "[pod/web] x", "[pod/web/c]x", "name  |",
        "8:00:01 web.1  | a short time", "168 | PS Redundancy | Nominal", "E | boom", "SUCCESS  | app:main:12 - done",
    };
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++) {
        T_EQ_STR(render_of(whole[i], LR_REC_AUTO, &v), whole[i]);
        T_EQ_INT((int)v.source_len, 0);
    }
    /* a named format does not look for the prefix */
    T_EQ_STR(render_of("api_1  | {\"msg\":\"x\"}", LR_REC_JSONL, NULL), "!");
    /* lone '-' after the level are empty fields, not message text */
    T_EQ_STR(render_of("2024-05-01 12:00:00,123 DEBUG - - - com.x.Pool closing", LR_REC_AUTO, NULL),
             "DEBUG com.x.Pool closing");
    T_EQ_STR(render_of("DEBUG - - com.x.Pool closing", LR_REC_AUTO, NULL), "DEBUG com.x.Pool closing");
    T_EQ_STR(render_of("2024-05-01 12:00:00,123 - app - ERROR - - boom", LR_REC_AUTO, NULL), "ERROR boom");
    T_EQ_STR(render_of("2024-05-01 12:00:00,123 ERROR: - - boom", LR_REC_AUTO, NULL), "ERROR boom");
    T_EQ_STR(render_of("ERROR: - - boom", LR_REC_AUTO, NULL), "ERROR boom");
    /* a message of dashes alone is kept, with its level */
    T_EQ_STR(render_of("ERROR - -", LR_REC_AUTO, &v), "ERROR - -");
    T_CHECK(v.level && strcmp(v.level, "ERROR") == 0);
    T_EQ_STR(render_of("2024-05-01 12:00:00,123 INFO - -", LR_REC_AUTO, &v), "INFO -"); /* one is the separator */
    T_CHECK(v.level && strcmp(v.level, "INFO") == 0);
    T_EQ_STR(render_of("2024-05-01 12:00:00,123 INFO -5 degrees", LR_REC_AUTO, NULL), "INFO -5 degrees");
}

static void test_bracket_level(void) {
    lr_event v;
    /* nginx: time, level in brackets, pid#tid */
    T_EQ_STR(render_of("2017/01/20 08:52:14 [error] 1717#1717: *99317 no live upstreams", LR_REC_AUTO, &v),
             "ERROR *99317 no live upstreams");
    T_EQ_INT((int)v.format, LR_REC_LOG4J);
    T_CHECK(v.time_len == 19 && memcmp(v.time, "2017/01/20 08:52:14", 19) == 0);
    /* Apache 2.2 and 2.4: ctime in brackets, [module:level], header fields */
    T_EQ_STR(render_of("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", LR_REC_AUTO, &v),
             "NOTICE workerEnv.init() ok");
    T_CHECK(v.time_len == 24 && memcmp(v.time, "Sun Dec 04 04:47:44 2005", 24) == 0);
    T_EQ_STR(render_of("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328] [client 1.2.3.4] "
                       "File does not exist",
                       LR_REC_AUTO, NULL),
             "ERROR File does not exist");
    T_EQ_STR(render_of("[Wed Oct 11 14:32:52 2000] [proxy:trace8] reading", LR_REC_AUTO, NULL), "TRACE reading");
    /* MySQL 5.7 and 8, MariaDB: a thread id before the level */
    T_EQ_STR(render_of("2024-05-01T12:00:00.000000Z 0 [Note] InnoDB: load completed", LR_REC_AUTO, NULL),
             "INFO InnoDB: load completed");
    T_EQ_STR(render_of("2024-05-01T12:00:00.000000Z 0 [System] [MY-010931] [Server] ready", LR_REC_AUTO, NULL),
             "NOTICE ready");
    T_EQ_STR(render_of("2018-12-12 13:57:06 139683987511552 [ERROR] WSREP: failed", LR_REC_AUTO, NULL),
             "ERROR WSREP: failed");
    /* MySQL 5.5 and MariaDB: YYMMDD and an hour padded with a blank */
    T_EQ_STR(render_of("150114  9:05:03 [ERROR] mysqld: Table './db/t' is marked as crashed", LR_REC_AUTO, &v),
             "ERROR mysqld: Table './db/t' is marked as crashed");
    T_CHECK(v.time_len == 15 && memcmp(v.time, "150114  9:05:03", 15) == 0);
    T_EQ_STR(render_of("150114 19:05:03 mysqld_safe Starting mysqld daemon", LR_REC_AUTO, &v),
             "mysqld_safe Starting mysqld daemon");
    T_CHECK(v.time_len == 15);
    /* six digits that are no date, or no time after them: text */
    T_EQ_STR(render_of("151314 19:05:03 x", LR_REC_AUTO, NULL), "151314 19:05:03 x");
    T_EQ_STR(render_of("150100 19:05:03 x", LR_REC_AUTO, NULL), "150100 19:05:03 x");
    T_EQ_STR(render_of("150114 19:05 x y z w", LR_REC_AUTO, NULL), "150114 19:05 x y z w");
    /* no time: a line that starts with a bracketed level */
    T_EQ_STR(render_of("[WARNING] unable to reconnect", LR_REC_AUTO, &v), "WARN unable to reconnect");
    T_EQ_INT((int)v.time_len, 0);
    T_EQ_STR(render_of("[Critical] disk failed", LR_REC_LOG4J, NULL), "CRITICAL disk failed");
    T_EQ_STR(render_of("[ERROR]no blank", LR_REC_AUTO, NULL), "ERROR no blank");
    /* not levels: the line stays whole */
    static const char *const whole[] = {
        "[error]", "[error] ", "[Server] starting", "[:error] x", "[core-x:error] x", "[trace9] x", "[er] x",
        "[1error] x", "[error x", "[no te] x", "[] x",
    };
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++) T_EQ_STR(render_of(whole[i], LR_REC_AUTO, NULL), whole[i]);
    /* a [thread] before a level word is still a thread */
    T_EQ_STR(render_of("2024-05-01 12:00:00 [main] ERROR c.x.Y - failed", LR_REC_AUTO, NULL), "ERROR failed");
}

/* JSON: the message names of hclog, Serilog, Cloud Logging and structlog,
 * and a record without a message field made into one from its members. */
static void test_json_fields(void) {
    lr_event v;
    T_EQ_STR(render_of("{\"@level\":\"error\",\"@message\":\"raft: no quorum\",\"@module\":\"raft\",\"@timestamp\":\"2024-01-01\"}",
                       LR_REC_AUTO, &v),
             "ERROR raft: no quorum");
    T_CHECK(v.source_len == 4 && memcmp(v.source, "raft", 4) == 0);
    T_CHECK(v.time_len == 10);
    T_EQ_STR(render_of("{\"@t\":\"2024\",\"@mt\":\"Disk {D} failed\",\"@l\":\"Error\",\"@x\":\"IOException\"}",
                       LR_REC_AUTO, NULL),
             "ERROR Disk {D} failed: IOException");
    T_EQ_STR(render_of("{\"@mt\":\"t {X}\",\"@m\":\"t 1\"}", LR_REC_AUTO, NULL), "t 1"); /* rendered wins */
    T_EQ_STR(render_of("{\"severity\":\"CRITICAL\",\"textPayload\":\"disk full\"}", LR_REC_AUTO, NULL), "CRITICAL disk full");
    T_EQ_STR(render_of("{\"severity\":\"ERROR\",\"jsonPayload\":{\"message\":\"db down\"}}", LR_REC_AUTO, NULL),
             "ERROR db down");
    T_EQ_STR(render_of("{\"event\":\"listing and watching\",\"level\":\"debug\",\"user\":\"u\"}", LR_REC_AUTO, NULL),
             "DEBUG listing and watching");
    T_EQ_STR(render_of("{\"msg\":\"m\",\"event\":\"e\"}", LR_REC_AUTO, NULL), "m"); /* msg first */
    /* no message field: the other members as logfmt, in order; level,
     * time (a string or a number), source, host and error left out; a
     * nested object one level deep, an array of plain values, no nulls */
    T_EQ_STR(render_of("{\"ts\":1712345678.5,\"level\":\"warning\",\"kind\":\"Event\",\"verb\":\"delete\","
                       "\"user\":{\"username\":\"bob\",\"groups\":[\"a\",\"b\"],\"extra\":{\"x\":1}},"
                       "\"roles\":[\"admin\",2,true,null,{\"k\":1}],\"note\":\"two words\",\"empty\":\"\","
                       "\"n\":null,\"ok\":false,\"host\":\"h1\",\"logger\":\"audit\"}",
                       LR_REC_AUTO, &v),
             "WARN kind=Event verb=delete user.username=bob user.groups=a,b roles=admin,2,true "
             "note=\"two words\" empty=\"\" ok=false");
    T_EQ_INT((int)v.format, LR_REC_JSONL);
    T_CHECK(v.host_len == 2 && v.source_len == 5);
    /* an error object with a message is the detail; one without stays a field */
    T_EQ_STR(render_of("{\"level\":50,\"err\":{\"message\":\"boom\",\"stack\":\"Error: boom\\n at x\"}}", LR_REC_AUTO,
                       NULL),
             "ERROR boom\nError: boom\n at x");
    T_EQ_STR(render_of("{\"error\":{\"type\":\"cluster_block_exception\",\"reason\":\"blocked\"},\"status\":503}",
                       LR_REC_AUTO, NULL),
             "error.type=cluster_block_exception error.reason=blocked status=503");
    T_EQ_STR(render_of("{\"error\":\"boom\",\"code\":3}", LR_REC_AUTO, NULL), "code=3: boom");
    /* nothing but a level and a time, or only nulls and nesting: text */
    T_EQ_STR(render_of("{\"ts\":1,\"level\":\"info\"}", LR_REC_AUTO, &v), "{\"ts\":1,\"level\":\"info\"}");
    T_EQ_INT((int)v.format, LR_REC_RAW);
    T_EQ_STR(render_of("{\"a\":null,\"b\":{\"c\":{\"d\":1}}}", LR_REC_AUTO, &v), "{\"a\":null,\"b\":{\"c\":{\"d\":1}}}");
    T_EQ_INT((int)v.format, LR_REC_RAW);
    T_EQ_STR(render_of("{}", LR_REC_AUTO, NULL), "{}");
    /* named jsonl reads the same way */
    T_EQ_STR(render_of("{\"level\":\"error\",\"alert\":\"NodeDown\"}", LR_REC_JSONL, NULL), "ERROR alert=NodeDown");
    T_EQ_STR(render_of("{\"a\":{\"b\":\"deep\"},\"c\":\"d\"}", LR_REC_AUTO, NULL), "a.b=deep c=d");
}

static void test_pg_header(void) {
    lr_event v;
    /* a zone's abbreviation is part of the time, not the logger */
    T_EQ_STR(render_of("2024-05-01 12:00:00.123 UTC [27] ERROR:  deadlock detected", LR_REC_AUTO, &v),
             "ERROR deadlock detected");
    T_EQ_INT((int)v.source_len, 0);
    T_EQ_STR(render_of("2017-07-31 13:43:22.645 CEST [5502] postgres@clients ERROR:  no relation", LR_REC_AUTO, &v),
             "ERROR no relation");
    T_EQ_INT((int)v.source_len, 0);
    T_CHECK(v.time_len == 28 && memcmp(v.time, "2017-07-31 13:43:22.645 CEST", 28) == 0);
    T_EQ_STR(render_of("2024-05-01 12:00:01 UTC [29]: [3-1] user=app,db=shop FATAL:  no pg_hba.conf entry", LR_REC_AUTO,
                       NULL),
             "FATAL no pg_hba.conf entry");
    /* PostgreSQL's LOG: is INFO, with its colon only */
    T_EQ_STR(render_of("2017-07-31 13:36:42.585 CEST [4974] LOG:  database system is ready", LR_REC_AUTO, &v),
             "INFO database system is ready");
    T_EQ_STR(render_of("LOG:  checkpoint starting: time", LR_REC_AUTO, NULL), "INFO checkpoint starting: time");
    T_EQ_STR(render_of("LOG rotated", LR_REC_AUTO, NULL), "LOG rotated");
    T_EQ_STR(render_of("2024-05-01 12:00:00 Log: rotated", LR_REC_AUTO, NULL), "Log: rotated");
    T_EQ_STR(render_of("2024-05-01 12:00:00 LOGIN: rotated", LR_REC_AUTO, NULL), "LOGIN: rotated");
    /* a time then a word that is not a zone: the word stays */
    T_EQ_STR(render_of("2024-05-01T12:00:00Z CESTA loaded", LR_REC_AUTO, NULL), "CESTA loaded");
    T_EQ_STR(render_of("2024-05-01 12:00:00 INFO started", LR_REC_AUTO, NULL), "INFO started");
    /* more than two field words before the level: text */
    T_EQ_STR(render_of("2024-05-01 12:00:00 a=1 b=2 c=3 ERROR x", LR_REC_LOG4J, NULL), "!");
}

static void test_render(void) {
    lr_event ev;
    memset(&ev, 0, sizeof ev);
    ev.level = "ERROR";
    ev.message = "m";
    ev.message_len = 1;
    ev.error = "e";
    ev.error_len = 1;
    char out[64];
    size_t head = 0;
    T_EQ_INT((int)lr_event_render(&ev, out, sizeof out, &head), 10);
    T_EQ_STR(out, "ERROR m: e");
    T_EQ_INT((int)head, 7);
    T_EQ_INT((int)lr_event_render(&ev, out, 4, NULL), 10); /* cut, NUL-terminated */
    T_EQ_STR(out, "ERR");
    ev.message_len = 0;
    T_EQ_INT((int)lr_event_render(&ev, out, sizeof out, NULL), 7);
    T_EQ_STR(out, "ERROR e");
    ev.level = NULL;
    ev.error_len = 0;
    T_EQ_INT((int)lr_event_render(&ev, out, sizeof out, NULL), 0);
    T_EQ_STR(out, "");
}

static void test_groups(void) {
    static char out[8192];
    const char *jvm = "2024-01-01 12:00:00,123 [main] ERROR c.x.Foo - Request failed\n"
                      "java.lang.IllegalStateException: bad\n"
                      "\tat c.x.Foo.bar(Foo.java:12)\n"
                      "Caused by: java.io.IOException: disk\n"
                      "\t... 2 more\n"
                      "2024-01-01 12:00:01,000 [main] INFO c.x.Foo - next\n";
    T_EQ_INT(events_of(jvm, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    T_EQ_STR(out, "1-5:ERROR Request failed: java.lang.IllegalStateException: bad\n\tat c.x.Foo.bar(Foo.java:12)\n"
                  "Caused by: java.io.IOException: disk\n\t... 2 more|6-6:INFO next");
    const char *py = "ERROR:app:request failed\n"
                     "Traceback (most recent call last):\n"
                     "  File \"a.py\", line 3, in <module>\n"
                     "KeyError: 'k'\n"
                     "\n"
                     "During handling of the above exception, another exception occurred:\n"
                     "\n"
                     "Traceback (most recent call last):\n"
                     "  File \"a.py\", line 5, in <module>\n"
                     "ValueError\n"
                     "Done\n";
    T_EQ_INT(events_of(py, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    T_CHECK(strncmp(out, "1-10:ERROR request failed: Traceback", 36) == 0);
    T_CHECK(strstr(out, "\nValueError|11-11:Done") != NULL);
    const char *go = "starting\n"
                     "panic: runtime error: index out of range [5] with length 3\n"
                     "\n"
                     "goroutine 1 [running]:\n"
                     "main.main()\n"
                     "\t/app/main.go:12 +0x1d\n"
                     "\n"
                     "goroutine 7 [chan receive]:\n"
                     "net/http.(*conn).serve(0xc000, {0x1, 0x2})\n"
                     "\t/go/src/net/http/server.go:1 +0x2\n"
                     "created by net/http.(*Server).Serve in goroutine 1\n"
                     "exit status 2\n"
                     "restarted\n";
    T_EQ_INT(events_of(go, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 3);
    T_CHECK(strncmp(out, "1-1:starting|2-12:panic: runtime error", 38) == 0);
    T_CHECK(strstr(out, "|13-13:restarted") != NULL);
    /* indented lines that are not a trace (a YAML dump) join the line before;
     * an empty line outside a trace is its own event */
    const char *yaml = "INFO config loaded:\n  a: 1\n  b:\n    - x\n\nnext\n";
    T_EQ_INT(events_of(yaml, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 3);
    T_EQ_STR(out, "1-4:INFO config loaded::   a: 1\n  b:\n    - x|5-5:|6-6:next");
    /* --multiline off, and raw input: one event per line */
    T_EQ_INT(events_of(jvm, LR_REC_AUTO, 0, 0, out, sizeof out, NULL), 6);
    T_EQ_INT(events_of(jvm, LR_REC_RAW, 1, 0, out, sizeof out, NULL), 6);
    /* a JSON record never continues a group */
    T_EQ_INT(events_of("x\n{\"msg\":\"java.lang.X: y\"}\n", LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    /* CRI partial lines inside a trace: joined first, then grouped */
    const char *cri = "2024-01-01T00:00:00Z stderr F ERROR boom\n"
                      "2024-01-01T00:00:00Z stderr P \tat a.b.C.d(C.ja\n"
                      "2024-01-01T00:00:00Z stderr F va:1)\n"
                      "2024-01-01T00:00:00Z stderr F \tat a.b.C.e(C.java:2)\n"
                      "2024-01-01T00:00:01Z stdout F next\n";
    T_EQ_INT(events_of(cri, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    T_EQ_STR(out, "1-4:ERROR boom: \tat a.b.C.d(C.java:1)\n\tat a.b.C.e(C.java:2)|5-5:next");
}

/* Kernel reports: one event from the first line of an oops, a panic or a
 * hung task to its last register, frame or end marker, behind dmesg,
 * dmesg -T or syslog prefixes; "Code:" or "Process" lines outside a report
 * stay events of their own. */
static void test_kernel_groups(void) {
    static char out[8192];
    const char *oops = "[  601.159715] BUG: unable to handle page fault for address: ffffde4bd1e8a018\n"
                       "[  601.159800] PGD 0 P4D 0\n"
                       "[  601.159811] Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
                       "[  601.159860] RIP: 0010:zio_done+0x47a/0x1080 [zfs]\n"
                       "[  601.159933] RAX: ffffde4bd1e8a000 RBX: ffff8f0b2c6ed400 RCX: 0000000000000000\n"
                       "[  601.159989] Call Trace:\n"
                       "[  601.159995]  <TASK>\n"
                       "[  601.160101] ---[ end trace 2c3f5e1a7b0d9e44 ]---\n"
                       "[  601.160200] eth0: NIC Link is Up\n";
    T_EQ_INT(events_of(oops, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    T_EQ_STR(out, "1-8:BUG: unable to handle page fault for address: ffffde4bd1e8a018: PGD 0 P4D 0\n"
                  "Oops: 0002 [#1] PREEMPT SMP NOPTI\nRIP: 0010:zio_done+0x47a/0x1080 [zfs]\n"
                  "RAX: ffffde4bd1e8a000 RBX: ffff8f0b2c6ed400 RCX: 0000000000000000\nCall Trace:\n <TASK>\n"
                  "---[ end trace 2c3f5e1a7b0d9e44 ]---|9-9:eth0: NIC Link is Up");
    /* the same report behind syslog headers: the stamp after "kernel: " goes too */
    const char *sys = "Jun 26 01:37:55 ank kernel: [  123.4] x\n"
                      "Jun 26 01:37:55 ank kernel: [  123.456789] general protection fault: 0000 [#1] SMP\n"
                      "Jun 26 01:37:55 ank kernel: [  123.456801] CPU: 1 PID: 1689 Comm: systemd Not tainted 4.1.0 #1\n"
                      "Jun 26 01:37:55 ank kernel: [<ffffffffa007f1d5>] kdbus_conn_disconnect+0x1a5/0x3e0 [kdbus]\n"
                      "Jun 26 01:37:55 ank sshd[811]: Call Trace:\n";
    T_EQ_INT(events_of(sys, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 3);
    T_EQ_STR(out, "1-1:[  123.4] x|2-4:general protection fault: 0000 [#1] SMP: CPU: 1 PID: 1689 Comm: systemd Not "
                  "tainted 4.1.0 #1\n[<ffffffffa007f1d5>] kdbus_conn_disconnect+0x1a5/0x3e0 [kdbus]|5-5:Call Trace:");
    /* a hung task, dmesg -T, its task line and a stack dump of hex words */
    const char *hung = "[Wed Dec 19 03:36:07 2018] INFO: task logrotate:17344 blocked for more than 120 seconds.\n"
                       "[Wed Dec 19 03:36:07 2018] logrotate       D    0 17344  17342 0x00000080\n"
                       "[Wed Dec 19 03:36:07 2018] ffff882fd0627c70 0000000000000086 ffff880844fe8fb0\n"
                       "[Wed Dec 19 03:36:08 2018] Process 42 exited\n";
    T_EQ_INT(events_of(hung, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 2);
    T_EQ_STR(out, "1-3:INFO: task logrotate:17344 blocked for more than 120 seconds.: logrotate       D    0 17344  "
                  "17342 0x00000080\nffff882fd0627c70 0000000000000086 ffff880844fe8fb0|4-4:Process 42 exited");
    /* "cut here" takes the line it announces; outside a report "Code:" and
     * register-like lines are text */
    const char *warn = "[    1.000000] ------------[ cut here ]------------\n"
                       "[    1.000001] BTRFS: Transaction aborted (error -28)\n"
                       "[    1.000002] WARNING: CPU: 4 PID: 3540247 at fs/btrfs/inode.c:2736\n"
                       "[    1.000003] eth0: link up\n"
                       "Code: 500 from upstream\n"
                       "RAX: 0000 is not a register here\n";
    T_EQ_INT(events_of(warn, LR_REC_AUTO, 1, 0, out, sizeof out, NULL), 4);
    T_EQ_STR(out, "1-3:------------[ cut here ]------------: BTRFS: Transaction aborted (error -28)\n"
                  "WARNING: CPU: 4 PID: 3540247 at fs/btrfs/inode.c:2736|4-4:eth0: link up|"
                  "5-5:Code: 500 from upstream|6-6:RAX: 0000 is not a register here");
    /* raw input never groups */
    T_EQ_INT(events_of(oops, LR_REC_RAW, 1, 0, out, sizeof out, NULL), 9);
    /* a hostile report: an oops and 100,000 register lines are groups of at
     * most 256 lines (memory bounded by the cap), no line lost */
    size_t cap = 100001 * 48 + 64, used = 0;
    char *big = malloc(cap), *res = malloc(1 << 20);
    T_CHECK(big && res);
    used += (size_t)snprintf(big, cap, "[    1.000000] BUG: soft lockup - CPU#1 stuck for 26s!\n");
    for (int i = 0; i < 100000; i++)
        used += (size_t)snprintf(big + used, cap - used, "[    1.000001] RAX: %016x RBX: 0\n", i);
    uint64_t cut = 0;
    int n = events_of(big, LR_REC_AUTO, 1, 0, res, 1 << 20, &cut);
    T_EQ_INT(n, 391); /* ceil(100001 / 256) */
    T_EQ_INT((int)cut, 390);
    free(big);
    free(res);
}

/* The trainer's labelled reader with a log format: every text read as
 * `score` reads a log (records, events, rendering, masks, window), so the
 * same event in any wrapper gives the same ids; raw keeps the text as it is. */
static void test_train_events(void) {
    const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nerror\ndisk\nfailed\n";
    lr_tok *tok = lr_tok_from_text(vocab, sizeof vocab - 1, NULL);
    T_CHECK(tok != NULL);
    char path[] = "/tmp/lr_test_train_XXXXXX";
    int fd = mkstemp(path);
    T_CHECK(fd >= 0);
    const char data[] =
        "{\"text\":\"ERROR disk failed\",\"label\":9}\n"
        "{\"text\":\"2024-05-01T12:00:00Z {\\\"level\\\":\\\"error\\\",\\\"msg\\\":\\\"disk failed\\\"}\",\"label\":9}\n"
        "{\"text\":\"<11>1 2024-05-01T12:00:00Z node-a app 1 - - disk failed\",\"label\":\"9\"}\n"
        "{\"text\":\"E0501 12:00:00.000000 1 k.go:1] disk failed\\n  at x\",\"label\":9}\n"
        "{\"text\":\"\",\"label\":0}\n";
    T_CHECK(write(fd, data, sizeof data - 1) == (ssize_t)(sizeof data - 1));
    close(fd);
    lr__train_data d;
    T_EQ_INT(lr__train_data_load_events(&d, path, tok, 16, LR_REC_AUTO, NULL, NULL), 0);
    T_EQ_INT(d.n, 5);
    T_EQ_INT(d.risk, 1);
    int32_t want[] = {2, 5, 6, 7, 3}; /* [CLS] error disk failed [SEP] */
    for (int i = 0; i < 3; i++) {
        T_EQ_INT((int)(d.start[i + 1] - d.start[i]), 5);
        T_CHECK(memcmp(d.ids + d.start[i], want, sizeof want) == 0);
    }
    /* a klog line with its continuation: one event, the detail after ": " */
    T_CHECK(d.start[4] - d.start[3] > 5 && memcmp(d.ids + d.start[3], want, 4 * sizeof *want) == 0);
    T_EQ_INT((int)(d.start[5] - d.start[4]), 2); /* an empty text: [CLS] [SEP] */
    T_EQ_INT(d.label[1], 9);
    T_EQ_INT(d.label[4], 0);
    lr__train_data_free(&d);
    /* raw: the text as it is, so the wrappers' tokens differ */
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, NULL), 0);
    T_CHECK(d.start[2] - d.start[1] != 5 || memcmp(d.ids + d.start[1], want, sizeof want) != 0);
    lr__train_data_free(&d);
    lr_error err = {0, ""};
    T_CHECK(lr__train_data_load_events(&d, path, tok, 16, LR_REC_CSV, NULL, &err) == LR_EINVAL);
    T_CHECK(strstr(err.msg, "not CSV") != NULL);
    unlink(path);
    lr_tok_free(tok);
}

static void test_group_cap(void) {
    /* a trace of 100,000 lines: groups of at most 256 lines, every line in
     * exactly one of them, the cuts counted */
    size_t n = 100000;
    lr__buf in;
    lr__buf_init(&in);
    T_EQ_INT(lr__buf_puts(&in, "ERROR deep recursion\n"), 0);
    for (size_t i = 1; i < n; i++) T_EQ_INT(lr__buf_puts(&in, "\tat a.b.C.f(C.java:1)\n"), 0);
    FILE *f = tmp_with(in.data, in.len);
    lr_records *r = lr_records_new(fileno(f), NULL, NULL);
    lr_events *e = lr_events_new(r, NULL, NULL);
    lr_event ev;
    uint64_t next = 1, events = 0;
    int ok = 1;
    while (lr_events_next(e, &ev, NULL) == 1) {
        ok &= ev.line == next && ev.line_end >= ev.line && ev.line_end - ev.line < 256 && ev.n_records <= 256;
        ok &= ev.error_len + ev.message_len <= 64 * 1024;
        next = ev.line_end + 1;
        events++;
    }
    T_CHECK(ok);
    T_EQ_INT((int)(next - 1), (int)n);
    T_EQ_INT((int)events, (int)((n + 255) / 256));
    T_EQ_INT((int)lr_events_groups_cut(e), (int)((n + 255) / 256 - 1));
    lr_events_free(e);
    lr_records_free(r);
    fclose(f);
    lr__buf_free(&in);
}

static void test_follow_timeout(void) {
    int p[2];
    T_EQ_INT(pipe(p), 0);
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.follow = 1;
    lr_records *r = lr_records_new(p[0], &ro, NULL);
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.group_timeout = 0.05;
    lr_events *e = lr_events_new(r, &eo, NULL);
    lr_event ev;
    T_EQ_INT((int)write(p[1], "ERROR x\n\tat a.b(C.java:1)\n", 26), 26);
    T_EQ_INT(lr_events_next(e, &ev, NULL), 2); /* the group may go on */
    T_CHECK(lr_events_open_group(e));
    usleep(80000);
    T_EQ_INT(lr_events_next(e, &ev, NULL), 1); /* closed by the timeout */
    T_CHECK(ev.line == 1 && ev.line_end == 2);
    T_EQ_INT(lr_events_next(e, &ev, NULL), 2);
    lr_events_free(e);
    lr_records_free(r);
    close(p[0]);
    close(p[1]);
}

static void test_hostile(void) {
    size_t big = 10u << 20;
    lr__buf b;
    lr__buf_init(&b);
    /* a 10 MB level string */
    T_EQ_INT(lr__buf_puts(&b, "{\"msg\":\"m\",\"level\":\""), 0);
    T_EQ_INT(lr__buf_reserve(&b, big + 16), 0);
    memset(b.data + b.len, 'e', big);
    b.len += big;
    T_EQ_INT(lr__buf_puts(&b, "\"}"), 0);
    lr__ev ev;
    lr__ev_init(&ev);
    T_EQ_INT(lr__ev_json(&ev, b.data, b.len, NULL), 1);
    T_CHECK(ev.level == NULL && ev.m_len == 1);
    /* a 10 MB logfmt line */
    lr__buf_clear(&b);
    T_EQ_INT(lr__buf_puts(&b, "level=error msg=\""), 0);
    T_EQ_INT(lr__buf_reserve(&b, big + 16), 0);
    memset(b.data + b.len, 'x', big);
    b.len += big;
    T_EQ_INT(lr__buf_puts(&b, "\" err=e"), 0);
    T_EQ_INT(lr__ev_logfmt(&ev, b.data, b.len), 1);
    T_CHECK(ev.m_len == big && ev.arena.len - ev.e_off == 1);
    /* an unterminated quote, NUL bytes and invalid UTF-8 in every field */
    T_EQ_INT(lr__ev_logfmt(&ev, "msg=\"open level=x", 17), 0);
    const char bad[] = "\xC3(\xff E1122 10:00:00.1 1 f\xfe" ".go:1] \"\xed\xa0\x80\" err=\"\xf4\x90\"";
    T_EQ_INT(lr__ev_parse(&ev, bad, sizeof bad - 1, LR_REC_AUTO, NULL), 1);
    const char k[] = "E1122 10:00:00.1 1 f\xfe" ".go:1] \"\xed\xa0\x80\x00\" err=\"\xf4\x90\"";
    T_EQ_INT(lr__ev_parse(&ev, k, sizeof k - 1, LR_REC_AUTO, NULL), 1);
    T_EQ_INT((int)ev.format, LR_REC_KLOG);
    T_EQ_INT((int)ev.m_len, 4);
    lr__ev_free(&ev);
    lr__buf_free(&b);
    /* through the reader: a 10 MB JSON line is cut and read as plain text */
    static char out[256];
    char *line = malloc(big + 64);
    memcpy(line, "{\"level\":\"", 10);
    memset(line + 10, 'a', big);
    memcpy(line + 10 + big, "\",\"msg\":\"m\"}\nnext\n", 19);
    FILE *f = tmp_with(line, big + 28);
    lr_records *r = lr_records_new(fileno(f), NULL, NULL);
    lr_events *e = lr_events_new(r, NULL, NULL);
    lr_event v;
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.truncated && v.line == 1 && v.message_len <= 64 * 1024);
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.line == 2 && v.message_len == 4);
    T_EQ_INT(lr_events_next(e, &v, NULL), 0);
    lr_events_free(e);
    lr_records_free(r);
    fclose(f);
    free(line);
    (void)out;
}

/* One event's metadata as a text line: "line-line_end|format|t=TIME|h=HOST|
 * s=STREAM|wt=WRAPPER_TIME|src=SOURCE|RENDERING", bytes outside printable
 * ASCII as \xNN. */
static void put_field(lr__buf *b, const char *name, const char *p, size_t n) {
    lr__buf_puts(b, name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') lr__buf_printf(b, "\\x%02x", c);
        else lr__buf_putc(b, (char)c);
    }
}

static void meta_line(const lr_event *ev, lr__buf *b) {
    static char text[70000];
    size_t n = lr_event_render(ev, text, sizeof text, NULL);
    lr__buf_clear(b);
    lr__buf_printf(b, "%llu-%llu|%s", (unsigned long long)ev->line, (unsigned long long)ev->line_end,
                   lr_records_format_name(ev->format));
    put_field(b, "|t=", ev->time, ev->time_len);
    put_field(b, "|h=", ev->host, ev->host_len);
    put_field(b, "|s=", ev->stream, ev->stream_len);
    put_field(b, "|wt=", ev->wrapper_time, ev->wrapper_time_len);
    put_field(b, "|src=", ev->source, ev->source_len);
    put_field(b, "|", text, n < sizeof text ? n : sizeof text - 1);
}

/* The golden: every event of meta.log gives its line of meta.fields.txt. */
static void test_meta_golden(void) {
    FILE *in = fopen("tests/golden/events/meta.log", "rb"), *want = fopen("tests/golden/events/meta.fields.txt", "rb");
    T_CHECK(in && want);
    if (!in || !want) {
        if (in) fclose(in);
        if (want) fclose(want);
        return;
    }
    lr_records *r = lr_records_new(fileno(in), NULL, NULL);
    lr_events *e = lr_events_new(r, NULL, NULL);
    lr_event ev;
    lr__buf b;
    lr__buf_init(&b);
    char line[4096];
    int n = 0, rc;
    while ((rc = lr_events_next(e, &ev, NULL)) == 1) {
        meta_line(&ev, &b);
        n++;
        if (!fgets(line, sizeof line, want)) {
            T_FAIL("event %d not in the golden: %.*s", n, (int)b.len, b.data);
            break;
        }
        line[strcspn(line, "\n")] = '\0';
        if (b.len != strlen(line) || memcmp(b.data, line, b.len) != 0)
            T_FAIL("event %d:\n    got  %.*s\n    want %s", n, (int)b.len, b.data, line);
    }
    T_EQ_INT(rc, 0);
    T_CHECK(!fgets(line, sizeof line, want)); /* no golden line left over */
    T_EQ_INT(n, 26);
    lr__buf_free(&b);
    lr_events_free(e);
    lr_records_free(r);
    fclose(in);
    fclose(want);
}

/* Hostile metadata: a 10 MB host (syslog, JSON, logfmt), a 10 MB or
 * invalid-UTF-8 Docker stream and a 10 MB Docker time: each field keeps at
 * most LR_EVENT_META_MAX bytes, the message is kept, and the reader's
 * memory does not grow with them. */
static void test_meta_hostile(void) {
    size_t big = 10u << 20;
    char *line = malloc(big + 256);
    lr__ev ev;
    lr__ev_init(&ev);
    lr_event v;
    /* syslog: a 10 MB HOSTNAME */
    memcpy(line, "<11>1 2024-05-01T12:00:00Z ", 27);
    memset(line + 27, 'h', big);
    memcpy(line + 27 + big, " app - - - boom", 15);
    T_EQ_INT(lr__ev_parse(&ev, line, 27 + big + 15, LR_REC_AUTO, NULL), 1);
    lr__ev_view(&ev, &v);
    T_EQ_INT((int)v.format, LR_REC_SYSLOG);
    T_CHECK(v.host_len == LR_EVENT_META_MAX && v.host[0] == 'h' && v.message_len == 4);
    T_CHECK(ev.arena.len < 1024); /* the arena holds the cut host, not 10 MB */
    /* RFC 3164 */
    memcpy(line, "May  1 12:00:00 ", 16);
    memset(line + 16, 'h', big);
    memcpy(line + 16 + big, " app: boom", 10);
    T_EQ_INT(lr__ev_parse(&ev, line, 16 + big + 10, LR_REC_AUTO, NULL), 1);
    lr__ev_view(&ev, &v);
    T_CHECK(v.format == LR_REC_SYSLOG && v.host_len == LR_EVENT_META_MAX && v.message_len == 4);
    /* JSON and logfmt */
    memcpy(line, "{\"msg\":\"m\",\"host\":\"", 19);
    memset(line + 19, 'h', big);
    memcpy(line + 19 + big, "\"}", 2);
    T_EQ_INT(lr__ev_parse(&ev, line, 19 + big + 2, LR_REC_AUTO, NULL), 1);
    lr__ev_view(&ev, &v);
    T_CHECK(v.format == LR_REC_JSONL && v.host_len == LR_EVENT_META_MAX && v.message_len == 1);
    memcpy(line, "msg=m host=", 11);
    memset(line + 11, 'h', big);
    T_EQ_INT(lr__ev_parse(&ev, line, 11 + big, LR_REC_AUTO, NULL), 1);
    lr__ev_view(&ev, &v);
    T_CHECK(v.format == LR_REC_LOGFMT && v.host_len == LR_EVENT_META_MAX && v.message_len == 1);
    lr__ev_free(&ev);
    /* through the reader, with max_bytes 4 MiB so that a JSON line of 5 MB
     * is parsed (lines up to 4 * max_bytes + 4 KiB are): a 2.5 MB stream
     * and time, a stream of invalid UTF-8, a CRI line of 2.5 MB */
    lr__buf b;
    lr__buf_init(&b);
    lr__buf_puts(&b, "{\"log\":\"m\\n\",\"stream\":\"");
    lr__buf_reserve(&b, big);
    memset(b.data + b.len, 's', big / 4);
    b.len += big / 4;
    lr__buf_puts(&b, "\",\"time\":\"");
    memset(b.data + b.len, '1', big / 4);
    b.len += big / 4;
    const char badline[] = "{\"log\":\"bad\\n\",\"stream\":\"\xff\xfe\xc3(\",\"time\":\"t\"}";
    lr__buf_puts(&b, "\"}\n");
    lr__buf_puts(&b, badline);
    lr__buf_puts(&b, "\n");
    lr__buf_puts(&b, "{\"log\":\"ok\\n\",\"stream\":\"\\udcff\\u0000x\",\"time\":\"t\"}\n");
    lr__buf_puts(&b, "2024-05-01T12:00:00Z stderr F ");
    lr__buf_reserve(&b, big);
    memset(b.data + b.len, 'x', big / 4);
    b.len += big / 4;
    lr__buf_puts(&b, "\n");
    FILE *f = tmp_with(b.data, b.len);
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.max_bytes = 4u << 20;
    lr_records *r = lr_records_new(fileno(f), &ro, NULL);
    lr_events *e = lr_events_new(r, NULL, NULL);
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.wrapper == LR_REC_DOCKER && v.message_len == 1);
    T_CHECK(v.stream_len == LR_EVENT_META_MAX && v.stream[0] == 's');
    T_CHECK(v.wrapper_time_len == LR_EVENT_META_MAX && v.time_len == LR_EVENT_META_MAX);
    /* raw invalid UTF-8 in the stream: not JSON, so a plain line, kept whole */
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.wrapper == LR_REC_RAW && v.line == 2 && v.stream_len == 0);
    T_CHECK(v.message_len == sizeof badline - 1 && memcmp(v.message, badline, v.message_len) == 0);
    T_CHECK(v.time_len == 0 && v.wrapper_time_len == 0);
    /* an escaped lone surrogate and a NUL: decoded as the JSON reader does */
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.wrapper == LR_REC_DOCKER && v.line == 3 && v.message_len == 2);
    T_CHECK(v.stream_len == 5 && memcmp(v.stream, "\xef\xbf\xbd\0x", 5) == 0);
    T_CHECK(v.wrapper_time_len == 1 && v.time_len == 1);
    T_EQ_INT(lr_events_next(e, &v, NULL), 1);
    T_CHECK(v.wrapper == LR_REC_CRI && v.stream_len == 6 && memcmp(v.stream, "stderr", 6) == 0);
    T_CHECK(v.message_len == big / 4 && v.line == 4);
    T_EQ_INT(lr_events_next(e, &v, NULL), 0);
    lr_events_free(e);
    lr_records_free(r);
    fclose(f);
    lr__buf_free(&b);
    free(line);
}

static void test_window(void) {
    const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nerror\nh\nd\n:\n";
    lr_tok *tok = lr_tok_from_text(vocab, sizeof vocab - 1, NULL);
    T_CHECK(tok != NULL);
    lr_event_encoder *enc = lr_event_encoder_new(NULL, tok, 10, 1 << 20, NULL);
    lr_event ev;
    memset(&ev, 0, sizeof ev);
    ev.level = "ERROR";
    ev.message = "h h h h h h h h h h";
    ev.message_len = strlen(ev.message);
    ev.error = "d d d d d d d d d d";
    ev.error_len = strlen(ev.error);
    int32_t ids[10];
    lr_event_input in;
    /* budget 8: the head keeps max(8 - 8, 4) = 4 (ERROR h h h), the detail 4 (: d d d) */
    T_EQ_INT(lr_event_encode(enc, &ev, ids, &in), 10);
    int32_t want[10] = {2, 5, 6, 6, 6, 8, 7, 7, 7, 3};
    T_CHECK(memcmp(ids, want, sizeof want) == 0);
    T_EQ_INT((int)in.head_len, 25);
    /* a short detail keeps all of itself, the head the rest */
    ev.error_len = 3; /* "d d" */
    T_EQ_INT(lr_event_encode(enc, &ev, ids, NULL), 10);
    int32_t want2[10] = {2, 5, 6, 6, 6, 6, 8, 7, 7, 3};
    T_CHECK(memcmp(ids, want2, sizeof want2) == 0);
    /* everything fits: the ids of the whole rendering */
    ev.message_len = 3;
    int32_t whole[10];
    T_EQ_INT(lr_event_encode(enc, &ev, ids, NULL), 8);
    T_EQ_INT(lr_tok_encode(tok, "ERROR h h: d d", 14, 10, whole), 8);
    T_CHECK(memcmp(ids, whole, 8 * sizeof *ids) == 0);
    /* a plain line longer than the window is read from its level word,
     * unless it is read as it is */
    lr_event plain;
    memset(&plain, 0, sizeof plain);
    plain.message = "h h h h h h h h h h ERROR d";
    plain.message_len = strlen(plain.message);
    plain.format = LR_REC_RAW;
    T_EQ_INT(lr_event_encode(enc, &plain, ids, &in), 4);
    int32_t want3[4] = {2, 5, 7, 3};
    T_CHECK(memcmp(ids, want3, sizeof want3) == 0);
    T_EQ_INT((int)in.skipped, 20);
    plain.as_is = 1;
    T_EQ_INT(lr_event_encode(enc, &plain, ids, &in), 10);
    T_CHECK(ids[1] == 6 && in.skipped == 0);
    plain.as_is = 0;
    plain.message_len = 13; /* "h h h h h h h": fits, read whole */
    T_EQ_INT(lr_event_encode(enc, &plain, ids, &in), 9);
    /* the byte cut keeps the head and the detail's start */
    lr_event_encoder_free(enc);
    enc = lr_event_encoder_new(NULL, tok, 10, 12, NULL);
    ev.message_len = strlen(ev.message);
    ev.error_len = strlen(ev.error);
    T_CHECK(lr_event_encode(enc, &ev, ids, &in) > 2);
    T_CHECK(in.truncated && in.len == 12 && in.head_len == 6 && memcmp(in.text, "ERROR : d d ", 12) == 0);
    lr_event_encoder_free(enc);
    lr_tok_free(tok);
}

T_MAIN(T_CASE(test_level_names), T_CASE(test_formats), T_CASE(test_lead_time), T_CASE(test_mux_prefix), T_CASE(test_bracket_level), T_CASE(test_pg_header), T_CASE(test_json_fields), T_CASE(test_render), T_CASE(test_groups), T_CASE(test_kernel_groups), T_CASE(test_train_events),
       T_CASE(test_group_cap), T_CASE(test_follow_timeout), T_CASE(test_hostile), T_CASE(test_window),
       T_CASE(test_meta_golden), T_CASE(test_meta_hostile))
