/*
 * serve_metrics.c — what `logrisk serve` counts, and its Prometheus text
 * exposition (format 0.0.4) for GET /metrics.
 *
 *   logrisk_http_requests_total{route,code}          counter (route "other"
 *                                                    also holds evhttp's own
 *                                                    answers: serve.c)
 *   logrisk_http_request_duration_seconds{route}     histogram (the handler's
 *                                                    answers)
 *   logrisk_records_total                            counter (records scored)
 *   logrisk_batch_round_records                      histogram (records the
 *                                                    batcher took together)
 *   logrisk_model_batches_total, _batch_lines_total  counters (model calls)
 *   logrisk_cache_hits_total, _lookups_total         counters
 *   logrisk_queue_records, logrisk_queue_requests    gauges
 *   logrisk_requests_in_flight                       gauge (scoring requests
 *                                                    accepted, not answered)
 *   logrisk_connections                              gauge
 *   logrisk_model_info{name,version,dtype,max_len,labels} 1 (once loaded)
 *   logrisk_model_loaded                             gauge 0/1
 *
 * Every counter is updated on the event loop's thread (the batcher's are
 * copied over under the queue's lock), so no atomics are needed.
 */
#include "serve.h"

#include <string.h>

const char *const lr__serve_route_names[LR_SERVE_N_ROUTES] = {"score", "predict", "health", "model", "metrics",
                                                              "other"};

static const int codes[8] = {200, 400, 404, 405, 413, 429, 500, 503};
static const double lat_le[LR_SERVE_N_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,   0.25,   0.5,   1,    2.5,   10};
static const double round_le[LR_SERVE_N_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

void lr__serve_metrics_code(lr__serve_metrics *m, int route, int code) {
    if (route < 0 || route >= LR_SERVE_N_ROUTES) route = LR_SERVE_N_ROUTES - 1;
    int ci = -1;
    for (int i = 0; i < 8; i++)
        if (codes[i] == code) ci = i;
    if (ci < 0) ci = code >= 500 ? 6 : 1; /* anything else: counted as 500 / 400 */
    m->codes[route][ci]++;
}

void lr__serve_metrics_request(lr__serve_metrics *m, int route, int code, double seconds) {
    if (route < 0 || route >= LR_SERVE_N_ROUTES) route = LR_SERVE_N_ROUTES - 1;
    lr__serve_metrics_code(m, route, code);
    m->lat_count[route]++;
    m->lat_sum[route] += seconds;
    for (int b = 0; b < LR_SERVE_N_BUCKETS; b++)
        if (seconds <= lat_le[b]) m->lat_buckets[route][b]++;
}

void lr__serve_metrics_round(lr__serve_metrics *m, uint64_t n) {
    m->rounds++;
    m->round_records += n;
    for (int b = 0; b < LR_SERVE_N_BUCKETS; b++)
        if ((double)n <= round_le[b]) m->round_buckets[b]++;
}

/* A label value: '\\', '"' and '\n' escaped. */
static int put_label_value(lr__buf *b, const char *s, size_t n) {
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char c = s[i];
        if (c == '\\' || c == '"') rc = lr__buf_putc(b, '\\') || lr__buf_putc(b, c);
        else if (c == '\n') rc = lr__buf_puts(b, "\\n");
        else rc = lr__buf_putc(b, c);
    }
    return rc;
}

/* "# HELP name help" and "# TYPE name type" lines. */
static int put_head(lr__buf *o, const char *name, const char *type, const char *help) {
    return lr__buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric without labels: its HELP and TYPE lines and its value. */
static int put_metric(lr__buf *o, const char *name, const char *type, const char *help, uint64_t v) {
    int rc = put_head(o, name, type, help);
    return rc ? rc : lr__buf_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

int lr__serve_metrics_text(const lr__serve_metrics *m, const lr_model *model, const char *model_name, int loaded,
                           lr__buf *o) {
    int rc = put_head(o, "logrisk_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for (int r = 0; r < LR_SERVE_N_ROUTES && !rc; r++)
        for (int c = 0; c < 8 && !rc; c++)
            if (m->codes[r][c] || (r == 0 && c == 0))
                rc = lr__buf_printf(o, "logrisk_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                    lr__serve_route_names[r], codes[c], (unsigned long long)m->codes[r][c]);
    rc = rc ? rc : put_head(o, "logrisk_http_request_duration_seconds", "histogram",
                            "Time from a request's arrival to its answer.");
    for (int r = 0; r < LR_SERVE_N_ROUTES && !rc; r++) {
        if (!m->lat_count[r] && r != 0) continue;
        for (int b = 0; b < LR_SERVE_N_BUCKETS && !rc; b++)
            rc = lr__buf_printf(o, "logrisk_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                lr__serve_route_names[r], lat_le[b], (unsigned long long)m->lat_buckets[r][b]);
        rc = rc ? rc : lr__buf_printf(o, "logrisk_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                      lr__serve_route_names[r], (unsigned long long)m->lat_count[r]);
        rc = rc ? rc : lr__buf_printf(o, "logrisk_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                                      lr__serve_route_names[r], m->lat_sum[r]);
        rc = rc ? rc : lr__buf_printf(o, "logrisk_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                                      lr__serve_route_names[r], (unsigned long long)m->lat_count[r]);
    }
    rc = rc ? rc : put_metric(o, "logrisk_records_total", "counter", "Records (events) scored.", m->records);
    rc = rc ? rc : put_head(o, "logrisk_batch_round_records", "histogram",
                            "Records the batcher scored together, over concurrent requests.");
    for (int b = 0; b < LR_SERVE_N_BUCKETS && !rc; b++)
        rc = lr__buf_printf(o, "logrisk_batch_round_records_bucket{le=\"%g\"} %llu\n", round_le[b],
                            (unsigned long long)m->round_buckets[b]);
    rc = rc ? rc : lr__buf_printf(o, "logrisk_batch_round_records_bucket{le=\"+Inf\"} %llu\n"
                                     "logrisk_batch_round_records_sum %llu\nlogrisk_batch_round_records_count %llu\n",
                                  (unsigned long long)m->rounds, (unsigned long long)m->round_records,
                                  (unsigned long long)m->rounds);
    rc = rc ? rc : put_metric(o, "logrisk_model_batches_total", "counter",
                              "Model calls (batches cut by lines and tokens).", m->batches);
    rc = rc ? rc : put_metric(o, "logrisk_model_batch_lines_total", "counter", "Lines in those model calls.",
                              m->batch_lines);
    rc = rc ? rc : put_metric(o, "logrisk_cache_hits_total", "counter",
                              "Records answered by the token-sequence cache.", m->cache_hits);
    rc = rc ? rc : put_metric(o, "logrisk_cache_lookups_total", "counter", "Cache lookups.", m->cache_lookups);
    rc = rc ? rc : put_metric(o, "logrisk_queue_records", "gauge", "Records waiting for the batcher.",
                              m->queue_records);
    rc = rc ? rc : put_metric(o, "logrisk_queue_requests", "gauge", "Requests waiting for the batcher.",
                              m->queue_requests);
    rc = rc ? rc : put_metric(o, "logrisk_requests_in_flight", "gauge",
                              "Scoring requests accepted and not yet answered.", m->in_flight);
    rc = rc ? rc : put_metric(o, "logrisk_connections", "gauge", "Open HTTP connections.", m->connections);
    rc = rc ? rc : put_metric(o, "logrisk_model_loaded", "gauge", "1 once the model is loaded and /health is ok.",
                              loaded ? 1 : 0);
    if (loaded && model && !rc) {
        lr_model_info info;
        lr_model_get_info(model, &info);
        const char *name = model_name ? model_name : "";
        rc = lr__buf_puts(o, "# HELP logrisk_model_info The model being served.\n# TYPE logrisk_model_info gauge\n"
                             "logrisk_model_info{name=\"");
        rc = rc ? rc : put_label_value(o, name, strlen(name));
        rc = rc ? rc : lr__buf_printf(o, "\",version=\"%s\",dtype=\"%s\",max_len=\"%d\",labels=\"%d\"} 1\n", LR_VERSION,
                                      info.dtype ? info.dtype : "f32", lr_model_max_len(model), info.n_labels);
    }
    return rc;
}
