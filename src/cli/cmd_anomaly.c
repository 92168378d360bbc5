/*
 * cmd_anomaly.c — `logrisk anomaly train|detect`: sequence anomalies with a
 * next-event model (src/anomaly.c, docs/anomalies.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

static const char *const formats[] = {"jsonl", "keys", "lines", NULL};
static const char *const archs[] = {"lstm", "transformer", NULL};

/* The session input options both subcommands share. */
typedef struct in_opts {
    const char *path, *split, *id_pattern, *id_field, *events_field;
    int format, label, window_lines, window_seconds;
} in_opts;

#define IN_OPTS(io)                                                                                \
    LR_OPT("--input", "-i", LR_OPT_STR, &(io).path, "FILE", "sessions to read (default: standard input)"), \
    LR_OPT("--format", NULL, LR_OPT_CHOICE, &(io).format, "jsonl|keys|lines",                       \
           "jsonl: one session an object {\"BlockId\", \"Templates\": [...], \"Label\", \"Split\"}; "  \
           "keys: one session a line of event ids; lines: log lines, sessions by --id-pattern "     \
           "(default jsonl)",                                                                      \
           .choices = formats),                                                                    \
    LR_OPT("--split", NULL, LR_OPT_STR, &(io).split, "NAME", "jsonl: only sessions whose Split is NAME"), \
    LR_OPT("--label", NULL, LR_OPT_INT, &(io).label, "0|1",                                        \
           "jsonl: only sessions with this Label; keys: the label of every session", .lo = 0, .hi = 1), \
    LR_OPT("--id-field", NULL, LR_OPT_STR, &(io).id_field, "NAME", "jsonl: the session id field (BlockId)", \
           .flags = LR_OPT_NONEMPTY),                                                              \
    LR_OPT("--events-field", NULL, LR_OPT_STR, &(io).events_field, "NAME",                         \
           "jsonl: the array of events (Templates)", .flags = LR_OPT_NONEMPTY),                     \
    LR_OPT("--id-pattern", NULL, LR_OPT_STR, &(io).id_pattern, "REGEX",                            \
           "lines: a session id (PCRE2; group 1 if any; default HDFS block ids blk_-?[0-9]+; "      \
           "'' = none, with --window-lines)"),                                                     \
    LR_OPT("--window-lines", NULL, LR_OPT_INT, &(io).window_lines, "N",                            \
           "lines: a session is an id's events within each run of N input lines", .lo = 1,        \
           .hi = 1000000000),                                                                      \
    LR_OPT("--window-seconds", NULL, LR_OPT_INT, &(io).window_seconds, "N",                        \
           "lines: ... within each window of N seconds of the time at the start of the lines",    \
           .lo = 1, .hi = 1000000000)

/* Read the sessions; with --format lines the events are the ids of the
 * templates of `miner` (learnt when `learn`). */
static lr_sessions *read_sessions(const char *cmd, const in_opts *io, lr_miner *miner, int learn) {
    lr_error err = {0};
    lr_sessions *s = lr_sessions_new(&err);
    if (!s) {
        lr_cli_error(cmd, &err);
        return NULL;
    }
    int fd = 0;
    if (io->path && strcmp(io->path, "-") != 0) {
        fd = open(io->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "logrisk %s: cannot open %s: %s\n", cmd, io->path, strerror(errno));
            lr_sessions_free(s);
            return NULL;
        }
    }
    lr_sessions_opts so;
    lr_sessions_opts_init(&so);
    so.format = (lr_sessions_format)io->format;
    so.split = io->split;
    so.label = io->label;
    so.id_pattern = io->id_pattern;
    so.id_field = io->id_field;
    so.events_field = io->events_field;
    so.window_lines = io->window_lines;
    so.window_seconds = io->window_seconds;
    so.miner = miner;
    so.learn = learn;
    int rc = lr_sessions_read(s, fd, &so, &err);
    if (fd > 0) close(fd);
    if (!rc && io->format == LR_SESS_LINES)
        fprintf(stderr, "%zu sessions from the lines; %llu lines matched no session id\n", lr_sessions_count(s),
                (unsigned long long)lr_sessions_unassigned(s));
    if (rc) {
        fprintf(stderr, "logrisk %s: %s: %s\n", cmd, io->path ? io->path : "standard input", err.msg);
        lr_sessions_free(s);
        return NULL;
    }
    return s;
}

static void log_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static int train_main(int argc, char **argv) {
    in_opts io = {0};
    io.label = -1;
    const char *out = NULL;
    lr_anomaly_opts o;
    lr_anomaly_opts_init(&o);
    int seed = (int)o.seed;
    const lr_cli_opt opts[] = {
        IN_OPTS(io),
        LR_OPT("--output", "-o", LR_OPT_STR, &out, "OUT.lrm", "the model file to write (required)",
               .flags = LR_OPT_REQUIRED | LR_OPT_NONEMPTY),
        LR_OPT("--arch", NULL, LR_OPT_CHOICE, &o.arch, "lstm|transformer",
               "the next-event network: stacked LSTM (default) or a transformer encoder over the window",
               .choices = archs),
        LR_OPT("--window", NULL, LR_OPT_INT, &o.window, "N", "events of history (10)", .lo = 1, .hi = 64),
        LR_OPT("--embed", NULL, LR_OPT_INT, &o.embed, "N", "LSTM: event embedding width (16)", .lo = 1, .hi = 512),
        LR_OPT("--hidden", NULL, LR_OPT_INT, &o.hidden, "N", "LSTM or transformer width (64)", .lo = 1, .hi = 512),
        LR_OPT("--layers", NULL, LR_OPT_INT, &o.layers, "N", "LSTM or transformer layers (2)", .lo = 1, .hi = 4),
        LR_OPT("--heads", NULL, LR_OPT_INT, &o.heads, "N", "transformer: attention heads (2)", .lo = 1, .hi = 512),
        LR_OPT("--ff", NULL, LR_OPT_INT, &o.ff, "N", "transformer: feed-forward width (2 x hidden)", .lo = 1,
               .hi = 2048),
        LR_OPT("--epochs", NULL, LR_OPT_INT, &o.epochs, "N", "passes over the training windows (30)", .lo = 1,
               .hi = 100000),
        LR_OPT("--batch", NULL, LR_OPT_INT, &o.batch, "N", "windows per step (64)", .lo = 1, .hi = 4096),
        LR_OPT("--lr", NULL, LR_OPT_DOUBLE, &o.lr, "X", "peak learning rate, decayed linearly to 0 (0.003)",
               .lo = 1e-6, .hi = 0.5),
        LR_OPT("--cap", NULL, LR_OPT_INT, &o.cap, "N",
               "train on a distinct (window, next event) pair at most N times an epoch (1; 0 = as often as "
               "it occurs)",
               .lo = 0, .hi = 1000000000),
        LR_OPT("--holdout", NULL, LR_OPT_DOUBLE, &o.holdout, "X",
               "share of the normal sessions held out to choose the epoch and top-k (0.1)", .lo = 0, .hi = 0.9),
        LR_OPT("--top-k", NULL, LR_OPT_INT, &o.top_k, "K",
               "an event is unexpected when not among the K most likely (default: chosen on the held-out "
               "sessions)",
               .lo = 1, .hi = 1000000),
        LR_OPT("--top-p", NULL, LR_OPT_DOUBLE, &o.top_p, "P",
               "judge by probability mass instead: unexpected when the more likely events hold P", .lo = 1e-9,
               .hi = 0.999999),
        LR_OPT("--max-fpr", NULL, LR_OPT_DOUBLE, &o.max_fpr, "X",
               "choosing top-k with no labelled anomalies: the smallest k with at most this share of "
               "held-out normal sessions flagged (0.01)",
               .lo = 0, .hi = 1),
        LR_OPT("--threads", NULL, LR_OPT_INT, &o.threads, "N", "threads (default: the available cores)", .lo = 1,
               .hi = 256),
        LR_OPT("--seed", NULL, LR_OPT_INT, &seed, "N", "initial weights and shuffling (1)", .lo = 0,
               .hi = 2147483647),
    };
    const lr_cli_spec spec = {
        "anomaly train",
        opts,
        LR_CLI_N(opts),
        .about = "Trains a next-event model (embedding, LSTM layers, softmax over the known events)\n"
                 "on the normal sessions of the input (Label 0 or none) and writes it with its\n"
                 "event dictionary to one model file (from log lines: with the template miner's\n"
                 "state, the events being the lines' templates). Sessions labelled anomalous (Label 1) are\n"
                 "not trained on: with the held-out normal sessions they choose top-k (best F1).\n"
                 "Progress goes to standard error.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    o.seed = (uint64_t)seed;
    lr_error err = {0};
    lr_miner *miner = NULL;
    if (io.format == LR_SESS_LINES && !(miner = lr_miner_new(NULL, &err))) return lr_cli_error("anomaly train", &err);
    lr_sessions *s = read_sessions("anomaly train", &io, miner, 1);
    if (!s) {
        lr_miner_free(miner);
        return 1;
    }
    if (miner) fprintf(stderr, "%u templates mined from the lines\n", (unsigned)lr_miner_n_templates(miner));
    lr_anomaly *m = lr_anomaly_train(s, &o, log_line, NULL, &err);
    lr_sessions_free(s);
    if (!m) {
        lr_miner_free(miner);
        return lr_cli_error("anomaly train", &err);
    }
    lr_anomaly_set_miner(m, miner);
    int rc = lr_anomaly_save(m, out, &err);
    if (!rc)
        fprintf(stderr, "wrote %s (top-k %d%s)\n", out, lr_anomaly_top_k(m),
                lr_anomaly_top_p(m) > 0 ? ", judged by top-p" : "");
    lr_anomaly_free(m);
    return rc ? lr_cli_error("anomaly train", &err) : 0;
}

typedef struct detect_ctx {
    FILE *out;
    const lr_sessions *s;
    int all;
    long tp, fp, fn, tn, flagged, labelled;
} detect_ctx;

static int on_verdict(void *user, const lr_anomaly_verdict *v) {
    detect_ctx *c = user;
    int label = lr_sessions_label(c->s, v->session);
    c->flagged += v->anomalous;
    if (label >= 0) {
        c->labelled++;
        if (label == 1 && v->anomalous) c->tp++;
        else if (label == 1) c->fn++;
        else if (v->anomalous) c->fp++;
        else c->tn++;
    }
    if (c->out && (v->anomalous || c->all)) {
        fwrite(v->json, 1, v->json_len, c->out);
        fputc('\n', c->out);
    }
    return 0;
}

static int detect_main(int argc, char **argv) {
    in_opts io = {0};
    io.label = -1;
    const char *model = NULL, *out_path = NULL;
    int all = 0, top_k = 0, threads = 0, quiet = 0;
    double top_p = -1;
    const lr_cli_opt opts[] = {
        IN_OPTS(io),
        LR_OPT("--model", "-m", LR_OPT_STR, &model, "MODEL.lrm", "the model `anomaly train` wrote (required)",
               .flags = LR_OPT_REQUIRED | LR_OPT_NONEMPTY),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "FILE", "alerts (default: standard output)"),
        LR_OPT("--all", NULL, LR_OPT_SET, &all, NULL, "a verdict line for every session, not only the anomalous"),
        LR_OPT("--quiet", "-q", LR_OPT_SET, &quiet, NULL, "no alert lines: only the summary"),
        LR_OPT("--top-k", NULL, LR_OPT_INT, &top_k, "K", "override the model's top-k", .lo = 1, .hi = 1000000),
        LR_OPT("--top-p", NULL, LR_OPT_DOUBLE, &top_p, "P", "judge by probability mass P instead (0 = top-k)",
               .lo = 0, .hi = 0.999999),
        LR_OPT("--threads", NULL, LR_OPT_INT, &threads, "N", "threads (default: the available cores)", .lo = 1,
               .hi = 256),
    };
    const lr_cli_spec spec = {
        "anomaly detect",
        opts,
        LR_CLI_N(opts),
        .about = "Judges every session of the input with the model: an event is unexpected when it\n"
                 "is not among the model's top-k predictions after the events before it (or the\n"
                 "end of the session comes unexpectedly); a session with an unexpected event is\n"
                 "anomalous. One JSON alert per anomalous session, in input order: the session,\n"
                 "the position, the unexpected event, the expected ones with probabilities, the\n"
                 "events before it and the input lines. A summary goes to standard error, with\n"
                 "precision, recall and F1 when the sessions carry labels.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    lr_error err = {0};
    lr_anomaly *m = lr_anomaly_load(model, &err);
    if (!m) return lr_cli_error("anomaly detect", &err);
    if ((top_k || top_p >= 0) &&
        lr_anomaly_set_judgement(m, top_k ? top_k : lr_anomaly_top_k(m),
                                 top_p >= 0 ? top_p : lr_anomaly_top_p(m), &err)) {
        lr_anomaly_free(m);
        return lr_cli_error("anomaly detect", &err);
    }
    if (io.format == LR_SESS_LINES && !lr_anomaly_miner(m)) {
        lr_anomaly_free(m);
        fprintf(stderr, "logrisk anomaly detect: %s was not trained on log lines (--format lines): it has no templates\n",
                model);
        return 1;
    }
    lr_sessions *s = read_sessions("anomaly detect", &io, lr_anomaly_miner(m), 0);
    if (!s) {
        lr_anomaly_free(m);
        return 1;
    }
    FILE *out = quiet ? NULL : lr_cli_open_out(out_path, "anomaly detect");
    if (!quiet && !out) {
        lr_sessions_free(s);
        lr_anomaly_free(m);
        return 1;
    }
    detect_ctx c = {out, s, all, 0, 0, 0, 0, 0, 0};
    /* every verdict, for the summary; the alerts are filtered above */
    int rc = lr_anomaly_detect(m, s, 1, threads, on_verdict, &c, &err);
    int status = 0;
    if (rc) status = lr_cli_error("anomaly detect", &err);
    if (out && lr_cli_close_out(out, out_path, "anomaly detect")) status = 1;
    if (!rc) {
        fprintf(stderr, "%zu sessions, %ld anomalous (top-k %d%s)\n", lr_sessions_count(s), c.flagged,
                lr_anomaly_top_k(m), lr_anomaly_top_p(m) > 0 ? ", by top-p" : "");
        if (c.labelled) {
            double p = c.tp + c.fp ? (double)c.tp / (c.tp + c.fp) : 0.0;
            double r = c.tp + c.fn ? (double)c.tp / (c.tp + c.fn) : 0.0;
            double f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
            fprintf(stderr, "labelled %ld: precision %.4f recall %.4f F1 %.4f (TP %ld FP %ld FN %ld TN %ld)\n",
                    c.labelled, p, r, f, c.tp, c.fp, c.fn, c.tn);
        }
    }
    lr_sessions_free(s);
    lr_anomaly_free(m);
    return status;
}

int lr_cmd_anomaly(int argc, char **argv) {
    static const char help[] =
        "usage: logrisk anomaly train [options] -o OUT.lrm\n"
        "       logrisk anomaly detect -m MODEL.lrm [options]\n"
        "\n"
        "Sequence anomalies: a next-event model trained on normal sessions judges\n"
        "whether each session's events come in an expected order.\n"
        "\n"
        "subcommands:\n"
        "  train    train a next-event model on the normal sessions of the input\n"
        "  detect   judge every session of the input with a trained model\n"
        "\n"
        "'logrisk anomaly train --help' and 'logrisk anomaly detect --help' list the options.\n";
    if (argc < 2) return lr_cli_usage_error("anomaly", "no subcommand (train or detect)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(help, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (!strcmp(argv[1], "train")) return train_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "detect")) return detect_main(argc - 1, argv + 1);
    if (argv[1][0] == '-' && argv[1][1])
        return lr_cli_usage_error("anomaly", "unknown option '%s' before the subcommand (train or detect)", argv[1]);
    return lr_cli_usage_error("anomaly", "unknown subcommand '%s' (train or detect)", argv[1]);
}
