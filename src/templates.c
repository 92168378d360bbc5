/*
 * templates.c — lr_miner: online log template mining in the manner of Drain
 * (He, Zhu, Zheng, Lyu, "Drain: An Online Log Parsing Approach with Fixed
 * Depth Tree", ICWS 2017), and its state file.
 *
 * A message (masked by the rules first: <TIME> <ID> <IP> <PID> <PATH>) goes
 * through three steps:
 *
 *  1. Abstraction. The first LR_MINER_MAX_BYTES bytes are split on white
 *     space into at most LR_MINER_MAX_TOKENS tokens. Inside a token, every
 *     run of word characters (letters, digits, '_', '-', '.', '+', '@', '#',
 *     '%', '$', '~', '\'') that holds a digit, and every mask tag, becomes
 *     "<*>"; a token that then holds a "<*>" and no letter outside it is a
 *     variable, "<*>" as a whole. So "totalSteps=7163" is the constant
 *     "totalSteps=<*>", "mice.c(1234)]:" is "mice.c(<*>)]:", and "blk_-42",
 *     "10.1.1.1:50010" and "0x1f" are variables. Drain treats tokens with
 *     digits as variables only in its tree; here the same rule decides the
 *     template too, which is what the corrected loghub templates do.
 *  2. The prefix tree. The root's children are token counts; below, one
 *     level per leading token (`depth` of them), a variable going to the
 *     "<*>" child; a node with `max_children` children sends further new
 *     tokens to "<*>". A leaf holds the templates of its path.
 *  3. Similarity. Among the leaf's templates (all of the message's length)
 *     the one whose constant tokens the message equals most, as a share of
 *     those constants, wins (ties: the older template) when the share is at
 *     least `similarity`; the positions where they differ become "<*>".
 *     Drain divides by the token count instead, so a template with many
 *     variables is hard to join; dividing by the constants lets one
 *     threshold serve all 14 loghub systems (docs/templates.md).
 *     Two different plain words never join, while the leaf is small (see
 *     best_in for the bounds that keep every message's work bounded).
 *
 * Lookups hash each token once (64-bit FNV-1a over the abstracted bytes);
 * tree edges live in one open-addressing table keyed by (node, hash), and a
 * template's tokens are compared by hash, then bytes. lr_miner_match does
 * all of this on the stack, so it never allocates and never writes.
 *
 * State file: an .lrm container (src/format.c: versioned header, checksums
 * of header and data, every offset checked) with the parameters as
 * metadata and the templates in one u8 tensor (templates.h says the keys).
 * The blob: "LRTPLST1", then per template, in id order, little-endian
 * u64 count, i64 first seen, i64 last seen, u32 text length, the text.
 * Ids are 1..n in that order. A loaded state is checked whole: ids, counts
 * (at most 2^62), lengths against the blob, texts that tokenize to
 * themselves, no two equal templates, parameters within bounds.
 */
#include "templates.h"

#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "util.h"

#define MAGIC "LRTPLST1"
#define WILD_HASH 0x9e3779b97f4a7c15ULL /* the "<*>" token */
#define MAX_COUNT (UINT64_C(1) << 62)
/* The longest template: a message's 4 KiB abstracted (at most 3 times as
 * long) and generalised (a 1-byte token becomes 3 bytes). */
#define TEMPLATE_MAX (LR_MINER_MAX_BYTES * 3 + LR_MINER_MAX_TOKENS * 3)
#define WORD_RULE_MAX 32  /* templates of a leaf while plain words never join */
#define LEAF_MAX 1024      /* templates of a leaf at most                      */
#define TOMB UINT64_MAX                  /* a removed entry of the exact index */

typedef struct tmpl {
    char *text;        /* tokens joined by ' ', NUL-terminated            */
    size_t len;
    uint32_t ntok;
    uint32_t nconst;   /* tokens that are not "<*>"                       */
    uint32_t *off;     /* ntok offsets into text, and lengths             */
    uint32_t *tlen;
    uint64_t *hash;    /* ntok token hashes (WILD_HASH for "<*>")         */
    uint64_t count;
    int64_t first, last;
} tmpl;

typedef struct node {
    uint32_t n_children;
    uint32_t n_tmpl, cap_tmpl;
    uint32_t *tmpl;    /* indices into templates                          */
} node;

typedef struct edge {
    uint64_t hash;     /* token hash, or the token count for the root    */
    uint32_t parent;   /* node id + 1; 0: empty slot                     */
    uint32_t child;
} edge;

struct lr_miner {
    lr_miner_opts o;
    tmpl *t;
    uint32_t n, cap;
    node *nodes;
    uint32_t n_nodes, cap_nodes;
    edge *edges;
    size_t n_edges, cap_edges; /* cap a power of two                    */
    uint64_t *exact;   /* open-addressing set of template indices + 1 by text hash */
    size_t cap_exact, used_exact, tomb_exact;
};

/* A message after abstraction (on the caller's stack). */
typedef struct msg {
    char text[TEMPLATE_MAX * 3 + 8]; /* a hostile stored template may expand 3 times */
    size_t len;
    uint32_t ntok;
    uint32_t off[LR_MINER_MAX_TOKENS], tlen[LR_MINER_MAX_TOKENS];
    uint64_t hash[LR_MINER_MAX_TOKENS];
} msg;

/* ------------------------------------------------------------ abstraction */

static inline int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_alpha(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline int is_word(unsigned char c) {
    return is_digit(c) || is_alpha(c) || c == '_' || c == '-' || c == '.' || c == '+' || c == '@' ||
           c == '#' || c == '%' || c == '$' || c == '~' || c == '\'' || c >= 0x80;
}

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t tok_hash(const char *s, size_t n) {
    if (n == 3 && s[0] == '<' && s[1] == '*' && s[2] == '>') return WILD_HASH;
    uint64_t h = fnv(s, n);
    return h == WILD_HASH ? h + 1 : h;
}

/* Length of a mask tag "<*>" or "<UPPER_CASE>" at s (0: none). */
static size_t tag_len(const char *s, size_t n) {
    if (n < 3 || s[0] != '<') return 0;
    if (s[1] == '*' && s[2] == '>') return 3;
    size_t i = 1;
    while (i < n && i < 24 && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) i++;
    return (i >= 2 && i < n && s[i] == '>') ? i + 1 : 0;
}

/* s[0..n) is capitals then exactly its `digits` digits. */
static int caps_then_digits(const char *s, size_t n, int digits) {
    for (size_t k = 0; k < n; k++) {
        int d = k >= n - (size_t)digits;
        if (d ? !is_digit((unsigned char)s[k]) : !(s[k] >= 'A' && s[k] <= 'Z')) return 0;
    }
    return 1;
}

static int var_tagged(const char *s, size_t n) { return memchr(s, '<', n) != NULL; }

static int calendar_word(const char *s) {
    static const char names[] = "MonTueWedThuFriSatSunJanFebMarAprMayJunJulAugSepOctNovDec";
    for (size_t k = 0; k + 3 <= sizeof names - 1; k += 3)
        if (memcmp(names + k, s, 3) == 0) return 1;
    return 0;
}

/* Abstract one token s[0..n) into out (room for 3n + 3 bytes); returns
 * the output length. */
static size_t abstract_token(const char *s, size_t n, char *out) {
    size_t o = 0, i = 0;
    int wild = 0, letter = 0, slash = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t t = tag_len(s + i, n - i);
        if (!t && !is_word(c)) {
            slash |= c == '/';
            out[o++] = (char)c;
            i++;
            continue;
        }
        /* a run of word characters and mask tags */
        size_t j = i;
        int var = 0, alpha = 0, dots = 0, upper = 0, nonhex = 0, ndig = 0;
        while (j < n) {
            if ((t = tag_len(s + j, n - j))) {
                var = 1;
                j += t;
            } else if (is_word((unsigned char)s[j])) {
                unsigned char c = (unsigned char)s[j];
                ndig += is_digit(c);
                alpha |= is_alpha(c) || c >= 0x80;
                upper |= (c >= 'A' && c <= 'Z') || c == '_';
                nonhex |= !is_digit(c) && !(c >= 'a' && c <= 'f');
                dots += c == '.' && j > i && j + 1 < n && is_word((unsigned char)s[j + 1]);
                j++;
            } else {
                break;
            }
        }
        size_t rl = j - i;
        if (ndig) var = 1;
        /* kept: a protocol or algorithm name (SOCKS5, MD5: three or more
         * capitals, then one or two digits) */
        if (ndig && ndig <= 2 && rl >= (size_t)ndig + 3 && !var_tagged(s + i, rl) && caps_then_digits(s + i, rl, ndig))
            var = 0;
        /* variables: a host name (a.b.c in lower case, or a.b before
         * ":port"), a long hex number without digits (ffffffff), true and
         * false, a month or day name */
        if ((dots >= 2 && !upper) || (dots == 1 && j + 1 < n && s[j] == ':' && is_digit((unsigned char)s[j + 1])) ||
            (!nonhex && rl >= 8) || (rl == 4 && memcmp(s + i, "true", 4) == 0) ||
            (rl == 5 && memcmp(s + i, "false", 5) == 0) || (rl == 3 && calendar_word(s + i)))
            var = 1;
        if (var) {
            if (!(o >= 3 && memcmp(out + o - 3, "<*>", 3) == 0)) memcpy(out + o, "<*>", 3), o += 3;
            wild = 1;
        } else {
            memcpy(out + o, s + i, j - i);
            o += j - i;
            letter |= alpha;
        }
        i = j;
    }
    /* a token that is only variables and punctuation, a path ("/a/b"), or
     * a word with a variable after a '/' ("HTTP/1.1") is a variable */
    if ((wild && !letter) || (slash && (wild || (n && s[0] == '/')))) {
        memcpy(out, "<*>", 3);
        return 3;
    }
    return o;
}

/* The last token of m is "user" or "User". */
static int after_user(const msg *m) {
    uint32_t k = m->ntok - 1;
    const char *p = m->text + m->off[k];
    return m->tlen[k] == 4 && (memcmp(p, "user", 4) == 0 || memcmp(p, "User", 4) == 0);
}

/* limit: LR_MINER_MAX_BYTES for a message; a template (already abstract,
 * at most 3 times as long) is read whole. */
static void abstract_msg(const char *text, size_t len, size_t limit, msg *m) {
    if (len > limit) { /* cut at a character boundary */
        len = limit;
        while (len && ((unsigned char)text[len] & 0xC0) == 0x80) len--;
    }
    m->len = 0;
    m->ntok = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space((unsigned char)text[i])) i++;
        if (i >= len) break;
        size_t j = i;
        if (m->ntok == LR_MINER_MAX_TOKENS - 1) {
            j = len; /* the rest is the last token */
            while (j > i && is_space((unsigned char)text[j - 1])) j--;
        } else {
            while (j < len && !is_space((unsigned char)text[j])) j++;
        }
        if (m->ntok) m->text[m->len++] = ' ';
        size_t o = abstract_token(text + i, j - i, m->text + m->len);
        if (m->ntok && after_user(m)) { /* an account name is a variable */
            memcpy(m->text + m->len, "<*>", 3);
            o = 3;
        }
        m->off[m->ntok] = (uint32_t)m->len;
        m->tlen[m->ntok] = (uint32_t)o;
        m->hash[m->ntok] = tok_hash(m->text + m->len, o);
        m->len += o;
        m->ntok++;
        i = j;
    }
    m->text[m->len] = '\0';
}

size_t lr__miner_abstract(const char *text, size_t len, char *out, size_t cap) {
    msg *m = lr__malloc(sizeof *m);
    if (!m) return 0;
    abstract_msg(text, len, LR_MINER_MAX_BYTES, m);
    size_t n = m->len;
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(out, m->text, k);
        out[k] = '\0';
    }
    lr__free(m);
    return n;
}

/* ------------------------------------------------------------------- tree */

static inline size_t edge_slot(uint32_t parent, uint64_t h, size_t mask) {
    uint64_t x = (h ^ ((uint64_t)parent * 0xff51afd7ed558ccdULL));
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 29;
    return (size_t)x & mask;
}

/* The child of `parent` under `h`, or UINT32_MAX. */
static uint32_t edge_find(const lr_miner *m, uint32_t parent, uint64_t h) {
    if (!m->cap_edges) return UINT32_MAX;
    size_t mask = m->cap_edges - 1;
    for (size_t s = edge_slot(parent, h, mask);; s = (s + 1) & mask) {
        const edge *e = &m->edges[s];
        if (!e->parent) return UINT32_MAX;
        if (e->parent == parent + 1 && e->hash == h) return e->child;
    }
}

static int edge_grow(lr_miner *m) {
    size_t cap = m->cap_edges ? m->cap_edges * 2 : 256;
    edge *ne = lr__calloc(cap, sizeof *ne);
    if (!ne) return LR_ENOMEM;
    for (size_t i = 0; i < m->cap_edges; i++) {
        edge e = m->edges[i];
        if (!e.parent) continue;
        size_t s = edge_slot(e.parent - 1, e.hash, cap - 1);
        while (ne[s].parent) s = (s + 1) & (cap - 1);
        ne[s] = e;
    }
    lr__free(m->edges);
    m->edges = ne;
    m->cap_edges = cap;
    return LR_OK;
}

static int node_new(lr_miner *m, uint32_t *id) {
    if (m->n_nodes == m->cap_nodes) {
        uint32_t cap = m->cap_nodes ? m->cap_nodes * 2 : 64;
        node *nn = lr__realloc(m->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return LR_ENOMEM;
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    memset(&m->nodes[m->n_nodes], 0, sizeof(node));
    *id = m->n_nodes++;
    return LR_OK;
}

/* The child of parent under h, made when missing. */
static int edge_get(lr_miner *m, uint32_t parent, uint64_t h, uint32_t *child) {
    uint32_t c = edge_find(m, parent, h);
    if (c != UINT32_MAX) {
        *child = c;
        return LR_OK;
    }
    if ((m->n_edges + 1) * 4 > m->cap_edges * 3 && edge_grow(m)) return LR_ENOMEM;
    if (node_new(m, &c)) return LR_ENOMEM;
    size_t mask = m->cap_edges - 1, s = edge_slot(parent, h, mask);
    while (m->edges[s].parent) s = (s + 1) & mask;
    m->edges[s] = (edge){h, parent + 1, c};
    m->n_edges++;
    m->nodes[parent].n_children++;
    *child = c;
    return LR_OK;
}

/* The leaf of a message: its path, a token missing there taking the "<*>"
 * child. 1 when there is none. */
static int leaf_find(const lr_miner *m, const msg *g, uint32_t *leaf) {
    uint32_t cur = edge_find(m, 0, (uint64_t)g->ntok);
    if (cur == UINT32_MAX) return 1;
    uint32_t d = (uint32_t)m->o.depth < g->ntok ? (uint32_t)m->o.depth : g->ntok;
    for (uint32_t i = 0; i < d; i++) {
        uint32_t c = edge_find(m, cur, g->hash[i]);
        if (c == UINT32_MAX && (c = edge_find(m, cur, WILD_HASH)) == UINT32_MAX) return 1;
        cur = c;
    }
    *leaf = cur;
    return 0;
}

/* The leaf of a message, made as needed (learning): a new token gets its
 * own child while the node has room, else the "<*>" child. */
static int leaf_make(lr_miner *m, const msg *g, uint32_t *leaf) {
    uint32_t cur;
    if (edge_get(m, 0, (uint64_t)g->ntok, &cur)) return LR_ENOMEM;
    uint32_t d = (uint32_t)m->o.depth < g->ntok ? (uint32_t)m->o.depth : g->ntok;
    for (uint32_t i = 0; i < d; i++) {
        uint64_t h = g->hash[i];
        uint32_t c = edge_find(m, cur, h);
        if (c == UINT32_MAX) {
            /* one slot is kept for the "<*>" child */
            if (h != WILD_HASH && m->nodes[cur].n_children + 1 >= (uint32_t)m->o.max_children) h = WILD_HASH;
            if (edge_get(m, cur, h, &c)) return LR_ENOMEM;
        }
        cur = c;
    }
    *leaf = cur;
    return 0;
}

/* ------------------------------------------------------------- templates */

static uint64_t text_key(const char *s, size_t n) { return fnv(s, n) | 1; }

static size_t exact_home(const char *s, size_t n, size_t mask) {
    return (size_t)(text_key(s, n) * 0x9e3779b97f4a7c15ULL >> 20) & mask;
}

/* Slot of the template with exactly this text, or SIZE_MAX. */
static size_t exact_slot(const lr_miner *m, const char *s, size_t n) {
    if (!m->cap_exact) return SIZE_MAX;
    size_t mask = m->cap_exact - 1;
    for (size_t i = exact_home(s, n, mask);; i = (i + 1) & mask) {
        uint64_t v = m->exact[i];
        if (!v) return SIZE_MAX;
        if (v == TOMB) continue;
        const tmpl *t = &m->t[(uint32_t)v - 1];
        if (t->len == n && memcmp(t->text, s, n) == 0) return i;
    }
}

/* Index + 1 of the template with exactly this text, or 0. */
static uint32_t exact_find(const lr_miner *m, const char *s, size_t n) {
    size_t i = exact_slot(m, s, n);
    return i == SIZE_MAX ? 0 : (uint32_t)m->exact[i];
}

static void exact_put(uint64_t *tab, size_t cap, const tmpl *t, uint32_t k) {
    size_t i = exact_home(t->text, t->len, cap - 1);
    while (tab[i] && tab[i] != TOMB) i = (i + 1) & (cap - 1);
    tab[i] = k + 1;
}

/* Index template k: made, or its text changed (old_slot: where its old
 * text was, from exact_slot before the change; SIZE_MAX for a new one). */
static int exact_index(lr_miner *m, uint32_t k, size_t old_slot) {
    int old_text = old_slot != SIZE_MAX;
    if (old_text) m->exact[old_slot] = TOMB, m->used_exact--;
    if ((m->used_exact + m->tomb_exact + 1) * 2 > m->cap_exact) {
        size_t cap = m->cap_exact ? m->cap_exact : 256;
        while ((size_t)(m->n + 1) * 2 > cap / 2) cap *= 2;
        uint64_t *ne = lr__calloc(cap, sizeof *ne);
        if (!ne) return LR_ENOMEM;
        for (uint32_t j = 0; j < m->n; j++)
            if (j != k) exact_put(ne, cap, &m->t[j], j);
        lr__free(m->exact);
        m->exact = ne;
        m->cap_exact = cap;
        m->used_exact = m->n - (k < m->n ? 1 : 0);
        m->tomb_exact = 0;
    } else if (old_text) {
        m->tomb_exact++;
    }
    exact_put(m->exact, m->cap_exact, &m->t[k], k);
    m->used_exact++;
    return LR_OK;
}

static void tmpl_free(tmpl *t) {
    lr__free(t->text);
    lr__free(t->off);
    lr__free(t->tlen);
    lr__free(t->hash);
}

/* Set t's tokens from text (tokens of the abstracted form, ' '-joined). */
static int tmpl_set(tmpl *t, const char *text, size_t len, const msg *g) {
    char *nt = lr__strndup(text, len);
    uint32_t n = g->ntok ? g->ntok : 1;
    uint32_t *off = lr__alloc_array(n, sizeof *off), *tl = lr__alloc_array(n, sizeof *tl);
    uint64_t *h = lr__alloc_array(n, sizeof *h);
    if (!nt || !off || !tl || !h) {
        lr__free(nt), lr__free(off), lr__free(tl), lr__free(h);
        return LR_ENOMEM;
    }
    tmpl_free(t);
    t->text = nt;
    t->len = len;
    t->off = off;
    t->tlen = tl;
    t->hash = h;
    t->ntok = g->ntok;
    t->nconst = 0;
    /* re-split the text: it is the message's tokens with some set to <*> */
    size_t p = 0;
    for (uint32_t i = 0; i < g->ntok; i++) {
        size_t q = p;
        if (i + 1 == g->ntok) q = len;
        else
            while (q < len && nt[q] != ' ') q++;
        off[i] = (uint32_t)p;
        tl[i] = (uint32_t)(q - p);
        h[i] = tok_hash(nt + p, q - p);
        if (h[i] != WILD_HASH) t->nconst++;
        p = q + 1;
    }
    return LR_OK;
}

/* A plain word: letters, then perhaps some of . , : ; ! ? */
static int plain_word(const char *s, size_t n) {
    while (n && (s[n - 1] == '.' || s[n - 1] == ',' || s[n - 1] == ':' || s[n - 1] == ';' || s[n - 1] == '!' ||
                 s[n - 1] == '?'))
        n--;
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alpha((unsigned char)s[i])) return 0;
    return 1;
}

/* Token i of g is the word after "for": perhaps an account name. */
static int names_account(const msg *g, uint32_t i) {
    if (!i) return 0;
    const char *p = g->text + g->off[i - 1];
    size_t n = g->tlen[i - 1];
    return n == 3 && memcmp(p, "for", 3) == 0;
}

/* Share of t's constants that g equals (1 when t has none); -1 when they
 * differ in a plain word (two different words are two events), unless it
 * names an account. */
static double similarity(const tmpl *t, const msg *g, int word_rule) {
    if (!t->nconst) { /* all variables: only for messages that are too */
        for (uint32_t i = 0; i < g->ntok; i++)
            if (g->hash[i] != WILD_HASH) return 0.0;
        return 1.0;
    }
    uint32_t same = 0;
    for (uint32_t i = 0; i < t->ntok; i++) {
        uint64_t h = t->hash[i];
        if (h == WILD_HASH) continue;
        const char *a = t->text + t->off[i], *b = g->text + g->off[i];
        if (h == g->hash[i] && t->tlen[i] == g->tlen[i] && memcmp(a, b, t->tlen[i]) == 0) same++;
        else if (word_rule && plain_word(a, t->tlen[i]) && plain_word(b, g->tlen[i]) &&
                 !names_account(g, i))
            return -1.0;
    }
    return (double)same / (double)t->nconst;
}

/* The best template in the leaf, or UINT32_MAX. */
/* The best template in the leaf, or UINT32_MAX. A leaf with more than
 * WORD_RULE_MAX templates drops the plain-word rule (a position with that
 * many different words holds a variable: user names, hosts); a full leaf
 * (LEAF_MAX) gives its most similar template whatever the threshold, so
 * that the work per message stays bounded. */
static uint32_t best_in(const lr_miner *m, uint32_t leaf, const msg *g) {
    const node *nd = &m->nodes[leaf];
    uint32_t best = UINT32_MAX;
    double bs = -1.0;
    int word_rule = nd->n_tmpl <= WORD_RULE_MAX;
    for (uint32_t k = 0; k < nd->n_tmpl; k++) {
        const tmpl *t = &m->t[nd->tmpl[k]];
        if (t->ntok != g->ntok) continue;
        double s = similarity(t, g, word_rule);
        if (s > bs) bs = s, best = nd->tmpl[k];
    }
    if (best != UINT32_MAX && nd->n_tmpl >= LEAF_MAX) return best;
    return (best != UINT32_MAX && bs + 1e-12 >= m->o.similarity) ? best : UINT32_MAX;
}

static void fill(const lr_miner *m, uint32_t k, int novel, lr_template_match *out) {
    if (k == UINT32_MAX) {
        *out = (lr_template_match){0, 0, "", 0, 0};
        return;
    }
    const tmpl *t = &m->t[k];
    *out = (lr_template_match){k + 1, novel, t->text, t->len, t->count};
}

static int is_wild_at(const msg *g, uint32_t i) { return g->hash[i] == WILD_HASH; }

/* A new template for g in `leaf`; *k its index. 0 or LR_ENOMEM. */
static int insert(lr_miner *m, const msg *g, uint32_t leaf, int64_t first, int64_t last, uint32_t *k) {
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 64;
        tmpl *nt = lr__realloc(m->t, (size_t)cap * sizeof *nt);
        if (!nt) return LR_ENOMEM;
        m->t = nt;
        m->cap = cap;
    }
    node *nd = &m->nodes[leaf];
    if (nd->n_tmpl == nd->cap_tmpl) {
        uint32_t cap = nd->cap_tmpl ? nd->cap_tmpl * 2 : 2;
        uint32_t *nl = lr__realloc(nd->tmpl, (size_t)cap * sizeof *nl);
        if (!nl) return LR_ENOMEM;
        nd->tmpl = nl;
        nd->cap_tmpl = cap;
    }
    tmpl *t = &m->t[m->n];
    memset(t, 0, sizeof *t);
    if (tmpl_set(t, g->text, g->len, g)) return LR_ENOMEM;
    t->first = first;
    t->last = last;
    *k = m->n++;
    if (exact_index(m, *k, SIZE_MAX)) {
        tmpl_free(t);
        m->n--;
        return LR_ENOMEM;
    }
    nd->tmpl[nd->n_tmpl++] = *k;
    return LR_OK;
}

/* Learn the abstracted message g with weight `count` and times. */
static int learn(lr_miner *m, const msg *g, uint64_t count, int64_t first, int64_t last, uint32_t *idx,
                 int *novel, lr_error *err) {
    *novel = 0;
    uint32_t k = exact_find(m, g->text, g->len);
    uint32_t leaf = 0;
    if (k) {
        k--;
    } else {
        if (leaf_make(m, g, &leaf)) return lr__err(err, LR_ENOMEM, "out of memory growing the template tree");
        k = best_in(m, leaf, g);
    }
    if (k == UINT32_MAX) {
        if (m->n >= m->o.max_templates) {
            *idx = UINT32_MAX;
            return LR_OK;
        }
        if (insert(m, g, leaf, first, last, &k)) return lr__err(err, LR_ENOMEM, "out of memory adding a template");
        *novel = 1;
    } else {
        tmpl *t = &m->t[k];
        /* generalise: positions that differ become <*> */
        int changed = 0;
        for (uint32_t i = 0; i < t->ntok && !changed; i++)
            if (t->hash[i] != WILD_HASH &&
                (t->hash[i] != g->hash[i] || t->tlen[i] != g->tlen[i] ||
                 memcmp(t->text + t->off[i], g->text + g->off[i], t->tlen[i])))
                changed = 1;
        if (changed) {
            char buf[sizeof g->text];
            size_t o = 0;
            for (uint32_t i = 0; i < t->ntok; i++) {
                if (i) buf[o++] = ' ';
                int same = t->hash[i] != WILD_HASH && !is_wild_at(g, i) && t->hash[i] == g->hash[i] &&
                           t->tlen[i] == g->tlen[i] &&
                           memcmp(t->text + t->off[i], g->text + g->off[i], t->tlen[i]) == 0;
                if (same) {
                    memcpy(buf + o, t->text + t->off[i], t->tlen[i]);
                    o += t->tlen[i];
                } else {
                    memcpy(buf + o, "<*>", 3);
                    o += 3;
                }
            }
            size_t slot = exact_slot(m, t->text, t->len);
            if (tmpl_set(t, buf, o, g)) return lr__err(err, LR_ENOMEM, "out of memory updating a template");
            if (exact_index(m, k, slot)) return lr__err(err, LR_ENOMEM, "out of memory indexing templates");
        }
        if (t->count == 0 || first < t->first) t->first = first;
        if (t->count == 0 || last > t->last) t->last = last;
    }
    tmpl *t = &m->t[k];
    t->count = (count > MAX_COUNT - t->count) ? MAX_COUNT : t->count + count;
    *idx = k;
    return LR_OK;
}

/* --------------------------------------------------------------- public */

void lr_miner_opts_init(lr_miner_opts *o) {
    o->depth = 3;
    o->similarity = 0.8;
    o->max_children = 100;
    o->max_templates = 1000000;
}

static int check_opts(const lr_miner_opts *o, lr_error *err) {
    if (o->depth < 0 || o->depth > 16) return lr__err(err, LR_EINVAL, "template depth %d is outside [0, 16]", o->depth);
    if (!(o->similarity >= 0.0 && o->similarity <= 1.0))
        return lr__err(err, LR_EINVAL, "template similarity %g is outside [0, 1]", o->similarity);
    if (o->max_children < 2 || o->max_children > 1000000)
        return lr__err(err, LR_EINVAL, "template max_children %d is outside [2, 1000000]", o->max_children);
    if (o->max_templates < 1 || o->max_templates > 100000000)
        return lr__err(err, LR_EINVAL, "max_templates %u is outside [1, 100000000]", o->max_templates);
    return LR_OK;
}

lr_miner *lr_miner_new(const lr_miner_opts *opts, lr_error *err) {
    lr_miner_opts o;
    if (opts) o = *opts;
    else lr_miner_opts_init(&o);
    if (check_opts(&o, err)) return NULL;
    lr_miner *m = lr__calloc(1, sizeof *m);
    uint32_t root;
    if (!m || node_new(m, &root)) {
        lr__free(m);
        lr__err(err, LR_ENOMEM, "out of memory making a template miner");
        return NULL;
    }
    m->o = o;
    return m;
}

void lr_miner_free(lr_miner *m) {
    if (!m) return;
    for (uint32_t i = 0; i < m->n; i++) tmpl_free(&m->t[i]);
    for (uint32_t i = 0; i < m->n_nodes; i++) lr__free(m->nodes[i].tmpl);
    lr__free(m->t);
    lr__free(m->nodes);
    lr__free(m->edges);
    lr__free(m->exact);
    lr__free(m);
}

int lr_miner_add(lr_miner *m, const char *text, size_t len, int64_t when, lr_template_match *out, lr_error *err) {
    msg *g = lr__malloc(sizeof *g);
    if (!g) return lr__err(err, LR_ENOMEM, "out of memory reading a message");
    abstract_msg(text ? text : "", text ? len : 0, LR_MINER_MAX_BYTES, g);
    uint32_t k;
    int novel;
    int rc = learn(m, g, 1, when, when, &k, &novel, err);
    lr__free(g);
    if (rc) return rc;
    if (out) fill(m, k, novel, out);
    return LR_OK;
}

void lr_miner_match(const lr_miner *m, const char *text, size_t len, lr_template_match *out) {
    msg g;
    abstract_msg(text ? text : "", text ? len : 0, LR_MINER_MAX_BYTES, &g);
    uint32_t k = exact_find(m, g.text, g.len), leaf;
    if (k) k--;
    else if (leaf_find(m, &g, &leaf)) k = UINT32_MAX;
    else k = best_in(m, leaf, &g);
    fill(m, k, 0, out);
}

int lr_miner_event_text(lr_prep *prep, const lr_event *ev, const char **text, size_t *len) {
    lr_line_info li;
    const char *s = ev->message ? ev->message : "";
    size_t n = ev->message ? ev->message_len : 0;
    if (!n && ev->error && ev->error_len) { /* no message: the error's first line */
        s = ev->error;
        const char *nl = memchr(s, '\n', ev->error_len);
        n = nl ? (size_t)(nl - s) : ev->error_len;
    }
    if (n > LR_MINER_MAX_BYTES * 2) n = LR_MINER_MAX_BYTES * 2; /* the miner reads the first 4 KiB after masking */
    int rc = lr_prep_line(prep, s, n, &li);
    if (rc) return rc;
    *text = li.text;
    *len = li.text_len;
    return LR_OK;
}

uint32_t lr_miner_n_templates(const lr_miner *m) { return m->n; }

int lr_miner_template(const lr_miner *m, uint32_t i, lr_template_info *info) {
    if (i >= m->n) return LR_ERANGE;
    const tmpl *t = &m->t[i];
    *info = (lr_template_info){i + 1, t->text, t->len, t->count, t->first, t->last};
    return LR_OK;
}

int lr_miner_template_by_id(const lr_miner *m, uint32_t id, lr_template_info *info) {
    if (id == 0) return LR_ERANGE;
    return lr_miner_template(m, id - 1, info);
}

void lr_miner_get_opts(const lr_miner *m, lr_miner_opts *opts) { *opts = m->o; }

int lr_miner_merge(lr_miner *dst, const lr_miner *src, lr_error *err) {
    msg *g = lr__malloc(sizeof *g);
    if (!g) return lr__err(err, LR_ENOMEM, "out of memory merging templates");
    int rc = LR_OK;
    for (uint32_t i = 0; i < src->n && !rc; i++) {
        const tmpl *t = &src->t[i];
        abstract_msg(t->text, t->len, TEMPLATE_MAX, g);
        uint32_t k;
        int novel;
        rc = learn(dst, g, t->count, t->first, t->last, &k, &novel, err);
    }
    lr__free(g);
    return rc;
}

/* ------------------------------------------------------------ state file */

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int key(char *out, const char *prefix, const char *name, lr_error *err) {
    if (!prefix || !*prefix || strlen(prefix) > 32) return lr__err(err, LR_EINVAL, "bad template state prefix");
    snprintf(out, 64, "%s.%s", prefix, name);
    return LR_OK;
}

int lr__miner_put(const lr_miner *m, lr__lrm_writer *w, const char *prefix, void **blob_out, lr_error *err) {
    *blob_out = NULL;
    char k[64];
    int rc;
    size_t total = 8;
    for (uint32_t i = 0; i < m->n; i++) total += 28 + m->t[i].len;
    uint8_t *blob = lr__malloc(total);
    if (!blob) return lr__err(err, LR_ENOMEM, "out of memory writing the template state");
    memcpy(blob, MAGIC, 8);
    size_t p = 8;
    for (uint32_t i = 0; i < m->n; i++) {
        const tmpl *t = &m->t[i];
        put_u64(blob + p, t->count);
        put_u64(blob + p + 8, (uint64_t)t->first);
        put_u64(blob + p + 16, (uint64_t)t->last);
        uint32_t l = (uint32_t)t->len;
        for (int b = 0; b < 4; b++) blob[p + 24 + b] = (uint8_t)(l >> (8 * b));
        memcpy(blob + p + 28, t->text, t->len);
        p += 28 + t->len;
    }
    int64_t shape[1] = {(int64_t)total};
    if ((rc = key(k, prefix, "version", err)) || (rc = lr__lrm_set_i64(w, k, LR_MINER_STATE_VERSION, err)) ||
        (rc = key(k, prefix, "depth", err)) || (rc = lr__lrm_set_i64(w, k, m->o.depth, err)) ||
        (rc = key(k, prefix, "similarity", err)) || (rc = lr__lrm_set_f64(w, k, m->o.similarity, err)) ||
        (rc = key(k, prefix, "max_children", err)) || (rc = lr__lrm_set_i64(w, k, m->o.max_children, err)) ||
        (rc = key(k, prefix, "max_templates", err)) || (rc = lr__lrm_set_i64(w, k, m->o.max_templates, err)) ||
        (rc = key(k, prefix, "count", err)) || (rc = lr__lrm_set_i64(w, k, m->n, err)) ||
        (rc = key(k, prefix, "state", err)) || (rc = lr__lrm_add_tensor(w, k, LR_DTYPE_I8, 1, shape, blob, err))) {
        lr__free(blob);
        return rc;
    }
    *blob_out = blob; /* the writer keeps the pointer until it writes */
    return LR_OK;
}

int lr_miner_save(const lr_miner *m, const char *path, lr_error *err) {
    lr__lrm_writer *w = lr__lrm_writer_new(err);
    if (!w) return err ? err->code : LR_ENOMEM;
    void *blob = NULL;
    int rc = lr__lrm_set_str(w, "model.arch", "templates", 9, err);
    if (!rc) rc = lr__miner_put(m, w, "templates", &blob, err);
    if (!rc) rc = lr__lrm_writer_write(w, path, err);
    lr__free(blob);
    lr__lrm_writer_free(w);
    return rc;
}

static int get_i64(const lr__lrm *f, const char *prefix, const char *name, int64_t lo, int64_t hi, int64_t *v,
                   lr_error *err) {
    char k[64];
    int rc = key(k, prefix, name, err);
    if (!rc) rc = lr__lrm_get_i64(f, k, v, err);
    if (rc) return rc;
    if (*v < lo || *v > hi)
        return lr__err(err, LR_EFORMAT, "%s: %s is %lld, outside [%lld, %lld]", lr__lrm_name(f), k, (long long)*v,
                       (long long)lo, (long long)hi);
    return LR_OK;
}

lr_miner *lr__miner_get(const lr__lrm *f, const char *prefix, lr_error *err) {
    int64_t ver, depth, maxc, maxt, count;
    double sim;
    char k[64];
    const char *name = lr__lrm_name(f);
    if (get_i64(f, prefix, "version", 0, INT64_MAX, &ver, err)) return NULL;
    if (ver != LR_MINER_STATE_VERSION) {
        lr__err(err, LR_EFORMAT, "%s: template state version %lld; this build reads version %d", name,
                (long long)ver, LR_MINER_STATE_VERSION);
        return NULL;
    }
    if (get_i64(f, prefix, "depth", 0, 16, &depth, err) || get_i64(f, prefix, "max_children", 2, 1000000, &maxc, err) ||
        get_i64(f, prefix, "max_templates", 1, 100000000, &maxt, err) ||
        get_i64(f, prefix, "count", 0, maxt, &count, err) || key(k, prefix, "similarity", err) ||
        lr__lrm_get_f64(f, k, &sim, err))
        return NULL;
    lr_miner_opts o = {(int)depth, sim, (int)maxc, (uint32_t)maxt};
    if (check_opts(&o, err)) {
        lr_error e = err ? *err : (lr_error){0, ""};
        lr__err(err, LR_EFORMAT, "%s: %s", name, e.msg);
        return NULL;
    }
    const lr__tensor *t;
    if (key(k, prefix, "state", err)) return NULL;
    if (!(t = lr__lrm_tensor(f, k)) || t->dtype != LR_DTYPE_I8 || t->ndim != 1) {
        lr__err(err, LR_EFORMAT, "%s: no u8 tensor '%s'", name, k);
        return NULL;
    }
    const uint8_t *b = t->data;
    size_t n = t->nbytes, p = 8;
    if (n < 8 || memcmp(b, MAGIC, 8) != 0) {
        lr__err(err, LR_EFORMAT, "%s: '%s' does not start with the template state magic", name, k);
        return NULL;
    }
    lr_miner *m = lr_miner_new(&o, err);
    msg *g = lr__malloc(sizeof *g);
    if (!m || !g) {
        if (m && !g) lr__err(err, LR_ENOMEM, "out of memory loading templates");
        lr_miner_free(m);
        lr__free(g);
        return NULL;
    }
    for (int64_t i = 0; i < count; i++) {
        const char *why = NULL;
        uint64_t cnt = 0;
        int64_t first = 0, last = 0;
        uint32_t l = 0;
        if (n - p < 28) why = "is cut short";
        else {
            cnt = get_u64(b + p);
            first = (int64_t)get_u64(b + p + 8);
            last = (int64_t)get_u64(b + p + 16);
            l = (uint32_t)b[p + 24] | (uint32_t)b[p + 25] << 8 | (uint32_t)b[p + 26] << 16 | (uint32_t)b[p + 27] << 24;
            if (cnt < 1 || cnt > MAX_COUNT) why = "has a count outside [1, 2^62]";
            else if (first > last) why = "was first seen after it was last seen";
            else if (l > TEMPLATE_MAX || l > n - p - 28) why = "has a text length past the state";
        }
        if (!why) {
            const char *s = (const char *)b + p + 28;
            abstract_msg(s, l, TEMPLATE_MAX, g);
            if (g->len != l || memcmp(g->text, s, l) != 0) why = "is not a template as the miner writes it";
            else if (exact_find(m, s, l)) why = "repeats an earlier template";
        }
        uint32_t idx, leaf;
        if (!why) {
            if (leaf_make(m, g, &leaf) || insert(m, g, leaf, first, last, &idx)) {
                lr__err(err, LR_ENOMEM, "out of memory loading templates");
                goto fail;
            }
            m->t[idx].count = cnt;
        }
        if (why) {
            lr__err(err, LR_EFORMAT, "%s: template %lld (at byte %zu of '%s') %s", name, (long long)(i + 1), p, k, why);
            goto fail;
        }
        p += 28 + l;
    }
    if (p != n) {
        lr__err(err, LR_EFORMAT, "%s: %zu bytes after the last template in '%s'", name, n - p, k);
        goto fail;
    }
    lr__free(g);
    return m;
fail:
    lr__free(g);
    lr_miner_free(m);
    return NULL;
}

static lr_miner *get_checked(lr__lrm *f, lr_error *err) {
    if (!f) return NULL;
    const char *arch;
    size_t al;
    lr_miner *m = NULL;
    if (lr__lrm_get_str(f, "model.arch", &arch, &al, err) == LR_OK) {
        if (al != 9 || memcmp(arch, "templates", 9) != 0)
            lr__err(err, LR_EFORMAT, "%s: not a template state file (model.arch '%.*s')", lr__lrm_name(f),
                    (int)(al > 40 ? 40 : al), arch);
        else m = lr__miner_get(f, "templates", err);
    }
    lr__lrm_close(f);
    return m;
}

lr_miner *lr_miner_load(const char *path, lr_error *err) { return get_checked(lr__lrm_open(path, err), err); }

lr_miner *lr_miner_load_memory(const void *data, size_t size, const char *name, lr_error *err) {
    return get_checked(lr__lrm_open_memory(data, size, name ? name : "template state", err), err);
}

/* ------------------------------------------------------------ evaluation */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

double lr__grouping_accuracy(const uint32_t *pred, const uint32_t *truth, size_t n) {
    if (!n) return 1.0;
    /* a message is right when its predicted group and its true group have
     * the same members: sort (pred, truth) pairs; a predicted group that
     * holds one true group only and all of it is right */
    uint64_t *pair = lr__alloc_array(n, sizeof *pair);
    uint32_t max_t = 0;
    for (size_t i = 0; i < n; i++) max_t = truth[i] > max_t ? truth[i] : max_t;
    size_t *tsize = lr__calloc((size_t)max_t + 1, sizeof *tsize);
    if (!pair || !tsize) {
        lr__free(pair);
        lr__free(tsize);
        return -1.0;
    }
    for (size_t i = 0; i < n; i++) {
        pair[i] = (uint64_t)pred[i] << 32 | truth[i];
        tsize[truth[i]]++;
    }
    qsort(pair, n, sizeof *pair, cmp_u64);
    size_t right = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && pair[j] >> 32 == pair[i] >> 32) j++;
        if ((uint32_t)pair[i] == (uint32_t)pair[j - 1] && tsize[(uint32_t)pair[i]] == j - i) right += j - i;
        i = j;
    }
    lr__free(pair);
    lr__free(tsize);
    return (double)right / (double)n;
}
