/*
 * bench_tok.c — tokenizer throughput: lines/s and tokens/s of lr_tok_encode
 * over log lines masked beforehand (masking is not timed), on 1..T threads
 * each encoding its share of the lines. bench/tok.bench.sh runs it next to
 * Hugging Face tokenizers on the same masked lines and prints the ratio.
 *
 *   bench_tok VOCAB THREADS REPEAT FILE...
 *
 * LR_TOK_REFERENCE=1 in the environment times the reference WordPiece walk
 * instead of the linear-time LinMaxMatch.
 * Prints one line: lines=N tokens=N seconds=S lines_per_s=X tokens_per_s=Y
 * (best of REPEAT passes over all lines).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logrisk.h"
#include "tok.h"

typedef struct job {
    const lr_tok *tok;
    char **lines;
    size_t *lens;
    size_t first, last;
    long long tokens;
    int reference;
} job;

static void *run(void *arg) {
    job *j = arg;
    int32_t ids[LR_TOK_MAX_LEN];
    long long n = 0;
    for (size_t i = j->first; i < j->last; i++) n += lr__tok_encode_with(j->tok, j->lines[i], j->lens[i], LR_TOK_MAX_LEN, ids, j->reference);
    j->tokens = n;
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_tok VOCAB THREADS REPEAT FILE...\n");
        return 2;
    }
    lr_error err = {0, ""};
    lr_tok *tok = lr_tok_load(argv[1], &err);
    lr_rules *rules = lr_rules_default(&err);
    lr_prep *prep = rules ? lr_prep_new(rules, &err) : NULL;
    if (!tok || !prep) {
        fprintf(stderr, "bench_tok: %s\n", err.msg);
        return 1;
    }
    int threads = atoi(argv[2]), repeat = atoi(argv[3]);
    const char *ref_env = getenv("LR_TOK_REFERENCE");
    int reference = ref_env && strcmp(ref_env, "1") == 0;
    if (threads < 1 || threads > 64 || repeat < 1) return 2;
    size_t n = 0, cap = 0;
    char **lines = NULL;
    size_t *lens = NULL;
    for (int a = 4; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            fprintf(stderr, "bench_tok: cannot open %s\n", argv[a]);
            return 1;
        }
        char *line = NULL;
        size_t lcap = 0;
        ssize_t len;
        while ((len = getline(&line, &lcap, f)) >= 0) {
            if (len > 0 && line[len - 1] == '\n') len--;
            lr_line_info info;
            if (lr_prep_line(prep, line, (size_t)len, &info) != 0) return 1;
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                lines = realloc(lines, cap * sizeof *lines);
                lens = realloc(lens, cap * sizeof *lens);
                if (!lines || !lens) return 1;
            }
            lines[n] = malloc(info.text_len + 1);
            if (!lines[n]) return 1;
            memcpy(lines[n], info.text, info.text_len);
            lens[n++] = info.text_len;
        }
        free(line);
        fclose(f);
    }
    double best = 1e30;
    long long tokens = 0;
    job jobs[64];
    pthread_t tid[64];
    for (int r = 0; r < repeat + 1; r++) { /* the first pass warms up */
        double t0 = now();
        for (int t = 0; t < threads; t++) {
            jobs[t] = (job){tok, lines, lens, n * (size_t)t / (size_t)threads,
                            n * (size_t)(t + 1) / (size_t)threads, 0, reference};
            if (threads > 1) pthread_create(&tid[t], NULL, run, &jobs[t]);
            else run(&jobs[t]);
        }
        tokens = 0;
        for (int t = 0; t < threads; t++) {
            if (threads > 1) pthread_join(tid[t], NULL);
            tokens += jobs[t].tokens;
        }
        double dt = now() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    printf("lines=%zu tokens=%lld seconds=%.6f lines_per_s=%.0f tokens_per_s=%.0f\n", n, tokens, best,
           (double)n / best, (double)tokens / best);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(lens);
    lr_prep_free(prep);
    lr_rules_free(rules);
    lr_tok_free(tok);
    return 0;
}
