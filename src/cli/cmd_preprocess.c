/*
 * cmd_preprocess.c — `logrisk preprocess`: mask each line and find its
 * level (docs/rules.md). Also holds the flag parsing shared with `logrisk
 * label` (cmd_label.c), which is the same job plus the weak label. The work
 * itself is lr_prep_stream in the library.
 */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

/* --input-format: raw and csv choose the line reader; any other records
 * format name reads events (lr_prep_stream_opts.input_format). */
static int parse_input_format(const char *value, void *dst) {
    lr_prep_stream_opts *opts = dst;
    lr_rec_format f;
    if (strcmp(value, "raw") == 0 || strcmp(value, "csv") == 0) {
        opts->in_format = strcmp(value, "csv") == 0 ? LR_FORMAT_CSV : LR_FORMAT_JSONL;
        opts->input_format = NULL;
    } else if (lr_records_parse_format(value, &f) == 0) {
        opts->in_format = LR_FORMAT_JSONL;
        opts->input_format = value;
    } else {
        return -1;
    }
    return 0;
}

static const char *const OUT_FORMATS[] = {"jsonl", "csv", NULL}; /* LR_FORMAT_JSONL, LR_FORMAT_CSV */

int lr_cli_prep_main(int argc, char **argv, int with_label) {
    const char *cmd = with_label ? "label" : "preprocess";
    const char *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    lr_prep_stream_opts opts = {with_label, LR_FORMAT_JSONL, LR_FORMAT_JSONL, "text", 0, NULL, 0};
    const char *column = NULL;
    int multiline = 1;
    const lr_cli_opt table[] = {
        LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "FILE", "input (default or '-': standard input)"),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "FILE", "output (default or '-': standard output)"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &rules_path, "FILE",
               with_label ? "YAML rules (default: the built-in seed rules; see models/rules/k8s.yaml for an "
                            "extended set)"
                          : "YAML rules (default: the built-in seed rules)"),
        LR_OPT("--format", NULL, LR_OPT_CHOICE, &opts.out_format, NULL,
               with_label ? "output format; csv writes text,level_raw,label"
                          : "output format; csv writes text,level_raw",
               .choices = OUT_FORMATS),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &opts, "F",
               "raw (default: each line as it is), csv (a table with a header), or a log format as for score: "
               "auto, cri, docker, jsonl, logfmt, klog, syslog, log4j; these write each event's canonical "
               "rendering (level, message, error) with \"line\" and \"line_end\" (docs/events.md)",
               .parse = parse_input_format,
               .want = "raw, csv, auto, cri, docker, jsonl, logfmt, klog, syslog or log4j"),
        LR_OPT("--column", NULL, LR_OPT_STR, &column, "NAME",
               "with --input-format csv: the column holding the line (text)"),
        LR_OPT("--max-line", NULL, LR_OPT_SIZE, &opts.max_line, "BYTES",
               "cut lines longer than this (default: no limit)", .lo = 1, .hi = INFINITY),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &multiline, "on|off",
               "log formats: join stack traces and indented lines (on)", .parse = lr_cli_parse_on_off,
               .want = "on or off"),
    };
    const lr_cli_spec spec = {
        cmd,
        table,
        LR_CLI_N(table),
        .about = with_label ? "Masks each log line, finds its level and gives it a weak risk label 0..10\n"
                              "from the rules (models/rules/seed.yaml is built in). One record per input\n"
                              "line, in order:\n"
                              "  {\"text\":\"...\",\"level_raw\":\"ERROR\"|null,\"label\":N}\n"
                            : "Masks each log line (timestamps, ids, IPs, pids, paths) and finds its level.\n"
                              "One record per input line, in order:\n"
                              "  {\"text\":\"...\",\"level_raw\":\"ERROR\"|null}\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    opts.single_line = !multiline;
    if (column) {
        if (opts.in_format != LR_FORMAT_CSV) return lr_cli_usage_error(cmd, "--column needs --input-format csv");
        opts.column = column;
    }
    lr_error err = {0, ""};
    lr_rules *rules = rules_path ? lr_rules_load(rules_path, &err) : lr_rules_default(&err);
    if (!rules) return lr_cli_error(cmd, &err);
    FILE *in = lr_cli_open_in(in_path, cmd);
    if (!in) {
        lr_rules_free(rules);
        return 1;
    }
    FILE *out = lr_cli_open_out(out_path, cmd);
    if (!out) {
        if (in != stdin) fclose(in);
        lr_rules_free(rules);
        return 1;
    }
    lr_prep_stats stats = {0};
    int rc = lr_prep_stream_stats(rules, fileno(in), fileno(out), &opts, &stats, &err);
    if (stats.regex_limits > 0)
        fprintf(stderr,
                "logrisk %s: warning: a regular expression of the rules hit its limits on %llu line(s): those "
                "lines were masked from the failed match to their end (or got no level from that alias)\n",
                cmd, (unsigned long long)stats.regex_limits);
    int status = rc ? lr_cli_error(cmd, &err) : 0;
    if (lr_cli_close_out(out, out_path, cmd)) status = 1;
    if (in != stdin) fclose(in);
    lr_rules_free(rules);
    return status;
}

int lr_cmd_preprocess(int argc, char **argv) { return lr_cli_prep_main(argc, argv, 0); }
