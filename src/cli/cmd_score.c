/*
 * cmd_score.c — `logrisk score`: parse the flags, load the model, run the
 * scorer (src/score.c) from the input to the output, report errors.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char score_usage[] =
    "usage: logrisk score [-m model.lrm] [-i FILE|-] [-o FILE] [--threads N] [--batch N]\n"
    "                     [--logits]\n"
    "\n"
    "Scores every input line with the model: one JSON object per line, in input order:\n"
    "  {\"line\":N,\"risk_label\":L,\"risk_score\":S,\"probabilities\":[...]}\n"
    "N counts lines from 1; L is the most likely class (a number for risk models whose\n"
    "labels are 0..C-1, else the label name); S is the expected class index.\n"
    "\n"
    "  -m, --model FILE   the model (.lrm); default: the one built into this binary\n"
    "  -i, --input FILE   raw log lines (default or '-': standard input)\n"
    "  -o, --output FILE  where to write (default: standard output)\n"
    "  --threads N        threads for the model (default: available cores)\n"
    "  --batch N          lines per model call (1..256), grouped by length (default 32)\n"
    "  --logits           also write \"logits\":[...]\n"
    "  -h, --help         show this help\n";

/* Parse a whole decimal int in [lo, hi]; 0 on success. */
static int parse_int(const char *text, int lo, int hi, int *out) {
    if (!text || !*text) return -1;
    errno = 0;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* The value of option `name` at argv[*i]: "--name=value" or "--name value"
 * (also "-m value"). NULL if absent (and *i unchanged on a mismatch). */
static const char *opt_value(int argc, char **argv, int *i, const char *shrt, const char *lng,
                             int *matched) {
    const char *a = argv[*i];
    size_t n = strlen(lng);
    *matched = 0;
    if ((shrt && strcmp(a, shrt) == 0) || strcmp(a, lng) == 0) {
        *matched = 1;
        if (*i + 1 >= argc) return NULL;
        return argv[++*i];
    }
    if (strncmp(a, lng, n) == 0 && a[n] == '=') {
        *matched = 1;
        return a + n + 1;
    }
    return NULL;
}

int lr_cmd_score(int argc, char **argv) {
    const char *model_path = NULL, *in_path = NULL, *out_path = NULL;
    lr_score_opts opts;
    lr_score_opts_init(&opts);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        int m = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(score_usage, 1);
        if (strcmp(a, "--logits") == 0) {
            opts.with_logits = 1;
            continue;
        }
        if ((v = opt_value(argc, argv, &i, "-m", "--model", &m)) || m) {
            if (!v) goto missing;
            model_path = v;
        } else if ((v = opt_value(argc, argv, &i, "-i", "--input", &m)) || m) {
            if (!v) goto missing;
            in_path = v;
        } else if ((v = opt_value(argc, argv, &i, "-o", "--output", &m)) || m) {
            if (!v) goto missing;
            out_path = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--threads", &m)) || m) {
            if (!v) goto missing;
            if (parse_int(v, 1, 256, &opts.n_threads)) {
                fprintf(stderr, "logrisk score: --threads wants a number 1..256, not '%s'\n\n", v);
                return lr_cli_usage(score_usage, 0);
            }
        } else if ((v = opt_value(argc, argv, &i, NULL, "--batch", &m)) || m) {
            if (!v) goto missing;
            if (parse_int(v, 1, 256, &opts.batch)) {
                fprintf(stderr, "logrisk score: --batch wants a number 1..256, not '%s'\n\n", v);
                return lr_cli_usage(score_usage, 0);
            }
        } else {
            fprintf(stderr, "logrisk score: unknown option '%s'\n\n", a);
            return lr_cli_usage(score_usage, 0);
        }
        continue;
    missing:
        fprintf(stderr, "logrisk score: option '%s' needs a value\n\n", a);
        return lr_cli_usage(score_usage, 0);
    }

    if (!model_path && !lr_model_has_builtin())
        return lr_cli_fail("score: no model given (-m) and this build has no built-in model");

    lr_error err = {0};
    lr_model *model = model_path ? lr_model_load(model_path, &err) : lr_model_load_builtin(&err);
    if (!model) return lr_cli_error("score", &err);
    lr_scorer *scorer = lr_scorer_new(model, &opts, &err);
    if (!scorer) {
        lr_model_free(model);
        return lr_cli_error("score", &err);
    }
    FILE *in = lr_cli_open_in(in_path, "score");
    FILE *out = in ? lr_cli_open_out(out_path, "score") : NULL;
    int status = 1;
    if (in && out) {
        /* a closed pipe must be an error we report, not a silent death */
        signal(SIGPIPE, SIG_IGN);
        if (lr_scorer_run(scorer, fileno(in), out, &err) == 0) {
            status = lr_cli_close_out(out, out_path, "score");
        } else {
            lr_cli_error("score", &err);
            if (out != stdout) fclose(out);
        }
    } else if (out && out != stdout) {
        fclose(out);
    }
    if (in && in != stdin) fclose(in);
    lr_scorer_free(scorer);
    lr_model_free(model);
    return status;
}
