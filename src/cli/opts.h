/*
 * opts.h — the one option parser of the CLI. Each subcommand describes its
 * options in one table; the same table parses the command line, checks
 * every value (numbers and their ranges, word choices, custom parsers),
 * and generates the --help text (synopsis and option list), so the help
 * cannot drift from what is accepted. A usage error is one line on stderr,
 *
 *     logrisk CMD: <what is wrong>; try 'logrisk CMD --help'
 *
 * and exit status 2; --help (or -h) prints the help on stdout, exit 0.
 *
 * Usage, in a subcommand (the table lives in the function, so dst may point
 * at its locals):
 *
 *     const char *vocab = NULL, *in_path = NULL;
 *     int max_len = 128, mask = 1;
 *     const lr_cli_opt opts[] = {
 *         LR_OPT("--vocab", NULL, LR_OPT_STR, &vocab, "FILE", "vocab.txt, one token a line",
 *                .flags = LR_OPT_REQUIRED),
 *         LR_OPT("--input", "-i", LR_OPT_STR, &in_path, "FILE", "input (default: standard input)"),
 *         LR_OPT("--max-len", NULL, LR_OPT_INT, &max_len, "N", "sequence length", .lo = 2, .hi = 65536),
 *         LR_OPT("--no-mask", NULL, LR_OPT_CLEAR, &mask, NULL, "tokenize the raw line"),
 *     };
 *     const lr_cli_spec spec = {"tokenize", opts, LR_CLI_N(opts), .about = "Tokenizes each line...\n"};
 *     // (name one field by designator, as .about here: -Wextra rejects a
 *     // positional initializer that leaves fields out)
 *     int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
 *     if (rc != LR_CLI_GO) return rc;          // help printed (0) or usage error (2)
 *     if (!mask && rules) return lr_cli_usage_error("tokenize", "--rules and --no-mask exclude each other");
 *
 * Option syntax: "--name VALUE", "--name=VALUE", "-x VALUE" (the next
 * argument is the value even when it starts with '-'); flags take no
 * value; "--" ends the options; "-" alone is an argument (standard input).
 * An option given twice is a usage error unless it is LR_OPT_REPEAT (then
 * the last value wins, or a LR_OPT_FN parser / LR_OPT_LIST sees each).
 * Error messages name the option as the user wrote it:
 *     unknown option '--bogus'
 *     option '--vocab' needs a value
 *     --max-len must be an integer in 2..65536, not 'x'
 *     --multiline must be on or off, not 'maybe'
 *     --vocab FILE is required
 */
#ifndef LR_CLI_OPTS_H
#define LR_CLI_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum lr_cli_opt_type {
    LR_OPT_SET,    /* flag: *(int *)dst = 1                                     */
    LR_OPT_CLEAR,  /* flag: *(int *)dst = 0 (--no-mask)                         */
    LR_OPT_INT,    /* *(int *)dst: a whole decimal number in [lo, hi]           */
    LR_OPT_SIZE,   /* *(size_t *)dst: a whole number >= 0 in [lo, hi]           */
    LR_OPT_DOUBLE, /* *(double *)dst: a finite number in [lo, hi]               */
    LR_OPT_STR,    /* *(const char **)dst: the value (points into argv)         */
    LR_OPT_CHOICE, /* *(int *)dst: the index of the value in `choices`          */
    LR_OPT_FN,     /* parse(value, dst) == 0, else "must be <want>"             */
    LR_OPT_LIST    /* (lr_cli_list *)dst: each value appended (repeatable)      */
} lr_cli_opt_type;

enum {
    LR_OPT_REQUIRED = 1u, /* a usage error when absent                          */
    LR_OPT_REPEAT = 2u,   /* may be given more than once                        */
    LR_OPT_NONEMPTY = 4u, /* LR_OPT_STR: the empty string is a usage error      */
    LR_OPT_HIDDEN = 8u    /* accepted but left out of the help (old spellings)  */
};

typedef struct lr_cli_opt {
    /* long name with its dashes ("--model") and short name ("-m"); either
     * may be NULL, not both */
    const char *name, *alias;
    lr_cli_opt_type type;
    /* where the value goes (see the types) */
    void *dst;
    /* the value in the help ("FILE"); default N, X or VALUE, "a|b" for choices */
    const char *meta;
    /* the help text, word-wrapped to 80 columns; '\n' forces a line break */
    const char *help;
    /* LR_OPT_REQUIRED | LR_OPT_REPEAT | ... */
    unsigned flags;
    /* INT, SIZE, DOUBLE: the accepted range; both 0: any; hi = INFINITY: no
     * upper bound */
    double lo, hi;
    /* CHOICE: the NULL-terminated words */
    const char *const *choices;
    /* FN: 0 when the value is good (and stored), else a usage error that
     * says the value must be `want` ("on or off") */
    int (*parse)(const char *value, void *dst);
    const char *want;
} lr_cli_opt;

/* LR_OPT_LIST: the values of a repeatable option, in order (pointing into
 * argv); more than LR_CLI_LIST_MAX is a usage error. */
#define LR_CLI_LIST_MAX 64
typedef struct lr_cli_list {
    const char *v[LR_CLI_LIST_MAX];
    int n;
} lr_cli_list;

/* A subcommand: its name, option table, and the help text around it. */
typedef struct lr_cli_spec {
    /* "tokenize": messages say "logrisk tokenize: ..." */
    const char *name;
    const lr_cli_opt *opts;
    size_t n_opts;
    /* the paragraph(s) after the synopsis, each line '\n'-ended */
    const char *about;
    /* the arguments after the options in the synopsis ("MODEL.lrm"), NULL
     * for none, and how many lr_cli_parse accepts into its args */
    const char *args;
    int max_args;
    /* NULL: the synopsis is generated from the table; else the text after
     * "usage: logrisk NAME ", alternatives on further lines (every option
     * it names must be in the table: tests/cli_opts.test.sh checks) */
    const char *synopsis;
    /* text after the option list, or NULL */
    const char *notes;
} lr_cli_spec;

/* One table entry: the six fields every option has, then any of the others
 * by name (.flags = LR_OPT_REQUIRED, .lo = 1, .hi = 256, .choices = words,
 * .parse = fn, .want = "on or off"). */
#define LR_OPT(name_, alias_, type_, dst_, meta_, help_, ...) \
    {.name = (name_), .alias = (alias_), .type = (type_), .dst = (dst_), .meta = (meta_), .help = (help_), __VA_ARGS__}

#define LR_CLI_N(table) (sizeof(table) / sizeof((table)[0]))

/* lr_cli_parse: go on with the command. */
#define LR_CLI_GO (-1)

/* Parse argv[1..argc-1] (argv[0] is the subcommand) with spec's table:
 * stores every value, then checks the required options. Arguments that are
 * not options go to args[0..max_args-1] (args may be NULL when max_args is
 * 0) and their count to *n_args (may be NULL). Returns LR_CLI_GO, 0 after
 * printing the help on stdout (--help, -h), or 2 after printing a one-line
 * usage error on stderr. */
int lr_cli_parse(const lr_cli_spec *spec, int argc, char **argv, const char **args, int *n_args);

/* Write spec's help (usage line, about, generated option list, notes). */
void lr_cli_help(const lr_cli_spec *spec, FILE *out);

/* Print "logrisk CMD: <message>; try 'logrisk CMD --help'" on stderr and
 * return 2: for the checks a command makes after parsing (options that
 * exclude each other, a required argument). */
int lr_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Ready parsers for LR_OPT_FN, shared by the commands that read logs.
 * --input-format: dst is an lr_rec_format *. */
int lr_cli_parse_rec_format(const char *value, void *dst);
#define LR_CLI_REC_FORMATS "auto, raw, cri, docker, jsonl, csv, logfmt, klog, syslog or log4j"
/* "on" or "off" into an int * (1 or 0): --multiline and the like. */
int lr_cli_parse_on_off(const char *value, void *dst);

#endif /* LR_CLI_OPTS_H */
