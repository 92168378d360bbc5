/*
 * model_builtin.S — the built-in model: an .lrm file placed verbatim in the
 * binary's read-only data by the assembler (.incbin), so that
 * lr_model_load_builtin (src/model_builtin.c) uses it in place: the kernel
 * maps it from the executable like any mmap'd model file, nothing is read
 * or copied at start-up.
 *
 * Assembled by the Makefile (run through the C preprocessor, hence .S) into
 * BUILD/logrisk-model.o, which only the CLI link takes: the library and the
 * test programs never carry the model. Defines, when LR_MODEL_FILE is set
 * (a quoted path, e.g. -DLR_MODEL_FILE='"/abs/models/logrisk-mini.lrm"', the
 * default model: q8, quantized from models/logrisk-mini.f32.lrm):
 *
 *   lr__builtin_model       the file's bytes, 64-byte aligned (the .lrm
 *                           format's alignment: tensor data is at offsets
 *                           that are multiples of 64 from the file start)
 *   lr__builtin_model_size  a 64-bit count of those bytes
 *   lr__builtin_model_name  "built-in " LR_MODEL_NAME (default
 *                           "logrisk-mini.lrm"), NUL-terminated, the name
 *                           messages and `inspect --builtin` give it
 *
 * Without LR_MODEL_FILE the object defines nothing and the library's weak
 * references to these symbols stay NULL ("this build has no built-in
 * model"). The directives used (.section with "a", .balign, .incbin, .8byte,
 * .asciz, %object) mean the same to GNU as on x86-64 and on arm64.
 */
#ifdef LR_MODEL_FILE
#ifndef LR_MODEL_NAME
#define LR_MODEL_NAME "logrisk-mini.lrm"
#endif
    .section .rodata.lr_builtin_model,"a",%progbits
    .balign 64
    .globl lr__builtin_model
    .type lr__builtin_model, %object
lr__builtin_model:
    .incbin LR_MODEL_FILE
.Llr__builtin_model_end:
    .size lr__builtin_model, .Llr__builtin_model_end - lr__builtin_model

    .balign 8
    .globl lr__builtin_model_size
    .type lr__builtin_model_size, %object
lr__builtin_model_size:
    .8byte .Llr__builtin_model_end - lr__builtin_model
    .size lr__builtin_model_size, 8

    .globl lr__builtin_model_name
    .type lr__builtin_model_name, %object
lr__builtin_model_name:
    .ascii "built-in "
    .asciz LR_MODEL_NAME
    .size lr__builtin_model_name, . - lr__builtin_model_name
#endif

/* No executable stack for the program that links this object. */
    .section .note.GNU-stack,"",%progbits
