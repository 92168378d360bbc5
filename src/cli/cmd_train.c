/*
 * cmd_train.c — `logrisk train --config train.yaml [-o model.lrm]` and
 * `logrisk pretrain` (same flags): flags only; the runs are lr_train_run /
 * lr_pretrain_run, whose progress lines go to stderr.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: logrisk train --config TRAIN.yaml [-o MODEL.lrm]\n"
    "\n"
    "Trains a BERT classifier on labelled lines (JSONL or CSV with text and\n"
    "label: risk 0..10 or any class names; `logrisk label` output works as is)\n"
    "and writes the best model by validation loss, a metrics JSON file and a\n"
    "checkpoint every epoch. The YAML keys (data, vocab, epochs, batch, lr, ...)\n"
    "are listed in the README, section Training.\n"
    "\n"
    "  --config FILE   the training configuration (YAML)\n"
    "  -o FILE         output model (overrides `output` in the config)\n";

static const char usage_pretrain[] =
    "usage: logrisk pretrain --config PRETRAIN.yaml [-o ENCODER.lrm]\n"
    "\n"
    "Masked-LM pre-training (15% of tokens, 80/10/10) of the encoder on raw\n"
    "log lines (masked with the rules first). Writes the best encoder by\n"
    "validation loss as a model file that `train` starts from with `init:`,\n"
    "and the loss curve as JSON. Same YAML keys as train (README, Training).\n"
    "\n"
    "  --config FILE   the configuration (YAML); `data` is a raw log file\n"
    "  -o FILE         output model (overrides `output` in the config)\n";

/* Log lines go to stderr. Progress lines ("progress: ...", at most one a
 * second from the library) are redrawn in place when stderr is a terminal,
 * and written as plain lines at most every 30 s otherwise (logs, CI). */
static int progress_open;        /* a redrawn progress line ends the tty */
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

static int run_cmd(int argc, char **argv, const char *name, const char *text, run_fn run) {
    const char *config = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(text, 1);
        const char **dst = strcmp(a, "--config") == 0 ? &config : strcmp(a, "-o") == 0 ? &out : NULL;
        if (!dst) {
            fprintf(stderr, "logrisk %s: unknown option '%s'\n\n", name, a);
            return lr_cli_usage(text, 0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "logrisk %s: option '%s' needs a value\n\n", name, a);
            return lr_cli_usage(text, 0);
        }
        *dst = argv[++i];
    }
    if (!config) {
        fprintf(stderr, "logrisk %s: --config is required\n\n", name);
        return lr_cli_usage(text, 0);
    }
    lr_error err = {0};
    if (run(config, out, log_line, (void *)name, &err) != 0) return lr_cli_error(name, &err);
    return 0;
}

int lr_cmd_train(int argc, char **argv) { return run_cmd(argc, argv, "train", usage, lr_train_run); }

int lr_cmd_pretrain(int argc, char **argv) {
    return run_cmd(argc, argv, "pretrain", usage_pretrain, lr_pretrain_run);
}
