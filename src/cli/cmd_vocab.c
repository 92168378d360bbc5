/*
 * cmd_vocab.c — `logrisk vocab`: learn a WordPiece vocabulary from raw log
 * lines or from the events of a log format (masked first). Flags only; the
 * work is lr_vocab_learn_file (raw lines) or lr_vocab_learn_events.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

int lr_cmd_vocab(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    int size = 0, min_freq = 2, mask = 1, multiline = 1;
    lr_rec_format fmt = LR_REC_RAW;
    const lr_cli_opt opts[] = {
        LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "CORPUS", "raw log lines ('-': standard input)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--output", "-o", LR_OPT_STR, &out_path, "VOCAB.txt", "output vocabulary", .flags = LR_OPT_REQUIRED),
        LR_OPT("--size", NULL, LR_OPT_INT, &size, "N", "vocabulary size, 11..1000000 (e.g. 8000; BERT uses 30522)",
               .flags = LR_OPT_REQUIRED, .lo = 11, .hi = 1000000),
        LR_OPT("--min-freq", NULL, LR_OPT_INT, &min_freq, "F", "merge only pairs seen at least F times (default 2)",
               .lo = 1, .hi = 1000000000),
        LR_OPT("--no-mask", NULL, LR_OPT_CLEAR, &mask, NULL, "learn from the lines as they are, without masking"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &rules_path, "FILE",
               "YAML rules for masking (default: the built-in rules)"),
        LR_OPT("--input-format", NULL, LR_OPT_FN, &fmt, "F",
               "raw (default: each line as it is), or as for score: auto, "
               "cri, docker, jsonl, csv, logfmt, klog, syslog, log4j: learn "
               "from each event's canonical rendering (docs/events.md)",
               .parse = lr_cli_parse_rec_format, .want = LR_CLI_REC_FORMATS),
        LR_OPT("--multiline", NULL, LR_OPT_FN, &multiline, "on|off",
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
    if (!mask && rules_path) return lr_cli_usage_error("vocab", "--rules and --no-mask exclude each other");
    lr_error err = {0, ""};
    lr_rules *rules = NULL;
    if (mask && !(rules = rules_path ? lr_rules_load(rules_path, &err) : lr_rules_default(&err)))
        return lr_cli_error("vocab", &err);
    int rc;
    if (fmt == LR_REC_RAW) {
        rc = lr_vocab_learn_file(in_path, rules, size, min_freq, out_path, &err);
    } else {
        int fd = strcmp(in_path, "-") == 0 ? 0 : open(in_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            lr_cli_fail_errno("vocab", "cannot open '%s'", in_path);
            lr_rules_free(rules);
            return 1;
        }
        lr_records_opts ro;
        lr_records_opts_init(&ro);
        ro.format = fmt;
        ro.max_bytes = SIZE_MAX / 8;
        lr_events_opts eo;
        lr_events_opts_init(&eo);
        eo.multiline = multiline;
        lr_records *recs = lr_records_new(fd, &ro, &err);
        lr_events *evs = recs ? lr_events_new(recs, &eo, &err) : NULL;
        rc = evs ? lr_vocab_learn_events(evs, rules, size, min_freq, out_path, &err) : -1;
        lr_events_free(evs);
        lr_records_free(recs);
        if (fd > 0) close(fd);
    }
    lr_rules_free(rules);
    return rc == 0 ? 0 : lr_cli_error("vocab", &err);
}
