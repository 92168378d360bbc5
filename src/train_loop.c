/*
 * train_loop.c — one training epoch and one evaluation pass (see
 * train_loop.h). Batches are built into scratch arrays owned by each call.
 */
#include "train_loop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

lr__train_opts lr__train_opts_defaults(void) {
    lr__train_opts o;
    memset(&o, 0, sizeof o);
    o.batch = 32;
    o.lr_encoder = o.lr_head = 3e-5;
    o.weight_decay = 0.01;
    o.clip = 1.0;
    return o;
}

void lr__train_state_init(lr__train_state *st, int n_train, int epochs, int batch,
                          double warmup_fraction, uint64_t seed) {
    memset(st, 0, sizeof *st);
    long per_epoch = batch > 0 ? (n_train + batch - 1) / batch : 0;
    st->total_steps = per_epoch * (epochs > 0 ? epochs : 0);
    st->warmup_steps = (long)(warmup_fraction * (double)st->total_steps);
    st->rng = seed ^ 0x5EEDF00Dull;
}

void lr__progress_init(lr__progress *p, lr_train_log_fn log, void *user, int epochs,
                       long step, long total_steps) {
    memset(p, 0, sizeof *p);
    p->log = log;
    p->user = user;
    p->epochs = epochs;
    p->first_step = step;
    p->total_steps = total_steps;
    p->t_start = p->t_last = lr__now_s();
}

void lr__progress_step(lr__progress *p, long step, double loss, int n_tokens) {
    p->tokens += n_tokens;
    double t = lr__now_s();
    if (!p->log || (t - p->t_last < 1.0 && step < p->total_steps)) return;
    p->t_last = t;
    double elapsed = t - p->t_start;
    long done = step - p->first_step;
    double eta = done > 0 ? elapsed / (double)done * (double)(p->total_steps - step) : 0.0;
    char line[160];
    snprintf(line, sizeof line,
             "progress: epoch %d/%d step %ld/%ld loss %.4f %.0f tokens/s ETA %ldm%02lds", p->epoch,
             p->epochs, step, p->total_steps, loss, elapsed > 0 ? p->tokens / elapsed : 0.0,
             (long)eta / 60, (long)eta % 60);
    p->log(p->user, line);
}

int lr__count_tokens(const int *mask, int n, int L) {
    int count = 0;
    for (int i = 0; i < n * L; i++) count += mask[i] != 0;
    return count;
}

typedef struct batch_buf {
    int *ids, *mask, *labels, *order;
} batch_buf;

static int batch_alloc(batch_buf *b, int batch, int max_len, int n, lr_error *err) {
    size_t cells = (size_t)batch * max_len;
    b->ids = lr__alloc_array(cells, sizeof(int));
    b->mask = lr__alloc_array(cells, sizeof(int));
    b->labels = lr__alloc_array((size_t)batch, sizeof(int));
    b->order = lr__alloc_array((size_t)(n > 0 ? n : 1), sizeof(int));
    if (!b->ids || !b->mask || !b->labels || !b->order)
        return lr__err(err, LR_ENOMEM, "out of memory for batches");
    return 0;
}

static void batch_free(batch_buf *b) {
    lr__free(b->ids);
    lr__free(b->mask);
    lr__free(b->labels);
    lr__free(b->order);
}

int lr__train_epoch(lr__bert_train *m, const lr__train_data *d, const int *train_idx,
                    int n_train, const lr__train_opts *opts, lr__train_state *st,
                    double *mean_loss, lr_error *err) {
    if (opts->batch <= 0 || opts->batch > m->max_batch)
        return lr__err(err, LR_EINVAL, "batch %d does not fit the planned %d", opts->batch,
                       m->max_batch);
    batch_buf b;
    int rc = batch_alloc(&b, opts->batch, m->max_len, n_train, err);
    if (rc) {
        batch_free(&b);
        return rc;
    }
    memcpy(b.order, train_idx, (size_t)n_train * sizeof(int));
    lr__train_shuffle(b.order, n_train, &st->rng);
    lr__adamw_cfg adamw = lr__adamw_defaults(0.0);
    adamw.weight_decay = opts->weight_decay;
    double loss_sum = 0.0;
    int n_steps = 0;
    for (int s = 0; s < n_train; s += opts->batch) {
        int n = LR_MIN(opts->batch, n_train - s), L;
        lr__train_batch(d, b.order + s, n, 0, b.ids, b.mask, b.labels, &L);
        double factor = lr__lr_schedule(st->step, st->warmup_steps, st->total_steps);
        adamw.lr[LR_GROUP_ENCODER] = opts->lr_encoder * factor;
        adamw.lr[LR_GROUP_HEAD] = opts->lr_head * factor;
        float loss = 0.0f;
        rc = lr__bert_train_step(m, b.ids, b.mask, b.labels, n, L, &opts->loss,
                                 opts->seed * 0x9E3779B97F4A7C15ull + (uint64_t)st->step, &adamw,
                                 opts->clip, &loss, NULL, err);
        if (rc) break;
        if (!isfinite(loss)) {
            rc = lr__err(err, LR_ERANGE, "training diverged: loss %g at step %ld", (double)loss,
                         st->step);
            break;
        }
        loss_sum += loss;
        n_steps++;
        st->step++;
        if (opts->progress)
            lr__progress_step(opts->progress, st->step, loss, lr__count_tokens(b.mask, n, L));
    }
    if (!rc && mean_loss) *mean_loss = n_steps ? loss_sum / n_steps : 0.0;
    batch_free(&b);
    return rc;
}

int lr__train_evaluate(lr__bert_train *m, const lr__train_data *d, const int *idx, int n,
                       int batch, lr__metrics *metrics, lr_error *err) {
    if (batch <= 0 || batch > m->max_batch) batch = m->max_batch;
    batch_buf b;
    int rc = batch_alloc(&b, batch, m->max_len, 1, err);
    if (rc) {
        batch_free(&b);
        return rc;
    }
    lr__metrics_reset(metrics);
    int C = m->cfg.n_labels;
    for (int s = 0; s < n && !rc; s += batch) {
        int nb = LR_MIN(batch, n - s), L;
        lr__train_batch(d, idx + s, nb, 0, b.ids, b.mask, b.labels, &L);
        rc = lr__bert_train_forward(m, b.ids, b.mask, NULL, nb, L, NULL, 0, 0, NULL, err);
        for (int i = 0; i < nb && !rc; i++) {
            const float *z = m->logits.v + (size_t)i * C;
            int best = 0;
            double max = z[0], sum = 0.0;
            for (int c = 1; c < C; c++)
                if (z[c] > max) max = z[c], best = c;
            for (int c = 0; c < C; c++) sum += exp(z[c] - max);
            int y = b.labels[i];
            double loss = y >= 0 && y < C ? max + log(sum) - z[y] : 0.0;
            lr__metrics_add(metrics, y, best, loss);
        }
    }
    lr__metrics_finish(metrics);
    batch_free(&b);
    return rc;
}
