/*
 * tok_unicode.c — where Hugging Face tokenizers' Unicode tables disagree
 * with utf8proc's, and what HF does there.
 *
 * tokenizers 0.23.2 takes categories from the `unicode_categories` crate
 * (an old Unicode, ~9.0), canonical decompositions from
 * `unicode-normalization-alignments` (pre-13.0), and whitespace and lower
 * case from Rust's std (current). utf8proc 2.8 has Unicode 15. So:
 *  - chars assigned since HF's tables are, for HF, plain word characters
 *    (not dropped, not punctuation, not nonspacing marks);
 *  - a few chars changed category since (U+166D Po->So, U+1734 Mn->Mc,
 *    U+111C9 Po->Mn) and HF keeps the old one;
 *  - U+11938 got a canonical decomposition in 13.0 that HF does not apply;
 *  - unassigned code points (Cn) are never dropped by HF's clean_text: its
 *    is_other() covers Cc Cf Co Cs only in practice (tok.c applies that);
 *  - Rust's std lower-cases a few Unicode 16 letters utf8proc does not know.
 * The ranges below were measured by running HF's BertNormalizer and
 * BertPreTokenizer over every code point (tools/hf_unicode.mjs) and
 * comparing with utf8proc's answer; tests/test_tok.c checks all 1,112,064
 * code points against the committed HF result (tests/golden/tok_unicode.txt),
 * so a change on either side shows up as a failing test.
 */
#include "tok.h"

typedef struct fix_range {
    int32_t first, last;
    int value; /* HF's answer for every code point in [first, last] */
} fix_range;

static const fix_range fix_other[] = {
    {0x890, 0x891, 0},
    {0x8E2, 0x8E2, 0},
    {0x110CD, 0x110CD, 0},
    {0x13430, 0x1343F, 0},
};
static const fix_range fix_punct[] = {
    {0x61D, 0x61D, 0},
    {0x9FD, 0x9FD, 0},
    {0xA76, 0xA76, 0},
    {0xC77, 0xC77, 0},
    {0xC84, 0xC84, 0},
    {0x166D, 0x166D, 1},
    {0x1B7D, 0x1B7E, 0},
    {0x2E43, 0x2E4F, 0},
    {0x2E52, 0x2E5D, 0},
    {0x10EAD, 0x10EAD, 0},
    {0x10F55, 0x10F59, 0},
    {0x10F86, 0x10F89, 0},
    {0x111C9, 0x111C9, 1},
    {0x1144B, 0x1144F, 0},
    {0x1145A, 0x1145B, 0},
    {0x1145D, 0x1145D, 0},
    {0x11660, 0x1166C, 0},
    {0x116B9, 0x116B9, 0},
    {0x1183B, 0x1183B, 0},
    {0x11944, 0x11946, 0},
    {0x119E2, 0x119E2, 0},
    {0x11A3F, 0x11A46, 0},
    {0x11A9A, 0x11A9C, 0},
    {0x11A9E, 0x11AA2, 0},
    {0x11B00, 0x11B09, 0},
    {0x11C41, 0x11C45, 0},
    {0x11C70, 0x11C71, 0},
    {0x11EF7, 0x11EF8, 0},
    {0x11F43, 0x11F4F, 0},
    {0x11FFF, 0x11FFF, 0},
    {0x12FF1, 0x12FF2, 0},
    {0x16E97, 0x16E9A, 0},
    {0x16FE2, 0x16FE2, 0},
    {0x1E95E, 0x1E95F, 0},
};
static const fix_range fix_mn[] = {
    {0x7FD, 0x7FD, 0},
    {0x898, 0x89F, 0},
    {0x8CA, 0x8E1, 0},
    {0x9FE, 0x9FE, 0},
    {0xAFA, 0xAFF, 0},
    {0xB55, 0xB55, 0},
    {0xC04, 0xC04, 0},
    {0xC3C, 0xC3C, 0},
    {0xD00, 0xD00, 0},
    {0xD3B, 0xD3C, 0},
    {0xD81, 0xD81, 0},
    {0xEBA, 0xEBA, 0},
    {0xECE, 0xECE, 0},
    {0x1734, 0x1734, 1},
    {0x180F, 0x180F, 0},
    {0x1885, 0x1886, 0},
    {0x1ABF, 0x1ACE, 0},
    {0x1DF6, 0x1DFB, 0},
    {0xA82C, 0xA82C, 0},
    {0xA8C5, 0xA8C5, 0},
    {0xA8FF, 0xA8FF, 0},
    {0xA9BD, 0xA9BD, 0},
    {0x10D24, 0x10D27, 0},
    {0x10EAB, 0x10EAC, 0},
    {0x10EFD, 0x10EFF, 0},
    {0x10F46, 0x10F50, 0},
    {0x10F82, 0x10F85, 0},
    {0x11070, 0x11070, 0},
    {0x11073, 0x11074, 0},
    {0x110C2, 0x110C2, 0},
    {0x111C9, 0x111C9, 0},
    {0x111CF, 0x111CF, 0},
    {0x1123E, 0x1123E, 0},
    {0x11241, 0x11241, 0},
    {0x1133B, 0x1133B, 0},
    {0x11438, 0x1143F, 0},
    {0x11442, 0x11444, 0},
    {0x11446, 0x11446, 0},
    {0x1145E, 0x1145E, 0},
    {0x1182F, 0x11837, 0},
    {0x11839, 0x1183A, 0},
    {0x1193B, 0x1193C, 0},
    {0x1193E, 0x1193E, 0},
    {0x11943, 0x11943, 0},
    {0x119D4, 0x119D7, 0},
    {0x119DA, 0x119DB, 0},
    {0x119E0, 0x119E0, 0},
    {0x11A01, 0x11A0A, 0},
    {0x11A33, 0x11A38, 0},
    {0x11A3B, 0x11A3E, 0},
    {0x11A47, 0x11A47, 0},
    {0x11A51, 0x11A56, 0},
    {0x11A59, 0x11A5B, 0},
    {0x11A8A, 0x11A96, 0},
    {0x11A98, 0x11A99, 0},
    {0x11C30, 0x11C36, 0},
    {0x11C38, 0x11C3D, 0},
    {0x11C3F, 0x11C3F, 0},
    {0x11C92, 0x11CA7, 0},
    {0x11CAA, 0x11CB0, 0},
    {0x11CB2, 0x11CB3, 0},
    {0x11CB5, 0x11CB6, 0},
    {0x11D31, 0x11D36, 0},
    {0x11D3A, 0x11D3A, 0},
    {0x11D3C, 0x11D3D, 0},
    {0x11D3F, 0x11D45, 0},
    {0x11D47, 0x11D47, 0},
    {0x11D90, 0x11D91, 0},
    {0x11D95, 0x11D95, 0},
    {0x11D97, 0x11D97, 0},
    {0x11EF3, 0x11EF4, 0},
    {0x11F00, 0x11F01, 0},
    {0x11F36, 0x11F3A, 0},
    {0x11F40, 0x11F40, 0},
    {0x11F42, 0x11F42, 0},
    {0x13440, 0x13440, 0},
    {0x13447, 0x13455, 0},
    {0x16F4F, 0x16F4F, 0},
    {0x16FE4, 0x16FE4, 0},
    {0x1CF00, 0x1CF2D, 0},
    {0x1CF30, 0x1CF46, 0},
    {0x1E000, 0x1E006, 0},
    {0x1E008, 0x1E018, 0},
    {0x1E01B, 0x1E021, 0},
    {0x1E023, 0x1E024, 0},
    {0x1E026, 0x1E02A, 0},
    {0x1E08F, 0x1E08F, 0},
    {0x1E130, 0x1E136, 0},
    {0x1E2AE, 0x1E2AE, 0},
    {0x1E2EC, 0x1E2EF, 0},
    {0x1E4EC, 0x1E4EF, 0},
    {0x1E944, 0x1E94A, 0},
};

static int find(const fix_range *r, int n, int32_t c) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < r[mid].first) hi = mid - 1;
        else if (c > r[mid].last) lo = mid + 1;
        else return r[mid].value;
    }
    return -1;
}

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

int lr__tok_unicode_fix(int32_t c, int what) {
    if (c < 0x600) return -1; /* nothing below differs */
    switch (what) {
    case LR__FIX_OTHER: return find(fix_other, N_OF(fix_other), c);
    case LR__FIX_PUNCT: return find(fix_punct, N_OF(fix_punct), c);
    case LR__FIX_MN: return find(fix_mn, N_OF(fix_mn), c);
    default: return -1;
    }
}

/* Lower-case mappings Rust's std (Unicode 16) has and utf8proc 2.8
 * (Unicode 15) lacks: single chars, then blocks at a fixed distance. */
static const int32_t lower_single[][2] = {
    {0x1C89, 0x1C8A}, {0xA7CB, 0x0264}, {0xA7CC, 0xA7CD}, {0xA7CE, 0xA7CF},
    {0xA7D2, 0xA7D3}, {0xA7D4, 0xA7D5}, {0xA7DA, 0xA7DB}, {0xA7DC, 0x019B},
};

int32_t lr__tok_lower_fix(int32_t c) {
    if (c < 0x1C89) return -1;
    if (c >= 0x10D50 && c <= 0x10D65) return c + 0x20;   /* Garay */
    if (c >= 0x16EA0 && c <= 0x16EB8) return c + 0x1B;   /* Beria Erfe */
    for (int i = 0; i < N_OF(lower_single); i++)
        if (lower_single[i][0] == c) return lower_single[i][1];
    return -1;
}

int lr__tok_nfd_fix(int32_t c, int32_t *out, int cap) {
    if (c == 0x11938 && cap >= 1) { /* DIVES AKURU VOWEL SIGN O: no NFD in HF */
        out[0] = c;
        return 1;
    }
    return -1;
}
