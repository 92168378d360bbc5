/* Tests of the thread pool: every thread runs once per job, jobs are
 * barriers, ranges cover [0, n) exactly once. */
#include <stdatomic.h>
#include <time.h>

#include "pool.h"
#include "t.h"

typedef struct {
    atomic_int calls;
    atomic_int mask;
    int data[1000];
} job;

static void mark(int ith, int nth, void *arg) {
    job *j = arg;
    atomic_fetch_add(&j->calls, 1);
    atomic_fetch_or(&j->mask, 1 << ith);
    int b, e;
    lr__split_range(1000, ith, nth, 7, &b, &e);
    for (int i = b; i < e; i++) j->data[i]++;
}

static void test_pool_runs_every_thread_once(void) {
    lr_error err = {0};
    lr_pool *pool = lr_pool_new(3, &err);
    T_CHECK(pool != NULL);
    T_EQ_INT(lr_pool_size(pool), 3);
    for (int rep = 0; rep < 200; rep++) {
        job j = {0};
        lr__pool_run(pool, mark, &j);
        T_EQ_INT(atomic_load(&j.calls), 3);
        T_EQ_INT(atomic_load(&j.mask), 7);
        int ok = 1;
        for (int i = 0; i < 1000; i++) ok &= j.data[i] == 1;
        T_CHECK(ok);
    }
    lr_pool_free(pool);
}

/* Jobs far apart (workers have gone to sleep), jobs back to back (workers
 * spinning) and a slow thread 0 (the caller finishes last) all still run
 * every thread exactly once per job. */
static void slow_mark(int ith, int nth, void *arg) {
    if (ith == 0) {
        struct timespec ts = {0, 3000000};
        nanosleep(&ts, NULL);
    }
    mark(ith, nth, arg);
}

static void test_pool_wakes_sleeping_workers(void) {
    lr_error err = {0};
    lr_pool *pool = lr_pool_new(2, &err);
    T_CHECK(pool != NULL);
    if (!pool) return;
    for (int rep = 0; rep < 30; rep++) {
        job j = {0};
        if (rep % 3 == 0) {
            struct timespec ts = {0, 5000000}; /* 5 ms: past the spin window */
            nanosleep(&ts, NULL);
        }
        lr__pool_run(pool, rep % 3 == 1 ? slow_mark : mark, &j);
        T_EQ_INT(atomic_load(&j.calls), 2);
        T_EQ_INT(atomic_load(&j.mask), 3);
        int ok = 1;
        for (int i = 0; i < 1000; i++) ok &= j.data[i] == 1;
        T_CHECK(ok);
    }
    lr_pool_free(pool);
    /* a pool freed right after creation, and one freed while asleep */
    lr_pool_free(lr_pool_new(4, &err));
    pool = lr_pool_new(3, &err);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    lr_pool_free(pool);
}

static void test_null_pool_runs_inline(void) {
    job j = {0};
    lr__pool_run(NULL, mark, &j);
    T_EQ_INT(atomic_load(&j.calls), 1);
    T_EQ_INT(j.data[999], 1);
}

static void test_split_range_covers_exactly(void) {
    for (int n = 0; n < 50; n++)
        for (int nth = 1; nth <= 5; nth++) {
            int prev = 0;
            for (int t = 0; t < nth; t++) {
                int b, e;
                lr__split_range(n, t, nth, 4, &b, &e);
                T_EQ_INT(b, prev);
                T_CHECK(e >= b);
                prev = e;
            }
            T_EQ_INT(prev, n);
        }
}

static void test_pool_rejects_absurd_size(void) {
    lr_error err = {0};
    T_CHECK(lr_pool_new(100000, &err) == NULL);
    T_EQ_INT(err.code, LR_ERANGE);
    lr_pool *p = lr_pool_new(0, &err); /* 0 = available cores */
    T_CHECK(p && lr_pool_size(p) == lr_available_cores());
    lr_pool_free(p);
}

T_MAIN(T_CASE(test_pool_runs_every_thread_once), T_CASE(test_pool_wakes_sleeping_workers),
       T_CASE(test_null_pool_runs_inline),
       T_CASE(test_split_range_covers_exactly), T_CASE(test_pool_rejects_absurd_size))
