/*
 * train_bert.c — the training graph of the BERT classifier on the tape
 * (see train_bert.h for the graph). The parameters, their names and order,
 * and the head's stages are the model description's (arch.h).
 *
 * The same builder (build_graph) runs twice: once in the tape's planning
 * mode at init, with the largest batch and dropout on, to size the arena;
 * then once per step for real.
 */
#include "train_bert.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------ layout */

/* The parameters of the model description (arch.h), in its order, then
 * the masked-LM head's when planned for it. */
static int declare(lr__bert_train *m, lr_error *err) {
    const lr__bert_config *c = &m->cfg;
    lr__params *p = &m->params;
    int H = c->hidden, rc;
    m->t_emb = p->n;
    m->t_layer0 = p->n + lr__bert_layer_tensor(0, 0);
    m->t_head = p->n + lr__bert_head_tensor0(c);
    for (int i = 0, n = lr__bert_n_tensors(c); i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(c, i, &sp);
        int group = sp.part == LR_PART_HEAD ? LR_GROUP_HEAD : LR_GROUP_ENCODER;
        if ((rc = lr__params_add(p, sp.name, (int)sp.shape[0], (int)sp.shape[1], group, err)))
            return rc;
    }
    m->t_mlm = -1;
    if (!m->max_masked) return 0;
    m->t_mlm = p->n;
    if ((rc = lr__params_add(p, "cls.predictions.transform.dense.weight", H, H, LR_GROUP_HEAD,
                             err)) ||
        (rc = lr__params_add(p, "cls.predictions.transform.dense.bias", H, 0, LR_GROUP_HEAD,
                             err)) ||
        (rc = lr__params_add(p, "cls.predictions.transform.LayerNorm.weight", H, 0, LR_GROUP_HEAD,
                             err)) ||
        (rc = lr__params_add(p, "cls.predictions.transform.LayerNorm.bias", H, 0, LR_GROUP_HEAD,
                             err)) ||
        (rc = lr__params_add(p, "cls.predictions.bias", c->vocab_size, 0, LR_GROUP_HEAD, err)))
        return rc;
    return 0;
}

/* ------------------------------------------------------------ graph */

static lr__var P(const lr__bert_train *m, int i) { return lr__params_var(&m->params, i); }

/* The encoder: returns the last hidden state [B*L, H]. */
static lr__var encode(lr__bert_train *m, int B, int L, int training) {
    const lr__bert_config *c = &m->cfg;
    lr__tape *t = &m->tape;
    int H = c->hidden, I = c->intermediate, BL = B * L;
    float eps = c->ln_eps;
    float ph = training ? m->p_hidden : 0.0f, pa = training ? m->p_attn : 0.0f;
    int e = m->t_emb;
    lr__var word = lr__op_gather(t, P(m, e), c->vocab_size, H, m->ids, BL, 0);
    lr__var type = lr__op_gather(t, P(m, e + 2), c->type_vocab_size, H, m->types, BL, -1);
    lr__var pos = lr__op_gather(t, P(m, e + 1), c->max_positions, H, m->pos, BL, -1);
    lr__var x = lr__op_add(t, lr__op_add(t, word, type), pos);
    x = lr__op_layernorm(t, x, P(m, e + 3), P(m, e + 4), BL, H, eps);
    x = lr__op_dropout(t, x, ph);
    for (int l = 0; l < c->n_layers; l++) {
        int b = m->t_layer0 + l * LR_BERT_TENSORS_PER_LAYER;
        lr__var q = lr__op_linear(t, x, P(m, b + LR_LT_QW), P(m, b + LR_LT_QB), BL, H, H);
        lr__var k = lr__op_linear(t, x, P(m, b + LR_LT_KW), P(m, b + LR_LT_KB), BL, H, H);
        lr__var v = lr__op_linear(t, x, P(m, b + LR_LT_VW), P(m, b + LR_LT_VB), BL, H, H);
        lr__var ctx = lr__op_attention(t, q, k, v, m->mask, B, L, H, c->n_heads, pa);
        lr__var a = lr__op_linear(t, ctx, P(m, b + LR_LT_AOW), P(m, b + LR_LT_AOB), BL, H, H);
        a = lr__op_add(t, lr__op_dropout(t, a, ph), x);
        a = lr__op_layernorm(t, a, P(m, b + LR_LT_LN1W), P(m, b + LR_LT_LN1B), BL, H, eps);
        lr__var h = lr__op_linear(t, a, P(m, b + LR_LT_FF1W), P(m, b + LR_LT_FF1B), BL, I, H);
        h = lr__op_gelu(t, h);
        lr__var o = lr__op_linear(t, h, P(m, b + LR_LT_FF2W), P(m, b + LR_LT_FF2B), BL, H, I);
        o = lr__op_add(t, lr__op_dropout(t, o, ph), a);
        x = lr__op_layernorm(t, o, P(m, b + LR_LT_LN2W), P(m, b + LR_LT_LN2B), BL, H, eps);
    }
    return x;
}

/* An activation of a head stage on the tape (arch.h's lr__act); NONE for
 * one the tape has no op for (lr__bert_train_init refuses such a head). */
static int act_trainable(lr__act a) { return a == LR_ACT_NONE || a == LR_ACT_RELU; }

static lr__var act(lr__tape *t, lr__act a, lr__var x) {
    return a == LR_ACT_RELU ? lr__op_relu(t, x) : x;
}

/* The classification head on row 0 of each sequence: the stages of the
 * config's head (arch.h), dropout (p_head) on a stage's input where the
 * table says so; logits [B, C]. */
static lr__var head(lr__bert_train *m, lr__var hidden, int B, int L, int training) {
    const lr__bert_config *c = &m->cfg;
    const lr__head_desc *hd = lr__head_desc_of(c->head);
    lr__tape *t = &m->tape;
    int H = c->hidden, h = m->t_head;
    float pd = training ? m->p_head : 0.0f;
    lr__var x = lr__op_gather(t, hidden, B * L, H, m->cls, B, -1);
    for (int st = 0; st < hd->n_stages; st++) {
        const lr__head_stage *S = &hd->stage[st];
        if (S->dropout) x = lr__op_dropout(t, x, pd);
        x = lr__op_linear(t, x, P(m, h + 2 * st), P(m, h + 2 * st + 1), B,
                          (int)lr__bert_dim(c, S->out), (int)lr__bert_dim(c, S->in));
        if (st + 1 < hd->n_stages) x = act(t, S->act, x);
    }
    return x;
}

/* The masked-LM head on the n gathered rows; returns the loss. */
static lr__var mlm_head(lr__bert_train *m, lr__var hidden, int B, int L, int n) {
    const lr__bert_config *c = &m->cfg;
    lr__tape *t = &m->tape;
    int H = c->hidden, h = m->t_mlm;
    lr__var x = lr__op_gather(t, hidden, B * L, H, m->mlm_rows, n, -1);
    x = lr__op_linear(t, x, P(m, h), P(m, h + 1), n, H, H);
    x = lr__op_gelu(t, x);
    x = lr__op_layernorm(t, x, P(m, h + 2), P(m, h + 3), n, H, c->ln_eps);
    lr__var logits = lr__op_linear(t, x, P(m, m->t_emb), P(m, h + 4), n, c->vocab_size, H);
    return lr__op_xent(t, logits, m->mlm_targets, n, c->vocab_size, NULL);
}

static void fill_positions(lr__bert_train *m, int B, int L) {
    for (int b = 0; b < B; b++) {
        m->cls[b] = b * L;
        for (int i = 0; i < L; i++) {
            m->pos[b * L + i] = i;
            m->types[b * L + i] = 0;
        }
    }
    m->B = B;
    m->L = L;
}

static void build_graph(lr__bert_train *m, int B, int L, int training, int with_loss,
                        const lr__xent_opts *opts) {
    fill_positions(m, B, L);
    m->hidden = encode(m, B, L, training);
    if (m->freeze_encoder && !m->tape.planning) m->tape.backward_stop = m->tape.n_ops;
    m->logits = head(m, m->hidden, B, L, training);
    if (with_loss)
        m->loss = lr__op_xent(&m->tape, m->logits, m->labels, B, m->cfg.n_labels, opts);
}

/* ------------------------------------------------------------ lifetime */

static int check_config(const lr__bert_config *c, int max_batch, int max_len, lr_error *err) {
    const lr__head_desc *hd = lr__head_desc_of(c->head);
    if (!hd) return lr__err(err, LR_EINVAL, "model config: unknown head type %d", (int)c->head);
    if (c->vocab_size <= 0 || c->hidden <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->intermediate <= 0 || c->max_positions <= 0 || c->type_vocab_size <= 0 ||
        c->n_labels <= 0 || (lr__head_uses_hidden(c) && c->head_hidden <= 0))
        return lr__err(err, LR_EINVAL, "model config has a size <= 0");
    for (int st = 0; st + 1 < hd->n_stages; st++)
        if (!act_trainable(hd->stage[st].act))
            return lr__err(err, LR_EUNSUPPORTED,
                           "the %s head cannot be trained: the training graph has no %s", hd->name,
                           lr__act_name(hd->stage[st].act));
    if (c->hidden % c->n_heads)
        return lr__err(err, LR_EINVAL, "hidden size %d is not a multiple of %d heads", c->hidden,
                       c->n_heads);
    if (max_batch <= 0 || max_len <= 0 || max_len > c->max_positions)
        return lr__err(err, LR_EINVAL, "batch %d x %d does not fit the model (max positions %d)",
                       max_batch, max_len, c->max_positions);
    size_t n;
    if (!lr__mul_ok((size_t)max_batch, (size_t)max_len, &n) || n > (size_t)1 << 28)
        return lr__err(err, LR_ERANGE, "batch %d x %d is too large", max_batch, max_len);
    return 0;
}

int lr__bert_train_init(lr__bert_train *m, const lr__bert_config *cfg, int max_batch, int max_len,
                        unsigned flags, lr_pool *pool, lr_error *err) {
    memset(m, 0, sizeof *m);
    int rc = check_config(cfg, max_batch, max_len, err);
    if (rc) return rc;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->max_len = max_len;
    m->p_hidden = m->p_attn = m->p_head = 0.1f;
    size_t BL = (size_t)max_batch * max_len;
    if (flags & LR_TRAIN_MLM) m->max_masked = (int)LR_MIN(BL, BL / 5 + 64);
    lr__tape_init(&m->tape, pool);
    if ((rc = declare(m, err)) || (rc = lr__params_alloc(&m->params, err))) goto fail;
    m->params.pool = pool;
    m->ints = lr__alloc_array(4 * BL + 2 * (size_t)max_batch + 2 * (size_t)m->max_masked,
                              sizeof(int));
    if (!m->ints) {
        rc = lr__err(err, LR_ENOMEM, "out of memory for batch indices");
        goto fail;
    }
    m->ids = m->ints;
    m->mask = m->ids + BL;
    m->pos = m->mask + BL;
    m->types = m->pos + BL;
    m->labels = m->types + BL;
    m->cls = m->labels + max_batch;
    m->mlm_rows = m->cls + max_batch;
    m->mlm_targets = m->mlm_rows + m->max_masked;
    lr__tape_plan_begin(&m->tape);
    lr__xent_opts none = {0};
    build_graph(m, max_batch, max_len, 1, 1, &none);
    if (m->max_masked) {
        lr__tape_plan_next(&m->tape);
        fill_positions(m, max_batch, max_len);
        lr__var hidden = encode(m, max_batch, max_len, 1);
        mlm_head(m, hidden, max_batch, max_len, m->max_masked);
    }
    if ((rc = lr__tape_plan_end(&m->tape, err))) goto fail;
    return 0;
fail:
    lr__bert_train_free(m);
    return rc;
}

void lr__bert_train_free(lr__bert_train *m) {
    lr__tape_free(&m->tape);
    lr__params_free(&m->params);
    lr__free(m->ints);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ init */

static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A standard normal draw (Box-Muller on two 53-bit uniforms). */
static double next_normal(uint64_t *s) {
    double u1 = ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(next_u64(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void lr__bert_train_init_weights(lr__bert_train *m, uint64_t seed, float std) {
    lr__params *p = &m->params;
    uint64_t s = seed;
    memset(p->block, 0, 4 * p->n_floats * sizeof(float));
    p->step = 0;
    for (int i = 0; i < p->n; i++) {
        const lr__param_info *info = &p->info[i];
        float *w = p->value + info->offset;
        if (strstr(info->name, "LayerNorm.weight")) {
            for (size_t j = 0; j < info->size; j++) w[j] = 1.0f;
        } else if (info->ndim == 2) {
            for (size_t j = 0; j < info->size; j++) w[j] = (float)(std * next_normal(&s));
        }
    }
    int word = m->t_emb;
    memset(p->value + p->info[word].offset, 0, (size_t)m->cfg.hidden * sizeof(float));
}

/* ------------------------------------------------------------ steps */

int lr__bert_train_forward(lr__bert_train *m, const int *ids, const int *mask, const int *labels,
                           int B, int L, const lr__xent_opts *opts, int training, uint64_t seed,
                           float *loss_out, lr_error *err) {
    if (B <= 0 || L <= 0 || B > m->max_batch || L > m->max_len)
        return lr__err(err, LR_ERANGE, "batch %d x %d exceeds the planned %d x %d", B, L,
                       m->max_batch, m->max_len);
    size_t BL = (size_t)B * L;
    memcpy(m->ids, ids, BL * sizeof(int));
    memcpy(m->mask, mask, BL * sizeof(int));
    if (labels) memcpy(m->labels, labels, (size_t)B * sizeof(int));
    lr__xent_opts none = {0};
    lr__tape_begin(&m->tape, seed);
    memset(&m->loss, 0, sizeof m->loss);
    build_graph(m, B, L, training, labels != NULL, opts ? opts : &none);
    int rc = lr__tape_status(&m->tape, err);
    if (rc) return rc;
    if (loss_out) *loss_out = labels ? m->loss.v[0] : 0.0f;
    return 0;
}

int lr__bert_train_forward_mlm(lr__bert_train *m, const int *ids, const int *mask,
                               const int *targets, int B, int L, int training, uint64_t seed,
                               float *loss_out, lr_error *err) {
    if (!m->max_masked) return lr__err(err, LR_EINVAL, "model was not set up for masked-LM");
    if (B <= 0 || L <= 0 || B > m->max_batch || L > m->max_len)
        return lr__err(err, LR_ERANGE, "batch %d x %d exceeds the planned %d x %d", B, L,
                       m->max_batch, m->max_len);
    int n = 0;
    for (int i = 0; i < B * L; i++) {
        if (targets[i] < 0) continue;
        if (n == m->max_masked)
            return lr__err(err, LR_ERANGE, "more than %d predicted positions in one batch",
                           m->max_masked);
        m->mlm_rows[n] = i;
        m->mlm_targets[n] = targets[i];
        n++;
    }
    if (n == 0) return lr__err(err, LR_EINVAL, "masked-LM batch with no predicted position");
    memcpy(m->ids, ids, (size_t)B * L * sizeof(int));
    memcpy(m->mask, mask, (size_t)B * L * sizeof(int));
    m->n_masked = n;
    lr__tape_begin(&m->tape, seed);
    fill_positions(m, B, L);
    m->hidden = encode(m, B, L, training);
    memset(&m->logits, 0, sizeof m->logits);
    m->loss = mlm_head(m, m->hidden, B, L, n);
    int rc = lr__tape_status(&m->tape, err);
    if (rc) return rc;
    if (loss_out) *loss_out = m->loss.v[0];
    return 0;
}

int lr__bert_train_step_mlm(lr__bert_train *m, const int *ids, const int *mask, const int *targets,
                            int B, int L, uint64_t seed, const lr__adamw_cfg *adamw, double clip,
                            float *loss_out, double *grad_norm, lr_error *err) {
    int rc = lr__bert_train_forward_mlm(m, ids, mask, targets, B, L, 1, seed, loss_out, err);
    if (rc || (rc = lr__bert_train_backward(m, err))) return rc;
    double norm = lr__clip_grad_norm(&m->params, clip);
    if (grad_norm) *grad_norm = norm;
    lr__adamw_step(&m->params, adamw);
    return 0;
}

int lr__bert_train_backward(lr__bert_train *m, lr_error *err) {
    if (!m->loss.v) return lr__err(err, LR_EINVAL, "backward without a forward pass with labels");
    lr__params_zero_grad(&m->params);
    lr__tape_backward(&m->tape, m->loss);
    return lr__tape_status(&m->tape, err);
}

int lr__bert_train_step(lr__bert_train *m, const int *ids, const int *mask, const int *labels,
                        int B, int L, const lr__xent_opts *opts, uint64_t seed,
                        const lr__adamw_cfg *adamw, double clip, float *loss_out,
                        double *grad_norm, lr_error *err) {
    if (!labels) return lr__err(err, LR_EINVAL, "a training step needs labels");
    int rc = lr__bert_train_forward(m, ids, mask, labels, B, L, opts, 1, seed, loss_out, err);
    if (rc || (rc = lr__bert_train_backward(m, err))) return rc;
    double norm = lr__clip_grad_norm(&m->params, clip);
    if (grad_norm) *grad_norm = norm;
    lr__adamw_step(&m->params, adamw);
    return 0;
}
