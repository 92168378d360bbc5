/*
 * follow.c — the files of the inputs, followed like `tail -F` (semantics
 * in follow.h, the user's view in docs/agent.md).
 *
 * Design
 *  - Files live in one array of pointers (lr__ffile is handed to the
 *    caller, so it must not move); a path -> file hash table finds the file
 *    now at a path in O(1), so a scan of a directory of thousands of logs
 *    costs one stat per entry. The table is rebuilt when a file leaves
 *    its path (draining) or closes; opening only inserts.
 *  - inotify: one instance; a watch per open file on its inode (through
 *    /proc/self/fd/N when it exists, so the watch is on the file opened even
 *    if the path changed in between) for writes, attribute changes (a
 *    deletion drops the link count) and moves; a watch per input directory
 *    for entries created, moved and deleted. A write marks its file ready;
 *    anything else asks for a scan. Watches that fail (no inotify in the
 *    kernel, the per-user limits) leave that file polled.
 *  - A scan: expand every input (files.c), compare each path's identity
 *    with the file open there, open what is new, mark as draining what left
 *    its path, check every open file for truncation (size below the read
 *    position). With inotify it runs when a directory changes and every
 *    `rescan` seconds; polling runs it every `poll` seconds and marks
 *    every file ready.
 *  - A path that failed to open is remembered (a second hash table) so its
 *    message is given once; it is retried on every scan.
 *  - Nothing here reads log data: the caller reads ready files and sets
 *    eof, which is what lets follow close a drained file.
 */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

/* ----------------------------------------------------- path hash tables */

typedef struct pathmap {
    const char **keys; /* borrowed strings (a file's path) or owned (reported) */
    void **vals;
    size_t cap, n;
} pathmap;

static uint64_t hash_str(const char *s) { return lr__fnv1a(s, strlen(s)); }

static void map_free(pathmap *m) {
    lr__free(m->keys);
    lr__free(m->vals);
    memset(m, 0, sizeof *m);
}

static void **map_slot(pathmap *m, const char *key, int *found) {
    size_t mask = m->cap - 1, i = hash_str(key) & mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            *found = 1;
            return &m->vals[i];
        }
        i = (i + 1) & mask;
    }
    *found = 0;
    return &m->vals[i];
}

static void *map_get(pathmap *m, const char *key) {
    if (!m->cap) return NULL;
    int found;
    void **v = map_slot(m, key, &found);
    return found ? *v : NULL;
}

/* Insert or replace; 0 or LR_ENOMEM. */
static int map_put(pathmap *m, const char *key, void *val) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        pathmap nm = {lr__calloc(cap, sizeof *nm.keys), lr__calloc(cap, sizeof *nm.vals), cap, 0};
        if (!nm.keys || !nm.vals) {
            map_free(&nm);
            return LR_ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_put(&nm, m->keys[i], m->vals[i]);
        map_free(m);
        *m = nm;
    }
    int found;
    void **v = map_slot(m, key, &found);
    if (!found) {
        m->keys[v - m->vals] = key;
        m->n++;
    }
    *v = val;
    return 0;
}

/* ---------------------------------------------------------------- state */

struct lr__follow {
    lr__follow_opts o;
    char **inputs;
    int n_inputs;
    lr__ffile **files;
    int n_files, cap_files;
    pathmap at_path;      /* path -> the non-draining file there             */
    int map_stale;        /* rebuild at_path before the next lookup          */
    pathmap reported;     /* path -> (void *)1: its failure was reported     */
    char **reported_keys; /* owned keys of `reported`                        */
    size_t n_reported_keys;
    int ino_fd;           /* inotify, or -1: polling                         */
    int *dir_wd;          /* n_inputs: the watch on each input's directory   */
    int *dir_logs_only;   /* the input is a directory: only *.log names count */
    double next_scan;
    int scan_now;
    int unwatched;        /* some open file has no watch: poll it            */
    size_t waiting;       /* files not opened for lack of a slot (last scan) */
    size_t waiting_reported;
    uint64_t gen;         /* scan generation                                 */
    lr_error *err;        /* the current scan's */
    int cb_rc;
};

/* A file's scan generation lives beside it. */
typedef struct ffile_impl {
    lr__ffile pub;
    uint64_t seen_gen;
} ffile_impl;

void lr__follow_opts_init(lr__follow_opts *o) {
    memset(o, 0, sizeof *o);
    o->rescan = 1.0;
    o->rotate_wait = 5.0;
    o->max_open = 1024;
}

static void warnf(lr__follow *f, const char *fmt, ...) LR_PRINTF(2, 3);
static void warnf(lr__follow *f, const char *fmt, ...) {
    if (!f->o.warn) return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    f->o.warn(f->o.user, msg);
}

int lr__follow_uses_inotify(const lr__follow *f) { return f->ino_fd >= 0; }
int lr__follow_count(const lr__follow *f) { return f->n_files; }
lr__ffile *lr__follow_file(lr__follow *f, int i) { return f->files[i]; }

static int rebuild_map(lr__follow *f) {
    map_free(&f->at_path);
    for (int i = 0; i < f->n_files; i++)
        if (!f->files[i]->draining && map_put(&f->at_path, f->files[i]->path, f->files[i])) return LR_ENOMEM;
    f->map_stale = 0;
    return 0;
}

/* Watch the directory of input i (the input itself when a directory). */
static void watch_input_dir(lr__follow *f, int i) {
    if (f->ino_fd < 0 || f->dir_wd[i] >= 0) return;
    const char *in = f->inputs[i];
    lr__input_kind k = lr__input_kind_of(in);
    char *dir;
    if (k == LR__INPUT_DIR) {
        dir = lr__strdup(in);
    } else {
        const char *slash = strrchr(in, '/');
        dir = !slash ? lr__strdup(".") : slash == in ? lr__strdup("/") : lr__strndup(in, (size_t)(slash - in));
        if (dir && strpbrk(dir, "*?[")) { /* a pattern in the directory part: the periodic scan */
            lr__free(dir);
            return;
        }
    }
    if (!dir) return;
    f->dir_wd[i] = inotify_add_watch(f->ino_fd, dir, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
    f->dir_logs_only[i] = k == LR__INPUT_DIR;
    lr__free(dir);
}

lr__follow *lr__follow_new(const char *const *inputs, int n, const lr__follow_opts *o, lr_error *err) {
    lr__follow *f = lr__calloc(1, sizeof *f);
    if (!f) {
        lr__err(err, LR_ENOMEM, "out of memory");
        return NULL;
    }
    f->o = *o;
    if (f->o.max_open < 1) f->o.max_open = 1;
    if (f->o.rescan <= 0) f->o.rescan = 1.0;
    f->ino_fd = -1;
    f->inputs = lr__calloc((size_t)(n > 0 ? n : 1), sizeof *f->inputs);
    f->dir_wd = lr__calloc((size_t)(n > 0 ? n : 1), sizeof *f->dir_wd);
    f->dir_logs_only = lr__calloc((size_t)(n > 0 ? n : 1), sizeof *f->dir_logs_only);
    if (!f->inputs || !f->dir_wd || !f->dir_logs_only) goto oom;
    for (int i = 0; i < n; i++) {
        f->dir_wd[i] = -1;
        if (!(f->inputs[i] = lr__strdup(inputs[i]))) goto oom;
        f->n_inputs = i + 1;
    }
    if (f->o.poll <= 0) {
        f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (f->ino_fd < 0) {
            warnf(f, "inotify is not available (%s): polling every 0.25 s", strerror(errno));
            f->o.poll = 0.25;
        }
    }
    for (int i = 0; i < n; i++) watch_input_dir(f, i);
    return f;
oom:
    lr__follow_free(f);
    lr__err(err, LR_ENOMEM, "out of memory");
    return NULL;
}

/* Close and forget file i (on_close first unless skip_cb). */
static int drop_file(lr__follow *f, int i, int call_cb, lr_error *err) {
    lr__ffile *x = f->files[i];
    int rc = 0;
    if (call_cb && f->o.on_close) rc = f->o.on_close(f->o.user, x, err);
    if (x->wd >= 0 && f->ino_fd >= 0) {
        int shared = 0;
        for (int j = 0; j < f->n_files; j++)
            if (j != i && f->files[j]->wd == x->wd) shared = 1;
        if (!shared) inotify_rm_watch(f->ino_fd, x->wd);
    }
    for (int j = 0; j < f->n_files; j++)
        if (f->files[j]->after == x) f->files[j]->after = NULL;
    close(x->fd);
    lr__free(x->path);
    lr__free(x);
    memmove(f->files + i, f->files + i + 1, (size_t)(f->n_files - i - 1) * sizeof *f->files);
    f->n_files--;
    f->map_stale = 1;
    return rc;
}

int lr__follow_close_all(lr__follow *f, lr_error *err) {
    int rc = 0;
    while (f->n_files > 0) {
        int r = drop_file(f, 0, 1, err);
        if (r && !rc) rc = r;
    }
    return rc;
}

void lr__follow_free(lr__follow *f) {
    if (!f) return;
    while (f->n_files > 0) drop_file(f, f->n_files - 1, 0, NULL);
    lr__free(f->files);
    for (int i = 0; i < f->n_inputs; i++) lr__free(f->inputs[i]);
    lr__free(f->inputs);
    lr__free(f->dir_wd);
    lr__free(f->dir_logs_only);
    map_free(&f->at_path);
    map_free(&f->reported);
    for (size_t i = 0; i < f->n_reported_keys; i++) lr__free(f->reported_keys[i]);
    lr__free(f->reported_keys);
    if (f->ino_fd >= 0) close(f->ino_fd);
    lr__free(f);
}

/* Report a path's failure once (until it opens). */
static void report_once(lr__follow *f, const char *path, const char *msg) {
    if (map_get(&f->reported, path)) return;
    warnf(f, "%s (skipped; tried again while following)", msg);
    char *key = lr__strdup(path);
    char **nk = key ? lr__realloc(f->reported_keys, (f->n_reported_keys + 1) * sizeof *nk) : NULL;
    if (!nk) {
        lr__free(key);
        return;
    }
    f->reported_keys = nk;
    if (map_put(&f->reported, key, (void *)1)) {
        lr__free(key);
        return;
    }
    f->reported_keys[f->n_reported_keys++] = key;
}

static void add_watch(lr__follow *f, lr__ffile *x) {
    x->wd = -1;
    if (f->ino_fd < 0) return;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", x->fd);
    uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
    x->wd = inotify_add_watch(f->ino_fd, proc, mask);
    if (x->wd < 0) x->wd = inotify_add_watch(f->ino_fd, x->path, mask);
    if (x->wd < 0) f->unwatched = 1;
}

/* Open the file at `path` as a new followed file. */
static int open_file(lr__follow *f, const char *path, lr__ffile *after, lr_error *err) {
    if (f->n_files >= f->o.max_open) {
        f->waiting++;
        return 0;
    }
    lr_error oe = {0};
    int fd = lr__file_open_regular(path, NULL, &oe);
    if (fd < 0) {
        report_once(f, path, oe.msg);
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 0;
    }
    /* the same file under another path (a symlink and its target both
     * given, or a file moved from one name of the inputs to another) */
    for (int i = 0; i < f->n_files; i++) {
        lr__ffile *y = f->files[i];
        if (y->dev == (uint64_t)st.st_dev && y->ino == (uint64_t)st.st_ino) {
            close(fd);
            struct stat yst;
            int still = !y->draining && stat(y->path, &yst) == 0 && (uint64_t)yst.st_dev == y->dev &&
                        (uint64_t)yst.st_ino == y->ino;
            if (!still) { /* it moved to a name we read: keep reading it there */
                char *np = lr__strdup(path);
                if (!np) return lr__err(err, LR_ENOMEM, "out of memory");
                lr__free(y->path);
                y->path = np;
                y->draining = 0;
                ((ffile_impl *)y)->seen_gen = f->gen;
                f->map_stale = 1;
            }
            return 0;
        }
    }
    if (f->n_files == f->cap_files) {
        int cap = f->cap_files ? f->cap_files * 2 : 64;
        lr__ffile **nf = lr__realloc(f->files, (size_t)cap * sizeof *nf);
        if (!nf) {
            close(fd);
            return lr__err(err, LR_ENOMEM, "out of memory");
        }
        f->files = nf;
        f->cap_files = cap;
    }
    ffile_impl *xi = lr__calloc(1, sizeof *xi);
    char *p = lr__strdup(path);
    if (!xi || !p) {
        lr__free(xi);
        lr__free(p);
        close(fd);
        return lr__err(err, LR_ENOMEM, "out of memory");
    }
    lr__ffile *x = &xi->pub;
    xi->seen_gen = f->gen;
    x->path = p;
    x->fd = fd;
    x->dev = (uint64_t)st.st_dev;
    x->ino = (uint64_t)st.st_ino;
    x->ready = 1;
    x->after = after;
    add_watch(f, x);
    f->files[f->n_files++] = x;
    if (!f->map_stale && map_put(&f->at_path, x->path, x)) f->map_stale = 1;
    if (f->o.on_open) {
        int rc = f->o.on_open(f->o.user, x, err);
        if (rc) return rc;
    }
    return 0;
}

static void start_draining(lr__follow *f, lr__ffile *x) {
    x->draining = 1;
    x->ready = 1;
    x->eof = 0; /* read it to its end before the file now at its path */
    f->map_stale = 1;
}

/* Truncated: size below what was read. */
static int check_truncated(lr__follow *f, lr__ffile *x, lr_error *err) {
    struct stat st;
    off_t pos = lseek(x->fd, 0, SEEK_CUR);
    if (pos < 0 || fstat(x->fd, &st) != 0 || st.st_size >= pos) return 0;
    x->ready = 1;
    x->eof = 0;
    return f->o.on_truncate ? f->o.on_truncate(f->o.user, x, err) : 0;
}

/* One path of an input, during a scan. */
static int scan_path(void *user, const char *path) {
    lr__follow *f = user;
    if (lr__input_excluded(path, f->o.exclude, f->o.n_exclude)) return 0;
    if (f->map_stale && rebuild_map(f)) return lr__err(f->err, LR_ENOMEM, "out of memory");
    lr__ffile *x = map_get(&f->at_path, path);
    struct stat st;
    int st_ok = stat(path, &st) == 0;
    if (x) {
        ((ffile_impl *)x)->seen_gen = f->gen;
        if (st_ok && (uint64_t)st.st_dev == x->dev && (uint64_t)st.st_ino == x->ino) return 0;
        start_draining(f, x); /* gone, or another file now has the path */
        if (!st_ok) return 0;
    }
    return open_file(f, path, x, f->err);
}

int lr__follow_scan(lr__follow *f, lr_error *err) {
    f->gen++;
    f->err = err;
    f->waiting = 0;
    int rc = 0;
    for (int i = 0; i < f->n_inputs && !rc; i++) {
        lr_error ie = {0};
        watch_input_dir(f, i);
        int r = lr__input_expand(f->inputs[i], scan_path, f, &ie);
        if (r == LR_ENOMEM) rc = r;
        else if (r && ie.msg[0]) report_once(f, f->inputs[i], ie.msg);
        else if (r) rc = r;
    }
    for (int i = 0; i < f->n_files && !rc; i++) {
        lr__ffile *x = f->files[i];
        if (!x->draining && ((ffile_impl *)x)->seen_gen != f->gen) start_draining(f, x);
        if (x->draining) x->ready = 1;
        rc = check_truncated(f, x, err);
    }
    if (f->waiting != f->waiting_reported) {
        if (f->waiting)
            warnf(f, "%zu file(s) wait for a free slot: at most %d files are open at once (--max-open)",
                  f->waiting, f->o.max_open);
        f->waiting_reported = f->waiting;
    }
    f->unwatched = 0;
    for (int i = 0; i < f->n_files; i++)
        if (f->files[i]->wd < 0) f->unwatched = 1;
    double now = lr__now_s();
    f->next_scan = now + (f->ino_fd < 0 ? f->o.poll : f->unwatched ? LR_MIN(0.25, f->o.rescan) : f->o.rescan);
    f->scan_now = 0;
    return rc;
}

int lr__follow_reap(lr__follow *f, lr_error *err) {
    double now = lr__now_s();
    for (int i = 0; i < f->n_files; i++) {
        lr__ffile *x = f->files[i];
        if (x->draining && x->eof && now - x->eof_since >= f->o.rotate_wait) {
            int rc = drop_file(f, i, 1, err);
            if (rc) return rc;
            i--;
        }
    }
    return 0;
}

/* Read every queued inotify event; marks files ready, asks for scans. */
static int drain_inotify(lr__follow *f, lr_error *err) {
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(f->ino_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                f->scan_now = 1;
                for (int i = 0; i < f->n_files; i++) f->files[i]->ready = 1;
                continue;
            }
            int dir = 0;
            for (int i = 0; i < f->n_inputs; i++)
                if (f->dir_wd[i] == ev->wd) {
                    dir = 1;
                    if (ev->mask & IN_IGNORED) f->dir_wd[i] = -1;
                    size_t nl = ev->len ? strlen(ev->name) : 0;
                    if (!f->dir_logs_only[i] || (nl > 4 && strcmp(ev->name + nl - 4, ".log") == 0) ||
                        (ev->mask & IN_IGNORED))
                        f->scan_now = 1;
                }
            if (dir) continue;
            for (int i = 0; i < f->n_files; i++) {
                lr__ffile *x = f->files[i];
                if (x->wd != ev->wd) continue;
                if (ev->mask & IN_IGNORED) {
                    x->wd = -1;
                    f->unwatched = 1;
                }
                if (ev->mask & IN_MODIFY) {
                    x->ready = 1;
                    x->eof = 0; /* it grew: not at its end until read again */
                    int rc = check_truncated(f, x, err);
                    if (rc) return rc;
                }
                if (ev->mask & (IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)) {
                    x->ready = 1;
                    f->scan_now = 1;
                }
            }
        }
    }
    return 0;
}

int lr__follow_wait(lr__follow *f, int timeout_ms, lr_error *err) {
    double now = lr__now_s();
    if (f->next_scan <= 0) f->next_scan = now;
    int until_scan = f->scan_now ? 0 : (int)((f->next_scan - now) * 1000.0) + 1;
    if (until_scan < 0) until_scan = 0;
    if (timeout_ms < 0 || timeout_ms > until_scan) timeout_ms = until_scan;
    if (f->ino_fd >= 0) {
        struct pollfd p = {.fd = f->ino_fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr > 0) {
            int rc = drain_inotify(f, err);
            if (rc) return rc;
        }
    } else if (timeout_ms > 0) {
        struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* EINTR (a signal) ends the nap */
    }
    now = lr__now_s();
    if (!f->scan_now && now < f->next_scan) return 0;
    for (int i = 0; i < f->n_files; i++)
        if (f->files[i]->wd < 0) f->files[i]->ready = 1; /* polled */
    return lr__follow_scan(f, err);
}
