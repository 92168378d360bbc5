/*
 * cmd_score.c — `logrisk score`: parse the flags (one table, src/cli/opts.h;
 * -o is a file or, given as "enrich" / "compact", the form of the results:
 * its own parser tells them apart), load the model, run the scorer from
 * the inputs to the output (src/score_run.c: one stream, or files, globs
 * and directories, followed or not), report errors.
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
#include "opts.h"
#include "files.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

/* SIGTERM / SIGINT in --follow: only note it; the scoring loop ends. */
static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* -i and --exclude: each value appended to a list as long as argv (so any
 * number of them fits); the empty string is refused. */
typedef struct path_list {
    const char **v;
    int n;
} path_list;

static int parse_path(const char *value, void *dst) {
    path_list *l = dst;
    if (!*value) return -1;
    l->v[l->n++] = value;
    return 0;
}

/* -o: "enrich" or "compact" choose the form of each result, anything else
 * is the file to write (a file of either name is written as ./NAME). */
typedef struct out_choice {
    const char *path;
    int enrich;
} out_choice;

static int parse_output(const char *value, void *dst) {
    out_choice *o = dst;
    if (strcmp(value, "enrich") == 0) o->enrich = 1;
    else if (strcmp(value, "compact") == 0) o->enrich = 0;
    else if (!*value) return -1;
    else o->path = value;
    return 0;
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
    const char *state_path = NULL, *templates_path = NULL;
    path_list inputs = {calloc((size_t)argc + 1, sizeof(const char *)), 0};
    path_list excludes = {calloc((size_t)argc + 1, sizeof(const char *)), 0};
    out_choice output = {NULL, 0};
    if (!inputs.v || !excludes.v) {
        free(inputs.v);
        free(excludes.v);
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
    int stats = 0, verify = 1, follow = 0, form = 0, status = 1;
    const char *model_path = NULL, *field = NULL;
    static const char *const forms[] = {"jsonl", "csv", NULL};
    const lr_cli_opt table[] = {
        LR_OPT("--model", "-m", LR_OPT_STR, &model_path, "FILE",
               "the model (.lrm); default: the one built into this binary"),
        LR_OPT("--input", "-i", LR_OPT_FN, &inputs, "INPUT",
               "a log file, a glob pattern ('/var/log/app/*.log', quoted) or a "
               "directory (its *.log files, symlinks followed); give -i again for "
               "more inputs (default or '-': standard input)",
               .flags = LR_OPT_REPEAT, .parse = parse_path, .want = "a file, glob or directory"),
        LR_OPT("--output", "-o", LR_OPT_FN, &output, "FILE|enrich|compact",
               "where to write (default: standard output); or, given as enrich, "
               "the form of each result instead: the record itself plus its risk: "
               "a JSON record's own members (else \"message\"), then risk_score, "
               "risk_label, line, line_end, file and, for kubelet log paths, pod, "
               "namespace, container, container_id (and time, for records that "
               "are not JSON); --top-k adds \"top\", --logits \"logits\". compact "
               "is the default form (write a file of either name as ./NAME); "
               "give -o twice for a file and a form",
               .flags = LR_OPT_REPEAT, .parse = parse_output, .want = "a file, enrich or compact"),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &ropts.format, "F",
               "auto (default: decided per line), raw (each line as it is), cri "
               "(Kubernetes), docker (json-file), jsonl, csv, logfmt, klog, syslog "
               "(RFC 3164 / 5424), log4j (also logback, Python)",
               .parse = lr_cli_parse_rec_format, .want = LR_CLI_REC_FORMATS),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &run.multiline, "on|off",
               "join stack traces and indented lines to the line that starts them "
               "(default on; raw and csv input: one per line)",
               .parse = lr_cli_parse_on_off, .want = "on or off"),
        LR_OPT("--field", NULL, LR_OPT_STR, &field, "PATH",
               "jsonl: the message field, dotted path allowed (default: message, msg, log)",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--column", NULL, LR_OPT_STR, &ropts.column, "NAME",
               "csv: the message column (header name or 1-based number)", .flags = LR_OPT_NONEMPTY),
        LR_OPT("--format", NULL, LR_OPT_CHOICE, &form, "jsonl|csv", "jsonl (default) or csv (with a header line)",
               .choices = forms),
        LR_OPT("--echo", NULL, LR_OPT_SET, &opts.echo, NULL,
               "also write \"message\": the event as rendered for the model"),
        LR_OPT("--logits", NULL, LR_OPT_SET, &opts.with_logits, NULL, "also write \"logits\":[...]"),
        LR_OPT("--top-k", NULL, LR_OPT_INT, &opts.top_k, "K",
               "also write \"top\":[{\"label\":L,\"p\":P},...], the K likeliest", .lo = 0, .hi = 1000),
        LR_OPT("--min-risk", NULL, LR_OPT_DOUBLE, &opts.min_risk, "N",
               "write only records with risk_label >= N or risk_score >= N", .lo = 0, .hi = 1e6),
        LR_OPT("--follow", NULL, LR_OPT_SET, &follow, NULL,
               "stream: score lines as they arrive. Files are followed like tail -F: "
               "a renamed or deleted file is read to its end, then the new one from "
               "its start; a truncated file again from its start; new files of a "
               "directory or glob are picked up. SIGTERM/SIGINT: write what was "
               "read, checkpoint, exit 0"),
        LR_OPT("--interval", NULL, LR_OPT_DOUBLE, &run.interval, "S",
               "follow: score queued lines at most S seconds after the oldest "
               "arrived (default 1.0)", .flags = LR_OPT_REPEAT, .lo = 0.001, .hi = 3600),
        LR_OPT("--state", NULL, LR_OPT_STR, &state_path, "FILE",
               "remember per file how far it was written (device, inode and a "
               "fingerprint of its first bytes) and resume there: no line lost; "
               "after a crash at most one batch of events (--follow; else 8) is "
               "written again. A corrupt state file is an error",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--exclude", NULL, LR_OPT_FN, &excludes, "GLOB",
               "never read files whose path or name matches GLOB (e.g. the agent's "
               "own log when it writes to standard output); give it again for more "
               "patterns",
               .flags = LR_OPT_REPEAT, .parse = parse_path, .want = "a glob pattern"),
        LR_OPT("--poll", NULL, LR_OPT_DOUBLE, &agent.poll, "S",
               "follow: poll the files every S seconds instead of using inotify "
               "(used anyway when the kernel has no inotify)", .flags = LR_OPT_REPEAT, .lo = 0.01, .hi = 3600),
        LR_OPT("--rotate-wait", NULL, LR_OPT_DOUBLE, &agent.rotate_wait, "S",
               "follow: read a renamed or deleted file until it has not grown for "
               "S seconds (default 5)", .flags = LR_OPT_REPEAT, .lo = 0, .hi = 86400),
        LR_OPT("--max-open", NULL, LR_OPT_INT, &agent.max_open, "N",
               "follow: files open at once (default 1024, at most the open-file "
               "limit less 64); further files wait for a slot", .flags = LR_OPT_REPEAT, .lo = 1, .hi = 1 << 20),
        LR_OPT("--templates", NULL, LR_OPT_STR, &templates_path, "STATE",
               "give every event its template (the online miner of `logrisk "
               "templates`, reading the message masked with the model's rules): "
               "adds \"template_id\":N, and \"novel\":true when the event created its "
               "template (CSV: columns template_id, novel). STATE is loaded when it "
               "exists, else mining starts empty; what was learnt is saved to it "
               "atomically at exit and, with --follow or --state, at each "
               "checkpoint, so ids stay the same across runs. A damaged STATE is an error",
               .flags = LR_OPT_NONEMPTY),
        LR_OPT("--templates-match-only", NULL, LR_OPT_SET, &opts.miner_match_only, NULL,
               "assign templates of STATE without learning: an event like none of "
               "them gets template_id 0; STATE is never written (it must exist)"),
        LR_OPT("--template-text", NULL, LR_OPT_SET, &opts.template_text, NULL,
               "also write \"template\": the template's text when the event was "
               "assigned (null for template_id 0)"),
        LR_OPT("--threads", NULL, LR_OPT_INT, &opts.n_threads, "N",
               "threads for the model (default: available cores)", .flags = LR_OPT_REPEAT, .lo = 1, .hi = 256),
        LR_OPT("--batch", NULL, LR_OPT_INT, &opts.batch, "N",
               "lines per model call, grouped by length (default 32)", .flags = LR_OPT_REPEAT, .lo = 1, .hi = 256),
        LR_OPT("--cache", NULL, LR_OPT_INT, &opts.cache_entries, "N",
               "remember the scores of the last N distinct token sequences "
               "(default 4096; 0: off)", .flags = LR_OPT_REPEAT, .lo = 0, .hi = 1 << 22),
        LR_OPT("--stats", NULL, LR_OPT_SET, &stats, NULL, "report records, lines/s, cache hit rate on stderr"),
        LR_OPT("--no-verify", NULL, LR_OPT_CLEAR, &verify, NULL,
               "skip the checksum of the weight bytes at load (about 2 ms for the "
               "default model; the structure is always checked). A damaged weight "
               "then scores silently wrong"),
        LR_OPT("--verify", NULL, LR_OPT_SET, &verify, NULL, "check the weights (the default)",
               .flags = LR_OPT_HIDDEN),
    };
    const lr_cli_spec spec = {
        "score",
        table,
        LR_CLI_N(table),
        .about = "Scores every input event with the model: one JSON object per event, in input order:\n"
                 "  {\"line\":N,\"line_end\":E,\"risk_label\":L,\"risk_score\":S,\"probabilities\":[...]}\n"
                 "N and E are the first and last input lines of the event (from 1; a stack trace\n"
                 "is one event); L is the most likely class (a number for risk models whose labels\n"
                 "are 0..C-1, else the label name); S is the median class index (0..10 for risk:\n"
                 "where the probability, each class spread over +-0.5, reaches 1/2). The model reads\n"
                 "the event's level, message and error detail (docs/events.md). With several\n"
                 "inputs (or a directory or a glob) each object also has \"file\"; line numbers\n"
                 "and multi-line events are per file. The node agent (--follow, --state, the\n"
                 "Kubernetes metadata of --output enrich) is described in docs/agent.md.\n",
        .notes = "Options shown with ... may be given again: -i and --exclude add more, -o names\n"
                 "a file and a form, and for the tuning options (--interval, --threads and the\n"
                 "like) the last value wins, so a wrapper's defaults can be overridden.\n"
                 "\n"
                 "Exit status: 0; 1 on an error, or when an input could not be read (without\n"
                 "--follow; each is named on stderr and the others are scored); 2 on a usage error.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) {
        free(inputs.v);
        free(excludes.v);
        return prc;
    }
    int enrich = output.enrich, csv = form == 1, n_inputs = inputs.n;
    const char *out_path = output.path;
    /* standard input, or one FIFO / device: the stream reader */
    int stream = n_inputs == 0 || (n_inputs == 1 && is_stream(inputs.v[0]));
    int dash = 0;
    for (int i = 0; i < n_inputs && !stream; i++) dash |= strcmp(inputs.v[i], "-") == 0;
    const char *usage = NULL;
    if (follow && (ropts.format == LR_REC_CSV || (ropts.format == LR_REC_AUTO && ropts.column)))
        usage = "--follow does not work with CSV input";
    else if (enrich && csv)
        usage = "--output enrich writes JSON lines, not --format csv";
    else if (dash)
        usage = "'-' (standard input) cannot be one of several inputs";
    else if (!templates_path && opts.miner_match_only)
        usage = "--templates-match-only needs --templates STATE";
    else if (!templates_path && opts.template_text)
        usage = "--template-text needs --templates STATE";
    else if (stream && state_path)
        usage = "--state needs files to read (-i), not standard input or a FIFO";
    if (usage) {
        free(inputs.v);
        free(excludes.v);
        return lr_cli_usage_error("score", "%s", usage);
    }
    run.follow = ropts.follow = follow;
    if (field) ropts.field = run.field = field;
    /* streaming wants each batch out as soon as it is full */
    if (run.follow) opts.window = 1;
    ropts.max_bytes = opts.max_line_bytes;
    if (enrich) opts.output = LR_SCORE_ENRICH;
    else if (csv) opts.output = LR_SCORE_CSV;
    agent.state_path = state_path;
    agent.exclude = excludes.v;
    agent.n_exclude = excludes.n;
    agent.warn = warn_stderr;
    agent.meta = enrich ? LR_AGENT_META_ALL : LR_AGENT_META_NONE;
    if (!enrich && !csv && (n_inputs > 1 || (n_inputs == 1 && lr__input_kind_of(inputs.v[0]) != LR__INPUT_FILE)))
        agent.meta = LR_AGENT_META_FILE;
    if (run.follow && !stream) agent.max_open = raise_nofile(agent.max_open);

    status = 1;
    if (!model_path && !lr_model_has_builtin()) {
        free(inputs.v);
        free(excludes.v);
        return lr_cli_fail("score: no model given (-m) and this build has no built-in model");
    }

    lr_error err = {0};
    unsigned load_flags = verify ? 0 : LR_MODEL_LOAD_NO_VERIFY;
    lr_model *model = model_path ? lr_model_load_flags(model_path, load_flags, &err)
                                 : lr_model_load_builtin_flags(load_flags, &err);
    if (!model) {
        free(inputs.v);
        free(excludes.v);
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
            free(inputs.v);
            free(excludes.v);
            return lr_cli_error("score", &err);
        }
        opts.miner = miner;
        opts.miner_path = opts.miner_match_only ? NULL : templates_path;
    }
    lr_scorer *scorer = lr_scorer_new(model, &opts, &err);
    if (!scorer) {
        lr_miner_free(miner);
        lr_model_free(model);
        free(inputs.v);
        free(excludes.v);
        return lr_cli_error("score", &err);
    }
    FILE *in = stream ? lr_cli_open_in(n_inputs ? inputs.v[0] : NULL, "score") : NULL;
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
                        : lr_scorer_run_inputs(scorer, inputs.v, n_inputs, &ropts, out, &run, &agent, &ast, &err);
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
    free(inputs.v);
    free(excludes.v);
    return status;
}
