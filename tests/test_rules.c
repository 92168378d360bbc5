/*
 * test_rules.c — the preprocess + weak-label stage (src/rules*.c) against
 * the semantics of docs/rules.md: each mask (with the seed's examples), the level
 * table, keywords and the cap, CRLF, invalid UTF-8 (CPython's replacement
 * rules), NUL bytes, empty and huge lines, the YAML loader and its errors,
 * and models/rules/k8s.yaml. Expected values are written out by hand from
 * docs/rules.md (and cross-checked with tools/reference_rules.py); the full
 * byte-for-byte comparison on real logs is tests/rules_parity.test.sh.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logrisk.h"
#include "rules.h"
#include "t.h"
#include "util.h"

static lr_rules *g_default;

static lr_rules *defaults(void) {
    if (!g_default) g_default = lr_rules_default(NULL);
    return g_default;
}

/* Run one line through `rules`; returns a malloc'd copy of the text. */
static char *prep_with(const lr_rules *rules, const char *line, size_t len, const char **level, int *label) {
    lr_error err = {0, ""};
    lr_prep *p = lr_prep_new(rules, &err);
    if (!p) {
        T_FAIL("lr_prep_new: %s", err.msg);
        return NULL;
    }
    lr_line_info info;
    int rc = lr_prep_line(p, line, len, &info);
    T_EQ_INT(rc, 0);
    char *text = malloc(info.text_len + 1);
    memcpy(text, info.text, info.text_len);
    text[info.text_len] = '\0';
    if (level) *level = info.level;
    if (label) *label = info.label;
    lr_prep_free(p);
    return text;
}

/* Check text, level (NULL = none) and label of `line` under the defaults. */
#define CHECK_LINE(line, want_text, want_level, want_label)                                  \
    do {                                                                                     \
        const char *lv_;                                                                     \
        int lb_;                                                                             \
        char *tx_ = prep_with(defaults(), line, strlen(line), &lv_, &lb_);                   \
        T_EQ_STR(tx_, want_text);                                                            \
        if ((want_level) == NULL) T_CHECK(lv_ == NULL);                                      \
        else T_EQ_STR(lv_, (const char *)(want_level));                                      \
        T_EQ_INT(lb_, want_label);                                                           \
        free(tx_);                                                                           \
    } while (0)

static void test_seed_examples(void) {
    CHECK_LINE("2024-01-15T10:30:45.123Z kubelet started", "<TIME> kubelet started", NULL, 3);
    CHECK_LINE("connection from 192.168.1.100:8080", "connection from <IP>:8080", NULL, 3);
    CHECK_LINE("[ERROR] failed", "[ERROR] failed", "ERROR", 6);
    CHECK_LINE("nginx systemd kubelet containerd", "nginx systemd kubelet containerd", NULL, 3);
}

static void test_mask_timestamp(void) {
    CHECK_LINE("at 2024/01/15 10:30:45 x", "at <TIME> x", NULL, 3);
    CHECK_LINE("2024-01-15 10:30:45,123456 y", "<TIME> y", NULL, 3);
    CHECK_LINE("2024-01-15T10:30:45.Zq", "<TIME>q", NULL, 3);          /* '.' with no digits */
    CHECK_LINE("2024-01-15T10:30:45Z1", "<TIME>1", NULL, 3);
    CHECK_LINE("12024-01-15T10:30:45", "1<TIME>", NULL, 3);            /* no \b needed */
    CHECK_LINE("2024-01-15X10:30:45", "2024-01-15X10:30:45", NULL, 3); /* bad separator */
    CHECK_LINE("2024-1-15T10:30:45", "2024-1-15T10:30:45", NULL, 3);
    CHECK_LINE("2024-01-15T10:30:4", "2024-01-15T10:30:4", NULL, 3);   /* too short */
}

static void test_mask_uuid(void) {
    CHECK_LINE("pod 123e4567-e89b-12d3-a456-426614174000 gone", "pod <ID> gone", NULL, 3);
    CHECK_LINE("X123e4567-e89b-12d3-a456-426614174000abc", "X<ID>abc", NULL, 3); /* no anchors */
    CHECK_LINE("123E4567-E89B-12D3-A456-426614174000", "123E4567-E89B-12D3-A456-<ID>", NULL, 3); /* upper case: only long_hex */
    CHECK_LINE("123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-42661417400", NULL, 3);
}

static void test_mask_ip(void) {
    CHECK_LINE("from 10.0.0.1 and 10.0.0.2.", "from <IP> and <IP>.", NULL, 3);
    CHECK_LINE("v1.2.3.4567", "v1.2.3.4567", NULL, 3);           /* no \b before 1, too many digits */
    CHECK_LINE("1.2.3.4567 x", "1.2.3.4567 x", NULL, 3);
    CHECK_LINE("1234.1.2.3", "1234.1.2.3", NULL, 3);
    CHECK_LINE("a 1.2.3.4_x", "a 1.2.3.4_x", NULL, 3);           /* '_' is a word char */
    CHECK_LINE("1.2.3.4.5", "<IP>.5", NULL, 3);
    CHECK_LINE("\xc3\xa9" "1.2.3.4", "\xc3\xa9<IP>", NULL, 3);   /* non-ASCII is not a word char */
}

static void test_mask_long_hex(void) {
    CHECK_LINE("container 0123456789abcdef started", "container <ID> started", NULL, 3);
    CHECK_LINE("0123456789a short", "0123456789a short", NULL, 3);     /* 11 */
    CHECK_LINE("0123456789abg", "0123456789abg", NULL, 3);             /* ends in a word char */
    CHECK_LINE("0123456789ABCDEF", "0123456789ABCDEF", NULL, 3);       /* upper case is not [0-9a-f] */
    CHECK_LINE("sha256:0123456789abcdef0123", "sha256:<ID>", NULL, 3);
}

static void test_mask_pid(void) {
    CHECK_LINE("sshd[1234]: ok", "sshd<PID>: ok", NULL, 3);
    CHECK_LINE("pid=42 PID:7 tid 9 TID12", "<PID> <PID> <PID> <PID>", NULL, 3);
    CHECK_LINE("Pid=42 ppid=3 pid=4x pid: 5", "Pid=42 ppid=3 pid=4x pid: 5", NULL, 3);
    CHECK_LINE("[] [12a] [007]", "[] [12a] <PID>", NULL, 3);
}

static void test_mask_path(void) {
    CHECK_LINE("open /var/lib/kubelet/pods failed", "open <PATH> failed", NULL, 3);
    CHECK_LINE("/a/b only two", "/a/b only two", NULL, 3);
    CHECK_LINE("/a//b/c/d", "/a/<PATH>", NULL, 3);
    CHECK_LINE("http://host/x/y/z", "http:/<PATH>", NULL, 3);
    CHECK_LINE("/usr/lib/x86_64-linux-gnu/libc.so.6:", "<PATH>:", NULL, 3);
}

static void test_word_boundary_every_byte(void) {
    /* \b in ASCII mode: only [A-Za-z0-9_] are word bytes */
    for (int b = 1; b < 256; b++) {
        if (b == '\r' || b == '\n') continue;
        char line[16];
        line[0] = (char)b;
        memcpy(line + 1, "1.2.3.4 x", 10);
        int word = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b == '_';
        char *t = prep_with(defaults(), line, 10, NULL, NULL);
        const char *rest = t + (b < 0x80 ? 1 : 3); /* a lone byte >= 0x80 becomes U+FFFD */
        if (b >= '0' && b <= '9') rest = t;         /* "d1.2.3.4" is an IP itself */
        if (word && !(b >= '0' && b <= '9') ? strcmp(rest, "1.2.3.4 x") != 0 : strcmp(rest, "<IP> x") != 0)
            T_FAIL("byte 0x%02x before an IP: got '%s'", b, t);
        free(t);
    }
}

static void test_mask_order(void) {
    /* the timestamp mask runs first and changes the \b seen by the ip mask */
    CHECK_LINE("x2024-01-15T10:30:45Z1.2.3.4", "x<TIME><IP>", NULL, 3);
    /* ip before long_hex, pid before path */
    CHECK_LINE("/proc/[123]/status/x", "/proc/<PID>/status/x", NULL, 3);
}

static void test_levels(void) {
    static const struct {
        const char *name;
        int base;
    } table[] = {{"TRACE", 0},    {"DEBUG", 1}, {"INFO", 2},  {"NOTICE", 3}, {"WARN", 4},   {"WARNING", 5},
                 {"ERROR", 6},    {"CRITICAL", 8}, {"ALERT", 8}, {"FATAL", 9}, {"PANIC", 10}, {"EMERG", 10}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "x %s y", table[i].name); /* not "DEBUG:": "bug:" is a keyword */
        CHECK_LINE(line, line, table[i].name, table[i].base);
    }
    CHECK_LINE("VERBOSE logging", "VERBOSE logging", NULL, 3); /* not a level word */
    CHECK_LINE("error ERRORS Error", "error ERRORS Error", NULL, 3);
    CHECK_LINE("a_ERROR WARN_x INFO", "a_ERROR WARN_x INFO", "INFO", 2);
    CHECK_LINE("WARNING then ERROR", "WARNING then ERROR", "WARNING", 5); /* first wins */
    CHECK_LINE("INFO1 DEBUG", "INFO1 DEBUG", "DEBUG", 1);
}

static void test_level_raw_line(void) {
    /* the level comes from the raw line: "ERROR" inside a masked path */
    CHECK_LINE("/var/ERROR/x/y", "<PATH>", "ERROR", 6);
}

static void test_keywords(void) {
    CHECK_LINE("Back-off restarting failed container", "Back-off restarting failed container", NULL, 5);
    CHECK_LINE("OOMKilled", "OOMKilled", NULL, 5);
    CHECK_LINE("ERROR segfault", "ERROR segfault", "ERROR", 9);
    /* each keyword counts once */
    CHECK_LINE("connection refused connection refused", "connection refused connection refused", NULL, 4);
    /* "notready" and "node not ready" are different keywords: 2 + 2 */
    CHECK_LINE("Node not ready, NotReady", "Node not ready, NotReady", NULL, 7);
    /* a keyword may overlap another: "i/o error" inside "bug: i/o error" */
    CHECK_LINE("bug: i/o error", "bug: i/o error", NULL, 8);
    /* keywords are matched on the masked text: the path mask removes one */
    CHECK_LINE("/tmp/i/o error", "<PATH> error", NULL, 3);
}

/* The strided keyword search against a naive one: for each keyword t of a
 * set with mixed lengths (1 to 9 bytes), rules where t has bonus 1 and the
 * rest 0 must label a random text 1 exactly when t occurs in it (ASCII
 * case-insensitively). */
static void test_keywords_vs_naive(void) {
    static const char *const sets[][6] = {
        {"x", "ab", "abc", "bug:", "segfault", NULL},
        {"ab", "ba", "aab", "abab", NULL},
        {"no live", "i/o", "oomkilled", "ok", NULL},
        {"kernel panic", "panic: ", "[running]:", NULL},
        {"abcd", "bcdab", "dabc", NULL},
        {"segfault", "kernel panic", "out of memory", NULL},
    };
    unsigned seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
        size_t n_kw = 0;
        while (sets[si][n_kw]) n_kw++;
        for (size_t t = 0; t < n_kw; t++) {
            char yaml[512];
            int off = snprintf(yaml, sizeof yaml, "no_level_base: 0\nbonus_cap: 10\nkeywords:\n");
            for (size_t k = 0; k < n_kw; k++)
                off += snprintf(yaml + off, sizeof yaml - (size_t)off, "  - {bonus: %d, words: ['%s']}\n", k == t ? 1 : 0,
                                sets[si][k]);
            lr_error e = {0, ""};
            lr_rules *r = lr_rules_parse(yaml, strlen(yaml), "kw.yaml", &e);
            if (!r) {
                T_FAIL("%s", e.msg);
                continue;
            }
            lr_prep *p = lr_prep_new(r, NULL);
            const char *kw = sets[si][t];
            size_t kl = strlen(kw);
            int hits = 0;
            for (int iter = 0; iter < 3000; iter++) {
                /* text: pieces of the set's keywords (random case, cut at
                 * random ends) and single filler bytes */
                char text[64];
                size_t n = 0, want_len = RND() % 48;
                while (n < want_len) {
                    const char *src = sets[si][RND() % n_kw];
                    size_t sl = strlen(src), from = RND() % 3 == 0 ? RND() % sl : 0;
                    size_t to = RND() % 3 == 0 ? from + RND() % (sl - from + 1) : sl;
                    for (size_t i = from; i < to && n < sizeof text; i++) {
                        char c = src[i];
                        text[n++] = (RND() & 1) && c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
                    }
                    if (RND() % 2 && n < sizeof text) text[n++] = " _xa"[RND() % 4];
                }
                int want = 0;
                for (size_t i = 0; i + kl <= n && !want; i++) {
                    size_t j = 0;
                    while (j < kl && (text[i + j] >= 'A' && text[i + j] <= 'Z' ? text[i + j] + 32 : text[i + j]) == kw[j]) j++;
                    want = j == kl;
                }
                hits += want;
                lr_line_info info;
                lr_prep_line(p, text, n, &info);
                if (info.label != want) {
                    T_FAIL("keyword '%s' in '%.*s': label %d, want %d", kw, (int)n, text, info.label, want);
                    break;
                }
            }
            if (hits < 100) T_FAIL("keyword '%s' occurred only %d times: a weak test", kw, hits);
            lr_prep_free(p);
            lr_rules_free(r);
        }
    }
#undef RND
}

static void test_keyword_cap_and_clamp(void) {
    /* 3 + 3 + 3 = 9, capped at 5 */
    CHECK_LINE("INFO kernel panic segfault out of memory", "INFO kernel panic segfault out of memory", "INFO", 7);
    /* 10 + 5 clamps at 10 */
    CHECK_LINE("PANIC kernel panic segfault", "PANIC kernel panic segfault", "PANIC", 10);
    CHECK_LINE("TRACE ok", "TRACE ok", "TRACE", 0);
}

static void test_crlf(void) {
    const char *lv;
    int lb;
    char *t = prep_with(defaults(), "ERROR x\r", 8, &lv, &lb);
    T_EQ_STR(t, "ERROR x");
    free(t);
    t = prep_with(defaults(), "a\r\r", 3, &lv, &lb); /* only one \r */
    T_EQ_STR(t, "a\r");
    free(t);
    t = prep_with(defaults(), "a\rb", 3, &lv, &lb);
    T_EQ_STR(t, "a\rb");
    free(t);
}

static void test_utf8_repair(void) {
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"\xe2\x82", 2, "\xef\xbf\xbd"},                                      /* truncated: one U+FFFD */
        {"\xe2\x82" "A", 3, "\xef\xbf\xbd" "A"},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},          /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\xf0\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},          /* overlong */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf1\x80\x80", 3, "\xef\xbf\xbd"},                                  /* truncated 4-byte */
        {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xff\xfe", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80\xc3\xa9", 6, "\xf0\x9f\x98\x80\xc3\xa9"},          /* valid stays */
        {"a\xc3", 2, "a\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = prep_with(defaults(), cases[i].in, cases[i].len, NULL, NULL);
        T_EQ_STR(t, cases[i].out);
        if (strcmp(t, cases[i].out) != 0) fprintf(stderr, "  (case %zu)\n", i);
        free(t);
    }
}

static void test_nul_and_empty(void) {
    lr_prep *p = lr_prep_new(defaults(), NULL);
    lr_line_info info;
    T_EQ_INT(lr_prep_line(p, "a\0ERROR\0b", 9, &info), 0);
    T_EQ_INT(info.text_len, 9);
    T_CHECK(memcmp(info.text, "a\0ERROR\0b", 9) == 0);
    T_EQ_STR(info.level, "ERROR");
    T_EQ_INT(lr_prep_line(p, "", 0, &info), 0);
    T_EQ_INT(info.text_len, 0);
    T_EQ_STR(info.text, "");
    T_CHECK(info.level == NULL);
    T_EQ_INT(info.label, 3);
    T_EQ_INT(lr_prep_line(p, "\r", 1, &info), 0);
    T_EQ_INT(info.text_len, 0);
    lr_prep_free(p);
}

static void test_huge_line(void) {
    size_t n = 5u << 20;
    char *line = malloc(n);
    for (size_t i = 0; i < n; i++) line[i] = "ab /x/y/z 10.0.0.1 "[i % 19];
    memcpy(line + n - 7, " ERROR\r", 7);
    lr_prep *p = lr_prep_new(defaults(), NULL);
    lr_line_info info;
    T_EQ_INT(lr_prep_line(p, line, n, &info), 0);
    /* every 19-byte period "ab /x/y/z 10.0.0.1 " becomes "ab <PATH> <IP> " */
    size_t periods = (n - 7) / 19;
    T_CHECK(info.text_len > periods * 15);
    T_CHECK(memcmp(info.text, "ab <PATH> <IP> ab <PATH> <IP> ", 30) == 0);
    T_EQ_STR(info.level, "ERROR");
    T_CHECK(info.text[info.text_len - 1] == 'R');
    lr_prep_free(p);
    free(line);
}

static void test_prep_reuse(void) {
    /* one prep, many lines: stamps must not leak keywords between lines */
    lr_prep *p = lr_prep_new(defaults(), NULL);
    lr_line_info info;
    for (int i = 0; i < 1000; i++) {
        T_EQ_INT(lr_prep_line(p, "segfault", 8, &info), 0);
        T_EQ_INT(info.label, 6);
        T_EQ_INT(lr_prep_line(p, "ok", 2, &info), 0);
        T_EQ_INT(info.label, 3);
    }
    lr_prep_free(p);
}

static void test_seed_embedded_matches_file(void) {
    size_t len;
    const char *yaml = lr_rules_yaml(defaults(), &len);
    FILE *f = fopen("models/rules/seed.yaml", "rb");
    T_CHECK(f != NULL);
    if (!f) return;
    char *buf = malloc(len + 2);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    T_EQ_INT(got, len);
    T_CHECK(memcmp(buf, yaml, len) == 0);
    free(buf);
}

/* ------------------------------------------------------------ YAML */

static lr_rules *parse(const char *yaml, lr_error *err) { return lr_rules_parse(yaml, strlen(yaml), "t.yaml", err); }

#define CHECK_YAML_ERROR(yaml, want)                                           \
    do {                                                                       \
        lr_error e_ = {0, ""};                                                 \
        lr_rules *r_ = parse(yaml, &e_);                                       \
        T_CHECK(r_ == NULL);                                                   \
        lr_rules_free(r_);                                                     \
        T_CHECK(e_.code != 0);                                                 \
        if (!strstr(e_.msg, want)) T_FAIL("message '%s' lacks '%s'", e_.msg, want); \
    } while (0)

static void test_yaml_errors(void) {
    CHECK_YAML_ERROR("levels: [a", "t.yaml:2:1: did not find expected");
    CHECK_YAML_ERROR("levels:\n  ERROR: 6\n bad: indent\n", "t.yaml:3:");
    CHECK_YAML_ERROR("levles: {}\n", "t.yaml:1:1: rules: unknown key 'levles'");
    CHECK_YAML_ERROR("levels:\n  ERROR: six\n", "t.yaml:2:10: a level's base score must be an integer");
    CHECK_YAML_ERROR("levels: {ERROR: 6}\nlevel_words: [ERROR, WARN]\n", "t.yaml:2:22: level_words: 'WARN' is not a level");
    CHECK_YAML_ERROR("keywords:\n  - bonus: 2\n    words: [OOMKilled]\n", "t.yaml:3:13: keyword 'OOMKilled' has upper-case");
    CHECK_YAML_ERROR("masks:\n  - {name: x, pattern: 'a(', replace: X}\n", "t.yaml:2:24: mask pattern: bad regex at offset 2");
    CHECK_YAML_ERROR("masks:\n  - {name: x, pattern: 'a*', replace: X}\n", "can match the empty string");
    CHECK_YAML_ERROR("masks:\n  - builtin: ipv6\n", "unknown builtin mask 'ipv6'");
    CHECK_YAML_ERROR("extends: other\n", "t.yaml:1:10: extends");
    CHECK_YAML_ERROR("- a\n- b\n", "t.yaml:1:1: a rules file must be a mapping");
    CHECK_YAML_ERROR("", "empty rules file");
    CHECK_YAML_ERROR("levels: {E: 6}\nlevel_aliases:\n  - {pattern: 'x', levels: {a: E}}\n", "needs a capture group");
    CHECK_YAML_ERROR("bonus_cap: 5\nbonus_cap: 4\n", "duplicate key 'bonus_cap'");
    CHECK_YAML_ERROR("levels:\n  ERROR: 5\n  ERROR: 6\n", "t.yaml:3:3: levels: duplicate key 'ERROR'");
    CHECK_YAML_ERROR("levels: {E: 6, W: 4}\nlevel_aliases:\n  - {pattern: '(x)', levels: {a: E, a: W}}\n",
                     "level alias levels: duplicate key 'a'");
    CHECK_YAML_ERROR("bonus_cap: 5\n---\nbonus_cap: 4\n", "t.yaml:2:1: a rules file holds one YAML document");
}

static void test_yaml_source_kept(void) {
    /* lr_rules_yaml gives back exactly the loaded text (stored in models) */
    const char *text = "extends: default\nbonus_cap: 4\n";
    lr_rules *r = parse(text, NULL);
    T_CHECK(r != NULL);
    size_t len = 0;
    const char *yaml = lr_rules_yaml(r, &len);
    T_EQ_INT(len, strlen(text));
    T_CHECK(yaml && memcmp(yaml, text, len) == 0);
    lr_rules_free(r);
}

static void test_yaml_load_file_errors(void) {
    lr_error e = {0, ""};
    T_CHECK(lr_rules_load("/nonexistent/rules.yaml", &e) == NULL);
    T_EQ_INT(e.code, LR_EIO);
    T_CHECK(strstr(e.msg, "/nonexistent/rules.yaml") != NULL);
}

static void test_yaml_replace_mode(void) {
    /* a complete file of its own: no masks, one level, one keyword */
    lr_error e = {0, ""};
    lr_rules *r = parse("levels: {BAD: 7}\nlevel_words: [BAD]\nkeywords: [{bonus: 1, words: [boom]}]\n", &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    const char *lv;
    int lb;
    char *t = prep_with(r, "BAD boom 10.0.0.1 ERROR", 23, &lv, &lb);
    T_EQ_STR(t, "BAD boom 10.0.0.1 ERROR"); /* no masks */
    T_EQ_STR(lv, "BAD");
    T_EQ_INT(lb, 8);
    free(t);
    t = prep_with(r, "ERROR", 5, &lv, &lb);
    T_CHECK(lv == NULL);
    T_EQ_INT(lb, 3); /* no_level_base defaults to 3 */
    free(t);
    lr_rules_free(r);
}

static void test_yaml_extend_mode(void) {
    lr_error e = {0, ""};
    lr_rules *r = parse("extends: default\n"
                        "bonus_cap: 6\n"
                        "levels: {ERROR: 7}\n"
                        "keywords:\n"
                        "  - {bonus: 4, words: [no space left on device, segfault]}\n"
                        "masks:\n"
                        "  - {name: pod, pattern: '\\b[a-z0-9-]+-[a-z0-9]{5}\\b', replace: '<POD>'}\n",
                        &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    const char *lv;
    int lb;
    char *t = prep_with(r, "ERROR web-7f9c2 on 10.0.0.1: segfault", 37, &lv, &lb);
    T_EQ_STR(t, "ERROR <POD> on <IP>: segfault"); /* default masks kept, extra appended */
    T_EQ_STR(lv, "ERROR");
    T_EQ_INT(lb, 10); /* 7 + 4 (segfault overridden to 4) */
    free(t);
    t = prep_with(r, "INFO no space left on device, oomkilled", 40, &lv, &lb);
    T_EQ_INT(lb, 2 + 6); /* 4 + 2 = 6, cap raised to 6 */
    free(t);
    lr_rules_free(r);
}

static void test_yaml_aliases(void) {
    lr_error e = {0, ""};
    lr_rules *r = parse("extends: default\n"
                        "level_aliases:\n"
                        "  - {name: klog, pattern: '^([IWEF])\\d{4} ', levels: {I: INFO, W: WARNING, E: ERROR, F: FATAL}}\n"
                        "  - {name: logfmt, pattern: '\\blevel=\"?(\\w+)', levels: {error: ERROR, warn: WARN, info: INFO}}\n"
                        "  - {name: syslog, pattern: '^<(\\d{1,3})>', modulo: 8,\n"
                        "     levels: {0: EMERG, 1: ALERT, 2: CRITICAL, 3: ERROR, 4: WARNING, 5: NOTICE, 6: INFO, 7: DEBUG}}\n"
                        "  - {name: oom, pattern: 'Out of memory: Killed process', level: CRITICAL}\n",
                        &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    static const struct {
        const char *line;
        const char *level;
    } cases[] = {
        {"E1122 12:13:43.123456 1 kubelet.go:12] boom", "ERROR"},
        {"W0102 00:00:00.000000 7 x.go:1] slow", "WARNING"},
        {"X1122 12:13:43 nothing", NULL},
        {"ts=1 level=ERROR msg=\"INFO inside\"", "ERROR"}, /* keys match case-insensitively; alias first */
        {"level=verbose level=warn", "WARN"},              /* unknown value: the next match is tried */
        {"<11>Jan 1 host app: x", "ERROR"},                /* 11 mod 8 = 3 */
        {"<190>x", "INFO"},
        {"kernel: Out of memory: Killed process 42", "CRITICAL"},
        {"plain INFO line", "INFO"},                       /* words still work */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *lv;
        char *t = prep_with(r, cases[i].line, strlen(cases[i].line), &lv, NULL);
        if (cases[i].level == NULL) T_CHECK(lv == NULL);
        else T_EQ_STR(lv, cases[i].level);
        free(t);
    }
    lr_rules_free(r);
}

static void test_k8s_rules(void) {
    lr_error e = {0, ""};
    lr_rules *r = lr_rules_load("models/rules/k8s.yaml", &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    static const struct {
        const char *line;
        const char *level;
        int label;
    } cases[] = {
        {"E1122 12:13:43.123456    1 kubelet.go:1234] failed to sync pod", "ERROR", 5},
        {"I1122 12:13:43.123456    1 kubelet.go:1234] ok", "INFO", 1},
        {"F1122 12:13:43.123456    1 main.go:1] boom", "FATAL", 8},
        {"time=\"2024-01-15T10:30:45Z\" level=error msg=\"x\"", "ERROR", 5},
        {"{\"level\":\"warn\",\"msg\":\"slow\"}", "WARN", 3},
        {"kernel: Out of memory: Killed process 1234 (java)", "CRITICAL", 10},
        {"write /data/x: no space left on device", NULL, 5},
        {"x509: certificate has expired or is not yet valid", NULL, 8},
        {"etcdserver: mvcc: database space exceeded", NULL, 6},
        {"EXT4-fs error (device sda1): remounting filesystem read-only", NULL, 9},
        {"10.0.0.1 - - \"GET / HTTP/1.1\" 502 157", NULL, 4},
        {"panic: runtime error: invalid memory address or nil pointer dereference", NULL, 6},
        {"goroutine 1 [running]:", NULL, 4},
        {"INFO Liveness probe succeeded", "INFO", 0},
        {"{\"name\":\"api\",\"level\":50,\"msg\":\"db down\"}", "ERROR", 5},
        {"<11>Mar 11 08:00:00 host app[12]: disk failure", "ERROR", 8},
        {"<190>Mar 11 08:00:00 host app: ok", "INFO", 1},
        {"java invoked oom-killer: gfp_mask=0x100cca", "CRITICAL", 10},
        {"pod coredns-5d78c9869d-x7k2p ready", NULL, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *lv;
        int lb;
        char *t = prep_with(r, cases[i].line, strlen(cases[i].line), &lv, &lb);
        int ok = cases[i].level ? (lv && strcmp(lv, cases[i].level) == 0) : lv == NULL;
        if (!ok || lb != cases[i].label)
            T_FAIL("k8s case %zu '%s': level %s label %d, want %s %d (text '%s')", i, cases[i].line, lv ? lv : "null",
                   lb, cases[i].level ? cases[i].level : "null", cases[i].label, t);
        free(t);
    }
    lr_rules_free(r);
}

/* Failing allocations: every failure point gives NULL or an error, never a
 * crash or a leak (valgrind / ASan check the latter). */
static int g_fail_after = -1;
static void *failing_malloc(size_t n) { return g_fail_after-- == 0 ? NULL : malloc(n); }
static void *failing_realloc(void *p, size_t n) { return g_fail_after-- == 0 ? NULL : realloc(p, n); }

static void test_alloc_failures(void) {
    lr_allocator a = {failing_malloc, failing_realloc, free};
    int completed = 0;
    for (int k = 0; k < 400 && !completed; k++) {
        g_fail_after = k;
        lr_set_allocator(&a);
        lr_rules *r = lr_rules_default(NULL);
        lr_prep *p = r ? lr_prep_new(r, NULL) : NULL;
        lr_line_info info;
        int rc = p ? lr_prep_line(p, "2024-01-15T10:30:45Z ERROR /a/b/c segfault", 42, &info) : -1;
        if (rc == 0) completed = g_fail_after >= 0;
        lr_prep_free(p);
        lr_rules_free(r);
        lr_set_allocator(NULL);
    }
    T_CHECK(completed);
}

/* ------------------------------------------------------------ regex limits */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "<head>tok=" followed by n bytes of "xyxy..." and `tail`, malloc'd. */
static char *token_line(const char *head, size_t n, const char *tail, size_t *len) {
    size_t h = strlen(head), t = strlen(tail);
    char *s = malloc(h + 4 + n + t + 1);
    memcpy(s, head, h);
    memcpy(s + h, "tok=", 4);
    for (size_t i = 0; i < n; i++) s[h + 4 + i] = "xy"[i & 1];
    memcpy(s + h + 4 + n, tail, t + 1);
    *len = h + 4 + n + t;
    return s;
}

/* A long match of a repeated group needs more JIT stack than PCRE2's
 * default 32 KiB: it must still be masked, with no limit hit. */
static void test_regex_long_match_masked(void) {
    lr_error e = {0, ""};
    const char *y = "masks:\n  - {name: tok, pattern: 'tok=(?:x|y)+', replace: '<TOK>'}\n";
    lr_rules *r = lr_rules_parse(y, strlen(y), "t", &e);
    T_CHECK(r != NULL);
    if (!r) return;
    lr_prep *p = lr_prep_new(r, &e);
    static const size_t sizes[] = {2000, 100000, 200000};
    for (size_t k = 0; k < LR_ARRAY_LEN(sizes); k++) {
        size_t len;
        char *line = token_line("auth ", sizes[k], " done", &len);
        lr_line_info info;
        T_EQ_INT(lr_prep_line(p, line, len, &info), 0);
        T_EQ_STR(info.text, "auth <TOK> done");
        T_EQ_INT(info.regex_limits, 0);
        free(line);
    }
    T_EQ_INT(lr_prep_regex_limits(p), 0);
    lr_prep_free(p);
    lr_rules_free(r);
}

/* A match longer than the JIT stack allows fails with a limit: the text
 * from where that search started is masked, never passed through. */
static void test_regex_limit_masks_rest(void) {
    lr_error e = {0, ""};
    const char *y = "masks:\n  - {name: tok, pattern: 'tok=(?:x|y)+', replace: '<TOK>'}\n";
    lr_rules *r = lr_rules_parse(y, strlen(y), "t", &e);
    T_CHECK(r != NULL);
    if (!r) return;
    lr_prep *p = lr_prep_new(r, &e);
    size_t len;
    char *line = token_line("a tok=xy b ", 2u << 20, " secret-tail", &len);
    lr_line_info info;
    T_EQ_INT(lr_prep_line(p, line, len, &info), 0);
    /* the first match is masked; the second search, from just after it,
     * fails and masks everything from there */
    T_EQ_STR(info.text, "a <TOK><TOK>");
    T_EQ_INT(info.regex_limits, 1);
    T_CHECK(info.text_len < 64 && !strstr(info.text, "xyxy") && !strstr(info.text, "secret"));
    T_EQ_INT(lr_prep_regex_limits(p), 1);
    /* the next line is not affected */
    T_EQ_INT(lr_prep_line(p, "x tok=xy", 8, &info), 0);
    T_EQ_STR(info.text, "x <TOK>");
    T_EQ_INT(info.regex_limits, 0);
    T_EQ_INT(lr_prep_regex_limits(p), 1);
    free(line);
    lr_prep_free(p);
    lr_rules_free(r);
}

/* Catastrophic backtracking stops at the match limit: a hundred hostile
 * lines take milliseconds (PCRE2's default limit let each take ~80 ms). */
static void test_regex_catastrophic(void) {
    lr_error e = {0, ""};
    const char *y = "masks:\n  - {name: a, pattern: '(a+)+$', replace: '<A>'}\n"
                    "level_aliases:\n  - {name: x, pattern: '(b+)+$', level: ERROR}\n"
                    "  - {name: ok, pattern: 'warn', level: WARN}\n"
                    "levels: {ERROR: 7, WARN: 4}\n";
    lr_rules *r = lr_rules_parse(y, strlen(y), "t", &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    lr_prep *p = lr_prep_new(r, &e);
    char line[128];
    memset(line, 'a', 40);
    memcpy(line + 40, "! ", 2);
    memset(line + 42, 'b', 40);
    memcpy(line + 82, "! warn", 7);
    double t0 = now_s();
    lr_line_info info;
    for (int i = 0; i < 100; i++) {
        T_EQ_INT(lr_prep_line(p, line, 88, &info), 0);
        if (i == 0) {
            T_EQ_STR(info.text, "<A>");       /* everything from the failed search on */
            T_EQ_STR(info.level, "WARN");     /* the failed alias is skipped, the next decides */
            T_EQ_INT(info.regex_limits, 2);
        }
    }
    double dt = now_s() - t0;
    T_CHECK(dt < 1.0);
    if (dt >= 1.0) fprintf(stderr, "  100 hostile lines took %.3f s\n", dt);
    T_EQ_INT(lr_prep_regex_limits(p), 200);
    lr_prep_free(p);
    lr_rules_free(r);
}

/* A level alias with a long match still decides the level. */
static void test_regex_alias_long_match(void) {
    lr_error e = {0, ""};
    const char *y = "levels: {ERROR: 7}\n"
                    "level_aliases:\n  - {name: x, pattern: '^tok=(?:x|y)+ ([A-Z])\\b', levels: {E: ERROR}}\n";
    lr_rules *r = lr_rules_parse(y, strlen(y), "t", &e);
    T_CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    lr_prep *p = lr_prep_new(r, &e);
    size_t len;
    char *line = token_line("", 5000, " E boom", &len);
    lr_line_info info;
    T_EQ_INT(lr_prep_line(p, line, len, &info), 0);
    T_EQ_STR(info.level, "ERROR");
    T_EQ_INT(info.regex_limits, 0);
    free(line);
    lr_prep_free(p);
    lr_rules_free(r);
}

/* The stream job reports the limits it met. */
static void test_regex_limits_stream(void) {
    lr_error e = {0, ""};
    const char *y = "masks:\n  - {name: a, pattern: '(a+)+$', replace: '<A>'}\n";
    lr_rules *r = lr_rules_parse(y, strlen(y), "t", &e);
    int in[2], out[2];
    T_CHECK(r && pipe(in) == 0 && pipe(out) == 0);
    const char *text = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\nfine\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n";
    T_CHECK(write(in[1], text, strlen(text)) == (ssize_t)strlen(text));
    close(in[1]);
    lr_prep_stats st;
    T_EQ_INT(lr_prep_stream_stats(r, in[0], out[1], NULL, &st, &e), 0);
    close(out[1]);
    char buf[512];
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    T_EQ_STR(buf, "{\"text\":\"<A>\",\"level_raw\":null}\n{\"text\":\"fine\",\"level_raw\":null}\n"
                  "{\"text\":\"<A>\",\"level_raw\":null}\n");
    T_EQ_INT(st.records, 3);
    T_EQ_INT(st.regex_limits, 2);
    close(in[0]);
    close(out[0]);
    lr_rules_free(r);
}

/* ------------------------------------------------------------ YAML bounds */

/* `n` nested flow sequences ("[[[...]]]"), malloc'd. */
static char *nested(size_t n, size_t *len) {
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    *len = 2 * n;
    return s;
}

/* 200,000 nested levels (400 KB) used to keep libyaml busy for minutes:
 * refused in well under a second with where the bound was crossed. */
static void test_yaml_deep_nesting(void) {
    size_t len;
    char *deep = nested(200000, &len);
    lr_error e = {0, ""};
    double t0 = now_s();
    lr_rules *r = lr_rules_parse(deep, len, "deep.yaml", &e);
    double dt = now_s() - t0;
    T_CHECK(r == NULL);
    T_EQ_INT(e.code, LR_ERANGE);
    T_EQ_STR(e.msg, "deep.yaml:1:65: YAML nested more than 64 levels deep");
    T_CHECK(dt < 1.0);
    if (dt >= 1.0) fprintf(stderr, "  200,000 levels took %.3f s\n", dt);
    lr_rules_free(r);
    /* the same as a value deep inside a valid rules document */
    char *doc = malloc(len + 64);
    int n = sprintf(doc, "extends: default\nlevel_words: ");
    memcpy(doc + n, deep, len + 1);
    r = lr_rules_parse(doc, (size_t)n + len, "deep2.yaml", &e);
    T_CHECK(r == NULL && strstr(e.msg, "deep2.yaml:2:") && strstr(e.msg, "more than 64 levels"));
    lr_rules_free(r);
    free(doc);
    free(deep);
    /* 64 levels are fine for the YAML bound (the rules then say what is wrong) */
    deep = nested(64, &len);
    r = lr_rules_parse(deep, len, "ok.yaml", &e);
    T_CHECK(r == NULL && strstr(e.msg, "a rules file must be a mapping"));
    lr_rules_free(r);
    free(deep);
}

/* Aliases count as what they name: a "billion laughs" document (each
 * level nine aliases of the one before) is refused at the node bound; a
 * document over the size bound is refused before it is parsed. */
static void test_yaml_alias_bomb_and_size(void) {
    lr_error e = {0, ""};
    lr__buf b;
    lr__buf_init(&b);
    lr__buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++)
        lr__buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
                       i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    double t0 = now_s();
    lr_rules *r = lr_rules_parse(b.data, b.len, "laughs.yaml", &e);
    T_CHECK(r == NULL && e.code == LR_ERANGE && strstr(e.msg, "laughs.yaml:6:") &&
            strstr(e.msg, "more than 200000 YAML nodes"));
    T_CHECK(now_s() - t0 < 1.0);
    lr_rules_free(r);
    lr__buf_free(&b);
    size_t big = (4u << 20) + 1;
    char *s = malloc(big);
    memset(s, '#', big);
    r = lr_rules_parse(s, big, "big.yaml", &e);
    T_CHECK(r == NULL && e.code == LR_ERANGE && strstr(e.msg, "big.yaml: 4194305 bytes"));
    lr_rules_free(r);
    free(s);
}

T_MAIN(T_CASE(test_seed_examples), T_CASE(test_mask_timestamp), T_CASE(test_mask_uuid), T_CASE(test_mask_ip),
       T_CASE(test_mask_long_hex), T_CASE(test_mask_pid), T_CASE(test_mask_path), T_CASE(test_word_boundary_every_byte), T_CASE(test_mask_order),
       T_CASE(test_levels), T_CASE(test_level_raw_line), T_CASE(test_keywords), T_CASE(test_keywords_vs_naive), T_CASE(test_keyword_cap_and_clamp),
       T_CASE(test_crlf), T_CASE(test_utf8_repair), T_CASE(test_nul_and_empty), T_CASE(test_huge_line),
       T_CASE(test_prep_reuse), T_CASE(test_seed_embedded_matches_file), T_CASE(test_yaml_errors),
       T_CASE(test_yaml_source_kept), T_CASE(test_yaml_load_file_errors), T_CASE(test_yaml_replace_mode), T_CASE(test_yaml_extend_mode),
       T_CASE(test_yaml_aliases), T_CASE(test_k8s_rules), T_CASE(test_alloc_failures),
       T_CASE(test_regex_long_match_masked), T_CASE(test_regex_limit_masks_rest), T_CASE(test_regex_catastrophic),
       T_CASE(test_regex_alias_long_match), T_CASE(test_regex_limits_stream), T_CASE(test_yaml_deep_nesting),
       T_CASE(test_yaml_alias_bomb_and_size))
