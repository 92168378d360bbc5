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

static const char usage[] =
    "usage: logrisk vocab -i CORPUS -o VOCAB.txt --size N [--min-freq F]\n"
    "                     [--no-mask] [--rules FILE] [--input-format F] [--multiline on|off]\n"
    "\n"
    "Learns a WordPiece vocabulary (BPE-style merges with ## continuations)\n"
    "from raw log lines, masked first. Writes one token a line (Hugging Face\n"
    "vocab.txt): [PAD] [UNK] [CLS] [SEP] [MASK], <TIME> <ID> <IP> <PID> <PATH>,\n"
    "the corpus alphabet, then the learned tokens.\n"
    "\n"
    "  -i CORPUS      raw log lines ('-': standard input)\n"
    "  -o VOCAB.txt   output vocabulary\n"
    "  --size N       vocabulary size, 11..1000000 (e.g. 8000; BERT uses 30522)\n"
    "  --min-freq F   merge only pairs seen at least F times (default 2)\n"
    "  --no-mask      learn from the lines as they are, without masking\n"
    "  --rules FILE   YAML rules for masking (default: the built-in rules)\n"
    "  --input-format F  raw (default: each line as it is), or as for score: auto,\n"
    "                 cri, docker, jsonl, csv, logfmt, klog, syslog, log4j: learn\n"
    "                 from each event's canonical rendering (docs/events.md)\n"
    "  --multiline on|off  log formats: join stack traces and indented lines (on)\n";

int lr_cmd_vocab(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    int size = 0, min_freq = 2, mask = 1, multiline = 1;
    lr_rec_format fmt = LR_REC_RAW;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage, 1);
        if (strcmp(a, "--no-mask") == 0) {
            mask = 0;
            continue;
        }
        static const char *const with_value[] = {"-i", "-o", "--size", "--min-freq", "--rules", "--input-format",
                                                 "--multiline"};
        const char *opt = NULL;
        int ev_opt;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !opt; k++)
            if (lr_cli_is_opt(a, with_value[k])) opt = with_value[k];
        if (!opt) {
            fprintf(stderr, "logrisk vocab: unknown option '%s'\n\n", a);
            return lr_cli_usage(usage, 0);
        }
        if (!(v = lr_cli_opt_value(argc, argv, &i, opt))) {
            fprintf(stderr, "logrisk vocab: option '%s' needs a value\n\n", opt);
            return lr_cli_usage(usage, 0);
        }
        if (strcmp(opt, "-i") == 0) in_path = v;
        else if (strcmp(opt, "-o") == 0) out_path = v;
        else if (strcmp(opt, "--rules") == 0) rules_path = v;
        else if ((ev_opt = lr_cli_event_opt("vocab", opt, v, &fmt, &multiline)) != 0) {
            if (ev_opt < 0) return lr_cli_usage(usage, 0);
        } else if (strcmp(opt, "--size") == 0) {
            if (lr_cli_parse_int(v, 11, 1000000, &size) != 0) {
                fprintf(stderr, "logrisk vocab: --size must be an integer in 11..1000000, not '%s'\n\n", v);
                return lr_cli_usage(usage, 0);
            }
        } else if (lr_cli_parse_int(v, 1, 1000000000, &min_freq) != 0) {
            fprintf(stderr, "logrisk vocab: --min-freq must be a positive integer, not '%s'\n\n", v);
            return lr_cli_usage(usage, 0);
        }
    }
    if (!in_path || !out_path || !size) {
        fprintf(stderr, "logrisk vocab: -i, -o and --size are required\n\n");
        return lr_cli_usage(usage, 0);
    }
    if (!mask && rules_path) {
        fprintf(stderr, "logrisk vocab: --rules and --no-mask exclude each other\n\n");
        return lr_cli_usage(usage, 0);
    }
    lr_error err = {0, ""};
    lr_rules *rules = NULL;
    if (mask && !(rules = rules_path ? lr_rules_load(rules_path, &err) : lr_rules_default(&err)))
        return lr_cli_error("vocab", &err);
    int rc;
    if (fmt == LR_REC_RAW) {
        rc = lr_vocab_learn_file(in_path, rules, size, min_freq, out_path, &err);
    } else {
        int fd = strcmp(in_path, "-") == 0 ? 0 : open(in_path, O_RDONLY);
        if (fd < 0) {
            lr_rules_free(rules);
            return lr_cli_fail("vocab: cannot open '%s'", in_path);
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
