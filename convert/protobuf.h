/*
 * protobuf.h — a small Protocol Buffers writer (lr__pb), only what the ONNX
 * exporter needs: varint, fixed32/fixed64/float, length-delimited bytes and
 * strings, packed repeated int64 and float fields, and nested messages.
 * No protobuf library, no schema compiler: the caller writes fields by
 * number (onnx.c holds the ONNX field numbers).
 *
 * Wire format (protobuf encoding spec): every field is a key
 * `(field_number << 3) | wire_type` as a varint, then the value: wire type 0
 * a varint (little-endian base-128, 7 bits a byte, high bit = more bytes;
 * negative int64 take 10 bytes), 1 eight bytes little-endian, 5 four bytes
 * little-endian, 2 a varint length then that many bytes (strings, bytes,
 * nested messages, packed repeated scalars).
 *
 * Sizes before contents. A nested message's length must be written before
 * the message. lr__pb_message runs the message's callback twice: once on a
 * counting writer (which only adds up byte counts; large payloads given by
 * length are counted without being read), then on the real writer. Nesting
 * depth d costs d counting passes over the small parts of the message and
 * none over the payloads, so a 45 MB tensor's bytes are read and written
 * exactly once. The writing pass checks that it produced exactly the bytes
 * counted (a callback that is not deterministic is an error, not a corrupt
 * file).
 *
 * Errors are sticky: after the first failure (sink error, size mismatch,
 * allocation) every call is a no-op and pb->status holds the code; check it
 * once at the end. Output goes to a sink function (a FILE or an lr__buf
 * sink are provided). Little-endian hosts only (like the .lrm format).
 */
#ifndef LR_CONVERT_PROTOBUF_H
#define LR_CONVERT_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "logrisk.h"

enum { LR_PB_VARINT = 0, LR_PB_I64 = 1, LR_PB_LEN = 2, LR_PB_I32 = 5 };

/* A sink takes len bytes; returns 0, or an LR_E* code that stops the writer. */
typedef int (*lr__pb_sink_fn)(void *user, const void *data, size_t len);

typedef struct lr__pb {
    int counting;        /* 1: bytes are only counted, the sink is never called */
    uint64_t n;          /* bytes counted / written so far                    */
    int status;          /* 0, or the first error (sticky)                    */
    lr__pb_sink_fn sink;
    void *user;
} lr__pb;

/* A counting writer (no output). */
void lr__pb_init_count(lr__pb *pb);
/* A writer into sink(user, ...). */
void lr__pb_init_sink(lr__pb *pb, lr__pb_sink_fn sink, void *user);
/* Ready-made sinks: user is a FILE * (fwrite; LR_EIO on a short write) or an
 * lr__buf * (util.h; LR_ENOMEM when it cannot grow). */
int lr__pb_sink_file(void *user, const void *data, size_t len);
int lr__pb_sink_buf(void *user, const void *data, size_t len);

/* Bytes of the varint encoding of v (1..10). */
int lr__pb_varint_size(uint64_t v);

/* Raw output without a key (for payload callbacks and tests). */
void lr__pb_raw(lr__pb *pb, const void *data, size_t len);
void lr__pb_raw_varint(lr__pb *pb, uint64_t v);
/* A field key. */
void lr__pb_key(lr__pb *pb, uint32_t field, int wire_type);

/* Scalar fields. lr__pb_int writes an int64/int32/enum field (a negative
 * value as its 64-bit two's complement: 10 bytes, as protobuf does). */
void lr__pb_uint(lr__pb *pb, uint32_t field, uint64_t v);
void lr__pb_int(lr__pb *pb, uint32_t field, int64_t v);
void lr__pb_fixed32(lr__pb *pb, uint32_t field, uint32_t v);
void lr__pb_fixed64(lr__pb *pb, uint32_t field, uint64_t v);
void lr__pb_float(lr__pb *pb, uint32_t field, float v);

/* Length-delimited fields: bytes (any), a NUL-terminated string. The data
 * are borrowed for the call only. */
void lr__pb_bytes(lr__pb *pb, uint32_t field, const void *data, size_t len);
void lr__pb_str(lr__pb *pb, uint32_t field, const char *s);

/* Packed repeated fields: n int64 as varints, n floats as fixed32. An
 * empty array writes nothing (as protobuf does). */
void lr__pb_packed_int64(lr__pb *pb, uint32_t field, const int64_t *v, size_t n);
void lr__pb_packed_float(lr__pb *pb, uint32_t field, const float *v, size_t n);

/* A nested message: fn(pb, arg) writes its fields; it is called twice (count,
 * then write) and must write the same bytes both times. */
typedef void (*lr__pb_msg_fn)(lr__pb *pb, const void *arg);
void lr__pb_message(lr__pb *pb, uint32_t field, lr__pb_msg_fn fn, const void *arg);

/* A bytes field of `len` bytes produced by fill(pb, arg) with lr__pb_raw
 * calls (e.g. a weight transposed on the fly). fill is called only when
 * writing, never when counting; it must produce exactly len bytes. */
typedef void (*lr__pb_fill_fn)(lr__pb *pb, const void *arg);
void lr__pb_bytes_fn(lr__pb *pb, uint32_t field, uint64_t len, lr__pb_fill_fn fill,
                     const void *arg);

/* The size of a whole top-level message written by fn (counting only). */
uint64_t lr__pb_measure(lr__pb_msg_fn fn, const void *arg);

#endif /* LR_CONVERT_PROTOBUF_H */
