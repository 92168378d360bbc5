/* Tests of the BERT forward pass, the model API and the safetensors import.
 *
 * Parity: the tiny fixture (tests/fixtures/tiny: HF-layout
 * safetensors + PyTorch float64 logits) is converted with
 * lr_convert_safetensors, loaded with lr_model_load and every batch's logits
 * compared to 1e-4 (sequences unpadded with the attention mask), also with
 * 2 threads, all batches packed in one call, and the [CLS] hidden states.
 * Our own committed fixtures (tests/fixtures/model/, made by
 * tools/make_fixtures.py) cover the single-Linear and pooler heads, F16/BF16
 * import and id2label. `test_model DIR` (used by tests/model_parity.test.sh)
 * checks any fixture directory the same way.
 *
 * Hostile input: safetensors images with a bad header length, offsets past
 * the end, overlaps, gaps, wrong sizes and shapes are all rejected with a
 * message naming the problem. */
#include "../convert/safetensors.h"
#include "format.h"
#include "json.h"
#include "model.h"
#include "t.h"
#include "util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_DIR "tests/out/model"

static int read_all(const char *path, lr__buf *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char chunk[1 << 15];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (lr__buf_put(b, chunk, n)) break;
    fclose(f);
    return 0;
}

static int write_all(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static void out_dir(void) {
    mkdir("tests/out", 0755);
    mkdir(OUT_DIR, 0755);
}

/* A vocab.txt of n lines ([PAD] [UNK] [CLS] [SEP] [MASK] tok5 ...). */
static const char *make_vocab(int n) {
    static char path[256];
    snprintf(path, sizeof path, OUT_DIR "/vocab_%d.txt", n);
    lr__buf b;
    lr__buf_init(&b);
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < n; i++) {
        if (i < 5) lr__buf_printf(&b, "%s\n", specials[i]);
        else lr__buf_printf(&b, "tok%d\n", i);
    }
    write_all(path, b.data, b.len);
    lr__buf_free(&b);
    return path;
}

/* Compare the model converted from `dir` with dir/fixture.json. Returns the
 * max abs logit difference (or +inf when something failed). */
static double check_fixture_dir(const char *dir, const char *vocab, int n_threads) {
    out_dir();
    char path[512], lrm[512];
    snprintf(lrm, sizeof lrm, OUT_DIR "/check_%d.lrm", (int)getpid());
    lr_convert_options opts = {.vocab_path = vocab};
    lr_error err = {0};
    int rc = lr_convert_safetensors(dir, lrm, &opts, &err);
    if (rc) {
        T_FAIL("convert %s: %s", dir, err.msg);
        return INFINITY;
    }
    lr_model *m = lr_model_load(lrm, &err);
    unlink(lrm);
    if (!m) {
        T_FAIL("load: %s", err.msg);
        return INFINITY;
    }
    snprintf(path, sizeof path, "%s/fixture.json", dir);
    lr__buf text;
    lr__buf_init(&text);
    T_EQ_INT(read_all(path, &text), 0);
    lr__json_doc *doc = lr__json_parse(text.data, text.len, 0, &err);
    lr__buf_free(&text);
    if (!doc) {
        T_FAIL("%s: %s", path, err.msg);
        lr_model_free(m);
        return INFINITY;
    }
    const lr__json *batches = lr__json_get(lr__json_root(doc), "batches");
    T_CHECK(batches && batches->n > 0);
    const int C = lr_model_n_labels(m);
    const lr__bert *bert = lr__model_bert(m);
    const int H = bert->cfg.hidden;
    lr_pool *pool = n_threads > 1 ? lr_pool_new(n_threads, &err) : NULL;
    double max_diff = 0, max_cls_diff = 0;
    size_t total_rows = 0, total_tokens = 0;
    for (size_t bi = 0; batches && bi < batches->n; bi++) {
        const lr__json *bt = &batches->items[bi];
        const lr__json *ids = lr__json_get(bt, "input_ids"), *mask = lr__json_get(bt, "attention_mask");
        const lr__json *want = lr__json_get(bt, "logits"), *cls = lr__json_get(bt, "cls_hidden");
        T_CHECK(ids && mask && want && ids->n == mask->n && want->n == ids->n);
        if (!ids || !mask || !want) break;
        int n = (int)ids->n;
        int32_t **rows = calloc((size_t)n, sizeof *rows);
        int *lens = calloc((size_t)n, sizeof *lens);
        int tokens = 0;
        for (int r = 0; r < n; r++) {
            const lr__json *ir = &ids->items[r], *mr = &mask->items[r];
            rows[r] = calloc(ir->n, sizeof(int32_t));
            for (size_t p = 0; p < ir->n; p++) {
                rows[r][p] = (int32_t)ir->items[p].i64;
                if (mr->items[p].i64) {
                    T_EQ_INT(lens[r], (int)p); /* the mask is a prefix */
                    lens[r]++;
                }
            }
            tokens += lens[r];
        }
        lr_model_ctx *ctx = lr_model_ctx_new(m, tokens, &err);
        T_CHECK(ctx != NULL);
        float *logits = calloc((size_t)n * C, sizeof(float));
        float *cls_out = calloc((size_t)n * H, sizeof(float));
        rc = lr_model_logits(ctx, pool, (const int32_t *const *)rows, lens, n, logits, &err);
        if (rc) T_FAIL("logits: %s", err.msg);
        for (int r = 0; r < n; r++)
            for (int k = 0; k < C; k++) {
                double d = fabs(logits[r * C + k] - want->items[r].items[k].num);
                if (d > max_diff) max_diff = d;
            }
        /* The internal forward also gives the final [CLS] hidden state;
         * run it on the unpacked weights (lr_model_logits used the packed). */
        lr__bert plain = *bert;
        plain.layers = calloc((size_t)bert->cfg.n_layers, sizeof *plain.layers);
        for (int l = 0; l < bert->cfg.n_layers; l++) {
            plain.layers[l] = bert->layers[l];
            T_CHECK(bert->layers[l].qkv_p && bert->layers[l].ff2_p);
            plain.layers[l].qkv_p = plain.layers[l].ao_p = NULL;
            plain.layers[l].ff1_p = plain.layers[l].ff2_p = NULL;
        }
        float *plain_logits = calloc((size_t)n * C, sizeof(float));
        lr__bert_scratch *s = lr__bert_scratch_new(&bert->cfg, tokens, &err);
        T_EQ_INT(lr__bert_forward(&plain, s, pool, (const int32_t *const *)rows, lens, n, cls_out, plain_logits, &err), 0);
        for (int r = 0; r < n; r++)
            for (int k = 0; k < C; k++) {
                double d = fabs(plain_logits[r * C + k] - want->items[r].items[k].num);
                if (d > max_diff) max_diff = d;
            }
        free(plain_logits);
        free(plain.layers);
        lr__bert_scratch_free(s);
        for (int r = 0; cls && r < n; r++)
            for (int k = 0; k < H; k++) {
                double d = fabs(cls_out[r * H + k] - cls->items[r].items[k].num);
                if (d > max_cls_diff) max_cls_diff = d;
            }
        /* Row by row (each sequence alone) must give the same logits. */
        for (int r = 0; r < n; r++) {
            float one[256];
            if (C > 256) break;
            T_EQ_INT(lr_model_logits(ctx, pool, (const int32_t *const *)&rows[r], &lens[r], 1, one, &err), 0);
            for (int k = 0; k < C; k++) T_NEAR(one[k], logits[r * C + k], 1e-5);
        }
        total_rows += (size_t)n;
        total_tokens += (size_t)tokens;
        lr_model_ctx_free(ctx);
        free(logits);
        free(cls_out);
        for (int r = 0; r < n; r++) free(rows[r]);
        free(rows);
        free(lens);
    }
    T_CHECK(total_rows > 0);
    if (max_diff > 1e-4) T_FAIL("%s: max |logit diff| %.3g > 1e-4", dir, max_diff);
    if (max_cls_diff > 1e-4) T_FAIL("%s: max |cls hidden diff| %.3g > 1e-4", dir, max_cls_diff);
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "  %s: %zu sequences, %zu tokens, %d threads: max |logit diff| %.3g, "
                "max |cls diff| %.3g\n", dir, total_rows, total_tokens, n_threads, max_diff, max_cls_diff);
    lr_pool_free(pool);
    lr__json_free(doc);
    lr_model_free(m);
    return max_diff;
}

static const char *tiny_dir(void) {
    static char path[256];
    snprintf(path, sizeof path, "tests/fixtures/tiny");
    return path;
}

static void test_tiny_parity(void) {
    out_dir();
    double d = check_fixture_dir(tiny_dir(), make_vocab(512), 1);
    T_CHECK(d <= 1e-4);
}

static void test_tiny_parity_threads(void) {
    out_dir();
    double d = check_fixture_dir(tiny_dir(), make_vocab(512), 2);
    T_CHECK(d <= 1e-4);
}

static void test_own_fixtures(void) {
    static const char *const dirs[] = {"mlp_f16", "linear", "pooler"};
    out_dir();
    for (size_t i = 0; i < LR_ARRAY_LEN(dirs); i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fixtures/model/%s", dirs[i]);
        double d = check_fixture_dir(dir, NULL, 1 + (int)(i % 2));
        T_CHECK(d <= 1e-4);
    }
}

/* Convert the tiny model and check what the API reports about it. */
static void test_model_api(void) {
    out_dir();
    lr_error err = {0};
    lr_convert_options opts = {.vocab_path = make_vocab(512), .labels = "a,b,c,d,e,f,g,h,i,j,k"};
    const char *lrm = OUT_DIR "/api.lrm";
    T_EQ_INT(lr_convert_safetensors(tiny_dir(), lrm, &opts, &err), 0);
    lr_model *m = lr_model_load(lrm, &err);
    T_CHECK(m != NULL);
    if (!m) return;
    lr_model_info info;
    lr_model_get_info(m, &info);
    T_EQ_INT(info.hidden, 32);
    T_EQ_INT(info.n_layers, 2);
    T_EQ_INT(info.n_heads, 2);
    T_EQ_INT(info.intermediate, 64);
    T_EQ_INT(info.vocab_size, 512);
    T_EQ_INT(info.max_positions, 64);
    T_EQ_INT(info.head_hidden, 16);
    T_EQ_STR(info.head, "mlp");
    T_EQ_INT(lr_model_n_labels(m), 11);
    size_t len = 0;
    const char *l = lr_model_label(m, 10, &len);
    T_CHECK(l && len == 1 && l[0] == 'k');
    T_CHECK(lr_model_label(m, 11, &len) == NULL);
    T_EQ_INT(lr_model_max_len(m), 64);
    const char *v = lr_model_vocab_text(m, &len);
    T_CHECK(v && len > 6 && memcmp(v, "[PAD]\n", 6) == 0);
    /* without --rules the built-in seed rules are stored, byte for byte */
    lr_rules *seed = lr_rules_default(&err);
    size_t seed_len = 0, rules_len = 0;
    const char *seed_yaml = seed ? lr_rules_yaml(seed, &seed_len) : NULL;
    const char *rules = lr_model_rules_yaml(m, &rules_len);
    T_CHECK(seed_yaml && rules && rules_len == seed_len && memcmp(rules, seed_yaml, seed_len) == 0);
    lr_rules_free(seed);
    /* errors: too many tokens, bad id, too long, empty */
    lr_model_ctx *ctx = lr_model_ctx_new(m, 100, &err);
    T_CHECK(ctx != NULL);
    int32_t ids[101] = {2, 7, 3};
    const int32_t *rows[2] = {ids, ids};
    int lens[2] = {3, 3};
    float logits[22];
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 2, logits, &err), 0);
    for (int k = 0; k < 11; k++) T_NEAR(logits[k], logits[11 + k], 0);
    ids[1] = 512;
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 1, logits, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "position 1") != NULL);
    ids[1] = -1;
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 1, logits, &err), LR_EINVAL);
    ids[1] = 7;
    lens[0] = 65;
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 1, logits, &err), LR_ERANGE);
    lens[0] = 60;
    lens[1] = 60;
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 2, logits, &err), LR_ERANGE);
    T_CHECK(strstr(err.msg, "more than 100 tokens") != NULL);
    lens[0] = 0;
    T_EQ_INT(lr_model_logits(ctx, NULL, rows, lens, 1, logits, &err), LR_ERANGE);
    lr_model_ctx_free(ctx);
    lr_model_free(m);
    unlink(lrm);
}

/* lr_model_load_memory gives the same logits as lr_model_load; truncated
 * or corrupted model files are refused with a message. */
static void test_load_memory(void) {
    out_dir();
    lr_error err = {0};
    const char *lrm = OUT_DIR "/mem.lrm";
    T_EQ_INT(lr_convert_safetensors("tests/fixtures/model/pooler", lrm, NULL, &err), 0);
    lr__buf b;
    lr__buf_init(&b);
    T_EQ_INT(read_all(lrm, &b), 0);
    unsigned char *img = aligned_alloc(64, (b.len + 63) / 64 * 64);
    memcpy(img, b.data, b.len);
    lr_model *a = lr_model_load(lrm, &err), *m = lr_model_load_memory(img, b.len, "mem", &err);
    T_CHECK(a && m);
    if (a && m) {
        int32_t ids[9] = {2, 17, 250, 4, 99, 3, 8, 1, 3};
        const int32_t *rows[2] = {ids, ids + 3};
        int lens[2] = {9, 6};
        float la[6], lm[6];
        lr_model_ctx *ca = lr_model_ctx_new(a, 64, &err), *cm = lr_model_ctx_new(m, 64, &err);
        T_EQ_INT(lr_model_logits(ca, NULL, rows, lens, 2, la, &err), 0);
        T_EQ_INT(lr_model_logits(cm, NULL, rows, lens, 2, lm, &err), 0);
        for (int k = 0; k < 6; k++) T_NEAR(la[k], lm[k], 0);
        lr_model_ctx_free(ca);
        lr_model_ctx_free(cm);
    }
    lr_model_free(a);
    lr_model_free(m);
    /* truncations and a flipped byte in the tensor data */
    for (size_t cut = 0; cut < b.len; cut += 997) {
        lr_model *t = lr_model_load_memory(img, cut, "cut", &err);
        if (t) T_FAIL("truncated model (%zu of %zu bytes) loaded", cut, b.len);
        lr_model_free(t);
    }
    img[b.len - 100] ^= 0x10;
    m = lr_model_load_memory(img, b.len, "flipped", &err);
    T_CHECK(m == NULL);
    T_CHECK(err.msg[0] != '\0');
    lr_model_free(m);
    free(img);
    lr__buf_free(&b);
    unlink(lrm);
}

/* The forward has three ways to run a call (model_bert.c): alone on the
 * calling thread (under 64 tokens), op by op over the pool (64 up to 48 rows
 * per thread) and fused row blocks (more). Each sequence must get the same
 * logits whichever way its call went and whoever shares the call. */
static void test_paths_agree(void) {
    out_dir();
    lr_error err = {0};
    const char *lrm = OUT_DIR "/paths.lrm";
    lr_convert_options opts = {.vocab_path = make_vocab(512)};
    T_EQ_INT(lr_convert_safetensors(tiny_dir(), lrm, &opts, &err), 0);
    lr_model *m = lr_model_load(lrm, &err);
    T_CHECK(m != NULL);
    if (!m) return;
    enum { N = 14 };
    static const int lens[N] = {1, 2, 5, 9, 17, 30, 31, 40, 63, 64, 7, 12, 50, 33};
    int32_t *ids[N];
    unsigned seed = 12345;
    int total = 0;
    for (int i = 0; i < N; i++) {
        ids[i] = malloc((size_t)lens[i] * sizeof(int32_t));
        for (int p = 0; p < lens[i]; p++) {
            seed = seed * 1103515245u + 12345u;
            ids[i][p] = p == 0 ? 2 : (int32_t)((seed >> 8) % 512);
        }
        total += lens[i];
    }
    lr_model_ctx *ctx = lr_model_ctx_new(m, total, &err);
    lr_pool *pool = lr_pool_new(2, &err);
    float alone[N][11], got[N * 11];
    for (int i = 0; i < N; i++) /* each alone: under 64 tokens runs solo */
        T_EQ_INT(lr_model_logits(ctx, pool, (const int32_t *const *)&ids[i], &lens[i], 1, alone[i], &err), 0);
    /* all together: fused, with and without the pool */
    for (int with_pool = 0; with_pool < 2; with_pool++) {
        T_EQ_INT(lr_model_logits(ctx, with_pool ? pool : NULL, (const int32_t *const *)ids, lens, N, got, &err), 0);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < 11; k++) T_NEAR(got[i * 11 + k], alone[i][k], 2e-5);
    }
    /* groups of 64..95 tokens over 2 threads: the op-by-op path */
    int groups = 0;
    for (int i = 0; i < N;) {
        int j = i, t = 0;
        while (j < N && t < 64) t += lens[j++];
        if (t >= 64 && t < 96) {
            groups++;
            T_EQ_INT(lr_model_logits(ctx, pool, (const int32_t *const *)&ids[i], &lens[i], j - i, got, &err), 0);
            for (int r = i; r < j; r++)
                for (int k = 0; k < 11; k++) T_NEAR(got[(r - i) * 11 + k], alone[r][k], 2e-5);
        }
        i = j;
    }
    T_CHECK(groups >= 2);
    lr_pool_free(pool);
    lr_model_ctx_free(ctx);
    for (int i = 0; i < N; i++) free(ids[i]);
    lr_model_free(m);
    unlink(lrm);
}

/* Label names come from config.json's id2label when there is no --labels. */
static void test_id2label(void) {
    out_dir();
    lr_error err = {0};
    const char *lrm = OUT_DIR "/id2label.lrm";
    T_EQ_INT(lr_convert_safetensors("tests/fixtures/model/mlp_f16", lrm, NULL, &err), 0);
    lr_model *m = lr_model_load(lrm, &err);
    T_CHECK(m != NULL);
    if (!m) return;
    static const char *const want[] = {"noise", "info", "warn", "error", "outage"};
    T_EQ_INT(lr_model_n_labels(m), 5);
    for (int i = 0; i < 5; i++) {
        size_t len = 0;
        const char *l = lr_model_label(m, i, &len);
        T_CHECK(l && len == strlen(want[i]) && memcmp(l, want[i], len) == 0);
    }
    lr_model_free(m);
    T_EQ_INT(lr_convert_safetensors("tests/fixtures/model/linear", lrm, NULL, &err), 0);
    m = lr_model_load(lrm, &err);
    T_CHECK(m != NULL);
    if (m) {
        size_t len = 0;
        const char *l = lr_model_label(m, 10, &len);
        T_CHECK(l && len == 2 && memcmp(l, "10", 2) == 0);
        lr_model_info info;
        lr_model_get_info(m, &info);
        T_EQ_STR(info.head, "linear");
        T_EQ_INT(info.head_hidden, 0);
    }
    lr_model_free(m);
    unlink(lrm);
}

static void test_outputs(void) {
    float logits[3] = {0.0f, (float)log(2.0), (float)log(5.0)}; /* p = 1/8, 2/8, 5/8 */
    float probs[3], score;
    int label;
    lr_model_outputs(logits, 3, probs, &score, &label);
    T_NEAR(probs[0], 0.125, 1e-7);
    T_NEAR(probs[1], 0.25, 1e-7);
    T_NEAR(probs[2], 0.625, 1e-7);
    /* median: cumulative 0.125, 0.375 before class 2, which holds 0.625:
     * 1.5 + (0.5 - 0.375) / 0.625 */
    T_NEAR(score, 1.5 + 0.125 / 0.625, 1e-6);
    T_EQ_INT(label, 2);
    float sure[3] = {-50.0f, 50.0f, -50.0f}; /* all mass on class 1: its centre */
    lr_model_outputs(sure, 3, NULL, &score, &label);
    T_NEAR(score, 1.0, 1e-6);
    float split[3] = {0.0f, -1000.0f, 0.0f}; /* half on 0, half on 2: the edge of class 0 */
    lr_model_outputs(split, 3, NULL, &score, &label);
    T_NEAR(score, 0.5, 1e-6);
    float top[3] = {-1000.0f, -1000.0f, 0.0f}; /* all on the last class: clamped to C - 1 */
    lr_model_outputs(top, 3, NULL, &score, &label);
    T_NEAR(score, 2.0, 1e-6);
    float ties[3] = {1, 1, 0};
    lr_model_outputs(ties, 3, NULL, &score, &label);
    T_EQ_INT(label, 0);
    float big[2] = {1000.0f, -1000.0f};
    lr_model_outputs(big, 2, probs, &score, &label);
    T_NEAR(probs[0], 1.0, 1e-7);
    T_NEAR(score, 0.0, 1e-7);
}

static void test_half_floats(void) {
    T_NEAR(lr__f16_to_f32(0x3C00), 1.0, 0);
    T_NEAR(lr__f16_to_f32(0xC000), -2.0, 0);
    T_NEAR(lr__f16_to_f32(0x7BFF), 65504.0, 0);
    T_NEAR(lr__f16_to_f32(0x0001), 5.960464477539063e-08, 0); /* smallest subnormal */
    T_NEAR(lr__f16_to_f32(0x03FF), 6.097555160522461e-05, 0); /* largest subnormal */
    T_NEAR(lr__f16_to_f32(0x3555), 0.333251953125, 0);
    T_CHECK(isinf(lr__f16_to_f32(0x7C00)));
    T_CHECK(isnan(lr__f16_to_f32(0x7E00)));
    T_CHECK(signbit(lr__f16_to_f32(0x8000)));
    T_NEAR(lr__bf16_to_f32(0x3F80), 1.0, 0);
    T_NEAR(lr__bf16_to_f32(0xC0A0), -5.0, 0);
    T_NEAR(lr__bf16_to_f32(0x3EAB), 0.333984375, 0);
}

/* ------------------------------------------------------ hostile headers */

/* A safetensors image from a header string and data bytes. */
static size_t make_st(unsigned char *out, size_t cap, const char *header, uint64_t claimed_len,
                      size_t data_len) {
    size_t h = strlen(header);
    if (8 + h + data_len > cap) return 0;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(claimed_len >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0x3f, data_len);
    return 8 + h + data_len;
}

static void test_safetensors_hostile(void) {
    static const struct {
        const char *header;
        int64_t claimed; /* -1: the real length */
        size_t data;
        const char *msg;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, NULL},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1 << 30, 8, "header length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", (int64_t)1 << 62, 8, "header length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1, 8, "header length"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 4, "past the end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8, "need 12"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 12, "cover 8 of the 12"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", -1, 12, "overlapping or gap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", -1, 12, "overlapping or gap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", -1, 8, "bad data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", -1, 8, "shape[0]"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,8]}}", -1, 8, "overflows"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", -1, 8, "data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, "duplicate key"},
        {"[1,2]", -1, 0, "start with '{'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", -1, 8, "JSON"},
        {"{\"__metadata__\":{\"k\":1}}", -1, 0, "not a string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,1,1,1,1,1,1,1,1],\"data_offsets\":[0,8]}}", -1, 8, "dimensions"},
    };
    unsigned char img[1024];
    for (size_t i = 0; i < LR_ARRAY_LEN(cases); i++) {
        uint64_t claimed = cases[i].claimed < 0 ? strlen(cases[i].header) : (uint64_t)cases[i].claimed;
        size_t n = make_st(img, sizeof img, cases[i].header, claimed, cases[i].data);
        T_CHECK(n > 0);
        lr_error err = {0};
        lr__safetensors *st = lr__safetensors_parse(img, n, "case", &err);
        if (!cases[i].msg) {
            if (!st) T_FAIL("case %zu rejected: %s", i, err.msg);
            else T_EQ_INT(lr__safetensors_count(st), 1);
        } else if (st) {
            T_FAIL("case %zu accepted (%s)", i, cases[i].msg);
        } else {
            T_EQ_INT(err.code, LR_EFORMAT);
            if (!strstr(err.msg, cases[i].msg)) T_FAIL("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
        }
        lr__safetensors_free(st);
    }
    lr_error err = {0};
    T_CHECK(lr__safetensors_parse(img, 7, "short", &err) == NULL);
    T_CHECK(strstr(err.msg, "too short") != NULL);
}

/* Every truncation of the real file is rejected (or, at full length, read). */
static void test_safetensors_truncations(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tiny_dir());
    lr__buf b;
    lr__buf_init(&b);
    T_EQ_INT(read_all(path, &b), 0);
    lr_error err = {0};
    lr__safetensors *st = lr__safetensors_parse(b.data, b.len, "tiny", &err);
    T_CHECK(st != NULL);
    if (st) T_EQ_INT(lr__safetensors_count(st), 41);
    lr__safetensors_free(st);
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 3) {
        st = lr__safetensors_parse(b.data, cut, "tiny", &err);
        if (st) T_FAIL("truncation to %zu bytes accepted", cut);
        lr__safetensors_free(st);
    }
    lr__buf_free(&b);
}

/* A directory whose config disagrees with the weights, or lacks a vocab. */
static void test_convert_errors(void) {
    out_dir();
    const char *dir = OUT_DIR "/bad_dir";
    mkdir(dir, 0755);
    char src[512], dst[512];
    lr__buf b;
    lr__buf_init(&b);
    snprintf(src, sizeof src, "%s/model.safetensors", tiny_dir());
    T_EQ_INT(read_all(src, &b), 0);
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    T_EQ_INT(write_all(dst, b.data, b.len), 0);
    lr__buf_clear(&b);
    snprintf(src, sizeof src, "%s/config.json", tiny_dir());
    T_EQ_INT(read_all(src, &b), 0);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    T_EQ_INT(write_all(dst, b.data, b.len), 0);
    lr_error err = {0};
    /* no vocab.txt */
    snprintf(dst, sizeof dst, "%s/vocab.txt", dir);
    unlink(dst);
    T_CHECK(lr_convert_safetensors(dir, OUT_DIR "/x.lrm", NULL, &err) != 0);
    T_CHECK(strstr(err.msg, "vocab.txt: missing") && strstr(err.msg, "--vocab"));
    /* a vocab larger than the embedding */
    lr_convert_options o = {.vocab_path = make_vocab(600)};
    T_CHECK(lr_convert_safetensors(dir, OUT_DIR "/x.lrm", &o, &err) != 0);
    T_CHECK(strstr(err.msg, "600 tokens") != NULL);
    o.vocab_path = make_vocab(512);
    o.labels = "a,b";
    T_EQ_INT(lr_convert_safetensors(dir, OUT_DIR "/x.lrm", &o, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "11 outputs") != NULL);
    o.labels = NULL;
    /* a config that disagrees with the tensors' shapes */
    char *p = strstr(b.data, "\"intermediate_size\": 64");
    T_CHECK(p != NULL);
    if (p) {
        memcpy(p, "\"intermediate_size\": 48", 23);
        snprintf(dst, sizeof dst, "%s/config.json", dir);
        T_EQ_INT(write_all(dst, b.data, b.len), 0);
        T_EQ_INT(lr_convert_safetensors(dir, OUT_DIR "/x.lrm", &o, &err), LR_EFORMAT);
        T_CHECK(strstr(err.msg, "bert.encoder.layer.0.intermediate.dense.weight") &&
                strstr(err.msg, "[64,32]") && strstr(err.msg, "[48,32]"));
        memcpy(p, "\"intermediate_size\": 64", 23);
    }
    p = strstr(b.data, "\"hidden_act\": \"gelu\"");
    T_CHECK(p != NULL);
    if (p) {
        memcpy(p, "\"hidden_act\": \"relu\"", 20);
        T_EQ_INT(write_all(dst, b.data, b.len), 0);
        T_EQ_INT(lr_convert_safetensors(dir, OUT_DIR "/x.lrm", &o, &err), LR_EUNSUPPORTED);
        T_CHECK(strstr(err.msg, "relu") != NULL);
    }
    lr__buf_free(&b);
    T_CHECK(lr_convert_safetensors(OUT_DIR "/no_such_dir", OUT_DIR "/x.lrm", &o, &err) != 0);
    T_EQ_INT(err.code, LR_EIO);
}

/* `test_model DIR [VOCAB]`: check one fixture directory (parity script). */
static const char *g_dir, *g_vocab;
static void test_dir_argument(void) {
    double d1 = check_fixture_dir(g_dir, g_vocab, 1);
    double d2 = check_fixture_dir(g_dir, g_vocab, 2);
    printf("parity %s: max |logit diff| %.3g (1 thread), %.3g (2 threads)\n", g_dir, d1, d2);
}

/* ------------------------------------------------- load-time cross-checks */

/* Rewrite the model at src into dst with the vocabulary, rules or label
 * names replaced (NULL: as stored), the tensors copied; returns 0 or an
 * LR_E* code. The writer does not check the parts against each other, so
 * this makes models that contradict themselves. */
static int rewrite_model(const char *src, const char *dst, const char *vocab, const char *rules,
                         const char *const *labels, lr_error *err) {
    lr__lrm *f = lr__lrm_open(src, err);
    if (!f) return err->code;
    lr__bert_config cfg;
    int max_len, rc = lr__model_read_config(f, &cfg, &max_len, err);
    lr__lrm_writer *w = rc ? NULL : lr__lrm_writer_new(err);
    lr__model_meta m = {.cfg = &cfg, .max_len = max_len, .n_labels = (size_t)cfg.n_labels};
    const char *stored[64];
    for (size_t i = 0; !rc && i < m.n_labels && i < 64; i++) {
        size_t len;
        rc = lr__lrm_get_strs_item(f, "model.labels", i, &stored[i], &len, err);
    }
    m.labels = labels ? labels : stored;
    if (!rc) rc = lr__lrm_get_str(f, "tokenizer.vocab", &m.vocab, &m.vocab_len, err);
    if (vocab) m.vocab = vocab, m.vocab_len = strlen(vocab);
    if (rules) m.rules_yaml = rules, m.rules_len = strlen(rules);
    if (!rc && w) rc = lr__model_write_meta(w, &m, err);
    for (size_t i = 0; !rc && i < lr__lrm_n_tensors(f); i++) {
        const lr__tensor *t = lr__lrm_tensor_at(f, i);
        rc = lr__lrm_add_tensor(w, t->name, t->dtype, t->ndim, t->shape, t->data, err);
    }
    if (!rc) rc = lr__lrm_writer_write(w, dst, err);
    lr__lrm_writer_free(w);
    lr__lrm_close(f);
    return rc;
}

/* Every input scores with a model that loads: a model whose parts disagree
 * is refused at load with a message naming what is wrong, instead of
 * failing at the first batch that meets the problem. */
static void test_load_cross_checks(void) {
    out_dir();
    lr_error err = {0};
    lr_convert_options opts = {.vocab_path = make_vocab(512), .labels = "a,b,c,d,e,f,g,h,i,j,k"};
    const char *good = OUT_DIR "/cross.lrm", *bad = OUT_DIR "/cross_bad.lrm";
    T_EQ_INT(lr_convert_safetensors(tiny_dir(), good, &opts, &err), 0);
    lr_model *m = lr_model_load(good, &err);
    T_CHECK(m != NULL);
    lr_model_free(m);

    /* a vocabulary of 600 tokens over a 512-row embedding; a line made of
     * the tokens past row 511 must not load (it used to stop the run) */
    lr__buf v;
    lr__buf_init(&v);
    lr__buf_puts(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int i = 5; i < 600; i++) lr__buf_printf(&v, "word%d\n", i);
    T_EQ_INT(rewrite_model(good, bad, v.data, NULL, NULL, &err), 0);
    m = lr_model_load(bad, &err);
    T_CHECK(m == NULL && err.code == LR_EFORMAT && strstr(err.msg, "600 tokens") && strstr(err.msg, "512 rows"));
    lr_model_free(m);

    /* no [MASK] token */
    lr__buf_clear(&v);
    lr__buf_puts(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\n");
    T_EQ_INT(rewrite_model(good, bad, v.data, NULL, NULL, &err), 0);
    m = lr_model_load(bad, &err);
    T_CHECK(m == NULL && strstr(err.msg, "no [MASK] token"));
    lr_model_free(m);
    lr__buf_free(&v);

    /* stored rules that do not compile */
    T_EQ_INT(rewrite_model(good, bad, NULL, "masks:\n  - {name: x, pattern: 'a(', replace: '<X>'}\n", NULL, &err), 0);
    m = lr_model_load(bad, &err);
    T_CHECK(m == NULL && err.code == LR_EPARSE && strstr(err.msg, "rules.yaml") && strstr(err.msg, ":2:"));
    lr_model_free(m);

    /* stored rules that do: compiled once, kept by the model */
    T_EQ_INT(rewrite_model(good, bad, NULL, "extends: default\nbonus_cap: 4\n", NULL, &err), 0);
    m = lr_model_load(bad, &err);
    T_CHECK(m != NULL && lr_model_rules(m) != NULL);
    lr_model_free(m);

    /* a label name that is not UTF-8 (it is written into JSON) */
    const char *labels[11] = {"a", "b", "c", "d", "e\xff", "f", "g", "h", "i", "j", "k"};
    T_EQ_INT(rewrite_model(good, bad, NULL, NULL, labels, &err), 0);
    m = lr_model_load(bad, &err);
    T_CHECK(m == NULL && strstr(err.msg, "label 4") && strstr(err.msg, "UTF-8"));
    lr_model_free(m);
}

/* The model description (arch.h): every head's tensors follow the
 * encoder's in stage order, PREFIX.weight [out,in] then PREFIX.bias [out],
 * the first stage reading H and the last writing the C labels; only the
 * encoder's Linear weights are stored in a q8/bf16 model's type; the head
 * names round-trip and an unknown one lists them all. */
static void test_description(void) {
    static const char *const mlp[4] = {"classifier.1.weight", "classifier.1.bias",
                                       "classifier.4.weight", "classifier.4.bias"};
    static const char *const pooled[4] = {"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                                          "classifier.weight", "classifier.bias"};
    const struct {
        lr__head_type h;
        int n;
        const char *const *names;
        int64_t w0[2], w_last[2];
    } want[] = {
        {LR_HEAD_MLP, 4, mlp, {7, 32}, {5, 7}},
        {LR_HEAD_POOLER_LINEAR, 4, pooled, {32, 32}, {5, 32}},
        {LR_HEAD_LINEAR, 2, pooled + 2, {5, 32}, {5, 32}},
    };
    for (size_t w = 0; w < LR_ARRAY_LEN(want); w++) {
        lr__bert_config c = {100, 32, 3, 4, 64, 16, 2, 5, 7, want[w].h, 1e-12f};
        T_EQ_INT(lr__bert_config_check(&c, NULL), 0);
        const int h0 = lr__bert_head_tensor0(&c);
        T_EQ_INT(h0, 5 + 3 * 16);
        T_EQ_INT(lr__bert_n_tensors(&c), h0 + want[w].n);
        int typed = 0;
        for (int i = 0; i < lr__bert_n_tensors(&c); i++) {
            lr__bert_tensor_spec sp;
            lr__bert_tensor_at(&c, i, &sp);
            typed += lr__bert_tensor_is_quantized(&sp);
            if (i < h0) {
                T_CHECK(sp.part != LR_PART_HEAD);
                continue;
            }
            T_CHECK(sp.part == LR_PART_HEAD);
            T_EQ_STR(sp.name, want[w].names[i - h0]);
            T_EQ_INT(sp.ndim, (i - h0) % 2 ? 1 : 2);
            const int64_t *shape = i == h0 ? want[w].w0 : want[w].w_last;
            if (i == h0 || i == h0 + want[w].n - 2) {
                T_EQ_INT(sp.shape[0], shape[0]);
                T_EQ_INT(sp.shape[1], shape[1]);
            }
        }
        T_EQ_INT(typed, 3 * 6); /* q, k, v, attention output, intermediate, output */
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&c, lr__bert_layer_tensor(2, LR_LT_FF2W), &sp);
        T_EQ_STR(sp.name, "bert.encoder.layer.2.output.dense.weight");
        T_CHECK(sp.shape[0] == 32 && sp.shape[1] == 64 && sp.layer == 2 && sp.slot == LR_LT_FF2W);
        T_EQ_INT(lr__head_uses_hidden(&c), want[w].h == LR_HEAD_MLP);
        lr__head_type back;
        const char *name = lr__head_name(want[w].h);
        T_EQ_INT(lr__head_parse(name, strlen(name), &back, NULL), 0);
        T_EQ_INT(back, want[w].h);
    }
    lr_error err;
    lr__head_type back;
    T_EQ_INT(lr__head_parse("pooler", 6, &back, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "mlp, linear, pooler_linear") != NULL);
    lr__bert_config bad = {100, 32, 3, 4, 64, 16, 2, 5, 0, LR_HEAD_MLP, 1e-12f};
    T_EQ_INT(lr__bert_config_check(&bad, &err), LR_EFORMAT); /* the MLP head needs its width */
    T_CHECK(strstr(err.msg, "head_hidden") != NULL);
    bad.head = LR_HEAD_COUNT;
    T_EQ_INT(lr__bert_config_check(&bad, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "unknown head type") != NULL);
    /* the inference activations */
    float x[3] = {-1.5f, 0.0f, 2.0f};
    lr__act_apply(LR_ACT_RELU, x, 3);
    T_CHECK(x[0] == 0.0f && x[1] == 0.0f && x[2] == 2.0f);
    lr__act_apply(LR_ACT_TANH, x, 3);
    T_NEAR(x[2], tanh(2.0), 1e-6);
    T_EQ_STR(lr__act_onnx_op(LR_ACT_TANH), "Tanh");
    T_CHECK(lr__act_onnx_op(LR_ACT_NONE) == NULL);
}

static const t_case cases[] = {
    T_CASE(test_description),
    T_CASE(test_tiny_parity),         T_CASE(test_tiny_parity_threads),
    T_CASE(test_own_fixtures),        T_CASE(test_model_api),
    T_CASE(test_load_memory),         T_CASE(test_paths_agree),
    T_CASE(test_id2label),
    T_CASE(test_outputs),
    T_CASE(test_half_floats),
    T_CASE(test_safetensors_hostile), T_CASE(test_safetensors_truncations),
    T_CASE(test_convert_errors),
    T_CASE(test_load_cross_checks),
};

int main(int argc, char **argv) {
    struct stat sb;
    if (argc >= 2 && stat(argv[1], &sb) == 0 && S_ISDIR(sb.st_mode)) {
        g_dir = argv[1];
        g_vocab = argc >= 3 ? argv[2] : NULL;
        static const t_case one[] = {T_CASE(test_dir_argument)};
        return t__run(one, 1, 1, argv);
    }
    return t__run(cases, LR_ARRAY_LEN(cases), argc, argv);
}
