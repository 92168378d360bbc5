/*
 * test_builtin.c — the built-in model as the library alone sees it.
 *
 * Test programs link liblogrisk.a without BUILD/logrisk-model.o, so the
 * weak references of src/model_builtin.c must resolve to nothing: no model,
 * a clear error, no crash — and the library must not have pulled a model
 * image in (that would put 45 MB into every test binary). The embedded case
 * is tested end to end by tests/static.test.sh (built-in vs -m, in an empty
 * chroot and under qemu-aarch64).
 */
#include "logrisk.h"
#include "model_builtin.h"
#include "t.h"

static void test_no_builtin_model(void) {
    T_EQ_INT(lr_model_has_builtin(), 0);
    lr_error err = {0};
    lr_model *m = lr_model_load_builtin(&err);
    T_CHECK(m == NULL);
    T_EQ_INT(err.code, LR_EUNSUPPORTED);
    T_EQ_STR(err.msg, "this build has no built-in model");
    lr_model_free(m);
}

static void test_no_image(void) {
    const void *data = &data;
    size_t size = 12345;
    const char *name = "untouched";
    T_EQ_INT(lr__model_builtin_image(&data, &size, &name), 0);
    T_CHECK(data == (const void *)&data);
    T_EQ_INT(size, 12345);
    T_EQ_STR(name, "untouched");
    T_EQ_INT(lr__model_builtin_image(NULL, NULL, NULL), 0);
}

T_MAIN(T_CASE(test_no_builtin_model), T_CASE(test_no_image))
