/*
 * model.c — lr_model: a BERT classifier loaded from an .lrm file, and the
 * metadata keys that describe it (written by convert and train through
 * lr__model_write_meta, read back here).
 *
 * Metadata keys of a logrisk BERT model (all required unless noted):
 *
 *   model.arch                   str  "bert"
 *   bert.vocab_size              i64  V
 *   bert.hidden_size             i64  H
 *   bert.num_hidden_layers       i64  N
 *   bert.num_attention_heads     i64  A  (H % A == 0)
 *   bert.intermediate_size       i64  I
 *   bert.max_position_embeddings i64  P
 *   bert.type_vocab_size         i64  (token type 0 is used)
 *   bert.layer_norm_eps          f64  (1e-12)
 *   model.head                   str  "mlp" | "linear" | "pooler_linear"
 *   model.head_hidden            i64  hidden width of the MLP head (0 otherwise)
 *   model.labels                 strs label names, C of them (C = n_labels)
 *   tokenizer.vocab              str  vocab.txt, one token a line (line = id)
 *   tokenizer.max_len            i64  longest sequence incl. [CLS]/[SEP] (<= P)
 *   tokenizer.do_lower_case      i64  1 (uncased BERT)
 *   rules.yaml                   str  optional: the rules used to label the training data
 *   model.source                 str  optional: where the weights came from
 *   model.temperature            f64  optional: the temperature calibrate folded
 *                                     into the head (copies keep it)
 *   model.dtype                  str  optional: "q8" | "bf16" (quantize), else f32
 *
 * Tensors are named and shaped as lr__bert_tensor_at lists them (HF names),
 * all F32; the model points into the mapping. The one copy made at load is
 * of the encoder's Linear weights, packed into the GEMM kernel's panel
 * layout (lr__bert_pack: 4H^2 + 2HI floats per layer, 12.6 MB for
 * BERT-mini), which every call would otherwise redo.
 */
#include "model.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format.h"
#include "model_builtin.h"
#include "rules.h" /* the stored rules are checked at load */
#include "util.h"
#include "wtype.h"

struct lr_model {
    lr__lrm *file;
    lr__bert bert;
    int max_len;
    const char *vocab;
    size_t vocab_len;
    const char *rules;
    size_t rules_len;
    lr_rules *rules_compiled; /* rules.yaml as loaded (NULL when none), owned */
    size_t n_labels;
    lr__wtype wtype; /* as stored (a bf16 model may run widened to f32) */
};

struct lr_model_ctx {
    const lr_model *m;
    lr__bert_scratch *s;
};

/* ------------------------------------------------------------- metadata */

int lr__model_write_meta(lr__lrm_writer *w, const lr__model_meta *m, lr_error *err) {
    const lr__bert_config *c = m->cfg;
    int rc = lr__bert_config_check(c, err);
    if (rc) return rc;
    if (m->n_labels != (size_t)c->n_labels)
        return lr__err(err, LR_EINVAL, "%zu label names for a head of %d classes", m->n_labels,
                       c->n_labels);
    if (m->max_len < 2 || m->max_len > c->max_positions)
        return lr__err(err, LR_EINVAL, "tokenizer max_len %d is outside [2, %d]", m->max_len,
                       c->max_positions);
    if ((rc = lr__lrm_set_str(w, "model.arch", "bert", 4, err))) return rc;
    static const char *const keys[] = {
        "bert.vocab_size", "bert.hidden_size", "bert.num_hidden_layers",
        "bert.num_attention_heads", "bert.intermediate_size", "bert.max_position_embeddings",
        "bert.type_vocab_size", "model.head_hidden"};
    const int vals[] = {c->vocab_size, c->hidden, c->n_layers, c->n_heads, c->intermediate,
                        c->max_positions, c->type_vocab_size,
                        lr__head_uses_hidden(c) ? c->head_hidden : 0};
    for (size_t i = 0; i < LR_ARRAY_LEN(keys); i++)
        if ((rc = lr__lrm_set_i64(w, keys[i], vals[i], err))) return rc;
    if ((rc = lr__lrm_set_f64(w, "bert.layer_norm_eps", c->ln_eps, err))) return rc;
    const char *head = lr__head_name(c->head);
    if ((rc = lr__lrm_set_str(w, "model.head", head, strlen(head), err))) return rc;
    if ((rc = lr__lrm_set_strs(w, "model.labels", m->labels, m->n_labels, err))) return rc;
    if ((rc = lr__lrm_set_str(w, "tokenizer.vocab", m->vocab, m->vocab_len, err))) return rc;
    if ((rc = lr__lrm_set_i64(w, "tokenizer.max_len", m->max_len, err))) return rc;
    if ((rc = lr__lrm_set_i64(w, "tokenizer.do_lower_case", 1, err))) return rc;
    if (m->rules_yaml && (rc = lr__lrm_set_str(w, "rules.yaml", m->rules_yaml, m->rules_len, err)))
        return rc;
    if (m->source && (rc = lr__lrm_set_str(w, "model.source", m->source, strlen(m->source), err)))
        return rc;
    if (m->temperature > 0 && (rc = lr__lrm_set_f64(w, "model.temperature", m->temperature, err)))
        return rc;
    return LR_OK;
}

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
    double t;
    if (!lr__lrm_get_f64(f, "model.temperature", &t, &ignore) && t > 0) m->temperature = t;
    return LR_OK;
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

static int get_int(const lr__lrm *f, const char *key, int lo, int hi, int *out, lr_error *err) {
    int64_t v;
    int rc = lr__lrm_get_i64(f, key, &v, err);
    if (rc) return rc;
    if (v < lo || v > hi)
        return lr__err(err, LR_EFORMAT, "model metadata %s = %lld is outside [%d, %d]", key,
                       (long long)v, lo, hi);
    *out = (int)v;
    return LR_OK;
}

int lr__model_read_config(const lr__lrm *f, lr__bert_config *c, int *max_len, lr_error *err) {
    memset(c, 0, sizeof *c);
    const char *s;
    size_t len;
    int rc = lr__lrm_get_str(f, "model.arch", &s, &len, err);
    if (rc) return rc;
    if (len != 4 || memcmp(s, "bert", 4) != 0)
        return lr__err(err, LR_EUNSUPPORTED, "model.arch \"%.*s\" is not supported (only bert)",
                       (int)LR_MIN(len, 32), s);
    if ((rc = get_int(f, "bert.vocab_size", 1, LR_BERT_MAX_VOCAB, &c->vocab_size, err)) ||
        (rc = get_int(f, "bert.hidden_size", 1, LR_BERT_MAX_HIDDEN, &c->hidden, err)) ||
        (rc = get_int(f, "bert.num_hidden_layers", 1, LR_BERT_MAX_LAYERS, &c->n_layers, err)) ||
        (rc = get_int(f, "bert.num_attention_heads", 1, LR_BERT_MAX_HIDDEN, &c->n_heads, err)) ||
        (rc = get_int(f, "bert.intermediate_size", 1, LR_BERT_MAX_INTERMEDIATE, &c->intermediate,
                      err)) ||
        (rc = get_int(f, "bert.max_position_embeddings", 1, LR_BERT_MAX_POSITIONS,
                      &c->max_positions, err)) ||
        (rc = get_int(f, "bert.type_vocab_size", 1, 1024, &c->type_vocab_size, err)) ||
        (rc = get_int(f, "model.head_hidden", 0, LR_BERT_MAX_INTERMEDIATE, &c->head_hidden, err)))
        return rc;
    double eps;
    if ((rc = lr__lrm_get_f64(f, "bert.layer_norm_eps", &eps, err))) return rc;
    c->ln_eps = (float)eps;
    if ((rc = lr__lrm_get_str(f, "model.head", &s, &len, err))) return rc;
    if ((rc = lr__head_parse(s, len, &c->head, err))) return rc;
    size_t n_labels;
    if ((rc = lr__lrm_get_strs_count(f, "model.labels", &n_labels, err))) return rc;
    if (n_labels < 1 || n_labels > LR_BERT_MAX_LABELS)
        return lr__err(err, LR_EFORMAT, "model.labels has %zu names (1..%d allowed)", n_labels,
                       LR_BERT_MAX_LABELS);
    c->n_labels = (int)n_labels;
    if ((rc = get_int(f, "tokenizer.max_len", 2, c->max_positions, max_len, err))) return rc;
    return lr__bert_config_check(c, err);
}

/* ------------------------------------------------------------------ load */

/* After packing, the mapped pages of the encoder's Linear weights are not
 * read again by inference: give them back (RSS -12.6 MB for BERT-mini). Only
 * for a file mapping, where MADV_DONTNEED just drops our page-table entries
 * and a later read (an exporter, say) faults the same bytes back in from the
 * page cache; never for a caller's memory image, where it could zero it. */
static void drop_pages(const void *data, size_t nbytes) {
#if defined(__linux__) && defined(MADV_DONTNEED)
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    uintptr_t begin = ((uintptr_t)data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)data + nbytes) & ~((uintptr_t)page - 1);
    if (end > begin) (void)madvise((void *)begin, end - begin, MADV_DONTNEED);
#else
    (void)data;
    (void)nbytes;
#endif
}

static void drop_packed_sources(const lr__bert *b) {
    const size_t H = (size_t)b->cfg.hidden, I = (size_t)b->cfg.intermediate;
    const size_t f = lr__wtype_bytes(b->wtype);
    const size_t sizes[6] = {H * H, H * H, H * H, H * H, I * H, H * I};
    for (int l = 0; l < b->cfg.n_layers; l++) {
        const lr__bert_layer *L = &b->layers[l];
        if (!L->qkv_p || !L->ao_p || !L->ff1_p || !L->ff2_p) continue;
        const void *w[6] = {L->q_w, L->k_w, L->v_w, L->ao_w, L->ff1_w, L->ff2_w};
        for (int j = 0; j < 6; j++) drop_pages(b->wtype == LR_WTYPE_F32 ? w[j] : L->lw[j], sizes[j] * f);
    }
}

/* The tensors of a model of weight type wt into t (f32), qt and qs (the
 * stored low-precision weights and q8 scales; NULL for f32). A bf16 model
 * on a CPU without a bf16 kernel is widened to f32 into *wide (owned by the
 * caller, NULL otherwise), its pointers in t. */
static int bind_tensors(const lr__lrm *f, const lr__bert_config *cfg, lr__wtype wt, int widen,
                        const float **t, const void **qt, const float **qs, float **wide,
                        lr_error *err) {
    const int n = lr__bert_n_tensors(cfg);
    size_t wide_floats = 0, off = 0;
    for (int i = 0; widen && i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(cfg, i, &sp);
        if (lr__bert_tensor_is_quantized(&sp)) wide_floats += (size_t)(sp.shape[0] * sp.shape[1]);
    }
    if (widen && !(*wide = lr__alloc_array(wide_floats, sizeof(float))))
        return lr__err(err, LR_ENOMEM, "out of memory widening the bf16 weights");
    for (int i = 0; i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(cfg, i, &sp);
        const lr__tensor *x;
        int rc;
        if (wt == LR_WTYPE_F32 || !lr__bert_tensor_is_quantized(&sp)) {
            if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, &x, err))) return rc;
            t[i] = x->data;
            continue;
        }
        const size_t count = (size_t)(sp.shape[0] * sp.shape[1]);
        if (wt == LR_WTYPE_Q8) {
            char name[sizeof sp.name + 8];
            const lr__tensor *s;
            snprintf(name, sizeof name, "%s_scale", sp.name);
            if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_I8, 2, sp.shape, &x, err)) ||
                (rc = lr__lrm_expect(f, name, LR_DTYPE_F32, 1, sp.shape, &s, err)) ||
                (rc = lr__q8_check_weight(sp.name, x->data, count, s->data,
                                          (size_t)sp.shape[0], err)))
                return rc;
            qt[i] = x->data;
            qs[i] = s->data;
        } else {
            if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_BF16, 2, sp.shape, &x, err))) return rc;
            if (widen) {
                const uint16_t *h = x->data;
                float *d = *wide + off;
                for (size_t k = 0; k < count; k++) d[k] = lr__f32_from_bf16(h[k]);
                t[i] = d;
                off += count;
            } else {
                qt[i] = x->data;
            }
        }
    }
    return LR_OK;
}

/* What the parts of a model promise each other, checked at load so that a
 * model that loads can score any input (the structure of each part, and
 * the tensor shapes against the config, are checked by format.c and
 * bind_tensors):
 *  - the vocabulary is there, has the five special tokens, and has no more
 *    tokens than the word embedding has rows (a token id past the table
 *    would stop the first batch that meets it);
 *  - the label names are as many as the head's outputs (they define its
 *    shape), non-empty and valid UTF-8 (they are written into JSON);
 *  - tokenizer.max_len <= max_position_embeddings (lr__model_read_config);
 *  - the stored rules, if any, load and compile (they mask every line).
 * The rules are kept compiled in m. */
static int check_parts(lr_model *m, const lr__bert_config *cfg, lr_error *err) {
    lr__lrm *f = m->file;
    const char *name = lr__lrm_name(f);
    if (lr__lrm_get_str(f, "tokenizer.vocab", &m->vocab, &m->vocab_len, err)) return err ? err->code : LR_EFORMAT;
    size_t n_tokens = 0;
    for (const char *p = m->vocab, *end = m->vocab + m->vocab_len; p < end; n_tokens++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (n_tokens == 0) return lr__err(err, LR_EFORMAT, "%s: tokenizer.vocab is empty", name);
    if (n_tokens > (size_t)cfg->vocab_size)
        return lr__err(err, LR_EFORMAT,
                       "%s: tokenizer.vocab has %zu tokens but the word embedding has %d rows (bert.vocab_size)",
                       name, n_tokens, cfg->vocab_size);
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t k = 0; k < LR_ARRAY_LEN(specials); k++) {
        size_t sl = strlen(specials[k]);
        int found = 0;
        for (const char *p = m->vocab, *end = m->vocab + m->vocab_len; p < end && !found;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t ll = (size_t)((nl ? nl : end) - p);
            if (ll && p[ll - 1] == '\r') ll--;
            found = ll == sl && memcmp(p, specials[k], sl) == 0;
            p = nl ? nl + 1 : end;
        }
        if (!found) return lr__err(err, LR_EFORMAT, "%s: tokenizer.vocab has no %s token", name, specials[k]);
    }
    for (size_t i = 0; i < m->n_labels; i++) {
        const char *s;
        size_t len;
        int rc = lr__lrm_get_strs_item(f, "model.labels", i, &s, &len, err);
        if (rc) return rc;
        if (!len || lr__utf8_valid_prefix(s, len) != len)
            return lr__err(err, LR_EFORMAT, "%s: label %zu of model.labels is %s", name, i,
                           len ? "not valid UTF-8" : "empty");
    }
    lr_error ignore;
    if (lr__lrm_get_str(f, "rules.yaml", &m->rules, &m->rules_len, &ignore) == 0) {
        char source[300];
        snprintf(source, sizeof source, "%s (rules.yaml)", name);
        if (!(m->rules_compiled = lr_rules_parse(m->rules, m->rules_len, source, err)))
            return err ? err->code : LR_EPARSE;
    } else {
        m->rules = NULL;
    }
    return LR_OK;
}

static lr_model *model_from_file(lr__lrm *f, int mapped, lr_error *err) {
    lr_model *m = lr__calloc(1, sizeof *m);
    const float **tensors = NULL, **qs = NULL;
    const void **qt = NULL;
    float *wide = NULL;
    if (!m) {
        lr__err(err, LR_ENOMEM, "out of memory");
        goto fail;
    }
    m->file = f;
    lr__bert_config cfg;
    if (lr__model_read_config(f, &cfg, &m->max_len, err)) goto fail;
    m->n_labels = (size_t)cfg.n_labels;
    if (check_parts(m, &cfg, err)) goto fail;
    if (lr__model_read_wtype(f, &m->wtype, err)) goto fail;
    /* bf16 weights on a CPU without a bf16 GEMM: widened to f32 (exact) */
    const int widen = m->wtype == LR_WTYPE_BF16 && lr__qkern_get()->bf16_nr < 1;
    const lr__wtype run = widen ? LR_WTYPE_F32 : m->wtype;
    int n = lr__bert_n_tensors(&cfg);
    tensors = lr__calloc((size_t)n, sizeof *tensors);
    qt = lr__calloc((size_t)n, sizeof *qt);
    qs = lr__calloc((size_t)n, sizeof *qs);
    if (!tensors || !qt || !qs) {
        lr__err(err, LR_ENOMEM, "out of memory");
        goto fail;
    }
    if (bind_tensors(f, &cfg, m->wtype, widen, tensors, qt, qs, &wide, err) ||
        lr__bert_bind_typed(&m->bert, &cfg, tensors, run, qt, qs, err))
        goto fail;
    /* Encoder weights packed once for the GEMM kernel (see model_bert.c),
     * on this thread: packing over a 2-thread pool measured slower here
     * (median 19 vs 15 ms for BERT-mini, the other core busy; packing is
     * bound by memory and page faults more than by the transposes). */
    if (lr__bert_pack(&m->bert, NULL, err)) goto fail;
    if (wide) { /* packed: the widened copies are not read again */
        for (int l = 0; l < cfg.n_layers; l++) {
            lr__bert_layer *L = &m->bert.layers[l];
            L->q_w = L->k_w = L->v_w = L->ao_w = L->ff1_w = L->ff2_w = NULL;
        }
        lr__free(wide);
        wide = NULL;
    } else if (mapped) {
        drop_packed_sources(&m->bert);
    }
    lr__free(tensors);
    lr__free(qt);
    lr__free(qs);
    tensors = qs = NULL;
    qt = NULL;
    return m;
fail:
    lr__free(tensors);
    lr__free(qt);
    lr__free(qs);
    lr__free(wide);
    if (m) {
        lr__bert_release(&m->bert);
        lr_rules_free(m->rules_compiled);
        lr__free(m);
    }
    lr__lrm_close(f);
    return NULL;
}

lr_model *lr_model_load(const char *path, lr_error *err) {
    return lr_model_load_flags(path, 0, err);
}

/* Skipping the data checksum leaves every structural check of format.c in
 * place (no offset or size goes unchecked); only corrupted weight values
 * would go unnoticed (lr_model_verify finds them later). It also maps the
 * file without MAP_POPULATE: pages are read as first used, and the
 * embedding rows of tokens never seen are never read at all. */
lr_model *lr_model_load_flags(const char *path, unsigned flags, lr_error *err) {
    if (flags & ~(unsigned)LR_MODEL_LOAD_SKIP_DATA_CHECKSUM) {
        lr__err(err, LR_EINVAL, "lr_model_load_flags: unknown flags 0x%x", flags);
        return NULL;
    }
    unsigned f_flags = (flags & LR_MODEL_LOAD_SKIP_DATA_CHECKSUM) ? LR_LRM_SKIP_DATA_CHECKSUM : 0;
    lr__lrm *f = lr__lrm_open_flags(path, f_flags, err);
    /* lr__lrm_open_flags always maps the file (never reads it into a
     * buffer), so the packed weights' source pages may be dropped. */
    return f ? model_from_file(f, lr__lrm_is_mapped(f), err) : NULL;
}

int lr_model_verify(const lr_model *m, lr_error *err) {
    if (!m) return lr__err(err, LR_EINVAL, "lr_model_verify: NULL model");
    return lr__lrm_verify_data(m->file, err);
}

lr_model *lr_model_load_memory_flags(const void *data, size_t size, const char *name,
                                     unsigned flags, lr_error *err) {
    if (flags & ~(unsigned)LR_MODEL_LOAD_SKIP_DATA_CHECKSUM) {
        lr__err(err, LR_EINVAL, "lr_model_load_memory_flags: unknown flags 0x%x", flags);
        return NULL;
    }
    unsigned f_flags = (flags & LR_MODEL_LOAD_SKIP_DATA_CHECKSUM) ? LR_LRM_SKIP_DATA_CHECKSUM : 0;
    lr__lrm *f = lr__lrm_open_memory_flags(data, size, name ? name : "(memory)", f_flags, err);
    /* never drop pages of a memory image: it may be the binary's .rodata */
    return f ? model_from_file(f, 0, err) : NULL;
}

lr_model *lr_model_load_memory(const void *data, size_t size, const char *name, lr_error *err) {
    return lr_model_load_memory_flags(data, size, name, 0, err);
}

void lr_model_free(lr_model *m) {
    if (!m) return;
    lr__bert_release(&m->bert);
    lr_rules_free(m->rules_compiled);
    lr__lrm_close(m->file);
    lr__free(m);
}

const lr__bert *lr__model_bert(const lr_model *m) { return &m->bert; }

void lr_model_get_info(const lr_model *m, lr_model_info *info) {
    const lr__bert_config *c = &m->bert.cfg;
    info->vocab_size = c->vocab_size;
    info->hidden = c->hidden;
    info->n_layers = c->n_layers;
    info->n_heads = c->n_heads;
    info->intermediate = c->intermediate;
    info->max_positions = c->max_positions;
    info->n_labels = c->n_labels;
    info->head_hidden = lr__head_uses_hidden(c) ? c->head_hidden : 0;
    info->head = lr__head_name(c->head);
    info->dtype = lr__wtype_name(m->wtype);
}

int lr_model_n_labels(const lr_model *m) { return m->bert.cfg.n_labels; }

const char *lr_model_label(const lr_model *m, int i, size_t *len) {
    const char *s;
    size_t l;
    lr_error ignore;
    if (i < 0 || (size_t)i >= m->n_labels ||
        lr__lrm_get_strs_item(m->file, "model.labels", (size_t)i, &s, &l, &ignore))
        return NULL;
    if (len) *len = l;
    return s;
}

int lr_model_max_len(const lr_model *m) { return m->max_len; }

const char *lr_model_vocab_text(const lr_model *m, size_t *len) {
    if (len) *len = m->vocab ? m->vocab_len : 0;
    return m->vocab;
}

const char *lr_model_rules_yaml(const lr_model *m, size_t *len) {
    if (len) *len = m->rules ? m->rules_len : 0;
    return m->rules;
}

const lr_rules *lr_model_rules(const lr_model *m) { return m ? m->rules_compiled : NULL; }

/* ------------------------------------------------------------- inference */

lr_model_ctx *lr_model_ctx_new(const lr_model *m, int max_tokens, lr_error *err) {
    lr_model_ctx *c = lr__calloc(1, sizeof *c);
    if (!c) {
        lr__err(err, LR_ENOMEM, "out of memory");
        return NULL;
    }
    c->m = m;
    c->s = lr__bert_scratch_new(&m->bert.cfg, max_tokens, err);
    if (!c->s) {
        lr__free(c);
        return NULL;
    }
    return c;
}

void lr_model_ctx_free(lr_model_ctx *c) {
    if (!c) return;
    lr__bert_scratch_free(c->s);
    lr__free(c);
}

int lr_model_logits(lr_model_ctx *c, lr_pool *pool, const int32_t *const *ids, const int *lens,
                    int n, float *logits, lr_error *err) {
    if (!c || !ids || !lens || !logits)
        return lr__err(err, LR_EINVAL, "lr_model_logits: NULL argument");
    return lr__bert_forward(&c->m->bert, c->s, pool, ids, lens, n, NULL, logits, err);
}

void lr_model_outputs(const float *logits, int n_labels, float *probs, float *score, int *label) {
    lr__head_outputs(logits, n_labels, probs, score, label);
}
