/*
 * cmd_label.c — `logrisk label`: `logrisk preprocess` plus the weak label
 * of SPEC §3 ("label": 0..10) from the rules. Flags and the job are shared
 * with cmd_preprocess.c (lr_cli_prep_main).
 */
#include "cli.h"

int lr_cmd_label(int argc, char **argv) { return lr_cli_prep_main(argc, argv, 1); }
