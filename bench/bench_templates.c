/*
 * bench_templates.c — the template miner (src/templates.c) on the 14
 * systems of data/loghub_corrected/ with ONE parameter set: per system the
 * grouping accuracy (a message is right when its predicted group has
 * exactly the members of its true group, as loghub's evaluator computes
 * it) and the parsing accuracy (its template equals the true one, both
 * with mask tags and runs of "<*>" read as one "<*>"), beside Drain's
 * published grouping accuracy (per-system parameters, the uncorrected
 * templates); then the speed on one thread, in CPU time:
 *
 *   miner alone   lr_miner_add on the 28,000 messages pre-masked, learning
 *                 (the first pass creates the templates; later passes find
 *                 them, as a long-running stream does);
 *   match only    lr_miner_match on the same messages;
 *   full path     mask with the default rules (lr_prep_line), then add.
 *
 *   bench_templates [--raw] [--depth N] [--sim X] [--children N]
 *                   [--system NAME] [--dump] [--brief]
 *
 * --raw mines the Content column without the rules' masks; --dump prints
 * every message, its template and its true template (with --system);
 * --brief prints only "avg_grouping_accuracy A" and "miner_msgs_per_sec N".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logrisk.h"
#include "templates.h"

static const char *const systems[] = {"Android", "Apache", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
                                      "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Windows", "Zookeeper"};
/* Drain's grouping accuracy as published with logparser (per-system
 * settings, the original loghub_2k templates), same order. */
static const double drain_ga[] = {0.911, 1.0, 0.9975, 0.887, 0.9475, 0.78, 0.69,
                                  0.7865, 0.7875, 0.7325, 0.5265, 0.92, 0.997, 0.9665};
#define N_SYS (sizeof systems / sizeof systems[0])

typedef struct {
    char **content, **masked, **truth_t;
    uint32_t *truth;
    size_t n;
} sysdata;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load(const char *name, sysdata *d, lr_prep *prep) {
    char path[512];
    snprintf(path, sizeof path, "data/loghub_corrected/%s/%s_2k.log_structured_corrected.csv", name, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    lr_io_reader *r = lr_io_reader_new(fd, 0, NULL);
    lr_io_csv *c = lr_io_csv_new(r, NULL);
    lr_error err;
    if (lr_io_csv_read(c, &err) != 1) return -1;
    int ic = lr_io_csv_find(c, "Content"), ie = lr_io_csv_find(c, "EventId"), it = lr_io_csv_find(c, "EventTemplate");
    if (ic < 0 || ie < 0 || it < 0) return -1;
    size_t cap = 2048;
    d->content = malloc(cap * sizeof(char *));
    d->masked = malloc(cap * sizeof(char *));
    d->truth_t = malloc(cap * sizeof(char *));
    d->truth = malloc(cap * sizeof(uint32_t));
    char **ids = malloc(cap * sizeof(char *));
    size_t n_ids = 0;
    d->n = 0;
    while (lr_io_csv_read(c, &err) == 1) {
        if (d->n == cap) {
            cap *= 2;
            d->content = realloc(d->content, cap * sizeof(char *));
            d->masked = realloc(d->masked, cap * sizeof(char *));
            d->truth_t = realloc(d->truth_t, cap * sizeof(char *));
            d->truth = realloc(d->truth, cap * sizeof(uint32_t));
            ids = realloc(ids, cap * sizeof(char *));
        }
        size_t len;
        const char *s = lr_io_csv_field(c, (size_t)ic, &len);
        d->content[d->n] = strndup(s, len);
        lr_line_info li;
        lr_prep_line(prep, s, len, &li);
        d->masked[d->n] = strndup(li.text, li.text_len);
        d->truth_t[d->n] = strdup(lr_io_csv_field(c, (size_t)it, &len));
        const char *e = lr_io_csv_field(c, (size_t)ie, &len);
        size_t k = 0;
        while (k < n_ids && strcmp(ids[k], e) != 0) k++;
        if (k == n_ids) ids[n_ids++] = strdup(e);
        d->truth[d->n++] = (uint32_t)k;
    }
    for (size_t k = 0; k < n_ids; k++) free(ids[k]);
    free(ids);
    lr_io_csv_free(c);
    lr_io_reader_free(r);
    close(fd);
    return 0;
}

/* Templates compared as loghub's corrected files write them: mask tags and
 * runs of "<*>" (with nothing between) are one "<*>", white space is one
 * space. */
static void norm(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 4 < cap;) {
        size_t t = 0;
        if (s[i] == '<') {
            size_t j = i + 1;
            while ((s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_' || s[j] == '*') j++;
            if (s[j] == '>' && j > i + 1) t = j + 1 - i;
        }
        if (t) {
            if (!(o >= 3 && memcmp(out + o - 3, "<*>", 3) == 0)) memcpy(out + o, "<*>", 3), o += 3;
            i += t;
        } else if (s[i] == ' ' || s[i] == '\t') {
            if (o && out[o - 1] != ' ') out[o++] = ' ';
            i++;
        } else {
            out[o++] = s[i++];
        }
    }
    while (o && out[o - 1] == ' ') o--;
    out[o] = '\0';
}

int main(int argc, char **argv) {
    lr_miner_opts o;
    lr_miner_opts_init(&o);
    int raw = 0, dump = 0, brief = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--raw")) raw = 1;
        else if (!strcmp(argv[i], "--dump")) dump = 1;
        else if (!strcmp(argv[i], "--brief")) brief = 1;
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc) o.depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sim") && i + 1 < argc) o.similarity = atof(argv[++i]);
        else if (!strcmp(argv[i], "--children") && i + 1 < argc) o.max_children = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--system") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_templates [--raw] [--depth N] [--sim X] [--children N] [--system NAME] [--dump] [--brief]\n");
            return 2;
        }
    }
    lr_error err;
    lr_rules *rules = lr_rules_default(&err);
    lr_prep *prep = rules ? lr_prep_new(rules, &err) : NULL;
    if (!prep) {
        fprintf(stderr, "bench_templates: %s\n", err.msg);
        return 1;
    }
    static sysdata d[N_SYS];
    double sum_ga = 0, sum_pa = 0, sum_dr = 0;
    int n_sys = 0;
    if (!brief) {
        printf("template miner, one parameter set (depth %d, similarity %.2f, max children %d), %s messages\n", o.depth,
               o.similarity, o.max_children, raw ? "raw" : "masked");
        printf("%-10s %9s %8s %9s %8s %8s\n", "system", "grouping", "parsing", "templates", "truth", "Drain*");
    }
    for (size_t s = 0; s < N_SYS; s++) {
        if (only && strcmp(only, systems[s])) continue;
        if (load(systems[s], &d[s], prep)) {
            fprintf(stderr, "bench_templates: cannot read data/loghub_corrected/%s (run from the repository root)\n",
                    systems[s]);
            return 1;
        }
        lr_miner *m = lr_miner_new(&o, &err);
        if (!m) {
            fprintf(stderr, "bench_templates: %s\n", err.msg);
            return 1;
        }
        uint32_t *pred = malloc(d[s].n * sizeof *pred);
        for (size_t i = 0; i < d[s].n; i++) {
            const char *t = raw ? d[s].content[i] : d[s].masked[i];
            lr_template_match tm;
            if (lr_miner_add(m, t, strlen(t), (int64_t)i, &tm, &err)) {
                fprintf(stderr, "bench_templates: %s\n", err.msg);
                return 1;
            }
            pred[i] = tm.id;
        }
        /* parsing accuracy: each message's final template */
        size_t right = 0;
        uint32_t n_truth = 0;
        for (size_t i = 0; i < d[s].n; i++) {
            lr_template_info ti;
            lr_miner_template_by_id(m, pred[i], &ti);
            char a[16384], b[16384];
            norm(ti.text, a, sizeof a);
            norm(d[s].truth_t[i], b, sizeof b);
            right += strcmp(a, b) == 0;
            if (d[s].truth[i] + 1 > n_truth) n_truth = d[s].truth[i] + 1;
            if (dump) printf("%u\t%s\t%s\t%s\n", pred[i], strcmp(a, b) ? "PA-" : "PA+", a, b);
        }
        double ga = lr__grouping_accuracy(pred, d[s].truth, d[s].n), pa = (double)right / (double)d[s].n;
        if (!brief)
            printf("%-10s %9.4f %8.4f %9u %8u %8.4f\n", systems[s], ga, pa, lr_miner_n_templates(m), n_truth, drain_ga[s]);
        sum_ga += ga;
        sum_pa += pa;
        sum_dr += drain_ga[s];
        n_sys++;
        lr_miner_free(m);
        free(pred);
    }
    if (brief) printf("avg_grouping_accuracy %.4f\n", sum_ga / n_sys);
    else
        printf("%-10s %9.4f %8.4f %9s %8s %8.4f\n(* Drain: per-system parameters, original templates)\n", "average",
               sum_ga / n_sys, sum_pa / n_sys, "", "", sum_dr / n_sys);
    if (only) return 0;

    /* speed */
    size_t total = 0;
    for (size_t s = 0; s < N_SYS; s++) total += d[s].n;
    double best_add = 0, best_match = 0, best_full = 0;
    for (int run = 0; run < 3; run++) {
        lr_miner *m = lr_miner_new(&o, &err);
        size_t msgs = 0;
        uint64_t sum = 0;
        double t0 = now(), t;
        do {
            for (size_t s = 0; s < N_SYS; s++)
                for (size_t i = 0; i < d[s].n; i++) {
                    lr_template_match tm;
                    lr_miner_add(m, d[s].masked[i], strlen(d[s].masked[i]), (int64_t)i, &tm, &err);
                    sum += tm.id;
                }
            msgs += total;
            t = now() - t0;
        } while (t < 0.5);
        if (msgs / t > best_add) best_add = msgs / t;
        msgs = 0;
        t0 = now();
        do {
            for (size_t s = 0; s < N_SYS; s++)
                for (size_t i = 0; i < d[s].n; i++) {
                    lr_template_match tm;
                    lr_miner_match(m, d[s].masked[i], strlen(d[s].masked[i]), &tm);
                    sum += tm.id;
                }
            msgs += total;
            t = now() - t0;
        } while (t < 0.5);
        if (msgs / t > best_match) best_match = msgs / t;
        lr_miner_free(m);
        m = lr_miner_new(&o, &err);
        msgs = 0;
        t0 = now();
        do {
            for (size_t s = 0; s < N_SYS; s++)
                for (size_t i = 0; i < d[s].n; i++) {
                    lr_line_info li;
                    lr_prep_line(prep, d[s].content[i], strlen(d[s].content[i]), &li);
                    lr_template_match tm;
                    lr_miner_add(m, li.text, li.text_len, (int64_t)i, &tm, &err);
                    sum += tm.id;
                }
            msgs += total;
            t = now() - t0;
        } while (t < 0.5);
        if (msgs / t > best_full) best_full = msgs / t;
        lr_miner_free(m);
        if (sum == 42) printf(" ");
    }
    if (brief) printf("miner_msgs_per_sec %.0f\n", best_add);
    else
        printf("speed, 1 thread, CPU time, %zu messages: miner alone (pre-masked, learning) %.0f msgs/s; match only "
               "%.0f msgs/s; full path (mask with the default rules + learn) %.0f msgs/s\n",
               total, best_add, best_match, best_full);
    lr_prep_free(prep);
    lr_rules_free(rules);
    return 0;
}
