/*
 * follow.h — the set of files the agent reads: inputs expanded into files
 * (files.c), followed like `tail -F` (docs/agent.md, "Follow semantics").
 *
 *  - A file is known by its device and inode. When the path given or found
 *    names another file (renamed away and recreated, or a new symlink
 *    target), the old file is "draining": it is read to its end, then
 *    closed once it has not grown for rotate_wait seconds; the new one is
 *    opened and read from its start, after the old one reached its end.
 *  - A file deleted while open drains the same way (its data is still
 *    there through the descriptor).
 *  - A file whose size drops below the read position was truncated
 *    (copytruncate): on_truncate lets the reader start again at 0.
 *  - Files that appear in a followed directory or glob are opened on the
 *    next scan.
 *  - Notifications come from inotify when the kernel has it (a watch per
 *    file and per directory; a scan every `rescan` seconds catches what
 *    inotify cannot see, e.g. a symlink's target rotated in a directory not
 *    watched). Without inotify, or with opts.poll > 0, every file is read
 *    and every input rescanned each poll seconds.
 *  - At most max_open files are open at once; further files wait for a
 *    slot (reported once) and are opened as others close.
 *  - A file that cannot be opened or is not a regular file (a dangling
 *    symlink, a FIFO or a directory named *.log) is reported once through
 *    opts.warn and tried again on later scans.
 *
 * The reading itself belongs to the caller (score_run.c): follow only owns
 * descriptors, identities and notifications.
 */
#ifndef LR_FOLLOW_H
#define LR_FOLLOW_H

#include <stdint.h>

#include "util.h"

typedef struct lr__ffile {
    char *path;        /* as given or found (owned)                           */
    int fd;            /* open, read-only                                     */
    uint64_t dev, ino;
    int draining;      /* no longer at its path: read to the end, then close  */
    int ready;         /* may have something to read: the caller reads it     */
    int eof;           /* the caller found nothing more to read (it sets it)  */
    double eof_since;  /* when eof was set                                    */
    struct lr__ffile *after; /* the draining file that had this path: read
                                this one once that one is at its end          */
    int wd;            /* inotify watch or -1                                 */
    void *user;        /* the caller's reader state                           */
} lr__ffile;

typedef struct lr__follow_opts {
    double poll;         /* > 0: poll every `poll` s instead of inotify       */
    double rescan;       /* with inotify: seconds between full scans (1.0)    */
    double rotate_wait;  /* a draining file is closed after this many seconds
                            at its end (default 5.0)                          */
    int max_open;        /* files open at once (default 1024)                 */
    const char *const *exclude; /* glob patterns of files never opened (borrowed) */
    int n_exclude;
    /* messages for stderr (unreadable files, files waiting for a slot) */
    void (*warn)(void *user, const char *msg);
    /* a file was opened (position 0; the caller may seek), or its content
     * was truncated, or it is about to be closed for good (drained): the
     * caller makes, resets or frees its reader. Non-zero stops the scan. */
    int (*on_open)(void *user, lr__ffile *f, lr_error *err);
    int (*on_truncate)(void *user, lr__ffile *f, lr_error *err);
    int (*on_close)(void *user, lr__ffile *f, lr_error *err);
    void *user;
} lr__follow_opts;

typedef struct lr__follow lr__follow;

void lr__follow_opts_init(lr__follow_opts *o);
/* inputs (n of them) are copied. */
lr__follow *lr__follow_new(const char *const *inputs, int n, const lr__follow_opts *o, lr_error *err);
/* Closes every file still open (calling on_close first). */
int lr__follow_close_all(lr__follow *f, lr_error *err);
void lr__follow_free(lr__follow *f);

/* Scan the inputs now: open new files, notice renames, deletions and
 * truncations. Callbacks run from here. */
int lr__follow_scan(lr__follow *f, lr_error *err);
/* The open files (the array may change on scan / reap). */
int lr__follow_count(const lr__follow *f);
lr__ffile *lr__follow_file(lr__follow *f, int i);
/* Close the draining files that have been at their end for rotate_wait
 * (on_close first). */
int lr__follow_reap(lr__follow *f, lr_error *err);
/* Wait up to timeout_ms (-1: until something happens, bounded by the
 * next scan) for notifications; marks files ready, scans when a scan is
 * due. Returns 0 or an error of a callback. EINTR returns early. */
int lr__follow_wait(lr__follow *f, int timeout_ms, lr_error *err);
/* Whether notifications come from inotify (0: polling). */
int lr__follow_uses_inotify(const lr__follow *f);

#endif /* LR_FOLLOW_H */
