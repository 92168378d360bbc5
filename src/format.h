/*
 * format.h — the .lrm model file: write, mmap, validate, checksum.
 *
 * An .lrm file holds everything needed to score: metadata (config, label
 * names, tokenizer vocabulary, the rules YAML used in training) as typed
 * key/value pairs, and a directory of tensors whose data are 64-byte
 * aligned and used in place from the mmap. The byte layout is documented
 * at the top of format.c and in docs/model-file.md.
 *
 * Every offset, size, count and string read from a file is checked with
 * overflow-safe arithmetic against the file size before use; a truncated,
 * corrupted or hostile file gives an error that names what was wrong and
 * where (byte offset, key or tensor name), never a crash.
 *
 * This module knows nothing about BERT: keys and tensor names are opaque.
 */
#ifndef LR_FORMAT_H
#define LR_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

typedef enum lr__dtype {
    LR_DTYPE_F32 = 0,
    LR_DTYPE_F16 = 1,
    LR_DTYPE_BF16 = 2,
    LR_DTYPE_I8 = 3,
    LR_DTYPE_I32 = 4,
} lr__dtype;

#define LR_MAX_DIMS 4

typedef struct lr__tensor {
    const char *name;       /* NUL-terminated, points into the file        */
    lr__dtype dtype;
    int ndim;               /* 1..LR_MAX_DIMS                              */
    int64_t shape[LR_MAX_DIMS];
    const void *data;       /* 64-byte aligned, points into the mapping    */
    size_t nbytes;
} lr__tensor;

/* --------------------------------------------------------------- writing */

typedef struct lr__lrm_writer lr__lrm_writer;

lr__lrm_writer *lr__lrm_writer_new(lr_error *err);
void lr__lrm_writer_free(lr__lrm_writer *w);

/* Metadata. Keys are unique (a second add of the same key fails). Strings
 * may hold any bytes (length given); the writer copies everything it is
 * given, so the caller's buffers may be freed right after the call. */
int lr__lrm_set_str(lr__lrm_writer *w, const char *key, const char *value, size_t len,
                    lr_error *err);
int lr__lrm_set_i64(lr__lrm_writer *w, const char *key, int64_t value, lr_error *err);
int lr__lrm_set_f64(lr__lrm_writer *w, const char *key, double value, lr_error *err);
/* An array of strings (e.g. label names). */
int lr__lrm_set_strs(lr__lrm_writer *w, const char *key, const char *const *values, size_t n,
                     lr_error *err);

/* A tensor: data is copied at write time, so it must stay valid until
 * lr__lrm_writer_write returns (the writer keeps only the pointer). */
int lr__lrm_add_tensor(lr__lrm_writer *w, const char *name, lr__dtype dtype, int ndim,
                       const int64_t *shape, const void *data, lr_error *err);

/* Write the file atomically: a temporary file beside `path`, fsync, rename. */
int lr__lrm_writer_write(lr__lrm_writer *w, const char *path, lr_error *err);

/* --------------------------------------------------------------- reading */

typedef struct lr__lrm lr__lrm;

/* mmap `path` read-only and validate everything (structure and checksum). */
lr__lrm *lr__lrm_open(const char *path, lr_error *err);
/* Validate a file image already in memory (e.g. the model built into the
 * binary). The memory must stay valid and 64-byte aligned while in use. */
lr__lrm *lr__lrm_open_memory(const void *data, size_t size, const char *name, lr_error *err);
void lr__lrm_close(lr__lrm *f);

/* Metadata lookups: LR_OK and the value, or LR_EFORMAT (missing key or
 * wrong type) with a message naming the key. Strings point into the file
 * and are not NUL-terminated; use the length. */
int lr__lrm_get_str(const lr__lrm *f, const char *key, const char **value, size_t *len,
                    lr_error *err);
int lr__lrm_get_i64(const lr__lrm *f, const char *key, int64_t *value, lr_error *err);
int lr__lrm_get_f64(const lr__lrm *f, const char *key, double *value, lr_error *err);
/* The i-th string of a string array, and the array's length. */
int lr__lrm_get_strs_count(const lr__lrm *f, const char *key, size_t *n, lr_error *err);
int lr__lrm_get_strs_item(const lr__lrm *f, const char *key, size_t i, const char **value,
                          size_t *len, lr_error *err);

/* A tensor by name, or NULL. */
const lr__tensor *lr__lrm_tensor(const lr__lrm *f, const char *name);
/* A tensor by name with the expected dtype and shape (ndim entries), or an
 * LR_EFORMAT error naming the tensor and what differs. */
int lr__lrm_expect(const lr__lrm *f, const char *name, lr__dtype dtype, int ndim,
                   const int64_t *shape, const lr__tensor **out, lr_error *err);

/* Iteration for `logrisk inspect`. */
size_t lr__lrm_n_tensors(const lr__lrm *f);
const lr__tensor *lr__lrm_tensor_at(const lr__lrm *f, size_t i);
size_t lr__lrm_n_meta(const lr__lrm *f);
/* The i-th key and a printable one-line rendering of its value (strings
 * longer than 60 bytes are abbreviated with their length). */
int lr__lrm_meta_at(const lr__lrm *f, size_t i, const char **key, char *value_text,
                    size_t value_text_size);
/* Format version, file size and stored checksum, for display. */
uint32_t lr__lrm_version(const lr__lrm *f);
/* The name given at open (the path), for messages. */
const char *lr__lrm_name(const lr__lrm *f);
size_t lr__lrm_size(const lr__lrm *f);
uint64_t lr__lrm_checksum(const lr__lrm *f);

/* ------------------------------------------------------------- additions */

/* Bytes per element (4, 2, 2, 1, 4) and a short name ("f32", ...); 0 and
 * "?" for a value outside the enum. */
size_t lr__dtype_size(lr__dtype dtype);
const char *lr__dtype_name(lr__dtype dtype);
/* The stored checksum of the data section (lr__lrm_checksum is the header
 * checksum, which covers this one, so it identifies the whole file). */
uint64_t lr__lrm_data_checksum(const lr__lrm *f);
/* The header length: where the data section starts. */
size_t lr__lrm_data_offset(const lr__lrm *f);
/* Absolute file offset of a tensor's data (t from this file). */
uint64_t lr__lrm_tensor_offset(const lr__lrm *f, const lr__tensor *t);
/* lrh64, the file's checksum function, over len bytes (any alignment). */
uint64_t lr__lrm_hash(const void *data, size_t len);

/* Opening without the data checksum, for cold-start-sensitive callers.
 * The header checksum and every structural check still run, so no bad
 * offset or size can get through; only corrupted tensor values would go
 * unnoticed until lr__lrm_verify_data. Measured on a 45 MB model here:
 * validating the structure takes ~0.05 ms, paging the file in ~8-11 ms
 * (paid by the first forward pass anyway), the data checksum ~5 ms more
 * on cold pages (~1.5 ms on pages already mapped). */
enum { LR_LRM_SKIP_DATA_CHECKSUM = 1u };
lr__lrm *lr__lrm_open_flags(const char *path, unsigned flags, lr_error *err);
lr__lrm *lr__lrm_open_memory_flags(const void *data, size_t size, const char *name, unsigned flags,
                                   lr_error *err);
/* 1 when f is a private read-only mmap of a file (lr__lrm_open*), 0 for a
 * caller's memory image (lr__lrm_open_memory*): only the former may have
 * pages given back with madvise(MADV_DONTNEED). */
int lr__lrm_is_mapped(const lr__lrm *f);
/* Check the data section against its checksum: LR_OK or LR_ECHECKSUM. */
int lr__lrm_verify_data(const lr__lrm *f, lr_error *err);

/* Append to `out` (a caller-owned lr__buf, util.h) one JSON object line
 * describing the file for `logrisk inspect --json`: version, size,
 * checksums (`data_ok` says whether lr__lrm_verify_data passed), all
 * metadata with full values (bytes that are not UTF-8 become U+FFFD;
 * non-finite floats null) and the tensor table. LR_OK or LR_ENOMEM. */
struct lr__buf;
int lr__lrm_describe_json(const lr__lrm *f, int data_ok, struct lr__buf *out);

#endif /* LR_FORMAT_H */
