/* libFuzzer target for the rules loader and the preprocessor (src/rules*.c):
 * the input is "YAML rules" NUL "log lines". The YAML must load or fail with
 * a message, never crash or leak; loaded rules (or the built-in ones, when
 * the YAML part is empty) then preprocess every line of the second part,
 * and the built-in rules preprocess the whole input as one raw line. Every
 * output must be valid UTF-8 with a label in 0..10. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logrisk.h"
#include "rules.h"

static void check(const lr_line_info *info) {
    if (lr__utf8_valid_prefix(info->text, info->text_len) != info->text_len) __builtin_trap();
    if (info->label < 0 || info->label > 10) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t yaml_len = nul ? (size_t)(nul - s) : size;
    const char *lines = nul ? nul + 1 : s + size;
    size_t lines_len = nul ? size - yaml_len - 1 : 0;
    lr_error err;
    lr_rules *def = lr_rules_default(&err);
    if (!def) __builtin_trap();
    lr_rules *rules = yaml_len ? lr_rules_parse(s, yaml_len, "fuzz.yaml", &err) : NULL;
    if (yaml_len && !rules && !err.msg[0]) __builtin_trap();
    const lr_rules *use = rules ? rules : def;
    lr_prep *p = lr_prep_new(use, &err);
    lr_line_info info;
    if (p) {
        size_t start = 0;
        while (start <= lines_len) {
            const char *nl = memchr(lines + start, '\n', lines_len - start);
            size_t end = nl ? (size_t)(nl - lines) : lines_len;
            if (lr_prep_line(p, lines + start, end - start, &info) == 0) check(&info);
            start = end + 1;
        }
        lr_prep_free(p);
    }
    lr_prep *pd = lr_prep_new(def, &err);
    if (pd && lr_prep_line(pd, s, size, &info) == 0) check(&info);
    lr_prep_free(pd);
    lr_rules_free(rules);
    lr_rules_free(def);
    return 0;
}
