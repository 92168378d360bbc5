/*
 * cmd_serve.c — `logrisk serve`: parse the flags (one table, src/cli/opts.h),
 * hand the server (src/serve.c) a model loader, report errors.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

typedef struct loader {
    const char *path;
    unsigned flags;
} loader;

static lr_model *load_model(void *user, lr_error *err) {
    loader *l = user;
    return l->path ? lr_model_load_flags(l->path, l->flags, err) : lr_model_load_builtin_flags(l->flags, err);
}

static void on_listen(void *user, const char *addr) {
    (void)user;
    fprintf(stderr, "logrisk serve: listening on %s\n", addr);
    fflush(stderr);
}

/* --max-queue and --max-body: a whole number, also written as 1e6 (as
 * they have always accepted), in [1, hi]. */
static int parse_whole(const char *v, double hi, size_t *out) {
    if (!*v || *v == '-' || *v == '+' || *v == ' ') return -1;
    errno = 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (errno || *end || !(d >= 1 && d <= hi) || d != floor(d)) return -1;
    *out = (size_t)d;
    return 0;
}
static int parse_max_queue(const char *v, void *dst) { return parse_whole(v, 1e9, dst); }
static int parse_max_body(const char *v, void *dst) { return parse_whole(v, 1073741824.0, dst); }

int lr_cmd_serve(int argc, char **argv) {
    lr_serve_opts o;
    lr_serve_opts_init(&o);
    loader l = {NULL, 0};
    int verify = 1;
    const lr_cli_opt opts[] = {
        LR_OPT("--model", "-m", LR_OPT_STR, &l.path, "FILE", "model file (default: the built-in model)",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--listen", NULL, LR_OPT_STR, &o.listen, "ADDR:PORT",
               "address to listen on (default 127.0.0.1:8080; port 0: any free port; the address is "
               "printed on stderr)",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--threads", NULL, LR_OPT_INT, &o.n_threads, "N", "threads of the model (default: available cores)",
               .lo = 1, .hi = 256),
        LR_OPT("--batch", NULL, LR_OPT_INT, &o.batch, "N", "lines per model call (default 32)", .lo = 1, .hi = 256),
        LR_OPT("--max-batch-tokens", NULL, LR_OPT_INT, &o.max_batch_tokens, "N", "tokens per model call (default 4096)",
               .lo = 2, .hi = 1 << 20),
        LR_OPT("--max-queue", NULL, LR_OPT_FN, &o.max_queue, "N",
               "records waiting at most, 1..1000000000; more is 429 (default 16384)", .parse = parse_max_queue,
               .want = "a whole number in 1..1000000000"),
        LR_OPT("--max-body", NULL, LR_OPT_FN, &o.max_body, "BYTES",
               "request body limit, at most 1 GiB; more is 413 (default 8388608)", .parse = parse_max_body,
               .want = "a whole number of bytes in 1..1073741824"),
        LR_OPT("--max-connections", NULL, LR_OPT_INT, &o.max_connections, "N",
               "open connections; more wait to be accepted (default 256)", .lo = 1, .hi = 65536),
        LR_OPT("--timeout", NULL, LR_OPT_DOUBLE, &o.timeout, "SECONDS",
               "a request must arrive within this, and an idle connection is closed after it (default 30)",
               .lo = 0.01, .hi = 86400),
        LR_OPT("--drain-timeout", NULL, LR_OPT_DOUBLE, &o.drain_timeout, "SEC",
               "after SIGTERM, at most this long to finish (default 20)", .lo = 0, .hi = 86400),
        LR_OPT("--cache", NULL, LR_OPT_INT, &o.cache_entries, "N",
               "LRU cache entries of token sequences (default 4096; 0: off)", .lo = 0, .hi = 1 << 22),
        LR_OPT("--no-verify", NULL, LR_OPT_CLEAR, &verify, NULL, "skip the weights' checksum at load"),
    };
    const lr_cli_spec spec = {
        "serve",
        opts,
        LR_CLI_N(opts),
        .about = "The HTTP scoring API. Endpoints:\n"
                 "  POST /v1/score   NDJSON (application/x-ndjson), a JSON array (application/json)\n"
                 "                   or text lines (text/plain); every record comes back with\n"
                 "                   risk_score, risk_label, line, line_end, in order, in the\n"
                 "                   request's framing (a JSON array for an array, else NDJSON)\n"
                 "  POST /predict    {\"inputs\": \"text\" | [\"a\", ...]}: per input its labels and\n"
                 "                   probabilities, highest first\n"
                 "  GET  /health     200 {\"status\":\"ok\"}; 503 while loading or shutting down\n"
                 "  GET  /v1/model   labels, max_len, weight type, version\n"
                 "  GET  /metrics    Prometheus text\n"
                 "SIGTERM or SIGINT: stop accepting, answer what is in flight, exit 0.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    if (!verify) l.flags |= LR_MODEL_LOAD_NO_VERIFY;
    if (!l.path && !lr_model_has_builtin())
        return lr_cli_fail("serve: no model given (-m) and this build has no built-in model");
    const char *slash = l.path ? strrchr(l.path, '/') : NULL;
    o.model_name = l.path ? (slash ? slash + 1 : l.path) : "built-in";
    o.on_listen = on_listen;
    lr_error err = {0, ""};
    if (lr_serve_run(&o, load_model, &l, &err) != 0) return lr_cli_error("serve", &err);
    fprintf(stderr, "logrisk serve: stopped\n");
    return 0;
}
