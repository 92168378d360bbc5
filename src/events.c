/*
 * events.c — the events reader: records (records.c) in, canonical events
 * (event.c) out, with multi-line grouping. Every command that reads logs
 * reads them through here (docs/events.md).
 *
 * Design
 *  - Each record's payload is parsed into an event: raw and csv input as
 *    plain text (no parsing: the seed behaviour), auto / cri / docker by
 *    detection, jsonl objects as JSON, and logfmt / klog / syslog / log4j as
 *    asked (a line that is not of the format is plain text, malformed).
 *  - Grouping (not for raw or csv input, and off with multiline = 0): a
 *    record that continues the open group is appended to its error detail
 *    ('\n' between lines) instead of starting an event:
 *      an indented line (space or tab: "\tat ...", "  File ...", YAML);
 *      "Caused by: " and "Suppressed: ";
 *      a Java exception line (dotted.Name ending in Exception, Error or
 *      Throwable, optionally ": message") after any line;
 *      "Traceback (most recent call last):", then in a Python traceback its
 *      final "Name: message" line and the chaining sentences;
 *      Go goroutine headers and argument-less function names (zap, klog
 *      stacks) after any line, and in a Go trace (opened by "panic: ",
 *      "fatal error: ", "SIGxxx: " or "goroutine N [") function lines
 *      "pkg.f(...)", "created by ", "[signal ", "PC=", registers, "exit
 *      status ";
 *      klog's Trace[N]: steps;
 *      PostgreSQL's DETAIL: / HINT: / CONTEXT: / STATEMENT: lines after a
 *      line with "ERROR: ", "FATAL: ", "PANIC: " or "WARNING: ", also
 *      behind the same log_line_prefix (pg_prefix);
 *      the body of an Erlang "=INFO REPORT==== ... ===" up to an empty line;
 *      in a kernel report (opened by an oops, BUG:, a panic, a general
 *      protection fault, a hung task, an RCU stall, WARNING: CPU:, the OOM
 *      killer, "cut here"): Call Trace, frames, registers, hex dumps, task
 *      lines, Code:, end markers (kern_continues); "Call Trace:", "CPU: N
 *      PID:", "Hardware name:", "Modules linked in:" and "---[ end trace"
 *      after any line;
 *      in a Go, Python or kernel trace, empty lines.
 *    Lines with a stream prefix (a syslog header, a docker-compose
 *    "name | " or another multiplexer's prefix, a kernel stamp
 *    "[  467.167731] " or "[Sat Jan  4 14:33:55 2020] ", also after a
 *    syslog header) are judged by the text after it, and only within the
 *    same stream (host and program; the multiplexer's name).
 *    Anything else (a record header, a plain line) closes the group and
 *    starts the next one, so every line is in exactly one event. A JSON
 *    record never continues a group.
 *  - One record of lookahead: the group is handed out when the next record
 *    does not continue it, at end of input, or (follow) when no
 *    continuation came for group_timeout seconds. Two event slots: the one
 *    handed out stays valid while the next group is being read.
 *  - Metadata: the event's host is the parsed record's (event.c); its
 *    stream and wrapper time are the record's (CRI or Docker, records.c),
 *    kept per slot in a fixed buffer; the wrapper's time is the event's
 *    time when the inner record has none.
 *  - Caps: a group is closed at max_group_lines records or max_group_bytes
 *    of text; the next continuation line starts a new group (same trace
 *    state), the event is flagged truncated and the cut counted. Memory is
 *    bounded by the cap plus the longest record.
 */
#include <string.h>

#include "event.h"
#include "records.h"

typedef struct gmeta {
    uint64_t line, line_end;
    int n, trunc, bad;
    lr_rec_format wrapper;
    lr__buf rec;            /* a JSON record's object text (lr_event.record) */
    int has_rec;
    char wmeta[2 * LR_EVENT_META_MAX]; /* the wrapper's stream, then its time */
    size_t w_sn, w_tn;
} gmeta;

struct lr_events {
    lr_records *recs;     /* borrowed */
    lr_events_opts o;
    char *field;
    lr_rec_format in_fmt; /* the records' format */
    int grouping;
    lr__ev slot[2];
    gmeta meta[2];
    int cur;              /* slot being built */
    int open;             /* slot[cur] holds an open group */
    int go, py, kern;     /* trace state of the open group (kern 2: right
                             after a "cut here" line)                   */
    int erl;              /* in an Erlang "=INFO REPORT==== ... ===" report */
    int pg;               /* the group holds a PostgreSQL "ERROR:" message */
    char pg_key[64];      /* the pid of its log_line_prefix ("[27] ") */
    size_t pg_key_len;    /* 0: the message had no such prefix */
    char key[128];        /* the open group's stream: a line prefix's key */
    size_t key_len;
    int end_group;        /* hand the open group out without reading */
    double last;          /* when the open group last grew */
    uint64_t cut, malformed;
};

void lr_events_opts_init(lr_events_opts *o) {
    memset(o, 0, sizeof *o);
    o->multiline = 1;
    o->max_group_lines = 256;
    o->max_group_bytes = (size_t)64 * 1024;
    o->group_timeout = 1.0;
}

/* Create an events reader on `recs` (borrowed). opts may be NULL. */
lr_events *lr_events_new(lr_records *recs, const lr_events_opts *opts, lr_error *err) {
    lr_events_opts def;
    if (!opts) {
        lr_events_opts_init(&def);
        opts = &def;
    }
    if (!recs || opts->max_group_lines < 1 || opts->max_group_bytes < 1 || !(opts->group_timeout >= 0)) {
        lr__err(err, LR_EINVAL, "bad events reader options");
        return NULL;
    }
    lr_events *e = lr__calloc(1, sizeof *e);
    if (!e || (opts->field && !(e->field = lr__strdup(opts->field)))) {
        lr__free(e);
        lr__err(err, LR_ENOMEM, "out of memory for an events reader");
        return NULL;
    }
    e->recs = recs;
    e->o = *opts;
    e->o.field = e->field;
    e->in_fmt = lr__records_requested(recs);
    e->grouping = opts->multiline && e->in_fmt != LR_REC_RAW && e->in_fmt != LR_REC_CSV;
    lr__ev_init(&e->slot[0]);
    lr__ev_init(&e->slot[1]);
    return e;
}

void lr_events_free(lr_events *e) {
    if (!e) return;
    lr__ev_free(&e->slot[0]);
    lr__ev_free(&e->slot[1]);
    lr__buf_free(&e->meta[0].rec);
    lr__buf_free(&e->meta[1].rec);
    lr__free(e->field);
    lr__free(e);
}

int lr_events_open_group(const lr_events *e) { return e->open; }
void lr_events_end_group(lr_events *e) { e->end_group = e->open; }
uint64_t lr_events_groups_cut(const lr_events *e) { return e->cut; }
uint64_t lr_events_malformed(const lr_events *e) { return e->malformed + lr_records_malformed(e->recs); }

/* ------------------------------------------------------------ patterns */

static int starts(const char *p, size_t n, const char *s) {
    size_t k = strlen(s);
    return n >= k && memcmp(p, s, k) == 0;
}

static int ident_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* "goroutine N [" */
static int go_goroutine(const char *p, size_t n) {
    if (!starts(p, n, "goroutine ")) return 0;
    size_t i = 10, d = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    return i > d && i + 1 < n && p[i] == ' ' && p[i + 1] == '[';
}

/* A name (dotted when `dots` > 0 are required) then end or ": ...". With
 * java set, its last segment must name an Exception, Error or Throwable. */
static int exception_line(const char *p, size_t n, int java) {
    size_t i = 0, seg = 0;
    int n_dots = 0;
    if (n == 0 || !(ident_char((unsigned char)p[0]) && !(p[0] >= '0' && p[0] <= '9'))) return 0;
    while (i < n && (ident_char((unsigned char)p[i]) || p[i] == '.')) {
        if (p[i] == '.') {
            n_dots++;
            seg = i + 1;
        }
        i++;
    }
    if (i < n && !(p[i] == ':' && (i + 1 == n || p[i + 1] == ' '))) return 0;
    if (!java) return 1;
    if (n_dots == 0) return 0;
    const char *last = p + seg;
    size_t ln = i - seg;
    for (size_t k = 0; k + 5 <= ln; k++)
        if (memcmp(last + k, "Error", 5) == 0 || (k + 9 <= ln && memcmp(last + k, "Exception", 9) == 0) ||
            (k + 9 <= ln && memcmp(last + k, "Throwable", 9) == 0))
            return 1;
    return 0;
}

/* "pkg.f(...)" of a Go trace: no space before the first '(' and a ')' at
 * the end. */
static int go_frame(const char *p, size_t n) {
    if (n < 3 || p[n - 1] != ')' || !ident_char((unsigned char)p[0])) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '(') return i > 0;
        if (p[i] == ' ') return 0;
    }
    return 0;
}

/* A Go signal line of a crash: "SIGSEGV: segmentation violation". */
static int go_signal(const char *p, size_t n) {
    size_t i = 3;
    if (!starts(p, n, "SIG")) return 0;
    while (i < n && p[i] >= 'A' && p[i] <= 'Z') i++;
    return i > 3 && i + 1 < n && p[i] == ':' && p[i + 1] == ' ';
}

/* A function line of a Go stack without its arguments, as zap and klog
 * print them ("k8s.io/client-go/tools/cache.(*Reflector).Run",
 * "main.main"): one token with a '.', and a '/' or '(' or a main. /
 * runtime. start. */
static int go_func_name(const char *p, size_t n) {
    if (n < 6 || !ident_char((unsigned char)p[0]) || p[n - 1] == '.') return 0;
    int dot = 0, slash_or_paren = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (!(ident_char(c) || c == '.' || c == '/' || c == '*' || c == '(' || c == ')' || c == '-' || c == '@'))
            return 0;
        dot |= c == '.';
        slash_or_paren |= c == '/' || c == '(';
    }
    return dot && (slash_or_paren || starts(p, n, "main.") || starts(p, n, "runtime."));
}

/* ------------------------------------------------------------ kernel */

static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int contains(const char *p, size_t n, const char *s) { return memmem(p, n, s, strlen(s)) != NULL; }

/* "CPU: 3 PID: 10612 Comm: ..." or "CPU: 1 UID: 0 PID: ..." */
static int kern_cpu_line(const char *p, size_t n) {
    size_t i = 5;
    if (!starts(p, n, "CPU: ")) return 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    return i > 5 && (starts(p + i, n - i, " PID: ") || starts(p + i, n - i, " UID: "));
}

/* The first line of a kernel report: an oops, a BUG, a panic, a general
 * protection fault, a hung task, an RCU stall, a WARNING, the OOM killer. */
static int kern_opener(const char *p, size_t n) {
    static const char *const heads[] = {
        "BUG: ", "watchdog: BUG: ", "Oops: ", "Oops - ", "Internal error: Oops", "general protection fault",
        "Kernel panic - not syncing", "Unable to handle kernel ", "kernel BUG at ", "INFO: task ", "INFO: rcu_",
        "rcu: INFO: rcu_", "WARNING: CPU: ", "------------[ cut here ]------------", "divide error: ",
        "invalid opcode: ", "stack segment: ", "double fault: ", "NMI watchdog: ", "Call Trace:", "Call trace:",
        "sysrq: Show Blocked State", "Sending NMI from CPU", "---[ end trace ", "Uhhuh. NMI received",
        "mce: [Hardware Error]: ", NULL};
    for (int k = 0; heads[k]; k++)
        if (starts(p, n, heads[k])) return 1;
    if (starts(p, n, "task ") && n < 256 && contains(p, n, " pid father")) return 1; /* SysRq's task table */
    return kern_cpu_line(p, n) || (n < 256 && contains(p, n, " invoked oom-killer: "));
}

static int kern_frame(const char *p, size_t n);

/* A register line: "RAX: 0000...", "R10: ...", "FS:  0000...", "pc : [<...>]",
 * "x29: ffff...", "CR2: ...": a short name, an optional blank, ':', blanks,
 * then a hex digit or "[<". */
static int kern_register(const char *p, size_t n) {
    size_t i = 0;
    if (n < 6 || !((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))) return 0;
    while (i < n && i < 4 && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
        i++;
    if (i < n && p[i] == ' ') i++;
    if (i >= n || p[i] != ':') return 0;
    i++;
    size_t b = i;
    while (i < n && p[i] == ' ') i++;
    return i > b && i < n && (is_hex((unsigned char)p[i]) || kern_frame(p + i, n - i));
}

/* A frame: "[<ffffffff8168c889>] f+0x29/0x70", "? f+0x1e/0x22", "f+0x1e/0x22 [mod]". */
static int kern_frame(const char *p, size_t n) {
    if (starts(p, n, "[<")) return 1;
    if (n > 10 && p[0] == '[') { /* powerpc: "[c0000001fb2cb3c0] [c000000000d3fc18] f+0x..." */
        size_t i = 1;
        while (i < n && is_hex((unsigned char)p[i])) i++;
        if (i >= 9 && i < n && p[i] == ']') return 1;
    }
    if (starts(p, n, "? ")) p += 2, n -= 2;
    size_t i = 0;
    while (i < n && (ident_char((unsigned char)p[i]) || p[i] == '.')) i++;
    return i > 0 && starts(p + i, n - i, "+0x");
}

/* Words of hex only (a stack dump: "ffff882fd0627c70 0000000000000086 ..."). */
static int kern_hex_words(const char *p, size_t n) {
    size_t i = 0, words = 0;
    while (i < n) {
        size_t w = i;
        while (i < n && is_hex((unsigned char)p[i])) i++;
        if (i - w < 8 || (i < n && p[i] != ' ')) return 0;
        words++;
        while (i < n && p[i] == ' ') i++;
    }
    return words >= 2;
}

/* A task's state line of a hung-task or SysRq dump, ending in its flags:
 * "kworker/u4:6    D    0   293      2 0x80004000". */
static int kern_task_line(const char *p, size_t n) {
    if (n < 16 || p[n - 11] != ' ' || p[n - 10] != '0' || p[n - 9] != 'x') return 0;
    for (size_t i = n - 8; i < n; i++)
        if (!is_hex((unsigned char)p[i])) return 0;
    return 1;
}

/* Whether p continues an open kernel report. */
static int kern_continues(const char *p, size_t n) {
    static const char *const heads[] = {
        "Kernel panic - not syncing", "---[ end ", "Kernel Offset: ", "Oops: ", "Oops - ", "Internal error: ", "IP: ",
        "PGD ", "PUD ", "P4D ", "PMD ", "pgd = ", "EIP: ", "EIP is at ", "PC is at ", "LR is at ", "Code: ",
        "Workqueue: ", "task: ", "Stack:", "Backtrace:", "Exception stack", "Mem-Info:", "note: ",
        "Sending NMI from CPU", "NMI backtrace for cpu", "Task dump for CPU", "rcu: ", "irq event stamp:",
        "hardirqs last", "softirqs last", "Fixing recursive fault", "<TASK>", "</TASK>", "<IRQ>", "</IRQ>", "<EOI>",
        "<NMI>", "</NMI>", "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"", "task:", "Showing busy workqueues",
        "CR2: ", "Call Trace:", "Call trace:", "Modules linked in:", "Hardware name: ", "RIP: ", "INFO: lockdep", "#PF: ",
        "Tainted: ", "Shutting down cpus with NMI", "SMP: stopping secondary CPUs", "WARNING: CPU: ", "kernel BUG at ",
        "---[ cut here ]", "Rebooting in ", "SMP: ", "mce: [Hardware Error]: ", "Do you have a strange power saving mode",
        NULL};
    for (int k = 0; heads[k]; k++)
        if (starts(p, n, heads[k])) return 1;
    if (n && p[0] == '[' && n < 256 && contains(p, n, "] *pgd=")) return 1; /* "[0000000c] *pgd=..." */
    if (starts(p, n, "Process ") && n < 256 && contains(p, n, " (pid: ")) return 1; /* ARM: "Process x (pid: 1, ..." */
    if (starts(p, n, "CPU")) { /* "CPU3: stopping" */
        size_t i = 3;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        if (i > 3 && starts(p + i, n - i, ": stopping")) return 1;
    }
    return kern_cpu_line(p, n) || kern_register(p, n) || kern_frame(p, n) || kern_hex_words(p, n) ||
           kern_task_line(p, n);
}

/* Set the trace state from a line that starts or joins a group. */
static void note_trace(lr_events *e, const char *p, size_t n) {
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    if (starts(p, n, "------------[ cut here ]------------")) {
        e->kern = 2; /* the next line is the warning or BUG it announces */
        return;
    }
    if (starts(p, n, "ERROR: ") || starts(p, n, "FATAL: ") || starts(p, n, "PANIC: ") || starts(p, n, "WARNING: ") ||
        (n < 4096 && (contains(p, n, " ERROR: ") || contains(p, n, " FATAL: "))))
        e->pg = 1;
    if (n > 1 && p[0] == '=' && n < 128 && contains(p, n, " REPORT==== ") && p[n - 1] == '=') e->erl = 1;
    if (starts(p, n, "panic: ") || starts(p, n, "fatal error: ") || go_goroutine(p, n) || go_signal(p, n)) e->go = 1;
    if (starts(p, n, "Traceback (most recent call last):")) e->py = 1;
    if (kern_opener(p, n)) e->kern = 1;
}

/* The per-line prefix of a stream: a syslog header (its key: host and
 * program) or a multiplexer's prefix, docker compose's "name  | " and the
 * like (its key: the name). Returns where the rest starts and sets the key
 * ("" when the line has none). */
static size_t line_prefix(const char *p, size_t n, const char **key, size_t *kn) {
    size_t t0, tn, i = lr__ev_syslog_prefix(p, n, key, kn);
    if (i == 0) i = lr__ev_mux_prefix(p, n, key, kn, &t0, &tn);
    /* a kernel stamp (dmesg, dmesg -T), alone or after a syslog header */
    i += lr__ev_kernel_stamp(p + i, n - i);
    return i;
}

/* A PostgreSQL log_line_prefix with a time ('%m [%p] ', '%m [%p] %q%u@%d ',
 * '%t [%p]: [%l-1] user=%u,db=%d '): a leading time, then "[pid]" or "[n-n]"
 * fields and at most two "user@db" or "user=…" words, then an upper-case
 * severity and ':' (ERROR:, DETAIL:, …). Returns where the severity starts,
 * or 0; *key, *kn: the first field, the backend's pid. */
static size_t pg_prefix(const char *p, size_t n, const char **key, size_t *kn) {
    size_t t0, tn, i = lr__ev_lead_time(p, n, &t0, &tn);
    if (!i) return 0;
    int fields = 0, users = 0;
    for (;;) {
        size_t j = i;
        if (j < n && p[j] == '[') {
            size_t d = ++j;
            while (j < n && ((p[j] >= '0' && p[j] <= '9') || (p[j] == '-' && j > d))) j++;
            if (j == d || j >= n || p[j] != ']') return 0;
            if (!fields) *key = p + d, *kn = j - d; /* the pid */
            j++;
            if (j < n && p[j] == ':') j++;
            fields++;
        } else if (fields && users < 2) { /* "%u@%d", "user=%u,db=%d" */
            int named = 0;
            while (j < n && j - i < 64 && p[j] != ' ') named |= p[j] == '@' || p[j] == '=', j++;
            if (!named) break;
            users++;
        } else {
            break;
        }
        if (j >= n || p[j] != ' ') return 0;
        while (j < n && p[j] == ' ') j++;
        i = j;
    }
    size_t w = i;
    while (w < n && ((p[w] >= 'A' && p[w] <= 'Z') || (p[w] >= '0' && p[w] <= '9'))) w++;
    if (!fields || w - i < 3 || w >= n || p[w] != ':' || *kn > 64) return 0;
    return i;
}

/* Whether payload p continues the open group (and update the state). */
static int continues(lr_events *e, const char *p, size_t n) {
    int blank = 1;
    for (size_t i = 0; i < n && blank; i++) blank = p[i] == ' ' || p[i] == '\t';
    if (blank) return e->go || e->py || e->kern;
    if (p[0] == ' ' || p[0] == '\t') return 1;
    if (e->kern == 2) {
        e->kern = 1;
        return 1;
    }
    if (e->erl) return !(p[0] == '=' && contains(p, n, " REPORT==== ")); /* the report's body */
    /* kernel report lines that only ever follow a report's first lines */
    if (starts(p, n, "Call Trace:") || starts(p, n, "Modules linked in:") || starts(p, n, "Hardware name: ") ||
        starts(p, n, "---[ end trace ") || starts(p, n, "---[ end Kernel panic") || kern_cpu_line(p, n)) {
        e->kern = 1;
        return 1;
    }
    if (e->kern && kern_continues(p, n)) return 1;
    /* PostgreSQL's detail lines of an ERROR: / FATAL: message */
    if (e->pg && (starts(p, n, "DETAIL: ") || starts(p, n, "HINT: ") || starts(p, n, "CONTEXT: ") ||
                  starts(p, n, "STATEMENT: ")))
        return 1;
    if (starts(p, n, "Caused by: ") || starts(p, n, "Suppressed: ")) return 1;
    if (starts(p, n, "Traceback (most recent call last):")) {
        e->py = 1;
        return 1;
    }
    if (e->py && (starts(p, n, "During handling of the above exception") ||
                  starts(p, n, "The above exception was the direct cause")))
        return 1;
    if (e->py == 1 && exception_line(p, n, 0)) {
        e->py = 2;
        return 1;
    }
    if (exception_line(p, n, 1)) return 1;
    if (go_goroutine(p, n) || go_func_name(p, n)) {
        e->go = 1;
        return 1;
    }
    if (starts(p, n, "Trace[")) { /* klog's utiltrace steps */
        size_t i = 6;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        if (i > 6 && i + 1 < n && p[i] == ']' && p[i + 1] == ':') return 1;
    }
    if (e->go && (starts(p, n, "created by ") || starts(p, n, "[signal ") || starts(p, n, "exit status ") ||
                  starts(p, n, "panic: ") || starts(p, n, "fatal error: ") || starts(p, n, "PC=") ||
                  starts(p, n, "...additional frames elided...") || go_frame(p, n)))
        return 1;
    if (e->go && n > 4 && p[0] == 'r' && memmem(p, n, " 0x", 3)) return 1; /* registers */
    return 0;
}

/* ------------------------------------------------------------ groups */

/* How the payload of `rec` is parsed. */
static lr_rec_format parse_format(const lr_events *e, const lr_record *rec) {
    if (rec->kind == LR_REC_JSONL) return LR_REC_JSONL;
    if (rec->malformed) return LR_REC_RAW;
    switch (e->in_fmt) {
    case LR_REC_RAW:
    case LR_REC_CSV: return LR_REC_RAW;
    case LR_REC_AUTO:
    case LR_REC_CRI:
    case LR_REC_DOCKER:
    case LR_REC_JSONL: return LR_REC_AUTO;
    default: return e->in_fmt;
    }
}

/* Start a group in slot[cur] from `rec`. keep_trace: a capped group goes
 * on in the same trace. */
static int start(lr_events *e, const lr_record *rec, int keep_trace) {
    lr__ev *ev = &e->slot[e->cur];
    gmeta *m = &e->meta[e->cur];
    lr_rec_format f = parse_format(e, rec);
    int rc = lr__ev_parse(ev, rec->payload, rec->payload_len, f, e->field);
    if (rc < 0) return rc;
    m->line = rec->line;
    m->line_end = rec->line_end;
    m->n = 1;
    m->trunc = rec->truncated;
    m->bad = rec->malformed || rc == 0;
    if (rc == 0) e->malformed++;
    /* a JSON record keeps its object text for the enriched output */
    lr__buf_clear(&m->rec);
    m->has_rec = rc == 1 && ev->format == LR_REC_JSONL && rec->payload_len > 0 && rec->payload[0] == '{';
    if (m->has_rec && lr__buf_put(&m->rec, rec->payload, rec->payload_len)) return LR_ENOMEM;
    m->wrapper = rec->kind == LR_REC_CRI || rec->kind == LR_REC_DOCKER || rec->kind == LR_REC_CSV ? rec->kind
                                                                                                   : LR_REC_RAW;
    /* the wrapper's stream and time (records.c cuts them at the cap) */
    m->w_sn = rec->stream ? LR_MIN(rec->stream_len, (size_t)LR_EVENT_META_MAX) : 0;
    m->w_tn = rec->time ? LR_MIN(rec->time_len, (size_t)LR_EVENT_META_MAX) : 0;
    if (m->w_sn) memcpy(m->wmeta, rec->stream, m->w_sn);
    if (m->w_tn) memcpy(m->wmeta + m->w_sn, rec->time, m->w_tn);
    if (!keep_trace) e->go = e->py = e->kern = e->erl = e->pg = 0;
    const char *key;
    size_t kn, rest = line_prefix(rec->payload, rec->payload_len, &key, &kn);
    e->key_len = LR_MIN(kn, sizeof e->key);
    memcpy(e->key, key, e->key_len);
    lr_event v;
    lr__ev_view(ev, &v);
    note_trace(e, v.message, v.message_len);
    note_trace(e, rec->payload + rest, rec->payload_len - rest);
    /* DETAIL:, HINT:, … of this message carry the same log_line_prefix */
    const char *pk;
    e->pg_key_len = 0;
    if (e->pg && pg_prefix(rec->payload + rest, rec->payload_len - rest, &pk, &e->pg_key_len))
        memcpy(e->pg_key, pk, e->pg_key_len);
    e->open = 1;
    e->last = lr__now_s();
    return 0;
}

/* Append a continuation (text: the record without its stream prefix) to
 * the open group. */
static int append(lr_events *e, const lr_record *rec, const char *text, size_t n) {
    lr__ev *ev = &e->slot[e->cur];
    gmeta *m = &e->meta[e->cur];
    if (n) {
        if (ev->arena.len > ev->e_off && lr__buf_putc(&ev->arena, '\n')) return LR_ENOMEM;
        if (lr__buf_put(&ev->arena, text, n)) return LR_ENOMEM;
    }
    m->line_end = rec->line_end;
    m->n++;
    m->trunc |= rec->truncated;
    m->bad |= rec->malformed;
    note_trace(e, text, n);
    e->last = lr__now_s();
    return 0;
}

/* Hand out the open group: slot[cur] becomes the output slot. */
static int emit(lr_events *e, lr_event *out) {
    int s = e->cur;
    lr__ev_view(&e->slot[s], out);
    out->wrapper = e->meta[s].wrapper;
    out->line = e->meta[s].line;
    out->line_end = e->meta[s].line_end;
    out->n_records = e->meta[s].n;
    out->truncated = e->meta[s].trunc;
    out->malformed = e->meta[s].bad;
    out->as_is = e->in_fmt == LR_REC_RAW || e->in_fmt == LR_REC_CSV;
    out->record = e->meta[s].has_rec ? e->meta[s].rec.data : NULL;
    out->record_len = e->meta[s].has_rec ? e->meta[s].rec.len : 0;
    const gmeta *m = &e->meta[s];
    out->stream = m->wmeta;
    out->stream_len = m->w_sn;
    out->wrapper_time = m->wmeta + m->w_sn;
    out->wrapper_time_len = m->w_tn;
    if (!out->time_len && m->w_tn) { /* the inner record has no time: the wrapper's */
        out->time = out->wrapper_time;
        out->time_len = m->w_tn;
    }
    e->cur = 1 - s;
    e->open = 0;
    return 1;
}

int lr_events_next(lr_events *e, lr_event *ev, lr_error *err) {
    if (e->end_group) {
        e->end_group = 0;
        if (e->open) return emit(e, ev);
    }
    for (;;) {
        lr_record rec;
        int rc = lr_records_next(e->recs, &rec, err);
        if (rc < 0) return rc;
        if (rc == 0) return e->open ? emit(e, ev) : 0;
        if (rc == 2) {
            if (e->open && lr__now_s() - e->last >= e->o.group_timeout) return emit(e, ev);
            return 2;
        }
        int cont = 0;
        const char *text = rec.payload;
        size_t n = rec.payload_len;
        if (e->grouping && e->open && rec.kind != LR_REC_JSONL) {
            /* a line of the same stream (same prefix key) whose rest continues */
            const char *key;
            size_t kn, rest = line_prefix(text, n, &key, &kn);
            kn = LR_MIN(kn, sizeof e->key);
            if (kn == e->key_len && memcmp(key, e->key, kn) == 0) {
                text += rest;
                n -= rest;
                if (n && text[n - 1] == '\r') n--;
                const char *pk;
                size_t pkn, sev = e->pg_key_len ? pg_prefix(text, n, &pk, &pkn) : 0;
                if (sev && pkn == e->pg_key_len && memcmp(pk, e->pg_key, pkn) == 0) text += sev, n -= sev;
                cont = continues(e, text, n);
            }
        }
        if (cont) {
            const lr__ev *g = &e->slot[e->cur];
            if (e->meta[e->cur].n < e->o.max_group_lines && g->arena.len + n + 1 <= e->o.max_group_bytes) {
                if (append(e, &rec, text, n))
                    return lr__err(err, LR_ENOMEM, "out of memory joining line %llu", (unsigned long long)rec.line);
                continue;
            }
            e->meta[e->cur].trunc = 1;
            e->cut++;
        }
        int had = e->open;
        if (had) emit(e, ev);
        if (start(e, &rec, cont)) return lr__err(err, LR_ENOMEM, "out of memory reading line %llu",
                                                 (unsigned long long)rec.line);
        if (had) return 1;
        if (!e->grouping) return emit(e, ev);
    }
}
