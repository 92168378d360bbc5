/*
 * cmd_inspect.c — `logrisk inspect MODEL.lrm`: prints lr_model_describe's
 * report of a model file (or of the built-in model): header, metadata,
 * tensor table, both checksums verified. A structural problem prints
 * nothing on stdout; a data checksum mismatch prints the report, then the
 * error, exit 1.
 */
#include "cli.h"
#include "opts.h"

int lr_cmd_inspect(int argc, char **argv) {
    int json = 0, builtin = 0, n_args = 0;
    const char *paths[2] = {NULL, NULL}, *path;
    const lr_cli_opt opts[] = {
        LR_OPT("--json", NULL, LR_OPT_SET, &json, NULL, "one JSON object instead, with full metadata values"),
        LR_OPT("--builtin", NULL, LR_OPT_SET, &builtin, NULL, "the model built into this binary instead of a file"),
    };
    const lr_cli_spec spec = {
        "inspect",
        opts,
        LR_CLI_N(opts),
        .synopsis = "[--json] MODEL.lrm\n[--json] --builtin",
        .about = "Prints a model file's header (format version, size, checksums), its\n"
                 "metadata (long strings abbreviated) and its tensor table (name, dtype,\n"
                 "shape, offset, bytes), with the total number of parameters. Both\n"
                 "checksums are verified; exit status 1 if the file is invalid.\n",
        .args = "MODEL.lrm",
        .max_args = 2,
    };
    int rc = lr_cli_parse(&spec, argc, argv, paths, &n_args);
    if (rc != LR_CLI_GO) return rc;
    if (n_args > 1) return lr_cli_usage_error("inspect", "one model file at a time");
    path = paths[0];
    if (!path && !builtin) return lr_cli_usage_error("inspect", "no model file given");
    if (path && builtin) return lr_cli_usage_error("inspect", "a model file or --builtin, not both");
    lr_error err = {0, ""};
    if (lr_model_describe(path, json ? LR_DESCRIBE_JSON : 0, stdout, &err) != LR_OK)
        return lr_cli_error("inspect", &err);
    return 0;
}
