/*
 * cmd_train.c — `logrisk train --config train.yaml [-o model.lrm]`: flags
 * only; the run is lr_train_run, whose progress lines go to stderr.
 */
#include <string.h>

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

static void log_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "logrisk train: %s\n", line);
}

int lr_cmd_train(int argc, char **argv) {
    const char *config = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage, 1);
        const char **dst = strcmp(a, "--config") == 0 ? &config : strcmp(a, "-o") == 0 ? &out : NULL;
        if (!dst) {
            fprintf(stderr, "logrisk train: unknown option '%s'\n\n", a);
            return lr_cli_usage(usage, 0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "logrisk train: option '%s' needs a value\n\n", a);
            return lr_cli_usage(usage, 0);
        }
        *dst = argv[++i];
    }
    if (!config) {
        fprintf(stderr, "logrisk train: --config is required\n\n");
        return lr_cli_usage(usage, 0);
    }
    lr_error err = {0};
    if (lr_train_run(config, out, log_line, NULL, &err) != 0) return lr_cli_error("train", &err);
    return 0;
}
