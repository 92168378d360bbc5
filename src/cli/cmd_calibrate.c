/*
 * cmd_calibrate.c — `logrisk calibrate`: fit a temperature on judged events
 * and write a calibrated copy of a model (src/eval.c, src/calibrate.c).
 */
#include <string.h>

#include "cli.h"
#include "eval.h"

static const char calibrate_usage[] =
    "usage: logrisk calibrate --gold FILE -o OUT.lrm [-m MODEL] [--split NAME] [--threads N]\n"
    "\n"
    "Scores the judged events of a gold file (JSON lines {\"text\": ..., \"risk\": 0..10},\n"
    "as `logrisk eval` reads it), finds the temperature T that makes the model's\n"
    "probabilities softmax(logits / T) fit the judged labels best (least negative\n"
    "log-likelihood), and writes a copy of the model with T folded into its\n"
    "head, so that score, eval and export give calibrated probabilities. Use\n"
    "held-out events (a dev split), never the events you will test on.\n"
    "\n"
    "  --gold FILE      the judged events (required)\n"
    "  -o, --output F   the calibrated model to write (required)\n"
    "  -m, --model F    the model to calibrate (default: the built-in one)\n"
    "  --split NAME     only the events whose \"split\" is NAME (e.g. dev)\n"
    "  --threads N      scoring threads (default: the available cores)\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "logrisk calibrate: %s%s%s\ntry 'logrisk calibrate --help'\n", msg, arg ? " " : "",
            arg ? arg : "");
    return 2;
}

static const struct {
    const char *name, *alias;
} VALUE_OPTS[] = {{"--gold", NULL}, {"--output", "-o"}, {"--model", "-m"}, {"--split", NULL}, {"--threads", NULL}};
enum { O_GOLD, O_OUTPUT, O_MODEL, O_SPLIT, O_THREADS, N_VALUE_OPTS };

int lr_cmd_calibrate(int argc, char **argv) {
    const char *values[N_VALUE_OPTS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return lr_cli_usage(calibrate_usage, 1);
        int k = 0;
        for (; k < N_VALUE_OPTS && !name; k++) {
            if (lr_cli_is_opt(a, VALUE_OPTS[k].name)) name = VALUE_OPTS[k].name;
            else if (VALUE_OPTS[k].alias && strcmp(a, VALUE_OPTS[k].alias) == 0) name = VALUE_OPTS[k].alias;
        }
        if (!name) return usage_error("unknown argument", a);
        if (!(values[k - 1] = lr_cli_opt_value(argc, argv, &i, name))) return usage_error(name, "needs a value");
    }
    if (!values[O_GOLD] || !values[O_OUTPUT])
        return usage_error(!values[O_GOLD] ? "--gold FILE is required" : "-o OUT.lrm is required", NULL);
    int threads = 0;
    if (values[O_THREADS] && lr_cli_parse_int(values[O_THREADS], 1, 256, &threads))
        return usage_error("--threads takes a number from 1 to 256, not", values[O_THREADS]);
    lr_error err = {0};
    lr_eval_gold gold;
    if (lr_eval_gold_load(values[O_GOLD], values[O_SPLIT], NULL, &gold, &err)) return lr_cli_error("calibrate", &err);
    lr_score_opts so;
    lr_score_opts_init(&so);
    so.n_threads = threads;
    lr_eval_calibration cal;
    int rc = lr_eval_calibrate(values[O_MODEL], &so, &gold, values[O_OUTPUT], &cal, &err);
    lr_eval_gold_free(&gold);
    if (rc) return lr_cli_error("calibrate", &err);
    printf("temperature %.4f on %d events: mean NLL %.4f -> %.4f, ECE %.4f -> %.4f; wrote %s\n", cal.temperature,
           cal.n, cal.nll_before, cal.nll_after, cal.ece_before, cal.ece_after, values[O_OUTPUT]);
    return 0;
}
