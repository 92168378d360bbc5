/*
 * io.h — internals of the input/output module (the public line reader and
 * CSV reader are declared in include/logrisk.h, "io" section): writing
 * whole buffers to a descriptor and CSV field quoting.
 */
#ifndef LR_IO_H
#define LR_IO_H

#include "logrisk.h"
#include "util.h"

/* Write all `len` bytes of `data` to `fd`, retrying short writes and
 * EINTR. Returns 0 or LR_EIO with a message in err. */
int lr__io_write_all(int fd, const void *data, size_t len, lr_error *err);

/* Append `s` (len bytes) to `b` as one CSV field: as is, or in double
 * quotes with quotes doubled when it holds ',', '"', '\r' or '\n'
 * (RFC 4180). Returns 0 or LR_ENOMEM. */
int lr__io_csv_put(lr__buf *b, const char *s, size_t len);

#endif /* LR_IO_H */
