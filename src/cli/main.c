/*
 * main.c — `logrisk CMD ...`: finds the subcommand in the table below and
 * runs it (a new command is one line there and its cmd_*.c file).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

int lr_cmd_serve(int argc, char **argv); /* cmd_serve.c */
int lr_cmd_templates(int argc, char **argv); /* cmd_templates.c */

static int version_main(int argc, char **argv) {
    const lr_cli_spec spec = {"version", NULL, 0, .about = "Prints the version and the kernel paths this CPU uses.\n"};
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    printf("logrisk %s (kernels: %s, int8/bf16: %s)\n", LR_VERSION, lr_kernel_path(),
           lr_qkernel_path());
    return 0;
}

static const struct {
    const char *name;
    lr_cli_fn fn;
    const char *summary;
} commands[] = {
    {"version", version_main, "print the version and the kernel path this CPU uses"},
    {"preprocess", lr_cmd_preprocess, "mask log lines and find their level (JSONL or CSV)"},
    {"label", lr_cmd_label, "preprocess plus a weak risk label 0..10 from YAML rules"},
    {"inspect", lr_cmd_inspect, "show a model file's header, metadata and tensors; verify it"},
    {"tokenize", lr_cmd_tokenize, "WordPiece tokens and ids of each line (Hugging Face compatible)"},
    {"vocab", lr_cmd_vocab, "learn a WordPiece vocabulary from raw log lines"},
    {"convert", lr_cmd_convert, "import a Hugging Face BERT (safetensors) as a model file"},
    {"score", lr_cmd_score, "risk of every log line: one JSON object per line, in order"},
    {"serve", lr_cmd_serve, "the HTTP scoring API (NDJSON, JSON arrays, text; /predict, /metrics)"},
    {"export", lr_cmd_export, "write a model as an ONNX file (ONNX Runtime, opset 14 or 17)"},
    {"quantize", lr_cmd_quantize, "write an int8 (q8) or bf16 copy of a model for faster scoring"},
    {"train", lr_cmd_train, "train a classifier on labelled lines (YAML config) into a model file"},
    {"pretrain", lr_cmd_pretrain, "masked-LM pre-training of the encoder on raw log lines"},
    {"eval", lr_cmd_eval, "agreement of the risk scores with judged labels (gold file)"},
    {"calibrate", lr_cmd_calibrate, "fit a temperature on judged events; write a calibrated model"},
    {"anomaly", lr_cmd_anomaly, "sequence anomalies: train a next-event model, detect odd sessions"},
    {"templates", lr_cmd_templates, "the template of every event (online mining), a state file, rate alerts"},
};

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: logrisk COMMAND [OPTIONS]\n"
            "\n"
            "Scores log lines with a risk from 0 (noise) to 10 (outage).\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'logrisk COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        return version_main(1, argv + 1);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "logrisk: unknown command '%s'; try 'logrisk --help'\n", cmd);
    return 2;
}
