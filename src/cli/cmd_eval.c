/*
 * cmd_eval.c — `logrisk eval`: how well a model's (and a rules file's) risk
 * scores agree with judged labels. Parses the flags and calls src/eval.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval.h"

static const char eval_usage[] =
    "usage: logrisk eval --gold FILE [-m MODEL] [--rules FILE] [--split NAME] [--by FIELD]\n"
    "                    [--wrappers] [--json] [--threads N] [-o FILE] [--details FILE]\n"
    "\n"
    "Scores every judged event of a gold file and reports how well the scores\n"
    "agree with the judged risk: Spearman and Kendall tau-b rank correlation,\n"
    "AUC of the score for \"risk >= 7\", mean absolute error of the expected\n"
    "risk, exact and within-one accuracy of the label, precision and recall of\n"
    "\"label >= 7\", expected calibration error of the label's probability;\n"
    "overall and per group, for the model and (with --rules) the rules side by\n"
    "side. Each text is read as `logrisk score` reads a file of its own.\n"
    "\n"
    "  --gold FILE      JSON lines {\"text\": \"...\", \"risk\": 0..10, ...} (required)\n"
    "  -m, --model F    the model (default: the built-in one)\n"
    "  --rules FILE     also evaluate this rules file's weak labels\n"
    "  --split NAME     only the events whose \"split\" is NAME (e.g. test)\n"
    "  --by FIELD       group the per-group table by this member (default origin)\n"
    "  --wrappers       also write every event in each wrapper logrisk reads\n"
    "                   (plain, zap, logrus, slog, logfmt, klog, RFC 5424 syslog,\n"
    "                   log4j, CRI and Docker around JSON) and report the mean\n"
    "                   and largest spread of its score\n"
    "  --json           one JSON object instead of tables\n"
    "  --threads N      scoring threads (default: the available cores)\n"
    "  -o, --output F   write the report to F (default: standard output)\n"
    "  --details F      also write one JSON object per event to F: its gold line,\n"
    "                   group, judged risk, the model's risk_score, risk_label and\n"
    "                   its probability, and with --rules the rules' label\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "logrisk eval: %s%s%s\ntry 'logrisk eval --help'\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

/* The options that take a value, in the order of the values[] slots. */
static const struct {
    const char *name, *alias;
} VALUE_OPTS[] = {
    {"--gold", NULL}, {"--model", "-m"}, {"--rules", NULL}, {"--split", NULL},
    {"--by", NULL},   {"--output", "-o"}, {"--threads", NULL}, {"--details", NULL},
};
enum { O_GOLD, O_MODEL, O_RULES, O_SPLIT, O_BY, O_OUTPUT, O_THREADS, O_DETAILS, N_VALUE_OPTS };

int lr_cmd_eval(int argc, char **argv) {
    const char *values[N_VALUE_OPTS] = {[O_BY] = "origin"};
    int json = 0, wrappers = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return lr_cli_usage(eval_usage, 1);
        if (strcmp(a, "--json") == 0 || strcmp(a, "--wrappers") == 0) {
            *(a[2] == 'j' ? &json : &wrappers) = 1;
            continue;
        }
        int k = 0;
        const char *name = NULL;
        for (; k < N_VALUE_OPTS && !name; k++) {
            if (lr_cli_is_opt(a, VALUE_OPTS[k].name)) name = VALUE_OPTS[k].name;
            else if (VALUE_OPTS[k].alias && strcmp(a, VALUE_OPTS[k].alias) == 0) name = VALUE_OPTS[k].alias;
        }
        if (!name) return usage_error("unknown argument", a);
        if (!(values[k - 1] = lr_cli_opt_value(argc, argv, &i, name))) return usage_error(name, "needs a value");
    }
    if (!values[O_GOLD]) return usage_error("--gold FILE is required", NULL);
    if (values[O_THREADS] && lr_cli_parse_int(values[O_THREADS], 1, 256, &threads))
        return usage_error("--threads takes a number from 1 to 256, not", values[O_THREADS]);

    lr_error err = {0};
    lr_model *model = values[O_MODEL] ? lr_model_load(values[O_MODEL], &err) : lr_model_load_builtin(&err);
    lr_rules *rules = NULL;
    lr_eval_gold gold = {0};
    lr_eval_item *model_items = NULL, *rules_items = NULL;
    lr_eval_spread spread;
    int rc = model ? 0 : -1;
    if (!rc && values[O_RULES] && !(rules = lr_rules_load(values[O_RULES], &err))) rc = -1;
    if (!rc) rc = lr_eval_gold_load(values[O_GOLD], values[O_SPLIT], values[O_BY], &gold, &err);
    if (!rc) {
        model_items = calloc((size_t)gold.n, sizeof *model_items);
        rules_items = rules ? calloc((size_t)gold.n, sizeof *rules_items) : NULL;
        if (!model_items || (rules && !rules_items))
            rc = LR_ENOMEM, snprintf(err.msg, sizeof err.msg, "out of memory");
    }
    lr_score_opts so;
    lr_score_opts_init(&so);
    so.n_threads = threads;
    if (!rc) rc = lr_eval_score(model, &so, rules, &gold, model_items, rules_items, NULL, &err);
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
        if (lr_eval_write_details(details, &gold, model_items, rules_items, &err)) status = lr_cli_error("eval", &err);
        if (lr_cli_close_out(details, values[O_DETAILS], "eval")) status = 1;
    }
    lr_eval_gold_free(&gold);
    free(model_items);
    free(rules_items);
    lr_rules_free(rules);
    lr_model_free(model);
    return status;
}
