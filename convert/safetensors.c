/*
 * safetensors.c — Hugging Face import: a strict safetensors reader (see
 * safetensors.h for the rules it enforces) and `lr_convert_safetensors`,
 * which turns a HF BERT directory (model.safetensors, config.json,
 * vocab.txt) into an .lrm model file.
 *
 * Reading: the file is read whole (checkpoints we import are tens of MB),
 * the header parsed with the strict JSON parser, every entry validated and
 * the entries sorted by offset to prove that they tile the data section.
 *
 * Converting: config.json gives the sizes (HF BertConfig keys), the tensor
 * names give the head (the table of arch.h: classifier.1/.4 = the seed MLP
 * head, classifier alone = single Linear, plus bert.pooler.dense = HF's
 * pooled head), label
 * names come from --labels, else config id2label, else "0".."C-1". Every
 * tensor the model needs (lr__bert_tensor_at) must be present with exactly
 * its shape; F16/BF16/F64 are converted to F32. Tensors the model does not
 * use (position_ids buffers, an unused pooler, MLM heads) are ignored.
 * Names are looked up with the `bert.` prefix first, then without it (plain
 * BertModel checkpoints), and LayerNorm.gamma/.beta stand in for
 * LayerNorm.weight/.bias (older checkpoints). The rules stored with the model are --rules
 * (loaded first, so a bad file is an error) or the built-in seed rules.
 */
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "format.h"
#include "json.h"
#include "model.h"
#include "util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

/* ---------------------------------------------------------------- reader */

struct lr__safetensors {
    unsigned char *owned; /* file image when read from disk */
    const unsigned char *data;
    size_t size;
    lr__st_tensor *tensors;
    size_t n;
    lr__json_doc *header;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [LR_ST_BOOL] = {"BOOL", 1}, [LR_ST_U8] = {"U8", 1},     [LR_ST_I8] = {"I8", 1},
    [LR_ST_F8_E4M3] = {"F8_E4M3", 1}, [LR_ST_F8_E5M2] = {"F8_E5M2", 1},
    [LR_ST_I16] = {"I16", 2},   [LR_ST_U16] = {"U16", 2},   [LR_ST_F16] = {"F16", 2},
    [LR_ST_BF16] = {"BF16", 2}, [LR_ST_I32] = {"I32", 4},   [LR_ST_U32] = {"U32", 4},
    [LR_ST_F32] = {"F32", 4},   [LR_ST_F64] = {"F64", 8},   [LR_ST_I64] = {"I64", 8},
    [LR_ST_U64] = {"U64", 8},
};

const char *lr__st_dtype_name(lr__st_dtype d) {
    return (unsigned)d < LR_ARRAY_LEN(dtypes) ? dtypes[d].name : "?";
}

void lr__safetensors_free(lr__safetensors *st) {
    if (!st) return;
    lr__json_free(st->header);
    lr__free(st->tensors);
    lr__free(st->owned);
    lr__free(st);
}

static int cmp_by_offset(const void *a, const void *b) {
    const lr__st_tensor *x = *(const lr__st_tensor *const *)a, *y = *(const lr__st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data ? 1 : (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* Validate one header entry `e` (key = tensor name) into t. */
static int parse_entry(const char *file, const lr__json *e, const unsigned char *base,
                       size_t data_size, lr__st_tensor *t, lr_error *err) {
    const char *name = e->key;
    if (e->type != LR_JSON_OBJECT)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\" (header byte %zu): entry is a %s, not an object",
                       file, name, e->offset, lr__json_type_name(e->type));
    const char *dt;
    size_t dt_len;
    if (!lr__json_get_str(e, "dtype", &dt, &dt_len))
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": missing or non-string \"dtype\"", file, name);
    int found = -1;
    for (size_t i = 0; i < LR_ARRAY_LEN(dtypes); i++)
        if (strlen(dtypes[i].name) == dt_len && memcmp(dtypes[i].name, dt, dt_len) == 0) found = (int)i;
    if (found < 0)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": unknown dtype \"%.*s\"", file, name,
                       (int)LR_MIN(dt_len, 32), dt);
    t->dtype = (lr__st_dtype)found;
    const lr__json *shape = lr__json_get(e, "shape");
    if (!shape || shape->type != LR_JSON_ARRAY)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": missing or non-array \"shape\"", file, name);
    if (shape->n > LR_ST_MAX_DIMS)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": %zu dimensions (at most %d)", file, name,
                       shape->n, LR_ST_MAX_DIMS);
    t->ndim = (int)shape->n;
    size_t numel = 1;
    for (size_t i = 0; i < shape->n; i++) {
        const lr__json *d = &shape->items[i];
        if (d->type != LR_JSON_NUMBER || !d->is_int || d->i64 < 0 || (uint64_t)d->i64 > SIZE_MAX)
            return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": shape[%zu] is not a non-negative integer",
                           file, name, i);
        t->shape[i] = d->i64;
        if (!lr__mul_ok(numel, (size_t)d->i64, &numel))
            return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": shape overflows", file, name);
    }
    size_t nbytes;
    if (!lr__mul_ok(numel, dtypes[found].size, &nbytes))
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": size overflows", file, name);
    const lr__json *off = lr__json_get(e, "data_offsets");
    if (!off || off->type != LR_JSON_ARRAY || off->n != 2)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": \"data_offsets\" is not [begin, end]", file, name);
    int64_t b = off->items[0].i64, en = off->items[1].i64;
    if (off->items[0].type != LR_JSON_NUMBER || !off->items[0].is_int ||
        off->items[1].type != LR_JSON_NUMBER || !off->items[1].is_int || b < 0 || en < b)
        return lr__err(err, LR_EFORMAT, "%s: tensor \"%s\": bad data_offsets", file, name);
    if ((uint64_t)en > data_size)
        return lr__err(err, LR_EFORMAT,
                       "%s: tensor \"%s\": data_offsets end %lld is past the end of the data (%zu bytes)",
                       file, name, (long long)en, data_size);
    if ((uint64_t)(en - b) != nbytes)
        return lr__err(err, LR_EFORMAT,
                       "%s: tensor \"%s\": %lld data bytes but shape and dtype %s need %zu", file,
                       name, (long long)(en - b), dtypes[found].name, nbytes);
    t->name = name;
    t->numel = numel;
    t->data = base + b;
    t->nbytes = nbytes;
    return LR_OK;
}

lr__safetensors *lr__safetensors_parse(const void *data, size_t size, const char *name, lr_error *err) {
    const unsigned char *p = data;
    if (size < 8) {
        lr__err(err, LR_EFORMAT, "%s: %zu bytes is too short for a safetensors file", name, size);
        return NULL;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen < 2 || hlen > LR_ST_MAX_HEADER || hlen > size - 8) {
        lr__err(err, LR_EFORMAT,
                "%s: header length %llu is invalid (file has %zu bytes, limit %llu)", name,
                (unsigned long long)hlen, size, (unsigned long long)LR_ST_MAX_HEADER);
        return NULL;
    }
    if (p[8] != '{') {
        lr__err(err, LR_EFORMAT, "%s: header does not start with '{'", name);
        return NULL;
    }
    lr__safetensors *st = lr__calloc(1, sizeof *st);
    if (!st) {
        lr__err(err, LR_ENOMEM, "out of memory");
        return NULL;
    }
    st->data = p;
    st->size = size;
    lr_error jerr = {0};
    /* The header may be padded with trailing spaces: the JSON parser skips them. */
    st->header = lr__json_parse((const char *)p + 8, (size_t)hlen, LR_JSON_NO_DUPLICATES, &jerr);
    if (!st->header) {
        lr__err(err, jerr.code == LR_ENOMEM ? LR_ENOMEM : LR_EFORMAT, "%s: header: %s", name, jerr.msg);
        goto fail;
    }
    const lr__json *root = lr__json_root(st->header);
    if (root->type != LR_JSON_OBJECT) {
        lr__err(err, LR_EFORMAT, "%s: header is not a JSON object", name);
        goto fail;
    }
    const unsigned char *base = p + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    st->tensors = lr__calloc(root->n ? root->n : 1, sizeof *st->tensors);
    if (!st->tensors) {
        lr__err(err, LR_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < root->n; i++) {
        const lr__json *e = &root->items[i];
        if (strcmp(e->key, "__metadata__") == 0 && e->key_len == 12) {
            if (e->type != LR_JSON_OBJECT) {
                lr__err(err, LR_EFORMAT, "%s: __metadata__ is not an object", name);
                goto fail;
            }
            for (size_t k = 0; k < e->n; k++)
                if (e->items[k].type != LR_JSON_STRING) {
                    lr__err(err, LR_EFORMAT, "%s: __metadata__ value \"%s\" is not a string", name,
                            e->items[k].key);
                    goto fail;
                }
            continue;
        }
        if (e->key_len == 0 || strlen(e->key) != e->key_len) {
            lr__err(err, LR_EFORMAT, "%s: empty or NUL-containing tensor name at header byte %zu",
                    name, e->key_offset);
            goto fail;
        }
        if (parse_entry(name, e, base, data_size, &st->tensors[st->n], err)) goto fail;
        st->n++;
    }
    /* The entries must tile the data section exactly. */
    {
        const lr__st_tensor **order = lr__alloc_array(st->n ? st->n : 1, sizeof *order);
        if (!order) {
            lr__err(err, LR_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < st->n; i++) order[i] = &st->tensors[i];
        qsort(order, st->n, sizeof *order, cmp_by_offset);
        size_t expect = 0;
        int bad = 0;
        for (size_t i = 0; i < st->n && !bad; i++) {
            size_t begin = (size_t)(order[i]->data - base);
            if (begin != expect) {
                lr__err(err, LR_EFORMAT,
                        "%s: tensor \"%s\" starts at data offset %zu but the previous tensor ends "
                        "at %zu (overlapping or gap)",
                        name, order[i]->name, begin, expect);
                bad = 1;
            }
            expect = begin + order[i]->nbytes;
        }
        lr__free(order);
        if (bad) goto fail;
        if (expect != data_size) {
            lr__err(err, LR_EFORMAT, "%s: tensors cover %zu of the %zu data bytes", name, expect,
                    data_size);
            goto fail;
        }
    }
    return st;
fail:
    lr__safetensors_free(st);
    return NULL;
}

/* Read a whole file into memory (caller frees *out). */
static int read_file(const char *path, unsigned char **out, size_t *size, lr_error *err) {
    char *text;
    int rc = lr__file_read_all(path, NULL, SIZE_MAX / 2, &text, size, err);
    *out = (unsigned char *)text;
    return rc;
}

lr__safetensors *lr__safetensors_open(const char *path, lr_error *err) {
    unsigned char *img = NULL;
    size_t size = 0;
    if (read_file(path, &img, &size, err)) return NULL;
    lr__safetensors *st = lr__safetensors_parse(img, size, path, err);
    if (!st) {
        lr__free(img);
        return NULL;
    }
    st->owned = img;
    return st;
}

size_t lr__safetensors_count(const lr__safetensors *st) { return st->n; }

const lr__st_tensor *lr__safetensors_at(const lr__safetensors *st, size_t i) {
    return i < st->n ? &st->tensors[i] : NULL;
}

const lr__st_tensor *lr__safetensors_find(const lr__safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

float lr__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float lr__bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int lr__st_to_f32(const lr__st_tensor *t, float *out, lr_error *err) {
    const unsigned char *d = t->data;
    switch (t->dtype) {
    case LR_ST_F32: memcpy(out, d, t->numel * 4); return LR_OK;
    case LR_ST_F16:
    case LR_ST_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h = (uint16_t)(d[2 * i] | (d[2 * i + 1] << 8));
            out[i] = t->dtype == LR_ST_F16 ? lr__f16_to_f32(h) : lr__bf16_to_f32(h);
        }
        return LR_OK;
    case LR_ST_F64:
        for (size_t i = 0; i < t->numel; i++) {
            double v;
            memcpy(&v, d + 8 * i, 8);
            out[i] = (float)v;
        }
        return LR_OK;
    default:
        return lr__err(err, LR_EUNSUPPORTED, "tensor \"%s\" has dtype %s; only F32, F16, BF16 and "
                       "F64 weights can be imported", t->name, lr__st_dtype_name(t->dtype));
    }
}

/* ------------------------------------------------------------ converting */

typedef struct {
    lr__bert_config cfg;
    int max_len;
    char **labels;
    size_t n_labels;
    char *vocab;
    size_t vocab_len;
    char *rules;
    size_t rules_len;
    float **converted; /* per tensor spec: a converted copy, or NULL */
    int n_specs;
} convert_state;

static void state_free(convert_state *s) {
    for (size_t i = 0; i < s->n_labels; i++) lr__free(s->labels[i]);
    lr__free(s->labels);
    lr__free(s->vocab);
    lr__free(s->rules);
    for (int i = 0; i < s->n_specs; i++) lr__free(s->converted[i]);
    lr__free(s->converted);
}

static int read_text(const char *path, char **out, size_t *len, lr_error *err) {
    unsigned char *img;
    int rc = read_file(path, &img, len, err);
    if (rc) return rc;
    if (!img) { /* empty file */
        img = lr__calloc(1, 1);
        if (!img) return lr__err(err, LR_ENOMEM, "out of memory");
    }
    *out = (char *)img;
    return LR_OK;
}

/* A required positive integer of config.json. */
static int cfg_int(const lr__json *root, const char *path, const char *key, int def, int *out,
                   lr_error *err) {
    const lr__json *v = lr__json_get(root, key);
    if (!v) {
        if (def < 0) return lr__err(err, LR_EFORMAT, "%s: missing \"%s\"", path, key);
        *out = def;
        return LR_OK;
    }
    if (v->type != LR_JSON_NUMBER || !v->is_int || v->i64 < 1 || v->i64 > (1 << 24))
        return lr__err(err, LR_EFORMAT, "%s: \"%s\" must be a positive integer", path, key);
    *out = (int)v->i64;
    return LR_OK;
}

static int read_config(const char *path, convert_state *s, const lr__json **id2label,
                       lr__json_doc **doc, lr_error *err) {
    char *text;
    size_t len;
    int rc = read_text(path, &text, &len, err);
    if (rc) return rc;
    lr_error jerr = {0};
    *doc = lr__json_parse(text, len, 0, &jerr);
    lr__free(text);
    if (!*doc) return lr__err(err, jerr.code, "%s: %s", path, jerr.msg);
    const lr__json *r = lr__json_root(*doc);
    if (r->type != LR_JSON_OBJECT) return lr__err(err, LR_EFORMAT, "%s: not a JSON object", path);
    lr__bert_config *c = &s->cfg;
    if ((rc = cfg_int(r, path, "vocab_size", -1, &c->vocab_size, err)) ||
        (rc = cfg_int(r, path, "hidden_size", -1, &c->hidden, err)) ||
        (rc = cfg_int(r, path, "num_hidden_layers", -1, &c->n_layers, err)) ||
        (rc = cfg_int(r, path, "num_attention_heads", -1, &c->n_heads, err)) ||
        (rc = cfg_int(r, path, "intermediate_size", -1, &c->intermediate, err)) ||
        (rc = cfg_int(r, path, "max_position_embeddings", 512, &c->max_positions, err)) ||
        (rc = cfg_int(r, path, "type_vocab_size", 2, &c->type_vocab_size, err)))
        return rc;
    double eps = 1e-12;
    const lr__json *v = lr__json_get(r, "layer_norm_eps");
    if (v) {
        if (v->type != LR_JSON_NUMBER || !(v->num > 0))
            return lr__err(err, LR_EFORMAT, "%s: \"layer_norm_eps\" must be a positive number", path);
        eps = v->num;
    }
    c->ln_eps = (float)eps;
    const char *str;
    size_t slen;
    if (lr__json_get_str(r, "hidden_act", &str, &slen) && !(slen == 4 && memcmp(str, "gelu", 4) == 0))
        return lr__err(err, LR_EUNSUPPORTED, "%s: hidden_act \"%.*s\" is not supported (only the "
                       "exact erf \"gelu\")", path, (int)LR_MIN(slen, 32), str);
    if (lr__json_get_str(r, "position_embedding_type", &str, &slen) &&
        !(slen == 8 && memcmp(str, "absolute", 8) == 0))
        return lr__err(err, LR_EUNSUPPORTED, "%s: position_embedding_type \"%.*s\" is not "
                       "supported (only \"absolute\")", path, (int)LR_MIN(slen, 32), str);
    *id2label = lr__json_get(r, "id2label");
    if (*id2label && (*id2label)->type != LR_JSON_OBJECT)
        return lr__err(err, LR_EFORMAT, "%s: \"id2label\" is not an object", path);
    return LR_OK;
}

/* Find `name`, also without its "bert." prefix (plain BertModel files) and
 * with the LayerNorm.gamma / LayerNorm.beta names of older checkpoints. */
static const lr__st_tensor *find_tensor(const lr__safetensors *st, const char *name) {
    const lr__st_tensor *t = lr__safetensors_find(st, name);
    if (!t && strncmp(name, "bert.", 5) == 0) t = lr__safetensors_find(st, name + 5);
    size_t n = strlen(name);
    static const char *const suffix[2][2] = {{"LayerNorm.weight", "LayerNorm.gamma"},
                                             {"LayerNorm.bias", "LayerNorm.beta"}};
    for (int i = 0; !t && i < 2; i++) {
        size_t sl = strlen(suffix[i][0]);
        if (n < sl || strcmp(name + n - sl, suffix[i][0]) != 0 || n + 8 > 128) continue;
        char old[128];
        snprintf(old, sizeof old, "%.*s%s", (int)(n - sl), name, suffix[i][1]);
        t = lr__safetensors_find(st, old);
        if (!t && strncmp(old, "bert.", 5) == 0) t = lr__safetensors_find(st, old + 5);
    }
    return t;
}

/* The head is the first of arch.h's table whose every stage weight is in
 * the file, heads with more stages tried first (so a file with the MLP's
 * classifier.1/.4, or the pooler as well as classifier, is not taken for
 * the one-Linear head); its sizes come from those weights: head_hidden
 * from the stage of that width, the labels from the last stage. */
static int detect_head(const char *path, const lr__safetensors *st, lr__bert_config *c,
                       lr_error *err) {
    const lr__head_desc *d = NULL;
    char expected[512];
    size_t o = 0;
    expected[0] = '\0';
    for (int want = LR_HEAD_MAX_STAGES; want >= 1 && !d; want--) {
        for (int h = 0; h < LR_HEAD_COUNT && !d; h++) {
            const lr__head_desc *hd = lr__head_desc_of((lr__head_type)h);
            if (hd->n_stages != want) continue;
            int all = 1;
            for (int k = 0; k < hd->n_stages; k++) {
                char name[128];
                snprintf(name, sizeof name, "%s.weight", hd->stage[k].prefix);
                all = all && find_tensor(st, name);
                const char *sep = k ? " + " : o ? ", " : "";
                if (o < sizeof expected)
                    o += (size_t)snprintf(expected + o, sizeof expected - o, "%s%s", sep, name);
            }
            if (all) {
                d = hd;
                c->head = (lr__head_type)h;
            }
        }
    }
    if (!d)
        return lr__err(err, LR_EFORMAT, "%s: no classifier head (expected one of: %s)", path,
                       expected);
    c->head_hidden = 0;
    for (int k = 0; k < d->n_stages; k++) {
        char name[128];
        snprintf(name, sizeof name, "%s.weight", d->stage[k].prefix);
        const lr__st_tensor *w = find_tensor(st, name);
        if (w->ndim != 2) return lr__err(err, LR_EFORMAT, "%s: %s must be 2-D", path, name);
        if (d->stage[k].out == LR_DIM_K) c->head_hidden = (int)LR_MIN(w->shape[0], INT32_MAX);
        if (d->stage[k].out == LR_DIM_C) c->n_labels = (int)LR_MIN(w->shape[0], INT32_MAX);
    }
    if (c->n_labels < 1) return lr__err(err, LR_EFORMAT, "%s: the classifier has no outputs", path);
    return LR_OK;
}

static int add_label(convert_state *s, const char *name, size_t len, lr_error *err) {
    char **grown = lr__realloc(s->labels, (s->n_labels + 1) * sizeof *grown);
    if (!grown) return lr__err(err, LR_ENOMEM, "out of memory");
    s->labels = grown;
    if (!(s->labels[s->n_labels] = lr__strndup(name, len)))
        return lr__err(err, LR_ENOMEM, "out of memory");
    s->n_labels++;
    return LR_OK;
}

static int make_labels(convert_state *s, const char *opt_labels, const lr__json *id2label,
                       const char *cfg_path, lr_error *err) {
    const int C = s->cfg.n_labels;
    int rc;
    if (opt_labels) {
        const char *p = opt_labels;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 0) return lr__err(err, LR_EINVAL, "--labels: empty label name");
            if ((rc = add_label(s, p, len, err))) return rc;
            if (!comma) break;
            p = comma + 1;
        }
        if (s->n_labels != (size_t)C)
            return lr__err(err, LR_EINVAL, "--labels gives %zu names but the classifier has %d outputs",
                           s->n_labels, C);
        return LR_OK;
    }
    if (id2label && id2label->n) {
        if (id2label->n != (size_t)C)
            return lr__err(err, LR_EFORMAT, "%s: id2label has %zu entries but the classifier has %d outputs",
                           cfg_path, id2label->n, C);
        for (int i = 0; i < C; i++) {
            char key[16];
            snprintf(key, sizeof key, "%d", i);
            const char *name;
            size_t len;
            if (!lr__json_get_str(id2label, key, &name, &len))
                return lr__err(err, LR_EFORMAT, "%s: id2label has no string for \"%d\"", cfg_path, i);
            if ((rc = add_label(s, name, len, err))) return rc;
        }
        return LR_OK;
    }
    for (int i = 0; i < C; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "%d", i);
        if ((rc = add_label(s, name, (size_t)len, err))) return rc;
    }
    return LR_OK;
}

/* The vocabulary must not have more lines than the embedding has rows. */
static int check_vocab(const char *path, const char *text, size_t len, int vocab_size, lr_error *err) {
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (len && text[len - 1] != '\n') lines++;
    if (lines == 0) return lr__err(err, LR_EFORMAT, "%s: the vocabulary is empty", path);
    if (lines > (size_t)vocab_size)
        return lr__err(err, LR_EFORMAT, "%s: %zu tokens but the model's vocab_size is %d", path,
                       lines, vocab_size);
    return LR_OK;
}

int lr_convert_safetensors(const char *dir, const char *out_path, const lr_convert_options *opts,
                           lr_error *err) {
    static const lr_convert_options no_opts = {0};
    if (!dir || !out_path) return lr__err(err, LR_EINVAL, "convert: NULL directory or output path");
    if (!opts) opts = &no_opts;
    convert_state s = {0};
    lr__json_doc *cfg_doc = NULL;
    lr__safetensors *st = NULL;
    lr__lrm_writer *w = NULL;
    const float **ptrs = NULL;
    char cfg_path[4096], st_path[4096], vocab_path[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", dir);
    const char *vpath = opts->vocab_path ? opts->vocab_path : vocab_path;
    const lr__json *id2label = NULL;
    int rc;
    if ((rc = read_config(cfg_path, &s, &id2label, &cfg_doc, err))) goto done;
    if (!(st = lr__safetensors_open(st_path, err))) {
        rc = err ? err->code : LR_EFORMAT;
        goto done;
    }
    if ((rc = detect_head(st_path, st, &s.cfg, err))) goto done;
    if ((rc = lr__bert_config_check(&s.cfg, err))) goto done;
    int64_t cfg_labels;
    if (lr__json_get_int(lr__json_root(cfg_doc), "num_labels", &cfg_labels) && !opts->labels &&
        !id2label && cfg_labels != s.cfg.n_labels) {
        rc = lr__err(err, LR_EFORMAT, "%s: num_labels %lld but the classifier has %d outputs",
                     cfg_path, (long long)cfg_labels, s.cfg.n_labels);
        goto done;
    }
    if ((rc = make_labels(&s, opts->labels, id2label, cfg_path, err))) goto done;
    if (access(vpath, R_OK) != 0 && !opts->vocab_path) {
        rc = lr__err(err, LR_EIO, "%s: missing; a model needs its tokenizer vocabulary (give one "
                     "with --vocab FILE)", vpath);
        goto done;
    }
    if ((rc = read_text(vpath, &s.vocab, &s.vocab_len, err))) goto done;
    if ((rc = check_vocab(vpath, s.vocab, s.vocab_len, s.cfg.vocab_size, err))) goto done;
    {
        /* The rules go in checked: a file that does not load is an error. */
        lr_rules *rules = opts->rules_path ? lr_rules_load(opts->rules_path, err) : lr_rules_default(err);
        if (!rules) {
            rc = err && err->code ? err->code : LR_EPARSE;
            goto done;
        }
        size_t len = 0;
        const char *yaml = lr_rules_yaml(rules, &len);
        s.rules = yaml ? lr__strndup(yaml, len) : NULL;
        s.rules_len = len;
        lr_rules_free(rules);
        if (yaml && !s.rules) {
            rc = lr__err(err, LR_ENOMEM, "out of memory");
            goto done;
        }
    }
    s.max_len = LR_MIN(128, s.cfg.max_positions);
    if (s.max_len < 2) {
        rc = lr__err(err, LR_EFORMAT, "%s: max_position_embeddings %d is too small", cfg_path,
                     s.cfg.max_positions);
        goto done;
    }

    /* Tensors: present, exactly shaped, converted to F32 when needed. */
    s.n_specs = lr__bert_n_tensors(&s.cfg);
    s.converted = lr__calloc((size_t)s.n_specs, sizeof *s.converted);
    ptrs = lr__calloc((size_t)s.n_specs, sizeof *ptrs);
    if (!s.converted || !ptrs) {
        rc = lr__err(err, LR_ENOMEM, "out of memory");
        goto done;
    }
    if (!(w = lr__lrm_writer_new(err))) {
        rc = err ? err->code : LR_ENOMEM;
        goto done;
    }
    for (int i = 0; i < s.n_specs; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&s.cfg, i, &sp);
        const lr__st_tensor *t = find_tensor(st, sp.name);
        if (!t) {
            rc = lr__err(err, LR_EFORMAT, "%s: tensor \"%s\" is missing", st_path, sp.name);
            goto done;
        }
        int same = t->ndim == sp.ndim;
        for (int d = 0; same && d < sp.ndim; d++) same = t->shape[d] == sp.shape[d];
        if (!same) {
            char want[64], got[128];
            size_t o = 0;
            for (int d = 0; d < t->ndim && o < sizeof got - 24; d++)
                o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            got[o] = '\0';
            if (sp.ndim == 2) snprintf(want, sizeof want, "%lld,%lld", (long long)sp.shape[0], (long long)sp.shape[1]);
            else snprintf(want, sizeof want, "%lld", (long long)sp.shape[0]);
            rc = lr__err(err, LR_EFORMAT, "%s: tensor \"%s\" has shape [%s], the config needs [%s]",
                         st_path, sp.name, got, want);
            goto done;
        }
        if (t->dtype != LR_ST_F32 || ((uintptr_t)t->data & 3u)) {
            if (!(s.converted[i] = lr__alloc_array(t->numel ? t->numel : 1, sizeof(float)))) {
                rc = lr__err(err, LR_ENOMEM, "out of memory");
                goto done;
            }
            if ((rc = lr__st_to_f32(t, s.converted[i], err))) goto done;
            ptrs[i] = s.converted[i];
        } else {
            ptrs[i] = (const float *)(const void *)t->data;
        }
    }
    lr__model_meta meta = {.cfg = &s.cfg, .labels = (const char *const *)s.labels,
                           .n_labels = s.n_labels, .vocab = s.vocab, .vocab_len = s.vocab_len,
                           .max_len = s.max_len, .rules_yaml = s.rules, .rules_len = s.rules_len,
                           .source = "safetensors"};
    if ((rc = lr__model_write_meta(w, &meta, err))) goto done;
    for (int i = 0; i < s.n_specs; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&s.cfg, i, &sp);
        if ((rc = lr__lrm_add_tensor(w, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, ptrs[i], err)))
            goto done;
    }
    rc = lr__lrm_writer_write(w, out_path, err);
done:
    lr__lrm_writer_free(w);
    lr__free(ptrs);
    lr__safetensors_free(st);
    lr__json_free(cfg_doc);
    state_free(&s);
    return rc;
}
