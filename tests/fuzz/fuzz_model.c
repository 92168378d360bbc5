/*
 * fuzz_model.c — libFuzzer target for loading a model file and scoring with
 * it: every weight type (f32, q8, bf16) through lr_model_load_memory, then
 * one forward pass when it loads.
 *
 * The bytes are copied into an exactly sized, 64-byte aligned block (as in
 * fuzz_format.c) and, when the last byte is even, resealed (both checksums
 * recomputed) so mutations of metadata, tensor directory and weight values
 * reach the model loader: config checks, the dtype key, int8 weights with
 * -128, NaN or negative scales, shapes, packing. A model that loads runs
 * lr_model_logits on two short sequences of ids inside its vocabulary; the
 * logits may be anything (NaN weights give NaN), but nothing may crash,
 * read out of bounds or hit undefined behaviour. Seeds: the micro f32, q8
 * and bf16 models of tools/make_fuzz_model_seeds.sh.
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
    lr_model *m = lr_model_load_memory(buf, size, "fuzz", &err);
    if (m) {
        lr_model_info info;
        lr_model_get_info(m, &info);
        int C = lr_model_n_labels(m), maxlen = lr_model_max_len(m);
        int32_t a[4], b[2];
        for (int i = 0; i < 4; i++) a[i] = (int32_t)((i * 7 + 2) % info.vocab_size);
        for (int i = 0; i < 2; i++) b[i] = (int32_t)((i * 5 + 3) % info.vocab_size);
        const int32_t *ids[2] = {a, b};
        int lens[2] = {maxlen < 4 ? maxlen : 4, 2};
        lr_model_ctx *ctx = lr_model_ctx_new(m, 8, &err);
        float *logits = malloc((size_t)2 * (size_t)C * sizeof *logits);
        if (ctx && logits && lr_model_logits(ctx, NULL, ids, lens, 2, logits, &err) == LR_OK) {
            float probs[16], score;
            int label;
            if (C <= 16) lr_model_outputs(logits, C, probs, &score, &label);
        }
        free(logits);
        lr_model_ctx_free(ctx);
        lr_model_free(m);
    }
    free(buf);
    return 0;
}
