/*
 * score.h — internals of the scoring pipeline shared with its tests.
 *
 * The public API (lr_scorer_*) is in include/logrisk.h, "scoring" section;
 * the design is described at the top of score.c.
 */
#ifndef LR_SCORE_H
#define LR_SCORE_H

#include "logrisk.h"
#include "util.h"

/* Default number of bytes of one raw line that are kept; the rest of a
 * longer line is read and dropped (see the design note in score.c). */
#define LR_SCORE_MAX_LINE_BYTES ((size_t)64 * 1024)

/* Append the shortest decimal form of v that reads back as the same float
 * (at most 9 significant digits; "0.1", not "0.100000001"); non-finite
 * values as JSON null. Returns 0 or LR_ENOMEM. */
int lr__score_put_float(lr__buf *b, float v);

#endif /* LR_SCORE_H */
