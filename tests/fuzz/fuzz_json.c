/* libFuzzer target for the JSON parser (src/json.c): any bytes must either
 * parse or fail with LR_EPARSE/LR_ENOMEM and a message, never crash or leak;
 * a parsed tree is walked completely (every string read to its length). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

static size_t walk(const lr__json *v, int depth) {
    size_t sum = (size_t)v->type + (size_t)depth;
    if (v->key) sum += v->key_len ? (unsigned char)v->key[v->key_len - 1] : 0;
    if (v->type == LR_JSON_STRING && v->len) sum += (unsigned char)v->str[v->len - 1];
    for (size_t i = 0; i < v->n; i++) sum += walk(&v->items[i], depth + 1);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lr_error err;
    unsigned flags = size && (data[0] & 1) ? LR_JSON_NO_DUPLICATES : 0;
    lr__json_doc *d = lr__json_parse((const char *)data, size, flags, &err);
    if (!d) {
        if (err.code != LR_EPARSE && err.code != LR_ENOMEM) __builtin_trap();
        return 0;
    }
    volatile size_t sink = walk(lr__json_root(d), 0);
    (void)sink;
    const lr__json *r = lr__json_root(d);
    if (r->type == LR_JSON_OBJECT && r->n) (void)lr__json_getn(r, r->items[0].key, r->items[0].key_len);
    lr__json_free(d);
    return 0;
}
