/*
 * fuzz_format.c — libFuzzer target for the .lrm reader.
 *
 * Arbitrary bytes are copied into an exactly sized, 64-byte aligned block
 * (the reader requires the alignment; the exact size lets ASan see any read
 * past the end) and opened with lr__lrm_open_memory. Random bytes almost
 * never pass the header checksum, so inputs whose last byte is even are
 * first "resealed": both checksums recomputed where the header allows,
 * which lets the fuzzer reach the structural checks behind them (odd last
 * byte: the checksum paths themselves). When a file opens, everything
 * the API exposes is read: metadata renderings, typed lookups, string
 * array items, every tensor byte and the JSON description.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "reseal.h"
#include "util.h"


static void walk(const lr__lrm *f) {
    lr_error err;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < lr__lrm_n_meta(f); i++) {
        const char *key, *s;
        char text[96];
        size_t len, n;
        int64_t iv;
        double dv;
        lr__lrm_meta_at(f, i, &key, text, sizeof text);
        if (lr__lrm_get_str(f, key, &s, &len, &err) == LR_OK && len) sink ^= (uint8_t)s[len - 1];
        lr__lrm_get_i64(f, key, &iv, &err);
        lr__lrm_get_f64(f, key, &dv, &err);
        if (lr__lrm_get_strs_count(f, key, &n, &err) == LR_OK)
            for (size_t k = 0; k < n; k++)
                if (lr__lrm_get_strs_item(f, key, k, &s, &len, &err) == LR_OK) sink ^= (uint8_t)s[len];
    }
    for (size_t i = 0; i < lr__lrm_n_tensors(f); i++) {
        const lr__tensor *t = lr__lrm_tensor_at(f, i);
        for (size_t k = 0; k < t->nbytes; k++) sink ^= ((const uint8_t *)t->data)[k];
        lr__lrm_expect(f, t->name, t->dtype, t->ndim, t->shape, NULL, &err);
    }
    lr__buf json;
    lr__buf_init(&json);
    if (lr__lrm_describe_json(f, 1, &json) == LR_OK && json.len) sink ^= (uint8_t)json.data[json.len - 1];
    lr__buf_free(&json);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = lrm_image(data, size);
    if (!buf) return 0;
    lr_error err;
    lr__lrm *f = lr__lrm_open_memory(buf, size, "fuzz", &err);
    if (f) {
        walk(f);
        lr__lrm_close(f);
    }
    free(buf);
    return 0;
}
