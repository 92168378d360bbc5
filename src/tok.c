/*
 * tok.c — the BERT uncased WordPiece tokenizer, id for id like Hugging Face
 * `tokenizers` 0.23.2 configured as bert-base-uncased's tokenizer.json:
 *
 *   added tokens  [PAD] [UNK] [CLS] [SEP] [MASK] <TIME> <ID> <IP> <PID> <PATH>
 *                 (those present in the vocab) are cut out of the RAW text
 *                 first, leftmost match, never normalised or split;
 *   BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)
 *                 drop U+0000, U+FFFD and "other" chars (Cc Cf Co Cs; not
 *                 \t \n \r; not unassigned ones, which HF keeps);
 *                 whitespace -> ' '; spaces around CJK ideographs;
 *                 NFD, drop nonspacing marks (Mn); lower-case;
 *   BertPreTokenizer  split on whitespace (dropped) and on punctuation (ASCII
 *                 punctuation or Unicode P*; each a word of its own);
 *   WordPiece     greedy longest match from the left, `##` on continuations;
 *                 a word of more than 100 chars, or with a part that nothing
 *                 matches, is one [UNK];
 *   template      [CLS] ... [SEP], the content cut to max_len - 2 tokens.
 *
 * Unicode data come from utf8proc (categories, canonical decomposition,
 * combining classes, simple lower-case mapping). The steps are done one code
 * point at a time in one pass over the bytes; the only cross-character step
 * of NFD, canonical reordering, matters only for the 26 spacing marks (Mc)
 * with a non-zero combining class (Mn marks are dropped anyway) and is done
 * on the word buffer. Rust's full lower-casing differs from the simple
 * mapping only for U+0130, which NFD has already decomposed. Where HF's
 * older Unicode tables differ from utf8proc's, a small table measured
 * against HF (tests/golden/tok_unicode.txt) says which way.
 *
 * The vocabulary is a byte trie whose edges live in one open-addressing
 * hash table keyed by (node, byte), with direct tables for the root and the
 * "##" node. WordPiece is LinMaxMatch (Fast WordPiece, see
 * build_failure_links): each byte of a word is read once. The plain greedy
 * walk stays as the reference (lr__tok_encode_with). The tokenizer is
 * immutable after load; encode keeps its scratch (~3 KB) on the stack and
 * allocates nothing, so any number of threads may share one lr_tok.
 */
#include "tok.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#include "files.h"
#include "utf8.h"
#include "util.h"

const char *const lr__tok_reserved[LR_TOK_N_RESERVED] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<TIME>", "<ID>", "<IP>", "<PID>", "<PATH>",
};

/* ------------------------------------------------------------ characters */

enum { CH_WORD = 0, CH_SPACE = 1, CH_PUNCT = 2, CH_DROP = 3 };

/* Rust's char::is_whitespace (the White_Space property). */
static int is_white(int32_t c) {
    switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return 1;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

/* HF's is_chinese_char (note 0x2B920, not 0x2B820, as in tokenizers). */
static int is_chinese(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* clean_text drops the char: NUL, U+FFFD, or an "other" char that is not
 * \t \n \r. */
static int is_dropped(int32_t c) {
    if (c == 0 || c == 0xFFFD) return 1;
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    int fix = lr__tok_unicode_fix(c, LR__FIX_OTHER);
    if (fix >= 0) return fix;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CS:
        return 1;
    default:
        return 0;
    }
}

/* BertPreTokenizer's punctuation: ASCII punctuation or Unicode P*. */
static int is_punct(int32_t c) {
    if (c < 0x80)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
               (c >= 0x7B && c <= 0x7E);
    int fix = lr__tok_unicode_fix(c, LR__FIX_PUNCT);
    if (fix >= 0) return fix;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

static int is_nonspacing(int32_t c) {
    int fix = lr__tok_unicode_fix(c, LR__FIX_MN);
    if (fix >= 0) return fix;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_MN;
}

static int32_t to_lower(int32_t c) {
    int32_t fix = lr__tok_lower_fix(c);
    return fix >= 0 ? fix : utf8proc_tolower(c);
}

int lr__tok_char_class(int32_t c) {
    if (is_white(c)) return CH_SPACE;
    return is_punct(c) ? CH_PUNCT : CH_WORD;
}

/* ASCII after normalisation: the class and the lower-cased byte. */
static const uint8_t ascii_class[128] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 3, 3, 1, 3, 3, /* 0x00: \t \n \r spaces; VT FF dropped */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x10 */
    1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* ' ' !"#$%&'()*+,-./ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, /* 0-9 :;<=>? */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* @ A-O */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, /* P-Z [\]^_ */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* ` a-o */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 3, /* p-z {|}~ DEL */
};

/* Canonical decomposition of c (NFD of one char) into out[cap]; count. */
static int decompose(int32_t c, int32_t *out, int cap) {
    int fix = lr__tok_nfd_fix(c, out, cap);
    if (fix >= 0) return fix;
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(c, out, cap, UTF8PROC_DECOMPOSE, &last);
    if (n < 0 || n > cap) {
        out[0] = c;
        return 1;
    }
    return (int)n;
}

int lr__tok_norm_char(int32_t c, int32_t *out, int cap) {
    if (cap < 3) return 0;
    if (is_dropped(c)) return 0;
    if (is_white(c)) {
        out[0] = ' ';
        return 1;
    }
    int32_t dec[16];
    int n_dec = decompose(c, dec, 16), n = 0;
    int chinese = is_chinese(c);
    if (chinese) out[n++] = ' ';
    for (int i = 0; i < n_dec && n < cap - 1; i++) {
        if (is_nonspacing(dec[i])) continue;
        out[n++] = to_lower(dec[i]);
    }
    if (chinese) out[n++] = ' ';
    return n;
}

/* ------------------------------------------------------------- splitting */

/* The word being built: bytes, and per kept char its byte offset and
 * combining class (for canonical reordering of spacing marks). */
typedef struct word_buf {
    char bytes[LR_TOK_WORD_BYTES];
    uint16_t off[LR_TOK_MAX_WORD_CHARS + 1];
    uint8_t ccc[LR_TOK_MAX_WORD_CHARS + 1];
    size_t len;
    int n_chars;
} word_buf;

static int word_flush(word_buf *w, const lr__tok_sink *sink) {
    if (w->n_chars == 0) return 0;
    int stop = sink->word(sink->ctx, w->n_chars > LR_TOK_MAX_WORD_CHARS ? NULL : w->bytes,
                          w->n_chars > LR_TOK_MAX_WORD_CHARS ? 0 : w->len, w->n_chars);
    w->len = 0;
    w->n_chars = 0;
    return stop;
}

/* Append one normalised non-ASCII char with combining class ccc. */
static void word_put(word_buf *w, int32_t c, int ccc) {
    if (w->n_chars >= LR_TOK_MAX_WORD_CHARS) {
        w->n_chars++; /* too long already: only count */
        return;
    }
    uint8_t enc[4];
    size_t n = (size_t)utf8proc_encode_char(c, enc);
    int at = w->n_chars;
    /* Canonical ordering: a mark moves before marks of higher class. */
    if (ccc > 0)
        while (at > 0 && w->ccc[at - 1] > ccc) at--;
    size_t pos = at == w->n_chars ? w->len : w->off[at];
    if (pos < w->len) {
        memmove(w->bytes + pos + n, w->bytes + pos, w->len - pos);
        memmove(w->off + at + 1, w->off + at, (size_t)(w->n_chars - at) * sizeof w->off[0]);
        memmove(w->ccc + at + 1, w->ccc + at, (size_t)(w->n_chars - at));
        for (int k = at + 1; k <= w->n_chars; k++) w->off[k] = (uint16_t)(w->off[k] + n);
    }
    memcpy(w->bytes + pos, enc, n);
    w->off[at] = (uint16_t)pos;
    w->ccc[at] = (uint8_t)ccc;
    w->len += n;
    w->n_chars++;
}

static int emit_single(int32_t c, const lr__tok_sink *sink) {
    uint8_t enc[4];
    size_t n = (size_t)utf8proc_encode_char(c, enc);
    return sink->word(sink->ctx, (const char *)enc, n, 1);
}

/* Normalise and pre-tokenize one stretch of text without added tokens. */
static int split_plain(const uint8_t *s, size_t len, word_buf *w, const lr__tok_sink *sink) {
    size_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            switch (ascii_class[b]) {
            case CH_WORD:
                if (w->n_chars < LR_TOK_MAX_WORD_CHARS) {
                    w->off[w->n_chars] = (uint16_t)w->len;
                    w->ccc[w->n_chars] = 0;
                    w->bytes[w->len++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
                }
                w->n_chars++;
                break;
            case CH_SPACE:
                if (word_flush(w, sink)) return 1;
                break;
            case CH_PUNCT:
                if (word_flush(w, sink)) return 1;
                if (sink->word(sink->ctx, (const char *)s + i - 1, 1, 1)) return 1;
                break;
            default:
                break;
            }
            continue;
        }
        int32_t c;
        i += lr__utf8_decode((const char *)s + i, len - i, &c);
        if (c < 0) continue; /* invalid UTF-8 becomes U+FFFD, which clean_text drops */
        if (is_dropped(c)) continue;
        if (is_white(c)) {
            if (word_flush(w, sink)) return 1;
            continue;
        }
        int chinese = is_chinese(c);
        if (chinese && word_flush(w, sink)) return 1;
        int32_t dec[16];
        int n_dec = decompose(c, dec, 16);
        for (int k = 0; k < n_dec; k++) {
            if (is_nonspacing(dec[k])) continue;
            int32_t lc = to_lower(dec[k]);
            int cls = lr__tok_char_class(lc);
            if (cls == CH_SPACE) {
                if (word_flush(w, sink)) return 1;
            } else if (cls == CH_PUNCT) {
                if (word_flush(w, sink)) return 1;
                if (emit_single(lc, sink)) return 1;
            } else {
                word_put(w, lc, utf8proc_get_property(lc)->combining_class);
            }
        }
        if (chinese && word_flush(w, sink)) return 1;
    }
    return word_flush(w, sink);
}

int lr__tok_split(const lr__tok_added *added, const char *text, size_t len, const lr__tok_sink *sink) {
    word_buf w;
    w.len = 0;
    w.n_chars = 0;
    const uint8_t *s = (const uint8_t *)text;
    size_t seg = 0;
    if (added && added->n > 0) {
        for (size_t i = 0; i < len; i++) {
            if (s[i] != '[' && s[i] != '<') continue;
            for (int k = 0; k < added->n; k++) {
                size_t n = added->len[k];
                if (n > len - i || memcmp(s + i, added->str[k], n) != 0) continue;
                if (split_plain(s + seg, i - seg, &w, sink)) return 1;
                if (sink->added && sink->added(sink->ctx, added->id[k])) return 1;
                seg = i + n;
                i = seg - 1;
                break;
            }
        }
    }
    return split_plain(s + seg, len - seg, &w, sink);
}

/* -------------------------------------------------------------- the trie */

/* Edge table entry: key = node * 256 + byte + 1 (0 = empty slot). */
typedef struct edge {
    uint32_t key;
    int32_t child;
} edge;

struct lr_tok {
    int n_vocab;
    char *strings;     /* every token, NUL-terminated, back to back      */
    uint32_t *str_off; /* token i starts at strings + str_off[i]          */
    uint32_t *str_len;
    int32_t *node_id;  /* token ending at node, -1 if none; [n_nodes]     */
    uint32_t n_nodes;
    edge *edges;       /* the edges of every node but the root and "##"  */
    uint32_t edge_mask;
    uint32_t n_edges;
    int32_t cont_root; /* node of "##" (always made, token or not)       */
    int32_t root_kids[256], sharp_kids[256]; /* children of root and "##"  */
    /* Fast WordPiece (LinMaxMatch): failure link and failure pops per node;
     * NULL when the pops would be too large (then the reference walk). */
    int32_t *fail;
    uint32_t *pops_off, *pops_len;
    int32_t *pops;
    int special[5];    /* [PAD] [UNK] [CLS] [SEP] [MASK]                  */
    lr__tok_added added;
};

static inline uint32_t edge_slot(uint32_t key, uint32_t mask) {
    return (uint32_t)((key * 2654435761u) >> 7) & mask;
}

/* The child of `node` by `byte`, -1 if none. The root and the "##" node,
 * where every word and piece starts, answer from direct tables. */
static inline int32_t trie_child(const lr_tok *tok, int32_t node, uint8_t byte) {
    if (node == 0) return tok->root_kids[byte];
    if (node == tok->cont_root) return tok->sharp_kids[byte];
    uint32_t key = (uint32_t)node * 256u + byte + 1u;
    for (uint32_t i = edge_slot(key, tok->edge_mask);; i = (i + 1) & tok->edge_mask) {
        const edge *e = &tok->edges[i];
        if (e->key == key) return e->child;
        if (e->key == 0) return -1;
    }
}

/* Rehash the edge table into `cap` slots (a power of two, > 2x the edges). */
static int rehash_edges(lr_tok *tok, size_t cap) {
    edge *edges = lr__calloc(cap, sizeof *edges);
    if (!edges) return LR_ENOMEM;
    uint32_t mask = (uint32_t)(cap - 1);
    for (uint32_t i = 0; i <= tok->edge_mask; i++) {
        if (!tok->edges[i].key) continue;
        uint32_t slot = edge_slot(tok->edges[i].key, mask);
        while (edges[slot].key) slot = (slot + 1) & mask;
        edges[slot] = tok->edges[i];
    }
    lr__free(tok->edges);
    tok->edges = edges;
    tok->edge_mask = mask;
    return 0;
}

/* Node of `s`, creating the missing part of its path: -1 only when out of
 * memory. Used while loading only. The root's and the "##" node's children
 * go to the direct tables (root_kids, sharp_kids: every token starts at one
 * of them), the others to the hash table, kept at most half full (it starts
 * small and doubles: a 30k-token vocab has ~40k nodes, far fewer than its
 * bytes, so sizing it for the worst case would touch megabytes for nothing).
 * Load factor up to 3/4: linear probing still takes ~2.5 probes a miss. */
static int32_t trie_walk(lr_tok *tok, const char *s, size_t len) {
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        const uint8_t byte = (uint8_t)s[i];
        int32_t *direct = node == 0 ? &tok->root_kids[byte]
                          : node == tok->cont_root ? &tok->sharp_kids[byte] : NULL;
        if (direct) {
            if (*direct < 0) {
                *direct = (int32_t)tok->n_nodes;
                tok->node_id[tok->n_nodes] = -1;
                tok->n_nodes++;
            }
            node = *direct;
            continue;
        }
        uint32_t key = (uint32_t)node * 256u + byte + 1u;
        uint32_t slot = edge_slot(key, tok->edge_mask);
        while (tok->edges[slot].key != 0 && tok->edges[slot].key != key) slot = (slot + 1) & tok->edge_mask;
        if (tok->edges[slot].key == key) {
            node = tok->edges[slot].child;
            continue;
        }
        if (4 * ((size_t)tok->n_edges + 1) > 3 * ((size_t)tok->edge_mask + 1)) {
            if (rehash_edges(tok, 2 * ((size_t)tok->edge_mask + 1))) return -1;
            slot = edge_slot(key, tok->edge_mask);
            while (tok->edges[slot].key != 0) slot = (slot + 1) & tok->edge_mask;
        }
        tok->edges[slot].key = key;
        tok->edges[slot].child = (int32_t)tok->n_nodes;
        tok->n_edges++;
        tok->node_id[tok->n_nodes] = -1;
        node = (int32_t)tok->n_nodes++;
    }
    return node;
}

/* ------------------------------------------------- Fast WordPiece links */

/*
 * LinMaxMatch (Song et al., "Fast WordPiece Tokenization", EMNLP 2021).
 * For a trie node v spelling s (with or without the "##" prefix):
 *  - when s is a token: fail(v) = the "##" node, pops(v) = [s];
 *  - else, from its parent u and edge byte c: follow z = fail(u), fail(z),
 *    ... collecting pops(z) until z has a child c; then fail(v) = that
 *    child and pops(v) = pops(u) + the collected pops; no such z: no link.
 * Matching a word then walks the trie once: on a missing edge, emit
 * pops(u) and jump to fail(u); at the end, do the same until the "##"
 * node; a missing link anywhere means the whole word is [UNK]. This gives
 * exactly greedy longest-match-first, each byte read once. Nodes are
 * visited breadth first from the root and the "##" node, so links point
 * to nodes already done. When the pops would exceed a budget (a hostile
 * vocab with very long tokens makes them quadratic) the links are dropped
 * and encode uses the reference walk; tests compare the two.
 */
static int build_failure_links(lr_tok *tok, size_t text_len) {
    uint32_t n = tok->n_nodes;
    uint32_t *first = lr__calloc((size_t)n + 1, sizeof *first);
    int32_t *kids = lr__alloc_array((size_t)LR_MAX(n, 1), sizeof *kids);
    uint8_t *kid_byte = lr__alloc_array((size_t)LR_MAX(n, 1), 1);
    int32_t *queue = lr__alloc_array((size_t)n, sizeof *queue);
    tok->fail = lr__alloc_array(n, sizeof *tok->fail);
    /* set for every node below (all are reached from the root) */
    tok->pops_off = lr__alloc_array(n, sizeof *tok->pops_off);
    tok->pops_len = lr__alloc_array(n, sizeof *tok->pops_len);
    size_t cap = 1024, used = 0, budget = 16 * text_len + 65536;
    tok->pops = lr__alloc_array(cap, sizeof *tok->pops);
    int rc = LR_ENOMEM;
    if (!first || !kids || !kid_byte || !queue || !tok->fail || !tok->pops_off || !tok->pops_len || !tok->pops)
        goto done;
    /* Children lists (CSR) from the edge table. */
    for (uint32_t i = 0; i <= tok->edge_mask; i++)
        if (tok->edges[i].key) first[(tok->edges[i].key - 1) >> 8]++;
    for (int c = 0; c < 256; c++) {
        if (tok->root_kids[c] >= 0) first[0]++;
        if (tok->sharp_kids[c] >= 0) first[tok->cont_root]++;
    }
    uint32_t sum = 0;
    for (uint32_t v = 0; v <= n; v++) {
        uint32_t c = v < n ? first[v] : 0;
        first[v] = sum;
        sum += c;
    }
    uint32_t *fill = (uint32_t *)queue; /* borrowed as a cursor array until the BFS */
    for (uint32_t v = 0; v < n; v++) fill[v] = first[v];
    for (uint32_t i = 0; i <= tok->edge_mask; i++) {
        if (!tok->edges[i].key) continue;
        uint32_t parent = (tok->edges[i].key - 1) >> 8;
        kids[fill[parent]] = tok->edges[i].child;
        kid_byte[fill[parent]] = (uint8_t)((tok->edges[i].key - 1) & 255);
        fill[parent]++;
    }
    for (int c = 0; c < 256; c++) {
        const int32_t from[2] = {0, tok->cont_root}, to[2] = {tok->root_kids[c], tok->sharp_kids[c]};
        for (int w = 0; w < 2; w++) {
            if (to[w] < 0) continue;
            kids[fill[from[w]]] = to[w];
            kid_byte[fill[from[w]]] = (uint8_t)c;
            fill[from[w]]++;
        }
    }
    for (uint32_t v = 0; v < n; v++) {
        tok->fail[v] = -1;
        tok->pops_off[v] = tok->pops_len[v] = 0;
    }
    const int32_t sharp = tok->cont_root;
    uint32_t head = 0, tail = 0;
    queue[tail++] = 0;
    if (sharp != 0) queue[tail++] = sharp;
    while (head < tail) {
        int32_t u = queue[head++];
        for (uint32_t k = first[u]; k < first[u + 1]; k++) {
            int32_t v = kids[k];
            uint8_t c = kid_byte[k];
            if (v == sharp) continue;
            queue[tail++] = v;
            if (tok->node_id[v] >= 0) {
                tok->fail[v] = sharp;
                if (used + 1 > cap) {
                    size_t ncap = cap * 2;
                    int32_t *np = lr__realloc(tok->pops, ncap * sizeof *np);
                    if (!np) goto done;
                    tok->pops = np;
                    cap = ncap;
                }
                tok->pops_off[v] = (uint32_t)used;
                tok->pops_len[v] = 1;
                tok->pops[used++] = tok->node_id[v];
                continue;
            }
            /* Find the link first, then copy pops(u) and the collected pops. */
            int32_t z = tok->fail[u];
            size_t extra = 0;
            while (z >= 0 && trie_child(tok, z, c) < 0) {
                extra += tok->pops_len[z];
                z = tok->fail[z];
            }
            if (z < 0) continue; /* no link: reaching v's dead end is [UNK] */
            size_t need = (size_t)tok->pops_len[u] + extra;
            if (used + need > budget || used + need > UINT32_MAX) { /* give up: reference walk */
                rc = 0;
                lr__free(tok->fail);
                tok->fail = NULL;
                goto done;
            }
            while (used + need > cap) {
                size_t ncap = cap * 2;
                int32_t *np = lr__realloc(tok->pops, ncap * sizeof *np);
                if (!np) goto done;
                tok->pops = np;
                cap = ncap;
            }
            tok->fail[v] = trie_child(tok, z, c);
            tok->pops_off[v] = (uint32_t)used;
            tok->pops_len[v] = (uint32_t)need;
            memcpy(tok->pops + used, tok->pops + tok->pops_off[u], tok->pops_len[u] * sizeof *tok->pops);
            used += tok->pops_len[u];
            for (int32_t y = tok->fail[u]; y != z; y = tok->fail[y]) {
                memcpy(tok->pops + used, tok->pops + tok->pops_off[y], tok->pops_len[y] * sizeof *tok->pops);
                used += tok->pops_len[y];
            }
        }
    }
    rc = 0;
done:
    lr__free(first);
    lr__free(kids);
    lr__free(kid_byte);
    lr__free(queue);
    if (rc != 0 || !tok->fail) {
        lr__free(tok->fail);
        lr__free(tok->pops_off);
        lr__free(tok->pops_len);
        lr__free(tok->pops);
        tok->fail = NULL;
        tok->pops_off = tok->pops_len = NULL;
        tok->pops = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------ loading */

void lr_tok_free(lr_tok *tok) {
    if (!tok) return;
    lr__free(tok->strings);
    lr__free(tok->str_off);
    lr__free(tok->str_len);
    lr__free(tok->node_id);
    lr__free(tok->edges);
    lr__free(tok->fail);
    lr__free(tok->pops_off);
    lr__free(tok->pops_len);
    lr__free(tok->pops);
    lr__free(tok);
}

/* Length of `s` without trailing Unicode whitespace (Rust's trim_end). */
static size_t trim_end(const char *s, size_t len) {
    while (len > 0) {
        size_t start = len - 1;
        while (start > 0 && ((uint8_t)s[start] & 0xC0) == 0x80) start--;
        int32_t c;
        if (lr__utf8_decode(s + start, len - start, &c) != len - start || c < 0 || !is_white(c)) break;
        len = start;
    }
    return len;
}

lr_tok *lr_tok_from_text(const char *text, size_t len, lr_error *err) {
    if (!text && len) {
        lr__err(err, LR_EINVAL, "vocab: no text");
        return NULL;
    }
    /* Count lines as Rust's BufRead::lines does: a final line without \n
     * counts, an empty tail after the last \n does not. */
    size_t n_lines = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') n_lines++;
    if (len > 0 && text[len - 1] != '\n') n_lines++;
    if (n_lines == 0) {
        lr__err(err, LR_EFORMAT, "vocab: empty (one token a line expected)");
        return NULL;
    }
    /* Trie nodes <= len + 4 must fit the edge key (node * 256 + byte + 1). */
    if (len > (1u << 24) - 16) {
        lr__err(err, LR_ERANGE, "vocab: too large (%zu lines, %zu bytes; at most 16 MB)", n_lines, len);
        return NULL;
    }
    lr_tok *tok = lr__calloc(1, sizeof *tok);
    if (!tok) goto oom;
    tok->n_vocab = (int)n_lines;
    /* ~1.3 nodes per token in real vocabs (BERT's: 39,462 for 30,522);
     * the table grows if needed */
    size_t edge_cap = 1024;
    while (edge_cap < 2 * n_lines && edge_cap < 2 * (len + 4)) edge_cap *= 2;
    tok->strings = lr__malloc(len + n_lines + 1);
    tok->str_off = lr__alloc_array(n_lines, sizeof *tok->str_off);
    tok->str_len = lr__alloc_array(n_lines, sizeof *tok->str_len);
    tok->node_id = lr__alloc_array(len + 4, sizeof *tok->node_id);
    tok->edges = lr__calloc(edge_cap, sizeof *tok->edges);
    if (!tok->strings || !tok->str_off || !tok->str_len || !tok->node_id || !tok->edges) goto oom;
    tok->edge_mask = (uint32_t)(edge_cap - 1);
    tok->n_nodes = 1;
    tok->node_id[0] = -1;
    for (int b = 0; b < 256; b++) tok->root_kids[b] = tok->sharp_kids[b] = -1;
    /* "##" first, so that its children go to the direct table */
    tok->cont_root = -1;
    tok->cont_root = trie_walk(tok, "##", 2);
    if (tok->cont_root < 0) goto oom;

    size_t pos = 0, out = 0;
    for (size_t line = 0; line < n_lines; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t tlen = end - pos;
        if (tlen > 0 && text[pos + tlen - 1] == '\r') tlen--;
        /* almost every token is ASCII: check that first, utf8proc otherwise */
        int ascii = 1;
        for (size_t i = 0; i < tlen; i++) ascii &= (uint8_t)text[pos + i] < 0x80;
        if (!ascii && !lr__utf8_valid(text + pos, tlen)) {
            lr__err(err, LR_EPARSE, "vocab line %zu: invalid UTF-8", line + 1);
            lr_tok_free(tok);
            return NULL;
        }
        if (ascii) /* trim_end for ASCII: \t \n \v \f \r and space */
            while (tlen > 0 && (text[pos + tlen - 1] == ' ' ||
                                (text[pos + tlen - 1] >= 0x09 && text[pos + tlen - 1] <= 0x0D)))
                tlen--;
        else
            tlen = trim_end(text + pos, tlen);
        memcpy(tok->strings + out, text + pos, tlen);
        tok->strings[out + tlen] = '\0';
        tok->str_off[line] = (uint32_t)out;
        tok->str_len[line] = (uint32_t)tlen;
        /* A later duplicate wins, like HF's HashMap insert. */
        int32_t node = trie_walk(tok, text + pos, tlen);
        if (node < 0) goto oom;
        tok->node_id[node] = (int32_t)line;
        out += tlen + 1;
        pos = end + 1;
    }
    int rc = build_failure_links(tok, len);
    if (rc != 0) goto oom;
    for (int k = 0; k < LR_TOK_N_RESERVED; k++) {
        int id = lr_tok_id(tok, lr__tok_reserved[k], strlen(lr__tok_reserved[k]));
        if (k < 5) {
            if (id < 0) {
                lr__err(err, LR_EFORMAT, "vocab: no %s token (a BERT vocab needs [PAD] [UNK] [CLS] [SEP] [MASK])",
                        lr__tok_reserved[k]);
                lr_tok_free(tok);
                return NULL;
            }
            tok->special[k] = id;
        }
        if (id >= 0) {
            lr__tok_added *a = &tok->added;
            a->str[a->n] = lr__tok_reserved[k];
            a->len[a->n] = strlen(lr__tok_reserved[k]);
            a->id[a->n] = id;
            a->n++;
        }
    }
    return tok;
oom:
    lr_tok_free(tok);
    lr__err(err, LR_ENOMEM, "vocab: out of memory (%zu bytes of vocab)", len);
    return NULL;
}

lr_tok *lr_tok_load(const char *path, lr_error *err) {
    char *text;
    size_t len;
    if (lr__file_read_all(path, "vocab", LR_TOK_MAX_VOCAB_BYTES, &text, &len, err)) return NULL;
    lr__buf buf = {text, len, len + 1};
    lr_tok *tok = lr_tok_from_text(buf.data, buf.len, err);
    lr__buf_free(&buf);
    if (!tok && err) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        lr__err(err, err->code, "%.200s: %.300s", path, msg);
    }
    return tok;
}

int lr_tok_vocab_size(const lr_tok *tok) { return tok ? tok->n_vocab : 0; }

const char *lr_tok_token(const lr_tok *tok, int id, size_t *len) {
    if (!tok || id < 0 || id >= tok->n_vocab) return NULL;
    if (len) *len = tok->str_len[id];
    return tok->strings + tok->str_off[id];
}

int lr_tok_id(const lr_tok *tok, const char *token, size_t len) {
    if (!tok || (!token && len)) return -1;
    int32_t node = 0;
    for (size_t i = 0; i < len && node >= 0; i++) node = trie_child(tok, node, (uint8_t)token[i]);
    return node < 0 ? -1 : tok->node_id[node];
}

int lr_tok_special(const lr_tok *tok, int which) {
    if (!tok || which < 0 || which > LR_TOK_MASK) return -1;
    return tok->special[which];
}

const lr__tok_added *lr__tok_added_set(const lr_tok *tok) { return &tok->added; }

/* ------------------------------------------------------------- encoding */

typedef struct enc_state {
    const lr_tok *tok;
    int32_t *ids; /* content goes to ids[0..cap) */
    int n, cap;
    int reference; /* use the reference walk even when links exist */
} enc_state;

/* LinMaxMatch over one word (see build_failure_links): pieces into out;
 * returns their count, 0 when the word is [UNK]. */
static int wordpiece_fast(const lr_tok *tok, const char *word, size_t len, int32_t *out) {
    int n = 0;
    int32_t u = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t v;
        while ((v = trie_child(tok, u, (uint8_t)word[i])) < 0) {
            if (tok->fail[u] < 0) return 0;
            for (uint32_t k = 0; k < tok->pops_len[u]; k++) out[n++] = tok->pops[tok->pops_off[u] + k];
            u = tok->fail[u];
        }
        u = v;
    }
    while (u != tok->cont_root) {
        if (tok->fail[u] < 0) return 0;
        for (uint32_t k = 0; k < tok->pops_len[u]; k++) out[n++] = tok->pops[tok->pops_off[u] + k];
        u = tok->fail[u];
    }
    return n;
}

/* The reference: greedy longest match by walking the trie from each piece
 * start (HF's loop, without building substrings). Same contract. */
static int wordpiece_ref(const lr_tok *tok, const char *word, size_t len, int32_t *out) {
    int n = 0;
    size_t start = 0;
    while (start < len) {
        int32_t node = start == 0 ? 0 : tok->cont_root;
        int32_t best = -1;
        size_t best_end = start;
        for (size_t i = start; i < len && node >= 0; i++) {
            node = trie_child(tok, node, (uint8_t)word[i]);
            if (node >= 0 && tok->node_id[node] >= 0) {
                best = tok->node_id[node];
                best_end = i + 1;
            }
        }
        if (best < 0) return 0;
        out[n++] = best;
        start = best_end;
    }
    return n;
}

/* WordPiece on one word: greedy longest match, [UNK] for the whole word
 * when any part fails. Returns 1 when the output is full. */
static int enc_word(void *ctx, const char *word, size_t len, int n_chars) {
    enc_state *st = ctx;
    const lr_tok *tok = st->tok;
    int32_t pieces[LR_TOK_WORD_BYTES]; /* at most one piece per byte */
    int n_pieces = 0;
    if (word && n_chars <= LR_TOK_MAX_WORD_CHARS)
        n_pieces = tok->fail && !st->reference ? wordpiece_fast(tok, word, len, pieces)
                                               : wordpiece_ref(tok, word, len, pieces);
    if (n_pieces == 0) pieces[n_pieces++] = tok->special[LR_TOK_UNK];
    for (int k = 0; k < n_pieces; k++) {
        if (st->n >= st->cap) return 1;
        st->ids[st->n++] = pieces[k];
    }
    return st->n >= st->cap;
}

static int enc_added(void *ctx, int id) {
    enc_state *st = ctx;
    if (st->n >= st->cap) return 1;
    st->ids[st->n++] = id;
    return st->n >= st->cap;
}

int lr__tok_encode_with(const lr_tok *tok, const char *text, size_t len, int max_len, int32_t *ids,
                        int reference) {
    if (!tok || !ids || max_len < 2 || (!text && len)) return LR_EINVAL;
    enc_state st = {tok, ids + 1, 0, max_len - 2, reference};
    ids[0] = tok->special[LR_TOK_CLS];
    if (st.cap > 0) {
        lr__tok_sink sink = {enc_word, enc_added, &st};
        lr__tok_split(&tok->added, text, len, &sink);
    }
    ids[st.n + 1] = tok->special[LR_TOK_SEP];
    return st.n + 2;
}

int lr_tok_encode(const lr_tok *tok, const char *text, size_t len, int max_len, int32_t *ids) {
    return lr__tok_encode_with(tok, text, len, max_len, ids, 0);
}

int lr__tok_has_links(const lr_tok *tok) { return tok && tok->fail != NULL; }
