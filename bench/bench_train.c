/*
 * bench_train.c — training throughput of the autograd-lite BERT.
 *
 *   build/bench/bench_train [--threads N] [--vocab V] [--steps128 N] [--steps32 N]
 *
 * BERT-mini (4 layers, hidden 256, 4 heads, intermediate 1024, vocab 30522
 * by default, MLP head, 11 labels), random init (seed 1), one full training
 * step = forward with dropout 0.1 + cross-entropy + backward + clipping +
 * AdamW, at batch 32 x seq 128 and batch 32 x seq 32 (no padding), the same
 * workloads as bench/peers/torch_bench.py `train` (the benchmark token ids,
 * fixed labels). One warm-up step, then the median of 3 timed repetitions.
 * Prints one line per workload: steps/s, tokens/s and GFLOP/s (3 x the
 * forward matmul FLOPs of tools/ref_bert.py); bench/train.bench.sh puts
 * PyTorch beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_bert.h"
#include "util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* tools/ref_bert.py forward_flops for a sequence of length L, times 3 */
static double train_flops(const lr__bert_config *c, int L) {
    double H = c->hidden, I = c->intermediate;
    double f = c->n_layers * (8.0 * L * H * H + 4.0 * L * L * H + 4.0 * L * H * I);
    f += 2.0 * H * (H / 2) + 2.0 * (H / 2) * c->n_labels;
    return 3.0 * f;
}

int main(int argc, char **argv) {
    int threads = 2, vocab = 30522, steps128 = 2, steps32 = 6;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--vocab")) vocab = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps128")) steps128 = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps32")) steps32 = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_train [--threads N] [--vocab V] [--steps128 N] [--steps32 N]\n");
            return 2;
        }
    }
    if (vocab < 2000) vocab = 2000;
    lr_error err;
    lr_pool *pool = lr_pool_new(threads, &err);
    if (!pool) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    lr__bert_config cfg = {vocab, 256, 4, 4, 1024, 512, 2, 11, 128, LR_HEAD_MLP, 1e-12f};
    const int B = 32;
    int lens[2] = {128, 32}, steps[2] = {steps128, steps32};
    lr__bert_train m;
    if (lr__bert_train_init(&m, &cfg, B, 128, 0, pool, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        lr_pool_free(pool);
        return 1;
    }
    lr__bert_train_init_weights(&m, 1, 0.02f);
    printf("bench_train: BERT-mini vocab %d, %zu params, %d threads, kernels %s\n", vocab,
           m.params.n_floats, lr_pool_size(pool), lr_kernel_path());
    int *ids = lr__alloc_array((size_t)B * 128, sizeof(int));
    int *mask = lr__alloc_array((size_t)B * 128, sizeof(int));
    int labels[32];
    for (int b = 0; b < B; b++) labels[b] = (b * 7 + 3) % 11;
    lr__adamw_cfg adamw = lr__adamw_defaults(3e-5);
    int status = 0;
    for (int w = 0; w < 2 && !status; w++) {
        int L = lens[w];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < L; j++) {
                int id = 1000 + (int)(((long long)b * 7919 + (long long)j * 104729) % (vocab - 1000));
                ids[b * L + j] = j == 0 ? 101 : j == L - 1 ? 102 : id;
                mask[b * L + j] = 1;
            }
        double reps[3];
        uint64_t seed = 0;
        for (int r = -1; r < 3 && !status; r++) {
            double t0 = now();
            int n = r < 0 ? 1 : steps[w];
            for (int s = 0; s < n; s++) {
                float loss;
                if (lr__bert_train_step(&m, ids, mask, labels, B, L, NULL, seed++, &adamw, 1.0,
                                        &loss, NULL, &err)) {
                    fprintf(stderr, "bench_train: %s\n", err.msg);
                    status = 1;
                    break;
                }
            }
            if (r >= 0) reps[r] = n / (now() - t0);
        }
        if (status) break;
        qsort(reps, 3, sizeof reps[0], cmp_double);
        double sps = reps[1];
        printf("train_b32_s%d: %.3f steps/s, %.0f tokens/s, %.1f lines/s, %.1f GFLOP/s "
               "(min %.3f max %.3f steps/s, %d steps x 3)\n",
               L, sps, sps * B * L, sps * B, sps * B * train_flops(&cfg, L) / 1e9, reps[0],
               reps[2], steps[w]);
    }
    lr__free(ids);
    lr__free(mask);
    lr__bert_train_free(&m);
    lr_pool_free(pool);
    return status;
}
