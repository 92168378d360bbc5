/* libFuzzer target for the YAML of train and pretrain configs (src/train.c)
 * and the bounds every YAML document is checked against first
 * (src/yamlcheck.c). The input is the config text. It must parse or fail
 * with a "fuzz.yaml..." message, never crash, leak or run long (the depth,
 * node and alias bounds); the bounds check alone must agree with the
 * parser: a document it refuses is refused by the parser with the same
 * message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logrisk.h"
#include "train.h"
#include "yamlcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    lr_error check_err = {0, ""}, err = {0, ""};
    int check_rc = lr__yaml_check(s, size, "fuzz.yaml", NULL, &check_err);
    lr__train_config c;
    lr__train_config_defaults(&c);
    int rc = lr__train_config_parse(&c, s, size, "fuzz.yaml", &err);
    lr__train_config_free(&c); /* also what a failed parse set */
    if (rc == 0) {
        if (check_rc) __builtin_trap(); /* the parser took what the bounds refused */
    } else {
        if (strncmp(err.msg, "fuzz.yaml", 9) != 0) __builtin_trap(); /* every message names the file */
        if (check_rc && (rc != check_rc || strcmp(err.msg, check_err.msg) != 0)) __builtin_trap();
    }
    return 0;
}
