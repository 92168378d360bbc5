/* libFuzzer target for the events reader (src/events.c) over the record
 * reader: byte 0 picks the input format (any of the ten), byte 1 the group
 * line cap (1..256) and multi-line on or off (bit 7 of byte 0); the rest is
 * the log. Checked: every event is well formed (fuzz_event_check on each
 * detection of its message), events come in line order without
 * overlaps, no group exceeds its line cap, and the encoder gives 2..12 ids
 * framed by [CLS] and [SEP]. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = (lr_rec_format)((data[0] & 0x7f) % LR_REC_N_FORMATS);
    ro.max_bytes = 4096;
    if (ro.format == LR_REC_CSV) ro.column = "message";
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = !(data[0] & 0x80);
    eo.max_group_lines = data[1] + 1;
    eo.max_group_bytes = 8192;
    int fd = memfd_create("fuzz_events", 0);
    if (fd < 0) return 0;
    if (write(fd, data + 2, size - 2) != (ssize_t)(size - 2)) {
        close(fd);
        return 0;
    }
    lseek(fd, 0, SEEK_SET);
    lr_records *r = lr_records_new(fd, &ro, NULL);
    lr_events *e = r ? lr_events_new(r, &eo, NULL) : NULL;
    if (!e) __builtin_trap();
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nerror\n:\n";
    lr_tok *tok = lr_tok_from_text(vocab, sizeof vocab - 1, NULL);
    lr_rules *rules = lr_rules_default(NULL);
    lr_event_encoder *enc = lr_event_encoder_new(rules, tok, 12, 512, NULL);
    if (!tok || !rules || !enc) __builtin_trap();
    lr_event ev;
    uint64_t next = 1;
    int rc;
    int32_t ids[12];
    lr__ev re;
    lr__ev_init(&re);
    while ((rc = lr_events_next(e, &ev, NULL)) == 1) {
        if (ev.line < next || ev.line_end < ev.line || ev.n_records < 1 || ev.n_records > eo.max_group_lines)
            __builtin_trap();
        next = ev.line_end + 1;
        int n = lr_event_encode(enc, &ev, ids, NULL);
        if (n < 2 || n > 12 || ids[0] != 2 || ids[n - 1] != 3) __builtin_trap();
        fuzz_event_check(&re, lr__ev_parse(&re, ev.message, ev.message_len, LR_REC_AUTO, NULL));
    }
    if (rc != 0 && rc != LR_EPARSE && rc != LR_EINVAL) __builtin_trap();
    lr__ev_free(&re);
    lr_event_encoder_free(enc);
    lr_rules_free(rules);
    lr_tok_free(tok);
    lr_events_free(e);
    lr_records_free(r);
    close(fd);
    return 0;
}
