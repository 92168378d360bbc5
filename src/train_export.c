/*
 * train_export.c — the trained parameters as an .lrm model file (see
 * train_export.h). The tensor list comes from the engine
 * (lr__bert_tensor_at), so the file has exactly what lr_model_load wants;
 * each one is looked up by name in the training layout.
 */
#include "train_export.h"

#include <string.h>

#include "format.h"
#include "util.h"
#include "wtype.h"

int lr__bert_train_export(const lr__bert_train *m, const lr__model_meta *meta, const char *path,
                          lr_error *err) {
    lr__model_meta mm = *meta;
    mm.cfg = &m->cfg;
    lr__lrm_writer *w = lr__lrm_writer_new(err);
    if (!w) return err ? err->code : LR_ENOMEM;
    int rc = lr__model_write_meta(w, &mm, err);
    int n = rc ? 0 : lr__bert_n_tensors(&m->cfg);
    for (int i = 0; i < n && !rc; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&m->cfg, i, &sp);
        int t = lr__params_find(&m->params, sp.name);
        if (t < 0) {
            rc = lr__err(err, LR_EINVAL, "%s: the trained model has no tensor %s", path, sp.name);
            break;
        }
        const lr__param_info *info = &m->params.info[t];
        int64_t d0 = sp.shape[0], d1 = sp.ndim == 2 ? sp.shape[1] : 1;
        if (info->shape[0] != d0 || info->shape[1] != d1 || info->ndim != sp.ndim) {
            rc = lr__err(err, LR_EINVAL, "%s: tensor %s is [%d, %d] in training, the engine wants "
                         "[%lld, %lld]", path, sp.name, info->shape[0], info->shape[1],
                         (long long)d0, (long long)d1);
            break;
        }
        rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape,
                                m->params.value + info->offset, err);
    }
    if (!rc) rc = lr__lrm_writer_write(w, path, err);
    lr__lrm_writer_free(w);
    return rc;
}

int lr__bert_train_load_encoder(lr__bert_train *m, const char *path, lr_error *err) {
    lr__lrm *f = lr__lrm_open(path, err);
    if (!f) return err ? err->code : LR_EIO;
    lr__wtype wt;
    int rc = lr__model_read_wtype(f, &wt, err);
    if (!rc && wt != LR_WTYPE_F32)
        rc = lr__err(err, LR_EUNSUPPORTED, "%s is a %s model: training starts from f32 weights "
                     "(use the model it was quantized from)", path, lr__wtype_name(wt));
    for (int i = 0; i < m->params.n && !rc; i++) {
        const lr__param_info *info = &m->params.info[i];
        if (strncmp(info->name, "bert.", 5) != 0) continue;
        int64_t shape[2] = {info->shape[0], info->shape[1]};
        const lr__tensor *t;
        rc = lr__lrm_expect(f, info->name, LR_DTYPE_F32, info->ndim, shape, &t, err);
        if (!rc) memcpy(m->params.value + info->offset, t->data, info->size * sizeof(float));
    }
    lr__lrm_close(f);
    return rc;
}
