/*
 * train_ckpt.c — atomic training checkpoints (format in train_ckpt.h).
 *
 * The file is assembled in one buffer (header, table, extra, three float
 * slices, checksum) and written with one loop of write(2); loading reads
 * the whole file, validates it completely, and only then touches p.
 */
#include "train_ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

#define CKPT_MAGIC "LRCKPT\0\1"
#define CKPT_BOM 0x01020304u
#define CKPT_VERSION 1u
#define CKPT_HEADER 88u
#define CKPT_ENTRY 112u
#define CKPT_NAME 96u

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put_config(unsigned char *p, const lr__bert_config *c) {
    int32_t v[11] = {c->vocab_size,    c->hidden,   c->n_layers,    c->n_heads,
                     c->intermediate,  c->max_positions, c->type_vocab_size, c->n_labels,
                     c->head_hidden,   (int32_t)c->head, 0};
    memcpy(p, v, sizeof v);
    memcpy(p + 44, &c->ln_eps, 4);
}

/* Bytes of the file for this layout, or 0 on overflow. */
static size_t file_size(int n_tensors, size_t n_floats, size_t extra_len) {
    size_t table, data, total;
    if (!lr__mul_ok((size_t)n_tensors, CKPT_ENTRY, &table) ||
        !lr__mul_ok(n_floats, 3 * sizeof(float), &data) ||
        !lr__add_ok(CKPT_HEADER, table, &total) || !lr__add_ok(total, extra_len, &total) ||
        !lr__add_ok(total, data, &total) || !lr__add_ok(total, 8, &total))
        return 0;
    return total;
}

int lr__ckpt_save(const char *path, const lr__params *p, const lr__bert_config *cfg,
                  const void *extra, size_t extra_len, lr_error *err) {
    size_t total = file_size(p->n, p->n_floats, extra_len);
    if (!total || extra_len > UINT32_MAX)
        return lr__err(err, LR_ERANGE, "%s: checkpoint too large", path);
    unsigned char *buf = lr__calloc(total, 1);
    if (!buf) return lr__err(err, LR_ENOMEM, "out of memory for a %zu-byte checkpoint", total);
    memcpy(buf, CKPT_MAGIC, 8);
    put32(buf + 8, CKPT_BOM);
    put32(buf + 12, CKPT_VERSION);
    put32(buf + 16, (uint32_t)p->n);
    put32(buf + 20, (uint32_t)extra_len);
    put64(buf + 24, p->n_floats);
    put64(buf + 32, (uint64_t)p->step);
    put_config(buf + 40, cfg);
    unsigned char *q = buf + CKPT_HEADER;
    for (int i = 0; i < p->n; i++, q += CKPT_ENTRY) {
        memcpy(q, p->info[i].name, strlen(p->info[i].name));
        put32(q + CKPT_NAME, (uint32_t)p->info[i].shape[0]);
        put32(q + CKPT_NAME + 4, (uint32_t)p->info[i].shape[1]);
        put64(q + CKPT_NAME + 8, p->info[i].offset);
    }
    if (extra_len) memcpy(q, extra, extra_len);
    q += extra_len;
    size_t slice = p->n_floats * sizeof(float);
    memcpy(q, p->value, slice);
    memcpy(q + slice, p->m, slice);
    memcpy(q + 2 * slice, p->v, slice);
    put64(buf + total - 8, fnv1a(buf, total - 8));

    int rc = lr__file_write_atomic(path, buf, total, err);
    lr__free(buf);
    return rc;
}

int lr__ckpt_load(const char *path, lr__params *p, const lr__bert_config *cfg, void *extra,
                  size_t extra_len, lr_error *err) {
    int fd = lr__file_open_regular(path, "checkpoint", err);
    if (fd < 0) return fd;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0) {
        close(fd);
        return lr__err(err, LR_EIO, "%s: %s", path, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    size_t want = file_size(p->n, p->n_floats, extra_len);
    if (size < CKPT_HEADER + 8) {
        close(fd);
        return lr__err(err, LR_EFORMAT, "%s: %zu bytes is too short for a checkpoint", path, size);
    }
    unsigned char *buf = lr__malloc(size);
    if (!buf) {
        close(fd);
        return lr__err(err, LR_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    int rc = 0;
    if (got != size) {
        rc = lr__err(err, LR_EIO, "%s: short read", path);
    } else if (memcmp(buf, CKPT_MAGIC, 8) != 0) {
        rc = lr__err(err, LR_EFORMAT, "%s: not a logrisk checkpoint (bad magic)", path);
    } else if (get32(buf + 8) != CKPT_BOM || get32(buf + 12) != CKPT_VERSION) {
        rc = lr__err(err, LR_EFORMAT, "%s: unsupported byte order or version %u", path,
                     get32(buf + 12));
    } else if (get32(buf + 16) != (uint32_t)p->n || get64(buf + 24) != p->n_floats ||
               get32(buf + 20) != extra_len) {
        rc = lr__err(err, LR_EINVAL,
                     "%s: checkpoint of another model (%u tensors, %llu floats; expected %d, %zu)",
                     path, get32(buf + 16), (unsigned long long)get64(buf + 24), p->n,
                     p->n_floats);
    } else if (size != want) {
        rc = lr__err(err, LR_EFORMAT, "%s: size %zu, expected %zu (truncated?)", path, size, want);
    } else if (fnv1a(buf, size - 8) != get64(buf + size - 8)) {
        rc = lr__err(err, LR_ECHECKSUM, "%s: checksum mismatch (corrupted checkpoint)", path);
    } else {
        unsigned char conf[48] = {0};
        put_config(conf, cfg);
        if (memcmp(conf, buf + 40, 48) != 0)
            rc = lr__err(err, LR_EINVAL, "%s: checkpoint of a model with another config", path);
        const unsigned char *q = buf + CKPT_HEADER;
        for (int i = 0; i < p->n && !rc; i++, q += CKPT_ENTRY) {
            char name[CKPT_NAME + 1];
            memcpy(name, q, CKPT_NAME);
            name[CKPT_NAME] = '\0';
            if (strcmp(name, p->info[i].name) != 0 ||
                get32(q + CKPT_NAME) != (uint32_t)p->info[i].shape[0] ||
                get32(q + CKPT_NAME + 4) != (uint32_t)p->info[i].shape[1] ||
                get64(q + CKPT_NAME + 8) != p->info[i].offset)
                rc = lr__err(err, LR_EINVAL, "%s: tensor %d is %.96s, expected %s", path, i, name,
                             p->info[i].name);
        }
        if (!rc) {
            if (extra_len) memcpy(extra, q, extra_len);
            q += extra_len;
            size_t slice = p->n_floats * sizeof(float);
            memcpy(p->value, q, slice);
            memcpy(p->m, q + slice, slice);
            memcpy(p->v, q + 2 * slice, slice);
            memset(p->grad, 0, slice);
            p->step = (long)get64(buf + 32);
        }
    }
    lr__free(buf);
    return rc;
}
