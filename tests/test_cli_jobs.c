/*
 * test_cli_jobs.c — the library calls behind three commands, without the
 * CLI: lr_tokenize_stream (`logrisk tokenize`), lr_vocab_learn_stream
 * (`logrisk vocab`) and lr_model_describe (`logrisk inspect`). Their command lines are tested by tok_cli.test.sh,
 * inspect.test.sh and cli_opts.test.sh; here the contracts a program sees:
 * bad options refused before any output, output exactly one JSON line per
 * event, nothing written for a broken model file, the report then
 * LR_ECHECKSUM for a damaged weight.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "logrisk.h"
#include "t.h"

#define VOCAB "models/vocab/logs-8k.txt"

/* A temporary file holding `text`, opened for reading; its path in path. */
static int input_fd(const char *text, char *path) {
    strcpy(path, "/tmp/lr_test_cli_jobs_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Everything written to f so far, NUL-terminated (caller frees). */
static char *contents(FILE *f) {
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, n > 0 ? (size_t)n + 1 : 1);
    if (!s || n <= 0) return s;
    rewind(f);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    return s;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_tokenize_refuses_bad_options(void) {
    lr_tokenize_opts o;
    lr_tokenize_opts_init(&o);
    T_EQ_INT(o.mask, 1);
    T_EQ_INT(o.max_len, LR_TOK_MAX_LEN);
    T_EQ_INT(o.format, LR_REC_RAW);
    T_EQ_INT(o.multiline, 1);
    FILE *out = tmpfile();
    T_CHECK(out != NULL);
    if (!out) return;
    lr_error err = {0, ""};
    T_EQ_INT(lr_tokenize_stream(&o, 0, out, &err), LR_EINVAL); /* no vocab */
    o.vocab_path = VOCAB;
    o.max_len = 1;
    T_EQ_INT(lr_tokenize_stream(&o, 0, out, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "max_len") != NULL);
    o.max_len = 65537;
    T_EQ_INT(lr_tokenize_stream(&o, 0, out, NULL), LR_EINVAL);
    o.max_len = 16;
    o.mask = 0;
    o.rules_path = "models/rules/k8s.yaml";
    T_EQ_INT(lr_tokenize_stream(&o, 0, out, &err), LR_EINVAL);
    o.mask = 1;
    o.vocab_path = "/nonexistent/vocab.txt";
    T_CHECK(lr_tokenize_stream(&o, 0, out, &err) < 0);
    T_CHECK(strstr(err.msg, "/nonexistent/vocab.txt") != NULL);
    T_EQ_INT(ftell(out), 0); /* nothing written on any refusal */
    fclose(out);
}

static void test_tokenize_raw_lines(void) {
    char path[64];
    int fd = input_fd("first line\n\nconnect to 10.0.0.1 failed\nlast", path);
    FILE *out = tmpfile();
    T_CHECK(fd >= 0 && out != NULL);
    if (fd < 0 || !out) return;
    lr_tokenize_opts o;
    lr_tokenize_opts_init(&o);
    o.vocab_path = VOCAB;
    lr_error err = {0, ""};
    T_EQ_INT(lr_tokenize_stream(&o, fd, out, &err), LR_OK);
    char *s = contents(out);
    T_CHECK(s != NULL);
    if (s) {
        T_EQ_INT(count_lines(s), 4); /* one per line, the empty one too */
        T_CHECK(strncmp(s, "{\"tokens\":[\"[CLS]\",\"first\",\"line\",\"[SEP]\"],\"ids\":[2,", 52) == 0);
        T_CHECK(strstr(s, "\n{\"tokens\":[\"[CLS]\",\"[SEP]\"],\"ids\":[2,3]}\n") != NULL);
        T_CHECK(strstr(s, "\"<IP>\"") != NULL); /* masked by the built-in rules */
        T_CHECK(strstr(s, "\"line\":") == NULL); /* raw lines carry no line numbers */
    }
    free(s);
    fclose(out);
    close(fd);
    unlink(path);
}

static void test_tokenize_events_and_max_len(void) {
    char path[64];
    int fd = input_fd("ERROR boom\n  at a.b(c.java:1)\nINFO ok\n", path);
    FILE *out = tmpfile();
    T_CHECK(fd >= 0 && out != NULL);
    if (fd < 0 || !out) return;
    lr_tokenize_opts o;
    lr_tokenize_opts_init(&o);
    o.vocab_path = VOCAB;
    o.format = LR_REC_AUTO;
    o.max_len = 3;
    T_EQ_INT(lr_tokenize_stream(&o, fd, out, NULL), LR_OK);
    char *s = contents(out);
    if (s) {
        T_EQ_INT(count_lines(s), 2); /* the stack trace joins its line */
        T_CHECK(strstr(s, "\"line\":1,\"line_end\":2}\n") != NULL);
        T_CHECK(strstr(s, "\"line\":3,\"line_end\":3}\n") != NULL);
        /* max_len 3: [CLS], one token, [SEP] */
        const char *ids = strstr(s, "\"ids\":[2,");
        T_CHECK(ids && strncmp(strchr(ids + 9, ','), ",3]", 3) == 0);
    }
    free(s);
    fclose(out);
    close(fd);
    unlink(path);
}

static void test_vocab_stream(void) {
    char in_path[64], out_path[64];
    int fd = input_fd("ERROR connection refused by node-7\n  at x.y(z.java:1)\nINFO pod ready\n", in_path);
    T_CHECK(fd >= 0);
    if (fd < 0) return;
    strcpy(out_path, "/tmp/lr_test_vocab_XXXXXX");
    int ofd = mkstemp(out_path);
    T_CHECK(ofd >= 0);
    if (ofd >= 0) close(ofd);
    lr_vocab_opts o;
    lr_vocab_opts_init(&o);
    T_EQ_INT(o.mask, 1);
    T_EQ_INT(o.min_freq, 2);
    T_EQ_INT(o.format, LR_REC_RAW);
    lr_error err = {0, ""};
    o.vocab_size = 40;
    o.mask = 0;
    o.rules_path = "models/rules/k8s.yaml";
    T_EQ_INT(lr_vocab_learn_stream(&o, fd, out_path, &err), LR_EINVAL);
    o.mask = 1;
    o.rules_path = NULL;
    o.format = LR_REC_AUTO;
    T_EQ_INT(lr_vocab_learn_stream(&o, fd, out_path, &err), LR_OK);
    FILE *f = fopen(out_path, "r");
    T_CHECK(f != NULL);
    if (f) {
        char line[128];
        int n = 0, pad_first = 0, has_java = 0;
        while (fgets(line, sizeof line, f)) {
            if (n == 0) pad_first = strcmp(line, "[PAD]\n") == 0;
            has_java |= strcmp(line, "j\n") == 0; /* the continuation line was read */
            n++;
        }
        fclose(f);
        T_CHECK(n > 10 && n <= 40);
        T_CHECK(pad_first);
        T_CHECK(has_java);
    }
    close(fd);
    unlink(in_path);
    unlink(out_path);
}

/* A small valid model file: two metadata entries, one f32 tensor. */
static int write_model(const char *path) {
    lr_error err = {0, ""};
    lr__lrm_writer *w = lr__lrm_writer_new(&err);
    static const float data[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    int rc = w ? 0 : -1;
    if (!rc) rc = lr__lrm_set_str(w, "name", "describe-test", 13, &err);
    if (!rc) rc = lr__lrm_set_i64(w, "hidden", 3, &err);
    if (!rc) rc = lr__lrm_add_tensor(w, "w", LR_DTYPE_F32, 2, shape, data, &err);
    if (!rc) rc = lr__lrm_writer_write(w, path, &err);
    lr__lrm_writer_free(w);
    return rc;
}

static void test_describe(void) {
    char path[64];
    strcpy(path, "/tmp/lr_test_describe_XXXXXX");
    int fd = mkstemp(path);
    T_CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    T_EQ_INT(write_model(path), 0);
    FILE *out = tmpfile();
    T_CHECK(out != NULL);
    if (!out) return;
    lr_error err = {0, ""};

    T_EQ_INT(lr_model_describe(path, 0, NULL, &err), LR_EINVAL);
    T_EQ_INT(lr_model_describe(path, 0, out, &err), LR_OK);
    char *s = contents(out);
    if (s) {
        T_CHECK(strstr(s, "\nchecksums: header ") != NULL && strstr(s, " ok, data ") != NULL);
        T_CHECK(strstr(s, "\n  name    \"describe-test\"\n") != NULL);
        T_CHECK(strstr(s, "\ntensors (1):\n") != NULL);
        T_CHECK(strstr(s, "\ntotal:     1 tensors, 6 parameters, 24 bytes of tensor data\n") != NULL);
    }
    free(s);

    rewind(out);
    T_EQ_INT(ftruncate(fileno(out), 0), 0);
    T_EQ_INT(lr_model_describe(path, LR_DESCRIBE_JSON, out, &err), LR_OK);
    s = contents(out);
    if (s) {
        T_CHECK(strncmp(s, "{\"file\":", 8) == 0);
        T_CHECK(strstr(s, "\"data_checksum_ok\":true") != NULL);
        T_CHECK(strstr(s, "\"parameters\":6}\n") != NULL);
    }
    free(s);

    /* a damaged weight: the report, marked, then LR_ECHECKSUM */
    int wfd = open(path, O_RDWR);
    T_CHECK(wfd >= 0);
    off_t end = wfd >= 0 ? lseek(wfd, 0, SEEK_END) : 0;
    unsigned char byte = 0;
    if (wfd >= 0 && pread(wfd, &byte, 1, end - 1) == 1) {
        byte ^= 0x40;
        T_EQ_INT(pwrite(wfd, &byte, 1, end - 1), 1);
    }
    if (wfd >= 0) close(wfd);
    rewind(out);
    T_EQ_INT(ftruncate(fileno(out), 0), 0);
    T_EQ_INT(lr_model_describe(path, 0, out, &err), LR_ECHECKSUM);
    T_CHECK(strstr(err.msg, "checksum") != NULL);
    s = contents(out);
    if (s) T_CHECK(strstr(s, " MISMATCH\n") != NULL);
    free(s);

    /* not a model: an error and nothing written */
    rewind(out);
    T_EQ_INT(ftruncate(fileno(out), 0), 0);
    T_CHECK(lr_model_describe("README.md", 0, out, &err) < 0);
    T_CHECK(strstr(err.msg, "bad magic") != NULL);
    T_CHECK(lr_model_describe("/nonexistent.lrm", LR_DESCRIBE_JSON, out, &err) < 0);
    fflush(out);
    T_EQ_INT(ftell(out), 0);
    /* the test binaries carry no built-in model */
    if (!lr_model_has_builtin()) T_EQ_INT(lr_model_describe(NULL, 0, out, &err), LR_EUNSUPPORTED);
    fclose(out);
    unlink(path);
}

T_MAIN(T_CASE(test_tokenize_refuses_bad_options), T_CASE(test_tokenize_raw_lines),
       T_CASE(test_tokenize_events_and_max_len), T_CASE(test_vocab_stream), T_CASE(test_describe))
