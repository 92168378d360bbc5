/*
 * utf8.h — the one UTF-8 decoder of logrisk: decode one code point,
 * validate, repair, encode. Every module that checks or repairs text bytes
 * uses these, so "valid" and "what an invalid byte becomes" mean the same
 * everywhere (the rules, the scorer's echo, JSON, the tokenizer).
 *
 * Valid UTF-8 is RFC 3629: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF, no truncated sequence.
 *
 * The replacement policy (the only one): each maximal invalid subpart
 * becomes one U+FFFD. A maximal subpart is a lead byte followed by the
 * continuation bytes that could still start a valid sequence; when the next
 * byte cannot continue it, the subpart ends there (at least one byte). This
 * is Unicode's "substitution of maximal subparts" (Unicode 15, chapter 3,
 * "U+FFFD Substitution of Maximal Subparts"), which Python's
 * bytes.decode('utf-8', 'replace'), WHATWG's decoder and ICU follow:
 *     E2 82 41    -> U+FFFD 'A'          (one for the truncated E2 82)
 *     E0 80 80    -> U+FFFD U+FFFD U+FFFD (E0 80 can start nothing)
 *     ED A0 80    -> three U+FFFD         (a surrogate)
 *     F4 90 80 80 -> four U+FFFD          (above U+10FFFF)
 *     C0 AF, FF   -> one U+FFFD per byte  (bytes that never start a sequence)
 * tests/test_utf8.c checks it against Python's output on a table of cases.
 */
#ifndef LR_UTF8_H
#define LR_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define LR__UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Decode the code point at s (n >= 1 bytes available). Returns the bytes it
 * takes (1..4) and sets *cp to the code point; for invalid bytes returns the
 * length of the maximal invalid subpart there (1..3) and sets *cp to -1.
 * n == 0: returns 0, *cp = -1. */
size_t lr__utf8_decode(const char *s, size_t n, int32_t *cp);

/* The length of the longest valid UTF-8 prefix of s (== len when valid). */
size_t lr__utf8_valid_prefix(const char *s, size_t len);

/* 1 when all `len` bytes of s are valid UTF-8, else 0. */
int lr__utf8_valid(const char *s, size_t len);

/* Append s[0..len) to out as valid UTF-8: valid sequences as they are,
 * each maximal invalid subpart as one U+FFFD. Returns 0 or LR_ENOMEM. */
int lr__utf8_repair(lr__buf *out, const char *s, size_t len);

/* Write code point cp as UTF-8 to out (room for 4 bytes); a surrogate or a
 * value above U+10FFFF is written as U+FFFD. Returns the bytes written. */
size_t lr__utf8_encode(uint32_t cp, char out[4]);

#endif /* LR_UTF8_H */
