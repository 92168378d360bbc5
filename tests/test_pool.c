/* Tests of the thread pool: every thread runs once per job, jobs are
 * barriers, ranges cover [0, n) exactly once. */
#include <stdatomic.h>

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

T_MAIN(T_CASE(test_pool_runs_every_thread_once), T_CASE(test_null_pool_runs_inline),
       T_CASE(test_split_range_covers_exactly), T_CASE(test_pool_rejects_absurd_size))
