/*
 * cmd_label.c — `logrisk label`: `logrisk preprocess` plus the rules' weak
 * label ("label": 0..10, base of the level plus keyword bonuses). Flags and the job are shared
 * with cmd_preprocess.c (lr_cli_prep_main).
 */
#include "cli.h"

int lr_cmd_label(int argc, char **argv) { return lr_cli_prep_main(argc, argv, 1); }
