/*
 * quant.c — lr_model_quantize: a copy of a model file with its encoder
 * Linear weights converted to int8 or bfloat16 (the rules are wtype.c's).
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
#include "util.h"

/* ------------------------------------------------------------- quantize */

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
