/*
 * cmd_tokenize.c — `logrisk tokenize`: the WordPiece tokens and ids of each
 * input event, as the model sees them. Flags only; the job is
 * lr_tokenize_stream (src/tokenize.c).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

int lr_cmd_tokenize(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL;
    lr_tokenize_opts to;
    lr_tokenize_opts_init(&to);
    const lr_cli_opt opts[] = {
        LR_OPT("--vocab", NULL, LR_OPT_STR, &to.vocab_path, "VOCAB.txt",
               "vocab.txt, one token a line (e.g. from 'logrisk vocab')", .flags = LR_OPT_REQUIRED),
        LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "FILE", "input (default or '-': standard input)"),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "FILE", "output (default or '-': standard output)"),
        LR_OPT("--no-mask", NULL, LR_OPT_CLEAR, &to.mask, NULL,
               "tokenize the raw line as it is: no masking of times, ids, "
               "IPs, pids and paths (mask tokens typed in the line still "
               "count as single tokens)"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &to.rules_path, "FILE",
               "YAML rules for masking (default: the built-in rules)"),
        LR_OPT("--max-len", NULL, LR_OPT_INT, &to.max_len, "N",
               "sequence length with [CLS] and [SEP], 2..65536 (default 128)", .lo = 2, .hi = 65536),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &to.format, "F",
               "raw (default: each line as it is), or as for score: auto, "
               "cri, docker, jsonl, csv, logfmt, klog, syslog, log4j",
               .parse = lr_cli_parse_rec_format, .want = LR_CLI_REC_FORMATS),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &to.multiline, "on|off",
               "log formats: join stack traces and indented lines (on)", .parse = lr_cli_parse_on_off,
               .want = "on or off"),
    };
    const lr_cli_spec spec = {
        "tokenize",
        opts,
        LR_CLI_N(opts),
        .about = "Tokenizes each line with BERT uncased WordPiece (Hugging Face compatible).\n"
                 "One JSON object per input line, in order, ids with [CLS] and [SEP]:\n"
                 "  {\"tokens\":[\"[CLS]\",...,\"[SEP]\"],\"ids\":[2,...,3]}\n"
                 "With a log --input-format, one object per event (its canonical rendering, as\n"
                 "score reads it, docs/events.md) with \"line\" and \"line_end\" added.\n",
    };
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    if (!to.mask && to.rules_path) return lr_cli_usage_error("tokenize", "--rules and --no-mask exclude each other");

    int in_fd = 0;
    if (in_path && strcmp(in_path, "-") != 0 && (in_fd = open(in_path, O_RDONLY | O_CLOEXEC)) < 0)
        return lr_cli_fail_errno("tokenize", "cannot open '%s'", in_path);
    FILE *out = lr_cli_open_out(out_path, "tokenize");
    if (!out) {
        if (in_fd > 0) close(in_fd);
        return 1;
    }
    lr_error err = {0, ""};
    int status = 0;
    if (lr_tokenize_stream(&to, in_fd, out, &err) != LR_OK) {
        status = lr_cli_error("tokenize", &err);
        if (out != stdout) fclose(out);
    } else {
        status = lr_cli_close_out(out, out_path, "tokenize");
    }
    if (in_fd > 0) close(in_fd);
    return status;
}
