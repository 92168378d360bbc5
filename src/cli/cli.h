/*
 * cli.h — the command-line front end. One file per subcommand; each parses
 * its flags with one table (opts.h), calls the library and reports errors.
 * No logic of its own.
 */
#ifndef LR_CLI_H
#define LR_CLI_H

#include <stdio.h>

#include "logrisk.h"

/* Each subcommand: argv[0] is the subcommand name. Returns the exit status
 * (0 ok, 1 runtime error, 2 usage error). */
typedef int (*lr_cli_fn)(int argc, char **argv);

/* Print "logrisk: <msg>" to stderr; returns 1. */
int lr_cli_fail(const char *fmt, ...);
/* Print "logrisk CMD: <msg>: <strerror(errno)>" to stderr; returns 1. */
int lr_cli_fail_errno(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print an lr_error as "logrisk CMD: <message>" to stderr; returns 1. */
int lr_cli_error(const char *cmd, const lr_error *err);

/* Open -i / -o: NULL or "-" means standard input / output. On failure
 * prints the reason and returns NULL. */
FILE *lr_cli_open_in(const char *path, const char *cmd);
FILE *lr_cli_open_out(const char *path, const char *cmd);
/* Flush and close an output stream opened by lr_cli_open_out, reporting a
 * write error (EPIPE, ENOSPC...). Returns 0 or 1. */
int lr_cli_close_out(FILE *f, const char *path, const char *cmd);

/* Subcommands (src/cli/cmd_*.c). */
int lr_cmd_preprocess(int argc, char **argv);
int lr_cmd_label(int argc, char **argv);
/* preprocess and label share their flags (cmd_preprocess.c). */
int lr_cli_prep_main(int argc, char **argv, int with_label);
int lr_cmd_inspect(int argc, char **argv);
int lr_cmd_tokenize(int argc, char **argv);
int lr_cmd_vocab(int argc, char **argv);
int lr_cmd_convert(int argc, char **argv);
int lr_cmd_score(int argc, char **argv);
int lr_cmd_export(int argc, char **argv);
int lr_cmd_quantize(int argc, char **argv);
int lr_cmd_train(int argc, char **argv);
int lr_cmd_pretrain(int argc, char **argv);
int lr_cmd_eval(int argc, char **argv);
int lr_cmd_calibrate(int argc, char **argv);
int lr_cmd_anomaly(int argc, char **argv);

#endif /* LR_CLI_H */
