/*
 * model_bert.c — the BERT encoder and classifier head: binding weights in
 * the order of the model description (arch.h) and the fused inference
 * forward pass.
 *
 * Forward on packed rows (see model.h). With T = total tokens of the call:
 *
 *   x[T,H]      = LN(word[id] + type[0] + pos[p])                embeddings
 *   per layer l < last:
 *     qkv[T,3H] = x [Wq|Wk|Wv]^T + [bq|bk|bv]                   one GEMM (packed, fused)
 *     ctx[T,H]  = per sequence s, head h:
 *                 softmax(Q_h K_h^T / sqrt(d)) V_h              rows of s only
 *     x         = LN(x + ctx Wo^T + bo)                          GEMM accumulating into x
 *     ff[T,I]   = gelu(x W1^T + b1)                              in chunks of 512 rows
 *     x         = LN(x + ff W2^T + b2)
 *   last layer: keys and values for all T rows; queries, attention, output
 *     and FFN for the n [CLS] rows only (residual rows gathered into
 *     xc[n,H]; Q and K|V come from views of the packed Q|K|V weight when H
 *     is a multiple of the kernel's panel width), which saves most of a layer;
 *   head on xc: its stages (arch.h), each act(xc W^T + b), the last into
 *     the logits: mlp relu(xc W1^T + b1) W2^T + b2, linear xc W^T + b,
 *     pooler_linear tanh(xc Wp^T + bp) W^T + b
 *
 * No mask is needed: a sequence's rows never see another sequence's rows,
 * which is exactly what HF's additive finfo.min mask achieves for padding.
 * Two ways to thread it over the pool, the same arithmetic:
 *  - fused row blocks (enough rows per thread): everything between two
 *    attentions is row-local, so each thread takes a block of rows through
 *    output projection, LayerNorm, FFN (64 rows at a time), LayerNorm and
 *    the next layer's Q|K|V with the single-threaded kernels: two pool
 *    barriers per layer;
 *  - op by op (few rows): each GEMM through the threaded drivers of
 *    kern.h, which split columns when rows are few, so the threads share
 *    the weight traffic; LayerNorm and GELU split by rows. Calls of fewer
 *    than SOLO_MAX_TOKENS tokens (one short line) skip the pool entirely.
 * Attention is always one pool job: an atomic counter hands out (sequence,
 * head) pairs, since sequence lengths differ.
 * Scratch is allocated once per lr__bert_scratch; per-thread attention
 * buffers grow only when a bigger pool is seen.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "kern.h"
#include "model.h"
#include "pool.h"
#include "util.h"

int lr__bert_bind(lr__bert *b, const lr__bert_config *cfg, const float *const *t, lr_error *err) {
    memset(b, 0, sizeof *b);
    int rc = lr__bert_config_check(cfg, err);
    if (rc) return rc;
    b->cfg = *cfg;
    b->layers = lr__calloc((size_t)cfg->n_layers, sizeof *b->layers);
    if (!b->layers) return lr__err(err, LR_ENOMEM, "out of memory binding the model");
    b->word_emb = t[0];
    b->pos_emb = t[1];
    b->type_emb = t[2];
    b->emb_ln_g = t[3];
    b->emb_ln_b = t[4];
    for (int l = 0; l < cfg->n_layers; l++) {
        const float *const *p = t + lr__bert_layer_tensor(l, 0);
        lr__bert_layer *L = &b->layers[l];
        L->q_w = p[LR_LT_QW], L->q_b = p[LR_LT_QB], L->k_w = p[LR_LT_KW], L->k_b = p[LR_LT_KB];
        L->v_w = p[LR_LT_VW], L->v_b = p[LR_LT_VB], L->ao_w = p[LR_LT_AOW], L->ao_b = p[LR_LT_AOB];
        L->ln1_g = p[LR_LT_LN1W], L->ln1_b = p[LR_LT_LN1B];
        L->ff1_w = p[LR_LT_FF1W], L->ff1_b = p[LR_LT_FF1B];
        L->ff2_w = p[LR_LT_FF2W], L->ff2_b = p[LR_LT_FF2B];
        L->ln2_g = p[LR_LT_LN2W], L->ln2_b = p[LR_LT_LN2B];
    }
    const float *const *p = t + lr__bert_head_tensor0(cfg);
    for (int s = 0; s < lr__head_desc_of(cfg->head)->n_stages; s++) {
        b->head_w[s] = p[2 * s];
        b->head_b[s] = p[2 * s + 1];
    }
    return LR_OK;
}

int lr__bert_bind_typed(lr__bert *b, const lr__bert_config *cfg, const float *const *t,
                        lr__wtype wt, const void *const *qt, const float *const *qs,
                        lr_error *err) {
    int rc = lr__bert_bind(b, cfg, t, err);
    if (rc || wt == LR_WTYPE_F32) return rc;
    static const int slot[6] = {LR_LT_QW, LR_LT_KW, LR_LT_VW, LR_LT_AOW, LR_LT_FF1W, LR_LT_FF2W};
    b->wtype = wt;
    for (int l = 0; l < cfg->n_layers; l++)
        for (int j = 0; j < 6; j++) {
            int i = lr__bert_layer_tensor(l, slot[j]);
            b->layers[l].lw[j] = qt[i];
            b->layers[l].ls[j] = qs ? qs[i] : NULL;
        }
    return LR_OK;
}

int lr__bert_qkv_bias(lr__bert_layer *L, int H, lr_error *err) {
    L->qkv_b = lr__alloc_array((size_t)3 * H, sizeof(float));
    if (!L->qkv_b) return lr__err(err, LR_ENOMEM, "out of memory packing the model");
    memcpy(L->qkv_b, L->q_b, (size_t)H * sizeof(float));
    memcpy(L->qkv_b + H, L->k_b, (size_t)H * sizeof(float));
    memcpy(L->qkv_b + 2 * H, L->v_b, (size_t)H * sizeof(float));
    return LR_OK;
}

void lr__bert_release(lr__bert *b) {
    if (!b) return;
    for (int l = 0; b->layers && l < b->cfg.n_layers; l++) lr__free(b->layers[l].qkv_b);
    lr__free(b->packs);
    lr__free(b->pack_mem);
    lr__free(b->layers);
    b->layers = NULL;
    b->packs = NULL;
    b->pack_mem = NULL;
}

/* All packed weights go into one block aligned to 2 MB and rounded up to
 * whole 2 MB pages: with transparent huge pages that is a handful of page
 * faults instead of ~3,000 (BERT-mini), which dominated load time. */
#define PACK_ALIGN ((size_t)2 << 20)

void *lr__bert_pack_block(lr__bert *b, size_t bytes) {
    size_t whole;
    if (!lr__add_ok(bytes, PACK_ALIGN - 1, &whole)) return NULL;
    whole &= ~(PACK_ALIGN - 1);
    size_t total;
    if (!lr__add_ok(whole, PACK_ALIGN, &total) || !(b->pack_mem = lr__malloc(total))) return NULL;
    void *dst = (void *)(((uintptr_t)b->pack_mem + PACK_ALIGN - 1) & ~(uintptr_t)(PACK_ALIGN - 1));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* advisory: ask for huge pages even where the system only gives them on request */
    (void)madvise(dst, whole, MADV_HUGEPAGE);
#endif
    return dst;
}

/* One weight to pack; the jobs are handed out from an atomic counter. */
typedef struct {
    int N, K;
    const float *src;
    float *dst;
} pack_job;

typedef struct {
    const lr__kern *k;
    const pack_job *jobs;
    int n;
    atomic_int next;
} pack_jobs;

static void pack_task(int ith, int nth, void *arg) {
    (void)ith;
    (void)nth;
    pack_jobs *pj = arg;
    for (int i; (i = atomic_fetch_add(&pj->next, 1)) < pj->n;)
        pj->k->pack_nt(pj->jobs[i].N, pj->jobs[i].K, pj->jobs[i].src, pj->jobs[i].K, pj->jobs[i].dst);
}

int lr__bert_pack(lr__bert *b, lr_pool *pool, lr_error *err) {
    if (b->wtype != LR_WTYPE_F32) return lr__bert_pack_lowp(b, NULL, err);
    const lr__kern *k = lr__kern_get();
    const int H = b->cfg.hidden, I = b->cfg.intermediate, nl = b->cfg.n_layers;
    const int dims[4][2] = {{3 * H, H}, {H, H}, {I, H}, {H, I}}; /* qkv, ao, ff1, ff2: N, K */
    size_t total = 0;
    for (int w = 0; w < 4; w++)
        total += (lr__packed_floats(k->nr, dims[w][0], dims[w][1]) + 15) / 16 * 16;
    size_t bytes;
    if (!lr__mul_ok(total, (size_t)nl * sizeof(float), &bytes))
        return lr__err(err, LR_ERANGE, "packed weights too large");
    float *dst = lr__bert_pack_block(b, bytes);
    b->packs = lr__calloc((size_t)nl * 6, sizeof *b->packs);
    /* When H is a multiple of the panel width, the packed [3H,H] Q|K|V is
     * packed Q, K and V back to back (panels never straddle two of them):
     * each is packed straight from the mapping. Else Q|K|V is copied into
     * one [3H,H] matrix first. */
    const int split = H % k->nr == 0;
    float *qkv = split ? NULL : lr__alloc_array((size_t)3 * H, (size_t)H * sizeof(float));
    pack_job *jobs = split ? lr__alloc_array((size_t)nl * 6, sizeof *jobs) : NULL;
    int n_jobs = 0;
    if (!dst || !b->packs || (!split && !qkv) || (split && !jobs)) {
        lr__free(qkv);
        lr__free(jobs);
        return lr__err(err, LR_ENOMEM, "out of memory packing the model");
    }
    for (int l = 0; l < nl; l++) {
        lr__bert_layer *L = &b->layers[l];
        size_t hh = (size_t)H * H;
        if (!split) {
            memcpy(qkv, L->q_w, hh * sizeof(float));
            memcpy(qkv + hh, L->k_w, hh * sizeof(float));
            memcpy(qkv + 2 * hh, L->v_w, hh * sizeof(float));
        }
        if (lr__bert_qkv_bias(L, H, err)) {
            lr__free(qkv);
            lr__free(jobs);
            return LR_ENOMEM;
        }
        const float *src[4] = {qkv, L->ao_w, L->ff1_w, L->ff2_w};
        struct lr__packed **slot[4] = {&L->qkv_p, &L->ao_p, &L->ff1_p, &L->ff2_p};
        for (int w = 0; w < 4; w++) {
            lr__packed *p = &b->packs[l * 6 + w];
            p->kern = k;
            p->N = dims[w][0];
            p->K = dims[w][1];
            p->data = dst;
            p->mem = NULL; /* owned by b->pack_mem */
            if (w == 0 && split) {
                jobs[n_jobs++] = (pack_job){H, H, L->q_w, dst};
                jobs[n_jobs++] = (pack_job){H, H, L->k_w, dst + hh};
                jobs[n_jobs++] = (pack_job){H, H, L->v_w, dst + 2 * hh};
            } else if (split) {
                jobs[n_jobs++] = (pack_job){p->N, p->K, src[w], dst};
            } else {
                k->pack_nt(p->N, p->K, src[w], p->K, dst);
            }
            dst += (lr__packed_floats(k->nr, p->N, p->K) + 15) / 16 * 16;
            *slot[w] = p;
        }
        if (H % k->nr == 0) { /* panels never straddle Q and K: views at a panel boundary */
            lr__packed *q = &b->packs[l * 6 + 4], *kv = &b->packs[l * 6 + 5];
            *q = *L->qkv_p;
            q->N = H;
            *kv = *L->qkv_p;
            kv->N = 2 * H;
            kv->data = L->qkv_p->data + (size_t)H * H;
            L->q_view = q;
            L->kv_view = kv;
        }
    }
    if (split) { /* over the pool, a weight per job */
        pack_jobs pj = {.k = k, .jobs = jobs, .n = n_jobs};
        atomic_init(&pj.next, 0);
        lr__pool_run(pool, pack_task, &pj);
    }
    lr__free(jobs);
    lr__free(qkv);
    return LR_OK;
}

/* Y = X W^T + bias (accumulating into Y when acc), from the packed weight
 * when there is one. */
static void linear(lr_pool *pool, int M, int N, int K, const float *X, int ldx,
                   const struct lr__packed *packed, const float *W, const float *bias, float *Y,
                   int ldy, int acc) {
    if (packed) lr__gemm_nt_packed(pool, M, X, ldx, packed, bias, Y, ldy, acc);
    else lr__gemm_nt(pool, M, N, K, X, ldx, W, K, bias, Y, ldy, acc);
}

/* --------------------------------------------------------------- scratch */

/* The FFN runs over at most this many rows at a time: its intermediate is
 * then 2 MB for BERT-mini instead of 16 MB for a 32 x 128 batch, and GEMMs
 * of 512 rows are as efficient as larger ones. */
#define FF_ROWS 512
/* The fused row-block path (see forward_fused) runs the FFN of a thread's
 * rows this many at a time (256 KB of intermediate for BERT-mini, in L2). */
#define FF_SUB 64
/* Fewer packed rows than this per thread: the op-by-op path, whose GEMM
 * drivers split columns, so two threads do not both stream every weight. */
#define FUSED_MIN_ROWS_PER_THREAD 48
/* Calls with fewer tokens than this do not use the pool (see forward). */
#define SOLO_MAX_TOKENS 64

struct lr__bert_scratch {
    lr__bert_config cfg;
    int max_tokens;
    int max_len;      /* longest sequence: min(max_tokens, max_positions) */
    float *x;         /* [T,H]   hidden states                */
    float *qkv;       /* [T,3H]  queries | keys | values       */
    float *ctx;       /* [T,H]   attention context             */
    float *ff;        /* [ff_rows,I] FFN intermediate, a chunk of rows at a time */
    int ff_rows;
    float *xc;        /* [T,H]   [CLS] rows of the last layer (n <= T) */
    float *head;      /* [T,lr__head_scratch_width] head activations */
    int32_t *tok_id;  /* [T]  id of each packed row            */
    int32_t *tok_pos; /* [T]  position of each packed row      */
    int *seq_start;   /* [T+1] first row of each sequence      */
    float *att;       /* att_slots * lr__attention_scratch_floats(max_len, H/A) */
    float *ff_thr;    /* att_slots * FF_SUB * I: per-thread FFN rows (fused path) */
    int att_slots;
};

static void scratch_free_bufs(lr__bert_scratch *s) {
    lr__free(s->x);
    lr__free(s->qkv);
    lr__free(s->ctx);
    lr__free(s->ff);
    lr__free(s->xc);
    lr__free(s->head);
    lr__free(s->tok_id);
    lr__free(s->tok_pos);
    lr__free(s->seq_start);
    lr__free(s->att);
    lr__free(s->ff_thr);
}

void lr__bert_scratch_free(lr__bert_scratch *s) {
    if (!s) return;
    scratch_free_bufs(s);
    lr__free(s);
}

int lr__bert_scratch_max_tokens(const lr__bert_scratch *s) { return s ? s->max_tokens : 0; }

static float *alloc_floats(size_t a, size_t b) { return lr__alloc_array(a, b * sizeof(float)); }

/* Make room for `slots` per-thread buffers (attention scores, FFN rows). */
static int scratch_att(lr__bert_scratch *s, int slots, lr_error *err) {
    if (slots <= s->att_slots) return LR_OK;
    /* attention: the fused kernel's scratch for the longest sequence */
    size_t per = lr__attention_scratch_floats(s->max_len, s->cfg.hidden / s->cfg.n_heads);
    size_t total, ff_total;
    if (!lr__mul_ok(per, (size_t)slots, &total) ||
        !lr__mul_ok((size_t)FF_SUB * (size_t)s->cfg.intermediate, (size_t)slots, &ff_total))
        return lr__err(err, LR_ENOMEM, "per-thread scratch too large");
    float *a = alloc_floats(total, 1), *f = alloc_floats(ff_total, 1);
    if (!a || !f) {
        lr__free(a);
        lr__free(f);
        return lr__err(err, LR_ENOMEM, "out of memory for per-thread scratch (%d threads)", slots);
    }
    lr__free(s->att);
    lr__free(s->ff_thr);
    s->att = a;
    s->ff_thr = f;
    s->att_slots = slots;
    return LR_OK;
}

lr__bert_scratch *lr__bert_scratch_new(const lr__bert_config *cfg, int max_tokens, lr_error *err) {
    if (lr__bert_config_check(cfg, err)) return NULL;
    if (max_tokens < 1 || max_tokens > (1 << 24)) {
        lr__err(err, LR_ERANGE, "max_tokens %d is outside [1, %d]", max_tokens, 1 << 24);
        return NULL;
    }
    lr__bert_scratch *s = lr__calloc(1, sizeof *s);
    if (!s) {
        lr__err(err, LR_ENOMEM, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->max_tokens = max_tokens;
    s->max_len = LR_MIN(max_tokens, cfg->max_positions);
    size_t T = (size_t)max_tokens, H = (size_t)cfg->hidden;
    size_t hh = lr__head_scratch_width(cfg);
    s->x = alloc_floats(T, H);
    s->qkv = alloc_floats(T, 3 * H);
    s->ctx = alloc_floats(T, H);
    s->ff_rows = LR_MIN(max_tokens, FF_ROWS);
    s->ff = alloc_floats((size_t)s->ff_rows, (size_t)cfg->intermediate);
    s->xc = alloc_floats(T, H);
    s->head = alloc_floats(T, hh);
    s->tok_id = lr__alloc_array(T, sizeof(int32_t));
    s->tok_pos = lr__alloc_array(T, sizeof(int32_t));
    s->seq_start = lr__alloc_array(T + 1, sizeof(int));
    if (!s->x || !s->qkv || !s->ctx || !s->ff || !s->xc || !s->head || !s->tok_id || !s->tok_pos ||
        !s->seq_start || scratch_att(s, 1, err)) {
        lr__bert_scratch_free(s);
        lr__err(err, LR_ENOMEM, "out of memory for activations of %d tokens", max_tokens);
        return NULL;
    }
    return s;
}

/* --------------------------------------------------------- parallel ops */

typedef struct {
    const lr__bert *b;
    lr__bert_scratch *s;
    int n_rows;
    float *x; /* rows to normalise / activate */
    const float *gamma, *beta;
    size_t row_len;
} rows_job;

static void embed_task(int ith, int nth, void *arg) {
    const rows_job *j = arg;
    const lr__bert *b = j->b;
    const lr__kern *k = lr__kern_get();
    const int H = b->cfg.hidden;
    int r0, r1;
    lr__split_range(j->n_rows, ith, nth, 4, &r0, &r1);
    for (int r = r0; r < r1; r++) {
        float *x = j->s->x + (size_t)r * H;
        const float *w = b->word_emb + (size_t)j->s->tok_id[r] * H;
        const float *t = b->type_emb;
        const float *p = b->pos_emb + (size_t)j->s->tok_pos[r] * H;
        for (int i = 0; i < H; i++) x[i] = (w[i] + t[i]) + p[i];
        k->layernorm(x, b->emb_ln_g, b->emb_ln_b, H, b->cfg.ln_eps);
    }
}

static void layernorm_task(int ith, int nth, void *arg) {
    const rows_job *j = arg;
    const lr__kern *k = lr__kern_get();
    int r0, r1;
    lr__split_range(j->n_rows, ith, nth, 4, &r0, &r1);
    for (int r = r0; r < r1; r++)
        k->layernorm(j->x + (size_t)r * j->row_len, j->gamma, j->beta, (int)j->row_len,
                     j->b->cfg.ln_eps);
}

static void gelu_task(int ith, int nth, void *arg) {
    const rows_job *j = arg;
    int r0, r1;
    lr__split_range(j->n_rows, ith, nth, 4, &r0, &r1);
    if (r1 > r0) lr__kern_get()->gelu(j->x + (size_t)r0 * j->row_len, (size_t)(r1 - r0) * j->row_len);
}

static void run_rows(lr_pool *pool, lr__task_fn fn, rows_job *j) {
    /* Small jobs are not worth waking the workers for. */
    if ((size_t)j->n_rows * j->row_len < 8192) fn(0, 1, j);
    else lr__pool_run(pool, fn, j);
}

typedef struct {
    const lr__bert_scratch *s;
    int n_seq, n_heads, head_dim, hidden;
    const float *q;  /* query rows: q + row*ldq + h*d      */
    int ldq;
    int cls_only;    /* 1: only each sequence's first query row, its
                        context written to out row = sequence index */
    int q_by_seq;    /* 1: that query is row `sequence index` of q */
    float *out;      /* context rows, ld = hidden          */
    float scale;
    atomic_int next;
} att_job;

static void attention_task(int ith, int nth, void *arg) {
    att_job *j = arg;
    (void)nth;
    const lr__kern *k = lr__kern_get();
    const lr__bert_scratch *s = j->s;
    const int d = j->head_dim, H3 = 3 * j->hidden;
    float *scratch =
        s->att + (size_t)ith * lr__attention_scratch_floats(s->max_len, j->head_dim);
    const int total = j->n_seq * j->n_heads;
    for (;;) {
        int task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= total) break;
        int seq = task / j->n_heads, h = task % j->n_heads;
        int r0 = s->seq_start[seq], L = s->seq_start[seq + 1] - r0;
        int n_q = j->cls_only ? 1 : L, out_row = j->cls_only ? seq : r0;
        const float *Q = j->q + (size_t)(j->q_by_seq ? seq : r0) * j->ldq + (size_t)h * d;
        const float *K = s->qkv + (size_t)r0 * H3 + j->hidden + (size_t)h * d;
        const float *V = s->qkv + (size_t)r0 * H3 + 2 * j->hidden + (size_t)h * d;
        float *out = j->out + (size_t)out_row * j->hidden + (size_t)h * d;
        /* out[n_q, d] = softmax(Q K^T * scale) V, fused (kern.h) */
        k->attention(n_q, L, d, Q, j->ldq, K, H3, V, H3, out, j->hidden, j->scale, scratch);
    }
}

static void run_attention(lr_pool *pool, att_job *j) {
    atomic_init(&j->next, 0);
    if (j->n_seq * j->n_heads == 1) attention_task(0, 1, j);
    else lr__pool_run(pool, attention_task, j);
}

/* ------------------------------------------------- fused row blocks */

/* Everything between two attentions is row-local: the output projection,
 * residual, LayerNorm, FFN, LayerNorm and the next layer's Q|K|V of a row
 * need only that row. The fused path gives each thread a contiguous block
 * of rows and runs all of that on it with the single-threaded kernels, so a
 * layer costs two pool barriers (attention, row block) instead of eight,
 * and a row's activations stay in the thread's cache from one op to the
 * next. Used when every thread gets enough rows (else the op-by-op path's
 * column-split GEMMs share the weight traffic better). */

/* Y[m, N] (+)= X W^T + bias on this thread, packed weight if there is one. */
static void gemm_here(int m, int N, int K, const float *X, int ldx,
                      const struct lr__packed *packed, const float *W, const float *bias, float *Y,
                      int ldy, int acc) {
    if (packed) lr__packed_gemm_here(packed, 0, N, m, X, ldx, bias, Y, ldy, acc, 0);
    else lr__kern_get()->gemm_nt(m, N, K, X, ldx, W, K, bias, Y, ldy, acc);
}

static void qkv_here(const lr__bert_layer *L, int H, const float *x, int m, float *qkv) {
    if (L->qkv_p) {
        gemm_here(m, 3 * H, H, x, H, L->qkv_p, NULL, L->qkv_b, qkv, 3 * H, 0);
    } else {
        gemm_here(m, H, H, x, H, NULL, L->q_w, L->q_b, qkv, 3 * H, 0);
        gemm_here(m, H, H, x, H, NULL, L->k_w, L->k_b, qkv + H, 3 * H, 0);
        gemm_here(m, H, H, x, H, NULL, L->v_w, L->v_b, qkv + 2 * H, 3 * H, 0);
    }
}

typedef struct {
    const lr__bert *b;
    lr__bert_scratch *s;
    int layer;     /* output block of this layer on ctx, or -1: embeddings */
    int next;      /* Q|K|V of this layer follow on the same rows, or -1 */
    float *x;      /* the rows: s->x (all tokens) or s->xc ([CLS] rows) */
    int n_rows;
} block_job;

static void block_task(int ith, int nth, void *arg) {
    const block_job *j = arg;
    const lr__bert *b = j->b;
    lr__bert_scratch *s = j->s;
    const lr__kern *k = lr__kern_get();
    const int H = b->cfg.hidden, I = b->cfg.intermediate;
    const float eps = b->cfg.ln_eps;
    int r0, r1;
    lr__split_range(j->n_rows, ith, nth, 6, &r0, &r1);
    if (r0 >= r1) return;
    const int m = r1 - r0;
    float *x = j->x + (size_t)r0 * H;
    if (j->layer < 0) {
        for (int r = r0; r < r1; r++) {
            float *xr = j->x + (size_t)r * H;
            const float *w = b->word_emb + (size_t)s->tok_id[r] * H;
            const float *t = b->type_emb;
            const float *p = b->pos_emb + (size_t)s->tok_pos[r] * H;
            for (int i = 0; i < H; i++) xr[i] = (w[i] + t[i]) + p[i];
            k->layernorm(xr, b->emb_ln_g, b->emb_ln_b, H, eps);
        }
    } else {
        const lr__bert_layer *L = &b->layers[j->layer];
        float *ff = s->ff_thr + (size_t)ith * FF_SUB * I;
        gemm_here(m, H, H, s->ctx + (size_t)r0 * H, H, L->ao_p, L->ao_w, L->ao_b, x, H, 1);
        for (int r = 0; r < m; r++) k->layernorm(x + (size_t)r * H, L->ln1_g, L->ln1_b, H, eps);
        for (int c = 0; c < m; c += FF_SUB) {
            int mc = LR_MIN(FF_SUB, m - c);
            float *xc = x + (size_t)c * H;
            /* first Linear and erf GELU fused: ff is written once, not re-read */
            if (L->ff1_p)
                lr__packed_gemm_here(L->ff1_p, 0, I, mc, xc, H, L->ff1_b, ff, I, 0, 1);
            else
                k->gemm_nt_gelu(mc, I, H, xc, H, L->ff1_w, H, 0, L->ff1_b, ff, I);
            gemm_here(mc, H, I, ff, I, L->ff2_p, L->ff2_w, L->ff2_b, xc, H, 1);
            for (int r = 0; r < mc; r++)
                k->layernorm(xc + (size_t)r * H, L->ln2_g, L->ln2_b, H, eps);
        }
    }
    if (j->next >= 0) {
        const lr__bert_layer *N = &b->layers[j->next];
        float *qkv = s->qkv + (size_t)r0 * 3 * H;
        if (j->next == b->cfg.n_layers - 1 && N->kv_view) /* last layer: keys and values only */
            gemm_here(m, 2 * H, H, x, H, N->kv_view, NULL, N->qkv_b + H, qkv + H, 3 * H, 0);
        else
            qkv_here(N, H, x, m, qkv);
    }
}

/* The last layer's queries, for the n [CLS] rows gathered in xc, into
 * q[n,H] (when its Q|K|V weight has a Q view; see lr__bert_pack). */
static void cls_queries(const lr__bert *b, lr__bert_scratch *s, lr_pool *pool, int n, float *q) {
    const lr__bert_layer *L = &b->layers[b->cfg.n_layers - 1];
    lr__gemm_nt_packed(pool, n, s->xc, b->cfg.hidden, L->q_view, L->qkv_b, q, b->cfg.hidden, 0);
}

/* --------------------------------------------------------------- forward */

static int prepare_rows(const lr__bert *b, lr__bert_scratch *s, const int32_t *const *ids,
                        const int *lens, int n, int *n_tokens, lr_error *err) {
    const lr__bert_config *c = &b->cfg;
    if (n < 1) return lr__err(err, LR_EINVAL, "forward: no sequences");
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (lens[i] < 1 || !ids[i])
            return lr__err(err, LR_ERANGE, "forward: sequence %d is empty", i);
        if (lens[i] > c->max_positions)
            return lr__err(err, LR_ERANGE,
                           "forward: sequence %d has %d tokens, more than the model's %d positions",
                           i, lens[i], c->max_positions);
        total += (size_t)lens[i];
        if (total > (size_t)s->max_tokens)
            return lr__err(err, LR_ERANGE, "forward: more than %d tokens in one call",
                           s->max_tokens);
    }
    int row = 0;
    for (int i = 0; i < n; i++) {
        s->seq_start[i] = row;
        for (int p = 0; p < lens[i]; p++, row++) {
            int32_t id = ids[i][p];
            if (id < 0 || id >= c->vocab_size)
                return lr__err(err, LR_EINVAL,
                               "forward: token id %d at sequence %d position %d is outside the "
                               "vocabulary [0, %d)",
                               (int)id, i, p, c->vocab_size);
            s->tok_id[row] = id;
            s->tok_pos[row] = p;
        }
    }
    s->seq_start[n] = row;
    *n_tokens = row;
    return LR_OK;
}

/* The fused path: embeddings + Q|K|V of layer 0 as one row block, then
 * per layer attention and one row block (output, FFN, next Q|K|V); the
 * last layer's row block runs on the gathered [CLS] rows only. */
static void forward_fused(const lr__bert *b, lr__bert_scratch *s, lr_pool *pool, int n, int T,
                          float scale) {
    const lr__bert_config *c = &b->cfg;
    const int H = c->hidden;
    block_job bj = {.b = b, .s = s, .layer = -1, .next = 0, .x = s->x, .n_rows = T};
    lr__pool_run(pool, block_task, &bj);
    for (int l = 0; l < c->n_layers; l++) {
        const int last = l == c->n_layers - 1;
        att_job aj = {.s = s, .n_seq = n, .n_heads = c->n_heads, .head_dim = H / c->n_heads,
                      .hidden = H, .scale = scale, .q = s->qkv, .ldq = 3 * H, .out = s->ctx,
                      .cls_only = last};
        if (last) {
            /* from here on the [CLS] rows only: gathered into xc */
            for (int i = 0; i < n; i++)
                memcpy(s->xc + (size_t)i * H, s->x + (size_t)s->seq_start[i] * H,
                       (size_t)H * sizeof(float));
            if (b->layers[l].kv_view) { /* the block before computed K|V only */
                cls_queries(b, s, pool, n, s->head);
                aj.q = s->head;
                aj.ldq = H;
                aj.q_by_seq = 1;
            }
        }
        run_attention(pool, &aj);
        bj.layer = l;
        bj.next = last ? -1 : l + 1;
        if (last) {
            bj.x = s->xc;
            bj.n_rows = n;
        }
        if (bj.n_rows < FUSED_MIN_ROWS_PER_THREAD) block_task(0, 1, &bj);
        else lr__pool_run(pool, block_task, &bj);
    }
}

int lr__bert_forward(const lr__bert *b, lr__bert_scratch *s, lr_pool *pool,
                     const int32_t *const *ids, const int *lens, int n, float *cls_out,
                     float *logits, lr_error *err) {
    const lr__bert_config *c = &b->cfg;
    if (s->cfg.hidden != c->hidden || s->cfg.intermediate != c->intermediate ||
        s->cfg.max_positions != c->max_positions || s->cfg.head_hidden != c->head_hidden ||
        s->cfg.head != c->head)
        return lr__err(err, LR_EINVAL, "forward: scratch was made for another model");
    if (b->wtype != LR_WTYPE_F32 && !b->packs)
        return lr__err(err, LR_EINVAL, "forward: a %s model must be packed first",
                       b->wtype == LR_WTYPE_Q8 ? "q8" : "bf16");
    int T = 0;
    int rc = prepare_rows(b, s, ids, lens, n, &T, err);
    if (rc) return rc;
    if ((rc = scratch_att(s, lr_pool_size(pool), err))) return rc;

    const int H = c->hidden, I = c->intermediate, A = c->n_heads, H3 = 3 * H;
    const float scale = 1.0f / sqrtf((float)(H / A));
    /* A short call runs on the calling thread alone: waking a worker costs
     * more than it saves, and a worker that another process holds off its
     * core stalls every barrier (measured here with the other core busy:
     * one 24-token line 0.8-0.9 ms alone, 3.5-13 ms through the pool). */
    if (T < SOLO_MAX_TOKENS) pool = NULL;
    const int nth = lr_pool_size(pool);
    if (T >= FUSED_MIN_ROWS_PER_THREAD * nth) {
        forward_fused(b, s, pool, n, T, scale);
        goto head;
    }
    rows_job rj = {.b = b, .s = s, .n_rows = T, .row_len = (size_t)H};
    run_rows(pool, embed_task, &rj);

    for (int l = 0; l < c->n_layers; l++) {
        const lr__bert_layer *L = &b->layers[l];
        const int last = l == c->n_layers - 1;
        /* qkv[T,3H] = x [Wq|Wk|Wv]^T + [bq|bk|bv]; in the last layer K|V
         * for every row but Q for the [CLS] rows only (when there are views) */
        const int cls_q = last && L->kv_view;
        if (cls_q) {
            lr__gemm_nt_packed(pool, T, s->x, H, L->kv_view, L->qkv_b + H, s->qkv + H, H3, 0);
        } else if (L->qkv_p) {
            lr__gemm_nt_packed(pool, T, s->x, H, L->qkv_p, L->qkv_b, s->qkv, H3, 0);
        } else {
            lr__gemm_nt(pool, T, H, H, s->x, H, L->q_w, H, L->q_b, s->qkv, H3, 0);
            lr__gemm_nt(pool, T, H, H, s->x, H, L->k_w, H, L->k_b, s->qkv + H, H3, 0);
            lr__gemm_nt(pool, T, H, H, s->x, H, L->v_w, H, L->v_b, s->qkv + 2 * H, H3, 0);
        }
        att_job aj = {.s = s, .n_seq = n, .n_heads = A, .head_dim = H / A, .hidden = H,
                      .scale = scale, .q = s->qkv, .ldq = H3, .out = s->ctx};
        float *x; /* the rows this layer carries on with */
        int rows;
        if (!last) {
            x = s->x;
            rows = T;
        } else {
            /* [CLS] rows only from here on: their residual rows gathered
             * into xc, their context rows written to ctx[0..n). */
            for (int i = 0; i < n; i++)
                memcpy(s->xc + (size_t)i * H, s->x + (size_t)s->seq_start[i] * H,
                       (size_t)H * sizeof(float));
            aj.cls_only = 1;
            if (cls_q) {
                cls_queries(b, s, pool, n, s->head);
                aj.q = s->head;
                aj.ldq = H;
                aj.q_by_seq = 1;
            }
            x = s->xc;
            rows = n;
        }
        run_attention(pool, &aj);
        /* x = LN(x + ctx Wo^T + bo) */
        linear(pool, rows, H, H, s->ctx, H, L->ao_p, L->ao_w, L->ao_b, x, H, 1);
        rows_job ln = {.b = b, .s = s, .n_rows = rows, .x = x, .gamma = L->ln1_g,
                       .beta = L->ln1_b, .row_len = (size_t)H};
        run_rows(pool, layernorm_task, &ln);
        /* x = LN(x + gelu(x W1^T + b1) W2^T + b2), FF_ROWS rows at a time so
         * the [rows, I] intermediate stays small (memory and cache) */
        for (int r0 = 0; r0 < rows; r0 += s->ff_rows) {
            int m = LR_MIN(s->ff_rows, rows - r0);
            float *xr = x + (size_t)r0 * H;
            linear(pool, m, I, H, xr, H, L->ff1_p, L->ff1_w, L->ff1_b, s->ff, I, 0);
            rows_job gj = {.b = b, .s = s, .n_rows = m, .x = s->ff, .row_len = (size_t)I};
            run_rows(pool, gelu_task, &gj);
            linear(pool, m, H, I, s->ff, I, L->ff2_p, L->ff2_w, L->ff2_b, xr, H, 1);
        }
        ln.gamma = L->ln2_g;
        ln.beta = L->ln2_b;
        run_rows(pool, layernorm_task, &ln);
    }

head:
    /* s->xc holds the final [CLS] rows [n,H]. */
    if (cls_out) memcpy(cls_out, s->xc, (size_t)n * H * sizeof(float));
    if (!logits) return LR_OK;
    /* the head's stages (arch.h): Linear then activation, the last into
     * logits; hidden stages alternate between the two halves of s->head */
    const lr__head_desc *hd = lr__head_desc_of(c->head);
    const size_t half = lr__head_scratch_width(c) / 2;
    const float *feat = s->xc;
    int feat_dim = H;
    for (int st = 0; st < hd->n_stages; st++) {
        const lr__head_stage *S = &hd->stage[st];
        const int out = (int)lr__bert_dim(c, S->out), last = st == hd->n_stages - 1;
        float *y = last ? logits : s->head + (st % 2) * (size_t)n * half;
        lr__gemm_nt(pool, n, out, feat_dim, feat, feat_dim, b->head_w[st], feat_dim, b->head_b[st],
                    y, out, 0);
        if (!last) lr__act_apply(S->act, y, (size_t)n * out);
        feat = y;
        feat_dim = out;
    }
    return LR_OK;
}

void lr__head_outputs(const float *logits, int n_labels, float *probs, float *score, int *label) {
    double max = logits[0];
    int arg = 0;
    for (int i = 1; i < n_labels; i++)
        if (logits[i] > max) {
            max = logits[i];
            arg = i;
        }
    double sum = 0.0;
    for (int i = 0; i < n_labels; i++) sum += exp((double)logits[i] - max);
    /* the median of the distribution with class i spread evenly over
     * [i - 0.5, i + 0.5]: the point where the cumulative probability
     * reaches 1/2, clamped to [0, C - 1] */
    double cum = 0.0, median = n_labels - 1;
    int found = 0;
    for (int i = 0; i < n_labels; i++) {
        double p = exp((double)logits[i] - max) / sum;
        if (probs) probs[i] = (float)p;
        if (!found && p > 0.0 && cum + p >= 0.5) {
            median = i - 0.5 + (0.5 - cum) / p;
            found = 1;
        }
        cum += p;
    }
    if (median < 0.0) median = 0.0;
    if (median > n_labels - 1) median = n_labels - 1;
    if (score) *score = (float)median;
    if (label) *label = arg;
}
