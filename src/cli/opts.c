/*
 * opts.c — the CLI's one option parser and help generator (opts.h): a
 * subcommand's table is read once per argument; values are checked as they
 * are stored; the help's synopsis and option list are printed from the same
 * table. Every usage error is one line on stderr and exit status 2.
 */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "logrisk.h"

/* Options per table: the parser's "seen" marks live on the stack. */
#define MAX_OPTS 128
/* The help's width: synopsis lines wrap here; option names wider than
 * NAME_COLUMN put their help after two spaces. */
#define HELP_WIDTH 79
#define NAME_COLUMN 22

int lr_cli_parse_on_off(const char *value, void *dst) {
    if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) return -1;
    *(int *)dst = strcmp(value, "on") == 0;
    return 0;
}

int lr_cli_parse_rec_format(const char *value, void *dst) {
    return lr_records_parse_format(value, (lr_rec_format *)dst) == 0 ? 0 : -1;
}

int lr_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "logrisk %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; try 'logrisk %s --help'\n", cmd);
    return 2;
}

static int takes_value(const lr_cli_opt *o) { return o->type != LR_OPT_SET && o->type != LR_OPT_CLEAR; }

/* The name shown in the synopsis and in "is required": the short one when
 * there is one (-m MODEL), as the hand-written usage lines always did. */
static const char *shown_name(const lr_cli_opt *o) { return o->alias ? o->alias : o->name; }

/* "a, b or c" of a NULL-terminated word list into buf. */
static const char *choice_words(const char *const *choices, char *buf, size_t cap) {
    size_t n = 0, used = 0;
    while (choices[n])
        n++;
    buf[0] = '\0';
    for (size_t k = 0; k < n && used < cap; k++) {
        const char *sep = k == 0 ? "" : k + 1 == n ? " or " : ", ";
        int w = snprintf(buf + used, cap - used, "%s%s", sep, choices[k]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

/* The value's name in the help: meta, else "a|b" for choices, else by type. */
static const char *meta_of(const lr_cli_opt *o, char *buf, size_t cap) {
    if (o->meta) return o->meta;
    if (o->type == LR_OPT_CHOICE && o->choices) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t k = 0; o->choices[k] && used < cap; k++) {
            int w = snprintf(buf + used, cap - used, "%s%s", k ? "|" : "", o->choices[k]);
            if (w < 0) break;
            used += (size_t)w;
        }
        return buf;
    }
    if (o->type == LR_OPT_INT || o->type == LR_OPT_SIZE) return "N";
    if (o->type == LR_OPT_DOUBLE) return "X";
    return "VALUE";
}

static int has_range(const lr_cli_opt *o) { return o->lo != 0 || o->hi != 0; }

/* A bad value: "--name must be <what>, not 'value'". */
static int bad_value(const lr_cli_spec *spec, const char *opt, size_t opt_len, const lr_cli_opt *o, const char *value) {
    char what[256];
    switch (o->type) {
    case LR_OPT_INT:
    case LR_OPT_SIZE:
    case LR_OPT_DOUBLE: {
        const char *kind = o->type == LR_OPT_INT ? "an integer" : o->type == LR_OPT_SIZE ? "a whole number" : "a number";
        char lo[64], hi[64];
        if (o->type == LR_OPT_DOUBLE) {
            snprintf(lo, sizeof lo, "%g", o->lo);
            snprintf(hi, sizeof hi, "%g", o->hi);
        } else {
            snprintf(lo, sizeof lo, "%.0f", o->lo);
            snprintf(hi, sizeof hi, "%.0f", o->hi);
        }
        if (!has_range(o)) snprintf(what, sizeof what, "%s", kind);
        else if (isinf(o->hi)) snprintf(what, sizeof what, "%s >= %s", kind, lo);
        else snprintf(what, sizeof what, "%s in %s..%s", kind, lo, hi);
        break;
    }
    case LR_OPT_CHOICE: choice_words(o->choices, what, sizeof what); break;
    default: snprintf(what, sizeof what, "%s", o->want ? o->want : "a non-empty value"); break;
    }
    return lr_cli_usage_error(spec->name, "%.*s must be %s, not '%s'", (int)opt_len, opt, what, value);
}

/* Store `value` for option o; 0, or -1 when the value is not good. */
static int store(const lr_cli_opt *o, const char *value) {
    char *end = NULL;
    switch (o->type) {
    case LR_OPT_SET: *(int *)o->dst = 1; return 0;
    case LR_OPT_CLEAR: *(int *)o->dst = 0; return 0;
    case LR_OPT_INT: {
        if (!*value) return -1;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || *end || v < -2147483647LL - 1 || v > 2147483647LL) return -1;
        if (has_range(o) && ((double)v < o->lo || (double)v > o->hi)) return -1;
        *(int *)o->dst = (int)v;
        return 0;
    }
    case LR_OPT_SIZE: {
        if (!*value || *value == '-' || *value == '+' || *value == ' ') return -1;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || *end || (unsigned long long)(size_t)v != v) return -1;
        if (has_range(o) && ((double)v < o->lo || (double)v > o->hi)) return -1;
        *(size_t *)o->dst = (size_t)v;
        return 0;
    }
    case LR_OPT_DOUBLE: {
        if (!*value) return -1;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || *end || !isfinite(v)) return -1;
        if (has_range(o) && !(v >= o->lo && v <= o->hi)) return -1;
        *(double *)o->dst = v;
        return 0;
    }
    case LR_OPT_STR:
        if ((o->flags & LR_OPT_NONEMPTY) && !*value) return -1;
        *(const char **)o->dst = value;
        return 0;
    case LR_OPT_CHOICE:
        for (int k = 0; o->choices && o->choices[k]; k++)
            if (strcmp(value, o->choices[k]) == 0) {
                *(int *)o->dst = k;
                return 0;
            }
        return -1;
    case LR_OPT_FN: return o->parse(value, o->dst) == 0 ? 0 : -1;
    case LR_OPT_LIST: {
        lr_cli_list *list = o->dst;
        if (list->n >= LR_CLI_LIST_MAX) return -2;
        list->v[list->n++] = value;
        return 0;
    }
    }
    return -1;
}

int lr_cli_parse(const lr_cli_spec *spec, int argc, char **argv, const char **args, int *n_args) {
    unsigned char seen[MAX_OPTS] = {0};
    int n_pos = 0, only_args = 0;
    if (n_args) *n_args = 0;
    if (spec->n_opts > MAX_OPTS) return lr_cli_usage_error(spec->name, "the option table is too large");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            if (n_pos >= spec->max_args) return lr_cli_usage_error(spec->name, "unexpected argument '%s'", a);
            args[n_pos++] = a;
            if (n_args) *n_args = n_pos;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            lr_cli_help(spec, stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        }
        /* "--name=value": the name is what comes before the '=' */
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        size_t k = 0;
        for (; k < spec->n_opts; k++) {
            const lr_cli_opt *o = &spec->opts[k];
            if (o->name && strlen(o->name) == len && strncmp(o->name, a, len) == 0) break;
            if (o->alias && !eq && strcmp(o->alias, a) == 0) break;
        }
        if (k == spec->n_opts) return lr_cli_usage_error(spec->name, "unknown option '%.*s'", (int)len, a);
        const lr_cli_opt *o = &spec->opts[k];
        if (seen[k] && !(o->flags & LR_OPT_REPEAT) && o->type != LR_OPT_LIST)
            return lr_cli_usage_error(spec->name, "option '%.*s' given twice", (int)len, a);
        seen[k] = 1;
        const char *value = NULL;
        if (!takes_value(o)) {
            if (eq) return lr_cli_usage_error(spec->name, "option '%.*s' takes no value", (int)len, a);
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return lr_cli_usage_error(spec->name, "option '%s' needs a value", a);
        }
        int rc = store(o, value);
        if (rc == -2)
            return lr_cli_usage_error(spec->name, "option '%.*s' given more than %d times", (int)len, a,
                                      LR_CLI_LIST_MAX);
        if (rc) return bad_value(spec, a, len, o, value);
    }
    for (size_t k = 0; k < spec->n_opts; k++) {
        const lr_cli_opt *o = &spec->opts[k];
        if (!(o->flags & LR_OPT_REQUIRED) || seen[k]) continue;
        char buf[256];
        if (o->type == LR_OPT_CHOICE && !o->meta)
            return lr_cli_usage_error(spec->name, "%s is required (%s)", shown_name(o),
                                      choice_words(o->choices, buf, sizeof buf));
        if (!takes_value(o)) return lr_cli_usage_error(spec->name, "%s is required", shown_name(o));
        return lr_cli_usage_error(spec->name, "%s %s is required", shown_name(o), meta_of(o, buf, sizeof buf));
    }
    return LR_CLI_GO;
}

/* ------------------------------------------------------------------ help */

/* The synopsis: "usage: logrisk NAME " then each option, required ones bare
 * and the others in brackets, wrapped under the first. */
static void print_synopsis(const lr_cli_spec *spec, FILE *out) {
    char lead[64];
    int indent = snprintf(lead, sizeof lead, "usage: logrisk %s", spec->name);
    if (spec->synopsis) {
        const char *s = spec->synopsis;
        for (int first = 1; *s; first = 0) {
            size_t n = strcspn(s, "\n");
            fprintf(out, "%s%s %.*s\n", first ? "usage:" : "      ", lead + 6, (int)n, s);
            s += n + (s[n] == '\n');
        }
        return;
    }
    fputs(lead, out);
    int col = indent;
    for (size_t k = 0; k <= spec->n_opts; k++) {
        char item[160], buf[128];
        if (k == spec->n_opts) {
            if (!spec->args) break;
            snprintf(item, sizeof item, "%s", spec->args);
        } else {
            const lr_cli_opt *o = &spec->opts[k];
            if (o->flags & LR_OPT_HIDDEN) continue;
            int req = (o->flags & LR_OPT_REQUIRED) != 0, rep = (o->flags & LR_OPT_REPEAT) || o->type == LR_OPT_LIST;
            if (takes_value(o))
                snprintf(item, sizeof item, "%s%s %s%s%s", req ? "" : "[", shown_name(o), meta_of(o, buf, sizeof buf),
                         req ? "" : "]", rep ? "..." : "");
            else
                snprintf(item, sizeof item, "%s%s%s", req ? "" : "[", shown_name(o), req ? "" : "]");
        }
        int w = (int)strlen(item);
        if (col > indent && col + 1 + w > HELP_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        }
        fprintf(out, " %s", item);
        col += 1 + w;
    }
    fputc('\n', out);
}

/* "-m, --model FILE" of an option into buf; returns its length. */
static int option_label(const lr_cli_opt *o, char *buf, size_t cap) {
    char meta[128];
    const char *m = takes_value(o) ? meta_of(o, meta, sizeof meta) : NULL;
    int w;
    if (o->alias && o->name)
        w = snprintf(buf, cap, "%s, %s%s%s", o->alias, o->name, m ? " " : "", m ? m : "");
    else
        w = snprintf(buf, cap, "%s%s%s", shown_name(o), m ? " " : "", m ? m : "");
    return w < 0 ? 0 : w;
}

/* One option: its label, then its help word-wrapped to HELP_WIDTH in the
 * column after the labels ('\n' in the help forces a break). */
static void print_option(FILE *out, const char *label, int label_len, int width, const char *help) {
    int col;
    if (label_len <= width) col = fprintf(out, "  %-*s  ", width, label);
    else col = fprintf(out, "  %s  ", label);
    int indent = width + 4, room = HELP_WIDTH - indent;
    if (room < 20) room = 20;
    const char *h = help ? help : "";
    int used = col - indent; /* a long label already took part of the first line */
    int words = 0;           /* words on the current line */
    while (*h) {
        if (*h == '\n') {
            fprintf(out, "\n%*s", indent, "");
            used = words = 0;
            h++;
            continue;
        }
        int n = (int)strcspn(h, " \n");
        if (words && used + 1 + n > room) {
            fprintf(out, "\n%*s", indent, "");
            used = words = 0;
        }
        fprintf(out, "%s%.*s", words ? " " : "", n, h);
        used += (words ? 1 : 0) + n;
        words++;
        h += n;
        while (*h == ' ') h++;
    }
    fputc('\n', out);
}

void lr_cli_help(const lr_cli_spec *spec, FILE *out) {
    print_synopsis(spec, out);
    if (spec->about) fprintf(out, "\n%s", spec->about);
    fputc('\n', out);
    int width = 10; /* "-h, --help" */
    for (size_t k = 0; k < spec->n_opts; k++) {
        char label[192];
        if (spec->opts[k].flags & LR_OPT_HIDDEN) continue;
        int w = option_label(&spec->opts[k], label, sizeof label);
        if (w > width && w <= NAME_COLUMN) width = w;
    }
    for (size_t k = 0; k < spec->n_opts; k++) {
        const lr_cli_opt *o = &spec->opts[k];
        char label[192];
        if (o->flags & LR_OPT_HIDDEN) continue;
        int w = option_label(o, label, sizeof label);
        print_option(out, label, w, width, o->help);
    }
    print_option(out, "-h, --help", 10, width, "show this help");
    if (spec->notes) fprintf(out, "\n%s", spec->notes);
}
