/*
 * score_util.h — the tiny model of the C suites that score (test_score,
 * test_serve): tests/fixtures/tiny (vocab 512, H32, 2 layers, random
 * weights) converted with a generated vocabulary into a suite's own
 * directory under tests/out. Include after t.h.
 */
#ifndef LR_SCORE_UTIL_H
#define LR_SCORE_UTIL_H

#include <stdio.h>
#include <sys/stat.h>

#include "logrisk.h"

/* Copy a file; 0 on success. */
static int t_copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (in) fclose(in);
    if (out && fclose(out)) rc = -1;
    return rc;
}

/* The tiny model as dir/tiny.lrm (dir under tests/out) with a generated
 * vocab: specials, the masks, some log words, letters and digits with ##
 * forms, fillers. NULL (and a failed check) when the fixture is missing. */
static lr_model *t_tiny_model(const char *dir) {
    char from[512], to[300], tiny[256], lrm[300];
    snprintf(tiny, sizeof tiny, "%s/tiny", dir);
    snprintf(lrm, sizeof lrm, "%s/tiny.lrm", dir);
    mkdir("tests/out", 0777);
    mkdir(dir, 0777);
    mkdir(tiny, 0777);
    static const char *files[] = {"model.safetensors", "config.json"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "tests/fixtures/tiny/%s", files[i]);
        snprintf(to, sizeof to, "%s/%s", tiny, files[i]);
        if (t_copy_file(from, to)) {
            T_FAIL("cannot copy %s to %s", from, to);
            return NULL;
        }
    }
    snprintf(to, sizeof to, "%s/vocab.txt", tiny);
    FILE *v = fopen(to, "w");
    if (!v) {
        T_FAIL("cannot write %s", to);
        return NULL;
    }
    static const char *fixed[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<TIME>", "<ID>",
                                  "<IP>", "<PID>", "<PATH>", "error", "warn", "info", "failed",
                                  "connection", "refused", "disk", "node", "pod", ":", ".", "-"};
    int n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, n++) fprintf(v, "%s\n", fixed[i]);
    for (const char *c = "abcdefghijklmnopqrstuvwxyz0123456789"; *c; c++, n += 2)
        fprintf(v, "%c\n##%c\n", *c, *c);
    for (; n < 512; n++) fprintf(v, "filler%d\n", n);
    fclose(v);
    lr_error err = {0, ""};
    if (lr_convert_safetensors(tiny, lrm, NULL, &err)) {
        T_FAIL("convert: %s", err.msg);
        return NULL;
    }
    lr_model *m = lr_model_load(lrm, &err);
    if (!m) T_FAIL("load: %s", err.msg);
    return m;
}

#endif /* LR_SCORE_UTIL_H */
