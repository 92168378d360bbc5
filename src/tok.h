/*
 * tok.h — internals of the tokenizer shared between tok.c (vocabulary,
 * normaliser, WordPiece) and tok_learn.c (vocabulary learning).
 *
 * The public API is the "tokenizer" section of include/logrisk.h. What is
 * here is the one piece both files need: the splitter that turns text into
 * normalised words exactly like Hugging Face's added-token extraction +
 * BertNormalizer + BertPreTokenizer, so that the trainer counts the very
 * words the encoder will later cut into pieces.
 */
#ifndef LR_TOK_H
#define LR_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

/* WordPiece's max_input_chars_per_word: a longer word is one [UNK]. */
#define LR_TOK_MAX_WORD_CHARS 100
/* A vocab.txt file larger than this is refused (BERT's is 232 KB). */
#define LR_TOK_MAX_VOCAB_BYTES (64u << 20)
/* Bytes that can hold a word of LR_TOK_MAX_WORD_CHARS normalised chars. */
#define LR_TOK_WORD_BYTES (LR_TOK_MAX_WORD_CHARS * 4 + 4)

/* Tokens never split and matched in the raw text before normalisation (HF
 * added tokens with normalized=false): the five specials and five masks. */
#define LR_TOK_N_RESERVED 10
extern const char *const lr__tok_reserved[LR_TOK_N_RESERVED];

/* A set of added tokens: strings (not owned) and the id each one yields. */
typedef struct lr__tok_added {
    int n;
    const char *str[LR_TOK_N_RESERVED];
    size_t len[LR_TOK_N_RESERVED];
    int id[LR_TOK_N_RESERVED];
} lr__tok_added;

/* Receives the splitter's output, in order. `word` callback: one
 * normalised word (valid UTF-8, `len` bytes, `n_chars` code points); when
 * n_chars > LR_TOK_MAX_WORD_CHARS the bytes are not kept and word is NULL.
 * `added` callback: an added token matched in the raw text. Either returns
 * non-zero to stop the split early. */
typedef struct lr__tok_sink {
    int (*word)(void *ctx, const char *word, size_t len, int n_chars);
    int (*added)(void *ctx, int id);
    void *ctx;
} lr__tok_sink;

/* Split `text` (any bytes; invalid UTF-8 is dropped like U+FFFD is) into
 * added tokens and normalised words. Allocates nothing; uses ~1 KB of stack.
 * `added` may be NULL (no added tokens). Returns 1 when the sink stopped
 * it, else 0. */
int lr__tok_split(const lr__tok_added *added, const char *text, size_t len, const lr__tok_sink *sink);

/* What BertNormalizer makes of the single code point `cp` (like HF's
 * normalizeString): up to `cap` code points into `out`; returns how many
 * (0 when it is removed). Used by the tests against Hugging Face. */
int lr__tok_norm_char(int32_t cp, int32_t *out, int cap);

/* BertPreTokenizer's view of a code point: 0 part of a word, 1 whitespace
 * (split and dropped), 2 punctuation (a word of its own). */
int lr__tok_char_class(int32_t cp);

/* Where Hugging Face's Unicode tables (older than utf8proc's) disagree
 * with utf8proc: tok_unicode.c, measured against HF. Each returns -1 when
 * utf8proc's answer stands, else HF's answer. */
enum { LR__FIX_OTHER, LR__FIX_PUNCT, LR__FIX_MN };
int lr__tok_unicode_fix(int32_t cp, int what);
int32_t lr__tok_lower_fix(int32_t cp);
int lr__tok_nfd_fix(int32_t cp, int32_t *out, int cap);

/* lr_tok_encode with a choice of WordPiece matcher: reference != 0 forces
 * the reference walk (greedy longest match from each piece start) instead
 * of the linear-time LinMaxMatch; the tests compare the two. */
int lr__tok_encode_with(const lr_tok *tok, const char *text, size_t len, int max_len, int32_t *ids,
                        int reference);
/* 1 when the linear-time links were built (0: a vocab too hostile for them). */
int lr__tok_has_links(const lr_tok *tok);

/* The added-token set of a loaded tokenizer (reserved tokens it has). */
const lr__tok_added *lr__tok_added_set(const lr_tok *tok);

#endif /* LR_TOK_H */
