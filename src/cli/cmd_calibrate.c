/*
 * cmd_calibrate.c — `logrisk calibrate`: fit a temperature on judged events
 * and write a calibrated copy of a model (src/eval.c, src/calibrate.c).
 */
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "eval.h"

int lr_cmd_calibrate(int argc, char **argv) {
    const char *gold_path = NULL, *out_path = NULL, *model_path = NULL, *split = NULL;
    int threads = 0;
    const lr_cli_opt opts[] = {
        LR_OPT("--gold", NULL, LR_OPT_STR, &gold_path, "FILE", "the judged events (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "OUT.lrm", "the calibrated model to write (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--model", "-m", LR_OPT_STR, &model_path, "MODEL", "the model to calibrate (default: the built-in one)"),
        LR_OPT("--split", NULL, LR_OPT_STR, &split, "NAME", "only the events whose \"split\" is NAME (e.g. dev)"),
        LR_OPT("--threads", NULL, LR_OPT_INT, &threads, "N", "scoring threads (default: the available cores)", .lo = 1,
               .hi = 256),
    };
    const lr_cli_spec spec = {
        "calibrate",
        opts,
        LR_CLI_N(opts),
        .about = "Scores the judged events of a gold file (JSON lines {\"text\": ..., \"risk\": 0..10},\n"
                 "as `logrisk eval` reads it), finds the temperature T that makes the model's\n"
                 "probabilities softmax(logits / T) fit the judged labels best (least negative\n"
                 "log-likelihood), and writes a copy of the model with T folded into its\n"
                 "head, so that score, eval and export give calibrated probabilities. Use\n"
                 "held-out events (a dev split), never the events you will test on.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    lr_error err = {0};
    lr_eval_gold gold;
    if (lr_eval_gold_load(gold_path, split, NULL, &gold, &err)) return lr_cli_error("calibrate", &err);
    lr_score_opts so;
    lr_score_opts_init(&so);
    so.n_threads = threads;
    lr_eval_calibration cal;
    int rc = lr_eval_calibrate(model_path, &so, &gold, out_path, &cal, &err);
    lr_eval_gold_free(&gold);
    if (rc) return lr_cli_error("calibrate", &err);
    printf("temperature %.4f on %d events: mean NLL %.4f -> %.4f, ECE %.4f -> %.4f; wrote %s\n", cal.temperature, cal.n,
           cal.nll_before, cal.nll_after, cal.ece_before, cal.ece_after, out_path);
    return 0;
}
