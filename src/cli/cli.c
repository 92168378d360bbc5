/*
 * cli.c — helpers shared by the subcommands: error printing and opening
 * the input and output streams. Option parsing is opts.c.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

int lr_cli_fail(const char *fmt, ...) {
    va_list ap;
    fputs("logrisk: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int lr_cli_fail_errno(const char *cmd, const char *fmt, ...) {
    int saved = errno;
    va_list ap;
    fprintf(stderr, "logrisk %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(saved));
    return 1;
}

int lr_cli_error(const char *cmd, const lr_error *err) {
    fprintf(stderr, "logrisk %s: %s\n", cmd, err->msg[0] ? err->msg : lr_strerror(err->code));
    return 1;
}

FILE *lr_cli_open_in(const char *path, const char *cmd) {
    if (!path || strcmp(path, "-") == 0) return stdin;
    FILE *f = fopen(path, "rb");
    if (!f) fprintf(stderr, "logrisk %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
    return f;
}

FILE *lr_cli_open_out(const char *path, const char *cmd) {
    if (!path || strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "wb");
    if (!f) fprintf(stderr, "logrisk %s: cannot create '%s': %s\n", cmd, path, strerror(errno));
    return f;
}

int lr_cli_close_out(FILE *f, const char *path, const char *cmd) {
    int bad = fflush(f) != 0 || ferror(f);
    int saved = errno;
    if (f != stdout) bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "logrisk %s: error writing '%s': %s\n", cmd,
                path && strcmp(path, "-") ? path : "standard output", strerror(saved ? saved : EIO));
        return 1;
    }
    return 0;
}
