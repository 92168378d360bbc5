/*
 * pool.h — the one persistent pthread pool.
 *
 * Work is a function `fn(ith, nth, arg)` run once by each of the pool's nth
 * threads (the caller is thread 0); lr__pool_run returns when all of them
 * have finished, which makes every call a barrier. Threads wait by spinning
 * briefly, then sleeping on a condition variable, so two pools or a busy
 * neighbour on a 2-core machine do not starve each other.
 */
#ifndef LR_POOL_H
#define LR_POOL_H

#include "logrisk.h"

typedef void (*lr__task_fn)(int ith, int nth, void *arg);

/* Run fn on every thread of the pool and wait. pool == NULL runs fn(0,1,arg)
 * on the calling thread. Not reentrant: fn must not call lr__pool_run on the
 * same pool. */
void lr__pool_run(lr_pool *pool, lr__task_fn fn, void *arg);

/* The rows [*begin, *end) of n rows that thread ith of nth takes, in chunks
 * of `align` rows (the last chunk may be shorter). */
void lr__split_range(int n, int ith, int nth, int align, int *begin, int *end);

#endif /* LR_POOL_H */
