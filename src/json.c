/*
 * json.c — the strict JSON DOM parser (see json.h for the contract).
 *
 * Design: one recursive-descent pass over the text (recursion bounded by
 * LR_JSON_MAX_DEPTH). Values are built on a growable "pending" stack: a
 * container remembers where its children start on the stack and, when it
 * closes, moves them into one contiguous block of the doc's arena, so every
 * array/object ends up as a plain C array of lr__json. Strings are decoded
 * straight into the arena (the decoded form is never longer than the raw
 * form). The arena is a list of chunks freed at once by lr__json_free.
 */
#include "json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

/* ----------------------------------------------------------------- arena */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    /* data follows, 16-byte aligned */
} arena_chunk;

#define CHUNK_HEADER ((sizeof(arena_chunk) + 15) & ~(size_t)15)

struct lr__json_doc {
    arena_chunk *chunks;
    lr__json root;
};

/* A block of `size` bytes (16-byte aligned) from the doc's arena, or NULL. */
static void *arena_alloc(lr__json_doc *doc, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    arena_chunk *c = doc->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 4096 ? size : 4096;
        if (c && c->cap * 2 > cap && c->cap < (1u << 20)) cap = c->cap * 2;
        size_t total;
        if (!lr__add_ok(cap, CHUNK_HEADER, &total)) return NULL;
        arena_chunk *nc = lr__malloc(total);
        if (!nc) return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        doc->chunks = nc;
        c = nc;
    }
    void *p = (char *)c + CHUNK_HEADER + c->used;
    c->used += size;
    return p;
}

/* ---------------------------------------------------------------- parser */

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    unsigned flags;
    lr__json_doc *doc;
    lr__json *stack; /* pending values */
    size_t n_stack, cap_stack;
    lr_error *err;
} parser;

static int fail(parser *p, size_t at, const char *what) {
    return lr__err(p->err, LR_EPARSE, "JSON: %s at byte offset %zu", what, at);
}

static int nomem(parser *p) { return lr__err(p->err, LR_ENOMEM, "JSON: out of memory"); }

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int push(parser *p, const lr__json *v) {
    if (p->n_stack == p->cap_stack) {
        size_t cap = p->cap_stack ? p->cap_stack * 2 : 64;
        size_t bytes;
        if (!lr__mul_ok(cap, sizeof(lr__json), &bytes)) return nomem(p);
        lr__json *s = lr__realloc(p->stack, bytes);
        if (!s) return nomem(p);
        p->stack = s;
        p->cap_stack = cap;
    }
    p->stack[p->n_stack++] = *v;
    return 0;
}

static int parse_value(parser *p, lr__json *out, int depth);

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A string starting at the opening quote at p->pos: decoded into the arena.
 * On success p->pos is just past the closing quote. */
static int parse_string(parser *p, const char **out, size_t *out_len) {
    size_t start = p->pos + 1;
    /* Find the closing quote to size the output. */
    size_t end = start;
    for (;;) {
        if (end >= p->len) return fail(p, p->pos, "unterminated string");
        char c = p->text[end];
        if (c == '"') break;
        if (c == '\\') {
            end += 2;
            continue;
        }
        end++;
    }
    char *buf = arena_alloc(p->doc, end - start + 1);
    if (!buf) return nomem(p);
    size_t o = 0, i = start;
    while (i < end) {
        unsigned char c = (unsigned char)p->text[i];
        if (c < 0x20) return fail(p, i, "control character in string");
        if (c == '\\') {
            if (i + 1 >= end) return fail(p, i, "bad escape");
            char e = p->text[i + 1];
            i += 2;
            switch (e) {
            case '"': buf[o++] = '"'; break;
            case '\\': buf[o++] = '\\'; break;
            case '/': buf[o++] = '/'; break;
            case 'b': buf[o++] = '\b'; break;
            case 'f': buf[o++] = '\f'; break;
            case 'n': buf[o++] = '\n'; break;
            case 'r': buf[o++] = '\r'; break;
            case 't': buf[o++] = '\t'; break;
            case 'u': {
                unsigned cp;
                if (end - i < 4 || hex4(p->text + i, &cp) != 0)
                    return fail(p, i - 2, "bad \\u escape");
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (end - i >= 6 && p->text[i] == '\\' && p->text[i + 1] == 'u' &&
                        hex4(p->text + i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    } else {
                        cp = 0xFFFD; /* lone high surrogate */
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    cp = 0xFFFD; /* lone low surrogate */
                }
                o += lr__utf8_encode(cp, buf + o);
                break;
            }
            default: return fail(p, i - 2, "bad escape");
            }
            continue;
        }
        int32_t cp;
        size_t n = lr__utf8_decode(p->text + i, end - i, &cp);
        if (cp < 0) return fail(p, i, "invalid UTF-8 in string");
        memcpy(buf + o, p->text + i, n);
        o += n;
        i += n;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    p->pos = end + 1;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, lr__json *v) {
    size_t s = p->pos, i = s;
    int neg = 0, has_frac = 0, has_exp = 0;
    if (i < p->len && p->text[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= p->len || !is_digit(p->text[i])) return fail(p, i, "bad number");
    if (p->text[i] == '0') {
        i++;
        if (i < p->len && is_digit(p->text[i])) return fail(p, i, "leading zero in number");
    } else {
        while (i < p->len && is_digit(p->text[i])) i++;
    }
    size_t int_end = i;
    if (i < p->len && p->text[i] == '.') {
        has_frac = 1;
        i++;
        if (i >= p->len || !is_digit(p->text[i])) return fail(p, i, "bad fraction in number");
        while (i < p->len && is_digit(p->text[i])) i++;
    }
    if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
        has_exp = 1;
        i++;
        if (i < p->len && (p->text[i] == '+' || p->text[i] == '-')) i++;
        if (i >= p->len || !is_digit(p->text[i])) return fail(p, i, "bad exponent in number");
        while (i < p->len && is_digit(p->text[i])) i++;
    }
    size_t n = i - s;
    char small[64];
    char *tmp = small;
    if (n >= sizeof small) {
        tmp = arena_alloc(p->doc, n + 1);
        if (!tmp) return nomem(p);
    }
    memcpy(tmp, p->text + s, n);
    tmp[n] = '\0';
    /* strtod follows LC_NUMERIC: give it the locale's decimal point. */
    const char *dp = localeconv()->decimal_point;
    if (has_frac && dp && dp[0] != '.' && dp[0] && !dp[1]) {
        char *dot = strchr(tmp, '.');
        if (dot) *dot = dp[0];
    }
    errno = 0;
    double d = strtod(tmp, NULL);
    if (isinf(d)) return fail(p, s, "number out of range");
    v->type = LR_JSON_NUMBER;
    v->num = d;
    v->is_int = false;
    if (!has_frac && !has_exp) {
        /* exact int64 from the digits */
        uint64_t acc = 0;
        int overflow = 0;
        for (size_t k = s + (size_t)neg; k < int_end; k++) {
            unsigned dgt = (unsigned)(p->text[k] - '0');
            if (acc > (UINT64_MAX - dgt) / 10) {
                overflow = 1;
                break;
            }
            acc = acc * 10 + dgt;
        }
        if (!overflow) {
            if (!neg && acc <= (uint64_t)INT64_MAX) {
                v->i64 = (int64_t)acc;
                v->is_int = true;
            } else if (neg && acc <= (uint64_t)INT64_MAX + 1) {
                v->i64 = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
                v->is_int = true;
            }
        }
    } else if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
        v->i64 = (int64_t)d;
        v->is_int = true;
    }
    p->pos = i;
    return 0;
}

static int literal(parser *p, const char *word, lr__json_type t, lr__json *v) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, p->pos, "unexpected character");
    p->pos += n;
    v->type = t;
    return 0;
}

static int cmp_members(const void *a, const void *b) {
    const lr__json *x = *(const lr__json *const *)a, *y = *(const lr__json *const *)b;
    size_t n = LR_MIN(x->key_len, y->key_len);
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* With LR_JSON_NO_DUPLICATES: an error naming the first repeated key. */
static int check_duplicates(parser *p, const lr__json *obj) {
    if (obj->n < 2) return 0;
    const lr__json **sorted = lr__alloc_array(obj->n, sizeof *sorted);
    if (!sorted) return nomem(p);
    for (size_t i = 0; i < obj->n; i++) sorted[i] = &obj->items[i];
    qsort(sorted, obj->n, sizeof *sorted, cmp_members);
    int rc = 0;
    for (size_t i = 1; i < obj->n; i++) {
        if (cmp_members(&sorted[i - 1], &sorted[i]) == 0) {
            const lr__json *dup =
                sorted[i]->key_offset > sorted[i - 1]->key_offset ? sorted[i] : sorted[i - 1];
            rc = lr__err(p->err, LR_EPARSE, "JSON: duplicate key \"%.*s\" at byte offset %zu",
                         (int)LR_MIN(dup->key_len, 100), dup->key, dup->key_offset);
            break;
        }
    }
    lr__free(sorted);
    return rc;
}

/* Move stack[base..] into the arena as the children of v. */
static int close_container(parser *p, lr__json *v, size_t base) {
    size_t n = p->n_stack - base;
    v->n = n;
    v->items = NULL;
    if (n) {
        size_t bytes;
        if (!lr__mul_ok(n, sizeof(lr__json), &bytes)) return nomem(p);
        v->items = arena_alloc(p->doc, bytes);
        if (!v->items) return nomem(p);
        memcpy(v->items, p->stack + base, bytes);
    }
    p->n_stack = base;
    if (v->type == LR_JSON_OBJECT && (p->flags & LR_JSON_NO_DUPLICATES))
        return check_duplicates(p, v);
    return 0;
}

static int parse_array(parser *p, lr__json *v, int depth) {
    size_t base = p->n_stack;
    v->type = LR_JSON_ARRAY;
    p->pos++; /* [ */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return close_container(p, v, base);
    }
    for (;;) {
        lr__json item;
        int rc = parse_value(p, &item, depth + 1);
        if (rc) return rc;
        if ((rc = push(p, &item))) return rc;
        skip_ws(p);
        if (p->pos >= p->len) return fail(p, p->pos, "unterminated array");
        char c = p->text[p->pos++];
        if (c == ']') break;
        if (c != ',') return fail(p, p->pos - 1, "expected ',' or ']' in array");
    }
    return close_container(p, v, base);
}

static int parse_object(parser *p, lr__json *v, int depth) {
    size_t base = p->n_stack;
    v->type = LR_JSON_OBJECT;
    p->pos++; /* { */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return close_container(p, v, base);
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != '"')
            return fail(p, p->pos, "expected a string key in object");
        size_t key_at = p->pos;
        const char *key;
        size_t key_len;
        int rc = parse_string(p, &key, &key_len);
        if (rc) return rc;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != ':')
            return fail(p, p->pos, "expected ':' after object key");
        p->pos++;
        lr__json item;
        if ((rc = parse_value(p, &item, depth + 1))) return rc;
        item.key = key;
        item.key_len = key_len;
        item.key_offset = key_at;
        if ((rc = push(p, &item))) return rc;
        skip_ws(p);
        if (p->pos >= p->len) return fail(p, p->pos, "unterminated object");
        char c = p->text[p->pos++];
        if (c == '}') break;
        if (c != ',') return fail(p, p->pos - 1, "expected ',' or '}' in object");
    }
    return close_container(p, v, base);
}

static int parse_value(parser *p, lr__json *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, p->pos, "unexpected end of input");
    if (depth > LR_JSON_MAX_DEPTH) return fail(p, p->pos, "nesting too deep");
    v->offset = p->pos;
    char c = p->text[p->pos];
    switch (c) {
    case '{': return parse_object(p, v, depth);
    case '[': return parse_array(p, v, depth);
    case '"':
        v->type = LR_JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't': return literal(p, "true", LR_JSON_TRUE, v);
    case 'f': return literal(p, "false", LR_JSON_FALSE, v);
    case 'n': return literal(p, "null", LR_JSON_NULL, v);
    default:
        if (c == '-' || is_digit(c)) return parse_number(p, v);
        return fail(p, p->pos, "unexpected character");
    }
}

lr__json_doc *lr__json_parse(const char *text, size_t len, unsigned flags, lr_error *err) {
    if (!text && len) {
        lr__err(err, LR_EINVAL, "JSON: NULL text");
        return NULL;
    }
    lr__json_doc *doc = lr__calloc(1, sizeof *doc);
    if (!doc) {
        lr__err(err, LR_ENOMEM, "JSON: out of memory");
        return NULL;
    }
    parser p = {.text = text, .len = len, .flags = flags, .doc = doc, .err = err};
    int rc = parse_value(&p, &doc->root, 1);
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos != p.len) rc = fail(&p, p.pos, "trailing characters after the value");
    }
    lr__free(p.stack);
    if (rc) {
        lr__json_free(doc);
        return NULL;
    }
    return doc;
}

void lr__json_free(lr__json_doc *doc) {
    if (!doc) return;
    arena_chunk *c = doc->chunks;
    while (c) {
        arena_chunk *next = c->next;
        lr__free(c);
        c = next;
    }
    lr__free(doc);
}

const lr__json *lr__json_root(const lr__json_doc *doc) { return doc ? &doc->root : NULL; }

/* ---------------------------------------------------------------- lookup */

const lr__json *lr__json_getn(const lr__json *obj, const char *key, size_t key_len) {
    if (!obj || obj->type != LR_JSON_OBJECT) return NULL;
    for (size_t i = obj->n; i-- > 0;) {
        const lr__json *m = &obj->items[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) return m;
    }
    return NULL;
}

const lr__json *lr__json_get(const lr__json *obj, const char *key) {
    return lr__json_getn(obj, key, strlen(key));
}

const lr__json *lr__json_at(const lr__json *arr, size_t i) {
    if (!arr || arr->type != LR_JSON_ARRAY || i >= arr->n) return NULL;
    return &arr->items[i];
}

bool lr__json_get_int(const lr__json *obj, const char *key, int64_t *out) {
    const lr__json *v = lr__json_get(obj, key);
    if (!v || v->type != LR_JSON_NUMBER || !v->is_int) return false;
    *out = v->i64;
    return true;
}

bool lr__json_get_num(const lr__json *obj, const char *key, double *out) {
    const lr__json *v = lr__json_get(obj, key);
    if (!v || v->type != LR_JSON_NUMBER) return false;
    *out = v->num;
    return true;
}

bool lr__json_get_bool(const lr__json *obj, const char *key, bool *out) {
    const lr__json *v = lr__json_get(obj, key);
    if (!v || (v->type != LR_JSON_TRUE && v->type != LR_JSON_FALSE)) return false;
    *out = v->type == LR_JSON_TRUE;
    return true;
}

bool lr__json_get_str(const lr__json *obj, const char *key, const char **out, size_t *len) {
    const lr__json *v = lr__json_get(obj, key);
    if (!v || v->type != LR_JSON_STRING) return false;
    *out = v->str;
    if (len) *len = v->len;
    return true;
}

const char *lr__json_type_name(lr__json_type t) {
    switch (t) {
    case LR_JSON_NULL: return "null";
    case LR_JSON_FALSE:
    case LR_JSON_TRUE: return "boolean";
    case LR_JSON_NUMBER: return "number";
    case LR_JSON_STRING: return "string";
    case LR_JSON_ARRAY: return "array";
    case LR_JSON_OBJECT: return "object";
    }
    return "?";
}
