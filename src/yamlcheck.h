/*
 * yamlcheck.h — the bounds every YAML document the library reads must keep
 * (rules files, rules stored in a model, train and pretrain configs),
 * checked before the document is built.
 *
 * libyaml has no depth limit and its scanner's cost grows with the nesting
 * depth at every token, so a 400 KB file of 200,000 nested `[` took
 * minutes to load; a document also builds one node per item, and an alias
 * (`*x`) makes a tree walk visit its anchor again, so a small file can
 * stand for an exponentially large one ("billion laughs"). lr__yaml_check
 * streams the events once (no tree) and stops at the first bound crossed,
 * so a hostile document costs time linear in the bytes read before that:
 *
 *   LR__YAML_MAX_BYTES    the document's size
 *   LR__YAML_MAX_DEPTH    nesting of sequences and mappings
 *   LR__YAML_MAX_NODES    scalars, sequences and mappings, an alias counted
 *                         as the nodes its anchor names (so expanded size)
 *   LR__YAML_MAX_ANCHORS  anchors (&name) per document
 *
 * Errors are LR_EPARSE or LR_ERANGE, "source:line:column: message".
 */
#ifndef LR_YAMLCHECK_H
#define LR_YAMLCHECK_H

#include <stddef.h>

#include "logrisk.h"

#define LR__YAML_MAX_BYTES (4u << 20)
#define LR__YAML_MAX_DEPTH 64
#define LR__YAML_MAX_NODES 200000u
#define LR__YAML_MAX_ANCHORS 256

/* Check `len` bytes of YAML against the bounds above; *n_documents (may be
 * NULL) gets the number of documents in the stream. LR_OK, LR_EPARSE (a
 * syntax error, an alias of no anchor), LR_ERANGE (a bound), LR_ENOMEM. */
int lr__yaml_check(const char *yaml, size_t len, const char *source, size_t *n_documents, lr_error *err);

#endif /* LR_YAMLCHECK_H */
