/* libFuzzer target for the request-handling path of `logrisk serve`
 * (src/serve_frame.c): framing detection, NDJSON and JSON-array records,
 * text lines, /predict inputs. The first byte picks the Content-Type (or
 * none), the rest is the body. It must frame or fail with LR_EPARSE and a
 * message naming the record or the body, never crash, leak or run long;
 * on success every line of a JSON framing is one JSON object (strict
 * parser), the line index covers the text exactly, and text framing keeps
 * the body byte for byte. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "logrisk.h"
#include "serve.h"

static const char *const types[] = {NULL, "application/x-ndjson", "application/json", "text/plain",
                                    "application/json; charset=utf-8", "application/octet-stream", "APPLICATION/JSON"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *ct = types[data[0] % (sizeof types / sizeof types[0])];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    lr__serve_body b;
    lr__serve_body_init(&b);
    lr_error err = {0, ""};
    int rc = lr__serve_frame(ct, body, len, &b, &err);
    if (rc) {
        if (rc != LR_EPARSE && rc != LR_ENOMEM) __builtin_trap();
        if (rc == LR_EPARSE && strncmp(err.msg, "record ", 7) != 0 && strncmp(err.msg, "the body", 8) != 0 &&
            strncmp(err.msg, "text after", 10) != 0)
            __builtin_trap();
    } else {
        if (lr__serve_detect(ct, body, len) != b.framing) __builtin_trap();
        if (b.line_off[0] != 0 || b.line_off[b.n_lines] != b.text.len) __builtin_trap();
        for (size_t i = 0; i < b.n_lines; i++) {
            if (b.line_off[i + 1] <= b.line_off[i]) __builtin_trap();
            if (b.framing == LR_SERVE_TEXT) continue;
            size_t a = b.line_off[i], e = b.line_off[i + 1];
            if (b.text.data[e - 1] == '\n') e--;
            lr__json_doc *doc = lr__json_parse(b.text.data + a, e - a, 0, NULL);
            if (!doc || lr__json_root(doc)->type != LR_JSON_OBJECT) __builtin_trap();
            lr__json_free(doc);
        }
        if (b.framing == LR_SERVE_TEXT && (b.text.len != len || (len && memcmp(b.text.data, body, len) != 0)))
            __builtin_trap();
    }
    lr__serve_body_free(&b);
    lr__serve_body_init(&b);
    int batch = 0;
    rc = lr__serve_predict_inputs(body, len, &b, &batch, &err);
    if (rc != 0 && rc != LR_EPARSE && rc != LR_ENOMEM) __builtin_trap();
    if (rc == 0 && b.n_lines < 1) __builtin_trap();
    lr__serve_body_free(&b);
    return 0;
}
