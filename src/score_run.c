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
    return lr_scorer_flush(s, err);
}
