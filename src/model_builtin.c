/*
 * model_builtin.c — the model built into the binary (lr_model_load_builtin).
 *
 * The model's bytes come from BUILD/logrisk-model.o, assembled from
 * src/model_builtin.S with `.incbin` of the file the Makefile's MODEL names
 * (default models/logrisk-mini.lrm, the int8 copy of the f32 master
 * models/logrisk-mini.f32.lrm; any weight type loads the same way). That
 * object is linked into the CLI only. This file, which is part of
 * liblogrisk.a, refers to its three symbols weakly: in a program linked
 * without the object (the test programs, a user's program linked against
 * the library, a build with `MODEL=` or without the model file) the
 * references resolve to NULL and lr_model_has_builtin() is 0. So the
 * library and every test binary stay small, and a program that wants a
 * model inside links the object too:
 *
 *     cc app.o build/logrisk-model.o build/liblogrisk.a -lyaml ...
 *
 * Nothing is copied: the image sits 64-byte aligned in .rodata, mapped from
 * the executable, and lr_model_load_memory borrows it for the life of the
 * process (the model validates both checksums of the image at load, like
 * lr_model_load does for a file).
 */
#include <stddef.h>
#include <stdint.h>

#include "logrisk.h"
#include "model_builtin.h"
#include "util.h"

/* Defined by model_builtin.S when a model is embedded; weak so that their
 * absence links and reads as NULL. */
extern const unsigned char lr__builtin_model[] __attribute__((weak));
extern const uint64_t lr__builtin_model_size __attribute__((weak));
extern const char lr__builtin_model_name[] __attribute__((weak));

/* 1 when this program carries a model image (of non-zero size), else 0.
 * No side effects; safe from any thread. */
int lr_model_has_builtin(void) {
    /* A weak symbol's address may be NULL: the compiler does not fold this. */
    return lr__builtin_model != NULL && &lr__builtin_model_size != NULL && lr__builtin_model_size > 0;
}

/* See model_builtin.h. */
int lr__model_builtin_image(const void **data, size_t *size, const char **name) {
    if (!lr_model_has_builtin() || lr__builtin_model_size > SIZE_MAX) return 0;
    if (data) *data = lr__builtin_model;
    if (size) *size = (size_t)lr__builtin_model_size;
    if (name) *name = lr__builtin_model_name ? lr__builtin_model_name : "built-in model";
    return 1;
}

/* Load the built-in model (lr_model_load_memory on the embedded image,
 * named "built-in NAME" in messages). The caller owns the returned model
 * and frees it with lr_model_free; the image itself is static and never
 * freed. NULL + err: LR_EUNSUPPORTED "this build has no built-in model" when
 * the program was linked without one, or whatever lr_model_load_memory
 * reports for a damaged image (LR_EFORMAT, LR_ECHECKSUM, LR_ENOMEM). */
lr_model *lr_model_load_builtin(lr_error *err) { return lr_model_load_builtin_flags(0, err); }

lr_model *lr_model_load_builtin_flags(unsigned flags, lr_error *err) {
    if (!lr_model_has_builtin()) {
        lr__err(err, LR_EUNSUPPORTED, "this build has no built-in model");
        return NULL;
    }
    const void *data;
    size_t size;
    const char *name;
    if (!lr__model_builtin_image(&data, &size, &name)) {
        lr__err(err, LR_ERANGE, "the built-in model (%llu bytes) does not fit in memory",
                (unsigned long long)lr__builtin_model_size);
        return NULL;
    }
    return lr_model_load_memory_flags(data, size, name, flags, err);
}
