/* Tests of the protobuf writer (convert/protobuf.c) against encodings worked
 * out by hand from the protobuf wire-format rules, and of the ONNX export's
 * size limit and failure paths (convert/onnx.c). */
#include "t.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../convert/onnx.h"
#include "../convert/protobuf.h"
#include "util.h"

/* Bytes written by a sequence of calls into a fresh buffer writer. */
static lr__buf g_buf;
static lr__pb *pb_new(lr__pb *pb) {
    lr__buf_free(&g_buf);
    lr__buf_init(&g_buf);
    lr__pb_init_sink(pb, lr__pb_sink_buf, &g_buf);
    return pb;
}

/* The buffer as "hh hh ..." for readable failures. */
static const char *hex(void) {
    static char s[4096];
    size_t o = 0;
    s[0] = '\0';
    for (size_t i = 0; i < g_buf.len && o + 4 < sizeof s; i++)
        o += (size_t)snprintf(s + o, sizeof s - o, i ? " %02x" : "%02x", (unsigned char)g_buf.data[i]);
    return s;
}

static void test_varints(void) {
    static const struct {
        uint64_t v;
        const char *bytes;
        int size;
    } cases[] = {
        {0, "00", 1},
        {1, "01", 1},
        {127, "7f", 1},
        {128, "80 01", 2},
        {150, "96 01", 2},
        {300, "ac 02", 2},
        {16383, "ff 7f", 2},
        {16384, "80 80 01", 3},
        {(1ull << 32) - 1, "ff ff ff ff 0f", 5},
        {1ull << 63, "80 80 80 80 80 80 80 80 80 01", 10},
        {UINT64_MAX, "ff ff ff ff ff ff ff ff ff 01", 10},
    };
    for (size_t i = 0; i < LR_ARRAY_LEN(cases); i++) {
        lr__pb pb;
        lr__pb_raw_varint(pb_new(&pb), cases[i].v);
        T_EQ_STR(hex(), cases[i].bytes);
        T_EQ_INT(lr__pb_varint_size(cases[i].v), cases[i].size);
        T_EQ_INT(pb.n, cases[i].size);
    }
}

static void test_scalar_fields(void) {
    lr__pb pb;
    /* key = field << 3 | wire type */
    lr__pb_uint(pb_new(&pb), 1, 150);
    T_EQ_STR(hex(), "08 96 01");
    lr__pb_uint(pb_new(&pb), 16, 1); /* key 0x80 needs two bytes */
    T_EQ_STR(hex(), "80 01 01");
    lr__pb_int(pb_new(&pb), 20, 4); /* field 20 (AttributeProto.type): a two-byte key */
    T_EQ_STR(hex(), "a0 01 04");
    lr__pb_int(pb_new(&pb), 3, -1); /* negative int64: ten bytes */
    T_EQ_STR(hex(), "18 ff ff ff ff ff ff ff ff ff 01");
    lr__pb_int(pb_new(&pb), 3, -2);
    T_EQ_STR(hex(), "18 fe ff ff ff ff ff ff ff ff 01");
    lr__pb_fixed32(pb_new(&pb), 2, 0x01020304u);
    T_EQ_STR(hex(), "15 04 03 02 01");
    lr__pb_float(pb_new(&pb), 2, 1.0f);
    T_EQ_STR(hex(), "15 00 00 80 3f");
    lr__pb_float(pb_new(&pb), 2, -2.5f);
    T_EQ_STR(hex(), "15 00 00 20 c0");
    lr__pb_fixed64(pb_new(&pb), 1, 0x0102030405060708ull);
    T_EQ_STR(hex(), "09 08 07 06 05 04 03 02 01");
    lr__pb_key(pb_new(&pb), 536870911u, LR_PB_LEN); /* the largest field number */
    T_EQ_STR(hex(), "fa ff ff ff 0f");
}

static void test_length_delimited(void) {
    lr__pb pb;
    lr__pb_str(pb_new(&pb), 2, "testing");
    T_EQ_STR(hex(), "12 07 74 65 73 74 69 6e 67");
    lr__pb_str(pb_new(&pb), 1, "");
    T_EQ_STR(hex(), "0a 00");
    lr__pb_bytes(pb_new(&pb), 9, "\0\xff", 2);
    T_EQ_STR(hex(), "4a 02 00 ff");
    /* A 200-byte payload: length 200 = c8 01. */
    char big[200];
    memset(big, 'x', sizeof big);
    lr__pb_bytes(pb_new(&pb), 1, big, sizeof big);
    T_EQ_INT(g_buf.len, 203);
    T_EQ_INT((unsigned char)g_buf.data[1], 0xc8);
    T_EQ_INT((unsigned char)g_buf.data[2], 0x01);
    T_EQ_INT(g_buf.data[3], 'x');
}

static void test_packed(void) {
    lr__pb pb;
    const int64_t v[] = {3, 270, 86942};
    lr__pb_packed_int64(pb_new(&pb), 4, v, 3);
    T_EQ_STR(hex(), "22 06 03 8e 02 9e a7 05");
    const int64_t neg[] = {-1, 0};
    lr__pb_packed_int64(pb_new(&pb), 1, neg, 2);
    T_EQ_STR(hex(), "0a 0b ff ff ff ff ff ff ff ff ff 01 00");
    const float f[] = {1.0f, -2.0f};
    lr__pb_packed_float(pb_new(&pb), 4, f, 2);
    T_EQ_STR(hex(), "22 08 00 00 80 3f 00 00 00 c0");
    lr__pb_packed_int64(pb_new(&pb), 1, v, 0); /* empty: nothing at all */
    T_EQ_INT(g_buf.len, 0);
    T_EQ_INT(pb.n, 0);
}

static void inner_msg(lr__pb *pb, const void *arg) {
    lr__pb_uint(pb, 1, *(const uint64_t *)arg);
}
static void middle_msg(lr__pb *pb, const void *arg) {
    lr__pb_message(pb, 3, inner_msg, arg);
    lr__pb_str(pb, 2, "hi");
}
typedef struct big_arg {
    const char *data;
    size_t len;
} big_arg;
static void big_inner(lr__pb *pb, const void *arg) {
    const big_arg *b = arg;
    lr__pb_bytes(pb, 1, b->data, b->len);
}
static void big_outer(lr__pb *pb, const void *arg) {
    lr__pb_uint(pb, 2, 1);
    lr__pb_message(pb, 1, big_inner, arg);
}

static void test_nested_messages(void) {
    lr__pb pb;
    uint64_t v = 150;
    /* Test3 { c: Test1 { a: 150 } } from the protobuf encoding guide. */
    lr__pb_message(pb_new(&pb), 3, inner_msg, &v);
    T_EQ_STR(hex(), "1a 03 08 96 01");
    lr__pb_message(pb_new(&pb), 7, middle_msg, &v);
    T_EQ_STR(hex(), "3a 09 1a 03 08 96 01 12 02 68 69");
    T_EQ_INT(lr__pb_measure(middle_msg, &v), 9);
    /* Lengths that need two varint bytes at two levels: inner = 1 + 2 + 300
     * = 303 (af 02), outer = 2 (field 2) + 1 + 2 + 303 = 308 (b4 02). */
    char payload[300];
    memset(payload, 'y', sizeof payload);
    big_arg b = {payload, sizeof payload};
    lr__pb_message(pb_new(&pb), 5, big_outer, &b);
    T_EQ_INT(pb.status, 0);
    T_EQ_INT(g_buf.len, 1 + 2 + 308);
    static const unsigned char head[] = {0x2a, 0xb4, 0x02, 0x10, 0x01, 0x0a, 0xaf, 0x02, 0x0a, 0xac, 0x02, 'y'};
    T_CHECK(memcmp(g_buf.data, head, sizeof head) == 0);
    T_EQ_INT(lr__pb_measure(big_outer, &b), 308);
}

typedef struct fill_arg {
    int calls;
    size_t produce;
} fill_arg;
static void fill_fn(lr__pb *pb, const void *arg) {
    fill_arg *f = (fill_arg *)arg;
    f->calls++;
    static const char abc[] = "abcdefgh";
    lr__pb_raw(pb, abc, LR_MIN(f->produce, 3));
    if (f->produce > 3) lr__pb_raw(pb, abc + 3, f->produce - 3);
}
static void fill_msg(lr__pb *pb, const void *arg) { lr__pb_bytes_fn(pb, 9, 5, fill_fn, arg); }

static void test_bytes_fn(void) {
    lr__pb pb;
    fill_arg f = {0, 5};
    /* Counting never calls the payload producer. */
    T_EQ_INT(lr__pb_measure(fill_msg, &f), 7);
    T_EQ_INT(f.calls, 0);
    lr__pb_message(pb_new(&pb), 1, fill_msg, &f);
    T_EQ_STR(hex(), "0a 07 4a 05 61 62 63 64 65");
    T_EQ_INT(f.calls, 1);
    T_EQ_INT(pb.status, 0);
    /* A producer that writes fewer bytes than announced is an error. */
    fill_arg shortf = {0, 4};
    lr__pb_bytes_fn(pb_new(&pb), 9, 5, fill_fn, &shortf);
    T_EQ_INT(pb.status, LR_EINVAL);
}

static int g_calls;
static void unstable_msg(lr__pb *pb, const void *arg) {
    (void)arg;
    lr__pb_uint(pb, 1, g_calls++ == 0 ? 1 : 1000); /* 2 bytes, then 3 */
}

static void test_nondeterministic_message_is_an_error(void) {
    lr__pb pb;
    g_calls = 0;
    lr__pb_message(pb_new(&pb), 1, unstable_msg, NULL);
    T_EQ_INT(pb.status, LR_EINVAL);
}

static size_t g_sink_room;
static int limited_sink(void *user, const void *data, size_t len) {
    if (len > g_sink_room) return LR_EIO;
    g_sink_room -= len;
    return lr__pb_sink_buf(user, data, len);
}

static void test_sink_errors_are_sticky(void) {
    lr__buf b;
    lr__buf_init(&b);
    lr__pb pb;
    lr__pb_init_sink(&pb, limited_sink, &b);
    g_sink_room = 4;
    lr__pb_str(&pb, 1, "ab"); /* 4 bytes: fits */
    T_EQ_INT(pb.status, 0);
    lr__pb_uint(&pb, 1, 1); /* no room */
    T_EQ_INT(pb.status, LR_EIO);
    g_sink_room = 100;
    lr__pb_uint(&pb, 1, 1); /* ignored after the failure */
    T_EQ_INT(b.len, 4);
    T_EQ_INT(pb.n, 4);
    lr__buf_free(&b);
    /* A counting writer never calls its sink. */
    lr__pb_init_count(&pb);
    lr__pb_str(&pb, 1, "abc");
    T_EQ_INT(pb.n, 5);
}

/* ----------------------------------------------------------- ONNX export */

static const char *fixture_lrm(void) {
    static char path[256];
    if (path[0]) return path;
    mkdir("tests/out", 0755);
    mkdir("tests/out/protobuf", 0755);
    snprintf(path, sizeof path, "tests/out/protobuf/linear.lrm");
    lr_error err = {0};
    if (lr_convert_safetensors("tests/fixtures/model/linear", path, NULL, &err) != 0) {
        T_FAIL("convert: %s", err.msg);
        path[0] = '\0';
    }
    return path;
}

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void test_export_size_limit(void) {
    const char *lrm = fixture_lrm();
    if (!*lrm) return;
    const char *out = "tests/out/protobuf/linear.onnx";
    unlink(out);
    lr_error err = {0};
    lr_onnx_options o = {0};
    T_EQ_INT(lr_export_onnx(lrm, out, &o, &err), 0);
    long size = file_size(out);
    T_CHECK(size > 1000);
    /* The limit is checked against the exact size, before writing. */
    unlink(out);
    o.max_bytes = (uint64_t)size;
    T_EQ_INT(lr_export_onnx(lrm, out, &o, &err), 0);
    T_EQ_INT(file_size(out), size);
    unlink(out);
    o.max_bytes = (uint64_t)size - 1;
    T_EQ_INT(lr_export_onnx(lrm, out, &o, &err), LR_ERANGE);
    T_CHECK(strstr(err.msg, "2 GB") != NULL);
    T_EQ_INT(file_size(out), -1);
    /* Opset 17 has fewer nodes, hence a smaller file; others are refused. */
    o.max_bytes = 0;
    o.opset = 17;
    T_EQ_INT(lr_export_onnx(lrm, out, &o, &err), 0);
    T_CHECK(file_size(out) > 0 && file_size(out) < size);
    o.opset = 13;
    T_EQ_INT(lr_export_onnx(lrm, out, &o, &err), LR_EINVAL);
    T_EQ_INT(LR_ONNX_MAX_BYTES, 2147483647);
}

/* Whole file into a fresh buffer (64-byte aligned); *size set. NULL on error. */
static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n > 0 ? aligned_alloc(64, ((size_t)n + 63) / 64 * 64) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static void test_export_from_memory(void) {
    const char *lrm = fixture_lrm();
    if (!*lrm) return;
    const char *a = "tests/out/protobuf/file.onnx", *b = "tests/out/protobuf/memory.onnx";
    lr_error err = {0};
    T_EQ_INT(lr_export_onnx(lrm, a, NULL, &err), 0);
    size_t n = 0, na = 0, nb = 0;
    unsigned char *image = read_all(lrm, &n);
    T_CHECK(image != NULL);
    if (!image) return;
    T_EQ_INT(lr_export_onnx_memory(image, n, "linear (memory)", b, NULL, &err), 0);
    unsigned char *fa = read_all(a, &na), *fb = read_all(b, &nb);
    T_CHECK(fa && fb && na == nb && memcmp(fa, fb, na) == 0); /* the same bytes */
    /* A damaged image is refused with the name given. */
    image[n / 2] ^= 1;
    T_CHECK(lr_export_onnx_memory(image, n, "damaged", b, NULL, &err) != 0);
    T_CHECK(strstr(err.msg, "damaged") != NULL);
    free(fa);
    free(fb);
    free(image);
}

static long g_alloc_budget = -1;
static void *failing_malloc(size_t n) { return g_alloc_budget-- == 0 ? NULL : malloc(n); }
static void *failing_realloc(void *p, size_t n) { return g_alloc_budget-- == 0 ? NULL : realloc(p, n); }

static void test_export_allocation_failures(void) {
    const char *lrm = fixture_lrm();
    if (!*lrm) return;
    const char *out = "tests/out/protobuf/alloc.onnx";
    static const lr_allocator failing = {failing_malloc, failing_realloc, free};
    int succeeded = 0, failures = 0;
    for (long budget = 0; budget < 20000 && !succeeded; budget++) {
        unlink(out);
        lr_error err = {0};
        g_alloc_budget = budget;
        lr_set_allocator(&failing);
        int rc = lr_export_onnx(lrm, out, NULL, &err);
        lr_set_allocator(NULL);
        if (rc == 0) {
            succeeded = 1;
        } else {
            failures++;
            if (file_size(out) != -1) T_FAIL("budget %ld: failed (%s) but left %s", budget, err.msg, out);
            if (err.msg[0] == '\0') T_FAIL("budget %ld: failed without a message", budget);
        }
    }
    T_CHECK(succeeded);
    T_CHECK(failures > 10);
    unlink(out);
}

T_MAIN(T_CASE(test_varints), T_CASE(test_scalar_fields), T_CASE(test_length_delimited),
       T_CASE(test_packed), T_CASE(test_nested_messages), T_CASE(test_bytes_fn),
       T_CASE(test_nondeterministic_message_is_an_error), T_CASE(test_sink_errors_are_sticky),
       T_CASE(test_export_size_limit), T_CASE(test_export_from_memory),
       T_CASE(test_export_allocation_failures))
