/*
 * templates.h — internals of the template miner (the public API is the
 * "templates" section of include/logrisk.h): putting a miner's state into
 * an .lrm container under a key prefix and reading it back, so that other
 * model files (the sequence-anomaly model) can carry the templates they
 * were trained with in the same checksummed file.
 */
#ifndef LR_TEMPLATES_H
#define LR_TEMPLATES_H

#include "format.h"
#include "logrisk.h"

/* The bytes of a message the miner reads (the rest decides nothing). */
#define LR_MINER_MAX_BYTES 4096
/* Tokens of a message; text past the last one is part of it. */
#define LR_MINER_MAX_TOKENS 512
/* The state format version written and accepted. */
#define LR_MINER_STATE_VERSION 1

/* Add the miner's state to `w` as metadata keys "<prefix>.version",
 * "<prefix>.depth", "<prefix>.similarity", "<prefix>.max_children",
 * "<prefix>.max_templates", "<prefix>.count" and one tensor "<prefix>.state"
 * (u8 bytes: per template id, count, first, last seen as little-endian
 * 64-bit values and the text with its length). prefix is at most 32 bytes,
 * "templates" for a state file. The tensor's bytes are in *blob, which the
 * caller frees (lr__free) after lr__lrm_writer_write. 0 or an LR_E* code. */
int lr__miner_put(const lr_miner *m, lr__lrm_writer *w, const char *prefix, void **blob, lr_error *err);
/* Read a state put under `prefix` from an opened container: every field is
 * checked (LR_EFORMAT naming the key or the template). */
lr_miner *lr__miner_get(const lr__lrm *f, const char *prefix, lr_error *err);

/* Tokens of an abstracted message (for tests and the bench): the message
 * as the miner sees it, tokens joined by one space, variables "<*>", into
 * out[cap]; returns the full length. */
size_t lr__miner_abstract(const char *text, size_t len, char *out, size_t cap);

/* Grouping accuracy as loghub's evaluator defines it: the share of the n
 * messages whose predicted group (pred[i]) has exactly the members of
 * their true group (truth[i]; small dense ids). -1 when out of memory. */
double lr__grouping_accuracy(const uint32_t *pred, const uint32_t *truth, size_t n);

#endif /* LR_TEMPLATES_H */
