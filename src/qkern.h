/*
 * qkern.h — GEMM kernels for low-precision weights: int8 (q8) and bf16.
 *
 * Inference with a quantized model (`logrisk quantize`) runs its encoder
 * Linear layers through these; everything else (attention, LayerNorm,
 * GELU, embeddings, head) stays fp32 in kern.h. The tables mirror kern.h's:
 * a plain-C reference (qkern_ref.c) that defines what is correct, SIMD
 * tables (qkern_avx2.c, qkern_avxvnni.c, qkern_avx512.c, qkern_neon.c, each
 * compiled with its own target flags), and lr__qkern_get() picks one once
 * from CPUID + XGETBV (HWCAP on arm64), honouring LOGRISK_ISA.
 *
 * ---- int8: Y[m,n] (+)= sa[m] * ws[n] * sum_k qa[m,k] * W[n,k] + bias[n]
 *
 * Weights are symmetric int8 per output channel (ws[n], W in [-127, 127]:
 * never -128, which the AVX2 sign trick could not negate),
 * made by lr__q8_quantize_weight (quant.c). Activations are quantized per
 * row inside the GEMM, dynamically, by exactly this rule (every table must
 * give the same qa and sa bit for bit, so the int32 sums agree exactly):
 *
 *     amax  = max_k |x[m,k]|                         (float)
 *     amax == 0 (or not > 0):  sa = 0, qa[k] = 0
 *     else:  inv = 127.0f / amax                     (one float division)
 *            qa[k] = clamp(round_half_even(x[k] * inv), -127, 127)
 *                                                    (one float multiply)
 *            sa = amax / 127.0f
 *
 * and the output is y = (float)acc * (sa * ws[n]) + bias[n] (fused or not:
 * tables may differ there by an ulp). The int32 sum cannot overflow for
 * K <= 65536 (127 * 255 * 65536 < 2^31) even in the unsigned form below.
 *
 * x86 VNNI (vpdpbusd) multiplies unsigned by signed bytes, so those tables
 * feed qa + 128 (1..255 in u8) and subtract 128 * wsum[n], wsum[n] =
 * sum_k W[n,k], computed once when packing. AVX2 (vpmaddubsw) and NEON
 * (sdot) use signed activations directly (AVX2: |qa| times W with qa's
 * sign, so the pairs never saturate int16) and ignore wsum.
 *
 * Packed int8 layout (pack_q8): Kp = K rounded up to a multiple of 4;
 * ceil(N/nr) panels of nr * Kp bytes; panel p holds
 *     dst[p*nr*Kp + (k/4)*nr*4 + j*4 + k%4] = W[p*nr + j, k]
 * (0 past N or K): the four bytes one 32-bit lane of a dot-product
 * instruction takes. The reference has nr = 1 (row-major, rows padded to Kp).
 *
 * ---- bf16: Y[m,n] (+)= sum_k bf16(x[m,k]) * W[n,k] + bias[n]
 *
 * W is bfloat16 (the top half of a float: lr__bf16_from_f32 below, round to
 * nearest even, subnormals flushed to zero as vcvtne2ps2bf16 does); activations are rounded to bf16 the same
 * way inside the GEMM; products and sums are fp32 (summation order is the
 * table's own, so tables agree to rounding). Packed bf16 layout (pack_bf16):
 * Kp = K rounded up to a multiple of 2; panel p holds
 *     dst[p*nr*Kp + (k/2)*nr*2 + j*2 + k%2] = W[p*nr + j, k]
 * (vdpbf16ps pairs). A table without a bf16 instruction has bf16_nr = 0:
 * the model then widens bf16 weights to fp32 once at load and uses kern.h
 * (exact: every bf16 is a float).
 *
 * Both GEMMs: X is fp32 [M,K] with row stride ldx, Y fp32 [M,N] with row
 * stride ldy, bias [N] or NULL, accumulate 1 adds the result to Y (else Y is
 * overwritten). Wp may point at any panel boundary to compute the columns
 * from there on (wscale, wsum and bias offset to match by the caller). The
 * kernels keep their scratch on the stack (at most ~80 KB: pool workers
 * get LR_POOL_MIN_STACK) and never allocate.
 */
#ifndef LR_QKERN_H
#define LR_QKERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The type of a Linear weight in a model file and in memory. */
typedef enum lr__wtype { LR_WTYPE_F32 = 0, LR_WTYPE_Q8 = 1, LR_WTYPE_BF16 = 2 } lr__wtype;

/* The largest K the int8 GEMMs take (a quantized row lives on the stack;
 * the model's sizes are bounded far below: LR_BERT_MAX_INTERMEDIATE). */
#define LR_Q8_MAX_K 65536

typedef struct lr__qkern {
    const char *name; /* "ref", "avx2", "avxvnni", "avx512vnni", "avx512bf16", "neon", "neondot" */

    int q8_nr; /* int8 panel width (1 for ref) */
    /* Pack W [N,K] int8 (row stride ldw) as above into dst
     * (lr__q8_packed_bytes(nr, N, K) bytes) and write wsum[n] = sum_k W[n,k]. */
    void (*pack_q8)(int N, int K, const int8_t *W, int ldw, int8_t *dst, int32_t *wsum);
    void (*gemm_q8)(int M, int N, int K, const float *X, int ldx, const int8_t *Wp,
                    const float *wscale, const int32_t *wsum, const float *bias, float *Y,
                    int ldy, int accumulate);

    int bf16_nr; /* bf16 panel width (1 for ref); 0: no bf16 kernel here */
    /* Pack W [N,K] bf16 (row stride ldw) into dst (lr__bf16_packed_elems). */
    void (*pack_bf16)(int N, int K, const uint16_t *W, int ldw, uint16_t *dst);
    void (*gemm_bf16)(int M, int N, int K, const float *X, int ldx, const uint16_t *Wp,
                      const float *bias, float *Y, int ldy, int accumulate);
} lr__qkern;

/* The table for this CPU: LOGRISK_ISA=ref gives ref, =avx2 the AVX2 table,
 * =avxvnni the AVX-VNNI table, =avx512 the best AVX-512 one, =neon the
 * NEON one; a table the CPU cannot run falls back as kern.h's do. Never NULL. */
const lr__qkern *lr__qkern_get(void);
const lr__qkern *lr__qkern_choose(const char *force);
/* A table by name if this build has it and this CPU runs it, else NULL. */
const lr__qkern *lr__qkern_by_name(const char *name);
/* The i-th table name this build knows (best first, "ref" last), NULL
 * past the end: tests loop over it with lr__qkern_by_name. */
const char *lr__qkern_name(int i);

extern const lr__qkern lr__qkern_ref;

/* float -> bfloat16: round to nearest even; a subnormal (exponent 0) gives
 * a zero of its sign, as the AVX-512 BF16 conversions do; NaN stays NaN. */
static inline uint16_t lr__bf16_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float lr__f32_from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The activation rule's scales of a row whose max |x| is amax: inv =
 * 127 / amax (one division) and sa = amax / 127, or both 0 when amax is not
 * > 0. Every table uses this, so all agree bit for bit. */
static inline void lr__q8_row_scales(float amax, float *inv, float *sa) {
    if (amax > 0.0f) {
        *inv = 127.0f / amax;
        *sa = amax / 127.0f;
    } else {
        *inv = 0.0f;
        *sa = 0.0f;
    }
}

/* A rounded value clamped to [-127, 127] as int8; NaN (from a NaN input)
 * gives 0 rather than an undefined conversion. */
static inline int8_t lr__q8_clamp(float v) {
    if (v > 127.0f) return 127;
    if (v < -127.0f) return -127;
    return v == v ? (int8_t)v : 0;
}

/* Bytes of a packed int8 weight / elements of a packed bf16 weight. */
size_t lr__q8_packed_bytes(int nr, int N, int K);
size_t lr__bf16_packed_elems(int nr, int N, int K);

/* The packed layouts above for any panel width nr (the tables' pack_q8 /
 * pack_bf16 call these with their own nr): W [N,K] with row stride ldw
 * into dst, zeros past N and K; pack_q8 also writes wsum[n]. */
void lr__q8_pack_panels(int nr, int N, int K, const int8_t *W, int ldw, int8_t *dst,
                        int32_t *wsum);
void lr__bf16_pack_panels(int nr, int N, int K, const uint16_t *W, int ldw, uint16_t *dst);

/* The activation rule above, for one row: qa[0..K) and *sa. (The reference
 * uses it; SIMD tables must match it bit for bit.) */
void lr__q8_quantize_row(const float *x, int K, int8_t *qa, float *sa);

#endif /* LR_QKERN_H */
