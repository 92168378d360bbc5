/* Tests of the cold-start load path (lr_model_load_flags, lr_model_verify,
 * lr__lrm_is_mapped) against the fully verified load as the reference.
 *
 * The tiny fixture (tests/fixtures/tiny) is converted to an .lrm once, then:
 *  - a load without the data checksum gives logits identical (bit for bit)
 *    to the verified load, on one line and on a batch;
 *  - a flipped bit in a weight value: the verified load fails with
 *    LR_ECHECKSUM, the fast load succeeds and lr_model_verify reports
 *    LR_ECHECKSUM; a flipped bit in the header still fails both loads
 *    (the structure is always checked);
 *  - unknown flags are LR_EINVAL;
 *  - a memory image (lr_model_load_memory) is never given back with
 *    MADV_DONTNEED: after load its bytes still equal the file's and its
 *    logits the file model's; lr__lrm_is_mapped says which is which;
 *  - lr__bert_pack over a pool packs the same bytes as on one thread;
 *  - the tokenizer's trie table, sized from the token count, grows right. */
#include "../convert/safetensors.h"
#include "format.h"
#include "kern.h"
#include "model.h"
#include "t.h"
#include "tok.h"
#include "util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_DIR "tests/out/coldstart"

static const char *tiny_dir(void) {
    static char path[256];
    snprintf(path, sizeof path, "tests/fixtures/tiny");
    return path;
}

static int read_all(const char *path, lr__buf *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char chunk[1 << 15];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (lr__buf_put(b, chunk, n)) {
            rc = -1;
            break;
        }
    fclose(f);
    return rc;
}

static int write_all(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* The tiny model as an .lrm (made once per run). */
static const char *tiny_lrm(void) {
    static char lrm[256];
    if (lrm[0]) return lrm;
    mkdir("tests/out", 0755);
    mkdir(OUT_DIR, 0755);
    char vocab[256];
    snprintf(vocab, sizeof vocab, OUT_DIR "/vocab_%d.txt", (int)getpid());
    lr__buf b;
    lr__buf_init(&b);
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 512; i++) {
        if (i < 5) lr__buf_printf(&b, "%s\n", specials[i]);
        else lr__buf_printf(&b, "tok%d\n", i);
    }
    int ok = write_all(vocab, b.data, b.len) == 0;
    lr__buf_free(&b);
    snprintf(lrm, sizeof lrm, OUT_DIR "/tiny_%d.lrm", (int)getpid());
    lr_error err = {0};
    lr_convert_options opts = {.vocab_path = vocab, .labels = "a,b,c,d,e,f,g,h,i,j,k"};
    if (!ok || lr_convert_safetensors(tiny_dir(), lrm, &opts, &err) != 0) {
        fprintf(stderr, "  cannot make the tiny model: %s\n", err.msg);
        lrm[0] = '\0';
    }
    unlink(vocab);
    return lrm[0] ? lrm : NULL;
}

/* Logits of a fixed batch (lengths 1, 5, 24 and 64 with [CLS] first). */
#define N_SEQ 4
static int batch_logits(const lr_model *m, float *logits) {
    static const int lens[N_SEQ] = {1, 5, 24, 64};
    int32_t ids[N_SEQ][64];
    const int32_t *rows[N_SEQ];
    for (int s = 0; s < N_SEQ; s++) {
        for (int t = 0; t < lens[s]; t++) ids[s][t] = t == 0 ? 2 : (int32_t)(5 + (s * 131 + t * 17) % 500);
        rows[s] = ids[s];
    }
    lr_error err = {0};
    lr_model_ctx *ctx = lr_model_ctx_new(m, 128, &err);
    if (!ctx) return -1;
    int rc = lr_model_logits(ctx, NULL, rows, lens, N_SEQ, logits, &err);
    lr_model_ctx_free(ctx);
    return rc;
}

static void test_fast_load_same_logits(void) {
    const char *lrm = tiny_lrm();
    T_CHECK(lrm != NULL);
    if (!lrm) return;
    lr_error err = {0};
    lr_model *full = lr_model_load(lrm, &err);
    lr_model *fast = lr_model_load_flags(lrm, LR_MODEL_LOAD_SKIP_DATA_CHECKSUM, &err);
    lr_model *zero = lr_model_load_flags(lrm, 0, &err);
    T_CHECK(full && fast && zero);
    if (full && fast && zero) {
        int C = lr_model_n_labels(full);
        T_EQ_INT(C, 11);
        float a[N_SEQ * 11], b[N_SEQ * 11], c[N_SEQ * 11];
        T_EQ_INT(batch_logits(full, a), 0);
        T_EQ_INT(batch_logits(fast, b), 0);
        T_EQ_INT(batch_logits(zero, c), 0);
        T_CHECK(memcmp(a, b, sizeof a) == 0);
        T_CHECK(memcmp(a, c, sizeof a) == 0);
        T_EQ_INT(lr_model_verify(fast, &err), LR_OK);
        T_EQ_INT(lr_model_verify(full, &err), LR_OK);
    }
    lr_model_free(full);
    lr_model_free(fast);
    lr_model_free(zero);
    T_CHECK(lr_model_load_flags(lrm, 2, &err) == NULL);
    T_EQ_INT(err.code, LR_EINVAL);
    T_EQ_INT(lr_model_verify(NULL, &err), LR_EINVAL);
}

static void test_corrupt_weight_value(void) {
    const char *lrm = tiny_lrm();
    if (!lrm) {
        T_CHECK(lrm != NULL);
        return;
    }
    lr__buf img;
    lr__buf_init(&img);
    T_EQ_INT(read_all(lrm, &img), 0);
    lr_error err = {0};
    lr__lrm *f = lr__lrm_open(lrm, &err);
    T_CHECK(f != NULL);
    if (!f || img.len == 0) {
        lr__lrm_close(f);
        lr__buf_free(&img);
        return;
    }
    /* one bit of the first word embedding value */
    const lr__tensor *t = lr__lrm_tensor(f, "bert.embeddings.word_embeddings.weight");
    T_CHECK(t != NULL);
    uint64_t off = t ? lr__lrm_tensor_offset(f, t) : 0;
    size_t hdr = lr__lrm_data_offset(f);
    lr__lrm_close(f);
    T_CHECK(off >= hdr && off + 4 <= img.len);
    char bad[256];
    snprintf(bad, sizeof bad, OUT_DIR "/bad_%d.lrm", (int)getpid());
    img.data[off + 3] ^= 0x01;
    T_EQ_INT(write_all(bad, img.data, img.len), 0);
    T_CHECK(lr_model_load(bad, &err) == NULL);
    T_EQ_INT(err.code, LR_ECHECKSUM);
    lr_model *fast = lr_model_load_flags(bad, LR_MODEL_LOAD_SKIP_DATA_CHECKSUM, &err);
    T_CHECK(fast != NULL);
    if (fast) {
        T_EQ_INT(lr_model_verify(fast, &err), LR_ECHECKSUM);
        lr_model_free(fast);
    }
    img.data[off + 3] ^= 0x01;
    /* a header byte (inside the metadata, past the fixed fields): both fail */
    img.data[hdr / 2] ^= 0x10;
    T_EQ_INT(write_all(bad, img.data, img.len), 0);
    T_CHECK(lr_model_load(bad, &err) == NULL);
    T_CHECK(lr_model_load_flags(bad, LR_MODEL_LOAD_SKIP_DATA_CHECKSUM, &err) == NULL);
    T_CHECK(err.code != LR_OK);
    unlink(bad);
    lr__buf_free(&img);
}

static void test_memory_image_kept(void) {
    const char *lrm = tiny_lrm();
    if (!lrm) {
        T_CHECK(lrm != NULL);
        return;
    }
    lr__buf img;
    lr__buf_init(&img);
    T_EQ_INT(read_all(lrm, &img), 0);
    /* a 64-byte aligned, page-spanning copy of the file */
    char *raw = lr__malloc(img.len + 64);
    char *mem = raw ? raw + (64 - (uintptr_t)raw % 64) % 64 : NULL;
    T_CHECK(mem != NULL && img.len > 0);
    if (!mem || !img.len) {
        lr__buf_free(&img);
        lr__free(raw);
        return;
    }
    memcpy(mem, img.data, img.len);
    lr_error err = {0};
    lr__lrm *fm = lr__lrm_open(lrm, &err), *mm = lr__lrm_open_memory(mem, img.len, "mem", &err);
    T_CHECK(fm && mm);
    T_EQ_INT(lr__lrm_is_mapped(fm), 1);
    T_EQ_INT(lr__lrm_is_mapped(mm), 0);
    T_EQ_INT(lr__lrm_is_mapped(NULL), 0);
    lr__lrm_close(fm);
    lr__lrm_close(mm);
    lr_model *from_mem = lr_model_load_memory(mem, img.len, "mem", &err);
    lr_model *from_file = lr_model_load_flags(lrm, LR_MODEL_LOAD_SKIP_DATA_CHECKSUM, &err);
    T_CHECK(from_mem && from_file);
    if (from_mem && from_file) {
        float a[N_SEQ * 11], b[N_SEQ * 11];
        T_EQ_INT(batch_logits(from_file, a), 0);
        T_EQ_INT(batch_logits(from_mem, b), 0);
        T_CHECK(memcmp(a, b, sizeof a) == 0);
    }
    /* packing read the image; nothing may have zeroed or changed it */
    T_CHECK(memcmp(mem, img.data, img.len) == 0);
    lr_model_free(from_mem);
    lr_model_free(from_file);
    lr__free(raw);
    lr__buf_free(&img);
}

/* lr__bert_pack over a pool gives the same packed bytes as on one thread. */
static void test_pack_over_pool(void) {
    const char *lrm = tiny_lrm();
    if (!lrm) {
        T_CHECK(lrm != NULL);
        return;
    }
    lr_error err = {0};
    lr__lrm *f = lr__lrm_open(lrm, &err);
    T_CHECK(f != NULL);
    if (!f) return;
    lr__bert_config cfg;
    int max_len;
    T_EQ_INT(lr__model_read_config(f, &cfg, &max_len, &err), 0);
    int n = lr__bert_n_tensors(&cfg);
    const float **tensors = lr__calloc((size_t)n, sizeof *tensors);
    T_CHECK(tensors != NULL);
    for (int i = 0; tensors && i < n; i++) {
        lr__bert_tensor_spec sp;
        lr__bert_tensor_at(&cfg, i, &sp);
        const lr__tensor *t = NULL;
        T_EQ_INT(lr__lrm_expect(f, sp.name, LR_DTYPE_F32, sp.ndim, sp.shape, &t, &err), 0);
        tensors[i] = t ? t->data : NULL;
    }
    lr__bert one = {0}, two = {0};
    lr_pool *pool = lr_pool_new(3, &err);
    T_CHECK(pool != NULL);
    if (tensors && pool && lr__bert_bind(&one, &cfg, tensors, &err) == 0 &&
        lr__bert_bind(&two, &cfg, tensors, &err) == 0) {
        T_EQ_INT(lr__bert_pack(&one, NULL, &err), 0);
        T_EQ_INT(lr__bert_pack(&two, pool, &err), 0);
        for (int l = 0; l < cfg.n_layers; l++) {
            const lr__bert_layer *a = &one.layers[l], *b = &two.layers[l];
            const struct lr__packed *pa[4] = {a->qkv_p, a->ao_p, a->ff1_p, a->ff2_p};
            const struct lr__packed *pb[4] = {b->qkv_p, b->ao_p, b->ff1_p, b->ff2_p};
            for (int w = 0; w < 4; w++) {
                T_CHECK(pa[w] && pb[w]);
                if (!pa[w] || !pb[w]) continue;
                size_t nf = lr__packed_floats(pa[w]->kern->nr, pa[w]->N, pa[w]->K);
                T_CHECK(memcmp(pa[w]->data, pb[w]->data, nf * sizeof(float)) == 0);
            }
        }
    }
    lr__bert_release(&one);
    lr__bert_release(&two);
    lr_pool_free(pool);
    lr__free(tensors);
    lr__lrm_close(f);
}

/* A vocab whose trie outgrows the edge table several times over (few, long
 * tokens: the table starts from the token count and must grow): every
 * token is found at its line, and encoding matches the reference walk. */
static void test_tok_table_growth(void) {
    uint64_t st = 12345;
    lr__buf v;
    lr__buf_init(&v);
    lr__buf_puts(&v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    enum { N_TOK = 400 };
    static char toks[N_TOK][48];
    for (int t = 0; t < N_TOK; t++) {
        int len = 8 + (int)((st >> 40) % 40);
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int p = 0;
        if (t % 3 == 0) p += snprintf(toks[t], sizeof toks[t], "##");
        for (; p < len && p < 46; p++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            toks[t][p] = (char)('a' + (st >> 59) % 4);
        }
        toks[t][p] = '\0';
        lr__buf_printf(&v, "%s\n", toks[t]);
    }
    lr_error err = {0};
    lr_tok *tok = lr_tok_from_text(v.data, v.len, &err);
    T_CHECK(tok != NULL);
    if (tok) {
        int found = 0;
        for (int t = 0; t < N_TOK; t++) {
            int id = lr_tok_id(tok, toks[t], strlen(toks[t]));
            /* a later duplicate wins */
            int last = t;
            for (int u = t + 1; u < N_TOK; u++)
                if (strcmp(toks[u], toks[t]) == 0) last = u;
            found += id == 5 + last;
        }
        T_EQ_INT(found, N_TOK);
        T_EQ_INT(lr_tok_id(tok, "zzz", 3), -1);
        int differ = 0;
        for (int line = 0; line < 300; line++) {
            char text[200];
            int len = 0;
            for (int w = 0; w < 3; w++) {
                const char *src = toks[(line * 7 + w * 13) % N_TOK];
                if (src[0] == '#') src += 2;
                int n = (int)strlen(src);
                int cut = n - line % 5;
                for (int k = 0; k < cut && len < 190; k++) text[len++] = src[k];
                text[len++] = ' ';
            }
            int32_t fast[160], ref[160];
            int nf = lr__tok_encode_with(tok, text, (size_t)len, 160, fast, 0);
            int nr = lr__tok_encode_with(tok, text, (size_t)len, 160, ref, 1);
            differ += nf != nr || memcmp(fast, ref, (size_t)(nf > 0 ? nf : 0) * sizeof fast[0]) != 0;
        }
        T_EQ_INT(differ, 0);
    }
    lr_tok_free(tok);
    lr__buf_free(&v);
}

/* A memory image (the built-in model's way in) is verified at load too:
 * its pages are populated in one call, then hashed; a flipped weight bit is
 * LR_ECHECKSUM, and LR_MODEL_LOAD_NO_VERIFY is the one way past it. */
static void test_memory_image_verified(void) {
    const char *lrm = tiny_lrm();
    T_CHECK(lrm != NULL);
    if (!lrm) return;
    lr__buf img;
    lr__buf_init(&img);
    T_EQ_INT(read_all(lrm, &img), 0);
    char *raw = lr__malloc(img.len + 64);
    char *mem = raw ? raw + (64 - (uintptr_t)raw % 64) % 64 : NULL;
    T_CHECK(mem != NULL);
    if (!mem) {
        lr__buf_free(&img);
        return;
    }
    memcpy(mem, img.data, img.len);
    lr_error err = {0};
    lr_model *m = lr_model_load_memory(mem, img.len, "image", &err);
    T_CHECK(m != NULL);
    lr_model_free(m);
    mem[img.len - 100] ^= 0x04; /* inside the last tensor's data */
    T_CHECK(lr_model_load_memory(mem, img.len, "image", &err) == NULL);
    T_EQ_INT(err.code, LR_ECHECKSUM);
    m = lr_model_load_memory_flags(mem, img.len, "image", LR_MODEL_LOAD_NO_VERIFY, &err);
    T_CHECK(m != NULL);
    if (m) T_EQ_INT(lr_model_verify(m, &err), LR_ECHECKSUM);
    lr_model_free(m);
    lr__free(raw);
    lr__buf_free(&img);
}

T_MAIN(T_CASE(test_fast_load_same_logits), T_CASE(test_corrupt_weight_value),
       T_CASE(test_memory_image_kept), T_CASE(test_pack_over_pool),
       T_CASE(test_tok_table_growth), T_CASE(test_memory_image_verified))
