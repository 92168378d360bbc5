/*
 * logrisk.h — the public API of logrisk.
 *
 * logrisk gives every log line a risk score from 0 (noise) to 10 (outage)
 * with a BERT-mini classifier, entirely in C: masking and weak labelling of
 * raw lines, a WordPiece tokenizer, the transformer forward pass, training,
 * a compact mmap-able model file and an ONNX exporter.
 *
 * Conventions (docs/design.md has the module map):
 *  - every public name has the `lr_` prefix, macros and enum values `LR_`;
 *  - objects are opaque handles made by `lr_x_new` / `lr_x_load` and released
 *    by `lr_x_free` (which accepts NULL);
 *  - functions that can fail return an `int` (0 = ok, negative `LR_E*`) or a
 *    pointer (NULL = failure) and fill the caller's `lr_error` (which may be
 *    NULL when the caller does not want the message);
 *  - library code never exits, aborts or prints.
 *
 * Each module adds its section below; the sections follow the one-way flow
 * of data: io -> rules -> tokenizer -> model -> scoring.
 */
#ifndef LOGRISK_H
#define LOGRISK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LR_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

enum {
    LR_OK = 0,
    LR_EIO = -1,          /* a read, write, open or mmap failed            */
    LR_ENOMEM = -2,       /* an allocation failed                          */
    LR_EPARSE = -3,       /* malformed text input (YAML, JSON, CSV, ...)    */
    LR_EFORMAT = -4,      /* malformed binary input (model file, ...)       */
    LR_EINVAL = -5,       /* a bad argument or option value                 */
    LR_ERANGE = -6,       /* a size or count out of the supported range     */
    LR_EUNSUPPORTED = -7, /* valid, but not supported by this build         */
    LR_ECHECKSUM = -8     /* the data does not match its checksum           */
};

/* An error: the code and a message that says what was wrong and where. */
typedef struct lr_error {
    int code;
    char msg[512];
} lr_error;

/* A short static description of an error code ("I/O error", ...). */
const char *lr_strerror(int code);

/* ------------------------------------------------------------ allocation */

/* All memory the library allocates goes through these three functions, so
 * that tests can inject failures. `lr_set_allocator(NULL)` restores libc.
 * Set it before creating any object; it is process-wide. */
typedef struct lr_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} lr_allocator;

void lr_set_allocator(const lr_allocator *allocator);

/* ---------------------------------------------------------------- threads */

/* The persistent thread pool that runs every parallel op. n_threads <= 0
 * means the number of cores this process may run on. */
typedef struct lr_pool lr_pool;

lr_pool *lr_pool_new(int n_threads, lr_error *err);
void lr_pool_free(lr_pool *pool);
int lr_pool_size(const lr_pool *pool);
/* The number of cores this process may run on (sched_getaffinity), >= 1. */
int lr_available_cores(void);

/* The name of the kernel path in use: "ref", "avx2", "avx512" or "neon". */
const char *lr_kernel_path(void);
/* The low-precision (int8, bf16) kernels in use: "ref", "avx2", "avxvnni",
 * "avx512vnni", "avx512bf16", "neon" or "neondot". */
const char *lr_qkernel_path(void);

/* --------------------------------------------------------------------- io */

/* A line reader over a file descriptor: splits on '\n' (the '\n' is not
 * part of the line; a '\r' is left for lr_prep_line), returns a last line
 * without '\n' too, never an extra empty line after a final '\n'. Memory is
 * bounded by the longest line, or by `max_line` when > 0: a longer line is
 * cut to its first max_line bytes and the rest skipped, with *truncated
 * set. Reads with read(2) and returns each line as soon as it is complete,
 * so it works on endless pipes. The reader does not own or close `fd`. */
typedef struct lr_io_reader lr_io_reader;

lr_io_reader *lr_io_reader_new(int fd, size_t max_line, lr_error *err);
void lr_io_reader_free(lr_io_reader *r);
/* Next line: 1 and *line, *len set (valid until the next call; owned by the
 * reader; *truncated may be NULL), 0 at end of input, LR_EIO/LR_ENOMEM on
 * error. End of input is not sticky: a later call reads again (tail -f). */
int lr_io_read_line(lr_io_reader *r, const char **line, size_t *len, int *truncated, lr_error *err);
/* Lines returned so far. */
uint64_t lr_io_lines(const lr_io_reader *r);
/* 1 when a complete line is already buffered (the next read will not
 * block), else 0 — for callers that flush output or poll() before reading. */
int lr_io_reader_buffered(const lr_io_reader *r);
/* Follow mode: lr_io_read_line returns 2 instead of blocking, and on a
 * regular file returns 2 at end of file (more may be appended, tail -f)
 * keeping an unterminated last line. end_input: from now on act as at end
 * of input (the buffered lines, an unterminated last line, then 0). */
void lr_io_reader_set_follow(lr_io_reader *r, int on);
void lr_io_reader_end_input(lr_io_reader *r);

/* An RFC 4180 CSV reader on top of a line reader (borrowed, not owned):
 * ',' separated, '"' quoted fields with "" for a quote, newlines inside
 * quotes, CRLF or LF record ends. A '"' inside an unquoted field is kept as
 * is; text after a closing quote is appended to the field (like Python's
 * csv module); a quote still open at end of input is an error. */
typedef struct lr_io_csv lr_io_csv;

lr_io_csv *lr_io_csv_new(lr_io_reader *lines, lr_error *err);
void lr_io_csv_free(lr_io_csv *c);
/* Next record: 1, 0 at end of input, or LR_EPARSE/LR_EIO/LR_ENOMEM. */
int lr_io_csv_read(lr_io_csv *c, lr_error *err);
size_t lr_io_csv_n_fields(const lr_io_csv *c);
/* Field i of the current record (owned by c, valid until the next read;
 * NUL-terminated, *len its length); NULL when i is out of range. */
const char *lr_io_csv_field(const lr_io_csv *c, size_t i, size_t *len);
/* The index of the field equal to `name` in the current record (read the
 * header first), or -1. */
int lr_io_csv_find(const lr_io_csv *c, const char *name);
/* The input line number (1-based) where the current record starts. */
uint64_t lr_io_csv_line(const lr_io_csv *c);
/* Bound the memory of a record: at most max_bytes of field text are kept
 * (0: no bound, the default); the rest of a longer record is read and
 * dropped, its fields past the cut are missing, and lr_io_csv_truncated
 * says so until the next read. */
void lr_io_csv_set_max(lr_io_csv *c, size_t max_bytes);
int lr_io_csv_truncated(const lr_io_csv *c);

/* ---------------------------------------------------------------- records */

/* Log records from the formats logs are stored in (src/records.c): raw
 * lines, CRI container logs (partial P lines joined until F), Docker
 * json-file (split "log" values joined until one ends in '\n', which is
 * stripped), JSON lines (message in a field), CSV (message in a column).
 * auto decides on the first non-empty line. Lines not of the format are
 * records of their raw text, flagged malformed and counted. */
typedef enum lr_rec_format {
    LR_REC_AUTO = 0, LR_REC_RAW, LR_REC_CRI, LR_REC_DOCKER, LR_REC_JSONL, LR_REC_CSV,
    /* record formats inside a line (docs/events.md): parsed by the event layer */
    LR_REC_LOGFMT, LR_REC_KLOG, LR_REC_SYSLOG, LR_REC_LOG4J
} lr_rec_format;
#define LR_REC_N_FORMATS 10

typedef struct lr_records_opts {
    lr_rec_format format;   /* default LR_REC_AUTO (csv when column is set)       */
    const char *field;      /* jsonl: dotted path; NULL: message, msg, log        */
    const char *column;     /* csv: header name or 1-based number; NULL: message,
                               msg, log                                           */
    size_t max_bytes;       /* a message is cut at this many bytes (64 KiB)       */
    int follow;             /* never block: next() returns 2 (not csv)           */
} lr_records_opts;

/* One record; msg is owned by the reader and valid until the next call. */
typedef struct lr_record {
    const char *msg;        /* the message bytes (no '\n', no trailing '\r')    */
    size_t len;
    uint64_t line;          /* 1-based physical line where the record starts   */
    int truncated;          /* cut at max_bytes                                */
    int malformed;          /* not of the format: the raw line                 */
    uint64_t line_end;      /* last physical line of the record (joined partials) */
    lr_rec_format kind;     /* what the line was: raw, cri, docker, jsonl or csv */
    const char *payload;    /* the text the event layer parses: the message for
                               cri, docker and csv, the line for raw (with its
                               '\r', which lr_prep_line removes), the whole
                               object for jsonl (msg holds its message field) */
    size_t payload_len;
    const char *stream;     /* cri / docker: the stream ("" when none), and the */
    size_t stream_len;      /* wrapper's time ("" when none), of the first piece */
    const char *time;       /* of a joined record; at most LR_EVENT_META_MAX    */
    size_t time_len;        /* bytes each                                       */
} lr_record;

typedef struct lr_records lr_records;

void lr_records_opts_init(lr_records_opts *opts);
int lr_records_parse_format(const char *name, lr_rec_format *out); /* 0 or LR_EINVAL */
const char *lr_records_format_name(lr_rec_format f);
/* fd is borrowed (not closed); opts strings are copied. */
lr_records *lr_records_new(int fd, const lr_records_opts *opts, lr_error *err);
void lr_records_free(lr_records *r);
/* 1 and *rec, 0 at end of input, 2 (follow) nothing complete yet, or < 0. */
int lr_records_next(lr_records *r, lr_record *rec, lr_error *err);
/* Treat the input as ended (SIGTERM): what is buffered is still returned. */
void lr_records_end_input(lr_records *r);
/* 1 when a record may be available without reading. */
int lr_records_buffered(const lr_records *r);
/* The format in use (auto: as detected so far) and the malformed count. */
lr_rec_format lr_records_format(const lr_records *r);
uint64_t lr_records_malformed(const lr_records *r);

/* ----------------------------------------------------------------- events */

/* The canonical event (docs/events.md): every record, whatever its format
 * and wrappers, becomes the same fields, and the model reads one rendering
 * of them. Strings point into the reader and stay valid until its next
 * call; they are the record's bytes (JSON and quoted values decoded), not
 * necessarily valid UTF-8. */
/* Metadata taken from a wrapper or header (host, stream, wrapper time) is
 * cut at this many bytes: a hostile value costs bounded memory. */
#define LR_EVENT_META_MAX 255

typedef struct lr_event {
    const char *time;       /* as written in the record, else the wrapper's
                               (CRI or Docker) time ("" when none)              */
    size_t time_len;
    const char *level;      /* canonical level ("ERROR") from a level field, the
                               klog letter, syslog PRI or a log4j/Python header;
                               NULL: none (the rules find it in the text)      */
    const char *source;     /* logger, caller, program or unit ("" when none)   */
    size_t source_len;
    const char *host;       /* the syslog HOSTNAME, or a JSON record's _HOSTNAME,
                               hostname, host or host.name ("" when none; at
                               most LR_EVENT_META_MAX bytes)                    */
    size_t host_len;
    const char *stream;     /* the CRI or Docker stream ("stdout", "stderr"; a
                               Docker value as written, at most
                               LR_EVENT_META_MAX bytes; "" when none)           */
    size_t stream_len;
    const char *wrapper_time; /* the CRI or Docker record's own time ("" when
                               none), whether or not the inner record has one  */
    size_t wrapper_time_len;
    const char *message;
    size_t message_len;
    const char *error;      /* error detail (err, error, exception, stack ...
                               fields) then the group's continuation lines,
                               '\n'-separated ("" when none)                   */
    size_t error_len;
    lr_rec_format format;   /* innermost format: raw (plain text), jsonl, logfmt,
                               klog, syslog or log4j                            */
    lr_rec_format wrapper;  /* cri, docker, csv, or raw when none                */
    uint64_t line, line_end;/* first and last physical line of the event        */
    int n_records;          /* records joined (1 + continuation lines)          */
    int truncated;          /* a record or the group was cut                    */
    int malformed;          /* a line not of the requested format: raw text     */
    int as_is;              /* read with --input-format raw or csv: the line is
                               the model's text as it is (no window rule for
                               plain text)                                     */
    const char *record;     /* a JSON record (jsonl line, or a JSON message in
                               cri / docker / csv): its object text as read;
                               NULL for any other record                       */
    size_t record_len;
} lr_event;

/* The model input of an event, before the masks (docs/events.md):
 *     [LEVEL " "] message [": " error]
 * LEVEL only when ev->level is set; ": " only when both message and error
 * are non-empty. Writes at most cap bytes (NUL-terminated when cap > 0) and
 * returns the full length; *head_len (may be NULL) gets the length of the
 * part before the error detail. Never allocates. */
size_t lr_event_render(const lr_event *ev, char *out, size_t cap, size_t *head_len);

/* Canonical level name of a level word or number as loggers write it
 * ("warning", "W", "err", "50", ...); NULL when unknown. */
const char *lr_event_level_name(const char *word, size_t len);

typedef struct lr_events_opts {
    int multiline;          /* join continuation lines (default 1; raw and csv
                               input never group)                              */
    int max_group_lines;    /* a group is closed at this many lines (256)       */
    size_t max_group_bytes; /* ... or bytes (64 KiB)                            */
    double group_timeout;   /* follow: an open group is closed after this many
                               seconds without a continuation (1.0)            */
    const char *field;      /* jsonl: the message field (dotted path) or NULL   */
} lr_events_opts;

typedef struct lr_events lr_events;

void lr_events_opts_init(lr_events_opts *opts);
/* Events from the records of `recs` (borrowed: it must outlive the reader). */
lr_events *lr_events_new(lr_records *recs, const lr_events_opts *opts, lr_error *err);
void lr_events_free(lr_events *e);
/* 1 and *ev, 0 at end of input, 2 (follow) nothing complete yet, or < 0. */
int lr_events_next(lr_events *e, lr_event *ev, lr_error *err);
/* 1 when a group is open (it is handed out on the next record that does not
 * continue it, at end of input, or after group_timeout in follow mode). */
int lr_events_open_group(const lr_events *e);
/* Close the open group now: the next lr_events_next hands it out without
 * reading (a pipe that went quiet). */
void lr_events_end_group(lr_events *e);
/* Groups closed at the line or byte cap; malformed records (records' count
 * plus lines not of a requested inner format). */
uint64_t lr_events_groups_cut(const lr_events *e);
uint64_t lr_events_malformed(const lr_events *e);

/* ------------------------------------------------------------------ rules */

/* Preprocess and weak-label: mask a raw line, find its level,
 * score it 0..10 from the level and keywords. The rules come from a YAML
 * file (models/rules/seed.yaml is built in; docs/rules.md). An
 * lr_rules is immutable after load and may be shared by any number of
 * threads; each thread uses its own lr_prep. */
typedef struct lr_rules lr_rules;

/* The built-in seed rules (models/rules/seed.yaml). Caller owns the result. */
lr_rules *lr_rules_default(lr_error *err);
/* Load a rules file; errors are "file:line:column: message". */
lr_rules *lr_rules_load(const char *path, lr_error *err);
/* The same from `len` bytes in memory; `source_name` is used in messages.
 * The text is copied. */
lr_rules *lr_rules_parse(const char *yaml, size_t len, const char *source_name, lr_error *err);
void lr_rules_free(lr_rules *rules);
/* The YAML source text the rules were loaded from (owned by rules), to
 * store in model files; *len set when len != NULL. */
const char *lr_rules_yaml(const lr_rules *rules, size_t *len);

typedef struct lr_line_info {
    const char *text;  /* masked, valid UTF-8, NUL-terminated (it may also hold NUL bytes);
                        * owned by the lr_prep, valid until its next call */
    size_t text_len;
    const char *level; /* canonical level name ("ERROR") or NULL; owned by the rules.
                        * This is `level_raw` in outputs: with the default
                        * rules it is the matched word itself; a level alias
                        * (klog "E1122", level=error, ...) gives the level it
                        * maps to. */
    int label;         /* weak label 0..10 */
    int regex_limits;  /* user regexes (masks, level aliases) that failed on this
                        * line with a limit or another error (0 normally): a
                        * mask that failed replaced the rest of the text from
                        * where its search started, an alias that failed gave
                        * no level (lr_prep_regex_limits counts them all) */
} lr_line_info;

/* Per-thread working state; borrows `rules`, which must outlive it. */
typedef struct lr_prep lr_prep;

lr_prep *lr_prep_new(const lr_rules *rules, lr_error *err);
void lr_prep_free(lr_prep *prep);
/* Preprocess one raw line: `len` bytes without the '\n' (may hold NUL,
 * invalid UTF-8, a '\r' at the end). Fills *out; returns 0 or LR_ENOMEM. */
int lr_prep_line(lr_prep *prep, const char *line, size_t len, lr_line_info *out);

/* The whole `preprocess` / `label` job on a stream: one output record per
 * input line (or CSV record), in order, flushed whenever the input has no
 * complete line buffered (so pipes stream). */
enum { LR_FORMAT_JSONL = 0, LR_FORMAT_CSV = 1 };
typedef struct lr_prep_stream_opts {
    int with_label;        /* 1: add "label" (logrisk label) */
    int out_format;        /* LR_FORMAT_JSONL: {"text":..,"level_raw":..[,"label":N]}
                            * LR_FORMAT_CSV: header text,level_raw[,label] */
    int in_format;         /* LR_FORMAT_JSONL means raw lines here; LR_FORMAT_CSV */
    const char *column;    /* CSV input: the column holding the line ("text") */
    size_t max_line;       /* 0: no limit; else longer lines are cut */
    const char *input_format; /* not CSV: NULL or "raw" reads raw lines (the seed
                            * behaviour); any other lr_records format name
                            * ("auto", "cri", "klog", ...) reads events and
                            * writes their canonical rendering, masked, with
                            * "line" and "line_end" (docs/events.md) */
    int single_line;       /* events: no multi-line groups */
} lr_prep_stream_opts;

/* Read `in_fd` to its end, write the records to `out_fd`. *n_records (may
 * be NULL) gets the number written. Returns 0 or an LR_E* code with err. */
int lr_prep_stream(const lr_rules *rules, int in_fd, int out_fd, const lr_prep_stream_opts *opts,
                   uint64_t *n_records, lr_error *err);

/* -------------------------------------------------------------- tokenizer */

/* BERT uncased WordPiece, id for id like Hugging Face `tokenizers`
 * (BertNormalizer + BertPreTokenizer + WordPiece + "[CLS] $A [SEP]"). The
 * five specials and the five masks <TIME> <ID> <IP> <PID> <PATH> (when in
 * the vocab) are matched in the raw text and never split. An lr_tok is
 * immutable after load and may be shared by any number of threads. */
typedef struct lr_tok lr_tok;

#define LR_TOK_MAX_LEN 128 /* default sequence length, [CLS] and [SEP] included */
enum { LR_TOK_PAD = 0, LR_TOK_UNK = 1, LR_TOK_CLS = 2, LR_TOK_SEP = 3, LR_TOK_MASK = 4 };

/* Load a Hugging Face vocab.txt (one token a line, the line number is the
 * id). NULL + err when it cannot be read, is not UTF-8, or lacks one of
 * [PAD] [UNK] [CLS] [SEP] [MASK]. The caller owns the result. */
lr_tok *lr_tok_load(const char *vocab_path, lr_error *err);
/* The same from `len` bytes in memory (e.g. a model file); not kept. */
lr_tok *lr_tok_from_text(const char *vocab_txt, size_t len, lr_error *err);
void lr_tok_free(lr_tok *tok);
int lr_tok_vocab_size(const lr_tok *tok);
/* The token string of `id` (NUL-terminated, owned by tok; *len set when
 * len != NULL); NULL if out of range. */
const char *lr_tok_token(const lr_tok *tok, int id, size_t *len);
/* The id of a token string, -1 if absent. */
int lr_tok_id(const lr_tok *tok, const char *token, size_t len);
/* The id of LR_TOK_PAD / _UNK / _CLS / _SEP / _MASK; -1 for a bad `which`. */
int lr_tok_special(const lr_tok *tok, int which);
/* Ids of [CLS] text [SEP] into ids[max_len], the text's tokens cut to
 * max_len - 2. `text` is any bytes (invalid UTF-8 is dropped, as U+FFFD
 * is). Returns the count (2..max_len), or LR_EINVAL for max_len < 2 or NULL
 * arguments. Never allocates; thread-safe. */
int lr_tok_encode(const lr_tok *tok, const char *text, size_t len, int max_len, int32_t *ids);

/* An event's model input (docs/events.md, "The window"): its rendering
 * (lr_event_render) masked with the rules (NULL: not masked) and tokenized
 * so that the level, the start of the message and the start of the error
 * detail are always within max_len ids (a plain line too long for them is
 * read from its level word, unless ev->as_is); a rendering longer than max_bytes
 * is cut first (head and the detail's start kept). One encoder per thread;
 * tok and rules are borrowed and must outlive it. */
typedef struct lr_event_encoder lr_event_encoder;
typedef struct lr_event_input {
    const char *text;       /* the rendering (unmasked, after the byte cut);
                               owned by the encoder, valid until its next call */
    size_t len, head_len;   /* its length, and that of level + message       */
    size_t skipped;         /* bytes of a plain line's prefix not read (the
                               line did not fit; it is read from its level word) */
    int truncated;          /* the byte cut applied                           */
} lr_event_input;

lr_event_encoder *lr_event_encoder_new(const lr_rules *rules, const lr_tok *tok, int max_len, size_t max_bytes,
                                       lr_error *err);
void lr_event_encoder_free(lr_event_encoder *enc);
/* Regex limits met while masking (lr_prep_regex_limits of its rules). */
uint64_t lr_event_encoder_regex_limits(const lr_event_encoder *enc);
/* [CLS] ... [SEP] ids into ids[max_len]; returns their count (2..max_len) or
 * LR_ENOMEM. *in (may be NULL) describes the text. */
int lr_event_encode(lr_event_encoder *enc, const lr_event *ev, int32_t *ids, lr_event_input *in);

/* Learning a WordPiece vocabulary (docs/tokenizer.md): BPE-style merges
 * with "##" continuations over the words the tokenizer itself sees. Feed
 * preprocessed lines with _add, then _save writes a vocab.txt of at most
 * vocab_size tokens: [PAD] [UNK] [CLS] [SEP] [MASK], the five masks, the
 * corpus alphabet, the merges in order. Pairs seen fewer than min_freq
 * times (>= 1) are not merged. */
typedef struct lr_vocab_learner lr_vocab_learner;

lr_vocab_learner *lr_vocab_learner_new(lr_error *err);
void lr_vocab_learner_free(lr_vocab_learner *l);
int lr_vocab_learner_add(lr_vocab_learner *l, const char *text, size_t len, lr_error *err);
int lr_vocab_learner_save(lr_vocab_learner *l, int vocab_size, int min_freq, const char *path, lr_error *err);
/* The whole `logrisk vocab` job: raw lines of corpus_path ("-": stdin),
 * masked with `rules` (NULL: used as they are), learned, written. */
int lr_vocab_learn_file(const char *corpus_path, const lr_rules *rules, int vocab_size, int min_freq,
                        const char *out_path, lr_error *err);
/* The same job on the events of `evs` (borrowed): each event's rendering
 * (lr_event_render; a raw line renders as itself), masked with `rules`. */
int lr_vocab_learn_events(lr_events *evs, const lr_rules *rules, int vocab_size, int min_freq,
                          const char *out_path, lr_error *err);

/* The `logrisk tokenize` job (src/tokenize.c): every event of the input
 * encoded as the model sees it (lr_event_encode: rendering, masks, window)
 * and written as one JSON line, in input order:
 *     {"tokens":["[CLS]",...,"[SEP]"],"ids":[2,...,3]}
 * with "line" and "line_end" (its first and last input line) added when
 * the input is a log format rather than raw lines. */
typedef struct lr_tokenize_opts {
    const char *vocab_path; /* vocab.txt (required)                            */
    const char *rules_path; /* masking rules; NULL: the built-in rules          */
    int mask;               /* 0: the text as it is, no masks (default 1)       */
    int max_len;            /* ids per event with [CLS] and [SEP], 2..65536
                               (default LR_TOK_MAX_LEN)                        */
    lr_rec_format format;   /* LR_REC_RAW (default): each line whole, as it is;
                               else the events of this format                  */
    int multiline;          /* log formats: join continuation lines (default 1) */
} lr_tokenize_opts;

void lr_tokenize_opts_init(lr_tokenize_opts *opts);
/* Read in_fd (borrowed) to its end and write the lines to out (borrowed,
 * flushed, not closed). LR_EINVAL for bad opts (no vocab, max_len out of
 * range, rules_path with mask off), the load errors of the vocabulary and
 * the rules, the readers' errors, LR_EIO when writing fails. */
int lr_tokenize_stream(const lr_tokenize_opts *opts, int in_fd, FILE *out, lr_error *err);

/* The `logrisk vocab` job on any input (src/tokenize.c): the events of
 * in_fd (borrowed; read as lr_tokenize_stream reads them), each event's
 * rendering masked with the rules and learned into a vocab.txt of at most
 * vocab_size tokens at out_path (lr_vocab_learn_events). */
typedef struct lr_vocab_opts {
    const char *rules_path; /* masking rules; NULL: the built-in rules          */
    int mask;               /* 0: learn from the text as it is (default 1)      */
    int vocab_size;         /* tokens in the vocabulary, >= 11 (required)       */
    int min_freq;           /* merge pairs seen at least this often (default 2) */
    lr_rec_format format;   /* LR_REC_RAW (default): each line whole            */
    int multiline;          /* log formats: join continuation lines (default 1) */
} lr_vocab_opts;

void lr_vocab_opts_init(lr_vocab_opts *opts);
int lr_vocab_learn_stream(const lr_vocab_opts *opts, int in_fd, const char *out_path, lr_error *err);

/* ------------------------------------------------------------------ model */

/* A BERT classifier loaded from an .lrm file, mapped with mmap: embedding
 * tables are used in place; the encoder's Linear weights are repacked once
 * at load into the GEMM's panel layout (and their mapped pages dropped). Read-only after load: share one lr_model across
 * threads, with one lr_model_ctx (scratch) per calling thread. */
typedef struct lr_model lr_model;

/* mmap and validate `path`. NULL + err on any problem (the message names
 * the file and what is wrong). The caller owns the result. */
lr_model *lr_model_load(const char *path, lr_error *err);
/* The same from an image in memory (64-byte aligned, e.g. a model built
 * into the binary); `data` is borrowed and must outlive the model. */
lr_model *lr_model_load_memory(const void *data, size_t size, const char *name, lr_error *err);
void lr_model_free(lr_model *m);

/* Cold start: lr_model_load with flags (0 = lr_model_load). With
 * LR_MODEL_LOAD_SKIP_DATA_CHECKSUM the header checksum and every structural
 * check still run (no bad offset or size gets through), but the 64-bit
 * checksum over all weight bytes is skipped and pages are read lazily:
 * corrupted weight VALUES would go unnoticed (lr_model_verify checks them
 * later: LR_OK or LR_ECHECKSUM). `logrisk score` uses it unless --verify. */
enum { LR_MODEL_LOAD_SKIP_DATA_CHECKSUM = 1u };
lr_model *lr_model_load_flags(const char *path, unsigned flags, lr_error *err);
lr_model *lr_model_load_memory_flags(const void *data, size_t size, const char *name,
                                     unsigned flags, lr_error *err);
int lr_model_verify(const lr_model *m, lr_error *err);

/* Sizes and head of a model (for FLOP counts and `inspect`). */
typedef struct lr_model_info {
    int vocab_size, hidden, n_layers, n_heads, intermediate, max_positions;
    int n_labels, head_hidden; /* head_hidden: MLP head only, else 0 */
    const char *head;          /* "mlp", "linear" or "pooler_linear" */
    const char *dtype;         /* encoder weights: "f32", "q8" or "bf16" (lr_model_quantize) */
} lr_model_info;
void lr_model_get_info(const lr_model *m, lr_model_info *info);

/* Label names (i in [0, n_labels)); not NUL-terminated: use *len. */
int lr_model_n_labels(const lr_model *m);
const char *lr_model_label(const lr_model *m, int i, size_t *len);
/* Longest token sequence the model was trained for ([CLS] and [SEP]
 * included; tokenizer.max_len, at most max_positions). */
int lr_model_max_len(const lr_model *m);
/* The vocab.txt text stored in the model (for lr_tok_from_text). */
const char *lr_model_vocab_text(const lr_model *m, size_t *len);
/* The rules YAML used in training, or NULL when the model has none. */
const char *lr_model_rules_yaml(const lr_model *m, size_t *len);

/* Per-thread scratch for calls of up to max_tokens tokens in total. */
typedef struct lr_model_ctx lr_model_ctx;
lr_model_ctx *lr_model_ctx_new(const lr_model *m, int max_tokens, lr_error *err);
void lr_model_ctx_free(lr_model_ctx *c);

/* logits[n * C] for n token sequences: ids[i] holds lens[i] token ids
 * ([CLS] first, [SEP] last, no padding; lengths may differ). Sequences are
 * packed end to end, so mixed lengths cost no padding. The pool (may be
 * NULL) threads every op. Errors: LR_ERANGE (more tokens than the ctx was
 * made for, a sequence longer than max_positions, an empty one), LR_EINVAL
 * (a token id outside the vocabulary). */
int lr_model_logits(lr_model_ctx *c, lr_pool *pool, const int32_t *const *ids, const int *lens,
                    int n, float *logits, lr_error *err);

/* From one row of C logits: softmax probabilities (probs may be NULL), the
 * risk score = the median class index (class i spread evenly over
 * [i - 0.5, i + 0.5]: the point where the cumulative probability reaches
 * 1/2; for the 11-class risk head a real number 0..10 that minimises the
 * expected absolute error and moves when the model is unsure between two
 * points; for other label sets the median index in label order), and the
 * argmax label (first maximum). */
void lr_model_outputs(const float *logits, int n_labels, float *probs, float *score, int *label);

/* --------------------------------------------------------- built-in model */

/* The model embedded in the program at build time (Makefile MODEL=, default
 * models/logrisk-mini.lrm; docs/building.md).
 * Only programs linked with BUILD/logrisk-model.o carry one (the CLI does);
 * elsewhere lr_model_has_builtin() is 0 and the load fails with
 * LR_EUNSUPPORTED "this build has no built-in model". The image is used in
 * place (no copy); the caller owns the returned model (lr_model_free). */
int lr_model_has_builtin(void);
lr_model *lr_model_load_builtin(lr_error *err);
/* The same with lr_model_load_flags' flags (LR_MODEL_LOAD_SKIP_DATA_CHECKSUM). */
lr_model *lr_model_load_builtin_flags(unsigned flags, lr_error *err);

/* ----------------------------------------------------- model description */

/* The `logrisk inspect` report (src/describe.c) of the model file at `path`
 * (NULL: the model built into this program): its header (format version,
 * size, both checksums), every metadata entry and the tensor table with
 * the number of parameters; a table for people, or with LR_DESCRIBE_JSON
 * one JSON object with full metadata values. Both checksums are verified.
 * Nothing is written for a file whose structure is not sound (its error is
 * returned); on a data checksum mismatch the report is written (the data
 * checksum marked MISMATCH, or "data_checksum_ok":false) and LR_ECHECKSUM
 * returned. `out` is borrowed and flushed; LR_EIO when writing fails. */
enum { LR_DESCRIBE_JSON = 1u };
int lr_model_describe(const char *path, unsigned flags, FILE *out, lr_error *err);

/* --------------------------------------------------------------- convert */

typedef struct lr_convert_options {
    const char *vocab_path; /* NULL: DIR/vocab.txt (required)                  */
    const char *rules_path; /* NULL: the built-in default rules, when available */
    const char *labels;     /* "a,b,c" or NULL: config id2label, else "0".."C-1" */
} lr_convert_options;

/* Convert a Hugging Face BERT directory (model.safetensors, config.json,
 * vocab.txt) to an .lrm file at out_path. opts may be NULL. */
int lr_convert_safetensors(const char *dir, const char *out_path, const lr_convert_options *opts,
                           lr_error *err);

/* ------------------------------------------------------------ quantize */

/* Write a quantized copy of the f32 model at in_path (NULL: the model built
 * into this program) to out_path, atomically. dtype "q8": the encoder's
 * Linear weights as int8 with a scale per output channel (activations are
 * quantized per row at run time); "bf16": those weights as bfloat16.
 * Everything else (embeddings, LayerNorms, biases, head, vocabulary, rules,
 * labels) is copied unchanged, and `model.dtype` records the type. Errors:
 * LR_EINVAL (unknown dtype), LR_EUNSUPPORTED (the input is already
 * quantized), the load and write errors of the model file. */
int lr_model_quantize(const char *in_path, const char *out_path, const char *dtype,
                      lr_error *err);

/* ------------------------------------------------------------ onnx export */

typedef struct lr_onnx_options {
    int opset;          /* 14 (default when 0): LayerNorm and GELU decomposed in the
                           patterns ONNX Runtime fuses; 17: LayerNormalization nodes */
    uint64_t max_bytes; /* refuse a larger file; 0 (or more than 2^31 - 1): the
                           protobuf limit of 2 GB */
} lr_onnx_options;

/* Export the .lrm model at model_path as an ONNX file at onnx_path (written
 * atomically: a temporary file beside it, then rename). Inputs input_ids and
 * attention_mask (int64 [batch, sequence]), output logits (float [batch, C]);
 * metadata_props carry the labels, max_len, vocabulary and rules
 * (docs/onnx.md). opts may be NULL. LR_ERANGE when the file would exceed
 * the limit (nothing is written then). */
int lr_export_onnx(const char *model_path, const char *onnx_path, const lr_onnx_options *opts,
                   lr_error *err);
/* The same from a model image in memory (64-byte aligned, e.g. the model
 * built into the binary); `image` is borrowed for the call, `name` (may be
 * NULL) is used in messages. */
int lr_export_onnx_memory(const void *image, size_t size, const char *name, const char *onnx_path,
                          const lr_onnx_options *opts, lr_error *err);

/* ---------------------------------------------------------------- scoring */

/* The scoring pipeline: raw lines in, one result per line out, in input
 * order. Lines are preprocessed with the model's rules, tokenized with its
 * vocabulary, queued in a window of batch * window lines, sorted by token
 * count into batches (so short lines are not padded), scored, and handed
 * to a sink in arrival order. A scorer is used by one thread at a time; its
 * pool threads every GEMM. */
typedef struct lr_scorer lr_scorer;

/* What the built-in writer writes (lr_score_opts.output). */
typedef enum lr_score_output {
    LR_SCORE_COMPACT = 0,   /* {"line":N,"line_end":M,"risk_label":L,"risk_score":S,
                               "probabilities":[..]} (+ "logits", "top", "message") */
    LR_SCORE_ENRICH,        /* the record itself plus its risk: a JSON record's own
                               members (else "message"), then "risk_score",
                               "risk_label", "line", "line_end", the caller's
                               metadata, then "top" / "probabilities" when asked
                               (lr_scorer_push_event_ex)                          */
    LR_SCORE_CSV            /* CSV with a header line                              */
} lr_score_output;

typedef struct lr_score_opts {
    int n_threads;          /* threads of the scorer's pool; <= 0: available cores */
    int batch;              /* lines per model call, 1..256 (default 32)           */
    int window;             /* batches per length-sorting window (default 8);
                               1 for low-latency streaming                          */
    int with_logits;        /* JSON output adds "logits" (default 0)               */
    size_t max_line_bytes;  /* bytes of a raw line kept (default 64 KiB); the rest
                               of a longer line is dropped, see score.c           */
    const lr_rules *rules;  /* borrowed; NULL: the model's rules, else the defaults */
    int cache_entries;      /* LRU cache of token sequences -> logits (4096; 0 off) */
    int echo;               /* output adds "message" (the record's message)        */
    int top_k;              /* output adds "top":[{"label":L,"p":P},..] (0: none)   */
    double min_risk;        /* write only lines with risk_label or risk_score >= it */
    lr_score_output output; /* the built-in writer's form (default compact)        */
    int with_probs;         /* enrich: add "probabilities" (compact always has them) */
    lr_pool *pool;          /* borrowed thread pool (n_threads is then unused);
                               NULL: the scorer makes its own                      */
    int max_batch_tokens;   /* tokens of one model call at most (0: batch * max_len);
                               a batch is cut at `batch` lines or this many tokens */
    struct lr_miner *miner; /* borrowed template miner, or NULL: every event gets
                               its template (lr_miner_event_text with the scorer's
                               rules) in arrival order; output adds "template_id"
                               and "novel":true when the event created it      */
    int miner_match_only;   /* assign with lr_miner_match: the miner never learns */
    int template_text;      /* output adds "template", the template's text when
                               the event was assigned (null: no template)      */
    const char *miner_path; /* where the drivers (lr_scorer_run_records in follow
                               mode, lr_scorer_run_inputs) save the miner,
                               atomically, when it has learnt since the last
                               save: at each checkpoint and at the end. NULL:
                               the caller saves                                */
} lr_score_opts;

/* One scored line. Pointers are valid only during the sink call. */
typedef struct lr_score_result {
    uint64_t line;          /* 1-based number of the input line               */
    uint64_t line_end;      /* its last physical line (a multi-line event)    */
    int label;              /* argmax class index (risk_label)                */
    float score;            /* median class index (risk_score; lr_model_outputs) */
    int n_labels;
    const float *probs;     /* n_labels softmax probabilities                 */
    const float *logits;    /* n_labels logits                                */
    int n_tokens;           /* tokens the model saw, incl. [CLS] and [SEP]    */
    int truncated;          /* the raw line was longer than max_line_bytes    */
    const char *record;     /* enrich: the record given to push_event_ex (NULL:
                               none; then message is the event's message)     */
    size_t record_len;
    const char *meta;       /* enrich: the caller's metadata members (or NULL) */
    size_t meta_len;
    const char *message;    /* echo / enrich: the event's text (or NULL)      */
    size_t message_len;
    uint32_t template_id;   /* opts.miner: the event's template (0: none)     */
    int novel;              /* the event created its template                 */
    const char *template_text; /* opts.template_text: the template (or NULL)  */
    size_t template_len;
} lr_score_result;

/* A sink gets every result in input order; non-zero stops the scorer and
 * is returned by push/flush/run (fill err). */
typedef int (*lr_score_sink_fn)(void *user, const lr_score_result *result, lr_error *err);

void lr_score_opts_init(lr_score_opts *opts);
/* model (and opts->rules) are borrowed and must outlive the scorer. */
lr_scorer *lr_scorer_new(const lr_model *model, const lr_score_opts *opts, lr_error *err);
void lr_scorer_free(lr_scorer *scorer);

/* Where results go: JSON lines to a FILE (borrowed), or a callback. JSON:
 * {"line":N,"risk_label":L,"risk_score":S,"probabilities":[..]} (+ "logits"),
 * L a number when the model's labels are "0".."C-1", else the label name. */
void lr_scorer_set_output(lr_scorer *scorer, FILE *out);
void lr_scorer_set_sink(lr_scorer *scorer, lr_score_sink_fn fn, void *user);

/* Streaming: queue one raw line (no '\n'; any bytes); when the window is
 * full it is scored and delivered. flush scores and delivers what is queued
 * (call it at end of input, or from a --follow timer when pending > 0) and
 * flushes the output FILE. Write errors (EPIPE, ENOSPC) give LR_EIO. */
int lr_scorer_push(lr_scorer *scorer, const char *line, size_t len, lr_error *err);
int lr_scorer_flush(lr_scorer *scorer, lr_error *err);
int lr_scorer_pending(const lr_scorer *scorer);

/* Read every '\n' line of `in_fd` to its end in bounded memory (lines cut
 * at max_line_bytes) and write JSON lines to `out` (both borrowed; out is
 * flushed, not closed). A pipe that goes quiet gets what is queued scored
 * and written before the next blocking read, so pipes stream. */
int lr_scorer_run(lr_scorer *scorer, int in_fd, FILE *out, lr_error *err);

/* Counters since creation: lines, tokens, lines truncated. Any may be NULL. */
void lr_scorer_stats(const lr_scorer *scorer, uint64_t *lines, uint64_t *tokens,
                     uint64_t *truncated);
/* Cache hits and lookups, results written (after min_risk). Any may be NULL. */
void lr_scorer_cache_stats(const lr_scorer *scorer, uint64_t *hits, uint64_t *lookups,
                           uint64_t *written);
/* Queue one record's message under its own line number (see push). */
int lr_scorer_push_record(lr_scorer *scorer, const char *msg, size_t len, uint64_t line,
                          int truncated, lr_error *err);

typedef struct lr_score_run_opts {
    int follow;                       /* records were opened with follow        */
    double interval;                  /* follow: seconds a queued line may wait,
                                         and an open multi-line group          */
    int multiline;                    /* join continuation lines (default 1)    */
    const char *field;                /* JSON message field (dotted) or NULL    */
    volatile sig_atomic_t *stop;      /* set by a signal handler: end input     */
} lr_score_run_opts;
void lr_score_run_opts_init(lr_score_run_opts *opts);
/* Score every record (recs reads in_fd; both borrowed) to out in the
 * scorer's output format; follow mode and *stop as described in score.c. */
int lr_scorer_run_records(lr_scorer *scorer, lr_records *recs, int in_fd, FILE *out,
                          const lr_score_run_opts *opts, lr_error *err);
/* Queue one event: its rendering (lr_event_render) masked and tokenized
 * under the window rule (docs/events.md), scored under ev->line..line_end. */
int lr_scorer_push_event(lr_scorer *scorer, const lr_event *ev, lr_error *err);
/* Queue one event with what the enriched writer adds around its risk:
 * `record` (may be NULL: then ev->record, the JSON object of a JSON record)
 * — a JSON object's members are copied into the output (members named
 * like the risk fields are left out), any other text goes out as
 * "message"; with no record at all the event's message (and its error
 * detail, '\n'-joined) is the "message". `meta` (may be NULL) is JSON
 * object members without braces, e.g. "file":"/var/log/x.log","pod":"p",
 * copied verbatim after the risk fields (LR_EINVAL when it is not
 * well-formed members). A record longer than max_line_bytes is not kept
 * (the event's message goes out instead, and the result is truncated); a
 * longer meta is LR_ERANGE. Memory: at most max_line_bytes of record and
 * of meta per window slot. Sinks see both in lr_score_result. */
int lr_scorer_push_event_ex(lr_scorer *scorer, const lr_event *ev, const char *record, size_t record_len,
                            const char *meta, size_t meta_len, lr_error *err);
/* Render one result (e.g. in a sink) as the built-in writer would in
 * `mode`: a JSON object with '\n' (compact, enrich) or a CSV record.
 * Writes at most cap bytes (NUL-terminated when cap > 0) and sets *len
 * to the full length, so a caller can retry with a larger buffer.
 * 0 or LR_ENOMEM. */
int lr_scorer_render(lr_scorer *scorer, const lr_score_result *result, lr_score_output mode, char *out,
                     size_t cap, size_t *len, lr_error *err);
/* Model calls and the lines they held since creation (their ratio is the
 * mean batch size). Either may be NULL. */
void lr_scorer_batch_stats(const lr_scorer *scorer, uint64_t *batches, uint64_t *lines);

/* Malformed records and multi-line groups cut at the cap, counted by the
 * last lr_scorer_run_records. Either may be NULL. */
void lr_scorer_event_stats(const lr_scorer *scorer, uint64_t *malformed, uint64_t *groups_cut);
/* Template assignments since creation (opts.miner): events that created a
 * template, events with no template (match only, or the miner's limit).
 * Either may be NULL. */
void lr_scorer_template_stats(const lr_scorer *scorer, uint64_t *novel, uint64_t *unmatched);
/* Lines on which a user regex (a mask, a level alias) hit a limit or
 * failed: each was masked conservatively from the failed match's start
 * (never left unmasked) or got no level from that alias. */
uint64_t lr_scorer_regex_limits(const lr_scorer *scorer);

/* ------------------------------------------------------------------ agent */

/* Many inputs scored as one stream, the node agent (src/score_run.c,
 * docs/agent.md): files, glob patterns and directories (their *.log
 * entries, symlinks followed), each file read by its own records and
 * events readers, so formats, multi-line groups and line numbers are per
 * file. Follow mode (run->follow) follows them like `tail -F`
 * (src/follow.c): renamed and deleted files are read to their end, a
 * truncated file again from its start, new files are picked up. With a
 * state file, each file resumes after its last line written out. */
enum {
    LR_AGENT_META_NONE = 0, /* the writer gets no metadata                      */
    LR_AGENT_META_FILE,     /* "file":"<path>" (the default)                    */
    LR_AGENT_META_ALL       /* "file", the Kubernetes members of a kubelet log
                               path (pod, namespace, container, container_id)
                               and the event's "time" (not for JSON records,
                               whose members are copied): for enrich output    */
};

typedef struct lr_agent_opts {
    const char *state_path;  /* the checkpoint file, or NULL                      */
    double poll;             /* follow: > 0 polls every `poll` seconds instead of
                                using inotify (0: inotify where the kernel has it) */
    double rotate_wait;      /* follow: a renamed or deleted file is closed once it
                                has not grown for this many seconds (5)            */
    int max_open;            /* follow: files open at once (1024); more wait       */
    int meta;                /* LR_AGENT_META_*                                   */
    const char *const *exclude; /* glob patterns (fnmatch, on the whole path or its
                                last component) of files never read: the agent's
                                own log, when it writes to standard output      */
    int n_exclude;
    /* one line about an input that cannot be read (a dangling symlink, a
     * FIFO, a vanished file, a read error), a truncation, files waiting for
     * a slot; NULL: silent */
    void (*warn)(void *user, const char *msg);
    void *warn_user;
} lr_agent_opts;

typedef struct lr_agent_stats {
    uint64_t files;          /* files opened                                      */
    uint64_t unreadable;     /* inputs or files that could not be read (warned)   */
    uint64_t resumed;        /* files that resumed from the state file            */
} lr_agent_stats;

void lr_agent_opts_init(lr_agent_opts *opts);
/* Score every event of the inputs (n_inputs paths, globs or directories)
 * to out (borrowed; flushed, not closed) in the scorer's output form.
 * rec_opts (may be NULL) are the records' options for every file. One pass
 * reads the inputs in order, each file to its end; follow runs until
 * *run->stop, then scores and writes what was read, checkpoints and
 * returns 0. An unreadable input is warned about and counted in stats (may
 * be NULL), never fatal. LR_EPARSE for a corrupt state file (nothing is
 * read), LR_EIO when writing the output or the state fails. */
int lr_scorer_run_inputs(lr_scorer *scorer, const char *const *inputs, int n_inputs,
                         const lr_records_opts *rec_opts, FILE *out, const lr_score_run_opts *run,
                         const lr_agent_opts *agent, lr_agent_stats *stats, lr_error *err);

/* ---------------------------------------------------------------- serving */

/* Scoring text in memory through the record layer, and the HTTP server of
 * `logrisk serve` (src/serve*.c; docs/serving.md). */
typedef struct lr_score_text_opts {
    lr_rec_format format;   /* the records' format (default LR_REC_AUTO)       */
    const char *field;      /* JSON message field (dotted) or NULL             */
    int multiline;          /* join continuation lines (default 1)             */
    const char *meta;       /* metadata members for every event (enrich), or NULL */
    size_t meta_len;
} lr_score_text_opts;
void lr_score_text_opts_init(lr_score_text_opts *opts);
/* Synchronous: score every record of `text` (its lines, read as `score`
 * reads a file of the same lines: formats, multi-line groups) and hand the
 * results to fn in order before returning (the scorer's own sink or FILE
 * is left as it was). Each result's record is the text of the lines its
 * event came from (a JSON record's members are what the enriched renderer
 * copies). Anything already queued in the scorer is scored first, with its
 * results going where they went before. opts may be NULL. */
int lr_scorer_score_text(lr_scorer *scorer, const char *text, size_t len, const lr_score_text_opts *opts,
                         lr_score_sink_fn fn, void *user, lr_error *err);

typedef struct lr_serve_opts {
    const char *listen;      /* "ADDR:PORT" (default "127.0.0.1:8080"; port 0: any) */
    int n_threads;           /* threads of the model's pool (<= 0: available cores) */
    int batch;               /* lines per model call (32)                         */
    int max_batch_tokens;    /* tokens per model call (4096)                      */
    int cache_entries;       /* the scorer's LRU cache (4096)                     */
    size_t max_queue;        /* records waiting at most; more is 429 (16384)      */
    size_t max_body;         /* request body bytes; more is 413 (8 MiB)           */
    size_t max_headers;      /* request line and header bytes (16 KiB)            */
    int max_connections;     /* open connections; further ones wait (256)         */
    double timeout;          /* seconds a request may take to arrive, and an idle
                                connection may stay (30)                          */
    double drain_timeout;    /* after SIGTERM: seconds to finish in-flight work (20) */
    const char *model_name;  /* shown by /v1/model and /metrics                   */
    int handle_signals;      /* SIGTERM / SIGINT start the drain (default 1)      */
    volatile sig_atomic_t *stop; /* or: non-zero starts the drain (may be NULL)   */
    void (*on_listen)(void *user, const char *addr); /* bound, with the real port */
    void *user;
} lr_serve_opts;
void lr_serve_opts_init(lr_serve_opts *opts);
/* Loads the model for the server (called on a thread of its own while
 * /health answers 503); NULL with err filled on failure. */
typedef lr_model *(*lr_serve_load_fn)(void *user, lr_error *err);
/* Serve until SIGTERM (or *stop): bind, load the model, answer requests;
 * then stop accepting, finish and answer what is in flight, return 0.
 * LR_EIO when the address cannot be bound, the load's error when the
 * model does not load. */
int lr_serve_run(const lr_serve_opts *opts, lr_serve_load_fn load, void *load_user, lr_error *err);

/* --------------------------------------------------------------- training */

/* Receives one progress line (no newline) per epoch and event. */
typedef void (*lr_train_log_fn)(void *user, const char *line);

/* Train a classifier as the YAML file at config_path says (keys:
 * docs/training.md; data, vocab required): tokenize and split the labelled data,
 * train with AdamW, validate every epoch, keep the best model by validation
 * loss in `output` (out_path, if not NULL, overrides it), write the metrics
 * JSON and a checkpoint each epoch, stop early after `patience` epochs
 * without improvement; `resume: true` continues from the checkpoint. `log`
 * may be NULL. Returns 0 or an LR_E* code with the message in err. */
int lr_train_run(const char *config_path, const char *out_path, lr_train_log_fn log, void *user,
                 lr_error *err);

/* Masked-LM pre-training of the encoder on unlabelled raw log lines (the
 * same YAML keys; `data` is a raw log file, masked with `rules`): the best
 * encoder by validation MLM loss is written to `output` as a model file
 * that lr_train_run starts from with `init:`. */
int lr_pretrain_run(const char *config_path, const char *out_path, lr_train_log_fn log,
                    void *user, lr_error *err);

/* ------------------------------------------------------------ calibration */

/* Write a copy of the model at in_path (NULL: the model built into this
 * program) to out_path whose probabilities are softmax(logits / T): the
 * head's last Linear layer is divided by `temperature` (> 0), so every
 * consumer of the copy (score, export, quantize) is calibrated alike;
 * `model.temperature` records the total temperature applied. T comes from
 * judged held-out events (`logrisk calibrate`). */
int lr_model_calibrate(const char *in_path, const char *out_path, double temperature, lr_error *err);

/* ------------------------------------------------ bounds and safe files */

/* Regex errors (limits) met by a preprocessor since it was made: the sum of
 * lr_line_info.regex_limits over its lines. Callers report it (a warning,
 * `score --stats`): each one is a line masked conservatively or an alias
 * that could not decide. */
uint64_t lr_prep_regex_limits(const lr_prep *prep);

/* What lr_prep_stream_stats counted. */
typedef struct lr_prep_stats {
    uint64_t records;       /* records written                                  */
    uint64_t regex_limits;  /* regex errors (lr_prep_regex_limits) on the way  */
} lr_prep_stats;
/* lr_prep_stream that also fills *stats (may be NULL), also on failure. */
int lr_prep_stream_stats(const lr_rules *rules, int in_fd, int out_fd, const lr_prep_stream_opts *opts,
                         lr_prep_stats *stats, lr_error *err);

/* Load flag: skip the data checksum over every weight byte. Without it
 * every load verifies the weights (~1.6 ms of CPU for the 17 MB default
 * model; docs/security.md), so that a corrupted weight is an error
 * (LR_ECHECKSUM), not different scores. For callers who measured why (a
 * `--no-verify` option); the same bit as LR_MODEL_LOAD_SKIP_DATA_CHECKSUM. */
#define LR_MODEL_LOAD_NO_VERIFY LR_MODEL_LOAD_SKIP_DATA_CHECKSUM

/* The rules stored in a model (rules.yaml), compiled once at load, where
 * they were checked (so a model that loads has rules that work); owned by
 * the model. NULL when the model stores none. */
const lr_rules *lr_model_rules(const lr_model *m);

/* -------------------------------------------------------------- templates */

/* Online template mining in the manner of Drain (src/templates.c,
 * docs/templates.md): a message, masked by the rules (<TIME> <ID> <IP> ...),
 * is split into tokens; a fixed-depth prefix tree keyed by the token count
 * and the leading tokens leads to a few candidate templates, and the most
 * similar one above the similarity threshold takes the message (its
 * differing tokens become "<*>"), else the message starts a new template.
 * Template ids are stable: 1, 2, 3 ... in order of creation, kept in the
 * state file. One lr_miner is used by one thread at a time while it learns;
 * lr_miner_match does not change it and may run on many threads at once
 * when nobody learns. */
typedef struct lr_miner lr_miner;

typedef struct lr_miner_opts {
    int depth;            /* leading tokens in the tree path (default 3)      */
    double similarity;    /* share of a template's constant tokens a message
                             must equal to join it, 0..1 (default 0.8); two
                             different plain words never join (while the
                             leaf holds at most 32 templates)              */
    int max_children;     /* children of a tree node; beyond, tokens share
                             the "<*>" child (default 100)                    */
    uint32_t max_templates; /* learning stops creating templates past this
                             (default 1,000,000); messages then match only   */
} lr_miner_opts;

/* One assignment. Strings are owned by the miner, valid until it next
 * learns (lr_miner_add, lr_miner_merge) or is freed. */
typedef struct lr_template_match {
    uint32_t id;          /* template id (>= 1); 0: no template (match only,
                             or the template limit was reached)              */
    int novel;            /* 1: this message created the template          */
    const char *text;     /* the template, "<*>" for a variable; "" when id 0 */
    size_t len;
    uint64_t count;       /* messages the template has taken (incl. this one) */
} lr_template_match;

/* What the state keeps of a template (lr_miner_template). */
typedef struct lr_template_info {
    uint32_t id;
    const char *text;     /* owned by the miner, as above                    */
    size_t len;
    uint64_t count;
    int64_t first_seen, last_seen; /* caller's time stamps (unix ms, or the
                             line number when events carry no time)        */
} lr_template_info;

void lr_miner_opts_init(lr_miner_opts *opts);
lr_miner *lr_miner_new(const lr_miner_opts *opts, lr_error *err);
void lr_miner_free(lr_miner *m);

/* Learn from one masked message (any bytes; `len` of them): assign it to a
 * template, generalising the template or creating one. `when` is stored
 * as first/last seen. 0 or LR_ENOMEM. */
int lr_miner_add(lr_miner *m, const char *text, size_t len, int64_t when, lr_template_match *out,
                 lr_error *err);
/* The same assignment without learning: out->id is 0 when no template is
 * similar enough. Never allocates; no error. */
void lr_miner_match(const lr_miner *m, const char *text, size_t len, lr_template_match *out);

/* The masked message the miner reads for an event: the event's message (a
 * plain line: the whole line; no message: the first line of its error
 * detail; at most 8 KiB of it), masked with `prep`'s rules: valid UTF-8,
 * as lr_prep_line writes it. *text points into prep (valid until its next
 * call). 0 or LR_ENOMEM. To give a scored event its template, call this,
 * then lr_miner_match (or lr_miner_add, which also says `novel`). */
int lr_miner_event_text(lr_prep *prep, const lr_event *ev, const char **text, size_t *len);

uint32_t lr_miner_n_templates(const lr_miner *m);
/* The i-th template in id order (i in [0, n)); 0 or LR_ERANGE. */
int lr_miner_template(const lr_miner *m, uint32_t i, lr_template_info *info);
/* The template of id `id` (0 or LR_ERANGE when there is none). */
int lr_miner_template_by_id(const lr_miner *m, uint32_t id, lr_template_info *info);
/* The parameters the miner was made (or loaded) with. */
void lr_miner_get_opts(const lr_miner *m, lr_miner_opts *opts);

/* The state file: the parameters, every template (id, text, count, first
 * and last seen) in a versioned, checksummed .lrm container, written
 * atomically (a temporary beside `path`, then rename). Loading validates
 * everything and names what is wrong (LR_EFORMAT, LR_ECHECKSUM, LR_EIO). */
int lr_miner_save(const lr_miner *m, const char *path, lr_error *err);
lr_miner *lr_miner_load(const char *path, lr_error *err);
lr_miner *lr_miner_load_memory(const void *data, size_t size, const char *name, lr_error *err);
/* Merge src's templates into dst (the two states of two hosts, or of two
 * runs): each of src's templates is learnt by dst as a message would be
 * and its count and first/last seen added; dst's ids stay. 0 or LR_ENOMEM. */
int lr_miner_merge(lr_miner *dst, const lr_miner *src, lr_error *err);

/* ------------------------------------------------------------------ rates */

/* Rate anomalies per template (src/rates.c, docs/templates.md): each
 * template's count per window (of event time when the events carry one,
 * else of `line_window` events) is held against an exponentially weighted
 * baseline of its past windows with a two-sided normal quantile band (its
 * spread never below Poisson's); a template whose count leaves the band in K of
 * the last N windows is alerted ("burst" above, "vanished" when a regular
 * template falls to zero), once, then not again for `cooldown` windows.
 * Per entity (host, pod) when the caller passes one. */
typedef struct lr_rates lr_rates;

typedef struct lr_rates_opts {
    int64_t window_ms;    /* window length with event time (60000)          */
    uint64_t line_window; /* events per window without time (1000)          */
    double alpha;         /* weight of the newest window in the baseline (0.1) */
    double quantile;      /* two-sided band: the baseline's [1-q, q] quantiles,
                             q in (0.5, 1) (0.999)                            */
    double min_ratio;     /* a burst needs seen >= min_ratio * expected (3)   */
    int min_count;        /* ... and at least this many events (10)           */
    int k, n;             /* K of the last N windows out of band (2 of 3)     */
    int cooldown;         /* windows without a new alert after one (10)       */
    int warmup;           /* windows a template is watched before it is
                             judged (5)                                       */
    double regular;       /* "regular": present in at least this share of its
                             windows since warmup (0.9)                       */
    int max_lines;        /* evidence lines kept per alert (20)              */
    size_t max_keys;      /* template x entity pairs tracked (100,000)        */
} lr_rates_opts;

typedef struct lr_rate_alert {
    const char *kind;     /* "burst" or "vanished"                          */
    uint32_t template_id;
    const char *template_text; size_t template_len;
    const char *entity;   size_t entity_len; /* "" when none                */
    int timed;            /* 1: window_* are unix ms; 0: event numbers     */
    int64_t window_start, window_end; /* [start, end) of the alerting window */
    double expected, low, high; /* the baseline and its band for one window */
    uint64_t seen;        /* the count in that window                       */
    int k, n;             /* windows out of band among the last n           */
    const uint64_t *lines; size_t n_lines; /* evidence: input line numbers  */
} lr_rate_alert;

/* Receives each alert (pointers valid during the call); non-zero stops. */
typedef int (*lr_rate_alert_fn)(void *user, const lr_rate_alert *alert, lr_error *err);

void lr_rates_opts_init(lr_rates_opts *opts);
lr_rates *lr_rates_new(const lr_rates_opts *opts, lr_rate_alert_fn fn, void *user, lr_error *err);
void lr_rates_free(lr_rates *r);
/* One event: its template, entity (NULL or "" for none), time (unix ms;
 * < 0: none, so windows are of events; a stream decides on its first
 * event) and input line. Windows close as time (or the count) passes
 * them, and their alerts go to the callback. */
int lr_rates_add(lr_rates *r, uint32_t template_id, const char *template_text, size_t template_len,
                 const char *entity, size_t entity_len, int64_t time_ms, uint64_t line,
                 lr_error *err);
/* End of input: close the open window (judged only when complete is 1,
 * e.g. the input ended on a window boundary; a partial last window would
 * look like a drop). */
int lr_rates_finish(lr_rates *r, int complete, lr_error *err);
/* The alert as one JSON object line (no '\n'), into out[cap] (NUL-terminated
 * when cap > 0); returns the full length. */
size_t lr_rate_alert_json(const lr_rate_alert *alert, char *out, size_t cap);

/* The whole `logrisk templates` job: every event of in_fd (the record
 * and event layer, as score reads them) masked with the rules, assigned a
 * template (learning, or match only), one JSON line each to out:
 *     {"line":N,"template_id":ID,"template":"...","novel":true|false}
 * ("line_end" too for a multi-line event; template_id 0 and template null
 * when --match-only finds none). With alerts, rate alerts go there as JSON
 * lines (lr_rate_alert_json) as windows close. */
typedef struct lr_templates_opts {
    const char *state_path; /* read when it exists (its parameters win), written
                               at the end unless match_only; NULL: none        */
    int match_only;         /* assign without learning (needs the state)      */
    const char *rules_path; /* masks; NULL: the built-in rules                */
    lr_miner_opts miner;    /* for a new state                               */
    lr_rec_format format;   /* default LR_REC_AUTO                           */
    int multiline;          /* default 1                                      */
    const char *field;      /* jsonl message field, or NULL                   */
    const char *column;     /* csv message column, or NULL                    */
    FILE *alerts;           /* rate alerts JSONL (borrowed), or NULL: none    */
    lr_rates_opts rates;
    const char *entity;     /* rates per entity: "source" (the event's
                               program, unit or logger), "host" (the
                               event's host: lr_event.host), "auto" (the
                               first of a JSON record's pod and host
                               fields, else the event's host) or a dotted
                               field of a JSON record
                               ("kubernetes.pod_name"); NULL: none          */
} lr_templates_opts;

typedef struct lr_templates_stats {
    uint64_t events, novel, unmatched, alerts, untimed;
    uint32_t templates;     /* in the state at the end                        */
} lr_templates_stats;

void lr_templates_opts_init(lr_templates_opts *opts);
/* stats may be NULL. 0 or an LR_E* code with err (a bad state file, the
 * readers' errors, LR_EIO when writing fails). */
int lr_templates_stream(const lr_templates_opts *opts, int in_fd, FILE *out, lr_templates_stats *stats,
                        lr_error *err);
/* The templates of a state file, one JSON line each in id order:
 *     {"template_id":ID,"template":"...","count":N,"first_seen":T,"last_seen":T}
 * (times as stored: unix ms, or line numbers). 0 or an LR_E* code. */
int lr_templates_list(const char *state_path, FILE *out, lr_error *err);

/* An event time as written (RFC 3339 / ISO 8601 with or without zone,
 * "YYYY-MM-DD hh:mm:ss,ms", klog "mmdd hh:mm:ss.us", syslog "Mmm dd
 * hh:mm:ss", loghub's "yyMMdd HHmmss", "yy/MM/dd HH:mm:ss",
 * "yyyyMMdd-HH:mm:ss:ms", "MM-dd HH:mm:ss.ms", Apache's "Www Mmm dd
 * hh:mm:ss yyyy", unix seconds) into unix ms (UTC when no zone is
 * written). Forms without a year take `year`. 0, or LR_EPARSE. */
int lr_time_parse(const char *s, size_t len, int year, int64_t *unix_ms);

/* ---------------------------------------------------- sequence anomalies */

/* Sessions: the events of each session (an HDFS block, a request, an
 * entity's time window) in input order, by session id, with an optional
 * label (docs/anomalies.md). Events are names: template texts or ids. */
typedef struct lr_sessions lr_sessions;

lr_sessions *lr_sessions_new(lr_error *err);
void lr_sessions_free(lr_sessions *s);
/* Append the event `event` (its template) to session `id` (created on its
 * first event); `line` is the input line it came from, `text` (may be NULL)
 * the line itself, kept as evidence for alerts. */
int lr_sessions_add(lr_sessions *s, const char *id, size_t id_len, const char *event,
                    size_t event_len, uint64_t line, const char *text, size_t text_len,
                    lr_error *err);
/* label: 0 normal, 1 anomalous, -1 unknown (the default). */
int lr_sessions_set_label(lr_sessions *s, const char *id, size_t id_len, int label,
                          lr_error *err);
size_t lr_sessions_count(const lr_sessions *s);
const char *lr_sessions_id(const lr_sessions *s, size_t i, size_t *len);
int lr_sessions_label(const lr_sessions *s, size_t i);
size_t lr_sessions_length(const lr_sessions *s, size_t i);
/* Log lines read (LR_SESS_LINES) that belong to no session: no match of
 * the id pattern. */
uint64_t lr_sessions_unassigned(const lr_sessions *s);

/* How lr_sessions_read reads its input. */
typedef enum lr_sessions_format {
    LR_SESS_JSONL = 0, /* one session a line: {"BlockId": id, "Templates": [..],
                          "Label": 0|1, "Split": ".."} (field names below)     */
    LR_SESS_KEYS = 1,  /* one session a line: event ids separated by spaces,
                          the session id is its line number                  */
    LR_SESS_LINES = 2  /* log lines: the session id is found by id_pattern in
                          each line (every distinct match: one event each),
                          the event is the line masked by the rules           */
} lr_sessions_format;

typedef struct lr_sessions_opts {
    lr_sessions_format format;
    const char *split;        /* jsonl: only sessions whose split is this (NULL: all) */
    int label;                /* jsonl: only this label (-1: all); keys: the label given
                                 to every session                                     */
    const char *id_field, *events_field, *label_field, *split_field;
                              /* jsonl: NULL = BlockId, Templates, Label, Split       */
    const char *id_pattern;   /* lines: PCRE2 pattern of a session id (group 1 when it
                                 has one); NULL = HDFS block ids blk_-?[0-9]+        */
    const lr_rules *rules;    /* lines: masks; NULL = the built-in rules             */
    int window_lines;         /* lines, > 0: sessions are id + the index of the run of
                                 this many input lines the event falls in (an entity's
                                 window); 0 = the id alone                           */
    int window_seconds;       /* lines, > 0: ... or within each window of this many
                                 seconds of the time at the start of the line
                                 (lr_time_parse on its first 1-4 words; a line
                                 without one takes the last time seen)             */
    size_t max_line;          /* longest line kept (bytes; 0 = 64 KiB)                */
    lr_miner *miner;          /* lines: the event is the id of the line's template in
                                 this miner (as text), learnt when `learn` is set,
                                 else matched ("0": none); NULL = the masked line   */
    int learn;
} lr_sessions_opts;

void lr_sessions_opts_init(lr_sessions_opts *o);
/* Read `fd` to its end into s. A malformed line is an LR_EPARSE error that
 * names its line number. */
int lr_sessions_read(lr_sessions *s, int fd, const lr_sessions_opts *o, lr_error *err);

/* A next-event model in the manner of DeepLog: an embedding, stacked LSTM
 * layers over the last `window` events of a session and a softmax over the
 * known events; an event is unexpected when it is not among the model's
 * top_k predictions (or outside the top_p probability mass when top_p > 0).
 * Read-only after training or loading. */
typedef struct lr_anomaly lr_anomaly;

typedef struct lr_anomaly_opts {
    int window;        /* events of history (10)                               */
    int embed;         /* embedding width (16)                                 */
    int hidden;        /* LSTM width (64)                                      */
    int layers;        /* LSTM layers (2)                                      */
    int epochs;        /* passes over the training windows (30)                */
    int batch;         /* windows per step (64)                                */
    double lr;         /* AdamW peak learning rate, linear decay (3e-3)         */
    int cap;           /* a distinct (window, next) pair is trained on at most
                          this many times per epoch (1; 0 = as often as seen)  */
    double holdout;    /* share of the normal sessions held out to choose the
                          epoch and top_k (0.1)                                */
    int top_k;         /* 0 = choose on the held-out sessions (9 if no choice)  */
    double top_p;      /* > 0: judge by probability mass instead of top_k       */
    double max_fpr;    /* choosing k without labelled anomalies: the smallest k
                          whose held-out false-alarm rate is at most this (0.01) */
    int threads;       /* 0 = all cores                                        */
    uint64_t seed;     /* 1                                                    */
    int arch;          /* 0 = LSTM (default); 1 = a transformer encoder over the
                          window (post-LayerNorm; embedding width = hidden)    */
    int heads;         /* transformer: attention heads (2)                     */
    int ff;            /* transformer: feed-forward width (0 = 2 x hidden)      */
} lr_anomaly_opts;

void lr_anomaly_opts_init(lr_anomaly_opts *o);
/* Train on the sessions of `train` labelled normal or unlabelled (its
 * labelled anomalous sessions only help choose top_k). `log` gets one line
 * per epoch and the choice of k (may be NULL). */
lr_anomaly *lr_anomaly_train(const lr_sessions *train, const lr_anomaly_opts *o,
                             lr_train_log_fn log, void *user, lr_error *err);
/* The model file: an .lrm container (anomaly.* keys and tensors), written
 * atomically; load validates every key, shape and value. */
int lr_anomaly_save(const lr_anomaly *m, const char *path, lr_error *err);
lr_anomaly *lr_anomaly_load(const char *path, lr_error *err);
lr_anomaly *lr_anomaly_load_memory(const void *data, size_t size, const char *name,
                                   lr_error *err);
void lr_anomaly_free(lr_anomaly *m);
int lr_anomaly_top_k(const lr_anomaly *m);
double lr_anomaly_top_p(const lr_anomaly *m);
/* The template miner whose ids the model's events are (trained on log
 * lines), stored in the model file with it: set hands it over (the model
 * frees it); NULL when the model has none. */
void lr_anomaly_set_miner(lr_anomaly *m, lr_miner *miner);
lr_miner *lr_anomaly_miner(const lr_anomaly *m);
/* Override the judgement of a loaded model (k >= 1; p in (0, 1), 0 = off). */
int lr_anomaly_set_judgement(lr_anomaly *m, int top_k, double top_p, lr_error *err);
/* (k larger than the number of events the model knows flags only unknown
 * events and ends.) */

/* The verdict on one session. */
typedef struct lr_anomaly_verdict {
    size_t session;       /* index in the lr_sessions                         */
    int anomalous;        /* 1 when some event was unexpected                 */
    int n_unexpected;     /* how many positions were                          */
    int position;         /* the first unexpected one (0-based; the session's
                             length = its end came too early or too late), or -1 */
    int rank;             /* rank of the actual event there (1 = most likely;
                             0 = an event the model never saw)                */
    const char *json;     /* the alert line (JSON object, no newline) when
                             anomalous or when every verdict was asked for     */
    size_t json_len;
} lr_anomaly_verdict;

typedef int (*lr_anomaly_fn)(void *user, const lr_anomaly_verdict *v);

/* Judge every session of s in order; `fn` is called for each one (all = 1)
 * or for the anomalous ones (all = 0); a non-zero return from fn stops the
 * run and is returned. threads: 0 = all cores. */
int lr_anomaly_detect(const lr_anomaly *m, const lr_sessions *s, int all, int threads,
                      lr_anomaly_fn fn, void *user, lr_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LOGRISK_H */
