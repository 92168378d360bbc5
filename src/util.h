/*
 * util.h — small internals shared by every module: allocation through the
 * hook, error reporting into an lr_error, overflow-checked size arithmetic,
 * a growable byte buffer and JSON string escaping.
 *
 * Nothing here knows about logs or models; every other module may use it.
 */
#ifndef LR_UTIL_H
#define LR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

#define LR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LR_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define LR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LR_PRINTF(f, a)
#endif

/* Allocation through the hook. lr__calloc checks n * size for overflow and
 * zeroes the block; lr__alloc_array checks the product without zeroing. */
void *lr__malloc(size_t size);
void *lr__calloc(size_t n, size_t size);
void *lr__alloc_array(size_t n, size_t size);
void *lr__realloc(void *ptr, size_t size);
void lr__free(void *ptr);
char *lr__strdup(const char *s);
char *lr__strndup(const char *s, size_t len);

/* Fill `err` (may be NULL) with `code` and a printf-style message; returns
 * `code` so that callers can write `return lr__err(err, LR_EIO, ...)`. */
int lr__err(lr_error *err, int code, const char *fmt, ...) LR_PRINTF(3, 4);
int lr__verr(lr_error *err, int code, const char *fmt, va_list ap);

/* Seconds on the monotonic clock (for rates, intervals and ETAs). */
double lr__now_s(void);

/* 64-bit FNV-1a of n bytes (hash tables, file fingerprints), with the
 * offset basis 1469598103934665603 the code base has always used (a digit
 * short of the published 14695981039346656037): the agent's state files
 * keep fingerprints made with it, so it stays. */
uint64_t lr__fnv1a(const void *p, size_t n);

/* Overflow-checked arithmetic: true and *out set when the result fits. */
static inline bool lr__mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool lr__add_ok(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

/* A growable byte buffer. It owns `data`; `data` is always NUL-terminated
 * when len > 0 or after any successful put, so it can be used as a string.
 * The put functions return 0 or LR_ENOMEM (the buffer is left unchanged). */
typedef struct lr__buf {
    char *data;
    size_t len;
    size_t cap;
} lr__buf;

void lr__buf_init(lr__buf *b);
void lr__buf_free(lr__buf *b);
static inline void lr__buf_clear(lr__buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}
int lr__buf_reserve(lr__buf *b, size_t extra);
int lr__buf_put(lr__buf *b, const void *data, size_t len);
int lr__buf_putc(lr__buf *b, char c);
int lr__buf_puts(lr__buf *b, const char *s);
int lr__buf_printf(lr__buf *b, const char *fmt, ...) LR_PRINTF(2, 3);

/* Append `s` (len bytes of valid UTF-8) as a JSON string literal with its
 * quotes: `"`, `\` and control characters are escaped, everything else is
 * copied as is. */
int lr__buf_put_json_string(lr__buf *b, const char *s, size_t len);

/* Append a float the way JSON readers expect: the shortest "%g" form that
 * reads back as the same float (0.1f is "0.1"), never "nan"/"inf" (written
 * as null). */
int lr__buf_put_json_float(lr__buf *b, float v);

#endif /* LR_UTIL_H */
