/*
 * test_train.c — the trainer's data side: JSONL/CSV loading with risk and
 * named labels, errors with file:line, the seeded split, padded batches and
 * the validation metrics against values worked out by hand (scikit-learn's
 * definitions, see src/train_data.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "train.h"
#include "train_ckpt.h"
#include "train_export.h"
#include "train_data.h"
#include "train_loop.h"

static const char k_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nerror\ndisk\nfull\nok\n";

static char *write_tmp(const char *suffix, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/lr_test_train_%d%s", (int)getpid(), suffix);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_metrics_by_hand(void) {
    lr__metrics m;
    T_EQ_INT(lr__metrics_init(&m, 11, 1, NULL), 0);
    static const int pairs[8][2] = {{0, 0}, {0, 1}, {2, 2}, {7, 7}, {8, 6}, {9, 9}, {7, 8}, {3, 3}};
    for (int i = 0; i < 8; i++) lr__metrics_add(&m, pairs[i][0], pairs[i][1], 0.5 * i);
    lr__metrics_finish(&m);
    T_NEAR(m.accuracy, 5.0 / 8, 1e-12);
    /* F1 per class present: 0: 2/3, 1: 0, 2: 1, 3: 1, 6: 0, 7: 2/3, 8: 0, 9: 1 */
    T_NEAR(m.macro_f1, (2.0 / 3 + 1 + 1 + 2.0 / 3 + 1) / 8, 1e-12);
    T_NEAR(m.hr_precision, 1.0, 1e-12);
    T_NEAR(m.hr_recall, 0.75, 1e-12);
    T_NEAR(m.loss, 0.5 * 28 / 8, 1e-12);
    lr__buf b;
    lr__buf_init(&b);
    T_EQ_INT(lr__metrics_json(&m, NULL, &b), 0);
    T_CHECK(strstr(b.data, "\"accuracy\":0.625") != NULL);
    T_CHECK(strstr(b.data, "\"high_risk_recall\":0.75") != NULL);
    T_CHECK(strstr(b.data, "\"confusion\":[[1,1,0,") != NULL);
    lr__buf_free(&b);
    lr__metrics_reset(&m);
    lr__metrics_finish(&m);
    T_NEAR(m.accuracy, 0.0, 0);
    lr__metrics_free(&m);
}

static void test_split(void) {
    int *tr, *va, ntr, nva, *tr2, *va2, ntr2, nva2;
    T_EQ_INT(lr__train_split(100, 0.1, 0, 7, &tr, &ntr, &va, &nva, NULL), 0);
    T_EQ_INT(ntr, 90);
    T_EQ_INT(nva, 10);
    int seen[100] = {0};
    for (int i = 0; i < ntr; i++) seen[tr[i]]++;
    for (int i = 0; i < nva; i++) seen[va[i]]++;
    for (int i = 0; i < 100; i++) T_EQ_INT(seen[i], 1);
    T_EQ_INT(lr__train_split(100, 0.1, 0, 7, &tr2, &ntr2, &va2, &nva2, NULL), 0);
    T_CHECK(memcmp(va, va2, sizeof(int) * 10) == 0);
    lr__free(tr2), lr__free(va2);
    T_EQ_INT(lr__train_split(100, 0.1, 0, 8, &tr2, &ntr2, &va2, &nva2, NULL), 0);
    T_CHECK(memcmp(va, va2, sizeof(int) * 10) != 0);
    lr__free(tr2), lr__free(va2);
    lr__free(tr), lr__free(va);
    T_EQ_INT(lr__train_split(100, 0.1, 1, 7, &tr, &ntr, &va, &nva, NULL), 0);
    for (int i = 0; i < nva; i++) T_EQ_INT(va[i], 90 + i);
    lr__free(tr), lr__free(va);
    T_EQ_INT(lr__train_split(3, 0.01, 0, 1, &tr, &ntr, &va, &nva, NULL), 0);
    T_EQ_INT(nva, 1);
    lr__free(tr), lr__free(va);
    T_EQ_INT(lr__train_split(10, 1.0, 0, 1, &tr, &ntr, &va, &nva, NULL), LR_EINVAL);
    /* a given count: chronological validates on exactly the last nv (an
     * appended valid_data file); nv must be in [0, n) */
    T_EQ_INT(lr__train_split_count(10, 3, 1, 1, &tr, &ntr, &va, &nva, NULL), 0);
    T_EQ_INT(ntr, 7);
    T_EQ_INT(nva, 3);
    for (int i = 0; i < ntr; i++) T_EQ_INT(tr[i], i);
    for (int i = 0; i < nva; i++) T_EQ_INT(va[i], 7 + i);
    lr__free(tr), lr__free(va);
    T_EQ_INT(lr__train_split_count(10, 10, 1, 1, &tr, &ntr, &va, &nva, NULL), LR_EINVAL);
    T_EQ_INT(lr__train_split_count(10, -1, 1, 1, &tr, &ntr, &va, &nva, NULL), LR_EINVAL);
}

static void test_load_jsonl_risk(void) {
    lr_tok *tok = lr_tok_from_text(k_vocab, sizeof k_vocab - 1, NULL);
    T_CHECK(tok != NULL);
    const char *path = write_tmp(".jsonl",
                                 "{\"text\":\"disk full\",\"label\":9,\"level_raw\":null}\n"
                                 "\n"
                                 "{\"text\":\"ok\",\"label\":\"2\"}\n"
                                 "{\"text\":\"error error error disk\",\"label\":10}\n");
    lr__train_data d;
    lr_error err;
    T_EQ_INT(lr__train_data_load(&d, path, tok, 4, &err), 0);
    T_EQ_INT(d.n, 3);
    T_EQ_INT(d.risk, 1);
    T_EQ_INT(d.n_classes, 11);
    T_EQ_INT(d.label[0], 9);
    T_EQ_INT(d.label[1], 2);
    T_EQ_INT(d.label[2], 10);
    T_EQ_INT(d.line[2], 4);
    /* [CLS] disk full [SEP] */
    T_EQ_INT(d.start[1] - d.start[0], 4);
    T_EQ_INT(d.ids[0], 2);
    T_EQ_INT(d.ids[1], 6);
    T_EQ_INT(d.ids[2], 7);
    T_EQ_INT(d.ids[3], 3);
    T_EQ_INT(d.start[3] - d.start[2], 4); /* cut to max_len */
    int idx[2] = {1, 0}, ids[8], mask[8], labels[2], L;
    lr__train_batch(&d, idx, 2, 0, ids, mask, labels, &L);
    T_EQ_INT(L, 4);
    T_EQ_INT(ids[0], 2);
    T_EQ_INT(ids[1], 8);
    T_EQ_INT(ids[2], 3);
    T_EQ_INT(ids[3], 0);
    T_EQ_INT(mask[2], 1);
    T_EQ_INT(mask[3], 0);
    T_EQ_INT(mask[7], 1);
    T_EQ_INT(labels[0], 2);
    T_EQ_INT(labels[1], 9);
    lr__train_data_free(&d);
    unlink(path);
    lr_tok_free(tok);
}

static void test_load_named_csv(void) {
    lr_tok *tok = lr_tok_from_text(k_vocab, sizeof k_vocab - 1, NULL);
    const char *path = write_tmp(".csv",
                                 "id,text,label\n"
                                 "1,disk full,storage\n"
                                 "2,\"error, ok\",network\n"
                                 "3,ok,storage\n"
                                 "4,error,11\n");
    lr__train_data d;
    lr_error err;
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), 0);
    T_EQ_INT(d.n, 4);
    T_EQ_INT(d.risk, 0);
    T_EQ_INT(d.n_classes, 3); /* byte order: "11", "network", "storage" */
    T_EQ_STR(d.class_names[0], "11");
    T_EQ_STR(d.class_names[1], "network");
    T_EQ_STR(d.class_names[2], "storage");
    T_EQ_INT(d.label[0], 2);
    T_EQ_INT(d.label[1], 1);
    T_EQ_INT(d.label[2], 2);
    T_EQ_INT(d.label[3], 0);
    lr__train_data_free(&d);
    unlink(path);
    lr_tok_free(tok);
}

static void test_load_errors(void) {
    lr_tok *tok = lr_tok_from_text(k_vocab, sizeof k_vocab - 1, NULL);
    lr__train_data d;
    lr_error err;
    const char *path = write_tmp(".jsonl", "{\"text\":\"ok\",\"label\":1}\n{\"text\":\"ok\"}\n");
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, ".jsonl:2:") != NULL);
    path = write_tmp(".jsonl", "{\"text\":\"ok\",\"label\":1}\n{not json}\n");
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, ".jsonl:2:") != NULL);
    path = write_tmp(".jsonl", "\n\n");
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "no examples") != NULL);
    unlink(path);
    path = write_tmp(".csv", "text,risk\nok,1\n");
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "\"label\"") != NULL);
    unlink(path);
    T_EQ_INT(lr__train_data_load(&d, "/nonexistent/x.jsonl", tok, 16, &err), LR_EIO);
    lr_tok_free(tok);
}

static void test_mlm_mask(void) {
    enum { B = 200, L = 100, V = 1000 };
    static int ids[B * L], orig[B * L], mask[B * L], targets[B * L], again[B * L];
    for (int b = 0; b < B; b++)
        for (int j = 0; j < L; j++) {
            int len = 50 + b % 50;
            orig[b * L + j] = j == 0 ? 2 : j == len - 1 ? 3 : j < len ? 10 + (b * 31 + j * 7) % 900 : 0;
            mask[b * L + j] = j < len;
        }
    memcpy(ids, orig, sizeof ids);
    uint64_t rng = 99;
    int n = lr__mlm_mask(ids, mask, B * L, V, 4, 2, 3, 0.15, B * L, &rng, targets);
    long eligible = 0, sel = 0, masked = 0, same = 0, special_hit = 0;
    for (int i = 0; i < B * L; i++) {
        int ok = mask[i] && orig[i] != 2 && orig[i] != 3;
        eligible += ok;
        if (targets[i] < 0) {
            T_CHECK(ids[i] == orig[i]);
            continue;
        }
        sel++;
        special_hit += !ok;
        T_CHECK(targets[i] == orig[i]);
        masked += ids[i] == 4;
        same += ids[i] == orig[i];
    }
    T_EQ_INT(sel, n);
    T_EQ_INT(special_hit, 0);
    T_NEAR((double)sel / eligible, 0.15, 0.01);
    T_NEAR((double)masked / sel, 0.8, 0.03);
    T_NEAR((double)same / sel, 0.1, 0.03); /* kept (a random id rarely equals it) */
    /* determinism */
    memcpy(again, orig, sizeof again);
    rng = 99;
    static int targets2[B * L];
    T_EQ_INT(lr__mlm_mask(again, mask, B * L, V, 4, 2, 3, 0.15, B * L, &rng, targets2), n);
    T_CHECK(memcmp(again, ids, sizeof ids) == 0);
    /* the cap, and at least one target */
    memcpy(ids, orig, sizeof ids);
    T_EQ_INT(lr__mlm_mask(ids, mask, B * L, V, 4, 2, 3, 0.15, 7, &rng, targets), 7);
    memcpy(ids, orig, 4 * sizeof(int));
    T_EQ_INT(lr__mlm_mask(ids, mask, 4, V, 4, 2, 3, 0.0, 10, &rng, targets), 1);
    T_CHECK(targets[0] < 0 && (targets[1] >= 0 || targets[2] >= 0 || targets[3] >= 0));
}

/* Checkpoints: a save/load round trip restores values, moments, step and
 * the caller's state bit for bit; truncation, a flipped byte and another
 * model's layout are rejected without touching the parameters; the
 * temporary file does not survive. */
static void test_checkpoint(void) {
    lr__bert_config c = {40, 16, 1, 2, 32, 8, 2, 11, 8, LR_HEAD_MLP, 1e-12f};
    lr__bert_train m;
    lr_error err;
    T_EQ_INT(lr__bert_train_init(&m, &c, 2, 8, 0, NULL, &err), 0);
    lr__bert_train_init_weights(&m, 5, 0.2f);
    int ids[16] = {2, 5, 6, 3, 0, 0, 0, 0, 2, 7, 8, 9, 10, 3, 0, 0}, mask[16], labels[2] = {3, 9};
    for (int i = 0; i < 16; i++) mask[i] = ids[i] != 0;
    lr__adamw_cfg a = lr__adamw_defaults(1e-2);
    for (int s = 0; s < 2; s++)
        T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, 2, 8, NULL, (uint64_t)s, &a, 1.0, NULL,
                                     NULL, &err),
                 0);
    lr__params *p = &m.params;
    size_t bytes = p->n_floats * sizeof(float);
    float *snap = malloc(3 * bytes);
    memcpy(snap, p->value, bytes);
    memcpy((char *)snap + bytes, p->m, bytes);
    memcpy((char *)snap + 2 * bytes, p->v, bytes);
    char path[256], tmp[300];
    snprintf(path, sizeof path, "/tmp/lr_test_ckpt_%d.bin", (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    long state[3] = {7, 11, 13}, back[3] = {0};
    T_EQ_INT(lr__ckpt_save(path, p, &c, state, sizeof state, &err), 0);
    T_CHECK(access(tmp, F_OK) != 0);
    /* scramble, then restore */
    T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, 2, 8, NULL, 5, &a, 1.0, NULL, NULL, &err), 0);
    T_EQ_INT(p->step, 3);
    T_EQ_INT(lr__ckpt_load(path, p, &c, back, sizeof back, &err), 0);
    T_EQ_INT(p->step, 2);
    T_CHECK(memcmp(back, state, sizeof state) == 0);
    T_CHECK(memcmp(p->value, snap, bytes) == 0);
    T_CHECK(memcmp(p->m, (char *)snap + bytes, bytes) == 0);
    T_CHECK(memcmp(p->v, (char *)snap + 2 * bytes, bytes) == 0);
    /* corruption: flip one byte in the middle */
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(byte ^ 0x40, f);
    fclose(f);
    T_EQ_INT(lr__ckpt_load(path, p, &c, back, sizeof back, &err), LR_ECHECKSUM);
    /* truncation */
    T_EQ_INT(truncate(path, size - 100), 0);
    T_EQ_INT(lr__ckpt_load(path, p, &c, back, sizeof back, &err), LR_EFORMAT);
    T_CHECK(memcmp(p->value, snap, bytes) == 0); /* untouched by the failures */
    /* another model */
    T_EQ_INT(lr__ckpt_save(path, p, &c, state, sizeof state, &err), 0);
    lr__bert_config c2 = c;
    c2.n_labels = 4;
    lr__bert_train m2;
    T_EQ_INT(lr__bert_train_init(&m2, &c2, 2, 8, 0, NULL, &err), 0);
    T_EQ_INT(lr__ckpt_load(path, &m2.params, &c2, back, sizeof back, &err), LR_EINVAL);
    T_EQ_INT(lr__ckpt_load(path, p, &c, back, sizeof back - 1, &err), LR_EINVAL);
    T_EQ_INT(lr__ckpt_load("/nonexistent/ckpt", p, &c, back, sizeof back, &err), LR_EIO);
    lr__bert_train_free(&m2);
    unlink(path);
    free(snap);
    lr__bert_train_free(&m);
}

/* A trained model exported as .lrm gives the inference engine the same
 * logits as the training forward (eval mode, padded batch vs packed), for
 * head type h. Returns 0 when training refuses the head (LR_EUNSUPPORTED),
 * else 1. */
static int export_roundtrip(lr__head_type h) {
    lr__bert_config c = {40, 16, 2, 2, 32, 12, 2, 11, 8, h, 1e-12f};
    lr__bert_train m;
    lr_error err;
    int init_rc = lr__bert_train_init(&m, &c, 2, 10, 0, NULL, &err);
    if (init_rc == LR_EUNSUPPORTED) {
        T_CHECK(strstr(err.msg, lr__head_name(h)) != NULL);
        return 0;
    }
    T_EQ_INT(init_rc, 0);
    if (init_rc) return 1;
    lr__bert_train_init_weights(&m, 8, 0.2f);
    int ids[20] = {2, 5, 6, 7, 3, 0, 0, 0, 0, 0, 2, 9, 10, 11, 12, 13, 14, 15, 16, 3};
    int mask[20], labels[2] = {1, 8};
    for (int i = 0; i < 20; i++) mask[i] = i < 5 || i >= 10;
    lr__adamw_cfg a = lr__adamw_defaults(1e-2);
    for (int s = 0; s < 3; s++) /* move away from the init */
        T_EQ_INT(lr__bert_train_step(&m, ids, mask, labels, 2, 10, NULL, (uint64_t)s, &a, 1.0,
                                     NULL, NULL, &err), 0);
    T_EQ_INT(lr__bert_train_forward(&m, ids, mask, NULL, 2, 10, NULL, 0, 0, NULL, &err), 0);
    float train_logits[22];
    memcpy(train_logits, m.logits.v, sizeof train_logits);
    lr__buf vocab;
    lr__buf_init(&vocab);
    lr__buf_puts(&vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int i = 5; i < 40; i++) lr__buf_printf(&vocab, "w%d\n", i);
    const char *labels_txt[11] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
    lr__model_meta meta = {.labels = labels_txt, .n_labels = 11, .vocab = vocab.data,
                           .vocab_len = vocab.len, .max_len = 10, .source = "test"};
    char path[256];
    snprintf(path, sizeof path, "/tmp/lr_test_export_%d.lrm", (int)getpid());
    int rc = lr__bert_train_export(&m, &meta, path, &err);
    T_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    lr_model *model = lr_model_load(path, &err);
    T_CHECK(model != NULL);
    if (model) {
        lr_model_ctx *ctx = lr_model_ctx_new(model, 64, &err);
        int32_t s0[5] = {2, 5, 6, 7, 3}, s1[10] = {2, 9, 10, 11, 12, 13, 14, 15, 16, 3};
        const int32_t *seqs[2] = {s0, s1};
        int lens[2] = {5, 10};
        float logits[22];
        T_EQ_INT(lr_model_logits(ctx, NULL, seqs, lens, 2, logits, &err), 0);
        for (int i = 0; i < 22; i++)
            T_NEAR(logits[i], train_logits[i], 1e-4 * fabs(train_logits[i]) + 1e-5);
        lr_model_ctx_free(ctx);
        lr_model_free(model);
    }
    unlink(path);
    lr__buf_free(&vocab);
    lr__bert_train_free(&m);
    return 1;
}

/* Every head of the model description trains and exports (the mlp and
 * linear heads at least), except those with an activation the tape lacks
 * (pooler_linear: tanh), which training refuses by name. */
static void test_export_roundtrip(void) {
    int trained = 0;
    for (int h = 0; h < LR_HEAD_COUNT; h++) trained += export_roundtrip((lr__head_type)h);
    T_CHECK(trained >= 2);
    T_EQ_INT(export_roundtrip(LR_HEAD_LINEAR), 1);
    T_EQ_INT(export_roundtrip(LR_HEAD_POOLER_LINEAR), 0);
}

/* The head setting of the training config: a head type by name, anything
 * else an error at its line and column. */
static void test_config_head(void) {
    lr__train_config c;
    lr_error err;
    lr__train_config_defaults(&c);
    T_EQ_INT(c.head, LR_HEAD_DEFAULT);
    static const char good[] = "data: x\nhead: linear\n";
    T_EQ_INT(lr__train_config_parse(&c, good, sizeof good - 1, "h.yaml", &err), 0);
    T_EQ_INT(c.head, LR_HEAD_LINEAR);
    lr__train_config_free(&c);
    lr__train_config_defaults(&c);
    static const char bad[] = "data: x\nhead: pooler\n";
    T_EQ_INT(lr__train_config_parse(&c, bad, sizeof bad - 1, "h.yaml", &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "h.yaml:2:7: head must be") != NULL);
    lr__train_config_free(&c);
}

/* The inner loops learn: a tiny model trained a few epochs on a synthetic
 * four-class risk data set (keyword decides the class, filler words and
 * word order vary) classifies the held-out 20% with accuracy >= 0.9. */
static void test_epochs_learn(void) {
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nkernel\npanic\ndisk\nfull\n"
                                "timeout\npod\nstarted\nnode\nready\non\nat\nthe\nagain\n";
    static const char *const keys[4] = {"kernel panic", "disk full", "timeout", "pod started"};
    static const int risk[4] = {10, 9, 6, 2};
    static const char *const filler[6] = {"node", "ready", "on", "at", "the", "again"};
    lr_tok *tok = lr_tok_from_text(vocab, sizeof vocab - 1, NULL);
    lr__buf text;
    lr__buf_init(&text);
    uint64_t s = 11;
    for (int i = 0; i < 200; i++) {
        int k = i % 4;
        lr__buf_puts(&text, "{\"text\":\"");
        for (int w = 0; w < 5; w++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            if (w == (int)(s >> 61) % 4) lr__buf_printf(&text, "%s ", keys[k]);
            lr__buf_printf(&text, "%s ", filler[(s >> 33) % 6]);
        }
        lr__buf_printf(&text, "%s\",\"label\":%d}\n", keys[k], risk[k]);
    }
    const char *path = write_tmp(".jsonl", text.data);
    lr__buf_free(&text);
    lr__train_data d;
    lr_error err;
    T_EQ_INT(lr__train_data_load(&d, path, tok, 16, &err), 0);
    unlink(path);
    int *tr, *va, ntr, nva;
    T_EQ_INT(lr__train_split(d.n, 0.2, 0, 3, &tr, &ntr, &va, &nva, &err), 0);
    lr__bert_config c = {18, 32, 1, 2, 64, 16, 2, 11, 16, LR_HEAD_MLP, 1e-12f};
    lr__bert_train m;
    T_EQ_INT(lr__bert_train_init(&m, &c, 16, 16, 0, NULL, &err), 0);
    lr__bert_train_init_weights(&m, 2, 0.1f);
    lr__train_opts o = lr__train_opts_defaults();
    o.batch = 16;
    o.lr_encoder = o.lr_head = 3e-3;
    o.seed = 4;
    lr__train_state st;
    lr__train_state_init(&st, ntr, 8, o.batch, 0.1, o.seed);
    T_EQ_INT(st.total_steps, 80);
    T_EQ_INT(st.warmup_steps, 8);
    lr__metrics met;
    T_EQ_INT(lr__metrics_init(&met, d.n_classes, d.risk, &err), 0);
    T_EQ_INT(lr__train_evaluate(&m, &d, va, nva, 16, &met, &err), 0);
    double before = met.loss, first = 0.0, last = 0.0;
    for (int e = 0; e < 8; e++) {
        T_EQ_INT(lr__train_epoch(&m, &d, tr, ntr, &o, &st, &last, &err), 0);
        if (e == 0) first = last;
    }
    T_EQ_INT(st.step, 80);
    T_EQ_INT(lr__train_evaluate(&m, &d, va, nva, 16, &met, &err), 0);
    if (getenv("T_VERBOSE"))
        fprintf(stderr, "    val loss %.3f -> %.3f, train loss %.3f -> %.3f, acc %.3f, hr recall %.3f\n",
                before, met.loss, first, last, met.accuracy, met.hr_recall);
    T_EQ_INT(met.n, nva);
    T_CHECK(met.accuracy >= 0.9);
    T_CHECK(met.loss < 0.5 * before);
    T_CHECK(last < first);
    lr__metrics_free(&met);
    lr__bert_train_free(&m);
    lr__free(tr);
    lr__free(va);
    lr__train_data_free(&d);
    lr_tok_free(tok);
}

/* A train config nested 200,000 levels deep is refused at once, with
 * file:line:column. */
static void test_config_deep_nesting(void) {
    size_t n = 200000;
    char *y = malloc(2 * n + 16);
    int k = sprintf(y, "data: ");
    memset(y + k, '[', n);
    memset(y + k + n, ']', n);
    y[k + 2 * n] = '\0';
    lr__train_config c;
    lr__train_config_defaults(&c);
    lr_error err = {0};
    clock_t t0 = clock();
    int rc = lr__train_config_parse(&c, y, (size_t)k + 2 * n, "deep.yaml", &err);
    double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
    T_CHECK(rc == LR_ERANGE);
    lr__train_config_free(&c);
    T_EQ_STR(err.msg, "deep.yaml:1:70: YAML nested more than 64 levels deep");
    T_CHECK(dt < 1.0);
    free(y);
}

T_MAIN(T_CASE(test_metrics_by_hand), T_CASE(test_split), T_CASE(test_load_jsonl_risk),
       T_CASE(test_load_named_csv), T_CASE(test_load_errors), T_CASE(test_mlm_mask), T_CASE(test_checkpoint), T_CASE(test_export_roundtrip), T_CASE(test_epochs_learn),
       T_CASE(test_config_deep_nesting), T_CASE(test_config_head))
