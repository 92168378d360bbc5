/* Tests of the kernels: every SIMD table this CPU runs against the scalar
 * reference (odd sizes, leading dimensions wider than the matrices, bias,
 * accumulate, BERT shapes, the packed-weight API), the element-wise ops
 * against ref and libm, the threaded drivers against one thread, and the
 * LOGRISK_ISA selection. GEMM tolerance is relative to the size of the
 * terms: |y - y_ref| <= 1e-5 * (sum_k |x||w| + |bias| + |y0|); dropping or
 * doubling one term of K <= 1024 is far outside it. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "kern.h"
#include "pool.h"
#include "t.h"

static const char *const ISAS[] = {"avx512", "avx2", "neon"};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

static float *rand_buf(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

/* The tables to test against ref: the SIMD ones this build and CPU have. */
static int simd_tables(const lr__kern **out) {
    int n = 0;
    for (size_t i = 0; i < sizeof ISAS / sizeof ISAS[0]; i++) {
        const lr__kern *k = lr__kern_by_name(ISAS[i]);
        if (k) out[n++] = k;
    }
    return n;
}

enum { OP_NT, OP_NN, OP_TN, OP_NT_PACKED, OP_NT_GELU, OP_NT_PACKED_GELU };

/* Runs one GEMM of kind op on table k (through the driver on pool), and
 * the same on ref inline, and checks every output. Returns 1 if all match. */
static int check_gemm(const lr__kern *k, lr_pool *pool, int op, int M, int N, int K, int pad,
                      int with_bias, int accumulate) {
    int gelu = op == OP_NT_GELU || op == OP_NT_PACKED_GELU;
    if (gelu) accumulate = 0;
    int ldx = (op == OP_TN ? M : K) + pad, ldw = (op == OP_NN || op == OP_TN ? N : K) + pad;
    int ldy = N + pad;
    size_t xr = op == OP_TN ? (size_t)K : (size_t)M, wr = op == OP_NN || op == OP_TN ? K : N;
    float *X = rand_buf(xr * ldx), *W = rand_buf(wr * ldw), *bias = rand_buf(N);
    float *Y = rand_buf((size_t)M * ldy), *Yref = malloc(((size_t)M * ldy + 1) * sizeof *Yref);
    memcpy(Yref, Y, (size_t)M * ldy * sizeof *Y);
    const float *b = with_bias && op != OP_NN && op != OP_TN ? bias : NULL;
    switch (op) {
    case OP_NT:
        lr__gemm_nt_with(k, pool, M, N, K, X, ldx, W, ldw, b, Y, ldy, accumulate);
        lr__kern_ref.gemm_nt(M, N, K, X, ldx, W, ldw, b, Yref, ldy, accumulate);
        break;
    case OP_NT_PACKED: {
        lr_error err = {0};
        lr__packed *p = lr__pack_nt(pool, k, W, N, K, ldw, &err);
        if (!p) {
            T_FAIL("lr__pack_nt: %s", err.msg);
            break;
        }
        lr__gemm_nt_packed(pool, M, X, ldx, p, b, Y, ldy, accumulate);
        lr__packed_free(p);
        lr__kern_ref.gemm_nt(M, N, K, X, ldx, W, ldw, b, Yref, ldy, accumulate);
        break;
    }
    case OP_NT_GELU:
    case OP_NT_PACKED_GELU: {
        lr__packed *p = NULL;
        if (op == OP_NT_PACKED_GELU) {
            lr_error err = {0};
            p = lr__pack_nt(NULL, k, W, N, K, ldw, &err);
            T_CHECK(p != NULL);
            if (!p) break;
        }
        k->gemm_nt_gelu(M, N, K, X, ldx, p ? p->data : W, ldw, p != NULL, b, Y, ldy);
        lr__packed_free(p);
        lr__kern_ref.gemm_nt(M, N, K, X, ldx, W, ldw, b, Yref, ldy, 0);
        for (int m = 0; m < M; m++) lr__kern_ref.gelu(Yref + (size_t)m * ldy, (size_t)N);
        break;
    }
    case OP_NN:
        lr__gemm_nn_with(k, pool, M, N, K, X, ldx, W, ldw, Y, ldy, accumulate);
        lr__kern_ref.gemm_nn(M, N, K, X, ldx, W, ldw, Yref, ldy, accumulate);
        break;
    default:
        lr__gemm_tn_with(k, pool, M, N, K, X, ldx, W, ldw, Y, ldy, accumulate);
        lr__kern_ref.gemm_tn(M, N, K, X, ldx, W, ldw, Yref, ldy, accumulate);
    }
    int ok = 1;
    for (int m = 0; m < M && ok; m++) {
        for (int n = 0; n < ldy; n++) {
            float got = Y[(size_t)m * ldy + n], want = Yref[(size_t)m * ldy + n];
            if (n >= N) { /* padding columns must be untouched */
                if (got != want) ok = 0;
                continue;
            }
            /* gelu is 1.13-Lipschitz, and its own error is < 4e-7 |x| */
            double scale = (b ? fabs(b[n]) : 0.0) + (accumulate ? fabs(want) + 1.0 : 0.0) +
                           (gelu ? 0.1 * fabs(want) : 0.0);
            for (int kk = 0; kk < K; kk++) {
                double x = op == OP_TN ? X[(size_t)kk * ldx + m] : X[(size_t)m * ldx + kk];
                double w = op == OP_NN || op == OP_TN ? W[(size_t)kk * ldw + n]
                                                      : W[(size_t)n * ldw + kk];
                scale += fabs(x * w);
            }
            if (!(fabs((double)got - want) <= 1e-5 * scale + 1e-30)) {
                T_FAIL("%s op %d M=%d N=%d K=%d pad=%d bias=%d acc=%d: y[%d,%d] = %.9g, ref %.9g",
                       k->name, op, M, N, K, pad, with_bias, accumulate, m, n, got, want);
                ok = 0;
                break;
            }
        }
    }
    free(X);
    free(W);
    free(bias);
    free(Y);
    free(Yref);
    return ok;
}

static const int ODD[] = {1, 3, 7, 17, 33, 65, 129};
static const int ODD_K[] = {1, 3, 17, 64, 129, 300};

static void odd_sizes(int op) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    int variant = 0;
    for (int t = 0; t < nt; t++)
        for (size_t a = 0; a < 7; a++)
            for (size_t b = 0; b < 7; b++)
                for (size_t c = 0; c < 6; c++, variant++) {
                    int pad = variant % 3 == 0 ? 0 : variant % 5 + 1;
                    if (!check_gemm(tables[t], NULL, op, ODD[a], ODD[b], ODD_K[c], pad,
                                    variant & 1, (variant >> 1) & 1))
                        return;
                }
}

static void test_gemm_nt_odd_sizes(void) { odd_sizes(OP_NT); }
static void test_gemm_nn_odd_sizes(void) { odd_sizes(OP_NN); }
static void test_gemm_tn_odd_sizes(void) { odd_sizes(OP_TN); }
static void test_gemm_nt_packed_odd_sizes(void) { odd_sizes(OP_NT_PACKED); }
static void test_gemm_nt_gelu_odd_sizes(void) {
    odd_sizes(OP_NT_GELU);
    odd_sizes(OP_NT_PACKED_GELU);
}

/* BERT-mini shapes (fewer rows than the real 768..4096 to keep ref fast),
 * and more rows than one row block (LR_MC <= 192) so that gemm_nt packs
 * the whole W once. */
static void test_gemm_bert_shapes(void) {
    static const int shapes[][3] = {{24, 256, 256}, {24, 1024, 256}, {24, 256, 1024}, {8, 256, 1024},
                                    {37, 128, 256}, {5, 11, 128},    {200, 70, 72}};
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    for (int t = 0; t < nt; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int *sh = shapes[s];
            T_CHECK(check_gemm(tables[t], NULL, OP_NT, sh[0], sh[1], sh[2], 0, 1, 0));
            T_CHECK(check_gemm(tables[t], NULL, OP_NT_PACKED, sh[0], sh[1], sh[2], 0, 1, 1));
            T_CHECK(check_gemm(tables[t], NULL, OP_NN, sh[0], sh[1], sh[2], 0, 0, 1));
            T_CHECK(check_gemm(tables[t], NULL, OP_TN, sh[0], sh[1], sh[2], 0, 0, 0));
            T_CHECK(check_gemm(tables[t], NULL, OP_NT_GELU, sh[0], sh[1], sh[2], 0, 1, 0));
        }
}

/* K = 0: the product is empty, Y = bias (or Y + bias). */
static void test_gemm_empty_k(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    tables[nt++] = &lr__kern_ref;
    for (int t = 0; t < nt; t++) {
        float bias[3] = {1, 2, 3}, y[6] = {10, 10, 10, 10, 10, 10};
        tables[t]->gemm_nt(2, 3, 0, bias, 1, bias, 1, bias, y, 3, 1);
        T_NEAR(y[0], 11, 0);
        T_NEAR(y[5], 13, 0);
        tables[t]->gemm_nn(2, 3, 0, bias, 1, bias, 3, y, 3, 0);
        T_NEAR(y[4], 0, 0);
    }
}

/* The threaded drivers give exactly the single-thread result (each output
 * is computed by the same instructions whichever thread owns it), for row
 * splits, column splits and the shared packed-W path. */
static void test_threaded_drivers_match_inline(void) {
    static const int shapes[][3] = {
        {300, 128, 96}, {12, 1024, 64}, {97, 65, 300}, {1000, 33, 40}, {3, 2048, 64}};
    lr_error err = {0};
    lr_pool *pools[2] = {lr_pool_new(2, &err), lr_pool_new(3, &err)};
    T_CHECK(pools[0] && pools[1]);
    if (!pools[0] || !pools[1]) return;
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    tables[nt++] = &lr__kern_ref;
    for (int t = 0; t < nt; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int op = 0; op < 4; op++) {
                if (tables[t] == &lr__kern_ref && s > 1) continue; /* slow; the split is the same */
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                int xr = op == OP_TN ? K : M, xc = op == OP_TN ? M : K;
                int wr = op == OP_NN || op == OP_TN ? K : N, wc = op == OP_NN || op == OP_TN ? N : K;
                float *X = rand_buf((size_t)xr * xc), *W = rand_buf((size_t)wr * wc);
                float *bias = rand_buf(N), *Y0 = rand_buf((size_t)M * N);
                float *Y1 = malloc((size_t)M * N * sizeof *Y1);
                float *Y2 = malloc((size_t)M * N * sizeof *Y2);
                memcpy(Y1, Y0, (size_t)M * N * sizeof *Y0);
                memcpy(Y2, Y0, (size_t)M * N * sizeof *Y0);
                float *outs[3] = {Y0, Y1, Y2};
                lr_pool *ps[3] = {NULL, pools[0], pools[1]};
                for (int r = 0; r < 3; r++) {
                    if (op == OP_NT)
                        lr__gemm_nt_with(tables[t], ps[r], M, N, K, X, xc, W, wc, bias, outs[r], N, 1);
                    else if (op == OP_NN)
                        lr__gemm_nn_with(tables[t], ps[r], M, N, K, X, xc, W, wc, outs[r], N, 1);
                    else if (op == OP_TN)
                        lr__gemm_tn_with(tables[t], ps[r], M, N, K, X, xc, W, wc, outs[r], N, 1);
                    else {
                        lr__packed *p = lr__pack_nt(ps[r], tables[t], W, N, K, wc, &err);
                        T_CHECK(p != NULL);
                        if (p) lr__gemm_nt_packed(ps[r], M, X, xc, p, bias, outs[r], N, 1);
                        lr__packed_free(p);
                    }
                }
                int same = memcmp(Y0, Y1, (size_t)M * N * sizeof *Y0) == 0 &&
                           memcmp(Y0, Y2, (size_t)M * N * sizeof *Y0) == 0;
                if (!same)
                    T_FAIL("%s op %d %dx%dx%d: threaded result differs", tables[t]->name, op, M, N, K);
                free(X), free(W), free(bias), free(Y0), free(Y1), free(Y2);
            }
    lr_pool_free(pools[0]);
    lr_pool_free(pools[1]);
}

/* The fused Linear+GELU drivers (default table) over pools give exactly
 * the inline result, raw and pre-packed. */
static void test_threaded_gelu_drivers(void) {
    static const int shapes[][3] = {{300, 256, 64}, {10, 1024, 64}, {130, 70, 33}};
    lr_error err = {0};
    lr_pool *pool = lr_pool_new(2, &err);
    T_CHECK(pool != NULL);
    if (!pool) return;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *X = rand_buf((size_t)M * K), *W = rand_buf((size_t)N * K), *b = rand_buf(N);
        float *Y[4];
        for (int i = 0; i < 4; i++) Y[i] = malloc((size_t)M * N * sizeof(float));
        lr__linear_gelu(NULL, M, N, K, X, W, b, Y[0]);
        lr__linear_gelu(pool, M, N, K, X, W, b, Y[1]);
        lr__packed *p = lr__pack_nt(pool, NULL, W, N, K, K, &err);
        T_CHECK(p != NULL);
        if (p) {
            lr__gemm_nt_packed_gelu(NULL, M, X, K, p, b, Y[2], N);
            lr__gemm_nt_packed_gelu(pool, M, X, K, p, b, Y[3], N);
        }
        lr__packed_free(p);
        for (int i = 1; i < 4; i++)
            if (memcmp(Y[0], Y[i], (size_t)M * N * sizeof(float)) != 0)
                T_FAIL("%dx%dx%d: gelu driver %d differs from inline", M, N, K, i);
        /* and it is gelu(linear) */
        float *ref = malloc((size_t)M * N * sizeof(float));
        lr__linear(NULL, M, N, K, X, W, b, ref);
        lr__kern_get()->gelu(ref, (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * N; i++)
            if (!(fabs(ref[i] - Y[0][i]) <= 1e-6 * (1 + fabs(ref[i])))) {
                T_FAIL("gelu(linear)[%zu] = %.9g, fused %.9g", i, ref[i], Y[0][i]);
                break;
            }
        free(ref), free(X), free(W), free(b);
        for (int i = 0; i < 4; i++) free(Y[i]);
    }
    lr_pool_free(pool);
}

static void test_pack_nt_layout(void) {
    /* the packed layout is the documented one, on every table */
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    tables[nt++] = &lr__kern_ref;
    enum { N = 101, K = 41, LDW = 43 }; /* full 16x16 blocks and ragged edges */
    static float W[N * LDW];
    for (int i = 0; i < N * LDW; i++) W[i] = (float)i;
    for (int t = 0; t < nt; t++) {
        int nr = tables[t]->nr;
        size_t n = lr__packed_floats(nr, N, K);
        T_EQ_INT(n, (size_t)((N + nr - 1) / nr) * nr * K);
        float *dst = malloc(n * sizeof *dst);
        tables[t]->pack_nt(N, K, W, LDW, dst);
        int ok = 1;
        for (int p = 0; p * nr < N; p++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < nr; j++) {
                    int col = p * nr + j;
                    float want = col < N ? W[col * LDW + k] : 0.0f;
                    ok &= dst[(size_t)p * nr * K + (size_t)k * nr + j] == want;
                }
        if (!ok) T_FAIL("%s: packed layout differs", tables[t]->name);
        free(dst);
    }
    lr_error err = {0};
    T_CHECK(lr__pack_nt(NULL, NULL, W, 0, K, LDW, &err) == NULL);
    T_EQ_INT(err.code, LR_EINVAL);
    T_CHECK(lr__pack_nt(NULL, NULL, W, N, K, K - 1, &err) == NULL);
}

static const int ROWS[] = {1, 5, 15, 16, 17, 31, 32, 33, 64, 128, 256, 1000, 1024};

static void test_layernorm_vs_ref(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    for (int t = 0; t < nt; t++)
        for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
            int n = ROWS[r];
            float *x = rand_buf(n), *g = rand_buf(n), *b = rand_buf(n);
            for (int i = 0; i < n; i++) x[i] = 3.0f * x[i] + 0.5f; /* non-zero mean */
            float *xr = malloc(n * sizeof *xr);
            memcpy(xr, x, n * sizeof *x);
            tables[t]->layernorm(x, g, b, n, 1e-12f);
            lr__kern_ref.layernorm(xr, g, b, n, 1e-12f);
            for (int i = 0; i < n; i++) {
                /* the normalised value has |z| <= sqrt(n): scale the tolerance */
                double tol = 2e-6 * (fabs(g[i]) * sqrt((double)n) + fabs(b[i]) + 1.0);
                if (!(fabs(x[i] - xr[i]) <= tol)) {
                    T_FAIL("%s layernorm n=%d [%d]: %.9g vs %.9g", tables[t]->name, n, i, x[i], xr[i]);
                    break;
                }
            }
            free(x), free(g), free(b), free(xr);
        }
}

/* GELU on a dense grid over [-12, 12] and special values, against the
 * erff-based reference and against erf in double. */
static void test_gelu_vs_ref_and_libm(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    enum { NG = 48001 };
    float *x = malloc(NG * sizeof *x), *xr = malloc(NG * sizeof *xr), *xin = malloc(NG * sizeof *xin);
    for (int i = 0; i < NG; i++) xin[i] = -12.0f + 24.0f * (float)i / (NG - 1);
    xin[0] = 0.0f, xin[1] = -0.0f, xin[2] = 1e-30f, xin[3] = -1e-30f, xin[4] = 30.0f;
    xin[5] = -30.0f, xin[6] = INFINITY;
    for (int t = 0; t < nt; t++) {
        memcpy(x, xin, NG * sizeof *x);
        memcpy(xr, xin, NG * sizeof *x);
        tables[t]->gelu(x, NG);
        lr__kern_ref.gelu(xr, NG);
        double worst = 0.0;
        for (int i = 0; i < NG; i++) {
            double in = xin[i];
            if (isinf(in)) {
                T_CHECK(isinf(x[i]) && x[i] > 0);
                continue;
            }
            double exact = 0.5 * in * (1.0 + erf(in / sqrt(2.0)));
            double tol = 4e-7 * (fabs(in) + 1e-30) + 1e-37; /* about 3 ulp of x */
            double d = fabs(x[i] - exact);
            if (d / (fabs(in) + 1e-30) > worst) worst = d / (fabs(in) + 1e-30);
            if (!(d <= tol)) {
                T_FAIL("%s gelu(%.9g) = %.9g, exact %.9g, ref %.9g", tables[t]->name, in, x[i],
                       exact, xr[i]);
                break;
            }
            if (!(fabs(x[i] - xr[i]) <= tol + fabs(xr[i] - exact))) {
                T_FAIL("%s gelu(%.9g) = %.9g vs ref %.9g", tables[t]->name, in, x[i], xr[i]);
                break;
            }
        }
        if (getenv("T_VERBOSE")) fprintf(stderr, "  %s gelu max |err|/|x| %.3g\n", tables[t]->name, worst);
        /* tail lengths: every element takes the same path */
        for (int n = 1; n < 40; n++) {
            float a[40], b[40];
            for (int i = 0; i < n; i++) a[i] = b[i] = frand() * 4.0f;
            tables[t]->gelu(a, (size_t)n);
            lr__kern_ref.gelu(b, (size_t)n);
            for (int i = 0; i < n; i++) T_NEAR(a[i], b[i], 1e-6);
        }
    }
    free(x), free(xr), free(xin);
}

static void test_softmax_vs_ref(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    for (int t = 0; t < nt; t++)
        for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
            int n = ROWS[r];
            float *x = rand_buf(n);
            for (int i = 0; i < n; i++) x[i] *= 20.0f;
            if (n > 3) x[n / 2] = -3.4028234663852886e38f; /* a masked position */
            if (n > 4) x[n - 1] = -1e30f;
            float *xr = malloc(n * sizeof *xr);
            memcpy(xr, x, n * sizeof *x);
            tables[t]->softmax(x, n);
            lr__kern_ref.softmax(xr, n);
            double sum = 0.0;
            for (int i = 0; i < n; i++) {
                sum += x[i];
                if (!(fabs(x[i] - xr[i]) <= 1e-6 * xr[i] + 1e-30)) {
                    T_FAIL("%s softmax n=%d [%d]: %.9g vs %.9g", tables[t]->name, n, i, x[i], xr[i]);
                    break;
                }
            }
            T_NEAR(sum, 1.0, 1e-5);
            if (n > 3) T_EQ_INT(x[n / 2] == 0.0f, 1);
            free(x), free(xr);
        }
}

/* A scratch buffer of exactly lr__attention_scratch_floats(L, d) floats
 * plus a canary tail (ASan sees any overrun of the exact size; the canary
 * catches it in plain builds). */
enum { CANARY = 16 };
static float *att_scratch(int L, int d, size_t *n) {
    *n = lr__attention_scratch_floats(L, d);
    float *p = malloc((*n + CANARY) * sizeof *p);
    for (size_t i = 0; i < *n + CANARY; i++) p[i] = i < *n ? NAN : 12345.0f;
    return p;
}
static int canary_ok(const float *p, size_t n) {
    for (size_t i = n; i < n + CANARY; i++)
        if (p[i] != 12345.0f) return 0;
    return 1;
}

/* lr__attention on every table against attention in double, for the
 * head sizes and lengths of the models (d 16/64, L 1..130), all rows and
 * the [CLS] row alone. */
static void test_attention_vs_double(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    tables[nt++] = &lr__kern_ref;
    static const int lens[] = {1, 2, 7, 24, 65, 130};
    static const int dims[] = {16, 64};
    for (int t = 0; t < nt; t++)
        for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
            for (size_t b = 0; b < sizeof dims / sizeof dims[0]; b++)
                for (int cls = 0; cls < 2; cls++) {
                    int L = lens[a], d = dims[b], ld = 3 * d + 5; /* packed QKV rows */
                    int n_q = cls ? 1 : L;
                    float *qkv = rand_buf((size_t)L * ld), *out = rand_buf((size_t)L * (d + 3));
                    size_t ns;
                    float *scratch = att_scratch(L, d, &ns);
                    for (size_t i = 0; i < (size_t)L * ld; i++) qkv[i] *= 3.0f;
                    float scale = 1.0f / sqrtf((float)d);
                    lr__attention(tables[t], n_q, L, d, qkv, ld, qkv + d, ld, qkv + 2 * d, ld, out,
                                  d + 3, scale, scratch);
                    T_CHECK(canary_ok(scratch, ns));
                    double *p = malloc((size_t)L * sizeof *p);
                    int ok = 1;
                    for (int i = 0; i < n_q && ok; i++) {
                        double max = -1e300, sum = 0.0;
                        for (int j = 0; j < L; j++) {
                            double s = 0.0;
                            for (int k = 0; k < d; k++)
                                s += (double)qkv[(size_t)i * ld + k] * qkv[(size_t)j * ld + d + k];
                            p[j] = s * scale;
                            if (p[j] > max) max = p[j];
                        }
                        for (int j = 0; j < L; j++) sum += p[j] = exp(p[j] - max);
                        for (int k = 0; k < d && ok; k++) {
                            double o = 0.0;
                            for (int j = 0; j < L; j++) o += p[j] / sum * qkv[(size_t)j * ld + 2 * d + k];
                            if (!(fabs(out[(size_t)i * (d + 3) + k] - o) <= 2e-5)) {
                                T_FAIL("%s attention n_q=%d L=%d d=%d o[%d,%d] = %.9g, want %.9g",
                                       tables[t]->name, n_q, L, d, i, k, out[(size_t)i * (d + 3) + k], o);
                                ok = 0;
                            }
                        }
                    }
                    free(p), free(qkv), free(out), free(scratch);
                }
}

/* Every SIMD table's fused attention against the reference table on the
 * lengths and head sizes around the vector widths and tiles (L 1..128,
 * d 6..80, n_q = L and the [CLS] row alone), with separate Q, K, V, O
 * arrays at row strides wider than d (the padding of O must stay
 * untouched). Tolerance, relative to the magnitude of the terms: with
 * e_s = 1e-5 * scale * max_j sum_k |q_k k_jk| (a GEMM's tolerance on the
 * scores, which moves p_j by at most about 2 e_s p_j),
 *   |o - o_ref| <= (2 e_s + 2e-5) * sum_j p_j |v_jc| + 1e-30.
 * A dropped key (p_j of at least 1/L) or a wrong scale is far outside it. */
static void test_attention_vs_ref(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    static const int lens[] = {1, 2, 5, 17, 31, 64, 100, 128};
    static const int dims[] = {6, 8, 20, 32, 64, 80}; /* 6, 20: not whole vectors anywhere */
    int variant = 0;
    for (int t = 0; t < nt; t++)
        for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
            for (size_t b = 0; b < sizeof dims / sizeof dims[0]; b++)
                for (int cls = 0; cls < 2; cls++, variant++) {
                    int L = lens[a], d = dims[b], n_q = cls ? 1 : L;
                    /* wide strides: like a packed Q|K|V row (3H), or odd */
                    int ldq = d + 1 + variant % 7, ldk = variant & 1 ? 3 * d + 3 : d + 5;
                    int ldv = variant & 2 ? 768 : d + 2, ldo = d + 3;
                    float *Q = rand_buf((size_t)n_q * ldq), *K = rand_buf((size_t)L * ldk);
                    float *V = rand_buf((size_t)L * ldv), *O = rand_buf((size_t)n_q * ldo);
                    float *Oref = malloc((size_t)n_q * ldo * sizeof *Oref);
                    memcpy(Oref, O, (size_t)n_q * ldo * sizeof *O);
                    for (size_t i = 0; i < (size_t)n_q * ldq; i++) Q[i] *= 3.0f;
                    for (size_t i = 0; i < (size_t)L * ldk; i++) K[i] *= 3.0f;
                    float scale = 1.0f / sqrtf((float)d);
                    size_t ns, nsr;
                    float *scr = att_scratch(L, d, &ns), *scr_ref = att_scratch(L, d, &nsr);
                    tables[t]->attention(n_q, L, d, Q, ldq, K, ldk, V, ldv, O, ldo, scale, scr);
                    lr__kern_ref.attention(n_q, L, d, Q, ldq, K, ldk, V, ldv, Oref, ldo, scale,
                                           scr_ref);
                    T_CHECK(canary_ok(scr, ns));
                    double *p = malloc((size_t)L * sizeof *p);
                    int ok = 1;
                    for (int i = 0; i < n_q && ok; i++) {
                        double max = -1e300, sum = 0.0, es = 0.0;
                        for (int j = 0; j < L; j++) {
                            double s = 0.0, mag = 0.0;
                            for (int k = 0; k < d; k++) {
                                double x = (double)Q[(size_t)i * ldq + k] * K[(size_t)j * ldk + k];
                                s += x;
                                mag += fabs(x);
                            }
                            p[j] = s * scale;
                            if (p[j] > max) max = p[j];
                            if (1e-5 * scale * mag > es) es = 1e-5 * scale * mag;
                        }
                        for (int j = 0; j < L; j++) sum += p[j] = exp(p[j] - max);
                        for (int c = 0; c < ldo && ok; c++) {
                            float got = O[(size_t)i * ldo + c], want = Oref[(size_t)i * ldo + c];
                            if (c >= d) { /* padding columns must be untouched */
                                if (got != want) {
                                    T_FAIL("%s attention wrote O[%d,%d] past d=%d",
                                           tables[t]->name, i, c, d);
                                    ok = 0;
                                }
                                continue;
                            }
                            double mag = 0.0;
                            for (int j = 0; j < L; j++) mag += p[j] / sum * fabs(V[(size_t)j * ldv + c]);
                            if (!(fabs((double)got - want) <= (2 * es + 2e-5) * mag + 1e-30)) {
                                T_FAIL("%s attention n_q=%d L=%d d=%d o[%d,%d] = %.9g, ref %.9g",
                                       tables[t]->name, n_q, L, d, i, c, got, want);
                                ok = 0;
                            }
                        }
                    }
                    free(p), free(Q), free(K), free(V), free(O), free(Oref), free(scr), free(scr_ref);
                }
}

/* Empty calls write nothing; the scratch size covers ref's L floats and
 * grows with L and d. */
static void test_attention_edges(void) {
    const lr__kern *tables[4];
    int nt = simd_tables(tables);
    tables[nt++] = &lr__kern_ref;
    float q[4] = {1, 2, 3, 4}, o[4] = {7, 7, 7, 7}, scr[1024];
    T_CHECK(lr__attention_scratch_floats(2, 2) <= 1024);
    for (int t = 0; t < nt; t++) {
        tables[t]->attention(0, 2, 2, q, 2, q, 2, q, 2, o, 2, 1.0f, scr);
        tables[t]->attention(2, 0, 2, q, 2, q, 2, q, 2, o, 2, 1.0f, scr);
        tables[t]->attention(2, 2, 0, q, 2, q, 2, q, 2, o, 2, 1.0f, scr);
        for (int i = 0; i < 4; i++) T_NEAR(o[i], 7, 0);
        /* one key: the output row is that value row, whatever the query */
        float k1[1] = {0.5f}, v1[1] = {-3.0f}, q2[2] = {100.0f, -100.0f}, o2[2];
        tables[t]->attention(2, 1, 1, q2, 1, k1, 1, v1, 1, o2, 1, 0.3f, scr);
        T_NEAR(o2[0], -3.0f, 1e-6);
        T_NEAR(o2[1], -3.0f, 1e-6);
    }
    T_EQ_INT(lr__attention_scratch_floats(0, 64), 0);
    T_EQ_INT(lr__attention_scratch_floats(5, 0), 0);
    for (int L = 1; L <= 300; L++)
        for (int d = 1; d <= 130; d += 7) {
            size_t n = lr__attention_scratch_floats(L, d);
            if (n < (size_t)L || n < lr__attention_scratch_floats(L - 1 > 0 ? L - 1 : 1, d) ||
                (d > 7 && n < lr__attention_scratch_floats(L, d - 7))) {
                T_FAIL("scratch floats L=%d d=%d = %zu: too small or not monotone", L, d, n);
                return;
            }
        }
}

static void test_isa_selection(void) {
    T_CHECK(lr__kern_choose("ref") == &lr__kern_ref);
    T_CHECK(lr__kern_by_name("ref") == &lr__kern_ref);
    T_CHECK(lr__kern_by_name("bogus") == NULL);
    /* each ISA: itself where this CPU runs it, else ref (never NULL) */
    for (size_t i = 0; i < sizeof ISAS / sizeof ISAS[0]; i++) {
        const lr__kern *k = lr__kern_by_name(ISAS[i]), *c = lr__kern_choose(ISAS[i]);
        T_CHECK(c == (k ? k : &lr__kern_ref));
        if (k) T_EQ_STR(k->name, ISAS[i]);
    }
    /* auto and unknown names pick the best available */
    const lr__kern *best = lr__kern_choose(NULL);
    T_CHECK(lr__kern_choose("") == best && lr__kern_choose("sse9") == best);
#if defined(__x86_64__)
    if (lr__kern_by_name("avx512")) T_EQ_STR(best->name, "avx512");
    else if (lr__kern_by_name("avx2")) T_EQ_STR(best->name, "avx2");
#elif defined(__aarch64__)
    T_EQ_STR(best->name, "neon");
#endif
    T_CHECK(lr__kern_get() == lr__kern_choose(getenv("LOGRISK_ISA")));
    T_EQ_STR(lr_kernel_path(), lr__kern_get()->name);
}

T_MAIN(T_CASE(test_gemm_nt_odd_sizes), T_CASE(test_gemm_nn_odd_sizes),
       T_CASE(test_gemm_tn_odd_sizes), T_CASE(test_gemm_nt_packed_odd_sizes),
       T_CASE(test_gemm_nt_gelu_odd_sizes),
       T_CASE(test_gemm_bert_shapes), T_CASE(test_gemm_empty_k),
       T_CASE(test_threaded_drivers_match_inline), T_CASE(test_threaded_gelu_drivers),
       T_CASE(test_pack_nt_layout),
       T_CASE(test_layernorm_vs_ref), T_CASE(test_gelu_vs_ref_and_libm),
       T_CASE(test_softmax_vs_ref), T_CASE(test_attention_vs_double),
       T_CASE(test_attention_vs_ref), T_CASE(test_attention_edges),
       T_CASE(test_isa_selection))
