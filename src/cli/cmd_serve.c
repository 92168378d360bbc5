/*
 * cmd_serve.c — `logrisk serve`: parse the flags, hand the server
 * (src/serve.c) a model loader, report errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char serve_usage[] =
    "usage: logrisk serve [-m model.lrm] [--listen ADDR:PORT] [--threads N] [options]\n"
    "\n"
    "The HTTP scoring API. Endpoints:\n"
    "  POST /v1/score   NDJSON (application/x-ndjson), a JSON array (application/json)\n"
    "                   or text lines (text/plain); every record comes back with\n"
    "                   risk_score, risk_label, line, line_end, in order, in the\n"
    "                   request's framing (a JSON array for an array, else NDJSON)\n"
    "  POST /predict    {\"inputs\": \"text\" | [\"a\", ...]}: per input its labels and\n"
    "                   probabilities, highest first\n"
    "  GET  /health     200 {\"status\":\"ok\"}; 503 while loading or shutting down\n"
    "  GET  /v1/model   labels, max_len, weight type, version\n"
    "  GET  /metrics    Prometheus text\n"
    "SIGTERM or SIGINT: stop accepting, answer what is in flight, exit 0.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE       model file (default: the built-in model)\n"
    "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080; port 0:\n"
    "                         any free port; the address is printed on stderr)\n"
    "  --threads N            threads of the model (default: available cores)\n"
    "  --batch N              lines per model call, 1..256 (default 32)\n"
    "  --max-batch-tokens N   tokens per model call (default 4096)\n"
    "  --max-queue N          records waiting at most; more is 429 (default 16384)\n"
    "  --max-body BYTES       request body limit; more is 413 (default 8388608)\n"
    "  --max-connections N    open connections; more wait to be accepted (default 256)\n"
    "  --timeout SECONDS      a request must arrive within this, and an idle\n"
    "                         connection is closed after it (default 30)\n"
    "  --drain-timeout SEC    after SIGTERM, at most this long to finish (default 20)\n"
    "  --cache N              LRU cache entries of token sequences (default 4096; 0 off)\n"
    "  --no-verify            skip the weights' checksum at load\n"
    "  -h, --help             this help\n";

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

/* A whole positive number of at most `hi`. */
static int parse_size(const char *v, double lo, double hi, double *out) {
    if (!v || !*v) return -1;
    errno = 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (errno || *end || !(d >= lo && d <= hi)) return -1;
    *out = d;
    return 0;
}

int lr_cmd_serve(int argc, char **argv) {
    lr_serve_opts o;
    lr_serve_opts_init(&o);
    loader l = {NULL, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(serve_usage, 1);
        if (strcmp(a, "--no-verify") == 0) {
            l.flags |= LR_MODEL_LOAD_NO_VERIFY;
            continue;
        }
        static const char *const with_value[] = {"-m", "--model", "--listen", "--threads", "--batch",
                                                 "--max-batch-tokens", "--max-queue", "--max-body",
                                                 "--max-connections", "--timeout", "--drain-timeout", "--cache"};
        const char *name = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !name; k++)
            if (lr_cli_is_opt(a, with_value[k])) name = with_value[k];
        if (!name) {
            fprintf(stderr, "logrisk serve: unknown option '%s'\n\n", a);
            return lr_cli_usage(serve_usage, 0);
        }
        const char *v = lr_cli_opt_value(argc, argv, &i, name);
        if (!v) {
            fprintf(stderr, "logrisk serve: %s needs a value\n\n", name);
            return lr_cli_usage(serve_usage, 0);
        }
        const char *bad = NULL;
        double d = 0;
        if (strcmp(name, "-m") == 0 || strcmp(name, "--model") == 0) l.path = v;
        else if (strcmp(name, "--listen") == 0) o.listen = v;
        else if (strcmp(name, "--threads") == 0) bad = lr_cli_parse_int(v, 1, 256, &o.n_threads) ? "a number 1..256" : NULL;
        else if (strcmp(name, "--batch") == 0) bad = lr_cli_parse_int(v, 1, 256, &o.batch) ? "a number 1..256" : NULL;
        else if (strcmp(name, "--max-batch-tokens") == 0)
            bad = lr_cli_parse_int(v, 2, 1 << 20, &o.max_batch_tokens) ? "a number 2..1048576" : NULL;
        else if (strcmp(name, "--max-connections") == 0)
            bad = lr_cli_parse_int(v, 1, 65536, &o.max_connections) ? "a number 1..65536" : NULL;
        else if (strcmp(name, "--cache") == 0)
            bad = lr_cli_parse_int(v, 0, 1 << 22, &o.cache_entries) ? "a number 0..4194304" : NULL;
        else if (strcmp(name, "--max-queue") == 0) {
            if (parse_size(v, 1, 1e9, &d) || d != (double)(size_t)d) bad = "a whole number 1..1000000000";
            else o.max_queue = (size_t)d;
        } else if (strcmp(name, "--max-body") == 0) {
            if (parse_size(v, 1, 1073741824.0, &d) || d != (double)(size_t)d) bad = "a whole number of bytes up to 1 GiB";
            else o.max_body = (size_t)d;
        } else if (strcmp(name, "--timeout") == 0) {
            if (parse_size(v, 0.01, 86400, &d)) bad = "seconds, 0.01..86400";
            else o.timeout = d;
        } else if (strcmp(name, "--drain-timeout") == 0) {
            if (parse_size(v, 0, 86400, &d)) bad = "seconds, 0..86400";
            else o.drain_timeout = d;
        }
        if (bad) {
            fprintf(stderr, "logrisk serve: %s '%s' is not %s\n\n", name, v, bad);
            return lr_cli_usage(serve_usage, 0);
        }
    }
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
