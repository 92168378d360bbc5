/*
 * anomaly.c — sequence anomalies in the manner of DeepLog: sessions of
 * events, a next-event model trained on normal sessions, and the top-k /
 * top-p judgement of each session (docs/anomalies.md).
 *
 * Sessions. An lr_sessions keeps, per session id, the events in input
 * order as indices into its own dictionary of event names (templates), the
 * input line of each and optionally the line's text. Readers: JSONL (one
 * session an object), DeepLog's key files (one session a line) and log
 * lines, where every distinct match of an id pattern (HDFS block ids by
 * default) gets the line's masked text as its next event, optionally per
 * run of N lines (an entity's window).
 *
 * The model. Events are ids 0..V-1 of the model's own dictionary: 0 the
 * padding before a session's start, 1 its end, 2 an event never seen in
 * training, 3.. the events of the training sessions. For every position p
 * of a session e_0..e_{n-1} (and p = n, whose event is END) the input is
 * the W events before p (padded with START) and the target e_p:
 *
 *   embedding [V, E] -> LSTM x layers (tape_lstm.c) -> h of the last step
 *   -> Linear [V, H] -> softmax over the V events
 *
 * or, with arch "transformer", token + position embeddings [V, H], [W, H]
 * and their LayerNorm, then post-LayerNorm encoder layers (self-attention
 * over the whole window, GELU feed-forward; the ops of tape.c) instead of
 * the LSTM. Every event of a window precedes its target, so the attention
 * needs no causal mask.
 *
 * trained with cross-entropy and AdamW on the project's tape (tape.h,
 * optim.h). Predicting END makes a session that stops early, or runs on,
 * unexpected too, which DeepLog's formulation leaves out.
 *
 * Training data are the distinct (window, next) pairs of the normal
 * sessions, each repeated min(count, cap) times per epoch: HDFS's 87k
 * windows are 2k distinct pairs, so cap 1 trains an epoch 40x faster and
 * weighs a rare normal transition like a frequent one, which is what a
 * top-k test asks of the model. A share of the normal sessions (by a hash
 * of the id, so the same sessions every run) is held out: the epoch with
 * the lowest held-out loss is kept, and top_k is chosen on the held-out
 * sessions plus the training input's labelled anomalous ones (best F1), or
 * without any, as the smallest k whose held-out false-alarm rate is at
 * most max_fpr. No test data are needed to set the model up.
 *
 * Judgement. A position is unexpected when the actual event's rank among
 * the predictions is above k (rank 1 = most likely; ties favour the event;
 * the start padding and the unknown event, never a next event, are not
 * ranked), or, with top_p, when the predictions more likely than it already hold p
 * of the probability; a session is anomalous when any position is. Every
 * distinct window is run through the model once per detect call.
 *
 * Model file: the .lrm container (format.h) with these keys and tensors,
 * all checked at load (ranges, the special names, unique event names,
 * shapes, finite weights):
 *
 *   anomaly.arch    str   "lstm" or "transformer" (with anomaly.heads, anomaly.ff: i64)
 *   anomaly.window, anomaly.embed, anomaly.hidden, anomaly.layers, anomaly.top_k   i64
 *   anomaly.top_p   f64   0 = judge by top_k
 *   anomaly.events  strs  the V event names ("<start>", "<end>", "<unknown>", ...)
 *   tensors anomaly.embed [V,E]; anomaly.lstm.L.w_ih [4H,in], .w_hh [4H,H],
 *           .bias [4H]; anomaly.out.weight [V,H], anomaly.out.bias [V]; f32
 *           (transformer: anomaly.embed [V,H], anomaly.position [W,H],
 *           anomaly.embed_norm.*, anomaly.tf.L.{query,key,value,attn_out,
 *           attn_norm,ff1,ff2,ff_norm}.{weight,bias} as model_new lists them)
 *
 * The event names are the template state of the model: detection maps the
 * events of its input to the model's ids by name.
 */
#include "anomaly.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "json.h"
#include "optim.h"
#include "rules.h" /* lr__utf8_repair */
#include "tape.h"
#include "templates.h"
#include "train.h" /* lr__train_log */
#include "util.h"

#define AN_MAX_WINDOW 64
#define AN_MAX_EMBED 512
#define AN_MAX_HIDDEN 512
#define AN_MAX_LAYERS 4
#define AN_MAX_EVENTS (1 << 20)
#define AN_MAX_NAME (1 << 16)
#define AN_MAX_FF 2048
#define AN_TF_PER_LAYER 16 /* tensors of a transformer layer */

enum { AN_ARCH_LSTM = 0, AN_ARCH_TRANSFORMER = 1 };
static const char *const arch_names[] = {"lstm", "transformer"};

static const char *const special_names[LR_AN_N_SPECIAL] = {"<start>", "<end>", "<unknown>"};

/* ------------------------------------------------------------ string map */

typedef struct strmap {
    char **key;
    size_t *len;
    int *val;
    size_t cap, n; /* cap: power of two */
} strmap;

static uint64_t hash_bytes(const void *p, size_t n) {
    uint64_t h = lr__fnv1a(p, n);
    return h ^ (h >> 29);
}

static void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->cap; i++) lr__free(m->key[i]);
    lr__free(m->key);
    lr__free(m->len);
    lr__free(m->val);
    memset(m, 0, sizeof *m);
}

static size_t strmap_slot(const strmap *m, const char *k, size_t n) {
    size_t i = hash_bytes(k, n) & (m->cap - 1);
    while (m->key[i] && (m->len[i] != n || memcmp(m->key[i], k, n) != 0)) i = (i + 1) & (m->cap - 1);
    return i;
}

/* The value of key k, or -1. */
static int strmap_get(const strmap *m, const char *k, size_t n) {
    if (!m->cap) return -1;
    size_t i = strmap_slot(m, k, n);
    return m->key[i] ? m->val[i] : -1;
}

static int strmap_grow(strmap *m) {
    strmap g = {0};
    g.cap = m->cap ? m->cap * 2 : 64;
    g.key = lr__calloc(g.cap, sizeof *g.key);
    g.len = lr__calloc(g.cap, sizeof *g.len);
    g.val = lr__calloc(g.cap, sizeof *g.val);
    if (!g.key || !g.len || !g.val) {
        strmap_free(&g);
        return LR_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = strmap_slot(&g, m->key[i], m->len[i]);
            g.key[j] = m->key[i];
            g.len[j] = m->len[i];
            g.val[j] = m->val[i];
        }
    g.n = m->n;
    lr__free(m->key);
    lr__free(m->len);
    lr__free(m->val);
    *m = g;
    return LR_OK;
}

/* Insert k -> v when absent. Returns the value stored (v or the old one),
 * or LR_ENOMEM. */
static int strmap_put(strmap *m, const char *k, size_t n, int v) {
    if ((m->n + 1) * 2 > m->cap && strmap_grow(m)) return LR_ENOMEM;
    size_t i = strmap_slot(m, k, n);
    if (m->key[i]) return m->val[i];
    char *copy = lr__malloc(n + 1);
    if (!copy) return LR_ENOMEM;
    memcpy(copy, k, n);
    copy[n] = 0;
    m->key[i] = copy;
    m->len[i] = n;
    m->val[i] = v;
    m->n++;
    return v;
}

/* ------------------------------------------------------------- tuple map */

/* Distinct int tuples of one width, with counts; ids 0..n-1 in order of
 * first insertion. */
typedef struct tupmap {
    int w;
    int *tup;      /* n * w */
    long *count;   /* n */
    int *slot;     /* cap: index + 1, 0 = empty */
    size_t n, cap_n, cap;
} tupmap;

static void tupmap_free(tupmap *t) {
    lr__free(t->tup);
    lr__free(t->count);
    lr__free(t->slot);
    memset(t, 0, sizeof *t);
}

static size_t tup_find(const tupmap *t, const int *k) {
    size_t i = hash_bytes(k, (size_t)t->w * sizeof(int)) & (t->cap - 1);
    while (t->slot[i] && memcmp(t->tup + (size_t)(t->slot[i] - 1) * t->w, k,
                                (size_t)t->w * sizeof(int)) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Add one occurrence of k; its id, or LR_ENOMEM. */
static long tupmap_add(tupmap *t, const int *k) {
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        int *slot = lr__calloc(cap, sizeof *slot);
        if (!slot) return LR_ENOMEM;
        lr__free(t->slot);
        t->slot = slot;
        t->cap = cap;
        for (size_t j = 0; j < t->n; j++) t->slot[tup_find(t, t->tup + j * t->w)] = (int)j + 1;
    }
    size_t i = tup_find(t, k);
    if (t->slot[i]) {
        t->count[t->slot[i] - 1]++;
        return t->slot[i] - 1;
    }
    if (t->n == t->cap_n) {
        size_t c = t->cap_n ? t->cap_n * 2 : 1024;
        int *tup = lr__realloc(t->tup, c * t->w * sizeof(int));
        if (!tup) return LR_ENOMEM;
        t->tup = tup;
        long *cnt = lr__realloc(t->count, c * sizeof(long));
        if (!cnt) return LR_ENOMEM;
        t->count = cnt;
        t->cap_n = c;
    }
    memcpy(t->tup + t->n * t->w, k, (size_t)t->w * sizeof(int));
    t->count[t->n] = 1;
    t->slot[i] = (int)t->n + 1;
    return (long)t->n++;
}

/* ------------------------------------------------------------- sessions */

typedef struct sess {
    char *id;
    size_t id_len;
    int *ev;           /* indices into the sessions' event names */
    uint64_t *line;
    size_t *text;      /* offsets into the text arena + 1 (0 = none) */
    int n, cap;
    int label;
} sess;

struct lr_sessions {
    sess *v;
    size_t n, cap;
    strmap ids;        /* id -> session index */
    strmap events;     /* event name -> index */
    char **names;      /* event names by index (views of events' keys) */
    size_t *name_len;
    size_t n_names, cap_names;
    lr__buf text;      /* "len:u32 bytes" records of kept lines */
    uint64_t unassigned; /* lines without a session id */
};

lr_sessions *lr_sessions_new(lr_error *err) {
    lr_sessions *s = lr__calloc(1, sizeof *s);
    if (!s) {
        lr__err(err, LR_ENOMEM, "out of memory for sessions");
        return NULL;
    }
    lr__buf_init(&s->text);
    return s;
}

void lr_sessions_free(lr_sessions *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        lr__free(s->v[i].id);
        lr__free(s->v[i].ev);
        lr__free(s->v[i].line);
        lr__free(s->v[i].text);
    }
    lr__free(s->v);
    strmap_free(&s->ids);
    strmap_free(&s->events);
    lr__free(s->names);
    lr__free(s->name_len);
    lr__buf_free(&s->text);
    lr__free(s);
}

static int oom(lr_error *err, const char *what) {
    return lr__err(err, LR_ENOMEM, "out of memory for %s", what);
}

/* The session with this id, created when new: its index or < 0. */
static long session_get(lr_sessions *s, const char *id, size_t len, lr_error *err) {
    int have = strmap_get(&s->ids, id, len);
    if (have >= 0) return have;
    if (s->n >= (size_t)INT32_MAX) return lr__err(err, LR_ERANGE, "too many sessions");
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 256;
        sess *v = lr__realloc(s->v, c * sizeof *v);
        if (!v) return oom(err, "sessions");
        s->v = v;
        s->cap = c;
    }
    sess *x = &s->v[s->n];
    memset(x, 0, sizeof *x);
    x->label = -1;
    x->id = lr__strndup(id, len);
    if (!x->id || strmap_put(&s->ids, id, len, (int)s->n) < 0) {
        lr__free(x->id);
        return oom(err, "session ids");
    }
    x->id_len = len;
    return (long)s->n++;
}

static int event_index(lr_sessions *s, const char *ev, size_t len, lr_error *err) {
    int have = strmap_get(&s->events, ev, len);
    if (have >= 0) return have;
    if (len > AN_MAX_NAME)
        return lr__err(err, LR_ERANGE, "an event name of %zu bytes (at most %d)", len, AN_MAX_NAME);
    if (s->n_names == s->cap_names) {
        size_t c = s->cap_names ? s->cap_names * 2 : 64;
        char **nm = lr__realloc(s->names, c * sizeof *nm);
        if (!nm) return oom(err, "event names");
        s->names = nm;
        size_t *nl = lr__realloc(s->name_len, c * sizeof *nl);
        if (!nl) return oom(err, "event names");
        s->name_len = nl;
        s->cap_names = c;
    }
    int v = strmap_put(&s->events, ev, len, (int)s->n_names);
    if (v < 0) return oom(err, "event names");
    size_t slot = strmap_slot(&s->events, ev, len);
    s->names[s->n_names] = s->events.key[slot];
    s->name_len[s->n_names] = len;
    return (int)s->n_names++;
}

int lr_sessions_add(lr_sessions *s, const char *id, size_t id_len, const char *event,
                    size_t event_len, uint64_t line, const char *text, size_t text_len,
                    lr_error *err) {
    long si = session_get(s, id, id_len, err);
    if (si < 0) return (int)si;
    int e = event_index(s, event, event_len, err);
    if (e < 0) return e;
    sess *x = &s->v[si];
    if (x->n == x->cap) {
        if (x->cap >= INT32_MAX / 2) return lr__err(err, LR_ERANGE, "a session of too many events");
        int c = x->cap ? x->cap * 2 : 16;
        int *ev = lr__realloc(x->ev, (size_t)c * sizeof *ev);
        if (!ev) return oom(err, "session events");
        x->ev = ev;
        uint64_t *ln = lr__realloc(x->line, (size_t)c * sizeof *ln);
        if (!ln) return oom(err, "session events");
        x->line = ln;
        size_t *tx = lr__realloc(x->text, (size_t)c * sizeof *tx);
        if (!tx) return oom(err, "session events");
        x->text = tx;
        x->cap = c;
    }
    x->ev[x->n] = e;
    x->line[x->n] = line;
    x->text[x->n] = 0;
    if (text) {
        uint32_t n32 = (uint32_t)LR_MIN(text_len, (size_t)UINT32_MAX);
        size_t off = s->text.len;
        if (lr__buf_put(&s->text, &n32, sizeof n32) || lr__buf_put(&s->text, text, n32))
            return oom(err, "session lines");
        x->text[x->n] = off + 1;
    }
    x->n++;
    return LR_OK;
}

int lr_sessions_set_label(lr_sessions *s, const char *id, size_t id_len, int label,
                          lr_error *err) {
    if (label < -1 || label > 1) return lr__err(err, LR_EINVAL, "label %d is not -1, 0 or 1", label);
    long si = session_get(s, id, id_len, err);
    if (si < 0) return (int)si;
    s->v[si].label = label;
    return LR_OK;
}

size_t lr_sessions_count(const lr_sessions *s) { return s->n; }

const char *lr_sessions_id(const lr_sessions *s, size_t i, size_t *len) {
    if (i >= s->n) return NULL;
    if (len) *len = s->v[i].id_len;
    return s->v[i].id;
}

int lr_sessions_label(const lr_sessions *s, size_t i) { return i < s->n ? s->v[i].label : -1; }

size_t lr_sessions_length(const lr_sessions *s, size_t i) { return i < s->n ? (size_t)s->v[i].n : 0; }

uint64_t lr_sessions_unassigned(const lr_sessions *s) { return s->unassigned; }

void lr_sessions_opts_init(lr_sessions_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = LR_SESS_JSONL;
    o->label = -1;
}

/* JSONL: one session per object. */
static int read_jsonl_line(lr_sessions *s, const char *line, size_t len, uint64_t ln,
                           const lr_sessions_opts *o, lr_error *err) {
    const char *idf = o->id_field ? o->id_field : "BlockId";
    const char *evf = o->events_field ? o->events_field : "Templates";
    const char *lbf = o->label_field ? o->label_field : "Label";
    const char *spf = o->split_field ? o->split_field : "Split";
    lr_error jerr;
    lr__json_doc *doc = lr__json_parse(line, len, 0, &jerr);
    if (!doc) {
        if (jerr.code == LR_ENOMEM) return oom(err, "JSON");
        return lr__err(err, LR_EPARSE, "line %llu: %s", (unsigned long long)ln, jerr.msg);
    }
    const lr__json *root = lr__json_root(doc);
    int rc = LR_OK;
    const char *id;
    size_t id_len;
    char num[32];
    const lr__json *idv = lr__json_get(root, idf), *evs = lr__json_get(root, evf);
    if (root->type != LR_JSON_OBJECT) {
        rc = lr__err(err, LR_EPARSE, "line %llu: not a JSON object", (unsigned long long)ln);
        goto out;
    }
    if (idv && idv->type == LR_JSON_STRING) {
        id = idv->str;
        id_len = idv->len;
    } else if (idv && idv->type == LR_JSON_NUMBER && idv->is_int) {
        id_len = (size_t)snprintf(num, sizeof num, "%lld", (long long)idv->i64);
        id = num;
    } else {
        rc = lr__err(err, LR_EPARSE, "line %llu: no session id (string field \"%s\")",
                     (unsigned long long)ln, idf);
        goto out;
    }
    if (!evs || evs->type != LR_JSON_ARRAY) {
        rc = lr__err(err, LR_EPARSE, "line %llu: no events (array field \"%s\")",
                     (unsigned long long)ln, evf);
        goto out;
    }
    int label = -1;
    const lr__json *lv = lr__json_get(root, lbf);
    if (lv && lv->type != LR_JSON_NULL) {
        if (lv->type != LR_JSON_NUMBER || !lv->is_int || lv->i64 < 0 || lv->i64 > 1) {
            rc = lr__err(err, LR_EPARSE, "line %llu: \"%s\" is not 0 or 1", (unsigned long long)ln,
                         lbf);
            goto out;
        }
        label = (int)lv->i64;
    }
    if (o->split) {
        const char *sp;
        size_t sl;
        if (!lr__json_get_str(root, spf, &sp, &sl) || sl != strlen(o->split) ||
            memcmp(sp, o->split, sl) != 0)
            goto out;
    }
    if (o->label >= 0 && label != o->label) goto out;
    if (strmap_get(&s->ids, id, id_len) >= 0) {
        rc = lr__err(err, LR_EPARSE, "line %llu: session \"%.*s\" appears twice",
                     (unsigned long long)ln, (int)LR_MIN(id_len, 80), id);
        goto out;
    }
    for (size_t i = 0; i < evs->n; i++) {
        const lr__json *e = &evs->items[i];
        const char *t;
        size_t tl;
        char nb[32];
        if (e->type == LR_JSON_STRING) {
            t = e->str;
            tl = e->len;
        } else if (e->type == LR_JSON_NUMBER && e->is_int) {
            tl = (size_t)snprintf(nb, sizeof nb, "%lld", (long long)e->i64);
            t = nb;
        } else {
            rc = lr__err(err, LR_EPARSE, "line %llu: event %zu of \"%s\" is not a string",
                         (unsigned long long)ln, i + 1, evf);
            goto out;
        }
        if ((rc = lr_sessions_add(s, id, id_len, t, tl, ln, NULL, 0, err))) goto out;
    }
    if (!evs->n && session_get(s, id, id_len, err) < 0) {
        rc = err ? err->code : LR_ENOMEM;
        goto out;
    }
    rc = lr_sessions_set_label(s, id, id_len, label, err);
out:
    lr__json_free(doc);
    return rc;
}

/* DeepLog keys: one session per line, whitespace-separated event ids. */
static int read_keys_line(lr_sessions *s, const char *line, size_t len, uint64_t ln,
                          const lr_sessions_opts *o, lr_error *err) {
    char id[32];
    size_t id_len = (size_t)snprintf(id, sizeof id, "%llu", (unsigned long long)ln);
    size_t i = 0;
    int any = 0, rc;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        size_t b = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') i++;
        if (i > b) {
            if ((rc = lr_sessions_add(s, id, id_len, line + b, i - b, ln, NULL, 0, err))) return rc;
            any = 1;
        }
    }
    if (!any) return LR_OK; /* an empty line is no session */
    return lr_sessions_set_label(s, id, id_len, o->label, err);
}

static const char *const default_id_pattern = "blk_-?[0-9]+";

/* The time at the start of a log line: the longest of its first 1..4
 * words that lr_time_parse reads ("081109 203518", "2015-10-18
 * 18:01:47,978", "Jun 14 15:16:01"). 1 and *ms, or 0. */
static int line_time(const char *s, size_t len, int64_t *ms) {
    size_t ends[4];
    int n = 0;
    size_t i = 0;
    while (n < 4 && i < len && i < 64) {
        while (i < len && s[i] == ' ') i++;
        size_t b = i;
        while (i < len && s[i] != ' ' && s[i] != '\t') i++;
        if (i == b) break;
        ends[n++] = i;
    }
    for (int k = n - 1; k >= 0; k--)
        if (lr_time_parse(s, ends[k], 1970, ms) == LR_OK) return 1;
    return 0;
}

static int read_lines(lr_sessions *s, int fd, const lr_sessions_opts *o, lr_error *err) {
    const char *pat = o->id_pattern ? o->id_pattern : default_id_pattern;
    pcre2_code *re = NULL;
    pcre2_match_data *md = NULL;
    lr_rules *own_rules = NULL;
    lr_prep *prep = NULL;
    lr_records *recs = NULL;
    lr__buf ids;
    lr__buf_init(&ids);
    int rc = LR_OK;
    if (*pat) {
        int ecode;
        PCRE2_SIZE eoff;
        re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ecode, &eoff, NULL);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ecode, msg, sizeof msg);
            return lr__err(err, LR_EINVAL, "session id pattern \"%s\": %s at offset %zu", pat,
                           (const char *)msg, (size_t)eoff);
        }
        md = pcre2_match_data_create_from_pattern(re, NULL);
        if (!md) {
            rc = oom(err, "regex matches");
            goto out;
        }
    } else if (o->window_lines <= 0 && o->window_seconds <= 0) {
        rc = lr__err(err, LR_EINVAL, "sessions need an id pattern or a window of lines");
        goto out;
    }
    const lr_rules *rules = o->rules;
    if (!rules && !(rules = own_rules = lr_rules_default(err))) {
        rc = err ? err->code : LR_ENOMEM;
        goto out;
    }
    if (!(prep = lr_prep_new(rules, err))) {
        rc = err ? err->code : LR_ENOMEM;
        goto out;
    }
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = LR_REC_RAW;
    if (o->max_line) ro.max_bytes = o->max_line;
    if (!(recs = lr_records_new(fd, &ro, err))) {
        rc = err ? err->code : LR_ENOMEM;
        goto out;
    }
    lr_record rec;
    int got, have_time = 0;
    int64_t last_ms = 0;
    while ((got = lr_records_next(recs, &rec, err)) == 1) {
        lr_line_info info;
        if ((rc = lr_prep_line(prep, rec.msg, rec.len, &info))) {
            rc = oom(err, "masking");
            goto out;
        }
        size_t tlen = info.text_len;
        while (tlen && info.text[tlen - 1] == ' ') tlen--;
        char idtext[16];
        const char *ev_text = info.text;
        if (o->miner) {
            lr_template_match tm;
            if (o->learn) {
                if ((rc = lr_miner_add(o->miner, info.text, tlen, (int64_t)rec.line, &tm, err))) goto out;
            } else {
                lr_miner_match(o->miner, info.text, tlen, &tm);
            }
            if (tm.id) { /* no template: the masked line, an event no model knows */
                tlen = (size_t)snprintf(idtext, sizeof idtext, "%u", (unsigned)tm.id);
                ev_text = idtext;
            }
        }
        char *tmpl = lr__strndup(ev_text, tlen);
        if (!tmpl) {
            rc = oom(err, "masking");
            goto out;
        }
        char win[40] = "";
        if (o->window_seconds > 0) {
            int64_t ms;
            if (line_time(rec.msg, rec.len, &ms)) {
                have_time = 1;
                last_ms = ms;
            } else if (!have_time) {
                lr__free(tmpl);
                rc = lr__err(err, LR_EPARSE, "line %llu: no time at the start of the line for "
                             "windows of seconds", (unsigned long long)rec.line);
                goto out;
            }
            int64_t sec = last_ms / 1000 - (last_ms % 1000 < 0); /* floor */
            int64_t w = sec / o->window_seconds - (sec % o->window_seconds < 0);
            snprintf(win, sizeof win, "%s@%lld", re ? "" : "*", (long long)w * o->window_seconds);
        } else if (o->window_lines > 0) {
            snprintf(win, sizeof win, "%s#%llu", re ? "" : "*",
                     (unsigned long long)((rec.line - 1) / (uint64_t)o->window_lines));
        }
        lr__buf_clear(&ids);
        if (!re) {
            rc = lr_sessions_add(s, win, strlen(win), tmpl, tlen, rec.line, rec.msg, rec.len, err);
        } else {
            PCRE2_SIZE start = 0;
            int matched = 0;
            while (start <= rec.len) {
                int m = pcre2_match(re, (PCRE2_SPTR)rec.msg, rec.len, start, 0, md, NULL);
                if (m < 0) break;
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                size_t g = m > 1 ? 1 : 0;
                size_t b = ov[2 * g], e = ov[2 * g + 1];
                start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
                if (b == PCRE2_UNSET || e < b) continue;
                /* every distinct id once per line */
                size_t key_at = ids.len;
                if (lr__buf_put(&ids, rec.msg + b, e - b) || lr__buf_puts(&ids, win) ||
                    lr__buf_putc(&ids, '\n')) {
                    rc = oom(err, "session ids");
                    break;
                }
                size_t klen = ids.len - key_at - 1;
                int dup = 0;
                for (size_t p = 0; p < key_at;) {
                    const char *nl = memchr(ids.data + p, '\n', key_at - p);
                    size_t l = (size_t)(nl - (ids.data + p));
                    if (l == klen && memcmp(ids.data + p, ids.data + key_at, klen) == 0) dup = 1;
                    p += l + 1;
                }
                if (dup) continue;
                matched = 1;
                if ((rc = lr_sessions_add(s, ids.data + key_at, klen, tmpl, tlen, rec.line,
                                          rec.msg, rec.len, err)))
                    break;
            }
            if (!matched) s->unassigned++;
        }
        lr__free(tmpl);
        if (rc) goto out;
    }
    if (got < 0) rc = got;
out:
    lr__buf_free(&ids);
    lr_records_free(recs);
    lr_prep_free(prep);
    lr_rules_free(own_rules);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

int lr_sessions_read(lr_sessions *s, int fd, const lr_sessions_opts *o, lr_error *err) {
    if (o->format == LR_SESS_LINES) return read_lines(s, fd, o, err);
    if (o->format != LR_SESS_JSONL && o->format != LR_SESS_KEYS)
        return lr__err(err, LR_EINVAL, "unknown sessions format %d", (int)o->format);
    lr_io_reader *r = lr_io_reader_new(fd, o->max_line ? o->max_line : (64u << 20), err);
    if (!r) return err ? err->code : LR_ENOMEM;
    const char *line;
    size_t len;
    int trunc = 0, got, rc = LR_OK;
    while ((got = lr_io_read_line(r, &line, &len, &trunc, err)) == 1) {
        uint64_t ln = lr_io_lines(r);
        if (trunc) {
            rc = lr__err(err, LR_ERANGE, "line %llu is longer than %zu bytes",
                         (unsigned long long)ln, o->max_line ? o->max_line : (size_t)64 << 20);
            break;
        }
        size_t n = len;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
        if (!n) continue;
        rc = o->format == LR_SESS_JSONL ? read_jsonl_line(s, line, n, ln, o, err)
                                        : read_keys_line(s, line, n, ln, o, err);
        if (rc) break;
    }
    if (got < 0) rc = got;
    lr_io_reader_free(r);
    return rc;
}

/* ---------------------------------------------------------------- model */

struct lr_anomaly {
    int arch;          /* AN_ARCH_* */
    int V, E, H, L, W;
    int A, F;          /* transformer: heads, feed-forward width */
    int top_k;
    double top_p;
    strmap ids;        /* event name -> model id */
    char **names;      /* V names (views of ids' keys; specials static) */
    size_t *name_len;
    lr__params params; /* embed, 3 per layer, out.weight, out.bias */
    lr_miner *miner;   /* events are its template ids (owned), or NULL */
};

void lr_anomaly_opts_init(lr_anomaly_opts *o) {
    memset(o, 0, sizeof *o);
    o->window = 10;
    o->embed = 16;
    o->hidden = 64;
    o->layers = 2;
    o->epochs = 30;
    o->batch = 64;
    o->lr = 3e-3;
    o->cap = 1;
    o->holdout = 0.1;
    o->max_fpr = 0.01;
    o->seed = 1;
    o->heads = 2;
}

void lr_anomaly_free(lr_anomaly *m) {
    if (!m) return;
    strmap_free(&m->ids);
    lr__free(m->names);
    lr__free(m->name_len);
    lr__params_free(&m->params);
    lr_miner_free(m->miner);
    lr__free(m);
}

void lr_anomaly_set_miner(lr_anomaly *m, lr_miner *miner) {
    if (m->miner != miner) lr_miner_free(m->miner);
    m->miner = miner;
}

lr_miner *lr_anomaly_miner(const lr_anomaly *m) { return m->miner; }

int lr_anomaly_top_k(const lr_anomaly *m) { return m->top_k; }
double lr_anomaly_top_p(const lr_anomaly *m) { return m->top_p; }
int lr__anomaly_n_events(const lr_anomaly *m) { return m->V; }
const char *lr__anomaly_event(const lr_anomaly *m, int i, size_t *len) {
    if (i < 0 || i >= m->V) return NULL;
    if (len) *len = m->name_len[i];
    return m->names[i];
}

int lr_anomaly_set_judgement(lr_anomaly *m, int top_k, double top_p, lr_error *err) {
    if (top_k < 1) return lr__err(err, LR_EINVAL, "top-k %d is not a positive number", top_k);
    if (!(top_p >= 0.0 && top_p < 1.0))
        return lr__err(err, LR_EINVAL, "top-p %g is outside [0, 1)", top_p);
    m->top_k = LR_MIN(top_k, m->V);
    m->top_p = top_p;
    return LR_OK;
}

static int check_sizes(int arch, int V, int E, int H, int L, int W, int A, int F, lr_error *err) {
    if (V < LR_AN_N_SPECIAL + 1 || V > AN_MAX_EVENTS)
        return lr__err(err, LR_ERANGE, "%d events (%d..%d allowed)", V, LR_AN_N_SPECIAL + 1,
                       AN_MAX_EVENTS);
    if (W < 1 || W > AN_MAX_WINDOW) return lr__err(err, LR_ERANGE, "window %d is outside [1, %d]", W, AN_MAX_WINDOW);
    if (E < 1 || E > AN_MAX_EMBED) return lr__err(err, LR_ERANGE, "embedding width %d is outside [1, %d]", E, AN_MAX_EMBED);
    if (H < 1 || H > AN_MAX_HIDDEN) return lr__err(err, LR_ERANGE, "hidden width %d is outside [1, %d]", H, AN_MAX_HIDDEN);
    if (L < 1 || L > AN_MAX_LAYERS) return lr__err(err, LR_ERANGE, "%d layers (1..%d allowed)", L, AN_MAX_LAYERS);
    if (arch == AN_ARCH_TRANSFORMER) {
        if (A < 1 || A > H || H % A != 0)
            return lr__err(err, LR_ERANGE, "%d heads do not divide the hidden width %d", A, H);
        if (F < 1 || F > AN_MAX_FF)
            return lr__err(err, LR_ERANGE, "feed-forward width %d is outside [1, %d]", F, AN_MAX_FF);
    }
    return LR_OK;
}

static int add_param(lr__params *p, const char *fmt, int l, int d0, int d1, int group, lr_error *err) {
    char name[64];
    snprintf(name, sizeof name, fmt, l);
    return lr__params_add(p, name, d0, d1, group, err);
}

/* A model with V events (names set by the caller) and its parameter table
 * allocated (zeroed). The transformer's embedding width is H. */
static lr_anomaly *model_new(int arch, int V, int E, int H, int L, int W, int A, int F,
                             lr_error *err) {
    if (arch == AN_ARCH_TRANSFORMER) E = H;
    if (check_sizes(arch, V, E, H, L, W, A, F, err)) return NULL;
    lr_anomaly *m = lr__calloc(1, sizeof *m);
    if (!m) {
        oom(err, "the model");
        return NULL;
    }
    m->arch = arch;
    m->V = V;
    m->E = E;
    m->H = H;
    m->L = L;
    m->W = W;
    m->A = A;
    m->F = F;
    m->top_k = LR_MIN(9, V);
    m->names = lr__calloc((size_t)V, sizeof *m->names);
    m->name_len = lr__calloc((size_t)V, sizeof *m->name_len);
    if (!m->names || !m->name_len) goto nomem;
    lr__params *p = &m->params;
    const int g = LR_GROUP_ENCODER;
    if (arch == AN_ARCH_TRANSFORMER) {
        if (lr__params_add(p, "anomaly.embed", V, H, g, err) ||
            lr__params_add(p, "anomaly.position", W, H, g, err) ||
            lr__params_add(p, "anomaly.embed_norm.weight", H, 0, g, err) ||
            lr__params_add(p, "anomaly.embed_norm.bias", H, 0, g, err))
            goto fail;
        for (int l = 0; l < L; l++) {
            static const char *const lin[4] = {"query", "key", "value", "attn_out"};
            for (int j = 0; j < 4; j++) {
                char f[64];
                snprintf(f, sizeof f, "anomaly.tf.%%d.%s.weight", lin[j]);
                if (add_param(p, f, l, H, H, g, err)) goto fail;
                snprintf(f, sizeof f, "anomaly.tf.%%d.%s.bias", lin[j]);
                if (add_param(p, f, l, H, 0, g, err)) goto fail;
            }
            if (add_param(p, "anomaly.tf.%d.attn_norm.weight", l, H, 0, g, err) ||
                add_param(p, "anomaly.tf.%d.attn_norm.bias", l, H, 0, g, err) ||
                add_param(p, "anomaly.tf.%d.ff1.weight", l, F, H, g, err) ||
                add_param(p, "anomaly.tf.%d.ff1.bias", l, F, 0, g, err) ||
                add_param(p, "anomaly.tf.%d.ff2.weight", l, H, F, g, err) ||
                add_param(p, "anomaly.tf.%d.ff2.bias", l, H, 0, g, err) ||
                add_param(p, "anomaly.tf.%d.ff_norm.weight", l, H, 0, g, err) ||
                add_param(p, "anomaly.tf.%d.ff_norm.bias", l, H, 0, g, err))
                goto fail;
        }
    } else {
        if (lr__params_add(p, "anomaly.embed", V, E, g, err)) goto fail;
        for (int l = 0; l < L; l++)
            if (add_param(p, "anomaly.lstm.%d.w_ih", l, 4 * H, l ? H : E, g, err) ||
                add_param(p, "anomaly.lstm.%d.w_hh", l, 4 * H, H, g, err) ||
                add_param(p, "anomaly.lstm.%d.bias", l, 4 * H, 0, g, err))
                goto fail;
    }
    if (lr__params_add(p, "anomaly.out.weight", V, H, LR_GROUP_HEAD, err) ||
        lr__params_add(p, "anomaly.out.bias", V, 0, LR_GROUP_HEAD, err) ||
        lr__params_alloc(p, err))
        goto fail;
    return m;
nomem:
    oom(err, "the model");
fail:
    lr_anomaly_free(m);
    return NULL;
}

/* Name event i of m (copied into the model's map); LR_EFORMAT on a
 * duplicate name. */
static int model_name(lr_anomaly *m, int i, const char *name, size_t len, lr_error *err) {
    int v = strmap_put(&m->ids, name, len, i);
    if (v < 0) return oom(err, "event names");
    if (v != i)
        return lr__err(err, LR_EFORMAT, "event name \"%.*s\" appears twice", (int)LR_MIN(len, 80),
                       name);
    m->names[i] = m->ids.key[strmap_slot(&m->ids, name, len)];
    m->name_len[i] = len;
    return LR_OK;
}

static lr__var P(const lr_anomaly *m, int i) { return lr__params_var(&m->params, i); }

/* The index arrays of a batch of up to B windows: the model ids [B*W],
 * the row of each window's last step [B], the labels [B], and for the
 * transformer the position of every row [B*W] and an all-ones mask. */
typedef struct batch {
    int B;
    int *idx, *last, *labels, *pos, *ones;
} batch;

static void batch_free(batch *b) {
    lr__free(b->idx);
    lr__free(b->last);
    lr__free(b->labels);
    lr__free(b->pos);
    lr__free(b->ones);
    memset(b, 0, sizeof *b);
}

static int batch_new(const lr_anomaly *m, int B, batch *b, lr_error *err) {
    size_t n = (size_t)B * m->W;
    b->B = B;
    b->idx = lr__calloc(n, sizeof *b->idx);
    b->last = lr__alloc_array((size_t)B, sizeof *b->last);
    b->labels = lr__calloc((size_t)B, sizeof *b->labels);
    b->pos = lr__alloc_array(n, sizeof *b->pos);
    b->ones = lr__alloc_array(n, sizeof *b->ones);
    if (!b->idx || !b->last || !b->labels || !b->pos || !b->ones) {
        batch_free(b);
        return oom(err, "a batch");
    }
    for (int i = 0; i < B; i++) b->last[i] = i * m->W + m->W - 1;
    for (size_t i = 0; i < n; i++) {
        b->pos[i] = (int)(i % (size_t)m->W);
        b->ones[i] = 1;
    }
    return LR_OK;
}

/* The transformer encoder over the windows (post-LayerNorm, as BERT):
 * token + position embeddings, LayerNorm, then per layer self-attention
 * over the whole window (every event of a window precedes its target, so
 * no causal mask is needed) and the GELU feed-forward. */
static lr__var build_transformer(lr__tape *t, const lr_anomaly *m, const batch *bt, int B) {
    int W = m->W, H = m->H, F = m->F, n = B * W;
    lr__var x = lr__op_add(t, lr__op_gather(t, P(m, 0), m->V, H, bt->idx, n, -1),
                           lr__op_gather(t, P(m, 1), W, H, bt->pos, n, -1));
    x = lr__op_layernorm(t, x, P(m, 2), P(m, 3), n, H, 1e-12f);
    for (int l = 0; l < m->L; l++) {
        int q = 4 + AN_TF_PER_LAYER * l;
        lr__var Q = lr__op_linear(t, x, P(m, q), P(m, q + 1), n, H, H);
        lr__var K = lr__op_linear(t, x, P(m, q + 2), P(m, q + 3), n, H, H);
        lr__var Vv = lr__op_linear(t, x, P(m, q + 4), P(m, q + 5), n, H, H);
        lr__var a = lr__op_attention(t, Q, K, Vv, bt->ones, B, W, H, m->A, 0.0f);
        lr__var o = lr__op_linear(t, a, P(m, q + 6), P(m, q + 7), n, H, H);
        x = lr__op_layernorm(t, lr__op_add(t, x, o), P(m, q + 8), P(m, q + 9), n, H, 1e-12f);
        lr__var f = lr__op_gelu(t, lr__op_linear(t, x, P(m, q + 10), P(m, q + 11), n, F, H));
        f = lr__op_linear(t, f, P(m, q + 12), P(m, q + 13), n, H, F);
        x = lr__op_layernorm(t, lr__op_add(t, x, f), P(m, q + 14), P(m, q + 15), n, H, 1e-12f);
    }
    return x;
}

/* The graph for B windows of bt (B <= bt->B). Returns the logits [B, V];
 * with labels, *loss gets the mean cross-entropy. */
static lr__var build(lr__tape *t, const lr_anomaly *m, const batch *bt, int B, int with_labels,
                     lr__var *loss) {
    int W = m->W, H = m->H;
    lr__var x;
    int o;
    if (m->arch == AN_ARCH_TRANSFORMER) {
        x = build_transformer(t, m, bt, B);
        o = 4 + AN_TF_PER_LAYER * m->L;
    } else {
        x = lr__op_gather(t, P(m, 0), m->V, m->E, bt->idx, B * W, -1);
        int in = m->E;
        for (int l = 0; l < m->L; l++) {
            x = lr__op_lstm(t, x, P(m, 1 + 3 * l), P(m, 2 + 3 * l), P(m, 3 + 3 * l), B, W, in, H);
            in = H;
        }
        o = 1 + 3 * m->L;
    }
    lr__var hl = lr__op_gather(t, x, B * W, H, bt->last, B, -1);
    lr__var logits = lr__op_linear(t, hl, P(m, o), P(m, o + 1), B, m->V, H);
    if (with_labels) *loss = lr__op_xent(t, logits, bt->labels, B, m->V, NULL);
    return logits;
}

/* Plan a tape for batches of up to bt->B windows. */
static int plan(lr__tape *t, const lr_anomaly *m, const batch *bt, int with_loss, lr_error *err) {
    lr__tape_plan_begin(t);
    lr__var loss;
    build(t, m, bt, bt->B, with_loss, &loss);
    return lr__tape_plan_end(t, err);
}

/* The window before position p of events ev[0..n-1] (model ids), into w[W]. */
static void window_at(const int *ev, int p, int W, int *w) {
    for (int j = 0; j < W; j++) {
        int q = p - W + j;
        w[j] = q < 0 ? LR_AN_START : ev[q];
    }
}

/* Model ids of a session's events. */
static void map_events(const lr_anomaly *m, const lr_sessions *s, const sess *x, int *out) {
    for (int i = 0; i < x->n; i++) {
        int e = x->ev[i];
        int id = strmap_get(&m->ids, s->names[e], s->name_len[e]);
        out[i] = id < LR_AN_N_SPECIAL ? LR_AN_UNK : id;
    }
}

/* ------------------------------------------------------- scoring windows */

/* Distinct windows of a set of sessions and, per position, which window
 * and which target. */
typedef struct positions {
    tupmap win;        /* width W */
    int *wid;          /* per position: window id */
    int *target;       /* per position: model id of the actual event */
    size_t *first;     /* per session: index of its first position (n+1 entries) */
    size_t n;
} positions;

static void positions_free(positions *p) {
    tupmap_free(&p->win);
    lr__free(p->wid);
    lr__free(p->target);
    lr__free(p->first);
    memset(p, 0, sizeof *p);
}

static int positions_build(const lr_anomaly *m, const lr_sessions *s, const size_t *which,
                           size_t n_which, positions *P_, lr_error *err) {
    positions *p = P_;
    memset(p, 0, sizeof *p);
    p->win.w = m->W;
    size_t total = 0;
    for (size_t k = 0; k < n_which; k++) total += (size_t)s->v[which[k]].n + 1;
    p->wid = lr__alloc_array(total ? total : 1, sizeof *p->wid);
    p->target = lr__alloc_array(total ? total : 1, sizeof *p->target);
    p->first = lr__alloc_array(n_which + 1, sizeof *p->first);
    int maxn = 0;
    for (size_t k = 0; k < n_which; k++) maxn = LR_MAX(maxn, s->v[which[k]].n);
    int *ev = lr__alloc_array((size_t)maxn + 1, sizeof *ev);
    int w[AN_MAX_WINDOW];
    if (!p->wid || !p->target || !p->first || !ev) goto nomem;
    size_t at = 0;
    for (size_t k = 0; k < n_which; k++) {
        const sess *x = &s->v[which[k]];
        map_events(m, s, x, ev);
        p->first[k] = at;
        for (int q = 0; q <= x->n; q++) {
            window_at(ev, q, m->W, w);
            long id = tupmap_add(&p->win, w);
            if (id < 0) goto nomem;
            p->wid[at] = (int)id;
            p->target[at] = q < x->n ? ev[q] : LR_AN_END;
            at++;
        }
    }
    p->first[n_which] = at;
    p->n = at;
    lr__free(ev);
    return LR_OK;
nomem:
    lr__free(ev);
    positions_free(p);
    return oom(err, "session windows");
}

/* Run every distinct window of p through the model: for each position,
 * the rank of its target and the probability mass above it. With want
 * (per window, nonzero = keep), probs_out gets the V probabilities of those
 * windows (V floats at want[id] - 1). */
static int score_positions(const lr_anomaly *m, const positions *p, lr_pool *pool, int *rank,
                           float *mass, const int *want, float *probs_out, lr_error *err) {
    size_t nw = p->win.n;
    int W = m->W, V = m->V;
    /* positions grouped by window (counting sort) */
    size_t *start = lr__calloc(nw + 1, sizeof *start);
    size_t *order = lr__alloc_array(p->n ? p->n : 1, sizeof *order);
    if (!start || !order) {
        lr__free(start);
        lr__free(order);
        return oom(err, "scoring");
    }
    for (size_t i = 0; i < p->n; i++) start[p->wid[i] + 1]++;
    for (size_t i = 0; i < nw; i++) start[i + 1] += start[i];
    {
        size_t *fill = lr__alloc_array(nw + 1, sizeof *fill);
        if (!fill) {
            lr__free(start);
            lr__free(order);
            return oom(err, "scoring");
        }
        memcpy(fill, start, (nw + 1) * sizeof *fill);
        for (size_t i = 0; i < p->n; i++) order[fill[p->wid[i]]++] = i;
        lr__free(fill);
    }
    int B = (int)LR_MAX(1, LR_MIN(256, (8u << 20) / ((size_t)W * (10 * m->H + m->E) + 3u * V)));
    batch bt = {0};
    float *prob = lr__alloc_array((size_t)V, sizeof *prob);
    lr__tape t;
    lr__tape_init(&t, pool);
    int rc = LR_OK;
    if (!prob) {
        rc = oom(err, "scoring");
        goto out;
    }
    if ((rc = batch_new(m, B, &bt, err)) || (rc = plan(&t, m, &bt, 0, err))) goto out;
    for (size_t w0 = 0; w0 < nw; w0 += (size_t)B) {
        int nb = (int)LR_MIN((size_t)B, nw - w0);
        memcpy(bt.idx, p->win.tup + w0 * W, (size_t)nb * W * sizeof *bt.idx);
        lr__tape_begin(&t, 0);
        lr__var lg = build(&t, m, &bt, nb, 0, NULL);
        if ((rc = lr__tape_status(&t, err))) goto out;
        for (int b = 0; b < nb; b++) {
            const float *z = lg.v + (size_t)b * V;
            float mx = z[0];
            for (int c = 1; c < V; c++) mx = z[c] > mx ? z[c] : mx;
            double sum = 0.0;
            for (int c = 0; c < V; c++) sum += (prob[c] = expf(z[c] - mx));
            for (int c = 0; c < V; c++) prob[c] = (float)(prob[c] / sum);
            size_t wid = w0 + (size_t)b;
            if (want && want[wid]) memcpy(probs_out + (size_t)(want[wid] - 1) * V, prob, (size_t)V * sizeof *prob);
            for (size_t k = start[wid]; k < start[wid + 1]; k++) {
                size_t i = order[k];
                int y = p->target[i];
                if (y == LR_AN_UNK) {
                    rank[i] = INT32_MAX;
                    mass[i] = 1.0f;
                    continue;
                }
                int r = 1;
                double above = 0.0;
                for (int c = 0; c < V; c++)
                    if (c != LR_AN_START && c != LR_AN_UNK && prob[c] > prob[y]) {
                        r++;
                        above += prob[c];
                    }
                rank[i] = r;
                mass[i] = (float)above;
            }
        }
    }
out:
    lr__tape_free(&t);
    batch_free(&bt);
    lr__free(prob);
    lr__free(start);
    lr__free(order);
    return rc;
}

static lr_pool *pool_for(int threads, lr_error *err) {
    if (threads == 1) return NULL;
    return lr_pool_new(threads, err);
}

/* Worst rank and mass per session (of `which`). */
static int session_scores(const lr_anomaly *m, const lr_sessions *s, const size_t *which,
                          size_t n_which, lr_pool *pool, int *srank, float *smass,
                          lr_error *err) {
    positions p;
    int rc = positions_build(m, s, which, n_which, &p, err);
    if (rc) return rc;
    int *rank = lr__alloc_array(p.n ? p.n : 1, sizeof *rank);
    float *mass = lr__alloc_array(p.n ? p.n : 1, sizeof *mass);
    if (!rank || !mass) rc = oom(err, "scoring");
    if (!rc) rc = score_positions(m, &p, pool, rank, mass, NULL, NULL, err);
    if (!rc)
        for (size_t k = 0; k < n_which; k++) {
            int r = 0;
            float ms = 0.0f;
            for (size_t i = p.first[k]; i < p.first[k + 1]; i++) {
                r = LR_MAX(r, rank[i]);
                ms = LR_MAX(ms, mass[i]);
            }
            srank[k] = r;
            smass[k] = ms;
        }
    lr__free(rank);
    lr__free(mass);
    positions_free(&p);
    return rc;
}

int lr__anomaly_session_scores(const lr_anomaly *m, const lr_sessions *s, int threads, int *rank,
                               float *mass, lr_error *err) {
    size_t n = s->n;
    size_t *which = lr__alloc_array(n ? n : 1, sizeof *which);
    if (!which) return oom(err, "scoring");
    for (size_t i = 0; i < n; i++) which[i] = i;
    lr_pool *pool = pool_for(threads, err);
    int rc = threads != 1 && !pool ? (err ? err->code : LR_ENOMEM)
                                   : session_scores(m, s, which, n, pool, rank, mass, err);
    lr_pool_free(pool);
    lr__free(which);
    return rc;
}

/* --------------------------------------------------------------- training */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s) { return (float)((rng_next(s) >> 40) * (1.0 / 16777216.0)); }

/* Initial weights. LSTM: as torch, LSTM and Linear uniform(+-1/sqrt(H)),
 * the embedding N(0, 1) (Box-Muller), the forget gates' bias 1.
 * Transformer: as BERT, N(0, 0.02) matrices, zero biases, LayerNorm 1, 0. */
static float rng_normal(uint64_t *st) {
    float u1 = rng_uniform(st) + 1e-7f, u2 = rng_uniform(st);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static void init_weights(lr_anomaly *m, uint64_t seed) {
    uint64_t st = seed;
    for (int i = 0; i < m->params.n; i++) {
        lr__var v = P(m, i);
        const lr__param_info *pi = &m->params.info[i];
        if (m->arch == AN_ARCH_TRANSFORMER) {
            int norm_w = strstr(pi->name, "norm.weight") != NULL;
            for (size_t j = 0; j < v.n; j++)
                v.v[j] = pi->ndim == 2 ? 0.02f * rng_normal(&st) : norm_w ? 1.0f : 0.0f;
            continue;
        }
        float a = 1.0f / sqrtf((float)m->H);
        if (i == 0) {
            for (size_t j = 0; j < v.n; j++) v.v[j] = rng_normal(&st);
        } else {
            for (size_t j = 0; j < v.n; j++) v.v[j] = (2.0f * rng_uniform(&st) - 1.0f) * a;
        }
        if (i >= 1 && i < 1 + 3 * m->L && (i - 1) % 3 == 2)
            for (int j = m->H; j < 2 * m->H; j++) v.v[j] = 1.0f;
    }
}

/* Held out: a fixed share of the sessions by a hash of their id. */
static int held_out(const sess *x, double share) {
    return (double)(hash_bytes(x->id, x->id_len) % 10000u) < share * 10000.0;
}

/* The (window, next) pairs of sessions `which`, as tuples of W + 1. */
static int collect_pairs(const lr_anomaly *m, const lr_sessions *s, const size_t *which,
                         size_t n, tupmap *pairs, lr_error *err) {
    int maxn = 0;
    for (size_t k = 0; k < n; k++) maxn = LR_MAX(maxn, s->v[which[k]].n);
    int *ev = lr__alloc_array((size_t)maxn + 1, sizeof *ev);
    if (!ev) return oom(err, "training windows");
    int w[AN_MAX_WINDOW + 1];
    pairs->w = m->W + 1;
    for (size_t k = 0; k < n; k++) {
        const sess *x = &s->v[which[k]];
        map_events(m, s, x, ev);
        for (int q = 0; q <= x->n; q++) {
            window_at(ev, q, m->W, w);
            w[m->W] = q < x->n ? ev[q] : LR_AN_END;
            if (tupmap_add(pairs, w) < 0) {
                lr__free(ev);
                return oom(err, "training windows");
            }
        }
    }
    lr__free(ev);
    return LR_OK;
}

/* Mean cross-entropy of the pairs (each weighted by its count). */
static double pairs_loss(const lr_anomaly *m, lr__tape *t, const tupmap *pairs, batch *bt,
                         lr_error *err) {
    int B = bt->B, *idx = bt->idx, *labels = bt->labels;
    double sum = 0.0, cnt = 0.0;
    int W = m->W, V = m->V;
    for (size_t p0 = 0; p0 < pairs->n; p0 += (size_t)B) {
        int nb = (int)LR_MIN((size_t)B, pairs->n - p0);
        for (int b = 0; b < nb; b++) {
            memcpy(idx + (size_t)b * W, pairs->tup + (p0 + b) * (W + 1), (size_t)W * sizeof *idx);
            labels[b] = pairs->tup[(p0 + b) * (W + 1) + W];
        }
        lr__tape_begin(t, 0);
        lr__var lg = build(t, m, bt, nb, 0, NULL);
        if (lr__tape_status(t, err)) return NAN;
        for (int b = 0; b < nb; b++) {
            const float *z = lg.v + (size_t)b * V;
            float mx = z[0];
            for (int c = 1; c < V; c++) mx = z[c] > mx ? z[c] : mx;
            double se = 0.0;
            for (int c = 0; c < V; c++) se += exp((double)z[c] - mx);
            double l = log(se) + mx - z[labels[b]];
            sum += l * (double)pairs->count[p0 + b];
            cnt += (double)pairs->count[p0 + b];
        }
    }
    return cnt > 0 ? sum / cnt : 0.0;
}

/* Choose top_k from held-out normal sessions and labelled anomalies. */
static void choose_k(lr_anomaly *m, const int *rank, const int *label, size_t n, double max_fpr,
                     lr_train_log_fn log, void *user) {
    size_t n_pos = 0, n_neg = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i] == 1) n_pos++;
        else n_neg++;
    }
    int kmax = LR_MIN(m->V, 64);
    int best_k = 0;
    double best_f1 = -1.0;
    for (int k = 1; k <= kmax; k++) {
        size_t tp = 0, fp = 0;
        for (size_t i = 0; i < n; i++)
            if (rank[i] > k) {
                if (label[i] == 1) tp++;
                else fp++;
            }
        double fpr = n_neg ? (double)fp / n_neg : 0.0;
        if (n_pos) {
            double prec = tp + fp ? (double)tp / (tp + fp) : 0.0, rec = (double)tp / n_pos;
            double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
            if (k <= 12 || f1 > best_f1)
                lr__train_log(log, user, "held out: top-k %2d  precision %.4f  recall %.4f  F1 %.4f  false alarms %.4f",
                              k, prec, rec, f1, fpr);
            if (f1 > best_f1 + 1e-12) {
                best_f1 = f1;
                best_k = k;
            }
        } else if (!best_k && fpr <= max_fpr) {
            lr__train_log(log, user, "held out: top-k %2d  false alarms %.4f (at most %.4f)", k, fpr, max_fpr);
            best_k = k;
        }
    }
    if (!best_k) best_k = kmax;
    m->top_k = best_k;
    lr__train_log(log, user, "chose top-k %d on %zu held-out normal and %zu labelled anomalous sessions",
                  best_k, n_neg, n_pos);
}

lr_anomaly *lr_anomaly_train(const lr_sessions *s, const lr_anomaly_opts *o,
                             lr_train_log_fn log, void *user, lr_error *err) {
    if (o->epochs < 1 || o->epochs > 100000 || o->batch < 1 || o->batch > 4096 ||
        !(o->lr > 0 && o->lr < 1) || o->cap < 0 || !(o->holdout >= 0 && o->holdout < 1) ||
        o->top_k < 0 || !(o->top_p >= 0 && o->top_p < 1) ||
        (o->arch != AN_ARCH_LSTM && o->arch != AN_ARCH_TRANSFORMER)) {
        lr__err(err, LR_EINVAL,
                "training options out of range (epochs 1.., batch 1..4096, lr in (0, 1), cap >= "
                "0, holdout in [0, 1), top-p in [0, 1), arch lstm or transformer)");
        return NULL;
    }
    /* the dictionary: events of the normal training sessions, by frequency */
    size_t n_ev = s->n_names;
    long *freq = lr__calloc(n_ev ? n_ev : 1, sizeof *freq);
    size_t *train = lr__alloc_array(s->n ? s->n : 1, sizeof *train);
    size_t *hold = lr__alloc_array(s->n ? s->n : 1, sizeof *hold);
    size_t n_train = 0, n_hold = 0;
    lr_anomaly *m = NULL;
    lr_pool *pool = NULL;
    tupmap pairs = {0}, hpairs = {0};
    lr__tape t;
    lr__tape_init(&t, NULL);
    batch bt = {0};
    int *order = NULL, *srank = NULL;
    float *smass = NULL, *best = NULL;
    int ok = 0;
    if (!freq || !train || !hold) {
        oom(err, "training");
        goto fail;
    }
    for (size_t i = 0; i < s->n; i++) {
        const sess *x = &s->v[i];
        if (x->label == 1) {
            hold[n_hold++] = i;
        } else if (held_out(x, o->holdout)) {
            hold[n_hold++] = i;
        } else {
            train[n_train++] = i;
            for (int j = 0; j < x->n; j++) freq[x->ev[j]]++;
        }
    }
    if (!n_train) {
        lr__err(err, LR_EINVAL, "no normal sessions to train on (of %zu sessions)", s->n);
        goto fail;
    }
    int V = LR_AN_N_SPECIAL;
    for (size_t e = 0; e < n_ev; e++) V += freq[e] > 0;
    if (!(m = model_new(o->arch, V, o->embed, o->hidden, o->layers, o->window, o->heads,
                        o->ff ? o->ff : 2 * o->hidden, err)))
        goto fail;
    for (int i = 0; i < LR_AN_N_SPECIAL; i++)
        if (model_name(m, i, special_names[i], strlen(special_names[i]), err)) goto fail;
    {
        int id = LR_AN_N_SPECIAL;
        /* first-seen order of the session dictionary: stable and readable */
        for (size_t e = 0; e < n_ev; e++)
            if (freq[e] > 0) {
                if (strmap_get(&m->ids, s->names[e], s->name_len[e]) >= 0) {
                    lr__err(err, LR_EINVAL, "the event name \"%.*s\" is reserved",
                            (int)LR_MIN(s->name_len[e], 80), s->names[e]);
                    goto fail;
                }
                if (model_name(m, id++, s->names[e], s->name_len[e], err)) goto fail;
            }
    }
    init_weights(m, o->seed);
    if (o->threads != 1 && !(pool = lr_pool_new(o->threads, err))) goto fail;
    lr__tape_init(&t, pool);
    m->params.pool = pool;

    if (collect_pairs(m, s, train, n_train, &pairs, err)) goto fail;
    size_t n_hold_normal = 0;
    for (size_t k = 0; k < n_hold; k++) n_hold_normal += s->v[hold[k]].label != 1;
    {
        size_t *hn = lr__alloc_array(n_hold_normal ? n_hold_normal : 1, sizeof *hn);
        if (!hn) {
            oom(err, "training");
            goto fail;
        }
        size_t j = 0;
        for (size_t k = 0; k < n_hold; k++)
            if (s->v[hold[k]].label != 1) hn[j++] = hold[k];
        int rc = collect_pairs(m, s, hn, j, &hpairs, err);
        lr__free(hn);
        if (rc) goto fail;
    }
    size_t n_items = 0;
    for (size_t i = 0; i < pairs.n; i++)
        n_items += o->cap ? (size_t)LR_MIN(pairs.count[i], (long)o->cap) : (size_t)pairs.count[i];
    if (n_items > (size_t)INT32_MAX) {
        lr__err(err, LR_ERANGE, "%zu training windows: too many", n_items);
        goto fail;
    }
    order = lr__alloc_array(n_items, sizeof *order);
    int B = o->batch, W = m->W;
    best = lr__alloc_array(m->params.n_floats, sizeof *best);
    if (batch_new(m, B, &bt, err)) goto fail;
    if (!order || !best) {
        oom(err, "training");
        goto fail;
    }
    {
        size_t j = 0;
        for (size_t i = 0; i < pairs.n; i++) {
            long c = o->cap ? LR_MIN(pairs.count[i], (long)o->cap) : pairs.count[i];
            for (long r = 0; r < c; r++) order[j++] = (int)i;
        }
    }
    if (plan(&t, m, &bt, 1, err)) goto fail;
    size_t n_windows = 0;
    for (size_t i = 0; i < pairs.n; i++) n_windows += (size_t)pairs.count[i];
    lr__train_log(log, user,
                  "%zu sessions: %zu to train on (%zu windows, %zu distinct, %zu per epoch), %zu held out "
                  "(%zu normal); %d events; window %d, %d x %s %d, embedding %d",
                  s->n, n_train, n_windows, pairs.n, n_items, n_hold, n_hold_normal, V, W, m->L,
                  m->arch == AN_ARCH_TRANSFORMER ? "transformer" : "LSTM", m->H, m->E);
    lr__adamw_cfg cfg = lr__adamw_defaults(o->lr);
    cfg.weight_decay = 0.0;
    long steps_per_epoch = (long)((n_items + (size_t)B - 1) / (size_t)B);
    long total = steps_per_epoch * o->epochs, step = 0;
    uint64_t rs = o->seed ^ 0x5eed;
    double best_loss = INFINITY;
    int best_epoch = 0;
    for (int ep = 1; ep <= o->epochs; ep++) {
        double t0 = lr__now_s();
        for (size_t i = n_items; i > 1; i--) {
            size_t j = rng_next(&rs) % i;
            int tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        double sum = 0.0;
        for (size_t b0 = 0; b0 < n_items; b0 += (size_t)B, step++) {
            int nb = (int)LR_MIN((size_t)B, n_items - b0);
            for (int b = 0; b < nb; b++) {
                const int *tp = pairs.tup + (size_t)order[b0 + b] * (W + 1);
                memcpy(bt.idx + (size_t)b * W, tp, (size_t)W * sizeof *bt.idx);
                bt.labels[b] = tp[W];
            }
            lr__tape_begin(&t, (uint64_t)step);
            lr__var loss;
            build(&t, m, &bt, nb, 1, &loss);
            lr__params_zero_grad(&m->params);
            if (lr__tape_backward(&t, loss)) {
                lr__tape_status(&t, err);
                goto fail;
            }
            sum += loss.v[0] * nb;
            lr__clip_grad_norm(&m->params, 1.0);
            lr__adamw_cfg c = cfg;
            double f = lr__lr_schedule(step, 0, total);
            c.lr[0] *= f;
            c.lr[1] *= f;
            lr__adamw_step(&m->params, &c);
        }
        double vl = hpairs.n ? pairs_loss(m, &t, &hpairs, &bt, err)
                             : sum / (double)n_items;
        if (isnan(vl)) goto fail;
        int better = vl < best_loss;
        if (better) {
            best_loss = vl;
            best_epoch = ep;
            memcpy(best, m->params.value, m->params.n_floats * sizeof *best);
        }
        lr__train_log(log, user, "epoch %d/%d: train loss %.4f, held-out loss %.4f%s (%.1f s)", ep,
                      o->epochs, sum / (double)n_items, vl, better ? " *" : "", lr__now_s() - t0);
    }
    memcpy(m->params.value, best, m->params.n_floats * sizeof *best);
    lr__train_log(log, user, "kept epoch %d (held-out loss %.4f)", best_epoch, best_loss);

    if (o->top_k > 0 || o->top_p > 0) {
        m->top_k = o->top_k > 0 ? LR_MIN(o->top_k, m->V) : LR_MIN(9, m->V);
        m->top_p = o->top_p;
    } else if (n_hold) {
        srank = lr__alloc_array(n_hold, sizeof *srank);
        smass = lr__alloc_array(n_hold, sizeof *smass);
        int *lab = lr__alloc_array(n_hold, sizeof *lab);
        if (!srank || !smass || !lab) {
            lr__free(lab);
            oom(err, "training");
            goto fail;
        }
        for (size_t k = 0; k < n_hold; k++) lab[k] = s->v[hold[k]].label == 1;
        int rc = session_scores(m, s, hold, n_hold, pool, srank, smass, err);
        if (!rc) choose_k(m, srank, lab, n_hold, o->max_fpr, log, user);
        lr__free(lab);
        if (rc) goto fail;
    } else {
        m->top_k = LR_MIN(9, m->V);
    }
    m->params.pool = NULL;
    ok = 1;
fail: /* and the end of a successful run: the work buffers go */
    lr__tape_free(&t);
    lr_pool_free(pool);
    tupmap_free(&pairs);
    tupmap_free(&hpairs);
    lr__free(freq);
    lr__free(train);
    lr__free(hold);
    batch_free(&bt);
    lr__free(order);
    lr__free(best);
    lr__free(srank);
    lr__free(smass);
    if (ok) return m;
    lr_anomaly_free(m);
    return NULL;
}

/* ------------------------------------------------------------ model file */

int lr_anomaly_save(const lr_anomaly *m, const char *path, lr_error *err) {
    lr__lrm_writer *w = lr__lrm_writer_new(err);
    if (!w) return err ? err->code : LR_ENOMEM;
    int rc;
    void *blob = NULL;
    const char **names = lr__alloc_array((size_t)m->V, sizeof *names);
    if (!names) {
        rc = oom(err, "the model file");
        goto out;
    }
    for (int i = 0; i < m->V; i++) names[i] = m->names[i];
    const char *arch = arch_names[m->arch];
    if (m->arch == AN_ARCH_TRANSFORMER &&
        ((rc = lr__lrm_set_i64(w, "anomaly.heads", m->A, err)) ||
         (rc = lr__lrm_set_i64(w, "anomaly.ff", m->F, err))))
        goto out;
    if ((rc = lr__lrm_set_str(w, "anomaly.arch", arch, strlen(arch), err)) ||
        (rc = lr__lrm_set_i64(w, "anomaly.window", m->W, err)) ||
        (rc = lr__lrm_set_i64(w, "anomaly.embed", m->E, err)) ||
        (rc = lr__lrm_set_i64(w, "anomaly.hidden", m->H, err)) ||
        (rc = lr__lrm_set_i64(w, "anomaly.layers", m->L, err)) ||
        (rc = lr__lrm_set_i64(w, "anomaly.top_k", m->top_k, err)) ||
        (rc = lr__lrm_set_f64(w, "anomaly.top_p", m->top_p, err)) ||
        (rc = lr__lrm_set_strs(w, "anomaly.events", names, (size_t)m->V, err)))
        goto out;
    for (int i = 0; i < m->params.n; i++) {
        const lr__param_info *pi = &m->params.info[i];
        int64_t shape[2] = {pi->shape[0], pi->shape[1]};
        if ((rc = lr__lrm_add_tensor(w, pi->name, LR_DTYPE_F32, pi->ndim, shape,
                                     m->params.value + pi->offset, err)))
            goto out;
    }
    if (m->miner && (rc = lr__miner_put(m->miner, w, "anomaly.templates", &blob, err))) goto out;
    rc = lr__lrm_writer_write(w, path, err);
out:
    lr__free(blob);
    lr__free(names);
    lr__lrm_writer_free(w);
    return rc;
}

static int get_int(const lr__lrm *f, const char *key, int lo, int hi, int *out, lr_error *err) {
    int64_t v;
    int rc = lr__lrm_get_i64(f, key, &v, err);
    if (rc) return rc;
    if (v < lo || v > hi)
        return lr__err(err, LR_EFORMAT, "%s = %lld is outside [%d, %d]", key, (long long)v, lo, hi);
    *out = (int)v;
    return LR_OK;
}

static lr_anomaly *from_file(lr__lrm *f, lr_error *err) {
    lr_anomaly *m = NULL;
    const char *s;
    size_t len, nv;
    int W, E, H, L, K;
    double top_p;
    if (lr__lrm_get_str(f, "anomaly.arch", &s, &len, err)) goto fail;
    int arch = -1, A = 0, F = 0;
    for (int a = 0; a < 2; a++)
        if (len == strlen(arch_names[a]) && memcmp(s, arch_names[a], len) == 0) arch = a;
    if (arch < 0) {
        lr__err(err, LR_EUNSUPPORTED,
                "anomaly.arch \"%.*s\" is not supported (lstm or transformer)", (int)LR_MIN(len, 32), s);
        goto fail;
    }
    if (arch == AN_ARCH_TRANSFORMER &&
        (get_int(f, "anomaly.heads", 1, AN_MAX_HIDDEN, &A, err) ||
         get_int(f, "anomaly.ff", 1, AN_MAX_FF, &F, err)))
        goto fail;
    if (get_int(f, "anomaly.window", 1, AN_MAX_WINDOW, &W, err) ||
        get_int(f, "anomaly.embed", 1, AN_MAX_EMBED, &E, err) ||
        get_int(f, "anomaly.hidden", 1, AN_MAX_HIDDEN, &H, err) ||
        get_int(f, "anomaly.layers", 1, AN_MAX_LAYERS, &L, err) ||
        lr__lrm_get_f64(f, "anomaly.top_p", &top_p, err) ||
        lr__lrm_get_strs_count(f, "anomaly.events", &nv, err))
        goto fail;
    if (nv < LR_AN_N_SPECIAL + 1 || nv > AN_MAX_EVENTS) {
        lr__err(err, LR_EFORMAT, "anomaly.events has %zu names (%d..%d allowed)", nv,
                LR_AN_N_SPECIAL + 1, AN_MAX_EVENTS);
        goto fail;
    }
    if (get_int(f, "anomaly.top_k", 1, (int)nv, &K, err)) goto fail;
    if (!(top_p >= 0.0 && top_p < 1.0)) {
        lr__err(err, LR_EFORMAT, "anomaly.top_p = %g is outside [0, 1)", top_p);
        goto fail;
    }
    if (!(m = model_new(arch, (int)nv, E, H, L, W, A, F, err))) {
        if (err && err->code == LR_ERANGE) err->code = LR_EFORMAT;
        goto fail;
    }
    m->top_k = K;
    m->top_p = top_p;
    for (size_t i = 0; i < nv; i++) {
        if (lr__lrm_get_strs_item(f, "anomaly.events", i, &s, &len, err)) goto fail;
        if (i < LR_AN_N_SPECIAL &&
            (len != strlen(special_names[i]) || memcmp(s, special_names[i], len) != 0)) {
            lr__err(err, LR_EFORMAT, "anomaly.events[%zu] is \"%.*s\", not \"%s\"", i,
                    (int)LR_MIN(len, 40), s, special_names[i]);
            goto fail;
        }
        if (len > AN_MAX_NAME) {
            lr__err(err, LR_EFORMAT, "anomaly.events[%zu] is %zu bytes long (at most %d)", i, len,
                    AN_MAX_NAME);
            goto fail;
        }
        if (model_name(m, (int)i, s, len, err)) goto fail;
    }
    for (int i = 0; i < m->params.n; i++) {
        const lr__param_info *pi = &m->params.info[i];
        int64_t shape[2] = {pi->shape[0], pi->shape[1]};
        const lr__tensor *tt;
        if (lr__lrm_expect(f, pi->name, LR_DTYPE_F32, pi->ndim, shape, &tt, err)) goto fail;
        float *dst = m->params.value + pi->offset;
        memcpy(dst, tt->data, pi->size * sizeof(float));
        for (size_t j = 0; j < pi->size; j++)
            if (!isfinite(dst[j])) {
                lr__err(err, LR_EFORMAT, "tensor %s holds a non-finite value at %zu", pi->name, j);
                goto fail;
            }
    }
    int64_t ver;
    if (lr__lrm_get_i64(f, "anomaly.templates.version", &ver, NULL) == LR_OK &&
        !(m->miner = lr__miner_get(f, "anomaly.templates", err)))
        goto fail;
    lr__lrm_close(f);
    return m;
fail:
    lr_anomaly_free(m);
    lr__lrm_close(f);
    return NULL;
}

static lr_anomaly *named(lr_anomaly *m, const char *name, lr_error *err) {
    if (!m && err && err->code != LR_ENOMEM) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lr__err(err, err->code, "%s: %s", name, msg);
    }
    return m;
}

lr_anomaly *lr_anomaly_load(const char *path, lr_error *err) {
    lr__lrm *f = lr__lrm_open(path, err);
    if (!f) return NULL;
    return named(from_file(f, err), path, err);
}

lr_anomaly *lr_anomaly_load_memory(const void *data, size_t size, const char *name,
                                   lr_error *err) {
    lr__lrm *f = lr__lrm_open_memory(data, size, name, err);
    if (!f) return NULL;
    return named(from_file(f, err), name, err);
}

/* -------------------------------------------------------------- detection */

/* Bytes of an input line as a JSON string: invalid UTF-8 repaired. */
static int put_text(lr__buf *b, const char *s, size_t len) {
    if (lr__utf8_valid_prefix(s, len) == len) return lr__buf_put_json_string(b, s, len);
    lr__buf r;
    lr__buf_init(&r);
    int rc = lr__utf8_repair(&r, s, len) || lr__buf_put_json_string(b, r.data ? r.data : "", r.len);
    lr__buf_free(&r);
    return rc;
}

/* An event in an alert: its name, or with a miner (names are template
 * ids) the template's text. */
static int put_event(const lr_anomaly *m, lr__buf *b, const char *name, size_t len) {
    if (m->miner && len > 0 && len < 11 && strspn(name, "0123456789") == len) {
        lr_template_info ti;
        if (lr_miner_template_by_id(m->miner, (uint32_t)strtoul(name, NULL, 10), &ti) == LR_OK)
            return put_text(b, ti.text, ti.len);
    }
    return put_text(b, name, len);
}

static const char *line_text(const lr_sessions *s, size_t off, size_t *len) {
    uint32_t n32;
    memcpy(&n32, s->text.data + off - 1, sizeof n32);
    *len = n32;
    return s->text.data + off - 1 + sizeof n32;
}

/* An event and its probability, for sorting the predictions. */
typedef struct cand {
    float p;
    int id;
} cand;

/* qsort order: highest probability first, then by id. */
static int by_prob_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The alert object of session k (positions [first, end) of p). */
static int alert_json(const lr_anomaly *m, const lr_sessions *s, const sess *x,
                      const positions *p, size_t k, const int *rank, const float *probs,
                      lr_anomaly_verdict *v, lr__buf *b) {
    lr__buf_clear(b);
    int rc = lr__buf_puts(b, "{\"session\":") || put_text(b, x->id, x->id_len);
    if (x->label >= 0) rc = rc || lr__buf_printf(b, ",\"label\":%d", x->label);
    rc = rc || lr__buf_printf(b, ",\"anomalous\":%s,\"events\":%d,\"unexpected\":%d",
                              v->anomalous ? "true" : "false", x->n, v->n_unexpected);
    if (v->anomalous) {
        int q = v->position;
        size_t i = p->first[k] + (size_t)q;
        int y = p->target[i];
        rc = rc || lr__buf_printf(b, ",\"position\":%d", q);
        if (q < x->n) {
            rc = rc || lr__buf_printf(b, ",\"line\":%llu,\"event\":", (unsigned long long)x->line[q]) ||
                 put_event(m, b, s->names[x->ev[q]], s->name_len[x->ev[q]]);
        } else {
            rc = rc || lr__buf_puts(b, ",\"event\":\"<end>\"");
        }
        rc = rc || lr__buf_printf(b, ",\"known\":%s", y == LR_AN_UNK ? "false" : "true");
        if (y != LR_AN_UNK)
            rc = rc || lr__buf_printf(b, ",\"rank\":%d,\"p\":", rank[i]) ||
                 lr__buf_put_json_float(b, probs[y]);
        /* expected: the top-k (or top-p) candidates, most likely first
         * (one sort of the V events; ties in id order) */
        cand *top = lr__alloc_array((size_t)m->V, sizeof *top);
        if (!top) return LR_ENOMEM;
        int nv = 0;
        for (int c = 0; c < m->V; c++)
            if (c != LR_AN_START && c != LR_AN_UNK) /* never an event */
                top[nv++] = (cand){probs[c], c};
        qsort(top, (size_t)nv, sizeof *top, by_prob_desc);
        int nt = 0;
        double cum = 0.0;
        while (nt < nv && (m->top_p > 0 ? cum < m->top_p : nt < m->top_k)) cum += top[nt++].p;
        rc = rc || lr__buf_puts(b, ",\"expected\":[");
        for (int u = 0; u < nt; u++)
            rc = rc || (u && lr__buf_putc(b, ',')) || lr__buf_puts(b, "{\"event\":") ||
                 put_event(m, b, m->names[top[u].id], m->name_len[top[u].id]) ||
                 lr__buf_puts(b, ",\"p\":") || lr__buf_put_json_float(b, top[u].p) || lr__buf_putc(b, '}');
        lr__free(top);
        /* context: the window before it, and the lines */
        rc = rc || lr__buf_puts(b, "],\"context\":[");
        int c0 = LR_MAX(0, q - m->W);
        for (int j = c0; j < q; j++)
            rc = rc || (j > c0 && lr__buf_putc(b, ',')) ||
                 put_event(m, b, s->names[x->ev[j]], s->name_len[x->ev[j]]);
        rc = rc || lr__buf_puts(b, "],\"lines\":[");
        int l1 = LR_MIN(q, x->n - 1);
        uint64_t prev = 0;
        int first = 1;
        for (int j = c0; j <= l1; j++) {
            if (x->text[j]) {
                size_t tl;
                const char *tx = line_text(s, x->text[j], &tl);
                rc = rc || (!first && lr__buf_putc(b, ',')) ||
                     lr__buf_printf(b, "{\"line\":%llu,\"text\":", (unsigned long long)x->line[j]) ||
                     put_text(b, tx, tl) || lr__buf_putc(b, '}');
                first = 0;
            } else if (x->line[j] != prev) {
                rc = rc || (!first && lr__buf_putc(b, ',')) ||
                     lr__buf_printf(b, "%llu", (unsigned long long)x->line[j]);
                first = 0;
            }
            prev = x->line[j];
        }
        rc = rc || lr__buf_putc(b, ']');
    }
    rc = rc || lr__buf_putc(b, '}');
    return rc ? LR_ENOMEM : LR_OK;
}

static int unexpected(const lr_anomaly *m, int rank, float mass) {
    return m->top_p > 0 ? (rank == INT32_MAX || mass >= m->top_p) : rank > m->top_k;
}

int lr_anomaly_detect(const lr_anomaly *m, const lr_sessions *s, int all, int threads,
                      lr_anomaly_fn fn, void *user, lr_error *err) {
    size_t n = s->n;
    size_t *which = lr__alloc_array(n ? n : 1, sizeof *which);
    if (!which) return oom(err, "detection");
    for (size_t i = 0; i < n; i++) which[i] = i;
    positions p;
    int rc = positions_build(m, s, which, n, &p, err);
    lr__free(which);
    if (rc) return rc;
    int *rank = lr__alloc_array(p.n ? p.n : 1, sizeof *rank);
    float *mass = lr__alloc_array(p.n ? p.n : 1, sizeof *mass);
    int *want = lr__calloc(p.win.n ? p.win.n : 1, sizeof *want);
    int *firstq = lr__alloc_array(n ? n : 1, sizeof *firstq);
    float *probs = NULL;
    lr_pool *pool = NULL;
    lr__buf b;
    lr__buf_init(&b);
    if (!rank || !mass || !want || !firstq) {
        rc = oom(err, "detection");
        goto out;
    }
    if (threads != 1 && !(pool = lr_pool_new(threads, err))) {
        rc = err ? err->code : LR_ENOMEM;
        goto out;
    }
    if ((rc = score_positions(m, &p, pool, rank, mass, NULL, NULL, err))) goto out;
    /* the windows of the first unexpected positions: their probabilities */
    int n_want = 0;
    for (size_t k = 0; k < n; k++) {
        firstq[k] = -1;
        for (size_t i = p.first[k]; i < p.first[k + 1]; i++)
            if (unexpected(m, rank[i], mass[i])) {
                firstq[k] = (int)(i - p.first[k]);
                if (!want[p.wid[i]]) want[p.wid[i]] = ++n_want;
                break;
            }
    }
    if (n_want) {
        probs = lr__alloc_array((size_t)n_want * m->V, sizeof *probs);
        if (!probs) {
            rc = oom(err, "detection");
            goto out;
        }
        /* a second pass over only the wanted windows */
        positions q = p;
        tupmap sub = {0};
        sub.w = m->W;
        int *map = lr__alloc_array((size_t)n_want, sizeof *map);
        int *r2 = NULL;
        float *m2 = NULL;
        if (!map) {
            rc = oom(err, "detection");
            goto out;
        }
        for (size_t w = 0; w < p.win.n; w++)
            if (want[w]) {
                long id = tupmap_add(&sub, p.win.tup + w * m->W);
                if (id < 0) break;
                map[id] = want[w];
            }
        int *wsub = lr__alloc_array(sub.n ? sub.n : 1, sizeof *wsub);
        int *tg = lr__alloc_array(sub.n ? sub.n : 1, sizeof *tg);
        int *wid = lr__alloc_array(sub.n ? sub.n : 1, sizeof *wid);
        r2 = lr__alloc_array(sub.n ? sub.n : 1, sizeof *r2);
        m2 = lr__alloc_array(sub.n ? sub.n : 1, sizeof *m2);
        if (sub.n != (size_t)n_want || !wsub || !tg || !wid || !r2 || !m2) {
            rc = oom(err, "detection");
        } else {
            for (size_t w = 0; w < sub.n; w++) {
                wsub[w] = map[w];
                tg[w] = LR_AN_END;
                wid[w] = (int)w;
            }
            memset(&q, 0, sizeof q);
            q.win = sub;
            q.wid = wid;
            q.target = tg;
            q.n = sub.n;
            rc = score_positions(m, &q, pool, r2, m2, wsub, probs, err);
        }
        lr__free(map);
        lr__free(wsub);
        lr__free(tg);
        lr__free(wid);
        lr__free(r2);
        lr__free(m2);
        tupmap_free(&sub);
        if (rc) goto out;
    }
    for (size_t k = 0; k < n && !rc; k++) {
        const sess *x = &s->v[k];
        lr_anomaly_verdict v = {0};
        v.session = k;
        v.position = firstq[k];
        v.anomalous = firstq[k] >= 0;
        for (size_t i = p.first[k]; i < p.first[k + 1]; i++)
            v.n_unexpected += unexpected(m, rank[i], mass[i]);
        if (v.anomalous) {
            int r = rank[p.first[k] + (size_t)v.position];
            v.rank = r == INT32_MAX ? 0 : r;
        }
        if (!v.anomalous && !all) continue;
        const float *pr = v.anomalous ? probs + (size_t)(want[p.wid[p.first[k] + (size_t)v.position]] - 1) * m->V : NULL;
        if (alert_json(m, s, x, &p, k, rank, pr, &v, &b)) {
            rc = oom(err, "alerts");
            break;
        }
        v.json = b.data;
        v.json_len = b.len;
        rc = fn(user, &v);
    }
out:
    lr__buf_free(&b);
    lr_pool_free(pool);
    lr__free(rank);
    lr__free(mass);
    lr__free(want);
    lr__free(firstq);
    lr__free(probs);
    positions_free(&p);
    return rc;
}
