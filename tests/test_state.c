/*
 * test_state.c — the checkpoint file: round trip, corrupt files of every
 * kind give a message with the line (never a crash), fingerprints tell a
 * reused inode from the old file, line skipping stops at the last '\n'.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "t.h"

static char dir[64];

static const char *tmp_path(const char *name) {
    static char p[160];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/lr_test_state_XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void test_round_trip(void) {
    const char *p = tmp_path("rt.state");
    lr__state s;
    lr_error err = {0};
    T_EQ_INT(lr__state_load(&s, p, &err), 0); /* missing: empty */
    T_EQ_INT(s.n, 0);
    lr__state_entry *e = lr__state_get(&s, 2049, 77, "/var/log/a b%.log");
    e->fp_len = 256;
    e->fp = 0x0123456789abcdefull;
    e->lines = 10;
    e->offset = 1234;
    e = lr__state_get(&s, 2049, 78, "/var/log/\xe2\x82\xac\n.log");
    e->lines = 1;
    T_EQ_INT(lr__state_save(&s, &err), 0);
    lr__state_free(&s);
    T_EQ_INT(lr__state_load(&s, p, &err), 0);
    T_EQ_INT(s.n, 2);
    e = lr__state_find(&s, 2049, 77);
    T_CHECK(e != NULL);
    if (e) {
        T_EQ_STR(e->path, "/var/log/a b%.log");
        T_EQ_INT(e->fp_len, 256);
        T_CHECK(e->fp == 0x0123456789abcdefull);
        T_EQ_INT(e->lines, 10);
        T_EQ_INT(e->offset, 1234);
    }
    e = lr__state_find(&s, 2049, 78);
    T_CHECK(e && strcmp(e->path, "/var/log/\xe2\x82\xac\n.log") == 0);
    lr__state_remove(&s, 2049, 77);
    T_CHECK(lr__state_find(&s, 2049, 77) == NULL);
    T_EQ_INT(s.n, 1);
    lr__state_free(&s);
}

static void expect_corrupt(const char *text, const char *want) {
    const char *p = tmp_path("bad.state");
    write_text(p, text);
    lr__state s;
    lr_error err = {0};
    T_EQ_INT(lr__state_load(&s, p, &err), LR_EPARSE);
    if (!strstr(err.msg, want)) T_FAIL("message '%s' lacks '%s'", err.msg, want);
    T_EQ_INT(s.n, 0);
    lr__state_free(&s);
}

static void test_corrupt(void) {
    expect_corrupt("", "empty");
    expect_corrupt("garbage\n", "line 1: not a logrisk state file");
    expect_corrupt("logrisk-state 2\nend 0\n", "line 1");
    expect_corrupt("logrisk-state 1\n1 2 3 00000000000000ff 4 5 /x\n", "no \"end\" line");
    expect_corrupt("logrisk-state 1\n1 2 3 00000000000000ff 4 5 /x\nend 0\n", "line 3: the \"end\" line");
    expect_corrupt("logrisk-state 1\n1 2 3 00000000000000ff 4 5 /x\nend 1", "line 3: the last line has no end");
    expect_corrupt("logrisk-state 1\n1 x 3 00000000000000ff 4 5 /x\nend 1\n", "line 2: an entry");
    expect_corrupt("logrisk-state 1\n1 2 999 00000000000000ff 4 5 /x\nend 1\n", "fingerprint length");
    expect_corrupt("logrisk-state 1\n1 2 3 ff 4 99999999999999999999999 /x\nend 1\n", "line 2");
    expect_corrupt("logrisk-state 1\n1 2 3 ff 4 5 /x%zz\nend 1\n", "path does not parse");
    expect_corrupt("logrisk-state 1\n1 2 3 ff 4 5 /x\n1 2 3 ff 4 5 /y\nend 2\n", "two entries");
    expect_corrupt("logrisk-state 1\nend 0\nmore\n", "after the \"end\"");
    /* binary junk */
    char junk[300];
    for (int i = 0; i < 299; i++) junk[i] = (char)(i * 37 + 1);
    junk[299] = 0;
    expect_corrupt(junk, "line 1");
}

static void test_not_regular(void) {
    lr__state s;
    lr_error err = {0};
    int rc = lr__state_load(&s, "/dev/null", &err);
    T_EQ_INT(rc, LR_EIO);
    T_CHECK(strstr(err.msg, "not a regular file") != NULL);
    lr__state_free(&s);
    /* saving over a directory is refused */
    T_EQ_INT(lr__state_load(&s, tmp_path(""), &err), LR_EIO);
    T_CHECK(lr__state_save(&s, &err) != 0);
    lr__state_free(&s);
}

static void test_fingerprint(void) {
    const char *p = tmp_path("fp.log");
    write_text(p, "first line\nsecond\n");
    int fd = open(p, O_RDONLY);
    lr__state_entry e = {0};
    T_EQ_INT(lr__state_fingerprint(fd, &e.fp_len, &e.fp), 0);
    T_EQ_INT(e.fp_len, 18);
    T_CHECK(lr__state_matches(fd, &e));
    close(fd);
    /* grown: the first bytes are the same */
    write_text(p, "first line\nsecond\nthird\n");
    fd = open(p, O_RDONLY);
    T_CHECK(lr__state_matches(fd, &e));
    close(fd);
    /* another file (same inode or not): different bytes */
    write_text(p, "other content\n");
    fd = open(p, O_RDONLY);
    T_CHECK(!lr__state_matches(fd, &e));
    close(fd);
}

static void test_skip_lines(void) {
    const char *p = tmp_path("skip.log");
    write_text(p, "a\nbb\nccc\npartial");
    int fd = open(p, O_RDONLY);
    uint64_t to = 0, got = 0;
    T_EQ_INT(lr__state_skip_lines(fd, 0, 2, &to, &got), 0);
    T_EQ_INT(to, 5);
    T_EQ_INT(got, 2);
    T_EQ_INT(lr__state_skip_lines(fd, 5, 1, &to, &got), 0);
    T_EQ_INT(to, 9);
    T_EQ_INT(lr__state_skip_lines(fd, 9, 1, &to, &got), 0); /* the unterminated line is not counted */
    T_EQ_INT(to, 9);
    T_EQ_INT(got, 0);
    T_EQ_INT(lr__state_skip_lines(fd, 0, 100, &to, &got), 0);
    T_EQ_INT(to, 9);
    T_EQ_INT(got, 3);
    close(fd);
}

T_MAIN(T_CASE(test_round_trip), T_CASE(test_corrupt), T_CASE(test_not_regular), T_CASE(test_fingerprint),
       T_CASE(test_skip_lines))
