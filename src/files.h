/*
 * files.h — the one way the library opens the files it trusts for
 * structure (models, rules, configs, vocabularies, checkpoints) and the one
 * way it writes a file: atomically, through a fresh temporary beside the
 * target.
 *
 * Reading: lr__file_open_regular opens with O_NONBLOCK and O_NOCTTY, then
 * refuses anything that is not a regular file, so a FIFO with no writer, a
 * terminal or a device (/dev/zero, /dev/tty) is an error at once instead of
 * a read that blocks forever or never ends. Symlinks to regular files are
 * followed as usual. lr__file_read_all reads such a file whole, refusing
 * one larger than a limit.
 *
 * Writing (lr__atomic_*): the temporary is created with O_CREAT | O_EXCL |
 * O_NOFOLLOW under an unpredictable name (<target>.tmp-<16 random hex>) in
 * the target's directory, so nothing planted there beforehand (a symlink to
 * another file, a file of someone else's) is ever opened or overwritten:
 * a name that exists is skipped for a new one. The data is written, the
 * temporary fsync'ed and closed, renamed over the target (readers see the
 * old file or the new one, never half of one), and the directory fsync'ed
 * so the rename survives a crash. A failure at any step removes the
 * temporary and leaves the target as it was. Permissions are 0666 less the
 * umask, as for any new file. A target that is itself a symlink is
 * replaced by the new file (the link is not followed).
 */
#ifndef LR_FILES_H
#define LR_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "logrisk.h"

/* Open `path` read-only (O_CLOEXEC) if it is a regular file, else fail with
 * LR_EIO ("rules file 'x' is not a regular file (a FIFO)"). `what` names the
 * kind of file in messages ("rules file"; NULL: the path alone). Returns the
 * descriptor (blocking mode restored), or a negative LR_E* code with err
 * filled. */
int lr__file_open_regular(const char *path, const char *what, lr_error *err);

/* Read the regular file `path` whole into *out (allocated with lr__malloc,
 * NUL-terminated, owned by the caller), *len its length. More than
 * max_bytes bytes is LR_ERANGE. Errors name `what` and the path. */
int lr__file_read_all(const char *path, const char *what, size_t max_bytes, char **out, size_t *len,
                      lr_error *err);

/* An atomic write in progress. */
typedef struct lr__atomic {
    int fd;       /* the temporary, open for writing; -1 when none   */
    FILE *fp;     /* lr__atomic_stdio's stream over fd, or NULL        */
    char *path;   /* the target (owned copy)                           */
    char *tmp;    /* the temporary's name (owned)                      */
} lr__atomic;

/* Create the temporary for `path`. On success the caller must end with
 * lr__atomic_commit or lr__atomic_abort. LR_EIO / LR_ENOMEM otherwise (a is
 * then left closed, nothing to release). */
int lr__atomic_open(lr__atomic *a, const char *path, lr_error *err);
/* The same with the temporary's name given (tests: a name where something
 * is planted must fail with LR_EIO and leave that thing alone). */
int lr__atomic_open_named(lr__atomic *a, const char *path, const char *tmp, lr_error *err);
/* write(2) all of data (retrying EINTR and short writes): 0 or LR_EIO. */
int lr__atomic_write(lr__atomic *a, const void *data, size_t len, lr_error *err);
/* A stdio stream over the temporary (owned by a; do not fclose it), for
 * writers built on FILE. NULL + LR_ENOMEM/LR_EIO. */
FILE *lr__atomic_stdio(lr__atomic *a, lr_error *err);
/* Flush, fsync, close, rename over the target, fsync the directory. On any
 * failure the temporary is removed and the target untouched. a is released
 * either way. */
int lr__atomic_commit(lr__atomic *a, lr_error *err);
/* Close and remove the temporary; release a. Accepts a closed a. */
void lr__atomic_abort(lr__atomic *a);

/* The whole thing for a buffer in memory. */
int lr__file_write_atomic(const char *path, const void *data, size_t len, lr_error *err);

/* ------------------------------------------------------------- inputs
 *
 * The logs `score` reads: each input given is a file, a glob pattern (it
 * holds '*', '?' or '['), or a directory, which means its entries named
 * *.log (like Fluent Bit's tail input on the directory /var/log/containers).
 * Entries are listed whatever their type: opening them (follow.c) decides,
 * so a symlink is followed as the kubelet's are, and a dangling symlink, a
 * FIFO or a directory named x.log is reported by whoever opens it. */
typedef enum lr__input_kind { LR__INPUT_FILE = 0, LR__INPUT_DIR, LR__INPUT_GLOB } lr__input_kind;

/* What `spec` is now (a path that does not exist yet is a file). */
lr__input_kind lr__input_kind_of(const char *spec);

/* Call fn(user, path) for each file of `spec`, sorted by name (paths are
 * the directory joined with the entry, or as glob(3) returns them). A
 * non-zero return of fn stops the walk and is returned. A directory that
 * cannot be read is LR_EIO (message in err); a glob that matches nothing
 * gives no call and 0 (a followed input may appear); a file is passed on
 * whether it exists or not (its opener reports it). */
int lr__input_expand(const char *spec, int (*fn)(void *user, const char *path), void *user, lr_error *err);

/* Whether `path` matches one of the n glob patterns (fnmatch): against the
 * whole path or its last component, so "*_logging_*.log" and
 * "/var/log/containers/agent-*" both work. */
int lr__input_excluded(const char *path, const char *const *patterns, int n);

#endif /* LR_FILES_H */
