/*
 * kern.c — picks the kernel table once and drives it over the thread pool.
 *
 * Dispatch: on x86-64, CPUID says what the CPU has and XGETBV what the OS
 * saves on a context switch (YMM state for AVX2, opmask + ZMM state for
 * AVX-512); on arm64, getauxval(AT_HWCAP) & HWCAP_ASIMD (cpu.c reads both,
 * for this file and qkern.c). The best table
 * the CPU and OS support is chosen once (pthread_once); LOGRISK_ISA=ref|
 * avx2|avx512|neon forces one, falling back to ref when it cannot run here
 * (an unknown name is ignored).
 *
 * Threading: a GEMM smaller than LR_KERN_PAR_MIN_MACS multiply-adds runs on
 * the calling thread. Larger ones are cut into about four chunks per pool
 * thread, which the threads take from an atomic counter: rows (in multiples
 * of the 6-row register tile) when there are enough of them, else column
 * panels. Which thread computes a chunk never changes its result. gemm_nt with many rows first
 * packs W once, in parallel (each thread packs its share of the panels),
 * then every thread computes its rows from the shared packed copy, so no
 * thread repeats another's packing. The pool never has more threads than
 * the caller asked for, and nothing here starts threads of its own.
 */
#include "kern.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#include "cpu.h"
#include "pool.h"
#include "util.h"

#define ROW_TILE 6          /* row split granularity: the SIMD tables' MR */
#define CHUNK_ROWS_MAX 192  /* rows per work chunk at most (an X block)  */

/* ------------------------------------------------------------ dispatch */

/* 1 when the CPU has the features of table `isa` and the OS saves the
 * register state (cpu.h). */
static int cpu_has(const char *isa) {
    unsigned f = lr__cpu_features();
    if (strcmp(isa, "avx2") == 0) return (f & LR_CPU_AVX2) != 0;
    if (strcmp(isa, "avx512") == 0) return (f & LR_CPU_AVX512) != 0;
    if (strcmp(isa, "neon") == 0) return (f & LR_CPU_NEON) != 0;
    return 0;
}

const lr__kern *lr__kern_by_name(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "ref") == 0) return &lr__kern_ref;
#if defined(__x86_64__)
    if (strcmp(name, "avx512") == 0) return cpu_has("avx512") ? &lr__kern_avx512 : NULL;
    if (strcmp(name, "avx2") == 0) return cpu_has("avx2") ? &lr__kern_avx2 : NULL;
#endif
#if defined(__aarch64__)
    if (strcmp(name, "neon") == 0) return cpu_has("neon") ? &lr__kern_neon : NULL;
#endif
    return NULL;
}

const lr__kern *lr__kern_choose(const char *force) {
    static const char *const best_first[] = {"avx512", "avx2", "neon"};
    const lr__kern *k = NULL;
    if (force && *force) {
        if (strcmp(force, "ref") == 0 || strcmp(force, "avx2") == 0 ||
            strcmp(force, "avx512") == 0 || strcmp(force, "neon") == 0) {
            k = lr__kern_by_name(force);
            if (!k) k = &lr__kern_ref;
        }
    }
    for (size_t i = 0; !k && i < LR_ARRAY_LEN(best_first); i++) k = lr__kern_by_name(best_first[i]);
    return k ? k : &lr__kern_ref;
}

static const lr__kern *g_kern;
static pthread_once_t g_kern_once = PTHREAD_ONCE_INIT;

static void choose_kern(void) { g_kern = lr__kern_choose(getenv("LOGRISK_ISA")); }

const lr__kern *lr__kern_get(void) {
    pthread_once(&g_kern_once, choose_kern);
    return g_kern;
}

const char *lr_kernel_path(void) { return lr__kern_get()->name; }

size_t lr__packed_floats(int nr, int N, int K) {
    if (nr < 1 || N <= 0 || K <= 0) return 0;
    return (size_t)((N + nr - 1) / nr) * (size_t)nr * (size_t)K;
}

/* --------------------------------------------------------- threaded GEMM */

typedef struct {
    const lr__kern *k;
    char op; /* 't' = nt, 'p' = nt with packed W, 'n' = nn, 'T' = tn */
    int M, N, K;
    const float *X;
    int ldx;
    const float *W; /* W ('p': unused, see P) */
    const lr__packed *P; /* 'p': the packed weight, any type */
    int ldw;
    const float *bias;
    float *Y;
    int ldy;
    int accumulate;
    int split_rows;
    int col_align; /* column split granularity (the panel width for 'p') */
    int gelu;      /* 't' and 'p' only: Y = gelu(X W^T + bias)            */
    int chunk;     /* rows or columns per chunk handed out by `next`      */
    atomic_int next;
} gemm_job;

/* Computes the outputs [begin, end) of the split dimension (rows of Y when
 * j->split_rows, else columns) on this thread. */
static void gemm_range(const gemm_job *j, int begin, int end) {
    const lr__kern *k = j->k;
    int M = j->M, N = j->N;
    const float *X = j->X, *W = j->W, *bias = j->bias;
    float *Y = j->Y;
    if (j->split_rows) {
        M = end - begin;
        X += j->op == 'T' ? (size_t)begin : (size_t)begin * j->ldx;
        Y += (size_t)begin * j->ldy;
    } else if (j->op == 'p') {
        /* begin is a panel boundary; the helper offsets weight and bias */
        lr__packed_gemm_here(j->P, begin, end - begin, M, X, j->ldx, bias, Y, j->ldy,
                             j->accumulate, j->gelu);
        return;
    } else {
        N = end - begin;
        if (j->op == 't') W += (size_t)begin * j->ldw;
        else W += begin;
        if (bias) bias += begin;
        Y += begin;
    }
    switch (j->op) {
    case 't':
        if (j->gelu) k->gemm_nt_gelu(M, N, j->K, X, j->ldx, W, j->ldw, 0, bias, Y, j->ldy);
        else k->gemm_nt(M, N, j->K, X, j->ldx, W, j->ldw, bias, Y, j->ldy, j->accumulate);
        break;
    case 'p':
        lr__packed_gemm_here(j->P, 0, N, M, X, j->ldx, bias, Y, j->ldy, j->accumulate, j->gelu);
        break;
    case 'n':
        k->gemm_nn(M, N, j->K, X, j->ldx, W, j->ldw, Y, j->ldy, j->accumulate);
        break;
    default:
        k->gemm_tn(M, N, j->K, X, j->ldx, W, j->ldw, Y, j->ldy, j->accumulate);
    }
}

/* Each pool thread takes chunks from the shared counter until none are
 * left: a thread that loses its core to another process simply takes
 * fewer chunks instead of holding everyone at the barrier. */
static void gemm_task(int ith, int nth, void *arg) {
    gemm_job *j = arg;
    (void)ith, (void)nth;
    long total = j->split_rows ? j->M : j->N;
    for (;;) {
        long begin = (long)atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed) * j->chunk;
        if (begin >= total) break;
        gemm_range(j, (int)begin, (int)LR_MIN(total, begin + j->chunk));
    }
}

/* Runs the job on the calling thread when it is small or there is one
 * thread, else over the pool in about 4 chunks per thread. */
static void run_gemm(lr_pool *pool, gemm_job *j) {
    if (j->M <= 0 || j->N <= 0) return;
    int nth = lr_pool_size(pool);
    double macs = (double)j->M * j->N * (j->K > 0 ? j->K : 1);
    if (nth == 1 || macs < (double)LR_KERN_PAR_MIN_MACS) {
        j->split_rows = 1;
        gemm_range(j, 0, j->M);
        return;
    }
    if (j->col_align < 1) j->col_align = j->k->nr > 1 ? j->k->nr : 16;
    /* rows when every thread gets at least 4 row tiles, or columns are few */
    j->split_rows = j->M >= 4 * ROW_TILE * nth || j->N < 2 * j->col_align;
    if (j->split_rows) {
        int rows = (j->M + 4 * nth - 1) / (4 * nth);
        rows = (rows + ROW_TILE - 1) / ROW_TILE * ROW_TILE;
        j->chunk = LR_MAX(4 * ROW_TILE, LR_MIN(CHUNK_ROWS_MAX, rows));
    } else {
        int panels = (j->N + j->col_align - 1) / j->col_align;
        j->chunk = LR_MAX(1, panels / (4 * nth)) * j->col_align;
    }
    atomic_init(&j->next, 0);
    lr__pool_run(pool, gemm_task, j);
}

typedef struct {
    const lr__kern *k;
    const float *W;
    int N, K, ldw;
    float *dst;
    atomic_int next; /* the next panel to pack */
} pack_job;

/* Packs panels taken one at a time from the shared counter. */
static void pack_task(int ith, int nth, void *arg) {
    pack_job *j = arg;
    (void)ith, (void)nth;
    int nr = j->k->nr, panels = (j->N + nr - 1) / nr;
    int per = nr == 1 ? 64 : 1; /* ref packs single rows: hand out 64 */
    for (;;) {
        int p0 = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed) * per;
        if (p0 >= panels) break;
        int n0 = p0 * nr, n1 = LR_MIN(j->N, (p0 + per) * nr);
        j->k->pack_nt(n1 - n0, j->K, j->W + (size_t)n0 * j->ldw, j->ldw,
                      j->dst + (size_t)n0 * j->K);
    }
}

/* gemm_nt (gelu: with the GELU epilogue, accumulate ignored) over the pool. */
static void gemm_nt_drive(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                          int ldx, const float *W, int ldw, const float *bias, float *Y, int ldy,
                          int accumulate, int gelu) {
    if (!kern) kern = lr__kern_get();
    gemm_job job = {.k = kern, .op = 't', .M = M, .N = N, .K = K, .X = X, .ldx = ldx, .W = W,
                    .ldw = ldw, .bias = bias, .Y = Y, .ldy = ldy,
                    .accumulate = gelu ? 0 : accumulate, .gelu = gelu};
    int nth = lr_pool_size(pool);
    /* Many rows over several threads: pack W once, shared by all. */
    if (nth > 1 && kern->nr > 1 && M >= 8 * ROW_TILE * nth && N > 0 && K > 0 &&
        (double)M * N * K >= (double)LR_KERN_PAR_MIN_MACS) {
        float *wp = lr__malloc(lr__packed_floats(kern->nr, N, K) * sizeof(float));
        if (wp) {
            pack_job pj = {kern, W, N, K, ldw, wp, 0};
            lr__pool_run(pool, pack_task, &pj);
            lr__packed packed = {.kern = kern, .N = N, .K = K, .data = wp};
            job.op = 'p';
            job.P = &packed;
            job.col_align = kern->nr;
            run_gemm(pool, &job);
            lr__free(wp);
            return;
        }
    }
    run_gemm(pool, &job);
}

void lr__gemm_nt_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, const float *bias, float *Y, int ldy,
                      int accumulate) {
    gemm_nt_drive(kern, pool, M, N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate, 0);
}

void lr__linear_gelu(lr_pool *pool, int M, int N, int K, const float *X, const float *W,
                     const float *bias, float *Y) {
    gemm_nt_drive(NULL, pool, M, N, K, X, K, W, K, bias, Y, N, 0, 1);
}

void lr__gemm_nn_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, float *Y, int ldy, int accumulate) {
    gemm_job job = {.k = kern ? kern : lr__kern_get(), .op = 'n', .M = M, .N = N, .K = K, .X = X,
                    .ldx = ldx, .W = W, .ldw = ldw, .Y = Y, .ldy = ldy, .accumulate = accumulate};
    run_gemm(pool, &job);
}

void lr__gemm_tn_with(const lr__kern *kern, lr_pool *pool, int M, int N, int K, const float *X,
                      int ldx, const float *W, int ldw, float *Y, int ldy, int accumulate) {
    gemm_job job = {.k = kern ? kern : lr__kern_get(), .op = 'T', .M = M, .N = N, .K = K, .X = X,
                    .ldx = ldx, .W = W, .ldw = ldw, .Y = Y, .ldy = ldy, .accumulate = accumulate};
    run_gemm(pool, &job);
}

void lr__gemm_nt(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, const float *bias, float *Y, int ldy, int accumulate) {
    lr__gemm_nt_with(NULL, pool, M, N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate);
}

void lr__linear(lr_pool *pool, int M, int N, int K, const float *X, const float *W,
                const float *bias, float *Y) {
    lr__gemm_nt_with(NULL, pool, M, N, K, X, K, W, K, bias, Y, N, 0);
}

void lr__gemm_nn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate) {
    lr__gemm_nn_with(NULL, pool, M, N, K, X, ldx, W, ldw, Y, ldy, accumulate);
}

void lr__gemm_tn(lr_pool *pool, int M, int N, int K, const float *X, int ldx, const float *W,
                 int ldw, float *Y, int ldy, int accumulate) {
    lr__gemm_tn_with(NULL, pool, M, N, K, X, ldx, W, ldw, Y, ldy, accumulate);
}

/* ----------------------------------------------------------- attention */

size_t lr__attention_scratch_floats(int L, int d) {
    if (L <= 0 || d <= 0) return 0;
    size_t Lp = ((size_t)L + 15) / 16 * 16, dp = ((size_t)d + 15) / 16 * 16;
    return ((size_t)d + 8) * Lp + ((size_t)L + 8) * dp;
}

void lr__attention(const lr__kern *kern, int n_q, int L, int d, const float *Q, int ldq,
                   const float *K, int ldk, const float *V, int ldv, float *O, int ldo,
                   float scale, float *scratch) {
    if (!kern) kern = lr__kern_get();
    kern->attention(n_q, L, d, Q, ldq, K, ldk, V, ldv, O, ldo, scale, scratch);
}

/* ------------------------------------------------------ packed weights */

lr__packed *lr__pack_nt(lr_pool *pool, const lr__kern *kern, const float *W, int N, int K,
                        int ldw, lr_error *err) {
    if (!kern) kern = lr__kern_get();
    if (!W || N <= 0 || K <= 0 || ldw < K) {
        lr__err(err, LR_EINVAL, "cannot pack a %dx%d weight with row stride %d", N, K, ldw);
        return NULL;
    }
    size_t floats = lr__packed_floats(kern->nr, N, K), bytes;
    if (!lr__mul_ok(floats, sizeof(float), &bytes) || !lr__add_ok(bytes, 64, &bytes)) {
        lr__err(err, LR_ERANGE, "a %dx%d weight is too large to pack", N, K);
        return NULL;
    }
    lr__packed *p = lr__calloc(1, sizeof *p);
    void *mem = p ? lr__malloc(bytes) : NULL;
    if (!mem) {
        lr__free(p);
        lr__err(err, LR_ENOMEM, "out of memory packing a %dx%d weight", N, K);
        return NULL;
    }
    p->kern = kern;
    p->N = N;
    p->K = K;
    p->mem = mem;
    p->data = (float *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    pack_job pj = {kern, W, N, K, ldw, p->data, 0};
    if ((double)N * K >= 65536.0) lr__pool_run(pool, pack_task, &pj);
    else pack_task(0, 1, &pj);
    return p;
}

void lr__packed_free(lr__packed *p) {
    if (!p) return;
    lr__free(p->mem);
    lr__free(p);
}

int lr__packed_nr(const lr__packed *p) {
    switch (p->wtype) {
    case LR_WTYPE_Q8: return p->qk->q8_nr;
    case LR_WTYPE_BF16: return p->qk->bf16_nr;
    default: return p->kern->nr;
    }
}

void lr__packed_gemm_here(const lr__packed *p, int c0, int nc, int M, const float *X, int ldx,
                          const float *bias, float *Y, int ldy, int accumulate, int gelu) {
    if (M <= 0 || nc <= 0) return;
    const lr__kern *k = p->kern;
    const float *b = bias ? bias + c0 : NULL;
    float *y = Y + c0;
    if (p->wtype == LR_WTYPE_F32) {
        const float *w = p->data + (size_t)c0 * p->K;
        if (gelu) k->gemm_nt_gelu(M, nc, p->K, X, ldx, w, 0, 1, b, y, ldy);
        else k->gemm_nt_packed(M, nc, p->K, X, ldx, w, b, y, ldy, accumulate);
        return;
    }
    if (p->wtype == LR_WTYPE_Q8) {
        const int8_t *w = (const int8_t *)p->qdata + (size_t)c0 * ((p->K + 3) / 4 * 4);
        p->qk->gemm_q8(M, nc, p->K, X, ldx, w, p->wscale + c0, p->wsum + c0, b, y, ldy,
                       gelu ? 0 : accumulate);
    } else {
        const uint16_t *w = (const uint16_t *)p->qdata + (size_t)c0 * ((p->K + 1) / 2 * 2);
        p->qk->gemm_bf16(M, nc, p->K, X, ldx, w, b, y, ldy, gelu ? 0 : accumulate);
    }
    /* the low-precision tables have no fused epilogue: GELU row by row
     * right after, while the rows are still in cache */
    if (gelu)
        for (int r = 0; r < M; r++) k->gelu(y + (size_t)r * ldy, (size_t)nc);
}

void lr__gemm_nt_packed(lr_pool *pool, int M, const float *X, int ldx, const lr__packed *p,
                        const float *bias, float *Y, int ldy, int accumulate) {
    gemm_job job = {.k = p->kern, .op = 'p', .M = M, .N = p->N, .K = p->K, .X = X, .ldx = ldx,
                    .P = p, .bias = bias, .Y = Y, .ldy = ldy, .accumulate = accumulate,
                    .col_align = lr__packed_nr(p)};
    run_gemm(pool, &job);
}

void lr__gemm_nt_packed_gelu(lr_pool *pool, int M, const float *X, int ldx, const lr__packed *p,
                             const float *bias, float *Y, int ldy) {
    gemm_job job = {.k = p->kern, .op = 'p', .M = M, .N = p->N, .K = p->K, .X = X, .ldx = ldx,
                    .P = p, .bias = bias, .Y = Y, .ldy = ldy, .col_align = lr__packed_nr(p),
                    .gelu = 1};
    run_gemm(pool, &job);
}
