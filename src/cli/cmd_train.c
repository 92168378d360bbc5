/*
 * cmd_train.c — `logrisk train --config train.yaml [-o model.lrm]` and
 * `logrisk pretrain` (same flags): flags only; the runs are lr_train_run /
 * lr_pretrain_run, whose progress lines go to stderr.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

/* Log lines go to stderr. Progress lines ("progress: ...", at most one a
 * second from the library) are redrawn in place when stderr is a terminal,
 * and written as plain lines at most every 30 s otherwise (logs, CI). */
static int progress_open; /* a redrawn progress line ends the tty */
static time_t progress_last_plain;

static void log_line(void *user, const char *line) {
    const char *cmd = user;
    static const char prefix[] = "progress: ";
    if (strncmp(line, prefix, sizeof prefix - 1) == 0) {
        if (isatty(STDERR_FILENO)) {
            fprintf(stderr, "\r\033[Klogrisk %s: %s", cmd, line + sizeof prefix - 1);
            progress_open = 1;
        } else if (time(NULL) - progress_last_plain >= 30) {
            progress_last_plain = time(NULL);
            fprintf(stderr, "logrisk %s: %s\n", cmd, line + sizeof prefix - 1);
        }
        return;
    }
    if (progress_open) fputc('\n', stderr);
    progress_open = 0;
    fprintf(stderr, "logrisk %s: %s\n", cmd, line);
}

typedef int (*run_fn)(const char *, const char *, lr_train_log_fn, void *, lr_error *);

/* What differs between train and pretrain: name, texts, the job. */
typedef struct run_cmd_text {
    const char *name, *about, *config_meta, *config_help, *out_meta;
    run_fn run;
} run_cmd_text;

static int run_cmd(int argc, char **argv, const run_cmd_text *t) {
    const char *config = NULL, *out = NULL;
    const lr_cli_opt opts[] = {
        LR_OPT("--config", NULL, LR_OPT_STR, &config, t->config_meta, t->config_help, .flags = LR_OPT_REQUIRED),
        LR_OPT("--output", "-o", LR_OPT_STR, &out, t->out_meta, "output model (overrides `output` in the config)"),
    };
    const lr_cli_spec spec = {t->name, opts, LR_CLI_N(opts), .about = t->about};
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    lr_error err = {0};
    if (t->run(config, out, log_line, (void *)t->name, &err) != 0) return lr_cli_error(t->name, &err);
    return 0;
}

int lr_cmd_train(int argc, char **argv) {
    static const run_cmd_text text = {
        "train",
        "Trains a BERT classifier on labelled lines (JSONL or CSV with text and\n"
        "label: risk 0..10 or any class names; `logrisk label` output works as is)\n"
        "and writes the best model by validation loss, a metrics JSON file and a\n"
        "checkpoint every epoch. The YAML keys (data, vocab, epochs, batch, lr, ...)\n"
        "are listed in docs/training.md.\n",
        "TRAIN.yaml", "the training configuration (YAML)", "MODEL.lrm", lr_train_run};
    return run_cmd(argc, argv, &text);
}

int lr_cmd_pretrain(int argc, char **argv) {
    static const run_cmd_text text = {
        "pretrain",
        "Masked-LM pre-training (15% of tokens, 80/10/10) of the encoder on raw\n"
        "log lines (masked with the rules first). Writes the best encoder by\n"
        "validation loss as a model file that `train` starts from with `init:`,\n"
        "and the loss curve as JSON. Same YAML keys as train (docs/training.md).\n",
        "PRETRAIN.yaml", "the configuration (YAML); `data` is a raw log file", "ENCODER.lrm", lr_pretrain_run};
    return run_cmd(argc, argv, &text);
}
