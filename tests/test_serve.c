/*
 * test_serve.c — the library side of `logrisk serve` on the tiny model
 * (tests/fixtures/tiny, converted here): framing detection and the errors
 * that name a record (serve_frame.c); the enriched writer (score_write.c:
 * a JSON record's members kept, our keys not duplicated, metadata,
 * "message" otherwise, limits); lr_scorer_score_text against the scorer
 * fed by the record layer directly; the batcher (serve_queue.c) with jobs
 * pushed from several threads at once: every job gets exactly its own
 * records, in order; the metrics' code-only count (evhttp's own answers:
 * a code, no duration); and the deploy/server manifests (parsed with libyaml:
 * the fields a Deployment, Service and HPA need, readiness on /health, the
 * grace period covering the drain).
 */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "json.h"
#include "score.h"
#include "serve.h"
#include "t.h"
#include "score_util.h"

/* ---------------------------------------------------------------- framing */

static void test_detect(void) {
    T_EQ_INT(lr__serve_detect("application/x-ndjson", "[1]", 3), LR_SERVE_NDJSON);
    T_EQ_INT(lr__serve_detect("application/json", " [{}]", 5), LR_SERVE_ARRAY);
    T_EQ_INT(lr__serve_detect("application/json; charset=utf-8", "{}\n{}", 5), LR_SERVE_NDJSON);
    T_EQ_INT(lr__serve_detect("text/plain", "[{}]", 4), LR_SERVE_TEXT);
    T_EQ_INT(lr__serve_detect(NULL, "\n[{}]", 5), LR_SERVE_ARRAY);
    T_EQ_INT(lr__serve_detect(NULL, "{\"a\":1}", 7), LR_SERVE_NDJSON);
    T_EQ_INT(lr__serve_detect("application/octet-stream", "ERROR x", 7), LR_SERVE_TEXT);
    T_EQ_INT(lr__serve_detect("Application/JSON", "[", 1), LR_SERVE_ARRAY);
}

static int frame(const char *ct, const char *body, lr__serve_body *b, lr_error *err) {
    lr__serve_body_init(b);
    return lr__serve_frame(ct, body, strlen(body), b, err);
}

static void test_frame(void) {
    lr__serve_body b;
    lr_error err = {0, ""};
    /* a pretty-printed array: one line per element, strings with , ] and } kept */
    T_EQ_INT(frame("application/json", "[\n {\"a\": \"x,]}\\\"\",\n  \"b\": [1, {\"c\": 2}]},\n {\"d\": null}\n]\n", &b, &err),
             0);
    T_EQ_INT(b.framing, LR_SERVE_ARRAY);
    T_EQ_INT(b.n_lines, 2);
    T_EQ_STR(b.text.data, "{\"a\": \"x,]}\\\"\",   \"b\": [1, {\"c\": 2}]}\n{\"d\": null}\n");
    lr__serve_body_free(&b);
    /* NDJSON: blank lines skipped, CRLF */
    T_EQ_INT(frame("application/x-ndjson", "{\"a\":1}\r\n\n  \n{\"b\":2}", &b, &err), 0);
    T_EQ_INT(b.n_lines, 2);
    T_EQ_STR(b.text.data, "{\"a\":1}\n{\"b\":2}\n");
    lr__serve_body_free(&b);
    /* errors name the record */
    T_EQ_INT(frame("application/x-ndjson", "{\"a\":1}\n\n{\"a\":2,}\n", &b, &err), LR_EPARSE);
    T_CHECK(strncmp(err.msg, "record 2: ", 10) == 0);
    lr__serve_body_free(&b);
    T_EQ_INT(frame("application/x-ndjson", "{\"a\":1}\n[1]\n", &b, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "record 2: a JSON array, not an object") != NULL);
    lr__serve_body_free(&b);
    T_EQ_INT(frame("application/json", "[{\"a\":1}, {\"b\":2}, 3]", &b, &err), LR_EPARSE);
    T_CHECK(strncmp(err.msg, "record 3: ", 10) == 0);
    lr__serve_body_free(&b);
    T_EQ_INT(frame("application/json", "[{\"a\":1},]", &b, &err), LR_EPARSE);
    T_CHECK(strncmp(err.msg, "record 2: ", 10) == 0);
    lr__serve_body_free(&b);
    T_EQ_INT(frame("application/json", "[{\"a\":1}] {}", &b, &err), LR_EPARSE);
    lr__serve_body_free(&b);
    T_EQ_INT(frame("application/json", "[{\"a\":\"]\"}", &b, &err), LR_EPARSE);
    lr__serve_body_free(&b);
    /* text: as is */
    T_EQ_INT(frame("text/plain", "a\n\nb", &b, &err), 0);
    T_EQ_INT(b.n_lines, 3);
    T_EQ_INT(b.line_off[1], 2);
    T_EQ_INT(b.line_off[2], 3);
    T_EQ_INT(b.line_off[3], 4);
    lr__serve_body_free(&b);
    /* /predict */
    int batch = -1;
    lr__serve_body_init(&b);
    const char *p = "{\"inputs\":[\"a\\nb\",\"\",\"c\"]}";
    T_EQ_INT(lr__serve_predict_inputs(p, strlen(p), &b, &batch, &err), 0);
    T_EQ_INT(batch, 1);
    T_EQ_INT(b.n_lines, 3);
    T_EQ_STR(b.text.data, "a b\n\nc\n");
    lr__serve_body_free(&b);
    lr__serve_body_init(&b);
    p = "{\"inputs\":[\"a\",2]}";
    T_EQ_INT(lr__serve_predict_inputs(p, strlen(p), &b, &batch, &err), LR_EPARSE);
    T_CHECK(strstr(err.msg, "input 2") != NULL);
    lr__serve_body_free(&b);
}

/* ------------------------------------------------------------- the model */

#define OUT_DIR "tests/out/test_serve"

typedef struct grab {
    lr__buf text;
    int n;
    float scores[64];
    int labels[64];
    uint64_t lines[64], ends[64];
    lr_scorer *s;
} grab;

static int grab_sink(void *user, const lr_score_result *r, lr_error *err) {
    (void)err;
    grab *g = user;
    if (g->n < 64) {
        g->scores[g->n] = r->score;
        g->labels[g->n] = r->label;
        g->lines[g->n] = r->line;
        g->ends[g->n] = r->line_end;
    }
    g->n++;
    return g->s ? lr__score_put(g->s, &g->text, r, LR_SCORE_ENRICH) : 0;
}

static lr_event plain_event(const char *msg, uint64_t line) {
    lr_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time = ev.source = ev.error = "";
    ev.message = msg;
    ev.message_len = strlen(msg);
    ev.line = ev.line_end = line;
    ev.n_records = 1;
    return ev;
}

static void test_enrich(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.output = LR_SCORE_ENRICH;
    o.n_threads = 1;
    o.max_line_bytes = 200;
    o.top_k = 2;
    lr_error err = {0, ""};
    lr_scorer *s = lr_scorer_new(m, &o, &err);
    T_CHECK(s != NULL);
    if (!s) {
        lr_model_free(m);
        return;
    }
    grab g;
    memset(&g, 0, sizeof g);
    lr__buf_init(&g.text);
    g.s = s;
    lr_scorer_set_sink(s, grab_sink, &g);
    lr_event ev = plain_event("disk failed", 1);
    const char *rec = " {\"msg\" : \"disk failed\", \"risk_score\": 99, \"n\": 1.50, \"line\": 7, \"k\": {\"x\": [1]} } ";
    const char *meta = "\"file\":\"/var/log/a.log\",\"pod\":\"p\"";
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, rec, strlen(rec), meta, strlen(meta), &err), 0);
    ev = plain_event("node not ready", 2);
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, "plain \"text\" line", 17, NULL, 0, &err), 0);
    ev = plain_event("pod failed", 3);
    ev.error = "at x";
    ev.error_len = 4;
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, NULL, 0, NULL, 0, &err), 0);
    char big[300];
    memset(big, 'a', sizeof big);
    big[0] = '{';
    ev = plain_event("big", 4);
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, big, sizeof big, NULL, 0, &err), 0);
    /* bad metadata is refused before anything is queued */
    ev = plain_event("x", 5);
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, NULL, 0, "\"a\":", 4, &err), LR_EINVAL);
    T_EQ_INT(lr_scorer_push_event_ex(s, &ev, NULL, 0, big, sizeof big, &err), LR_ERANGE);
    T_EQ_INT(lr_scorer_pending(s), 4);
    T_EQ_INT(lr_scorer_flush(s, &err), 0);
    T_EQ_INT(g.n, 4);
    /* each line parses; check members and their order */
    const char *t = g.text.data ? g.text.data : "";
    const char *want_keys[4][10] = {
        {"msg", "n", "k", "risk_score", "risk_label", "line", "line_end", "file", "pod", "top"},
        {"message", "risk_score", "risk_label", "line", "line_end", "top"},
        {"message", "risk_score", "risk_label", "line", "line_end", "top"},
        {"message", "risk_score", "risk_label", "line", "line_end", "top"}};
    for (int i = 0; i < 4; i++) {
        const char *nl = strchr(t, '\n');
        T_CHECK(nl != NULL);
        if (!nl) break;
        lr__json_doc *doc = lr__json_parse(t, (size_t)(nl - t), LR_JSON_NO_DUPLICATES, &err);
        T_CHECK(doc != NULL);
        if (doc) {
            const lr__json *o2 = lr__json_root(doc);
            for (size_t k = 0; k < 10 && want_keys[i][k]; k++)
                T_CHECK(k < o2->n && strcmp(o2->items[k].key, want_keys[i][k]) == 0);
            int64_t line = 0;
            T_CHECK(lr__json_get_int(o2, "line", &line) && line == i + 1);
            const char *msg = NULL;
            size_t ml = 0;
            if (i == 1) T_CHECK(lr__json_get_str(o2, "message", &msg, &ml) && strcmp(msg, "plain \"text\" line") == 0);
            if (i == 2) T_CHECK(lr__json_get_str(o2, "message", &msg, &ml) && strcmp(msg, "pod failed\nat x") == 0);
            if (i == 3) T_CHECK(lr__json_get_str(o2, "message", &msg, &ml) && strcmp(msg, "big") == 0);
            lr__json_free(doc);
        }
        t = nl + 1;
    }
    /* the record's bytes are copied as they were: 1.50 stays 1.50 */
    T_CHECK(strstr(g.text.data, "\"n\": 1.50") != NULL);
    /* the public renderer gives the same text, snprintf-like */
    lr_score_result r;
    memset(&r, 0, sizeof r);
    float probs[11] = {0}, logits[11] = {0};
    probs[3] = 1;
    r.n_labels = lr_model_n_labels(m);
    r.probs = probs;
    r.logits = logits;
    r.line = r.line_end = 9;
    r.label = 3;
    r.score = 3;
    r.record = "{\"a\":1}";
    r.record_len = 7;
    char small[8];
    size_t len = 0;
    T_EQ_INT(lr_scorer_render(s, &r, LR_SCORE_ENRICH, small, sizeof small, &len, &err), 0);
    T_CHECK(len > sizeof small);
    T_EQ_INT(strlen(small), sizeof small - 1);
    char full[512];
    T_EQ_INT(lr_scorer_render(s, &r, LR_SCORE_ENRICH, full, sizeof full, &len, &err), 0);
    T_EQ_INT(strlen(full), len);
    T_CHECK(strncmp(full, "{\"a\":1,\"risk_score\":3,\"risk_label\":", 35) == 0);
    lr__buf_free(&g.text);
    lr_scorer_free(s);
    lr_model_free(m);
}

/* lr_scorer_score_text against the record layer read from a file into a
 * scorer, as `score` does. */
static void test_score_text(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    const char *text = "{\"level\":\"error\",\"msg\":\"disk failed\"}\n"
                       "ERROR connection refused\n"
                       "java.lang.IllegalStateException: boom\n"
                       "\tat a.b(C.java:1)\n"
                       "E0501 12:00:01.000000       1 kubelet.go:100] node not ready\n"
                       "plain info line\n";
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.n_threads = 1;
    lr_error err = {0, ""};
    lr_scorer *a = lr_scorer_new(m, &o, &err), *b = lr_scorer_new(m, &o, &err);
    T_CHECK(a && b);
    if (!a || !b) {
        lr_scorer_free(a);
        lr_scorer_free(b);
        lr_model_free(m);
        return;
    }
    grab ga, gb;
    memset(&ga, 0, sizeof ga);
    memset(&gb, 0, sizeof gb);
    lr__buf_init(&ga.text);
    lr__buf_init(&gb.text);
    ga.s = a;
    T_EQ_INT(lr_scorer_score_text(a, text, strlen(text), NULL, grab_sink, &ga, &err), 0);
    /* the reference: a file through lr_records / lr_events */
    FILE *f = fopen(OUT_DIR "/text.log", "w");
    T_CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    FILE *in = fopen(OUT_DIR "/text.log", "r");
    lr_records *recs = in ? lr_records_new(fileno(in), NULL, &err) : NULL;
    lr_events *evs = recs ? lr_events_new(recs, NULL, &err) : NULL;
    T_CHECK(evs != NULL);
    lr_scorer_set_sink(b, grab_sink, &gb);
    lr_event ev;
    while (evs && lr_events_next(evs, &ev, &err) == 1) T_EQ_INT(lr_scorer_push_event(b, &ev, &err), 0);
    T_EQ_INT(lr_scorer_flush(b, &err), 0);
    lr_events_free(evs);
    lr_records_free(recs);
    if (in) fclose(in);
    T_EQ_INT(ga.n, gb.n);
    T_CHECK(ga.n >= 4 && ga.n < 6); /* the stack trace is one event */
    for (int i = 0; i < ga.n && i < gb.n; i++) {
        T_EQ_INT(ga.lines[i], gb.lines[i]);
        T_EQ_INT(ga.ends[i], gb.ends[i]);
        T_EQ_INT(ga.labels[i], gb.labels[i]);
        T_CHECK(ga.scores[i] == gb.scores[i]);
    }
    /* the JSON record's members, then the plain ones as "message" */
    T_CHECK(strncmp(ga.text.data, "{\"level\":\"error\",\"msg\":\"disk failed\",\"risk_score\":", 50) == 0);
    /* the exception and its frame continue the ERROR line: one event, its lines as they were */
    if (!strstr(ga.text.data, "\"message\":\"ERROR connection refused\\njava.lang.IllegalStateException: boom\\n\\tat "
                              "a.b(C.java:1)\",")) T_FAIL("%s", ga.text.data);
    lr__buf_free(&ga.text);
    lr__buf_free(&gb.text);
    lr_scorer_free(a);
    lr_scorer_free(b);
    lr_model_free(m);
}

/* ---------------------------------------------------------------- batcher */

typedef struct qctx {
    lr__serve_queue *q;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wakes;
} qctx;

static void q_notify(void *user) {
    qctx *c = user;
    pthread_mutex_lock(&c->mu);
    c->wakes++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

typedef struct producer {
    qctx *c;
    int id;
    lr__job *jobs[8];
} producer;

static void *produce(void *arg) {
    producer *p = arg;
    for (int j = 0; j < 8; j++) {
        lr__job *job = lr__calloc(1, sizeof *job);
        lr__serve_body_init(&job->body);
        lr__buf_init(&job->out);
        lr__buf body;
        lr__buf_init(&body);
        int n = 1 + (p->id + j) % 5;
        for (int k = 0; k < n; k++)
            lr__buf_printf(&body, "{\"msg\":\"node %d failed %d\",\"id\":\"%d-%d-%d\"}\n", p->id * k, j, p->id, j, k);
        lr_error err = {0, ""};
        if (lr__serve_frame("application/x-ndjson", body.data, body.len, &job->body, &err)) T_FAIL("%s", err.msg);
        lr__buf_free(&body);
        job->kind = LR_JOB_SCORE;
        p->jobs[j] = job;
        while (lr__serve_queue_push(p->c->q, job)) usleep(1000); /* full: retry */
    }
    return NULL;
}

static void test_queue_no_crossing(void) {
    lr_model *m = t_tiny_model(OUT_DIR);
    if (!m) return;
    lr_score_opts o;
    lr_score_opts_init(&o);
    o.n_threads = 1;
    o.batch = 4;
    o.window = 2;
    o.max_batch_tokens = 100;
    o.output = LR_SCORE_ENRICH;
    lr_error err = {0, ""};
    lr_scorer *s = lr_scorer_new(m, &o, &err);
    T_CHECK(s != NULL);
    qctx c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    c.q = s ? lr__serve_queue_new(s, m, 12, q_notify, &c, &err) : NULL;
    T_CHECK(c.q != NULL);
    if (!c.q) {
        lr_scorer_free(s);
        lr_model_free(m);
        return;
    }
    producer p[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        p[i].c = &c;
        p[i].id = i + 1;
        pthread_create(&th[i], NULL, produce, &p[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    int done = 0;
    while (done < 32) {
        lr__job *d = lr__serve_queue_take_done(c.q);
        while (d) {
            lr__job *next = d->next;
            d->next = NULL;
            d->code = d->code ? d->code : -1;
            done++;
            d = next;
        }
        if (done < 32) {
            pthread_mutex_lock(&c.mu);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&c.cv, &c.mu, &ts);
            pthread_mutex_unlock(&c.mu);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) {
            lr__job *job = p[i].jobs[j];
            int n = 1 + (p[i].id + j) % 5;
            T_EQ_INT(job->code, 200);
            T_EQ_INT(job->n_done, n);
            const char *t = job->out.data ? job->out.data : "";
            for (int k = 0; k < n; k++) {
                char want[64];
                snprintf(want, sizeof want, "\"id\":\"%d-%d-%d\"", p[i].id, j, k);
                const char *at = strstr(t, want);
                T_CHECK(at != NULL);
                if (at) t = at + strlen(want); /* in order */
            }
            /* nothing else: exactly n lines */
            int lines = 0;
            for (const char *q = job->out.data; q && *q; q++) lines += *q == '\n';
            T_EQ_INT(lines, n);
            lr__serve_job_free(job);
        }
    lr__serve_metrics mm;
    memset(&mm, 0, sizeof mm);
    lr__serve_queue_stats(c.q, &mm);
    uint64_t total = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) total += (uint64_t)(1 + (p[i].id + j) % 5);
    T_CHECK(mm.rounds >= 1 && mm.records == total);
    lr__serve_queue_free(c.q);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    lr_scorer_free(s);
    lr_model_free(m);
}

/* ---------------------------------------------------------------- metrics */

/* An answer evhttp gave itself counts its code only: in
 * logrisk_http_requests_total, not in the duration histogram. */
static void test_metrics_code(void) {
    lr__serve_metrics m;
    memset(&m, 0, sizeof m);
    lr__serve_metrics_code(&m, LR_SERVE_N_ROUTES - 1, 413);
    lr__serve_metrics_code(&m, LR_SERVE_N_ROUTES - 1, 400);
    lr__serve_metrics_request(&m, 0, 200, 0.002);
    lr__buf b;
    lr__buf_init(&b);
    T_EQ_INT(lr__serve_metrics_text(&m, NULL, NULL, 0, &b), 0);
    const char *t = b.data ? b.data : "";
    T_CHECK(strstr(t, "logrisk_http_requests_total{route=\"other\",code=\"413\"} 1\n") != NULL);
    T_CHECK(strstr(t, "logrisk_http_requests_total{route=\"other\",code=\"400\"} 1\n") != NULL);
    T_CHECK(strstr(t, "logrisk_http_requests_total{route=\"score\",code=\"200\"} 1\n") != NULL);
    T_CHECK(strstr(t, "duration_seconds_count{route=\"score\"} 1\n") != NULL);
    T_CHECK(strstr(t, "duration_seconds_count{route=\"other\"}") == NULL);
    lr__buf_free(&b);
}

/* ---------------------------------------------------------------- deploy */

/* The node at a dotted path ("spec.template.spec.containers.0.name"). */
static yaml_node_t *at(yaml_document_t *d, yaml_node_t *n, const char *path) {
    char key[128];
    while (n && *path) {
        size_t k = strcspn(path, ".");
        if (k >= sizeof key) return NULL;
        memcpy(key, path, k);
        key[k] = '\0';
        path += k + (path[k] == '.');
        yaml_node_t *next = NULL;
        if (n->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *kn = yaml_document_get_node(d, p->key);
                if (kn && kn->type == YAML_SCALAR_NODE && strcmp((char *)kn->data.scalar.value, key) == 0)
                    next = yaml_document_get_node(d, p->value);
            }
        } else if (n->type == YAML_SEQUENCE_NODE) {
            long i = strtol(key, NULL, 10);
            yaml_node_item_t *it = n->data.sequence.items.start + i;
            if (i >= 0 && it < n->data.sequence.items.top) next = yaml_document_get_node(d, *it);
        }
        n = next;
    }
    return n;
}

static const char *scalar(yaml_document_t *d, const char *path) {
    yaml_node_t *n = at(d, yaml_document_get_root_node(d), path);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int load_yaml(const char *path, yaml_document_t *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int ok = yaml_parser_load(&p, d);
    yaml_parser_delete(&p);
    fclose(f);
    if (!ok) return -1;
    if (!yaml_document_get_root_node(d)) {
        yaml_document_delete(d);
        return -1;
    }
    return 0;
}

static void test_deploy_manifests(void) {
    yaml_document_t dep, svc, hpa;
    T_EQ_INT(load_yaml("deploy/server/deployment.yaml", &dep), 0);
    T_EQ_INT(load_yaml("deploy/server/service.yaml", &svc), 0);
    T_EQ_INT(load_yaml("deploy/server/hpa.yaml", &hpa), 0);
    const char *s;
    /* the Deployment */
    T_CHECK((s = scalar(&dep, "apiVersion")) && strcmp(s, "apps/v1") == 0);
    T_CHECK((s = scalar(&dep, "kind")) && strcmp(s, "Deployment") == 0);
    const char *name = scalar(&dep, "metadata.name");
    const char *app = scalar(&dep, "spec.template.metadata.labels.app.kubernetes.io/name");
    T_CHECK(name != NULL);
    /* labels with dots in the key: look the selector up by hand */
    yaml_node_t *sel = at(&dep, yaml_document_get_root_node(&dep), "spec.selector.matchLabels");
    yaml_node_t *tl = at(&dep, yaml_document_get_root_node(&dep), "spec.template.metadata.labels");
    T_CHECK(sel && tl && sel->type == YAML_MAPPING_NODE && tl->type == YAML_MAPPING_NODE);
    if (sel && tl && sel->type == YAML_MAPPING_NODE && tl->type == YAML_MAPPING_NODE) {
        /* every selector label is on the pod template */
        for (yaml_node_pair_t *p = sel->data.mapping.pairs.start; p < sel->data.mapping.pairs.top; p++) {
            const char *k = (char *)yaml_document_get_node(&dep, p->key)->data.scalar.value;
            const char *v = (char *)yaml_document_get_node(&dep, p->value)->data.scalar.value;
            int found = 0;
            for (yaml_node_pair_t *q = tl->data.mapping.pairs.start; q < tl->data.mapping.pairs.top; q++)
                found |= strcmp((char *)yaml_document_get_node(&dep, q->key)->data.scalar.value, k) == 0 &&
                         strcmp((char *)yaml_document_get_node(&dep, q->value)->data.scalar.value, v) == 0;
            T_CHECK(found);
        }
    }
    (void)app;
    T_CHECK((s = scalar(&dep, "spec.template.spec.containers.0.args.0")) && strcmp(s, "serve") == 0);
    T_CHECK((s = scalar(&dep, "spec.template.spec.containers.0.readinessProbe.httpGet.path")) &&
            strcmp(s, "/health") == 0);
    const char *port = scalar(&dep, "spec.template.spec.containers.0.ports.0.containerPort");
    T_CHECK(port && strcmp(port, "8080") == 0);
    /* --listen matches the container port, --drain-timeout fits in the grace period */
    yaml_node_t *args = at(&dep, yaml_document_get_root_node(&dep), "spec.template.spec.containers.0.args");
    double drain = 20, pre = 0;
    int listen_ok = 0;
    if (args && args->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *it = args->data.sequence.items.start; it + 1 < args->data.sequence.items.top; it++) {
            const char *a = (char *)yaml_document_get_node(&dep, *it)->data.scalar.value;
            const char *v = (char *)yaml_document_get_node(&dep, it[1])->data.scalar.value;
            if (strcmp(a, "--drain-timeout") == 0) drain = atof(v);
            if (strcmp(a, "--listen") == 0) listen_ok = strlen(v) > 5 && strcmp(v + strlen(v) - 5, ":8080") == 0;
        }
    T_CHECK(listen_ok);
    if ((s = scalar(&dep, "spec.template.spec.containers.0.lifecycle.preStop.sleep.seconds"))) pre = atof(s);
    const char *grace = scalar(&dep, "spec.template.spec.terminationGracePeriodSeconds");
    T_CHECK(grace && atof(grace) >= pre + drain + 1);
    T_CHECK(scalar(&dep, "spec.template.spec.containers.0.resources.requests.cpu") != NULL);
    T_CHECK(scalar(&dep, "spec.template.spec.containers.0.resources.requests.memory") != NULL);
    T_CHECK(scalar(&dep, "spec.template.spec.containers.0.resources.limits.memory") != NULL);
    /* the Service selects the pods and targets the port */
    T_CHECK((s = scalar(&svc, "kind")) && strcmp(s, "Service") == 0);
    yaml_node_t *ss = at(&svc, yaml_document_get_root_node(&svc), "spec.selector");
    T_CHECK(ss && ss->type == YAML_MAPPING_NODE && ss->data.mapping.pairs.top > ss->data.mapping.pairs.start);
    if (ss && ss->type == YAML_MAPPING_NODE && tl && tl->type == YAML_MAPPING_NODE)
        for (yaml_node_pair_t *p = ss->data.mapping.pairs.start; p < ss->data.mapping.pairs.top; p++) {
            const char *k = (char *)yaml_document_get_node(&svc, p->key)->data.scalar.value;
            const char *v = (char *)yaml_document_get_node(&svc, p->value)->data.scalar.value;
            int found = 0;
            for (yaml_node_pair_t *q = tl->data.mapping.pairs.start; q < tl->data.mapping.pairs.top; q++)
                found |= strcmp((char *)yaml_document_get_node(&dep, q->key)->data.scalar.value, k) == 0 &&
                         strcmp((char *)yaml_document_get_node(&dep, q->value)->data.scalar.value, v) == 0;
            T_CHECK(found);
        }
    const char *tp = scalar(&svc, "spec.ports.0.targetPort");
    const char *pn = scalar(&dep, "spec.template.spec.containers.0.ports.0.name");
    T_CHECK(tp && ((pn && strcmp(tp, pn) == 0) || strcmp(tp, "8080") == 0));
    /* the HPA scales that Deployment */
    T_CHECK((s = scalar(&hpa, "apiVersion")) && strcmp(s, "autoscaling/v2") == 0);
    T_CHECK((s = scalar(&hpa, "kind")) && strcmp(s, "HorizontalPodAutoscaler") == 0);
    T_CHECK((s = scalar(&hpa, "spec.scaleTargetRef.kind")) && strcmp(s, "Deployment") == 0);
    T_CHECK((s = scalar(&hpa, "spec.scaleTargetRef.name")) && name && strcmp(s, name) == 0);
    const char *mn = scalar(&hpa, "spec.minReplicas"), *mx = scalar(&hpa, "spec.maxReplicas");
    T_CHECK(mn && mx && atoi(mn) >= 1 && atoi(mx) >= atoi(mn));
    T_CHECK(scalar(&hpa, "spec.metrics.0.resource.name") != NULL);
    yaml_document_delete(&dep);
    yaml_document_delete(&svc);
    yaml_document_delete(&hpa);
}

T_MAIN(T_CASE(test_detect), T_CASE(test_frame), T_CASE(test_enrich), T_CASE(test_score_text),
       T_CASE(test_queue_no_crossing), T_CASE(test_metrics_code), T_CASE(test_deploy_manifests))
