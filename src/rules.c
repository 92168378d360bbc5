/*
 * rules.c — the per-line work of the preprocess + weak-label stage:
 * UTF-8 repair, level extraction, masks and the weak label (docs/rules.md).
 *
 * Design
 *  - One line goes through: strip one trailing '\r'; repair UTF-8 exactly
 *    like Python's bytes.decode('utf-8', 'replace') (lr__utf8_repair,
 *    utf8.c: one U+FFFD per maximal invalid subpart); find the level in that
 *    (unmasked) line; apply the masks in order, each to the previous result;
 *    compute the label on the masked text.
 *  - The six built-in masks are hand-written scanners that reproduce Python
 *    `re.sub` with re.ASCII exactly. They work on UTF-8 bytes: every byte of
 *    a non-ASCII character is >= 0x80, which is neither a digit nor a word
 *    character in ASCII mode, so byte positions behave like the characters
 *    Python sees. Each scanner's comment explains why its greedy scan gives
 *    the same match as the backtracking regex.
 *  - re.sub finds matches in the pass's input string and looks behind into
 *    that string (for \b), never into replacements; each pass therefore
 *    reads one buffer and writes another, and the buffers swap.
 *  - User masks and level aliases are PCRE2 patterns compiled in UTF mode
 *    (without UCP, so \d \w \b stay ASCII like the built-in patterns); the text
 *    is valid UTF-8 by then, so matching skips PCRE2's UTF check. Every
 *    match runs under the limits of rules.h (per-prep match context and JIT
 *    stack); a match error is never "no match": a mask then covers the rest
 *    of the text, an alias is skipped, and both are counted.
 *  - Keywords are found in one pass over the raw text, probing every
 *    (shortest keyword - 1) bytes: a 64 Ki-bit table of byte pairs (all ASCII
 *    cases) rejects most probes with one bit test; hits are verified
 *    lower-casing on the fly. The level words are found the same way,
 *    skipping windows whose probe byte is in no level word.
 *  - An lr_prep is per-thread scratch: two text buffers, the PCRE2 match
 *    data and a stamp per keyword (so "each keyword counts once" needs no
 *    clearing between lines).
 */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

/* ------------------------------------------------------------ characters */

/* Character classes of the built-in patterns in ASCII mode, one byte each:
 * DIG \d, WRD \w (and \b), HEX [0-9a-f], PTH [a-zA-Z0-9._-], NAM the
 * letters of pid|PID|tid|TID. Bytes >= 0x80 are in no class. */
enum { DIG = 1, WRD = 2, HEX = 4, PTH = 8, NAM = 16 };
static const uint8_t cls[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x00 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  8,  8,  0,  /* 0x20 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  0,  0,  0,  0,  0,  0,  /* 0x30 */
     0, 10, 10, 10, 26, 10, 10, 10, 10, 26, 10, 10, 10, 10, 10, 10,  /* 0x40 */
    26, 10, 10, 10, 26, 10, 10, 10, 10, 10, 10,  0,  0,  0,  0, 10,  /* 0x50 */
     0, 14, 14, 14, 30, 14, 14, 10, 10, 26, 10, 10, 10, 10, 10, 10,  /* 0x60 */
    26, 10, 10, 10, 26, 10, 10, 10, 10, 10, 10,  0,  0,  0,  0,  0,  /* 0x70 */
    /* 0x80-0xff: 0 */
};

static inline int is_digit(unsigned char c) { return cls[c] & DIG; }
static inline int is_word(unsigned char c) { return cls[c] & WRD; }
static inline int is_hexl(unsigned char c) { return cls[c] & HEX; }
static inline unsigned char lower(unsigned char c) {
    return (unsigned)(c - 'A') < 26 ? (unsigned char)(c + 32) : c;
}

/* ------------------------------------------------------------ mask scanners
 *
 * Each finder looks for the leftmost match starting at or after `from` in
 * s[0..n) and returns 1 with [*ms, *me) or 0. Positions before `from` are
 * only looked at by \b, as in re.sub.
 */

typedef int (*finder_fn)(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me);

/* 1 timestamp \d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]?\d*Z?
 * No anchors; everything after the seconds is optional and greedy and
 * nothing follows it, so the regex never backtracks into it: the match is
 * the fixed 19-byte prefix, then one '.' or ',' if present, then all digits,
 * then one 'Z' if present. The prefix has its first ':' at offset 13, so
 * walking the colons in order visits every candidate start in order. */
static int find_timestamp(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    size_t c = from + 13;
    while (c + 6 <= n) {
        const unsigned char *colon = memchr(s + c, ':', n - c - 5);
        if (!colon) return 0;
        c = (size_t)(colon - s);
        const unsigned char *t = s + c - 13;
        if (is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) && (t[4] == '-' || t[4] == '/') &&
            is_digit(t[5]) && is_digit(t[6]) && (t[7] == '-' || t[7] == '/') && is_digit(t[8]) && is_digit(t[9]) &&
            (t[10] == 'T' || t[10] == ' ') && is_digit(t[11]) && is_digit(t[12]) && is_digit(t[14]) &&
            is_digit(t[15]) && t[16] == ':' && is_digit(t[17]) && is_digit(t[18])) {
            size_t e = c + 6;
            if (e < n && (s[e] == '.' || s[e] == ',')) e++;
            while (e < n && is_digit(s[e])) e++;
            if (e < n && s[e] == 'Z') e++;
            *ms = c - 13;
            *me = e;
            return 1;
        }
        c++;
    }
    return 0;
}

/* 2 uuid [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
 * Fixed length, no anchors: a match at p has a '-' at p+8, so walking the
 * dashes in order visits every candidate in order. */
static int find_uuid(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    if (n < 36 || from > n - 36) return 0;
    size_t d = from + 8;
    while (d + 28 <= n) {
        const unsigned char *dash = memchr(s + d, '-', n - 28 - d + 1);
        if (!dash) return 0;
        d = (size_t)(dash - s);
        const unsigned char *t = s + d - 8;
        int ok = 1;
        for (int k = 0; k < 36 && ok; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23) ok = t[k] == '-';
            else ok = is_hexl(t[k]);
        }
        if (ok) {
            *ms = d - 8;
            *me = d + 28;
            return 1;
        }
        d++;
    }
    return 0;
}

/* 3 ip \b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b
 * A start needs \b before a digit: the previous byte is not a word byte, so
 * the first group is a whole digit run of 1-3 followed by '.'; walking the
 * dots in order visits every candidate start in order (a run that begins
 * before `from` cannot start a match: a digit precedes every position of it
 * from `from` on). Each of the next two groups must be the whole digit run
 * (1-3 long) because a literal '.' follows; the last group must be the whole
 * run too, because \b after a digit needs a non-word byte and backtracking
 * only leaves a digit next. */
static int find_ip(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    size_t d = from;
    while (d < n) {
        const unsigned char *dot = memchr(s + d, '.', n - d);
        if (!dot) return 0;
        d = (size_t)(dot - s);
        size_t p = d;
        while (p > 0 && is_digit(s[p - 1]) && d - p < 3) p--;
        if (p < d && p >= from && (p == 0 || !is_word(s[p - 1]))) {
            size_t q = d + 1;
            int ok = 1;
            for (int g = 1; g < 4 && ok; g++) {
                size_t run = 0;
                while (q + run < n && is_digit(s[q + run])) run++;
                if (run < 1 || run > 3) {
                    ok = 0;
                } else if (g < 3) {
                    if (q + run < n && s[q + run] == '.') q += run + 1;
                    else ok = 0;
                } else {
                    q += run;
                    if (q < n && is_word(s[q])) ok = 0;
                }
            }
            if (ok) {
                *ms = p;
                *me = q;
                return 1;
            }
        }
        d++;
    }
    return 0;
}

/* 4 long_hex \b[0-9a-f]{12,}\b
 * A match is a whole maximal hex run of >= 12 bytes with a non-word byte (or
 * the edge) on both sides: \b before it rules out starting inside a run,
 * and backtracking at the end only leaves a hex byte (a word byte) next.
 * Such a run covers position p+11 of any window [p, p+12) it starts in, so
 * a window whose byte p+11 is not hex is skipped whole. A run that began
 * before `from` has a word byte before every position from `from` on. */
static int find_long_hex(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    size_t p = from;
    while (p + 12 <= n) {
        if (!is_hexl(s[p + 11])) {
            p += 12;
            continue;
        }
        size_t a = p + 11, b = p + 12;
        while (a > 0 && is_hexl(s[a - 1])) a--;
        while (b < n && is_hexl(s[b])) b++;
        if (a >= from && b - a >= 12 && (a == 0 || !is_word(s[a - 1])) && (b == n || !is_word(s[b]))) {
            *ms = a;
            *me = b;
            return 1;
        }
        p = b;
    }
    return 0;
}

/* 5 pid \b(?:pid|PID|tid|TID)[=: ]?\d+\b|\[\d+\]
 * First alternative: at a word start, one of the four names, one optional
 * separator, the whole digit run, then a non-word byte (backtracking the
 * digits only leaves a digit next; dropping the separator leaves a
 * non-digit for \d+). Second: '[', digits, ']'. They begin with different
 * bytes, so at most one can match at a position. */
static int pid_name(const unsigned char *t) {
    return ((t[0] == 'p' || t[0] == 't') && t[1] == 'i' && t[2] == 'd') ||
           ((t[0] == 'P' || t[0] == 'T') && t[1] == 'I' && t[2] == 'D');
}
/* The first alternative at `b` (a candidate start of a name). */
static int pid_at(const unsigned char *s, size_t n, size_t b, size_t *me) {
    if (b + 3 >= n || !pid_name(s + b) || (b > 0 && is_word(s[b - 1]))) return 0;
    size_t q = b + 3;
    if (q < n && (s[q] == '=' || s[q] == ':' || s[q] == ' ')) q++;
    size_t d = q;
    while (d < n && is_digit(s[d])) d++;
    if (d == q || (d < n && is_word(s[d]))) return 0;
    *me = d;
    return 1;
}

/* Starts of the first alternative are found by probing every third byte:
 * a 3-byte name starting in [q-2, q] covers byte q, which must then be one
 * of its letters (class NAM), and that letter tells where the name starts.
 * The second alternative's '[' comes from memchr; the two kinds of
 * candidates are merged in order of their start. */
static int find_pid(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    size_t p = from;
    while (p < n) {
        const unsigned char *br = memchr(s + p, '[', n - p);
        size_t lim = br ? (size_t)(br - s) : n; /* names starting in [p, lim) come first */
        for (size_t q = p + 2; q < lim + 2 && q < n; q += 3) {
            if (!(cls[s[q]] & NAM)) continue;
            /* each letter has one place in the names: p t P T first, i I
             * second, d D third, so the probe names one candidate start */
            unsigned char c = s[q] | 32;
            size_t b = q - (c == 'i' ? 1 : c == 'd' ? 2 : 0);
            if (b >= p && b < lim && pid_at(s, n, b, me)) {
                *ms = b;
                return 1;
            }
        }
        if (!br) return 0;
        size_t q = lim + 1;
        while (q < n && is_digit(s[q])) q++;
        if (q > lim + 1 && q < n && s[q] == ']') {
            *ms = lim;
            *me = q + 1;
            return 1;
        }
        p = lim + 1;
    }
    return 0;
}

/* 6 path (?:/[a-zA-Z0-9._-]+){3,}
 * Each segment's greedy run stops at a byte outside the class; shortening a
 * run leaves a class byte next, never '/', so only whole segments count:
 * a match is a chain of >= 3 whole segments. A chain of fewer segments fails
 * at every '/' inside it too (they start shorter chains), so the scan
 * resumes after it. */
static inline int is_path(unsigned char c) { return cls[c] & PTH; }
static int find_path(const unsigned char *s, size_t n, size_t from, size_t *ms, size_t *me) {
    size_t p = from;
    while (p < n) {
        const unsigned char *slash = memchr(s + p, '/', n - p);
        if (!slash) return 0;
        p = (size_t)(slash - s);
        size_t q = p;
        int segs = 0;
        while (q + 1 < n && s[q] == '/' && is_path(s[q + 1])) {
            q++;
            while (q < n && is_path(s[q])) q++;
            segs++;
        }
        if (segs >= 3) {
            *ms = p;
            *me = q;
            return 1;
        }
        p = segs ? q : p + 1;
    }
    return 0;
}

static const struct {
    const char *name;
    const char *replace;
    finder_fn find;
} builtins[LR__MASK_N_BUILTIN] = {
    {"timestamp", "<TIME>", find_timestamp}, {"uuid", "<ID>", find_uuid},
    {"ip", "<IP>", find_ip},                 {"long_hex", "<ID>", find_long_hex},
    {"pid", "<PID>", find_pid},              {"path", "<PATH>", find_path},
};

const char *lr__mask_builtin_name(int which) {
    return which >= 0 && which < LR__MASK_N_BUILTIN ? builtins[which].name : NULL;
}
const char *lr__mask_builtin_replace(int which) {
    return which >= 0 && which < LR__MASK_N_BUILTIN ? builtins[which].replace : NULL;
}

long lr__mask_builtin(int which, const char *str, size_t n, const char *replace, size_t replace_len,
                      lr__buf *out) {
    const unsigned char *s = (const unsigned char *)str;
    finder_fn find = builtins[which].find;
    size_t pos = 0, ms, me;
    long count = 0;
    if (!find(s, n, 0, &ms, &me)) return 0;
    do {
        if (lr__buf_put(out, str + pos, ms - pos) || lr__buf_put(out, replace, replace_len))
            return LR_ENOMEM;
        pos = me;
        count++;
    } while (find(s, n, pos, &ms, &me));
    if (lr__buf_put(out, str + pos, n - pos)) return LR_ENOMEM;
    return count;
}

/* ------------------------------------------------------------ rules object */

void lr_rules_free(lr_rules *r) {
    if (!r) return;
    lr__free(r->yaml);
    lr__free(r->source);
    for (size_t i = 0; i < r->n_levels; i++) lr__free(r->levels[i].name);
    lr__free(r->levels);
    for (size_t i = 0; i < r->n_words; i++) lr__free(r->words[i].word);
    lr__free(r->words);
    for (size_t i = 0; i < r->n_aliases; i++) {
        lr__alias *a = &r->aliases[i];
        lr__free(a->name);
        lr__free(a->pattern);
        pcre2_code_free(a->re);
        for (size_t k = 0; k < a->n_keys; k++) lr__free(a->keys[k].key);
        lr__free(a->keys);
    }
    lr__free(r->aliases);
    for (size_t i = 0; i < r->n_keywords; i++) lr__free(r->keywords[i].word);
    lr__free(r->keywords);
    lr__free(r->kw_pair);
    lr__free(r->kw_by_first);
    lr__free(r->kw_hash);
    for (size_t i = 0; i < r->n_masks; i++) {
        lr__free(r->masks[i].name);
        lr__free(r->masks[i].pattern);
        pcre2_code_free(r->masks[i].re);
        lr__free(r->masks[i].replace);
    }
    lr__free(r->masks);
    lr__free(r);
}

const char *lr_rules_yaml(const lr_rules *rules, size_t *len) {
    if (len) *len = rules ? rules->yaml_len : 0;
    return rules ? rules->yaml : NULL;
}

static inline size_t kw_hash_of(uint32_t v, unsigned bits) { return (size_t)((v * 2654435761u) >> (32 - bits)); }

int lr__rules_finish(lr_rules *r, lr_error *err) {
    r->word_min = SIZE_MAX;
    r->word_max = 0;
    memset(r->word_first, 0, sizeof r->word_first);
    memset(r->word_chars, 0, sizeof r->word_chars);
    for (size_t i = 0; i < r->n_words; i++) {
        unsigned char c = (unsigned char)r->words[i].word[0];
        r->word_first[c >> 3] |= (uint8_t)(1u << (c & 7));
        for (size_t k = 0; k < r->words[i].len; k++) {
            unsigned char w = (unsigned char)r->words[i].word[k];
            r->word_chars[w >> 3] |= (uint8_t)(1u << (w & 7));
        }
        r->word_min = LR_MIN(r->word_min, r->words[i].len);
        r->word_max = LR_MAX(r->word_max, r->words[i].len);
    }
    lr__free(r->kw_pair);
    lr__free(r->kw_by_first);
    r->kw_pair = lr__calloc(65536, 1);
    r->kw_by_first = lr__alloc_array(r->n_keywords ? r->n_keywords : 1, sizeof(uint32_t));
    if (!r->kw_pair || !r->kw_by_first) return lr__err(err, LR_ENOMEM, "out of memory building the keyword index");
    size_t min_len = SIZE_MAX;
    for (size_t i = 0; i < r->n_keywords; i++) min_len = LR_MIN(min_len, r->keywords[i].len);
    r->kw_stride = min_len >= 2 && min_len != SIZE_MAX ? LR_MIN(min_len - 1, 8) : 1;
    uint32_t count[256] = {0};
    for (size_t i = 0; i < r->n_keywords; i++) {
        const unsigned char *w = (const unsigned char *)r->keywords[i].word;
        for (size_t k = 0; k < r->kw_stride && k < r->keywords[i].len; k++) {
            /* the index is on raw bytes: mark every case variant of the pair */
            uint8_t bit = (uint8_t)(1u << k);
            unsigned a0 = w[k], a1 = (unsigned)(w[k] - 'a') < 26 ? w[k] - 32u : w[k];
            for (int ca = 0; ca < 2; ca++) {
                unsigned a = ca ? a1 : a0;
                if (k + 1 >= r->keywords[i].len) { /* the last byte of a short keyword */
                    for (unsigned b = 0; b < 256; b++) r->kw_pair[a * 256u + b] |= bit;
                    continue;
                }
                unsigned b0 = w[k + 1], b1 = (unsigned)(w[k + 1] - 'a') < 26 ? w[k + 1] - 32u : w[k + 1];
                r->kw_pair[a * 256u + b0] |= bit;
                r->kw_pair[a * 256u + b1] |= bit;
            }
        }
    }
    memset(r->kw_pair_any, 0, sizeof r->kw_pair_any);
    for (unsigned idx = 0; idx < 65536; idx++)
        if (r->kw_pair[idx]) r->kw_pair_any[idx >> 3] |= (uint8_t)(1u << (idx & 7));
    /* short keywords (< 4 bytes) by first byte */
    memset(count, 0, sizeof count);
    r->n_short_keywords = 0;
    for (size_t i = 0; i < r->n_keywords; i++)
        if (r->keywords[i].len < 4) count[(unsigned char)r->keywords[i].word[0]]++, r->n_short_keywords++;
    r->kw_first_off[0] = 0;
    for (int c = 0; c < 256; c++) r->kw_first_off[c + 1] = r->kw_first_off[c] + count[c];
    uint32_t fill[256];
    memcpy(fill, r->kw_first_off, sizeof fill);
    for (size_t i = 0; i < r->n_keywords; i++)
        if (r->keywords[i].len < 4) r->kw_by_first[fill[(unsigned char)r->keywords[i].word[0]]++] = (uint32_t)i;
    /* long keywords by their folded 4-byte prefix, load factor <= 1/4 */
    lr__free(r->kw_hash);
    r->kw_hash_bits = 6;
    while (((size_t)1 << r->kw_hash_bits) < 4 * r->n_keywords) r->kw_hash_bits++;
    size_t slots = (size_t)1 << r->kw_hash_bits;
    r->kw_hash = lr__calloc(slots, sizeof *r->kw_hash);
    if (!r->kw_hash) return lr__err(err, LR_ENOMEM, "out of memory building the keyword index");
    for (size_t i = 0; i < r->n_keywords; i++) {
        if (r->keywords[i].len < 4) continue;
        uint32_t v;
        memcpy(&v, r->keywords[i].word, 4);
        v |= 0x20202020u;
        size_t h = kw_hash_of(v, r->kw_hash_bits);
        while (r->kw_hash[h].id1) h = (h + 1) & (slots - 1);
        r->kw_hash[h].prefix = v;
        r->kw_hash[h].id1 = (uint32_t)i + 1;
    }
    r->max_captures = 0;
    for (size_t i = 0; i < r->n_aliases; i++) {
        uint32_t c = 0;
        pcre2_pattern_info(r->aliases[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
        r->max_captures = LR_MAX(r->max_captures, c);
    }
    for (size_t i = 0; i < r->n_masks; i++) {
        uint32_t c = 0;
        if (r->masks[i].re) pcre2_pattern_info(r->masks[i].re, PCRE2_INFO_CAPTURECOUNT, &c);
        r->max_captures = LR_MAX(r->max_captures, c);
    }
    return LR_OK;
}

/* ------------------------------------------------------------ per line */

struct lr_prep {
    const lr_rules *rules;
    lr__buf a, b;              /* ping-pong text buffers */
    pcre2_match_data *md;
    pcre2_match_context *mctx; /* the LR__REGEX_* limits; NULL without regexes */
    pcre2_jit_stack *jit;      /* this thread's JIT stack (mctx uses it) */
    uint64_t regex_limits;     /* regex errors since creation */
    uint32_t *kw_stamp;        /* per keyword: the line stamp it last counted in */
    uint32_t stamp;
    size_t zeroed_a, zeroed_b; /* capacity of a / b whose spare bytes are zeroed */
};

/* PCRE2's JIT code may read a little past the subject's end (harmless: the
 * bytes are ours and the results are masked), which valgrind reports as a
 * use of uninitialised memory. Zeroing a buffer's spare capacity once per
 * growth keeps valgrind runs clean at no measurable cost. */
static void settle(lr_prep *p, lr__buf *b) {
    size_t *zeroed = b == &p->a ? &p->zeroed_a : &p->zeroed_b;
    if (b->data && b->cap > *zeroed) {
        memset(b->data + b->len, 0, b->cap - b->len);
        *zeroed = b->cap;
    }
}

lr_prep *lr_prep_new(const lr_rules *rules, lr_error *err) {
    if (!rules) {
        lr__err(err, LR_EINVAL, "lr_prep_new: no rules");
        return NULL;
    }
    lr_prep *p = lr__calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->rules = rules;
    lr__buf_init(&p->a);
    lr__buf_init(&p->b);
    p->kw_stamp = lr__calloc(rules->n_keywords ? rules->n_keywords : 1, sizeof(uint32_t));
    if (!p->kw_stamp) goto nomem;
    p->md = pcre2_match_data_create(rules->max_captures + 1, NULL);
    if (!p->md) goto nomem;
    int has_regex = rules->n_aliases > 0;
    for (size_t i = 0; i < rules->n_masks; i++) has_regex |= rules->masks[i].re != NULL;
    if (has_regex) {
        if (!(p->mctx = pcre2_match_context_create(NULL))) goto nomem;
        pcre2_set_match_limit(p->mctx, LR__REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(p->mctx, LR__REGEX_DEPTH_LIMIT);
        pcre2_set_heap_limit(p->mctx, LR__REGEX_HEAP_LIMIT_KIB);
        /* NULL when this PCRE2 has no JIT: the interpreter's limits apply */
        p->jit = pcre2_jit_stack_create(32u << 10, LR__REGEX_JIT_STACK, NULL);
        if (p->jit) pcre2_jit_stack_assign(p->mctx, NULL, p->jit);
    }
    return p;
nomem:
    lr_prep_free(p);
    lr__err(err, LR_ENOMEM, "out of memory creating the preprocessor");
    return NULL;
}

void lr_prep_free(lr_prep *p) {
    if (!p) return;
    lr__buf_free(&p->a);
    lr__buf_free(&p->b);
    pcre2_match_data_free(p->md);
    pcre2_match_context_free(p->mctx);
    pcre2_jit_stack_free(p->jit);
    lr__free(p->kw_stamp);
    lr__free(p);
}

uint64_t lr_prep_regex_limits(const lr_prep *p) { return p ? p->regex_limits : 0; }

/* The level from the alias patterns (in order) or, failing those, the first
 * whole word of the line that is a level word. Returns a level index or -1.
 * An alias whose match fails with an error (a limit) cannot say whether it
 * matched: it is counted in *errors and the next alias is tried. */
static int find_level(lr_prep *p, const char *line, size_t n, int *errors) {
    const lr_rules *r = p->rules;
    for (size_t i = 0; i < r->n_aliases; i++) {
        const lr__alias *a = &r->aliases[i];
        size_t start = 0;
        while (start <= n) {
            int rc = pcre2_match(a->re, (PCRE2_SPTR)line, n, start, PCRE2_NO_UTF_CHECK, p->md, p->mctx);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                ++*errors;
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
            if (a->fixed_level >= 0) return a->fixed_level;
            if (rc >= 2 && ov[2] != PCRE2_UNSET) {
                const char *cap = line + ov[2];
                size_t cap_len = ov[3] - ov[2];
                char num[32];
                if (a->modulo > 0) {
                    unsigned long long v = 0;
                    int digits = cap_len > 0 && cap_len < 19;
                    for (size_t k = 0; k < cap_len && digits; k++) {
                        if (!is_digit((unsigned char)cap[k])) digits = 0;
                        else v = v * 10 + (unsigned)(cap[k] - '0');
                    }
                    if (digits) {
                        cap_len = (size_t)snprintf(num, sizeof num, "%llu", v % (unsigned long long)a->modulo);
                        cap = num;
                    } else {
                        cap_len = SIZE_MAX; /* not a number: no key matches */
                    }
                }
                for (size_t k = 0; k < a->n_keys && cap_len != SIZE_MAX; k++) {
                    const char *key = a->keys[k].key;
                    size_t j = 0;
                    while (j < cap_len && key[j] && lower((unsigned char)key[j]) == lower((unsigned char)cap[j])) j++;
                    if (j == cap_len && !key[j]) return a->keys[k].level;
                }
            }
            /* this match names no known level: look further along the line */
            size_t next = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
            while (next < n && ((unsigned char)line[next] & 0xC0) == 0x80) next++;
            start = next;
        }
    }
    /* The level is the first whole word that is a level word. A level word
     * of length >= min covers byte i+min-1 if it starts in [i, i+min); when
     * that byte is in no level word the window is skipped whole, else the
     * word around it is checked and the scan goes on after that word. */
    const unsigned char *s = (const unsigned char *)line;
    size_t min = r->word_min, i = 0;
    if (!r->n_words) return -1;
    while (i + min <= n) {
        size_t probe = i + min - 1;
        if (!(r->word_chars[s[probe] >> 3] & (1u << (s[probe] & 7)))) {
            i += min;
            continue;
        }
        size_t a = probe, b = probe + 1;
        while (a > 0 && is_word(s[a - 1])) a--;
        while (b < n && is_word(s[b])) b++;
        size_t len = b - a;
        if (len >= min && len <= r->word_max && (r->word_first[s[a] >> 3] & (1u << (s[a] & 7)))) {
            for (size_t k = 0; k < r->n_words; k++)
                if (r->words[k].len == len && memcmp(r->words[k].word, s + a, len) == 0) return r->words[k].level;
        }
        i = b;
    }
    return -1;
}

/* Sum of the bonuses of the distinct keywords that occur in the ASCII
 * lower-cased text. */
static int keyword_bonus(lr_prep *p, const char *text, size_t n) {
    const lr_rules *r = p->rules;
    if (!r->n_keywords) return 0;
    const unsigned char *s = (const unsigned char *)text;
    if (++p->stamp == 0) { /* wrapped: forget old stamps */
        memset(p->kw_stamp, 0, r->n_keywords * sizeof(uint32_t));
        p->stamp = 1;
    }
    int bonus = 0;
    const uint8_t *pair = r->kw_pair;
    size_t stride = r->kw_stride;
    for (size_t i = 0; i < n; i += stride) {
        unsigned idx = s[i] * 256u + (i + 1 < n ? s[i + 1] : 0u);
        if (!(r->kw_pair_any[idx >> 3] & (1u << (idx & 7)))) continue; /* 8 KiB, stays in L1 */
        for (unsigned offsets = pair[idx]; offsets; offsets &= offsets - 1) {
            size_t k = (size_t)__builtin_ctz(offsets);
            if (k > i) break;
            size_t st = i - k;
            if (st + 4 <= n) {
                uint32_t v;
                memcpy(&v, s + st, 4);
                v |= 0x20202020u;
                size_t mask = ((size_t)1 << r->kw_hash_bits) - 1;
                for (size_t h = kw_hash_of(v, r->kw_hash_bits); r->kw_hash[h].id1; h = (h + 1) & mask) {
                    if (r->kw_hash[h].prefix != v) continue;
                    uint32_t id = r->kw_hash[h].id1 - 1;
                    const lr__keyword *kw = &r->keywords[id];
                    if (p->kw_stamp[id] == p->stamp || kw->len > n - st) continue;
                    size_t j = 0;
                    while (j < kw->len && lower(s[st + j]) == (unsigned char)kw->word[j]) j++;
                    if (j == kw->len) {
                        p->kw_stamp[id] = p->stamp;
                        bonus += kw->bonus;
                    }
                }
            }
            if (!r->n_short_keywords) continue;
            unsigned a = lower(s[st]);
            for (uint32_t q = r->kw_first_off[a]; q < r->kw_first_off[a + 1]; q++) {
                uint32_t id = r->kw_by_first[q];
                const lr__keyword *kw = &r->keywords[id];
                if (p->kw_stamp[id] == p->stamp || kw->len > n - st) continue;
                size_t j = 1;
                while (j < kw->len && lower(s[st + j]) == (unsigned char)kw->word[j]) j++;
                if (j == kw->len) {
                    p->kw_stamp[id] = p->stamp;
                    bonus += kw->bonus;
                }
            }
        }
    }
    return bonus;
}

/* One user (PCRE2) mask over src, result appended to dst. Returns the
 * number of replacements or LR_ENOMEM. Patterns never match empty (checked
 * at load), so each match advances. A match that fails with an error (a
 * limit: see rules.h) may have been a secret, so the text from where that
 * search started to the end is replaced by one mask (counted in *errors);
 * nothing the pattern might have matched goes through unmasked. */
static long mask_regex(lr_prep *p, const lr__mask *m, const char *src, size_t n, lr__buf *dst, int *errors) {
    size_t pos = 0;
    long count = 0;
    while (pos < n) {
        int rc = pcre2_match(m->re, (PCRE2_SPTR)src, n, pos, PCRE2_NO_UTF_CHECK, p->md, p->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            ++*errors;
            if (lr__buf_put(dst, m->replace, m->replace_len)) return LR_ENOMEM;
            return count + 1;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
        if (ov[1] <= ov[0]) break; /* cannot happen: minimum length >= 1 */
        if (lr__buf_put(dst, src + pos, ov[0] - pos) || lr__buf_put(dst, m->replace, m->replace_len))
            return LR_ENOMEM;
        pos = ov[1];
        count++;
    }
    if (count && lr__buf_put(dst, src + pos, n - pos)) return LR_ENOMEM;
    return count;
}

int lr_prep_line(lr_prep *p, const char *line, size_t len, lr_line_info *out) {
    const lr_rules *r = p->rules;
    if (len > 0 && line[len - 1] == '\r') len--;
    lr__buf *cur = &p->a, *nxt = &p->b;
    lr__buf_clear(cur);
    if (lr__buf_reserve(cur, len + 1)) return LR_ENOMEM;
    size_t ok = lr__utf8_valid_prefix(line, len);
    if (ok == len) {
        if (lr__buf_put(cur, line, len)) return LR_ENOMEM;
    } else if (lr__buf_put(cur, line, ok) || lr__utf8_repair(cur, line + ok, len - ok)) {
        return LR_ENOMEM;
    }
    if (r->n_aliases) settle(p, cur);
    int errors = 0;
    int level = find_level(p, cur->data ? cur->data : "", cur->len, &errors);
    for (size_t i = 0; i < r->n_masks; i++) {
        const lr__mask *m = &r->masks[i];
        lr__buf_clear(nxt);
        if (lr__buf_reserve(nxt, cur->len + 1)) return LR_ENOMEM;
        if (m->re) settle(p, cur);
        const char *src = cur->data ? cur->data : "";
        long n = m->builtin >= 0 ? lr__mask_builtin(m->builtin, src, cur->len, m->replace, m->replace_len, nxt)
                                 : mask_regex(p, m, src, cur->len, nxt, &errors);
        if (n < 0) return LR_ENOMEM;
        if (n > 0) {
            lr__buf *t = cur;
            cur = nxt;
            nxt = t;
        }
    }
    if (!cur->data && lr__buf_reserve(cur, 1)) return LR_ENOMEM;
    cur->data[cur->len] = '\0';
    int bonus = keyword_bonus(p, cur->data, cur->len);
    if (bonus > r->bonus_cap) bonus = r->bonus_cap;
    int label = (level >= 0 ? r->levels[level].base : r->no_level_base) + bonus;
    out->text = cur->data;
    out->text_len = cur->len;
    out->level = level >= 0 ? r->levels[level].name : NULL;
    out->label = label < 0 ? 0 : label > 10 ? 10 : label;
    out->regex_limits = errors;
    p->regex_limits += (uint64_t)errors;
    return LR_OK;
}
