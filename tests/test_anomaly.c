/*
 * test_anomaly.c — the sequence anomaly detector (src/anomaly.c) and its
 * LSTM op (src/tape_lstm.c).
 *
 *  - the LSTM op's backward against central finite differences, with the
 *    harness and tolerances of grad_util.h (a stacked pair of layers and the
 *    last-step gather, as the model uses them), and its forward against a
 *    value computed by hand;
 *  - the detector on a synthetic cyclic grammar: trained in about a second,
 *    it must pass every normal session and flag a swapped event, an unknown
 *    event and a session cut short, at the right position, with the
 *    evidence in the alert;
 *  - the model file: a round trip gives the same verdicts, and hostile
 *    files (truncated, flipped bits, wrong keys, shapes, names, values) are
 *    rejected with a message naming what is wrong;
 *  - the session readers: JSONL, DeepLog keys and log lines with an id
 *    pattern and windows.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "anomaly.h"
#include "format.h"
#include "t.h"
#define T_GRAD_SEED 7
#include "grad_util.h"
#include "tape.h"
#include "util.h"

/* ------------------------------------------------------------ LSTM op */

enum { LB = 2, LT = 4, LI = 3, LH = 5 };

static lr__var g_lstm(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    return lr__op_lstm(t, TV(in[0]), TV(in[1]), TV(in[2]), TV(in[3]), LB, LT, LI, LH);
}

static void test_lstm_backward(void) {
    buf in[4] = {buf_new(LB * LT * LI, -1, 1), buf_new(4 * LH * LI, -0.8f, 0.8f),
                 buf_new(4 * LH * LH, -0.8f, 0.8f), buf_new(4 * LH, -0.5f, 0.5f)};
    harness h = {.fn = g_lstm, .in = in, .n_in = 4, .reach = 1};
    T_EQ_INT(check_grads(&h, NULL), 0);
    free_inputs(in, 4);
}

/* Two stacked layers and the gather of each sequence's last step, as the
 * model builds them: gradients flow through the recurrence of both. */
static const int last_rows[LB] = {LT - 1, 2 * LT - 1};

static lr__var g_stack(lr__tape *t, buf *in, void *ctx) {
    (void)ctx;
    lr__var h1 = lr__op_lstm(t, TV(in[0]), TV(in[1]), TV(in[2]), TV(in[3]), LB, LT, LI, LH);
    lr__var h2 = lr__op_lstm(t, h1, TV(in[4]), TV(in[5]), TV(in[6]), LB, LT, LH, LH);
    return lr__op_gather(t, h2, LB * LT, LH, last_rows, LB, -1);
}

static void test_lstm_stacked_backward(void) {
    buf in[7] = {buf_new(LB * LT * LI, -1, 1),   buf_new(4 * LH * LI, -0.8f, 0.8f),
                 buf_new(4 * LH * LH, -0.8f, 0.8f), buf_new(4 * LH, -0.5f, 0.5f),
                 buf_new(4 * LH * LH, -0.8f, 0.8f), buf_new(4 * LH * LH, -0.8f, 0.8f),
                 buf_new(4 * LH, -0.5f, 0.5f)};
    harness h = {.fn = g_stack, .in = in, .n_in = 7, .reach = 1};
    T_EQ_INT(check_grads(&h, NULL), 0);
    free_inputs(in, 7);
}

/* The checker fails a wrong backward: the recurrent weight the LSTM's
 * backward reads is swapped for another of the same shape after the
 * forward. */
static buf decoy;

static lr__var g_wrong(lr__tape *t, buf *in, void *ctx) {
    lr__var y = g_lstm(t, in, ctx);
    if (!t->planning && t->n_ops > 0) t->ops[t->n_ops - 1].b.v = decoy.v;
    return y;
}

static void test_lstm_checker_can_fail(void) {
    buf in[4] = {buf_new(LB * LT * LI, -1, 1), buf_new(4 * LH * LI, -0.8f, 0.8f),
                 buf_new(4 * LH * LH, -0.8f, 0.8f), buf_new(4 * LH, -0.5f, 0.5f)};
    decoy = buf_new(4 * LH * LH, -0.8f, 0.8f);
    int before = t__failed_checks;
    harness h = {.fn = g_wrong, .in = in, .n_in = 4, .reach = 1};
    int bad = check_grads(&h, NULL);
    t__failed_checks = before;
    T_CHECK(bad > 0);
    buf_free(&decoy);
    free_inputs(in, 4);
}

/* One unit, two steps, by hand: gates i f g o from x W_ih + h W_hh + b. */
static void test_lstm_forward_value(void) {
    float x[2] = {0.5f, -1.0f}, wih[4] = {0.1f, 0.2f, 0.3f, 0.4f}, whh[4] = {-0.3f, 0.5f, 0.2f, 0.1f},
          b[4] = {0.0f, 1.0f, -0.1f, 0.2f};
    lr__var X = {x, NULL, 2}, Wi = {wih, NULL, 4}, Wh = {whh, NULL, 4}, Bv = {b, NULL, 4};
    lr__tape t;
    lr__tape_init(&t, NULL);
    lr__tape_plan_begin(&t);
    lr__op_lstm(&t, X, Wi, Wh, Bv, 1, 2, 1, 1);
    T_EQ_INT(lr__tape_plan_end(&t, NULL), 0);
    lr__tape_begin(&t, 0);
    lr__var h = lr__op_lstm(&t, X, Wi, Wh, Bv, 1, 2, 1, 1);
    double hp = 0, cp = 0;
    for (int s = 0; s < 2; s++) {
        double z[4];
        for (int g = 0; g < 4; g++) z[g] = x[s] * wih[g] + hp * whh[g] + b[g];
        double i = 1 / (1 + exp(-z[0])), f = 1 / (1 + exp(-z[1])), gg = tanh(z[2]),
               o = 1 / (1 + exp(-z[3]));
        cp = f * cp + i * gg;
        hp = o * tanh(cp);
        T_NEAR(h.v[s], hp, 1e-6);
    }
    lr__tape_free(&t);
}

/* ------------------------------------------------------------ synthetic grammar */

/* Normal sessions: "open", then 1..4 rounds of (read|write) "sync", then
 * "close"; the choice read/write and the number of rounds vary. */
static void add_session(lr_sessions *s, const char *id, const char *const *ev, int n, int label) {
    lr_error err;
    for (int i = 0; i < n; i++)
        T_EQ_INT(lr_sessions_add(s, id, strlen(id), ev[i], strlen(ev[i]), (uint64_t)(i + 1), NULL, 0, &err), 0);
    T_EQ_INT(lr_sessions_set_label(s, id, strlen(id), label, &err), 0);
}

static int normal_session(uint64_t seed, const char **ev) {
    int n = 0, rounds = 1 + (int)(seed % 4);
    ev[n++] = "open";
    for (int r = 0; r < rounds; r++) {
        ev[n++] = (seed >> (3 + r)) & 1 ? "read" : "write";
        ev[n++] = "sync";
    }
    ev[n++] = "close";
    return n;
}

static lr_anomaly *grammar_model_arch(int arch) {
    lr_error err;
    lr_sessions *s = lr_sessions_new(&err);
    for (int i = 0; i < 200; i++) {
        const char *ev[16];
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        add_session(s, id, ev, normal_session((uint64_t)i * 2654435761u, ev), 0);
    }
    lr_anomaly_opts o;
    lr_anomaly_opts_init(&o);
    o.window = 4;
    o.embed = 8;
    o.hidden = 16;
    o.layers = 1;
    o.epochs = 15;
    o.cap = 0;
    o.batch = 16;
    o.lr = 1e-2;
    o.holdout = 0.1;
    o.threads = 1;
    if (arch) {
        o.arch = arch;
        o.heads = 2;
        o.lr = 3e-3;
    }
    lr_anomaly *m = lr_anomaly_train(s, &o, NULL, NULL, &err);
    if (!m) T_FAIL("train: %s", err.msg);
    lr_sessions_free(s);
    return m;
}

static lr_anomaly *grammar_model(void) { return grammar_model_arch(0); }

typedef struct seen {
    int n, anomalous[8], position[8], rank[8];
    char json[8][2048];
} seen;

static int collect(void *user, const lr_anomaly_verdict *v) {
    seen *c = user;
    if (c->n < 8) {
        c->anomalous[c->n] = v->anomalous;
        c->position[c->n] = v->position;
        c->rank[c->n] = v->rank;
        snprintf(c->json[c->n], sizeof c->json[0], "%.*s", (int)v->json_len, v->json);
    }
    c->n++;
    return 0;
}

static lr_sessions *test_sessions(void) {
    lr_error err;
    lr_sessions *s = lr_sessions_new(&err);
    static const char *const ok1[] = {"open", "read", "sync", "close"};
    static const char *const ok2[] = {"open", "write", "sync", "read", "sync", "write", "sync", "close"};
    static const char *const swapped[] = {"open", "read", "sync", "write", "close", "sync"};
    static const char *const unknown[] = {"open", "read", "sync", "explode", "close"};
    static const char *const cut[] = {"open", "write", "sync", "read"};
    add_session(s, "ok1", ok1, 4, 0);
    add_session(s, "ok2", ok2, 8, 0);
    add_session(s, "swapped", swapped, 6, 1);
    add_session(s, "unknown", unknown, 5, 1);
    add_session(s, "cut", cut, 4, 1);
    return s;
}

/* Under top-p 0.99 the verdicts are exact: a legal next event has at
 * least a fifth of the probability here, an illegal one almost none. */
static void check_grammar_verdicts(const lr_anomaly *m) {
    lr_sessions *s = test_sessions();
    lr_error err;
    seen c = {0};
    T_EQ_INT(lr_anomaly_detect(m, s, 1, 1, collect, &c, &err), 0);
    T_EQ_INT(c.n, 5);
    T_EQ_INT(c.anomalous[0], 0);
    T_EQ_INT(c.anomalous[1], 0);
    T_EQ_INT(c.position[0], -1);
    T_CHECK(strstr(c.json[0], "\"anomalous\":false") != NULL);
    /* swapped: "close" right after "write" (no sync) at position 4 */
    T_EQ_INT(c.anomalous[2], 1);
    T_EQ_INT(c.position[2], 4);
    if (c.position[2] != 4) fprintf(stderr, "  %s\n", c.json[2]);
    T_CHECK(c.rank[2] > 1);
    T_CHECK(strstr(c.json[2], "\"event\":\"close\"") != NULL);
    T_CHECK(strstr(c.json[2], "\"expected\":[{\"event\":\"sync\"") != NULL);
    T_CHECK(strstr(c.json[2], "\"context\":[\"open\",\"read\",\"sync\",\"write\"]") != NULL);
    T_CHECK(strstr(c.json[2], "\"lines\":[1,2,3,4,5]") != NULL);
    /* an event never seen: rank 0, known false */
    T_EQ_INT(c.anomalous[3], 1);
    T_EQ_INT(c.position[3], 3);
    T_EQ_INT(c.rank[3], 0);
    T_CHECK(strstr(c.json[3], "\"known\":false") != NULL);
    /* cut short: the end is unexpected, at the session's length */
    T_EQ_INT(c.anomalous[4], 1);
    T_EQ_INT(c.position[4], 4);
    T_CHECK(strstr(c.json[4], "\"event\":\"<end>\"") != NULL);
    /* only the anomalous ones without `all` */
    seen d = {0};
    T_EQ_INT(lr_anomaly_detect(m, s, 0, 1, collect, &d, &err), 0);
    T_EQ_INT(d.n, 3);
    lr_sessions_free(s);
}

static void test_grammar(void) {
    lr_anomaly *m = grammar_model();
    if (!m) return;
    /* chosen on held-out normal sessions: after "sync" three events are
     * legal (read, write, close), so k is 3 */
    T_EQ_INT(lr_anomaly_top_k(m), 3);
    lr_sessions *s = test_sessions();
    lr_error err;
    seen c = {0};
    T_EQ_INT(lr_anomaly_detect(m, s, 1, 1, collect, &c, &err), 0);
    T_EQ_INT(c.anomalous[0] + c.anomalous[1], 0);
    T_EQ_INT(c.anomalous[3], 1);
    T_EQ_INT(c.position[3], 3);
    lr_sessions_free(s);
    T_EQ_INT(lr_anomaly_set_judgement(m, 1, 0.99, &err), 0);
    check_grammar_verdicts(m);
    T_EQ_INT(lr_anomaly_set_judgement(m, 0, 0, &err), LR_EINVAL);
    T_EQ_INT(lr_anomaly_set_judgement(m, 1, 1.0, &err), LR_EINVAL);
    lr_anomaly_free(m);
}

static const char *tmp_path(const char *name) {
    static char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/lr_test_anomaly_%d_%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
    return path;
}

/* The transformer variant learns the same grammar, and its file round
 * trip keeps every verdict. */
static void test_grammar_transformer(void) {
    lr_anomaly *m = grammar_model_arch(1);
    if (!m) return;
    lr_error err;
    T_EQ_INT(lr_anomaly_top_k(m), 3);
    T_EQ_INT(lr_anomaly_set_judgement(m, 1, 0.99, &err), 0);
    check_grammar_verdicts(m);
    const char *path = tmp_path("tf.lrm");
    T_EQ_INT(lr_anomaly_save(m, path, &err), 0);
    lr_anomaly *m2 = lr_anomaly_load(path, &err);
    T_CHECK(m2 != NULL);
    if (m2) {
        T_EQ_INT(lr_anomaly_set_judgement(m2, 1, 0.99, &err), 0);
        check_grammar_verdicts(m2);
    }
    lr_anomaly_free(m2);
    lr_anomaly_free(m);
    unlink(path);
}

/* ------------------------------------------------------------ model file */


static void test_file_round_trip(void) {
    lr_anomaly *m = grammar_model();
    if (!m) return;
    lr_error err;
    const char *path = tmp_path("rt.lrm");
    T_EQ_INT(lr_anomaly_save(m, path, &err), 0);
    lr_anomaly *m2 = lr_anomaly_load(path, &err);
    T_CHECK(m2 != NULL);
    if (m2) {
        T_EQ_INT(lr_anomaly_top_k(m2), lr_anomaly_top_k(m));
        T_EQ_INT(lr__anomaly_n_events(m2), lr__anomaly_n_events(m));
        lr_sessions *s = test_sessions();
        int r1[5], r2[5];
        float p1[5], p2[5];
        T_EQ_INT(lr__anomaly_session_scores(m, s, 1, r1, p1, &err), 0);
        T_EQ_INT(lr__anomaly_session_scores(m2, s, 1, r2, p2, &err), 0);
        for (int i = 0; i < 5; i++) {
            T_EQ_INT(r1[i], r2[i]);
            T_CHECK(p1[i] == p2[i]);
        }
        T_EQ_INT(lr_anomaly_set_judgement(m2, 1, 0.99, &err), 0);
        check_grammar_verdicts(m2);
        lr_sessions_free(s);
    }
    lr_anomaly_free(m2);
    lr_anomaly_free(m);
    unlink(path);
}

/* A model judged by top-p over fewer than 9 events still has a top-k its
 * file accepts (at most the number of events). */
static void test_top_p_small_vocabulary(void) {
    lr_error err;
    lr_sessions *s = lr_sessions_new(&err);
    static const char *const ev[] = {"a", "b", "c"};
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        add_session(s, id, ev, 1 + i % 3, 0);
    }
    lr_anomaly_opts o;
    lr_anomaly_opts_init(&o);
    o.window = 2, o.embed = 2, o.hidden = 4, o.layers = 1, o.epochs = 1, o.threads = 1;
    o.top_p = 0.5;
    lr_anomaly *m = lr_anomaly_train(s, &o, NULL, NULL, &err);
    T_CHECK(m != NULL);
    if (m) {
        T_CHECK(lr_anomaly_top_k(m) <= lr__anomaly_n_events(m));
        const char *path = tmp_path("small.lrm");
        T_EQ_INT(lr_anomaly_save(m, path, &err), 0);
        lr_anomaly *m2 = lr_anomaly_load(path, &err);
        if (!m2) T_FAIL("load: %s", err.msg);
        else T_CHECK(lr_anomaly_top_p(m2) == 0.5);
        lr_anomaly_free(m2);
        unlink(path);
    }
    lr_anomaly_free(m);
    lr_sessions_free(s);
}

/* A model file written key by key, with one thing wrong (`bad`). */
enum {
    BAD_NONE, BAD_ARCH, BAD_WINDOW, BAD_TOPK, BAD_TOPP, BAD_SPECIAL, BAD_DUP, BAD_SHAPE,
    BAD_MISSING, BAD_NAN, BAD_FEW_EVENTS, BAD_HEADS, BAD_N
};

static int write_variant(const char *path, int bad, lr_error *err) {
    const int V = 5, E = 2, H = 3, W = 2;
    lr__lrm_writer *w = lr__lrm_writer_new(err);
    const char *names[5] = {"<start>", "<end>", "<unknown>", "a", "b"};
    if (bad == BAD_SPECIAL) names[1] = "<stop>";
    if (bad == BAD_DUP) names[4] = "a";
    int nv = bad == BAD_FEW_EVENTS ? 3 : V;
    const char *arch = bad == BAD_ARCH ? "gru" : bad == BAD_HEADS ? "transformer" : "lstm";
    lr__lrm_set_str(w, "anomaly.arch", arch, strlen(arch), err);
    if (bad == BAD_HEADS) {
        lr__lrm_set_i64(w, "anomaly.heads", 2, err); /* does not divide H = 3 */
        lr__lrm_set_i64(w, "anomaly.ff", 4, err);
    }
    lr__lrm_set_i64(w, "anomaly.window", bad == BAD_WINDOW ? 100000 : W, err);
    lr__lrm_set_i64(w, "anomaly.embed", E, err);
    lr__lrm_set_i64(w, "anomaly.hidden", H, err);
    lr__lrm_set_i64(w, "anomaly.layers", 1, err);
    lr__lrm_set_i64(w, "anomaly.top_k", bad == BAD_TOPK ? V + 1 : 2, err);
    lr__lrm_set_f64(w, "anomaly.top_p", bad == BAD_TOPP ? 1.5 : 0.0, err);
    lr__lrm_set_strs(w, "anomaly.events", names, (size_t)nv, err);
    static float data[4096];
    for (size_t i = 0; i < 4096; i++) data[i] = 0.01f * (float)(i % 17);
    if (bad == BAD_NAN) data[5] = NAN;
    struct { const char *name; int64_t d0, d1; } t[] = {
        {"anomaly.embed", V, E},        {"anomaly.lstm.0.w_ih", 4 * H, E},
        {"anomaly.lstm.0.w_hh", 4 * H, H}, {"anomaly.lstm.0.bias", 4 * H, 0},
        {"anomaly.out.weight", V, H},   {"anomaly.out.bias", V, 0}};
    for (size_t i = 0; i < LR_ARRAY_LEN(t); i++) {
        if (bad == BAD_MISSING && i == 4) continue;
        int64_t shape[2] = {t[i].d0, t[i].d1};
        if (bad == BAD_SHAPE && i == 2) shape[1] = H + 1;
        lr__lrm_add_tensor(w, t[i].name, LR_DTYPE_F32, t[i].d1 ? 2 : 1, shape, data, err);
    }
    int rc = lr__lrm_writer_write(w, path, err);
    lr__lrm_writer_free(w);
    return rc;
}

static void test_hostile_files(void) {
    static const char *const want[BAD_N] = {
        NULL, "anomaly.arch", "anomaly.window", "anomaly.top_k", "anomaly.top_p", "<end>",
        "appears twice", "anomaly.lstm.0.w_hh", "anomaly.out.weight", "non-finite", "anomaly.events",
        "heads"};
    const char *path = tmp_path("bad.lrm");
    for (int bad = 0; bad < BAD_N; bad++) {
        lr_error err = {0};
        T_EQ_INT(write_variant(path, bad, &err), 0);
        lr_anomaly *m = lr_anomaly_load(path, &err);
        if (bad == BAD_NONE) {
            T_CHECK(m != NULL);
        } else {
            T_CHECK(m == NULL);
            if (!strstr(err.msg, want[bad])) T_FAIL("variant %d: \"%s\" lacks \"%s\"", bad, err.msg, want[bad]);
            T_CHECK(strstr(err.msg, path) != NULL); /* the message names the file */
        }
        lr_anomaly_free(m);
    }
    /* every truncation and a flipped bit in every 64-byte block */
    lr_error err;
    T_EQ_INT(write_variant(path, BAD_NONE, &err), 0);
    FILE *f = fopen(path, "rb");
    static unsigned char img[1 << 16] __attribute__((aligned(64)));
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    T_CHECK(n > 64 && n < sizeof img);
    lr_anomaly *ok = lr_anomaly_load_memory(img, n, "mem", &err);
    T_CHECK(ok != NULL);
    lr_anomaly_free(ok);
    int loaded = 0;
    for (size_t cut = 0; cut < n; cut += 7) {
        lr_anomaly *m = lr_anomaly_load_memory(img, cut, "mem", &err);
        loaded += m != NULL;
        lr_anomaly_free(m);
    }
    for (size_t at = 0; at < n; at += 61) {
        img[at] ^= 0x10;
        lr_anomaly *m = lr_anomaly_load_memory(img, n, "mem", &err);
        loaded += m != NULL;
        lr_anomaly_free(m);
        img[at] ^= 0x10;
    }
    T_EQ_INT(loaded, 0);
    unlink(path);
}

/* ------------------------------------------------------------ readers */

static int read_text(lr_sessions *s, const char *text, const lr_sessions_opts *o, lr_error *err) {
    const char *path = tmp_path("in.txt");
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    int rc = lr_sessions_read(s, fd, o, err);
    close(fd);
    unlink(path);
    return rc;
}

static void test_read_jsonl(void) {
    lr_error err;
    lr_sessions *s = lr_sessions_new(&err);
    lr_sessions_opts o;
    lr_sessions_opts_init(&o);
    o.split = "train";
    const char *text =
        "{\"BlockId\": \"blk_1\", \"Label\": 0, \"Split\": \"train\", \"Templates\": [\"a <*>\", \"b\", \"a <*>\"]}\n"
        "{\"BlockId\": \"blk_2\", \"Label\": 1, \"Split\": \"test\", \"Templates\": [\"a <*>\"]}\n"
        "\n"
        "{\"BlockId\": \"blk_3\", \"Label\": 1, \"Split\": \"train\", \"Templates\": [\"c\"]}\n";
    T_EQ_INT(read_text(s, text, &o, &err), 0);
    T_EQ_INT(lr_sessions_count(s), 2);
    size_t len;
    T_EQ_STR(lr_sessions_id(s, 0, &len), "blk_1");
    T_EQ_INT(lr_sessions_length(s, 0), 3);
    T_EQ_INT(lr_sessions_label(s, 0), 0);
    T_EQ_INT(lr_sessions_label(s, 1), 1);
    lr_sessions_free(s);
    /* errors name the line */
    static const char *const bad[] = {
        "{\"BlockId\": \"x\", \"Templates\": [\"a\"]}\n{\"BlockId\": \"y\", \"Templates\": \"a\"}\n",
        "{\"BlockId\": \"x\", \"Templates\": [\"a\"]}\n{\"BlockId\": \"x\", \"Templates\": [\"b\"]}\n",
        "{\"BlockId\": \"x\", \"Templates\": [\"a\"]}\n{\"BlockId\": \"y\", \"Templates\": [1.5]}\n",
        "{\"BlockId\": \"x\", \"Templates\": [\"a\"]}\n{\"BlockId\": \"y\", \"Label\": 2, \"Templates\": []}\n",
        "{\"BlockId\": \"x\", \"Templates\": [\"a\"]}\n{\"BlockId\": \"y\"\n",
    };
    lr_sessions_opts_init(&o);
    for (size_t i = 0; i < LR_ARRAY_LEN(bad); i++) {
        s = lr_sessions_new(&err);
        T_EQ_INT(read_text(s, bad[i], &o, &err), LR_EPARSE);
        if (!strstr(err.msg, "line 2")) T_FAIL("case %zu: \"%s\" names no line 2", i, err.msg);
        lr_sessions_free(s);
    }
}

static void test_read_keys_and_lines(void) {
    lr_error err;
    lr_sessions *s = lr_sessions_new(&err);
    lr_sessions_opts o;
    lr_sessions_opts_init(&o);
    o.format = LR_SESS_KEYS;
    o.label = 1;
    T_EQ_INT(read_text(s, "5 5 22 \n\n22 5 11 9 ", &o, &err), 0);
    T_EQ_INT(lr_sessions_count(s), 2);
    T_EQ_INT(lr_sessions_length(s, 0), 3);
    T_EQ_INT(lr_sessions_length(s, 1), 4);
    T_EQ_STR(lr_sessions_id(s, 1, NULL), "3");
    T_EQ_INT(lr_sessions_label(s, 1), 1);
    lr_sessions_free(s);

    /* lines: every distinct block id in a line gets the line's masked text */
    s = lr_sessions_new(&err);
    lr_sessions_opts_init(&o);
    o.format = LR_SESS_LINES;
    const char *log =
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38 terminating\n"
        "081109 203807 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-6952 terminating\n"
        "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_38 size 91178\n"
        "081109 204106 329 INFO dfs.DataNode: Deleting block blk_38 file /mnt/blk_38 and blk_-6952\n"
        "no block here\n";
    T_EQ_INT(read_text(s, log, &o, &err), 0);
    T_EQ_INT(lr_sessions_count(s), 2);
    T_EQ_STR(lr_sessions_id(s, 0, NULL), "blk_38");
    T_EQ_INT(lr_sessions_length(s, 0), 3); /* blk_38 twice in line 4: one event */
    T_EQ_STR(lr_sessions_id(s, 1, NULL), "blk_-6952");
    T_EQ_INT(lr_sessions_length(s, 1), 2);
    T_EQ_INT(lr_sessions_unassigned(s), 1); /* "no block here" */
    lr_sessions_free(s);

    /* windows of 2 lines per id; a group picks the id out of a match */
    s = lr_sessions_new(&err);
    o.window_lines = 2;
    o.id_pattern = "block (blk_[0-9]+)";
    T_EQ_INT(read_text(s, log, &o, &err), 0);
    T_EQ_INT(lr_sessions_count(s), 2); /* lines 1 and 4: windows 0 and 1 */
    T_EQ_STR(lr_sessions_id(s, 0, NULL), "blk_38#0");
    T_EQ_STR(lr_sessions_id(s, 1, NULL), "blk_38#1");
    lr_sessions_free(s);

    /* windows of 60 seconds of the lines' times (loghub's yyMMdd HHmmss) */
    s = lr_sessions_new(&err);
    o.window_lines = 0;
    o.window_seconds = 60;
    o.id_pattern = "blk_-?[0-9]+";
    T_EQ_INT(read_text(s, log, &o, &err), 0);
    /* blk_38: 20:36:15, 20:40:05 and 20:41:06 (windows 20:36, 20:40, 20:41);
     * blk_-6952: 20:38:07 and 20:41:06; line 5 (no time) keeps 20:41:06 */
    T_EQ_INT(lr_sessions_count(s), 5);
    T_CHECK(strstr(lr_sessions_id(s, 0, NULL), "blk_38@") == lr_sessions_id(s, 0, NULL));
    lr_sessions_free(s);
    s = lr_sessions_new(&err);
    T_EQ_INT(read_text(s, "no time here blk_1\n", &o, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "line 1: no time") != NULL);
    lr_sessions_free(s);
    o.window_seconds = 0;

    s = lr_sessions_new(&err);
    o.id_pattern = "(unclosed";
    T_EQ_INT(read_text(s, log, &o, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "(unclosed") != NULL);
    lr_sessions_free(s);
}

T_MAIN(T_CASE(test_lstm_backward), T_CASE(test_lstm_stacked_backward),
       T_CASE(test_lstm_checker_can_fail), T_CASE(test_lstm_forward_value), T_CASE(test_grammar), T_CASE(test_grammar_transformer),
       T_CASE(test_file_round_trip), T_CASE(test_top_p_small_vocabulary), T_CASE(test_hostile_files), T_CASE(test_read_jsonl),
       T_CASE(test_read_keys_and_lines))
