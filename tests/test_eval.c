/*
 * test_eval.c — the metrics of `logrisk eval` against values worked out by
 * hand, and the gold file reader's errors.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "eval.h"
#include "t.h"

#define OUT_DIR "tests/out/test_eval"

/* gold 0 2 7 9, scores 1 3 2 9, labels 1 3 2 9, confidences .9 .6 .4 .8:
 *  ranks of the scores 1 3 2 4, d = 0 -1 1 0: Spearman 1 - 6*2/(4*15) = 0.8;
 *  pairs: 5 concordant, 1 discordant ((2,3) against (7,2)): tau-b 4/6;
 *  positives (gold >= 7) score 2 and 9, negatives 1 and 3: 3 of 4 pairs
 *  won, AUC 0.75; MAE (1+1+5+0)/4 = 1.75; exact 1/4, within one 3/4;
 *  label >= 7 only for the last event, which is right: precision 1, recall
 *  1/2; one event per confidence bin, only the 0.8 one right:
 *  ECE (0.9 + 0.6 + 0.4 + 0.2)/4 = 0.525. */
static void test_metrics_by_hand(void) {
    const lr_eval_item items[] = {
        {.gold = 0, .score = 1, .label = 1, .confidence = 0.9},
        {.gold = 2, .score = 3, .label = 3, .confidence = 0.6},
        {.gold = 7, .score = 2, .label = 2, .confidence = 0.4},
        {.gold = 9, .score = 9, .label = 9, .confidence = 0.8},
    };
    lr_eval_metrics m;
    T_EQ_INT(lr_eval_compute(items, 4, &m), 0);
    T_EQ_INT(m.n, 4);
    T_EQ_INT(m.n_pos, 2);
    T_NEAR(m.spearman, 0.8, 1e-12);
    T_NEAR(m.kendall, 4.0 / 6.0, 1e-12);
    T_NEAR(m.auc, 0.75, 1e-12);
    T_NEAR(m.mae, 1.75, 1e-12);
    T_NEAR(m.exact, 0.25, 1e-12);
    T_NEAR(m.within_one, 0.75, 1e-12);
    T_NEAR(m.precision, 1.0, 1e-12);
    T_NEAR(m.recall, 0.5, 1e-12);
    T_NEAR(m.ece, 0.525, 1e-12);
}

/* Ties: gold 1 1 2 and scores .5 .5 .7 rank alike (Spearman 1); tau-b
 * (2 - 0) / sqrt((3 - 1)(3 - 1)) = 1; a tied positive and negative count one
 * half (AUC 0.5 for scores 4 4 with gold 8 and 1). */
static void test_ties(void) {
    const lr_eval_item a[] = {
        {.gold = 1, .score = 0.5, .label = 1, .confidence = -1},
        {.gold = 1, .score = 0.5, .label = 1, .confidence = -1},
        {.gold = 2, .score = 0.7, .label = 2, .confidence = -1},
    };
    lr_eval_metrics m;
    T_EQ_INT(lr_eval_compute(a, 3, &m), 0);
    T_NEAR(m.spearman, 1.0, 1e-12);
    T_NEAR(m.kendall, 1.0, 1e-12);
    T_CHECK(isnan(m.auc));       /* no event with gold >= 7 */
    T_CHECK(isnan(m.ece));       /* no probabilities */
    T_CHECK(isnan(m.precision)); /* nothing predicted >= 7 */
    const lr_eval_item b[] = {
        {.gold = 8, .score = 4, .label = 4, .confidence = -1},
        {.gold = 1, .score = 4, .label = 4, .confidence = -1},
    };
    T_EQ_INT(lr_eval_compute(b, 2, &m), 0);
    T_NEAR(m.auc, 0.5, 1e-12);
    T_CHECK(isnan(m.spearman)); /* a constant side has no rank correlation */
}

/* Reversed order gives -1 for both rank correlations and AUC 0. */
static void test_reversed(void) {
    lr_eval_item it[11];
    for (int i = 0; i <= 10; i++) it[i] = (lr_eval_item){.gold = i, .score = 10 - i, .label = 10 - i, .confidence = -1};
    lr_eval_metrics m;
    T_EQ_INT(lr_eval_compute(it, 11, &m), 0);
    T_NEAR(m.spearman, -1.0, 1e-12);
    T_NEAR(m.kendall, -1.0, 1e-12);
    T_NEAR(m.auc, 0.0, 1e-12);
    T_NEAR(m.exact, 1.0 / 11.0, 1e-12); /* only 5 == 5 */
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    T_CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_gold_file(void) {
    mkdir("tests/out", 0755);
    mkdir(OUT_DIR, 0755);
    const char *path = OUT_DIR "/gold.jsonl";
    write_file(path, "{\"text\":\"kernel panic\",\"risk\":10,\"split\":\"test\",\"origin\":\"a\"}\n"
                     "\n"
                     "{\"text\":\"a\\nb\",\"risk\":0,\"split\":\"train\"}\r\n"
                     "{\"text\":\"disk full\",\"risk\":9,\"split\":\"test\",\"origin\":\"b\"}");
    lr_eval_gold g;
    lr_error err = {0};
    T_EQ_INT(lr_eval_gold_load(path, NULL, "origin", &g, &err), 0);
    T_EQ_INT(g.n, 3);
    if (g.n == 3) {
        T_EQ_STR(g.events[1].text, "a\nb");
        T_EQ_STR(g.events[1].group, "all");
        T_EQ_INT(g.events[1].line, 3);
        T_EQ_INT(g.events[2].gold, 9);
        T_EQ_STR(g.events[2].group, "b");
    }
    lr_eval_gold_free(&g);
    T_EQ_INT(lr_eval_gold_load(path, "test", "origin", &g, &err), 0);
    T_EQ_INT(g.n, 2);
    lr_eval_gold_free(&g);
    T_CHECK(lr_eval_gold_load(path, "dev", NULL, &g, &err) < 0);
    T_CHECK(strstr(err.msg, "no gold events") != NULL);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{\"text\":\"x\",\"risk\":1}\n{\"text\":\"y\"}\n", "gold.jsonl:2: \"risk\" must be"},
        {"{\"text\":\"x\",\"risk\":11}\n", ":1: \"risk\" must be a whole number from 0 to 10"},
        {"{\"text\":\"x\",\"risk\":3.5}\n", ":1: \"risk\" must be"},
        {"{\"text\":\"x\",\"risk\":-1}\n", ":1: \"risk\" must be"},
        {"{\"text\":\"x\",\"risk\":\"7\"}\n", ":1: \"risk\" must be"},
        {"{\"risk\":7}\n", ":1: no \"text\" string"},
        {"{\"text\":7,\"risk\":7}\n", ":1: no \"text\" string"},
        {"[1,2]\n", ":1: a gold line must be a JSON object"},
        {"{\"text\":\"x\",\"risk\":1}\n\n{\"text\":\"x\",\"risk\":1\n", ":3: not JSON"},
        {"", "no gold events"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].text);
        memset(&err, 0, sizeof err);
        int rc = lr_eval_gold_load(path, NULL, NULL, &g, &err);
        T_CHECK(rc < 0);
        if (!strstr(err.msg, bad[i].msg)) T_FAIL("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
        T_CHECK(g.n == 0 && g.events == NULL);
    }
    T_CHECK(lr_eval_gold_load(OUT_DIR "/missing.jsonl", NULL, NULL, &g, &err) == LR_EIO);
    T_CHECK(lr_eval_gold_load(OUT_DIR, NULL, NULL, &g, &err) == LR_EIO); /* a directory */
}

T_MAIN(T_CASE(test_metrics_by_hand), T_CASE(test_ties), T_CASE(test_reversed), T_CASE(test_gold_file))
