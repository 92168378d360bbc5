/*
 * util.c — allocation hook, error messages, byte buffer, JSON escaping.
 * See util.h for the contracts.
 */
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static lr_allocator g_alloc = {malloc, realloc, free};

void lr_set_allocator(const lr_allocator *allocator) {
    if (allocator) {
        g_alloc = *allocator;
    } else {
        g_alloc.malloc_fn = malloc;
        g_alloc.realloc_fn = realloc;
        g_alloc.free_fn = free;
    }
}

void *lr__malloc(size_t size) { return g_alloc.malloc_fn(size ? size : 1); }

void *lr__alloc_array(size_t n, size_t size) {
    size_t total;
    if (!lr__mul_ok(n, size, &total)) return NULL;
    return lr__malloc(total);
}

void *lr__calloc(size_t n, size_t size) {
    size_t total;
    if (!lr__mul_ok(n, size, &total)) return NULL;
    void *p = lr__malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

void *lr__realloc(void *ptr, size_t size) { return g_alloc.realloc_fn(ptr, size ? size : 1); }

void lr__free(void *ptr) {
    if (ptr) g_alloc.free_fn(ptr);
}

char *lr__strndup(const char *s, size_t len) {
    char *d = lr__malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *lr__strdup(const char *s) { return lr__strndup(s, strlen(s)); }

uint64_t lr__fnv1a(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

double lr__now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

const char *lr_strerror(int code) {
    switch (code) {
    case LR_OK: return "ok";
    case LR_EIO: return "I/O error";
    case LR_ENOMEM: return "out of memory";
    case LR_EPARSE: return "parse error";
    case LR_EFORMAT: return "bad file format";
    case LR_EINVAL: return "invalid argument";
    case LR_ERANGE: return "value out of range";
    case LR_EUNSUPPORTED: return "not supported";
    case LR_ECHECKSUM: return "checksum mismatch";
    default: return "unknown error";
    }
}

int lr__verr(lr_error *err, int code, const char *fmt, va_list ap) {
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int lr__err(lr_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lr__verr(err, code, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------------ buf */

void lr__buf_init(lr__buf *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void lr__buf_free(lr__buf *b) {
    lr__free(b->data);
    lr__buf_init(b);
}

int lr__buf_reserve(lr__buf *b, size_t extra) {
    size_t need;
    if (!lr__add_ok(b->len, extra, &need) || !lr__add_ok(need, 1, &need)) return LR_ENOMEM;
    if (need <= b->cap) return LR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *data = lr__realloc(b->data, cap);
    if (!data) return LR_ENOMEM;
    b->data = data;
    b->cap = cap;
    return LR_OK;
}

int lr__buf_put(lr__buf *b, const void *data, size_t len) {
    if (lr__buf_reserve(b, len)) return LR_ENOMEM;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return LR_OK;
}

int lr__buf_putc(lr__buf *b, char c) { return lr__buf_put(b, &c, 1); }

int lr__buf_puts(lr__buf *b, const char *s) { return lr__buf_put(b, s, strlen(s)); }

int lr__buf_printf(lr__buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return LR_EINVAL;
    if (lr__buf_reserve(b, (size_t)n)) return LR_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LR_OK;
}

/* Bytes that JSON strings must escape: '"', '\\' and the C0 controls. */
static inline int json_needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

int lr__buf_put_json_string(lr__buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    /* worst case every byte becomes \u00XX (6 bytes) plus the two quotes */
    size_t worst;
    if (!lr__mul_ok(len, 6, &worst) || !lr__add_ok(worst, 2, &worst)) return LR_ENOMEM;
    if (lr__buf_reserve(b, worst)) return LR_ENOMEM;
    char *out = b->data + b->len;
    *out++ = '"';
    size_t i = 0;
    while (i < len) {
        /* copy the run of ordinary bytes in one go: log text is mostly that */
        size_t run = i;
        while (run < len && !json_needs_escape((unsigned char)s[run])) run++;
        memcpy(out, s + i, run - i);
        out += run - i;
        if (run == len) break;
        unsigned char c = (unsigned char)s[run];
        i = run + 1;
        *out++ = '\\';
        switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        default:
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out++ = '"';
    b->len = (size_t)(out - b->data);
    b->data[b->len] = '\0';
    return LR_OK;
}

int lr__buf_put_json_float(lr__buf *b, float v) {
    if (!isfinite(v)) return lr__buf_puts(b, "null");
    /* the shortest %g form that reads back as the same float (at most 9 digits) */
    char text[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, (double)v);
        if (strtof(text, NULL) == v) break;
    }
    return lr__buf_puts(b, text);
}
