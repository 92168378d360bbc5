/*
 * test_follow.c — the followed file set (follow.c) without the scorer:
 * directory inputs and what is not a readable file in them (a dangling
 * symlink, a FIFO and a directory named *.log: reported once each, since
 * the tests run as root and chmod 000 would not stop root), rename
 * rotation, truncation, files appearing and vanishing, the bound on open
 * files, with inotify and with polling.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "follow.h"
#include "t.h"

typedef struct rec {
    int opened, truncated, closed, warnings;
    char last_warning[600];
    char last_closed[256];
} rec;

static void on_warn(void *u, const char *msg) {
    rec *r = u;
    r->warnings++;
    snprintf(r->last_warning, sizeof r->last_warning, "%s", msg);
}
static int on_open(void *u, lr__ffile *f, lr_error *e) {
    (void)f, (void)e;
    ((rec *)u)->opened++;
    return 0;
}
static int on_trunc(void *u, lr__ffile *f, lr_error *e) {
    (void)e;
    ((rec *)u)->truncated++;
    lseek(f->fd, 0, SEEK_SET);
    return 0;
}
static int on_close(void *u, lr__ffile *f, lr_error *e) {
    (void)e;
    rec *r = u;
    r->closed++;
    snprintf(r->last_closed, sizeof r->last_closed, "%s", f->path);
    return 0;
}

static char dir[64];

static void fresh_dir(void) {
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) abort();
    }
    snprintf(dir, sizeof dir, "/tmp/lr_test_follow_XXXXXX");
    if (!mkdtemp(dir)) abort();
}

static const char *at(const char *name) {
    static char p[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void put(const char *name, const char *text, const char *mode) {
    FILE *f = fopen(at(name), mode);
    fputs(text, f);
    fclose(f);
}

static lr__follow *make(rec *r, double poll, int max_open) {
    memset(r, 0, sizeof *r);
    lr__follow_opts o;
    lr__follow_opts_init(&o);
    o.poll = poll;
    o.max_open = max_open;
    o.rotate_wait = 0;
    o.rescan = 0.05;
    o.warn = on_warn;
    o.on_open = on_open;
    o.on_truncate = on_trunc;
    o.on_close = on_close;
    o.user = r;
    const char *in[1] = {dir};
    lr_error err = {0};
    lr__follow *f = lr__follow_new(in, 1, &o, &err);
    T_CHECK(f != NULL);
    return f;
}

/* Wait (at most ~2 s) until cond holds, scanning as the agent does. */
#define WAIT_FOR(f, cond)                                                        \
    do {                                                                         \
        lr_error we = {0};                                                       \
        for (int t__i = 0; t__i < 200 && !(cond); t__i++) {                      \
            lr__follow_wait(f, 10, &we);                                         \
            for (int j = 0; j < lr__follow_count(f); j++) {                      \
                lr__ffile *x = lr__follow_file(f, j);                            \
                if (x->ready) {                                                  \
                    x->ready = 0;                                                \
                    x->eof = 1;                                                  \
                    x->eof_since = 0;                                            \
                }                                                                \
            }                                                                    \
            lr__follow_reap(f, &we);                                             \
        }                                                                        \
        T_CHECK(cond);                                                           \
    } while (0)

static lr__ffile *find(lr__follow *f, const char *name, int draining) {
    for (int i = 0; i < lr__follow_count(f); i++) {
        lr__ffile *x = lr__follow_file(f, i);
        if (strcmp(x->path, at(name)) == 0 && x->draining == draining) return x;
    }
    return NULL;
}

static void test_directory_and_unreadable(void) {
    fresh_dir();
    put("a.log", "x\n", "w");
    put("b.txt", "x\n", "w");
    T_EQ_INT(mkfifo(at("fifo.log"), 0600), 0);
    T_EQ_INT(symlink(at("missing"), at("dangling.log")), 0);
    T_EQ_INT(mkdir(at("dir.log"), 0700), 0);
    rec r;
    lr__follow *f = make(&r, 0, 100);
    lr_error err = {0};
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    T_EQ_INT(lr__follow_count(f), 1);
    T_EQ_INT(r.opened, 1);
    T_EQ_INT(r.warnings, 3);
    T_CHECK(strstr(r.last_warning, "fifo.log") != NULL && strstr(r.last_warning, "FIFO") != NULL);
    T_EQ_INT(lr__follow_scan(f, &err), 0); /* reported once */
    T_EQ_INT(r.warnings, 3);
    /* the symlink's target appears: the file is picked up */
    put("missing", "now\n", "w");
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    T_EQ_INT(lr__follow_count(f), 2);
    lr__follow_free(f);
}

static void rotation(double poll) {
    fresh_dir();
    put("app.log", "one\n", "w");
    rec r;
    lr__follow *f = make(&r, poll, 100);
    lr_error err = {0};
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    lr__ffile *old = find(f, "app.log", 0);
    T_CHECK(old != NULL);
    T_EQ_INT(rename(at("app.log"), at("app.log.1")), 0);
    put("app.log", "two\n", "w");
    WAIT_FOR(f, r.opened == 2);
    lr__ffile *neu = find(f, "app.log", 0);
    T_CHECK(neu != NULL && neu != old);
    /* the old one was drained (eof, rotate_wait 0) and closed */
    WAIT_FOR(f, r.closed == 1);
    T_EQ_INT(lr__follow_count(f), 1);
    /* copytruncate: content read, then the file shrinks */
    neu = find(f, "app.log", 0);
    if (neu) lseek(neu->fd, 4, SEEK_SET);
    T_EQ_INT(truncate(at("app.log"), 0), 0);
    put("app.log", "3\n", "a");
    WAIT_FOR(f, r.truncated == 1);
    /* delete while open: drained and closed */
    T_EQ_INT(unlink(at("app.log")), 0);
    WAIT_FOR(f, r.closed == 2);
    T_EQ_INT(lr__follow_count(f), 0);
    /* a new pod's file appears */
    put("new-pod.log", "hello\n", "w");
    WAIT_FOR(f, r.opened == 3);
    T_CHECK(find(f, "new-pod.log", 0) != NULL);
    lr__follow_free(f);
}

static void test_rotation_inotify(void) { rotation(0); }
static void test_rotation_polling(void) { rotation(0.02); }

static void test_moved_to_another_input_name(void) {
    fresh_dir();
    put("a.log", "x\n", "w");
    rec r;
    lr__follow *f = make(&r, 0, 100);
    lr_error err = {0};
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    T_EQ_INT(rename(at("a.log"), at("b.log")), 0);
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    /* the same file, now at b.log: not opened a second time */
    T_EQ_INT(r.opened, 1);
    T_EQ_INT(lr__follow_count(f), 1);
    T_CHECK(find(f, "b.log", 0) != NULL);
    lr__follow_free(f);
}

static void test_max_open(void) {
    fresh_dir();
    put("a.log", "x\n", "w");
    put("b.log", "x\n", "w");
    put("c.log", "x\n", "w");
    rec r;
    lr__follow *f = make(&r, 0, 2);
    lr_error err = {0};
    T_EQ_INT(lr__follow_scan(f, &err), 0);
    T_EQ_INT(lr__follow_count(f), 2);
    T_CHECK(strstr(r.last_warning, "1 file(s) wait") != NULL);
    T_EQ_INT(unlink(at("a.log")), 0);
    WAIT_FOR(f, r.closed == 1 && r.opened == 3);
    T_CHECK(find(f, "c.log", 0) != NULL);
    lr__follow_free(f);
}

static int collect(void *u, const char *p) {
    char *seen = u;
    const char *slash = strrchr(p, '/');
    strcat(seen, slash ? slash + 1 : p);
    strcat(seen, " ");
    return 0;
}

static void test_expand(void) {
    fresh_dir();
    put("b.log", "x\n", "w");
    put("a.log", "x\n", "w");
    put("a.txt", "x\n", "w");
    char seen[512] = "";
    lr_error err = {0};
    T_EQ_INT(lr__input_kind_of(dir), LR__INPUT_DIR);
    T_EQ_INT(lr__input_kind_of(at("*.txt")), LR__INPUT_GLOB);
    T_EQ_INT(lr__input_kind_of(at("none")), LR__INPUT_FILE);
    T_EQ_INT(lr__input_expand(dir, collect, seen, &err), 0);
    T_EQ_STR(seen, "a.log b.log ");
    seen[0] = 0;
    T_EQ_INT(lr__input_expand(at("*.txt"), collect, seen, &err), 0);
    T_EQ_STR(seen, "a.txt ");
    seen[0] = 0;
    T_EQ_INT(lr__input_expand(at("nothing*"), collect, seen, &err), 0); /* no match: no call */
    T_EQ_STR(seen, "");
    T_EQ_INT(lr__input_expand(at("none"), collect, seen, &err), 0); /* passed on: its opener reports */
    T_EQ_STR(seen, "none ");
}

T_MAIN(T_CASE(test_directory_and_unreadable), T_CASE(test_rotation_inotify), T_CASE(test_rotation_polling),
       T_CASE(test_moved_to_another_input_name), T_CASE(test_max_open), T_CASE(test_expand))
