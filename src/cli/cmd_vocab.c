/*
 * cmd_vocab.c — `logrisk vocab`: learn a WordPiece vocabulary from raw log
 * lines (masked first). Flags only; the work is lr_vocab_learn_file.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: logrisk vocab -i CORPUS -o VOCAB.txt --size N [--min-freq F]\n"
    "                     [--no-mask] [--rules FILE]\n"
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
    "  --rules FILE   YAML rules for masking (default: the built-in rules)\n";

int lr_cmd_vocab(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    int size = 0, min_freq = 2, mask = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage, 1);
        if (strcmp(a, "--no-mask") == 0) {
            mask = 0;
            continue;
        }
        static const char *const with_value[] = {"-i", "-o", "--size", "--min-freq", "--rules"};
        const char *opt = NULL;
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
        else if (strcmp(opt, "--size") == 0) {
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
    int rc = lr_vocab_learn_file(in_path, rules, size, min_freq, out_path, &err);
    lr_rules_free(rules);
    return rc == 0 ? 0 : lr_cli_error("vocab", &err);
}
