/*
 * fuzz_tok.c — libFuzzer target for the tokenizer: the first byte picks
 * what the rest of the input is.
 *   0..127    text to encode with a small fixed vocab (with masks), at a
 *             max_len taken from that byte; checks [CLS] .. [SEP], the count
 *             bounds, that every id is in the vocab and that LinMaxMatch
 *             gives what the reference walk gives;
 *   128..191  a vocab.txt to load; when it loads, a fixed hostile text is
 *             encoded with it (LinMaxMatch == reference) and every token
 *             round-trips through lr_tok_id;
 *   192..255  lines for the vocabulary learner (written to /dev/null).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logrisk.h"
#include "tok.h"

static const char vocab_txt[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n<TIME>\n<ID>\n<IP>\n<PID>\n<PATH>\n"
    "a\nb\nc\ne\n##a\n##b\n##c\n##e\nab\n##ab\nerror\n##s\n.\n:\n<\n>\n[\n]\n\xe4\xb8\xad\n\xc3\x9f\n";

static void check(int cond) {
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t mode = data[0];
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;
    int32_t ids[512];
    if (mode < 128) {
        lr_tok *tok = lr_tok_from_text(vocab_txt, sizeof vocab_txt - 1, NULL);
        check(tok != NULL);
        int max_len = 2 + mode * 4;
        int n = lr_tok_encode(tok, rest, len, max_len, ids);
        check(n >= 2 && n <= max_len);
        check(ids[0] == 2 && ids[n - 1] == 3);
        for (int i = 0; i < n; i++) check(ids[i] >= 0 && ids[i] < lr_tok_vocab_size(tok));
        int32_t ref[512];
        check(lr__tok_encode_with(tok, rest, len, max_len, ref, 1) == n); /* LinMaxMatch == reference */
        check(memcmp(ids, ref, (size_t)n * sizeof ids[0]) == 0);
        lr_tok_free(tok);
    } else if (mode < 192) {
        lr_error err;
        lr_tok *tok = lr_tok_from_text(rest, len, &err);
        if (tok) {
            static const char text[] = "Error: <TIME> caf\xc3\xa9 \xe4\xb8\xad [SEP] ab##ab \xff end";
            int n = lr_tok_encode(tok, text, sizeof text - 1, 64, ids);
            check(n >= 2 && n <= 64);
            int32_t ref[64];
            check(lr__tok_encode_with(tok, text, sizeof text - 1, 64, ref, 1) == n);
            check(memcmp(ids, ref, (size_t)n * sizeof ids[0]) == 0);
            for (int i = 0; i < n; i++) {
                size_t tl;
                const char *t = lr_tok_token(tok, ids[i], &tl);
                check(t != NULL);
                int back = lr_tok_id(tok, t, tl);
                check(back >= 0 && back < lr_tok_vocab_size(tok));
            }
            lr_tok_free(tok);
        }
    } else {
        lr_error err;
        lr_vocab_learner *l = lr_vocab_learner_new(&err);
        if (l) {
            size_t pos = 0;
            while (pos <= len) {
                const char *nl = memchr(rest + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - rest) : len;
                lr_vocab_learner_add(l, rest + pos, end - pos, &err);
                pos = end + 1;
            }
            lr_vocab_learner_save(l, 11 + (mode - 192) * 4, 1, "/dev/null", &err);
            lr_vocab_learner_free(l);
        }
    }
    return 0;
}
