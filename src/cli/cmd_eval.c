/*
 * cmd_eval.c — `logrisk eval`: how well a model's (and a rules file's) risk
 * scores agree with judged labels. Parses the flags and calls src/eval.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "eval.h"

enum { O_GOLD, O_MODEL, O_RULES, O_SPLIT, O_BY, O_OUTPUT, O_DETAILS, N_VALUE_OPTS };

int lr_cmd_eval(int argc, char **argv) {
    const char *values[N_VALUE_OPTS] = {[O_BY] = "origin"};
    int json = 0, wrappers = 0, threads = 0;
    const lr_cli_opt opts[] = {
        LR_OPT("--gold", NULL, LR_OPT_STR, &values[O_GOLD], "FILE",
               "JSON lines {\"text\": \"...\", \"risk\": 0..10, ...} (required)", .flags = LR_OPT_REQUIRED),
        LR_OPT("--model", "-m", LR_OPT_STR, &values[O_MODEL], "MODEL", "the model (default: the built-in one)"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &values[O_RULES], "FILE", "also evaluate this rules file's weak labels"),
        LR_OPT("--split", NULL, LR_OPT_STR, &values[O_SPLIT], "NAME",
               "only the events whose \"split\" is NAME (e.g. test)"),
        LR_OPT("--by", NULL, LR_OPT_STR, &values[O_BY], "FIELD",
               "group the per-group table by this member (default origin)"),
        LR_OPT("--wrappers", NULL, LR_OPT_SET, &wrappers, NULL,
               "also write every event in each wrapper logrisk reads "
               "(plain, zap, logrus, slog, logfmt, klog, RFC 5424 syslog, "
               "log4j, CRI and Docker around JSON) and report the mean "
               "and largest spread of its score"),
        LR_OPT("--json", NULL, LR_OPT_SET, &json, NULL, "one JSON object instead of tables"),
        LR_OPT("--threads", NULL, LR_OPT_INT, &threads, "N", "scoring threads (default: the available cores)", .lo = 1,
               .hi = 256),
        LR_OPT("--output", "-o", LR_OPT_STR, &values[O_OUTPUT], "FILE",
               "write the report to FILE (default: standard output)"),
        LR_OPT("--details", NULL, LR_OPT_STR, &values[O_DETAILS], "FILE",
               "also write one JSON object per event to FILE: its gold line, "
               "group, judged risk, the model's risk_score, risk_label and "
               "its probability, the model's logits (one per label), "
               "with --rules the rules' label, and with --wrappers the "
               "event's wrapper spread"),
    };
    const lr_cli_spec spec = {
        "eval",
        opts,
        LR_CLI_N(opts),
        .about = "Scores every judged event of a gold file and reports how well the scores\n"
                 "agree with the judged risk: Spearman and Kendall tau-b rank correlation,\n"
                 "AUC of the score for \"risk >= 7\", mean absolute error of the score\n"
                 "(risk_score), exact and within-one accuracy of the label, precision and recall of\n"
                 "\"label >= 7\", expected calibration error of the label's probability;\n"
                 "overall and per group, for the model and (with --rules) the rules side by\n"
                 "side. Each text is read as `logrisk score` reads a file of its own.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;

    lr_error err = {0};
    lr_model *model = values[O_MODEL] ? lr_model_load(values[O_MODEL], &err) : lr_model_load_builtin(&err);
    lr_rules *rules = NULL;
    lr_eval_gold gold = {0};
    lr_eval_item *model_items = NULL, *rules_items = NULL;
    lr_eval_spread spread = {0};
    int rc = model ? 0 : -1;
    if (!rc && values[O_RULES] && !(rules = lr_rules_load(values[O_RULES], &err))) rc = -1;
    if (!rc) rc = lr_eval_gold_load(values[O_GOLD], values[O_SPLIT], values[O_BY], &gold, &err);
    if (!rc) {
        model_items = calloc((size_t)gold.n, sizeof *model_items);
        rules_items = rules ? calloc((size_t)gold.n, sizeof *rules_items) : NULL;
        if (!model_items || (rules && !rules_items)) rc = LR_ENOMEM, snprintf(err.msg, sizeof err.msg, "out of memory");
    }
    lr_score_opts so;
    lr_score_opts_init(&so);
    so.n_threads = threads;
    int n_labels = model ? lr_model_n_labels(model) : 0;
    float *logits = NULL;
    if (!rc && values[O_DETAILS] && !(logits = calloc((size_t)gold.n * (size_t)n_labels, sizeof *logits)))
        rc = LR_ENOMEM, snprintf(err.msg, sizeof err.msg, "out of memory");
    if (!rc) rc = lr_eval_score(model, &so, rules, &gold, model_items, rules_items, logits, &err);
    if (!rc && wrappers) rc = lr_eval_wrappers(model, &so, &gold, &spread, &err);
    int status = rc ? lr_cli_error("eval", &err) : 0;
    FILE *out = status ? NULL : lr_cli_open_out(values[O_OUTPUT], "eval");
    if (!status && !out) status = 1;
    if (out) {
        lr_eval_report_opts ro = {.json = json,
                                  .model_name = values[O_MODEL] ? values[O_MODEL] : "built-in model",
                                  .rules_name = values[O_RULES],
                                  .spread = wrappers ? &spread : NULL};
        if (lr_eval_report(out, &gold, model_items, rules_items, &ro, &err)) status = lr_cli_error("eval", &err);
        if (lr_cli_close_out(out, values[O_OUTPUT], "eval")) status = 1;
    }
    FILE *details = !status && values[O_DETAILS] ? lr_cli_open_out(values[O_DETAILS], "eval") : NULL;
    if (!status && values[O_DETAILS] && !details) status = 1;
    if (details) {
        if (lr_eval_write_details(details, &gold, model_items, rules_items, logits, n_labels,
                                  wrappers ? &spread : NULL, &err))
            status = lr_cli_error("eval", &err);
        if (lr_cli_close_out(details, values[O_DETAILS], "eval")) status = 1;
    }
    lr_eval_spread_free(&spread);
    lr_eval_gold_free(&gold);
    free(model_items);
    free(rules_items);
    free(logits);
    lr_rules_free(rules);
    lr_model_free(model);
    return status;
}
