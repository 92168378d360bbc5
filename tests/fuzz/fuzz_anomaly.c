/*
 * fuzz_anomaly.c — libFuzzer target for the sequence-anomaly model file
 * (src/anomaly.c): lr_anomaly_load_memory on the input, then, when it
 * loads, one detection over a few sessions (known names, an unknown one,
 * an empty session) with every verdict's alert built.
 *
 * As in fuzz_model.c the bytes are copied into an exactly sized, 64-byte
 * aligned block and resealed (both checksums recomputed) when the last
 * byte is even, so mutations reach the model's own checks: the keys and
 * their ranges, the special event names, duplicate names, tensor shapes,
 * non-finite weights and the embedded template miner state. Nothing may
 * crash, read out of bounds or hit undefined behaviour. Seeds: small
 * models written by `logrisk anomaly train` from JSONL sessions and from
 * HDFS log lines (with a miner).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logrisk.h"
#include "reseal.h"

static int count(void *user, const lr_anomaly_verdict *v) {
    *(size_t *)user += v->json_len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = lrm_image(data, size);
    if (!buf) return 0;
    lr_error err;
    lr_anomaly *m = lr_anomaly_load_memory(buf, size, "fuzz", &err);
    if (m) {
        lr_sessions *s = lr_sessions_new(&err);
        static const char *const ev[] = {"a", "b", "1", "2", "<end>", "zz"};
        for (int i = 0; s && i < 12; i++) {
            const char *e = ev[(i * 5) % 6];
            lr_sessions_add(s, i < 7 ? "s1" : "s2", 2, e, strlen(e), (uint64_t)i + 1, "line", 4, &err);
        }
        if (s) lr_sessions_set_label(s, "s3", 2, 1, &err);
        size_t bytes = 0;
        if (s) lr_anomaly_detect(m, s, 1, 1, count, &bytes, &err);
        lr_sessions_free(s);
        lr_anomaly_free(m);
    }
    free(buf);
    return 0;
}
