/*
 * test_io.c — the line reader (src/io.c): splitting, last line without a
 * newline, empty lines, NUL bytes, lines of megabytes, the max_line cap,
 * end of input that is not sticky; the RFC 4180 CSV reader and writer; and
 * lr_prep_stream end to end (JSONL and CSV out, CSV in, errors).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "logrisk.h"
#include "t.h"

/* A temporary file holding `len` bytes, positioned at its start. */
static FILE *tmp_with(const char *data, size_t len) {
    FILE *f = tmpfile();
    if (!f) return NULL;
    if (len) fwrite(data, 1, len, f);
    fflush(f);
    lseek(fileno(f), 0, SEEK_SET);
    return f;
}

/* Read every line of `data`; returns the count and joins them as
 * "line|line|..." into out (which has room for cap bytes). */
static int read_all(const char *data, size_t len, size_t max_line, char *out, size_t cap, int *n_trunc) {
    FILE *f = tmp_with(data, len);
    lr_io_reader *r = lr_io_reader_new(fileno(f), max_line, NULL);
    const char *line;
    size_t n;
    int trunc, count = 0;
    size_t used = 0;
    if (n_trunc) *n_trunc = 0;
    while (lr_io_read_line(r, &line, &n, &trunc, NULL) == 1) {
        if (count && used + 1 < cap) out[used++] = '|';
        for (size_t i = 0; i < n && used + 1 < cap; i++) out[used++] = line[i] ? line[i] : '0';
        if (n_trunc) *n_trunc += trunc;
        count++;
    }
    out[used] = '\0';
    T_EQ_INT(lr_io_lines(r), count);
    lr_io_reader_free(r);
    fclose(f);
    return count;
}

static void test_lines_basic(void) {
    char out[256];
    T_EQ_INT(read_all("a\nbb\n\nccc", 9, 0, out, sizeof out, NULL), 4);
    T_EQ_STR(out, "a|bb||ccc");
    T_EQ_INT(read_all("a\n", 2, 0, out, sizeof out, NULL), 1); /* no extra empty line */
    T_EQ_INT(read_all("", 0, 0, out, sizeof out, NULL), 0);
    T_EQ_INT(read_all("\n", 1, 0, out, sizeof out, NULL), 1);
    T_EQ_STR(out, "");
    T_EQ_INT(read_all("\n\n", 2, 0, out, sizeof out, NULL), 2);
    T_EQ_INT(read_all("x\r\ny\r", 5, 0, out, sizeof out, NULL), 2); /* \r is kept for lr_prep_line */
    T_EQ_STR(out, "x\r|y\r");
    T_EQ_INT(read_all("a\0b\nc", 5, 0, out, sizeof out, NULL), 2);
    T_EQ_STR(out, "a0b|c");
}

static void test_lines_huge(void) {
    /* three lines of 5 MB, 1 byte and 3 MB (no final newline) */
    size_t a = 5u << 20, b = 3u << 20, len = a + 1 + 1 + 1 + b;
    char *data = malloc(len);
    memset(data, 'x', len);
    data[a] = '\n';
    data[a + 1] = 'y';
    data[a + 2] = '\n';
    FILE *f = tmp_with(data, len);
    lr_io_reader *r = lr_io_reader_new(fileno(f), 0, NULL);
    const char *line;
    size_t n;
    int trunc;
    T_EQ_INT(lr_io_read_line(r, &line, &n, &trunc, NULL), 1);
    T_EQ_INT(n, a);
    T_EQ_INT(trunc, 0);
    T_CHECK(line[0] == 'x' && line[a - 1] == 'x');
    T_EQ_INT(lr_io_read_line(r, &line, &n, &trunc, NULL), 1);
    T_EQ_INT(n, 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &trunc, NULL), 1);
    T_EQ_INT(n, b);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &trunc, NULL), 0);
    lr_io_reader_free(r);
    fclose(f);
    free(data);
}

static void test_lines_cap(void) {
    size_t big = 3u << 20;
    char *data = malloc(big + 16);
    memset(data, 'z', big);
    memcpy(data + big, "\nok\nzzzzzz", 10);
    char out[64];
    int trunc;
    /* cap 4: the 3 MB line becomes "zzzz", "ok" is intact, the last line is cut too */
    T_EQ_INT(read_all(data, big + 10, 4, out, sizeof out, &trunc), 3);
    T_EQ_STR(out, "zzzz|ok|zzzz");
    T_EQ_INT(trunc, 2);
    free(data);
}

static void test_lines_not_sticky(void) {
    char path[] = "/tmp/lr_test_io_XXXXXX";
    int wfd = mkstemp(path);
    int fd = open(path, O_RDONLY); /* its own offset, like tail -f on a log */
    unlink(path);
    if (write(wfd, "one\n", 4) != 4) T_FAIL("write");
    lr_io_reader *r = lr_io_reader_new(fd, 0, NULL);
    const char *line;
    size_t n;
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 0);
    if (write(wfd, "two\n", 4) != 4) T_FAIL("write"); /* the file grows */
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_CHECK(n == 3 && memcmp(line, "two", 3) == 0);
    lr_io_reader_free(r);
    close(fd);
    close(wfd);
}

static void test_lines_pipe_buffered(void) {
    int p[2];
    T_EQ_INT(pipe(p), 0);
    if (write(p[1], "a\nb", 3) != 3) T_FAIL("write");
    lr_io_reader *r = lr_io_reader_new(p[0], 0, NULL);
    const char *line;
    size_t n;
    T_EQ_INT(lr_io_reader_buffered(r), 0);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1); /* returns without waiting for more */
    T_EQ_INT(lr_io_reader_buffered(r), 0);                  /* "b" has no newline yet */
    if (write(p[1], "\nc\n", 3) != 3) T_FAIL("write");
    close(p[1]);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_CHECK(n == 1 && line[0] == 'b');
    T_EQ_INT(lr_io_reader_buffered(r), 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 0);
    lr_io_reader_free(r);
    close(p[0]);
}

static void test_read_error(void) {
    lr_io_reader *r = lr_io_reader_new(-1, 0, NULL);
    lr_error e = {0, ""};
    const char *line;
    size_t n;
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, &e), LR_EIO);
    T_CHECK(strstr(e.msg, "read error") != NULL);
    lr_io_reader_free(r);
}

/* ------------------------------------------------------------ CSV */

typedef struct {
    FILE *f;
    lr_io_reader *lines;
    lr_io_csv *csv;
} csv_in;

static csv_in csv_open(const char *data) {
    csv_in c;
    c.f = tmp_with(data, strlen(data));
    c.lines = lr_io_reader_new(fileno(c.f), 0, NULL);
    c.csv = lr_io_csv_new(c.lines, NULL);
    return c;
}
static void csv_close(csv_in *c) {
    lr_io_csv_free(c->csv);
    lr_io_reader_free(c->lines);
    fclose(c->f);
}
#define FIELD(c, i) lr_io_csv_field((c).csv, i, NULL)

/* A record over the cap keeps max bytes of field text and is flagged; the
 * reader still finds its end (a quoted field over many lines, a quote inside
 * an unquoted field), so the next record is whole; a physical line cut by
 * the line reader ends its record even inside quotes. */
static void test_csv_record_cap(void) {
    char big[20000];
    size_t k = 0;
    k += (size_t)snprintf(big + k, sizeof big - k, "id,text\n1,\"");
    for (int i = 0; i < 200; i++) k += (size_t)snprintf(big + k, sizeof big - k, "line %03d of a long field\n", i);
    k += (size_t)snprintf(big + k, sizeof big - k, "end\",x\n2,ab\"cd\"\n3,next\n");
    csv_in c = csv_open(big);
    lr_io_csv_set_max(c.csv, 64);
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1); /* header */
    T_EQ_INT(lr_io_csv_truncated(c.csv), 0);
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_truncated(c.csv), 1);
    size_t len = 0;
    const char *f = lr_io_csv_field(c.csv, 1, &len);
    T_CHECK(f && len < 64 && strncmp(f, "line 000", 8) == 0);
    T_CHECK(lr_io_csv_field(c.csv, 2, NULL) == NULL); /* past the cut */
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_truncated(c.csv), 0);
    T_EQ_STR(FIELD(c, 1), "ab\"cd\"");
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_STR(FIELD(c, 1), "next");
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 0);
    csv_close(&c);

    /* the line reader's cap cuts a line inside quotes: that record ends */
    const char *cut = "id,text\n1,\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n2,ok\n";
    csv_in d;
    d.f = tmp_with(cut, strlen(cut));
    d.lines = lr_io_reader_new(fileno(d.f), 16, NULL);
    d.csv = lr_io_csv_new(d.lines, NULL);
    T_EQ_INT(lr_io_csv_read(d.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_read(d.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_truncated(d.csv), 1);
    T_EQ_INT(lr_io_csv_read(d.csv, NULL), 1);
    T_EQ_STR(FIELD(d, 1), "ok");
    T_EQ_INT(lr_io_csv_truncated(d.csv), 0);
    csv_close(&d);
}

static void test_csv_read(void) {
    csv_in c = csv_open("\xEF\xBB\xBFid,text,n\r\n"
                        "1,plain,2\r\n"
                        "2,\"with, comma and \"\"quotes\"\"\",3\n"
                        "\n"
                        "3,\"two\r\nlines\",\n"
                        "4,,\"\"\n"
                        "5,a\"b,\"x\"y\n");
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_find(c.csv, "id"), 0); /* the BOM is ignored */
    T_EQ_INT(lr_io_csv_find(c.csv, "text"), 1);
    T_EQ_INT(lr_io_csv_find(c.csv, "missing"), -1);
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_STR(FIELD(c, 1), "plain");
    T_EQ_STR(FIELD(c, 2), "2"); /* CRLF record end */
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_STR(FIELD(c, 1), "with, comma and \"quotes\"");
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1); /* the blank line is skipped */
    T_EQ_STR(FIELD(c, 0), "3");
    T_EQ_STR(FIELD(c, 1), "two\r\nlines");
    T_EQ_STR(FIELD(c, 2), "");
    T_EQ_INT(lr_io_csv_line(c.csv), 5);
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_INT(lr_io_csv_n_fields(c.csv), 3);
    T_EQ_STR(FIELD(c, 1), "");
    T_EQ_STR(FIELD(c, 2), "");
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 1);
    T_EQ_STR(FIELD(c, 1), "a\"b"); /* a quote inside an unquoted field is data */
    T_EQ_STR(FIELD(c, 2), "xy");   /* text after a closing quote is appended */
    T_CHECK(FIELD(c, 3) == NULL);
    T_EQ_INT(lr_io_csv_read(c.csv, NULL), 0);
    csv_close(&c);
}

static void test_csv_unterminated(void) {
    csv_in c = csv_open("a,b\n1,\"open\nnever closed\n");
    lr_error e = {0, ""};
    T_EQ_INT(lr_io_csv_read(c.csv, &e), 1);
    T_EQ_INT(lr_io_csv_read(c.csv, &e), LR_EPARSE);
    T_CHECK(strstr(e.msg, "line 2") != NULL);
    csv_close(&c);
}

static void test_csv_write(void) {
    static const struct {
        const char *in, *out;
    } cases[] = {{"plain text", "plain text"}, {"", ""},          {"a,b", "\"a,b\""},
                 {"say \"hi\"", "\"say \"\"hi\"\"\""}, {"a\rb", "\"a\rb\""}, {"a\nb", "\"a\nb\""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lr__buf b;
        lr__buf_init(&b);
        T_EQ_INT(lr__io_csv_put(&b, cases[i].in, strlen(cases[i].in)), 0);
        T_EQ_STR(b.data ? b.data : "", cases[i].out);
        lr__buf_free(&b);
    }
}

/* ------------------------------------------------------------ stream */

/* Run lr_prep_stream on `in`; returns the output (malloc'd) and the code. */
static char *stream(const char *in, const lr_prep_stream_opts *o, int *rc, lr_error *e) {
    FILE *fi = tmp_with(in, strlen(in)), *fo = tmpfile();
    lr_rules *rules = lr_rules_default(NULL);
    *rc = lr_prep_stream(rules, fileno(fi), fileno(fo), o, NULL, e);
    lr_rules_free(rules);
    long size = lseek(fileno(fo), 0, SEEK_END);
    char *out = calloc(1, (size_t)size + 1);
    if (pread(fileno(fo), out, (size_t)size, 0) != size) T_FAIL("pread");
    fclose(fi);
    fclose(fo);
    return out;
}

static void test_stream_jsonl(void) {
    lr_prep_stream_opts o = {1, LR_FORMAT_JSONL, LR_FORMAT_JSONL, NULL, 0, NULL, 0};
    int rc;
    char *out = stream("ERROR \"x\"\tsegfault\n\nsshd[7]: \x01\n", &o, &rc, NULL);
    T_EQ_INT(rc, 0);
    T_EQ_STR(out, "{\"text\":\"ERROR \\\"x\\\"\\tsegfault\",\"level_raw\":\"ERROR\",\"label\":9}\n"
                  "{\"text\":\"\",\"level_raw\":null,\"label\":3}\n"
                  "{\"text\":\"sshd<PID>: \\u0001\",\"level_raw\":null,\"label\":3}\n");
    free(out);
    o.with_label = 0;
    out = stream("INFO a", &o, &rc, NULL);
    T_EQ_STR(out, "{\"text\":\"INFO a\",\"level_raw\":\"INFO\"}\n");
    free(out);
}

static void test_stream_csv(void) {
    lr_prep_stream_opts o = {1, LR_FORMAT_CSV, LR_FORMAT_CSV, "msg", 0, NULL, 0};
    int rc;
    char *out = stream("id,msg\n1,\"WARN a, b\"\n2,\"two\nlines\"\n3,plain\n", &o, &rc, NULL);
    T_EQ_INT(rc, 0);
    T_EQ_STR(out, "text,level_raw,label\n\"WARN a, b\",WARN,4\n\"two\nlines\",,3\nplain,,3\n");
    free(out);
    lr_error e = {0, ""};
    o.column = "nope";
    out = stream("id,msg\n1,x\n", &o, &rc, &e);
    T_EQ_INT(rc, LR_EINVAL);
    T_CHECK(strstr(e.msg, "no column 'nope'") != NULL);
    free(out);
    o.column = "msg";
    out = stream("", &o, &rc, &e);
    T_EQ_INT(rc, LR_EPARSE);
    free(out);
    out = stream("id,msg\n1,x\n2\n", &o, &rc, &e); /* a short record */
    T_EQ_INT(rc, LR_EPARSE);
    T_CHECK(strstr(e.msg, "CSV line 3") != NULL);
    free(out);
}

/* Follow mode on a pipe: 2 instead of blocking, a line as soon as its '\n'
 * arrives, a long line cut at the cap across several 2s; end_input hands
 * out the unterminated rest, then 0. */
static void test_lines_follow_pipe(void) {
    int p[2];
    T_EQ_INT(pipe(p), 0);
    lr_io_reader *r = lr_io_reader_new(p[0], 8, NULL);
    lr_io_reader_set_follow(r, 1);
    const char *line;
    size_t n;
    int cut = -1;
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 2);
    T_EQ_INT((int)write(p[1], "0123456", 7), 7);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 2);
    T_EQ_INT((int)write(p[1], "789abc", 6), 6); /* past the cap of 8 */
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 2);
    T_EQ_INT((int)write(p[1], "def\nnext\ntail", 13), 13);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 1);
    T_CHECK(n == 8 && memcmp(line, "01234567", 8) == 0 && cut == 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 1);
    T_CHECK(n == 4 && memcmp(line, "next", 4) == 0 && cut == 0);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 2);
    lr_io_reader_end_input(r);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 1);
    T_CHECK(n == 4 && memcmp(line, "tail", 4) == 0);
    T_EQ_INT(lr_io_read_line(r, &line, &n, &cut, NULL), 0);
    T_EQ_INT((int)lr_io_lines(r), 3);
    lr_io_reader_free(r);
    close(p[0]);
    close(p[1]);
}

/* Follow mode on a closed pipe: EOF is final as without follow. */
static void test_lines_follow_eof(void) {
    int p[2];
    T_EQ_INT(pipe(p), 0);
    T_EQ_INT((int)write(p[1], "a\nb", 3), 3);
    close(p[1]);
    lr_io_reader *r = lr_io_reader_new(p[0], 0, NULL);
    lr_io_reader_set_follow(r, 1);
    const char *line;
    size_t n;
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 1);
    T_CHECK(n == 1 && line[0] == 'b');
    T_EQ_INT(lr_io_read_line(r, &line, &n, NULL, NULL), 0);
    lr_io_reader_free(r);
    close(p[0]);
}

T_MAIN(T_CASE(test_lines_follow_pipe), T_CASE(test_lines_follow_eof), T_CASE(test_lines_basic), T_CASE(test_lines_huge), T_CASE(test_lines_cap), T_CASE(test_lines_not_sticky),
       T_CASE(test_lines_pipe_buffered), T_CASE(test_read_error), T_CASE(test_csv_read), T_CASE(test_csv_record_cap),
       T_CASE(test_csv_unterminated), T_CASE(test_csv_write), T_CASE(test_stream_jsonl), T_CASE(test_stream_csv))
