/*
 * cmd_preprocess.c — `logrisk preprocess`: mask each line and find its
 * level (docs/rules.md). Also holds the flag parsing shared with `logrisk
 * label` (cmd_label.c), which is the same job plus the weak label. The work
 * itself is lr_prep_stream in the library.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *usage_text(int with_label) {
    return with_label
               ? "usage: logrisk label [-i FILE] [-o FILE] [--rules FILE] [--format jsonl|csv]\n"
                 "                     [--input-format F] [--column NAME] [--max-line BYTES]\n"
                 "                     [--multiline on|off]\n"
                 "\n"
                 "Masks each log line, finds its level and gives it a weak risk label 0..10\n"
                 "from the rules (models/rules/seed.yaml is built in). One record per input\n"
                 "line, in order:\n"
                 "  {\"text\":\"...\",\"level_raw\":\"ERROR\"|null,\"label\":N}\n"
                 "\n"
                 "  -i FILE              input (default or '-': standard input)\n"
                 "  -o FILE              output (default or '-': standard output)\n"
                 "  --rules FILE         YAML rules (default: the built-in seed rules;\n"
                 "                       see models/rules/k8s.yaml for an extended set)\n"
                 "  --format jsonl|csv   output format; csv writes text,level_raw,label\n"
                 "  --input-format F     raw (default: each line as it is), csv (a table with a\n"
                 "                       header), or a log format as for score: auto, cri, docker,\n"
                 "                       jsonl, logfmt, klog, syslog, log4j; these write each\n"
                 "                       event's canonical rendering (level, message, error) with\n"
                 "                       \"line\" and \"line_end\" (docs/events.md)\n"
                 "  --column NAME        with --input-format csv: the column holding the line (text)\n"
                 "  --max-line BYTES     cut lines longer than this (default: no limit)\n"
                 "  --multiline on|off   log formats: join stack traces and indented lines (on)\n"
               : "usage: logrisk preprocess [-i FILE] [-o FILE] [--rules FILE] [--format jsonl|csv]\n"
                 "                          [--input-format F] [--column NAME] [--max-line BYTES]\n"
                 "                          [--multiline on|off]\n"
                 "\n"
                 "Masks each log line (timestamps, ids, IPs, pids, paths) and finds its level.\n"
                 "One record per input line, in order:\n"
                 "  {\"text\":\"...\",\"level_raw\":\"ERROR\"|null}\n"
                 "\n"
                 "  -i FILE              input (default or '-': standard input)\n"
                 "  -o FILE              output (default or '-': standard output)\n"
                 "  --rules FILE         YAML rules (default: the built-in seed rules)\n"
                 "  --format jsonl|csv   output format; csv writes text,level_raw\n"
                 "  --input-format F     raw (default: each line as it is), csv (a table with a\n"
                 "                       header), or a log format as for score: auto, cri, docker,\n"
                 "                       jsonl, logfmt, klog, syslog, log4j; these write each\n"
                 "                       event's canonical rendering (level, message, error) with\n"
                 "                       \"line\" and \"line_end\" (docs/events.md)\n"
                 "  --column NAME        with --input-format csv: the column holding the line (text)\n"
                 "  --max-line BYTES     cut lines longer than this (default: no limit)\n"
                 "  --multiline on|off   log formats: join stack traces and indented lines (on)\n";
}

int lr_cli_prep_main(int argc, char **argv, int with_label) {
    const char *cmd = with_label ? "label" : "preprocess";
    const char *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    lr_prep_stream_opts opts = {with_label, LR_FORMAT_JSONL, LR_FORMAT_JSONL, "text", 0, NULL, 0};
    int column_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage_text(with_label), 1);
        static const char *const with_value[] = {"-i", "-o", "--rules", "--format", "--input-format", "--column",
                                                 "--max-line", "--multiline"};
        const char *opt = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !opt; k++)
            if (lr_cli_is_opt(a, with_value[k])) opt = with_value[k];
        if (!opt) {
            fprintf(stderr, "logrisk %s: unknown option '%s'\n\n", cmd, a);
            return lr_cli_usage(usage_text(with_label), 0);
        }
        if (!(v = lr_cli_opt_value(argc, argv, &i, opt))) {
            fprintf(stderr, "logrisk %s: option '%s' needs a value\n\n", cmd, opt);
            return lr_cli_usage(usage_text(with_label), 0);
        }
        if (strcmp(opt, "-i") == 0) {
            in_path = v;
        } else if (strcmp(opt, "-o") == 0) {
            out_path = v;
        } else if (strcmp(opt, "--rules") == 0) {
            rules_path = v;
        } else if (strcmp(opt, "--column") == 0) {
            opts.column = v;
            column_given = 1;
        } else if (strcmp(opt, "--max-line") == 0) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (!*v || *end || v[0] == '-' || n == 0) {
                fprintf(stderr, "logrisk %s: --max-line needs a positive number of bytes, not '%s'\n\n", cmd, v);
                return lr_cli_usage(usage_text(with_label), 0);
            }
            opts.max_line = (size_t)n;
        } else if (strcmp(opt, "--multiline") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "logrisk %s: --multiline must be on or off, not '%s'\n\n", cmd, v);
                return lr_cli_usage(usage_text(with_label), 0);
            }
            opts.single_line = strcmp(v, "off") == 0;
        } else if (strcmp(opt, "--input-format") == 0 && strcmp(v, "raw") != 0 && strcmp(v, "csv") != 0) {
            lr_rec_format f;
            if (lr_records_parse_format(v, &f)) {
                fprintf(stderr, "logrisk %s: --input-format must be raw, csv, auto, cri, docker, jsonl, logfmt, "
                                "klog, syslog or log4j, not '%s'\n\n", cmd, v);
                return lr_cli_usage(usage_text(with_label), 0);
            }
            opts.input_format = v;
            opts.in_format = LR_FORMAT_JSONL;
        } else {
            int *dst = strcmp(opt, "--format") == 0 ? &opts.out_format : &opts.in_format;
            if (dst == &opts.in_format) opts.input_format = NULL;
            const char *first = dst == &opts.out_format ? "jsonl" : "raw";
            if (strcmp(v, first) == 0) {
                *dst = LR_FORMAT_JSONL;
            } else if (strcmp(v, "csv") == 0) {
                *dst = LR_FORMAT_CSV;
            } else {
                fprintf(stderr, "logrisk %s: %s must be %s or csv, not '%s'\n\n", cmd, opt, first, v);
                return lr_cli_usage(usage_text(with_label), 0);
            }
        }
    }
    if (column_given && opts.in_format != LR_FORMAT_CSV) {
        fprintf(stderr, "logrisk %s: --column needs --input-format csv\n\n", cmd);
        return lr_cli_usage(usage_text(with_label), 0);
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
