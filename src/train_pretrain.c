/*
 * train_pretrain.c — `logrisk pretrain`: masked-LM pre-training of the
 * encoder on unlabelled raw log lines (lr_pretrain_run, logrisk.h).
 *
 * The configuration and the setup are train's (train.h, lr__train_setup):
 * data is a raw log file (masked with `rules`, default the built-in
 * rules), and the model keys, lr, epochs, batch, warmup, clip, dropout,
 * valid_fraction, seed, threads apply. Every epoch: 15 % of the real
 * tokens of each batch are corrupted
 * (80/10/10, lr__mlm_mask), one AdamW step per batch; the validation MLM
 * loss uses a fixed masking seed so that epochs compare. The best encoder
 * by validation loss is written to `output` as a normal .lrm model (with
 * an untrained 11-class head) that `train` starts from with `init:`; the
 * loss curve goes to the metrics JSON.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "files.h"
#include "train.h"
#include "train_data.h"
#include "train_export.h"
#include "train_loop.h"
#include "util.h"

/* One pass over idx[0..n) in batches: training steps when `adamw` is set
 * (lr from the schedule in *step), else loss only. Returns the mean loss. */
static int mlm_pass(lr__bert_train *m, const lr__train_data *d, const int *idx, int n, int batch,
                    const lr_tok *tok, uint64_t *rng, const lr__adamw_cfg *adamw_base,
                    double clip, long *step, long warmup, long total, uint64_t seed,
                    lr__progress *progress, double *mean, lr_error *err) {
    size_t cells = (size_t)batch * m->max_len;
    int *ids = lr__alloc_array(cells, sizeof(int)), *mask = lr__alloc_array(cells, sizeof(int));
    int *targets = lr__alloc_array(cells, sizeof(int)), *labels = lr__alloc_array((size_t)batch,
                                                                                 sizeof(int));
    int rc = 0;
    if (!ids || !mask || !targets || !labels) rc = lr__err(err, LR_ENOMEM, "out of memory");
    int mask_id = lr_tok_special(tok, LR_TOK_MASK), cls = lr_tok_special(tok, LR_TOK_CLS);
    int sep = lr_tok_special(tok, LR_TOK_SEP), V = m->cfg.vocab_size;
    double sum = 0.0;
    int count = 0;
    for (int s = 0; s < n && !rc; s += batch) {
        int nb = LR_MIN(batch, n - s), L;
        lr__train_batch(d, idx + s, nb, 0, ids, mask, labels, &L);
        int got = lr__mlm_mask(ids, mask, nb * L, V, mask_id, cls, sep, 0.15, m->max_masked, rng,
                               targets);
        if (got == 0) continue; /* nothing maskable in this batch ([CLS] [SEP] only) */
        float loss = 0.0f;
        if (adamw_base) {
            lr__adamw_cfg a = *adamw_base;
            double f = lr__lr_schedule(*step, warmup, total);
            a.lr[LR_GROUP_ENCODER] *= f;
            a.lr[LR_GROUP_HEAD] *= f;
            rc = lr__bert_train_step_mlm(m, ids, mask, targets, nb, L,
                                         seed * 0x9E3779B97F4A7C15ull + (uint64_t)*step, &a, clip,
                                         &loss, NULL, err);
            ++*step;
            if (!rc && progress)
                lr__progress_step(progress, *step, loss, lr__count_tokens(mask, nb, L));
        } else {
            rc = lr__bert_train_forward_mlm(m, ids, mask, targets, nb, L, 0, 0, &loss, err);
        }
        if (!rc && !isfinite(loss)) rc = lr__err(err, LR_ERANGE, "pre-training diverged");
        sum += loss;
        count++;
    }
    *mean = count ? sum / count : 0.0;
    lr__free(ids);
    lr__free(mask);
    lr__free(targets);
    lr__free(labels);
    return rc;
}

int lr_pretrain_run(const char *config_path, const char *out_path, lr_train_log_fn log, void *user,
                    lr_error *err) {
    lr__train_setup su;
    lr__bert_train *m = &su.m;
    lr_rules *rules = NULL;
    lr__buf hist;
    lr__buf_init(&hist);
    int rc = lr__train_setup_begin(&su, config_path, out_path, "encoder.lrm", err);
    if (rc) goto done;
    const lr__train_config c = su.c; /* a view: the strings stay owned by the setup */
    lr_rec_format fmt;
    if ((rc = lr__train_input_format(c.input_format, &fmt, err))) goto done;
    if (!(rules = c.rules ? lr_rules_load(c.rules, err) : lr_rules_default(err))) goto fail_code;
    if ((rc = lr__train_data_load_log(&su.d, c.data, su.tok, rules, c.max_len, fmt, err))) goto done;
    if ((rc = lr__train_setup_model(&su, LR_RISK_CLASSES, LR_TRAIN_MLM, err))) goto done;
    const lr__train_data *d = &su.d;
    int *tr = su.tr;
    const int *va = su.va, ntr = su.ntr, nva = su.nva;
    lr__train_state st;
    lr__train_state_init(&st, ntr, c.epochs, c.batch, c.warmup, c.seed);
    lr__adamw_cfg adamw = lr__adamw_defaults(c.lr);
    adamw.weight_decay = c.weight_decay;
    static const char *const risk_names[LR_RISK_CLASSES] = {"0", "1", "2", "3", "4", "5",
                                                            "6", "7", "8", "9", "10"};
    const char *rules_yaml = NULL;
    size_t rules_len = 0;
    rules_yaml = lr_rules_yaml(rules, &rules_len);
    lr__model_meta meta = {.labels = risk_names, .n_labels = LR_RISK_CLASSES,
                           .vocab = su.vocab_text, .vocab_len = su.vocab_len,
                           .max_len = c.max_len,
                           .rules_yaml = rules_yaml, .rules_len = rules_len,
                           .source = "logrisk pretrain (untrained head)"};
    lr__train_log(log, user, "%d lines (%d train, %d validation), %zu parameters, %ld steps",
                  d->n, ntr, nva, m->params.n_floats, st.total_steps);
    double best = INFINITY;
    int best_epoch = -1;
    lr__progress progress;
    lr__progress_init(&progress, log, user, c.epochs, st.step, st.total_steps);
    for (int e = 0; e < c.epochs; e++) {
        lr__train_shuffle(tr, ntr, &st.rng);
        double train_loss = 0.0, val_loss = 0.0;
        progress.epoch = e + 1;
        if ((rc = mlm_pass(m, d, tr, ntr, c.batch, su.tok, &st.rng, &adamw, c.clip, &st.step,
                           st.warmup_steps, st.total_steps, c.seed, &progress, &train_loss, err)))
            goto done;
        uint64_t val_rng = c.seed ^ 0xA11CEull; /* the same masks every epoch */
        if (nva > 0 && (rc = mlm_pass(m, d, va, nva, c.batch, su.tok, &val_rng, NULL, 0.0, NULL, 0,
                                      0, 0, NULL, &val_loss, err)))
            goto done;
        if (nva == 0) val_loss = train_loss;
        int improved = val_loss < best;
        lr__train_log(log, user, "epoch %d/%d: MLM train loss %.4f, validation loss %.4f%s",
                      e + 1, c.epochs, train_loss, val_loss, improved ? " (best)" : "");
        if (lr__buf_printf(&hist, "%s{\"epoch\":%d,\"train_loss\":", hist.len ? "," : "", e + 1) ||
            lr__buf_put_json_float(&hist, (float)train_loss) ||
            lr__buf_puts(&hist, ",\"val_loss\":") || lr__buf_put_json_float(&hist, (float)val_loss) ||
            lr__buf_putc(&hist, '}'))
            goto oom;
        if (improved) {
            best = val_loss;
            best_epoch = e;
            if ((rc = lr__bert_train_export(m, &meta, c.output, err))) goto done;
        }
        lr__buf out;
        lr__buf_init(&out);
        int brc = lr__buf_printf(&out, "{\"task\":\"mlm\",\"best_epoch\":%d,\"epochs\":[%s]}\n",
                                 best_epoch + 1, hist.data);
        if (brc) {
            lr__buf_free(&out);
            goto oom;
        }
        rc = lr__file_write_atomic(c.metrics, out.data, out.len, err);
        lr__buf_free(&out);
        if (rc) goto done;
    }
    lr__train_log(log, user, "best epoch %d (validation MLM loss %.4f) written to %s",
                  best_epoch + 1, best, c.output);
    goto done;
fail_code:
    rc = err && err->code ? err->code : LR_ENOMEM;
    goto done;
oom:
    rc = lr__err(err, LR_ENOMEM, "out of memory during pre-training");
done:
    lr__buf_free(&hist);
    lr_rules_free(rules);
    lr__train_setup_free(&su);
    return rc;
}
