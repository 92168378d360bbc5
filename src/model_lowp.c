/*
 * model_lowp.c — packing the encoder of a q8 or bf16 model (wtype.h) for
 * the low-precision kernels (qkern.h).
 *
 * The same shape as lr__bert_pack's f32 packing: per layer four packed
 * weights (Q|K|V fused into [3H,H], attention output, FFN in, FFN out) in
 * one block, and views of Q|K|V's Q and K|V columns when H is a multiple of
 * the panel width, so the forward pass needs nothing new but the packed
 * weights' type. For q8 the block also holds each weight's scales and the
 * row sums the VNNI kernels subtract (qkern.h), Q|K|V's concatenated.
 * Packing BERT-mini's int8 weights copies 2.6 MB.
 */
#include <string.h>

#include "kern.h"
#include "model.h"
#include "qkern.h"
#include "util.h"

/* Bytes of one packed weight of type wt, rounded up to 64. */
static size_t packed_bytes(lr__wtype wt, int nr, int N, int K) {
    size_t n = wt == LR_WTYPE_Q8 ? lr__q8_packed_bytes(nr, N, K)
                                 : lr__bf16_packed_elems(nr, N, K) * sizeof(uint16_t);
    return (n + 63) / 64 * 64;
}

/* Bytes of H packed rows of K = H: the offset of K's (and V's) panels in
 * a packed Q|K|V when H is a multiple of the panel width. */
static size_t rows_bytes(lr__wtype wt, int H) {
    return wt == LR_WTYPE_Q8 ? (size_t)H * (size_t)((H + 3) / 4 * 4)
                             : (size_t)H * (size_t)((H + 1) / 2 * 2) * sizeof(uint16_t);
}

/* Pack rows [N,K] of type wt (row stride K) into dst; q8 also writes the
 * row sums. */
static void pack_one(const lr__qkern *qk, lr__wtype wt, int N, int K, const void *src, void *dst,
                     int32_t *wsum) {
    if (wt == LR_WTYPE_Q8) qk->pack_q8(N, K, src, K, dst, wsum);
    else qk->pack_bf16(N, K, src, K, dst);
}

int lr__bert_pack_lowp(lr__bert *b, const lr__qkern *qk, lr_error *err) {
    if (!qk) qk = lr__qkern_get();
    const lr__kern *k = lr__kern_get();
    const lr__wtype wt = b->wtype;
    const int nr = wt == LR_WTYPE_Q8 ? qk->q8_nr : qk->bf16_nr;
    if (nr < 1)
        return lr__err(err, LR_EUNSUPPORTED, "the %s kernels have no bf16 GEMM", qk->name);
    const int H = b->cfg.hidden, I = b->cfg.intermediate, nl = b->cfg.n_layers;
    const int dims[4][2] = {{3 * H, H}, {H, H}, {I, H}, {H, I}}; /* qkv, ao, ff1, ff2: N, K */
    const size_t esize = wt == LR_WTYPE_Q8 ? 1 : sizeof(uint16_t);
    /* per layer: four packed weights, then (q8) scales and sums of 5H + I rows */
    size_t layer_bytes = 0;
    for (int w = 0; w < 4; w++) layer_bytes += packed_bytes(wt, nr, dims[w][0], dims[w][1]);
    const size_t rows = (size_t)5 * H + (size_t)I;
    const size_t side = wt == LR_WTYPE_Q8 ? (rows * (sizeof(float) + sizeof(int32_t)) + 63) / 64 * 64 : 0;
    layer_bytes += side;
    size_t bytes;
    if (!lr__mul_ok(layer_bytes, (size_t)nl, &bytes))
        return lr__err(err, LR_ERANGE, "packed weights too large");
    /* Q|K|V is packed from one [3H,H] copy when panels would straddle Q
     * and K (H not a multiple of nr), else straight from the three tensors */
    const int split = H % nr == 0;
    void *qkv = split ? NULL : lr__alloc_array((size_t)3 * H, (size_t)H * esize);
    uint8_t *dst = lr__bert_pack_block(b, bytes);
    b->packs = lr__calloc((size_t)nl * 6, sizeof *b->packs);
    if (!dst || !b->packs || (!split && !qkv)) {
        lr__free(qkv);
        return lr__err(err, LR_ENOMEM, "out of memory packing the model");
    }
    const size_t hh = (size_t)H * H;
    for (int l = 0; l < nl; l++) {
        lr__bert_layer *L = &b->layers[l];
        if (lr__bert_qkv_bias(L, H, err)) {
            lr__free(qkv);
            return LR_ENOMEM;
        }
        float *scale = NULL;
        int32_t *sum = NULL;
        if (wt == LR_WTYPE_Q8) {
            scale = (float *)(dst + layer_bytes - side);
            sum = (int32_t *)(scale + rows);
            memcpy(scale, L->ls[0], (size_t)H * sizeof *scale);
            memcpy(scale + H, L->ls[1], (size_t)H * sizeof *scale);
            memcpy(scale + 2 * H, L->ls[2], (size_t)H * sizeof *scale);
            memcpy(scale + 3 * H, L->ls[3], (size_t)H * sizeof *scale);
            memcpy(scale + 4 * H, L->ls[4], (size_t)I * sizeof *scale);
            memcpy(scale + 4 * H + I, L->ls[5], (size_t)H * sizeof *scale);
        }
        /* rows of each packed weight in the scale / sum arrays */
        const size_t first_row[4] = {0, (size_t)3 * H, (size_t)4 * H, (size_t)4 * H + I};
        const void *src[4] = {qkv, L->lw[3], L->lw[4], L->lw[5]};
        struct lr__packed **slot[4] = {&L->qkv_p, &L->ao_p, &L->ff1_p, &L->ff2_p};
        for (int w = 0; w < 4; w++) {
            lr__packed *p = &b->packs[l * 6 + w];
            *p = (lr__packed){.kern = k, .N = dims[w][0], .K = dims[w][1], .wtype = wt, .qk = qk,
                              .qdata = dst};
            int32_t *ws = sum ? sum + first_row[w] : NULL;
            if (scale) {
                p->wscale = scale + first_row[w];
                p->wsum = ws;
            }
            if (w == 0 && split) {
                /* Q, K, V back to back: panel offsets H*Kp apart */
                for (int j = 0; j < 3; j++)
                    pack_one(qk, wt, H, H, L->lw[j], dst + j * rows_bytes(wt, H),
                             ws ? ws + (size_t)j * H : NULL);
            } else {
                if (w == 0)
                    for (int j = 0; j < 3; j++)
                        memcpy((uint8_t *)qkv + j * hh * esize, L->lw[j], hh * esize);
                pack_one(qk, wt, p->N, p->K, src[w], dst, ws);
            }
            dst += packed_bytes(wt, nr, p->N, p->K);
            *slot[w] = p;
        }
        dst += side;
        if (split) { /* views at a panel boundary: Q, and K|V */
            lr__packed *q = &b->packs[l * 6 + 4], *kv = &b->packs[l * 6 + 5];
            *q = *L->qkv_p;
            q->N = H;
            *kv = *L->qkv_p;
            kv->N = 2 * H;
            kv->qdata = (const uint8_t *)L->qkv_p->qdata + rows_bytes(wt, H);
            if (scale) {
                kv->wscale = L->qkv_p->wscale + H;
                kv->wsum = L->qkv_p->wsum + H;
            }
            L->q_view = q;
            L->kv_view = kv;
        }
    }
    lr__free(qkv);
    return LR_OK;
}
