/*
 * state.c — the agent's checkpoint file (format and guarantees in state.h
 * and docs/agent.md).
 *
 * Design
 *  - A few entries (one per followed file) in a flat array: a node follows
 *    hundreds of files, looked up by (dev, ino) once per checkpoint each,
 *    so a linear search costs less than the write itself.
 *  - The whole file is rewritten on each save through the one atomic
 *    writer (files.c): a crash leaves the old state or the new one, never a
 *    mix, and a target that is not a regular file is refused.
 *  - Loading is strict and bounded (LR__STATE_MAX_BYTES): the caller
 *    decides what a corrupt file means (the agent stops with the message).
 */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"

void lr__state_free(lr__state *s) {
    for (size_t i = 0; i < s->n; i++) lr__free(s->e[i].path);
    lr__free(s->e);
    lr__free(s->path);
    memset(s, 0, sizeof *s);
}

lr__state_entry *lr__state_find(lr__state *s, uint64_t dev, uint64_t ino) {
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].dev == dev && s->e[i].ino == ino) return &s->e[i];
    return NULL;
}

lr__state_entry *lr__state_get(lr__state *s, uint64_t dev, uint64_t ino, const char *path) {
    lr__state_entry *e = lr__state_find(s, dev, ino);
    if (e) return e;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        lr__state_entry *ne = lr__realloc(s->e, cap * sizeof *ne);
        if (!ne) return NULL;
        s->e = ne;
        s->cap = cap;
    }
    char *p = lr__strdup(path ? path : "");
    if (!p) return NULL;
    e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    e->dev = dev;
    e->ino = ino;
    e->path = p;
    return e;
}

void lr__state_remove(lr__state *s, uint64_t dev, uint64_t ino) {
    lr__state_entry *e = lr__state_find(s, dev, ino);
    if (!e) return;
    lr__free(e->path);
    *e = s->e[--s->n];
}

/* ---------------------------------------------------------------- text */

static int put_path(lr__buf *b, const char *p) {
    for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
        int rc = (*c < '!' || *c > '~' || *c == '%') ? lr__buf_printf(b, "%%%02X", *c) : lr__buf_putc(b, (char)*c);
        if (rc) return rc;
    }
    return 0;
}

/* Decode a %XX path of n bytes into a new string; NULL when malformed. */
static char *get_path(const char *s, size_t n) {
    char *out = lr__malloc(n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            unsigned v = 0;
            for (int j = 1; j <= 2; j++) {
                char h = i + (size_t)j < n ? s[i + (size_t)j] : 0;
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) {
                    lr__free(out);
                    return NULL;
                }
                v = v * 16 + (unsigned)d;
            }
            if (v == 0) {
                lr__free(out);
                return NULL;
            }
            out[k++] = (char)v;
            i += 2;
        } else if (c < '!' || c > '~') {
            lr__free(out);
            return NULL;
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
    return out;
}

int lr__state_save(const lr__state *s, lr_error *err) {
    lr__buf b;
    lr__buf_init(&b);
    int rc = lr__buf_puts(&b, "logrisk-state 1\n");
    for (size_t i = 0; i < s->n && !rc; i++) {
        const lr__state_entry *e = &s->e[i];
        rc = lr__buf_printf(&b, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %016" PRIx64 " %" PRIu64 " %" PRIu64 " ",
                            e->dev, e->ino, e->fp_len, e->fp, e->lines, e->offset);
        if (!rc) rc = put_path(&b, e->path);
        if (!rc) rc = lr__buf_putc(&b, '\n');
    }
    if (!rc) rc = lr__buf_printf(&b, "end %zu\n", s->n);
    if (rc) {
        lr__buf_free(&b);
        return lr__err(err, LR_ENOMEM, "out of memory writing the state file '%s'", s->path);
    }
    rc = lr__file_write_atomic(s->path, b.data, b.len, err);
    lr__buf_free(&b);
    return rc;
}

/* Parse one unsigned decimal field at *p (then one space); 0 or -1. */
static int field_u64(const char **p, const char *end, int hex, uint64_t *out) {
    const char *s = *p;
    uint64_t v = 0;
    int nd = 0;
    while (s < end && *s != ' ') {
        int d = *s >= '0' && *s <= '9' ? *s - '0'
                : hex && *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
                : -1;
        if (d < 0) return -1;
        uint64_t base = hex ? 16 : 10;
        if (v > (UINT64_MAX - (uint64_t)d) / base) return -1;
        v = v * base + (uint64_t)d;
        s++;
        nd++;
    }
    if (nd == 0 || nd > 20 || s >= end) return -1;
    *p = s + 1;
    *out = v;
    return 0;
}

int lr__state_load(lr__state *s, const char *path, lr_error *err) {
    memset(s, 0, sizeof *s);
    s->path = lr__strdup(path);
    if (!s->path) return lr__err(err, LR_ENOMEM, "out of memory");
    if (access(path, F_OK) != 0 && errno == ENOENT) return 0;
    char *text = NULL;
    size_t len = 0;
    int rc = lr__file_read_all(path, "state file", LR__STATE_MAX_BYTES, &text, &len, err);
    if (rc) return rc;
    const char *p = text, *end = text + len;
    uint64_t line = 0;
    int done = 0;
    const char *why = NULL;
    while (p < end && !why) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            why = "the last line has no end (the file was cut)";
            line++;
            break;
        }
        line++;
        size_t n = (size_t)(nl - p);
        if (done) {
            why = "text after the \"end\" line";
        } else if (line == 1) {
            if (n != 15 || memcmp(p, "logrisk-state 1", 15) != 0)
                why = "not a logrisk state file (the first line is not \"logrisk-state 1\")";
        } else if (n > 4 && memcmp(p, "end ", 4) == 0) {
            const char *q = p + 4;
            uint64_t count = 0;
            char tmp[24];
            size_t m = LR_MIN(n - 4, sizeof tmp - 2);
            memcpy(tmp, q, m);
            tmp[m] = ' ';
            const char *tq = tmp;
            if (n - 4 > 20 || field_u64(&tq, tmp + m + 1, 0, &count) != 0 || count != s->n)
                why = "the \"end\" line does not count the entries";
            done = 1;
        } else {
            uint64_t v[6];
            const char *q = p;
            for (int k = 0; k < 6 && !why; k++)
                if (field_u64(&q, nl, k == 3, &v[k]) != 0) why = "an entry that does not parse";
            if (!why && v[2] > LR__STATE_FP_BYTES) why = "a fingerprint length out of range";
            char *epath = why ? NULL : get_path(q, (size_t)(nl - q));
            if (!why && !epath) why = "an entry whose path does not parse";
            if (!why) {
                if (lr__state_find(s, v[0], v[1])) {
                    why = "two entries for one file";
                    lr__free(epath);
                } else {
                    lr__state_entry *e = lr__state_get(s, v[0], v[1], epath);
                    lr__free(epath);
                    if (!e) {
                        lr__free(text);
                        return lr__err(err, LR_ENOMEM, "out of memory reading the state file '%s'", path);
                    }
                    e->fp_len = (uint32_t)v[2];
                    e->fp = v[3];
                    e->lines = v[4];
                    e->offset = v[5];
                }
            }
        }
        p = nl + 1;
    }
    if (!why && !done) why = line == 0 ? "the file is empty" : "no \"end\" line (the file was cut)";
    lr__free(text);
    if (why) {
        for (size_t i = 0; i < s->n; i++) lr__free(s->e[i].path);
        s->n = 0;
        return lr__err(err, LR_EPARSE, "state file '%s' line %llu: %s", path, (unsigned long long)line, why);
    }
    return 0;
}

/* ---------------------------------------------------------- fingerprints */

/* pread up to n bytes at off (retrying short reads); bytes read or -1. */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int lr__state_fingerprint(int fd, uint32_t *len, uint64_t *fp) {
    unsigned char buf[LR__STATE_FP_BYTES];
    ssize_t n = pread_full(fd, buf, sizeof buf, 0);
    if (n < 0) return LR_EIO;
    *len = (uint32_t)n;
    *fp = lr__fnv1a(buf, (size_t)n);
    return 0;
}

int lr__state_matches(int fd, const lr__state_entry *e) {
    unsigned char buf[LR__STATE_FP_BYTES];
    if (e->fp_len > sizeof buf) return 0;
    ssize_t n = pread_full(fd, buf, e->fp_len, 0);
    return n == (ssize_t)e->fp_len && lr__fnv1a(buf, (size_t)n) == e->fp;
}

int lr__state_skip_lines(int fd, uint64_t from, uint64_t n, uint64_t *to, uint64_t *got) {
    char buf[65536];
    uint64_t pos = from, done = 0, last = from;
    while (done < n) {
        ssize_t r = pread_full(fd, buf, sizeof buf, pos);
        if (r < 0) return LR_EIO;
        if (r == 0) break;
        const char *p = buf, *e = buf + r;
        while (done < n) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            if (!nl) break;
            done++;
            last = pos + (uint64_t)(nl - buf) + 1;
            p = nl + 1;
        }
        pos += (uint64_t)r;
    }
    *to = last;
    *got = done;
    return 0;
}
