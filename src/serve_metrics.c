/*
 * serve_metrics.c — what `logrisk serve` counts, and its Prometheus text
 * exposition (format 0.0.4) for GET /metrics.
 *
 *   logrisk_http_requests_total{route,code}          counter
 *   logrisk_http_request_duration_seconds{route}     histogram
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

void lr__serve_metrics_request(lr__serve_metrics *m, int route, int code, double seconds) {
    if (route < 0 || route >= LR_SERVE_N_ROUTES) route = LR_SERVE_N_ROUTES - 1;
    int ci = -1;
    for (int i = 0; i < 8; i++)
        if (codes[i] == code) ci = i;
    if (ci < 0) ci = code >= 500 ? 6 : 1; /* anything else: counted as 500 / 400 */
    m->codes[route][ci]++;
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

int lr__serve_metrics_text(const lr__serve_metrics *m, const lr_model *model, const char *model_name, int loaded,
                           lr__buf *o) {
    int rc = lr__buf_puts(o, "# HELP logrisk_http_requests_total HTTP requests answered, by route and status code.\n"
                             "# TYPE logrisk_http_requests_total counter\n");
    for (int r = 0; r < LR_SERVE_N_ROUTES && !rc; r++)
        for (int c = 0; c < 8 && !rc; c++)
            if (m->codes[r][c] || (r == 0 && c == 0))
                rc = lr__buf_printf(o, "logrisk_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                                    lr__serve_route_names[r], codes[c], (unsigned long long)m->codes[r][c]);
    rc = rc ? rc : lr__buf_puts(o, "# HELP logrisk_http_request_duration_seconds Time from a request's arrival to its answer.\n"
                                   "# TYPE logrisk_http_request_duration_seconds histogram\n");
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
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_records_total Records (events) scored.\n"
                                     "# TYPE logrisk_records_total counter\nlogrisk_records_total %llu\n",
                                  (unsigned long long)m->records);
    rc = rc ? rc : lr__buf_puts(o, "# HELP logrisk_batch_round_records Records the batcher scored together, over concurrent requests.\n"
                                   "# TYPE logrisk_batch_round_records histogram\n");
    for (int b = 0; b < LR_SERVE_N_BUCKETS && !rc; b++)
        rc = lr__buf_printf(o, "logrisk_batch_round_records_bucket{le=\"%g\"} %llu\n", round_le[b],
                            (unsigned long long)m->round_buckets[b]);
    rc = rc ? rc : lr__buf_printf(o, "logrisk_batch_round_records_bucket{le=\"+Inf\"} %llu\n"
                                     "logrisk_batch_round_records_sum %llu\nlogrisk_batch_round_records_count %llu\n",
                                  (unsigned long long)m->rounds, (unsigned long long)m->round_records,
                                  (unsigned long long)m->rounds);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_model_batches_total Model calls (batches cut by lines and tokens).\n"
                                     "# TYPE logrisk_model_batches_total counter\nlogrisk_model_batches_total %llu\n"
                                     "# HELP logrisk_model_batch_lines_total Lines in those model calls.\n"
                                     "# TYPE logrisk_model_batch_lines_total counter\nlogrisk_model_batch_lines_total %llu\n",
                                  (unsigned long long)m->batches, (unsigned long long)m->batch_lines);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_cache_hits_total Records answered by the token-sequence cache.\n"
                                     "# TYPE logrisk_cache_hits_total counter\nlogrisk_cache_hits_total %llu\n"
                                     "# HELP logrisk_cache_lookups_total Cache lookups.\n"
                                     "# TYPE logrisk_cache_lookups_total counter\nlogrisk_cache_lookups_total %llu\n",
                                  (unsigned long long)m->cache_hits, (unsigned long long)m->cache_lookups);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_queue_records Records waiting for the batcher.\n"
                                     "# TYPE logrisk_queue_records gauge\nlogrisk_queue_records %llu\n"
                                     "# HELP logrisk_queue_requests Requests waiting for the batcher.\n"
                                     "# TYPE logrisk_queue_requests gauge\nlogrisk_queue_requests %llu\n",
                                  (unsigned long long)m->queue_records, (unsigned long long)m->queue_requests);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_requests_in_flight Scoring requests accepted and not yet answered.\n"
                                     "# TYPE logrisk_requests_in_flight gauge\nlogrisk_requests_in_flight %llu\n",
                                  (unsigned long long)m->in_flight);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_connections Open HTTP connections.\n"
                                     "# TYPE logrisk_connections gauge\nlogrisk_connections %llu\n",
                                  (unsigned long long)m->connections);
    rc = rc ? rc : lr__buf_printf(o, "# HELP logrisk_model_loaded 1 once the model is loaded and /health is ok.\n"
                                     "# TYPE logrisk_model_loaded gauge\nlogrisk_model_loaded %d\n", loaded ? 1 : 0);
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
