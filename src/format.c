/*
 * format.c — the .lrm model file: writer, mmap reader, validation, checksum.
 *
 * Byte layout (version 1). All integers little-endian; offsets are absolute
 * file offsets unless said otherwise.
 *
 *   fixed header, 64 bytes
 *     0   8  magic        89 4C 52 4D 0D 0A 1A 0A  ("\x89LRM\r\n\x1a\n": the
 *                         high byte and CR LF catch 7-bit and text-mode copies)
 *     8   4  u32 version  1
 *    12   4  u32 endian   0x0A0B0C0D (bytes 0D 0C 0B 0A on disk)
 *    16   8  u64 header_checksum  lrh64 of bytes [24, data_offset)
 *    24   8  u64 data_checksum    lrh64 of bytes [data_offset, file_size)
 *    32   8  u64 file_size        must equal the real size
 *    40   8  u64 data_offset      header length: multiple of 64, >= 64
 *    48   4  u32 n_meta
 *    52   4  u32 n_tensors
 *    56   8  u64 meta_size        the metadata section is [64, 64 + meta_size)
 *
 *   metadata section: n_meta entries, back to back, exactly meta_size bytes
 *     u32 key_len, key bytes, 00        (key: 1.. bytes, no NUL inside)
 *     u32 type                          1 str, 2 i64, 3 f64, 4 string array
 *     str:  u64 len, len bytes, 00      (any bytes; the 00 is not counted)
 *     i64:  8 bytes two's complement
 *     f64:  8 bytes IEEE-754 binary64
 *     strs: u64 count, u64 blob_size, (count + 1) x u64 off, blob
 *           off[0] = 0, off[count] = blob_size, strictly increasing; item i
 *           is blob[off[i], off[i+1] - 1) and blob[off[i+1] - 1] is 00.
 *
 *   tensor directory: n_tensors entries from 64 + meta_size, then zero
 *   padding up to data_offset
 *     u32 name_len, name bytes, 00      (name: 1.. bytes, no NUL inside)
 *     u32 dtype                         0 f32, 1 f16, 2 bf16, 3 i8, 4 i32
 *     u32 ndim                          1..4
 *     i64 shape[4]                      dims >= 1; unused dims are 0
 *     u64 offset                        relative to data_offset, multiple of 64
 *     u64 nbytes                        = product(shape) * dtype size
 *
 *   data section [data_offset, file_size): tensor data, each at a multiple
 *   of 64 bytes (so 64-byte aligned in a page-aligned mapping), zero padded.
 *
 * Validation (lr__lrm_open*): the magic, version and endian marker; the
 * header checksum before anything else in the header is trusted; every
 * count, length and offset against the bytes that remain, with overflow-
 * checked arithmetic (GGUF's CVEs were lengths and counts trusted before
 * this check); names and keys NUL-terminated, NUL-free and unique (sorted,
 * so hostile counts cost n log n, not n^2); dtype known, ndim 1..4, every
 * dim >= 1 and the byte size of the shape not overflowing and equal to
 * nbytes; every tensor inside the data section, aligned, and no two
 * overlapping (safetensors' rules); the directory ends with zero padding;
 * and the data checksum. Allocation is bounded by the file size: counts
 * are checked against the smallest possible entry before any allocation.
 *
 * Checksum lrh64 (ours): eight 64-bit lanes, each 8-byte little-endian word
 * w folded into its lane as acc = rotl(acc ^ w, 29) * K (K odd), then the
 * lanes, tail words, tail bytes and length folded the same way and
 * finished with a bijective avalanche. Each step is a bijection of both the
 * word and the state, so any change confined to one aligned 8-byte word
 * (every single-bit flip among them) always changes the checksum. It runs
 * at several GB/s in portable C (one multiply per word on 8 independent
 * chains); `lr__lrm_hash` exposes it for tests and tools.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

#define LRM_VERSION 1u
#define LRM_ENDIAN 0x0A0B0C0Du
#define LRM_FIXED 64u
#define LRM_ALIGN 64u

static const uint8_t lrm_magic[8] = {0x89, 'L', 'R', 'M', '\r', '\n', 0x1a, '\n'};

enum { META_STR = 1, META_I64 = 2, META_F64 = 3, META_STRS = 4 };

/* ---------------------------------------------------------------- dtypes */

size_t lr__dtype_size(lr__dtype dtype) {
    switch (dtype) {
    case LR_DTYPE_F32: return 4;
    case LR_DTYPE_F16: return 2;
    case LR_DTYPE_BF16: return 2;
    case LR_DTYPE_I8: return 1;
    case LR_DTYPE_I32: return 4;
    }
    return 0;
}

const char *lr__dtype_name(lr__dtype dtype) {
    switch (dtype) {
    case LR_DTYPE_F32: return "f32";
    case LR_DTYPE_F16: return "f16";
    case LR_DTYPE_BF16: return "bf16";
    case LR_DTYPE_I8: return "i8";
    case LR_DTYPE_I32: return "i32";
    }
    return "?";
}

/* -------------------------------------------------------- little endian */

static int host_is_little(void) {
    const uint32_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

static uint32_t ld32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t ld64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* -------------------------------------------------------------- checksum */

#define H_K 0x9E3779B97F4A7C15ull
#define H_LANES 8
#define H_BLOCK (8 * H_LANES)

static inline uint64_t h_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t h_round(uint64_t acc, uint64_t w) { return h_rotl(acc ^ w, 29) * H_K; }

/* The streaming state: lanes, a partial block and the byte count. */
typedef struct lrh {
    uint64_t acc[H_LANES];
    uint8_t buf[H_BLOCK];
    size_t buf_len;
    uint64_t total;
} lrh;

static void lrh_init(lrh *h) {
    for (int i = 0; i < H_LANES; i++) h->acc[i] = 0x243F6A8885A308D3ull + (uint64_t)i * 0x13198A2E03707344ull;
    h->buf_len = 0;
    h->total = 0;
}

/* Fold n_blocks whole blocks from p into the lanes. */
static void lrh_blocks(uint64_t *acc, const uint8_t *p, size_t n_blocks) {
    uint64_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint64_t a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7];
    for (size_t b = 0; b < n_blocks; b++, p += H_BLOCK) {
        a0 = h_round(a0, ld64(p + 0));
        a1 = h_round(a1, ld64(p + 8));
        a2 = h_round(a2, ld64(p + 16));
        a3 = h_round(a3, ld64(p + 24));
        a4 = h_round(a4, ld64(p + 32));
        a5 = h_round(a5, ld64(p + 40));
        a6 = h_round(a6, ld64(p + 48));
        a7 = h_round(a7, ld64(p + 56));
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
}

static void lrh_update(lrh *h, const void *data, size_t len) {
    const uint8_t *p = data;
    h->total += len;
    if (h->buf_len) {
        size_t take = LR_MIN(len, H_BLOCK - h->buf_len);
        memcpy(h->buf + h->buf_len, p, take);
        h->buf_len += take;
        p += take;
        len -= take;
        if (h->buf_len < H_BLOCK) return;
        lrh_blocks(h->acc, h->buf, 1);
        h->buf_len = 0;
    }
    size_t n_blocks = len / H_BLOCK;
    lrh_blocks(h->acc, p, n_blocks);
    p += n_blocks * H_BLOCK;
    len -= n_blocks * H_BLOCK;
    if (len) memcpy(h->buf, p, len);
    h->buf_len = len;
}

static uint64_t lrh_final(const lrh *h) {
    uint64_t x = h_round(0x452821E638D01377ull, h->total);
    for (int i = 0; i < H_LANES; i++) x = h_round(x, h->acc[i]);
    size_t i = 0;
    for (; i + 8 <= h->buf_len; i += 8) x = h_round(x, ld64(h->buf + i));
    if (i < h->buf_len) {
        uint8_t last[8] = {0};
        memcpy(last, h->buf + i, h->buf_len - i);
        x = h_round(x, ld64(last));
    }
    /* avalanche: xor-shifts and odd multiplies, each a bijection */
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 32;
    return x;
}

uint64_t lr__lrm_hash(const void *data, size_t len) {
    lrh h;
    lrh_init(&h);
    lrh_update(&h, data, len);
    return lrh_final(&h);
}

/* ================================================================ reader */

typedef struct lrm_meta {
    const char *key;
    uint32_t type;
    const uint8_t *value; /* str bytes, 8 value bytes, or the strs offsets */
    size_t len;           /* str: bytes; strs: count                        */
    const uint8_t *blob;  /* strs only                                      */
    size_t entry_offset;  /* where the entry starts in the file             */
} lrm_meta;

struct lr__lrm {
    const uint8_t *base;
    size_t size;
    void *map;          /* non-NULL when we mmapped the file */
    char *name;         /* for messages */
    uint32_t version;
    uint64_t header_checksum;
    uint64_t data_checksum;
    size_t data_offset;
    size_t n_meta;
    lrm_meta *meta;
    size_t n_tensors;
    lr__tensor *tensors;
    uint64_t *tensor_offsets; /* relative to data_offset, per tensor */
};

/* A bounds-checked cursor over [pos, end) of the image. */
typedef struct cursor {
    const uint8_t *base;
    size_t pos, end;
    const char *file;
    lr_error *err;
} cursor;

static int cur_need(cursor *c, size_t n, const char *what) {
    if (n > c->end - c->pos)
        return lr__err(c->err, LR_EFORMAT, "%s: %s at byte %zu needs %zu bytes, only %zu left", c->file,
                       what, c->pos, n, c->end - c->pos);
    return LR_OK;
}

static int cur_u32(cursor *c, uint32_t *v, const char *what) {
    int rc = cur_need(c, 4, what);
    if (rc) return rc;
    *v = ld32(c->base + c->pos);
    c->pos += 4;
    return LR_OK;
}

static int cur_u64(cursor *c, uint64_t *v, const char *what) {
    int rc = cur_need(c, 8, what);
    if (rc) return rc;
    *v = ld64(c->base + c->pos);
    c->pos += 8;
    return LR_OK;
}

/* `len` bytes followed by a NUL; with `no_nul`, none of the len bytes may be
 * NUL (keys and names, so that they work as C strings). */
static int cur_str(cursor *c, uint64_t len, int no_nul, const uint8_t **out, const char *what) {
    size_t at = c->pos;
    if (len >= (uint64_t)(c->end - c->pos))
        return lr__err(c->err, LR_EFORMAT, "%s: %s at byte %zu: length %" PRIu64 " runs past the end of its section (%zu bytes left)",
                       c->file, what, at, len, c->end - c->pos);
    const uint8_t *s = c->base + c->pos;
    if (s[len] != 0)
        return lr__err(c->err, LR_EFORMAT, "%s: %s at byte %zu is not NUL-terminated", c->file, what, at);
    if (no_nul && memchr(s, 0, (size_t)len))
        return lr__err(c->err, LR_EFORMAT, "%s: %s at byte %zu contains a NUL byte", c->file, what, at);
    c->pos += (size_t)len + 1;
    *out = s;
    return LR_OK;
}

static int cmp_cstr_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fails when two of the n names are equal; `names` is reordered. */
static int check_unique(const char **names, size_t n, const char *file, const char *what, lr_error *err) {
    qsort(names, n, sizeof *names, cmp_cstr_ptr);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return lr__err(err, LR_EFORMAT, "%s: duplicate %s '%s'", file, what, names[i]);
    return LR_OK;
}

static int parse_meta(lr__lrm *f, cursor *c, lr_error *err) {
    for (size_t i = 0; i < f->n_meta; i++) {
        lrm_meta *m = &f->meta[i];
        uint32_t key_len;
        const uint8_t *key = NULL;
        int rc;
        m->entry_offset = c->pos;
        if ((rc = cur_u32(c, &key_len, "metadata key length"))) return rc;
        if (key_len == 0)
            return lr__err(err, LR_EFORMAT, "%s: metadata entry %zu at byte %zu has an empty key", f->name, i,
                           m->entry_offset);
        if ((rc = cur_str(c, key_len, 1, &key, "metadata key"))) return rc;
        m->key = (const char *)key;
        if ((rc = cur_u32(c, &m->type, "metadata type"))) return rc;
        switch (m->type) {
        case META_STR: {
            uint64_t len;
            const uint8_t *s = NULL;
            if ((rc = cur_u64(c, &len, "string length"))) return rc;
            if ((rc = cur_str(c, len, 0, &s, "string value"))) return rc;
            m->value = s;
            m->len = (size_t)len;
            break;
        }
        case META_I64:
        case META_F64:
            if ((rc = cur_need(c, 8, "number value"))) return rc;
            m->value = c->base + c->pos;
            c->pos += 8;
            break;
        case META_STRS: {
            uint64_t count, blob_size;
            if ((rc = cur_u64(c, &count, "string array count"))) return rc;
            if ((rc = cur_u64(c, &blob_size, "string array size"))) return rc;
            /* count + 1 offsets of 8 bytes must fit in what is left */
            size_t left = c->end - c->pos;
            if (count >= left / 8)
                return lr__err(err, LR_EFORMAT, "%s: key '%s': string array count %" PRIu64 " too large for the %zu bytes left",
                               f->name, m->key, count, left);
            size_t n_off = (size_t)count + 1;
            const uint8_t *offs = c->base + c->pos;
            c->pos += n_off * 8;
            if (blob_size > (uint64_t)(c->end - c->pos))
                return lr__err(err, LR_EFORMAT, "%s: key '%s': string array data (%" PRIu64 " bytes) runs past the metadata section",
                               f->name, m->key, blob_size);
            const uint8_t *blob = c->base + c->pos;
            if (ld64(offs) != 0 || ld64(offs + count * 8) != blob_size)
                return lr__err(err, LR_EFORMAT, "%s: key '%s': string array offsets do not span its data", f->name, m->key);
            for (size_t k = 0; k < count; k++) {
                uint64_t a = ld64(offs + k * 8), b = ld64(offs + (k + 1) * 8);
                if (b <= a || b > blob_size)
                    return lr__err(err, LR_EFORMAT, "%s: key '%s': string %zu has bad offsets %" PRIu64 "..%" PRIu64, f->name,
                                   m->key, k, a, b);
                if (blob[b - 1] != 0)
                    return lr__err(err, LR_EFORMAT, "%s: key '%s': string %zu is not NUL-terminated", f->name, m->key, k);
            }
            c->pos += (size_t)blob_size;
            m->value = offs;
            m->len = (size_t)count;
            m->blob = blob;
            break;
        }
        default:
            return lr__err(err, LR_EFORMAT, "%s: key '%s' at byte %zu has unknown type %" PRIu32, f->name, m->key,
                           m->entry_offset, m->type);
        }
    }
    if (c->pos != c->end)
        return lr__err(err, LR_EFORMAT, "%s: metadata section has %zu unused bytes at byte %zu", f->name, c->end - c->pos,
                       c->pos);
    return LR_OK;
}

typedef struct span {
    uint64_t start, end;
    size_t index;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int parse_tensors(lr__lrm *f, cursor *c, lr_error *err) {
    size_t data_size = f->size - f->data_offset;
    for (size_t i = 0; i < f->n_tensors; i++) {
        lr__tensor *t = &f->tensors[i];
        size_t at = c->pos;
        uint32_t name_len, dtype, ndim;
        const uint8_t *name = NULL;
        uint64_t offset, nbytes;
        int rc;
        if ((rc = cur_u32(c, &name_len, "tensor name length"))) return rc;
        if (name_len == 0)
            return lr__err(err, LR_EFORMAT, "%s: tensor %zu at byte %zu has an empty name", f->name, i, at);
        if ((rc = cur_str(c, name_len, 1, &name, "tensor name"))) return rc;
        t->name = (const char *)name;
        if ((rc = cur_u32(c, &dtype, "tensor dtype")) || (rc = cur_u32(c, &ndim, "tensor ndim"))) return rc;
        if (dtype > LR_DTYPE_I32)
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': unknown dtype %" PRIu32, f->name, t->name, dtype);
        if (ndim < 1 || ndim > LR_MAX_DIMS)
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': ndim %" PRIu32 " not in 1..%d", f->name, t->name, ndim,
                           LR_MAX_DIMS);
        t->dtype = (lr__dtype)dtype;
        t->ndim = (int)ndim;
        size_t n_elems = 1;
        for (int d = 0; d < LR_MAX_DIMS; d++) {
            uint64_t raw;
            if ((rc = cur_u64(c, &raw, "tensor shape"))) return rc;
            int64_t dim = (int64_t)raw;
            if (d >= t->ndim) {
                if (dim != 0)
                    return lr__err(err, LR_EFORMAT, "%s: tensor '%s': unused dim %d is %" PRId64 ", not 0", f->name,
                                   t->name, d, dim);
                t->shape[d] = 0;
                continue;
            }
            if (dim < 1 || (uint64_t)dim > SIZE_MAX || !lr__mul_ok(n_elems, (size_t)dim, &n_elems))
                return lr__err(err, LR_EFORMAT, "%s: tensor '%s': dim %d is %" PRId64 " (must be >= 1, product must fit)",
                               f->name, t->name, d, dim);
            t->shape[d] = dim;
        }
        size_t expect;
        if (!lr__mul_ok(n_elems, lr__dtype_size(t->dtype), &expect))
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': byte size overflows", f->name, t->name);
        if ((rc = cur_u64(c, &offset, "tensor offset")) || (rc = cur_u64(c, &nbytes, "tensor size"))) return rc;
        if (nbytes != (uint64_t)expect)
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': size %" PRIu64 " bytes, its shape needs %zu", f->name,
                           t->name, nbytes, expect);
        if (offset % LRM_ALIGN)
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': offset %" PRIu64 " is not a multiple of %u", f->name,
                           t->name, offset, LRM_ALIGN);
        if (offset > data_size || nbytes > data_size - offset)
            return lr__err(err, LR_EFORMAT, "%s: tensor '%s': bytes %" PRIu64 "+%" PRIu64 " lie outside the data section (%zu bytes)",
                           f->name, t->name, offset, nbytes, data_size);
        f->tensor_offsets[i] = offset;
        t->data = f->base + f->data_offset + (size_t)offset;
        t->nbytes = (size_t)nbytes;
    }
    for (size_t p = c->pos; p < c->end; p++)
        if (c->base[p])
            return lr__err(err, LR_EFORMAT, "%s: nonzero byte at %zu in the padding after the tensor directory", f->name, p);
    return LR_OK;
}

/* Tensors must not overlap and names must be unique (n log n). */
static int check_tensor_sets(lr__lrm *f, lr_error *err) {
    if (f->n_tensors == 0) return LR_OK;
    int rc = LR_OK;
    span *spans = lr__alloc_array(f->n_tensors, sizeof *spans);
    const char **names = lr__alloc_array(f->n_tensors, sizeof *names);
    if (!spans || !names) {
        rc = lr__err(err, LR_ENOMEM, "%s: out of memory for %zu tensors", f->name, f->n_tensors);
        goto out;
    }
    for (size_t i = 0; i < f->n_tensors; i++) {
        spans[i].start = f->tensor_offsets[i];
        spans[i].end = f->tensor_offsets[i] + f->tensors[i].nbytes;
        spans[i].index = i;
        names[i] = f->tensors[i].name;
    }
    qsort(spans, f->n_tensors, sizeof *spans, cmp_span);
    for (size_t i = 1; i < f->n_tensors; i++)
        if (spans[i].start < spans[i - 1].end) {
            rc = lr__err(err, LR_EFORMAT, "%s: tensors '%s' and '%s' overlap", f->name,
                         f->tensors[spans[i - 1].index].name, f->tensors[spans[i].index].name);
            goto out;
        }
    rc = check_unique(names, f->n_tensors, f->name, "tensor name", err);
out:
    lr__free(spans);
    lr__free(names);
    return rc;
}

static int check_meta_keys(lr__lrm *f, lr_error *err) {
    if (f->n_meta == 0) return LR_OK;
    const char **keys = lr__alloc_array(f->n_meta, sizeof *keys);
    if (!keys) return lr__err(err, LR_ENOMEM, "%s: out of memory for %zu keys", f->name, f->n_meta);
    for (size_t i = 0; i < f->n_meta; i++) keys[i] = f->meta[i].key;
    int rc = check_unique(keys, f->n_meta, f->name, "metadata key", err);
    lr__free(keys);
    return rc;
}

/* Validate the image f->base[0, f->size) and build the indexes. */
static int validate(lr__lrm *f, unsigned flags, lr_error *err) {
    const uint8_t *b = f->base;
    if (!host_is_little())
        return lr__err(err, LR_EUNSUPPORTED, "%s: .lrm files are little-endian and this host is big-endian", f->name);
    if (f->size < LRM_FIXED)
        return lr__err(err, LR_EFORMAT, "%s: %zu bytes, too small for the %u-byte .lrm header", f->name, f->size,
                       LRM_FIXED);
    if (memcmp(b, lrm_magic, 8) != 0)
        return lr__err(err, LR_EFORMAT, "%s: not an .lrm model file (bad magic)", f->name);
    f->version = ld32(b + 8);
    if (f->version != LRM_VERSION)
        return lr__err(err, LR_EUNSUPPORTED, "%s: .lrm format version %" PRIu32 ", this build reads version %u", f->name,
                       f->version, LRM_VERSION);
    if (ld32(b + 12) != LRM_ENDIAN)
        return lr__err(err, LR_EFORMAT, "%s: bad endianness marker 0x%08" PRIx32, f->name, ld32(b + 12));
    f->header_checksum = ld64(b + 16);
    f->data_checksum = ld64(b + 24);
    uint64_t file_size = ld64(b + 32), data_offset = ld64(b + 40), meta_size = ld64(b + 56);
    uint32_t n_meta = ld32(b + 48), n_tensors = ld32(b + 52);
    if (file_size != (uint64_t)f->size)
        return lr__err(err, LR_EFORMAT, "%s: header says %" PRIu64 " bytes but the file has %zu (truncated or extended?)",
                       f->name, file_size, f->size);
    if (data_offset < LRM_FIXED || data_offset % LRM_ALIGN || data_offset > file_size)
        return lr__err(err, LR_EFORMAT, "%s: bad header length (data offset %" PRIu64 ")", f->name, data_offset);
    f->data_offset = (size_t)data_offset;
    uint64_t hsum = lr__lrm_hash(b + 24, f->data_offset - 24);
    if (hsum != f->header_checksum)
        return lr__err(err, LR_ECHECKSUM, "%s: header checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 ")",
                       f->name, f->header_checksum, hsum);
    if (meta_size > data_offset - LRM_FIXED)
        return lr__err(err, LR_EFORMAT, "%s: metadata size %" PRIu64 " runs past the header (%" PRIu64 " bytes)", f->name,
                       meta_size, data_offset);
    size_t dir_start = LRM_FIXED + (size_t)meta_size;
    /* a metadata entry takes at least 18 bytes (4 + 1 + 1 + 4 + 8), a
     * tensor entry 62 (4 + 1 + 1 + 4 + 4 + 32 + 8 + 8): counts beyond that
     * are rejected before anything is allocated, so the index below (48
     * and 72 bytes an entry) stays within ~3x the bytes that hold it */
    if (n_meta > meta_size / 18)
        return lr__err(err, LR_EFORMAT, "%s: %" PRIu32 " metadata entries cannot fit in %" PRIu64 " bytes", f->name,
                       n_meta, meta_size);
    if (n_tensors > (f->data_offset - dir_start) / 62)
        return lr__err(err, LR_EFORMAT, "%s: %" PRIu32 " tensors cannot fit in a %zu-byte directory", f->name, n_tensors,
                       f->data_offset - dir_start);
    f->n_meta = n_meta;
    f->n_tensors = n_tensors;
    f->meta = lr__calloc(n_meta ? n_meta : 1, sizeof *f->meta);
    f->tensors = lr__calloc(n_tensors ? n_tensors : 1, sizeof *f->tensors);
    f->tensor_offsets = lr__calloc(n_tensors ? n_tensors : 1, sizeof *f->tensor_offsets);
    if (!f->meta || !f->tensors || !f->tensor_offsets)
        return lr__err(err, LR_ENOMEM, "%s: out of memory for the file's index", f->name);
    cursor c = {b, LRM_FIXED, dir_start, f->name, err};
    int rc = parse_meta(f, &c, err);
    if (rc) return rc;
    cursor d = {b, dir_start, f->data_offset, f->name, err};
    if ((rc = parse_tensors(f, &d, err))) return rc;
    if ((rc = check_meta_keys(f, err))) return rc;
    if ((rc = check_tensor_sets(f, err))) return rc;
    return (flags & LR_LRM_SKIP_DATA_CHECKSUM) ? LR_OK : lr__lrm_verify_data(f, err);
}

/* Map every page of [p, p + n) in one call before a pass that reads them
 * all (the data checksum): one madvise instead of a page fault per 4 KB,
 * ~0.5 ms less for the 17 MB default model built into the CLI. Best
 * effort: kernels before 5.14 do not know MADV_POPULATE_READ. */
static void populate(const void *p, size_t n) {
#if defined(__linux__)
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || n == 0) return;
    uintptr_t begin = (uintptr_t)p & ~((uintptr_t)page - 1);
    (void)madvise((void *)begin, (uintptr_t)p + n - begin, MADV_POPULATE_READ);
#else
    (void)p;
    (void)n;
#endif
}

int lr__lrm_verify_data(const lr__lrm *f, lr_error *err) {
    if (!f->map) populate(f->base + f->data_offset, f->size - f->data_offset);
    uint64_t dsum = lr__lrm_hash(f->base + f->data_offset, f->size - f->data_offset);
    if (dsum != f->data_checksum)
        return lr__err(err, LR_ECHECKSUM, "%s: data checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 "): the tensor data are corrupted",
                       f->name, f->data_checksum, dsum);
    return LR_OK;
}

static lr__lrm *lrm_alloc(const char *name, lr_error *err) {
    lr__lrm *f = lr__calloc(1, sizeof *f);
    if (!f || !(f->name = lr__strdup(name ? name : "(memory)"))) {
        lr__free(f);
        lr__err(err, LR_ENOMEM, "out of memory opening %s", name ? name : "a model");
        return NULL;
    }
    return f;
}

void lr__lrm_close(lr__lrm *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->size);
    lr__free(f->meta);
    lr__free(f->tensors);
    lr__free(f->tensor_offsets);
    lr__free(f->name);
    lr__free(f);
}

lr__lrm *lr__lrm_open_memory(const void *data, size_t size, const char *name, lr_error *err) {
    return lr__lrm_open_memory_flags(data, size, name, 0, err);
}

lr__lrm *lr__lrm_open_memory_flags(const void *data, size_t size, const char *name, unsigned flags,
                                   lr_error *err) {
    if (!data && size)
        return lr__err(err, LR_EINVAL, "lr__lrm_open_memory: NULL data"), NULL;
    if ((uintptr_t)data % LRM_ALIGN)
        return lr__err(err, LR_EINVAL, "%s: model image in memory is not %u-byte aligned", name ? name : "(memory)",
                       LRM_ALIGN),
               NULL;
    lr__lrm *f = lrm_alloc(name, err);
    if (!f) return NULL;
    f->base = data;
    f->size = size;
    if (validate(f, flags, err)) {
        lr__lrm_close(f);
        return NULL;
    }
    return f;
}

lr__lrm *lr__lrm_open(const char *path, lr_error *err) { return lr__lrm_open_flags(path, 0, err); }

lr__lrm *lr__lrm_open_flags(const char *path, unsigned flags, lr_error *err) {
    int fd = lr__file_open_regular(path, NULL, err);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lr__err(err, LR_EIO, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_size < (off_t)LRM_FIXED || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return lr__err(err, LR_EFORMAT, "%s: %lld bytes, not an .lrm model file (header is %u bytes)", path,
                       (long long)st.st_size, LRM_FIXED),
               NULL;
    }
    size_t size = (size_t)st.st_size;
    /* the data checksum reads every page: populating the mapping in one
     * call is cheaper than taking the page faults one by one */
    int populate = (flags & LR_LRM_SKIP_DATA_CHECKSUM) ? 0 : MAP_POPULATE;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | populate, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) return lr__err(err, LR_EIO, "cannot mmap '%s': %s", path, strerror(map_errno)), NULL;
    lr__lrm *f = lrm_alloc(path, err);
    if (!f) {
        munmap(map, size);
        return NULL;
    }
    f->map = map;
    f->base = map;
    f->size = size;
    if (validate(f, flags, err)) {
        lr__lrm_close(f);
        return NULL;
    }
    return f;
}

int lr__lrm_is_mapped(const lr__lrm *f) { return f && f->map != NULL; }

/* ------------------------------------------------------------- lookups */

static const lrm_meta *find_meta(const lr__lrm *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return &f->meta[i];
    return NULL;
}

static const char *type_name(uint32_t type) {
    switch (type) {
    case META_STR: return "string";
    case META_I64: return "integer";
    case META_F64: return "float";
    case META_STRS: return "string array";
    }
    return "?";
}

static int get_typed(const lr__lrm *f, const char *key, uint32_t type, const lrm_meta **out, lr_error *err) {
    const lrm_meta *m = find_meta(f, key);
    if (!m) return lr__err(err, LR_EFORMAT, "%s: metadata key '%s' is missing", f->name, key);
    if (m->type != type)
        return lr__err(err, LR_EFORMAT, "%s: metadata key '%s' is a %s, expected a %s", f->name, key, type_name(m->type),
                       type_name(type));
    *out = m;
    return LR_OK;
}

int lr__lrm_get_str(const lr__lrm *f, const char *key, const char **value, size_t *len, lr_error *err) {
    const lrm_meta *m;
    int rc = get_typed(f, key, META_STR, &m, err);
    if (rc) return rc;
    *value = (const char *)m->value;
    *len = m->len;
    return LR_OK;
}

int lr__lrm_get_i64(const lr__lrm *f, const char *key, int64_t *value, lr_error *err) {
    const lrm_meta *m;
    int rc = get_typed(f, key, META_I64, &m, err);
    if (rc) return rc;
    *value = (int64_t)ld64(m->value);
    return LR_OK;
}

int lr__lrm_get_f64(const lr__lrm *f, const char *key, double *value, lr_error *err) {
    const lrm_meta *m;
    int rc = get_typed(f, key, META_F64, &m, err);
    if (rc) return rc;
    uint64_t bits = ld64(m->value);
    memcpy(value, &bits, 8);
    return LR_OK;
}

int lr__lrm_get_strs_count(const lr__lrm *f, const char *key, size_t *n, lr_error *err) {
    const lrm_meta *m;
    int rc = get_typed(f, key, META_STRS, &m, err);
    if (rc) return rc;
    *n = m->len;
    return LR_OK;
}

int lr__lrm_get_strs_item(const lr__lrm *f, const char *key, size_t i, const char **value, size_t *len,
                          lr_error *err) {
    const lrm_meta *m;
    int rc = get_typed(f, key, META_STRS, &m, err);
    if (rc) return rc;
    if (i >= m->len)
        return lr__err(err, LR_ERANGE, "%s: metadata key '%s': index %zu out of %zu strings", f->name, key, i, m->len);
    uint64_t a = ld64(m->value + i * 8), b = ld64(m->value + (i + 1) * 8);
    *value = (const char *)m->blob + a;
    *len = (size_t)(b - a - 1);
    return LR_OK;
}

const lr__tensor *lr__lrm_tensor(const lr__lrm *f, const char *name) {
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

static void shape_text(char *out, size_t size, int ndim, const int64_t *shape) {
    size_t used = 0;
    out[0] = '\0';
    used += (size_t)snprintf(out, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (used < size) snprintf(out + used, size - used, "]");
}

int lr__lrm_expect(const lr__lrm *f, const char *name, lr__dtype dtype, int ndim, const int64_t *shape,
                   const lr__tensor **out, lr_error *err) {
    const lr__tensor *t = lr__lrm_tensor(f, name);
    if (!t) return lr__err(err, LR_EFORMAT, "%s: tensor '%s' is missing", f->name, name);
    int same = t->dtype == dtype && t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[128], have[128];
        shape_text(want, sizeof want, ndim < 0 ? 0 : LR_MIN(ndim, LR_MAX_DIMS), shape);
        shape_text(have, sizeof have, t->ndim, t->shape);
        return lr__err(err, LR_EFORMAT, "%s: tensor '%s' is %s %s, expected %s %s", f->name, name,
                       lr__dtype_name(t->dtype), have, lr__dtype_name(dtype), want);
    }
    if (out) *out = t;
    return LR_OK;
}

size_t lr__lrm_n_tensors(const lr__lrm *f) { return f->n_tensors; }

const lr__tensor *lr__lrm_tensor_at(const lr__lrm *f, size_t i) {
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

uint64_t lr__lrm_tensor_offset(const lr__lrm *f, const lr__tensor *t) {
    return (uint64_t)((const uint8_t *)t->data - f->base);
}

size_t lr__lrm_n_meta(const lr__lrm *f) { return f->n_meta; }

/* The shortest %g form that reads back as the same double. */
static const char *shortest_double(char *num, size_t size, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(num, size, "%.*g", prec, v);
        if (strtod(num, NULL) == v || v != v) break;
    }
    return num;
}

/* A bounded text appender for meta_at. */
typedef struct text {
    char *out;
    size_t size, len;
} text;

static void text_put(text *t, const char *fmt, ...) LR_PRINTF(2, 3);
static void text_put(text *t, const char *fmt, ...) {
    if (t->len + 1 >= t->size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->out + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) t->len = LR_MIN(t->len + (size_t)n, t->size - 1);
}

/* Length of the well-formed UTF-8 sequence at s (len >= 1 bytes left), or
 * 0: no overlongs, no surrogates, nothing above U+10FFFF (Unicode table 3-7). */
static size_t utf8_seq(const uint8_t *s, size_t len) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || n > len) return 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
    else if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return n;
}

/* A quoted string with escapes, at most `max` source bytes; valid UTF-8
 * is kept, other high bytes and control characters become \xNN. */
static void text_quoted(text *t, const uint8_t *s, size_t len, size_t max) {
    text_put(t, "\"");
    size_t end = LR_MIN(len, max);
    for (size_t i = 0; i < end; i++) {
        uint8_t ch = s[i];
        size_t seq;
        if (ch == '"' || ch == '\\') text_put(t, "\\%c", ch);
        else if (ch == '\n') text_put(t, "\\n");
        else if (ch == '\t') text_put(t, "\\t");
        else if (ch < 0x20 || ch == 0x7f) text_put(t, "\\x%02x", ch);
        else if (ch < 0x80) text_put(t, "%c", ch);
        else if ((seq = utf8_seq(s + i, len - i)) != 0) {
            if (i + seq > end) break; /* abbreviated: never cut a character */
            text_put(t, "%.*s", (int)seq, (const char *)s + i);
            i += seq - 1;
        } else text_put(t, "\\x%02x", ch);
    }
    text_put(t, "\"");
}

int lr__lrm_meta_at(const lr__lrm *f, size_t i, const char **key, char *value_text, size_t value_text_size) {
    if (i >= f->n_meta) return LR_ERANGE;
    const lrm_meta *m = &f->meta[i];
    *key = m->key;
    if (!value_text || value_text_size == 0) return LR_OK;
    text t = {value_text, value_text_size, 0};
    value_text[0] = '\0';
    switch (m->type) {
    case META_STR:
        if (m->len <= 60) {
            text_quoted(&t, m->value, m->len, m->len);
        } else {
            text_quoted(&t, m->value, m->len, 40);
            text_put(&t, "... (%zu bytes)", m->len);
        }
        break;
    case META_I64: text_put(&t, "%" PRId64, (int64_t)ld64(m->value)); break;
    case META_F64: {
        double v;
        uint64_t bits = ld64(m->value);
        memcpy(&v, &bits, 8);
        char num[40];
        text_put(&t, "%s", shortest_double(num, sizeof num, v));
        break;
    }
    case META_STRS: {
        text_put(&t, "[%zu strings]", m->len);
        size_t shown = 0;
        for (size_t k = 0; k < m->len && t.len < 60; k++, shown++) {
            uint64_t a = ld64(m->value + k * 8), b = ld64(m->value + (k + 1) * 8);
            text_put(&t, k ? ", " : " ");
            text_quoted(&t, m->blob + a, (size_t)(b - a - 1), 24);
        }
        if (shown < m->len) text_put(&t, ", ...");
        break;
    }
    }
    return LR_OK;
}

/* A JSON string of arbitrary bytes: valid UTF-8 is kept, every byte that
 * is not part of a well-formed sequence becomes U+FFFD. */
static int json_bytes(lr__buf *out, const uint8_t *s, size_t len) {
    lr__buf clean;
    lr__buf_init(&clean);
    int rc = lr__buf_reserve(&clean, len);
    for (size_t i = 0; i < len && rc == LR_OK;) {
        size_t seq = utf8_seq(s + i, len - i);
        if (seq) {
            rc = lr__buf_put(&clean, s + i, seq);
            i += seq;
        } else {
            rc = lr__buf_put(&clean, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    if (rc == LR_OK) rc = lr__buf_put_json_string(out, clean.data ? clean.data : "", clean.len);
    lr__buf_free(&clean);
    return rc;
}

static int json_meta_value(lr__buf *out, const lrm_meta *m) {
    switch (m->type) {
    case META_STR: return json_bytes(out, m->value, m->len);
    case META_I64: return lr__buf_printf(out, "%" PRId64, (int64_t)ld64(m->value));
    case META_F64: {
        double v;
        uint64_t bits = ld64(m->value);
        memcpy(&v, &bits, 8);
        char num[40];
        if (v != v || v - v != 0) return lr__buf_puts(out, "null");
        return lr__buf_puts(out, shortest_double(num, sizeof num, v));
    }
    case META_STRS: {
        int rc = lr__buf_putc(out, '[');
        for (size_t k = 0; k < m->len && rc == LR_OK; k++) {
            uint64_t a = ld64(m->value + k * 8), b = ld64(m->value + (k + 1) * 8);
            if (k) rc = lr__buf_putc(out, ',');
            if (rc == LR_OK) rc = json_bytes(out, m->blob + a, (size_t)(b - a - 1));
        }
        return rc ? rc : lr__buf_putc(out, ']');
    }
    }
    return lr__buf_puts(out, "null");
}

int lr__lrm_describe_json(const lr__lrm *f, int data_ok, struct lr__buf *out) {
    int rc = lr__buf_puts(out, "{\"file\":");
    if (!rc) rc = json_bytes(out, (const uint8_t *)f->name, strlen(f->name));
    if (!rc)
        rc = lr__buf_printf(out,
                            ",\"version\":%" PRIu32 ",\"size\":%zu,\"header_bytes\":%zu,\"header_checksum\":\"%016" PRIx64
                            "\",\"data_checksum\":\"%016" PRIx64 "\",\"data_checksum_ok\":%s,\"metadata\":{",
                            f->version, f->size, f->data_offset, f->header_checksum, f->data_checksum,
                            data_ok ? "true" : "false");
    for (size_t i = 0; i < f->n_meta && !rc; i++) {
        if (i) rc = lr__buf_putc(out, ',');
        if (!rc) rc = json_bytes(out, (const uint8_t *)f->meta[i].key, strlen(f->meta[i].key));
        if (!rc) rc = lr__buf_putc(out, ':');
        if (!rc) rc = json_meta_value(out, &f->meta[i]);
    }
    if (!rc) rc = lr__buf_puts(out, "},\"tensors\":[");
    uint64_t n_params = 0;
    for (size_t i = 0; i < f->n_tensors && !rc; i++) {
        const lr__tensor *t = &f->tensors[i];
        rc = lr__buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        if (!rc) rc = json_bytes(out, (const uint8_t *)t->name, strlen(t->name));
        if (!rc) rc = lr__buf_printf(out, ",\"dtype\":\"%s\",\"shape\":[", lr__dtype_name(t->dtype));
        uint64_t n_elems = 1;
        for (int d = 0; d < t->ndim && !rc; d++) {
            rc = lr__buf_printf(out, "%s%" PRId64, d ? "," : "", t->shape[d]);
            n_elems *= (uint64_t)t->shape[d];
        }
        n_params += n_elems;
        if (!rc)
            rc = lr__buf_printf(out, "],\"offset\":%" PRIu64 ",\"bytes\":%zu}", lr__lrm_tensor_offset(f, t), t->nbytes);
    }
    if (!rc) rc = lr__buf_printf(out, "],\"parameters\":%" PRIu64 "}\n", n_params);
    return rc;
}

const char *lr__lrm_name(const lr__lrm *f) { return f->name; }
uint32_t lr__lrm_version(const lr__lrm *f) { return f->version; }
size_t lr__lrm_size(const lr__lrm *f) { return f->size; }
uint64_t lr__lrm_checksum(const lr__lrm *f) { return f->header_checksum; }
uint64_t lr__lrm_data_checksum(const lr__lrm *f) { return f->data_checksum; }
size_t lr__lrm_data_offset(const lr__lrm *f) { return f->data_offset; }

/* ================================================================ writer */

typedef struct wtensor {
    char *name;
    lr__dtype dtype;
    int ndim;
    int64_t shape[LR_MAX_DIMS];
    const void *data;
    size_t nbytes;
} wtensor;

struct lr__lrm_writer {
    lr__buf meta;  /* serialized metadata entries */
    char **keys;
    size_t n_meta, cap_meta;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

lr__lrm_writer *lr__lrm_writer_new(lr_error *err) {
    lr__lrm_writer *w = lr__calloc(1, sizeof *w);
    if (!w) return lr__err(err, LR_ENOMEM, "out of memory for a model writer"), NULL;
    lr__buf_init(&w->meta);
    return w;
}

void lr__lrm_writer_free(lr__lrm_writer *w) {
    if (!w) return;
    lr__buf_free(&w->meta);
    for (size_t i = 0; i < w->n_meta; i++) lr__free(w->keys[i]);
    lr__free(w->keys);
    for (size_t i = 0; i < w->n_tensors; i++) lr__free(w->tensors[i].name);
    lr__free(w->tensors);
    lr__free(w);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return LR_OK;
    size_t new_cap = *cap ? *cap * 2 : 16, bytes;
    if (!lr__mul_ok(new_cap, elem, &bytes)) return LR_ENOMEM;
    void *p = lr__realloc(*arr, bytes);
    if (!p) return LR_ENOMEM;
    *arr = p;
    *cap = new_cap;
    return LR_OK;
}

static int put_u32(lr__buf *b, uint32_t v) {
    uint8_t x[4];
    st32(x, v);
    return lr__buf_put(b, x, 4);
}

static int put_u64(lr__buf *b, uint64_t v) {
    uint8_t x[8];
    st64(x, v);
    return lr__buf_put(b, x, 8);
}

/* Start a metadata entry: checks the key and appends key and type. On
 * failure the buffer is rolled back by the caller via `mark`. */
static int meta_begin(lr__lrm_writer *w, const char *key, uint32_t type, lr_error *err) {
    if (!key || !*key) return lr__err(err, LR_EINVAL, "metadata key must be a non-empty string");
    size_t key_len = strlen(key);
    if (key_len > UINT32_MAX) return lr__err(err, LR_ERANGE, "metadata key too long");
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->keys[i], key) == 0) return lr__err(err, LR_EINVAL, "metadata key '%s' set twice", key);
    if (w->n_meta >= UINT32_MAX) return lr__err(err, LR_ERANGE, "too many metadata entries");
    if (grow((void **)&w->keys, &w->cap_meta, w->n_meta, sizeof *w->keys) ||
        put_u32(&w->meta, (uint32_t)key_len) || lr__buf_put(&w->meta, key, key_len + 1) || put_u32(&w->meta, type))
        return lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    return LR_OK;
}

/* Record the key once its value is in the buffer. */
static int meta_end(lr__lrm_writer *w, const char *key, size_t mark, int rc, lr_error *err) {
    if (rc == LR_OK) {
        char *copy = lr__strdup(key);
        if (copy) {
            w->keys[w->n_meta++] = copy;
            return LR_OK;
        }
        rc = lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    }
    w->meta.len = mark;
    return rc;
}

int lr__lrm_set_str(lr__lrm_writer *w, const char *key, const char *value, size_t len, lr_error *err) {
    size_t mark = w->meta.len;
    if (!value && len) return lr__err(err, LR_EINVAL, "metadata key '%s': NULL string", key ? key : "");
    int rc = meta_begin(w, key, META_STR, err);
    if (rc == LR_OK && (put_u64(&w->meta, len) || lr__buf_put(&w->meta, value ? value : "", len) ||
                        lr__buf_putc(&w->meta, '\0')))
        rc = lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    return meta_end(w, key, mark, rc, err);
}

int lr__lrm_set_i64(lr__lrm_writer *w, const char *key, int64_t value, lr_error *err) {
    size_t mark = w->meta.len;
    int rc = meta_begin(w, key, META_I64, err);
    if (rc == LR_OK && put_u64(&w->meta, (uint64_t)value))
        rc = lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    return meta_end(w, key, mark, rc, err);
}

int lr__lrm_set_f64(lr__lrm_writer *w, const char *key, double value, lr_error *err) {
    size_t mark = w->meta.len;
    uint64_t bits;
    memcpy(&bits, &value, 8);
    int rc = meta_begin(w, key, META_F64, err);
    if (rc == LR_OK && put_u64(&w->meta, bits))
        rc = lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    return meta_end(w, key, mark, rc, err);
}

int lr__lrm_set_strs(lr__lrm_writer *w, const char *key, const char *const *values, size_t n, lr_error *err) {
    size_t mark = w->meta.len;
    if (!values && n) return lr__err(err, LR_EINVAL, "metadata key '%s': NULL string array", key ? key : "");
    for (size_t i = 0; i < n; i++)
        if (!values[i]) return lr__err(err, LR_EINVAL, "metadata key '%s': string %zu is NULL", key ? key : "", i);
    int rc = meta_begin(w, key, META_STRS, err);
    if (rc) return meta_end(w, key, mark, rc, err);
    uint64_t blob = 0;
    for (size_t i = 0; i < n; i++) blob += strlen(values[i]) + 1;
    int bad = put_u64(&w->meta, n) || put_u64(&w->meta, blob) || put_u64(&w->meta, 0);
    uint64_t off = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        off += strlen(values[i]) + 1;
        bad = put_u64(&w->meta, off);
    }
    for (size_t i = 0; i < n && !bad; i++) bad = lr__buf_put(&w->meta, values[i], strlen(values[i]) + 1);
    if (bad) rc = lr__err(err, LR_ENOMEM, "out of memory adding metadata key '%s'", key);
    return meta_end(w, key, mark, rc, err);
}

int lr__lrm_add_tensor(lr__lrm_writer *w, const char *name, lr__dtype dtype, int ndim, const int64_t *shape,
                       const void *data, lr_error *err) {
    if (!name || !*name) return lr__err(err, LR_EINVAL, "tensor name must be a non-empty string");
    if (strlen(name) > UINT32_MAX) return lr__err(err, LR_ERANGE, "tensor name too long");
    if ((unsigned)dtype > LR_DTYPE_I32) return lr__err(err, LR_EINVAL, "tensor '%s': unknown dtype %d", name, (int)dtype);
    if (ndim < 1 || ndim > LR_MAX_DIMS)
        return lr__err(err, LR_EINVAL, "tensor '%s': ndim %d not in 1..%d", name, ndim, LR_MAX_DIMS);
    size_t n_elems = 1, nbytes;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1 || (uint64_t)shape[d] > SIZE_MAX || !lr__mul_ok(n_elems, (size_t)shape[d], &n_elems))
            return lr__err(err, LR_EINVAL, "tensor '%s': dim %d is %" PRId64 " (must be >= 1, product must fit)", name, d,
                           shape[d]);
    if (!lr__mul_ok(n_elems, lr__dtype_size(dtype), &nbytes) || nbytes > SIZE_MAX - 2 * LRM_ALIGN)
        return lr__err(err, LR_ERANGE, "tensor '%s': byte size overflows", name);
    if (!data) return lr__err(err, LR_EINVAL, "tensor '%s': NULL data", name);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return lr__err(err, LR_EINVAL, "tensor '%s' added twice", name);
    if (w->n_tensors >= UINT32_MAX) return lr__err(err, LR_ERANGE, "too many tensors");
    if (grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors))
        return lr__err(err, LR_ENOMEM, "out of memory adding tensor '%s'", name);
    wtensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    if (!(t->name = lr__strdup(name))) return lr__err(err, LR_ENOMEM, "out of memory adding tensor '%s'", name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->data = data;
    t->nbytes = nbytes;
    w->n_tensors++;
    return LR_OK;
}

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* The header region [0, data_offset) with both checksums filled in, into
 * `hdr`; tensor offsets follow the directory order. */
static int build_header(lr__lrm_writer *w, lr__buf *hdr, size_t *data_offset, uint64_t *data_size, lr_error *err) {
    static const uint8_t zeros[LRM_ALIGN] = {0};
    int bad = lr__buf_put(hdr, lrm_magic, 8) || put_u32(hdr, LRM_VERSION) || put_u32(hdr, LRM_ENDIAN) ||
              lr__buf_put(hdr, zeros, 48) || lr__buf_put(hdr, w->meta.data ? w->meta.data : "", w->meta.len);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_tensors && !bad; i++) {
        const wtensor *t = &w->tensors[i];
        size_t name_len = strlen(t->name);
        bad = put_u32(hdr, (uint32_t)name_len) || lr__buf_put(hdr, t->name, name_len + 1) ||
              put_u32(hdr, (uint32_t)t->dtype) || put_u32(hdr, (uint32_t)t->ndim);
        for (int d = 0; d < LR_MAX_DIMS && !bad; d++) bad = put_u64(hdr, d < t->ndim ? (uint64_t)t->shape[d] : 0);
        bad = bad || put_u64(hdr, off) || put_u64(hdr, t->nbytes);
        off += round_up(t->nbytes, LRM_ALIGN);
    }
    if (bad) return lr__err(err, LR_ENOMEM, "out of memory building the model header");
    size_t pad = round_up(hdr->len, LRM_ALIGN) - hdr->len;
    if (lr__buf_put(hdr, zeros, pad)) return lr__err(err, LR_ENOMEM, "out of memory building the model header");
    uint8_t *h = (uint8_t *)hdr->data;
    *data_offset = hdr->len;
    *data_size = off;
    st64(h + 32, (uint64_t)hdr->len + off);
    st64(h + 40, hdr->len);
    st32(h + 48, (uint32_t)w->n_meta);
    st32(h + 52, (uint32_t)w->n_tensors);
    st64(h + 56, w->meta.len);
    return LR_OK;
}

int lr__lrm_writer_write(lr__lrm_writer *w, const char *path, lr_error *err) {
    static const uint8_t zeros[LRM_ALIGN] = {0};
    if (!host_is_little())
        return lr__err(err, LR_EUNSUPPORTED, "writing .lrm files needs a little-endian host");
    lr__buf hdr;
    lr__buf_init(&hdr);
    size_t data_offset = 0;
    uint64_t data_size = 0;
    int rc = build_header(w, &hdr, &data_offset, &data_size, err);
    if (rc) {
        lr__buf_free(&hdr);
        return rc;
    }
    uint8_t *h = (uint8_t *)hdr.data;

    /* data checksum first (streamed over the caller's pointers), so the
     * file is written front to back in one pass */
    lrh dh;
    lrh_init(&dh);
    for (size_t i = 0; i < w->n_tensors; i++) {
        lrh_update(&dh, w->tensors[i].data, w->tensors[i].nbytes);
        lrh_update(&dh, zeros, round_up(w->tensors[i].nbytes, LRM_ALIGN) - w->tensors[i].nbytes);
    }
    st64(h + 24, lrh_final(&dh));
    st64(h + 16, lr__lrm_hash(h + 24, data_offset - 24));

    lr__atomic a;
    if ((rc = lr__atomic_open(&a, path, err))) goto out;
    rc = lr__atomic_write(&a, hdr.data, hdr.len, err);
    for (size_t i = 0; i < w->n_tensors && !rc; i++) {
        const wtensor *t = &w->tensors[i];
        rc = lr__atomic_write(&a, t->data, t->nbytes, err);
        if (!rc) rc = lr__atomic_write(&a, zeros, round_up(t->nbytes, LRM_ALIGN) - t->nbytes, err);
    }
    if (rc) lr__atomic_abort(&a);
    else rc = lr__atomic_commit(&a, err);
out:
    lr__buf_free(&hdr);
    return rc;
}
