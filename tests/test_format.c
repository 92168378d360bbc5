/*
 * test_format.c — the .lrm model file: round trips, atomic writes, and a
 * corruption corpus (every truncation, every header bit flip, data flips,
 * hand-crafted hostile headers) that must each give an error, never a
 * crash and never a successful open. Run under ASan/UBSan by
 * `make sanitize`, which turns any out-of-bounds read into a failure.
 *
 * The hostile images are built byte by byte by a small independent writer
 * in this file (raw_*), then resealed with fresh checksums so that the
 * structural checks themselves are exercised, not just the checksum.
 *
 * `test_format fixture_files` with LR_FORMAT_FIXTURES=DIR writes a valid
 * and a few broken files for tests/inspect.test.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "t.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

static char g_dir[64];

static const char *tmp_dir(void) {
    if (!g_dir[0]) {
        strcpy(g_dir, "/tmp/lrm_test_XXXXXX");
        if (!mkdtemp(g_dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return g_dir;
}

static void tmp_path(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmp_dir(), name); }

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Open a copy of `size` bytes in an exactly sized, 64-byte aligned block,
 * so ASan sees any read past the end. Returns the open result's code. */
static int open_copy(const uint8_t *img, size_t size, lr_error *err) {
    void *buf = NULL;
    if (posix_memalign(&buf, 64, size ? size : 1) != 0) return LR_ENOMEM;
    if (size) memcpy(buf, img, size);
    lr_error local = {0};
    if (!err) err = &local;
    err->code = 0;
    lr__lrm *f = lr__lrm_open_memory(buf, size, "img", err);
    int rc = f ? LR_OK : err->code;
    if (f) {
        /* walk everything the API exposes so that a bad index would show */
        for (size_t i = 0; i < lr__lrm_n_meta(f); i++) {
            const char *key;
            char text[128];
            lr__lrm_meta_at(f, i, &key, text, sizeof text);
        }
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < lr__lrm_n_tensors(f); i++) {
            const lr__tensor *t = lr__lrm_tensor_at(f, i);
            for (size_t k = 0; k < t->nbytes; k++) sink ^= ((const uint8_t *)t->data)[k];
        }
        (void)sink;
        lr__lrm_close(f);
    }
    free(buf);
    return rc;
}

/* The model used by most cases: every metadata type and several dtypes. */
static float g_wf[3 * 5];
static int32_t g_wi[7];
static int8_t g_wb[2 * 3 * 4 * 5];
static uint16_t g_wh[65];

static int write_sample(const char *path, lr_error *err) {
    for (int i = 0; i < 15; i++) g_wf[i] = (float)i * 0.25f - 1.0f;
    for (int i = 0; i < 7; i++) g_wi[i] = i * 1000003 - 7;
    for (int i = 0; i < 120; i++) g_wb[i] = (int8_t)(i * 37);
    for (int i = 0; i < 65; i++) g_wh[i] = (uint16_t)(0x3c00 + i);
    static const char *labels[] = {"noise", "info", "", "outage \"x\""};
    static const char binary[] = {'a', 0, 'b', '\n', (char)0xff};
    char long_str[200];
    for (int i = 0; i < 199; i++) long_str[i] = (char)('a' + i % 26);
    long_str[199] = 0;
    lr__lrm_writer *w = lr__lrm_writer_new(err);
    if (!w) return -1;
    int64_t s1[2] = {3, 5}, s2[1] = {7}, s3[4] = {2, 3, 4, 5}, s4[3] = {1, 1, 65};
    int rc = lr__lrm_set_str(w, "name", "bert-mini", 9, err);
    if (!rc) rc = lr__lrm_set_str(w, "binary", binary, sizeof binary, err);
    if (!rc) rc = lr__lrm_set_str(w, "rules.yaml", long_str, 199, err);
    if (!rc) rc = lr__lrm_set_str(w, "empty", NULL, 0, err);
    if (!rc) rc = lr__lrm_set_i64(w, "hidden", 256, err);
    if (!rc) rc = lr__lrm_set_i64(w, "min", INT64_MIN, err);
    if (!rc) rc = lr__lrm_set_f64(w, "ln_eps", 1e-12, err);
    if (!rc) rc = lr__lrm_set_strs(w, "labels", labels, 4, err);
    if (!rc) rc = lr__lrm_set_strs(w, "none", NULL, 0, err);
    if (!rc) rc = lr__lrm_add_tensor(w, "w.f32", LR_DTYPE_F32, 2, s1, g_wf, err);
    if (!rc) rc = lr__lrm_add_tensor(w, "w.i32", LR_DTYPE_I32, 1, s2, g_wi, err);
    if (!rc) rc = lr__lrm_add_tensor(w, "w.i8", LR_DTYPE_I8, 4, s3, g_wb, err);
    if (!rc) rc = lr__lrm_add_tensor(w, "w.f16", LR_DTYPE_F16, 3, s4, g_wh, err);
    if (!rc) rc = lr__lrm_writer_write(w, path, err);
    lr__lrm_writer_free(w);
    return rc;
}

/* ------------------------------------------------------------ round trip */

static void check_sample(lr__lrm *f) {
    lr_error err = {0};
    const char *s;
    size_t len;
    T_EQ_INT(lr__lrm_get_str(f, "name", &s, &len, &err), LR_OK);
    T_CHECK(len == 9 && memcmp(s, "bert-mini", 9) == 0);
    T_EQ_INT(lr__lrm_get_str(f, "binary", &s, &len, &err), LR_OK);
    T_CHECK(len == 5 && memcmp(s, "a\0b\n\xff", 5) == 0);
    T_EQ_INT(lr__lrm_get_str(f, "rules.yaml", &s, &len, &err), LR_OK);
    T_CHECK(len == 199 && s[0] == 'a' && s[198] == 'a' + 198 % 26);
    T_EQ_INT(lr__lrm_get_str(f, "empty", &s, &len, &err), LR_OK);
    T_EQ_INT(len, 0);
    int64_t i64 = 0;
    T_EQ_INT(lr__lrm_get_i64(f, "hidden", &i64, &err), LR_OK);
    T_EQ_INT(i64, 256);
    T_EQ_INT(lr__lrm_get_i64(f, "min", &i64, &err), LR_OK);
    T_CHECK(i64 == INT64_MIN);
    double f64 = 0;
    T_EQ_INT(lr__lrm_get_f64(f, "ln_eps", &f64, &err), LR_OK);
    T_CHECK(f64 == 1e-12);
    size_t n = 0;
    T_EQ_INT(lr__lrm_get_strs_count(f, "labels", &n, &err), LR_OK);
    T_EQ_INT(n, 4);
    const char *want[] = {"noise", "info", "", "outage \"x\""};
    for (size_t i = 0; i < 4 && i < n; i++) {
        T_EQ_INT(lr__lrm_get_strs_item(f, "labels", i, &s, &len, &err), LR_OK);
        T_CHECK(len == strlen(want[i]) && memcmp(s, want[i], len) == 0 && s[len] == 0);
    }
    T_EQ_INT(lr__lrm_get_strs_item(f, "labels", 4, &s, &len, &err), LR_ERANGE);
    T_EQ_INT(lr__lrm_get_strs_count(f, "none", &n, &err), LR_OK);
    T_EQ_INT(n, 0);

    /* missing key and wrong type name the key */
    T_EQ_INT(lr__lrm_get_i64(f, "nope", &i64, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "'nope'") != NULL);
    T_EQ_INT(lr__lrm_get_i64(f, "name", &i64, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "'name'") && strstr(err.msg, "string"));

    T_EQ_INT(lr__lrm_n_tensors(f), 4);
    const char *names[] = {"w.f32", "w.i32", "w.i8", "w.f16"};
    const void *datas[] = {g_wf, g_wi, g_wb, g_wh};
    size_t sizes[] = {sizeof g_wf, sizeof g_wi, sizeof g_wb, sizeof g_wh};
    for (size_t i = 0; i < 4; i++) {
        const lr__tensor *t = lr__lrm_tensor_at(f, i);
        T_EQ_STR(t->name, names[i]);
        T_EQ_INT(t->nbytes, sizes[i]);
        T_CHECK(memcmp(t->data, datas[i], sizes[i]) == 0);
        T_EQ_INT((uintptr_t)t->data % 64, 0);
        T_EQ_INT(lr__lrm_tensor_offset(f, t) % 64, 0);
        T_CHECK(lr__lrm_tensor(f, names[i]) == t);
    }
    T_CHECK(lr__lrm_tensor_at(f, 4) == NULL);
    T_CHECK(lr__lrm_tensor(f, "w") == NULL);
    const lr__tensor *t = NULL;
    int64_t shape[4] = {2, 3, 4, 5};
    T_EQ_INT(lr__lrm_expect(f, "w.i8", LR_DTYPE_I8, 4, shape, &t, &err), LR_OK);
    T_CHECK(t && t->ndim == 4 && t->shape[3] == 5 && t->dtype == LR_DTYPE_I8);
    shape[3] = 6;
    T_EQ_INT(lr__lrm_expect(f, "w.i8", LR_DTYPE_I8, 4, shape, &t, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "w.i8") && strstr(err.msg, "[2, 3, 4, 5]") && strstr(err.msg, "[2, 3, 4, 6]"));
    T_EQ_INT(lr__lrm_expect(f, "w.i8", LR_DTYPE_F32, 4, shape, &t, &err), LR_EFORMAT);
    T_EQ_INT(lr__lrm_expect(f, "w.x", LR_DTYPE_F32, 1, shape, &t, &err), LR_EFORMAT);
    T_CHECK(strstr(err.msg, "'w.x'") && strstr(err.msg, "missing"));

    /* renderings for inspect */
    T_EQ_INT(lr__lrm_n_meta(f), 9);
    char text[128];
    const char *key;
    T_EQ_INT(lr__lrm_meta_at(f, 0, &key, text, sizeof text), LR_OK);
    T_EQ_STR(key, "name");
    T_EQ_STR(text, "\"bert-mini\"");
    T_EQ_INT(lr__lrm_meta_at(f, 1, &key, text, sizeof text), LR_OK);
    T_EQ_STR(text, "\"a\\x00b\\n\\xff\"");
    T_EQ_INT(lr__lrm_meta_at(f, 2, &key, text, sizeof text), LR_OK);
    T_CHECK(strstr(text, "... (199 bytes)") != NULL && strlen(text) < 70);
    T_EQ_INT(lr__lrm_meta_at(f, 5, &key, text, sizeof text), LR_OK);
    T_EQ_STR(text, "-9223372036854775808");
    T_EQ_INT(lr__lrm_meta_at(f, 6, &key, text, sizeof text), LR_OK);
    T_EQ_STR(text, "1e-12");
    T_EQ_INT(lr__lrm_meta_at(f, 7, &key, text, sizeof text), LR_OK);
    T_EQ_STR(text, "[4 strings] \"noise\", \"info\", \"\", \"outage \\\"x\\\"\"");
    T_EQ_INT(lr__lrm_meta_at(f, 9, &key, text, sizeof text), LR_ERANGE);
    char tiny[8];
    T_EQ_INT(lr__lrm_meta_at(f, 7, &key, tiny, sizeof tiny), LR_OK);
    T_EQ_INT(strlen(tiny), 7);
    T_EQ_INT(lr__lrm_version(f), 1);

    /* the JSON description carries full values */
    lr__buf json;
    lr__buf_init(&json);
    T_EQ_INT(lr__lrm_describe_json(f, 1, &json), LR_OK);
    T_CHECK(json.data && strstr(json.data, "\"binary\":\"a\\u0000b\\n\xEF\xBF\xBD\""));
    T_CHECK(json.data && strstr(json.data, "\"min\":-9223372036854775808,\"ln_eps\":1e-12,"));
    T_CHECK(json.data && strstr(json.data, "\"labels\":[\"noise\",\"info\",\"\",\"outage \\\"x\\\"\"],\"none\":[]"));
    T_CHECK(json.data && strstr(json.data, "{\"name\":\"w.i8\",\"dtype\":\"i8\",\"shape\":[2,3,4,5],\"offset\":1024,\"bytes\":120}"));
    T_CHECK(json.data && strstr(json.data, "\"data_checksum_ok\":true,"));
    T_CHECK(json.data && strstr(json.data, "],\"parameters\":207}\n"));
    T_CHECK(json.data && strstr(json.data, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"));
    lr__buf_free(&json);
}

static void test_roundtrip(void) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "rt.lrm");
    T_EQ_INT(write_sample(path, &err), LR_OK);
    lr__lrm *f = lr__lrm_open(path, &err);
    T_CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    check_sample(f);
    struct stat st;
    T_EQ_INT(stat(path, &st), 0);
    T_EQ_INT(lr__lrm_size(f), st.st_size);
    T_EQ_INT(lr__lrm_data_offset(f) % 64, 0);
    /* the stored checksums are what lrh64 gives over the two regions */
    size_t size;
    uint8_t *img = read_file(path, &size);
    T_CHECK(img && size == (size_t)st.st_size);
    if (img) {
        size_t d = lr__lrm_data_offset(f);
        T_CHECK(lr__lrm_checksum(f) == lr__lrm_hash(img + 24, d - 24));
        T_CHECK(lr__lrm_data_checksum(f) == lr__lrm_hash(img + d, size - d));
        /* the same image from memory */
        void *buf = NULL;
        T_EQ_INT(posix_memalign(&buf, 64, size), 0);
        memcpy(buf, img, size);
        lr__lrm *g = lr__lrm_open_memory(buf, size, "sample", &err);
        T_CHECK(g != NULL);
        if (g) check_sample(g);
        lr__lrm_close(g);
        /* a misaligned image is refused, not read */
        uint8_t *odd = malloc(size + 1);
        memcpy(odd + ((uintptr_t)odd % 64 ? 0 : 1), img, size);
        T_CHECK(lr__lrm_open_memory(odd + ((uintptr_t)odd % 64 ? 0 : 1), size, "odd", &err) == NULL);
        T_EQ_INT(err.code, LR_EINVAL);
        free(odd);
        free(buf);
        free(img);
    }
    lr__lrm_close(f);
    unlink(path);
}

/* Renderings keep well-formed UTF-8 and escape (text) or replace (JSON)
 * everything else: overlongs, surrogates, > U+10FFFF, cut sequences. */
static void test_utf8_rendering(void) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "utf8.lrm");
    lr__lrm_writer *w = lr__lrm_writer_new(&err);
    static const char *vals[] = {"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80", "\xED\xA0\x80", "\xE0\x80\x80",
                                 "\xF4\x90\x80\x80", "\xC3", "\xC0\xAF"};
    static const char *text_want[] = {"\"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80\"", "\"\\xed\\xa0\\x80\"",
                                      "\"\\xe0\\x80\\x80\"", "\"\\xf4\\x90\\x80\\x80\"", "\"\\xc3\"",
                                      "\"\\xc0\\xaf\""};
    char key[16];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "s%d", i);
        T_EQ_INT(lr__lrm_set_str(w, key, vals[i], strlen(vals[i]), &err), LR_OK);
    }
    /* 39 ASCII bytes then a 3-byte character across the 40-byte cut */
    char long_str[71];
    memset(long_str, 'a', 70);
    memcpy(long_str + 39, "\xE2\x9C\x93", 3);
    long_str[70] = 0;
    T_EQ_INT(lr__lrm_set_str(w, "long", long_str, 70, &err), LR_OK);
    T_EQ_INT(lr__lrm_writer_write(w, path, &err), LR_OK);
    lr__lrm_writer_free(w);
    lr__lrm *f = lr__lrm_open(path, &err);
    T_CHECK(f != NULL);
    if (!f) return;
    char text[128];
    const char *k;
    for (size_t i = 0; i < 6; i++) {
        T_EQ_INT(lr__lrm_meta_at(f, i, &k, text, sizeof text), LR_OK);
        T_EQ_STR(text, text_want[i]);
    }
    /* an abbreviated string ends on a character boundary */
    T_EQ_INT(lr__lrm_meta_at(f, 6, &k, text, sizeof text), LR_OK);
    T_EQ_STR(k, "long");
    T_EQ_STR(text, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... (70 bytes)");
    lr__buf json;
    lr__buf_init(&json);
    T_EQ_INT(lr__lrm_describe_json(f, 1, &json), LR_OK);
    T_CHECK(json.data && strstr(json.data, "\"s0\":\"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80\","));
    T_CHECK(json.data && strstr(json.data, "\"s1\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\","));
    T_CHECK(json.data && strstr(json.data, "\"s3\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\","));
    T_CHECK(json.data && strstr(json.data, "\"s4\":\"\xEF\xBF\xBD\","));
    lr__buf_free(&json);
    lr__lrm_close(f);
    unlink(path);
}

/* A model with no metadata and no tensors is still a valid file. */
static void test_empty_model(void) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "empty.lrm");
    lr__lrm_writer *w = lr__lrm_writer_new(&err);
    T_EQ_INT(lr__lrm_writer_write(w, path, &err), LR_OK);
    lr__lrm_writer_free(w);
    lr__lrm *f = lr__lrm_open(path, &err);
    T_CHECK(f != NULL);
    if (f) {
        T_EQ_INT(lr__lrm_n_meta(f), 0);
        T_EQ_INT(lr__lrm_n_tensors(f), 0);
        T_EQ_INT(lr__lrm_size(f), 64);
    }
    lr__lrm_close(f);
    unlink(path);
}

/* The writer leaves exactly the model in its directory, replaces an older
 * file in one step, and leaves nothing behind when it cannot write. */
static void test_atomic_write(void) {
    char dir[256], path[300], bad[300];
    lr_error err = {0};
    tmp_path(dir, sizeof dir, "atomic");
    T_EQ_INT(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/m.lrm", dir);
    T_EQ_INT(write_file(path, "old contents", 12), 0);
    T_EQ_INT(write_sample(path, &err), LR_OK);
    T_EQ_INT(count_entries(dir), 1);
    lr__lrm *f = lr__lrm_open(path, &err);
    T_CHECK(f != NULL);
    lr__lrm_close(f);
    /* a second write over it, then a failing one into a missing directory */
    T_EQ_INT(write_sample(path, &err), LR_OK);
    T_EQ_INT(count_entries(dir), 1);
    snprintf(bad, sizeof bad, "%s/missing/m.lrm", dir);
    T_EQ_INT(write_sample(bad, &err), LR_EIO);
    T_CHECK(strstr(err.msg, "missing") != NULL);
    T_EQ_INT(count_entries(dir), 1);
    rm_dir(dir);
}

static void test_writer_rejects(void) {
    lr_error err = {0};
    lr__lrm_writer *w = lr__lrm_writer_new(&err);
    float x[4] = {0};
    int64_t shape[5] = {1, 2, 2, 1, 1};
    T_EQ_INT(lr__lrm_set_i64(w, "k", 1, &err), LR_OK);
    T_EQ_INT(lr__lrm_set_str(w, "k", "v", 1, &err), LR_EINVAL);
    T_CHECK(strstr(err.msg, "'k'") != NULL);
    T_EQ_INT(lr__lrm_set_f64(w, "", 1.0, &err), LR_EINVAL);
    const char *items[] = {"a", NULL};
    T_EQ_INT(lr__lrm_set_strs(w, "s", items, 2, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_set_strs(w, "s", items, 1, &err), LR_OK); /* the failed add left no trace */
    T_EQ_INT(lr__lrm_add_tensor(w, "t", LR_DTYPE_F32, 2, shape + 1, x, &err), LR_OK);
    T_EQ_INT(lr__lrm_add_tensor(w, "t", LR_DTYPE_F32, 2, shape + 1, x, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 0, shape, x, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 5, shape, x, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "u", (lr__dtype)9, 1, shape, x, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 1, shape, NULL, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "", LR_DTYPE_F32, 1, shape, x, &err), LR_EINVAL);
    int64_t neg[2] = {2, -2}, zero[2] = {0, 2}, huge[3] = {INT64_MAX, INT64_MAX, 2};
    T_EQ_INT(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 2, neg, x, &err), LR_EINVAL);
    T_EQ_INT(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 2, zero, x, &err), LR_EINVAL);
    T_CHECK(lr__lrm_add_tensor(w, "u", LR_DTYPE_F32, 3, huge, x, &err) != LR_OK);
    char path[256];
    tmp_path(path, sizeof path, "rejects.lrm");
    T_EQ_INT(lr__lrm_writer_write(w, path, &err), LR_OK);
    lr__lrm_writer_free(w);
    lr__lrm *f = lr__lrm_open(path, &err);
    T_CHECK(f && lr__lrm_n_meta(f) == 2 && lr__lrm_n_tensors(f) == 1);
    lr__lrm_close(f);
    unlink(path);
}

/* --------------------------------------------------------------- checksum */

static void test_checksum(void) {
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
    uint64_t h_empty = lr__lrm_hash(buf, 0), h_zero1 = lr__lrm_hash("\0", 1);
    T_CHECK(h_empty != h_zero1); /* the length is hashed */
    /* every single-bit flip at every length and position changes the hash */
    int misses = 0;
    for (size_t len = 1; len <= sizeof buf; len += 37) {
        uint64_t h = lr__lrm_hash(buf, len);
        for (size_t i = 0; i < len; i++)
            for (int bit = 0; bit < 8; bit++) {
                buf[i] ^= (uint8_t)(1u << bit);
                misses += lr__lrm_hash(buf, len) == h;
                buf[i] ^= (uint8_t)(1u << bit);
            }
    }
    T_EQ_INT(misses, 0);
    /* unaligned input gives the same result as aligned */
    uint8_t shifted[301];
    memcpy(shifted + 1, buf, 300);
    T_CHECK(lr__lrm_hash(shifted + 1, 300) == lr__lrm_hash(buf, 300));
    /* pinned values: the checksum is part of the format and must never
     * change silently (computed once with this implementation) */
    T_CHECK(lr__lrm_hash("", 0) == 0xb05a144da2ad61d0ull);
    T_CHECK(lr__lrm_hash("logrisk", 7) == 0x352d0822984336ecull);
}

/* ------------------------------------------------------ corruption corpus */

static uint8_t *sample_image(size_t *size) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "corpus.lrm");
    if (write_sample(path, &err) != LR_OK) return NULL;
    uint8_t *img = read_file(path, size);
    unlink(path);
    return img;
}

/* Every proper prefix of a valid file is rejected. */
static void test_truncation(void) {
    size_t size;
    uint8_t *img = sample_image(&size);
    T_CHECK(img != NULL);
    if (!img) return;
    T_EQ_INT(open_copy(img, size, NULL), LR_OK);
    int accepted = 0;
    for (size_t n = 0; n < size; n++) accepted += open_copy(img, n, NULL) == LR_OK;
    T_EQ_INT(accepted, 0);
    /* and so is a file with bytes appended */
    uint8_t *longer = calloc(1, size + 64);
    memcpy(longer, img, size);
    T_EQ_INT(open_copy(longer, size + 64, NULL), LR_EFORMAT);
    /* truncated on disk too */
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "trunc.lrm");
    T_EQ_INT(write_file(path, img, size - 1), 0);
    T_CHECK(lr__lrm_open(path, &err) == NULL);
    T_CHECK(strstr(err.msg, "trunc.lrm") != NULL);
    T_EQ_INT(write_file(path, img, 10), 0);
    T_CHECK(lr__lrm_open(path, &err) == NULL);
    unlink(path);
    T_CHECK(lr__lrm_open(path, &err) == NULL);
    T_EQ_INT(err.code, LR_EIO);
    T_CHECK(lr__lrm_open(tmp_dir(), &err) == NULL);
    free(longer);
    free(img);
}

/* Every bit of the header region and of the data section, flipped alone,
 * is caught: by a structural check or by one of the two checksums. */
static void test_bit_flips(void) {
    size_t size;
    uint8_t *img = sample_image(&size);
    T_CHECK(img != NULL);
    if (!img) return;
    int accepted = 0, data_not_checksum = 0;
    size_t data_offset = 0;
    memcpy(&data_offset, img + 40, sizeof data_offset < 8 ? sizeof data_offset : 8);
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit++) {
            img[i] ^= (uint8_t)(1u << bit);
            int rc = open_copy(img, size, NULL);
            accepted += rc == LR_OK;
            if (i >= data_offset) data_not_checksum += rc != LR_ECHECKSUM;
            img[i] ^= (uint8_t)(1u << bit);
        }
    T_EQ_INT(accepted, 0);
    T_EQ_INT(data_not_checksum, 0);
    free(img);
}

/* With LR_LRM_SKIP_DATA_CHECKSUM a data flip opens (values are not
 * structure) and lr__lrm_verify_data finds it; header flips still fail. */
static void test_skip_data_checksum(void) {
    size_t size;
    uint8_t *img = sample_image(&size);
    T_CHECK(img != NULL);
    if (!img) return;
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "skip.lrm");
    img[size - 70] ^= 0x10;
    T_EQ_INT(write_file(path, img, size), 0);
    T_CHECK(lr__lrm_open(path, &err) == NULL);
    T_EQ_INT(err.code, LR_ECHECKSUM);
    lr__lrm *f = lr__lrm_open_flags(path, LR_LRM_SKIP_DATA_CHECKSUM, &err);
    T_CHECK(f != NULL);
    if (f) {
        T_EQ_INT(lr__lrm_verify_data(f, &err), LR_ECHECKSUM);
        T_CHECK(strstr(err.msg, "skip.lrm") && strstr(err.msg, "data checksum"));
    }
    lr__lrm_close(f);
    img[size - 70] ^= 0x10;
    img[70] ^= 0x10;
    T_EQ_INT(write_file(path, img, size), 0);
    T_CHECK(lr__lrm_open_flags(path, LR_LRM_SKIP_DATA_CHECKSUM, &err) == NULL);
    T_EQ_INT(err.code, LR_ECHECKSUM);
    img[70] ^= 0x10;
    void *buf = NULL;
    T_EQ_INT(posix_memalign(&buf, 64, size), 0);
    memcpy(buf, img, size);
    f = lr__lrm_open_memory_flags(buf, size, "mem", LR_LRM_SKIP_DATA_CHECKSUM, &err);
    T_CHECK(f != NULL);
    if (f) T_EQ_INT(lr__lrm_verify_data(f, &err), LR_OK);
    lr__lrm_close(f);
    free(buf);
    free(img);
    unlink(path);
}

/* Recompute both checksums of a (possibly hostile) image in place, where
 * the header fields still allow it; returns 0 when it could. */
#if defined(__GNUC__)
__attribute__((noinline)) /* gcc -O3 warns on paths the d > size check excludes */
#endif
static int reseal(uint8_t *img, size_t size) {
    if (size < 64) return -1;
    uint64_t d;
    memcpy(&d, img + 40, 8);
    if (d < 64 || d > size) return -1;
    uint64_t dsum = lr__lrm_hash(img + d, size - (size_t)d);
    memcpy(img + 24, &dsum, 8);
    uint64_t hsum = lr__lrm_hash(img + 24, (size_t)d - 24);
    memcpy(img + 16, &hsum, 8);
    return 0;
}

/* Flips with fresh checksums: the structural checks alone must hold
 * (no crash, no out-of-bounds read under ASan); a flip inside a value may
 * legitimately give a valid file. Flips in the fixed header's sizes, in
 * key and name lengths, types, dtypes and dims must be rejected. */
static void test_resealed_flips(void) {
    size_t size;
    uint8_t *img = sample_image(&size);
    T_CHECK(img != NULL);
    if (!img) return;
    uint64_t d;
    memcpy(&d, img + 40, 8);
    int accepted_fixed = 0;
    for (size_t i = 24; i < d; i++)
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *copy = malloc(size);
            memcpy(copy, img, size);
            copy[i] ^= (uint8_t)(1u << bit);
            reseal(copy, size);
            int rc = open_copy(copy, size, NULL);
            if (i >= 32 && i < 64) accepted_fixed += rc == LR_OK;
            free(copy);
        }
    T_EQ_INT(accepted_fixed, 0);
    free(img);
}

/* A tiny independent writer of raw images, for hand-crafted headers. */
typedef struct raw {
    uint8_t b[4096];
    size_t len;
    size_t meta_end;
    size_t data_offset;
} raw;

static void raw_u32(raw *r, uint32_t v) {
    memcpy(r->b + r->len, &v, 4);
    r->len += 4;
}
static void raw_u64(raw *r, uint64_t v) {
    memcpy(r->b + r->len, &v, 8);
    r->len += 8;
}
static void raw_bytes(raw *r, const void *p, size_t n) {
    memcpy(r->b + r->len, p, n);
    r->len += n;
}
static void raw_begin(raw *r) {
    memset(r, 0, sizeof *r);
    static const uint8_t magic[8] = {0x89, 'L', 'R', 'M', '\r', '\n', 0x1a, '\n'};
    raw_bytes(r, magic, 8);
    raw_u32(r, 1);
    raw_u32(r, 0x0A0B0C0D);
    r->len = 64;
}
static void raw_key(raw *r, const char *key, uint32_t type) {
    raw_u32(r, (uint32_t)strlen(key));
    raw_bytes(r, key, strlen(key) + 1);
    raw_u32(r, type);
}
static void raw_tensor(raw *r, const char *name, uint32_t dtype, uint32_t ndim, const int64_t *shape4,
                       uint64_t offset, uint64_t nbytes) {
    raw_u32(r, (uint32_t)strlen(name));
    raw_bytes(r, name, strlen(name) + 1);
    raw_u32(r, dtype);
    raw_u32(r, ndim);
    for (int i = 0; i < 4; i++) raw_u64(r, (uint64_t)shape4[i]);
    raw_u64(r, offset);
    raw_u64(r, nbytes);
}
static void raw_end_meta(raw *r) { r->meta_end = r->len; }
static void raw_end_dir(raw *r) {
    r->len = (r->len + 63) / 64 * 64;
    r->data_offset = r->len;
}
/* Fill the header fields and checksums; `data` bytes of data follow. */
static void raw_finish(raw *r, uint32_t n_meta, uint32_t n_tensors, size_t data) {
    for (size_t i = 0; i < data; i++) r->b[r->len++] = (uint8_t)(i * 7);
    uint64_t v = r->len;
    memcpy(r->b + 32, &v, 8);
    v = r->data_offset;
    memcpy(r->b + 40, &v, 8);
    memcpy(r->b + 48, &n_meta, 4);
    memcpy(r->b + 52, &n_tensors, 4);
    v = r->meta_end - 64;
    memcpy(r->b + 56, &v, 8);
    reseal(r->b, r->len);
}

/* Expect rejection with `code` and a message containing `what`. */
static void expect_bad(raw *r, int code, const char *what, int line) {
    lr_error err = {0};
    int rc = open_copy(r->b, r->len, &err);
    if (rc != code || !strstr(err.msg, what)) {
        t__failed_checks++;
        fprintf(stderr, "  %s:%d: expected %d with \"%s\", got %d: %s\n", __FILE__, line, code, what, rc, err.msg);
    }
}
#define EXPECT_BAD(r, code, what) expect_bad(r, code, what, __LINE__)

static const int64_t SHAPE_2x2[4] = {2, 2, 0, 0};

/* A good base: one key, one tensor; the cases below change one thing. */
static void base_file(raw *r, int with_data) {
    raw_begin(r);
    raw_key(r, "k", 2);
    raw_u64(r, 42);
    raw_end_meta(r);
    raw_tensor(r, "t", 0, 2, SHAPE_2x2, 0, 16);
    raw_end_dir(r);
    if (with_data) raw_finish(r, 1, 1, 64);
}

static void set_u32(raw *r, size_t at, uint32_t v) {
    memcpy(r->b + at, &v, 4);
    reseal(r->b, r->len);
}
static void set_u64(raw *r, size_t at, uint64_t v) {
    memcpy(r->b + at, &v, 8);
    reseal(r->b, r->len);
}

static void test_hostile_fixed_header(void) {
    raw r;
    base_file(&r, 1);
    T_EQ_INT(open_copy(r.b, r.len, NULL), LR_OK); /* the base is valid */

    base_file(&r, 1), r.b[3] = 'X', EXPECT_BAD(&r, LR_EFORMAT, "magic");
    base_file(&r, 1), set_u32(&r, 8, 2), EXPECT_BAD(&r, LR_EUNSUPPORTED, "version 2");
    base_file(&r, 1), set_u32(&r, 12, 0x0D0C0B0A), EXPECT_BAD(&r, LR_EFORMAT, "endianness");
    base_file(&r, 1), set_u64(&r, 32, r.len + 64), EXPECT_BAD(&r, LR_EFORMAT, "truncated");
    base_file(&r, 1), set_u64(&r, 32, UINT64_MAX), EXPECT_BAD(&r, LR_EFORMAT, "truncated");
    base_file(&r, 1), set_u64(&r, 40, 96), EXPECT_BAD(&r, LR_EFORMAT, "header length");
    base_file(&r, 1), set_u64(&r, 40, 0), EXPECT_BAD(&r, LR_EFORMAT, "header length");
    base_file(&r, 1), set_u64(&r, 40, UINT64_MAX - 63), EXPECT_BAD(&r, LR_EFORMAT, "header length");
    base_file(&r, 1), set_u64(&r, 40, r.len + 64), EXPECT_BAD(&r, LR_EFORMAT, "header length");
    base_file(&r, 1), set_u64(&r, 56, UINT64_MAX), EXPECT_BAD(&r, LR_EFORMAT, "metadata size");
    base_file(&r, 1), set_u64(&r, 56, 1ull << 63), EXPECT_BAD(&r, LR_EFORMAT, "metadata size");
    base_file(&r, 1), set_u64(&r, 56, 0), EXPECT_BAD(&r, LR_EFORMAT, "metadata entries cannot fit");
    base_file(&r, 1), set_u64(&r, 56, 40), EXPECT_BAD(&r, LR_EFORMAT, "unused bytes");
    base_file(&r, 1), set_u32(&r, 48, UINT32_MAX), EXPECT_BAD(&r, LR_EFORMAT, "metadata entries cannot fit");
    base_file(&r, 1), set_u32(&r, 52, UINT32_MAX), EXPECT_BAD(&r, LR_EFORMAT, "tensors cannot fit");
    base_file(&r, 1), set_u32(&r, 48, 2), EXPECT_BAD(&r, LR_EFORMAT, "2 metadata entries cannot fit");
    /* a count that fits the section size but not its entries */
    raw_begin(&r), raw_key(&r, "s", 1), raw_u64(&r, 20), raw_bytes(&r, "abcdefghijklmnopqrst", 21), raw_end_meta(&r),
        raw_end_dir(&r), raw_finish(&r, 2, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "metadata key length at byte 103 needs 4 bytes, only 0 left");
    base_file(&r, 1), set_u32(&r, 48, 0), EXPECT_BAD(&r, LR_EFORMAT, "unused bytes");
    base_file(&r, 1), set_u32(&r, 52, 0), EXPECT_BAD(&r, LR_EFORMAT, "nonzero byte");
    /* a stale checksum is named as such */
    base_file(&r, 1), r.b[16] ^= 1, EXPECT_BAD(&r, LR_ECHECKSUM, "header checksum");
    base_file(&r, 1), r.b[r.len - 1] ^= 0x80, EXPECT_BAD(&r, LR_ECHECKSUM, "data checksum");
}

static void test_hostile_metadata(void) {
    raw r;
    /* key length huge, past the section, zero; key not terminated; NUL inside */
    raw_begin(&r), raw_u32(&r, UINT32_MAX), raw_bytes(&r, "k\0\2\0\0\0", 6), raw_u64(&r, 1), raw_end_meta(&r),
        raw_end_dir(&r), raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    raw_begin(&r), raw_u32(&r, 9), raw_bytes(&r, "k\0\2\0\0\0", 6), raw_u64(&r, 1), raw_end_meta(&r), raw_end_dir(&r),
        raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "metadata key");
    raw_begin(&r), raw_u32(&r, 0), raw_bytes(&r, "\0\1\0\0\0", 5), raw_u64(&r, 2), raw_bytes(&r, "ab", 3),
        raw_end_meta(&r), raw_end_dir(&r), raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "empty key");
    raw_begin(&r), raw_u32(&r, 2), raw_bytes(&r, "kkk\2\0\0\0", 7), raw_u64(&r, 1), raw_end_meta(&r), raw_end_dir(&r),
        raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "not NUL-terminated");
    raw_begin(&r), raw_u32(&r, 3), raw_bytes(&r, "k\0k\0\2\0\0\0", 8), raw_u64(&r, 1), raw_end_meta(&r),
        raw_end_dir(&r), raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "NUL byte");
    /* unknown type; duplicate keys */
    raw_begin(&r), raw_key(&r, "k", 9), raw_u64(&r, 1), raw_end_meta(&r), raw_end_dir(&r), raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "unknown type 9");
    raw_begin(&r), raw_key(&r, "k", 2), raw_u64(&r, 1), raw_key(&r, "k", 3), raw_u64(&r, 1), raw_end_meta(&r),
        raw_end_dir(&r), raw_finish(&r, 2, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "duplicate metadata key 'k'");
    /* string length: huge, wrapping with the NUL (2^64 - 1), one too many */
    raw_begin(&r), raw_key(&r, "s", 1), raw_u64(&r, UINT64_MAX), raw_bytes(&r, "ab\0", 3), raw_end_meta(&r),
        raw_end_dir(&r), raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    raw_begin(&r), raw_key(&r, "s", 1), raw_u64(&r, 3), raw_bytes(&r, "ab\0", 3), raw_end_meta(&r), raw_end_dir(&r),
        raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    raw_begin(&r), raw_key(&r, "s", 1), raw_u64(&r, 2), raw_bytes(&r, "abc", 3), raw_end_meta(&r), raw_end_dir(&r),
        raw_finish(&r, 1, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "not NUL-terminated");
    /* i64 value cut short by the section end */
    raw_begin(&r), raw_key(&r, "s", 1), raw_u64(&r, 20), raw_bytes(&r, "abcdefghijklmnopqrst", 21), raw_key(&r, "i", 2),
        raw_u32(&r, 0), raw_end_meta(&r), raw_end_dir(&r), raw_finish(&r, 2, 0, 0);
    EXPECT_BAD(&r, LR_EFORMAT, "number value");
}

/* One string array entry with the given count, blob size and offsets. */
static void strs_file(raw *r, uint64_t count, uint64_t blob, const uint64_t *offs, size_t n_offs, const char *bytes,
                      size_t n_bytes) {
    raw_begin(r);
    raw_key(r, "v", 4);
    raw_u64(r, count);
    raw_u64(r, blob);
    for (size_t i = 0; i < n_offs; i++) raw_u64(r, offs[i]);
    raw_bytes(r, bytes, n_bytes);
    raw_end_meta(r);
    raw_end_dir(r);
    raw_finish(r, 1, 0, 0);
}

static void test_hostile_string_arrays(void) {
    raw r;
    const uint64_t good[3] = {0, 2, 4};
    strs_file(&r, 2, 4, good, 3, "a\0b\0", 4);
    T_EQ_INT(open_copy(r.b, r.len, NULL), LR_OK);
    /* count whose offsets table would wrap size_t (2^61 * 8 == 0) */
    strs_file(&r, 1ull << 61, 4, good, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "too large");
    strs_file(&r, UINT64_MAX, 4, good, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "too large");
    strs_file(&r, 2, UINT64_MAX, good, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    strs_file(&r, 2, 5, good, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    const uint64_t not_span[3] = {1, 2, 4}, backwards[4] = {0, 3, 2, 4}, empty[3] = {0, 0, 4}, past[3] = {0, 9, 4};
    strs_file(&r, 2, 4, not_span, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "do not span");
    strs_file(&r, 3, 4, backwards, 4, "a\0\0\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "bad offsets");
    strs_file(&r, 2, 4, empty, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "bad offsets");
    strs_file(&r, 2, 4, past, 3, "a\0b\0", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "bad offsets");
    strs_file(&r, 2, 4, good, 3, "ab\0c", 4);
    EXPECT_BAD(&r, LR_EFORMAT, "not NUL-terminated");
}

static void tensor_file(raw *r, const char *name, uint32_t dtype, uint32_t ndim, const int64_t *shape,
                        uint64_t offset, uint64_t nbytes) {
    raw_begin(r);
    raw_end_meta(r);
    raw_tensor(r, name, dtype, ndim, shape, offset, nbytes);
    raw_end_dir(r);
    raw_finish(r, 0, 1, 128);
}

static void test_hostile_tensors(void) {
    raw r;
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, 64, 16);
    T_EQ_INT(open_copy(r.b, r.len, NULL), LR_OK);
    tensor_file(&r, "t", 99, 2, SHAPE_2x2, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "unknown dtype 99");
    tensor_file(&r, "t", UINT32_MAX, 2, SHAPE_2x2, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "unknown dtype");
    tensor_file(&r, "t", 0, 0, SHAPE_2x2, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "ndim 0");
    tensor_file(&r, "t", 0, 5, SHAPE_2x2, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "ndim 5");
    tensor_file(&r, "t", 0, UINT32_MAX, SHAPE_2x2, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "ndim");
    const int64_t neg[4] = {-2, -2, 0, 0}, zero[4] = {0, 2, 0, 0}, unused[4] = {2, 2, 7, 0};
    tensor_file(&r, "t", 0, 2, neg, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "dim 0 is -2");
    tensor_file(&r, "t", 0, 2, zero, 0, 0), EXPECT_BAD(&r, LR_EFORMAT, "dim 0 is 0");
    tensor_file(&r, "t", 0, 2, unused, 0, 16), EXPECT_BAD(&r, LR_EFORMAT, "unused dim 2");
    /* dims whose product (or product * 4) wraps to a small number */
    const int64_t wrap[4] = {1ll << 32, 1ll << 32, 1, 0}, wrap4[4] = {1ll << 62, 0, 0, 0};
    tensor_file(&r, "t", 0, 3, wrap, 0, 0), EXPECT_BAD(&r, LR_EFORMAT, "product must fit");
    tensor_file(&r, "t", 0, 1, wrap4, 0, 0), EXPECT_BAD(&r, LR_EFORMAT, "overflows");
    /* the shapes of published GGUF loader bugs: (INT64_MAX, 2, 1, 1) i8,
     * whose signed element count goes negative elsewhere, a u64 dim of
     * 2^64 - 1 (here: -1), 2^42 + 1 rows of 1152 f32; with nbytes claiming
     * the true (unwrapped) size they fail the bounds check, in f32 the first
     * overflows size_t */
    const int64_t gguf1[4] = {INT64_MAX, 2, 1, 1}, gguf2[4] = {-1, 2, 1, 1}, gguf3[4] = {1152, (1ll << 42) + 1, 0, 0};
    tensor_file(&r, "t", 3, 4, gguf1, 0, UINT64_MAX - 1), EXPECT_BAD(&r, LR_EFORMAT, "outside the data section");
    tensor_file(&r, "t", 0, 4, gguf1, 0, 0), EXPECT_BAD(&r, LR_EFORMAT, "byte size overflows");
    tensor_file(&r, "t", 0, 4, gguf2, 0, 32), EXPECT_BAD(&r, LR_EFORMAT, "dim 0 is -1");
    tensor_file(&r, "t", 0, 2, gguf3, 0, 20266198323171840ull), EXPECT_BAD(&r, LR_EFORMAT, "outside the data section");
    const int64_t max[4] = {INT64_MAX, 0, 0, 0};
    tensor_file(&r, "t", 3, 1, max, 0, INT64_MAX), EXPECT_BAD(&r, LR_EFORMAT, "outside the data section");
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, 0, 17), EXPECT_BAD(&r, LR_EFORMAT, "shape needs 16");
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, 8, 16), EXPECT_BAD(&r, LR_EFORMAT, "not a multiple of 64");
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, 128, 16), EXPECT_BAD(&r, LR_EFORMAT, "outside the data section");
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, UINT64_MAX - 63, 16), EXPECT_BAD(&r, LR_EFORMAT, "outside");
    tensor_file(&r, "t", 0, 2, SHAPE_2x2, 1ull << 63, 16), EXPECT_BAD(&r, LR_EFORMAT, "outside");

    /* overlapping tensors, duplicate names, name problems */
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "a", 0, 2, SHAPE_2x2, 64, 16),
        raw_tensor(&r, "b", 3, 2, SHAPE_2x2, 0, 4), raw_tensor(&r, "c", 0, 2, SHAPE_2x2, 0, 16), raw_end_dir(&r),
        raw_finish(&r, 0, 3, 128);
    EXPECT_BAD(&r, LR_EFORMAT, "overlap");
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "a", 0, 2, SHAPE_2x2, 0, 16),
        raw_tensor(&r, "a", 0, 2, SHAPE_2x2, 64, 16), raw_end_dir(&r), raw_finish(&r, 0, 2, 128);
    EXPECT_BAD(&r, LR_EFORMAT, "duplicate tensor name 'a'");
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "ab", 0, 2, SHAPE_2x2, 0, 16), raw_end_dir(&r);
    r.b[64 + 4 + 2] = 'c'; /* the terminator of "ab" */
    raw_finish(&r, 0, 1, 64);
    EXPECT_BAD(&r, LR_EFORMAT, "not NUL-terminated");
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "ab", 0, 2, SHAPE_2x2, 0, 16), raw_end_dir(&r);
    r.b[64 + 4] = 0; /* "\0b" */
    raw_finish(&r, 0, 1, 64);
    EXPECT_BAD(&r, LR_EFORMAT, "NUL byte");
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "ab", 0, 2, SHAPE_2x2, 0, 16), raw_end_dir(&r);
    uint32_t huge = UINT32_MAX;
    memcpy(r.b + 64, &huge, 4);
    raw_finish(&r, 0, 1, 64);
    EXPECT_BAD(&r, LR_EFORMAT, "runs past");
    /* the directory cut off by the data section */
    raw_begin(&r), raw_end_meta(&r), raw_tensor(&r, "t", 0, 2, SHAPE_2x2, 0, 16), raw_end_dir(&r);
    r.data_offset = 64;
    r.len = 64;
    raw_finish(&r, 0, 1, 64);
    EXPECT_BAD(&r, LR_EFORMAT, "tensors cannot fit");
}

/* Many tensors and keys cost n log n to check, not n^2: a directory of
 * 2,000 tensors with a duplicate name at the end is rejected quickly. */
static void test_many_entries(void) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "many.lrm");
    lr__lrm_writer *w = lr__lrm_writer_new(&err);
    static const float one = 1.0f;
    int64_t shape[1] = {1};
    char name[32];
    int rc = LR_OK;
    for (int i = 0; i < 2000 && rc == LR_OK; i++) {
        snprintf(name, sizeof name, "t%05d", i);
        rc = lr__lrm_add_tensor(w, name, LR_DTYPE_F32, 1, shape, &one, &err);
    }
    T_EQ_INT(rc, LR_OK);
    T_EQ_INT(lr__lrm_writer_write(w, path, &err), LR_OK);
    lr__lrm_writer_free(w);
    size_t size;
    uint8_t *img = read_file(path, &size);
    T_CHECK(img != NULL);
    if (img) {
        T_EQ_INT(open_copy(img, size, NULL), LR_OK);
        /* rename the last tensor to the first one's name, reseal */
        uint8_t *p = memmem(img, size, "t01999", 6);
        T_CHECK(p != NULL);
        if (p) memcpy(p, "t00000", 6);
        reseal(img, size);
        lr_error e2 = {0};
        T_EQ_INT(open_copy(img, size, &e2), LR_EFORMAT);
        T_CHECK(strstr(e2.msg, "duplicate tensor name 't00000'") != NULL);
        free(img);
    }
    unlink(path);
}

/* Allocation failure injection: the n-th allocation fails, for every n
 * until a run succeeds; each failing run must return LR_ENOMEM (or NULL
 * with LR_ENOMEM), never crash or leak (valgrind/ASan check the leaks). */
static long g_alloc_budget = -1;
static void *failing_malloc(size_t n) { return g_alloc_budget-- == 0 ? NULL : malloc(n); }
static void *failing_realloc(void *p, size_t n) { return g_alloc_budget-- == 0 ? NULL : realloc(p, n); }

static void test_alloc_failures(void) {
    char path[256];
    lr_error err = {0};
    tmp_path(path, sizeof path, "oom.lrm");
    static const lr_allocator failing = {failing_malloc, failing_realloc, free};
    int writes_ok = 0, opens_ok = 0, other_errors = 0;
    for (long n = 0; n < 200 && !writes_ok; n++) {
        g_alloc_budget = n;
        lr_set_allocator(&failing);
        int rc = write_sample(path, &err);
        lr_set_allocator(NULL);
        if (rc == LR_OK) writes_ok = 1;
        else if (rc != LR_ENOMEM && rc != -1) other_errors++;
    }
    T_CHECK(writes_ok);
    for (long n = 0; n < 200 && !opens_ok; n++) {
        g_alloc_budget = n;
        lr_set_allocator(&failing);
        err.code = 0;
        lr__lrm *f = lr__lrm_open(path, &err);
        lr_set_allocator(NULL);
        if (f) opens_ok = 1;
        else if (err.code != LR_ENOMEM) other_errors++;
        lr__lrm_close(f);
    }
    T_CHECK(opens_ok);
    T_EQ_INT(other_errors, 0);
    unlink(path);
}

/* Writes files for tests/inspect.test.sh into $LR_FORMAT_FIXTURES (only
 * when that is set): good.lrm, truncated.lrm, flipped.lrm (a data bit),
 * hostile.lrm (a huge tensor count, resealed). */
static void test_fixture_files(void) {
    const char *dir = getenv("LR_FORMAT_FIXTURES");
    if (!dir || !*dir) return;
    char path[512];
    lr_error err = {0};
    snprintf(path, sizeof path, "%s/good.lrm", dir);
    T_EQ_INT(write_sample(path, &err), LR_OK);
    size_t size;
    uint8_t *img = read_file(path, &size);
    T_CHECK(img != NULL);
    if (!img) return;
    snprintf(path, sizeof path, "%s/truncated.lrm", dir);
    T_EQ_INT(write_file(path, img, size - 100), 0);
    img[size - 70] ^= 4;
    snprintf(path, sizeof path, "%s/flipped.lrm", dir);
    T_EQ_INT(write_file(path, img, size), 0);
    img[size - 70] ^= 4;
    uint32_t n = 1000000;
    memcpy(img + 52, &n, 4);
    reseal(img, size);
    snprintf(path, sizeof path, "%s/hostile.lrm", dir);
    T_EQ_INT(write_file(path, img, size), 0);
    free(img);
}

static void test_cleanup(void) {
    if (g_dir[0]) rm_dir(g_dir);
    g_dir[0] = 0;
}

T_MAIN(T_CASE(test_roundtrip), T_CASE(test_utf8_rendering), T_CASE(test_empty_model), T_CASE(test_atomic_write), T_CASE(test_writer_rejects),
       T_CASE(test_checksum), T_CASE(test_truncation), T_CASE(test_bit_flips),
       T_CASE(test_skip_data_checksum), T_CASE(test_resealed_flips),
       T_CASE(test_hostile_fixed_header), T_CASE(test_hostile_metadata), T_CASE(test_hostile_string_arrays),
       T_CASE(test_hostile_tensors), T_CASE(test_many_entries), T_CASE(test_alloc_failures), T_CASE(test_fixture_files), T_CASE(test_cleanup))
