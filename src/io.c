/*
 * io.c — reading lines of any size in bounded memory, RFC 4180 CSV records
 * on top of them, and small writing helpers.
 *
 * Design
 *  - The line reader owns one buffer holding [start, end) of unread bytes;
 *    `scan` marks how far a '\n' has already been looked for, so a long line
 *    arriving in many reads is scanned once. When no '\n' is buffered, the
 *    partial line moves to the front, the buffer doubles only if it is full,
 *    and read(2) fills the rest: memory is about twice the longest line.
 *  - With max_line > 0 a line longer than that keeps its first max_line bytes
 *    and the reader "skips" (drops each further read) until the '\n'; the
 *    buffer then never grows beyond max_line plus one read.
 *  - read(2) instead of stdio: a line is returned as soon as its '\n' has
 *    arrived, which is what streaming from an endless pipe needs.
 *  - The CSV reader pulls physical lines from a line reader and keeps
 *    pulling while a quoted field is open, adding back the '\n' it lost.
 */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_MIN_CAP (64u << 10)

struct lr_io_reader {
    int fd;
    size_t max_line;
    char *buf;
    size_t cap, start, end, scan;
    int skipping;       /* the current line passed max_line: drop input to '\n' */
    int follow;         /* never block; 2 instead of waiting (see set_follow) */
    int regular;        /* fd is a regular file (follow: EOF is not final)    */
    int ended;          /* end_input was called: behave as at end of input    */
    uint64_t lines;
};

lr_io_reader *lr_io_reader_new(int fd, size_t max_line, lr_error *err) {
    lr_io_reader *r = lr__calloc(1, sizeof *r);
    if (r) r->buf = lr__malloc(IO_MIN_CAP);
    if (!r || !r->buf) {
        lr__free(r);
        lr__err(err, LR_ENOMEM, "out of memory creating a line reader");
        return NULL;
    }
    r->fd = fd;
    r->max_line = max_line;
    r->cap = IO_MIN_CAP;
    return r;
}

void lr_io_reader_free(lr_io_reader *r) {
    if (!r) return;
    lr__free(r->buf);
    lr__free(r);
}

uint64_t lr_io_lines(const lr_io_reader *r) { return r->lines; }

/* Follow mode (--follow): a read that would block returns 2 instead, and on
 * a regular file end of file returns 2 too (the file may grow, like
 * tail -f) without handing out the unterminated last line. */
void lr_io_reader_set_follow(lr_io_reader *r, int on) {
    struct stat st;
    r->follow = on != 0;
    r->regular = fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* From now on behave as at end of input: the buffered lines, then an
 * unterminated last line, then 0 (used on SIGTERM in follow mode). */
void lr_io_reader_end_input(lr_io_reader *r) { r->ended = 1; }

int lr_io_reader_buffered(const lr_io_reader *r) {
    return r->scan < r->end && memchr(r->buf + r->scan, '\n', r->end - r->scan) != NULL;
}

/* Hand out [start, start+len) as the next line. */
static int emit(lr_io_reader *r, size_t len, int truncated, const char **line, size_t *out_len, int *trunc) {
    *line = r->buf + r->start;
    *out_len = len;
    if (trunc) *trunc = truncated;
    r->lines++;
    return 1;
}

int lr_io_read_line(lr_io_reader *r, const char **line, size_t *len, int *truncated, lr_error *err) {
    for (;;) {
        char *nl = r->scan < r->end ? memchr(r->buf + r->scan, '\n', r->end - r->scan) : NULL;
        if (nl) {
            size_t at = (size_t)(nl - r->buf), n = at - r->start;
            int cut = r->skipping;
            if (r->max_line && n > r->max_line) {
                n = r->max_line;
                cut = 1;
            }
            size_t first = r->start;
            r->start = r->scan = at + 1;
            r->skipping = 0;
            *line = r->buf + first;
            *len = n;
            if (truncated) *truncated = cut;
            r->lines++;
            return 1;
        }
        r->scan = r->end;
        if (r->max_line && !r->skipping && r->end - r->start > r->max_line) r->skipping = 1;
        if (r->skipping) r->end = r->scan = r->start + r->max_line;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->scan -= r->start;
            r->start = 0;
        }
        if (r->end == r->cap) {
            size_t cap;
            if (!lr__mul_ok(r->cap, 2, &cap)) return lr__err(err, LR_ENOMEM, "line too long");
            char *nb = lr__realloc(r->buf, cap);
            if (!nb) return lr__err(err, LR_ENOMEM, "out of memory for a line of %zu bytes", r->end);
            r->buf = nb;
            r->cap = cap;
        }
        ssize_t got = 0;
        if (!r->ended) {
            if (r->follow && !r->regular) {
                struct pollfd p = {.fd = r->fd, .events = POLLIN};
                int pr = poll(&p, 1, 0);
                if (pr == 0 || (pr < 0 && errno == EINTR)) return 2;
            }
            got = read(r->fd, r->buf + r->end, r->cap - r->end);
            if (got == 0 && r->follow && r->regular) return 2;
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            return lr__err(err, LR_EIO, "read error after line %llu: %s", (unsigned long long)r->lines,
                           strerror(errno));
        }
        if (got == 0) {
            if (r->end == r->start && !r->skipping) return 0;
            int cut = r->skipping;
            size_t n = r->end - r->start;
            r->skipping = 0;
            int rc = emit(r, n, cut, line, len, truncated);
            r->start = r->end = r->scan = 0; /* the line stays in buf until the next call */
            return rc;
        }
        r->end += (size_t)got;
    }
}

/* ------------------------------------------------------------ CSV */

struct lr_io_csv {
    lr_io_reader *lines;
    lr__buf data;         /* the fields, each followed by a NUL */
    size_t *offs;         /* start of field i in data */
    size_t n_fields, cap_fields;
    uint64_t line;        /* where the current record starts */
    size_t max_bytes;     /* cap on data (0: none); lr_io_csv_set_max */
    int truncated;        /* the current record reached the cap */
};

void lr_io_csv_set_max(lr_io_csv *c, size_t max_bytes) { c->max_bytes = max_bytes; }
int lr_io_csv_truncated(const lr_io_csv *c) { return c->truncated; }

/* Room for one more byte of the record: once the cap is reached nothing
 * more is kept (fields, separators) and the record is marked truncated, but
 * reading goes on to its end. */
static int csv_room(lr_io_csv *c) {
    if (!c->max_bytes || c->data.len < c->max_bytes) return 1;
    c->truncated = 1;
    return 0;
}

lr_io_csv *lr_io_csv_new(lr_io_reader *lines, lr_error *err) {
    lr_io_csv *c = lr__calloc(1, sizeof *c);
    if (!c) {
        lr__err(err, LR_ENOMEM, "out of memory creating a CSV reader");
        return NULL;
    }
    c->lines = lines;
    lr__buf_init(&c->data);
    return c;
}

void lr_io_csv_free(lr_io_csv *c) {
    if (!c) return;
    lr__buf_free(&c->data);
    lr__free(c->offs);
    lr__free(c);
}

size_t lr_io_csv_n_fields(const lr_io_csv *c) { return c->n_fields; }
uint64_t lr_io_csv_line(const lr_io_csv *c) { return c->line; }

const char *lr_io_csv_field(const lr_io_csv *c, size_t i, size_t *len) {
    if (i >= c->n_fields) return NULL;
    size_t end = i + 1 < c->n_fields ? c->offs[i + 1] - 1 : c->data.len - 1;
    if (len) *len = end - c->offs[i];
    return c->data.data + c->offs[i];
}

int lr_io_csv_find(const lr_io_csv *c, const char *name) {
    size_t want = strlen(name);
    for (size_t i = 0; i < c->n_fields; i++) {
        size_t len;
        const char *f = lr_io_csv_field(c, i, &len);
        if (i == 0 && len >= 3 && memcmp(f, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 BOM */
            f += 3;
            len -= 3;
        }
        if (len == want && memcmp(f, name, len) == 0) return (int)i;
    }
    return -1;
}

static int start_field(lr_io_csv *c) {
    if (c->n_fields == c->cap_fields) {
        size_t cap = c->cap_fields ? c->cap_fields * 2 : 16;
        size_t *no = lr__realloc(c->offs, cap * sizeof *no);
        if (!no) return LR_ENOMEM;
        c->offs = no;
        c->cap_fields = cap;
    }
    c->offs[c->n_fields++] = c->data.len;
    return LR_OK;
}

int lr_io_csv_read(lr_io_csv *c, lr_error *err) {
    const char *s;
    size_t n;
    int rc;
    int cut = 0; /* the line reader cut this physical line at its cap */
    do { /* blank lines between records are skipped */
        rc = lr_io_read_line(c->lines, &s, &n, &cut, err);
        if (rc <= 0) return rc;
    } while (n == 0 || (n == 1 && s[0] == '\r'));
    c->line = lr_io_lines(c->lines);
    lr__buf_clear(&c->data);
    c->n_fields = 0;
    c->truncated = 0;
    if (start_field(c)) goto nomem;
    int in_quotes = 0, quoted = 0; /* quoted: this field began with a quote */
    size_t field_chars = 0;        /* characters of the current field (kept or not) */
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            char ch = s[i];
            if (in_quotes) {
                if (ch == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        if (csv_room(c) && lr__buf_putc(&c->data, '"')) goto nomem;
                        i++;
                    } else {
                        in_quotes = 0;
                    }
                } else if (csv_room(c) && lr__buf_putc(&c->data, ch)) {
                    goto nomem;
                }
                continue;
            }
            if (ch == '\r' && i == n - 1) break; /* the CR of a CRLF record end */
            if (ch == ',') {
                if (csv_room(c) && (lr__buf_putc(&c->data, '\0') || start_field(c))) goto nomem;
                field_chars = 0;
                quoted = 0;
            } else if (ch == '"' && !quoted && field_chars == 0) {
                in_quotes = quoted = 1;
            } else {
                field_chars++;
                if (csv_room(c) && lr__buf_putc(&c->data, ch)) goto nomem;
            }
        }
        if (cut) {
            /* the rest of the line is gone, closing quote and all: the
             * record ends here, cut, rather than swallow the next lines */
            c->truncated = 1;
            in_quotes = 0;
        }
        if (!in_quotes) break;
        /* a quoted field goes on over the line break */
        if (csv_room(c) && lr__buf_putc(&c->data, '\n')) goto nomem;
        rc = lr_io_read_line(c->lines, &s, &n, &cut, err);
        if (rc < 0) return rc;
        if (rc == 0)
            return lr__err(err, LR_EPARSE, "CSV line %llu: a quoted field is not closed before the end of input",
                           (unsigned long long)c->line);
    }
    if (lr__buf_putc(&c->data, '\0')) goto nomem;
    return 1;
nomem:
    return lr__err(err, LR_ENOMEM, "out of memory reading CSV line %llu", (unsigned long long)c->line);
}

/* ------------------------------------------------------------ writing */

int lr__io_write_all(int fd, const void *data, size_t len, lr_error *err) {
    const char *p = data;
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0) {
            if (errno == EINTR) continue;
            return lr__err(err, LR_EIO, "write error: %s", strerror(errno));
        }
        p += put;
        len -= (size_t)put;
    }
    return LR_OK;
}

int lr__io_csv_put(lr__buf *b, const char *s, size_t len) {
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) return lr__buf_put(b, s, len);
    if (lr__buf_putc(b, '"')) return LR_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' && lr__buf_putc(b, '"')) return LR_ENOMEM;
        if (lr__buf_putc(b, s[i])) return LR_ENOMEM;
    }
    return lr__buf_putc(b, '"');
}
