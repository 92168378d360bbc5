/*
 * train.c — the trainer's configuration and outer loop (see train.h).
 *
 * Run: load the vocabulary and the data, split, build the model from the
 * config (vocabulary size and classes from the data), then per epoch:
 * train, validate, log one line, keep the best model by validation loss
 * (written to `output` at once, atomically, so a killed run still leaves
 * the best model so far), write the metrics file, write a checkpoint, and
 * stop after `patience` epochs without improvement. With resume, the
 * checkpoint (parameters, AdamW state, epoch, schedule position, shuffling
 * state, best loss) restores the run exactly where the last epoch ended.
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "files.h"
#include "model.h"
#include "train_ckpt.h"
#include "train_data.h"
#include "train_export.h"
#include "train_loop.h"
#include "util.h"
#include "yamlcheck.h"

/* ------------------------------------------------------------ config */

void lr__train_config_defaults(lr__train_config *c) {
    memset(c, 0, sizeof *c);
    c->max_len = 128;
    c->epochs = 5;
    c->batch = 32;
    c->patience = 2;
    c->lr = 5e-4;
    c->lr_head = -1.0; /* = lr */
    c->weight_decay = 0.01;
    c->warmup = 0.1;
    c->clip = 1.0;
    c->dropout = 0.1;
    c->valid_fraction = 0.1;
    c->seed = 42;
    c->hidden = 256;
    c->layers = 4;
    c->heads = 4;
    c->intermediate = 1024;
    c->head_hidden = 128;
    c->max_positions = 512;
    c->init_std = 0.02;
    c->head = LR_HEAD_DEFAULT;
}

void lr__train_config_free(lr__train_config *c) {
    lr__free(c->data);
    lr__free(c->vocab);
    lr__free(c->output);
    lr__free(c->metrics);
    lr__free(c->checkpoint);
    lr__free(c->rules);
    lr__free(c->init);
    lr__free(c->input_format);
    lr__free(c->valid_data);
    lr__free(c->class_weights);
    memset(c, 0, sizeof *c);
}

typedef enum { K_STR, K_INT, K_NUM, K_BOOL } key_kind;

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t offset;
    double lo, hi;
} key_spec;

#define KEY(n, k, f, lo, hi) {n, k, offsetof(lr__train_config, f), lo, hi}
static const key_spec k_keys[] = {
    KEY("data", K_STR, data, 0, 0),
    KEY("vocab", K_STR, vocab, 0, 0),
    KEY("output", K_STR, output, 0, 0),
    KEY("metrics", K_STR, metrics, 0, 0),
    KEY("checkpoint", K_STR, checkpoint, 0, 0),
    KEY("rules", K_STR, rules, 0, 0),
    KEY("init", K_STR, init, 0, 0),
    KEY("input_format", K_STR, input_format, 0, 0),
    KEY("valid_data", K_STR, valid_data, 0, 0),
    KEY("resume", K_BOOL, resume, 0, 1),
    KEY("max_len", K_INT, max_len, 2, 8192),
    KEY("epochs", K_INT, epochs, 1, 100000),
    KEY("batch", K_INT, batch, 1, 4096),
    KEY("patience", K_INT, patience, 1, 100000),
    KEY("threads", K_INT, threads, 0, 256),
    KEY("lr", K_NUM, lr, 0, 1),
    KEY("lr_head", K_NUM, lr_head, 0, 1),
    KEY("weight_decay", K_NUM, weight_decay, 0, 1),
    KEY("warmup", K_NUM, warmup, 0, 1),
    KEY("clip", K_NUM, clip, 0, 1e9),
    KEY("dropout", K_NUM, dropout, 0, 0.95),
    KEY("valid_fraction", K_NUM, valid_fraction, 0, 0.95),
    KEY("label_smoothing", K_NUM, label_smoothing, 0, 0.99),
    KEY("focal_gamma", K_NUM, focal_gamma, 0, 100),
    KEY("label_spread", K_NUM, label_spread, 0, 100),
    KEY("expected_weight", K_NUM, expected_weight, 0, 1000),
    KEY("freeze_encoder", K_BOOL, freeze_encoder, 0, 1),
    KEY("hidden", K_INT, hidden, 1, 8192),
    KEY("layers", K_INT, layers, 1, 128),
    KEY("heads", K_INT, heads, 1, 1024),
    KEY("intermediate", K_INT, intermediate, 1, 65536),
    KEY("head_hidden", K_INT, head_hidden, 1, 65536),
    KEY("max_positions", K_INT, max_positions, 2, 8192),
    KEY("init_std", K_NUM, init_std, 0, 10),
};

static int node_err(lr_error *err, const char *src, const yaml_node_t *n, const char *fmt,
                    const char *what) {
    return lr__err(err, LR_EPARSE, "%s:%zu:%zu: %s%s", src, n->start_mark.line + 1,
                   n->start_mark.column + 1, fmt, what ? what : "");
}

static int scalar_num(const yaml_node_t *n, double *out) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0) return -1;
    char buf[64];
    if (n->data.scalar.length >= sizeof buf) return -1;
    memcpy(buf, n->data.scalar.value, n->data.scalar.length);
    buf[n->data.scalar.length] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0' || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int set_key(lr__train_config *c, const key_spec *k, yaml_document_t *doc,
                   const yaml_node_t *v, const char *src, lr_error *err) {
    char *base = (char *)c;
    if (k == NULL) return 0;
    if (v->type != YAML_SCALAR_NODE) return node_err(err, src, v, "expected a value for ", k->name);
    const char *s = (const char *)v->data.scalar.value;
    size_t len = v->data.scalar.length;
    (void)doc;
    if (k->kind == K_STR) {
        char **dst = (char **)(base + k->offset);
        lr__free(*dst);
        *dst = lr__strndup(s, len);
        return *dst ? 0 : lr__err(err, LR_ENOMEM, "out of memory reading %s", src);
    }
    if (k->kind == K_BOOL) {
        int b;
        if (len == 4 && !memcmp(s, "true", 4)) b = 1;
        else if (len == 5 && !memcmp(s, "false", 5)) b = 0;
        else return node_err(err, src, v, "expected true or false for ", k->name);
        *(int *)(base + k->offset) = b;
        return 0;
    }
    double x;
    if (scalar_num(v, &x) || x < k->lo || x > k->hi || (k->kind == K_INT && x != floor(x))) {
        char what[160];
        snprintf(what, sizeof what, "%s (%s in [%g, %g])", k->name,
                 k->kind == K_INT ? "an integer" : "a number", k->lo, k->hi);
        return node_err(err, src, v, "bad value for ", what);
    }
    if (k->kind == K_INT) *(int *)(base + k->offset) = (int)x;
    else *(double *)(base + k->offset) = x;
    return 0;
}

static int set_special(lr__train_config *c, const char *key, yaml_document_t *doc,
                       const yaml_node_t *v, const char *src, lr_error *err, int *handled) {
    *handled = 1;
    if (!strcmp(key, "split")) {
        if (v->type == YAML_SCALAR_NODE && !strcmp((const char *)v->data.scalar.value, "random"))
            c->chronological = 0;
        else if (v->type == YAML_SCALAR_NODE &&
                 !strcmp((const char *)v->data.scalar.value, "chronological"))
            c->chronological = 1;
        else return node_err(err, src, v, "split must be random or chronological", NULL);
        return 0;
    }
    if (!strcmp(key, "head")) {
        if (v->type != YAML_SCALAR_NODE || lr__head_parse((const char *)v->data.scalar.value,
                                                          v->data.scalar.length, &c->head, NULL))
            return node_err(err, src, v, "head must be a head type (mlp, linear)", NULL);
        return 0;
    }
    if (!strcmp(key, "seed")) {
        double x;
        if (scalar_num(v, &x) || x < 0 || x > 9007199254740992.0 || x != floor(x))
            return node_err(err, src, v, "seed must be a non-negative integer", NULL);
        c->seed = (uint64_t)x;
        return 0;
    }
    if (!strcmp(key, "class_weights")) {
        if (v->type == YAML_SCALAR_NODE && !strcmp((const char *)v->data.scalar.value, "balanced")) {
            c->balanced = 1;
            return 0;
        }
        if (v->type != YAML_SEQUENCE_NODE)
            return node_err(err, src, v, "class_weights must be balanced or a list of numbers",
                            NULL);
        size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        lr__free(c->class_weights);
        c->class_weights = lr__calloc(n ? n : 1, sizeof(double));
        if (!c->class_weights) return lr__err(err, LR_ENOMEM, "out of memory reading %s", src);
        c->n_class_weights = (int)n;
        for (size_t i = 0; i < n; i++) {
            const yaml_node_t *item = yaml_document_get_node(doc, v->data.sequence.items.start[i]);
            if (!item || scalar_num(item, &c->class_weights[i]) || c->class_weights[i] < 0)
                return node_err(err, src, item ? item : v, "class weights must be numbers >= 0",
                                NULL);
        }
        c->balanced = 0;
        return 0;
    }
    *handled = 0;
    return 0;
}

int lr__train_config_parse(lr__train_config *c, const char *yaml, size_t len,
                           const char *source_name, lr_error *err) {
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = lr__yaml_check(yaml, len, source_name, NULL, err);
    if (rc) return rc;
    if (!yaml_parser_initialize(&parser)) return lr__err(err, LR_ENOMEM, "out of memory (YAML)");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = lr__err(err, LR_EPARSE, "%s:%zu:%zu: %s", source_name,
                         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        rc = lr__err(err, LR_EPARSE, "%s: expected a mapping of settings", source_name);
        goto done;
    }
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top && !rc; pair++) {
        yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE) {
            rc = lr__err(err, LR_EPARSE, "%s: keys must be plain names", source_name);
            break;
        }
        const char *key = (const char *)k->data.scalar.value;
        for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < pair && !rc; q++) {
            yaml_node_t *qk = yaml_document_get_node(&doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE && !strcmp((const char *)qk->data.scalar.value, key))
                rc = node_err(err, source_name, k, "setting given twice: ", key); /* YAML forbids it */
        }
        if (rc) break;
        int handled;
        rc = set_special(c, key, &doc, v, source_name, err, &handled);
        if (rc || handled) continue;
        const key_spec *spec = NULL;
        for (size_t i = 0; i < LR_ARRAY_LEN(k_keys) && !spec; i++)
            if (!strcmp(k_keys[i].name, key)) spec = &k_keys[i];
        if (!spec) {
            rc = node_err(err, source_name, k, "unknown setting ", key);
            break;
        }
        rc = set_key(c, spec, &doc, v, source_name, err);
    }
done:
    yaml_document_delete(&doc);
    return rc;
}

int lr__train_read_file(const char *path, char **out, size_t *len, lr_error *err) {
    return lr__file_read_all(path, NULL, LR__TRAIN_MAX_TEXT_BYTES, out, len, err);
}

int lr__train_config_load(lr__train_config *c, const char *path, lr_error *err) {
    char *text;
    size_t len;
    int rc = lr__train_read_file(path, &text, &len, err);
    if (rc) return rc;
    rc = lr__train_config_parse(c, text, len, path, err);
    lr__free(text);
    return rc;
}

/* ------------------------------------------------------------ the run */

/* What a checkpoint keeps besides the parameters. */
typedef struct run_state {
    int next_epoch;
    int bad_epochs;
    int best_epoch;
    double best_loss;
    lr__train_state st;
} run_state;

void lr__train_log(lr_train_log_fn log, void *user, const char *fmt, ...) {
    if (!log) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(user, line);
}

static char *path_with(const char *base, const char *suffix) {
    size_t n = strlen(base), m = strlen(suffix);
    char *s = lr__malloc(n + m + 1);
    if (s) {
        memcpy(s, base, n);
        memcpy(s + n, suffix, m + 1);
    }
    return s;
}

/* ------------------------------------------------- the shared setup */

int lr__train_setup_begin(lr__train_setup *s, const char *config_path, const char *out_path,
                          const char *default_output, lr_error *err) {
    memset(s, 0, sizeof *s);
    lr__train_config *c = &s->c;
    lr__train_config_defaults(c);
    int rc = lr__train_config_load(c, config_path, err);
    if (rc) return rc;
    if (out_path) {
        lr__free(c->output);
        if (!(c->output = lr__strdup(out_path))) goto oom;
    }
    if (!c->data || !c->vocab)
        return lr__err(err, LR_EINVAL, "%s: `data` and `vocab` are required", config_path);
    if (!c->output && !(c->output = lr__strdup(default_output))) goto oom;
    if (!c->metrics && !(c->metrics = path_with(c->output, ".metrics.json"))) goto oom;
    if (c->max_len > c->max_positions)
        return lr__err(err, LR_EINVAL, "max_len %d exceeds max_positions %d", c->max_len,
                       c->max_positions);
    if ((rc = lr__train_read_file(c->vocab, &s->vocab_text, &s->vocab_len, err))) return rc;
    if (!(s->tok = lr_tok_from_text(s->vocab_text, s->vocab_len, err)))
        return err && err->code ? err->code : LR_EPARSE;
    return LR_OK;
oom:
    return lr__err(err, LR_ENOMEM, "out of memory reading %s", config_path);
}

int lr__train_setup_model(lr__train_setup *s, int n_labels, unsigned flags, lr_error *err) {
    const lr__train_config *c = &s->c;
    int rc = s->n_tail_valid > 0
                 ? lr__train_split_count(s->d.n, s->n_tail_valid, 1, c->seed, &s->tr, &s->ntr, &s->va, &s->nva, err)
                 : lr__train_split(s->d.n, c->valid_fraction, c->chronological, c->seed, &s->tr, &s->ntr,
                                   &s->va, &s->nva, err);
    if (rc) return rc;
    if (!(s->pool = lr_pool_new(c->threads, err))) return err && err->code ? err->code : LR_ENOMEM;
    s->cfg = (lr__bert_config){lr_tok_vocab_size(s->tok), c->hidden, c->layers, c->heads,
                               c->intermediate, c->max_positions, 2, n_labels, c->head_hidden,
                               c->head, 1e-12f};
    if ((rc = lr__bert_train_init(&s->m, &s->cfg, c->batch, c->max_len, flags, s->pool, err)))
        return rc;
    s->m.p_hidden = s->m.p_attn = s->m.p_head = (float)c->dropout;
    lr__bert_train_init_weights(&s->m, c->seed, (float)c->init_std);
    if (c->init && (rc = lr__bert_train_load_encoder(&s->m, c->init, err))) return rc;
    return LR_OK;
}

void lr__train_setup_free(lr__train_setup *s) {
    lr__free(s->tr);
    lr__free(s->va);
    lr__bert_train_free(&s->m);
    lr__train_data_free(&s->d);
    lr_tok_free(s->tok);
    lr_pool_free(s->pool);
    lr__free(s->vocab_text);
    lr__train_config_free(&s->c);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ train */

/* Class weights for the loss: explicit, balanced (n / (C * count), 0 for
 * absent classes, like scikit-learn), or none. */
static int make_weights(const lr__train_config *c, const lr__train_data *d, const int *idx, int n,
                        float **out, lr_error *err) {
    *out = NULL;
    if (!c->balanced && !c->class_weights) return 0;
    float *w = lr__calloc((size_t)d->n_classes, sizeof(float));
    if (!w) return lr__err(err, LR_ENOMEM, "out of memory for class weights");
    if (c->class_weights) {
        if (c->n_class_weights != d->n_classes) {
            lr__free(w);
            return lr__err(err, LR_EINVAL, "class_weights has %d values for %d classes",
                           c->n_class_weights, d->n_classes);
        }
        for (int k = 0; k < d->n_classes; k++) w[k] = (float)c->class_weights[k];
    } else {
        long *count = lr__calloc((size_t)d->n_classes, sizeof(long));
        if (!count) {
            lr__free(w);
            return lr__err(err, LR_ENOMEM, "out of memory for class weights");
        }
        for (int i = 0; i < n; i++) count[d->label[idx[i]]]++;
        for (int k = 0; k < d->n_classes; k++)
            w[k] = count[k] ? (float)((double)n / ((double)d->n_classes * count[k])) : 0.0f;
        lr__free(count);
    }
    *out = w;
    return 0;
}

/* One labelled file: texts as they are, or (input_format) each text read
 * as a log through the event layer and masked with the config's rules. */
static int load_labelled(lr__train_setup *su, const lr__train_config *c, const char *path, lr__train_data *d,
                         lr_error *err) {
    lr_rec_format fmt;
    int rc = lr__train_input_format(c->input_format, &fmt, err);
    if (rc) return rc;
    if (fmt == LR_REC_RAW) return lr__train_data_load(d, path, su->tok, c->max_len, err);
    lr_rules *rules = c->rules ? lr_rules_load(c->rules, err) : NULL;
    if (c->rules && !rules) return err && err->code ? err->code : LR_EPARSE;
    rc = lr__train_data_load_events(d, path, su->tok, c->max_len, fmt, rules, err);
    lr_rules_free(rules);
    return rc;
}

/* The labelled data, and valid_data's examples after them (the split then
 * validates on exactly those). */
static int load_data(lr__train_setup *su, const lr__train_config *c, lr_error *err) {
    int rc = load_labelled(su, c, c->data, &su->d, err);
    if (rc || !c->valid_data) return rc;
    lr__train_data v;
    rc = load_labelled(su, c, c->valid_data, &v, err);
    if (!rc) rc = lr__train_data_append(&su->d, &v, c->valid_data, err);
    if (!rc) su->n_tail_valid = v.n;
    lr__train_data_free(&v);
    return rc;
}

int lr_train_run(const char *config_path, const char *out_path, lr_train_log_fn log, void *user,
                 lr_error *err) {
    lr__train_setup su;
    lr__bert_train *m = &su.m;
    const lr__train_data *d = &su.d;
    lr__metrics met;
    memset(&met, 0, sizeof met);
    float *weights = NULL;
    char *rules_text = NULL;
    size_t rules_len = 0;
    lr__buf history;
    lr__buf_init(&history);
    int rc = lr__train_setup_begin(&su, config_path, out_path, "model.lrm", err);
    if (rc) goto done;
    lr__train_config *cp = &su.c;
    if (!cp->checkpoint && !(cp->checkpoint = path_with(cp->output, ".ckpt"))) goto oom;
    if (cp->lr_head < 0) cp->lr_head = cp->lr;
    const lr__train_config c = *cp; /* a view: the strings stay owned by the setup */
    if (c.rules && (rc = lr__train_read_file(c.rules, &rules_text, &rules_len, err))) goto done;
    if ((rc = load_data(&su, &c, err))) goto done;
    if ((rc = lr__train_setup_model(&su, su.d.n_classes, 0, err))) goto done;
    const int *tr = su.tr, *va = su.va, ntr = su.ntr, nva = su.nva;
    m->freeze_encoder = c.freeze_encoder;
    if ((rc = make_weights(&c, d, tr, ntr, &weights, err))) goto done;
    if ((rc = lr__metrics_init(&met, d->n_classes, d->risk, err))) goto done;

    lr__train_opts o = lr__train_opts_defaults();
    o.batch = c.batch;
    o.lr_encoder = c.freeze_encoder ? 0.0 : c.lr;
    o.lr_head = c.lr_head;
    o.weight_decay = c.weight_decay;
    o.clip = c.clip;
    o.seed = c.seed;
    o.loss.class_weights = weights;
    o.loss.label_smoothing = (float)c.label_smoothing;
    o.loss.focal_gamma = (float)c.focal_gamma;
    o.loss.label_spread = (float)c.label_spread;
    o.loss.expected_weight = (float)c.expected_weight;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.best_loss = INFINITY;
    rs.best_epoch = -1;
    lr__train_state_init(&rs.st, ntr, c.epochs, c.batch, c.warmup, c.seed);
    if (c.resume && c.checkpoint[0] && access(c.checkpoint, F_OK) == 0) {
        if ((rc = lr__ckpt_load(c.checkpoint, &m->params, &su.cfg, &rs, sizeof rs, err))) goto done;
        lr__train_log(log, user, "resumed from %s at epoch %d (step %ld)", c.checkpoint,
                      rs.next_epoch + 1, rs.st.step);
    }
    lr__train_log(log, user,
                  "%d examples (%d train, %d validation), %d classes, %zu parameters, %ld steps",
                  d->n, ntr, nva, d->n_classes, m->params.n_floats, rs.st.total_steps);
    lr__model_meta meta = {.labels = (const char *const *)d->class_names,
                           .n_labels = (size_t)d->n_classes,
                           .vocab = su.vocab_text, .vocab_len = su.vocab_len,
                           .max_len = c.max_len,
                           .rules_yaml = rules_text, .rules_len = rules_len,
                           .source = "logrisk train"};
    lr__progress progress;
    lr__progress_init(&progress, log, user, c.epochs, rs.st.step, rs.st.total_steps);
    o.progress = &progress;
    for (int e = rs.next_epoch; e < c.epochs; e++) {
        double t0 = lr__now_s(), train_loss = 0.0;
        progress.epoch = e + 1;
        if ((rc = lr__train_epoch(m, d, tr, ntr, &o, &rs.st, &train_loss, err))) goto done;
        double secs = lr__now_s() - t0;
        size_t tokens = 0;
        for (int i = 0; i < ntr; i++) tokens += d->start[tr[i] + 1] - d->start[tr[i]];
        if (nva > 0 && (rc = lr__train_evaluate(m, d, va, nva, c.batch, &met, err))) goto done;
        double val_loss = nva > 0 ? met.loss : train_loss;
        int improved = val_loss < rs.best_loss;
        lr__train_log(log, user,
                      "epoch %d/%d: train loss %.4f, val loss %.4f, accuracy %.4f, macro-F1 %.4f, "
                      "%.0f tokens/s%s",
                      e + 1, c.epochs, train_loss, val_loss, met.accuracy, met.macro_f1,
                      secs > 0 ? tokens / secs : 0.0, improved ? " (best)" : "");
        if (d->risk && nva > 0)
            lr__train_log(log, user, "  high-risk (>= %d) precision %.4f recall %.4f",
                          LR_HIGH_RISK, met.hr_precision, met.hr_recall);
        if (lr__buf_printf(&history, "%s{\"epoch\":%d,\"train_loss\":", history.len ? "," : "",
                           e + 1) ||
            lr__buf_put_json_float(&history, (float)train_loss) ||
            lr__buf_puts(&history, ",\"validation\":") ||
            lr__metrics_json(&met, d->class_names, &history) || lr__buf_putc(&history, '}'))
            goto oom;
        if (improved) {
            rs.best_loss = val_loss;
            rs.best_epoch = e;
            rs.bad_epochs = 0;
            if ((rc = lr__bert_train_export(m, &meta, c.output, err))) goto done;
        } else {
            rs.bad_epochs++;
        }
        lr__buf out;
        lr__buf_init(&out);
        int brc = lr__buf_printf(&out, "{\"best_epoch\":%d,\"best_val_loss\":", rs.best_epoch + 1);
        brc |= lr__buf_put_json_float(&out, (float)rs.best_loss);
        brc |= lr__buf_printf(&out, ",\"epochs\":[%s]}\n", history.data ? history.data : "");
        if (brc) {
            lr__buf_free(&out);
            goto oom;
        }
        rc = lr__file_write_atomic(c.metrics, out.data, out.len, err);
        lr__buf_free(&out);
        if (rc) goto done;
        rs.next_epoch = e + 1;
        if (c.checkpoint[0] &&
            (rc = lr__ckpt_save(c.checkpoint, &m->params, &su.cfg, &rs, sizeof rs, err)))
            goto done;
        if (nva > 0 && rs.bad_epochs >= c.patience && e + 1 < c.epochs) {
            lr__train_log(log, user, "early stop: no validation improvement for %d epochs",
                          c.patience);
            break;
        }
    }
    lr__train_log(log, user, "best epoch %d (validation loss %.4f) written to %s; metrics in %s",
                  rs.best_epoch + 1, rs.best_loss, c.output, c.metrics);
    goto done;
oom:
    rc = lr__err(err, LR_ENOMEM, "out of memory during training");
done:
    lr__buf_free(&history);
    lr__metrics_free(&met);
    lr__free(weights);
    lr__free(rules_text);
    lr__train_setup_free(&su);
    return rc;
}
