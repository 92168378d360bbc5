/*
 * utf8.c — decode, validate, repair and encode UTF-8 (utf8.h states the
 * replacement policy: one U+FFFD per maximal invalid subpart).
 *
 * Decoding follows the table of well-formed byte sequences (Unicode 15,
 * table 3-7): the second byte's range depends on the lead byte (E0: A0..BF
 * against overlongs, ED: 80..9F against surrogates, F0: 90..BF against
 * overlongs, F4: 80..8F against values above U+10FFFF), every other
 * continuation byte is 80..BF. The first byte outside its range ends the
 * maximal subpart. Validation skips runs of ASCII eight bytes at a time:
 * log text is mostly ASCII, and the rules check every line.
 */
#include "utf8.h"

#include <string.h>

size_t lr__utf8_decode(const char *str, size_t n, int32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    *cp = -1;
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    uint32_t v;
    if (c < 0xC2) {
        return 1; /* a continuation byte, or C0/C1 (always overlong) */
    } else if (c < 0xE0) {
        need = 1;
        v = c & 0x1F;
    } else if (c < 0xF0) {
        need = 2;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;      /* no overlongs */
        else if (c == 0xED) hi = 0x9F; /* no surrogates D800-DFFF */
    } else if (c < 0xF5) {
        need = 3;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;      /* no overlongs */
        else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 1; /* F5..FF never start a sequence */
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n) return k; /* truncated at the end */
        unsigned d = s[k];
        if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return k;
        v = (v << 6) | (d & 0x3F);
    }
    *cp = (int32_t)v;
    return need + 1;
}

size_t lr__utf8_valid_prefix(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        size_t k = lr__utf8_decode(str + i, len - i, &cp);
        if (cp < 0) return i;
        i += k;
    }
    return len;
}

int lr__utf8_valid(const char *s, size_t len) { return lr__utf8_valid_prefix(s, len) == len; }

int lr__utf8_repair(lr__buf *out, const char *str, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t ok = lr__utf8_valid_prefix(str + i, len - i);
        if (ok && lr__buf_put(out, str + i, ok)) return LR_ENOMEM;
        i += ok;
        if (i >= len) break;
        int32_t cp;
        i += lr__utf8_decode(str + i, len - i, &cp);
        if (lr__buf_put(out, LR__UTF8_REPLACEMENT, 3)) return LR_ENOMEM;
    }
    return LR_OK;
}

size_t lr__utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
