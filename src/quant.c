/*
 * quant.c — quantized model files: the weight rules (quant.h) and
 * lr_model_quantize, which copies a model file with its encoder Linear
 * weights converted to int8 or bfloat16.
 *
 * The copy goes through the same writer as convert and train: metadata by
 * lr__model_write_meta (read back from the input: config, labels,
 * vocabulary, max_len, rules, source) plus model.dtype, then every tensor
 * in lr__bert_tensor_at order, the quantized ones converted into buffers
 * that live until the file is written, the others straight from the
 * input's mapping.
 */
#include "quant.h"

#include <math.h>
#include <string.h>

#include "format.h"
#include "model_builtin.h"
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
    static const char prefix[] = "bert.encoder.layer.";
    return s->ndim == 2 && strncmp(s->name, prefix, sizeof prefix - 1) == 0;
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

/* ------------------------------------------------------------- quantize */

int lr__model_read_meta(const lr__lrm *f, lr__bert_config *cfg, lr__model_meta *m, char ***labels,
                        char **source, lr_error *err) {
    int max_len, rc = lr__model_read_config(f, cfg, &max_len, err);
    if (rc) return rc;
    memset(m, 0, sizeof *m);
    m->cfg = cfg;
    m->max_len = max_len;
    m->n_labels = (size_t)cfg->n_labels;
    *labels = lr__calloc(m->n_labels, sizeof **labels);
    if (!*labels) return lr__err(err, LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_labels; i++) {
        const char *s;
        size_t len;
        if ((rc = lr__lrm_get_strs_item(f, "model.labels", i, &s, &len, err))) return rc;
        if (!((*labels)[i] = lr__strndup(s, len))) return lr__err(err, LR_ENOMEM, "out of memory");
    }
    m->labels = (const char *const *)*labels;
    if ((rc = lr__lrm_get_str(f, "tokenizer.vocab", &m->vocab, &m->vocab_len, err))) return rc;
    lr_error ignore;
    if (lr__lrm_get_str(f, "rules.yaml", &m->rules_yaml, &m->rules_len, &ignore)) m->rules_yaml = NULL;
    const char *s;
    size_t len;
    if (!lr__lrm_get_str(f, "model.source", &s, &len, &ignore)) {
        if (!(*source = lr__strndup(s, len))) return lr__err(err, LR_ENOMEM, "out of memory");
        m->source = *source;
    }
    return LR_OK;
}

/* Writes the quantized copy of f (closed by the caller). */
static int quantize_lrm(const lr__lrm *f, const char *in_name, const char *out_path,
                        lr__wtype wt, lr_error *err) {
    lr__bert_config cfg = {0};
    lr__model_meta meta;
    char **labels = NULL, *source = NULL;
    void **bufs = NULL;
    int n = 0;
    lr__lrm_writer *w = NULL;
    lr__wtype have;
    int rc = lr__model_read_wtype(f, &have, err);
    if (rc) goto done;
    if (have != LR_WTYPE_F32) {
        rc = lr__err(err, LR_EUNSUPPORTED, "%s is already a %s model: quantize its f32 original",
                     in_name, lr__wtype_name(have));
        goto done;
    }
    if ((rc = lr__model_read_meta(f, &cfg, &meta, &labels, &source, err))) goto done;
    n = lr__bert_n_tensors(&cfg);
    /* the converted weights (two per tensor: int8 and scales) live until the write */
    bufs = lr__calloc((size_t)n * 2, sizeof *bufs);
    if (!bufs) {
        rc = lr__err(err, LR_ENOMEM, "out of memory");
        goto done;
    }
    if (!(w = lr__lrm_writer_new(err))) {
        rc = LR_ENOMEM; /* the writer's only failure; err says so */
        goto done;
    }
    const char *dt = lr__wtype_name(wt);
    if ((rc = lr__model_write_meta(w, &meta, err)) ||
        (rc = lr__lrm_set_str(w, "model.dtype", dt, strlen(dt), err)))
        goto done;
    for (int i = 0; i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&cfg, i, &sp);
        const lr__tensor *t;
        if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, &t, err))) goto done;
        if (!lr__bert_tensor_is_quantized(&sp)) {
            if ((rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, t->data, err)))
                goto done;
            continue;
        }
        const int N = (int)sp.shape[0], K = (int)sp.shape[1];
        const size_t count = (size_t)N * (size_t)K;
        if (wt == LR_WTYPE_Q8) {
            int8_t *q = lr__malloc(count);
            float *scale = lr__malloc((size_t)N * sizeof *scale);
            bufs[2 * i] = q;
            bufs[2 * i + 1] = scale;
            if (!q || !scale) {
                rc = lr__err(err, LR_ENOMEM, "out of memory quantizing %s", sp.name);
                goto done;
            }
            lr__q8_quantize_weight(t->data, N, K, q, scale);
            char name[sizeof sp.name + 8];
            snprintf(name, sizeof name, "%s_scale", sp.name);
            if ((rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_I8, 2, sp.shape, q, err)) ||
                (rc = lr__lrm_add_tensor(w, name, LR_DTYPE_F32, 1, sp.shape, scale, err)))
                goto done;
        } else {
            uint16_t *h = lr__alloc_array(count, sizeof *h);
            bufs[2 * i] = h;
            if (!h) {
                rc = lr__err(err, LR_ENOMEM, "out of memory converting %s", sp.name);
                goto done;
            }
            const float *src = t->data;
            for (size_t k = 0; k < count; k++) h[k] = lr__bf16_from_f32(src[k]);
            if ((rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_BF16, 2, sp.shape, h, err))) goto done;
        }
    }
    rc = lr__lrm_writer_write(w, out_path, err);
done:
    lr__lrm_writer_free(w);
    for (int i = 0; bufs && i < 2 * n; i++) lr__free(bufs[i]);
    lr__free(bufs);
    lr__model_meta_free(labels, cfg.n_labels, source);
    return rc;
}

void lr__model_meta_free(char **labels, int n_labels, char *source) {
    for (int i = 0; labels && i < n_labels; i++) lr__free(labels[i]);
    lr__free(labels);
    lr__free(source);
}

lr__lrm *lr__model_open_any(const char *path, const char *what, const char **name, lr_error *err) {
    *name = path;
    if (path) return lr__lrm_open(path, err);
    const void *data;
    size_t size;
    if (!lr__model_builtin_image(&data, &size, name)) {
        lr__err(err, LR_EINVAL, "%s: no model given and none built in", what);
        return NULL;
    }
    return lr__lrm_open_memory(data, size, *name, err);
}

int lr_model_quantize(const char *in_path, const char *out_path, const char *dtype,
                      lr_error *err) {
    if (!out_path || !dtype) return lr__err(err, LR_EINVAL, "quantize: no output path or dtype");
    lr__wtype wt;
    int rc = lr__wtype_parse(dtype, strlen(dtype), &wt, err);
    if (rc) return rc;
    if (wt == LR_WTYPE_F32)
        return lr__err(err, LR_EINVAL, "quantize: dtype must be q8 or bf16 (models are f32 already)");
    const char *name;
    lr__lrm *f = lr__model_open_any(in_path, "quantize", &name, err);
    if (!f) return err ? err->code : LR_EFORMAT;
    rc = quantize_lrm(f, name, out_path, wt, err);
    lr__lrm_close(f);
    return rc;
}
