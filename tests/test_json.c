/* Tests of the strict JSON parser (src/json.c): every value type, escapes
 * and surrogate pairs against hand-computed UTF-8, int64 exactness, the
 * strictness rules (each rejected with the right byte offset), the depth
 * limit, duplicate keys, and a real file (tests/fixtures/tiny/fixture.json). */
#include "json.h"
#include "t.h"
#include "util.h"

#include <locale.h>
#include <stdint.h>

static lr__json_doc *parse(const char *s, unsigned flags, lr_error *err) {
    return lr__json_parse(s, strlen(s), flags, err);
}

static void test_json_values(void) {
    lr_error err = {0};
    lr__json_doc *d = parse(" {\"a\": [1, -2.5, 1e3, true, false, null, \"x\"], \"b\": {}, \"c\": []} ", 0, &err);
    T_CHECK(d != NULL);
    if (!d) return;
    const lr__json *r = lr__json_root(d);
    T_EQ_INT(r->type, LR_JSON_OBJECT);
    T_EQ_INT(r->n, 3);
    const lr__json *a = lr__json_get(r, "a");
    T_CHECK(a && a->type == LR_JSON_ARRAY && a->n == 7);
    T_CHECK(lr__json_at(a, 0)->is_int && lr__json_at(a, 0)->i64 == 1);
    T_NEAR(lr__json_at(a, 1)->num, -2.5, 0);
    T_CHECK(!lr__json_at(a, 1)->is_int);
    T_CHECK(lr__json_at(a, 2)->is_int && lr__json_at(a, 2)->i64 == 1000);
    T_EQ_INT(lr__json_at(a, 3)->type, LR_JSON_TRUE);
    T_EQ_INT(lr__json_at(a, 4)->type, LR_JSON_FALSE);
    T_EQ_INT(lr__json_at(a, 5)->type, LR_JSON_NULL);
    T_EQ_STR(lr__json_at(a, 6)->str, "x");
    T_CHECK(lr__json_at(a, 7) == NULL);
    T_EQ_INT(lr__json_get(r, "b")->n, 0);
    T_EQ_INT(lr__json_get(r, "c")->type, LR_JSON_ARRAY);
    T_CHECK(lr__json_get(r, "zz") == NULL);
    T_EQ_INT(a->offset, 7);
    lr__json_free(d);
}

static void test_json_typed_lookups(void) {
    lr_error err = {0};
    lr__json_doc *d = parse("{\"n\":12,\"f\":0.5,\"s\":\"hi\",\"t\":true,\"n\":13}", 0, &err);
    T_CHECK(d != NULL);
    if (!d) return;
    const lr__json *r = lr__json_root(d);
    int64_t i = 0;
    double f = 0;
    bool b = false;
    const char *s = NULL;
    size_t len = 0;
    T_CHECK(lr__json_get_int(r, "n", &i));
    T_EQ_INT(i, 13); /* the last duplicate wins */
    T_CHECK(!lr__json_get_int(r, "f", &i));
    T_CHECK(lr__json_get_num(r, "f", &f));
    T_NEAR(f, 0.5, 0);
    T_CHECK(lr__json_get_bool(r, "t", &b) && b);
    T_CHECK(lr__json_get_str(r, "s", &s, &len) && len == 2);
    T_CHECK(!lr__json_get_str(r, "n", &s, &len));
    lr__json_free(d);
    d = parse("{\"n\":12,\"a\":1,\"n\":13}", LR_JSON_NO_DUPLICATES, &err);
    T_CHECK(d == NULL);
    T_EQ_INT(err.code, LR_EPARSE);
    T_CHECK(strstr(err.msg, "duplicate key \"n\" at byte offset 14") != NULL);
}

static void test_json_escapes_utf8(void) {
    lr_error err = {0};
    const char *src = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\","
                      " \"\\ud800x\", \"\\udc00\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"a\\u0000b\"]";
    lr__json_doc *d = parse(src, 0, &err);
    T_CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    const lr__json *r = lr__json_root(d);
    T_EQ_STR(lr__json_at(r, 0)->str, "a\"b\\c/d\b\f\n\r\t");
    T_EQ_STR(lr__json_at(r, 1)->str, "\xc3\xa9\xe2\x82\xac");
    T_EQ_STR(lr__json_at(r, 2)->str, "\xf0\x9f\x98\x80");         /* U+1F600 */
    T_EQ_STR(lr__json_at(r, 3)->str, "\xef\xbf\xbdx");             /* lone high -> U+FFFD */
    T_EQ_STR(lr__json_at(r, 4)->str, "\xef\xbf\xbd");              /* lone low  -> U+FFFD */
    T_EQ_STR(lr__json_at(r, 5)->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    T_EQ_INT(lr__json_at(r, 6)->len, 3);
    T_CHECK(memcmp(lr__json_at(r, 6)->str, "a\0b", 3) == 0);
    lr__json_free(d);
}

static void test_json_numbers(void) {
    lr_error err = {0};
    lr__json_doc *d = parse("[9223372036854775807, -9223372036854775808, 9223372036854775808,"
                            " 0, -0, 1.5e-3, 2E+2, 12345678901234567890123, 4.0]",
                            0, &err);
    T_CHECK(d != NULL);
    if (!d) return;
    const lr__json *r = lr__json_root(d);
    T_CHECK(lr__json_at(r, 0)->is_int && lr__json_at(r, 0)->i64 == INT64_MAX);
    T_CHECK(lr__json_at(r, 1)->is_int && lr__json_at(r, 1)->i64 == INT64_MIN);
    T_CHECK(!lr__json_at(r, 2)->is_int);
    T_NEAR(lr__json_at(r, 2)->num, 9223372036854775808.0, 0);
    T_CHECK(lr__json_at(r, 3)->is_int && lr__json_at(r, 3)->i64 == 0);
    T_CHECK(lr__json_at(r, 4)->is_int && lr__json_at(r, 4)->i64 == 0);
    T_NEAR(lr__json_at(r, 5)->num, 0.0015, 1e-18);
    T_CHECK(lr__json_at(r, 6)->is_int && lr__json_at(r, 6)->i64 == 200);
    T_CHECK(!lr__json_at(r, 7)->is_int);
    T_CHECK(lr__json_at(r, 8)->is_int && lr__json_at(r, 8)->i64 == 4);
    lr__json_free(d);
}

/* A program that switched LC_NUMERIC to a comma locale still parses '.'. */
static void test_json_locale(void) {
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8") &&
        !setlocale(LC_NUMERIC, "de_DE"))
        return; /* no comma locale installed: nothing to prove here */
    lr_error err = {0};
    lr__json_doc *d = parse("[2.5, -0.125e1]", 0, &err);
    T_CHECK(d != NULL);
    if (d) {
        T_NEAR(lr__json_at(lr__json_root(d), 0)->num, 2.5, 0);
        T_NEAR(lr__json_at(lr__json_root(d), 1)->num, -1.25, 0);
    }
    lr__json_free(d);
    setlocale(LC_NUMERIC, "C");
}

static void test_json_rejects(void) {
    static const struct {
        const char *text;
        size_t offset;
    } bad[] = {
        {"", 0},          {"  ", 2},           {"[1,]", 3},         {"{\"a\":1,}", 7},
        {"[1 2]", 3},     {"{'a':1}", 1},      {"01", 1},           {"+1", 0},
        {"1.", 2},        {".5", 0},           {"1e", 2},           {"-", 1},
        {"NaN", 0},       {"Infinity", 0},     {"[1] x", 4},        {"\"a", 0},
        {"\"\\x\"", 1},   {"\"\\u12g4\"", 1},  {"\"a\tb\"", 2},     {"tru", 0},
        {"nul", 0},       {"{\"a\" 1}", 5},    {"{1:2}", 1},        {"[", 1},
        {"\"\xc3\x28\"", 1}, {"\"\xed\xa0\x80\"", 1}, {"\"\xc0\xaf\"", 1}, {"1e999", 0},
        {"/* c */ 1", 0}, {"[1]\x00", 3},
    };
    for (size_t i = 0; i < LR_ARRAY_LEN(bad); i++) {
        lr_error err = {0};
        size_t len = strlen(bad[i].text);
        if (strcmp(bad[i].text, "[1]") == 0) len = 4; /* the embedded NUL case */
        lr__json_doc *d = lr__json_parse(bad[i].text, len, 0, &err);
        if (d) {
            T_FAIL("accepted bad JSON #%zu: %s", i, bad[i].text);
            lr__json_free(d);
            continue;
        }
        T_EQ_INT(err.code, LR_EPARSE);
        char want[64];
        snprintf(want, sizeof want, "at byte offset %zu", bad[i].offset);
        if (!strstr(err.msg, want)) T_FAIL("#%zu %s: message '%s' lacks '%s'", i, bad[i].text, err.msg, want);
    }
}

static void test_json_depth_limit(void) {
    char deep[2 * (LR_JSON_MAX_DEPTH + 2) + 1];
    lr_error err = {0};
    /* exactly the limit parses */
    size_t n = 0;
    for (int i = 0; i < LR_JSON_MAX_DEPTH; i++) deep[n++] = '[';
    for (int i = 0; i < LR_JSON_MAX_DEPTH; i++) deep[n++] = ']';
    lr__json_doc *d = lr__json_parse(deep, n, 0, &err);
    T_CHECK(d != NULL);
    lr__json_free(d);
    n = 0;
    for (int i = 0; i < LR_JSON_MAX_DEPTH + 1; i++) deep[n++] = '[';
    for (int i = 0; i < LR_JSON_MAX_DEPTH + 1; i++) deep[n++] = ']';
    d = lr__json_parse(deep, n, 0, &err);
    T_CHECK(d == NULL);
    T_CHECK(strstr(err.msg, "nesting too deep") != NULL);
}

/* Count failing allocations until a parse succeeds: every failure must be a
 * clean LR_ENOMEM (no crash, no leak under valgrind/ASan). */
static int g_fail_after = -1;
static void *failing_malloc(size_t n) {
    if (g_fail_after == 0) return NULL;
    if (g_fail_after > 0) g_fail_after--;
    return malloc(n);
}
static void *failing_realloc(void *p, size_t n) {
    if (g_fail_after == 0) return NULL;
    if (g_fail_after > 0) g_fail_after--;
    return realloc(p, n);
}

static void test_json_alloc_failures(void) {
    const lr_allocator a = {failing_malloc, failing_realloc, free};
    const char *src = "{\"k\": [1, 2, {\"x\": \"yy\", \"z\": [true, null]}], \"m\": \"\\u00e9\"}";
    int ok = 0;
    for (int k = 0; k < 50 && !ok; k++) {
        lr_error err = {0};
        g_fail_after = k;
        lr_set_allocator(&a);
        lr__json_doc *d = parse(src, LR_JSON_NO_DUPLICATES, &err);
        lr_set_allocator(NULL);
        if (d) {
            ok = 1;
            lr__json_free(d);
        } else {
            T_EQ_INT(err.code, LR_ENOMEM);
        }
    }
    T_CHECK(ok);
}

static void test_json_real_file(void) {
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/tiny/fixture.json");
    FILE *f = fopen(path, "rb");
    T_CHECK(f != NULL);
    if (!f) return;
    lr__buf b;
    lr__buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) T_EQ_INT(lr__buf_put(&b, chunk, n), 0);
    fclose(f);
    lr_error err = {0};
    lr__json_doc *d = lr__json_parse(b.data, b.len, LR_JSON_NO_DUPLICATES, &err);
    T_CHECK(d != NULL);
    if (d) {
        const lr__json *r = lr__json_root(d);
        const char *model;
        T_CHECK(lr__json_get_str(r, "model", &model, NULL));
        T_EQ_STR(model, "tiny");
        int64_t vocab = 0;
        T_CHECK(lr__json_get_int(lr__json_get(r, "config"), "vocab_size", &vocab));
        T_EQ_INT(vocab, 512);
        const lr__json *batches = lr__json_get(r, "batches");
        T_CHECK(batches && batches->n == 4);
        lr__json_free(d);
    }
    lr__buf_free(&b);
}

T_MAIN(T_CASE(test_json_values), T_CASE(test_json_typed_lookups), T_CASE(test_json_escapes_utf8),
       T_CASE(test_json_numbers), T_CASE(test_json_locale), T_CASE(test_json_rejects), T_CASE(test_json_depth_limit),
       T_CASE(test_json_alloc_failures), T_CASE(test_json_real_file))
