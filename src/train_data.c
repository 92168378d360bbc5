/*
 * train_data.c — loading labelled examples, the split, batches and the
 * validation metrics (see train_data.h for the formats and definitions).
 *
 * Loading keeps the raw label strings until the end of the file, then
 * decides between risk levels and named classes, so the class numbering
 * depends only on the set of labels, never on their order.
 */
#include "train_data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"

/* ------------------------------------------------------------ loading */

typedef struct loader {
    lr__train_data *d;
    const lr_tok *tok;
    int max_len;
    size_t ids_cap;
    int cap;
    char **raw; /* [n] label strings, owned */
    const char *path;
    /* events (fmt != raw): each text read as a log of its own */
    lr_rec_format fmt;
    int memfd;
    lr_event_encoder *enc;
} loader;

/* The model input of a labelled text read as a log in format ld->fmt, as
 * `logrisk score` reads a file holding it: the records and events readers
 * (wrappers, formats, multi-line groups), then lr_event_encode (rendering,
 * masks, window). A text that still gives several events is read from its
 * first non-empty one. Returns the number of ids (0: no event). */
static int encode_event(loader *ld, const char *text, size_t len, int32_t *ids, uint64_t line, lr_error *err) {
    int fd = ld->memfd;
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return lr__err(err, LR_EIO, "%s:%llu: memory file: %s", ld->path, (unsigned long long)line, strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return lr__err(err, LR_EIO, "%s:%llu: memory file: %s", ld->path, (unsigned long long)line,
                           strerror(errno));
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        return lr__err(err, LR_EIO, "%s:%llu: memory file: %s", ld->path, (unsigned long long)line, strerror(errno));
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = ld->fmt;
    lr_records *recs = lr_records_new(fd, &ro, err);
    lr_events *evs = recs ? lr_events_new(recs, NULL, err) : NULL;
    int n = evs ? 0 : (err && err->code ? err->code : LR_ENOMEM);
    lr_event ev;
    int got = 0, have = 0;
    while (n == 0 && (got = lr_events_next(evs, &ev, err)) == 1) {
        int k = lr_event_encode(ld->enc, &ev, ids, NULL);
        if (k < 0) {
            n = lr__err(err, k, "%s:%llu: cannot encode the text", ld->path, (unsigned long long)line);
            break;
        }
        int empty = ev.message_len == 0 && ev.error_len == 0 && !ev.level;
        if (!have || !empty) n = k; /* the first event, or the first non-empty one */
        have = 1;
        if (!empty) break;
    }
    if (n == 0 && got < 0) n = got;
    lr_events_free(evs);
    lr_records_free(recs);
    return n;
}

static int add_example(loader *ld, const char *text, size_t text_len, const char *label,
                       size_t label_len, uint64_t line, lr_error *err) {
    lr__train_data *d = ld->d;
    if (d->n == ld->cap) {
        int cap = ld->cap ? 2 * ld->cap : 1024;
        size_t *start = lr__realloc(d->start, ((size_t)cap + 1) * sizeof *start);
        if (start) d->start = start;
        int *lab = lr__realloc(d->label, (size_t)cap * sizeof *lab);
        if (lab) d->label = lab;
        uint64_t *lines = lr__realloc(d->line, (size_t)cap * sizeof *lines);
        if (lines) d->line = lines;
        char **raw = lr__realloc(ld->raw, (size_t)cap * sizeof *raw);
        if (raw) ld->raw = raw;
        if (!start || !lab || !lines || !raw)
            return lr__err(err, LR_ENOMEM, "%s: out of memory at line %llu", ld->path,
                           (unsigned long long)line);
        if (d->n == 0) d->start[0] = 0;
        ld->cap = cap;
    }
    size_t used = d->start[d->n];
    if (used + (size_t)ld->max_len > ld->ids_cap) {
        size_t cap = ld->ids_cap ? 2 * ld->ids_cap : 65536;
        while (cap < used + (size_t)ld->max_len) cap *= 2;
        int32_t *ids = lr__realloc(d->ids, cap * sizeof *ids);
        if (!ids)
            return lr__err(err, LR_ENOMEM, "%s: out of memory at line %llu", ld->path,
                           (unsigned long long)line);
        d->ids = ids;
        ld->ids_cap = cap;
    }
    int n_ids = ld->enc ? encode_event(ld, text, text_len, d->ids + used, line, err)
                        : lr_tok_encode(ld->tok, text, text_len, ld->max_len, d->ids + used);
    if (ld->enc && n_ids == 0) /* no event at all (an empty text): [CLS] [SEP] */
        n_ids = lr_tok_encode(ld->tok, "", 0, ld->max_len, d->ids + used);
    if (ld->enc && n_ids < 0) return n_ids;
    if (n_ids < 0)
        return lr__err(err, n_ids, "%s:%llu: cannot tokenize the text", ld->path,
                       (unsigned long long)line);
    char *raw = lr__strndup(label, label_len);
    if (!raw) return lr__err(err, LR_ENOMEM, "%s: out of memory", ld->path);
    ld->raw[d->n] = raw;
    d->line[d->n] = line;
    d->label[d->n] = -1;
    d->n++;
    d->start[d->n] = used + (size_t)n_ids;
    return 0;
}

static int load_jsonl(loader *ld, lr_io_reader *r, lr_error *err) {
    const char *line;
    size_t len;
    int rc;
    while ((rc = lr_io_read_line(r, &line, &len, NULL, err)) == 1) {
        uint64_t no = lr_io_lines(r);
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue;
        lr_error jerr;
        lr__json_doc *doc = lr__json_parse(line, len, 0, &jerr);
        if (!doc)
            return lr__err(err, jerr.code, "%s:%llu: %s", ld->path, (unsigned long long)no,
                           jerr.msg);
        const lr__json *root = lr__json_root(doc);
        const lr__json *text = lr__json_get(root, "text");
        const lr__json *label = lr__json_get(root, "label");
        char num[32];
        const char *lab = NULL;
        size_t lab_len = 0;
        if (label && label->type == LR_JSON_STRING) {
            lab = label->str;
            lab_len = label->len;
        } else if (label && label->type == LR_JSON_NUMBER && label->is_int) {
            lab_len = (size_t)snprintf(num, sizeof num, "%lld", (long long)label->i64);
            lab = num;
        }
        if (root->type != LR_JSON_OBJECT || !text || text->type != LR_JSON_STRING || !lab) {
            lr__json_free(doc);
            return lr__err(err, LR_EPARSE,
                           "%s:%llu: expected an object with a string \"text\" and an integer "
                           "or string \"label\"",
                           ld->path, (unsigned long long)no);
        }
        rc = add_example(ld, text->str, text->len, lab, lab_len, no, err);
        lr__json_free(doc);
        if (rc) return rc;
    }
    return rc < 0 ? rc : 0;
}

static int load_csv(loader *ld, lr_io_reader *r, lr_error *err) {
    lr_io_csv *csv = lr_io_csv_new(r, err);
    if (!csv) return err ? err->code : LR_ENOMEM;
    int rc = lr_io_csv_read(csv, err);
    if (rc <= 0) {
        lr_io_csv_free(csv);
        return rc < 0 ? rc : lr__err(err, LR_EPARSE, "%s: empty CSV file", ld->path);
    }
    int text_col = lr_io_csv_find(csv, "text"), label_col = lr_io_csv_find(csv, "label");
    if (text_col < 0 || label_col < 0) {
        lr_io_csv_free(csv);
        return lr__err(err, LR_EPARSE, "%s:1: the header needs columns \"text\" and \"label\"",
                       ld->path);
    }
    while ((rc = lr_io_csv_read(csv, err)) == 1) {
        size_t text_len, lab_len;
        const char *text = lr_io_csv_field(csv, (size_t)text_col, &text_len);
        const char *lab = lr_io_csv_field(csv, (size_t)label_col, &lab_len);
        uint64_t no = lr_io_csv_line(csv);
        if (!text || !lab) {
            rc = lr__err(err, LR_EPARSE, "%s:%llu: record has %zu fields, fewer than the header",
                         ld->path, (unsigned long long)no, lr_io_csv_n_fields(csv));
            break;
        }
        if ((rc = add_example(ld, text, text_len, lab, lab_len, no, err))) break;
    }
    lr_io_csv_free(csv);
    return rc < 0 ? rc : 0;
}

/* "0".."10" without sign, spaces or leading zeros */
static int risk_level(const char *s) {
    size_t n = strlen(s);
    if (n == 1 && s[0] >= '0' && s[0] <= '9') return s[0] - '0';
    if (n == 2 && s[0] == '1' && s[1] == '0') return 10;
    return -1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int assign_classes(loader *ld, lr_error *err) {
    lr__train_data *d = ld->d;
    int risk = 1;
    for (int i = 0; i < d->n && risk; i++) risk = risk_level(ld->raw[i]) >= 0;
    if (risk) {
        d->risk = 1;
        d->n_classes = LR_RISK_CLASSES;
        d->class_names = lr__calloc(LR_RISK_CLASSES, sizeof(char *));
        if (!d->class_names) return lr__err(err, LR_ENOMEM, "out of memory for class names");
        for (int c = 0; c < LR_RISK_CLASSES; c++) {
            char name[16];
            snprintf(name, sizeof name, "%d", c);
            if (!(d->class_names[c] = lr__strdup(name)))
                return lr__err(err, LR_ENOMEM, "out of memory for class names");
        }
        for (int i = 0; i < d->n; i++) d->label[i] = risk_level(ld->raw[i]);
        return 0;
    }
    char **sorted = lr__alloc_array((size_t)d->n, sizeof(char *));
    if (!sorted) return lr__err(err, LR_ENOMEM, "out of memory for class names");
    memcpy(sorted, ld->raw, (size_t)d->n * sizeof(char *));
    qsort(sorted, (size_t)d->n, sizeof(char *), cmp_str);
    int n_names = 0;
    for (int i = 0; i < d->n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[n_names - 1])) sorted[n_names++] = sorted[i];
    d->class_names = lr__calloc((size_t)n_names, sizeof(char *));
    if (!d->class_names) {
        lr__free(sorted);
        return lr__err(err, LR_ENOMEM, "out of memory for class names");
    }
    d->n_classes = n_names;
    for (int c = 0; c < n_names; c++)
        if (!(d->class_names[c] = lr__strdup(sorted[c]))) {
            lr__free(sorted);
            return lr__err(err, LR_ENOMEM, "out of memory for class names");
        }
    for (int i = 0; i < d->n; i++) {
        char **hit = bsearch(&ld->raw[i], sorted, (size_t)n_names, sizeof(char *), cmp_str);
        d->label[i] = (int)(hit - sorted);
    }
    lr__free(sorted);
    return 0;
}

int lr__train_data_load(lr__train_data *d, const char *path, const lr_tok *tok, int max_len,
                        lr_error *err) {
    return lr__train_data_load_events(d, path, tok, max_len, LR_REC_RAW, NULL, err);
}

int lr__train_data_load_events(lr__train_data *d, const char *path, const lr_tok *tok, int max_len,
                               lr_rec_format fmt, const lr_rules *rules, lr_error *err) {
    memset(d, 0, sizeof *d);
    if (max_len < 2) return lr__err(err, LR_EINVAL, "maximum sequence length %d < 2", max_len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lr__err(err, LR_EIO, "%s: %s", path, strerror(errno));
    lr_io_reader *r = lr_io_reader_new(fd, 0, err);
    if (!r) {
        close(fd);
        return err ? err->code : LR_ENOMEM;
    }
    loader ld = {d, tok, max_len, 0, 0, NULL, path, fmt, -1, NULL};
    size_t plen = strlen(path);
    int is_csv = plen >= 4 && strcasecmp(path + plen - 4, ".csv") == 0;
    int rc = 0;
    lr_rules *def = NULL; /* the built-in rules, borrowed by the encoder */
    if (fmt != LR_REC_RAW) {
        if (fmt == LR_REC_CSV)
            rc = lr__err(err, LR_EINVAL, "%s: the texts of labelled examples are lines or log records, not CSV",
                         path);
        else if (!rules && !(rules = def = lr_rules_default(err)))
            rc = err && err->code ? err->code : LR_ENOMEM;
        else if ((ld.memfd = memfd_create("logrisk-train", MFD_CLOEXEC)) < 0)
            rc = lr__err(err, LR_EIO, "memfd_create: %s", strerror(errno));
        else if (!(ld.enc = lr_event_encoder_new(rules, tok, max_len, 64 * 1024, err)))
            rc = err && err->code ? err->code : LR_ENOMEM;
    }
    if (!rc) rc = is_csv ? load_csv(&ld, r, err) : load_jsonl(&ld, r, err);
    lr_event_encoder_free(ld.enc);
    lr_rules_free(def);
    if (ld.memfd >= 0) close(ld.memfd);
    lr_io_reader_free(r);
    close(fd);
    if (!rc && d->n == 0) rc = lr__err(err, LR_EPARSE, "%s: no examples", path);
    if (!rc) rc = assign_classes(&ld, err);
    for (int i = 0; i < d->n; i++) lr__free(ld.raw[i]);
    lr__free(ld.raw);
    if (rc) lr__train_data_free(d);
    return rc;
}

int lr__train_input_format(const char *name, lr_rec_format *fmt, lr_error *err) {
    *fmt = LR_REC_RAW;
    if (name && (lr_records_parse_format(name, fmt) || *fmt == LR_REC_CSV))
        return lr__err(err, LR_EINVAL,
                       "input_format must be raw, auto, cri, docker, jsonl, logfmt, klog, syslog or log4j, not '%s'",
                       name);
    return 0;
}

int lr__train_data_load_lines(lr__train_data *d, const char *path, const lr_tok *tok,
                              const lr_rules *rules, int max_len, lr_error *err) {
    return lr__train_data_load_log(d, path, tok, rules, max_len, LR_REC_RAW, err);
}

int lr__train_data_load_log(lr__train_data *d, const char *path, const lr_tok *tok, const lr_rules *rules,
                            int max_len, lr_rec_format fmt, lr_error *err) {
    memset(d, 0, sizeof *d);
    if (max_len < 2) return lr__err(err, LR_EINVAL, "maximum sequence length %d < 2", max_len);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lr__err(err, LR_EIO, "%s: %s", path, strerror(errno));
    /* records (cut at 1 MiB) through the records and events readers: a raw
     * line renders as itself, so its text is the line, masked; a log format
     * gives each event's canonical rendering, masked */
    lr_records_opts ro;
    lr_records_opts_init(&ro);
    ro.format = fmt;
    ro.max_bytes = (size_t)1 << 20;
    lr_records *recs = lr_records_new(fd, &ro, err);
    lr_events *evs = recs ? lr_events_new(recs, NULL, err) : NULL;
    lr_prep *prep = evs ? lr_prep_new(rules, err) : NULL;
    int rc = prep ? 0 : (err ? err->code : LR_ENOMEM);
    loader ld = {d, tok, max_len, 0, 0, NULL, path, LR_REC_RAW, -1, NULL};
    lr__buf text;
    lr__buf_init(&text);
    lr_event ev;
    while (!rc && (rc = lr_events_next(evs, &ev, err)) == 1) {
        size_t n = lr_event_render(&ev, NULL, 0, NULL);
        lr__buf_clear(&text);
        if (lr__buf_reserve(&text, n + 1)) {
            rc = lr__err(err, LR_ENOMEM, "%s:%llu: out of memory", path, (unsigned long long)ev.line);
            break;
        }
        lr_event_render(&ev, text.data, n + 1, NULL);
        lr_line_info info;
        if ((rc = lr_prep_line(prep, text.data, n, &info)) < 0) {
            rc = lr__err(err, rc, "%s:%llu: cannot preprocess the line", path, (unsigned long long)ev.line);
            break;
        }
        rc = 0;
        if (info.text_len == 0) continue;
        rc = add_example(&ld, info.text, info.text_len, "0", 1, ev.line, err);
    }
    if (rc > 0) rc = 0;
    lr__buf_free(&text);
    lr_prep_free(prep);
    lr_events_free(evs);
    lr_records_free(recs);
    close(fd);
    if (!rc && d->n == 0) rc = lr__err(err, LR_EPARSE, "%s: no lines", path);
    if (!rc) {
        d->n_classes = 1;
        d->class_names = lr__calloc(1, sizeof(char *));
        if (!d->class_names || !(d->class_names[0] = lr__strdup("text")))
            rc = lr__err(err, LR_ENOMEM, "out of memory");
        for (int i = 0; i < d->n && !rc; i++) d->label[i] = 0;
    }
    for (int i = 0; i < d->n; i++) lr__free(ld.raw[i]);
    lr__free(ld.raw);
    if (rc) lr__train_data_free(d);
    return rc;
}

void lr__train_data_free(lr__train_data *d) {
    lr__free(d->ids);
    lr__free(d->start);
    lr__free(d->label);
    lr__free(d->line);
    if (d->class_names)
        for (int c = 0; c < d->n_classes; c++) lr__free(d->class_names[c]);
    lr__free(d->class_names);
    memset(d, 0, sizeof *d);
}

int lr__train_data_append(lr__train_data *d, const lr__train_data *v, const char *what, lr_error *err) {
    int same = d->n_classes == v->n_classes && d->risk == v->risk;
    for (int c = 0; same && c < d->n_classes; c++) same = !strcmp(d->class_names[c], v->class_names[c]);
    if (!same)
        return lr__err(err, LR_EINVAL, "%s: its labels are not the same classes as the training data's", what);
    size_t nd = d->start[d->n], nv = v->start[v->n];
    if ((size_t)d->n + (size_t)v->n > (size_t)INT32_MAX)
        return lr__err(err, LR_EINVAL, "%s: too many examples", what);
    int n = d->n + v->n;
    int32_t *ids = lr__realloc(d->ids, (nd + nv ? nd + nv : 1) * sizeof *ids);
    if (ids) d->ids = ids;
    size_t *start = ids ? lr__realloc(d->start, ((size_t)n + 1) * sizeof *start) : NULL;
    if (start) d->start = start;
    int *label = start ? lr__realloc(d->label, (size_t)n * sizeof *label) : NULL;
    if (label) d->label = label;
    uint64_t *line = label ? lr__realloc(d->line, (size_t)n * sizeof *line) : NULL;
    if (!line) return lr__err(err, LR_ENOMEM, "out of memory adding %s", what);
    d->line = line;
    memcpy(d->ids + nd, v->ids, nv * sizeof *ids);
    for (int i = 0; i < v->n; i++) {
        d->start[d->n + i + 1] = nd + v->start[i + 1];
        d->label[d->n + i] = v->label[i];
        d->line[d->n + i] = v->line[i];
    }
    d->n = n;
    return 0;
}

/* ------------------------------------------------------------ split, batches */

static uint64_t splitmix_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void lr__train_shuffle(int *idx, int n, uint64_t *rng) {
    for (int i = n - 1; i > 0; i--) {
        /* unbiased: reject the top partial range */
        uint64_t bound = (uint64_t)i + 1, limit = UINT64_MAX - UINT64_MAX % bound, r;
        do r = splitmix_next(rng);
        while (r >= limit);
        int j = (int)(r % bound);
        int tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int lr__train_split(int n, double valid_fraction, int chronological, uint64_t seed,
                    int **train_idx, int *n_train, int **valid_idx, int *n_valid,
                    lr_error *err) {
    *train_idx = *valid_idx = NULL;
    *n_train = *n_valid = 0;
    if (n <= 0 || !(valid_fraction >= 0.0 && valid_fraction < 1.0))
        return lr__err(err, LR_EINVAL, "cannot split %d examples with validation fraction %g", n,
                       valid_fraction);
    int nv = (int)(n * valid_fraction + 0.5);
    if (valid_fraction > 0.0 && nv == 0 && n >= 2) nv = 1;
    if (nv >= n) nv = n - 1;
    return lr__train_split_count(n, nv, chronological, seed, train_idx, n_train, valid_idx, n_valid, err);
}

int lr__train_split_count(int n, int nv, int chronological, uint64_t seed, int **train_idx, int *n_train,
                          int **valid_idx, int *n_valid, lr_error *err) {
    *train_idx = *valid_idx = NULL;
    *n_train = *n_valid = 0;
    if (n <= 0 || nv < 0 || nv >= n)
        return lr__err(err, LR_EINVAL, "cannot validate on %d of %d examples", nv, n);
    int *all = lr__alloc_array((size_t)n, sizeof(int));
    int *tr = lr__alloc_array((size_t)(n - nv), sizeof(int));
    int *va = lr__alloc_array((size_t)(nv ? nv : 1), sizeof(int));
    if (!all || !tr || !va) {
        lr__free(all);
        lr__free(tr);
        lr__free(va);
        return lr__err(err, LR_ENOMEM, "out of memory for the split");
    }
    for (int i = 0; i < n; i++) all[i] = i;
    if (!chronological) {
        uint64_t rng = seed;
        lr__train_shuffle(all, n, &rng);
    }
    memcpy(tr, all, (size_t)(n - nv) * sizeof(int));
    memcpy(va, all + (n - nv), (size_t)nv * sizeof(int));
    qsort(tr, (size_t)(n - nv), sizeof(int), cmp_int);
    qsort(va, (size_t)nv, sizeof(int), cmp_int);
    lr__free(all);
    *train_idx = tr;
    *n_train = n - nv;
    *valid_idx = va;
    *n_valid = nv;
    return 0;
}

void lr__train_batch(const lr__train_data *d, const int *idx, int n, int pad_id, int *ids,
                     int *mask, int *labels, int *L_out) {
    int L = 1;
    for (int b = 0; b < n; b++) {
        int len = (int)(d->start[idx[b] + 1] - d->start[idx[b]]);
        if (len > L) L = len;
    }
    for (int b = 0; b < n; b++) {
        const int32_t *src = d->ids + d->start[idx[b]];
        int len = (int)(d->start[idx[b] + 1] - d->start[idx[b]]);
        for (int j = 0; j < L; j++) {
            ids[b * L + j] = j < len ? src[j] : pad_id;
            mask[b * L + j] = j < len;
        }
        labels[b] = d->label[idx[b]];
    }
    *L_out = L;
}

/* ------------------------------------------------------------ masked LM */

static double uniform01(uint64_t *rng) {
    return (double)(splitmix_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static void corrupt(int *ids, int i, int vocab_size, int mask_id, uint64_t *rng) {
    double r = uniform01(rng);
    if (r < 0.8) ids[i] = mask_id;
    else if (r < 0.9) ids[i] = (int)(splitmix_next(rng) % (uint64_t)vocab_size);
}

int lr__mlm_mask(int *ids, const int *mask, int n, int vocab_size, int mask_id, int cls_id,
                 int sep_id, double prob, int max_masked, uint64_t *rng, int *targets) {
    int count = 0, eligible = 0;
    for (int i = 0; i < n; i++) {
        targets[i] = -1;
        if (!mask[i] || ids[i] == cls_id || ids[i] == sep_id) continue;
        eligible++;
        if (uniform01(rng) >= prob || count >= max_masked) continue;
        targets[i] = ids[i];
        corrupt(ids, i, vocab_size, mask_id, rng);
        count++;
    }
    if (count == 0 && eligible > 0 && max_masked > 0) {
        int pick = (int)(splitmix_next(rng) % (uint64_t)eligible);
        for (int i = 0; i < n; i++) {
            if (!mask[i] || ids[i] == cls_id || ids[i] == sep_id) continue;
            if (pick-- == 0) {
                targets[i] = ids[i];
                corrupt(ids, i, vocab_size, mask_id, rng);
                count = 1;
                break;
            }
        }
    }
    return count;
}

/* ------------------------------------------------------------ metrics */

int lr__metrics_init(lr__metrics *m, int n_classes, int risk, lr_error *err) {
    memset(m, 0, sizeof *m);
    if (n_classes <= 0) return lr__err(err, LR_EINVAL, "metrics need at least one class");
    m->confusion = lr__calloc((size_t)n_classes * n_classes, sizeof(long));
    if (!m->confusion) return lr__err(err, LR_ENOMEM, "out of memory for the confusion matrix");
    m->n_classes = n_classes;
    m->risk = risk;
    return 0;
}

void lr__metrics_free(lr__metrics *m) {
    lr__free(m->confusion);
    memset(m, 0, sizeof *m);
}

void lr__metrics_reset(lr__metrics *m) {
    memset(m->confusion, 0, (size_t)m->n_classes * m->n_classes * sizeof(long));
    m->n = 0;
    m->loss_sum = 0.0;
    m->loss = m->accuracy = m->macro_f1 = m->hr_precision = m->hr_recall = 0.0;
}

void lr__metrics_add(lr__metrics *m, int truth, int pred, double loss) {
    if (truth < 0 || truth >= m->n_classes || pred < 0 || pred >= m->n_classes) return;
    m->confusion[(size_t)truth * m->n_classes + pred]++;
    m->n++;
    m->loss_sum += loss;
}

void lr__metrics_finish(lr__metrics *m) {
    int C = m->n_classes;
    long correct = 0;
    double f1_sum = 0.0;
    int f1_count = 0;
    long hr_tp = 0, hr_pred = 0, hr_true = 0;
    for (int c = 0; c < C; c++) {
        long tp = m->confusion[(size_t)c * C + c], pred = 0, truth = 0;
        for (int k = 0; k < C; k++) {
            pred += m->confusion[(size_t)k * C + c];
            truth += m->confusion[(size_t)c * C + k];
        }
        correct += tp;
        if (pred == 0 && truth == 0) continue;
        double p = pred ? (double)tp / pred : 0.0, r = truth ? (double)tp / truth : 0.0;
        f1_sum += p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
        f1_count++;
    }
    if (m->risk)
        for (int t = 0; t < C; t++)
            for (int p = 0; p < C; p++) {
                long k = m->confusion[(size_t)t * C + p];
                if (p >= LR_HIGH_RISK) hr_pred += k;
                if (t >= LR_HIGH_RISK) hr_true += k;
                if (p >= LR_HIGH_RISK && t >= LR_HIGH_RISK) hr_tp += k;
            }
    m->accuracy = m->n ? (double)correct / m->n : 0.0;
    m->macro_f1 = f1_count ? f1_sum / f1_count : 0.0;
    m->loss = m->n ? m->loss_sum / m->n : 0.0;
    m->hr_precision = hr_pred ? (double)hr_tp / hr_pred : 0.0;
    m->hr_recall = hr_true ? (double)hr_tp / hr_true : 0.0;
}

int lr__metrics_json(const lr__metrics *m, char *const *class_names, lr__buf *out) {
    int C = m->n_classes, rc = 0;
    rc |= lr__buf_printf(out, "{\"examples\":%ld,\"loss\":", m->n);
    rc |= lr__buf_put_json_float(out, (float)m->loss);
    rc |= lr__buf_puts(out, ",\"accuracy\":");
    rc |= lr__buf_put_json_float(out, (float)m->accuracy);
    rc |= lr__buf_puts(out, ",\"macro_f1\":");
    rc |= lr__buf_put_json_float(out, (float)m->macro_f1);
    if (m->risk) {
        rc |= lr__buf_puts(out, ",\"high_risk_precision\":");
        rc |= lr__buf_put_json_float(out, (float)m->hr_precision);
        rc |= lr__buf_puts(out, ",\"high_risk_recall\":");
        rc |= lr__buf_put_json_float(out, (float)m->hr_recall);
    }
    rc |= lr__buf_puts(out, ",\"labels\":[");
    for (int c = 0; c < C; c++) {
        if (c) rc |= lr__buf_putc(out, ',');
        if (class_names) {
            rc |= lr__buf_put_json_string(out, class_names[c], strlen(class_names[c]));
        } else {
            rc |= lr__buf_printf(out, "%d", c);
        }
    }
    rc |= lr__buf_puts(out, "],\"confusion\":[");
    for (int t = 0; t < C; t++) {
        rc |= lr__buf_puts(out, t ? ",[" : "[");
        for (int p = 0; p < C; p++)
            rc |= lr__buf_printf(out, p ? ",%ld" : "%ld", m->confusion[(size_t)t * C + p]);
        rc |= lr__buf_putc(out, ']');
    }
    rc |= lr__buf_puts(out, "]}");
    return rc ? LR_ENOMEM : 0;
}
