/*
 * bench_events.c — throughput of the record layer per format: records and
 * events read (src/records.c, src/events.c: wrappers, parsing, grouping),
 * then the canonical rendering (lr_event_render), then the whole model
 * input (lr_event_encode: rendering, masks, tokenizer, window) with the
 * vocabulary and max_len of MODEL (default: the built-in model, when this
 * binary has one) and the default rules.
 *
 *     bench_events [--lines N] [--write DIR] [-m MODEL.lrm]
 *
 * Inputs are generated (fixed seed): N lines (default 100,000) per format,
 * the same events written as plain text, plain text behind an RFC 3339
 * time, JSON (zap), logfmt, klog, RFC 5424, journald around klog, log4j,
 * Python, CRI around JSON, Docker around logfmt, a log4j log with a 6-line
 * Java trace every 10 events, and dmesg with a 12-line oops every 10. --write DIR also writes each input to DIR/FORMAT.log (for
 * bench/events.bench.sh, which scores them in the same run). Times are CPU
 * time of this process, best of 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "logrisk.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *const levels[] = {"info", "warn", "error"};
static const char *const klog_l[] = {"I", "W", "E"};
static const char *const upper[] = {"INFO", "WARN", "ERROR"};
static const int pri[] = {14, 12, 11};
static const char *const msgs[] = {"Started container web-%d", "Readiness probe failed for pod web-%d",
                                   "failed to sync pod web-%d", "request served in %d ms",
                                   "Back-off restarting failed container in pod web-%d"};

/* One generated line (or group) of format f for event i into b. */
static int gen(char *b, size_t cap, const char *f, int i) {
    char msg[128];
    snprintf(msg, sizeof msg, msgs[i % 5], i);
    int l = (i / 5) % 3;
    const char *err = i % 4 == 0 ? "connection refused" : NULL;
    if (strcmp(f, "plain") == 0)
        return snprintf(b, cap, "%s %s%s%s\n", upper[l], msg, err ? ": " : "", err ? err : "");
    if (strcmp(f, "plain_time") == 0)
        return snprintf(b, cap, "2024-03-11T08:00:01.%06dZ %s%s%s\n", i % 1000000, msg, err ? ": " : "",
                        err ? err : "");
    if (strcmp(f, "dmesg") == 0) { /* a dmesg line, every 10th followed by a 12-line oops */
        int n = snprintf(b, cap, "[%6d.%06d] %s\n", i / 1000, i % 1000000, msg);
        if (i % 10 == 0)
            n += snprintf(b + n, cap - (size_t)n,
                          "[%6d.%06d] BUG: unable to handle page fault for address: ffffde4bd1e8a018\n"
                          "[%6d.%06d] #PF: supervisor write access in kernel mode\n"
                          "[%6d.%06d] Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
                          "[%6d.%06d] CPU: 29 PID: %d Comm: z_wr_int_4 Tainted: P OE 5.15.0-91-generic\n"
                          "[%6d.%06d] RIP: 0010:zio_done+0x47a/0x1080 [zfs]\n"
                          "[%6d.%06d] RSP: 0018:ffffb3c0e3a4bd58 EFLAGS: 00010286\n"
                          "[%6d.%06d] RAX: ffffde4bd1e8a000 RBX: ffff8f0b2c6ed400 RCX: 0000000000000000\n"
                          "[%6d.%06d] Call Trace:\n"
                          "[%6d.%06d]  <TASK>\n"
                          "[%6d.%06d]  zio_execute+0x92/0x160 [zfs]\n"
                          "[%6d.%06d]  </TASK>\n"
                          "[%6d.%06d] ---[ end trace 2c3f5e1a7b0d9e44 ]---\n",
                          i / 1000, 1, i / 1000, 2, i / 1000, 3, i / 1000, 4, i, i / 1000, 5, i / 1000, 6,
                          i / 1000, 7, i / 1000, 8, i / 1000, 9, i / 1000, 10, i / 1000, 11, i / 1000, 12);
        return n;
    }
    if (strcmp(f, "json") == 0)
        return snprintf(b, cap, "{\"level\":\"%s\",\"ts\":1710144001.%03d,\"caller\":\"k/k.go:%d\",\"msg\":\"%s\"%s%s%s}\n",
                        levels[l], i % 1000, i % 900, msg, err ? ",\"error\":\"" : "", err ? err : "", err ? "\"" : "");
    if (strcmp(f, "logfmt") == 0)
        return snprintf(b, cap, "time=2024-03-11T08:00:01Z level=%s msg=\"%s\"%s%s%s pod=web-%d\n", levels[l], msg,
                        err ? " err=\"" : "", err ? err : "", err ? "\"" : "", i);
    if (strcmp(f, "klog") == 0)
        return snprintf(b, cap, "%s0311 08:00:01.%06d    1187 kubelet.go:%d] \"%s\"%s%s%s pod=\"default/web-%d\"\n",
                        klog_l[l], i % 1000000, i % 900, msg, err ? " err=\"" : "", err ? err : "", err ? "\"" : "", i);
    if (strcmp(f, "rfc5424") == 0)
        return snprintf(b, cap, "<%d>1 2024-03-11T08:00:01.%03dZ node-a kubelet 1187 - - %s%s%s\n", pri[l], i % 1000,
                        msg, err ? ": " : "", err ? err : "");
    if (strcmp(f, "journal_klog") == 0)
        return snprintf(b, cap, "Mar 11 08:00:01 node-a kubelet[1187]: %s0311 08:00:01.%06d 1187 k.go:1] %s%s%s\n",
                        klog_l[l], i % 1000000, msg, err ? ": " : "", err ? err : "");
    if (strcmp(f, "log4j") == 0)
        return snprintf(b, cap, "2024-03-11 08:00:01,%03d [main] %-5s com.example.Kubelet - %s%s%s\n", i % 1000,
                        upper[l], msg, err ? ": " : "", err ? err : "");
    if (strcmp(f, "python") == 0)
        return snprintf(b, cap, "2024-03-11 08:00:01,%03d - kubelet - %s - %s%s%s\n", i % 1000,
                        l == 1 ? "WARNING" : upper[l], msg, err ? ": " : "", err ? err : "");
    if (strcmp(f, "cri_json") == 0)
        return snprintf(b, cap, "2024-03-11T08:00:01.%09dZ stderr F {\"level\":\"%s\",\"msg\":\"%s\"%s%s%s}\n", i,
                        levels[l], msg, err ? ",\"error\":\"" : "", err ? err : "", err ? "\"" : "");
    if (strcmp(f, "docker_logfmt") == 0)
        return snprintf(b, cap,
                        "{\"log\":\"level=%s msg=\\\"%s\\\"%s%s%s\\n\",\"stream\":\"stdout\",\"time\":\"2024-03-11T08:00:01Z\"}\n",
                        levels[l], msg, err ? " err=\\\"" : "", err ? err : "", err ? "\\\"" : "");
    /* jvm: a log4j line, every 10th followed by a 6-line trace */
    int n = snprintf(b, cap, "2024-03-11 08:00:01,%03d [main] %-5s c.e.Orders - %s\n", i % 1000, upper[l], msg);
    if (i % 10 == 0)
        n += snprintf(b + n, cap - (size_t)n,
                      "java.lang.IllegalStateException: order %d\n\tat c.e.Orders.a(Orders.java:1)\n"
                      "\tat c.e.Orders.b(Orders.java:2)\nCaused by: java.io.IOException: disk\n"
                      "\tat c.e.Disk.w(Disk.java:3)\n\t... 4 more\n", i);
    return n;
}

typedef struct stats {
    double parse, render, encode; /* best CPU seconds */
    long events, lines;
} stats;

/* Read `data` from a memfd through records + events (mode 0), + rendering
 * (1), + encoding (2); CPU seconds. */
static double run(const char *data, size_t len, int mode, lr_event_encoder *enc, long *events) {
    int fd = memfd_create("bench_events", 0);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) return -1;
    lseek(fd, 0, SEEK_SET);
    double t0 = cpu_s();
    lr_records *r = lr_records_new(fd, NULL, NULL);
    lr_events *e = lr_events_new(r, NULL, NULL);
    lr_event ev;
    static char out[1 << 16];
    int32_t ids[256];
    long n = 0;
    volatile size_t sink = 0;
    while (lr_events_next(e, &ev, NULL) == 1) {
        n++;
        if (mode == 1) sink += lr_event_render(&ev, out, sizeof out, NULL);
        if (mode == 2) sink += (size_t)lr_event_encode(enc, &ev, ids, NULL);
    }
    lr_events_free(e);
    lr_records_free(r);
    double dt = cpu_s() - t0;
    close(fd);
    *events = n;
    (void)sink;
    return dt;
}

int main(int argc, char **argv) {
    long n_lines = 100000;
    const char *dir = NULL, *model_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) n_lines = atol(argv[++i]);
        else if (strcmp(argv[i], "--write") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) model_path = argv[++i];
        else {
            fprintf(stderr, "usage: bench_events [--lines N] [--write DIR] [-m MODEL.lrm]\n");
            return 2;
        }
    }
    if (n_lines < 10) n_lines = 10;
    lr_event_encoder *enc = NULL;
    lr_model *model = model_path ? lr_model_load(model_path, NULL)
                                 : lr_model_has_builtin() ? lr_model_load_builtin(NULL) : NULL;
    lr_tok *tok = NULL;
    lr_rules *rules = lr_rules_default(NULL);
    if (model) {
        size_t vlen = 0;
        const char *vocab = lr_model_vocab_text(model, &vlen);
        tok = vocab ? lr_tok_from_text(vocab, vlen, NULL) : NULL;
        if (tok) enc = lr_event_encoder_new(rules, tok, lr_model_max_len(model), 64 * 1024, NULL);
    }
    static const char *const formats[] = {"plain",  "plain_time", "json",     "logfmt",        "klog",
                                          "rfc5424", "journal_klog", "log4j", "python", "cri_json",
                                          "docker_logfmt", "jvm", "dmesg"};
    size_t cap = (size_t)n_lines * 512 + 4096;
    char *buf = malloc(cap);
    if (!buf) return 1;
    printf("record layer, 1 thread, CPU time, best of 3; %ld generated lines per format%s\n", n_lines,
           enc ? "" : " (no model: no encode column)");
    printf("%-14s %8s %14s %14s %14s\n", "format", "events", "parse ev/s", "+render ev/s", "+encode ev/s");
    for (size_t f = 0; f < sizeof formats / sizeof *formats; f++) {
        size_t len = 0;
        long lines = 0;
        for (int i = 0; lines < n_lines; i++) {
            int k = gen(buf + len, cap - len, formats[f], i);
            for (int j = 0; j < k; j++) lines += buf[len + (size_t)j] == '\n';
            len += (size_t)k;
        }
        if (dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.log", dir, formats[f]);
            FILE *o = fopen(path, "wb");
            if (!o || fwrite(buf, 1, len, o) != len || fclose(o) != 0) {
                fprintf(stderr, "bench_events: cannot write %s\n", path);
                return 1;
            }
        }
        stats s = {1e30, 1e30, 1e30, 0, lines};
        for (int rep = 0; rep < 3; rep++) {
            double t = run(buf, len, 0, enc, &s.events);
            if (t >= 0 && t < s.parse) s.parse = t;
            t = run(buf, len, 1, enc, &s.events);
            if (t >= 0 && t < s.render) s.render = t;
            if (enc) {
                t = run(buf, len, 2, enc, &s.events);
                if (t >= 0 && t < s.encode) s.encode = t;
            }
        }
        printf("%-14s %8ld %14.0f %14.0f", formats[f], s.events, (double)s.events / s.parse,
               (double)s.events / s.render);
        if (enc) printf(" %14.0f", (double)s.events / s.encode);
        printf("\n");
    }
    free(buf);
    lr_event_encoder_free(enc);
    lr_tok_free(tok);
    lr_rules_free(rules);
    lr_model_free(model);
    return 0;
}
