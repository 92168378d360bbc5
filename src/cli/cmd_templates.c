/*
 * cmd_templates.c — `logrisk templates`: the template of every event
 * (online mining in the manner of Drain), a state file kept across runs,
 * and rate alerts per template. Flags only; the job is lr_templates_stream
 * (src/templates_run.c).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

int lr_cmd_templates(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *alerts_path = NULL;
    lr_templates_opts to;
    lr_templates_opts_init(&to);
    double window_s = (double)to.rates.window_ms / 1000.0;
    size_t line_window = to.rates.line_window;
    int stats = 0, list = 0;
    const lr_cli_opt opts[] = {
        LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "FILE", "input (default or '-': standard input)"),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "FILE", "output (default or '-': standard output)"),
        LR_OPT("--state", NULL, LR_OPT_STR, &to.state_path, "FILE",
               "the templates learnt so far: read when the file exists (its parameters win), "
               "written back at the end, atomically",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--match-only", NULL, LR_OPT_SET, &to.match_only, NULL,
               "assign the templates of --state without learning (template_id 0 when none is "
               "similar enough); the state is not written"),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &to.format, "F",
               "auto (default), raw, cri, docker, jsonl, csv, logfmt, klog, syslog or log4j, "
               "as for score",
               .parse = lr_cli_parse_rec_format, .want = LR_CLI_REC_FORMATS),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &to.multiline, "on|off",
               "log formats: join stack traces and indented lines (on)", .parse = lr_cli_parse_on_off,
               .want = "on or off"),
        LR_OPT("--field", NULL, LR_OPT_STR, &to.field, "PATH", "jsonl: the message field (dotted path)"),
        LR_OPT("--column", NULL, LR_OPT_STR, &to.column, "NAME", "csv: the message column (name or 1-based number)"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &to.rules_path, "FILE",
               "YAML rules whose masks apply first (default: the built-in rules)"),
        LR_OPT("--depth", NULL, LR_OPT_INT, &to.miner.depth, "N",
               "new state: leading tokens in the prefix tree, 0..16 (3)", .lo = 0, .hi = 16),
        LR_OPT("--similarity", NULL, LR_OPT_DOUBLE, &to.miner.similarity, "X",
               "new state: share of a template's constant tokens a message must equal to join it, "
               "0..1 (0.8)",
               .lo = 0, .hi = 1),
        LR_OPT("--max-children", NULL, LR_OPT_INT, &to.miner.max_children, "N",
               "new state: children of a tree node, 2..1000000 (100)", .lo = 2, .hi = 1000000),
        LR_OPT("--alerts", NULL, LR_OPT_STR, &alerts_path, "FILE",
               "write rate alerts (bursts and vanished templates) as JSON lines to FILE", .flags = LR_OPT_NONEMPTY),
        LR_OPT("--window", NULL, LR_OPT_DOUBLE, &window_s, "SECONDS",
               "alerts: window of event time (60)", .lo = 0.001, .hi = 1e9),
        LR_OPT("--window-lines", NULL, LR_OPT_SIZE, &line_window, "N",
               "alerts: events per window when the events carry no time (1000)", .lo = 1, .hi = 1e12),
        LR_OPT("--k", NULL, LR_OPT_INT, &to.rates.k, "K", "alerts: out-of-band windows among the last N (2)", .lo = 1,
               .hi = 32),
        LR_OPT("--n", NULL, LR_OPT_INT, &to.rates.n, "N", "alerts: windows judged together (3)", .lo = 1, .hi = 32),
        LR_OPT("--cooldown", NULL, LR_OPT_INT, &to.rates.cooldown, "N",
               "alerts: windows without another alert of the template after one (10)", .lo = 0, .hi = 1000000),
        LR_OPT("--warmup", NULL, LR_OPT_INT, &to.rates.warmup, "N",
               "alerts: windows a template is watched before it is judged (5)", .lo = 1, .hi = 1000000),
        LR_OPT("--quantile", NULL, LR_OPT_DOUBLE, &to.rates.quantile, "Q",
               "alerts: the band is the baseline's [1-Q, Q] quantiles, 0.5 < Q < 1 (0.999)", .lo = 0.5001,
               .hi = 0.999999),
        LR_OPT("--min-count", NULL, LR_OPT_INT, &to.rates.min_count, "N",
               "alerts: events a burst needs at least (10)", .lo = 1, .hi = 1000000000),
        LR_OPT("--entity", NULL, LR_OPT_STR, &to.entity, "source|host|auto|FIELD",
               "alerts: judge each entity apart: 'source' (program, unit, logger), 'host' (a syslog "
               "line's host, a JSON record's _HOSTNAME, hostname, host or host.name), 'auto' (the "
               "first of a JSON record's kubernetes.pod_name, pod, pod_name, host.name, hostname, "
               "host, _HOSTNAME, else the host) or a dotted field of JSON records",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--list", NULL, LR_OPT_SET, &list, NULL,
               "print the templates of --state (id, template, count, first and last seen: unix ms, "
               "or line numbers) as JSON lines, and read no input"),
        LR_OPT("--stats", NULL, LR_OPT_SET, &stats, NULL,
               "print events, templates, novel, unmatched and alerts on standard error"),
    };
    const lr_cli_spec spec = {
        "templates",
        opts,
        LR_CLI_N(opts),
        .about = "Gives every event its template: the message masked by the rules, its variable\n"
                 "parts as <*>, mined online (a fixed-depth prefix tree by token count and\n"
                 "leading tokens, then the most similar template). One JSON object per event:\n"
                 "  {\"line\":N,\"template_id\":ID,\"template\":\"...\",\"novel\":false}\n"
                 "novel is true for the event that created its template. With --alerts, a\n"
                 "template whose count per window leaves its baseline's band (a burst, or a\n"
                 "regular template gone) in K of the last N windows is alerted once, with the\n"
                 "window, the expected and seen counts and the lines (docs/templates.md).\n",
    };
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    if (to.rates.k > to.rates.n) return lr_cli_usage_error("templates", "--k must not exceed --n");
    if (to.match_only && !to.state_path) return lr_cli_usage_error("templates", "--match-only needs --state FILE");
    if (list && !to.state_path) return lr_cli_usage_error("templates", "--list needs --state FILE");
    if (list) {
        FILE *lo = lr_cli_open_out(out_path, "templates");
        if (!lo) return 1;
        lr_error lerr = {0, ""};
        if (lr_templates_list(to.state_path, lo, &lerr) != LR_OK) {
            if (lo != stdout) fclose(lo);
            return lr_cli_error("templates", &lerr);
        }
        return lr_cli_close_out(lo, out_path, "templates");
    }
    to.rates.window_ms = (int64_t)(window_s * 1000.0 + 0.5);
    if (to.rates.window_ms < 1) to.rates.window_ms = 1;
    to.rates.line_window = line_window;

    int in_fd = 0;
    if (in_path && strcmp(in_path, "-") != 0 && (in_fd = open(in_path, O_RDONLY | O_CLOEXEC)) < 0)
        return lr_cli_fail("templates: cannot open '%s'", in_path);
    FILE *out = lr_cli_open_out(out_path, "templates");
    if (!out) {
        if (in_fd > 0) close(in_fd);
        return 1;
    }
    FILE *alerts = NULL;
    if (alerts_path && !(alerts = lr_cli_open_out(alerts_path, "templates"))) {
        if (out != stdout) fclose(out);
        if (in_fd > 0) close(in_fd);
        return 1;
    }
    to.alerts = alerts;
    lr_error err = {0, ""};
    lr_templates_stats st;
    int status = 0;
    if (lr_templates_stream(&to, in_fd, out, &st, &err) != LR_OK) {
        status = lr_cli_error("templates", &err);
        if (out != stdout) fclose(out);
        if (alerts && alerts != stdout) fclose(alerts);
    } else {
        status = lr_cli_close_out(out, out_path, "templates");
        if (alerts && lr_cli_close_out(alerts, alerts_path, "templates")) status = 1;
        if (stats)
            fprintf(stderr,
                    "templates: %llu events, %u templates, %llu novel, %llu unmatched, %llu alerts, %llu "
                    "without a time\n",
                    (unsigned long long)st.events, st.templates, (unsigned long long)st.novel,
                    (unsigned long long)st.unmatched, (unsigned long long)st.alerts,
                    (unsigned long long)st.untimed);
    }
    if (in_fd > 0) close(in_fd);
    return status;
}
