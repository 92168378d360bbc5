/*
 * wtype.c — weight types (wtype.h): names, the model.dtype key, which
 * tensors a low-precision model stores in its type, and the q8 rules.
 */
#include "wtype.h"

#include <math.h>
#include <string.h>

#include "format.h"
#include "util.h"

static const char *const g_names[] = {"f32", "q8", "bf16"};

const char *lr__wtype_name(lr__wtype t) {
    return (unsigned)t < LR_ARRAY_LEN(g_names) ? g_names[t] : "?";
}

int lr__wtype_parse(const char *s, size_t len, lr__wtype *out, lr_error *err) {
    for (size_t i = 0; i < LR_ARRAY_LEN(g_names); i++)
        if (strlen(g_names[i]) == len && memcmp(s, g_names[i], len) == 0) {
            *out = (lr__wtype)i;
            return LR_OK;
        }
    return lr__err(err, LR_EINVAL, "unknown weight type \"%.*s\" (f32, q8 or bf16)",
                   (int)LR_MIN(len, 32), s);
}

size_t lr__wtype_bytes(lr__wtype t) {
    return t == LR_WTYPE_Q8 ? 1 : t == LR_WTYPE_BF16 ? 2 : sizeof(float);
}

int lr__model_read_wtype(const lr__lrm *f, lr__wtype *out, lr_error *err) {
    const char *s;
    size_t len;
    lr_error ignore;
    *out = LR_WTYPE_F32;
    if (lr__lrm_get_str(f, "model.dtype", &s, &len, &ignore)) return LR_OK; /* absent: f32 */
    if (lr__wtype_parse(s, len, out, &ignore))
        return lr__err(err, LR_EFORMAT, "model.dtype: unknown weight type \"%.*s\" (f32, q8 or bf16)",
                       (int)LR_MIN(len, 32), s);
    return LR_OK;
}

int lr__bert_tensor_is_quantized(const lr__bert_tensor_spec *s) {
    return s->part == LR_PART_LAYER && s->ndim == 2;
}

void lr__q8_quantize_weight(const float *W, int N, int K, int8_t *q, float *scale) {
    for (int n = 0; n < N; n++) {
        const float *w = W + (size_t)n * K;
        int8_t *o = q + (size_t)n * K;
        float amax = 0.0f;
        for (int k = 0; k < K; k++) amax = LR_MAX(amax, fabsf(w[k]));
        if (!(amax > 0.0f)) {
            memset(o, 0, (size_t)K);
            scale[n] = 0.0f;
            continue;
        }
        const float inv = 127.0f / amax;
        for (int k = 0; k < K; k++) o[k] = lr__q8_clamp(nearbyintf(w[k] * inv));
        scale[n] = amax / 127.0f;
    }
}

int lr__q8_check_weight(const char *name, const int8_t *q, size_t n, const float *scale,
                        size_t n_scale, lr_error *err) {
    for (size_t i = 0; i < n; i++)
        if (q[i] == -128)
            return lr__err(err, LR_EFORMAT, "tensor %s: value -128 at %zu (int8 weights are in "
                           "[-127, 127])", name, i);
    for (size_t i = 0; i < n_scale; i++)
        if (!(scale[i] >= 0.0f) || !isfinite(scale[i]))
            return lr__err(err, LR_EFORMAT, "tensor %s_scale: scale %zu is %g (must be finite "
                           "and >= 0)", name, i, (double)scale[i]);
    return LR_OK;
}
