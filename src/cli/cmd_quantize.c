/*
 * cmd_quantize.c — `logrisk quantize [-m in.lrm] -o out.lrm --dtype q8|bf16`:
 * parses the flags and calls lr_model_quantize (src/quant.c). Without -m it
 * quantizes the built-in model, which only works in a build that embeds an
 * f32 one: the default built-in model is already q8, so the refusal names
 * the file to give instead, its f32 master in the source tree.
 */
#include "cli.h"
#include "opts.h"

static const char *const DTYPES[] = {"q8", "bf16", NULL};

int lr_cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int dtype = 0;
    const lr_cli_opt opts[] = {
        LR_OPT("--model", "-m", LR_OPT_STR, &model, "MODEL.lrm",
               "the f32 model to quantize (default: the built-in one, when it is f32)"),
        LR_OPT("--output", "-o", LR_OPT_STR, &out, "OUT.lrm", "the model file to write (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--dtype", NULL, LR_OPT_CHOICE, &dtype, NULL, "q8 or bf16 (required)", .flags = LR_OPT_REQUIRED,
               .choices = DTYPES),
    };
    const lr_cli_spec spec = {
        "quantize",
        opts,
        LR_CLI_N(opts),
        .about = "Writes a copy of an f32 model with its encoder weights in a smaller type,\n"
                 "for faster scoring (`logrisk score -m OUT.lrm` uses it like any model):\n"
                 "  q8    int8 weights, one scale per output channel; activations are\n"
                 "        quantized per row while scoring (AVX-512 VNNI, AVX-VNNI, AVX2,\n"
                 "        NEON dot-product kernels)\n"
                 "  bf16  bfloat16 weights, computed with AVX-512 BF16 where the CPU has\n"
                 "        it (elsewhere widened back to f32 at load)\n"
                 "Embeddings, LayerNorms, biases, the head, vocabulary, rules and labels\n"
                 "are copied unchanged. The built-in default model is already q8: its f32\n"
                 "original is models/logrisk-mini.f32.lrm in the source tree.\n",
    };
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    lr_error err = {0};
    if (lr_model_quantize(model, out, DTYPES[dtype], &err) != 0) {
        if (!model && err.code == LR_EUNSUPPORTED) {
            fprintf(stderr, "logrisk quantize: %s, given with -m (the default model's is "
                    "models/logrisk-mini.f32.lrm in the source tree)\n", err.msg);
            return 1;
        }
        return lr_cli_error("quantize", &err);
    }
    return 0;
}
