/*
 * cmd_tokenize.c — `logrisk tokenize`: the WordPiece tokens and ids of each
 * input line, as the model sees them. Flags only; masking is lr_prep_line,
 * tokenizing lr_tok_encode.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static const char usage[] =
    "usage: logrisk tokenize --vocab VOCAB.txt [-i FILE] [-o FILE] [--no-mask]\n"
    "                        [--rules FILE] [--max-len N]\n"
    "\n"
    "Tokenizes each line with BERT uncased WordPiece (Hugging Face compatible).\n"
    "One JSON object per input line, in order, ids with [CLS] and [SEP]:\n"
    "  {\"tokens\":[\"[CLS]\",...,\"[SEP]\"],\"ids\":[2,...,3]}\n"
    "\n"
    "  --vocab FILE   vocab.txt, one token a line (e.g. from 'logrisk vocab')\n"
    "  -i FILE        input (default or '-': standard input)\n"
    "  -o FILE        output (default or '-': standard output)\n"
    "  --no-mask      tokenize the raw line as it is: no masking of times, ids,\n"
    "                 IPs, pids and paths (mask tokens typed in the line still\n"
    "                 count as single tokens)\n"
    "  --rules FILE   YAML rules for masking (default: the built-in rules)\n"
    "  --max-len N    sequence length with [CLS] and [SEP], 2..65536 (default 128)\n";

int lr_cmd_tokenize(int argc, char **argv) {
    const char *vocab = NULL, *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    int mask = 1, max_len = LR_TOK_MAX_LEN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage, 1);
        if (strcmp(a, "--no-mask") == 0) {
            mask = 0;
            continue;
        }
        static const char *const with_value[] = {"--vocab", "-i", "-o", "--rules", "--max-len"};
        const char *opt = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0] && !opt; k++)
            if (lr_cli_is_opt(a, with_value[k])) opt = with_value[k];
        if (!opt) {
            fprintf(stderr, "logrisk tokenize: unknown option '%s'\n\n", a);
            return lr_cli_usage(usage, 0);
        }
        if (!(v = lr_cli_opt_value(argc, argv, &i, opt))) {
            fprintf(stderr, "logrisk tokenize: option '%s' needs a value\n\n", opt);
            return lr_cli_usage(usage, 0);
        }
        if (strcmp(opt, "--vocab") == 0) vocab = v;
        else if (strcmp(opt, "-i") == 0) in_path = v;
        else if (strcmp(opt, "-o") == 0) out_path = v;
        else if (strcmp(opt, "--rules") == 0) rules_path = v;
        else {
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 2 || n > 65536) {
                fprintf(stderr, "logrisk tokenize: --max-len must be an integer in 2..65536, not '%s'\n\n", v);
                return lr_cli_usage(usage, 0);
            }
            max_len = (int)n;
        }
    }
    if (!vocab) {
        fprintf(stderr, "logrisk tokenize: --vocab is required\n\n");
        return lr_cli_usage(usage, 0);
    }
    if (!mask && rules_path) {
        fprintf(stderr, "logrisk tokenize: --rules and --no-mask exclude each other\n\n");
        return lr_cli_usage(usage, 0);
    }

    lr_error err = {0, ""};
    int status = 1, in_fd = 0;
    lr_tok *tok = NULL;
    lr_rules *rules = NULL;
    lr_prep *prep = NULL;
    lr_io_reader *reader = NULL;
    int32_t *ids = NULL;
    FILE *out = NULL;
    lr__buf buf;
    lr__buf_init(&buf);

    if (!(tok = lr_tok_load(vocab, &err))) goto fail;
    if (mask) {
        rules = rules_path ? lr_rules_load(rules_path, &err) : lr_rules_default(&err);
        if (!rules || !(prep = lr_prep_new(rules, &err))) goto fail;
    }
    if (in_path && strcmp(in_path, "-") != 0 && (in_fd = open(in_path, O_RDONLY)) < 0) {
        lr_cli_fail("tokenize: cannot open '%s'", in_path);
        goto done;
    }
    if (!(reader = lr_io_reader_new(in_fd, 0, &err))) goto fail;
    if (!(ids = malloc((size_t)max_len * sizeof *ids))) {
        lr_cli_fail("tokenize: out of memory");
        goto done;
    }
    if (!(out = lr_cli_open_out(out_path, "tokenize"))) goto done;

    const char *line;
    size_t len;
    int rc;
    while ((rc = lr_io_read_line(reader, &line, &len, NULL, &err)) == 1) {
        if (prep) {
            lr_line_info info;
            if (lr_prep_line(prep, line, len, &info) != 0) {
                lr_cli_fail("tokenize: out of memory");
                goto done;
            }
            line = info.text;
            len = info.text_len;
        }
        int n = lr_tok_encode(tok, line, len, max_len, ids);
        lr__buf_clear(&buf);
        int bad = lr__buf_puts(&buf, "{\"tokens\":[");
        for (int k = 0; k < n && !bad; k++) {
            size_t tlen;
            const char *t = lr_tok_token(tok, ids[k], &tlen);
            bad = (k && lr__buf_putc(&buf, ',')) || lr__buf_put_json_string(&buf, t, tlen);
        }
        bad = bad || lr__buf_puts(&buf, "],\"ids\":[");
        for (int k = 0; k < n && !bad; k++) bad = lr__buf_printf(&buf, k ? ",%d" : "%d", (int)ids[k]);
        bad = bad || lr__buf_puts(&buf, "]}\n");
        if (bad) {
            lr_cli_fail("tokenize: out of memory");
            goto done;
        }
        if (fwrite(buf.data, 1, buf.len, out) != buf.len) break; /* reported by close */
    }
    if (rc < 0) goto fail;
    status = lr_cli_close_out(out, out_path, "tokenize");
    out = NULL;
    goto done;
fail:
    lr_cli_error("tokenize", &err);
done:
    if (out) lr_cli_close_out(out, out_path, "tokenize");
    if (in_fd > 0) close(in_fd);
    free(ids);
    lr__buf_free(&buf);
    lr_io_reader_free(reader);
    lr_prep_free(prep);
    lr_rules_free(rules);
    lr_tok_free(tok);
    return status;
}
