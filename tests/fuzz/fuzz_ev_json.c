/* libFuzzer target for the JSON event parser (src/event.c, lr__ev_json):
 * level, message, error and metadata fields of any JSON, checked by
 * fuzz_event_check (fuzz_event.h). */
#include "fuzz_event.h"

static int parse_json(lr__ev *ev, const char *text, size_t len) { return lr__ev_json(ev, text, len, NULL); }

FUZZ_EVENT_TARGET(parse_json)
