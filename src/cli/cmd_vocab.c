/*
 * cmd_vocab.c — `logrisk vocab`: learn a WordPiece vocabulary from raw log
 * lines or from the events of a log format (masked first). Flags only; the
 * job is lr_vocab_learn_stream (src/tokenize.c).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

int lr_cmd_vocab(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL;
    lr_vocab_opts vo;
    lr_vocab_opts_init(&vo);
    const lr_cli_opt opts[] = {
        LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "CORPUS", "raw log lines ('-': standard input)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "VOCAB.txt", "output vocabulary", .flags = LR_OPT_REQUIRED),
        LR_OPT("--size", NULL, LR_OPT_INT, &vo.vocab_size, "N",
               "vocabulary size, 11..1000000 (e.g. 8000; BERT uses 30522)", .flags = LR_OPT_REQUIRED, .lo = 11,
               .hi = 1000000),
        LR_OPT("--min-freq", NULL, LR_OPT_INT, &vo.min_freq, "F", "merge only pairs seen at least F times (default 2)",
               .lo = 1, .hi = 1000000000),
        LR_OPT("--no-mask", NULL, LR_OPT_CLEAR, &vo.mask, NULL, "learn from the lines as they are, without masking"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &vo.rules_path, "FILE",
               "YAML rules for masking (default: the built-in rules)"),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &vo.format, "F",
               "raw (default: each line as it is), or as for score: auto, "
               "cri, docker, jsonl, csv, logfmt, klog, syslog, log4j: learn "
               "from each event's canonical rendering (docs/events.md)",
               .parse = lr_cli_parse_rec_format, .want = LR_CLI_REC_FORMATS),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &vo.multiline, "on|off",
               "log formats: join stack traces and indented lines (on)", .parse = lr_cli_parse_on_off,
               .want = "on or off"),
    };
    const lr_cli_spec spec = {
        "vocab",
        opts,
        LR_CLI_N(opts),
        .about = "Learns a WordPiece vocabulary (BPE-style merges with ## continuations)\n"
                 "from raw log lines, masked first. Writes one token a line (Hugging Face\n"
                 "vocab.txt): [PAD] [UNK] [CLS] [SEP] [MASK], <TIME> <ID> <IP> <PID> <PATH>,\n"
                 "the corpus alphabet, then the learned tokens.\n",
    };
    int prc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc != LR_CLI_GO) return prc;
    if (!vo.mask && vo.rules_path) return lr_cli_usage_error("vocab", "--rules and --no-mask exclude each other");

    int fd = strcmp(in_path, "-") == 0 ? 0 : open(in_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lr_cli_fail_errno("vocab", "cannot open corpus '%s'", in_path);
    lr_error err = {0, ""};
    int rc = lr_vocab_learn_stream(&vo, fd, out_path, &err);
    if (fd > 0) close(fd);
    return rc == 0 ? 0 : lr_cli_error("vocab", &err);
}
