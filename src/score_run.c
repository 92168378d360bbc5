/*
 * score_run.c — the stream driver: records and events read from a file
 * descriptor, pushed into a scorer, results written as they are scored.
 *
 *  - lr_scorer_run: every raw line of a descriptor, one event per line.
 *  - lr_scorer_run_records: every event of a records reader (formats,
 *    multi-line groups), in follow mode too.
 *  - Follow: the run loop never blocks in read(2) (the line reader's follow
 *    mode); it polls the fd with a timeout that ends `interval` after the
 *    oldest queued line arrived, then scores what is queued. A regular file
 *    at EOF is polled every 100 ms (poll(2) says regular files are always
 *    readable). *stop (set by the caller's signal handler) makes the loop
 *    treat the input as ended: everything read so far is scored and written.
 */
#include "score.h"

#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* True when a read of fd would block now (nothing to read yet): a pipe or
 * terminal that is quiet. Regular files never block. */
static bool input_is_quiet(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Read every raw line of `in_fd` (bounded memory: lines cut at
 * max_line_bytes), score them and write JSON lines to `out` (borrowed,
 * flushed, not closed; the fd is not closed either): the records reader in
 * raw format, so each line is one event scored as it is. When the input is
 * a pipe that has gone quiet, the lines queued so far are scored and
 * written before blocking, so `tail -f x | logrisk score` streams. Any sink
 * set before is replaced by the JSON writer. */
int lr_scorer_run(lr_scorer *s, int in_fd, FILE *out, lr_error *err) {
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = LR_REC_RAW;
    ro.max_bytes = s->max_line_bytes;
    lr_records *recs = lr_records_new(in_fd, &ro, err);
    if (!recs) return err ? err->code : LR_ENOMEM;
    int rc = lr_scorer_run_records(s, recs, in_fd, out, NULL, err);
    lr_records_free(recs);
    return rc;
}

/* Defaults: no follow, interval 1 s, no stop flag, multi-line groups. */
void lr_score_run_opts_init(lr_score_run_opts *o) {
    memset(o, 0, sizeof *o);
    o->interval = 1.0;
    o->multiline = 1;
}

/* Malformed records and groups cut at the cap, seen by run_records. */
void lr_scorer_event_stats(const lr_scorer *s, uint64_t *malformed, uint64_t *groups_cut) {
    if (malformed) *malformed = s->stat_malformed;
    if (groups_cut) *groups_cut = s->stat_cut;
}

/* Score every event of `recs` (borrowed; it reads `in_fd`, also borrowed)
 * to `out` (borrowed, flushed, not closed), in the scorer's output format.
 * Records go through the events reader (formats, multi-line groups unless
 * ro->multiline is 0). Follow mode (recs created with follow): lines are
 * scored when a batch is full or ro->interval seconds after the oldest
 * queued line arrived, and an open multi-line group is closed when
 * ro->interval passes without a continuation; the loop waits in poll(2).
 * When *ro->stop becomes non-zero the input counts as ended: every record
 * read so far is scored and written, then 0. Without follow, a pipe that
 * goes quiet gets what is queued written. */
int lr_scorer_run_records(lr_scorer *s, lr_records *recs, int in_fd, FILE *out, const lr_score_run_opts *ro,
                          lr_error *err) {
    lr_score_run_opts def;
    if (!ro) {
        lr_score_run_opts_init(&def);
        ro = &def;
    }
    lr_events_opts eo;
    lr_events_opts_init(&eo);
    eo.multiline = ro->multiline;
    eo.group_timeout = ro->interval;
    eo.field = ro->field;
    lr_events *evs = lr_events_new(recs, &eo, err);
    if (!evs) return err ? err->code : LR_ENOMEM;
    lr_scorer_set_output(s, out);
    struct stat st;
    bool regular = fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode);
    int rc = 0, ended = 0;
    double oldest = 0;
    for (;;) {
        if (ro->stop && *ro->stop && !ended) {
            lr_records_end_input(recs);
            ended = 1;
        }
        if (!ro->follow && !regular && !lr_records_buffered(recs) && input_is_quiet(in_fd)) {
            /* a quiet pipe: an open group gets `interval` to go on, then is
             * closed; what is queued is scored before the read blocks */
            if (lr_events_open_group(evs)) {
                struct pollfd p = {.fd = in_fd, .events = POLLIN};
                if (poll(&p, 1, (int)(ro->interval * 1000.0) + 1) == 0) lr_events_end_group(evs);
            } else if (s->n_pending > 0) {
                rc = lr_scorer_flush(s, err);
                if (rc) break;
            }
        }
        lr_event ev;
        rc = lr_events_next(evs, &ev, err);
        if (rc <= 0) break;
        if (rc == 1) {
            int before = s->n_pending;
            rc = lr_scorer_push_event(s, &ev, err);
            if (rc) break;
            if (before == 0 && s->n_pending > 0) oldest = lr__now_s();
            /* follow: a group handed out with no new group open was closed by
             * its timeout (it already waited the interval): score it now */
            if (ro->follow && ro->multiline && !lr_events_open_group(evs)) oldest -= ro->interval;
            if (ro->follow && s->n_pending > 0 && lr__now_s() - oldest >= ro->interval) rc = lr_scorer_flush(s, err);
            /* follow: what was written has its templates saved */
            if (!rc && ro->follow && s->n_pending == 0) rc = lr__score_save_templates(s, err);
            if (rc) break;
            continue;
        }
        /* rc == 2: nothing complete to read; wait for input or the timer */
        rc = 0;
        int timeout = -1;
        if (s->n_pending > 0) {
            double left = ro->interval - (lr__now_s() - oldest);
            if (left <= 0) {
                rc = lr_scorer_flush(s, err);
                if (!rc && ro->follow) rc = lr__score_save_templates(s, err);
                if (rc) break;
                continue;
            }
            timeout = (int)(left * 1000.0) + 1;
        }
        if (lr_events_open_group(evs)) { /* its timeout is checked on the next call */
            int group_ms = (int)(ro->interval * 1000.0 / 4) + 1;
            if (timeout < 0 || timeout > group_ms) timeout = group_ms;
        }
        if (regular) {
            int ms = timeout < 0 || timeout > 100 ? 100 : timeout;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
            nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap */
        } else {
            /* EINTR: the loop looks at *stop. A signal that lands between
             * that look and poll() is noticed at the latest 250 ms later. */
            struct pollfd p = {.fd = in_fd, .events = POLLIN};
            if (ro->stop && (timeout < 0 || timeout > 250)) timeout = 250;
            (void)poll(&p, 1, timeout);
        }
    }
    s->stat_malformed = lr_events_malformed(evs);
    s->stat_cut = lr_events_groups_cut(evs);
    lr_events_free(evs);
    if (rc < 0) {
        /* a read error: still deliver what was read, then report it */
        lr_error keep = err ? *err : (lr_error){0};
        if (s->n_pending > 0 && lr_scorer_flush(s, err) == 0 && err) *err = keep;
        return rc;
    }
    rc = lr_scorer_flush(s, err);
    return rc ? rc : lr__score_save_templates(s, err);
}

/* ------------------------------------------------------------ many files
 *
 * lr_scorer_run_inputs: files, globs and directories, each file with its
 * own records and events readers (so formats, multi-line groups and line
 * numbers are per file), all feeding the one scorer.
 *
 *  - One pass (no follow): the inputs in order, each file read to its end
 *    and closed before the next is opened (one file open at a time).
 *  - Follow: the file set of follow.c (tail -F). Each round reads every
 *    ready file, at most ROUND_EVENTS events each so a busy file cannot
 *    starve the others, then waits (inotify or the poll tick) no longer
 *    than the oldest queued event may wait (`interval`), an open
 *    multi-line group's timeout, or a drained file's rotate_wait.
 *  - Checkpoints (--state): a file's checkpoint is (lines, offset) with
 *    the offset just after the '\n' of its last line that is written out.
 *    Every event pushed before the scorer's window was written is out, so
 *    after each written window (the scorer's pending count drops to 0) and
 *    after each timed flush the output is flushed and, per file, the lines
 *    pushed since the last checkpoint are skipped from its old offset with
 *    pread (state.c) to find the new one; then the state file is rewritten
 *    atomically. A kill -9 repeats at most the events written after the last
 *    checkpoint: one window (--batch events when following; batch * 8
 *    in one pass) plus what a timed flush wrote. Lines read but not yet
 *    written (an open group, a line without its '\n') are after the
 *    offset: read again, never lost.
 *  - A file that resumes from the state starts reading at its offset and
 *    numbers its lines from the lines before it, so line numbers stay
 *    those of the file.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <unistd.h>

#include "files.h"
#include "follow.h"
#include "k8smeta.h"
#include "rules.h"
#include "state.h"

#define ROUND_EVENTS 256

typedef struct rfile {
    lr__ffile *ff;        /* follow mode: the followed file (else NULL) */
    int fd;
    char *path;           /* owned copy */
    uint64_t dev, ino;
    lr_records *recs;
    lr_events *evs;
    uint64_t base;        /* physical lines before the readers' start */
    uint64_t pushed_end;  /* last line (file numbering) of the events pushed */
    uint64_t ck_lines, ck_off; /* the checkpoint */
    lr__buf meta;         /* JSON members of the file's metadata */
} rfile;

typedef struct agent {
    lr_scorer *s;
    lr_records_opts rop;
    lr_events_opts eo;
    const lr_score_run_opts *ro;
    const lr_agent_opts *ao;
    lr_agent_stats *stats;
    lr__state st;
    int use_state;
    rfile **files;        /* every live reader (checkpoints walk them) */
    int n_files, cap_files;
    lr__buf evmeta;       /* the metadata of one event */
    lr__buf tmp;
    double oldest;        /* when the oldest queued event arrived */
    uint64_t malformed, cut;
    lr__follow *fl;
    lr_error *err;        /* the caller's, for callbacks */
    const char *const *inputs;
    int n_inputs;
} agent;

void lr_agent_opts_init(lr_agent_opts *o) {
    memset(o, 0, sizeof *o);
    lr__follow_opts fo; /* the following's defaults are the file set's */
    lr__follow_opts_init(&fo);
    o->rotate_wait = fo.rotate_wait;
    o->max_open = fo.max_open;
    o->meta = LR_AGENT_META_FILE;
}

static void agent_warn(agent *a, const char *fmt, ...) LR_PRINTF(2, 3);
static void agent_warn(agent *a, const char *fmt, ...) {
    if (!a->ao->warn) return;
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->ao->warn(a->ao->warn_user, msg);
}

static void follow_warn(void *user, const char *msg) {
    agent *a = user;
    if (strstr(msg, "cannot") || strstr(msg, "not a regular file")) a->stats->unreadable++;
    if (a->ao->warn) a->ao->warn(a->ao->warn_user, msg);
}

/* New readers for rf->fd at its current position. */
static int rfile_readers(agent *a, rfile *rf, lr_error *err) {
    rf->recs = lr_records_new(rf->fd, &a->rop, err);
    if (!rf->recs) return err ? err->code : LR_ENOMEM;
    rf->evs = lr_events_new(rf->recs, &a->eo, err);
    if (!rf->evs) return err ? err->code : LR_ENOMEM;
    return 0;
}

static void rfile_drop_readers(agent *a, rfile *rf) {
    if (rf->evs) {
        a->malformed += lr_events_malformed(rf->evs);
        a->cut += lr_events_groups_cut(rf->evs);
    }
    lr_events_free(rf->evs);
    lr_records_free(rf->recs);
    rf->evs = NULL;
    rf->recs = NULL;
}

/* Make the reader of an open file: resume from the state when its entry
 * matches (device, inode, first bytes, size), else from the start. */
static rfile *rfile_new_meta(agent *a, int fd, const char *path, const char *meta_path, lr__ffile *ff,
                            lr_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lr__err(err, LR_EIO, "cannot stat '%s': %s", path, strerror(errno));
        return NULL;
    }
    rfile *rf = lr__calloc(1, sizeof *rf);
    if (!rf || !(rf->path = lr__strdup(path))) {
        lr__free(rf);
        lr__err(err, LR_ENOMEM, "out of memory");
        return NULL;
    }
    rf->ff = ff;
    rf->fd = fd;
    rf->dev = (uint64_t)st.st_dev;
    rf->ino = (uint64_t)st.st_ino;
    lr__buf_init(&rf->meta);
    int rc = 0;
    if (a->ao->meta == LR_AGENT_META_FILE) {
        lr__buf_clear(&a->tmp);
        rc = lr__utf8_repair(&a->tmp, path, strlen(path));
        rc = rc ? rc : lr__buf_puts(&rf->meta, "\"file\":");
        rc = rc ? rc : lr__buf_put_json_string(&rf->meta, a->tmp.data ? a->tmp.data : "", a->tmp.len);
    } else if (a->ao->meta == LR_AGENT_META_ALL) {
        rc = lr__k8s_meta_json(path, &rf->meta);
        lr__k8s_meta km;
        /* a rotated file: the Kubernetes names of the path it had */
        if (!rc && meta_path && !lr__k8s_meta_parse(path, &km) && lr__k8s_meta_parse(meta_path, &km)) {
            lr__buf all;
            lr__buf_init(&all);
            rc = lr__k8s_meta_json(meta_path, &all);
            const char *k = all.data ? strstr(all.data, ",\"pod\":") : NULL;
            if (!rc && k) rc = lr__buf_puts(&rf->meta, k);
            lr__buf_free(&all);
        }
    }
    if (rc) lr__err(err, LR_ENOMEM, "out of memory");
    if (!rc && a->use_state) {
        lr__state_entry *e = lr__state_find(&a->st, rf->dev, rf->ino);
        if (e && (uint64_t)st.st_size >= e->offset && lr__state_matches(fd, e) &&
            lseek(fd, (off_t)e->offset, SEEK_SET) == (off_t)e->offset) {
            rf->base = rf->ck_lines = rf->pushed_end = e->lines;
            rf->ck_off = e->offset;
            a->stats->resumed++;
        }
        e = lr__state_get(&a->st, rf->dev, rf->ino, path);
        if (!e) {
            rc = lr__err(err, LR_ENOMEM, "out of memory");
        } else {
            e->used = 1;
            if (strcmp(e->path, path) != 0) {
                char *np = lr__strdup(path);
                if (np) {
                    lr__free(e->path);
                    e->path = np;
                }
            }
            e->lines = rf->ck_lines;
            e->offset = rf->ck_off;
            if (lr__state_fingerprint(fd, &e->fp_len, &e->fp)) e->fp_len = 0, e->fp = 0;
        }
    }
    if (!rc && a->n_files == a->cap_files) {
        int cap = a->cap_files ? a->cap_files * 2 : 16;
        rfile **nf = lr__realloc(a->files, (size_t)cap * sizeof *nf);
        if (!nf) rc = lr__err(err, LR_ENOMEM, "out of memory");
        else {
            a->files = nf;
            a->cap_files = cap;
        }
    }
    if (!rc) rc = rfile_readers(a, rf, err);
    if (rc) {
        rfile_drop_readers(a, rf);
        lr__buf_free(&rf->meta);
        lr__free(rf->path);
        lr__free(rf);
        return NULL;
    }
    a->files[a->n_files++] = rf;
    a->stats->files++;
    return rf;
}

static rfile *rfile_new(agent *a, int fd, const char *path, lr__ffile *ff, lr_error *err) {
    return rfile_new_meta(a, fd, path, NULL, ff, err);
}

static void rfile_free(agent *a, rfile *rf) {
    for (int i = 0; i < a->n_files; i++)
        if (a->files[i] == rf) {
            a->files[i] = a->files[--a->n_files];
            break;
        }
    rfile_drop_readers(a, rf);
    lr__buf_free(&rf->meta);
    lr__free(rf->path);
    lr__free(rf);
}

/* Flush the output, save the template miner (when it has learnt), move
 * every file's checkpoint to its last pushed line, rewrite the state
 * file. Without --state only the output is flushed, and the miner saved
 * when following. */
static int checkpoint(agent *a, lr_error *err) {
    int rc = lr_scorer_flush(a->s, err);
    /* the templates (with --state or --follow; else only at the end) come
     * first: a crash between the two saves replays events the miner
     * already knows, which keeps their ids */
    if (!rc && (a->use_state || a->ro->follow)) rc = lr__score_save_templates(a->s, err);
    if (rc || !a->use_state) return rc;
    int changed = 0;
    for (int i = 0; i < a->n_files; i++) {
        rfile *rf = a->files[i];
        if (rf->pushed_end <= rf->ck_lines) continue;
        uint64_t to = rf->ck_off, got = 0;
        if (lr__state_skip_lines(rf->fd, rf->ck_off, rf->pushed_end - rf->ck_lines, &to, &got))
            return lr__err(err, LR_EIO, "cannot read '%s' again for its checkpoint: %s", rf->path, strerror(errno));
        if (got == 0) continue;
        rf->ck_lines += got;
        rf->ck_off = to;
        lr__state_entry *e = lr__state_get(&a->st, rf->dev, rf->ino, rf->path);
        if (!e) return lr__err(err, LR_ENOMEM, "out of memory");
        e->lines = rf->ck_lines;
        e->offset = rf->ck_off;
        if (e->fp_len < LR__STATE_FP_BYTES) lr__state_fingerprint(rf->fd, &e->fp_len, &e->fp);
        changed = 1;
    }
    return changed ? lr__state_save(&a->st, err) : 0;
}

/* Append ,"key":"value" (value made valid UTF-8) to a->evmeta. */
static int put_meta_member(agent *a, const char *key, const char *val, size_t len) {
    lr__buf_clear(&a->tmp);
    int rc = lr__utf8_repair(&a->tmp, val, len);
    rc = rc ? rc : lr__buf_puts(&a->evmeta, key);
    return rc ? rc : lr__buf_put_json_string(&a->evmeta, a->tmp.data ? a->tmp.data : "", a->tmp.len);
}

/* Push one event of rf with its metadata. With the Kubernetes metadata
 * (enrich), an event also names its "stream" (CRI / Docker), and, unless
 * the record is a JSON object that carries its own members, its "host"
 * and "time"; a JSON record inside CRI or Docker without a time of its own
 * gets its container runtime's. */
static int push_one(agent *a, rfile *rf, lr_event *ev, lr_error *err) {
    ev->line += rf->base;
    ev->line_end += rf->base;
    const char *meta = NULL;
    size_t meta_len = 0;
    if (a->ao->meta != LR_AGENT_META_NONE) {
        lr__buf_clear(&a->evmeta);
        int rc = lr__buf_put(&a->evmeta, rf->meta.data ? rf->meta.data : "", rf->meta.len);
        if (a->ao->meta == LR_AGENT_META_ALL) {
            int runtime_time = ev->wrapper_time_len > 0 && ev->time == ev->wrapper_time;
            if (!rc && ev->time_len > 0 && (!ev->record || runtime_time))
                rc = put_meta_member(a, ",\"time\":", ev->time, ev->time_len);
            if (!rc && ev->host_len > 0 && !ev->record)
                rc = put_meta_member(a, ",\"host\":", ev->host, ev->host_len);
            if (!rc && ev->stream_len > 0)
                rc = put_meta_member(a, ",\"stream\":", ev->stream, ev->stream_len);
        }
        if (rc) return lr__err(err, LR_ENOMEM, "out of memory");
        meta = a->evmeta.data;
        meta_len = a->evmeta.len;
    }
    int before = a->s->n_pending;
    int rc = lr_scorer_push_event_ex(a->s, ev, NULL, 0, meta, meta_len, err);
    if (rc) return rc;
    rf->pushed_end = ev->line_end;
    if (before == 0 && a->s->n_pending > 0) a->oldest = lr__now_s();
    /* follow: a group handed out with no new group open was closed by its
     * timeout (it already waited the interval): score it soon */
    if (a->ro->follow && a->ro->multiline && !lr_events_open_group(rf->evs)) a->oldest -= a->ro->interval;
    if (a->s->n_pending == 0) return checkpoint(a, err); /* a window was written */
    return 0;
}

/* Read up to max events of rf (max < 0: all). Returns 1 when some were
 * read, 0 when none was available, or an error. *ended: end of input. */
static int read_events(agent *a, rfile *rf, int max, int *ended, lr_error *err) {
    int got = 0;
    *ended = 0;
    while (max < 0 || got < max) {
        lr_event ev;
        int rc = lr_events_next(rf->evs, &ev, err);
        if (rc < 0) return rc;
        if (rc == 0) {
            *ended = 1;
            break;
        }
        if (rc == 2) break;
        rc = push_one(a, rf, &ev, err);
        if (rc) return rc;
        got++;
    }
    return got > 0;
}

/* Read what is left of rf as if its input had ended (an unterminated last
 * line too). */
static int drain_file(agent *a, rfile *rf, lr_error *err) {
    lr_records_end_input(rf->recs);
    lr_events_end_group(rf->evs);
    int ended;
    int rc = read_events(a, rf, -1, &ended, err);
    return rc < 0 ? rc : 0;
}

/* -------------------------------------------------------------- one pass */

static int pass_file(void *user, const char *path) {
    agent *a = user;
    if (lr__input_excluded(path, a->ao->exclude, a->ao->n_exclude)) return 0;
    lr_error oe = {0};
    int fd = lr__file_open_regular(path, NULL, &oe);
    if (fd < 0) {
        a->stats->unreadable++;
        agent_warn(a, "%s (skipped)", oe.msg);
        return 0;
    }
    rfile *rf = rfile_new(a, fd, path, NULL, a->err);
    int rc = rf ? 0 : (a->err && a->err->code ? a->err->code : LR_ENOMEM);
    int ended = 0;
    if (!rc) {
        rc = read_events(a, rf, -1, &ended, &oe);
        if (rc == LR_EIO) { /* a read error in this file: report it, go on */
            a->stats->unreadable++;
            agent_warn(a, "'%s': %s (the rest of it skipped)", path, oe.msg);
            rc = 0;
        } else if (rc < 0 && a->err) {
            *a->err = oe;
        }
    }
    if (rc > 0) rc = 0;
    /* the checkpoint of its lines reads the file: before it is closed */
    if (!rc && a->use_state) rc = checkpoint(a, a->err);
    if (rf) rfile_free(a, rf);
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- follow */

static int on_open(void *user, lr__ffile *ff, lr_error *err) {
    agent *a = user;
    rfile *rf = rfile_new(a, ff->fd, ff->path, ff, err);
    if (!rf) return err && err->code ? err->code : LR_ENOMEM;
    ff->user = rf;
    return 0;
}

/* copytruncate: what was read of the old content is scored; reading starts
 * again at 0, line numbers from 1, the checkpoint at 0. */
static int on_truncate(void *user, lr__ffile *ff, lr_error *err) {
    agent *a = user;
    rfile *rf = ff->user;
    agent_warn(a, "'%s' was truncated: reading it again from its start", rf->path);
    int rc = drain_file(a, rf, err);
    if (rc) return rc;
    rf->pushed_end = rf->ck_lines; /* the old lines are gone: nothing to skip */
    rc = checkpoint(a, err);
    if (rc) return rc;
    rfile_drop_readers(a, rf);
    if (lseek(rf->fd, 0, SEEK_SET) != 0) return lr__err(err, LR_EIO, "cannot seek '%s': %s", rf->path, strerror(errno));
    rf->base = rf->pushed_end = rf->ck_lines = rf->ck_off = 0;
    if (a->use_state) {
        lr__state_entry *e = lr__state_get(&a->st, rf->dev, rf->ino, rf->path);
        if (!e) return lr__err(err, LR_ENOMEM, "out of memory");
        e->lines = e->offset = 0;
        if (lr__state_fingerprint(rf->fd, &e->fp_len, &e->fp)) e->fp_len = 0, e->fp = 0;
        rc = lr__state_save(&a->st, err);
        if (rc) return rc;
    }
    return rfile_readers(a, rf, err);
}

/* A drained file (renamed or deleted, not grown for rotate_wait): its last
 * lines are scored and written, its state entry goes. */
static int on_close(void *user, lr__ffile *ff, lr_error *err) {
    agent *a = user;
    rfile *rf = ff->user;
    if (!rf) return 0;
    lr_error re = {0};
    if (drain_file(a, rf, &re) < 0) {
        if (re.code != LR_EIO) {
            if (err) *err = re;
            return re.code;
        }
        agent_warn(a, "'%s': %s", rf->path, re.msg);
    }
    int rc = checkpoint(a, err);
    if (!rc && a->use_state) {
        lr__state_remove(&a->st, rf->dev, rf->ino);
        rc = lr__state_save(&a->st, err);
    }
    rfile_free(a, rf);
    ff->user = NULL;
    return rc;
}

/* A file of the state whose path now names another file (or nothing) may
 * have been rotated while the agent was stopped: look for its device and
 * inode in its directory and, for a symlink (the kubelet's), in its
 * target's directory (where the kubelet rotates 0.log to 0.log.<time>).
 * Found, with the same first bytes, its rest is read to the end and
 * written; then its entry goes (prune_state). Returns 0 or an error. */
/* Whether the inputs name `path` (then it is read, and resumed, as any
 * input is). */
static int is_input(const agent *a, const char *path) {
    for (int i = 0; i < a->n_inputs; i++) {
        const char *in = a->inputs[i];
        switch (lr__input_kind_of(in)) {
        case LR__INPUT_GLOB:
            if (fnmatch(in, path, FNM_PATHNAME) == 0) return 1;
            break;
        case LR__INPUT_DIR: {
            size_t n = strlen(in), pl = strlen(path);
            while (n > 1 && in[n - 1] == '/') n--;
            if (pl > n + 5 && strncmp(path, in, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/') &&
                strcmp(path + pl - 4, ".log") == 0)
                return 1;
            break;
        }
        default:
            if (strcmp(in, path) == 0) return 1;
        }
    }
    return 0;
}

static int recover_one(agent *a, lr__state_entry *e, const char *dir, int *found) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int rc = 0;
    struct dirent *de;
    while (!*found && !rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        if ((uint64_t)de->d_ino != e->ino) continue; /* d_ino is the inode of a plain entry */
        lr__buf p;
        lr__buf_init(&p);
        if (lr__buf_printf(&p, "%s/%s", dir, de->d_name)) {
            rc = lr__err(a->err, LR_ENOMEM, "out of memory");
            break;
        }
        if (is_input(a, p.data)) { /* moved to a name the inputs read: resumed there */
            lr__buf_free(&p);
            continue;
        }
        struct stat st;
        int fd = stat(p.data, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == e->dev ? open(p.data, O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0 && lr__state_matches(fd, e) && (uint64_t)st.st_size >= e->offset) {
            *found = 1;
            agent_warn(a, "'%s' was rotated to '%s' while stopped: reading its rest", e->path, p.data);
            e->used = 1;
            int ended;
            lr_error re = {0};
            char *was = lr__strdup(e->path);
            rfile *rf = was ? rfile_new_meta(a, fd, p.data, was, NULL, a->err) : NULL;
            lr__free(was);
            if (!rf) rc = a->err && a->err->code ? a->err->code : LR_ENOMEM;
            if (!rc) {
                /* to its end now (then an unterminated last line too) */
                int r = read_events(a, rf, -1, &ended, &re);
                if (r >= 0) r = drain_file(a, rf, &re);
                if (r < 0 && r != LR_EIO) {
                    rc = r;
                    if (a->err) *a->err = re;
                } else if (r == LR_EIO) {
                    agent_warn(a, "'%s': %s", p.data, re.msg);
                }
            }
            if (!rc) rc = checkpoint(a, a->err);
            if (rf) {
                lr__state_remove(&a->st, rf->dev, rf->ino);
                rfile_free(a, rf);
            }
        }
        if (fd >= 0) close(fd);
        lr__buf_free(&p);
    }
    closedir(d);
    return rc;
}

static int recover_rotated(agent *a) {
    int rc = 0;
    for (size_t i = 0; i < a->st.n && !rc; i++) {
        lr__state_entry *e = &a->st.e[i];
        struct stat st;
        if (e->used) continue;
        if (stat(e->path, &st) == 0 && (uint64_t)st.st_dev == e->dev && (uint64_t)st.st_ino == e->ino) continue;
        char *copy = lr__strdup(e->path), *target = realpath(e->path, NULL);
        if (!copy) return lr__err(a->err, LR_ENOMEM, "out of memory");
        uint64_t dev = e->dev, ino = e->ino;
        int found = 0;
        char *slash = strrchr(copy, '/');
        if (slash) *slash = '\0';
        rc = recover_one(a, e, slash ? (slash == copy ? "/" : copy) : ".", &found);
        if (!rc && !found && target) {
            /* e may have moved if the state grew: find it again */
            lr__state_entry *again = lr__state_find(&a->st, dev, ino);
            char *ts = strrchr(target, '/');
            if (again && ts) {
                *ts = '\0';
                rc = recover_one(a, again, ts == target ? "/" : target, &found);
            }
        }
        free(target);
        lr__free(copy);
        if (found) i = (size_t)-1; /* entries moved: start over (used ones are skipped) */
    }
    return rc;
}

/* Entries of files that are no longer where the state saw them (and were
 * not opened in this run) are dropped. */
static void prune_state(agent *a) {
    for (size_t i = 0; i < a->st.n; i++) {
        lr__state_entry *e = &a->st.e[i];
        struct stat st;
        if (e->used) continue;
        if (stat(e->path, &st) == 0 && (uint64_t)st.st_dev == e->dev && (uint64_t)st.st_ino == e->ino) continue;
        lr__state_remove(&a->st, e->dev, e->ino);
        i--;
    }
}

static int follow_loop(agent *a, const char *const *inputs, int n, lr_error *err) {
    const lr_score_run_opts *ro = a->ro;
    lr__follow_opts fo;
    lr__follow_opts_init(&fo);
    fo.poll = a->ao->poll;
    fo.rotate_wait = a->ao->rotate_wait;
    fo.max_open = a->ao->max_open;
    fo.exclude = a->ao->exclude;
    fo.n_exclude = a->ao->n_exclude;
    fo.warn = follow_warn;
    fo.on_open = on_open;
    fo.on_truncate = on_truncate;
    fo.on_close = on_close;
    fo.user = a;
    a->fl = lr__follow_new(inputs, n, &fo, err);
    if (!a->fl) return err && err->code ? err->code : LR_ENOMEM;
    /* the rest of files rotated while stopped comes first */
    int rc = a->use_state ? recover_rotated(a) : 0;
    if (!rc) rc = lr__follow_scan(a->fl, err);
    if (!rc && a->use_state) prune_state(a);
    while (!rc) {
        if (ro->stop && *ro->stop) break;
        int progress = 0, groups = 0;
        double now = lr__now_s();
        for (int i = 0; i < lr__follow_count(a->fl) && !rc; i++) {
            lr__ffile *ff = lr__follow_file(a->fl, i);
            rfile *rf = ff->user;
            if (!rf) continue;
            /* the file that had this path before is read to its end first */
            rfile *prev = ff->after ? ff->after->user : NULL;
            int wait_prev = ff->after && (!ff->after->eof || (prev && prev->evs && lr_events_open_group(prev->evs)));
            if (ff->ready && !wait_prev) {
                int ended;
                lr_error re = {0};
                int r = read_events(a, rf, ROUND_EVENTS, &ended, &re);
                if (r == 0 && ff->draining && lr_events_open_group(rf->evs)) {
                    /* a drained file's last group is complete: no line follows */
                    lr_events_end_group(rf->evs);
                    r = read_events(a, rf, ROUND_EVENTS, &ended, &re);
                }
                if (r == LR_EIO) { /* this file only: report it, stop reading it */
                    agent_warn(a, "'%s': %s (no longer read)", rf->path, re.msg);
                    a->stats->unreadable++;
                    ff->draining = 1;
                    r = 0;
                } else if (r < 0) {
                    if (err) *err = re;
                    rc = r;
                    break;
                }
                if (r > 0) {
                    progress = 1;
                    ff->eof = 0;
                } else {
                    ff->ready = 0;
                    if (!ff->eof) {
                        ff->eof = 1;
                        ff->eof_since = now;
                    }
                }
            }
            if (rf->evs && lr_events_open_group(rf->evs)) groups = 1;
        }
        if (!rc) rc = lr__follow_reap(a->fl, err);
        if (!rc && a->s->n_pending > 0 && lr__now_s() - a->oldest >= ro->interval) rc = checkpoint(a, err);
        if (rc || progress) continue;
        /* wait: for input, the queued events' deadline, an open group's
         * timeout, a drained file's rotate_wait, or (with a stop flag) 250 ms */
        double t = -1;
        now = lr__now_s();
        if (a->s->n_pending > 0) t = LR_MAX(0.0, ro->interval - (now - a->oldest));
        if (groups) t = t < 0 ? ro->interval / 4 : LR_MIN(t, ro->interval / 4);
        for (int i = 0; i < lr__follow_count(a->fl); i++) {
            lr__ffile *ff = lr__follow_file(a->fl, i);
            if (ff->draining && ff->eof) {
                double left = LR_MAX(0.0, a->ao->rotate_wait - (now - ff->eof_since));
                t = t < 0 ? left : LR_MIN(t, left);
            }
        }
        if (ro->stop) t = t < 0 ? 0.25 : LR_MIN(t, 0.25);
        rc = lr__follow_wait(a->fl, t < 0 ? -1 : (int)(t * 1000.0) + 1, err);
        for (int i = 0; i < lr__follow_count(a->fl); i++) { /* open groups look at their timeout */
            lr__ffile *ff = lr__follow_file(a->fl, i);
            rfile *rf = ff->user;
            if (rf && rf->evs && lr_events_open_group(rf->evs)) ff->ready = 1;
        }
    }
    /* the end (a stop, or an error): what was read is scored and written */
    int first = rc;
    for (int i = 0; i < a->n_files; i++) {
        lr_error de = {0};
        int r = drain_file(a, a->files[i], &de);
        if (r < 0 && !first) {
            first = r;
            if (err) *err = de;
        }
    }
    lr_error ce = {0};
    int r = checkpoint(a, first ? &ce : err);
    if (!first) first = r;
    while (a->n_files > 0) rfile_free(a, a->files[a->n_files - 1]);
    lr__follow_free(a->fl);
    a->fl = NULL;
    return first;
}

int lr_scorer_run_inputs(lr_scorer *s, const char *const *inputs, int n_inputs, const lr_records_opts *rop,
                         FILE *out, const lr_score_run_opts *ro, const lr_agent_opts *ao, lr_agent_stats *stats,
                         lr_error *err) {
    lr_score_run_opts ro_def;
    lr_agent_opts ao_def;
    lr_agent_stats st_def;
    if (!ro) {
        lr_score_run_opts_init(&ro_def);
        ro = &ro_def;
    }
    if (!ao) {
        lr_agent_opts_init(&ao_def);
        ao = &ao_def;
    }
    if (!stats) stats = &st_def;
    memset(stats, 0, sizeof *stats);
    agent a;
    memset(&a, 0, sizeof a);
    a.s = s;
    a.ro = ro;
    a.ao = ao;
    a.stats = stats;
    a.err = err;
    a.inputs = inputs;
    a.n_inputs = n_inputs;
    if (rop) a.rop = *rop;
    else lr_records_opts_init(&a.rop);
    a.rop.follow = ro->follow;
    if (!a.rop.max_bytes) a.rop.max_bytes = s->max_line_bytes;
    lr_events_opts_init(&a.eo);
    a.eo.multiline = ro->multiline;
    a.eo.group_timeout = ro->interval;
    a.eo.field = ro->field;
    lr__buf_init(&a.evmeta);
    lr__buf_init(&a.tmp);
    lr_scorer_set_output(s, out);
    int rc = 0;
    if (ao->state_path) {
        rc = lr__state_load(&a.st, ao->state_path, err);
        a.use_state = 1;
    }
    if (!rc && ro->follow) {
        rc = follow_loop(&a, inputs, n_inputs, err);
    } else if (!rc) {
        if (a.use_state) rc = recover_rotated(&a);
        for (int i = 0; i < n_inputs && !rc; i++) {
            if (ro->stop && *ro->stop) break;
            lr_error ie = {0};
            rc = lr__input_expand(inputs[i], pass_file, &a, &ie);
            if (rc == LR_EIO && ie.msg[0]) { /* a directory that cannot be read */
                stats->unreadable++;
                agent_warn(&a, "%s (skipped)", ie.msg);
                rc = 0;
            } else if (rc && ie.msg[0] && err) {
                *err = ie;
            }
        }
        if (!rc) rc = lr_scorer_flush(s, err);
        if (!rc) rc = lr__score_save_templates(s, err);
        if (!rc && a.use_state) {
            prune_state(&a);
            rc = lr__state_save(&a.st, err);
        }
    }
    s->stat_malformed = a.malformed;
    s->stat_cut = a.cut;
    lr__state_free(&a.st);
    lr__buf_free(&a.evmeta);
    lr__buf_free(&a.tmp);
    lr__free(a.files);
    return rc;
}
