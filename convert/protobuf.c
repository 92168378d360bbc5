/*
 * protobuf.c — the lr__pb writer (see protobuf.h for the wire format and
 * the count-then-write scheme for nested lengths).
 *
 * Every function first checks the sticky status, so a failed sink or a
 * size mismatch stops all further output; a counting writer never calls
 * its sink. Float and fixed values are written byte by byte in little-endian
 * order, so the encoder does not depend on the host's byte order; bulk
 * payloads (raw_data) are the caller's bytes, which onnx.c writes from a
 * little-endian model file on a little-endian host.
 */
#include "protobuf.h"

#include <string.h>

#include "util.h"

void lr__pb_init_count(lr__pb *pb) {
    memset(pb, 0, sizeof *pb);
    pb->counting = 1;
}

void lr__pb_init_sink(lr__pb *pb, lr__pb_sink_fn sink, void *user) {
    memset(pb, 0, sizeof *pb);
    pb->sink = sink;
    pb->user = user;
}

int lr__pb_sink_file(void *user, const void *data, size_t len) {
    return fwrite(data, 1, len, (FILE *)user) == len ? 0 : LR_EIO;
}

int lr__pb_sink_buf(void *user, const void *data, size_t len) {
    return lr__buf_put((lr__buf *)user, data, len) ? LR_ENOMEM : 0;
}

int lr__pb_varint_size(uint64_t v) {
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void lr__pb_raw(lr__pb *pb, const void *data, size_t len) {
    if (pb->status || len == 0) return;
    if (!pb->counting) {
        int rc = pb->sink(pb->user, data, len);
        if (rc) {
            pb->status = rc;
            return;
        }
    }
    pb->n += len;
}

void lr__pb_raw_varint(lr__pb *pb, uint64_t v) {
    unsigned char b[10];
    int n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    lr__pb_raw(pb, b, (size_t)n);
}

void lr__pb_key(lr__pb *pb, uint32_t field, int wire_type) {
    lr__pb_raw_varint(pb, ((uint64_t)field << 3) | (uint64_t)wire_type);
}

void lr__pb_uint(lr__pb *pb, uint32_t field, uint64_t v) {
    lr__pb_key(pb, field, LR_PB_VARINT);
    lr__pb_raw_varint(pb, v);
}

void lr__pb_int(lr__pb *pb, uint32_t field, int64_t v) { lr__pb_uint(pb, field, (uint64_t)v); }

static void put_le(lr__pb *pb, uint64_t v, int nbytes) {
    unsigned char b[8];
    for (int i = 0; i < nbytes; i++) b[i] = (unsigned char)(v >> (8 * i));
    lr__pb_raw(pb, b, (size_t)nbytes);
}

void lr__pb_fixed32(lr__pb *pb, uint32_t field, uint32_t v) {
    lr__pb_key(pb, field, LR_PB_I32);
    put_le(pb, v, 4);
}

void lr__pb_fixed64(lr__pb *pb, uint32_t field, uint64_t v) {
    lr__pb_key(pb, field, LR_PB_I64);
    put_le(pb, v, 8);
}

static uint32_t float_bits(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

void lr__pb_float(lr__pb *pb, uint32_t field, float v) { lr__pb_fixed32(pb, field, float_bits(v)); }

void lr__pb_bytes(lr__pb *pb, uint32_t field, const void *data, size_t len) {
    lr__pb_key(pb, field, LR_PB_LEN);
    lr__pb_raw_varint(pb, len);
    lr__pb_raw(pb, data, len);
}

void lr__pb_str(lr__pb *pb, uint32_t field, const char *s) { lr__pb_bytes(pb, field, s, strlen(s)); }

void lr__pb_packed_int64(lr__pb *pb, uint32_t field, const int64_t *v, size_t n) {
    if (n == 0) return;
    uint64_t len = 0;
    for (size_t i = 0; i < n; i++) len += (uint64_t)lr__pb_varint_size((uint64_t)v[i]);
    lr__pb_key(pb, field, LR_PB_LEN);
    lr__pb_raw_varint(pb, len);
    for (size_t i = 0; i < n; i++) lr__pb_raw_varint(pb, (uint64_t)v[i]);
}

void lr__pb_packed_float(lr__pb *pb, uint32_t field, const float *v, size_t n) {
    if (n == 0) return;
    lr__pb_key(pb, field, LR_PB_LEN);
    lr__pb_raw_varint(pb, (uint64_t)n * 4);
    for (size_t i = 0; i < n; i++) put_le(pb, float_bits(v[i]), 4);
}

uint64_t lr__pb_measure(lr__pb_msg_fn fn, const void *arg) {
    lr__pb counter;
    lr__pb_init_count(&counter);
    fn(&counter, arg);
    return counter.n;
}

void lr__pb_message(lr__pb *pb, uint32_t field, lr__pb_msg_fn fn, const void *arg) {
    if (pb->status) return;
    uint64_t len = lr__pb_measure(fn, arg);
    lr__pb_key(pb, field, LR_PB_LEN);
    lr__pb_raw_varint(pb, len);
    if (pb->counting) {
        pb->n += len;
        return;
    }
    uint64_t start = pb->n;
    fn(pb, arg);
    if (!pb->status && pb->n - start != len) pb->status = LR_EINVAL;
}

void lr__pb_bytes_fn(lr__pb *pb, uint32_t field, uint64_t len, lr__pb_fill_fn fill,
                     const void *arg) {
    lr__pb_key(pb, field, LR_PB_LEN);
    lr__pb_raw_varint(pb, len);
    if (pb->status) return;
    if (pb->counting) {
        pb->n += len;
        return;
    }
    uint64_t start = pb->n;
    fill(pb, arg);
    if (!pb->status && pb->n - start != len) pb->status = LR_EINVAL;
}
