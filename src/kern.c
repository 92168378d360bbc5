/*
 * kern.c — picks the kernel table once and drives it over the thread pool.
 *
 * The choice is made on first use from the CPU's features (and the
 * LOGRISK_ISA override) and kept in a once-initialised pointer; the threaded
 * drivers split the output rows (or columns, when there are few rows) into
 * one contiguous range per thread.
 */
#include "kern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "util.h"

static const lr__kern *g_kern;
static pthread_once_t g_kern_once = PTHREAD_ONCE_INIT;

const lr__kern *lr__kern_by_name(const char *name) {
    if (strcmp(name, "ref") == 0) return &lr__kern_ref;
    return NULL;
}

static void choose_kern(void) {
    const char *force = getenv("LOGRISK_ISA");
    const lr__kern *k = NULL;
    if (force && *force) k = lr__kern_by_name(force);
    if (!k) k = &lr__kern_ref;
    g_kern = k;
}

const lr__kern *lr__kern_get(void) {
    pthread_once(&g_kern_once, choose_kern);
    return g_kern;
}

/* --------------------------------------------------------- threaded GEMM */

typedef struct {
    char op; /* 't' = nt, 'n' = nn, 'T' = tn */
    int M, N, K;
    const float *X;
    int ldx;
    const float *W;
    int ldw;
    const float *bias;
    float *Y;
    int ldy;
    int accumulate;
} gemm_job;

static void gemm_task(int ith, int nth, void *arg) {
    const gemm_job *j = arg;
    const lr__kern *k = lr__kern_get();
    /* Split rows when there are enough of them, else columns. */
    int split_rows = j->M >= 4 * nth;
    int begin, end;
    lr__split_range(split_rows ? j->M : j->N, ith, nth, split_rows ? 4 : 16, &begin, &end);
    if (begin >= end) return;
    if (split_rows) {
        int rows = end - begin;
        switch (j->op) {
        case 't':
            k->gemm_nt(rows, j->N, j->K, j->X + (size_t)begin * j->ldx, j->ldx, j->W, j->ldw,
                       j->bias, j->Y + (size_t)begin * j->ldy, j->ldy, j->accumulate);
            break;
        case 'n':
            k->gemm_nn(rows, j->N, j->K, j->X + (size_t)begin * j->ldx, j->ldx, j->W, j->ldw,
                       j->Y + (size_t)begin * j->ldy, j->ldy, j->accumulate);
            break;
        default:
            k->gemm_tn(rows, j->N, j->K, j->X + begin, j->ldx, j->W, j->ldw,
                       j->Y + (size_t)begin * j->ldy, j->ldy, j->accumulate);
        }
    } else {
        int cols = end - begin;
        switch (j->op) {
        case 't':
            k->gemm_nt(j->M, cols, j->K, j->X, j->ldx, j->W + (size_t)begin * j->ldw, j->ldw,
                       j->bias ? j->bias + begin : NULL, j->Y + begin, j->ldy, j->accumulate);
            break;
        case 'n':
            k->gemm_nn(j->M, cols, j->K, j->X, j->ldx, j->W + begin, j->ldw, j->Y + begin,
                       j->ldy, j->accumulate);
            break;
        default:
            k->gemm_tn(j->M, cols, j->K, j->X, j->ldx, j->W + begin, j->ldw, j->Y + begin,
                       j->ldy, j->accumulate);
        }
    }
}

static void run_gemm(lr_pool *pool, gemm_job *job) {
    if (job->M <= 0 || job->N <= 0) return;
    lr__pool_run(pool, gemm_task, job);
}

void lr__gemm_nt(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, const float *bias, float *Y, int ldy, int accumulate) {
    gemm_job job = {'t', M, N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate};
    run_gemm(pool, &job);
}

void lr__linear(lr_pool *pool, int M, int N, int K, const float *X, const float *W,
                const float *bias, float *Y) {
    lr__gemm_nt(pool, M, N, K, X, K, W, K, bias, Y, N, 0);
}

void lr__gemm_nn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate) {
    gemm_job job = {'n', M, N, K, X, ldx, W, ldw, NULL, Y, ldy, accumulate};
    run_gemm(pool, &job);
}

void lr__gemm_tn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate) {
    gemm_job job = {'T', M, N, K, X, ldx, W, ldw, NULL, Y, ldy, accumulate};
    run_gemm(pool, &job);
}

const char *lr_kernel_path(void) { return lr__kern_get()->name; }
