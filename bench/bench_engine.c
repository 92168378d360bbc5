/*
 * bench_engine.c — the BERT forward pass on the benchmark workloads, timed
 * the way bench/peers/ort_bench.mjs times ONNX Runtime and
 * bench/peers/torch_bench.py PyTorch, so they can be compared line for line
 * (bench/engine.bench.sh runs all three in one go).
 *
 *   bench_engine MODEL.lrm WORKLOAD.json [--threads 2] [--reps 5]
 *                [--only fixed,realistic,latency]
 *
 * Prints one JSON object per result on stdout:
 *  - fixed_b32_s128: 32 lines x 128 tokens, 5 calls per rep;
 *  - logs2048_bucketed: the 2048 workload lengths sorted by (length, index)
 *    and cut into batches of 32 ("bucketed");
 *  - logs2048_unsorted: batches of 32 in input order (the engine packs the
 *    tokens of a batch, so there is no padding to 128 to compare with);
 *  - latency b1_s24: one 24-token line per call, 300 calls per rep, p50/p99.
 * Token ids follow one formula in every engine (CLS 101, SEP 102, else
 * 1000 + (line*7919 + j*104729) mod (vocab-1000)); tokenization is not
 * timed. GFLOP/s uses the FLOP formula of tools/ref_bert.py:
 * forward(L) = N(8LH^2 + 4L^2H + 4LHI) + 2H(H/2) + 2(H/2)C.
 * The sizes come from the model (lr_model_get_info).
 *
 * Run without arguments it only says how to run it (bench/run.sh runs every
 * bench binary bare; engine.bench.sh gives it the model).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "json.h"
#include "logrisk.h"
#include "util.h"

typedef struct cfg {
    int vocab, hidden, layers, inter, labels;
} cfg;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double forward_flops(const cfg *c, int L) {
    double H = c->hidden, I = c->inter, N = c->layers, l = L;
    return N * (8 * l * H * H + 4 * l * l * H + 4 * l * H * I) + 2 * H * (H / 2) +
           2 * (H / 2) * c->labels;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The whole file as a NUL-terminated string the caller frees, or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    lr__buf b;
    lr__buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (lr__buf_put(&b, chunk, n)) break;
    fclose(f);
    *len = b.len;
    return b.data;
}

static const lr__json *load_json(const char *path, lr__json_doc **doc) {
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text) {
        fprintf(stderr, "bench_engine: cannot read %s\n", path);
        return NULL;
    }
    lr_error err = {0};
    *doc = lr__json_parse(text, len, 0, &err);
    lr__free(text);
    if (!*doc) {
        fprintf(stderr, "bench_engine: %s: %s\n", path, err.msg);
        return NULL;
    }
    return lr__json_root(*doc);
}

/* A batch of lines: their token ids (by the benchmark formula) and lengths. */
typedef struct batch {
    int n;
    int32_t **ids;
    int *lens;
    int max_len;
} batch;

static int make_batch(batch *b, const int *lines, int n, const int *lengths, int vocab) {
    b->n = n;
    b->ids = lr__calloc((size_t)n, sizeof *b->ids);
    b->lens = lr__calloc((size_t)n, sizeof *b->lens);
    b->max_len = 0;
    if (!b->ids || !b->lens) return -1;
    for (int r = 0; r < n; r++) {
        int line = lines[r], len = lengths[line];
        b->lens[r] = len;
        b->max_len = len > b->max_len ? len : b->max_len;
        b->ids[r] = lr__calloc((size_t)len, sizeof(int32_t));
        if (!b->ids[r]) return -1;
        for (int j = 0; j < len; j++)
            b->ids[r][j] = j == 0 ? 101
                         : j == len - 1
                             ? 102
                             : (int32_t)(1000 + ((int64_t)line * 7919 + (int64_t)j * 104729) %
                                                    (vocab - 1000));
    }
    return 0;
}

static void free_batch(batch *b) {
    for (int r = 0; r < b->n; r++) lr__free(b->ids[r]);
    lr__free(b->ids);
    lr__free(b->lens);
}

typedef struct run {
    lr_model_ctx *ctx;
    lr_pool *pool;
    float *logits;
} run;

static int run_batches(run *r, batch *bs, int nb) {
    lr_error err = {0};
    for (int i = 0; i < nb; i++) {
        if (lr_model_logits(r->ctx, r->pool, (const int32_t *const *)bs[i].ids, bs[i].lens, bs[i].n,
                            r->logits, &err)) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

/* Time `reps` repetitions (after one warm-up) of running every batch;
 * fills secs[reps]. */
static int time_reps(run *r, batch *bs, int nb, int iters, int reps, double *secs) {
    for (int it = 0; it < iters; it++)
        if (run_batches(r, bs, nb)) return -1;
    for (int k = 0; k < reps; k++) {
        double t = now_s();
        for (int it = 0; it < iters; it++)
            if (run_batches(r, bs, nb)) return -1;
        secs[k] = now_s() - t;
    }
    return 0;
}

static void emit_throughput(const char *workload, int threads, int reps, int lines, long real_tokens,
                            double useful_flops, double exec_flops, const double *secs) {
    double rate[64], lo = 1e300, hi = 0;
    for (int k = 0; k < reps; k++) {
        rate[k] = lines / secs[k];
        lo = rate[k] < lo ? rate[k] : lo;
        hi = rate[k] > hi ? rate[k] : hi;
    }
    double m = median(rate, reps), t = lines / m;
    printf("{\"engine\":\"logrisk\",\"kernels\":\"%s\",\"threads\":%d,\"bench\":\"engine_infer\","
           "\"workload\":\"%s\",\"lines\":%d,\"real_tokens\":%ld,\"lines_per_s\":%.1f,"
           "\"tokens_per_s\":%.0f,\"gflops_exec\":%.1f,\"gflops_useful\":%.1f,"
           "\"lines_per_s_min\":%.1f,\"lines_per_s_max\":%.1f,\"spread_pct\":%.1f,\"reps\":%d}\n",
           lr_kernel_path(), threads, workload, lines, real_tokens, m, real_tokens / t,
           exec_flops / t / 1e9, useful_flops / t / 1e9, lo, hi, (hi - lo) / m * 100, reps);
    fflush(stdout);
}

static int bench_workload(run *r, const cfg *c, const char *name, const int *lengths, int n_lines,
                          const int *order, int batch_size, int iters, int threads, int reps) {
    int nb = (n_lines + batch_size - 1) / batch_size;
    batch *bs = lr__calloc((size_t)nb, sizeof *bs);
    if (!bs) return -1;
    long real_tokens = 0;
    double useful = 0;
    for (int i = 0; i < n_lines; i++) {
        real_tokens += lengths[i];
        useful += forward_flops(c, lengths[i]);
    }
    int rc = 0;
    for (int i = 0; i < nb && !rc; i++) {
        int n = n_lines - i * batch_size < batch_size ? n_lines - i * batch_size : batch_size;
        rc = make_batch(&bs[i], order + i * batch_size, n, lengths, c->vocab);
    }
    double secs[64];
    if (!rc) rc = time_reps(r, bs, nb, iters, reps, secs);
    if (!rc) {
        /* the engine packs tokens: executed = useful (no padding) */
        emit_throughput(name, threads, reps, n_lines * iters, real_tokens * iters, useful * iters,
                        useful * iters, secs);
    }
    for (int i = 0; i < nb; i++) free_batch(&bs[i]);
    lr__free(bs);
    return rc;
}

static int bench_latency(run *r, const cfg *c, int threads, int reps) {
    int len24 = 24, line0 = 0;
    batch b;
    if (make_batch(&b, &line0, 1, &len24, c->vocab)) return -1;
    enum { ITERS = 300 };
    double p50[64], p99[64], ts[ITERS];
    int rc = 0;
    for (int i = 0; i < 20 && !rc; i++) rc = run_batches(r, &b, 1);
    for (int k = 0; k < reps && !rc; k++) {
        for (int i = 0; i < ITERS && !rc; i++) {
            double t = now_s();
            rc = run_batches(r, &b, 1);
            ts[i] = (now_s() - t) * 1e3;
        }
        qsort(ts, ITERS, sizeof ts[0], cmp_double);
        p50[k] = ts[ITERS / 2];
        p99[k] = ts[(int)(ITERS * 0.99)];
    }
    if (!rc) {
        double a = median(p50, reps), z = median(p99, reps);
        printf("{\"engine\":\"logrisk\",\"kernels\":\"%s\",\"threads\":%d,\"bench\":\"engine_latency\","
               "\"workload\":\"b1_s24\",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p50_ms_min\":%.3f,"
               "\"p50_ms_max\":%.3f,\"reps\":%d,\"iters_per_rep\":%d,\"gflops_exec\":%.1f}\n",
               lr_kernel_path(), threads, a, z, p50[0], p50[reps - 1], reps, ITERS,
               forward_flops(c, 24) / (a / 1e3) / 1e9);
        fflush(stdout);
    }
    free_batch(&b);
    return rc;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* order = line indices sorted by (length, index), the benchmark's bucketing. */
static int sort_by_length(const int *lengths, int n, int *order) {
    uint64_t *keys = lr__calloc((size_t)n, sizeof *keys);
    if (!keys) return -1;
    for (int i = 0; i < n; i++) keys[i] = (uint64_t)lengths[i] << 32 | (uint32_t)i;
    qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
    for (int i = 0; i < n; i++) order[i] = (int)(keys[i] & 0xffffffffu);
    lr__free(keys);
    return 0;
}

static int count_sink(void *user, const lr_score_result *r, lr_error *err) {
    (void)r;
    (void)err;
    ++*(int *)user;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        printf("bench_engine: needs MODEL.lrm WORKLOAD.json; "
               "bench/engine.bench.sh builds the BERT-mini model and runs it\n");
        return 0;
    }
    int threads = 2, reps = 5;
    const char *only = "fixed,realistic,latency";
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--only") == 0) only = argv[i + 1];
        else {
            fprintf(stderr, "bench_engine: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (reps < 1 || reps > 64 || threads < 1) {
        fprintf(stderr, "bench_engine: --reps 1..64, --threads >= 1\n");
        return 2;
    }

    lr__json_doc *wdoc = NULL;
    const lr__json *wj = load_json(argv[2], &wdoc);
    if (!wj) return 1;
    const lr__json *lj = lr__json_get(wj, "lengths");
    if (!lj || lj->type != LR_JSON_ARRAY || lj->n == 0 || lj->n > 100000) {
        fprintf(stderr, "bench_engine: %s has no \"lengths\" array\n", argv[2]);
        return 1;
    }
    int n_lines = (int)lj->n;
    int *lengths = lr__calloc((size_t)n_lines, sizeof *lengths);
    int *order = lr__calloc((size_t)n_lines, sizeof *order);
    int *fixed_len = lr__calloc(32, sizeof *fixed_len);
    int *fixed_order = lr__calloc(32, sizeof *fixed_order);
    if (!lengths || !order || !fixed_len || !fixed_order) return 1;
    for (int i = 0; i < n_lines; i++) {
        const lr__json *e = lr__json_at(lj, (size_t)i);
        if (!e->is_int || e->i64 < 2 || e->i64 > 512) {
            fprintf(stderr, "bench_engine: bad length at index %d\n", i);
            return 1;
        }
        lengths[i] = (int)e->i64;
        order[i] = i;
    }

    lr_error err = {0};
    double t0 = now_s();
    /* the scoring path's load (logrisk score without --verify) */
    lr_model *model = lr_model_load_flags(argv[1], LR_MODEL_LOAD_SKIP_DATA_CHECKSUM, &err);
    if (!model) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    double t1 = now_s();
    /* and a fully verified load beside it (inspect, score --verify) */
    lr_model *verified = lr_model_load(argv[1], &err);
    double t1v = now_s();
    if (!verified) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    lr_model_free(verified);
    const double load_ms = (t1 - t0) * 1e3, load_verified_ms = (t1v - t1) * 1e3;
    t1 = now_s(); /* ctx_ms from here */
    lr_model_info info;
    lr_model_get_info(model, &info);
    cfg c = {info.vocab_size, info.hidden, info.n_layers, info.intermediate, info.n_labels};
    run r = {0};
    r.pool = lr_pool_new(threads, &err);
    r.ctx = r.pool ? lr_model_ctx_new(model, 32 * 128, &err) : NULL;
    r.logits = lr__calloc(32 * (size_t)c.labels, sizeof(float));
    if (!r.ctx || !r.logits) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return 1;
    }
    double t2 = now_s();
    /* the rest of a cold start, in process: a scorer (rules, tokenizer from
     * the model's vocab, pool, context) and one line scored */
    double t3 = now_s();
    lr_scorer *scorer = lr_scorer_new(model, NULL, &err);
    double t4 = now_s();
    int sink_calls = 0;
    static const char line[] = "2026-11-22T10:00:00Z kubelet E1122 pod sandbox failed: connection refused";
    if (scorer) {
        lr_scorer_set_sink(scorer, count_sink, &sink_calls);
        if (lr_scorer_push(scorer, line, sizeof line - 1, &err) || lr_scorer_flush(scorer, &err)) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
    }
    double t5 = now_s();
    if (!scorer || sink_calls != 1) {
        fprintf(stderr, "bench_engine: scorer: %s\n", err.msg);
        return 1;
    }
    lr_scorer_free(scorer);
    printf("{\"engine\":\"logrisk\",\"bench\":\"engine_load\",\"model\":\"%s\",\"load_ms\":%.2f,"
           "\"load_verified_ms\":%.2f,\"ctx_ms\":%.2f,\"scorer_new_ms\":%.2f,\"first_line_ms\":%.2f,\"kernels\":\"%s\","
           "\"threads\":%d}\n",
           argv[1], load_ms, load_verified_ms, (t2 - t1) * 1e3, (t4 - t3) * 1e3, (t5 - t4) * 1e3,
           lr_kernel_path(), threads);

    int rc = 0;
    if (strstr(only, "fixed")) {
        for (int i = 0; i < 32; i++) {
            fixed_len[i] = 128;
            fixed_order[i] = i;
        }
        rc = bench_workload(&r, &c, "fixed_b32_s128", fixed_len, 32, fixed_order, 32, 5, threads, reps);
    }
    if (!rc && strstr(only, "realistic")) {
        rc = bench_workload(&r, &c, "logs2048_unsorted", lengths, n_lines, order, 32, 1, threads, reps);
        if (!rc) rc = sort_by_length(lengths, n_lines, order);
        if (!rc)
            rc = bench_workload(&r, &c, "logs2048_bucketed", lengths, n_lines, order, 32, 1, threads,
                                reps);
    }
    if (!rc && strstr(only, "latency")) rc = bench_latency(&r, &c, threads, reps);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"engine\":\"logrisk\",\"bench\":\"engine_rss\",\"peak_rss_mb\":%.1f}\n",
           ru.ru_maxrss / 1024.0);
    lr__free(r.logits);
    lr_model_ctx_free(r.ctx);
    lr_pool_free(r.pool);
    lr_model_free(model);
    lr__free(lengths);
    lr__free(order);
    lr__free(fixed_len);
    lr__free(fixed_order);
    lr__json_free(wdoc);
    return rc ? 1 : 0;
}
