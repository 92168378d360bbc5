/*
 * test_score.c — unit tests of the scoring pipeline's parts that need no
 * model: the float formatter and the option checks. The pipeline itself
 * (model, ordering, batching, hostile input, CLI) is tested end to end on
 * the peers' tiny model by tests/score.test.sh.
 */
#include <float.h>
#include <stdint.h>

#include "score.h"
#include "t.h"

static void test_float_shortest(void) {
    static const float values[] = {0.0f, 1.0f, 0.1f, 0.5f, 1.0f / 3.0f, 9.99999e-8f, 123456.789f,
                                   FLT_MIN, FLT_MAX, -2.5e-30f, 0.0909090936f, 5.30682468f};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        lr__buf b;
        lr__buf_init(&b);
        T_EQ_INT(lr__score_put_float(&b, values[i]), 0);
        T_CHECK(strtof(b.data, NULL) == values[i]); /* round-trips */
        /* and no shorter precision would */
        char shorter[320];
        int digits = 0;
        int seen_nonzero = 0; /* significant digits: from the first non-zero one */
        for (const char *p = b.data; *p && *p != 'e'; p++) {
            if (*p >= '1' && *p <= '9') seen_nonzero = 1;
            digits += seen_nonzero && *p >= '0' && *p <= '9';
        }
        if (digits > 1 && values[i] != 0.0f) {
            snprintf(shorter, sizeof shorter, "%.*g", digits - 1, (double)values[i]);
            T_CHECK(strtof(shorter, NULL) != values[i]);
        }
        lr__buf_free(&b);
    }
    lr__buf b;
    lr__buf_init(&b);
    lr__score_put_float(&b, 0.1f);
    T_EQ_STR(b.data, "0.1");
    lr__buf_clear(&b);
    lr__score_put_float(&b, NAN);
    T_EQ_STR(b.data, "null");
    lr__buf_clear(&b);
    lr__score_put_float(&b, -INFINITY);
    T_EQ_STR(b.data, "null");
    lr__buf_free(&b);
}

static void test_opts_defaults(void) {
    lr_score_opts o;
    memset(&o, 0x5a, sizeof o);
    lr_score_opts_init(&o);
    T_EQ_INT(o.batch, 32);
    T_EQ_INT(o.window, 8);
    T_EQ_INT(o.n_threads, 0);
    T_EQ_INT(o.with_logits, 0);
    T_EQ_INT(o.max_line_bytes, LR_SCORE_MAX_LINE_BYTES);
    T_CHECK(o.rules == NULL);
    /* bad options are refused before the model is touched */
    lr_error err = {0};
    T_CHECK(lr_scorer_new(NULL, &o, &err) == NULL);
    T_EQ_INT(err.code, LR_EINVAL);
}

T_MAIN(T_CASE(test_float_shortest), T_CASE(test_opts_defaults))
