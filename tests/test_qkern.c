/* Tests of the low-precision kernels (qkern.h): the reference's own
 * contract (the activation rounding rule, bf16 rounding, int8 and bf16
 * products close to the fp32 product they approximate), then every other
 * table this build and CPU have against the reference on odd sizes, wide
 * leading dimensions, bias, accumulate, column offsets at panel boundaries
 * and BERT-mini shapes.
 *
 * Int8: the int32 sums are exact on every table, so outputs may differ
 * only in the last rounding of the epilogue: |y - y_ref| <= 1e-5 * (|y_ref|
 * + |y0| + 1e-3). Bf16: fp32 sums in each table's own order against the
 * reference's double sum: 1e-5 of sum_k |x||w|. Dropping a single K term
 * is far outside both. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qkern.h"
#include "t.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static float frand(void) { return (float)((rnd() >> 8) * (2.0 / 16777216.0) - 1.0); }

/* X [M, ldx]: uniform values, plus an all-zero row and a row with one
 * large outlier when there are rows enough (the per-row scale cases). */
static float *make_x(int M, int K, int ldx) {
    float *x = malloc((size_t)M * ldx * sizeof *x);
    for (size_t i = 0; i < (size_t)M * ldx; i++) x[i] = frand() * 3.0f;
    if (M > 2) memset(x + (size_t)ldx, 0, (size_t)K * sizeof *x);
    if (M > 3) x[(size_t)3 * ldx + K / 2] = 250.0f;
    return x;
}

static int8_t *make_w8(int N, int K) {
    int8_t *w = malloc((size_t)N * K);
    for (size_t i = 0; i < (size_t)N * K; i++) w[i] = (int8_t)((int)(rnd() % 255) - 127);
    if (N * K > 1) w[0] = 127, w[1] = -127;
    return w;
}

/* ------------------------------------------------------ the reference */

static void test_quantize_row_rule(void) {
    /* 127 * {1, -0.5, 0.25, 0, 0.5/127, 1.5/127}: -63.5 and 0.5 and 1.5 are
     * ties, rounded to even: -64, 0, 2 */
    const float x[] = {1.0f, -0.5f, 0.25f, 0.0f, 0.5f / 127.0f, 1.5f / 127.0f};
    int8_t q[6];
    float sa;
    lr__q8_quantize_row(x, 6, q, &sa);
    T_EQ_INT(q[0], 127);
    T_EQ_INT(q[1], -64);
    T_EQ_INT(q[2], 32);
    T_EQ_INT(q[3], 0);
    T_EQ_INT(q[4], 0);
    T_EQ_INT(q[5], 2);
    T_CHECK(sa == 1.0f / 127.0f);
    const float neg[] = {-2.0f, 1.0f};
    lr__q8_quantize_row(neg, 2, q, &sa);
    T_EQ_INT(q[0], -127);
    T_EQ_INT(q[1], 64); /* 63.5 -> 64 (even) */
    T_CHECK(sa == 2.0f / 127.0f);
    /* a NaN in the row quantizes to a defined value (UBSan would stop an
     * undefined float-to-int conversion), the others as usual */
    const float with_nan[] = {1.0f, NAN, -1.0f};
    lr__q8_quantize_row(with_nan, 3, q, &sa);
    T_CHECK(q[0] >= -127 && q[1] >= -127 && q[2] >= -127);
    T_EQ_INT(q[2], -q[0]);
    const float zero[] = {0.0f, -0.0f, 0.0f};
    q[0] = q[1] = q[2] = 5;
    lr__q8_quantize_row(zero, 3, q, &sa);
    T_CHECK(sa == 0.0f && q[0] == 0 && q[1] == 0 && q[2] == 0);
}

static void test_bf16_rounding(void) {
    T_EQ_INT(lr__bf16_from_f32(1.0f), 0x3f80);
    T_EQ_INT(lr__bf16_from_f32(-2.0f), 0xc000);
    const uint32_t bits[][2] = {
        {0x3f808000u, 0x3f80}, /* tie, even below: down */
        {0x3f818000u, 0x3f82}, /* tie, odd below: up */
        {0x3f808001u, 0x3f81}, /* above the tie: up */
        {0x3f807fffu, 0x3f80}, /* below the tie: down */
        {0x7f7fffffu, 0x7f80}, /* rounds up to infinity */
        {0x7f800000u, 0x7f80}, /* +inf */
        {0x00400000u, 0x0000}, /* subnormal: flushed */
        {0x80000001u, 0x8000}, /* negative subnormal: -0 */
    };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        float f;
        memcpy(&f, &bits[i][0], sizeof f);
        T_EQ_INT(lr__bf16_from_f32(f), bits[i][1]);
    }
    uint16_t nan = lr__bf16_from_f32(NAN);
    T_CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0);
    T_CHECK(lr__f32_from_bf16(0x3f80) == 1.0f);
    T_CHECK(lr__f32_from_bf16(0xc0a0) == -5.0f);
}

/* The reference int8 GEMM approximates X (W * ws)^T: every product is off
 * by at most the activation rounding (sa/2 per element) times |w|. */
static void test_ref_q8_approximates_fp32(void) {
    const int M = 5, N = 7, K = 37;
    float *x = make_x(M, K, K), ws[7], y[5 * 7];
    int8_t *w = make_w8(N, K), *wp = malloc(lr__q8_packed_bytes(1, N, K));
    int32_t wsum[7];
    for (int n = 0; n < N; n++) ws[n] = 0.01f * (float)(n + 1);
    lr__qkern_ref.pack_q8(N, K, w, K, wp, wsum);
    lr__qkern_ref.gemm_q8(M, N, K, x, K, wp, ws, wsum, NULL, y, N, 0);
    int bad = 0;
    for (int m = 0; m < M; m++) {
        float amax = 0.0f;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[m * K + k]));
        for (int n = 0; n < N; n++) {
            double exact = 0.0, bound = 0.0, s = 0;
            for (int k = 0; k < K; k++) {
                exact += (double)x[m * K + k] * w[n * K + k] * ws[n];
                bound += 0.5 * amax / 127.0 * fabs((double)w[n * K + k]) * ws[n];
                s += w[n * K + k];
            }
            if (fabs(y[m * N + n] - exact) > bound * 1.001 + 1e-6) bad++;
            if (wsum[n] != (int32_t)s) bad++;
        }
    }
    T_EQ_INT(bad, 0);
    free(x), free(w), free(wp);
}

static void test_ref_bf16_approximates_fp32(void) {
    const int M = 4, N = 9, K = 33;
    float *x = make_x(M, K, K), y[4 * 9];
    uint16_t w[9 * 33], *wp = malloc(lr__bf16_packed_elems(1, N, K) * sizeof *wp);
    float wf[9 * 33];
    for (int i = 0; i < N * K; i++) {
        w[i] = lr__bf16_from_f32(frand());
        wf[i] = lr__f32_from_bf16(w[i]);
    }
    lr__qkern_ref.pack_bf16(N, K, w, K, wp);
    lr__qkern_ref.gemm_bf16(M, N, K, x, K, wp, NULL, y, N, 0);
    int bad = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double exact = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                exact += (double)x[m * K + k] * wf[n * K + k];
                mag += fabs((double)x[m * K + k] * wf[n * K + k]);
            }
            if (fabs(y[m * N + n] - exact) > mag / 256.0 + 1e-6) bad++; /* 8-bit mantissa */
        }
    T_EQ_INT(bad, 0);
    free(x), free(wp);
}

/* ------------------------------------------- every table against ref */

typedef struct {
    int M, N, K;
} shape;

static const shape SHAPES[] = {
    {1, 1, 1},     {1, 3, 5},    {3, 5, 7},     {7, 33, 13},   {13, 65, 37},  {6, 64, 256},
    {17, 100, 259}, {2, 1000, 3}, {31, 47, 1030}, {64, 768, 256}, {64, 256, 1024}, {5, 17, 4},
    {7, 70, 9000},  /* K past the AVX-512 tables' 8 KB row block: their long-K path */
    {250, 65, 1024}, /* several row blocks */
};

/* The SIMD tables (every name but "ref") this build and CPU have. */
static int other_tables(const lr__qkern **out) {
    int n = 0;
    for (int i = 0; lr__qkern_name(i); i++) {
        const lr__qkern *q = lr__qkern_by_name(lr__qkern_name(i));
        if (q && q != &lr__qkern_ref) out[n++] = q;
    }
    return n;
}

/* Runs gemm_q8 of table q on one shape with leading dimensions wider than
 * the matrices, with and without bias and accumulate, and from the second
 * panel on when N allows; 0 when every output is within tolerance of ref. */
static int compare_q8(const lr__qkern *q, shape s) {
    const int ldx = s.K + 3, ldy = s.N + 5;
    float *x = make_x(s.M, s.K, ldx), *ws = malloc((size_t)s.N * sizeof *ws);
    float *bias = malloc((size_t)s.N * sizeof *bias);
    for (int n = 0; n < s.N; n++) ws[n] = 0.001f + 0.02f * (frand() + 1.0f), bias[n] = frand();
    int8_t *w = make_w8(s.N, s.K);
    int8_t *wr = malloc(lr__q8_packed_bytes(1, s.N, s.K));
    int8_t *wq = malloc(lr__q8_packed_bytes(q->q8_nr, s.N, s.K));
    int32_t *sr = malloc((size_t)s.N * sizeof *sr), *sq = malloc((size_t)s.N * sizeof *sq);
    lr__qkern_ref.pack_q8(s.N, s.K, w, s.K, wr, sr);
    q->pack_q8(s.N, s.K, w, s.K, wq, sq);
    size_t ny = (size_t)s.M * ldy;
    float *y0 = malloc(ny * sizeof *y0), *yr = malloc(ny * sizeof *yr), *yq = malloc(ny * sizeof *yq);
    for (size_t i = 0; i < ny; i++) y0[i] = frand();
    int bad = 0;
    for (int n = 0; n < s.N; n++) bad += sr[n] != sq[n];
    const int Kp = (s.K + 3) / 4 * 4;
    /* columns [c0, N): c0 = 0, then the table's second panel */
    for (int c0 = 0; c0 < s.N; c0 += q->q8_nr) {
        for (int variant = 0; variant < 4; variant++) {
            const float *b = (variant & 1) ? bias + c0 : NULL;
            int acc = (variant & 2) != 0;
            memcpy(yr, y0, ny * sizeof *yr);
            memcpy(yq, y0, ny * sizeof *yq);
            lr__qkern_ref.gemm_q8(s.M, s.N - c0, s.K, x, ldx, wr + (size_t)c0 * Kp, ws + c0,
                                  sr + c0, b, yr + c0, ldy, acc);
            q->gemm_q8(s.M, s.N - c0, s.K, x, ldx, wq + (size_t)c0 * Kp, ws + c0, sq + c0, b,
                       yq + c0, ldy, acc);
            for (size_t i = 0; i < ny; i++) {
                double tol = 1e-5 * (fabs(yr[i]) + fabs(y0[i]) + 1e-3);
                if (!(fabs((double)yq[i] - yr[i]) <= tol)) {
                    if (bad < 3)
                        fprintf(stderr, "  %s q8 %dx%dx%d c0=%d v=%d y[%zu]: %g vs ref %g\n",
                                q->name, s.M, s.N, s.K, c0, variant, i, yq[i], yr[i]);
                    bad++;
                }
            }
        }
        if (c0 > 0 || s.N <= q->q8_nr) break; /* 0 and one offset are enough */
    }
    free(x), free(ws), free(bias), free(w), free(wr), free(wq), free(sr), free(sq);
    free(y0), free(yr), free(yq);
    return bad;
}

static int compare_bf16(const lr__qkern *q, shape s) {
    const int ldx = s.K + 1, ldy = s.N + 2;
    float *x = make_x(s.M, s.K, ldx), *bias = malloc((size_t)s.N * sizeof *bias);
    uint16_t *w = malloc((size_t)s.N * s.K * sizeof *w);
    for (size_t i = 0; i < (size_t)s.N * s.K; i++) w[i] = lr__bf16_from_f32(frand());
    for (int n = 0; n < s.N; n++) bias[n] = frand();
    uint16_t *wr = malloc(lr__bf16_packed_elems(1, s.N, s.K) * sizeof *wr);
    uint16_t *wq = malloc(lr__bf16_packed_elems(q->bf16_nr, s.N, s.K) * sizeof *wq);
    lr__qkern_ref.pack_bf16(s.N, s.K, w, s.K, wr);
    q->pack_bf16(s.N, s.K, w, s.K, wq);
    size_t ny = (size_t)s.M * ldy;
    float *y0 = malloc(ny * sizeof *y0), *yr = malloc(ny * sizeof *yr), *yq = malloc(ny * sizeof *yq);
    for (size_t i = 0; i < ny; i++) y0[i] = frand();
    int bad = 0;
    const int Kp = (s.K + 1) / 2 * 2;
    for (int c0 = 0; c0 < s.N; c0 += q->bf16_nr) {
        for (int variant = 0; variant < 4; variant++) {
            const float *b = (variant & 1) ? bias + c0 : NULL;
            int acc = (variant & 2) != 0;
            memcpy(yr, y0, ny * sizeof *yr);
            memcpy(yq, y0, ny * sizeof *yq);
            lr__qkern_ref.gemm_bf16(s.M, s.N - c0, s.K, x, ldx, wr + (size_t)c0 * Kp, b,
                                    yr + c0, ldy, acc);
            q->gemm_bf16(s.M, s.N - c0, s.K, x, ldx, wq + (size_t)c0 * Kp, b, yq + c0, ldy,
                         acc);
            for (int m = 0; m < s.M; m++)
                for (int n = 0; n < ldy; n++) {
                    size_t i = (size_t)m * ldy + n;
                    double mag = fabs(y0[i]) + 1.0;
                    if (n >= c0 && n < s.N)
                        for (int k = 0; k < s.K; k++)
                            mag += fabs((double)x[(size_t)m * ldx + k] *
                                        lr__f32_from_bf16(w[(size_t)n * s.K + k]));
                    if (!(fabs((double)yq[i] - yr[i]) <= 1e-5 * mag)) {
                        if (bad < 3)
                            fprintf(stderr, "  %s bf16 %dx%dx%d c0=%d y[%zu]: %g vs ref %g\n",
                                    q->name, s.M, s.N, s.K, c0, i, yq[i], yr[i]);
                        bad++;
                    }
                }
        }
        if (c0 > 0 || s.N <= q->bf16_nr) break;
    }
    free(x), free(bias), free(w), free(wr), free(wq), free(y0), free(yr), free(yq);
    return bad;
}

static void test_tables_q8_match_ref(void) {
    const lr__qkern *t[16];
    int n = other_tables(t);
    for (int i = 0; i < n; i++) {
        T_CHECK(t[i]->q8_nr >= 1 && t[i]->pack_q8 && t[i]->gemm_q8);
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            T_EQ_INT(compare_q8(t[i], SHAPES[s]), 0);
    }
    fprintf(stderr, "  q8: %d table(s) besides ref\n", n);
}

static void test_tables_bf16_match_ref(void) {
    const lr__qkern *t[16];
    int n = other_tables(t), tested = 0;
    for (int i = 0; i < n; i++) {
        if (t[i]->bf16_nr == 0) continue;
        tested++;
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
            T_EQ_INT(compare_bf16(t[i], SHAPES[s]), 0);
    }
    fprintf(stderr, "  bf16: %d table(s) besides ref\n", tested);
}

/* A wrong kernel must fail the comparison: ref with one weight changed. */
static void test_comparison_catches_a_wrong_weight(void) {
    shape s = {4, 9, 21};
    float x[4 * 21], ws[9], yr[4 * 9], yq[4 * 9];
    for (int i = 0; i < 4 * 21; i++) x[i] = frand();
    for (int n = 0; n < 9; n++) ws[n] = 0.01f;
    int8_t *w = make_w8(s.N, s.K), wp[9 * 24], wp2[9 * 24];
    int32_t sum[9];
    lr__qkern_ref.pack_q8(s.N, s.K, w, s.K, wp, sum);
    memcpy(wp2, wp, sizeof wp);
    wp2[5 * 24 + 20] = (int8_t)(wp2[5 * 24 + 20] == 1 ? 2 : 1);
    lr__qkern_ref.gemm_q8(4, 9, 21, x, 21, wp, ws, sum, NULL, yr, 9, 0);
    lr__qkern_ref.gemm_q8(4, 9, 21, x, 21, wp2, ws, sum, NULL, yq, 9, 0);
    int bad = 0;
    for (int i = 0; i < 4 * 9; i++)
        if (fabs((double)yq[i] - yr[i]) > 1e-5 * (fabs(yr[i]) + 1e-3)) bad++;
    T_CHECK(bad >= 1);
    free(w);
}

static void test_dispatch(void) {
    T_CHECK(lr__qkern_get() != NULL);
    T_CHECK(lr__qkern_choose("ref") == &lr__qkern_ref);
    T_CHECK(lr__qkern_choose("no-such-isa") == lr__qkern_choose(NULL));
    T_CHECK(lr__qkern_by_name("no-such-isa") == NULL);
    T_CHECK(lr__qkern_by_name("ref") == &lr__qkern_ref);
    int i = 0;
    while (lr__qkern_name(i)) i++;
    T_EQ_STR(lr__qkern_name(i - 1), "ref");
    T_CHECK(lr__qkern_name(-1) == NULL);
    T_EQ_INT(lr__q8_packed_bytes(32, 33, 5), 64 * 8);
    T_EQ_INT(lr__bf16_packed_elems(16, 16, 3), 16 * 4);
}

T_MAIN(T_CASE(test_quantize_row_rule), T_CASE(test_bf16_rounding),
       T_CASE(test_ref_q8_approximates_fp32), T_CASE(test_ref_bf16_approximates_fp32),
       T_CASE(test_tables_q8_match_ref), T_CASE(test_tables_bf16_match_ref),
       T_CASE(test_comparison_catches_a_wrong_weight), T_CASE(test_dispatch))
