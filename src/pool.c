/*
 * pool.c — the persistent pthread pool (see pool.h).
 *
 * One job at a time. The caller stores (fn, arg), resets `finished`, then
 * bumps `generation` (release); workers that see the new generation
 * (acquire) read fn and arg without a lock, run their share and bump
 * `finished`. The caller runs its own share as thread 0 and waits until
 * `finished` reaches nth - 1. Both waits spin briefly with a pause hint,
 * then sleep on a condition variable, so back-to-back ops cost well under
 * a microsecond while an idle pool burns no CPU.
 *
 * Sleeping without lost wake-ups: a worker about to sleep increments
 * `sleepers` (seq_cst) and then re-reads `generation` under the mutex; the
 * caller bumps `generation` (seq_cst) and then reads `sleepers`, taking the
 * mutex to broadcast only when someone may sleep. Of the two orders at
 * least one side sees the other's write (the same holds for the caller's
 * `caller_sleeps` and the workers' `finished`), so no wake-up is missed
 * and the common, all-spinning case takes no lock at all.
 */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define LR_POOL_MAX_THREADS 256
/* The least stack a worker gets: the GEMM kernels keep their packing
 * buffers on the stack (~130 KB), and some libcs default to 128 KB. */
#define LR_POOL_MIN_STACK (1u << 20)
/* Spin iterations (each with a pause hint, some tens of microseconds in
 * all) before a waiting thread sleeps: long enough to cover the gap between
 * two GEMMs of one forward pass, short enough not to hold a shared core. */
#define LR_POOL_SPIN 4000

/* Tells the CPU this is a spin-wait (frees pipeline resources, saves power). */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#endif
}

struct lr_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;    /* sleeping workers wait here for a new generation */
    pthread_cond_t done;    /* a sleeping caller waits here for the finish     */
    atomic_uint generation; /* bumped once per job (and by lr_pool_free)       */
    atomic_int finished;    /* workers done with the current job               */
    atomic_int sleepers;    /* workers asleep or about to sleep on `wake`      */
    atomic_int caller_sleeps; /* the caller is asleep or about to sleep on `done` */
    atomic_int stop;
    lr__task_fn fn; /* written by the caller before the generation bump */
    void *arg;
};

typedef struct {
    lr_pool *pool;
    int ith;
} worker_arg;

int lr_available_cores(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void *worker_main(void *p) {
    lr_pool *pool = ((worker_arg *)p)->pool;
    int ith = ((worker_arg *)p)->ith;
    lr__free(p);
    unsigned seen = 0; /* the generation at creation: no job has run yet */
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               spins < LR_POOL_SPIN) {
            cpu_relax();
            spins++;
        }
        if (gen == seen) { /* nothing yet: sleep until the caller bumps it */
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while ((gen = atomic_load(&pool->generation)) == seen)
                pthread_cond_wait(&pool->wake, &pool->mutex);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        seen = gen;
        if (atomic_load(&pool->stop)) return NULL;

        pool->fn(ith, pool->n_threads, pool->arg);

        atomic_fetch_add(&pool->finished, 1);
        if (atomic_load(&pool->caller_sleeps)) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

lr_pool *lr_pool_new(int n_threads, lr_error *err) {
    if (n_threads <= 0) n_threads = lr_available_cores();
    if (n_threads > LR_POOL_MAX_THREADS) {
        lr__err(err, LR_ERANGE, "thread count %d exceeds the maximum of %d", n_threads,
                LR_POOL_MAX_THREADS);
        return NULL;
    }
    lr_pool *pool = lr__calloc(1, sizeof *pool);
    if (!pool) goto oom;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->finished, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_sleeps, 0);
    atomic_init(&pool->stop, 0);
    pool->threads = lr__calloc((size_t)n_threads, sizeof *pool->threads);
    if (!pool->threads) goto oom;
    pthread_attr_t attr;
    pthread_attr_t *attrp = NULL;
    size_t stack = 0;
    if (pthread_attr_init(&attr) == 0) {
        attrp = &attr;
        if (pthread_attr_getstacksize(&attr, &stack) == 0 && stack < LR_POOL_MIN_STACK)
            pthread_attr_setstacksize(&attr, LR_POOL_MIN_STACK);
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = lr__malloc(sizeof *wa);
        if (!wa) goto oom_started;
        wa->pool = pool;
        wa->ith = i;
        if (pthread_create(&pool->threads[i], attrp, worker_main, wa) != 0) {
            lr__free(wa);
            if (attrp) pthread_attr_destroy(attrp);
            pool->n_threads = i; /* join what was started */
            lr_pool_free(pool);
            lr__err(err, LR_ENOMEM, "cannot start thread %d of %d", i, n_threads);
            return NULL;
        }
        continue;
    oom_started:
        if (attrp) pthread_attr_destroy(attrp);
        pool->n_threads = i;
        lr_pool_free(pool);
        lr__err(err, LR_ENOMEM, "out of memory creating a pool of %d threads", n_threads);
        return NULL;
    }
    if (attrp) pthread_attr_destroy(attrp);
    return pool;
oom:
    if (pool) {
        lr__free(pool->threads);
        lr__free(pool);
    }
    lr__err(err, LR_ENOMEM, "out of memory creating a pool of %d threads", n_threads);
    return NULL;
}

void lr_pool_free(lr_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, 1);
    atomic_fetch_add(&pool->generation, 1); /* spinning workers see it too */
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    lr__free(pool->threads);
    lr__free(pool);
}

int lr_pool_size(const lr_pool *pool) { return pool ? pool->n_threads : 1; }

void lr__pool_run(lr_pool *pool, lr__task_fn fn, void *arg) {
    if (!pool || pool->n_threads == 1) {
        fn(0, 1, arg);
        return;
    }
    int workers = pool->n_threads - 1;
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->finished, 0);
    atomic_fetch_add(&pool->generation, 1); /* seq_cst: publishes fn, arg */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }

    fn(0, pool->n_threads, arg);

    int spins = 0;
    while (atomic_load_explicit(&pool->finished, memory_order_acquire) < workers &&
           spins < LR_POOL_SPIN) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&pool->finished) < workers) {
        pthread_mutex_lock(&pool->mutex);
        atomic_store(&pool->caller_sleeps, 1);
        while (atomic_load(&pool->finished) < workers) pthread_cond_wait(&pool->done, &pool->mutex);
        atomic_store(&pool->caller_sleeps, 0);
        pthread_mutex_unlock(&pool->mutex);
    }
}

void lr__split_range(int n, int ith, int nth, int align, int *begin, int *end) {
    if (align < 1) align = 1;
    int chunks = (n + align - 1) / align;
    int per = chunks / nth, extra = chunks % nth;
    int c0 = ith * per + (ith < extra ? ith : extra);
    int c1 = c0 + per + (ith < extra ? 1 : 0);
    *begin = LR_MIN(n, c0 * align);
    *end = LR_MIN(n, c1 * align);
}
