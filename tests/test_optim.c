/*
 * test_optim.c — the parameter block, AdamW, clipping and the schedule
 * against hand-computed values, and the BERT training step against PyTorch
 * (tests/fixtures/train, written by tools/make_train_fixture.py; the
 * directory can be overridden with LR_TRAIN_FIXTURE).
 *
 * Parity tolerance: |c - torch| <= 1e-4 * |torch| + 1e-4 * max|torch over
 * the tensor| + 1e-7 — relative 1e-4 per element, plus an absolute floor
 * at 1e-4 of the tensor's scale for elements that are sums of terms that
 * nearly cancel (float summation order differs from torch's).
 *
 * One exception, by mathematics: the gradient of every attention KEY bias
 * is identically 0 (adding q·b_k to every score of a row does not change
 * its softmax), so torch's and our values are both float rounding noise
 * (~1e-9). For those tensors the gradient is checked to be below 1e-6 of
 * the largest gradient, and after the AdamW steps (which turn noise into
 * steps of about lr) the parameters are checked only to within the Adam
 * step bound, 2 * lr per step.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "optim.h"
#include "t.h"
#include "train_bert.h"
#include "util.h"

/* ------------------------------------------------------------ AdamW by hand */

static void test_layout(void) {
    lr__params p = {0};
    T_EQ_INT(lr__params_add(&p, "a.weight", 3, 5, LR_GROUP_ENCODER, NULL), 0);
    T_EQ_INT(lr__params_add(&p, "a.bias", 3, 0, LR_GROUP_ENCODER, NULL), 0);
    T_EQ_INT(lr__params_add(&p, "x.LayerNorm.weight", 7, 0, LR_GROUP_HEAD, NULL), 0);
    T_EQ_INT(lr__params_alloc(&p, NULL), 0);
    T_EQ_INT(p.n, 3);
    T_EQ_INT(p.info[0].offset, 0);
    T_EQ_INT(p.info[1].offset, 16); /* 64-byte aligned */
    T_EQ_INT(p.info[2].offset, 32);
    T_EQ_INT(p.n_floats, 48);
    T_EQ_INT(p.info[0].decay, 1);
    T_EQ_INT(p.info[1].decay, 0);
    T_EQ_INT(p.info[2].decay, 0);
    T_EQ_INT(lr__params_find(&p, "a.bias"), 1);
    T_EQ_INT(lr__params_find(&p, "nope"), -1);
    T_CHECK(p.grad == p.value + 48 && p.m == p.value + 96 && p.v == p.value + 144);
    lr_error err;
    T_EQ_INT(lr__params_add(&p, "late", 1, 0, 0, &err), LR_EINVAL);
    lr__params_free(&p);
}

/* Two steps on one decayed weight and one bias, values from the formula of
 * torch.optim.AdamW worked out by hand (python, double):
 *   lr 0.1, wd 0.01, betas (0.9, 0.999), eps 1e-8, w = b = 0.5,
 *   step 1: g = 0.2  -> w 0.3995, b 0.4
 *   step 2: g = -0.1 -> w 0.3995*(1-0.001) - (0.1/0.19) * 0.008 /
 *                       (sqrt(4.996e-5)/sqrt(0.001999) + 1e-8) = 0.372466803,
 *                       b 0.4 - (same step) = 0.373366303 */
static void test_adamw_by_hand(void) {
    lr__params p = {0};
    T_EQ_INT(lr__params_add(&p, "w.weight", 1, 0, LR_GROUP_ENCODER, NULL), 0);
    T_EQ_INT(lr__params_add(&p, "w.bias", 1, 0, LR_GROUP_ENCODER, NULL), 0);
    T_EQ_INT(lr__params_alloc(&p, NULL), 0);
    float *w = p.value, *b = p.value + p.info[1].offset;
    float *gw = p.grad, *gb = p.grad + p.info[1].offset;
    *w = *b = 0.5f;
    lr__adamw_cfg c = lr__adamw_defaults(0.1);
    *gw = *gb = 0.2f;
    lr__adamw_step(&p, &c);
    T_NEAR(*w, 0.3995, 1e-6);
    T_NEAR(*b, 0.4, 1e-6);
    *gw = *gb = -0.1f;
    lr__adamw_step(&p, &c);
    T_NEAR(*w, 0.37246680271367577, 2e-6);
    T_NEAR(*b, 0.37336630271867577, 2e-6);
    T_EQ_INT(p.step, 2);
    /* a group with lr 0 does not move, moments included */
    c.lr[LR_GROUP_ENCODER] = 0.0;
    float m_before = p.m[0];
    lr__adamw_step(&p, &c);
    T_NEAR(*w, 0.37246680271367577, 2e-6);
    T_CHECK(p.m[0] == m_before);
    lr__params_free(&p);
}

static void test_clip(void) {
    lr__params p = {0};
    T_EQ_INT(lr__params_add(&p, "a", 1, 0, 0, NULL), 0);
    T_EQ_INT(lr__params_add(&p, "b", 1, 0, 0, NULL), 0);
    T_EQ_INT(lr__params_alloc(&p, NULL), 0);
    float *ga = p.grad, *gb = p.grad + p.info[1].offset;
    *ga = 3.0f;
    *gb = 4.0f;
    T_NEAR(lr__clip_grad_norm(&p, 1.0), 5.0, 1e-9);
    T_NEAR(*ga, 3.0 / (5.0 + 1e-6), 1e-7);
    T_NEAR(*gb, 4.0 / (5.0 + 1e-6), 1e-7);
    /* below the threshold: unchanged */
    T_NEAR(lr__clip_grad_norm(&p, 10.0), 1.0, 1e-6);
    T_NEAR(*ga, 3.0 / (5.0 + 1e-6), 1e-7);
    lr__params_free(&p);
}

/* The pool-split block operations give the same result as one thread:
 * AdamW and clipping element for element, the norm to rounding. */
static void test_threaded_block(void) {
    lr__params a = {0}, b = {0};
    static const int rows[4] = {300, 1, 517, 64};
    static const char *names[4] = {"x.weight", "x.bias", "y.weight", "y.LayerNorm.weight"};
    for (int i = 0; i < 4; i++) {
        T_EQ_INT(lr__params_add(&a, names[i], rows[i], i == 1 || i == 3 ? 0 : 129, i % 2, NULL), 0);
        T_EQ_INT(lr__params_add(&b, names[i], rows[i], i == 1 || i == 3 ? 0 : 129, i % 2, NULL), 0);
    }
    T_EQ_INT(lr__params_alloc(&a, NULL), 0);
    T_EQ_INT(lr__params_alloc(&b, NULL), 0);
    T_CHECK(a.n_floats > 65536);
    lr_pool *pool = lr_pool_new(2, NULL);
    b.pool = pool;
    uint64_t s = 5;
    for (size_t i = 0; i < a.n_floats; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        a.value[i] = b.value[i] = (float)((s >> 40) * (1.0 / 16777216.0)) - 0.5f;
        a.grad[i] = b.grad[i] = (float)((s >> 20 & 0xfffff) * (1.0 / 1048576.0)) - 0.5f;
    }
    lr__adamw_cfg c = lr__adamw_defaults(1e-2);
    c.lr[LR_GROUP_HEAD] = 3e-2;
    for (int step = 0; step < 2; step++) {
        double na = lr__clip_grad_norm(&a, 1.0), nb = lr__clip_grad_norm(&b, 1.0);
        T_NEAR(na, nb, 1e-9 * na);
        lr__adamw_step(&a, &c);
        lr__adamw_step(&b, &c);
    }
    T_CHECK(memcmp(a.value, b.value, a.n_floats * sizeof(float)) == 0);
    T_CHECK(memcmp(a.m, b.m, a.n_floats * sizeof(float)) == 0);
    lr__params_zero_grad(&b);
    T_NEAR(lr__grad_norm(&b), 0.0, 0.0);
    lr__params_free(&a);
    lr__params_free(&b);
    lr_pool_free(pool);
}

static void test_schedule(void) {
    /* warm-up 10 of 100 steps */
    T_NEAR(lr__lr_schedule(0, 10, 100), 0.0, 1e-12);
    T_NEAR(lr__lr_schedule(5, 10, 100), 0.5, 1e-12);
    T_NEAR(lr__lr_schedule(10, 10, 100), 1.0, 1e-12);
    T_NEAR(lr__lr_schedule(55, 10, 100), 0.5, 1e-12);
    T_NEAR(lr__lr_schedule(100, 10, 100), 0.0, 1e-12);
    T_NEAR(lr__lr_schedule(150, 10, 100), 0.0, 1e-12);
    T_NEAR(lr__lr_schedule(1, 0, 4), 0.75, 1e-12);
}

/* ------------------------------------------------------------ fixture */

typedef struct fx_tensor {
    char name[128];
    int is_int;
    size_t count, offset;
} fx_tensor;

typedef struct fixture {
    fx_tensor *t;
    int n;
    unsigned char *blob;
    size_t blob_len;
    lr__bert_config cfg;
    int batch, seq_len, steps, warmup, total;
    double lr, wd, clip;
} fixture;

static const char *fixture_dir(void) {
    const char *d = getenv("LR_TRAIN_FIXTURE");
    return d && *d ? d : "tests/fixtures/train";
}

static int fixture_load(fixture *f) {
    memset(f, 0, sizeof *f);
    char path[1024];
    snprintf(path, sizeof path, "%s/parity.txt", fixture_dir());
    FILE *fp = fopen(path, "r");
    if (!fp) {
        T_FAIL("cannot open %s", path);
        return -1;
    }
    char line[512];
    f->t = calloc(512, sizeof *f->t);
    f->cfg.ln_eps = 1e-12f;
    f->cfg.head = LR_HEAD_MLP;
    while (fgets(line, sizeof line, fp)) {
        char key[128], dtype[8];
        double val;
        fx_tensor *t = &f->t[f->n];
        if (sscanf(line, "config %127s %lf", key, &val) == 2) {
            int iv = (int)val;
            if (!strcmp(key, "vocab_size")) f->cfg.vocab_size = iv;
            if (!strcmp(key, "hidden")) f->cfg.hidden = iv;
            if (!strcmp(key, "n_layers")) f->cfg.n_layers = iv;
            if (!strcmp(key, "n_heads")) f->cfg.n_heads = iv;
            if (!strcmp(key, "intermediate")) f->cfg.intermediate = iv;
            if (!strcmp(key, "max_positions")) f->cfg.max_positions = iv;
            if (!strcmp(key, "type_vocab_size")) f->cfg.type_vocab_size = iv;
            if (!strcmp(key, "n_labels")) f->cfg.n_labels = iv;
            if (!strcmp(key, "head_hidden")) f->cfg.head_hidden = iv;
            if (!strcmp(key, "batch")) f->batch = iv;
            if (!strcmp(key, "seq_len")) f->seq_len = iv;
            if (!strcmp(key, "steps")) f->steps = iv;
            if (!strcmp(key, "warmup")) f->warmup = iv;
            if (!strcmp(key, "total_steps")) f->total = iv;
            if (!strcmp(key, "lr")) f->lr = val;
            if (!strcmp(key, "weight_decay")) f->wd = val;
            if (!strcmp(key, "clip")) f->clip = val;
        } else if (f->n < 512 && sscanf(line, "tensor %127s %7s %zu %zu", t->name, dtype,
                                        &t->count, &t->offset) == 4) {
            t->is_int = !strcmp(dtype, "i32");
            f->n++;
        }
    }
    fclose(fp);
    snprintf(path, sizeof path, "%s/parity.bin", fixture_dir());
    fp = fopen(path, "rb");
    if (!fp) {
        T_FAIL("cannot open %s", path);
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    f->blob_len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->blob = malloc(f->blob_len ? f->blob_len : 1);
    if (fread(f->blob, 1, f->blob_len, fp) != f->blob_len) T_FAIL("short read of %s", path);
    fclose(fp);
    for (int i = 0; i < f->n; i++)
        if (f->t[i].offset + 4 * f->t[i].count > f->blob_len) {
            T_FAIL("fixture record %s runs past the blob", f->t[i].name);
            return -1;
        }
    return 0;
}

static void fixture_free(fixture *f) {
    free(f->t);
    free(f->blob);
}

/* The record's data (as float or int32 array) and count, or NULL. */
static const void *fx_get(const fixture *f, const char *name, size_t *count) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) {
            if (count) *count = f->t[i].count;
            return f->blob + f->t[i].offset;
        }
    T_FAIL("fixture has no record %s", name);
    return NULL;
}

/* Compare n floats; returns the worst |diff| / (|ref| + scale). */
static double compare(const char *what, const float *c, const float *ref, size_t n) {
    double scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - ref[i]);
        double tol = 1e-4 * fabs(ref[i]) + 1e-4 * scale + 1e-7;
        worst = fmax(worst, d / (fabs(ref[i]) + scale + 1e-30));
        if (!(d <= tol) && bad++ < 3)
            T_FAIL("%s[%zu]: %.9g vs torch %.9g (|diff| %.3g > tol %.3g)", what, i, c[i], ref[i], d,
                   tol);
    }
    return worst;
}

static int is_zero_grad(const char *name) { return strstr(name, "attention.self.key.bias") != NULL; }

static void test_parity_torch(void) {
    fixture f;
    if (fixture_load(&f)) return;
    lr_error err;
    lr_pool *pool = lr_pool_new(2, &err);
    T_CHECK(pool != NULL);
    lr__bert_train m;
    int rc = lr__bert_train_init(&m, &f.cfg, f.batch, f.seq_len, 0, pool, &err);
    T_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        fixture_free(&f);
        lr_pool_free(pool);
        return;
    }
    m.p_hidden = m.p_attn = m.p_head = 0.0f; /* torch ran with dropout off */
    char name[160];
    for (int i = 0; i < m.params.n; i++) {
        size_t count = 0;
        snprintf(name, sizeof name, "init/%s", m.params.info[i].name);
        const float *src = fx_get(&f, name, &count);
        T_EQ_INT(count, m.params.info[i].size);
        if (src && count == m.params.info[i].size)
            memcpy(m.params.value + m.params.info[i].offset, src, count * sizeof(float));
    }
    const int *ids = fx_get(&f, "input_ids", NULL);
    const int *mask = fx_get(&f, "attention_mask", NULL);
    const int *labels = fx_get(&f, "labels", NULL);
    if (!ids || !mask || !labels) goto done;

    /* forward, loss, every gradient */
    float loss = 0.0f;
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, labels, f.batch, f.seq_len, NULL, 0, 0, &loss,
                                    &err), 0);
    const float *ref = fx_get(&f, "logits", NULL);
    double worst_logit = ref ? compare("logits", m.logits.v, ref, m.logits.n) : 0.0;
    ref = fx_get(&f, "loss", NULL);
    if (ref) T_NEAR(loss, ref[0], 1e-4 * fabs(ref[0]));
    T_EQ_INT(lr__bert_train_backward(&m, &err), 0);
    double worst_grad = 0.0, grad_scale = 0.0;
    for (size_t i = 0; i < m.params.n_floats; i++)
        grad_scale = fmax(grad_scale, fabs(m.params.grad[i]));
    for (int i = 0; i < m.params.n; i++) {
        snprintf(name, sizeof name, "grad/%s", m.params.info[i].name);
        ref = fx_get(&f, name, NULL);
        if (ref && is_zero_grad(m.params.info[i].name)) {
            for (size_t j = 0; j < m.params.info[i].size; j++) {
                T_CHECK(fabs(ref[j]) <= 1e-6 * grad_scale);
                T_CHECK(fabs(m.params.grad[m.params.info[i].offset + j]) <= 1e-6 * grad_scale);
            }
        } else if (ref)
            worst_grad = fmax(worst_grad, compare(name, m.params.grad + m.params.info[i].offset, ref,
                                                  m.params.info[i].size));
    }
    ref = fx_get(&f, "grad_norm", NULL);
    if (ref) T_NEAR(lr__grad_norm(&m.params), ref[0], 1e-4 * ref[0]);

    /* three AdamW steps with clipping and the schedule */
    const float *losses = fx_get(&f, "losses", NULL);
    for (int s = 0; s < f.steps; s++) {
        lr__adamw_cfg c = lr__adamw_defaults(f.lr * lr__lr_schedule(s, f.warmup, f.total));
        c.weight_decay = f.wd;
        T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, f.batch, f.seq_len, NULL, (uint64_t)s,
                                     &c, f.clip, &loss, NULL, &err),
                 0);
        if (losses) T_NEAR(loss, losses[s], 1e-4 * fabs(losses[s]));
    }
    double worst_param = 0.0;
    for (int i = 0; i < m.params.n; i++) {
        snprintf(name, sizeof name, "step3/%s", m.params.info[i].name);
        ref = fx_get(&f, name, NULL);
        if (ref && is_zero_grad(m.params.info[i].name)) {
            for (size_t j = 0; j < m.params.info[i].size; j++)
                T_NEAR(m.params.value[m.params.info[i].offset + j], ref[j], 2.0 * f.lr * f.steps);
        } else if (ref)
            worst_param = fmax(worst_param, compare(name, m.params.value + m.params.info[i].offset,
                                                    ref, m.params.info[i].size));
    }
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "    worst |diff|/(|ref|+scale): logits %.2g, grads %.2g, params %.2g\n",
                worst_logit, worst_grad, worst_param);
done:
    lr__bert_train_free(&m);
    lr_pool_free(pool);
    fixture_free(&f);
}

/* The masked-LM head (tied decoder) against torch: loss and the gradient
 * of every encoder and MLM-head tensor. */
static void test_parity_mlm(void) {
    fixture f;
    if (fixture_load(&f)) return;
    lr_error err;
    lr__bert_train m;
    int rc = lr__bert_train_init(&m, &f.cfg, f.batch, f.seq_len, LR_TRAIN_MLM, NULL, &err);
    T_EQ_INT(rc, 0);
    if (rc) {
        fixture_free(&f);
        return;
    }
    char name[160];
    for (int i = 0; i < m.params.n; i++) {
        size_t count = 0;
        snprintf(name, sizeof name, "init/%s", m.params.info[i].name);
        const float *src = fx_get(&f, name, &count);
        if (src && count == m.params.info[i].size)
            memcpy(m.params.value + m.params.info[i].offset, src, count * sizeof(float));
    }
    const int *ids = fx_get(&f, "mlm/input_ids", NULL);
    const int *mask = fx_get(&f, "attention_mask", NULL);
    const int *targets = fx_get(&f, "mlm/targets", NULL);
    const float *ref = fx_get(&f, "mlm/loss", NULL);
    float loss = 0.0f;
    if (!ids || !mask || !targets || !ref) goto done;
    T_EQ_INT(lr__bert_train_forward_mlm(&m, ids, mask, targets, f.batch, f.seq_len, 0, 0, &loss,
                                        &err),
             0);
    T_NEAR(loss, ref[0], 1e-4 * fabs(ref[0]));
    T_EQ_INT(lr__bert_train_backward(&m, &err), 0);
    double grad_scale = 0.0, worst = 0.0;
    for (size_t i = 0; i < m.params.n_floats; i++)
        grad_scale = fmax(grad_scale, fabs(m.params.grad[i]));
    int compared = 0;
    for (int i = 0; i < m.params.n; i++) {
        const lr__param_info *info = &m.params.info[i];
        if (!strncmp(info->name, "classifier.", 11)) continue; /* not in this graph */
        snprintf(name, sizeof name, "mlm/grad/%s", info->name);
        ref = fx_get(&f, name, NULL);
        if (!ref) continue;
        compared++;
        if (is_zero_grad(info->name)) {
            for (size_t j = 0; j < info->size; j++)
                T_CHECK(fabs(m.params.grad[info->offset + j]) <= 1e-6 * grad_scale);
        } else {
            worst = fmax(worst, compare(name, m.params.grad + info->offset, ref, info->size));
        }
    }
    T_EQ_INT(compared, m.params.n - 4);
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "    mlm: %d positions, worst grad |diff|/(|ref|+scale) %.2g\n",
                m.n_masked, worst);
done:
    lr__bert_train_free(&m);
    fixture_free(&f);
}

/* The cross-entropy variants (weights, smoothing, focal) against torch. */
static void test_parity_xent(void) {
    fixture f;
    if (fixture_load(&f)) return;
    size_t n = 0;
    const float *z = fx_get(&f, "xent/logits", &n);
    const int *y = fx_get(&f, "xent/labels", NULL);
    const float *w = fx_get(&f, "xent/weights", NULL);
    if (!z || !y || !w) goto done;
    static const struct {
        const char *name;
        int weighted;
        float eps, gamma;
    } cases[] = {{"plain", 0, 0, 0},           {"weighted", 1, 0, 0},
                 {"smooth", 0, 0.1f, 0},       {"weighted_smooth", 1, 0.1f, 0},
                 {"focal", 0, 0, 2.0f},        {"focal_all", 1, 0.1f, 1.5f}};
    int N = 7, C = 5;
    for (size_t c = 0; c < LR_ARRAY_LEN(cases); c++) {
        lr__xent_opts o = {.class_weights = cases[c].weighted ? w : NULL, .label_smoothing = cases[c].eps, .focal_gamma = cases[c].gamma};
        float *grad = calloc(n, sizeof(float));
        lr__var Z = {(float *)z, grad, n};
        lr__tape t;
        lr__tape_init(&t, NULL);
        lr__tape_plan_begin(&t);
        lr__op_xent(&t, Z, y, N, C, &o);
        T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
        lr__tape_begin(&t, 0);
        lr__var loss = lr__op_xent(&t, Z, y, N, C, &o);
        T_EQ_INT(lr__tape_backward(&t, loss), 0);
        char name[96];
        snprintf(name, sizeof name, "xent/%s/loss", cases[c].name);
        const float *ref = fx_get(&f, name, NULL);
        if (ref) T_NEAR(loss.v[0], ref[0], 1e-6 * fabs(ref[0]) + 1e-7);
        snprintf(name, sizeof name, "xent/%s/grad", cases[c].name);
        ref = fx_get(&f, name, NULL);
        if (ref) compare(name, grad, ref, n);
        lr__tape_free(&t);
        free(grad);
    }
done:
    fixture_free(&f);
}

/* A fault: init with a config the tape cannot plan (heads do not divide
 * hidden) fails cleanly. */
static void test_bad_config(void) {
    lr__bert_config c = {64, 30, 1, 4, 64, 16, 2, 11, 15, LR_HEAD_MLP, 1e-12f};
    lr__bert_train m;
    lr_error err;
    T_EQ_INT(lr__bert_train_init(&m, &c, 2, 8, 0, NULL, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "heads") != NULL);
    c.hidden = 32;
    T_EQ_INT(lr__bert_train_init(&m, &c, 2, 17, 0, NULL, &err), LR_EINVAL); /* > max positions */
    T_EQ_INT(lr__bert_train_init(&m, &c, 2, 16, 0, NULL, &err), 0);
    int ids[2 * 16] = {0}, mask[2 * 16] = {0}, labels[2] = {1, 2};
    /* a batch larger than planned */
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, labels, 3, 16, NULL, 1, 0, NULL, &err),
             LR_ERANGE);
    ids[3] = 64; /* out of the vocabulary */
    mask[0] = 1;
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, labels, 2, 16, NULL, 1, 0, NULL, &err),
             LR_EINVAL);
    lr__bert_train_free(&m);
}

/* A frozen encoder: the head's gradients are those of the full backward,
 * the encoder's are 0, and a step with encoder lr 0 leaves it bit for bit. */
static void test_frozen_encoder(void) {
    lr__bert_config c = {32, 32, 2, 2, 64, 16, 2, 4, 16, LR_HEAD_MLP, 1e-12f};
    lr__bert_train m;
    lr_error err;
    T_EQ_INT(lr__bert_train_init(&m, &c, 4, 8, 0, NULL, &err), 0);
    lr__bert_train_init_weights(&m, 3, 0.2f);
    int ids[32], mask[32], labels[4] = {0, 1, 2, 3};
    for (int i = 0; i < 32; i++) {
        ids[i] = 1 + (i * 7) % 31;
        mask[i] = i % 8 < 6;
    }
    lr__params *p = &m.params;
    size_t head = p->info[m.t_head].offset, n = p->n_floats;
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, labels, 4, 8, NULL, 1, 9, NULL, &err), 0);
    T_EQ_INT(lr__bert_train_backward(&m, &err), 0);
    float *full = malloc(n * sizeof(float)), *before = malloc(n * sizeof(float));
    memcpy(full, p->grad, n * sizeof(float));
    memcpy(before, p->value, n * sizeof(float));
    m.freeze_encoder = 1;
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, labels, 4, 8, NULL, 1, 9, NULL, &err), 0);
    T_EQ_INT(lr__bert_train_backward(&m, &err), 0);
    T_CHECK(memcmp(full + head, p->grad + head, (n - head) * sizeof(float)) == 0);
    int encoder_zero = 1, full_nonzero = 0;
    for (size_t i = 0; i < head; i++) {
        encoder_zero &= p->grad[i] == 0.0f;
        full_nonzero |= full[i] != 0.0f;
    }
    T_CHECK(encoder_zero);
    T_CHECK(full_nonzero);
    lr__adamw_cfg cfg = lr__adamw_defaults(1e-2);
    cfg.lr[LR_GROUP_ENCODER] = 0.0;
    T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, 4, 8, NULL, 9, &cfg, 1.0, NULL, NULL, &err),
             0);
    T_CHECK(memcmp(before, p->value, head * sizeof(float)) == 0);
    T_CHECK(memcmp(before + head, p->value + head, (n - head) * sizeof(float)) != 0);
    free(full);
    free(before);
    lr__bert_train_free(&m);
}

/* Training actually learns: a tiny model fits 8 fixed sequences. */
static void test_overfit(void) {
    lr__bert_config c = {32, 32, 2, 2, 64, 16, 2, 4, 16, LR_HEAD_MLP, 1e-12f};
    lr__bert_train m;
    lr_error err;
    T_EQ_INT(lr__bert_train_init(&m, &c, 8, 8, 0, NULL, &err), 0);
    lr__bert_train_init_weights(&m, 1, 0.1f);
    int ids[64], mask[64], labels[8];
    for (int b = 0; b < 8; b++) {
        labels[b] = b % 4;
        for (int i = 0; i < 8; i++) {
            ids[b * 8 + i] = i < 6 ? 1 + (b * 5 + i * 3 + labels[b] * 7) % 31 : 0;
            mask[b * 8 + i] = i < 6;
        }
    }
    lr__adamw_cfg cfg = lr__adamw_defaults(3e-3);
    float first = 0.0f, loss = 0.0f;
    for (int s = 0; s < 60; s++) {
        T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, 8, 8, NULL, (uint64_t)s, &cfg, 1.0,
                                     &loss, NULL, &err),
                 0);
        if (s == 0) first = loss;
    }
    T_CHECK(first > 1.0f);
    T_CHECK(loss < 0.2f * first);
    lr__bert_train_free(&m);
}

T_MAIN(T_CASE(test_layout), T_CASE(test_adamw_by_hand), T_CASE(test_clip), T_CASE(test_threaded_block), T_CASE(test_schedule),
       T_CASE(test_parity_torch), T_CASE(test_parity_mlm), T_CASE(test_parity_xent), T_CASE(test_bad_config), T_CASE(test_frozen_encoder),
       T_CASE(test_overfit))
