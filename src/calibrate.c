/*
 * calibrate.c — temperature scaling of a model file.
 *
 * A classifier's probabilities are softmax(z / T) for its logits z and a
 * temperature T fitted on held-out judged events (src/eval.c,
 * lr_eval_fit_temperature). The logits are an affine function of the head's
 * last Linear layer, so dividing that layer's weight and bias by T gives a
 * model whose own logits are z / T: every consumer (score, eval, the ONNX
 * export, quantized copies, which keep the head in f32) is calibrated
 * without knowing about temperatures. The copy records the total temperature
 * applied in `model.temperature` (the input's, if any, times T).
 *
 * The copy goes through the writer of convert, train and quantize: the
 * input's metadata (lr__model_read_meta), then every tensor in
 * lr__bert_tensor_at order, straight from the input's mapping except the
 * last two (the head's last weight and bias), scaled into buffers.
 */
#include "logrisk.h"

#include <math.h>
#include <string.h>

#include "format.h"
#include "quant.h"
#include "util.h"

static int calibrate_lrm(const lr__lrm *f, const char *out_path, double temperature, lr_error *err) {
    lr__bert_config cfg = {0};
    lr__model_meta meta;
    char **labels = NULL, *source = NULL;
    float *scaled[2] = {NULL, NULL};
    lr__lrm_writer *w = NULL;
    lr__wtype have;
    int rc = lr__model_read_wtype(f, &have, err);
    if (!rc) rc = lr__model_read_meta(f, &cfg, &meta, &labels, &source, err);
    if (!rc && !(w = lr__lrm_writer_new(err))) rc = LR_ENOMEM;
    if (!rc) {
        meta.temperature = (meta.temperature > 0 ? meta.temperature : 1.0) * temperature;
        rc = lr__model_write_meta(w, &meta, err);
    }
    if (!rc && have != LR_WTYPE_F32) {
        const char *dt = lr__wtype_name(have);
        rc = lr__lrm_set_str(w, "model.dtype", dt, strlen(dt), err);
    }
    int n = rc ? 0 : lr__bert_n_tensors(&cfg);
    for (int i = 0; !rc && i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&cfg, i, &sp);
        const lr__tensor *t = lr__lrm_tensor(f, sp.name);
        if (!t) {
            rc = lr__err(err, LR_EFORMAT, "tensor %s is missing", sp.name);
            break;
        }
        int last = i - (n - 2); /* 0: the head's last weight, 1: its bias */
        if (last < 0) {
            /* copied as stored: a quantized tensor keeps its scale tensor */
            rc = lr__lrm_add_tensor(w, t->name, t->dtype, t->ndim, t->shape, t->data, err);
            char scale_name[sizeof sp.name + 8];
            snprintf(scale_name, sizeof scale_name, "%s_scale", sp.name);
            const lr__tensor *s = lr__lrm_tensor(f, scale_name);
            if (!rc && s) rc = lr__lrm_add_tensor(w, s->name, s->dtype, s->ndim, s->shape, s->data, err);
            continue;
        }
        if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, &t, err))) break;
        size_t count = 1;
        for (int d = 0; d < sp.ndim; d++) count *= (size_t)sp.shape[d];
        if (!(scaled[last] = lr__alloc_array(count, sizeof(float)))) {
            rc = lr__err(err, LR_ENOMEM, "out of memory");
            break;
        }
        const float *src = t->data;
        for (size_t k = 0; k < count; k++) scaled[last][k] = (float)(src[k] / temperature);
        rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, scaled[last], err);
    }
    if (!rc) rc = lr__lrm_writer_write(w, out_path, err);
    lr__lrm_writer_free(w);
    lr__free(scaled[0]);
    lr__free(scaled[1]);
    lr__model_meta_free(labels, cfg.n_labels, source);
    return rc;
}

int lr_model_calibrate(const char *in_path, const char *out_path, double temperature, lr_error *err) {
    if (!out_path) return lr__err(err, LR_EINVAL, "calibrate: no output path");
    if (!(temperature > 0.0) || !isfinite(temperature))
        return lr__err(err, LR_EINVAL, "calibrate: the temperature must be a positive number, not %g", temperature);
    const char *name;
    lr__lrm *f = lr__model_open_any(in_path, "calibrate", &name, err);
    if (!f) return err ? err->code : LR_EFORMAT;
    int rc = calibrate_lrm(f, out_path, temperature, err);
    lr__lrm_close(f);
    return rc;
}
