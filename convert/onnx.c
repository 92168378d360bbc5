/*
 * onnx.c — `logrisk export`: a logrisk BERT model (.lrm) as an ONNX file,
 * written by our own protobuf encoder (protobuf.c).
 *
 * The graph (B = batch, S = sequence, both dynamic; H hidden, A heads,
 * d = H/A; every Linear of the encoder is MatMul with its weight stored
 * transposed [in, out] + Add of the bias, the form ORT fuses for 3-D
 * inputs; the head runs on 2-D [B, H] rows, as Gemm with transB = 1):
 *
 *   inputs  input_ids int64 [B,S], attention_mask int64 [B,S]
 *   x     = LN((Gather(word, input_ids) + type_row0) + Slice(pos, 0..S))
 *           (S from Shape(input_ids); token_type_ids are all 0: row 0)
 *   mask  = Unsqueeze((1 - Cast(attention_mask)) * finfo(f32).min, [1,2])
 *           [B,1,1,S], added to the attention scores (as HF does)
 *   layer: q,k,v = x Wq + bq ... reshaped [B,S,A,d], transposed to
 *          [B,A,S,d] (k to [B,A,d,S]); p = Softmax(q k / sqrt(d) + mask);
 *          ctx = (p v) transposed back and reshaped [B,S,H];
 *          x = LN(x + ctx Wo + bo); x = LN(x + GELU(x W1 + b1) W2 + b2)
 *   cls   = Gather(x, 0, axis 1) [B,H]
 *   head  its stages (arch.h), each Gemm then the activation's operator:
 *         mlp: Gemm(Relu(Gemm(cls, W1, b1)), W2, b2)
 *         linear: Gemm(cls, W, b)
 *         pooler_linear: Gemm(Tanh(Gemm(cls, Wp, bp)), W, b)
 *   output logits float [B,C]
 *
 * LayerNorm and GELU depend on the opset. At 14 they are decomposed in
 * exactly the subgraphs ONNX Runtime's LayerNormFusion and GeluFusion
 * match (onnxruntime/core/optimizer/layer_norm_fusion.cc, gelu_fusion.cc):
 *   LN:   m = ReduceMean(x, axes=[-1]); d = Sub(x, m); v =
 *         ReduceMean(Pow(d, 2), axes=[-1]); y = Add(Mul(Div(d,
 *         Sqrt(Add(v, eps))), gamma), beta)   (eps the Add's 2nd input,
 *         gamma and beta 1-D initializers, d used by Pow and Div only)
 *   GELU: Mul(Mul(x, Add(Erf(Div(x, sqrt2)), 1)), 0.5)   (their pattern 2)
 * so that ORT turns them back into LayerNormalization / Gelu (BiasGelu
 * with the preceding bias Add). At 17 LN is one LayerNormalization node.
 * Scalar constants are rank-0 initializers (the fusions require constant
 * initializers with the expected values).
 *
 * Weights are initializers with raw_data (little-endian f32, as in the
 * .lrm); the encoder's Linear weights are transposed while they are
 * written (one row of the output at a time), so each weight byte is read
 * and written exactly once. The whole file is measured first (counting
 * pass, no payload touched); above the protobuf limit of 2 GB (or the
 * caller's max_bytes) the export is refused before anything is written.
 * The file is written to a temporary beside the target, fsync'ed and
 * renamed, so a failed export leaves no partial file.
 *
 * metadata_props carry what a consumer needs to reproduce the pipeline
 * (keys in docs/onnx.md): labels (JSON array), max_len,
 * the vocabulary (vocab.txt text), the rules YAML, the head, how the
 * score is computed, and what the inputs mean.
 */
#include "onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "format.h"
#include "model.h"
#include "protobuf.h"
#include "rules.h"
#include "util.h"
#include "wtype.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx.c writes the mapped little-endian weights as raw_data: little-endian hosts only"
#endif

/* ------------------------------------------------------------ the graph */

typedef struct attr {
    const char *name;
    int type;         /* LR_ONNX_ATTR_INT, _FLOAT, _INTS_TYPE */
    int64_t i;
    float f;
    int64_t ints[4];
    int n_ints;
} attr;

typedef struct node {
    const char *op;
    const char *name;
    const char *in[3];
    int n_in;
    const char *out;
    attr attrs[2];
    int n_attrs;
} node;

typedef struct init {
    const char *name;
    int dtype;           /* LR_ONNX_FLOAT or LR_ONNX_INT64 */
    int ndim;            /* 0..2 */
    int64_t dims[2];
    const float *data;   /* NULL: the value is in `small` */
    int transpose;       /* data is [dims[1], dims[0]] and is written transposed */
    union {
        float f;
        int64_t i[4];
    } small;
} init;

typedef struct meta {
    const char *key;
    const char *value;
    size_t len;
} meta;

typedef struct graph {
    int opset;
    int n_labels;
    node *nodes;
    size_t n_nodes, cap_nodes;
    init *inits;
    size_t n_inits, cap_inits;
    meta props[16];
    size_t n_props;
    char **strs; /* owned strings (names, metadata values) */
    size_t n_strs, cap_strs;
    int status;  /* LR_ENOMEM after a failed allocation (sticky) */
    int counter;
    float ln_eps;
    node scratch_node; /* returned by add_node/add_init after a failed allocation */
    init scratch_init;
} graph;

static int grow(graph *g, void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    size_t bytes;
    void *p = lr__mul_ok(ncap, elem, &bytes) ? lr__realloc(*arr, bytes) : NULL;
    if (!p) {
        g->status = LR_ENOMEM;
        return -1;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

/* A string owned by the graph (printf-style); "" after a failed allocation
 * (g->status says so). */
static const char *gstr(graph *g, const char *fmt, ...) LR_PRINTF(2, 3);
static const char *gstr(graph *g, const char *fmt, ...) {
    if (g->status) return "";
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    char *s = lr__strdup(tmp);
    if (!s || grow(g, (void **)&g->strs, &g->cap_strs, g->n_strs, sizeof *g->strs)) {
        lr__free(s);
        g->status = LR_ENOMEM;
        return "";
    }
    g->strs[g->n_strs++] = s;
    return s;
}

static void graph_free(graph *g) {
    for (size_t i = 0; i < g->n_strs; i++) lr__free(g->strs[i]);
    lr__free(g->strs);
    lr__free(g->nodes);
    lr__free(g->inits);
}

/* A node with up to three inputs and one output named "<op>_<k>" (unique).
 * The returned node stays valid until the next add_node; after a failed
 * allocation it is a scratch node that is never written. */
static node *add_node(graph *g, const char *op, const char *a, const char *b, const char *c) {
    if (g->status || grow(g, (void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof *g->nodes)) {
        memset(&g->scratch_node, 0, sizeof g->scratch_node);
        g->scratch_node.out = "";
        return &g->scratch_node;
    }
    node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    const char *in[3] = {a, b, c};
    for (int i = 0; i < 3 && in[i]; i++) n->in[n->n_in++] = in[i];
    g->counter++;
    n->out = gstr(g, "%s_%d", op, g->counter);
    n->name = gstr(g, "n%d_%s", g->counter, op);
    return n;
}

static const char *op1(graph *g, const char *op, const char *a) {
    return add_node(g, op, a, NULL, NULL)->out;
}
static const char *op2(graph *g, const char *op, const char *a, const char *b) {
    return add_node(g, op, a, b, NULL)->out;
}

static void attr_int(node *n, const char *name, int64_t v) {
    attr *a = &n->attrs[n->n_attrs++];
    a->name = name;
    a->type = LR_ONNX_ATTR_INT;
    a->i = v;
}
static void attr_float(node *n, const char *name, float v) {
    attr *a = &n->attrs[n->n_attrs++];
    a->name = name;
    a->type = LR_ONNX_ATTR_FLOAT;
    a->f = v;
}
static void attr_ints(node *n, const char *name, const int64_t *v, int count) {
    attr *a = &n->attrs[n->n_attrs++];
    a->name = name;
    a->type = LR_ONNX_ATTR_INTS_TYPE;
    for (int i = 0; i < count; i++) a->ints[i] = v[i];
    a->n_ints = count;
}

static init *add_init(graph *g, const char *name) {
    if (g->status || grow(g, (void **)&g->inits, &g->cap_inits, g->n_inits, sizeof *g->inits)) {
        memset(&g->scratch_init, 0, sizeof g->scratch_init);
        return &g->scratch_init;
    }
    init *t = &g->inits[g->n_inits++];
    memset(t, 0, sizeof *t);
    t->name = name;
    return t;
}

/* A float tensor from the model file (borrowed; transposed when asked). */
static const char *init_weight(graph *g, const char *name, const float *data, int ndim, int64_t d0,
                               int64_t d1, int transpose) {
    init *t = add_init(g, name);
    t->dtype = LR_ONNX_FLOAT;
    t->ndim = ndim;
    t->dims[0] = transpose ? d1 : d0;
    t->dims[1] = transpose ? d0 : d1;
    t->data = data;
    t->transpose = transpose;
    return name;
}

static const char *init_scalar(graph *g, const char *name, float v) {
    init *t = add_init(g, name);
    t->dtype = LR_ONNX_FLOAT;
    t->small.f = v;
    return name;
}

static const char *init_i64(graph *g, const char *name, int n, const int64_t *v) {
    init *t = add_init(g, name);
    t->dtype = LR_ONNX_INT64;
    t->ndim = n < 0 ? 0 : 1; /* n < 0: one scalar */
    t->dims[0] = n < 0 ? 0 : n;
    for (int i = 0; i < (n < 0 ? 1 : n); i++) t->small.i[i] = v[i];
    return name;
}

/* LayerNorm over the last axis: decomposed for ORT's fusion (opset 14) or
 * one LayerNormalization node (opset >= 17). */
static const char *layer_norm(graph *g, const char *x, const char *gamma, const char *beta) {
    static const int64_t last[1] = {-1};
    if (g->opset >= 17) {
        node *n = add_node(g, "LayerNormalization", x, gamma, beta);
        attr_int(n, "axis", -1);
        attr_float(n, "epsilon", g->ln_eps);
        return n->out;
    }
    node *n = add_node(g, "ReduceMean", x, NULL, NULL);
    attr_ints(n, "axes", last, 1);
    const char *mean = n->out;
    const char *d = op2(g, "Sub", x, mean);
    const char *sq = op2(g, "Pow", d, "const_two");
    n = add_node(g, "ReduceMean", sq, NULL, NULL);
    attr_ints(n, "axes", last, 1);
    const char *var = n->out;
    const char *sd = op1(g, "Sqrt", op2(g, "Add", var, "const_ln_eps"));
    return op2(g, "Add", op2(g, "Mul", op2(g, "Div", d, sd), gamma), beta);
}

/* erf GELU as Mul(Mul(x, Add(Erf(Div(x, sqrt2)), 1)), 0.5). */
static const char *gelu(graph *g, const char *x) {
    const char *e = op1(g, "Erf", op2(g, "Div", x, "const_sqrt2"));
    return op2(g, "Mul", op2(g, "Mul", x, op2(g, "Add", e, "const_one")), "const_half");
}

/* y = x W^T + b for 3-D x: MatMul with the transposed weight, then Add. */
static const char *linear3(graph *g, const char *x, const char *name, const float *w,
                           const float *bias, int64_t out, int64_t in) {
    const char *wt = init_weight(g, gstr(g, "%s.weight_t", name), w, 2, out, in, 1);
    const char *bn = init_weight(g, gstr(g, "%s.bias", name), bias, 1, out, 0, 0);
    return op2(g, "Add", op2(g, "MatMul", x, wt), bn);
}

/* y = x W^T + b for 2-D x: one Gemm on the [out, in] weight as stored. */
static const char *gemm(graph *g, const char *x, const char *name, const float *w, const float *bias,
                        int64_t out, int64_t in) {
    const char *wn = init_weight(g, gstr(g, "%s.weight", name), w, 2, out, in, 0);
    const char *bn = init_weight(g, gstr(g, "%s.bias", name), bias, 1, out, 0, 0);
    node *n = add_node(g, "Gemm", x, wn, bn);
    attr_int(n, "transB", 1);
    return n->out;
}

/* The name of tensor i of the model description (arch.h), with its last
 * `strip` characters cut (".weight" for a Linear's prefix). */
static const char *tensor_name(graph *g, const lr__bert_config *c, int i, size_t strip) {
    lr__bert_tensor_spec sp;
    lr__bert_tensor_at(c, i, &sp);
    size_t n = strlen(sp.name);
    return gstr(g, "%.*s", (int)(n > strip ? n - strip : 0), sp.name);
}

static void build_graph(graph *g, const lr__bert *b) {
    const lr__bert_config *c = &b->cfg;
    const int64_t H = c->hidden, A = c->n_heads, D = H / A, I = c->intermediate;
    /* Shared constants (rank-0 or 1-D initializers). */
    g->ln_eps = c->ln_eps;
    if (g->opset < 17) init_scalar(g, "const_ln_eps", c->ln_eps);
    if (g->opset < 17) init_scalar(g, "const_two", 2.0f);
    init_scalar(g, "const_one", 1.0f);
    init_scalar(g, "const_half", 0.5f);
    init_scalar(g, "const_sqrt2", (float)M_SQRT2);
    init_scalar(g, "const_sqrt_head_dim", sqrtf((float)D));
    init_scalar(g, "const_f32_min", -3.4028234663852886e38f);
    const int64_t zero = 0, one = 1, two = 2, unsq[2] = {1, 2};
    const int64_t split_heads[4] = {0, 0, A, D}, merge_heads[3] = {0, 0, H};
    init_i64(g, "const_i0", 1, &zero);
    init_i64(g, "const_i1", 1, &one);
    init_i64(g, "const_i2", 1, &two);
    init_i64(g, "const_cls_index", -1, &zero);
    init_i64(g, "const_mask_axes", 2, unsq);
    init_i64(g, "const_split_heads", 4, split_heads);
    init_i64(g, "const_merge_heads", 3, merge_heads);

    /* Embeddings: (word + type row 0) + position, then LayerNorm. */
    const char *word = init_weight(g, tensor_name(g, c, 0, 0), b->word_emb, 2, c->vocab_size, H, 0);
    const char *pos = init_weight(g, tensor_name(g, c, 1, 0), b->pos_emb, 2, c->max_positions, H, 0);
    const char *type0 = init_weight(g, "bert.embeddings.token_type_embeddings.row0", b->type_emb, 1,
                                    H, 0, 0);
    const char *seq = add_node(g, "Slice", op1(g, "Shape", "input_ids"), "const_i1", "const_i2")->out;
    node *n = add_node(g, "Slice", pos, "const_i0", seq);
    const char *pos_rows = n->out; /* [S, H]: Slice's axes default to all, here axis 0 */
    const char *x = op2(g, "Add", op2(g, "Add", op2(g, "Gather", word, "input_ids"), type0), pos_rows);
    x = layer_norm(g, x, init_weight(g, tensor_name(g, c, 3, 0), b->emb_ln_g, 1, H, 0, 0),
                   init_weight(g, tensor_name(g, c, 4, 0), b->emb_ln_b, 1, H, 0, 0));

    /* Additive mask [B,1,1,S]: 0 for real tokens, finfo(f32).min for padding. */
    n = add_node(g, "Cast", "attention_mask", NULL, NULL);
    attr_int(n, "to", LR_ONNX_FLOAT);
    const char *maskf = n->out;
    const char *mask = op2(g, "Mul", op2(g, "Sub", "const_one", maskf), "const_f32_min");
    mask = op2(g, "Unsqueeze", mask, "const_mask_axes");

    static const int64_t to_heads[4] = {0, 2, 1, 3}, to_keys[4] = {0, 2, 3, 1};
    for (int l = 0; l < c->n_layers; l++) {
        const lr__bert_layer *L = &b->layers[l];
#define LINEAR(k) tensor_name(g, c, lr__bert_layer_tensor(l, k), strlen(".weight"))
#define TENSOR(k) tensor_name(g, c, lr__bert_layer_tensor(l, k), 0)
        const char *qkv[3];
        const float *ws[3] = {L->q_w, L->k_w, L->v_w}, *bs[3] = {L->q_b, L->k_b, L->v_b};
        static const int wk[3] = {LR_LT_QW, LR_LT_KW, LR_LT_VW};
        for (int j = 0; j < 3; j++) {
            const char *y = linear3(g, x, LINEAR(wk[j]), ws[j], bs[j], H, H);
            y = op2(g, "Reshape", y, "const_split_heads");
            n = add_node(g, "Transpose", y, NULL, NULL);
            attr_ints(n, "perm", j == 1 ? to_keys : to_heads, 4);
            qkv[j] = n->out;
        }
        const char *scores = op2(g, "Div", op2(g, "MatMul", qkv[0], qkv[1]), "const_sqrt_head_dim");
        n = add_node(g, "Softmax", op2(g, "Add", scores, mask), NULL, NULL);
        attr_int(n, "axis", -1);
        const char *ctx = op2(g, "MatMul", n->out, qkv[2]);
        n = add_node(g, "Transpose", ctx, NULL, NULL);
        attr_ints(n, "perm", to_heads, 4);
        ctx = op2(g, "Reshape", n->out, "const_merge_heads");
        const char *ao = linear3(g, ctx, LINEAR(LR_LT_AOW), L->ao_w, L->ao_b, H, H);
        x = layer_norm(g, op2(g, "Add", ao, x),
                       init_weight(g, TENSOR(LR_LT_LN1W), L->ln1_g, 1, H, 0, 0),
                       init_weight(g, TENSOR(LR_LT_LN1B), L->ln1_b, 1, H, 0, 0));
        const char *ff = gelu(g, linear3(g, x, LINEAR(LR_LT_FF1W), L->ff1_w, L->ff1_b, I, H));
        ff = linear3(g, ff, LINEAR(LR_LT_FF2W), L->ff2_w, L->ff2_b, H, I);
        x = layer_norm(g, op2(g, "Add", ff, x),
                       init_weight(g, TENSOR(LR_LT_LN2W), L->ln2_g, 1, H, 0, 0),
                       init_weight(g, TENSOR(LR_LT_LN2B), L->ln2_b, 1, H, 0, 0));
#undef LINEAR
#undef TENSOR
    }

    /* The head on the [CLS] row. */
    n = add_node(g, "Gather", x, "const_cls_index", NULL);
    attr_int(n, "axis", 1);
    const char *h = n->out;
    const lr__head_desc *hd = lr__head_desc_of(c->head); /* its stages: Gemm, activation */
    for (int st = 0; st < hd->n_stages; st++) {
        const lr__head_stage *S = &hd->stage[st];
        const int64_t in = lr__bert_dim(c, S->in), out = lr__bert_dim(c, S->out);
        h = gemm(g, h, S->prefix, b->head_w[st], b->head_b[st], out, in);
        const char *act = st + 1 < hd->n_stages ? lr__act_onnx_op(S->act) : NULL;
        if (act) h = op1(g, act, h);
    }
    if (!g->status) g->nodes[g->n_nodes - 1].out = "logits";
}

/* ------------------------------------------------------ serialization */

static void attr_msg(lr__pb *pb, const void *arg) {
    const attr *a = arg;
    lr__pb_str(pb, LR_ONNX_ATTR_NAME, a->name);
    if (a->type == LR_ONNX_ATTR_FLOAT) lr__pb_float(pb, LR_ONNX_ATTR_F, a->f);
    else if (a->type == LR_ONNX_ATTR_INT) lr__pb_int(pb, LR_ONNX_ATTR_I, a->i);
    else lr__pb_packed_int64(pb, LR_ONNX_ATTR_INTS, a->ints, (size_t)a->n_ints);
    lr__pb_int(pb, LR_ONNX_ATTR_TYPE, a->type);
}

static void node_msg(lr__pb *pb, const void *arg) {
    const node *n = arg;
    for (int i = 0; i < n->n_in; i++) lr__pb_str(pb, LR_ONNX_NODE_INPUT, n->in[i]);
    lr__pb_str(pb, LR_ONNX_NODE_OUTPUT, n->out);
    lr__pb_str(pb, LR_ONNX_NODE_NAME, n->name);
    lr__pb_str(pb, LR_ONNX_NODE_OP_TYPE, n->op);
    for (int i = 0; i < n->n_attrs; i++) lr__pb_message(pb, LR_ONNX_NODE_ATTRIBUTE, attr_msg, &n->attrs[i]);
}

/* raw_data of a transposed weight: data is [rows = dims[1], cols = dims[0]]
 * (torch's [out, in]); output row i is column i. */
static void fill_transposed(lr__pb *pb, const void *arg) {
    const init *t = arg;
    const size_t rows = (size_t)t->dims[1], cols = (size_t)t->dims[0];
    float *row = lr__alloc_array(rows, sizeof *row);
    if (!row) {
        pb->status = LR_ENOMEM;
        return;
    }
    for (size_t i = 0; i < cols && !pb->status; i++) {
        for (size_t r = 0; r < rows; r++) row[r] = t->data[r * cols + i];
        lr__pb_raw(pb, row, rows * sizeof *row);
    }
    lr__free(row);
}

static void tensor_msg(lr__pb *pb, const void *arg) {
    const init *t = arg;
    lr__pb_packed_int64(pb, LR_ONNX_TENSOR_DIMS, t->dims, (size_t)t->ndim);
    lr__pb_int(pb, LR_ONNX_TENSOR_DATA_TYPE, t->dtype);
    lr__pb_str(pb, LR_ONNX_TENSOR_NAME, t->name);
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) numel *= (uint64_t)t->dims[i];
    const uint64_t nbytes = numel * (t->dtype == LR_ONNX_INT64 ? 8 : 4);
    if (t->transpose) lr__pb_bytes_fn(pb, LR_ONNX_TENSOR_RAW_DATA, nbytes, fill_transposed, t);
    else lr__pb_bytes(pb, LR_ONNX_TENSOR_RAW_DATA, t->data ? (const void *)t->data : (const void *)&t->small,
                      (size_t)nbytes);
}

/* A value_info of a graph input or output: name, element type, a 2-D shape
 * whose dims are named (dim_param) or fixed (dim_value). */
typedef struct value_info {
    const char *name;
    int elem;
    const char *param[2];
    int64_t value[2];
} value_info;

typedef struct dim_ref {
    const value_info *v;
    int i;
} dim_ref;

static void dim_msg(lr__pb *pb, const void *arg) {
    const dim_ref *d = arg;
    if (d->v->param[d->i]) lr__pb_str(pb, LR_ONNX_DIM_PARAM, d->v->param[d->i]);
    else lr__pb_int(pb, LR_ONNX_DIM_VALUE, d->v->value[d->i]);
}

static void shape_msg(lr__pb *pb, const void *arg) {
    for (int i = 0; i < 2; i++) {
        const dim_ref d = {arg, i};
        lr__pb_message(pb, LR_ONNX_SHAPE_DIM, dim_msg, &d);
    }
}

static void tensor_type_msg(lr__pb *pb, const void *arg) {
    const value_info *v = arg;
    lr__pb_int(pb, LR_ONNX_TYPE_TENSOR_ELEM_TYPE, v->elem);
    lr__pb_message(pb, LR_ONNX_TYPE_TENSOR_SHAPE, shape_msg, v);
}

static void type_msg(lr__pb *pb, const void *arg) {
    lr__pb_message(pb, LR_ONNX_TYPE_TENSOR_TYPE, tensor_type_msg, arg);
}

static void value_info_msg(lr__pb *pb, const void *arg) {
    const value_info *v = arg;
    lr__pb_str(pb, LR_ONNX_VALUE_INFO_NAME, v->name);
    lr__pb_message(pb, LR_ONNX_VALUE_INFO_TYPE, type_msg, v);
}

static void graph_msg(lr__pb *pb, const void *arg) {
    const graph *g = arg;
    for (size_t i = 0; i < g->n_nodes; i++) lr__pb_message(pb, LR_ONNX_GRAPH_NODE, node_msg, &g->nodes[i]);
    lr__pb_str(pb, LR_ONNX_GRAPH_NAME, "logrisk_bert");
    for (size_t i = 0; i < g->n_inits; i++)
        lr__pb_message(pb, LR_ONNX_GRAPH_INITIALIZER, tensor_msg, &g->inits[i]);
    const value_info ids = {"input_ids", LR_ONNX_INT64, {"batch", "sequence"}, {0, 0}};
    const value_info mask = {"attention_mask", LR_ONNX_INT64, {"batch", "sequence"}, {0, 0}};
    const value_info logits = {"logits", LR_ONNX_FLOAT, {"batch", NULL}, {0, g->n_labels}};
    lr__pb_message(pb, LR_ONNX_GRAPH_INPUT, value_info_msg, &ids);
    lr__pb_message(pb, LR_ONNX_GRAPH_INPUT, value_info_msg, &mask);
    lr__pb_message(pb, LR_ONNX_GRAPH_OUTPUT, value_info_msg, &logits);
}

static void opset_msg(lr__pb *pb, const void *arg) {
    lr__pb_str(pb, LR_ONNX_OPSET_DOMAIN, "");
    lr__pb_int(pb, LR_ONNX_OPSET_VERSION, ((const graph *)arg)->opset);
}

static void entry_msg(lr__pb *pb, const void *arg) {
    const meta *m = arg;
    lr__pb_str(pb, LR_ONNX_ENTRY_KEY, m->key);
    lr__pb_bytes(pb, LR_ONNX_ENTRY_VALUE, m->value, m->len);
}

static void model_msg(lr__pb *pb, const void *arg) {
    const graph *g = arg;
    /* IR version 7 goes with opset 14 (ONNX 1.9), 8 with opset 17 (1.12). */
    lr__pb_int(pb, LR_ONNX_MODEL_IR_VERSION, g->opset >= 17 ? 8 : 7);
    lr__pb_str(pb, LR_ONNX_MODEL_PRODUCER_NAME, "logrisk");
    lr__pb_str(pb, LR_ONNX_MODEL_PRODUCER_VERSION, LR_VERSION);
    lr__pb_str(pb, LR_ONNX_MODEL_DOC_STRING,
               "logrisk BERT log-line classifier: logits of [CLS] input_ids [SEP] "
               "(WordPiece ids of the masked line, see metadata logrisk.*)");
    lr__pb_message(pb, LR_ONNX_MODEL_GRAPH, graph_msg, g);
    lr__pb_message(pb, LR_ONNX_MODEL_OPSET_IMPORT, opset_msg, g);
    for (size_t i = 0; i < g->n_props; i++)
        lr__pb_message(pb, LR_ONNX_MODEL_METADATA_PROPS, entry_msg, &g->props[i]);
}

/* ------------------------------------------------------------- metadata */

static void add_prop(graph *g, const char *key, const char *value, size_t len) {
    if (g->n_props < LR_ARRAY_LEN(g->props)) g->props[g->n_props++] = (meta){key, value, len};
}

/* Metadata strings must be UTF-8 (protobuf `string`). */
static int check_utf8(const char *what, const char *s, size_t len, lr_error *err) {
    size_t ok = lr__utf8_valid_prefix(s, len);
    if (ok != len)
        return lr__err(err, LR_EFORMAT, "%s is not valid UTF-8 (byte %zu): ONNX metadata must be", what, ok);
    return 0;
}

static int build_metadata(graph *g, const lr__lrm *f, const lr__bert_config *c, int max_len,
                          lr__buf *labels, lr_error *err) {
    int rc;
    size_t n;
    if ((rc = lr__lrm_get_strs_count(f, "model.labels", &n, err))) return rc;
    if ((rc = lr__buf_putc(labels, '['))) goto nomem;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if ((rc = lr__lrm_get_strs_item(f, "model.labels", i, &s, &len, err))) return rc;
        if ((rc = check_utf8("a label name", s, len, err))) return rc;
        if ((rc = lr__buf_puts(labels, i ? "," : "")) || (rc = lr__buf_put_json_string(labels, s, len)))
            goto nomem;
    }
    if ((rc = lr__buf_putc(labels, ']'))) goto nomem;
    add_prop(g, "logrisk.labels", labels->data, labels->len);
    const char *v = gstr(g, "%d", max_len);
    add_prop(g, "logrisk.max_len", v, strlen(v));
    const char *vocab, *rules, *source;
    size_t vocab_len, rules_len, source_len;
    if ((rc = lr__lrm_get_str(f, "tokenizer.vocab", &vocab, &vocab_len, err))) return rc;
    if ((rc = check_utf8("the vocabulary", vocab, vocab_len, err))) return rc;
    add_prop(g, "logrisk.vocab", vocab, vocab_len);
    add_prop(g, "logrisk.do_lower_case", "1", 1);
    lr_error ignore;
    if (lr__lrm_get_str(f, "rules.yaml", &rules, &rules_len, &ignore) == 0) {
        if ((rc = check_utf8("the rules YAML", rules, rules_len, err))) return rc;
        add_prop(g, "logrisk.rules_yaml", rules, rules_len);
    }
    if (lr__lrm_get_str(f, "model.source", &source, &source_len, &ignore) == 0 &&
        lr__utf8_valid_prefix(source, source_len) == source_len)
        add_prop(g, "logrisk.source", source, source_len);
    const char *head = lr__head_name(c->head);
    add_prop(g, "logrisk.head", head, strlen(head));
    static const char inputs[] =
        "input_ids: int64 [batch, sequence], the WordPiece ids of [CLS] line [SEP] after the rules' "
        "masking (logrisk tokenize), at most logrisk.max_len; attention_mask: 1 for tokens, 0 for "
        "padding (pad with any id, e.g. [PAD] = 0)";
    add_prop(g, "logrisk.inputs", inputs, sizeof inputs - 1);
    static const char score[] =
        "probabilities = softmax(logits); risk_label = argmax; risk_score = the median class: "
        "class i holds p_i spread evenly over [i - 0.5, i + 0.5], risk_score is where the "
        "cumulative probability reaches 0.5, clamped to [0, C - 1] (label order of logrisk.labels)";
    add_prop(g, "logrisk.outputs", score, sizeof score - 1);
    return g->status ? lr__err(err, LR_ENOMEM, "out of memory") : 0;
nomem:
    return lr__err(err, LR_ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- export */

/* The protobuf streamed into a fresh temporary beside path, renamed over
 * it only when complete (files.h). */
static int write_file(const graph *g, const char *path, lr_error *err) {
    lr__atomic a;
    int rc = lr__atomic_open(&a, path, err);
    if (rc) return rc;
    FILE *out = lr__atomic_stdio(&a, err);
    if (!out) {
        rc = err ? err->code : LR_EIO;
        lr__atomic_abort(&a);
        return rc;
    }
    lr__pb pb;
    lr__pb_init_sink(&pb, lr__pb_sink_file, out);
    model_msg(&pb, g);
    int werr = pb.status == LR_EIO || ferror(out) ? errno : 0;
    if (pb.status == LR_ENOMEM) rc = lr__err(err, LR_ENOMEM, "out of memory writing %s", path);
    else if (pb.status == LR_EINVAL)
        rc = lr__err(err, LR_EINVAL, "%s: internal error: a message changed size between passes", path);
    else if (pb.status || werr)
        rc = lr__err(err, LR_EIO, "%s: write failed: %s", path, strerror(werr ? werr : EIO));
    if (rc) {
        lr__atomic_abort(&a);
        return rc;
    }
    return lr__atomic_commit(&a, err);
}

static int check_options(const lr_onnx_options *opts, int *opset, uint64_t *limit, lr_error *err) {
    *opset = opts && opts->opset ? opts->opset : 14;
    if (*opset != 14 && *opset != 17)
        return lr__err(err, LR_EINVAL, "opset %d is not supported (14 or 17)", *opset);
    *limit = opts && opts->max_bytes ? opts->max_bytes : LR_ONNX_MAX_BYTES;
    if (*limit > LR_ONNX_MAX_BYTES) *limit = LR_ONNX_MAX_BYTES;
    return 0;
}

/* Export the opened model file f (closed here, whatever happens). */
static int export_lrm(lr__lrm *f, const char *model_name, const char *onnx_path, int opset,
                      uint64_t limit, lr_error *err) {
    graph g = {.opset = opset};
    lr__bert b = {0};
    lr__buf labels;
    lr__buf_init(&labels);
    const float **tensors = NULL;
    lr__bert_config cfg;
    int max_len, rc;
    if ((rc = lr__model_read_config(f, &cfg, &max_len, err))) goto done;
    lr__wtype wt;
    if ((rc = lr__model_read_wtype(f, &wt, err))) goto done;
    if (wt != LR_WTYPE_F32) {
        rc = lr__err(err, LR_EUNSUPPORTED, "%s is a %s model: export its f32 original (the "
                     "ONNX graph is f32)", model_name, lr__wtype_name(wt));
        goto done;
    }
    int n = lr__bert_n_tensors(&cfg);
    tensors = lr__calloc((size_t)n, sizeof *tensors);
    if (!tensors) {
        rc = lr__err(err, LR_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&cfg, i, &sp);
        const lr__tensor *t;
        if ((rc = lr__lrm_expect(f, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, &t, err))) goto done;
        tensors[i] = t->data;
    }
    if ((rc = lr__bert_bind(&b, &cfg, tensors, err))) goto done;
    g.n_labels = cfg.n_labels;
    if ((rc = build_metadata(&g, f, &cfg, max_len, &labels, err))) goto done;
    build_graph(&g, &b);
    if (g.status) {
        rc = lr__err(err, LR_ENOMEM, "out of memory building the ONNX graph");
        goto done;
    }
    uint64_t size = lr__pb_measure(model_msg, &g);
    if (size > limit) {
        rc = lr__err(err, LR_ERANGE,
                     "%s: the ONNX file would be %llu bytes, over the %llu-byte limit of a protobuf "
                     "message (2 GB); export to ONNX external data is not supported",
                     model_name, (unsigned long long)size, (unsigned long long)limit);
        goto done;
    }
    rc = write_file(&g, onnx_path, err);
done:
    lr__free(tensors);
    lr__bert_release(&b);
    lr__buf_free(&labels);
    graph_free(&g);
    lr__lrm_close(f);
    return rc;
}

int lr_export_onnx(const char *model_path, const char *onnx_path, const lr_onnx_options *opts,
                   lr_error *err) {
    if (!model_path || !onnx_path) return lr__err(err, LR_EINVAL, "export: no model or output path");
    int opset;
    uint64_t limit;
    int rc = check_options(opts, &opset, &limit, err);
    if (rc) return rc;
    lr__lrm *f = lr__lrm_open(model_path, err);
    if (!f) return err ? err->code : LR_EFORMAT;
    return export_lrm(f, model_path, onnx_path, opset, limit, err);
}

int lr_export_onnx_memory(const void *image, size_t size, const char *name, const char *onnx_path,
                          const lr_onnx_options *opts, lr_error *err) {
    if (!image || !onnx_path) return lr__err(err, LR_EINVAL, "export: no model image or output path");
    if (!name) name = "(model in memory)";
    int opset;
    uint64_t limit;
    int rc = check_options(opts, &opset, &limit, err);
    if (rc) return rc;
    lr__lrm *f = lr__lrm_open_memory(image, size, name, err);
    if (!f) return err ? err->code : LR_EFORMAT;
    return export_lrm(f, name, onnx_path, opset, limit, err);
}
