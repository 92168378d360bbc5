/*
 * cmd_score.c — `logrisk score`: parse the flags, load the model, run the
 * scorer (src/score.c) from the input to the output, report errors.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

static const char score_usage[] =
    "usage: logrisk score [-m model.lrm] [-i FILE|-] [-o FILE] [--threads N] [--batch N]\n"
    "                     [--input-format F] [--multiline on|off] [--field PATH]\n"
    "                     [--column NAME] [--format jsonl|csv] [--echo] [--logits]\n"
    "                     [--top-k K] [--min-risk N] [--follow] [--interval S]\n"
    "                     [--cache N] [--stats] [--no-verify]\n"
    "\n"
    "Scores every input event with the model: one JSON object per event, in input order:\n"
    "  {\"line\":N,\"line_end\":E,\"risk_label\":L,\"risk_score\":S,\"probabilities\":[...]}\n"
    "N and E are the first and last input lines of the event (from 1; a stack trace\n"
    "is one event); L is the most likely class (a number for risk models whose labels\n"
    "are 0..C-1, else the label name); S is the expected class index. The model reads\n"
    "the event's level, message and error detail (docs/events.md).\n"
    "\n"
    "  -m, --model FILE     the model (.lrm); default: the one built into this binary\n"
    "  -i, --input FILE     the log (default or '-': standard input)\n"
    "  -o, --output FILE    where to write (default: standard output)\n"
    "  --input-format F     auto (default: decided per line), raw (each line as it is),\n"
    "                       cri (Kubernetes), docker (json-file), jsonl, csv, logfmt,\n"
    "                       klog, syslog (RFC 3164 / 5424), log4j (also logback, Python)\n"
    "  --multiline on|off   join stack traces and indented lines to the line that\n"
    "                       starts them (default on; raw and csv input: one per line)\n"
    "  --field PATH         jsonl: the message field, dotted path allowed\n"
    "                       (default: message, msg, log)\n"
    "  --column NAME        csv: the message column (header name or 1-based number)\n"
    "  --format F           jsonl (default) or csv (with a header line)\n"
    "  --echo               also write \"message\": the event as rendered for the model\n"
    "  --logits             also write \"logits\":[...]\n"
    "  --top-k K            also write \"top\":[{\"label\":L,\"p\":P},...], the K likeliest\n"
    "  --min-risk N         write only records with risk_label >= N or risk_score >= N\n"
    "  --follow             stream: score lines as they arrive; keep reading a regular\n"
    "                       file at its end (tail -f); SIGTERM/SIGINT: write what was\n"
    "                       read, exit 0\n"
    "  --interval S         follow: score queued lines at most S seconds after the\n"
    "                       oldest arrived (default 1.0)\n"
    "  --threads N          threads for the model (default: available cores)\n"
    "  --batch N            lines per model call (1..256), grouped by length (default 32)\n"
    "  --cache N            remember the scores of the last N distinct token sequences\n"
    "                       (default 4096; 0: off)\n"
    "  --stats              report records, lines/s, cache hit rate on stderr\n"
    "  --no-verify          skip the checksum of the weight bytes at load (about 2 ms\n"
    "                       for the default model; the structure is always checked).\n"
    "                       A damaged weight then scores silently wrong. --verify,\n"
    "                       the default, is accepted\n"
    "  -h, --help           show this help\n";

static volatile sig_atomic_t stop_flag;

/* SIGTERM / SIGINT in --follow: only note it; the scoring loop ends. */
static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* Parse a whole finite double in [lo, hi]; 0 on success. */
static int parse_double(const char *text, double lo, double hi, double *out) {
    if (!text || !*text) return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (errno || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
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
    lr_records_opts ropts;
    lr_records_opts_init(&ropts);
    lr_score_run_opts run;
    lr_score_run_opts_init(&run);
    int stats = 0, verify = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        int m = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(score_usage, 1);
        if (strcmp(a, "--logits") == 0) {
            opts.with_logits = 1;
            continue;
        }
        if (strcmp(a, "--echo") == 0) {
            opts.echo = 1;
            continue;
        }
        if (strcmp(a, "--follow") == 0) {
            run.follow = ropts.follow = 1;
            continue;
        }
        if (strcmp(a, "--verify") == 0 || strcmp(a, "--no-verify") == 0) {
            verify = a[2] == 'v';
            continue;
        }
        if (strcmp(a, "--stats") == 0) {
            stats = 1;
            continue;
        }
        const char *bad = NULL;
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
            if (lr_cli_parse_int(v, 1, 256, &opts.n_threads)) bad = "a number 1..256";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--batch", &m)) || m) {
            if (!v) goto missing;
            if (lr_cli_parse_int(v, 1, 256, &opts.batch)) bad = "a number 1..256";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--input-format", &m)) || m) {
            if (!v) goto missing;
            if (lr_records_parse_format(v, &ropts.format))
                bad = "auto, raw, cri, docker, jsonl, csv, logfmt, klog, syslog or log4j";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--multiline", &m)) || m) {
            if (!v) goto missing;
            if (strcmp(v, "on") == 0) run.multiline = 1;
            else if (strcmp(v, "off") == 0) run.multiline = 0;
            else bad = "on or off";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--field", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a field name";
            ropts.field = run.field = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--column", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a column name or number";
            ropts.column = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--format", &m)) || m) {
            if (!v) goto missing;
            if (strcmp(v, "jsonl") == 0) opts.csv = 0;
            else if (strcmp(v, "csv") == 0) opts.csv = 1;
            else bad = "jsonl or csv";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--top-k", &m)) || m) {
            if (!v) goto missing;
            if (lr_cli_parse_int(v, 0, 1000, &opts.top_k)) bad = "a number 0..1000";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--min-risk", &m)) || m) {
            if (!v) goto missing;
            if (parse_double(v, 0, 1e6, &opts.min_risk)) bad = "a number >= 0";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--interval", &m)) || m) {
            if (!v) goto missing;
            if (parse_double(v, 0.001, 3600, &run.interval)) bad = "seconds, 0.001..3600";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--cache", &m)) || m) {
            if (!v) goto missing;
            if (lr_cli_parse_int(v, 0, 1 << 22, &opts.cache_entries)) bad = "a number 0..4194304";
        } else {
            fprintf(stderr, "logrisk score: unknown option '%s'\n\n", a);
            return lr_cli_usage(score_usage, 0);
        }
        if (bad) {
            fprintf(stderr, "logrisk score: %s wants %s, not '%s'\n\n", a, bad, v);
            return lr_cli_usage(score_usage, 0);
        }
        continue;
    missing:
        fprintf(stderr, "logrisk score: option '%s' needs a value\n\n", a);
        return lr_cli_usage(score_usage, 0);
    }
    if (ropts.follow && (ropts.format == LR_REC_CSV || (ropts.format == LR_REC_AUTO && ropts.column))) {
        fprintf(stderr, "logrisk score: --follow does not work with CSV input\n\n");
        return lr_cli_usage(score_usage, 0);
    }
    /* streaming wants each batch out as soon as it is full */
    if (run.follow) opts.window = 1;
    ropts.max_bytes = opts.max_line_bytes;

    if (!model_path && !lr_model_has_builtin())
        return lr_cli_fail("score: no model given (-m) and this build has no built-in model");

    lr_error err = {0};
    unsigned load_flags = verify ? 0 : LR_MODEL_LOAD_NO_VERIFY;
    lr_model *model = model_path ? lr_model_load_flags(model_path, load_flags, &err)
                                 : lr_model_load_builtin_flags(load_flags, &err);
    if (!model) return lr_cli_error("score", &err);
    lr_scorer *scorer = lr_scorer_new(model, &opts, &err);
    if (!scorer) {
        lr_model_free(model);
        return lr_cli_error("score", &err);
    }
    FILE *in = lr_cli_open_in(in_path, "score");
    FILE *out = in ? lr_cli_open_out(out_path, "score") : NULL;
    lr_records *recs = NULL;
    int status = 1;
    if (in && out && !(recs = lr_records_new(fileno(in), &ropts, &err))) lr_cli_error("score", &err);
    if (recs) {
        /* a closed pipe must be an error we report, not a silent death */
        signal(SIGPIPE, SIG_IGN);
        if (run.follow) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_stop;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART; /* writes resume; poll() still returns EINTR */
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGINT, &sa, NULL);
            run.stop = &stop_flag;
        }
        double t0 = lr__now_s();
        if (lr_scorer_run_records(scorer, recs, fileno(in), out, &run, &err) == 0) {
            status = lr_cli_close_out(out, out_path, "score");
        } else {
            lr_cli_error("score", &err);
            if (out != stdout) fclose(out);
        }
        double dt = lr__now_s() - t0;
        uint64_t lines = 0, cut = 0, hits = 0, lookups = 0, written = 0;
        lr_scorer_stats(scorer, &lines, NULL, &cut);
        lr_scorer_cache_stats(scorer, &hits, &lookups, &written);
        uint64_t bad = 0, groups_cut = 0;
        lr_scorer_event_stats(scorer, &bad, &groups_cut);
        if (bad > 0)
            fprintf(stderr, "logrisk score: warning: %llu malformed %s record(s) scored as raw text\n",
                    (unsigned long long)bad, lr_records_format_name(lr_records_format(recs)));
        uint64_t regex_limits = lr_scorer_regex_limits(scorer);
        if (regex_limits > 0)
            fprintf(stderr,
                    "logrisk score: warning: a regular expression of the rules hit its limits on %llu line(s): "
                    "those lines were masked from the failed match to their end (or got no level from "
                    "that alias)\n",
                    (unsigned long long)regex_limits);
        if (stats) {
            lr_model_info info;
            lr_model_get_info(model, &info);
            fprintf(stderr,
                    "logrisk score: stats: format %s, %llu records, %llu written, %llu malformed, "
                    "%llu truncated, %llu groups cut, %llu regex limits, %.3f s, %.1f lines/s, "
                    "cache %llu/%llu hits (%.1f%%), "
                    "weights %s, kernels %s (int8/bf16: %s)\n",
                    lr_records_format_name(lr_records_format(recs)), (unsigned long long)lines,
                    (unsigned long long)written, (unsigned long long)bad, (unsigned long long)cut,
                    (unsigned long long)groups_cut, (unsigned long long)regex_limits, dt,
                    dt > 0 ? (double)lines / dt : 0.0, (unsigned long long)hits, (unsigned long long)lookups,
                    lookups ? 100.0 * (double)hits / (double)lookups : 0.0, info.dtype,
                    lr_kernel_path(), lr_qkernel_path());
        }
    } else if (out && out != stdout) {
        fclose(out);
    }
    lr_records_free(recs);
    if (in && in != stdin) fclose(in);
    lr_scorer_free(scorer);
    lr_model_free(model);
    return status;
}
