/*
 * cmd_tokenize.c — `logrisk tokenize`: the WordPiece tokens and ids of each
 * input event, as the model sees them. Flags only; the input is read with
 * the records and events readers and each event encoded with
 * lr_event_encode (rendering, masks, window), the code `score` uses.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static const char usage[] =
    "usage: logrisk tokenize --vocab VOCAB.txt [-i FILE] [-o FILE] [--no-mask]\n"
    "                        [--rules FILE] [--max-len N] [--input-format F]\n"
    "                        [--multiline on|off]\n"
    "\n"
    "Tokenizes each line with BERT uncased WordPiece (Hugging Face compatible).\n"
    "One JSON object per input line, in order, ids with [CLS] and [SEP]:\n"
    "  {\"tokens\":[\"[CLS]\",...,\"[SEP]\"],\"ids\":[2,...,3]}\n"
    "With a log --input-format, one object per event (its canonical rendering, as\n"
    "score reads it, docs/events.md) with \"line\" and \"line_end\" added.\n"
    "\n"
    "  --vocab FILE   vocab.txt, one token a line (e.g. from 'logrisk vocab')\n"
    "  -i FILE        input (default or '-': standard input)\n"
    "  -o FILE        output (default or '-': standard output)\n"
    "  --no-mask      tokenize the raw line as it is: no masking of times, ids,\n"
    "                 IPs, pids and paths (mask tokens typed in the line still\n"
    "                 count as single tokens)\n"
    "  --rules FILE   YAML rules for masking (default: the built-in rules)\n"
    "  --max-len N    sequence length with [CLS] and [SEP], 2..65536 (default 128)\n"
    "  --input-format F  raw (default: each line as it is), or as for score: auto,\n"
    "                 cri, docker, jsonl, csv, logfmt, klog, syslog, log4j\n"
    "  --multiline on|off  log formats: join stack traces and indented lines (on)\n";

int lr_cmd_tokenize(int argc, char **argv) {
    const char *vocab = NULL, *in_path = NULL, *out_path = NULL, *rules_path = NULL;
    int mask = 1, max_len = LR_TOK_MAX_LEN, multiline = 1;
    lr_rec_format fmt = LR_REC_RAW;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return lr_cli_usage(usage, 1);
        if (strcmp(a, "--no-mask") == 0) {
            mask = 0;
            continue;
        }
        static const char *const with_value[] = {"--vocab", "-i", "-o", "--rules", "--max-len", "--input-format",
                                                 "--multiline"};
        const char *opt = NULL;
        int ev_opt;
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
        else if ((ev_opt = lr_cli_event_opt("tokenize", opt, v, &fmt, &multiline)) != 0) {
            if (ev_opt < 0) return lr_cli_usage(usage, 0);
        } else {
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
    lr_event_encoder *enc = NULL;
    lr_records *recs = NULL;
    lr_events *evs = NULL;
    int32_t *ids = NULL;
    FILE *out = NULL;
    lr__buf buf;
    lr__buf_init(&buf);

    if (!(tok = lr_tok_load(vocab, &err))) goto fail;
    if (mask && !(rules = rules_path ? lr_rules_load(rules_path, &err) : lr_rules_default(&err))) goto fail;
    /* no byte cap: a raw line is tokenized whole, as before the events reader */
    if (!(enc = lr_event_encoder_new(rules, tok, max_len, SIZE_MAX / 8, &err))) goto fail;
    if (in_path && strcmp(in_path, "-") != 0 && (in_fd = open(in_path, O_RDONLY)) < 0) {
        lr_cli_fail("tokenize: cannot open '%s'", in_path);
        goto done;
    }
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = fmt;
    ro.max_bytes = SIZE_MAX / 8;
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = multiline;
    if (!(recs = lr_records_new(in_fd, &ro, &err)) || !(evs = lr_events_new(recs, &eo, &err))) goto fail;
    if (!(ids = malloc((size_t)max_len * sizeof *ids))) {
        lr_cli_fail("tokenize: out of memory");
        goto done;
    }
    if (!(out = lr_cli_open_out(out_path, "tokenize"))) goto done;

    lr_event ev;
    int rc;
    while ((rc = lr_events_next(evs, &ev, &err)) == 1) {
        int n = lr_event_encode(enc, &ev, ids, NULL);
        if (n < 0) {
            lr_cli_fail("tokenize: out of memory");
            goto done;
        }
        lr__buf_clear(&buf);
        int bad = lr__buf_puts(&buf, "{\"tokens\":[");
        for (int k = 0; k < n && !bad; k++) {
            size_t tlen;
            const char *t = lr_tok_token(tok, ids[k], &tlen);
            bad = (k && lr__buf_putc(&buf, ',')) || lr__buf_put_json_string(&buf, t, tlen);
        }
        bad = bad || lr__buf_puts(&buf, "],\"ids\":[");
        for (int k = 0; k < n && !bad; k++) bad = lr__buf_printf(&buf, k ? ",%d" : "%d", (int)ids[k]);
        bad = bad || lr__buf_putc(&buf, ']');
        if (fmt != LR_REC_RAW)
            bad = bad || lr__buf_printf(&buf, ",\"line\":%llu,\"line_end\":%llu", (unsigned long long)ev.line,
                                        (unsigned long long)ev.line_end);
        bad = bad || lr__buf_puts(&buf, "}\n");
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
    lr_events_free(evs);
    lr_records_free(recs);
    lr_event_encoder_free(enc);
    lr_rules_free(rules);
    lr_tok_free(tok);
    return status;
}
