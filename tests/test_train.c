/*
 * test_train.c — the trainer's data side: JSONL/CSV loading with risk and
 * named labels, errors with file:line, the seeded split, padded batches and
 * the validation metrics against values worked out by hand (scikit-learn's
 * definitions, see src/train_data.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "train_data.h"

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

T_MAIN(T_CASE(test_metrics_by_hand), T_CASE(test_split), T_CASE(test_load_jsonl_risk),
       T_CASE(test_load_named_csv), T_CASE(test_load_errors))
