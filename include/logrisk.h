/*
 * logrisk.h — the public API of logrisk.
 *
 * logrisk gives every log line a risk score from 0 (noise) to 10 (outage)
 * with a BERT-mini classifier, entirely in C: masking and weak labelling of
 * raw lines, a WordPiece tokenizer, the transformer forward pass, training,
 * a compact mmap-able model file and an ONNX exporter.
 *
 * Conventions (see STYLE.md in the project's shared notes):
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

#include <stddef.h>
#include <stdint.h>

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

/* ------------------------------------------------------------------ model */

/* A BERT classifier loaded from an .lrm file: weights are used in place from
 * the mapping (no copy). Read-only after load: share one lr_model across
 * threads, with one lr_model_ctx (scratch) per calling thread. */
typedef struct lr_model lr_model;

/* mmap and validate `path`. NULL + err on any problem (the message names
 * the file and what is wrong). The caller owns the result. */
lr_model *lr_model_load(const char *path, lr_error *err);
/* The same from an image in memory (64-byte aligned, e.g. a model built
 * into the binary); `data` is borrowed and must outlive the model. */
lr_model *lr_model_load_memory(const void *data, size_t size, const char *name, lr_error *err);
void lr_model_free(lr_model *m);

/* Sizes and head of a model (for FLOP counts and `inspect`). */
typedef struct lr_model_info {
    int vocab_size, hidden, n_layers, n_heads, intermediate, max_positions;
    int n_labels, head_hidden; /* head_hidden: MLP head only, else 0 */
    const char *head;          /* "mlp", "linear" or "pooler_linear" */
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
 * risk score = expected class index sum_i p_i * i (for the 11-class risk
 * head the expected risk 0..10; for other label sets the expected index in
 * label order), and the argmax label (first maximum). */
void lr_model_outputs(const float *logits, int n_labels, float *probs, float *score, int *label);

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

#ifdef __cplusplus
}
#endif

#endif /* LOGRISK_H */
