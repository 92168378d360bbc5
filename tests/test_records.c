/*
 * test_records.c — the record reader (src/records.c): the CRI line parser
 * and RFC 3339 check, JSON message lookup (defaults, dotted paths, docker
 * detection), auto-detection of each format, CRI partial lines joined until
 * F and a dangling partial at EOF, Docker lines split at 16 KiB joined until
 * a "log" ending in '\n', malformed lines scored as raw with a count, line
 * numbers of the first physical line, CSV columns, the message cap, and the
 * follow mode of the line reader (2 instead of blocking on a pipe; a
 * regular file that grows).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logrisk.h"
#include "records.h"
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

/* Read every record of `data` with format fmt; joins "line:msg" pairs with
 * '|' into out (NUL shown as '0', malformed records prefixed by '!').
 * Returns the record count; *format gets the format used. */
static int recs_of(const char *data, lr_rec_format fmt, const char *field, const char *column, size_t max_bytes,
                   char *out, size_t cap, lr_rec_format *format, uint64_t *malformed) {
    FILE *f = tmp_with(data, strlen(data));
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.format = fmt;
    o.field = field;
    o.column = column;
    if (max_bytes) o.max_bytes = max_bytes;
    lr_error err = {0};
    lr_records *r = lr_records_new(fileno(f), &o, &err);
    T_CHECK(r != NULL);
    if (!r) {
        fclose(f);
        return -1;
    }
    lr_record rec;
    int n = 0, rc;
    size_t used = 0;
    while ((rc = lr_records_next(r, &rec, &err)) == 1) {
        char head[48];
        int k = snprintf(head, sizeof head, "%s%s%llu:", n ? "|" : "", rec.malformed ? "!" : "",
                         (unsigned long long)rec.line);
        for (int i = 0; i < k && used + 1 < cap; i++) out[used++] = head[i];
        for (size_t i = 0; i < rec.len && used + 1 < cap; i++) out[used++] = rec.msg[i] ? rec.msg[i] : '0';
        n++;
    }
    T_EQ_INT(rc, 0);
    out[used] = '\0';
    if (format) *format = lr_records_format(r);
    if (malformed) *malformed = lr_records_malformed(r);
    lr_records_free(r);
    fclose(f);
    return n;
}

static void test_rfc3339(void) {
    const char *good[] = {"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789Z",
                          "2024-01-02T03:04:05.1+02:00", "2024-01-02T03:04:05-07:30"};
    const char *bad[] = {"2024-01-02 03:04:05Z", "2024-01-02T03:04:05", "2024-01-02T03:04:05.Z",
                         "2024-1-02T03:04:05Z", "2024-01-02T03:04:05+0200", "2024-01-02T03:04:05Zx", ""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) T_CHECK(lr__rec_is_rfc3339(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) T_CHECK(!lr__rec_is_rfc3339(bad[i], strlen(bad[i])));
}

static void test_cri_parse(void) {
    lr__rec_cri c;
    const char *l = "2024-01-02T03:04:05.999999999Z stderr F kubelet: error syncing pod";
    T_CHECK(lr__rec_parse_cri(l, strlen(l), &c));
    T_EQ_INT(c.stream, 2);
    T_EQ_INT(c.partial, 0);
    T_CHECK(c.msg_len == strlen("kubelet: error syncing pod") && memcmp(c.msg, "kubelet: error", 14) == 0);
    T_CHECK(c.time == l && c.time_len == 30);
    l = "2024-01-02T03:04:05Z stdout P";
    T_CHECK(lr__rec_parse_cri(l, strlen(l), &c));
    T_EQ_INT(c.partial, 1);
    T_EQ_INT((int)c.msg_len, 0);
    l = "2024-01-02T03:04:05Z stdout F  two spaces";
    T_CHECK(lr__rec_parse_cri(l, strlen(l), &c) && c.msg_len == 11 && c.msg[0] == ' ');
    const char *bad[] = {"2024-01-02T03:04:05Z stdin F x", "2024-01-02T03:04:05Z stdout X x",
                         "2024-01-02T03:04:05Z stdout Fx", "2024-01-02T03:04:05Z stdout", "plain text",
                         "2024-01-02T03:04:05Zstdout F x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) T_CHECK(!lr__rec_parse_cri(bad[i], strlen(bad[i]), &c));
}

static void test_json_message(void) {
    lr__buf b;
    lr__buf_init(&b);
    int docker = -1;
    const char *l = "{\"log\":\"disk full\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:05Z\"}";
    T_EQ_INT(lr__rec_json_message(l, strlen(l), NULL, &b, &docker), 1);
    T_EQ_INT(docker, 1);
    T_CHECK(b.len == 10 && memcmp(b.data, "disk full\n", 10) == 0);
    lr__buf_clear(&b);
    l = "{\"level\":\"error\",\"msg\":\"m\\u00e9\",\"message\":7,\"log\":\"x\"}"; /* message is not a string */
    T_EQ_INT(lr__rec_json_message(l, strlen(l), NULL, &b, &docker), 1);
    T_EQ_INT(docker, 0);
    T_CHECK(b.len == 3 && memcmp(b.data, "m\xc3\xa9", 3) == 0);
    lr__buf_clear(&b);
    l = "{\"a\":{\"b\":{\"c\":\"deep\"}},\"a.b\":\"flat\"}";
    T_EQ_INT(lr__rec_json_message(l, strlen(l), "a.b.c", &b, NULL), 1);
    T_CHECK(b.len == 4 && memcmp(b.data, "deep", 4) == 0);
    lr__buf_clear(&b);
    T_EQ_INT(lr__rec_json_message(l, strlen(l), "a.b", &b, NULL), 1); /* the literal key wins */
    T_CHECK(b.len == 4 && memcmp(b.data, "flat", 4) == 0);
    T_EQ_INT(lr__rec_json_message(l, strlen(l), "a.x", &b, NULL), 2);
    T_EQ_INT(lr__rec_json_message("[1,2]", 5, NULL, &b, NULL), 0);
    T_EQ_INT(lr__rec_json_message("{\"msg\":", 7, NULL, &b, NULL), 0);
    T_EQ_INT(lr__rec_json_message("", 0, NULL, &b, NULL), 0);
    lr__buf_free(&b);
}

static void test_raw_and_crlf(void) {
    char out[512];
    lr_rec_format f;
    uint64_t bad = 9;
    int n = recs_of("a\r\n\r\nb\nno newline", LR_REC_AUTO, NULL, NULL, 0, out, sizeof out, &f, &bad);
    T_EQ_INT(n, 4);
    T_EQ_STR(out, "1:a|2:|3:b|4:no newline");
    T_EQ_INT((int)f, LR_REC_RAW);
    T_EQ_INT((int)bad, 0);
    T_EQ_INT(recs_of("", LR_REC_AUTO, NULL, NULL, 0, out, sizeof out, &f, NULL), 0);
}

static void test_cri_records(void) {
    char out[512];
    lr_rec_format f;
    uint64_t bad = 0;
    const char *in =
        "\n"
        "2024-01-02T03:04:05Z stdout F first\r\n"
        "2024-01-02T03:04:06Z stdout P par\n"
        "2024-01-02T03:04:06Z stdout P t-\n"
        "2024-01-02T03:04:06Z stdout F end\n"
        "garbage line\n"
        "2024-01-02T03:04:07Z stderr P open\n"
        "not cri\n"
        "2024-01-02T03:04:08Z stderr P dangling";
    int n = recs_of(in, LR_REC_AUTO, NULL, NULL, 0, out, sizeof out, &f, &bad);
    T_EQ_INT((int)f, LR_REC_CRI);
    T_EQ_INT(n, 7);
    /* auto decides per line: the plain lines are raw records, not malformed */
    T_EQ_STR(out, "1:|2:first|3:part-end|6:garbage line|7:open|8:not cri|9:dangling");
    T_EQ_INT((int)bad, 0);
    n = recs_of(in, LR_REC_CRI, NULL, NULL, 0, out, sizeof out, &f, &bad);
    T_EQ_STR(out, "1:|2:first|3:part-end|!6:garbage line|7:open|!8:not cri|9:dangling");
    T_EQ_INT((int)bad, 2);
    /* forced raw keeps the CRI prefix */
    n = recs_of("2024-01-02T03:04:05Z stdout F x\n", LR_REC_RAW, NULL, NULL, 0, out, sizeof out, &f, NULL);
    T_EQ_STR(out, "1:2024-01-02T03:04:05Z stdout F x");
}

static void test_docker_records(void) {
    /* a 40 KiB line split the way dockerd does: 16 KiB pieces without '\n' */
    size_t big = 40 * 1024;
    char *in = malloc(big + 1024);
    size_t used = 0;
    used += (size_t)sprintf(in + used, "{\"log\":\"short\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n");
    for (size_t off = 0; off < big; off += 16384) {
        size_t piece = LR_MIN((size_t)16384, big - off);
        used += (size_t)sprintf(in + used, "{\"log\":\"");
        memset(in + used, 'x', piece);
        used += piece;
        used += (size_t)sprintf(in + used, "%s\",\"stream\":\"stdout\"}\n", off + piece == big ? "\\n" : "");
    }
    used += (size_t)sprintf(in + used, "{\"log\":\"crlf\\r\\n\",\"stream\":\"stdout\"}\nnot json\n");
    in[used] = '\0';
    char *out = malloc(big + 256);
    lr_rec_format f;
    uint64_t bad = 0;
    int n = recs_of(in, LR_REC_AUTO, NULL, NULL, 0, out, big + 256, &f, &bad);
    T_EQ_INT((int)f, LR_REC_DOCKER);
    T_EQ_INT(n, 4);
    T_CHECK(strncmp(out, "1:short|2:xxxx", 14) == 0);
    const char *p = strchr(out + 8, '|');
    T_CHECK(p && (size_t)(p - (out + 10)) == big); /* the whole line, joined */
    T_EQ_STR(p, "|5:crlf|6:not json");
    T_EQ_INT((int)bad, 0);
    /* the same with a 20000-byte cap: joined message cut at the cap */
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.max_bytes = 20000;
    FILE *fi = tmp_with(in, used);
    lr_records *r = lr_records_new(fileno(fi), &o, NULL);
    lr_record rec;
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_EQ_INT((int)rec.len, 20000);
    T_EQ_INT(rec.truncated, 1);
    T_EQ_INT((int)rec.line, 2);
    lr_records_free(r);
    fclose(fi);
    free(in);
    free(out);
}

static void test_jsonl_records(void) {
    char out[512];
    lr_rec_format f;
    uint64_t bad = 0;
    const char *in = "{\"level\":\"error\",\"message\":\"boom\"}\n"
                     "{\"msg\":\"second\"}\n"
                     "{\"other\":1}\n"
                     "{broken\n"
                     "\n"
                     "{\"log\":\"third\"}\n";
    int n = recs_of(in, LR_REC_AUTO, NULL, NULL, 0, out, sizeof out, &f, &bad);
    T_EQ_INT((int)f, LR_REC_JSONL);
    T_EQ_INT(n, 6);
    T_EQ_STR(out, "1:boom|2:second|3:{\"other\":1}|4:{broken|5:|6:third");
    T_EQ_INT((int)bad, 0);
    n = recs_of(in, LR_REC_JSONL, NULL, NULL, 0, out, sizeof out, &f, &bad);
    T_EQ_STR(out, "1:boom|2:second|!3:{\"other\":1}|!4:{broken|5:|6:third");
    T_EQ_INT((int)bad, 2);
    n = recs_of("{\"k\":{\"m\":\"nested\"},\"message\":\"top\"}\n", LR_REC_AUTO, "k.m", NULL, 0, out, sizeof out,
                &f, NULL);
    T_EQ_STR(out, "1:nested");
}

static void test_csv_records(void) {
    char out[512];
    lr_rec_format f;
    uint64_t bad = 0;
    const char *in = "ts,text,level\n"
                     "1,\"hello, world\",info\n"
                     "2,\"two\nlines\",error\n"
                     "3\n";
    int n = recs_of(in, LR_REC_AUTO, NULL, "text", 0, out, sizeof out, &f, &bad);
    T_EQ_INT((int)f, LR_REC_CSV);
    T_EQ_INT(n, 3);
    T_EQ_STR(out, "2:hello, world|3:two\nlines|!5:3");
    T_EQ_INT((int)bad, 1);
    n = recs_of(in, LR_REC_CSV, NULL, "3", 0, out, sizeof out, &f, NULL);
    T_EQ_STR(out, "2:info|3:error|!5:3");
    /* a missing column is an error */
    FILE *fi = tmp_with(in, strlen(in));
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.format = LR_REC_CSV;
    o.column = "nope";
    lr_error err = {0};
    lr_records *r = lr_records_new(fileno(fi), &o, &err);
    lr_record rec;
    T_EQ_INT(lr_records_next(r, &rec, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "nope") != NULL);
    lr_records_free(r);
    fclose(fi);
    /* csv cannot be followed */
    o.follow = 1;
    T_CHECK(lr_records_new(0, &o, &err) == NULL);
}

static void test_follow_pipe(void) {
    int p[2];
    T_EQ_INT(pipe(p), 0);
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.follow = 1;
    lr_records *r = lr_records_new(p[0], &o, NULL);
    lr_record rec;
    T_EQ_INT(lr_records_next(r, &rec, NULL), 2); /* nothing yet: no blocking */
    T_EQ_INT((int)write(p[1], "2024-01-02T03:04:05Z stdout P a", 31), 31);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 2); /* no '\n' yet */
    T_EQ_INT((int)write(p[1], "\n2024-01-02T03:04:05Z stdout F b\nraw", 36), 36);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_CHECK(rec.len == 2 && memcmp(rec.msg, "ab", 2) == 0 && rec.line == 1 && rec.line_end == 2);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 2); /* "raw" is incomplete */
    lr_records_end_input(r);                     /* SIGTERM: what was read still comes out */
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_CHECK(rec.len == 3 && memcmp(rec.msg, "raw", 3) == 0 && !rec.malformed && rec.line == 3);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 0);
    lr_records_free(r);
    close(p[0]);
    close(p[1]);
}

static void test_follow_file(void) {
    char path[] = "/tmp/lr_records_XXXXXX";
    int fd = mkstemp(path);
    T_CHECK(fd >= 0);
    int rd = open(path, O_RDONLY);
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.follow = 1;
    o.format = LR_REC_RAW;
    lr_records *r = lr_records_new(rd, &o, NULL);
    lr_record rec;
    T_EQ_INT(lr_records_next(r, &rec, NULL), 2);
    T_EQ_INT((int)write(fd, "one\ntw", 6), 6);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_CHECK(rec.len == 3 && memcmp(rec.msg, "one", 3) == 0);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 2); /* EOF of a file is not final; "tw" waits */
    T_EQ_INT((int)write(fd, "o\n", 2), 2);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_CHECK(rec.len == 3 && memcmp(rec.msg, "two", 3) == 0 && rec.line == 2);
    lr_records_free(r);
    close(rd);
    close(fd);
    unlink(path);
}

static void test_format_names(void) {
    lr_rec_format f;
    T_EQ_INT(lr_records_parse_format("docker", &f), 0);
    T_EQ_INT((int)f, LR_REC_DOCKER);
    T_EQ_STR(lr_records_format_name(f), "docker");
    T_EQ_INT(lr_records_parse_format("xml", &f), LR_EINVAL);
}

/* Each record's wrapper metadata: the stream and time of CRI and Docker
 * records (a joined record: its first piece's), none for raw and JSON
 * lines, the auto reader and the named formats alike. */
static void test_record_meta(void) {
    const char data[] = "2024-01-02T03:04:05.5Z stderr F one\n"
                        "2024-01-02T03:04:06Z stdout P two \n"
                        "2024-01-02T03:04:07Z stderr F halves\n"
                        "{\"log\":\"three\\n\",\"stream\":\"stdout\",\"time\":\"T3\"}\n"
                        "{\"log\":\"four \",\"stream\":\"stderr\",\"time\":\"T4\"}\n"
                        "{\"log\":\"joined\\n\",\"stream\":\"stdout\",\"time\":\"T5\"}\n"
                        "{\"msg\":\"json\",\"stream\":\"x\",\"time\":\"T6\"}\n"
                        "plain\n";
    static const char *const want[][3] = {{"one", "stderr", "2024-01-02T03:04:05.5Z"},
                                          {"two halves", "stdout", "2024-01-02T03:04:06Z"},
                                          {"three", "stdout", "T3"},
                                          {"four joined", "stderr", "T4"},
                                          {"json", "", ""},
                                          {"plain", "", ""}};
    FILE *f = tmp_with(data, sizeof data - 1);
    lr_records *r = lr_records_new(fileno(f), NULL, NULL);
    lr_record rec;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
        T_CHECK(rec.len == strlen(want[i][0]) && memcmp(rec.msg, want[i][0], rec.len) == 0);
        T_CHECK(rec.stream_len == strlen(want[i][1]) && memcmp(rec.stream, want[i][1], rec.stream_len) == 0);
        T_CHECK(rec.time_len == strlen(want[i][2]) && memcmp(rec.time, want[i][2], rec.time_len) == 0);
    }
    T_EQ_INT(lr_records_next(r, &rec, NULL), 0);
    lr_records_free(r);
    fclose(f);
    /* named: docker */
    const char d[] = "{\"log\":\"x\\n\",\"stream\":\"stderr\",\"time\":\"T\"}\n";
    f = tmp_with(d, sizeof d - 1);
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.format = LR_REC_DOCKER;
    r = lr_records_new(fileno(f), &o, NULL);
    T_EQ_INT(lr_records_next(r, &rec, NULL), 1);
    T_CHECK(rec.stream_len == 6 && memcmp(rec.stream, "stderr", 6) == 0 && rec.time_len == 1 && rec.time[0] == 'T');
    lr_records_free(r);
    fclose(f);
}

T_MAIN(T_CASE(test_rfc3339), T_CASE(test_cri_parse), T_CASE(test_json_message), T_CASE(test_raw_and_crlf),
       T_CASE(test_cri_records), T_CASE(test_docker_records), T_CASE(test_jsonl_records),
       T_CASE(test_csv_records), T_CASE(test_follow_pipe), T_CASE(test_follow_file), T_CASE(test_format_names),
       T_CASE(test_record_meta))
