/*
 * test_tok.c — the tokenizer against Hugging Face tokenizers 0.23.2, without
 * Node: golden files written by tools/hf_tokenize.mjs (regenerate with
 * `tests/tok_parity.test.sh build --regen`; tests/tok_parity.test.sh runs
 * HF itself on far more text).
 *
 *  - every code point: what BertNormalizer / BertPreTokenizer make of it,
 *    hashed per 4096-code-point block, equals HF's (tok_unicode.txt);
 *  - the hostile set raw (tok_hostile.jsonl) and masked at max_len 8
 *    (tok_hostile_masked8.jsonl), 50 lines of each loghub log masked with
 *    models/vocab/logs-8k.txt (tok_loghub.jsonl): ids equal HF's;
 *  - masks never split, truncation, 100-char words, invalid UTF-8, a
 *    30,522-line bert-base-uncased-shaped vocab, vocab errors, LinMaxMatch
 *    against the reference walk on random vocabs, the learner
 *    on a corpus small enough to work out by hand, threads, no allocation
 *    in encode, allocation failures.
 */
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "t.h"
#include "tok.h"
#include "util.h"

#define GOLDEN "tests/golden/"

/* ------------------------------------------------------------- helpers */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    lr__buf b;
    lr__buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) lr__buf_put(&b, chunk, n);
    fclose(f);
    *len = b.len;
    if (!b.data) b.data = lr__strdup("");
    return b.data;
}

/* Split text into lines (like the CLI: on \n, no extra empty last line). */
static int split_lines(char *text, size_t len, char ***lines, size_t **lens) {
    int n = 0, cap = 64;
    *lines = malloc((size_t)cap * sizeof **lines);
    *lens = malloc((size_t)cap * sizeof **lens);
    size_t pos = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (n == cap) {
            cap *= 2;
            *lines = realloc(*lines, (size_t)cap * sizeof **lines);
            *lens = realloc(*lens, (size_t)cap * sizeof **lens);
        }
        (*lines)[n] = text + pos;
        (*lens)[n] = end - pos;
        n++;
        pos = end + 1;
    }
    return n;
}

/* The "ids":[...] array of a golden JSON line. */
static int parse_ids(const char *line, int32_t *ids, int cap) {
    const char *p = strstr(line, "\"ids\":[");
    if (!p) return -1;
    p += 7;
    int n = 0;
    while (*p && *p != ']' && n < cap) {
        ids[n++] = (int32_t)strtol(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    return n;
}

static lr_tok *load_vocab(const char *path) {
    lr_error err = {0, ""};
    lr_tok *tok = lr_tok_load(path, &err);
    if (!tok) T_FAIL("load %s: %s", path, err.msg);
    return tok;
}

static int encode_str(const lr_tok *tok, const char *s, int max_len, int32_t *ids) {
    return lr_tok_encode(tok, s, strlen(s), max_len, ids);
}

/* Compare encode of each input line (masked when prep) with golden ids. */
static void check_golden(const char *vocab, const char *input, int from_shared_loghub, const char *golden,
                         int max_len, int mask) {
    lr_tok *tok = load_vocab(vocab);
    size_t glen = 0, ilen = 0;
    char *gold = read_file(golden, &glen);
    char *in = NULL;
    if (!tok || !gold) {
        T_FAIL("missing %s or %s", vocab, golden);
        goto out;
    }
    lr__buf all;
    lr__buf_init(&all);
    if (from_shared_loghub) { /* first 50 lines of each loghub log */
        static const char *sys[] = {"Android", "Apache", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
                                    "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Windows", "Zookeeper"};
        for (size_t s = 0; s < LR_ARRAY_LEN(sys); s++) {
            char path[512];
            snprintf(path, sizeof path, "data/loghub/%s/%s_2k.log", sys[s], sys[s]);
            size_t flen;
            char *f = read_file(path, &flen);
            if (!f) {
                T_FAIL("cannot read %s", path);
                continue;
            }
            size_t pos = 0;
            for (int k = 0; k < 50 && pos < flen; k++) {
                char *nl = memchr(f + pos, '\n', flen - pos);
                size_t end = nl ? (size_t)(nl - f) : flen;
                lr__buf_put(&all, f + pos, end - pos);
                lr__buf_putc(&all, '\n');
                pos = end + 1;
            }
            lr__free(f);
        }
        in = all.data;
        ilen = all.len;
    } else {
        in = read_file(input, &ilen);
    }
    if (!in) {
        T_FAIL("cannot read %s", input);
        goto out;
    }
    char **lines, **glines;
    size_t *lens, *glens;
    int n = split_lines(in, ilen, &lines, &lens);
    int ng = split_lines(gold, glen, &glines, &glens);
    T_EQ_INT(n, ng);
    lr_rules *rules = mask ? lr_rules_default(NULL) : NULL;
    lr_prep *prep = rules ? lr_prep_new(rules, NULL) : NULL;
    int32_t *ids = malloc((size_t)max_len * sizeof *ids), want[1024];
    int mismatches = 0;
    for (int i = 0; i < n && i < ng; i++) {
        const char *text = lines[i];
        size_t len = lens[i];
        if (prep) {
            lr_line_info info;
            T_EQ_INT(lr_prep_line(prep, text, len, &info), 0);
            text = info.text;
            len = info.text_len;
        }
        glines[i][glens[i]] = '\0';
        int nw = parse_ids(glines[i], want, 1024);
        int got = lr_tok_encode(tok, text, len, max_len, ids);
        int same = got == nw;
        for (int k = 0; same && k < got; k++) same = ids[k] == want[k];
        if (!same && mismatches++ < 3) T_FAIL("%s line %d: %d ids, HF %d (first differs)", input, i + 1, got, nw);
    }
    T_EQ_INT(mismatches, 0);
    free(ids);
    free(lines);
    free(lens);
    free(glines);
    free(glens);
    lr_prep_free(prep);
    lr_rules_free(rules);
out:
    lr__free(in);
    lr__free(gold);
    lr_tok_free(tok);
}

/* A per-process scratch file name under /tmp (the tests run from the
 * repository root, where no build directory need exist). */
static void tmp_path(char *out, size_t cap, const char *what) {
    snprintf(out, cap, "/tmp/lr_test_tok_%ld_%s.txt", (long)getpid(), what);
}

/* --------------------------------------------------------------- cases */

/* Every code point: the same text lines tools/hf_tokenize.mjs hashes. */
static void test_unicode_every_code_point(void) {
    size_t glen;
    char *gold = read_file(GOLDEN "tok_unicode.txt", &glen);
    T_CHECK(gold != NULL);
    if (!gold) return;
    int blocks = 0, bad = 0;
    const char *g = gold;
    for (int32_t block = 0; block < 0x110000; block += 4096) {
        uint32_t h = 0x811c9dc5u;
        for (int32_t cp = block; cp < block + 4096; cp++) {
            if (cp >= 0xD800 && cp < 0xE000) continue;
            char line[256];
            int32_t out[32];
            int n = lr__tok_norm_char(cp, out, 32);
            int pos = snprintf(line, sizeof line, "%x;", (unsigned)cp);
            for (int k = 0; k < n; k++) pos += snprintf(line + pos, sizeof line - (size_t)pos, k ? " %x" : "%x", (unsigned)out[k]);
            snprintf(line + pos, sizeof line - (size_t)pos, ";%d\n", lr__tok_char_class(cp) + 1);
            for (const char *c = line; *c; c++) h = (h ^ (uint8_t)*c) * 0x01000193u;
        }
        unsigned want_block;
        unsigned want_hash;
        if (sscanf(g, "%x %x", &want_block, &want_hash) != 2) break;
        if (want_block != (unsigned)(block >> 12) || want_hash != h) {
            if (bad++ < 5) T_FAIL("code points %06X..%06X differ from HF", (unsigned)block, (unsigned)block + 4095);
        }
        blocks++;
        g = strchr(g, '\n');
        if (!g) break;
        g++;
    }
    T_EQ_INT(blocks, 272);
    T_EQ_INT(bad, 0);
    lr__free(gold);
}

/* Single characters worth naming (each also inside the block hashes). */
static void test_unicode_named_cases(void) {
    int32_t out[8];
    T_EQ_INT(lr__tok_norm_char(0x0130, out, 8), 1); /* İ: NFD, drop U+0307, lower */
    T_EQ_INT(out[0], 'i');
    T_EQ_INT(lr__tok_norm_char(0x00C5, out, 8), 1); /* Å -> a */
    T_EQ_INT(out[0], 'a');
    T_EQ_INT(lr__tok_norm_char(0x1E9E, out, 8), 1); /* ẞ -> ß */
    T_EQ_INT(out[0], 0xDF);
    T_EQ_INT(lr__tok_norm_char(0x4E2D, out, 8), 3); /* 中 -> " 中 " */
    T_EQ_INT(out[1], 0x4E2D);
    T_EQ_INT(lr__tok_norm_char(0x2B81F + 1, out, 8), 1); /* HF's gap 2B820..2B91F: not split */
    T_EQ_INT(lr__tok_norm_char(0xFFFD, out, 8), 0);
    T_EQ_INT(lr__tok_norm_char(0x200D, out, 8), 0);  /* ZWJ (Cf) dropped */
    T_EQ_INT(lr__tok_norm_char(0x0378, out, 8), 1);  /* unassigned: kept, as HF */
    T_EQ_INT(lr__tok_norm_char(0xE000, out, 8), 0);  /* private use dropped */
    T_EQ_INT(lr__tok_norm_char(0x0B, out, 8), 0);    /* VT: a control, dropped */
    T_EQ_INT(lr__tok_norm_char(0x07FD, out, 8), 1);  /* Mn since Unicode 11: HF keeps */
    T_EQ_INT(lr__tok_norm_char(0x10D50, out, 8), 1); /* Garay capital: Rust lower-cases */
    T_EQ_INT(out[0], 0x10D70);
    T_EQ_INT(lr__tok_char_class('$'), 2);    /* ASCII symbol = punctuation */
    T_EQ_INT(lr__tok_char_class(0x00AB), 2); /* « */
    T_EQ_INT(lr__tok_char_class(0x20AC), 0); /* € is Sc: part of a word */
    T_EQ_INT(lr__tok_char_class(0x3000), 1);
    T_EQ_INT(lr__tok_char_class(0x166D), 2); /* Po in HF's tables, So now */
}

static void test_hostile_raw_vs_hf(void) {
    check_golden(GOLDEN "tok_vocab.txt", GOLDEN "tok_hostile.txt", 0, GOLDEN "tok_hostile.jsonl", 128, 0);
}

static void test_hostile_masked_max8_vs_hf(void) {
    check_golden(GOLDEN "tok_vocab.txt", GOLDEN "tok_hostile.txt", 0, GOLDEN "tok_hostile_masked8.jsonl", 8, 1);
}

static void test_loghub_sample_vs_hf(void) {
    check_golden("models/vocab/logs-8k.txt", "loghub (50 lines a log)", 1, GOLDEN "tok_loghub.jsonl", 128, 1);
}

static void test_masks_never_split(void) {
    lr_tok *tok = load_vocab("models/vocab/logs-8k.txt");
    if (!tok) return;
    int32_t ids[64];
    int id_time = lr_tok_id(tok, "<TIME>", 6), id_ip = lr_tok_id(tok, "<IP>", 4);
    int id_path = lr_tok_id(tok, "<PATH>", 6), id_pid = lr_tok_id(tok, "<PID>", 5);
    T_EQ_INT(id_time, 5);
    T_EQ_INT(id_path, 9);
    int n = encode_str(tok, "<TIME>x<IP><PID>y <PATH>", 64, ids);
    /* [CLS] <TIME> x <IP> <PID> y <PATH> [SEP] */
    T_EQ_INT(n, 8);
    T_EQ_INT(ids[0], lr_tok_special(tok, LR_TOK_CLS));
    T_EQ_INT(ids[1], id_time);
    T_EQ_INT(ids[3], id_ip);
    T_EQ_INT(ids[4], id_pid);
    T_EQ_INT(ids[6], id_path);
    T_EQ_INT(ids[7], lr_tok_special(tok, LR_TOK_SEP));
    /* Case matters and half a mask is not a mask: "<", "time", ">". */
    n = encode_str(tok, "<time>", 64, ids);
    T_EQ_INT(n, 5);
    T_EQ_INT(ids[1], lr_tok_id(tok, "<", 1));
    n = encode_str(tok, "<TIME", 64, ids);
    T_CHECK(n >= 4 && ids[1] != id_time);
    /* Specials typed in the text are special tokens, like HF. */
    n = encode_str(tok, "a[SEP]b", 64, ids);
    T_EQ_INT(n, 5);
    T_EQ_INT(ids[2], lr_tok_special(tok, LR_TOK_SEP));
    lr_tok_free(tok);
}

static void test_truncation(void) {
    lr_tok *tok = load_vocab("models/vocab/logs-8k.txt");
    if (!tok) return;
    lr__buf b;
    lr__buf_init(&b);
    for (int i = 0; i < 300; i++) lr__buf_puts(&b, "error ");
    int32_t ids[512];
    int n = lr_tok_encode(tok, b.data, b.len, 128, ids);
    T_EQ_INT(n, 128);
    T_EQ_INT(ids[0], lr_tok_special(tok, LR_TOK_CLS));
    T_EQ_INT(ids[126], lr_tok_id(tok, "error", 5));
    T_EQ_INT(ids[127], lr_tok_special(tok, LR_TOK_SEP));
    T_EQ_INT(lr_tok_encode(tok, b.data, b.len, 512, ids), 302);
    /* A word cut in the middle keeps its first pieces, as HF. */
    n = encode_str(tok, "zzzzqqqq", 3, ids);
    T_EQ_INT(n, 3);
    T_EQ_INT(lr_tok_encode(tok, b.data, b.len, 2, ids), 2);
    T_EQ_INT(ids[1], lr_tok_special(tok, LR_TOK_SEP));
    T_EQ_INT(lr_tok_encode(tok, b.data, b.len, 1, ids), LR_EINVAL);
    T_EQ_INT(lr_tok_encode(tok, "", 0, 128, ids), 2);
    T_EQ_INT(lr_tok_encode(tok, NULL, 0, 128, ids), 2);
    lr__buf_free(&b);
    lr_tok_free(tok);
}

static void test_long_words(void) {
    lr_tok *tok = load_vocab("models/vocab/logs-8k.txt");
    if (!tok) return;
    int32_t ids[256];
    char w[512];
    int unk = lr_tok_special(tok, LR_TOK_UNK);
    memset(w, 'a', 101);
    T_EQ_INT(lr_tok_encode(tok, w, 101, 256, ids), 3); /* 101 chars: one [UNK] */
    T_EQ_INT(ids[1], unk);
    int n = lr_tok_encode(tok, w, 100, 256, ids); /* 100 chars: pieces */
    T_CHECK(n > 3);
    for (int k = 1; k < n - 1; k++) T_CHECK(ids[k] != unk);
    /* 100 chars after dropping accents: "é" x 100 is 200 bytes, 100 chars. */
    size_t len = 0;
    for (int i = 0; i < 100; i++) len += (size_t)snprintf(w + len, sizeof w - len, "e\xcc\x81");
    n = lr_tok_encode(tok, w, len, 256, ids);
    T_CHECK(n > 3 && ids[1] != unk);
    lr_tok_free(tok);
}

static void test_invalid_utf8_and_random_bytes(void) {
    lr_tok *tok = load_vocab("models/vocab/logs-8k.txt");
    if (!tok) return;
    int32_t a[128], b[128];
    /* Invalid bytes vanish (as U+FFFD does in HF's clean_text). */
    int na = encode_str(tok, "conn\xff\xferefused \xc3\x28x \xed\xa0\x80y", 128, a);
    int nb = encode_str(tok, "connrefused (x y", 128, b);
    T_EQ_INT(na, nb);
    T_CHECK(memcmp(a, b, (size_t)na * sizeof a[0]) == 0);
    /* Random bytes: never out of bounds, always [CLS] ... [SEP]. */
    uint64_t s = 42;
    char buf[300];
    for (int it = 0; it < 20000; it++) {
        size_t len = (size_t)(s % 300);
        for (size_t i = 0; i < len; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (char)(s >> 56);
        }
        int max_len = 2 + (int)(s % 40);
        int n = lr_tok_encode(tok, buf, len, max_len, a);
        if (n < 2 || n > max_len || a[0] != 2 || a[n - 1] != 3) {
            T_FAIL("random input %d: count %d", it, n);
            break;
        }
    }
    lr_tok_free(tok);
}

/* A vocab shaped like bert-base-uncased: 30,522 lines, [PAD] 0, [unused*],
 * [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, then real tokens. */
static void test_bert_shaped_vocab(void) {
    size_t len;
    char *logs = read_file("models/vocab/logs-8k.txt", &len);
    T_CHECK(logs != NULL);
    if (!logs) return;
    lr__buf v;
    lr__buf_init(&v);
    lr__buf_puts(&v, "[PAD]\n");
    for (int i = 0; i < 99; i++) lr__buf_printf(&v, "[unused%d]\n", i);
    lr__buf_puts(&v, "[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int i = 99; i < 994; i++) lr__buf_printf(&v, "[unused%d]\r\n", i); /* CRLF lines too */
    int lines = 999;
    size_t pos = 0;
    for (int k = 0; pos < len; k++) { /* the learned tokens after the 10 reserved */
        char *nl = memchr(logs + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - logs) : len;
        if (k >= 10) {
            lr__buf_put(&v, logs + pos, end - pos);
            lr__buf_putc(&v, '\n');
            lines++;
        }
        pos = end + 1;
    }
    for (int i = 0; lines < 30522; i++, lines++) lr__buf_printf(&v, "##q%05d\n", i);
    lr_error err = {0, ""};
    lr_tok *tok = lr_tok_from_text(v.data, v.len, &err);
    T_CHECK(tok != NULL);
    if (tok) {
        T_EQ_INT(lr_tok_vocab_size(tok), 30522);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_PAD), 0);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_UNK), 100);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_CLS), 101);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_SEP), 102);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_MASK), 103);
        T_EQ_INT(lr_tok_id(tok, "[unused500]", 11), 500 + 5);
        T_EQ_INT(lr_tok_id(tok, "<TIME>", 6), -1);
        /* Every line is its own id, read back unchanged. */
        pos = 0;
        int bad = 0;
        for (int id = 0; pos < v.len; id++) {
            char *nl = memchr(v.data + pos, '\n', v.len - pos);
            size_t end = (size_t)(nl - v.data), tl = end - pos;
            if (tl && v.data[pos + tl - 1] == '\r') tl--;
            size_t got_len;
            const char *got = lr_tok_token(tok, id, &got_len);
            if (!got || got_len != tl || memcmp(got, v.data + pos, tl) != 0 || lr_tok_id(tok, got, got_len) != id)
                bad++;
            pos = end + 1;
        }
        T_EQ_INT(bad, 0);
        T_CHECK(lr_tok_token(tok, 30522, NULL) == NULL);
        T_CHECK(lr_tok_token(tok, -1, NULL) == NULL);
        int32_t ids[16];
        /* Without mask entries, "<TIME>" is plain text: < time > */
        T_EQ_INT(encode_str(tok, "<TIME>", 16, ids), 5);
        T_EQ_INT(ids[0], 101);
        T_EQ_INT(ids[4], 102);
    }
    lr_tok_free(tok);
    lr__buf_free(&v);
    lr__free(logs);
}

static void test_vocab_errors(void) {
    lr_error err = {0, ""};
    const char no_cls[] = "[PAD]\n[UNK]\n[SEP]\n[MASK]\na\n";
    T_CHECK(lr_tok_from_text(no_cls, sizeof no_cls - 1, &err) == NULL);
    T_EQ_INT(err.code, LR_EFORMAT);
    T_CHECK(strstr(err.msg, "[CLS]") != NULL);
    const char bad_utf8[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab\xff\n";
    T_CHECK(lr_tok_from_text(bad_utf8, sizeof bad_utf8 - 1, &err) == NULL);
    T_EQ_INT(err.code, LR_EPARSE);
    T_CHECK(strstr(err.msg, "line 6") != NULL);
    T_CHECK(lr_tok_from_text("", 0, &err) == NULL);
    /* Past 16 MB the trie's edge keys would overflow: refused, not wrong. */
    size_t big_len = (size_t)1 << 24;
    char *big = malloc(big_len);
    if (big) {
        memset(big, 'x', big_len);
        for (size_t i = 63; i < big_len; i += 64) big[i] = '\n';
        T_CHECK(lr_tok_from_text(big, big_len, &err) == NULL);
        T_EQ_INT(err.code, LR_ERANGE);
        free(big);
    }
    T_CHECK(lr_tok_load("/nonexistent/vocab.txt", &err) == NULL);
    T_EQ_INT(err.code, LR_EIO);
    T_CHECK(strstr(err.msg, "/nonexistent/vocab.txt") != NULL);
    /* Trailing whitespace is trimmed (Rust trim_end), a later duplicate
     * wins, a last line without \n counts. */
    const char ok[] = "[PAD]\n[UNK]\n[CLS] \t\n[SEP]\n[MASK]\nab\nab\nc";
    lr_tok *tok = lr_tok_from_text(ok, sizeof ok - 1, &err);
    T_CHECK(tok != NULL);
    if (tok) {
        T_EQ_INT(lr_tok_vocab_size(tok), 8);
        T_EQ_INT(lr_tok_special(tok, LR_TOK_CLS), 2);
        T_EQ_INT(lr_tok_id(tok, "ab", 2), 6);
        T_EQ_INT(lr_tok_id(tok, "c", 1), 7);
        T_EQ_INT(lr_tok_id(tok, "abc", 3), -1);
        int32_t ids[8];
        T_EQ_INT(encode_str(tok, "ab c abc", 8, ids), 5); /* [CLS] ab c [UNK] [SEP] */
        T_EQ_INT(ids[3], 1);
    }
    lr_tok_free(tok);
}

/* Corpus "ab ab ab abc": symbols a ##b ##c; (a,##b) seen 4 times merges to
 * "ab"; (ab,##c) seen once merges to "abc" only with min_freq 1. */
static void test_learner_by_hand(void) {
    char path[64];
    tmp_path(path, sizeof path, "vocab");
    lr_error err = {0, ""};
    for (int min_freq = 1; min_freq <= 2; min_freq++) {
        lr_vocab_learner *l = lr_vocab_learner_new(&err);
        T_CHECK(l != NULL);
        if (!l) return;
        T_EQ_INT(lr_vocab_learner_add(l, "ab ab", 5, &err), 0);
        T_EQ_INT(lr_vocab_learner_add(l, "AB abc <TIME>", 13, &err), 0);
        T_EQ_INT(lr_vocab_learner_save(l, 100, min_freq, path, &err), 0);
        lr_vocab_learner_free(l);
        size_t len;
        char *got = read_file(path, &len);
        const char *want = min_freq == 1
                               ? "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<TIME>\n<ID>\n<IP>\n<PID>\n<PATH>\na\n##b\n##c\nab\nabc\n"
                               : "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<TIME>\n<ID>\n<IP>\n<PID>\n<PATH>\na\n##b\n##c\nab\n";
        T_EQ_STR(got, want);
        lr__free(got);
    }
    /* The size limit holds, and the alphabet keeps its most frequent. */
    lr_vocab_learner *l = lr_vocab_learner_new(&err);
    lr_vocab_learner_add(l, "ab ab ab abc", 12, &err);
    T_EQ_INT(lr_vocab_learner_save(l, 12, 1, path, &err), 0);
    size_t len;
    char *got = read_file(path, &len);
    T_EQ_STR(got, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<TIME>\n<ID>\n<IP>\n<PID>\n<PATH>\na\n##b\n");
    lr__free(got);
    T_EQ_INT(lr_vocab_learner_save(l, 5, 1, path, &err), LR_ERANGE);
    lr_vocab_learner_free(l);
    remove(path);
}

/* Learned from loghub, the vocab covers loghub: no [UNK], and the size. */
static void test_learner_on_loghub(void) {
    char corpus[512];
    snprintf(corpus, sizeof corpus, "data/loghub/OpenSSH/OpenSSH_2k.log");
    char path[64];
    tmp_path(path, sizeof path, "learned");
    lr_error err = {0, ""};
    lr_rules *rules = lr_rules_default(&err);
    T_EQ_INT(lr_vocab_learn_file(corpus, rules, 500, 2, path, &err), 0);
    lr_tok *tok = load_vocab(path);
    if (tok) {
        T_EQ_INT(lr_tok_vocab_size(tok), 500);
        size_t len;
        char *text = read_file(corpus, &len);
        char **lines;
        size_t *lens;
        int n = split_lines(text, len, &lines, &lens), unk = 0, total = 0;
        lr_prep *prep = lr_prep_new(rules, &err);
        int32_t ids[128];
        for (int i = 0; i < n; i++) {
            lr_line_info info;
            lr_prep_line(prep, lines[i], lens[i], &info);
            int c = lr_tok_encode(tok, info.text, info.text_len, 128, ids);
            for (int k = 1; k < c - 1; k++) unk += ids[k] == 1;
            total += c - 2;
        }
        T_EQ_INT(n, 2000);
        T_EQ_INT(unk, 0);
        T_CHECK(total > 2000 * 5);
        lr_prep_free(prep);
        free(lines);
        free(lens);
        lr__free(text);
    }
    lr_tok_free(tok);
    lr_rules_free(rules);
    remove(path);
}

/* LinMaxMatch against the reference walk on random small vocabs over a
 * 3-letter alphabet (many partial matches, dead ends and [UNK]s). */
static uint64_t rng_state = 7;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static void test_fast_wordpiece_equals_reference(void) {
    int compared = 0, differ = 0, unks = 0;
    for (int trial = 0; trial < 1500; trial++) {
        lr__buf v;
        lr__buf_init(&v);
        lr__buf_puts(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
        int n_tok = 1 + (int)rnd(40);
        for (int t = 0; t < n_tok; t++) {
            if (rnd(2)) lr__buf_puts(&v, "##");
            int len = 1 + (int)rnd(rnd(4) ? 3 : 7);
            for (int k = 0; k < len; k++) lr__buf_putc(&v, (char)('a' + rnd(3)));
            lr__buf_putc(&v, '\n');
        }
        lr_tok *tok = lr_tok_from_text(v.data, v.len, NULL);
        T_CHECK(tok != NULL && lr__tok_has_links(tok));
        if (!tok) break;
        for (int line = 0; line < 20; line++) {
            char text[128];
            int len = 0, words = 1 + (int)rnd(4);
            for (int w = 0; w < words; w++) {
                int wl = 1 + (int)rnd(rnd(3) ? 8 : 20);
                for (int k = 0; k < wl; k++) text[len++] = (char)('a' + rnd(3));
                text[len++] = ' ';
            }
            int32_t fast[160], ref[160];
            int nf = lr__tok_encode_with(tok, text, (size_t)len, 160, fast, 0);
            int nr = lr__tok_encode_with(tok, text, (size_t)len, 160, ref, 1);
            compared++;
            if (nf != nr || memcmp(fast, ref, (size_t)nf * sizeof fast[0]) != 0) {
                if (differ++ < 3) T_FAIL("trial %d: fast and reference differ on '%.*s'", trial, len, text);
            }
            for (int k = 1; k < nr - 1; k++) unks += ref[k] == 1;
        }
        lr_tok_free(tok);
        lr__buf_free(&v);
    }
    T_EQ_INT(differ, 0);
    T_EQ_INT(compared, 30000);
    T_CHECK(unks > 1000); /* the random vocabs do exercise failures */
}

/* A vocab whose links would be quadratic (one 3,000-byte chain of
 * non-tokens under tokens "a"/"##a") falls back to the reference walk. */
static void test_hostile_vocab_falls_back(void) {
    lr__buf v;
    lr__buf_init(&v);
    lr__buf_puts(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\n");
    for (int i = 0; i < 3000; i++) lr__buf_putc(&v, 'a');
    lr__buf_puts(&v, "b\n");
    lr_tok *tok = lr_tok_from_text(v.data, v.len, NULL);
    T_CHECK(tok != NULL);
    if (tok) {
        T_EQ_INT(lr__tok_has_links(tok), 0);
        int32_t ids[8];
        T_EQ_INT(encode_str(tok, "aaa", 8, ids), 5); /* a ##a ##a */
        T_EQ_INT(ids[1], 5);
        T_EQ_INT(ids[3], 6);
    }
    lr_tok_free(tok);
    lr__buf_free(&v);
    tok = load_vocab("models/vocab/logs-8k.txt");
    T_EQ_INT(lr__tok_has_links(tok), 1);
    lr_tok_free(tok);
}

typedef struct thr_arg {
    const lr_tok *tok;
    char **lines;
    size_t *lens;
    int n;
    int32_t *out; /* n x 128 */
} thr_arg;

static void *thr_encode(void *p) {
    thr_arg *a = p;
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < a->n; i++) lr_tok_encode(a->tok, a->lines[i], a->lens[i], 128, a->out + (size_t)i * 128);
    return NULL;
}

static void test_threads_share_one_tokenizer(void) {
    lr_tok *tok = load_vocab(GOLDEN "tok_vocab.txt");
    size_t len;
    char *text = read_file(GOLDEN "tok_hostile.txt", &len);
    if (!tok || !text) return;
    char **lines;
    size_t *lens;
    int n = split_lines(text, len, &lines, &lens);
    int32_t *ref = calloc((size_t)n * 128, sizeof *ref);
    thr_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < n; i++) lr_tok_encode(tok, lines[i], lens[i], 128, ref + (size_t)i * 128);
    for (int t = 0; t < 4; t++) {
        args[t] = (thr_arg){tok, lines, lens, n, calloc((size_t)n * 128, sizeof(int32_t))};
        pthread_create(&th[t], NULL, thr_encode, &args[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        T_CHECK(memcmp(args[t].out, ref, (size_t)n * 128 * sizeof *ref) == 0);
        free(args[t].out);
    }
    free(ref);
    free(lines);
    free(lens);
    lr__free(text);
    lr_tok_free(tok);
}

/* ------------------------------------------------- allocation behaviour */

static long g_allocs;
static long g_fail_at = -1;
static void *count_malloc(size_t n) {
    if (g_fail_at >= 0 && g_allocs++ == g_fail_at) return NULL;
    if (g_fail_at < 0) g_allocs++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n) {
    if (g_fail_at >= 0 && g_allocs++ == g_fail_at) return NULL;
    if (g_fail_at < 0) g_allocs++;
    return realloc(p, n);
}
static const lr_allocator counting = {count_malloc, count_realloc, free};

static void test_encode_allocates_nothing(void) {
    lr_tok *tok = load_vocab(GOLDEN "tok_vocab.txt");
    size_t len;
    char *text = read_file(GOLDEN "tok_hostile.txt", &len);
    if (!tok || !text) return;
    int32_t ids[512];
    g_allocs = 0;
    g_fail_at = -1;
    lr_set_allocator(&counting);
    lr_tok_encode(tok, text, len, 512, ids);
    lr_set_allocator(NULL);
    T_EQ_INT(g_allocs, 0);
    lr__free(text);
    lr_tok_free(tok);
}

/* Every allocation of load and learning may fail: a clean error, no leak
 * (valgrind / ASan check the latter), and success once nothing fails. */
static void test_allocation_failures(void) {
    char oom_path[64];
    tmp_path(oom_path, sizeof oom_path, "oom");
    const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<TIME>\na\n##b\nab\n";
    lr_error err = {0, ""};
    int ok_at = -1;
    for (long k = 0; k < 200 && ok_at < 0; k++) {
        g_allocs = 0;
        g_fail_at = k;
        lr_set_allocator(&counting);
        lr_tok *tok = lr_tok_from_text(vocab, sizeof vocab - 1, &err);
        lr_set_allocator(NULL);
        if (tok) ok_at = (int)k;
        else T_EQ_INT(err.code, LR_ENOMEM);
        lr_tok_free(tok);
    }
    T_CHECK(ok_at > 0);
    ok_at = -1;
    for (long k = 0; k < 400 && ok_at < 0; k++) {
        g_allocs = 0;
        g_fail_at = k;
        lr_set_allocator(&counting);
        lr_vocab_learner *l = lr_vocab_learner_new(&err);
        int rc = l ? lr_vocab_learner_add(l, "ab ab ab abc de\xc3\xa9 <IP> x", 25, &err) : LR_ENOMEM;
        if (rc == 0) rc = lr_vocab_learner_save(l, 50, 1, oom_path, &err);
        lr_vocab_learner_free(l);
        lr_set_allocator(NULL);
        if (rc == 0) ok_at = (int)k;
        else T_EQ_INT(rc, LR_ENOMEM);
    }
    g_fail_at = -1;
    T_CHECK(ok_at > 0);
    remove(oom_path);
}

T_MAIN(T_CASE(test_unicode_every_code_point), T_CASE(test_unicode_named_cases), T_CASE(test_hostile_raw_vs_hf),
       T_CASE(test_hostile_masked_max8_vs_hf), T_CASE(test_loghub_sample_vs_hf), T_CASE(test_masks_never_split),
       T_CASE(test_truncation), T_CASE(test_long_words), T_CASE(test_invalid_utf8_and_random_bytes),
       T_CASE(test_bert_shaped_vocab), T_CASE(test_vocab_errors),
       T_CASE(test_fast_wordpiece_equals_reference), T_CASE(test_hostile_vocab_falls_back), T_CASE(test_learner_by_hand),
       T_CASE(test_learner_on_loghub), T_CASE(test_threads_share_one_tokenizer),
       T_CASE(test_encode_allocates_nothing), T_CASE(test_allocation_failures))
