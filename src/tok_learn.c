/*
 * tok_learn.c — learning a WordPiece vocabulary from log lines.
 *
 * The trainer is the one Hugging Face's WordPieceTrainer runs (BPE merges
 * with a `##` continuation prefix), written for logrisk:
 *
 *  1. Words. Each (preprocessed) line goes through the tokenizer's own
 *     splitter (lr__tok_split: added tokens, BertNormalizer,
 *     BertPreTokenizer), so the trainer sees exactly the words the encoder
 *     will cut. Masks and specials are skipped; words over 100 chars too
 *     (they are [UNK] whatever the vocab). Distinct words are counted.
 *  2. Alphabet. Every word becomes symbols: its first char as is, each
 *     following char as "##c". The distinct symbols are the alphabet, kept
 *     whole unless it alone exceeds the target size (then the most frequent
 *     symbols stay and words using the others are left out of the merges).
 *  3. Merges. Repeatedly the most frequent adjacent symbol pair (a, b) —
 *     counted over words weighted by frequency; ties to the older pair — is
 *     merged into a new symbol a + b (b without its "##"), which joins the
 *     vocab, until the vocab has the target size or no pair occurs at least
 *     `min_freq` times. Pair counts are updated incrementally: each pair
 *     keeps the list of words it occurs in, a lazy max-heap holds the
 *     candidates (a popped entry whose count went stale is re-pushed).
 *
 * Output (HF vocab.txt, one token a line, line number = id): [PAD] [UNK]
 * [CLS] [SEP] [MASK], <TIME> <ID> <IP> <PID> <PATH>, the alphabet (most
 * frequent first), then the merged tokens in the order they were learned.
 * Greedy longest-match WordPiece with such a vocab never needs [UNK] for a
 * word made of alphabet chars.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "tok.h"
#include "util.h"

/* ------------------------------------------------------- string table */

/* Interned byte strings: index -> (offset, length) in one arena; a hash
 * index finds a string's index. */
typedef struct strtab {
    lr__buf arena;
    uint32_t *off, *len;
    int64_t *count; /* per string: frequency (words) or total uses (symbols) */
    int n, cap;
    int32_t *slots; /* index + 1, 0 empty */
    uint32_t mask;
} strtab;

static uint32_t hash_bytes(const char *s, size_t len) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 0x01000193u;
    return h;
}

static void strtab_free(strtab *t) {
    lr__buf_free(&t->arena);
    lr__free(t->off);
    lr__free(t->len);
    lr__free(t->count);
    lr__free(t->slots);
    memset(t, 0, sizeof *t);
}

static const char *strtab_str(const strtab *t, int i) { return t->arena.data + t->off[i]; }

static int strtab_grow_slots(strtab *t) {
    uint32_t n_slots = t->mask ? (t->mask + 1) * 2 : 1024;
    int32_t *slots = lr__calloc(n_slots, sizeof *slots);
    if (!slots) return LR_ENOMEM;
    for (int i = 0; i < t->n; i++) {
        uint32_t s = hash_bytes(strtab_str(t, i), t->len[i]) & (n_slots - 1);
        while (slots[s]) s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    lr__free(t->slots);
    t->slots = slots;
    t->mask = n_slots - 1;
    return 0;
}

/* Index of s; added (count 0) when absent. -1 on out of memory. */
static int strtab_intern(strtab *t, const char *s, size_t len, int *is_new) {
    if (is_new) *is_new = 0;
    if ((uint32_t)(t->n + 1) * 2 > t->mask && strtab_grow_slots(t) != 0) return -1;
    uint32_t slot = hash_bytes(s, len) & t->mask;
    while (t->slots[slot]) {
        int i = t->slots[slot] - 1;
        if (t->len[i] == len && memcmp(strtab_str(t, i), s, len) == 0) return i;
        slot = (slot + 1) & t->mask;
    }
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 1024;
        uint32_t *off = lr__realloc(t->off, (size_t)cap * sizeof *off);
        if (!off) return -1;
        t->off = off;
        uint32_t *ln = lr__realloc(t->len, (size_t)cap * sizeof *ln);
        if (!ln) return -1;
        t->len = ln;
        int64_t *cnt = lr__realloc(t->count, (size_t)cap * sizeof *cnt);
        if (!cnt) return -1;
        t->count = cnt;
        t->cap = cap;
    }
    if (t->arena.len + len + 1 > UINT32_MAX) return -1;
    size_t off = t->arena.len;
    if (lr__buf_put(&t->arena, s, len) != 0 || lr__buf_putc(&t->arena, '\0') != 0) return -1;
    t->off[t->n] = (uint32_t)off;
    t->len[t->n] = (uint32_t)len;
    t->count[t->n] = 0;
    t->slots[slot] = t->n + 1;
    if (is_new) *is_new = 1;
    return t->n++;
}

/* ------------------------------------------------------------ learner */

struct lr_vocab_learner {
    strtab words; /* distinct words and their frequencies */
    lr__tok_added reserved;
    int failed;   /* an allocation failed while adding */
};

lr_vocab_learner *lr_vocab_learner_new(lr_error *err) {
    lr_vocab_learner *l = lr__calloc(1, sizeof *l);
    if (!l) {
        lr__err(err, LR_ENOMEM, "vocab learner: out of memory");
        return NULL;
    }
    lr__buf_init(&l->words.arena);
    for (int k = 0; k < LR_TOK_N_RESERVED; k++) {
        l->reserved.str[k] = lr__tok_reserved[k];
        l->reserved.len[k] = strlen(lr__tok_reserved[k]);
        l->reserved.id[k] = k;
    }
    l->reserved.n = LR_TOK_N_RESERVED;
    return l;
}

void lr_vocab_learner_free(lr_vocab_learner *l) {
    if (!l) return;
    strtab_free(&l->words);
    lr__free(l);
}

static int count_word(void *ctx, const char *word, size_t len, int n_chars) {
    lr_vocab_learner *l = ctx;
    (void)n_chars;
    if (!word) return 0; /* longer than 100 chars: [UNK] anyway */
    int i = strtab_intern(&l->words, word, len, NULL);
    if (i < 0) {
        l->failed = 1;
        return 1;
    }
    l->words.count[i]++;
    return 0;
}

int lr_vocab_learner_add(lr_vocab_learner *l, const char *text, size_t len, lr_error *err) {
    if (!l || (!text && len)) return lr__err(err, LR_EINVAL, "vocab learner: no text");
    lr__tok_sink sink = {count_word, NULL, l};
    lr__tok_split(&l->reserved, text, len, &sink);
    if (l->failed) return lr__err(err, LR_ENOMEM, "vocab learner: out of memory");
    return 0;
}

/* ------------------------------------------------------------- merges */

typedef struct pair {
    int32_t a, b;
    int64_t count;
    int32_t *where; /* words it occurs in (may repeat) */
    int n_where, cap_where;
    int stamp;      /* last merge that queued it */
} pair;

typedef struct heap_ent {
    int64_t count;
    int32_t pair;
} heap_ent;

typedef struct trainer {
    strtab syms;
    int32_t **word_syms; /* per word: its symbols */
    int *word_len;
    int64_t *word_freq;
    int *word_stamp;
    int n_words;
    pair *pairs;
    int n_pairs, cap_pairs;
    int32_t *pair_slots; /* pair index + 1 */
    uint32_t pair_mask;
    heap_ent *heap;
    int n_heap, cap_heap;
    int32_t *touched; /* pairs with the new symbol, to queue after a merge */
    int n_touched, cap_touched;
} trainer;

static uint32_t pair_hash(int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    k *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(k >> 32);
}

static int pair_slots_grow(trainer *t) {
    uint32_t n_slots = t->pair_mask ? (t->pair_mask + 1) * 2 : 4096;
    int32_t *slots = lr__calloc(n_slots, sizeof *slots);
    if (!slots) return LR_ENOMEM;
    for (int i = 0; i < t->n_pairs; i++) {
        uint32_t s = pair_hash(t->pairs[i].a, t->pairs[i].b) & (n_slots - 1);
        while (slots[s]) s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    lr__free(t->pair_slots);
    t->pair_slots = slots;
    t->pair_mask = n_slots - 1;
    return 0;
}

/* Index of pair (a, b), created when `create`; -1 absent or no memory. */
static int pair_get(trainer *t, int32_t a, int32_t b, int create) {
    if (create && (uint32_t)(t->n_pairs + 1) * 2 > t->pair_mask && pair_slots_grow(t) != 0) return -1;
    if (!t->pair_slots) return -1;
    uint32_t s = pair_hash(a, b) & t->pair_mask;
    while (t->pair_slots[s]) {
        pair *p = &t->pairs[t->pair_slots[s] - 1];
        if (p->a == a && p->b == b) return t->pair_slots[s] - 1;
        s = (s + 1) & t->pair_mask;
    }
    if (!create) return -1;
    if (t->n_pairs == t->cap_pairs) {
        int cap = t->cap_pairs ? t->cap_pairs * 2 : 4096;
        pair *np = lr__realloc(t->pairs, (size_t)cap * sizeof *np);
        if (!np) return -1;
        t->pairs = np;
        t->cap_pairs = cap;
    }
    pair *p = &t->pairs[t->n_pairs];
    memset(p, 0, sizeof *p);
    p->a = a;
    p->b = b;
    t->pair_slots[s] = t->n_pairs + 1;
    return t->n_pairs++;
}

static int pair_add_word(pair *p, int32_t w) {
    if (p->n_where && p->where[p->n_where - 1] == w) return 0;
    if (p->n_where == p->cap_where) {
        int cap = p->cap_where ? p->cap_where * 2 : 4;
        int32_t *nw = lr__realloc(p->where, (size_t)cap * sizeof *nw);
        if (!nw) return LR_ENOMEM;
        p->where = nw;
        p->cap_where = cap;
    }
    p->where[p->n_where++] = w;
    return 0;
}

/* Heap order: higher count first, then the older (lower index) pair. */
static int heap_before(const heap_ent *x, const heap_ent *y) {
    return x->count > y->count || (x->count == y->count && x->pair < y->pair);
}

static int heap_push(trainer *t, int64_t count, int32_t pair_index) {
    if (t->n_heap == t->cap_heap) {
        int cap = t->cap_heap ? t->cap_heap * 2 : 4096;
        heap_ent *nh = lr__realloc(t->heap, (size_t)cap * sizeof *nh);
        if (!nh) return LR_ENOMEM;
        t->heap = nh;
        t->cap_heap = cap;
    }
    int i = t->n_heap++;
    t->heap[i] = (heap_ent){count, pair_index};
    while (i > 0 && heap_before(&t->heap[i], &t->heap[(i - 1) / 2])) {
        heap_ent tmp = t->heap[i];
        t->heap[i] = t->heap[(i - 1) / 2];
        t->heap[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return 0;
}

static heap_ent heap_pop(trainer *t) {
    heap_ent top = t->heap[0];
    t->heap[0] = t->heap[--t->n_heap];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n_heap && heap_before(&t->heap[l], &t->heap[m])) m = l;
        if (r < t->n_heap && heap_before(&t->heap[r], &t->heap[m])) m = r;
        if (m == i) break;
        heap_ent tmp = t->heap[i];
        t->heap[i] = t->heap[m];
        t->heap[m] = tmp;
        i = m;
    }
    return top;
}

static void trainer_free(trainer *t) {
    strtab_free(&t->syms);
    for (int w = 0; w < t->n_words; w++) lr__free(t->word_syms ? t->word_syms[w] : NULL);
    lr__free(t->word_syms);
    lr__free(t->word_len);
    lr__free(t->word_freq);
    lr__free(t->word_stamp);
    for (int p = 0; p < t->n_pairs; p++) lr__free(t->pairs[p].where);
    lr__free(t->pairs);
    lr__free(t->pair_slots);
    lr__free(t->heap);
    lr__free(t->touched);
}

/* Length in bytes of the UTF-8 char starting with byte b. */
static size_t char_len(uint8_t b) {
    if (b < 0x80) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    return 4;
}

typedef struct sym_order {
    int64_t count;
    int32_t sym;
} sym_order;

static int cmp_sym_order(const void *x, const void *y) {
    const sym_order *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return a->sym - b->sym;
}

/* Split the words into symbols and choose the alphabet. vocab_out gets the
 * alphabet's symbol ids in vocab order; returns its size or -1 (no memory). */
static int build_alphabet(trainer *t, const strtab *words, int max_alphabet, int32_t **alpha_out) {
    char tmp[8];
    t->n_words = words->n;
    t->word_syms = lr__calloc((size_t)LR_MAX(words->n, 1), sizeof *t->word_syms);
    t->word_len = lr__calloc((size_t)LR_MAX(words->n, 1), sizeof *t->word_len);
    t->word_freq = lr__calloc((size_t)LR_MAX(words->n, 1), sizeof *t->word_freq);
    t->word_stamp = lr__calloc((size_t)LR_MAX(words->n, 1), sizeof *t->word_stamp);
    if (!t->word_syms || !t->word_len || !t->word_freq || !t->word_stamp) return -1;
    lr__buf_init(&t->syms.arena);
    for (int w = 0; w < words->n; w++) {
        const char *s = strtab_str(words, w);
        size_t len = words->len[w];
        t->word_syms[w] = lr__alloc_array(len ? len : 1, sizeof(int32_t));
        if (!t->word_syms[w]) return -1;
        t->word_freq[w] = words->count[w];
        int n = 0;
        for (size_t i = 0; i < len;) {
            size_t cl = LR_MIN(char_len((uint8_t)s[i]), len - i);
            size_t tl = 0;
            if (i > 0) {
                memcpy(tmp, "##", 2);
                tl = 2;
            }
            memcpy(tmp + tl, s + i, cl);
            int sym = strtab_intern(&t->syms, tmp, tl + cl, NULL);
            if (sym < 0) return -1;
            t->syms.count[sym] += words->count[w];
            t->word_syms[w][n++] = sym;
            i += cl;
        }
        t->word_len[w] = n;
    }
    int n_alpha = t->syms.n;
    sym_order *order = lr__alloc_array((size_t)LR_MAX(n_alpha, 1), sizeof *order);
    int32_t *alpha = lr__alloc_array((size_t)LR_MAX(n_alpha, 1), sizeof *alpha);
    if (!order || !alpha) {
        lr__free(order);
        lr__free(alpha);
        return -1;
    }
    for (int i = 0; i < n_alpha; i++) order[i] = (sym_order){t->syms.count[i], i};
    qsort(order, (size_t)n_alpha, sizeof *order, cmp_sym_order);
    int keep = LR_MIN(n_alpha, max_alphabet);
    for (int i = 0; i < keep; i++) alpha[i] = order[i].sym;
    /* Symbols cut from the alphabet take their words out of the merges. */
    for (int i = keep; i < n_alpha; i++) t->syms.count[order[i].sym] = -1;
    for (int w = 0; w < t->n_words; w++)
        for (int k = 0; k < t->word_len[w]; k++)
            if (t->syms.count[t->word_syms[w][k]] < 0) {
                t->word_freq[w] = 0;
                break;
            }
    lr__free(order);
    *alpha_out = alpha;
    return keep;
}

/* Merge pair (a, b) -> c in word w; update pair counts and where-lists.
 * Returns 0, or -1 when out of memory. */
static int merge_word(trainer *t, int32_t w, int32_t a, int32_t b, int32_t c, int merge_no) {
    int32_t *s = t->word_syms[w];
    int n = t->word_len[w];
    int64_t f = t->word_freq[w];
    int found = 0;
    for (int i = 0; i + 1 < n; i++)
        if (s[i] == a && s[i + 1] == b) found = 1;
    if (!found) return 0;
    for (int i = 0; i + 1 < n; i++) {
        int p = pair_get(t, s[i], s[i + 1], 0);
        if (p >= 0) t->pairs[p].count -= f;
    }
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[o++] = c;
            i++;
        } else {
            s[o++] = s[i];
        }
    }
    t->word_len[w] = n = o;
    for (int i = 0; i + 1 < n; i++) {
        int p = pair_get(t, s[i], s[i + 1], 1);
        if (p < 0) return -1;
        t->pairs[p].count += f;
        if (s[i] == c || s[i + 1] == c) {
            if (pair_add_word(&t->pairs[p], w) != 0) return -1;
            if (t->pairs[p].stamp != merge_no) {
                t->pairs[p].stamp = merge_no;
                if (t->n_touched == t->cap_touched) {
                    int cap = t->cap_touched ? t->cap_touched * 2 : 1024;
                    int32_t *nt = lr__realloc(t->touched, (size_t)cap * sizeof *nt);
                    if (!nt) return -1;
                    t->touched = nt;
                    t->cap_touched = cap;
                }
                t->touched[t->n_touched++] = p;
            }
        }
    }
    return 0;
}

int lr_vocab_learner_save(lr_vocab_learner *l, int vocab_size, int min_freq, const char *path, lr_error *err) {
    if (!l || !path) return lr__err(err, LR_EINVAL, "vocab learner: no output path");
    if (vocab_size < LR_TOK_N_RESERVED + 1)
        return lr__err(err, LR_ERANGE, "vocab size %d too small (at least %d: 10 reserved tokens + 1)",
                       vocab_size, LR_TOK_N_RESERVED + 1);
    if (min_freq < 1) min_freq = 1;
    trainer t;
    memset(&t, 0, sizeof t);
    lr__buf out;
    lr__buf_init(&out);
    int32_t *alpha = NULL;
    int rc = LR_ENOMEM;
    int n_alpha = build_alphabet(&t, &l->words, vocab_size - LR_TOK_N_RESERVED, &alpha);
    if (n_alpha < 0) goto done;
    for (int k = 0; k < LR_TOK_N_RESERVED; k++)
        if (lr__buf_puts(&out, lr__tok_reserved[k]) || lr__buf_putc(&out, '\n')) goto done;
    for (int i = 0; i < n_alpha; i++)
        if (lr__buf_puts(&out, strtab_str(&t.syms, alpha[i])) || lr__buf_putc(&out, '\n')) goto done;
    /* The vocab so far, to know whether a merged string is new. */
    int n_vocab = LR_TOK_N_RESERVED + n_alpha;
    char *in_vocab = lr__calloc((size_t)t.syms.n + (size_t)vocab_size + 1, 1);
    size_t in_vocab_cap = (size_t)t.syms.n + (size_t)vocab_size + 1;
    if (!in_vocab) goto done;
    for (int i = 0; i < n_alpha; i++) in_vocab[alpha[i]] = 1;

    /* Initial pair counts. */
    for (int w = 0; w < t.n_words; w++) {
        if (t.word_freq[w] == 0) continue;
        for (int i = 0; i + 1 < t.word_len[w]; i++) {
            int p = pair_get(&t, t.word_syms[w][i], t.word_syms[w][i + 1], 1);
            if (p < 0 || pair_add_word(&t.pairs[p], w) != 0) goto done_iv;
            t.pairs[p].count += t.word_freq[w];
        }
    }
    for (int p = 0; p < t.n_pairs; p++)
        if (heap_push(&t, t.pairs[p].count, p) != 0) goto done_iv;

    char *merged = NULL;
    size_t merged_cap = 0;
    for (int merge_no = 0; n_vocab < vocab_size && t.n_heap > 0;) {
        heap_ent top = heap_pop(&t);
        pair *p = &t.pairs[top.pair];
        if (top.count != p->count) { /* stale: re-queue with the true count */
            if (p->count >= min_freq && heap_push(&t, p->count, top.pair) != 0) goto done_m;
            continue;
        }
        if (p->count < min_freq) break;
        int32_t a = p->a, b = p->b;
        size_t la = t.syms.len[a], lb = t.syms.len[b] - 2; /* b is "##..." */
        if (la + lb + 1 > merged_cap) {
            merged_cap = (la + lb + 1) * 2;
            char *nm = lr__realloc(merged, merged_cap);
            if (!nm) goto done_m;
            merged = nm;
        }
        memcpy(merged, strtab_str(&t.syms, a), la);
        memcpy(merged + la, strtab_str(&t.syms, b) + 2, lb);
        int c = strtab_intern(&t.syms, merged, la + lb, NULL);
        if (c < 0) goto done_m;
        if ((size_t)c >= in_vocab_cap) {
            char *niv = lr__realloc(in_vocab, (size_t)c * 2 + 1);
            if (!niv) goto done_m;
            memset(niv + in_vocab_cap, 0, (size_t)c * 2 + 1 - in_vocab_cap);
            in_vocab = niv;
            in_vocab_cap = (size_t)c * 2 + 1;
        }
        if (!in_vocab[c]) {
            in_vocab[c] = 1;
            n_vocab++;
            if (lr__buf_put(&out, merged, la + lb) || lr__buf_putc(&out, '\n')) goto done_m;
        }
        merge_no++;
        /* The where-list can grow while we walk it (new pairs only), so
         * walk a snapshot of its length; pointers are re-read each time. */
        int n_where = p->n_where;
        for (int k = 0; k < n_where; k++) {
            int32_t w = t.pairs[top.pair].where[k];
            if (t.word_stamp[w] == merge_no || t.word_freq[w] == 0) continue;
            t.word_stamp[w] = merge_no;
            if (merge_word(&t, w, a, b, c, merge_no) != 0) goto done_m;
        }
        for (int k = 0; k < t.n_touched; k++)
            if (heap_push(&t, t.pairs[t.touched[k]].count, t.touched[k]) != 0) goto done_m;
        t.n_touched = 0;
    }
    rc = 0;
done_m:
    lr__free(merged);
done_iv:
    lr__free(in_vocab);
done:
    if (rc == LR_ENOMEM) {
        lr__err(err, LR_ENOMEM, "vocab learner: out of memory");
    } else {
        rc = lr__file_write_atomic(path, out.data ? out.data : "", out.len, err);
    }
    lr__free(alpha);
    lr__buf_free(&out);
    trainer_free(&t);
    return rc;
}

/* Feed one raw line: masked first unless prep is NULL. */
static int learn_line(lr_vocab_learner *l, lr_prep *prep, const char *line, size_t len, lr_error *err) {
    if (prep) {
        lr_line_info info;
        if (lr_prep_line(prep, line, len, &info) != 0)
            return lr__err(err, LR_ENOMEM, "vocab: out of memory while preprocessing");
        line = info.text;
        len = info.text_len;
    }
    return lr_vocab_learner_add(l, line, len, err);
}

int lr_vocab_learn_events(lr_events *evs, const lr_rules *rules, int vocab_size, int min_freq,
                          const char *out_path, lr_error *err) {
    lr_prep *prep = NULL;
    lr_vocab_learner *l = lr_vocab_learner_new(err);
    int rc = l ? 0 : LR_ENOMEM;
    if (rc == 0 && rules && !(prep = lr_prep_new(rules, err))) rc = err ? err->code : LR_ENOMEM;
    lr__buf text;
    lr__buf_init(&text);
    lr_event ev;
    int got;
    while (rc == 0 && (got = lr_events_next(evs, &ev, err)) != 0) {
        if (got < 0) {
            rc = got;
            break;
        }
        /* the event's rendering: a raw line renders as itself */
        size_t n = lr_event_render(&ev, NULL, 0, NULL);
        lr__buf_clear(&text);
        rc = lr__buf_reserve(&text, n + 1);
        if (rc == 0) {
            lr_event_render(&ev, text.data, n + 1, NULL);
            rc = learn_line(l, prep, text.data, n, err);
        }
    }
    if (rc == LR_ENOMEM && err && err->code != LR_ENOMEM) lr__err(err, LR_ENOMEM, "vocab: out of memory");
    if (rc == 0) rc = lr_vocab_learner_save(l, vocab_size, min_freq, out_path, err);
    lr__buf_free(&text);
    lr_prep_free(prep);
    lr_vocab_learner_free(l);
    return rc;
}

int lr_vocab_learn_file(const char *corpus_path, const lr_rules *rules, int vocab_size, int min_freq,
                        const char *out_path, lr_error *err) {
    int fd = strcmp(corpus_path, "-") == 0 ? 0 : open(corpus_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lr__err(err, LR_EIO, "cannot open corpus '%s': %s", corpus_path, strerror(errno));
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = LR_REC_RAW; /* whole raw lines, no cap, as they are */
    ro.max_bytes = SIZE_MAX / 8;
    lr_records *recs = lr_records_new(fd, &ro, err);
    lr_events *evs = recs ? lr_events_new(recs, NULL, err) : NULL;
    int rc = evs ? lr_vocab_learn_events(evs, rules, vocab_size, min_freq, out_path, err) : (err ? err->code : LR_ENOMEM);
    lr_events_free(evs);
    lr_records_free(recs);
    if (fd > 0) close(fd);
    return rc;
}
