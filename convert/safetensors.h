/*
 * safetensors.h — a strict reader of Hugging Face safetensors files and the
 * `logrisk convert --from-safetensors` driver.
 *
 * The safetensors layout: an 8-byte little-endian header length N, N bytes
 * of JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]},
 * "__metadata__": {str: str}}, then the data section; offsets are relative
 * to the data section. The reader checks everything before use:
 *  - 2 <= N <= LR_ST_MAX_HEADER and 8 + N <= file size; the header is a
 *    JSON object (duplicate keys rejected) starting with '{';
 *  - every entry has a known dtype, a shape of 0..LR_ST_MAX_DIMS
 *    non-negative integers, and data_offsets [begin, end] with
 *    begin <= end <= data size and end - begin == prod(shape) * dtype size
 *    (overflow-checked);
 *  - sorted by begin, the entries tile the data section exactly: the first
 *    begins at 0, each begins where the previous ended, the last ends at
 *    the end of the file (no overlap, no hole), as the reference
 *    implementation requires.
 * Errors name the file, the tensor and the byte offset.
 */
#ifndef LR_CONVERT_SAFETENSORS_H
#define LR_CONVERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"

#define LR_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define LR_ST_MAX_DIMS 8

typedef enum lr__st_dtype {
    LR_ST_BOOL, LR_ST_U8, LR_ST_I8, LR_ST_F8_E4M3, LR_ST_F8_E5M2, LR_ST_I16, LR_ST_U16,
    LR_ST_F16, LR_ST_BF16, LR_ST_I32, LR_ST_U32, LR_ST_F32, LR_ST_F64, LR_ST_I64, LR_ST_U64,
} lr__st_dtype;

typedef struct lr__st_tensor {
    const char *name;          /* NUL-terminated (owned by the reader)     */
    lr__st_dtype dtype;
    int ndim;
    int64_t shape[LR_ST_MAX_DIMS];
    uint64_t numel;
    const unsigned char *data; /* into the file image; any alignment       */
    size_t nbytes;
} lr__st_tensor;

typedef struct lr__safetensors lr__safetensors;

/* Read and validate a file (the whole file is read into memory, owned by
 * the returned reader). NULL and err (LR_EIO, LR_EFORMAT, LR_ENOMEM). */
lr__safetensors *lr__safetensors_open(const char *path, lr_error *err);
/* Validate an image in memory; `data` is borrowed and must outlive the
 * reader. `name` is used in messages. */
lr__safetensors *lr__safetensors_parse(const void *data, size_t size, const char *name,
                                       lr_error *err);
void lr__safetensors_free(lr__safetensors *st);

size_t lr__safetensors_count(const lr__safetensors *st);
const lr__st_tensor *lr__safetensors_at(const lr__safetensors *st, size_t i);
const lr__st_tensor *lr__safetensors_find(const lr__safetensors *st, const char *name);
const char *lr__st_dtype_name(lr__st_dtype dtype);

/* Convert a F32, F16, BF16 or F64 tensor to float into out[numel].
 * LR_EUNSUPPORTED (naming the tensor) for other dtypes. */
int lr__st_to_f32(const lr__st_tensor *t, float *out, lr_error *err);

/* IEEE half / bfloat16 to float (exact, incl. subnormals, inf, NaN). */
float lr__f16_to_f32(uint16_t h);
float lr__bf16_to_f32(uint16_t h);

#endif /* LR_CONVERT_SAFETENSORS_H */
