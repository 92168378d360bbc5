/*
 * state.h — the agent's checkpoint file: how far each followed file has
 * been scored and written, so a restart resumes there (docs/agent.md).
 *
 * A file is known by its device and inode number plus a fingerprint of its
 * first bytes (up to LR__STATE_FP_BYTES), so an inode the file system
 * reused for a new file is not mistaken for the old one. The offset always
 * sits just after a '\n': the line it ends was written out.
 *
 * The file is text, written whole and atomically (lr__file_write_atomic):
 *
 *     logrisk-state 1
 *     <dev> <ino> <fp bytes> <fp 16 hex> <lines> <offset> <path>
 *     ...
 *     end <number of entries>
 *
 * Numbers are decimal; in the path every byte outside '!'..'~' and '%' is
 * written %XX, so any path round-trips on one line. Anything else (a missing header or "end" line, a
 * field that does not parse, a count that does not match) is a corrupt
 * file, reported with its line number.
 */
#ifndef LR_STATE_H
#define LR_STATE_H

#include <stdint.h>

#include "util.h"

#define LR__STATE_FP_BYTES 256u
#define LR__STATE_MAX_BYTES ((size_t)64 << 20)

typedef struct lr__state_entry {
    uint64_t dev, ino;
    uint32_t fp_len;     /* bytes the fingerprint covers (< FP_BYTES: the file was shorter) */
    uint64_t fp;         /* FNV-1a 64 of those bytes                                        */
    uint64_t lines;      /* lines before offset (line numbers go on from lines + 1)         */
    uint64_t offset;     /* byte offset where reading resumes                                */
    char *path;          /* where the file was found (owned)                                 */
    int used;            /* matched an open file in this run                                 */
} lr__state_entry;

typedef struct lr__state {
    char *path;               /* the state file (owned)       */
    lr__state_entry *e;       /* n entries (owned)            */
    size_t n, cap;
} lr__state;

/* Read the state file at `path` into s (a missing file is an empty state).
 * LR_EPARSE with "state file 'x' line N: ..." for a corrupt one, LR_EIO for
 * one that cannot be read; s is empty but usable (and owns path) then. */
int lr__state_load(lr__state *s, const char *path, lr_error *err);
void lr__state_free(lr__state *s);

/* The entry for (dev, ino), or NULL. */
lr__state_entry *lr__state_find(lr__state *s, uint64_t dev, uint64_t ino);
/* The entry for (dev, ino), added (zeroed, path copied) when missing; NULL
 * when out of memory. */
lr__state_entry *lr__state_get(lr__state *s, uint64_t dev, uint64_t ino, const char *path);
/* Remove the entry for (dev, ino) (a file closed for good). */
void lr__state_remove(lr__state *s, uint64_t dev, uint64_t ino);

/* Write every entry to s->path atomically. 0 or LR_EIO / LR_ENOMEM. */
int lr__state_save(const lr__state *s, lr_error *err);

/* Fingerprint of the first min(size, LR__STATE_FP_BYTES) bytes of fd (pread;
 * the position is untouched). 0 and *len, *fp, or LR_EIO. */
int lr__state_fingerprint(int fd, uint32_t *len, uint64_t *fp);
/* Whether the file behind fd starts with the bytes e->fp covers. */
int lr__state_matches(int fd, const lr__state_entry *e);

/* From offset `from` (just after a '\n', `lines` lines before it), skip
 * `n` more lines of fd (pread): *to gets the offset just after the n-th
 * '\n' found, or after the last one found if the file has fewer (an
 * unterminated last line is never counted), *got the lines skipped.
 * 0 or LR_EIO. */
int lr__state_skip_lines(int fd, uint64_t from, uint64_t n, uint64_t *to, uint64_t *got);

#endif /* LR_STATE_H */
