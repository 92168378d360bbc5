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

#endif /* LR_SCORE_H */
