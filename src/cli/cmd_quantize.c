/*
 * cmd_quantize.c — `logrisk quantize [-m in.lrm] -o out.lrm --dtype q8|bf16`:
 * parses the flags and calls lr_model_quantize (src/quant.c).
 */
#include <string.h>

#include "cli.h"

static const char quantize_usage[] =
    "usage: logrisk quantize [-m MODEL.lrm] -o OUT.lrm --dtype q8|bf16\n"
    "\n"
    "Writes a copy of an f32 model with its encoder weights in a smaller type,\n"
    "for faster scoring (`logrisk score -m OUT.lrm` uses it like any model):\n"
    "  q8    int8 weights, one scale per output channel; activations are\n"
    "        quantized per row while scoring (AVX-512 VNNI, AVX-VNNI, AVX2,\n"
    "        NEON dot-product kernels)\n"
    "  bf16  bfloat16 weights, computed with AVX-512 BF16 where the CPU has\n"
    "        it (elsewhere widened back to f32 at load)\n"
    "Embeddings, LayerNorms, biases, the head, vocabulary, rules and labels\n"
    "are copied unchanged.\n"
    "\n"
    "  -m, --model FILE   the f32 model to quantize (default: the built-in one)\n"
    "  -o, --output FILE  the model file to write (required)\n"
    "  --dtype TYPE       q8 or bf16 (required)\n";

int lr_cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *dtype = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return lr_cli_usage(quantize_usage, 1);
        const char **slot = NULL;
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) slot = &model;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) slot = &out;
        else if (strcmp(a, "--dtype") == 0) slot = &dtype;
        if (!slot) {
            fprintf(stderr, "logrisk quantize: unknown argument '%s'\n\n", a);
            return lr_cli_usage(quantize_usage, 0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "logrisk quantize: %s needs a value\n\n", a);
            return lr_cli_usage(quantize_usage, 0);
        }
        *slot = argv[++i];
    }
    if (!out || !dtype) {
        fprintf(stderr, "logrisk quantize: %s is required\n\n", !out ? "-o OUT.lrm" : "--dtype");
        return lr_cli_usage(quantize_usage, 0);
    }
    if (strcmp(dtype, "q8") != 0 && strcmp(dtype, "bf16") != 0) {
        fprintf(stderr, "logrisk quantize: --dtype must be q8 or bf16, not '%s'\n\n", dtype);
        return lr_cli_usage(quantize_usage, 0);
    }
    lr_error err = {0};
    if (lr_model_quantize(model, out, dtype, &err) != 0) return lr_cli_error("quantize", &err);
    return 0;
}
