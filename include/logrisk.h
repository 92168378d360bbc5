/*
 * logrisk.h — the public API of logrisk.
 *
 * logrisk gives every log line a risk score from 0 (noise) to 10 (outage)
 * with a BERT-mini classifier, entirely in C: masking and weak labelling of
 * raw lines, a WordPiece tokenizer, the transformer forward pass, training,
 * a compact mmap-able model file and an ONNX exporter.
 *
 * Conventions (see STYLE.md in the project's shared notes):
 *  - every public name has the `lr_` prefix, macros and enum values `LR_`;
 *  - objects are opaque handles made by `lr_x_new` / `lr_x_load` and released
 *    by `lr_x_free` (which accepts NULL);
 *  - functions that can fail return an `int` (0 = ok, negative `LR_E*`) or a
 *    pointer (NULL = failure) and fill the caller's `lr_error` (which may be
 *    NULL when the caller does not want the message);
 *  - library code never exits, aborts or prints.
 *
 * Each module adds its section below; the sections follow the one-way flow
 * of data: io -> rules -> tokenizer -> model -> scoring.
 */
#ifndef LOGRISK_H
#define LOGRISK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LR_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

enum {
    LR_OK = 0,
    LR_EIO = -1,          /* a read, write, open or mmap failed            */
    LR_ENOMEM = -2,       /* an allocation failed                          */
    LR_EPARSE = -3,       /* malformed text input (YAML, JSON, CSV, ...)    */
    LR_EFORMAT = -4,      /* malformed binary input (model file, ...)       */
    LR_EINVAL = -5,       /* a bad argument or option value                 */
    LR_ERANGE = -6,       /* a size or count out of the supported range     */
    LR_EUNSUPPORTED = -7, /* valid, but not supported by this build         */
    LR_ECHECKSUM = -8     /* the data does not match its checksum           */
};

/* An error: the code and a message that says what was wrong and where. */
typedef struct lr_error {
    int code;
    char msg[512];
} lr_error;

/* A short static description of an error code ("I/O error", ...). */
const char *lr_strerror(int code);

/* ------------------------------------------------------------ allocation */

/* All memory the library allocates goes through these three functions, so
 * that tests can inject failures. `lr_set_allocator(NULL)` restores libc.
 * Set it before creating any object; it is process-wide. */
typedef struct lr_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} lr_allocator;

void lr_set_allocator(const lr_allocator *allocator);

/* ---------------------------------------------------------------- threads */

/* The persistent thread pool that runs every parallel op. n_threads <= 0
 * means the number of cores this process may run on. */
typedef struct lr_pool lr_pool;

lr_pool *lr_pool_new(int n_threads, lr_error *err);
void lr_pool_free(lr_pool *pool);
int lr_pool_size(const lr_pool *pool);
/* The number of cores this process may run on (sched_getaffinity), >= 1. */
int lr_available_cores(void);

/* The name of the kernel path in use: "ref", "avx2", "avx512" or "neon". */
const char *lr_kernel_path(void);

#ifdef __cplusplus
}
#endif

#endif /* LOGRISK_H */
