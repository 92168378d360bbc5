/*
 * rules_yaml.c — the YAML rules loader (libyaml document API).
 *
 * A rules file is one mapping (docs/rules.md documents it for users):
 *
 *   extends: default        optional: start from the built-in seed rules and
 *                           add to / override them; without it the file is
 *                           complete on its own
 *   version: 1              optional
 *   levels: {NAME: base}    canonical levels and their base scores
 *   no_level_base: 3        base score of a line without a level
 *   bonus_cap: 5            the keyword bonus is capped at this
 *   level_words: [NAME...]  whole words searched in the raw line (each must
 *                           be a level name)
 *   level_aliases:          PCRE2 patterns tried before the words:
 *     - name: klog
 *       pattern: '^([IWEF])\d{4} '
 *       levels: {I: INFO, W: WARNING, E: ERROR, F: FATAL}   (capture 1 -> level)
 *       modulo: 8           optional: capture 1 is a number, reduced mod 8
 *     - {name: x, pattern: '...', level: ERROR}             (any match -> level)
 *   keywords:               [{bonus: N, words: [lower-case substrings]}]
 *   masks:                  in order: {builtin: timestamp|uuid|ip|long_hex|pid|path}
 *                           or {name: x, pattern: '...', replace: '<X>'}
 *
 * Extending merges: levels and keywords override by name (last wins), level
 * words, aliases and masks are appended. Every error, YAML or semantic, is
 * reported as "file:line:column: message".
 *
 * Bounds: the text is checked against the YAML bounds of yamlcheck.h (size,
 * depth, nodes with aliases expanded) before the document is built, a
 * pattern is at most LR__REGEX_MAX_PATTERN bytes, and every match runs
 * under the limits of rules.h (docs/security.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "files.h"
#include "rules.h"
#include "util.h"
#include "yamlcheck.h"

#define SEED_NAME "seed.yaml (built in)"

typedef struct ctx {
    const char *source;
    yaml_document_t *doc;
    lr_rules *r;
    lr_error *err;
} ctx;

static int fail(ctx *c, const yaml_node_t *node, int code, const char *fmt, ...) LR_PRINTF(4, 5);
static int fail(ctx *c, const yaml_node_t *node, int code, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node)
        return lr__err(c->err, code, "%s:%lu:%lu: %s", c->source, (unsigned long)node->start_mark.line + 1,
                       (unsigned long)node->start_mark.column + 1, msg);
    return lr__err(c->err, code, "%s: %s", c->source, msg);
}

static int nomem(ctx *c) { return lr__err(c->err, LR_ENOMEM, "%s: out of memory loading rules", c->source); }

static yaml_node_t *node_at(ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar node's text or an error naming `what`. */
static int get_str(ctx *c, const yaml_node_t *n, const char *what, const char **out, size_t *len) {
    if (!n || n->type != YAML_SCALAR_NODE) return fail(c, n, LR_EPARSE, "%s must be a string", what);
    *out = (const char *)n->data.scalar.value;
    if (len) *len = n->data.scalar.length;
    return LR_OK;
}

static int get_int(ctx *c, const yaml_node_t *n, const char *what, long lo, long hi, long *out) {
    const char *s = scalar(n);
    if (!s || !*s) return fail(c, n, LR_EPARSE, "%s must be an integer", what);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno) return fail(c, n, LR_EPARSE, "%s must be an integer, not '%s'", what, s);
    if (v < lo || v > hi) return fail(c, n, LR_ERANGE, "%s must be in %ld..%ld, not %ld", what, lo, hi, v);
    *out = v;
    return LR_OK;
}

static int is_word_str(const char *s, size_t len) {
    if (!len) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z') || ch == '_')) return 0;
    }
    return 1;
}

/* Grow an array by one element; returns the new element (zeroed) or NULL. */
static void *push(void **arr, size_t *n, size_t elem) {
    size_t bytes;
    if (!lr__mul_ok(*n + 1, elem, &bytes)) return NULL;
    void *p = lr__realloc(*arr, bytes);
    if (!p) return NULL;
    *arr = p;
    char *slot = (char *)p + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

/* Mapping lookup: the value of `key`, or NULL. */
static yaml_node_t *map_get(ctx *c, const yaml_node_t *map, const char *key) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(node_at(c, p->key));
        if (k && strcmp(k, key) == 0) return node_at(c, p->value);
    }
    return NULL;
}

/* The key of pair p, a string given once in `map` (YAML forbids a key
 * twice; the second would silently win). */
static int once(ctx *c, const yaml_node_t *map, const yaml_node_pair_t *p, const char *what) {
    yaml_node_t *kn = node_at(c, p->key);
    const char *k = scalar(kn);
    if (!k) return fail(c, kn, LR_EPARSE, "%s: keys must be strings", what);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        const char *k2 = scalar(node_at(c, q->key));
        if (k2 && strcmp(k2, k) == 0) return fail(c, kn, LR_EPARSE, "%s: duplicate key '%s'", what, k);
    }
    return LR_OK;
}

/* Every key of `map` must be one of `allowed` (NULL-terminated), once. */
static int check_keys(ctx *c, const yaml_node_t *map, const char *what, const char *const *allowed) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        int rc = once(c, map, p, what);
        if (rc) return rc;
        yaml_node_t *kn = node_at(c, p->key);
        const char *k = scalar(kn);
        int known = 0;
        for (size_t i = 0; allowed[i]; i++) known |= strcmp(k, allowed[i]) == 0;
        if (!known) return fail(c, kn, LR_EPARSE, "%s: unknown key '%s'", what, k);
    }
    return LR_OK;
}

static int find_level(const lr_rules *r, const char *name) {
    for (size_t i = 0; i < r->n_levels; i++)
        if (strcmp(r->levels[i].name, name) == 0) return (int)i;
    return -1;
}

static int level_ref(ctx *c, const yaml_node_t *n, const char *what, int *out) {
    const char *name = NULL;
    int rc = get_str(c, n, what, &name, NULL);
    if (rc) return rc;
    int idx = find_level(c->r, name);
    if (idx < 0) return fail(c, n, LR_EINVAL, "%s: '%s' is not a level defined under 'levels'", what, name);
    *out = idx;
    return LR_OK;
}

static int load_levels(ctx *c, const yaml_node_t *n) {
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, LR_EPARSE, "levels must be a mapping NAME: base");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node_at(c, p->key);
        const char *name = NULL;
        size_t len = 0;
        long base;
        int rc = get_str(c, kn, "a level name", &name, &len);
        if (rc || (rc = once(c, n, p, "levels"))) return rc;
        if (!is_word_str(name, len)) return fail(c, kn, LR_EINVAL, "level name '%s' must be letters, digits or _", name);
        if ((rc = get_int(c, node_at(c, p->value), "a level's base score", -100, 100, &base))) return rc;
        int idx = find_level(c->r, name);
        if (idx < 0) {
            lr__level *lv = push((void **)&c->r->levels, &c->r->n_levels, sizeof *lv);
            if (!lv || !(lv->name = lr__strdup(name))) return nomem(c);
            idx = (int)c->r->n_levels - 1;
        }
        c->r->levels[idx].base = (int)base;
    }
    return LR_OK;
}

static int load_words(ctx *c, const yaml_node_t *n) {
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, LR_EPARSE, "level_words must be a list of level names");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *wn = node_at(c, *it);
        int level;
        int rc = level_ref(c, wn, "level_words", &level);
        if (rc) return rc;
        const char *w = scalar(wn);
        int dup = 0;
        for (size_t i = 0; i < c->r->n_words; i++) dup |= strcmp(c->r->words[i].word, w) == 0;
        if (dup) continue;
        lr__level_word *lw = push((void **)&c->r->words, &c->r->n_words, sizeof *lw);
        if (!lw || !(lw->word = lr__strdup(w))) return nomem(c);
        lw->len = strlen(w);
        lw->level = level;
    }
    return LR_OK;
}

/* Compile a user pattern (UTF mode, ASCII \d \w \b) with JIT when
 * available. Patterns are at most LR__REGEX_MAX_PATTERN bytes; the match
 * limits (rules.h) are set where they are matched, in each lr_prep. */
static int compile(ctx *c, const yaml_node_t *n, const char *what, pcre2_code **out) {
    const char *pat;
    size_t len = 0;
    int rc = get_str(c, n, what, &pat, &len);
    if (rc) return rc;
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) return nomem(c);
    pcre2_set_max_pattern_length(cc, LR__REGEX_MAX_PATTERN);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF, &ecode, &eoff, cc);
    pcre2_compile_context_free(cc);
    if (!re) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(ecode, buf, sizeof buf);
        return fail(c, n, LR_EPARSE, "%s: bad regex at offset %lu: %s", what, (unsigned long)eoff, (char *)buf);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    *out = re;
    return LR_OK;
}

static int load_alias(ctx *c, const yaml_node_t *n) {
    static const char *const keys[] = {"name", "pattern", "level", "levels", "modulo", NULL};
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, LR_EPARSE, "a level alias must be a mapping");
    int rc = check_keys(c, n, "level alias", keys);
    if (rc) return rc;
    lr__alias *a = push((void **)&c->r->aliases, &c->r->n_aliases, sizeof *a);
    if (!a) return nomem(c);
    a->fixed_level = -1;
    const yaml_node_t *name = map_get(c, n, "name"), *pat = map_get(c, n, "pattern");
    const yaml_node_t *level = map_get(c, n, "level"), *levels = map_get(c, n, "levels");
    const yaml_node_t *modulo = map_get(c, n, "modulo");
    const char *s = NULL;
    if (!pat) return fail(c, n, LR_EPARSE, "level alias: 'pattern' is required");
    if ((rc = get_str(c, pat, "level alias pattern", &s, NULL))) return rc;
    if (!(a->pattern = lr__strdup(s))) return nomem(c);
    if (name) {
        if ((rc = get_str(c, name, "level alias name", &s, NULL))) return rc;
        if (!(a->name = lr__strdup(s))) return nomem(c);
    }
    if ((rc = compile(c, pat, "level alias pattern", &a->re))) return rc;
    if (!level == !levels) return fail(c, n, LR_EPARSE, "level alias: give exactly one of 'level' or 'levels'");
    if (level) return level_ref(c, level, "level alias level", &a->fixed_level);
    if (levels->type != YAML_MAPPING_NODE)
        return fail(c, levels, LR_EPARSE, "level alias levels must be a mapping CAPTURE: LEVEL");
    uint32_t caps = 0;
    pcre2_pattern_info(a->re, PCRE2_INFO_CAPTURECOUNT, &caps);
    if (caps < 1) return fail(c, pat, LR_EINVAL, "level alias pattern needs a capture group for 'levels'");
    if (modulo && (rc = get_int(c, modulo, "modulo", 1, 1000000, &a->modulo))) return rc;
    for (yaml_node_pair_t *p = levels->data.mapping.pairs.start; p < levels->data.mapping.pairs.top; p++) {
        lr__alias_key *k = push((void **)&a->keys, &a->n_keys, sizeof *k);
        if (!k) return nomem(c);
        if ((rc = get_str(c, node_at(c, p->key), "level alias key", &s, NULL)) ||
            (rc = once(c, levels, p, "level alias levels")))
            return rc;
        if (!(k->key = lr__strdup(s))) return nomem(c);
        if ((rc = level_ref(c, node_at(c, p->value), "level alias levels", &k->level))) return rc;
    }
    return LR_OK;
}

static int load_keywords(ctx *c, const yaml_node_t *n) {
    static const char *const keys[] = {"bonus", "words", NULL};
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, LR_EPARSE, "keywords must be a list of {bonus, words}");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *g = node_at(c, *it);
        if (g->type != YAML_MAPPING_NODE) return fail(c, g, LR_EPARSE, "a keyword group must be a mapping {bonus, words}");
        int rc = check_keys(c, g, "keyword group", keys);
        if (rc) return rc;
        const yaml_node_t *bn = map_get(c, g, "bonus"), *wn = map_get(c, g, "words");
        long bonus;
        if (!bn || !wn) return fail(c, g, LR_EPARSE, "a keyword group needs 'bonus' and 'words'");
        if ((rc = get_int(c, bn, "bonus", -100, 100, &bonus))) return rc;
        if (wn->type != YAML_SEQUENCE_NODE) return fail(c, wn, LR_EPARSE, "words must be a list of strings");
        for (yaml_node_item_t *wi = wn->data.sequence.items.start; wi < wn->data.sequence.items.top; wi++) {
            yaml_node_t *w = node_at(c, *wi);
            const char *s = NULL;
            size_t len = 0;
            if ((rc = get_str(c, w, "a keyword", &s, &len))) return rc;
            if (!len || memchr(s, 0, len)) return fail(c, w, LR_EINVAL, "a keyword must be non-empty text without NUL");
            for (size_t i = 0; i < len; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                    return fail(c, w, LR_EINVAL,
                                "keyword '%s' has upper-case letters; keywords match lower-cased text, write them in lower case", s);
            lr__keyword *kw = NULL;
            for (size_t i = 0; i < c->r->n_keywords; i++)
                if (c->r->keywords[i].len == len && memcmp(c->r->keywords[i].word, s, len) == 0) kw = &c->r->keywords[i];
            if (!kw) {
                kw = push((void **)&c->r->keywords, &c->r->n_keywords, sizeof *kw);
                if (!kw || !(kw->word = lr__strndup(s, len))) return nomem(c);
                kw->len = len;
            }
            kw->bonus = (int)bonus;
        }
    }
    return LR_OK;
}

static int load_mask(ctx *c, const yaml_node_t *n) {
    static const char *const keys[] = {"builtin", "name", "pattern", "replace", NULL};
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, LR_EPARSE, "a mask must be a mapping");
    int rc = check_keys(c, n, "mask", keys);
    if (rc) return rc;
    const yaml_node_t *bn = map_get(c, n, "builtin"), *nn = map_get(c, n, "name");
    const yaml_node_t *pn = map_get(c, n, "pattern"), *rn = map_get(c, n, "replace");
    lr__mask *m = push((void **)&c->r->masks, &c->r->n_masks, sizeof *m);
    if (!m) return nomem(c);
    const char *s = NULL, *repl = NULL;
    size_t repl_len = 0;
    if (rn) {
        if ((rc = get_str(c, rn, "mask replace", &repl, &repl_len))) return rc;
        if (lr__utf8_valid_prefix(repl, repl_len) != repl_len)
            return fail(c, rn, LR_EINVAL, "mask replace must be valid UTF-8");
    }
    if (bn) {
        if (pn) return fail(c, pn, LR_EPARSE, "a builtin mask takes no 'pattern'");
        if ((rc = get_str(c, bn, "builtin", &s, NULL))) return rc;
        m->builtin = LR__MASK_REGEX;
        for (int i = 0; i < LR__MASK_N_BUILTIN; i++)
            if (strcmp(s, lr__mask_builtin_name(i)) == 0) m->builtin = i;
        if (m->builtin < 0)
            return fail(c, bn, LR_EINVAL, "unknown builtin mask '%s' (timestamp, uuid, ip, long_hex, pid, path)", s);
        if (!rn) {
            repl = lr__mask_builtin_replace(m->builtin);
            repl_len = strlen(repl);
        }
        if (!(m->name = lr__strdup(nn ? (scalar(nn) ? scalar(nn) : "") : s))) return nomem(c);
    } else {
        m->builtin = LR__MASK_REGEX;
        if (!pn || !rn) return fail(c, n, LR_EPARSE, "a mask needs 'builtin', or 'pattern' and 'replace'");
        if (nn && (rc = get_str(c, nn, "mask name", &s, NULL))) return rc;
        if (!(m->name = lr__strdup(nn ? s : ""))) return nomem(c);
        if ((rc = get_str(c, pn, "mask pattern", &s, NULL))) return rc;
        if (!(m->pattern = lr__strdup(s))) return nomem(c);
        if ((rc = compile(c, pn, "mask pattern", &m->re))) return rc;
        uint32_t minlen = 0;
        pcre2_pattern_info(m->re, PCRE2_INFO_MINLENGTH, &minlen);
        if (minlen == 0) return fail(c, pn, LR_EINVAL, "mask pattern can match the empty string");
    }
    if (!(m->replace = lr__strndup(repl, repl_len))) return nomem(c);
    m->replace_len = repl_len;
    return LR_OK;
}

static int load_seq(ctx *c, const yaml_node_t *n, const char *what, int (*fn)(ctx *, const yaml_node_t *)) {
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, LR_EPARSE, "%s must be a list", what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        int rc = fn(c, node_at(c, *it));
        if (rc) return rc;
    }
    return LR_OK;
}

static int parse_into(lr_rules *r, const char *yaml, size_t len, const char *source, int allow_extends, lr_error *err);

/* Apply one document to r (which holds the extended rules, or nothing). */
static int apply(ctx *c, int allow_extends) {
    static const char *const keys[] = {"extends",     "version",       "levels",   "no_level_base", "bonus_cap",
                                       "level_words", "level_aliases", "keywords", "masks",         NULL};
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root) return fail(c, NULL, LR_EPARSE, "empty rules file");
    if (root->type != YAML_MAPPING_NODE) return fail(c, root, LR_EPARSE, "a rules file must be a mapping");
    int rc = check_keys(c, root, "rules", keys);
    if (rc) return rc;
    yaml_node_t *n;
    long v;
    if ((n = map_get(c, root, "extends"))) {
        const char *s = scalar(n);
        if (!s || strcmp(s, "default") != 0) return fail(c, n, LR_EINVAL, "extends: only 'default' (the built-in seed rules) is supported");
        if (!allow_extends) return fail(c, n, LR_EINVAL, "the built-in rules cannot extend themselves");
        if ((rc = parse_into(c->r, lr__rules_seed_yaml, lr__rules_seed_yaml_len, SEED_NAME, 0, c->err))) return rc;
    } else {
        c->r->no_level_base = 3;
        c->r->bonus_cap = 5;
    }
    if ((n = map_get(c, root, "version")) && (rc = get_int(c, n, "version", 1, 1, &v))) return rc;
    if ((n = map_get(c, root, "levels")) && (rc = load_levels(c, n))) return rc;
    if ((n = map_get(c, root, "no_level_base"))) {
        if ((rc = get_int(c, n, "no_level_base", -100, 100, &v))) return rc;
        c->r->no_level_base = (int)v;
    }
    if ((n = map_get(c, root, "bonus_cap"))) {
        if ((rc = get_int(c, n, "bonus_cap", -100, 100, &v))) return rc;
        c->r->bonus_cap = (int)v;
    }
    if ((n = map_get(c, root, "level_words")) && (rc = load_words(c, n))) return rc;
    if ((n = map_get(c, root, "level_aliases")) && (rc = load_seq(c, n, "level_aliases", load_alias))) return rc;
    if ((n = map_get(c, root, "keywords")) && (rc = load_keywords(c, n))) return rc;
    if ((n = map_get(c, root, "masks")) && (rc = load_seq(c, n, "masks", load_mask))) return rc;
    return LR_OK;
}

static int parse_into(lr_rules *r, const char *yaml, size_t len, const char *source, int allow_extends,
                      lr_error *err) {
    yaml_parser_t parser;
    yaml_document_t doc;
    ctx c = {source, &doc, r, err};
    int rc = lr__yaml_check(yaml, len, source, NULL, err);
    if (rc) return rc;
    if (!yaml_parser_initialize(&parser)) return nomem(&c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.error == YAML_MEMORY_ERROR)
            rc = nomem(&c);
        else
            rc = lr__err(err, LR_EPARSE, "%s:%lu:%lu: %s%s%s", source, (unsigned long)parser.problem_mark.line + 1,
                         (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error",
                         parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    rc = apply(&c, allow_extends);
    yaml_document_delete(&doc);
    if (!rc) { /* a second document would be silently ignored: refuse it */
        yaml_document_t more;
        if (!yaml_parser_load(&parser, &more)) {
            rc = lr__err(err, LR_EPARSE, "%s:%lu:%lu: %s", source, (unsigned long)parser.problem_mark.line + 1,
                         (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
        } else {
            yaml_node_t *root = yaml_document_get_root_node(&more);
            if (root)
                rc = lr__err(err, LR_EPARSE, "%s:%lu:%lu: a rules file holds one YAML document", source,
                             (unsigned long)more.start_mark.line + 1, (unsigned long)more.start_mark.column + 1);
            yaml_document_delete(&more);
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

lr_rules *lr_rules_parse(const char *yaml, size_t len, const char *source_name, lr_error *err) {
    if (!source_name) source_name = "<rules>";
    lr_rules *r = lr__calloc(1, sizeof *r);
    if (!r) {
        lr__err(err, LR_ENOMEM, "out of memory loading rules");
        return NULL;
    }
    if (!(r->yaml = lr__strndup(yaml ? yaml : "", yaml ? len : 0)) || !(r->source = lr__strdup(source_name))) {
        lr_rules_free(r);
        lr__err(err, LR_ENOMEM, "out of memory loading rules");
        return NULL;
    }
    r->yaml_len = yaml ? len : 0;
    int rc = parse_into(r, r->yaml, r->yaml_len, source_name, 1, err);
    if (!rc) rc = lr__rules_finish(r, err);
    if (rc) {
        lr_rules_free(r);
        return NULL;
    }
    return r;
}

lr_rules *lr_rules_default(lr_error *err) {
    return lr_rules_parse(lr__rules_seed_yaml, lr__rules_seed_yaml_len, SEED_NAME, err);
}

lr_rules *lr_rules_load(const char *path, lr_error *err) {
    char *text;
    size_t len;
    if (lr__file_read_all(path, "rules file", LR__RULES_MAX_BYTES, &text, &len, err)) return NULL;
    lr_rules *r = lr_rules_parse(text, len, path, err);
    lr__free(text);
    return r;
}
