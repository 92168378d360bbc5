/*
 * test_opts.c — the CLI's option parser (src/cli/opts.c) on its own: every
 * value kind with its range, flags, lists, repeats, hidden options,
 * positional arguments, the one-line usage errors (captured from stderr)
 * and the generated help (synopsis wrapped, option list within 80 columns,
 * nothing hidden shown). The parser is compiled into this test directly,
 * since the CLI's files are not part of the library. The commands' own
 * tables are tested from the command line by tests/cli_opts.test.sh.
 */
#include "cli/opts.c"

#include <math.h>
#include <unistd.h>

#include "t.h"

/* What a parse wrote on stderr (usage errors), NUL-terminated in buf. */
static char captured[1024];

static int parse_capture(const lr_cli_spec *spec, int argc, char **argv, const char **args, int *n_args) {
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp) return -100;
    dup2(fileno(tmp), 2);
    int rc = lr_cli_parse(spec, argc, argv, args, n_args);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return rc;
}

/* argv from a space-separated line (argv[0] is the command); at most 16. */
static int split(char *line, char **argv) {
    int n = 0;
    for (char *t = strtok(line, " "); t && n < 16; t = strtok(NULL, " ")) argv[n++] = t;
    return n;
}

typedef struct values {
    int flag, off, n, choice;
    size_t bytes;
    double x;
    const char *s, *req;
    lr_cli_list list;
    int fn_calls;
} values;

static int parse_even(const char *v, void *dst) {
    int *calls = dst;
    (*calls)++;
    return strlen(v) % 2 == 0 ? 0 : -1;
}

static const char *const WORDS[] = {"low", "mid", "high", NULL};

/* Parse `line` against a table exercising every kind; returns the status. */
static int run(const char *line, values *v, const char **args, int *n_args) {
    memset(v, 0, sizeof *v);
    v->off = 1;
    const lr_cli_opt opts[] = {
        LR_OPT("--req", "-r", LR_OPT_STR, &v->req, "FILE", "a required file", .flags = LR_OPT_REQUIRED),
        LR_OPT("--flag", NULL, LR_OPT_SET, &v->flag, NULL, "a flag"),
        LR_OPT("--no-thing", NULL, LR_OPT_CLEAR, &v->off, NULL, "clears"),
        LR_OPT("--num", "-n", LR_OPT_INT, &v->n, "N", "an integer", .lo = -5, .hi = 300),
        LR_OPT("--bytes", NULL, LR_OPT_SIZE, &v->bytes, "BYTES", "a size", .lo = 1, .hi = INFINITY),
        LR_OPT("--x", NULL, LR_OPT_DOUBLE, &v->x, "X", "a number", .lo = 0.5, .hi = 2.5),
        LR_OPT("--str", NULL, LR_OPT_STR, &v->s, "S", "a non-empty string", .flags = LR_OPT_NONEMPTY, .want = "a name"),
        LR_OPT("--level", NULL, LR_OPT_CHOICE, &v->choice, NULL, "a word", .choices = WORDS),
        LR_OPT("--even", NULL, LR_OPT_FN, &v->fn_calls, "V", "even length", .flags = LR_OPT_REPEAT,
               .parse = parse_even, .want = "of even length"),
        LR_OPT("--add", "-a", LR_OPT_LIST, &v->list, "ITEM", "repeatable"),
        LR_OPT("--old", NULL, LR_OPT_SET, &v->flag, NULL, "hidden", .flags = LR_OPT_HIDDEN),
    };
    const lr_cli_spec spec = {"demo", opts, LR_CLI_N(opts), .args = "[FILE]", .max_args = 2};
    char buf[512], *argv[17];
    snprintf(buf, sizeof buf, "demo %s", line);
    int argc = split(buf, argv);
    argv[argc] = NULL;
    return parse_capture(&spec, argc, argv, args, n_args);
}

/* The usage error of `line`: status 2, one line, this message and the hint. */
static void expect_error(const char *line, const char *message) {
    values v;
    const char *args[2];
    int n_args;
    char want[512];
    snprintf(want, sizeof want, "logrisk demo: %s; try 'logrisk demo --help'\n", message);
    int rc = run(line, &v, args, &n_args);
    if (rc != 2 || strcmp(captured, want) != 0)
        T_FAIL("'%s': status %d, stderr \"%s\", want \"%s\"", line, rc, captured, want);
}

static void test_values(void) {
    values v;
    const char *args[2] = {NULL, NULL};
    int n_args = -1;
    T_EQ_INT(run("-r f --flag --no-thing -n -5 --bytes=4096 --x 2.5 --str=a --level high a.txt", &v, args, &n_args),
             LR_CLI_GO);
    T_EQ_STR(captured, "");
    T_EQ_STR(v.req, "f");
    T_EQ_INT(v.flag, 1);
    T_EQ_INT(v.off, 0);
    T_EQ_INT(v.n, -5);
    T_EQ_INT(v.bytes, 4096);
    T_NEAR(v.x, 2.5, 0);
    T_EQ_STR(v.s, "a");
    T_EQ_INT(v.choice, 2);
    T_EQ_INT(n_args, 1);
    T_EQ_STR(args[0], "a.txt");
    /* lists and repeats: every value in order; the hidden spelling works */
    T_EQ_INT(run("--req=f -a one --add two -a three --even ab --even abcd --old", &v, args, &n_args), LR_CLI_GO);
    T_EQ_INT(v.list.n, 3);
    T_EQ_STR(v.list.v[2], "three");
    T_EQ_INT(v.fn_calls, 2);
    T_EQ_INT(v.flag, 1);
    /* '--' ends the options; '-' is an argument */
    T_EQ_INT(run("-r f -- --flag -", &v, args, &n_args), LR_CLI_GO);
    T_EQ_INT(n_args, 2);
    T_EQ_STR(args[0], "--flag");
    T_EQ_STR(args[1], "-");
    T_EQ_INT(v.flag, 0);
    /* a value that looks like an option is still the value */
    T_EQ_INT(run("-r --flag", &v, args, &n_args), LR_CLI_GO);
    T_EQ_STR(v.req, "--flag");
    T_EQ_INT(v.flag, 0);
}

static void test_errors(void) {
    expect_error("-r f --bogus", "unknown option '--bogus'");
    expect_error("-r f --bogus=3", "unknown option '--bogus'");
    expect_error("-r f -x", "unknown option '-x'");
    expect_error("-r", "option '-r' needs a value");
    expect_error("-r f --num", "option '--num' needs a value");
    expect_error("-r f -n 301", "-n must be an integer in -5..300, not '301'");
    expect_error("-r f --num=-6", "--num must be an integer in -5..300, not '-6'");
    expect_error("-r f --num 1e2", "--num must be an integer in -5..300, not '1e2'");
    expect_error("-r f --num 99999999999", "--num must be an integer in -5..300, not '99999999999'");
    expect_error("-r f --bytes 0", "--bytes must be a whole number >= 1, not '0'");
    expect_error("-r f --bytes -1", "--bytes must be a whole number >= 1, not '-1'");
    expect_error("-r f --bytes 99999999999999999999999", "--bytes must be a whole number >= 1, not "
                                                          "'99999999999999999999999'");
    expect_error("-r f --x 2.6", "--x must be a number in 0.5..2.5, not '2.6'");
    expect_error("-r f --x nan", "--x must be a number in 0.5..2.5, not 'nan'");
    expect_error("-r f --str=", "--str must be a name, not ''");
    expect_error("-r f --level top", "--level must be low, mid or high, not 'top'");
    expect_error("-r f --even abc", "--even must be of even length, not 'abc'");
    expect_error("-r f --flag=1", "option '--flag' takes no value");
    expect_error("-r f --flag --flag", "option '--flag' given twice");
    expect_error("-r f --req g", "option '--req' given twice");
    expect_error("-r f a b c", "unexpected argument 'c'");
    expect_error("--flag", "-r FILE is required");
}

static void test_list_cap(void) {
    lr_cli_list list = {{0}, 0};
    const lr_cli_opt opts[] = {LR_OPT(NULL, "-a", LR_OPT_LIST, &list, "X", "items")};
    const lr_cli_spec spec = {"demo", opts, LR_CLI_N(opts), .about = NULL};
    char *argv[2 * LR_CLI_LIST_MAX + 4];
    int argc = 0;
    argv[argc++] = "demo";
    for (int i = 0; i <= LR_CLI_LIST_MAX; i++) {
        argv[argc++] = "-a";
        argv[argc++] = "x";
    }
    T_EQ_INT(parse_capture(&spec, argc - 2, argv, NULL, NULL), LR_CLI_GO);
    T_EQ_INT(list.n, LR_CLI_LIST_MAX);
    list.n = 0;
    T_EQ_INT(parse_capture(&spec, argc, argv, NULL, NULL), 2);
    T_CHECK(strstr(captured, "option '-a' given more than 64 times") != NULL);
}

static void test_help(void) {
    int a = 0, b = 0;
    const char *s = NULL;
    static const char *const MODES[] = {"fast", "exact", NULL};
    const lr_cli_opt opts[] = {
        LR_OPT("--alpha-option-name", "-a", LR_OPT_SET, &a, NULL,
               "a long help text that has to be wrapped because it goes well past the eightieth column of "
               "the terminal, twice over, so that the wrap is seen to work on more than one line"),
        LR_OPT("--mode", NULL, LR_OPT_CHOICE, &b, NULL, "how", .choices = MODES, .flags = LR_OPT_REQUIRED),
        LR_OPT("--string", NULL, LR_OPT_STR, &s, "WORD", "first line\nsecond line"),
        LR_OPT("--secret", NULL, LR_OPT_SET, &a, NULL, "not shown", .flags = LR_OPT_HIDDEN),
    };
    const lr_cli_spec spec = {"demo", opts, LR_CLI_N(opts), .about = "About it.\n", .args = "FILE...",
                              .notes = "Notes.\n"};
    FILE *f = tmpfile();
    T_CHECK(f != NULL);
    if (!f) return;
    lr_cli_help(&spec, f);
    rewind(f);
    char line[256];
    int n = 0, long_lines = 0, secret = 0;
    char text[4096] = "";
    while (fgets(line, sizeof line, f)) {
        n++;
        if (strlen(line) > 80) long_lines++; /* 79 characters and the newline */
        if (strstr(line, "secret")) secret++;
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    fclose(f);
    T_EQ_INT(long_lines, 0);
    T_EQ_INT(secret, 0);
    /* the option column is as wide as the widest name that fits in 22
     * columns (--mode fast|exact, 17); a wider one pushes its help over */
    const char *head = "usage: logrisk demo [-a] --mode fast|exact [--string WORD] FILE...\n\nAbout it.\n\n";
    T_CHECK(strncmp(text, head, strlen(head)) == 0);
    T_CHECK(strstr(text, "\n  -a, --alpha-option-name  a long help text that has to be wrapped because it\n"
                         "                     goes well past the eightieth column of the terminal, twice\n"
                         "                     over, so that") != NULL);
    T_CHECK(strstr(text, "\n  --mode fast|exact  how\n") != NULL);
    T_CHECK(strstr(text, "\n  --string WORD      first line\n                     second line\n") != NULL);
    T_CHECK(strstr(text, "\n  -h, --help         show this help\n\nNotes.\n") != NULL);
    T_CHECK(n > 8);
}

T_MAIN(T_CASE(test_values), T_CASE(test_errors), T_CASE(test_list_cap), T_CASE(test_help))
