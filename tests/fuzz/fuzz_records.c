/* libFuzzer target for the record reader (src/records.c): the CRI line
 * parser, the JSON message lookup (Docker / JSON lines) and the whole
 * reader over a memfd. Byte 0 picks the format (auto, raw, cri, docker,
 * jsonl, csv), byte 1 the message cap (1..256 bytes, so joining and cutting
 * are exercised); the rest is the log. Checked: no crash or leak, every
 * record within the cap, line numbers strictly increasing, errors only of
 * the documented kinds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    lr_records_opts o;
    lr_records_opts_init(&o);
    o.format = (lr_rec_format)(data[0] % 6);
    o.max_bytes = (size_t)data[1] + 1;
    if (o.format == LR_REC_CSV) o.column = (data[0] & 0x40) ? "2" : "message";
    if (o.format == LR_REC_JSONL && (data[0] & 0x80)) o.field = "a.b";
    const char *text = (const char *)data + 2;
    size_t len = size - 2;

    /* the one-line parsers on the first line */
    const char *nl = memchr(text, '\n', len);
    size_t l1 = nl ? (size_t)(nl - text) : len;
    lr__rec_cri cri;
    if (lr__rec_parse_cri(text, l1, &cri) &&
        (cri.msg < text || cri.msg + cri.msg_len != text + l1 || (cri.stream != 1 && cri.stream != 2)))
        __builtin_trap();
    lr__buf b;
    lr__buf_init(&b);
    int docker = 0;
    int rc = lr__rec_json_message(text, l1, o.field, &b, &docker);
    if (rc < 0 || rc > 2 || (rc != 1 && b.len)) __builtin_trap();
    lr__buf_free(&b);

    /* the whole reader */
    int fd = memfd_create("fuzz_records", 0);
    if (fd < 0) return 0;
    if (len && write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return 0;
    }
    lseek(fd, 0, SEEK_SET);
    lr_error err;
    lr_records *r = lr_records_new(fd, &o, &err);
    if (!r) __builtin_trap();
    lr_record rec;
    uint64_t last = 0;
    volatile size_t sink = 0;
    while ((rc = lr_records_next(r, &rec, &err)) == 1) {
        if (rec.len > o.max_bytes || rec.line <= last) __builtin_trap();
        last = rec.line;
        if (rec.len) sink += (unsigned char)rec.msg[rec.len - 1];
    }
    if (rc != 0 && rc != LR_EPARSE && rc != LR_EINVAL) __builtin_trap();
    (void)sink;
    lr_records_free(r);
    close(fd);
    return 0;
}
