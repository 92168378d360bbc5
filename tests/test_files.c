/*
 * test_files.c — src/files.c and its users: atomic writes never follow or
 * overwrite anything planted at a temporary's path (the helper itself, and
 * every writer: model, quantized model, ONNX, checkpoint, vocabulary), and
 * every reader of models, rules, configs and vocabularies refuses a FIFO
 * or a device at once instead of blocking.
 *
 * A planted symlink points at a "victim" file; after each write the victim
 * must still hold its original bytes. Readers run under alarm(): a reader
 * that blocks on a FIFO kills the suite, which then counts as failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "format.h"
#include "logrisk.h"
#include "model.h"
#include "optim.h"
#include "t.h"
#include "train.h"
#include "train_ckpt.h"
#include "util.h"

#define OUT_DIR "tests/out/files"
#define VICTIM_TEXT "victim: must never change\n"

static char g_dir[256];

/* Remove this process's directory and what is in it. */
static void remove_dir(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(g_dir);
}

/* A fresh directory for this process's files, removed at exit. */
static const char *dir(void) {
    if (!g_dir[0]) {
        mkdir("tests/out", 0755);
        mkdir(OUT_DIR, 0755);
        snprintf(g_dir, sizeof g_dir, OUT_DIR "/%d", (int)getpid());
        mkdir(g_dir, 0755);
        atexit(remove_dir);
    }
    return g_dir;
}

static const char *path_in(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", dir(), name);
    return buf;
}

static int write_plain(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The file's bytes (malloc'd, NUL-terminated) or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    lr__buf b;
    lr__buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) lr__buf_put(&b, chunk, n);
    fclose(f);
    if (!b.data) lr__buf_putc(&b, 0), b.len = 0;
    if (len) *len = b.len;
    return b.data;
}

/* A victim file and a symlink to it (by its absolute path) at `link`. */
static void plant(const char *link, const char *victim) {
    char cwd[512], target[1100];
    T_CHECK(write_plain(victim, VICTIM_TEXT) == 0);
    T_CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(target, sizeof target, "%s/%s", cwd, victim);
    unlink(link);
    T_CHECK(symlink(target, link) == 0);
}

static int victim_intact(const char *victim) {
    char *s = slurp(victim, NULL);
    int ok = s && strcmp(s, VICTIM_TEXT) == 0;
    lr__free(s);
    return ok;
}

/* Entries of dir() whose name contains `part`. */
static int count_entries(const char *part) {
    DIR *d = opendir(dir());
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, part)) n++;
    if (d) closedir(d);
    return n;
}

/* Plant a symlink to the victim at `base` + each suffix a writer ever used
 * for its temporary, so that whichever it would pick is a trap. */
static void plant_all(const char *base, const char *victim) {
    char link[512];
    snprintf(link, sizeof link, "%s.tmp", base);
    plant(link, victim);
    snprintf(link, sizeof link, "%s.tmp%ld", base, (long)getpid());
    plant(link, victim);
    for (int k = 0; k < 16; k++) {
        snprintf(link, sizeof link, "%s.tmp.%ld.%d", base, (long)getpid(), k);
        plant(link, victim);
    }
}

/* ------------------------------------------------------------ the helper */

static void test_atomic_write_basic(void) {
    char p[512];
    path_in(p, sizeof p, "basic.txt");
    lr_error err = {0};
    T_EQ_INT(lr__file_write_atomic(p, "one\n", 4, &err), 0);
    T_EQ_INT(lr__file_write_atomic(p, "two two\n", 8, &err), 0);
    char *s = slurp(p, NULL);
    T_EQ_STR(s, "two two\n");
    lr__free(s);
    T_EQ_INT(count_entries("basic.txt.tmp"), 0); /* no temporary left */
    /* an unwritable directory: an error, nothing created */
    T_CHECK(lr__file_write_atomic(OUT_DIR "/no/such/dir/x", "x", 1, &err) == LR_EIO);
    T_CHECK(strstr(err.msg, "no/such/dir") != NULL);
}

/* A name where something is planted is never opened: a symlink to a file,
 * a dangling symlink (whose target would be created), a plain file. */
static void test_atomic_named_refuses_planted(void) {
    char target[512], tmp[512], victim[512], ghost[512];
    path_in(target, sizeof target, "named.out");
    path_in(tmp, sizeof tmp, "named.out.tmp-fixed");
    path_in(victim, sizeof victim, "named.victim");
    path_in(ghost, sizeof ghost, "named.ghost");
    lr__atomic a;
    lr_error err = {0};
    plant(tmp, victim);
    T_EQ_INT(lr__atomic_open_named(&a, target, tmp, &err), LR_EIO);
    T_CHECK(victim_intact(victim));
    unlink(tmp);
    unlink(ghost);
    char cwd[512], ghost_abs[1100];
    T_CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(ghost_abs, sizeof ghost_abs, "%s/%s", cwd, ghost);
    T_CHECK(symlink(ghost_abs, tmp) == 0); /* dangling */
    T_EQ_INT(lr__atomic_open_named(&a, target, tmp, &err), LR_EIO);
    struct stat st;
    T_CHECK(lstat(ghost, &st) != 0); /* the link's target was not created */
    unlink(tmp);
    T_CHECK(write_plain(tmp, VICTIM_TEXT) == 0);
    T_EQ_INT(lr__atomic_open_named(&a, target, tmp, &err), LR_EIO);
    T_CHECK(victim_intact(tmp));
    unlink(tmp);
    /* a free name works; abort removes it and leaves the target alone */
    T_EQ_INT(lr__atomic_open_named(&a, target, tmp, &err), 0);
    T_EQ_INT(lr__atomic_write(&a, "abc", 3, &err), 0);
    lr__atomic_abort(&a);
    T_CHECK(lstat(tmp, &st) != 0 && lstat(target, &st) != 0);
    /* commit renames over a symlink at the target: the link is replaced,
     * its target is not written through */
    plant(target, victim);
    T_EQ_INT(lr__file_write_atomic(target, "new\n", 4, &err), 0);
    T_CHECK(victim_intact(victim));
    T_CHECK(lstat(target, &st) == 0 && S_ISREG(st.st_mode));
}

/* The stdio path (ONNX) and the write path give the same file. */
static void test_atomic_stdio(void) {
    char p[512];
    path_in(p, sizeof p, "stdio.txt");
    lr__atomic a;
    lr_error err = {0};
    T_EQ_INT(lr__atomic_open(&a, p, &err), 0);
    FILE *f = lr__atomic_stdio(&a, &err);
    T_CHECK(f != NULL);
    if (f) fprintf(f, "hello %d\n", 42);
    T_EQ_INT(lr__atomic_commit(&a, &err), 0);
    char *s = slurp(p, NULL);
    T_EQ_STR(s, "hello 42\n");
    lr__free(s);
}

/* A write that fails half way (the file size limit here, as a full disk
 * would) leaves the target as it was and no temporary behind. */
static void test_atomic_write_failure_keeps_target(void) {
    char p[512];
    path_in(p, sizeof p, "keep.txt");
    lr_error err = {0};
    T_EQ_INT(lr__file_write_atomic(p, VICTIM_TEXT, strlen(VICTIM_TEXT), &err), 0);
    struct rlimit old;
    T_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit small = {4096, old.rlim_max}; /* the soft limit only, so it can be raised back */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    T_CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    static char big[65536];
    memset(big, 'x', sizeof big);
    int rc = lr__file_write_atomic(p, big, sizeof big, &err);
    T_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    T_EQ_INT(rc, LR_EIO);
    T_CHECK(strstr(err.msg, "keep.txt.tmp-") != NULL);
    T_CHECK(victim_intact(p));
    T_EQ_INT(count_entries("keep.txt.tmp"), 0);
}

/* ------------------------------------------------------------ the writers */

/* The tiny fixture converted into `out` (vocab written beside it). */
static int make_tiny(const char *out, lr_error *err) {
    char vocab[512];
    path_in(vocab, sizeof vocab, "vocab.txt");
    lr__buf b;
    lr__buf_init(&b);
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < 512; i++) {
        if (i < 5) lr__buf_printf(&b, "%s\n", specials[i]);
        else lr__buf_printf(&b, "tok%d\n", i);
    }
    int rc = write_plain(vocab, b.data);
    lr__buf_free(&b);
    if (rc) return lr__err(err, LR_EIO, "cannot write %s", vocab);
    lr_convert_options opts = {.vocab_path = vocab, .labels = "a,b,c,d,e,f,g,h,i,j,k"};
    return lr_convert_safetensors("tests/fixtures/tiny", out, &opts, err);
}

static void test_model_writers_symlinks(void) {
    char plain[512], model[512], q8[512], onnx[512], victim[512];
    path_in(plain, sizeof plain, "plain.lrm");
    path_in(model, sizeof model, "w.lrm");
    path_in(q8, sizeof q8, "w_q8.lrm");
    path_in(onnx, sizeof onnx, "w.onnx");
    path_in(victim, sizeof victim, "w.victim");
    lr_error err = {0};
    int rc = make_tiny(plain, &err);
    T_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  convert: %s\n", err.msg);
        return;
    }
    plant_all(model, victim);
    rc = make_tiny(model, &err);
    T_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "  convert: %s\n", err.msg);
    T_CHECK(victim_intact(victim));
    lr_model *m = lr_model_load(model, &err);
    T_CHECK(m != NULL);
    lr_model_free(m);

    plant_all(q8, victim);
    rc = lr_model_quantize(plain, q8, "q8", &err);
    T_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "  quantize: %s\n", err.msg);
    T_CHECK(victim_intact(victim));

    plant_all(onnx, victim);
    rc = lr_export_onnx(plain, onnx, NULL, &err);
    T_EQ_INT(rc, 0);
    if (rc) fprintf(stderr, "  export: %s\n", err.msg);
    T_CHECK(victim_intact(victim));
    size_t n = 0;
    char *s = slurp(onnx, &n);
    T_CHECK(s && n > 1000);
    lr__free(s);
}

static void test_checkpoint_symlink(void) {
    char ckpt[512], victim[512];
    path_in(ckpt, sizeof ckpt, "c.ckpt");
    path_in(victim, sizeof victim, "c.victim");
    lr_error err = {0};
    lr__params p = {0};
    T_EQ_INT(lr__params_add(&p, "w", 4, 3, 0, &err), 0);
    T_EQ_INT(lr__params_alloc(&p, &err), 0);
    for (size_t i = 0; i < p.n_floats; i++) p.value[i] = (float)i;
    lr__bert_config cfg = {0};
    plant_all(ckpt, victim);
    T_EQ_INT(lr__ckpt_save(ckpt, &p, &cfg, NULL, 0, &err), 0);
    T_CHECK(victim_intact(victim));
    memset(p.value, 0, p.n_floats * sizeof(float));
    T_EQ_INT(lr__ckpt_load(ckpt, &p, &cfg, NULL, 0, &err), 0);
    T_CHECK(p.value[5] == 5.0f);
    lr__params_free(&p);
}

static void test_vocab_writer_symlink(void) {
    char out[512], victim[512];
    path_in(out, sizeof out, "learned.txt");
    path_in(victim, sizeof victim, "v.victim");
    lr_error err = {0};
    lr_vocab_learner *l = lr_vocab_learner_new(&err);
    T_CHECK(l != NULL);
    if (!l) return;
    T_EQ_INT(lr_vocab_learner_add(l, "error disk full", 15, &err), 0);
    plant(out, victim); /* a symlink at the output itself is replaced, not followed */
    T_EQ_INT(lr_vocab_learner_save(l, 64, 1, out, &err), 0);
    T_CHECK(victim_intact(victim));
    lr_vocab_learner_free(l);
}

/* ------------------------------------------------------------ readers */

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "  a reader blocked on a FIFO (alarm)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
}

/* Every reader of a model, rules, config or vocabulary returns an error at
 * once on a FIFO that has no writer, and on a character device. */
static void test_readers_refuse_fifo_and_devices(void) {
    char fifo[512];
    path_in(fifo, sizeof fifo, "fifo");
    unlink(fifo);
    T_CHECK(mkfifo(fifo, 0600) == 0);
    signal(SIGALRM, on_alarm);
    const char *paths[] = {fifo, "/dev/zero"};
    for (size_t i = 0; i < LR_ARRAY_LEN(paths); i++) {
        const char *p = paths[i];
        lr_error err = {0};
        alarm(5);
        lr_rules *r = lr_rules_load(p, &err);
        T_CHECK(r == NULL && strstr(err.msg, "not a regular file"));
        lr_rules_free(r);
        err.msg[0] = '\0';
        lr_model *m = lr_model_load(p, &err);
        T_CHECK(m == NULL && strstr(err.msg, "not a regular file"));
        lr_model_free(m);
        err.msg[0] = '\0';
        lr_tok *t = lr_tok_load(p, &err);
        T_CHECK(t == NULL && strstr(err.msg, "not a regular file"));
        lr_tok_free(t);
        err.msg[0] = '\0';
        lr__train_config c;
        lr__train_config_defaults(&c);
        int rc = lr__train_config_load(&c, p, &err);
        T_CHECK(rc != 0 && strstr(err.msg, "not a regular file"));
        lr__train_config_free(&c);
        err.msg[0] = '\0';
        rc = lr_train_run(p, NULL, NULL, NULL, &err);
        T_CHECK(rc != 0 && strstr(err.msg, "not a regular file"));
        alarm(0);
    }
    signal(SIGALRM, SIG_DFL);
    unlink(fifo);
}

/* The whole-file reader's limit. */
/* A target that is a FIFO, a device or a directory is refused, never
 * replaced by the rename (a vocabulary saved to /dev/null by root once
 * turned /dev/null into a regular file): the FIFO is still a FIFO after. */
static void test_atomic_refuses_special_targets(void) {
    char fifo[512], dir[512];
    path_in(fifo, sizeof fifo, "target_fifo");
    path_in(dir, sizeof dir, "target_dir");
    unlink(fifo);
    T_CHECK(mkfifo(fifo, 0600) == 0);
    mkdir(dir, 0755);
    const char *paths[] = {fifo, dir};
    for (size_t i = 0; i < LR_ARRAY_LEN(paths); i++) {
        lr_error err = {0};
        T_CHECK(lr__file_write_atomic(paths[i], "x", 1, &err) == LR_EIO);
        T_CHECK(strstr(err.msg, "not a regular file") != NULL);
    }
    struct stat st;
    T_CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    T_CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    T_EQ_INT(count_entries("target_fifo.tmp"), 0);
    unlink(fifo);
    rmdir(dir);
}

static void test_read_all_limit(void) {
    char p[512];
    path_in(p, sizeof p, "big.txt");
    T_CHECK(write_plain(p, "0123456789") == 0);
    char *s = NULL;
    size_t n = 0;
    lr_error err = {0};
    T_EQ_INT(lr__file_read_all(p, "test file", 10, &s, &n, &err), 0);
    T_CHECK(s && n == 10 && strcmp(s, "0123456789") == 0);
    lr__free(s);
    T_EQ_INT(lr__file_read_all(p, "test file", 9, &s, &n, &err), LR_ERANGE);
    T_CHECK(s == NULL && strstr(err.msg, "test file"));
}

T_MAIN(T_CASE(test_atomic_write_basic), T_CASE(test_atomic_named_refuses_planted), T_CASE(test_atomic_stdio),
       T_CASE(test_atomic_write_failure_keeps_target),
       T_CASE(test_model_writers_symlinks), T_CASE(test_checkpoint_symlink), T_CASE(test_vocab_writer_symlink),
       T_CASE(test_readers_refuse_fifo_and_devices), T_CASE(test_atomic_refuses_special_targets),
       T_CASE(test_read_all_limit))
