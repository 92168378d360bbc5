/*
 * serve.c — `logrisk serve`: the HTTP scoring API on libevent's evhttp.
 *
 *   POST /v1/score   NDJSON, a JSON array or text lines in; every event
 *                    enriched with its risk, in order, in the request's
 *                    framing (serve_frame.c, serve_records.c)
 *   POST /predict    {"inputs": "text" | [...]}: per input its labels by
 *                    descending probability, text-embeddings-inference's
 *                    classification shape
 *   GET  /health     200 {"status":"ok"}; 503 while the model loads or
 *                    after SIGTERM
 *   GET  /v1/model   labels, max_len, weight type, version
 *   GET  /metrics    Prometheus text (serve_metrics.c)
 *
 * Design
 *  - Threads: the event loop (this file: every socket, parsing by evhttp,
 *    framing, replies), the batcher (serve_queue.c: the record layer, the
 *    scorer, rendering) and the model's pool (every GEMM), plus a loader
 *    thread at start, so /health answers 503 while the model loads.
 *  - The loop never blocks on scoring: a request is framed and queued, and
 *    the batcher's notify() writes a byte to a pipe whose read end is an
 *    event of the loop, which then sends the finished replies.
 *  - Limits: the body (evhttp answers 413 itself, before the body is
 *    buffered), the request line and headers (max_headers; evhttp answers
 *    400), open connections (max_connections: at the cap the listener is
 *    disabled and further clients wait in the kernel's backlog), and time:
 *    a connection that has not delivered a whole request `timeout` seconds
 *    after it opened (or after its last reply) is shut down, so a client
 *    sending a byte a second holds one connection for at most `timeout`
 *    and, the loop being non-blocking, never delays anyone else.
 *    Connections are tracked through evhttp's bufferevent callback: we hold
 *    a reference to each bufferevent, and one whose callbacks evhttp has
 *    cleared (bufferevent_free) is released by the sweep timer.
 *  - Queue full: 429 with Retry-After: 1; malformed body: 400 naming the
 *    record; unknown path 404; a known path with the wrong method 405 with
 *    Allow.
 *  - SIGTERM / SIGINT (or *opts.stop): the listening socket is closed,
 *    new requests on open connections get 503, queued and running jobs are
 *    scored and answered, and the loop ends when every reply has been
 *    written (or after drain_timeout).
 *  - A client that goes away before its reply: evhttp detaches the request
 *    and leaves it to us; the reply is then only freed.
 *  - Metrics: reply_with() counts every answer of the handler. The answers
 *    evhttp gives itself, before handle() runs (413, 400, 417, 501), are
 *    counted from the status line it writes to the connection (on_output),
 *    as route "other": libevent 2.1 has no per-request hook that would see
 *    them (evhttp_set_newreqcb came with 2.2).
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

enum { R_SCORE, R_PREDICT, R_HEALTH, R_MODEL, R_METRICS, R_OTHER };

typedef struct conn {
    struct bufferevent *bev; /* our reference */
    double since;            /* opened, or last reply sent */
    int busy;                /* a request is being answered */
} conn;

typedef struct server {
    lr_serve_opts o;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct event *ev_term, *ev_int, *ev_tick, *ev_wake;
    int pipe_r, pipe_w;

    /* the model, loaded on a thread */
    pthread_t loader;
    int loader_started, loaded, load_done;
    lr_serve_load_fn load;
    void *load_user;
    lr_model *model;
    lr_error load_err;
    lr_pool *pool;
    lr_scorer *scorer;
    lr__serve_queue *queue;

    lr__serve_metrics m;
    int replying;            /* inside reply_with's evhttp_send_reply */
    int draining;
    double drain_start;
    int replies;             /* replies not yet fully written */
    int jobs;                /* jobs queued or being scored */
    conn *conns;
    size_t n_conns, cap_conns;
    int listening_paused;
    int result;
    lr_error err;
} server;

static volatile sig_atomic_t dummy_stop;

void lr_serve_opts_init(lr_serve_opts *o) {
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8080";
    o->batch = 32;
    o->max_batch_tokens = 4096;
    o->cache_entries = 4096;
    o->max_queue = 16384;
    o->max_body = (size_t)8 << 20;
    o->max_headers = (size_t)16 << 10;
    o->max_connections = 256;
    o->timeout = 30;
    o->drain_timeout = 20;
    o->handle_signals = 1;
}

/* ------------------------------------------------------------ connections */

static conn *find_conn(server *sv, struct bufferevent *bev) {
    for (size_t i = 0; i < sv->n_conns; i++)
        if (sv->conns[i].bev == bev) return &sv->conns[i];
    return NULL;
}

static conn *req_conn(server *sv, struct evhttp_request *req) {
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    return c ? find_conn(sv, evhttp_connection_get_bufferevent(c)) : NULL;
}

static void pause_listening(server *sv, int pause) {
    if (!sv->sock || sv->listening_paused == pause) return;
    struct evconnlistener *l = evhttp_bound_socket_get_listener(sv->sock);
    if (!l) return;
    if (pause) evconnlistener_disable(l);
    else evconnlistener_enable(l);
    sv->listening_paused = pause;
}

/* The status code of the status line s[0..n) ("HTTP/1.1 413 ..."), or 0. */
static int status_code(const char *s, size_t n) {
    if (n < 13 || memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ' || s[12] != ' ') return 0;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        code = code * 10 + (s[i] - '0');
    }
    return code;
}

/* Bytes added to a connection's output. A status line written while
 * reply_with() is not sending one is evhttp answering a request itself,
 * which handle() never sees: counted (route "other", its path being
 * unknown by then) as 413, or as 400 for any other refusal (a malformed
 * request, headers over the limit, 417, 501 for an unserved method). Its
 * 100 Continue is no answer. No duration: the request's arrival is not
 * known here. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
    server *sv = arg;
    size_t len = evbuffer_get_length(buf);
    if (sv->replying || !info->n_added || info->n_added > len) return;
    struct evbuffer_ptr at;
    char line[13];
    if (evbuffer_ptr_set(buf, &at, len - info->n_added, EVBUFFER_PTR_SET) != 0) return;
    ev_ssize_t n = evbuffer_copyout_from(buf, &at, line, sizeof line);
    int code = n > 0 ? status_code(line, (size_t)n) : 0;
    if (code >= 200) lr__serve_metrics_code(&sv->m, R_OTHER, code == 413 ? 413 : 400);
}

/* evhttp asks for a bufferevent for each accepted connection. */
static struct bufferevent *new_bev(struct event_base *base, void *arg) {
    server *sv = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (!bev) return NULL;
    /* NULL (out of memory): evhttp's own answers on it go uncounted */
    evbuffer_add_cb(bufferevent_get_output(bev), on_output, sv);
    if (sv->n_conns == sv->cap_conns) {
        size_t cap = sv->cap_conns ? sv->cap_conns * 2 : 64;
        conn *c = lr__realloc(sv->conns, cap * sizeof *c);
        if (!c) return bev; /* untracked: still served */
        sv->conns = c;
        sv->cap_conns = cap;
    }
    bufferevent_incref(bev);
    sv->conns[sv->n_conns++] = (conn){.bev = bev, .since = lr__now_s(), .busy = 0};
    sv->m.connections = sv->n_conns;
    if ((int)sv->n_conns >= sv->o.max_connections) pause_listening(sv, 1);
    return bev;
}

/* Release connections evhttp has freed; shut down those that have held a
 * connection `timeout` seconds without a whole request. */
static void sweep(server *sv) {
    double now = lr__now_s();
    for (size_t i = 0; i < sv->n_conns;) {
        conn *c = &sv->conns[i];
        bufferevent_data_cb r = NULL, w = NULL;
        bufferevent_event_cb e = NULL;
        void *arg = NULL;
        bufferevent_getcb(c->bev, &r, &w, &e, &arg);
        if (!r && !w && !e) { /* evhttp has freed it */
            bufferevent_decref(c->bev);
            sv->conns[i] = sv->conns[--sv->n_conns];
            continue;
        }
        if (!c->busy && now - c->since > sv->o.timeout) {
            evutil_socket_t fd = bufferevent_getfd(c->bev);
            if (fd >= 0) shutdown(fd, SHUT_RDWR);
            c->since = now; /* evhttp notices the shutdown and frees it */
        }
        i++;
    }
    sv->m.connections = sv->n_conns;
    if ((int)sv->n_conns < sv->o.max_connections && !sv->draining) pause_listening(sv, 0);
}

/* ---------------------------------------------------------------- replies */

typedef struct reply_ctx {
    server *sv;
    int route, code;
    double t0;
} reply_ctx;

static void reply_done(struct evhttp_request *req, void *arg) {
    (void)req;
    reply_ctx *rc = arg;
    rc->sv->replies--;
    lr__free(rc);
}

/* Send `code` with [prefix] body[0..len) and a content type; counts the
 * request. */
static void reply_with(server *sv, struct evhttp_request *req, int route, int code, const char *ctype,
                       const char *prefix, const char *body, size_t len, double t0) {
    const char *reason = code == 200   ? "OK"
                         : code == 400 ? "Bad Request"
                         : code == 404 ? "Not Found"
                         : code == 405 ? "Method Not Allowed"
                         : code == 413 ? "Payload Too Large"
                         : code == 429 ? "Too Many Requests"
                         : code == 503 ? "Service Unavailable"
                                       : "Internal Server Error";
    lr__serve_metrics_request(&sv->m, route, code, lr__now_s() - t0);
    conn *c = req_conn(sv, req);
    if (c) {
        c->busy = 0;
        c->since = lr__now_s();
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    if (sv->draining) evhttp_add_header(h, "Connection", "close");
    struct evbuffer *buf = evbuffer_new();
    if (buf && prefix) evbuffer_add(buf, prefix, strlen(prefix));
    if (buf && len) evbuffer_add(buf, body, len);
    reply_ctx *ctx = evcon ? lr__calloc(1, sizeof *ctx) : NULL;
    if (ctx) {
        ctx->sv = sv;
        sv->replies++;
        evhttp_request_set_on_complete_cb(req, reply_done, ctx);
    }
    sv->replying = 1; /* its status line is counted above, not by on_output */
    evhttp_send_reply(req, code, reason, buf);
    sv->replying = 0;
    if (buf) evbuffer_free(buf);
}

static void reply(server *sv, struct evhttp_request *req, int route, int code, const char *ctype, const char *body,
                  size_t len, double t0) {
    reply_with(sv, req, route, code, ctype, NULL, body, len, t0);
}

/* A JSON error body {"error": msg}. */
static void reply_error(server *sv, struct evhttp_request *req, int route, int code, const char *msg, double t0) {
    lr__buf b;
    lr__buf_init(&b);
    int rc = lr__buf_puts(&b, "{\"error\":");
    rc = rc ? rc : lr__buf_put_json_string(&b, msg, strlen(msg));
    rc = rc ? rc : lr__buf_puts(&b, "}\n");
    if (rc) reply(sv, req, route, code, "application/json", "{\"error\":\"out of memory\"}\n", 26, t0);
    else reply(sv, req, route, code, "application/json", b.data, b.len, t0);
    lr__buf_free(&b);
}

/* Answer the jobs the batcher has finished. */
static void send_done(server *sv) {
    lr__job *j = lr__serve_queue_take_done(sv->queue);
    while (j) {
        lr__job *next = j->next;
        struct evhttp_request *req = j->req;
        sv->jobs--;
        if (j->code != 200) {
            reply_error(sv, req, j->route, j->code, j->err.msg[0] ? j->err.msg : "scoring failed", j->t_start);
        } else {
            const char *ctype = "application/x-ndjson";
            int wrap = 0;
            if (j->kind == LR_JOB_PREDICT) {
                ctype = "application/json";
                wrap = j->batch;
            } else if (j->body.framing == LR_SERVE_ARRAY) {
                ctype = "application/json";
                wrap = 1;
            }
            /* an array's elements were rendered without its brackets */
            if (wrap && lr__buf_putc(&j->out, ']') != 0)
                reply_error(sv, req, j->route, 500, "out of memory", j->t_start);
            else
                reply_with(sv, req, j->route, 200, ctype, wrap ? "[" : NULL, j->out.data ? j->out.data : "",
                           j->out.len, j->t_start);
        }
        lr__serve_job_free(j);
        j = next;
    }
}

/* ---------------------------------------------------------------- routes */

static int route_of(const char *path) {
    if (!path) return R_OTHER;
    if (strcmp(path, "/v1/score") == 0) return R_SCORE;
    if (strcmp(path, "/predict") == 0) return R_PREDICT;
    if (strcmp(path, "/health") == 0) return R_HEALTH;
    if (strcmp(path, "/v1/model") == 0) return R_MODEL;
    if (strcmp(path, "/metrics") == 0) return R_METRICS;
    return R_OTHER;
}

static void model_json(server *sv, lr__buf *b) {
    lr_model_info info;
    lr_model_get_info(sv->model, &info);
    const char *name = sv->o.model_name ? sv->o.model_name : "";
    int rc = lr__buf_puts(b, "{\"name\":");
    rc = rc ? rc : lr__buf_put_json_string(b, name, strlen(name));
    rc = rc ? rc : lr__buf_printf(b, ",\"version\":\"%s\",\"dtype\":\"%s\",\"max_len\":%d,\"n_labels\":%d,\"labels\":[",
                                  LR_VERSION, info.dtype ? info.dtype : "f32", lr_model_max_len(sv->model),
                                  info.n_labels);
    for (int i = 0; i < info.n_labels && !rc; i++) {
        size_t len = 0;
        const char *l = lr_model_label(sv->model, i, &len);
        if (i) rc = lr__buf_putc(b, ',');
        rc = rc ? rc : lr__buf_put_json_string(b, l ? l : "", l ? len : 0);
    }
    rc = rc ? rc : lr__buf_printf(b, "],\"hidden\":%d,\"layers\":%d,\"heads\":%d,\"vocab_size\":%d}\n", info.hidden,
                                  info.n_layers, info.n_heads, info.vocab_size);
    (void)rc;
}

/* ?format=NAME: the records' format (as score's --input-format); auto
 * when absent. LR_EPARSE for an unknown one. */
static int query_format(const struct evhttp_uri *uri, lr_rec_format *f, lr_error *err) {
    *f = LR_REC_AUTO;
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!q || !*q) return 0;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (evhttp_parse_query_str(q, &kv) != 0) return lr__err(err, LR_EPARSE, "the query string is malformed");
    const char *v = evhttp_find_header(&kv, "format");
    int rc = 0;
    if (v && lr_records_parse_format(v, f) != 0)
        rc = lr__err(err, LR_EPARSE, "unknown format '%.64s' (auto, raw, cri, docker, jsonl, csv, logfmt, klog, syslog, log4j)",
                     v);
    evhttp_clear_headers(&kv);
    return rc;
}

static void handle(struct evhttp_request *req, void *arg) {
    server *sv = arg;
    double t0 = lr__now_s();
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    int route = route_of(uri ? evhttp_uri_get_path(uri) : NULL);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    conn *c = req_conn(sv, req);
    if (c) c->busy = 1;
    if (route == R_OTHER) {
        reply_error(sv, req, route, 404, "no such endpoint: /v1/score, /predict, /health, /v1/model, /metrics", t0);
        return;
    }
    int want_post = route == R_SCORE || route == R_PREDICT;
    if ((want_post && cmd != EVHTTP_REQ_POST) || (!want_post && cmd != EVHTTP_REQ_GET)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", want_post ? "POST" : "GET");
        reply_error(sv, req, route, 405, want_post ? "use POST" : "use GET", t0);
        return;
    }
    if (route == R_HEALTH) {
        if (sv->loaded && !sv->draining)
            reply(sv, req, route, 200, "application/json", "{\"status\":\"ok\"}\n", 16, t0);
        else
            reply(sv, req, route, 503, "application/json",
                  sv->draining ? "{\"status\":\"draining\"}\n" : "{\"status\":\"loading\"}\n",
                  sv->draining ? 22 : 21, t0);
        return;
    }
    if (route == R_METRICS) {
        lr__buf b;
        lr__buf_init(&b);
        if (sv->queue) lr__serve_queue_stats(sv->queue, &sv->m);
        sv->m.in_flight = (uint64_t)sv->jobs;
        if (lr__serve_metrics_text(&sv->m, sv->model, sv->o.model_name, sv->loaded, &b) == 0)
            reply(sv, req, route, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, t0);
        else
            reply_error(sv, req, route, 500, "out of memory", t0);
        lr__buf_free(&b);
        return;
    }
    if (!sv->loaded) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        reply_error(sv, req, route, 503, "the model is loading", t0);
        return;
    }
    if (route == R_MODEL) {
        lr__buf b;
        lr__buf_init(&b);
        model_json(sv, &b);
        reply(sv, req, route, 200, "application/json", b.data ? b.data : "{}", b.len, t0);
        lr__buf_free(&b);
        return;
    }
    if (sv->draining) {
        reply_error(sv, req, route, 503, "the server is shutting down", t0);
        return;
    }
    /* POST /v1/score, /predict */
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (len && !body) {
        reply_error(sv, req, route, 500, "out of memory", t0);
        return;
    }
    if (len > sv->o.max_body) { /* evhttp's own check answers first (on_output counts it) */
        reply_error(sv, req, route, 413, "the body is over the limit", t0);
        return;
    }
    lr__job *job = lr__calloc(1, sizeof *job);
    if (!job) {
        reply_error(sv, req, route, 500, "out of memory", t0);
        return;
    }
    lr__serve_body_init(&job->body);
    lr__buf_init(&job->out);
    job->kind = route == R_PREDICT ? LR_JOB_PREDICT : LR_JOB_SCORE;
    job->route = route;
    job->req = req;
    job->t_start = t0;
    lr_error e = {0, ""};
    int rc;
    if (route == R_PREDICT) {
        rc = lr__serve_predict_inputs(body, len, &job->body, &job->batch, &e);
    } else if ((rc = query_format(uri, &job->format, &e)) != 0) {
        /* e says what */
    } else {
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        rc = lr__serve_frame(ct, body, len, &job->body, &e);
    }
    if (rc) {
        reply_error(sv, req, route, rc == LR_EPARSE ? 400 : 500, e.msg, t0);
        lr__serve_job_free(job);
        return;
    }
    if (lr__serve_queue_push(sv->queue, job)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        reply_error(sv, req, route, 429, "the queue is full; retry later", t0);
        lr__serve_job_free(job);
        return;
    }
    sv->jobs++;
}

/* ---------------------------------------------------------------- events */

static void notify(void *user) {
    server *sv = user;
    char c = 1;
    ssize_t n;
    do n = write(sv->pipe_w, &c, 1);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, so a wake-up is already pending */
}

static void *load_thread(void *arg) {
    server *sv = arg;
    lr_error e = {0, ""};
    lr_model *m = sv->load(sv->load_user, &e);
    lr_pool *pool = m ? lr_pool_new(sv->o.n_threads, &e) : NULL;
    lr_scorer *s = NULL;
    if (pool) {
        lr_score_opts so;
        lr_score_opts_init(&so);
        so.pool = pool;
        so.batch = sv->o.batch;
        so.max_batch_tokens = sv->o.max_batch_tokens;
        so.cache_entries = sv->o.cache_entries;
        so.output = LR_SCORE_ENRICH;
        s = lr_scorer_new(m, &so, &e);
    }
    sv->model = m;
    sv->pool = pool;
    sv->scorer = s;
    sv->load_err = e;
    notify(sv);
    return NULL;
}

static void start_drain(server *sv) {
    if (sv->draining) return;
    sv->draining = 1;
    sv->drain_start = lr__now_s();
    if (sv->sock) {
        evhttp_del_accept_socket(sv->http, sv->sock);
        sv->sock = NULL;
    }
}

static void maybe_exit(server *sv) {
    if (!sv->draining) return;
    if ((sv->jobs == 0 && sv->replies == 0) || lr__now_s() - sv->drain_start > sv->o.drain_timeout)
        event_base_loopexit(sv->base, NULL);
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    server *sv = arg;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    if (!sv->load_done && sv->loader_started && (sv->scorer || sv->load_err.code)) {
        pthread_join(sv->loader, NULL);
        sv->loader_started = 0;
        sv->load_done = 1;
        if (!sv->scorer) {
            sv->result = sv->load_err.code ? sv->load_err.code : LR_ENOMEM;
            sv->err = sv->load_err;
            event_base_loopexit(sv->base, NULL);
            return;
        }
        sv->queue = lr__serve_queue_new(sv->scorer, sv->model, sv->o.max_queue, notify, sv, &sv->err);
        if (!sv->queue) {
            sv->result = sv->err.code;
            event_base_loopexit(sv->base, NULL);
            return;
        }
        sv->loaded = 1;
    }
    if (sv->queue) send_done(sv);
    maybe_exit(sv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    server *sv = arg;
    start_drain(sv);
    maybe_exit(sv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    server *sv = arg;
    if (sv->o.stop && *sv->o.stop) start_drain(sv);
    sweep(sv);
    maybe_exit(sv);
}

/* "ADDR:PORT", "[v6]:PORT" or ":PORT" into host (NUL-terminated) and port. */
static int parse_listen(const char *s, char *host, size_t cap, int *port) {
    const char *colon = strrchr(s, ':');
    if (!colon) return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0) {
        h = "0.0.0.0";
        hl = 7;
    }
    if (hl >= cap) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

/* The address the socket is bound to, "host:port". */
static void bound_name(evutil_socket_t fd, char *out, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, cap, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

static void server_free(server *sv) {
    if (sv->loader_started) pthread_join(sv->loader, NULL);
    lr__serve_queue_free(sv->queue); /* scores what is still queued, then stops */
    if (sv->queue) {
        /* jobs finished after the loop ended: their clients are gone */
        sv->queue = NULL;
    }
    if (sv->ev_term) event_free(sv->ev_term);
    if (sv->ev_int) event_free(sv->ev_int);
    if (sv->ev_tick) event_free(sv->ev_tick);
    if (sv->ev_wake) event_free(sv->ev_wake);
    if (sv->http) evhttp_free(sv->http);
    for (size_t i = 0; i < sv->n_conns; i++) bufferevent_decref(sv->conns[i].bev);
    lr__free(sv->conns);
    if (sv->base) event_base_free(sv->base);
    if (sv->pipe_r >= 0) close(sv->pipe_r);
    if (sv->pipe_w >= 0) close(sv->pipe_w);
    lr_scorer_free(sv->scorer);
    lr_pool_free(sv->pool);
    lr_model_free(sv->model);
}

int lr_serve_run(const lr_serve_opts *opts, lr_serve_load_fn load, void *load_user, lr_error *err) {
    server sv;
    memset(&sv, 0, sizeof sv);
    sv.pipe_r = sv.pipe_w = -1;
    lr_serve_opts_init(&sv.o);
    if (opts) sv.o = *opts;
    if (!sv.o.stop) sv.o.stop = &dummy_stop;
    sv.load = load;
    sv.load_user = load_user;
    char host[256];
    int port = 0;
    if (!load) return lr__err(err, LR_EINVAL, "no model loader given to the server");
    if (!sv.o.listen || parse_listen(sv.o.listen, host, sizeof host, &port))
        return lr__err(err, LR_EINVAL, "listen address '%s' is not ADDR:PORT", sv.o.listen ? sv.o.listen : "");
    if (sv.o.max_body < 1 || sv.o.max_headers < 256 || sv.o.max_connections < 1 || sv.o.max_queue < 1 ||
        !(sv.o.timeout > 0) || !(sv.o.drain_timeout >= 0))
        return lr__err(err, LR_EINVAL, "server limits out of range");
    int p[2];
    if (pipe(p) != 0) return lr__err(err, LR_EIO, "pipe: %s", strerror(errno));
    sv.pipe_r = p[0];
    sv.pipe_w = p[1];
    fcntl(sv.pipe_r, F_SETFL, O_NONBLOCK);
    fcntl(sv.pipe_w, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    sv.base = event_base_new();
    sv.http = sv.base ? evhttp_new(sv.base) : NULL;
    if (!sv.http) {
        rc = lr__err(err, LR_ENOMEM, "cannot create the HTTP server");
        goto done;
    }
    evhttp_set_max_body_size(sv.http, (ev_ssize_t)sv.o.max_body);
    evhttp_set_max_headers_size(sv.http, (ev_ssize_t)sv.o.max_headers);
    struct timeval tv = {.tv_sec = (time_t)sv.o.timeout,
                         .tv_usec = (suseconds_t)((sv.o.timeout - (double)(time_t)sv.o.timeout) * 1e6)};
    evhttp_set_timeout_tv(sv.http, &tv);
    evhttp_set_allowed_methods(sv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(sv.http, handle, &sv);
    evhttp_set_bevcb(sv.http, new_bev, &sv);
    sv.sock = evhttp_bind_socket_with_handle(sv.http, host, (ev_uint16_t)port);
    if (!sv.sock) {
        rc = lr__err(err, LR_EIO, "cannot listen on %s: %s", sv.o.listen, strerror(errno ? errno : EADDRINUSE));
        goto done;
    }
    sv.ev_wake = event_new(sv.base, sv.pipe_r, EV_READ | EV_PERSIST, on_wake, &sv);
    sv.ev_tick = event_new(sv.base, -1, EV_PERSIST, on_tick, &sv);
    if (sv.o.handle_signals) {
        sv.ev_term = evsignal_new(sv.base, SIGTERM, on_signal, &sv);
        sv.ev_int = evsignal_new(sv.base, SIGINT, on_signal, &sv);
    }
    struct timeval tick = {.tv_sec = 0, .tv_usec = 250000};
    if (!sv.ev_wake || !sv.ev_tick || event_add(sv.ev_wake, NULL) || event_add(sv.ev_tick, &tick) ||
        (sv.ev_term && event_add(sv.ev_term, NULL)) || (sv.ev_int && event_add(sv.ev_int, NULL)) ||
        (sv.o.handle_signals && (!sv.ev_term || !sv.ev_int))) {
        rc = lr__err(err, LR_ENOMEM, "cannot set up the server's events");
        goto done;
    }
    if (pthread_create(&sv.loader, NULL, load_thread, &sv) != 0) {
        rc = lr__err(err, LR_ENOMEM, "cannot start the model loader");
        goto done;
    }
    sv.loader_started = 1;
    if (sv.o.on_listen) {
        char name[300];
        bound_name(evhttp_bound_socket_get_fd(sv.sock), name, sizeof name);
        sv.o.on_listen(sv.o.user, name);
    }
    event_base_dispatch(sv.base);
    if (sv.result) {
        if (err) *err = sv.err;
        rc = sv.result;
    }
done:
    server_free(&sv);
    return rc;
}
