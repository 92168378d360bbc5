/*
 * rates.h — internals of the rate detector (the public API is the "rates"
 * section of include/logrisk.h): JSON string output that stays valid for
 * any bytes, shared with the templates job.
 */
#ifndef LR_RATES_H
#define LR_RATES_H

#include "logrisk.h"
#include "util.h"

/* Append s[0..len) as a JSON string literal: valid UTF-8 is copied (with
 * '"', '\\' and control characters escaped), each byte of an invalid
 * sequence becomes U+FFFD. 0 or LR_ENOMEM. */
int lr__json_put_bytes(lr__buf *b, const char *s, size_t len);

#endif /* LR_RATES_H */
