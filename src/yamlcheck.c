/*
 * yamlcheck.c — bounded YAML (the bounds and why are in yamlcheck.h).
 *
 * One pass of libyaml's event parser: depth goes up at every sequence or
 * mapping start and down at its end; every scalar and collection counts as
 * a node, and an alias as many nodes as what its anchor names (the size of
 * an anchored collection is known at its end event). The first bound
 * crossed stops the pass, so the scanner never reaches the rest of a
 * hostile document.
 */
#include "yamlcheck.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "util.h"

static int at(lr_error *err, int code, const char *source, const yaml_mark_t *m, const char *msg) {
    return lr__err(err, code, "%s:%lu:%lu: %s", source, (unsigned long)m->line + 1, (unsigned long)m->column + 1,
                   msg);
}

/* An anchor and the number of nodes of what it names. */
typedef struct anchor {
    char *name;
    size_t nodes;
} anchor;

/* An open collection: where its node count started and its anchor (or NULL). */
typedef struct open_coll {
    size_t first_node;
    char *anchor;
} open_coll;

int lr__yaml_check(const char *yaml, size_t len, const char *source, size_t *n_documents, lr_error *err) {
    if (!source) source = "<yaml>";
    if (n_documents) *n_documents = 0;
    if (len > LR__YAML_MAX_BYTES)
        return lr__err(err, LR_ERANGE, "%s: %zu bytes of YAML, more than the %u allowed", source, len,
                       LR__YAML_MAX_BYTES);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return lr__err(err, LR_ENOMEM, "%s: out of memory (YAML)", source);
    yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), yaml ? len : 0);
    int rc = LR_OK, depth = 0, done = 0;
    size_t nodes = 0, docs = 0, n_anchors = 0;
    anchor anchors[LR__YAML_MAX_ANCHORS];
    open_coll open[LR__YAML_MAX_DEPTH + 1];
    char msg[160];
    while (!rc && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = lr__err(err, LR_ENOMEM, "%s: out of memory (YAML)", source);
            } else {
                snprintf(msg, sizeof msg, "%s%s%s", parser.problem ? parser.problem : "YAML error",
                         parser.context ? " " : "", parser.context ? parser.context : "");
                rc = at(err, LR_EPARSE, source, &parser.problem_mark, msg);
            }
            break;
        }
        const char *anchor_name = NULL;
        size_t add = 1; /* nodes this event stands for */
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            add = 0;
            break;
        case YAML_DOCUMENT_START_EVENT:
            docs++;
            while (n_anchors > 0) lr__free(anchors[--n_anchors].name); /* anchors are per document */
            add = 0;
            break;
        case YAML_ALIAS_EVENT:
            add = 0;
            for (size_t i = n_anchors; i-- > 0 && !add;)
                if (strcmp(anchors[i].name, (const char *)ev.data.alias.anchor) == 0) add = anchors[i].nodes;
            if (!add) rc = at(err, LR_EPARSE, source, &ev.start_mark, "an alias of an unknown anchor");
            break;
        case YAML_SCALAR_EVENT:
            anchor_name = (const char *)ev.data.scalar.anchor;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth >= LR__YAML_MAX_DEPTH) {
                snprintf(msg, sizeof msg, "YAML nested more than %d levels deep", LR__YAML_MAX_DEPTH);
                rc = at(err, LR_ERANGE, source, &ev.start_mark, msg);
                break;
            }
            open[depth].first_node = nodes;
            open[depth].anchor = NULL;
            {
                const yaml_char_t *a = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                              : ev.data.mapping_start.anchor;
                if (a && !(open[depth].anchor = lr__strdup((const char *)a)))
                    rc = lr__err(err, LR_ENOMEM, "%s: out of memory (YAML)", source);
            }
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            add = 0;
            if (depth > 0) {
                depth--;
                if (open[depth].anchor) {
                    anchor_name = open[depth].anchor;
                    add = 0;
                }
            }
            break;
        default:
            add = 0;
            break;
        }
        if (!rc && add && nodes + add > LR__YAML_MAX_NODES) {
            snprintf(msg, sizeof msg, "more than %u YAML nodes (aliases count as what they name)",
                     LR__YAML_MAX_NODES);
            rc = at(err, LR_ERANGE, source, &ev.start_mark, msg);
        }
        nodes += add;
        if (!rc && anchor_name) {
            size_t size = ev.type == YAML_SCALAR_EVENT ? 1 : nodes - open[depth].first_node;
            if (n_anchors == LR__YAML_MAX_ANCHORS) {
                snprintf(msg, sizeof msg, "more than %d YAML anchors (&name)", LR__YAML_MAX_ANCHORS);
                rc = at(err, LR_ERANGE, source, &ev.start_mark, msg);
            } else if (!(anchors[n_anchors].name = lr__strdup(anchor_name))) {
                rc = lr__err(err, LR_ENOMEM, "%s: out of memory (YAML)", source);
            } else {
                anchors[n_anchors++].nodes = size;
            }
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            lr__free(open[depth].anchor);
            open[depth].anchor = NULL;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    while (depth > 0) lr__free(open[--depth].anchor);
    while (n_anchors > 0) lr__free(anchors[--n_anchors].name);
    if (n_documents) *n_documents = docs;
    return rc;
}
