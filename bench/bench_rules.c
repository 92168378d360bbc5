/*
 * bench_rules.c — preprocess + label throughput, single thread, on the
 * loghub corpus (14 systems x 2,000 lines) plus the kubelet journal, held
 * in memory (no I/O in the timed loop):
 *
 *   1. the built-in rules: the six default masks as hand-written scanners;
 *   2. the same rules with the six masks written as PCRE2 regexes (JIT);
 *
 * and the ratio between them (why the defaults are scanners). It also checks
 * that both give the same text, level and label on every line. The Python
 * reference is timed on the same corpus by bench/rules.bench.sh. Times are
 * CPU times (see now()).
 *
 *   bench_rules [--brief]   (--brief: one line "lines_per_sec N")
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logrisk.h"

typedef struct {
    char *data;
    size_t len;
    size_t *start, *size;
    size_t n;
} corpus;

/* CPU time of this process: the machine this runs on may be shared, and a
 * single-threaded loop's CPU time is what it costs; the Python peer is
 * timed the same way (time.process_time) in bench/rules.bench.sh. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int append_file(corpus *c, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->data = realloc(c->data, c->len + (size_t)n + 1);
    if (fread(c->data + c->len, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    if (n > 0 && c->data[c->len + (size_t)n - 1] != '\n') c->data[c->len + (size_t)n++] = '\n';
    c->len += (size_t)n;
    return 0;
}

static void split(corpus *c) {
    size_t cap = 1024;
    c->start = malloc(cap * sizeof *c->start);
    c->size = malloc(cap * sizeof *c->size);
    size_t pos = 0;
    while (pos < c->len) {
        char *nl = memchr(c->data + pos, '\n', c->len - pos);
        size_t end = (size_t)(nl - c->data);
        if (c->n == cap) {
            cap *= 2;
            c->start = realloc(c->start, cap * sizeof *c->start);
            c->size = realloc(c->size, cap * sizeof *c->size);
        }
        c->start[c->n] = pos;
        c->size[c->n++] = end - pos;
        pos = end + 1;
    }
}

/* Lines per second of preprocess + label over the corpus (best of runs of
 * at least 0.3 s each); *checksum sums labels and text lengths. */
static double measure(const lr_rules *rules, const corpus *c, unsigned long long *checksum) {
    lr_prep *p = lr_prep_new(rules, NULL);
    double best = 0;
    for (int run = 0; run < 3; run++) {
        size_t lines = 0;
        unsigned long long sum = 0;
        double t0 = now(), t;
        do {
            for (size_t i = 0; i < c->n; i++) {
                lr_line_info info;
                lr_prep_line(p, c->data + c->start[i], c->size[i], &info);
                sum += (unsigned long long)info.label + info.text_len;
            }
            lines += c->n;
            t = now() - t0;
        } while (t < 0.3);
        if (lines / t > best) best = lines / t;
        *checksum = sum / (lines / c->n);
    }
    lr_prep_free(p);
    return best;
}

/* The seed rules with the six masks as PCRE2 regexes instead of scanners. */
static const char pcre_masks[] =
    "masks:\n"
    "  - {name: timestamp, pattern: '\\d{4}[-/]\\d{2}[-/]\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}[.,]?\\d*Z?', replace: '<TIME>'}\n"
    "  - {name: uuid, pattern: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', replace: '<ID>'}\n"
    "  - {name: ip, pattern: '\\b\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\b', replace: '<IP>'}\n"
    "  - {name: long_hex, pattern: '\\b[0-9a-f]{12,}\\b', replace: '<ID>'}\n"
    "  - {name: pid, pattern: '\\b(?:pid|PID|tid|TID)[=: ]?\\d+\\b|\\[\\d+\\]', replace: '<PID>'}\n"
    "  - {name: path, pattern: '(?:/[a-zA-Z0-9._-]+){3,}', replace: '<PATH>'}\n";

/* The seed text without its masks section, then the PCRE2 masks. */
static lr_rules *pcre_rules(const lr_rules *seed) {
    size_t len;
    const char *yaml = lr_rules_yaml(seed, &len);
    const char *masks = strstr(yaml, "\nmasks:");
    size_t keep = masks ? (size_t)(masks - yaml) + 1 : len;
    size_t total = keep + sizeof pcre_masks;
    char *text = malloc(total);
    memcpy(text, yaml, keep);
    memcpy(text + keep, pcre_masks, sizeof pcre_masks);
    lr_error err;
    lr_rules *r = lr_rules_parse(text, strlen(text), "pcre-masks", &err);
    if (!r) fprintf(stderr, "bench_rules: %s\n", err.msg);
    free(text);
    return r;
}

/* Lines where the two rule sets disagree. */
static size_t compare(const lr_rules *a, const lr_rules *b, const corpus *c) {
    lr_prep *pa = lr_prep_new(a, NULL), *pb = lr_prep_new(b, NULL);
    size_t bad = 0;
    for (size_t i = 0; i < c->n; i++) {
        lr_line_info ia, ib;
        lr_prep_line(pa, c->data + c->start[i], c->size[i], &ia);
        lr_prep_line(pb, c->data + c->start[i], c->size[i], &ib);
        if (ia.text_len != ib.text_len || memcmp(ia.text, ib.text, ia.text_len) != 0 || ia.label != ib.label ||
            (ia.level == NULL) != (ib.level == NULL) || (ia.level && strcmp(ia.level, ib.level) != 0))
            bad++;
    }
    lr_prep_free(pa);
    lr_prep_free(pb);
    return bad;
}

int main(int argc, char **argv) {
    int brief = argc > 1 && strcmp(argv[1], "--brief") == 0;
    char pattern[1024];
    corpus c = {0};
    glob_t g;
    snprintf(pattern, sizeof pattern, "data/loghub/*/*_2k.log");
    if (glob(pattern, 0, NULL, &g) != 0) {
        fprintf(stderr, "bench_rules: no loghub data at %s\n", pattern);
        return 1;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) append_file(&c, g.gl_pathv[i]);
    size_t n_files = g.gl_pathc;
    globfree(&g);
    snprintf(pattern, sizeof pattern, "data/k8s/kubelet_e2e_2020-03-25.log");
    if (append_file(&c, pattern) == 0) n_files++;
    split(&c);

    lr_error err;
    lr_rules *seed = lr_rules_default(&err);
    if (!seed) {
        fprintf(stderr, "bench_rules: %s\n", err.msg);
        return 1;
    }
    unsigned long long sum_s = 0, sum_p = 0;
    double scan = measure(seed, &c, &sum_s);
    if (brief) {
        printf("lines_per_sec %.0f\n", scan);
        lr_rules_free(seed);
        return 0;
    }
    double mb = (double)c.len / 1e6;
    printf("corpus: %zu files, %zu lines, %.2f MB (loghub 14 x 2k + kubelet journal), 1 thread\n", n_files, c.n, mb);
    printf("preprocess+label, built-in scanners: %10.0f lines/s  %7.1f MB/s\n", scan, scan * mb / (double)c.n);
    lr_rules *pcre = pcre_rules(seed);
    int status = 0;
    if (pcre) {
        double re = measure(pcre, &c, &sum_p);
        size_t bad = compare(seed, pcre, &c);
        printf("preprocess+label, PCRE2 JIT masks:   %10.0f lines/s  %7.1f MB/s\n", re, re * mb / (double)c.n);
        printf("scanners / PCRE2: %.2fx; outputs differ on %zu of %zu lines\n", scan / re, bad, c.n);
        status = bad != 0;
        lr_rules_free(pcre);
    } else {
        status = 1;
    }
    lr_rules_free(seed);
    free(c.data);
    free(c.start);
    free(c.size);
    return status;
}
