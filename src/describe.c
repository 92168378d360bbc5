/*
 * describe.c — lr_model_describe, the report behind `logrisk inspect`: the
 * header, every metadata entry and the tensor table of an .lrm file (or of
 * the model built into the program), with both checksums verified.
 *
 * The file is opened without the data checksum first, so that a file whose
 * structure is sound but whose tensor bytes are corrupted can still be
 * shown; the data checksum is then verified separately and a mismatch is
 * returned after the report. Any structural problem (or a bad header
 * checksum) is the open's error and nothing is written. The report is built
 * in memory and written in one piece, so a failure never leaves half a
 * table. The JSON form is the file format's own (lr__lrm_describe_json).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "format.h"
#include "logrisk.h"
#include "model_builtin.h"
#include "util.h"

/* The table for people: header, metadata (long values abbreviated by the
 * format module), tensors, totals. 0 or LR_ENOMEM. */
static int describe_text(const lr__lrm *f, int data_ok, lr__buf *out) {
    int rc = lr__buf_printf(out, "file:      %s\n", lr__lrm_name(f));
    if (!rc)
        rc = lr__buf_printf(out, "format:    .lrm version %" PRIu32 ", %zu bytes, header %zu bytes\n",
                            lr__lrm_version(f), lr__lrm_size(f), lr__lrm_data_offset(f));
    if (!rc)
        rc = lr__buf_printf(out, "checksums: header %016" PRIx64 " ok, data %016" PRIx64 " %s\n", lr__lrm_checksum(f),
                            lr__lrm_data_checksum(f), data_ok ? "ok" : "MISMATCH");

    size_t n_meta = lr__lrm_n_meta(f), key_width = 3;
    for (size_t i = 0; i < n_meta; i++) {
        const char *key;
        lr__lrm_meta_at(f, i, &key, NULL, 0);
        key_width = LR_MAX(key_width, strlen(key));
    }
    key_width = LR_MIN(key_width, 40);
    if (!rc) rc = lr__buf_printf(out, "\nmetadata (%zu):\n", n_meta);
    for (size_t i = 0; i < n_meta && !rc; i++) {
        const char *key;
        char value[160];
        lr__lrm_meta_at(f, i, &key, value, sizeof value);
        rc = lr__buf_printf(out, "  %-*s  %s\n", (int)key_width, key, value);
    }

    size_t n_tensors = lr__lrm_n_tensors(f), name_width = 4;
    for (size_t i = 0; i < n_tensors; i++)
        name_width = LR_MAX(name_width, strlen(lr__lrm_tensor_at(f, i)->name));
    name_width = LR_MIN(name_width, 60);
    if (!rc) rc = lr__buf_printf(out, "\ntensors (%zu):\n", n_tensors);
    if (!rc && n_tensors)
        rc = lr__buf_printf(out, "  %-*s  %-5s  %-22s  %12s  %12s\n", (int)name_width, "name", "dtype", "shape",
                            "offset", "bytes");
    uint64_t n_params = 0, n_bytes = 0;
    for (size_t i = 0; i < n_tensors && !rc; i++) {
        const lr__tensor *t = lr__lrm_tensor_at(f, i);
        char shape[128];
        size_t used = (size_t)snprintf(shape, sizeof shape, "[");
        uint64_t n_elems = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (used < sizeof shape)
                used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%" PRId64, d ? ", " : "", t->shape[d]);
            n_elems *= (uint64_t)t->shape[d];
        }
        if (used < sizeof shape) snprintf(shape + used, sizeof shape - used, "]");
        n_params += n_elems;
        n_bytes += t->nbytes;
        rc = lr__buf_printf(out, "  %-*s  %-5s  %-22s  %12" PRIu64 "  %12zu\n", (int)name_width, t->name,
                            lr__dtype_name(t->dtype), shape, lr__lrm_tensor_offset(f, t), t->nbytes);
    }
    if (!rc)
        rc = lr__buf_printf(out, "\ntotal:     %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data\n",
                            n_tensors, n_params, n_bytes);
    return rc;
}

int lr_model_describe(const char *path, unsigned flags, FILE *out, lr_error *err) {
    lr_error local = {0, ""};
    if (!err) err = &local;
    if (!out) return lr__err(err, LR_EINVAL, "describe: no output");
    lr__lrm *f;
    if (path) {
        f = lr__lrm_open_flags(path, LR_LRM_SKIP_DATA_CHECKSUM, err);
    } else {
        const void *image;
        size_t size;
        const char *name;
        if (!lr__model_builtin_image(&image, &size, &name))
            return lr__err(err, LR_EUNSUPPORTED, "this build has no built-in model");
        f = lr__lrm_open_memory_flags(image, size, name, LR_LRM_SKIP_DATA_CHECKSUM, err);
    }
    if (!f) return err->code ? err->code : LR_EFORMAT;

    lr_error data_err = {0, ""};
    int data_rc = lr__lrm_verify_data(f, &data_err);
    lr__buf text;
    lr__buf_init(&text);
    int rc = (flags & LR_DESCRIBE_JSON) ? lr__lrm_describe_json(f, data_rc == LR_OK, &text)
                                        : describe_text(f, data_rc == LR_OK, &text);
    lr__lrm_close(f);
    if (rc) {
        lr__buf_free(&text);
        return lr__err(err, LR_ENOMEM, "describe: out of memory");
    }
    errno = 0;
    int bad = fwrite(text.data, 1, text.len, out) != text.len;
    bad = fflush(out) != 0 || bad || ferror(out);
    lr__buf_free(&text);
    if (bad) return lr__err(err, LR_EIO, "error writing the report: %s", strerror(errno ? errno : EIO));
    if (data_rc != LR_OK) {
        *err = data_err;
        return data_rc;
    }
    return LR_OK;
}
