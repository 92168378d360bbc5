/*
 * model_builtin.h — internals of the built-in model (src/model_builtin.c)
 * for tools that need the raw image rather than an lr_model (`logrisk
 * inspect --builtin`). The public API is lr_model_has_builtin and
 * lr_model_load_builtin in include/logrisk.h.
 */
#ifndef LR_MODEL_BUILTIN_H
#define LR_MODEL_BUILTIN_H

#include <stddef.h>

/* The embedded .lrm image: 1 and *data (64-byte aligned, static, never
 * freed), *size and *name (e.g. "built-in logrisk-mini.lrm", static) when
 * this program carries one; else 0 and the outputs untouched. Any output
 * may be NULL. */
int lr__model_builtin_image(const void **data, size_t *size, const char **name);

#endif /* LR_MODEL_BUILTIN_H */
