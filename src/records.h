/*
 * records.h — internals of the record reader (the public lr_records API is
 * in include/logrisk.h, "records" section): the one-line parsers, exposed
 * for the tests and the fuzz target.
 */
#ifndef LR_RECORDS_H
#define LR_RECORDS_H

#include "logrisk.h"
#include "util.h"

/* One parsed CRI line: `<RFC3339Nano> <stdout|stderr> <P|F> <msg>`. */
typedef struct lr__rec_cri {
    const char *msg; /* points into the parsed line */
    size_t msg_len;
    const char *time; /* the timestamp, pointing into the line */
    size_t time_len;
    int stream;      /* 1 stdout, 2 stderr */
    int partial;     /* tag P */
} lr__rec_cri;

/* Parse one CRI log line (no '\n'; a trailing '\r' is part of the message).
 * Returns 1 and fills out when the line has the CRI shape: an RFC 3339
 * timestamp (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)), one space,
 * "stdout" or "stderr", one space, "P" or "F", then either end of line
 * (empty message) or one space and the message. Returns 0 otherwise. */
int lr__rec_parse_cri(const char *line, size_t len, lr__rec_cri *out);

/* Whether `s` (len bytes) is an RFC 3339 timestamp as described above. */
int lr__rec_is_rfc3339(const char *s, size_t len);

/* The message of one JSON log line (a JSON object). `field` is a dotted
 * path ("a.b.c") tried alone, or NULL for the defaults "message", "msg",
 * "log" in that order. On success returns 1, appends the string value's
 * decoded UTF-8 bytes to msg, and sets *docker when the object looks like a
 * Docker json-file record (a string "log" and a "stream" or "time" member).
 * Returns 0 when the line is not a JSON object or has no such string
 * member; LR_ENOMEM when msg cannot grow. */
int lr__rec_json_message(const char *line, size_t len, const char *field, lr__buf *msg, int *docker);

/* The format the reader was opened with (auto stays auto; csv when a
 * column was given). */
lr_rec_format lr__records_requested(const lr_records *r);

#endif /* LR_RECORDS_H */
