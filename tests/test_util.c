/* Tests of the shared internals: buffer, JSON escaping, overflow checks,
 * error messages and the allocation hook. */
#include "t.h"
#include "util.h"

#include <stdint.h>

static void test_buf_grows_and_terminates(void) {
    lr__buf b;
    lr__buf_init(&b);
    for (int i = 0; i < 1000; i++) T_EQ_INT(lr__buf_putc(&b, 'x'), 0);
    T_EQ_INT(b.len, 1000);
    T_EQ_INT(b.data[1000], 0);
    T_EQ_INT(lr__buf_printf(&b, "%d-%s", 42, "ok"), 0);
    T_EQ_STR(b.data + 1000, "42-ok");
    lr__buf_clear(&b);
    T_EQ_INT(b.len, 0);
    T_EQ_STR(b.data, "");
    lr__buf_free(&b);
}

static void test_json_string_escapes(void) {
    lr__buf b;
    lr__buf_init(&b);
    const char in[] = "a\"b\\c\n\t\x01\x7f\xc3\xa9";
    T_EQ_INT(lr__buf_put_json_string(&b, in, sizeof in - 1), 0);
    T_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\"");
    lr__buf_clear(&b);
    T_EQ_INT(lr__buf_put_json_string(&b, "\0x", 2), 0);
    T_EQ_STR(b.data, "\"\\u0000x\"");
    lr__buf_free(&b);
}

static void test_json_float(void) {
    lr__buf b;
    lr__buf_init(&b);
    lr__buf_put_json_float(&b, 0.25f);
    lr__buf_putc(&b, ' ');
    lr__buf_put_json_float(&b, NAN);
    T_EQ_STR(b.data, "0.25 null");
    lr__buf_free(&b);
}

static void test_overflow_checks(void) {
    size_t out = 0;
    T_CHECK(lr__mul_ok(3, 4, &out) && out == 12);
    T_CHECK(!lr__mul_ok(SIZE_MAX / 2 + 1, 2, &out));
    T_CHECK(lr__add_ok(1, 2, &out) && out == 3);
    T_CHECK(!lr__add_ok(SIZE_MAX, 1, &out));
    T_CHECK(lr__calloc(SIZE_MAX / 4, 8) == NULL);
}

static void test_error_message(void) {
    lr_error err = {0};
    T_EQ_INT(lr__err(&err, LR_EPARSE, "%s:%d: bad", "f.yaml", 3), LR_EPARSE);
    T_EQ_INT(err.code, LR_EPARSE);
    T_EQ_STR(err.msg, "f.yaml:3: bad");
    T_EQ_INT(lr__err(NULL, LR_EIO, "ignored"), LR_EIO);
    T_EQ_STR(lr_strerror(LR_ECHECKSUM), "checksum mismatch");
}

static int g_fail_after = -1;
static void *failing_malloc(size_t n) {
    if (g_fail_after == 0) return NULL;
    if (g_fail_after > 0) g_fail_after--;
    return malloc(n);
}

static void test_allocator_hook_injects_failure(void) {
    lr_allocator a = {failing_malloc, realloc, free};
    lr_set_allocator(&a);
    g_fail_after = 0;
    T_CHECK(lr__strdup("abc") == NULL);
    g_fail_after = -1;
    char *s = lr__strdup("abc");
    T_EQ_STR(s, "abc");
    lr__free(s);
    lr_set_allocator(NULL);
}

/* lr__fnv1a's values must never change: the agent's state files keep
 * fingerprints made with it (its offset basis is not the published one). */
static void test_fnv1a(void) {
    T_CHECK(lr__fnv1a("", 0) == 0x14650fb0739d0383ull);
    T_CHECK(lr__fnv1a("a", 1) == 0x44bd8ad473cd9906ull);
    T_CHECK(lr__fnv1a("foobar", 6) == 0x88fad7c0a8ff07f2ull);
}

T_MAIN(T_CASE(test_fnv1a), T_CASE(test_buf_grows_and_terminates), T_CASE(test_json_string_escapes),
       T_CASE(test_json_float), T_CASE(test_overflow_checks), T_CASE(test_error_message),
       T_CASE(test_allocator_hook_injects_failure))
