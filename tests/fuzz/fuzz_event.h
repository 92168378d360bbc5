/* fuzz_event.h — the check shared by the event parser fuzz targets: parse
 * one record with a parser of src/event.c, then require that the event's
 * strings lie inside its arena in order, that a parsed event has a
 * recognised format and a level from the canonical list, and that the
 * rendering's length is what lr_event_render reports. */
#ifndef FUZZ_EVENT_H
#define FUZZ_EVENT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

static void fuzz_event_check(const lr__ev *ev, int rc) {
    if (rc < 0 || rc > 1) __builtin_trap();
    if (rc == 0) return;
    lr_event v;
    memset(&v, 0, sizeof v);
    lr__ev_view(ev, &v);
    const char *a = ev->arena.data ? ev->arena.data : "";
    size_t n = ev->arena.len;
    if (v.time < a || v.time + v.time_len > a + n || v.source + v.source_len > a + n ||
        v.message + v.message_len > a + n || v.error != a + ev->e_off || v.error + v.error_len != a + n)
        __builtin_trap();
    if (ev->m_off + ev->m_len != ev->e_off) __builtin_trap();
    if (v.level) {
        static const char *const names[] = {"TRACE", "DEBUG", "INFO",  "NOTICE", "WARN", "ERROR",
                                            "CRITICAL", "ALERT", "FATAL", "PANIC", "EMERG"};
        int known = 0;
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) known |= strcmp(v.level, names[i]) == 0;
        if (!known) __builtin_trap();
    }
    size_t head = 0, want = lr_event_render(&v, NULL, 0, &head);
    char *out = malloc(want + 1);
    if (!out) return;
    size_t got = lr_event_render(&v, out, want + 1, NULL);
    if (got != want || head > want || out[want] != '\0') __builtin_trap();
    free(out);
}

/* Run `parse` on the whole input, then on its first line. */
#define FUZZ_EVENT_TARGET(parse)                                                                                   \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                                                 \
        lr__ev ev;                                                                                                 \
        lr__ev_init(&ev);                                                                                          \
        const char *text = (const char *)data;                                                                     \
        fuzz_event_check(&ev, parse(&ev, text, size));                                                             \
        const char *nl = memchr(text, '\n', size);                                                                 \
        if (nl) fuzz_event_check(&ev, parse(&ev, text, (size_t)(nl - text)));                                      \
        lr__ev_free(&ev);                                                                                          \
        return 0;                                                                                                  \
    }

#endif /* FUZZ_EVENT_H */
