/*
 * json.h — a small, strict, safe JSON (RFC 8259) DOM parser.
 *
 * Used for Hugging Face config.json, safetensors headers and JSON log lines.
 * The whole text is parsed into a tree of lr__json values owned by one
 * lr__json_doc (one arena: freeing the doc frees every value and string).
 *
 * Strict: exactly one value surrounded by optional whitespace; no comments,
 * trailing commas, single quotes, NaN/Infinity, leading zeros or '+' signs;
 * control characters inside strings and invalid UTF-8 are errors. Escapes
 * (\" \\ \/ \b \f \n \r \t \uXXXX) are decoded to UTF-8, surrogate pairs are
 * combined; a lone surrogate becomes U+FFFD (so every decoded string is valid
 * UTF-8, like the rest of logrisk's text). Nesting is limited to
 * LR_JSON_MAX_DEPTH. Errors name the byte offset where parsing stopped.
 *
 * Numbers keep their double value; `is_int` is set and `i64` holds the exact
 * value when the literal has no fraction or exponent and fits in int64_t
 * (or when it is an integral double within +-2^53).
 *
 * Objects keep their members in document order; duplicate keys are allowed
 * unless LR_JSON_NO_DUPLICATES is passed, and lookups return the LAST
 * member with the key (like Python's json module).
 */
#ifndef LR_JSON_H
#define LR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

#define LR_JSON_MAX_DEPTH 128

/* Parse flags. */
#define LR_JSON_NO_DUPLICATES 1u /* an object with a repeated key is an error */

typedef enum lr__json_type {
    LR_JSON_NULL = 0,
    LR_JSON_FALSE,
    LR_JSON_TRUE,
    LR_JSON_NUMBER,
    LR_JSON_STRING,
    LR_JSON_ARRAY,
    LR_JSON_OBJECT,
} lr__json_type;

typedef struct lr__json lr__json;
struct lr__json {
    lr__json_type type;
    bool is_int;         /* NUMBER: i64 is exact                             */
    const char *key;     /* member of an object: its key (NUL-terminated)    */
    size_t key_len;      /* (keys may contain NUL bytes: use the length)     */
    double num;          /* NUMBER                                           */
    int64_t i64;         /* NUMBER with is_int                               */
    const char *str;     /* STRING: decoded UTF-8, NUL-terminated            */
    size_t len;          /* STRING: length in bytes                          */
    lr__json *items;     /* ARRAY elements / OBJECT members (n of them)      */
    size_t n;
    size_t offset;       /* byte offset of the value in the text             */
    size_t key_offset;   /* member of an object: byte offset of its key      */
};

typedef struct lr__json_doc lr__json_doc;

/* Parse `len` bytes of `text` (need not be NUL-terminated). Returns a doc
 * the caller owns (free with lr__json_free) or NULL with LR_EPARSE (message
 * with the byte offset) or LR_ENOMEM in err. */
lr__json_doc *lr__json_parse(const char *text, size_t len, unsigned flags, lr_error *err);
void lr__json_free(lr__json_doc *doc);
/* The root value; valid as long as the doc. */
const lr__json *lr__json_root(const lr__json_doc *doc);

/* Member of an object by NUL-terminated key (the last one with that key),
 * or NULL when `obj` is not an object or has no such key. */
const lr__json *lr__json_get(const lr__json *obj, const char *key);
/* The same with a key of given length. */
const lr__json *lr__json_getn(const lr__json *obj, const char *key, size_t key_len);
/* Element i of an array, or NULL. */
const lr__json *lr__json_at(const lr__json *arr, size_t i);

/* Typed lookups: true and *out set when `obj` has `key` of the right type.
 * get_int needs an exact integer (is_int). */
bool lr__json_get_int(const lr__json *obj, const char *key, int64_t *out);
bool lr__json_get_num(const lr__json *obj, const char *key, double *out);
bool lr__json_get_bool(const lr__json *obj, const char *key, bool *out);
bool lr__json_get_str(const lr__json *obj, const char *key, const char **out, size_t *len);

/* A short name of a type ("object", "string", ...) for messages. */
const char *lr__json_type_name(lr__json_type t);

#endif /* LR_JSON_H */
