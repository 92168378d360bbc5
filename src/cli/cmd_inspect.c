/*
 * cmd_inspect.c — `logrisk inspect MODEL.lrm`: prints the header, every
 * metadata entry and the tensor table of a model file and verifies both
 * checksums.
 *
 * The file is opened without the data checksum first, so that a file whose
 * structure is sound but whose tensor bytes are corrupted can still be
 * shown; the data checksum is then verified and a mismatch makes the exit
 * status 1. `--json` gives the same as one JSON object (rendered by
 * lr__lrm_describe_json). Any structural problem (or a bad header checksum) is reported
 * by the library and nothing is printed on stdout.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "model_builtin.h"
#include "util.h"

static const char inspect_usage[] =
    "usage: logrisk inspect [--json] MODEL.lrm\n"
    "       logrisk inspect [--json] --builtin\n"
    "\n"
    "Prints a model file's header (format version, size, checksums), its\n"
    "metadata (long strings abbreviated) and its tensor table (name, dtype,\n"
    "shape, offset, bytes), with the total number of parameters. Both\n"
    "checksums are verified; exit status 1 if the file is invalid.\n"
    "\n"
    "  --json     one JSON object instead, with full metadata values\n"
    "  --builtin  the model built into this binary instead of a file\n";

/* --json: the library renders, we print; closes f. */
static int print_json(lr__lrm *f, int data_rc, const lr_error *data_err) {
    lr__buf out;
    lr__buf_init(&out);
    int rc = lr__lrm_describe_json(f, data_rc == LR_OK, &out);
    lr__lrm_close(f);
    if (rc == LR_OK) fwrite(out.data, 1, out.len, stdout);
    lr__buf_free(&out);
    if (rc != LR_OK) return lr_cli_fail("inspect: out of memory");
    if (fflush(stdout) != 0) return lr_cli_fail("inspect: error writing standard output");
    if (data_rc != LR_OK) return lr_cli_error("inspect", data_err);
    return 0;
}

int lr_cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    int json = 0, builtin = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return lr_cli_usage(inspect_usage, 1);
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(argv[i], "--builtin") == 0) {
            builtin = 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "logrisk inspect: unknown option '%s'\n\n", argv[i]);
            return lr_cli_usage(inspect_usage, 0);
        }
        if (path) {
            fprintf(stderr, "logrisk inspect: one model file at a time\n\n");
            return lr_cli_usage(inspect_usage, 0);
        }
        path = argv[i];
    }
    if (!path && !builtin) {
        fprintf(stderr, "logrisk inspect: no model file given\n\n");
        return lr_cli_usage(inspect_usage, 0);
    }
    if (path && builtin) {
        fprintf(stderr, "logrisk inspect: a model file or --builtin, not both\n\n");
        return lr_cli_usage(inspect_usage, 0);
    }

    lr_error err = {0};
    lr__lrm *f;
    if (builtin) {
        const void *image;
        size_t size;
        if (!lr__model_builtin_image(&image, &size, &path))
            return lr_cli_fail("inspect: this build has no built-in model");
        f = lr__lrm_open_memory_flags(image, size, path, LR_LRM_SKIP_DATA_CHECKSUM, &err);
    } else {
        f = lr__lrm_open_flags(path, LR_LRM_SKIP_DATA_CHECKSUM, &err);
    }
    if (!f) return lr_cli_error("inspect", &err);
    lr_error data_err = {0};
    int data_rc = lr__lrm_verify_data(f, &data_err);
    if (json) return print_json(f, data_rc, &data_err);

    printf("file:      %s\n", path);
    printf("format:    .lrm version %" PRIu32 ", %zu bytes, header %zu bytes\n", lr__lrm_version(f), lr__lrm_size(f),
           lr__lrm_data_offset(f));
    printf("checksums: header %016" PRIx64 " ok, data %016" PRIx64 " %s\n", lr__lrm_checksum(f),
           lr__lrm_data_checksum(f), data_rc == LR_OK ? "ok" : "MISMATCH");

    size_t n_meta = lr__lrm_n_meta(f), key_width = 3;
    for (size_t i = 0; i < n_meta; i++) {
        const char *key;
        lr__lrm_meta_at(f, i, &key, NULL, 0);
        key_width = LR_MAX(key_width, strlen(key));
    }
    key_width = LR_MIN(key_width, 40);
    printf("\nmetadata (%zu):\n", n_meta);
    for (size_t i = 0; i < n_meta; i++) {
        const char *key;
        char value[160];
        lr__lrm_meta_at(f, i, &key, value, sizeof value);
        printf("  %-*s  %s\n", (int)key_width, key, value);
    }

    size_t n_tensors = lr__lrm_n_tensors(f), name_width = 4;
    for (size_t i = 0; i < n_tensors; i++) name_width = LR_MAX(name_width, strlen(lr__lrm_tensor_at(f, i)->name));
    name_width = LR_MIN(name_width, 60);
    printf("\ntensors (%zu):\n", n_tensors);
    if (n_tensors) printf("  %-*s  %-5s  %-22s  %12s  %12s\n", (int)name_width, "name", "dtype", "shape", "offset", "bytes");
    uint64_t n_params = 0, n_bytes = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        const lr__tensor *t = lr__lrm_tensor_at(f, i);
        char shape[128];
        size_t used = (size_t)snprintf(shape, sizeof shape, "[");
        uint64_t n_elems = 1;
        for (int d = 0; d < t->ndim; d++) {
            used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%" PRId64, d ? ", " : "", t->shape[d]);
            n_elems *= (uint64_t)t->shape[d];
        }
        snprintf(shape + used, sizeof shape - used, "]");
        n_params += n_elems;
        n_bytes += t->nbytes;
        printf("  %-*s  %-5s  %-22s  %12" PRIu64 "  %12zu\n", (int)name_width, t->name, lr__dtype_name(t->dtype), shape,
               lr__lrm_tensor_offset(f, t), t->nbytes);
    }
    printf("\ntotal:     %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data\n", n_tensors, n_params,
           n_bytes);
    lr__lrm_close(f);
    if (fflush(stdout) != 0) return lr_cli_fail("inspect: error writing standard output");
    if (data_rc != LR_OK) return lr_cli_error("inspect", &data_err);
    return 0;
}
