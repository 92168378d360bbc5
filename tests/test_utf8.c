/*
 * test_utf8.c — the one UTF-8 decoder (src/utf8.c) against Python's
 * bytes.decode('utf-8', 'replace'): a table of inputs (every single-byte
 * class alone and before ASCII, valid sequences at each length boundary,
 * overlongs, surrogates, values above U+10FFFF, 5- and 6-byte forms,
 * sequences truncated at the end and before other bytes) with Python's
 * repaired bytes and the offset of its first decode error, generated once
 * and kept here as expected values. Repair, validation and a walk with
 * lr__utf8_decode must all agree with them; encode/decode round-trip every
 * code point.
 */
#include "t.h"

#include "utf8.h"

typedef struct utf8_case {
    const char *in;
    size_t in_len;
    const char *out; /* Python: b.decode('utf-8', 'replace').encode('utf-8') */
    size_t out_len;
    size_t valid_prefix; /* UnicodeDecodeError.start, or len(b) when valid */
    const char *why;
} utf8_case;

/* generated once by Python 3 (bytes.decode('utf-8', 'replace').encode('utf-8')) */
static const utf8_case cases[] = {
    {"\x00", 1, "\x00", 1, 1, "NUL"},
    {"\x00" "A", 2, "\x00" "A", 2, 2, "NUL then A"},
    {"A", 1, "A", 1, 1, "ASCII"},
    {"AA", 2, "AA", 2, 2, "ASCII then A"},
    {"\x7F", 1, "\x7F", 1, 1, "DEL"},
    {"\x7F" "A", 2, "\x7F" "A", 2, 2, "DEL then A"},
    {"\x80", 1, "\xEF\xBF\xBD", 3, 0, "lone continuation 80"},
    {"\x80" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "lone continuation 80 then A"},
    {"\xBF", 1, "\xEF\xBF\xBD", 3, 0, "lone continuation BF"},
    {"\xBF" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "lone continuation BF then A"},
    {"\xC0", 1, "\xEF\xBF\xBD", 3, 0, "C0 never valid"},
    {"\xC0" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "C0 never valid then A"},
    {"\xC1", 1, "\xEF\xBF\xBD", 3, 0, "C1 never valid"},
    {"\xC1" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "C1 never valid then A"},
    {"\xC2", 1, "\xEF\xBF\xBD", 3, 0, "2-byte lead, truncated"},
    {"\xC2" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "2-byte lead, truncated then A"},
    {"\xDF", 1, "\xEF\xBF\xBD", 3, 0, "2-byte lead DF, truncated"},
    {"\xDF" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "2-byte lead DF, truncated then A"},
    {"\xE0", 1, "\xEF\xBF\xBD", 3, 0, "E0 truncated"},
    {"\xE0" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "E0 truncated then A"},
    {"\xE1", 1, "\xEF\xBF\xBD", 3, 0, "3-byte lead, truncated"},
    {"\xE1" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "3-byte lead, truncated then A"},
    {"\xED", 1, "\xEF\xBF\xBD", 3, 0, "ED truncated"},
    {"\xED" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "ED truncated then A"},
    {"\xEF", 1, "\xEF\xBF\xBD", 3, 0, "EF truncated"},
    {"\xEF" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "EF truncated then A"},
    {"\xF0", 1, "\xEF\xBF\xBD", 3, 0, "F0 truncated"},
    {"\xF0" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "F0 truncated then A"},
    {"\xF4", 1, "\xEF\xBF\xBD", 3, 0, "F4 truncated"},
    {"\xF4" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "F4 truncated then A"},
    {"\xF5", 1, "\xEF\xBF\xBD", 3, 0, "F5 never valid"},
    {"\xF5" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "F5 never valid then A"},
    {"\xF8", 1, "\xEF\xBF\xBD", 3, 0, "F8 never valid"},
    {"\xF8" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "F8 never valid then A"},
    {"\xFE", 1, "\xEF\xBF\xBD", 3, 0, "FE never valid"},
    {"\xFE" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "FE never valid then A"},
    {"\xFF", 1, "\xEF\xBF\xBD", 3, 0, "FF never valid"},
    {"\xFF" "A", 2, "\xEF\xBF\xBD" "A", 4, 0, "FF never valid then A"},
    {"\xC2\x80", 2, "\xC2\x80", 2, 2, "U+0080"},
    {"\xDF\xBF", 2, "\xDF\xBF", 2, 2, "U+07FF"},
    {"\xE0\xA0\x80", 3, "\xE0\xA0\x80", 3, 3, "U+0800"},
    {"\xED\x9F\xBF", 3, "\xED\x9F\xBF", 3, 3, "U+D7FF"},
    {"\xEE\x80\x80", 3, "\xEE\x80\x80", 3, 3, "U+E000"},
    {"\xEF\xBF\xBD", 3, "\xEF\xBF\xBD", 3, 3, "U+FFFD itself"},
    {"\xEF\xBF\xBF", 3, "\xEF\xBF\xBF", 3, 3, "U+FFFF"},
    {"\xF0\x90\x80\x80", 4, "\xF0\x90\x80\x80", 4, 4, "U+10000"},
    {"\xF4\x8F\xBF\xBF", 4, "\xF4\x8F\xBF\xBF", 4, 4, "U+10FFFF"},
    {"h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80", 18, "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80", 18, 18, "mixed text"},
    {"\xC0\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 6, 0, "overlong NUL C0 80"},
    {"\xC1\xBF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 6, 0, "overlong C1 BF"},
    {"\xE0\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9, 0, "overlong E0 80 80"},
    {"\xE0\x9F\xBF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9, 0, "overlong E0 9F BF"},
    {"\xF0\x80\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12, 0, "overlong F0 80 80 80"},
    {"\xF0\x8F\xBF\xBF", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12, 0, "overlong F0 8F BF BF"},
    {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9, 0, "surrogate D800"},
    {"\xED\xBF\xBF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9, 0, "surrogate DFFF"},
    {"\xED\xA0\xBD\xED\xB8\x80", 6, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 18, 0, "surrogate pair in CESU-8"},
    {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12, 0, "U+110000"},
    {"\xF5\x80\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12, 0, "F5 80 80 80"},
    {"\xF7\xBF\xBF\xBF", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12, 0, "F7 BF BF BF"},
    {"\xF8\x88\x80\x80\x80", 5, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 15, 0, "5-byte form"},
    {"\xFC\x84\x80\x80\x80\x80", 6, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 18, 0, "6-byte form"},
    {"A\xC3", 2, "A\xEF\xBF\xBD", 4, 1, "A then truncated C3"},
    {"A\xE2\x82", 3, "A\xEF\xBF\xBD", 4, 1, "A then truncated E2 82"},
    {"A\xF0\x9F\x98", 4, "A\xEF\xBF\xBD", 4, 1, "A then truncated F0 9F 98"},
    {"\xE2\x82" "A", 3, "\xEF\xBF\xBD" "A", 4, 0, "E2 82 then A"},
    {"\xF0\x9F\x98" "A", 4, "\xEF\xBF\xBD" "A", 4, 0, "F0 9F 98 then A"},
    {"\xF0\x9F" "A", 3, "\xEF\xBF\xBD" "A", 4, 0, "F0 9F then A"},
    {"\xE2\x82\xE2\x82\xAC", 5, "\xEF\xBF\xBD\xE2\x82\xAC", 6, 0, "truncated E2 82 then a whole E2 82 AC"},
    {"\xC3\xC3\xA9", 3, "\xEF\xBF\xBD\xC3\xA9", 5, 0, "C3 then a whole C3 A9"},
    {"\xE2(\xA1", 3, "\xEF\xBF\xBD(\xEF\xBF\xBD", 7, 0, "E2 28 A1"},
    {"\xF0(\x8C\xBC", 4, "\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD", 10, 0, "F0 28 8C BC"},
    {"\xF0\x90(\xBC", 4, "\xEF\xBF\xBD(\xEF\xBF\xBD", 7, 0, "F0 90 28 BC"},
    {"\x80\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9, 0, "three continuations"},
    {"\xE0\xA0", 2, "\xEF\xBF\xBD", 3, 0, "E0 A0 at end"},
    {"\xF4\x8F\xBF", 3, "\xEF\xBF\xBD", 3, 0, "F4 8F BF at end"},
    {"\xED\x9F\xBF", 3, "\xED\x9F\xBF", 3, 3, "ED 9F BF = U+D7FF"},
    {"a\xFF" "b\xC0\xAF" "c", 6, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c", 12, 1, "a FF b C0 AF c"},
    {"", 0, "", 0, 0, "empty"},
};

static int same(const char *a, size_t alen, const char *b, size_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void test_repair_matches_python(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        lr__buf b = {0};
        /* repair appends: what the buffer held stays */
        T_CHECK(lr__buf_put(&b, "<", 1) == 0);
        T_CHECK(lr__utf8_repair(&b, c->in, c->in_len) == 0);
        if (!(b.len == c->out_len + 1 && b.data[0] == '<' && same(b.data + 1, b.len - 1, c->out, c->out_len)))
            T_FAIL("repair of '%s': %zu bytes, Python has %zu", c->why, b.len - 1, c->out_len);
        lr__buf_free(&b);
    }
}

static void test_validation_matches_python(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        size_t vp = lr__utf8_valid_prefix(c->in, c->in_len);
        if (vp != c->valid_prefix) T_FAIL("valid prefix of '%s': %zu, Python %zu", c->why, vp, c->valid_prefix);
        T_EQ_INT(lr__utf8_valid(c->in, c->in_len), c->valid_prefix == c->in_len);
        /* the same bytes behind 9 ASCII bytes (the 8-byte fast path) */
        char buf[64];
        if (c->in_len + 9 <= sizeof buf) {
            memcpy(buf, "012345678", 9);
            memcpy(buf + 9, c->in, c->in_len);
            T_EQ_INT(lr__utf8_valid_prefix(buf, c->in_len + 9), c->valid_prefix + 9);
        }
    }
}

/* Decoding code point by code point, each invalid subpart written as
 * U+FFFD, gives Python's bytes too: decode and repair share one policy. */
static void test_decode_walk_matches_python(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        char out[256];
        size_t o = 0, at = 0;
        int ok = 1;
        while (at < c->in_len && o + 4 <= sizeof out) {
            int32_t cp;
            size_t n = lr__utf8_decode(c->in + at, c->in_len - at, &cp);
            if (n < 1 || n > 4 || (cp < 0 && n > 3)) {
                ok = 0;
                break;
            }
            o += lr__utf8_encode(cp < 0 ? 0xFFFD : (uint32_t)cp, out + o);
            at += n;
        }
        if (!ok || at != c->in_len || !same(out, o, c->out, c->out_len)) T_FAIL("decode walk of '%s'", c->why);
    }
    int32_t cp = 7;
    T_EQ_INT(lr__utf8_decode("", 0, &cp), 0);
    T_EQ_INT(cp, -1);
}

/* Every scalar value encodes to its RFC 3629 length and decodes back;
 * surrogates and values above U+10FFFF encode as U+FFFD. */
static void test_encode_decode_round_trip(void) {
    int bad = 0;
    for (uint32_t v = 0; v <= 0x10FFFF; v++) {
        if (v >= 0xD800 && v <= 0xDFFF) continue;
        char u[4];
        size_t n = lr__utf8_encode(v, u);
        size_t want = v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
        int32_t cp;
        if (n != want || lr__utf8_decode(u, n, &cp) != n || cp != (int32_t)v || !lr__utf8_valid(u, n) ||
            (n > 1 && lr__utf8_decode(u, n - 1, &cp) != n - 1) || (n > 1 && cp != -1))
            bad++;
    }
    T_EQ_INT(bad, 0);
    char u[4];
    T_EQ_INT(lr__utf8_encode(0xD800, u), 3);
    T_CHECK(memcmp(u, LR__UTF8_REPLACEMENT, 3) == 0);
    T_EQ_INT(lr__utf8_encode(0xDFFF, u), 3);
    T_CHECK(memcmp(u, LR__UTF8_REPLACEMENT, 3) == 0);
    T_EQ_INT(lr__utf8_encode(0x110000, u), 3);
    T_CHECK(memcmp(u, LR__UTF8_REPLACEMENT, 3) == 0);
}

T_MAIN(T_CASE(test_repair_matches_python), T_CASE(test_validation_matches_python),
       T_CASE(test_decode_walk_matches_python), T_CASE(test_encode_decode_round_trip))
