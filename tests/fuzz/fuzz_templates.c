/*
 * fuzz_templates.c — libFuzzer target for the template state file
 * (src/templates.c): lr_miner_load_memory on the input as an .lrm image
 * (resealed when its last byte is even, so mutations of the metadata and
 * of the templates blob reach the state's own checks: version, parameters,
 * counts, lengths, texts that must be templates, duplicates), then, when
 * it loads, the miner used: messages matched and learnt, the state merged
 * into a fresh miner and every template read back. Nothing may crash,
 * read out of bounds or hit undefined behaviour. Seeds: states written by
 * `logrisk templates --state` (tests/fuzz/corpus/fuzz_templates).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logrisk.h"
#include "reseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = lrm_image(data, size);
    if (!buf) return 0;
    lr_error err;
    lr_miner *m = lr_miner_load_memory(buf, size, "fuzz", &err);
    if (m) {
        static const char *const msgs[] = {"Connection closed for peer alice after 12 s", "disk full on <PATH>",
                                           "", "user root logged in from <IP>", "<*> <*> <*>"};
        lr_template_match tm;
        for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
            lr_miner_match(m, msgs[i], strlen(msgs[i]), &tm);
            lr_miner_add(m, msgs[i], strlen(msgs[i]), (int64_t)i, &tm, &err);
        }
        lr_miner *fresh = lr_miner_new(NULL, &err);
        if (fresh) lr_miner_merge(fresh, m, &err);
        uint32_t n = lr_miner_n_templates(m);
        for (uint32_t i = 0; i < n; i++) {
            lr_template_info ti;
            if (lr_miner_template(m, i, &ti) == 0 && ti.len) (void)ti.text[ti.len - 1];
        }
        lr_miner_free(fresh);
        lr_miner_free(m);
    }
    free(buf);
    return 0;
}
