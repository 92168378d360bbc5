/*
 * cmd_score.c — `logrisk score`: parse the flags, load the model, run the
 * scorer from the inputs to the output (src/score_run.c: one stream, or
 * files, globs and directories, followed or not), report errors.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "files.h"
#include "util.h"

static const char score_usage[] =
    "usage: logrisk score [-m model.lrm] [-i INPUT]... [-o FILE|enrich|compact]\n"
    "                     [--threads N] [--batch N] [--input-format F] [--multiline on|off]\n"
    "                     [--field PATH] [--column NAME] [--format jsonl|csv] [--echo]\n"
    "                     [--logits] [--top-k K] [--min-risk N] [--follow] [--interval S]\n"
    "                     [--state FILE] [--exclude GLOB]... [--poll S] [--rotate-wait S]\n"
    "                     [--max-open N] [--templates STATE [--templates-match-only]\n"
    "                     [--template-text]]\n"
    "                     [--cache N] [--stats] [--no-verify]\n"
    "\n"
    "Scores every input event with the model: one JSON object per event, in input order:\n"
    "  {\"line\":N,\"line_end\":E,\"risk_label\":L,\"risk_score\":S,\"probabilities\":[...]}\n"
    "N and E are the first and last input lines of the event (from 1; a stack trace\n"
    "is one event); L is the most likely class (a number for risk models whose labels\n"
    "are 0..C-1, else the label name); S is the expected class index. The model reads\n"
    "the event's level, message and error detail (docs/events.md). With several\n"
    "inputs (or a directory or a glob) each object also has \"file\"; line numbers\n"
    "and multi-line events are per file. The node agent (--follow, --state, the\n"
    "Kubernetes metadata of --output enrich) is described in docs/agent.md.\n"
    "\n"
    "  -m, --model FILE     the model (.lrm); default: the one built into this binary\n"
    "  -i, --input INPUT    a log file, a glob pattern ('/var/log/app/*.log', quoted)\n"
    "                       or a directory (its *.log files, symlinks followed); give\n"
    "                       -i again for more inputs (default or '-': standard input)\n"
    "  -o, --output FILE    where to write (default: standard output)\n"
    "  -o, --output enrich  the form of each result instead: the record itself plus\n"
    "                       its risk: a JSON record's own members (else \"message\"),\n"
    "                       then risk_score, risk_label, line, line_end, file and, for\n"
    "                       kubelet log paths, pod, namespace, container,\n"
    "                       container_id (and time, for records that are not JSON);\n"
    "                       --top-k adds \"top\", --logits \"logits\". --output compact\n"
    "                       is the default form (write a file of either name as ./NAME)\n"
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
    "  --follow             stream: score lines as they arrive. Files are followed like\n"
    "                       tail -F: a renamed or deleted file is read to its end, then\n"
    "                       the new one from its start; a truncated file again from its\n"
    "                       start; new files of a directory or glob are picked up.\n"
    "                       SIGTERM/SIGINT: write what was read, checkpoint, exit 0\n"
    "  --interval S         follow: score queued lines at most S seconds after the\n"
    "                       oldest arrived (default 1.0)\n"
    "  --state FILE         remember per file how far it was written (device, inode\n"
    "                       and a fingerprint of its first bytes) and resume there:\n"
    "                       no line lost; after a crash at most one batch of events\n"
    "                       (--follow; else 8) is written again. A corrupt state\n"
    "                       file is an error\n"
    "  --exclude GLOB       never read files whose path or name matches GLOB (e.g.\n"
    "                       the agent's own log when it writes to standard output);\n"
    "                       give it again for more patterns\n"
    "  --poll S             follow: poll the files every S seconds instead of using\n"
    "                       inotify (used anyway when the kernel has no inotify)\n"
    "  --rotate-wait S      follow: read a renamed or deleted file until it has not\n"
    "                       grown for S seconds (default 5)\n"
    "  --max-open N         follow: files open at once (default 1024, at most the\n"
    "                       open-file limit less 64); further files wait for a slot\n"
    "  --templates STATE    give every event its template (the online miner of\n"
    "                       `logrisk templates`, reading the message masked with\n"
    "                       the model's rules): adds \"template_id\":N, and\n"
    "                       \"novel\":true when the event created its template (CSV:\n"
    "                       columns template_id, novel). STATE is loaded when it\n"
    "                       exists, else mining starts empty; what was learnt is\n"
    "                       saved to it atomically at exit and, with --follow or\n"
    "                       --state, at each checkpoint, so ids stay the same\n"
    "                       across runs. A damaged STATE is an error\n"
    "  --templates-match-only  assign templates of STATE without learning: an\n"
    "                       event like none of them gets template_id 0; STATE is\n"
    "                       never written (it must exist)\n"
    "  --template-text      also write \"template\": the template's text when the\n"
    "                       event was assigned (null for template_id 0)\n"
    "  --threads N          threads for the model (default: available cores)\n"
    "  --batch N            lines per model call (1..256), grouped by length (default 32)\n"
    "  --cache N            remember the scores of the last N distinct token sequences\n"
    "                       (default 4096; 0: off)\n"
    "  --stats              report records, lines/s, cache hit rate on stderr\n"
    "  --no-verify          skip the checksum of the weight bytes at load (about 2 ms\n"
    "                       for the default model; the structure is always checked).\n"
    "                       A damaged weight then scores silently wrong. --verify,\n"
    "                       the default, is accepted\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0; 1 on an error, or when an input could not be read (without\n"
    "--follow; each is named on stderr and the others are scored); 2 on a usage error.\n";

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

/* Agent warnings: one line each on stderr. */
static void warn_stderr(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "logrisk score: %s\n", msg);
}

/* Following many files wants many descriptors: the soft limit goes up to
 * the hard one (at most 1 << 20); returns what max_open may be. */
static int raise_nofile(int want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return want;
    rlim_t cap = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
    if (rl.rlim_cur < cap) {
        rl.rlim_cur = cap;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    long room = (long)rl.rlim_cur - 64;
    if (room < 1) room = 1;
    return want > room ? (int)room : want;
}

/* Whether `path` is a stream (FIFO, terminal, device) rather than a file,
 * a directory or a glob: it is read as standard input is. */
static int is_stream(const char *path) {
    struct stat st;
    if (strcmp(path, "-") == 0) return 1;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int lr_cmd_score(int argc, char **argv) {
    const char *model_path = NULL, *out_path = NULL, *state_path = NULL, *templates_path = NULL;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    const char **excludes = calloc((size_t)argc + 1, sizeof *excludes);
    int n_inputs = 0, n_excludes = 0;
    if (!inputs || !excludes) {
        free(inputs);
        free(excludes);
        return lr_cli_fail("score: out of memory");
    }
    lr_score_opts opts;
    lr_score_opts_init(&opts);
    lr_records_opts ropts;
    lr_records_opts_init(&ropts);
    lr_score_run_opts run;
    lr_score_run_opts_init(&run);
    lr_agent_opts agent;
    lr_agent_opts_init(&agent);
    int stats = 0, verify = 1, enrich = 0, csv = 0, status = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        int m = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            free(inputs);
            free(excludes);
            return lr_cli_usage(score_usage, 1);
        }
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
        if (strcmp(a, "--templates-match-only") == 0) {
            opts.miner_match_only = 1;
            continue;
        }
        if (strcmp(a, "--template-text") == 0) {
            opts.template_text = 1;
            continue;
        }
        const char *bad = NULL;
        if ((v = opt_value(argc, argv, &i, "-m", "--model", &m)) || m) {
            if (!v) goto missing;
            model_path = v;
        } else if ((v = opt_value(argc, argv, &i, "-i", "--input", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a file, glob or directory";
            inputs[n_inputs++] = v;
        } else if ((v = opt_value(argc, argv, &i, "-o", "--output", &m)) || m) {
            if (!v) goto missing;
            if (strcmp(v, "enrich") == 0) enrich = 1;
            else if (strcmp(v, "compact") == 0) enrich = 0;
            else out_path = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--state", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a file";
            state_path = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--templates", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a state file";
            templates_path = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--exclude", &m)) || m) {
            if (!v) goto missing;
            if (!*v) bad = "a glob pattern";
            excludes[n_excludes++] = v;
        } else if ((v = opt_value(argc, argv, &i, NULL, "--poll", &m)) || m) {
            if (!v) goto missing;
            if (parse_double(v, 0.01, 3600, &agent.poll)) bad = "seconds, 0.01..3600";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--rotate-wait", &m)) || m) {
            if (!v) goto missing;
            if (parse_double(v, 0, 86400, &agent.rotate_wait)) bad = "seconds, 0..86400";
        } else if ((v = opt_value(argc, argv, &i, NULL, "--max-open", &m)) || m) {
            if (!v) goto missing;
            if (lr_cli_parse_int(v, 1, 1 << 20, &agent.max_open)) bad = "a number 1..1048576";
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
            if (strcmp(v, "jsonl") == 0) csv = 0;
            else if (strcmp(v, "csv") == 0) csv = 1;
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
            goto usage;
        }
        if (bad) {
            fprintf(stderr, "logrisk score: %s wants %s, not '%s'\n\n", a, bad, v);
            goto usage;
        }
        continue;
    missing:
        fprintf(stderr, "logrisk score: option '%s' needs a value\n\n", a);
        goto usage;
    }
    if (ropts.follow && (ropts.format == LR_REC_CSV || (ropts.format == LR_REC_AUTO && ropts.column))) {
        fprintf(stderr, "logrisk score: --follow does not work with CSV input\n\n");
        goto usage;
    }
    if (enrich && csv) {
        fprintf(stderr, "logrisk score: --output enrich writes JSON lines, not --format csv\n\n");
        goto usage;
    }
    /* standard input, or one FIFO / device: the stream reader */
    int stream = n_inputs == 0 || (n_inputs == 1 && is_stream(inputs[0]));
    for (int i = 0; i < n_inputs && !stream; i++)
        if (strcmp(inputs[i], "-") == 0) {
            fprintf(stderr, "logrisk score: '-' (standard input) cannot be one of several inputs\n\n");
            goto usage;
        }
    if (!templates_path && (opts.miner_match_only || opts.template_text)) {
        fprintf(stderr, "logrisk score: %s needs --templates STATE\n\n",
                opts.miner_match_only ? "--templates-match-only" : "--template-text");
        goto usage;
    }
    if (stream && state_path) {
        fprintf(stderr, "logrisk score: --state needs files to read (-i), not standard input or a FIFO\n\n");
        goto usage;
    }
    /* streaming wants each batch out as soon as it is full */
    if (run.follow) opts.window = 1;
    ropts.max_bytes = opts.max_line_bytes;
    if (enrich) opts.output = LR_SCORE_ENRICH;
    else if (csv) opts.output = LR_SCORE_CSV;
    agent.state_path = state_path;
    agent.exclude = excludes;
    agent.n_exclude = n_excludes;
    agent.warn = warn_stderr;
    agent.meta = enrich ? LR_AGENT_META_ALL : LR_AGENT_META_NONE;
    if (!enrich && !csv && (n_inputs > 1 || (n_inputs == 1 && lr__input_kind_of(inputs[0]) != LR__INPUT_FILE)))
        agent.meta = LR_AGENT_META_FILE;
    if (run.follow && !stream) agent.max_open = raise_nofile(agent.max_open);

    status = 1;
    if (!model_path && !lr_model_has_builtin()) {
        free(inputs);
        free(excludes);
        return lr_cli_fail("score: no model given (-m) and this build has no built-in model");
    }

    lr_error err = {0};
    unsigned load_flags = verify ? 0 : LR_MODEL_LOAD_NO_VERIFY;
    lr_model *model = model_path ? lr_model_load_flags(model_path, load_flags, &err)
                                 : lr_model_load_builtin_flags(load_flags, &err);
    if (!model) {
        free(inputs);
        free(excludes);
        return lr_cli_error("score", &err);
    }
    lr_miner *miner = NULL;
    if (templates_path) {
        struct stat tst;
        if (stat(templates_path, &tst) == 0 || errno != ENOENT) {
            miner = lr_miner_load(templates_path, &err);
        } else if (opts.miner_match_only) {
            lr__err(&err, LR_EIO, "--templates-match-only: no template state '%s'", templates_path);
        } else {
            miner = lr_miner_new(NULL, &err);
        }
        if (!miner) {
            lr_model_free(model);
            free(inputs);
            free(excludes);
            return lr_cli_error("score", &err);
        }
        opts.miner = miner;
        opts.miner_path = opts.miner_match_only ? NULL : templates_path;
    }
    lr_scorer *scorer = lr_scorer_new(model, &opts, &err);
    if (!scorer) {
        lr_miner_free(miner);
        lr_model_free(model);
        free(inputs);
        free(excludes);
        return lr_cli_error("score", &err);
    }
    FILE *in = stream ? lr_cli_open_in(n_inputs ? inputs[0] : NULL, "score") : NULL;
    FILE *out = (!stream || in) ? lr_cli_open_out(out_path, "score") : NULL;
    lr_records *recs = NULL;
    if (stream && in && out && !(recs = lr_records_new(fileno(in), &ropts, &err))) lr_cli_error("score", &err);
    if (out && (recs || !stream)) {
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
        lr_agent_stats ast;
        memset(&ast, 0, sizeof ast);
        int rc = stream ? lr_scorer_run_records(scorer, recs, fileno(in), out, &run, &err)
                        : lr_scorer_run_inputs(scorer, inputs, n_inputs, &ropts, out, &run, &agent, &ast, &err);
        if (rc == 0) {
            status = lr_cli_close_out(out, out_path, "score");
            /* without --follow an input that could not be read fails the run
             * (it was named on stderr; the others were scored) */
            if (!status && !run.follow && ast.unreadable > 0) status = 1;
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
        const char *fmt_name = recs ? lr_records_format_name(lr_records_format(recs))
                                    : lr_records_format_name(ropts.format);
        if (bad > 0)
            fprintf(stderr, "logrisk score: warning: %llu malformed %s record(s) scored as raw text\n",
                    (unsigned long long)bad, fmt_name);
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
                    "weights %s, kernels %s (int8/bf16: %s)",
                    fmt_name, (unsigned long long)lines,
                    (unsigned long long)written, (unsigned long long)bad, (unsigned long long)cut,
                    (unsigned long long)groups_cut, (unsigned long long)regex_limits, dt,
                    dt > 0 ? (double)lines / dt : 0.0, (unsigned long long)hits, (unsigned long long)lookups,
                    lookups ? 100.0 * (double)hits / (double)lookups : 0.0, info.dtype,
                    lr_kernel_path(), lr_qkernel_path());
            if (!stream)
                fprintf(stderr, ", files %llu, unreadable %llu, resumed %llu", (unsigned long long)ast.files,
                        (unsigned long long)ast.unreadable, (unsigned long long)ast.resumed);
            if (miner) {
                uint64_t novel = 0, unmatched = 0;
                lr_scorer_template_stats(scorer, &novel, &unmatched);
                fprintf(stderr, ", templates %lu (%llu new, %llu events without one)",
                        (unsigned long)lr_miner_n_templates(miner), (unsigned long long)novel,
                        (unsigned long long)unmatched);
            }
            fputc('\n', stderr);
        }
    } else if (out && out != stdout) {
        fclose(out);
    }
    lr_records_free(recs);
    if (in && in != stdin) fclose(in);
    lr_scorer_free(scorer);
    lr_miner_free(miner);
    lr_model_free(model);
    free(inputs);
    free(excludes);
    return status;
usage:
    free(inputs);
    free(excludes);
    return lr_cli_usage(score_usage, 0);
}
