/*
 * event.h — internals of the canonical event (the public lr_event API is in
 * include/logrisk.h, "events" section): the one-record parsers of every
 * format, exposed for the events reader (events.c), the tests and the fuzz
 * targets. docs/events.md describes the formats and the rendering.
 */
#ifndef LR_EVENT_H
#define LR_EVENT_H

#include "logrisk.h"
#include "util.h"

/* A parsed event whose strings live in its own arena: time, source, host,
 * message, then the error detail last, so that continuation lines of a
 * group are appended to the error detail in place. The wrapper's stream
 * and time are the events reader's (events.c), not the parsed text's. */
typedef struct lr__ev {
    lr__buf arena;
    size_t t_off, t_len, s_off, s_len, h_off, h_len, m_off, m_len, e_off;
    const char *level;     /* canonical level from the record's structure */
    lr_rec_format format;  /* innermost format recognised                 */
} lr__ev;

void lr__ev_init(lr__ev *ev);
void lr__ev_free(lr__ev *ev);
void lr__ev_clear(lr__ev *ev);

/* Parse one record's text (no '\n') as `fmt`: LR_REC_AUTO detects the
 * format (JSON object, syslog, klog, Python/log4j header, logfmt, else
 * plain text); LR_REC_RAW is plain text, no parsing; LR_REC_JSONL,
 * _LOGFMT, _KLOG, _SYSLOG, _LOG4J want that format. `field` (may be NULL)
 * names the JSON message field. Wrapped payloads (syslog message) are
 * parsed again for JSON, klog or logfmt. Returns 1 when parsed as asked,
 * 0 when the text is not of the requested format (ev then holds it as
 * plain text), LR_ENOMEM. */
int lr__ev_parse(lr__ev *ev, const char *text, size_t len, lr_rec_format fmt, const char *field);

/* Point the public view at ev's strings (valid until ev changes). */
void lr__ev_view(const lr__ev *ev, lr_event *out);

/* The one-format parsers; each returns 1 and fills ev when `text` is of
 * its format, 0 otherwise (ev may then hold partial fields: clear it),
 * LR_ENOMEM. */
int lr__ev_json(lr__ev *ev, const char *text, size_t len, const char *field);
int lr__ev_logfmt(lr__ev *ev, const char *text, size_t len);
int lr__ev_klog(lr__ev *ev, const char *text, size_t len);
int lr__ev_syslog(lr__ev *ev, const char *text, size_t len);
int lr__ev_log4j(lr__ev *ev, const char *text, size_t len);

/* A syslog line's header (RFC 3164 or 5424, not "<PRI>message"): returns
 * where its message starts (0: not syslog) and points *key at the host and
 * program, which name the stream for multi-line grouping. */
size_t lr__ev_syslog_prefix(const char *s, size_t len, const char **key, size_t *key_len);

/* Length of a timestamp at the start of s (ISO date and time, a time of
 * day, or a syslog "Mmm dd hh:mm:ss"), 0 when there is none. */
size_t lr__ev_timestamp(const char *s, size_t len);

/* A leading timestamp of a plain line (docs/events.md, "Leading
 * timestamps"): an ISO or syslog date and time, a time of day, ctime,
 * epoch seconds, any of them in [...], or a dmesg "[ secs.usec]", then
 * blanks and some text. Returns where the text starts (0: none) and sets
 * *t0, *tn to the timestamp without its brackets. */
size_t lr__ev_lead_time(const char *s, size_t len, size_t *t0, size_t *tn);

/* A log multiplexer's per-line prefix at the start of s: docker compose's
 * "name  | " (name: up to 127 letters, digits, '_', '.', '-', starting
 * with a letter or digit, with a lower-case letter, not a level word; one
 * or more blanks), the same after a time of day "hh:mm:ss " (goreman,
 * foreman), or kubectl logs --prefix's "[pod/NAME/CONTAINER] ". Returns
 * where the payload starts (0: no prefix), points *key at the service
 * name, and sets *t0, *tn to the time of day (*tn 0: none). */
size_t lr__ev_mux_prefix(const char *s, size_t len, const char **key, size_t *kn, size_t *t0, size_t *tn);

/* A kernel log's stamp at the start of s: dmesg "[  467.167731]" or
 * dmesg -T "[Sat Jan  4 14:33:55 2020]", with the one blank after it;
 * its length, 0 when there is none. */
size_t lr__ev_kernel_stamp(const char *s, size_t len);

#endif /* LR_EVENT_H */
