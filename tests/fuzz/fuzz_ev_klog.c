/* libFuzzer target for the klog parser of the event layer (src/event.c,
 * lr__ev_klog): any bytes, checked by fuzz_event_check (fuzz_event.h). */
#include "fuzz_event.h"

FUZZ_EVENT_TARGET(lr__ev_klog)
